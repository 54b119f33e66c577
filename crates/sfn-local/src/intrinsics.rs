//! Intrinsic functions (`States.Format(...)` and friends): parsed once when a definition
//! is loaded, evaluated against the state input and the context object.

use base64::Engine as _;
use serde_json::{Map, Value, json};

use crate::error::StatesError;
use crate::path::{Query, Root, Sources, type_name};

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Literal(Value),
    /// A path on the input (`$.a`), the context object (`$$.a`) or a variable (`$v.a`).
    Path(Query),
    Call(Box<Call>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub function: Function,
    pub args: Vec<Arg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Function {
    Format,
    StringToJson,
    JsonToString,
    Array,
    ArrayPartition,
    ArrayContains,
    ArrayRange,
    ArrayGetItem,
    ArrayLength,
    ArrayUnique,
    Base64Encode,
    Base64Decode,
    Hash,
    JsonMerge,
    MathRandom,
    MathAdd,
    StringSplit,
    Uuid,
}

/// Every function, by the name a definition calls it.
const NAMES: &[(&str, Function)] = &[
    ("States.Format", Function::Format),
    ("States.StringToJson", Function::StringToJson),
    ("States.JsonToString", Function::JsonToString),
    ("States.Array", Function::Array),
    ("States.ArrayPartition", Function::ArrayPartition),
    ("States.ArrayContains", Function::ArrayContains),
    ("States.ArrayRange", Function::ArrayRange),
    ("States.ArrayGetItem", Function::ArrayGetItem),
    ("States.ArrayLength", Function::ArrayLength),
    ("States.ArrayUnique", Function::ArrayUnique),
    ("States.Base64Encode", Function::Base64Encode),
    ("States.Base64Decode", Function::Base64Decode),
    ("States.Hash", Function::Hash),
    ("States.JsonMerge", Function::JsonMerge),
    ("States.MathRandom", Function::MathRandom),
    ("States.MathAdd", Function::MathAdd),
    ("States.StringSplit", Function::StringSplit),
    ("States.UUID", Function::Uuid),
];

impl Function {
    /// The name a definition calls it by (`States.MathAdd`).
    pub fn name(self) -> &'static str {
        NAMES.iter().find(|(_, f)| *f == self).map_or("States", |(name, _)| name)
    }

    fn from_name(name: &str) -> Option<Self> {
        NAMES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
    }

    /// The allowed argument counts (inclusive).
    fn arity(self) -> (usize, usize) {
        match self {
            Self::Format => (1, usize::MAX),
            Self::Array => (0, usize::MAX),
            Self::StringToJson | Self::JsonToString | Self::ArrayLength | Self::ArrayUnique => (1, 1),
            Self::Base64Encode | Self::Base64Decode => (1, 1),
            Self::ArrayPartition | Self::ArrayContains | Self::ArrayGetItem | Self::Hash => (2, 2),
            Self::MathAdd | Self::StringSplit => (2, 2),
            Self::ArrayRange | Self::JsonMerge => (3, 3),
            Self::MathRandom => (2, 3),
            Self::Uuid => (0, 0),
        }
    }
}

/// True when a `.$` value is an intrinsic call rather than a path.
pub fn looks_like_call(raw: &str) -> bool {
    raw.trim_start().starts_with("States.")
}

pub fn parse(raw: &str) -> Result<Call, String> {
    let mut parser = Parser { chars: raw.chars().collect(), pos: 0, raw };
    parser.skip_ws();
    let call = parser.call()?;
    parser.skip_ws();
    if parser.pos != parser.chars.len() {
        return Err(parser.error("unexpected text after the closing parenthesis"));
    }
    Ok(call)
}

struct Parser<'a> {
    chars: Vec<char>,
    pos: usize,
    raw: &'a str,
}

impl Parser<'_> {
    fn error(&self, why: &str) -> String {
        format!("invalid intrinsic function '{}' at character {}: {why}", self.raw, self.pos)
    }

    fn skip_ws(&mut self) {
        while self.chars.get(self.pos).is_some_and(|c| c.is_whitespace()) {
            self.pos += 1;
        }
    }

    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }

    fn call(&mut self) -> Result<Call, String> {
        let start = self.pos;
        while self.peek().is_some_and(|c| c.is_ascii_alphanumeric() || c == '.') {
            self.pos += 1;
        }
        let name: String = self.chars[start..self.pos].iter().collect();
        let function = Function::from_name(&name).ok_or_else(|| self.error(&format!("unknown function '{name}'")))?;
        self.skip_ws();
        if self.peek() != Some('(') {
            return Err(self.error("expected '('"));
        }
        self.pos += 1;
        let mut args = Vec::new();
        self.skip_ws();
        if self.peek() == Some(')') {
            self.pos += 1;
        } else {
            loop {
                self.skip_ws();
                // Only States.Format's template keeps `\{` and `\}` apart from placeholders.
                let template = function == Function::Format && args.is_empty();
                args.push(self.arg(template)?);
                self.skip_ws();
                match self.peek() {
                    Some(',') => self.pos += 1,
                    Some(')') => {
                        self.pos += 1;
                        break;
                    }
                    _ => return Err(self.error("expected ',' or ')'")),
                }
            }
        }
        let (min, max) = function.arity();
        if args.len() < min || args.len() > max {
            return Err(self.error(&format!("{name} takes {} arguments, got {}", arity_text(min, max), args.len())));
        }
        Ok(Call { function, args })
    }

    fn arg(&mut self, template: bool) -> Result<Arg, String> {
        match self.peek() {
            Some('\'') => self.string(template).map(|s| Arg::Literal(Value::String(s))),
            Some('$') => {
                let start = self.pos;
                let mut depth = 0usize;
                let mut quote = false;
                while let Some(c) = self.peek() {
                    if quote {
                        if c == '\\' {
                            self.pos += 1;
                            if self.peek().is_none() {
                                return Err(self.error("dangling '\\'"));
                            }
                        } else if c == '\'' || c == '"' {
                            quote = false;
                        }
                    } else {
                        match c {
                            '[' | '(' => depth += 1,
                            ']' => depth = depth.saturating_sub(1),
                            ')' if depth == 0 => break,
                            ')' => depth -= 1,
                            ',' if depth == 0 => break,
                            '\'' | '"' if depth > 0 => quote = true,
                            c if c.is_whitespace() && depth == 0 => break,
                            _ => {}
                        }
                    }
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                Ok(Arg::Path(Query::parse(&text).map_err(|e| self.error(&e))?))
            }
            Some('S') => Ok(Arg::Call(Box::new(self.call()?))),
            Some(_) => {
                let start = self.pos;
                while self.peek().is_some_and(|c| c != ',' && c != ')' && !c.is_whitespace()) {
                    self.pos += 1;
                }
                let text: String = self.chars[start..self.pos].iter().collect();
                match serde_json::from_str::<Value>(&text) {
                    Ok(v @ (Value::Number(_) | Value::Bool(_) | Value::Null)) => Ok(Arg::Literal(v)),
                    _ => Err(self.error(&format!("'{text}' is not a string, number, boolean, null, path or call"))),
                }
            }
            None => Err(self.error("unexpected end")),
        }
    }

    /// A quoted literal: `\'`, `\\`, `\{` and `\}` are escapes. In a Format template
    /// `\{` and `\}` stay escaped so that they do not make a placeholder.
    fn string(&mut self, template: bool) -> Result<String, String> {
        self.pos += 1;
        let mut out = String::new();
        loop {
            match self.peek() {
                None => return Err(self.error("unterminated string")),
                Some('\\') => {
                    let next = self.chars.get(self.pos + 1).copied().ok_or_else(|| self.error("dangling '\\'"))?;
                    if template && (next == '{' || next == '}' || next == '\\') {
                        out.push('\\');
                    }
                    out.push(next);
                    self.pos += 2;
                }
                Some('\'') => {
                    self.pos += 1;
                    return Ok(out);
                }
                Some(c) => {
                    out.push(c);
                    self.pos += 1;
                }
            }
        }
    }
}

fn arity_text(min: usize, max: usize) -> String {
    if min == max {
        min.to_string()
    } else if max == usize::MAX {
        format!("at least {min}")
    } else {
        format!("{min} to {max}")
    }
}

/// Evaluates a call against the input, the context object and the variables.
pub fn evaluate(call: &Call, sources: &dyn Sources) -> Result<Value, StatesError> {
    let args = call
        .args
        .iter()
        .map(|arg| match arg {
            Arg::Literal(v) => Ok(v.clone()),
            Arg::Path(q) => q.select(sources).ok_or_else(|| {
                let place = match q.root {
                    Root::Input => "input",
                    Root::Context => "context object",
                    Root::Variable(_) => "variables",
                };
                // A path argument that matches nothing fails the state, uncatchable, as
                // every intrinsic failure does on AWS.
                StatesError::runtime(format!("The JsonPath {} could not be found in the {place}", q.as_str()))
            }),
            Arg::Call(inner) => evaluate(inner, sources),
        })
        .collect::<Result<Vec<_>, _>>()?;
    apply(call.function, args)
}

/// A function given arguments it cannot take. AWS fails the state with
/// `States.Runtime` and this cause, without saying which argument or why ("Invalid
/// arguments in States.MathAdd"); `_why` documents the rule at the call site.
fn fail(function: Function, _why: impl std::fmt::Display) -> StatesError {
    StatesError::runtime(format!("Invalid arguments in {}", function.name()))
}

fn want_str(function: Function, v: &Value) -> Result<String, StatesError> {
    v.as_str().map(str::to_owned).ok_or_else(|| fail(function, format!("expected a string, got {}", type_name(v))))
}

fn want_array(function: Function, v: &Value) -> Result<Vec<Value>, StatesError> {
    v.as_array().cloned().ok_or_else(|| fail(function, format!("expected an array, got {}", type_name(v))))
}

fn want_int(function: Function, v: &Value) -> Result<i64, StatesError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
        _ => Err(fail(function, format!("expected an integer, got {v}"))),
    }
}

/// A number as MathAdd and MathRandom take it: AWS rounds a non-integer to the
/// nearest integer ("Intrinsics for math operations").
fn want_rounded(function: Function, v: &Value) -> Result<i64, StatesError> {
    if let Some(i) = v.as_i64() {
        return Ok(i);
    }
    match v.as_f64() {
        Some(f) if f.is_finite() && f.abs() < 9.0e18 => Ok(f.round() as i64),
        _ => Err(fail(function, format!("expected a number, got {v}"))),
    }
}

fn apply(function: Function, args: Vec<Value>) -> Result<Value, StatesError> {
    use Function as F;
    match function {
        F::Format => {
            let template = want_str(function, &args[0])?;
            format(&template, &args[1..])
        }
        F::StringToJson => {
            let s = want_str(function, &args[0])?;
            // An empty or blank string is null, as on AWS.
            if s.trim().is_empty() {
                return Ok(Value::Null);
            }
            serde_json::from_str(&s).map_err(|e| fail(function, format!("not JSON text: {e}")))
        }
        F::JsonToString => Ok(Value::String(args[0].to_string())),
        F::Array => Ok(Value::Array(args)),
        F::ArrayPartition => {
            let items = want_array(function, &args[0])?;
            let size = want_int(function, &args[1])?;
            if size <= 0 {
                return Err(fail(function, "the chunk size must be positive"));
            }
            Ok(Value::Array(items.chunks(size as usize).map(|c| Value::Array(c.to_vec())).collect()))
        }
        F::ArrayContains => Ok(Value::Bool(want_array(function, &args[0])?.contains(&args[1]))),
        F::ArrayRange => {
            let (start, end, step) =
                (want_int(function, &args[0])?, want_int(function, &args[1])?, want_int(function, &args[2])?);
            if step == 0 {
                return Err(fail(function, "the step must not be 0"));
            }
            let mut out = Vec::new();
            let mut n = start;
            while (step > 0 && n <= end) || (step < 0 && n >= end) {
                if out.len() == 1000 {
                    return Err(fail(function, "the range has more than 1000 items"));
                }
                out.push(json!(n));
                n += step;
            }
            Ok(Value::Array(out))
        }
        F::ArrayGetItem => {
            let items = want_array(function, &args[0])?;
            let index = want_int(function, &args[1])?;
            usize::try_from(index)
                .ok()
                .and_then(|i| items.get(i).cloned())
                .ok_or_else(|| fail(function, format!("index {index} is outside an array of {}", items.len())))
        }
        F::ArrayLength => Ok(json!(want_array(function, &args[0])?.len())),
        F::ArrayUnique => {
            let mut seen = Vec::new();
            for item in want_array(function, &args[0])? {
                if !seen.contains(&item) {
                    seen.push(item);
                }
            }
            Ok(Value::Array(seen))
        }
        F::Base64Encode => {
            let s = want_str(function, &args[0])?;
            if s.len() > 10_000 {
                return Err(fail(function, "the input exceeds 10,000 characters"));
            }
            Ok(Value::String(base64::engine::general_purpose::STANDARD.encode(s)))
        }
        F::Base64Decode => {
            let s = want_str(function, &args[0])?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(s.trim())
                .map_err(|e| fail(function, format!("not base64: {e}")))?;
            String::from_utf8(bytes).map(Value::String).map_err(|_| fail(function, "the decoded bytes are not UTF-8"))
        }
        F::Hash => {
            let data = match &args[0] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let algorithm = want_str(function, &args[1])?;
            Ok(Value::String(hash(&data, &algorithm).ok_or_else(|| {
                fail(function, format!("unknown algorithm '{algorithm}' (MD5, SHA-1, SHA-256, SHA-384, SHA-512)"))
            })?))
        }
        F::JsonMerge => {
            let (Value::Object(left), Value::Object(right)) = (&args[0], &args[1]) else {
                return Err(fail(function, "both arguments must be objects"));
            };
            if args[2] != Value::Bool(false) {
                return Err(fail(function, "only shallow merges (false) are supported, as on AWS"));
            }
            let mut merged: Map<String, Value> = left.clone();
            for (k, v) in right {
                merged.insert(k.clone(), v.clone());
            }
            Ok(Value::Object(merged))
        }
        F::MathRandom => {
            use rand::{Rng, SeedableRng};
            let (start, end) = (want_rounded(function, &args[0])?, want_rounded(function, &args[1])?);
            if start >= end {
                return Err(fail(function, "the start must be below the end"));
            }
            let n = match args.get(2) {
                Some(seed) => {
                    let mut rng = rand::rngs::StdRng::seed_from_u64(want_rounded(function, seed)? as u64);
                    rng.random_range(start..end)
                }
                None => rand::rng().random_range(start..end),
            };
            Ok(json!(n))
        }
        F::MathAdd => {
            // AWS adds 32-bit integers: an operand or a sum outside that range is refused.
            let int32 = |v: &Value| {
                i32::try_from(want_rounded(function, v)?).map_err(|_| fail(function, "outside the 32-bit range"))
            };
            let (a, b) = (int32(&args[0])?, int32(&args[1])?);
            a.checked_add(b).map(|n| json!(n)).ok_or_else(|| fail(function, "the sum overflows 32 bits"))
        }
        F::StringSplit => {
            let s = want_str(function, &args[0])?;
            let delimiters: Vec<char> = want_str(function, &args[1])?.chars().collect();
            Ok(Value::Array(
                s.split(|c| delimiters.contains(&c))
                    .filter(|part| !part.is_empty())
                    .map(|part| Value::String(part.to_owned()))
                    .collect(),
            ))
        }
        F::Uuid => Ok(Value::String(uuid::Uuid::new_v4().to_string())),
    }
}

pub(crate) fn hash(data: &str, algorithm: &str) -> Option<String> {
    use sha2::Digest;
    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }
    Some(match algorithm {
        "MD5" => hex(&md5::Md5::digest(data.as_bytes())),
        "SHA-1" => hex(&sha1::Sha1::digest(data.as_bytes())),
        "SHA-256" => hex(&sha2::Sha256::digest(data.as_bytes())),
        "SHA-384" => hex(&sha2::Sha384::digest(data.as_bytes())),
        "SHA-512" => hex(&sha2::Sha512::digest(data.as_bytes())),
        _ => return None,
    })
}

fn format(template: &str, args: &[Value]) -> Result<Value, StatesError> {
    let mut out = String::with_capacity(template.len());
    let mut next_arg = 0;
    let mut chars = template.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(escaped) => out.push(escaped),
                None => out.push('\\'),
            },
            '{' if chars.peek() == Some(&'}') => {
                chars.next();
                let arg = args.get(next_arg).ok_or_else(|| {
                    fail(
                        Function::Format,
                        format!("the template has more placeholders than the {} arguments", args.len()),
                    )
                })?;
                // Strings go in as they are; everything else (objects and arrays too) as JSON.
                match arg {
                    Value::String(s) => out.push_str(s),
                    other => out.push_str(&other.to_string()),
                }
                next_arg += 1;
            }
            other => out.push(other),
        }
    }
    if next_arg != args.len() {
        return Err(fail(Function::Format, format!("{} arguments for {next_arg} placeholders", args.len())));
    }
    Ok(Value::String(out))
}

#[cfg(test)]
mod tests;
