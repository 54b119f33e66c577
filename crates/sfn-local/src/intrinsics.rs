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

impl Function {
    fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "States.Format" => Self::Format,
            "States.StringToJson" => Self::StringToJson,
            "States.JsonToString" => Self::JsonToString,
            "States.Array" => Self::Array,
            "States.ArrayPartition" => Self::ArrayPartition,
            "States.ArrayContains" => Self::ArrayContains,
            "States.ArrayRange" => Self::ArrayRange,
            "States.ArrayGetItem" => Self::ArrayGetItem,
            "States.ArrayLength" => Self::ArrayLength,
            "States.ArrayUnique" => Self::ArrayUnique,
            "States.Base64Encode" => Self::Base64Encode,
            "States.Base64Decode" => Self::Base64Decode,
            "States.Hash" => Self::Hash,
            "States.JsonMerge" => Self::JsonMerge,
            "States.MathRandom" => Self::MathRandom,
            "States.MathAdd" => Self::MathAdd,
            "States.StringSplit" => Self::StringSplit,
            "States.UUID" => Self::Uuid,
            _ => return None,
        })
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
                StatesError::intrinsic(format!("The JsonPath {} could not be found in the {place}", q.as_str()))
            }),
            Arg::Call(inner) => evaluate(inner, sources),
        })
        .collect::<Result<Vec<_>, _>>()?;
    apply(call.function, args)
}

fn fail(function: Function, why: impl std::fmt::Display) -> StatesError {
    StatesError::intrinsic(format!("States.{function:?}: {why}"))
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
            let (a, b) = (want_rounded(function, &args[0])?, want_rounded(function, &args[1])?);
            a.checked_add(b).map(|n| json!(n)).ok_or_else(|| fail(function, "the sum overflows"))
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
mod tests {
    use super::*;
    use crate::path::TestSources;

    fn eval(expr: &str, input: Value) -> Result<Value, StatesError> {
        evaluate(
            &parse(expr).map_err(StatesError::intrinsic)?,
            &TestSources::with_vars_in_input(input, json!({"Execution": {"Name": "run-1"}})),
        )
    }

    #[test]
    fn aws_edge_cases() {
        assert_eq!(eval("States.MathAdd(1.6, 2)", json!({})).unwrap(), json!(4));
        assert_eq!(eval("States.MathAdd($.a, $.b)", json!({"a": 1.2, "b": -0.4})).unwrap(), json!(1));
        assert_eq!(
            eval("States.Format('{} {}', $.o, $.l)", json!({"o": {"a": 1}, "l": [1, "x"]})).unwrap(),
            json!("{\"a\":1} [1,\"x\"]")
        );
        assert_eq!(eval("States.StringToJson('')", json!({})).unwrap(), Value::Null);
        assert_eq!(eval("States.StringToJson($.s)", json!({"s": "  "})).unwrap(), Value::Null);
        assert_eq!(
            eval("States.Array('a\\{b\\}', 'it\\'s', 'back\\\\slash')", json!({})).unwrap(),
            json!(["a{b}", "it's", "back\\slash"])
        );
        assert_eq!(eval("States.Format('\\{\\} {} \\\\', 'x')", json!({})).unwrap(), json!("{} x \\"));
        assert_eq!(
            eval("States.Format('{} and {}', $name, $.vars.name)", json!({"vars": {"name": "v"}})).unwrap(),
            json!("v and v")
        );
    }

    #[test]
    fn format_with_paths_context_and_escapes() {
        let v = eval(
            "States.Format('Hello {} from {}, \\{literal\\} it\\'s {}', $.name, $$.Execution.Name, $.n)",
            json!({"name": "Ann", "n": 3}),
        );
        assert_eq!(v.unwrap(), json!("Hello Ann from run-1, {literal} it's 3"));
        assert_eq!(eval("States.Format('{} {}', 'a')", json!({})).unwrap_err().error, "States.IntrinsicFailure");
    }

    #[test]
    fn json_round_trip() {
        assert_eq!(eval("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(), json!({"a": [1, 2]}));
        assert_eq!(eval("States.JsonToString($.o)", json!({"o": {"a": 1}})).unwrap(), json!("{\"a\":1}"));
        assert!(eval("States.StringToJson('nope{')", json!({})).is_err());
    }

    #[test]
    fn arrays() {
        assert_eq!(
            eval("States.Array('a', 1, true, null, $.x)", json!({"x": [1]})).unwrap(),
            json!(["a", 1, true, null, [1]])
        );
        assert_eq!(
            eval("States.ArrayPartition($.a, 2)", json!({"a": [1, 2, 3, 4, 5]})).unwrap(),
            json!([[1, 2], [3, 4], [5]])
        );
        assert_eq!(eval("States.ArrayContains($.a, 3)", json!({"a": [1, 3]})).unwrap(), json!(true));
        assert_eq!(eval("States.ArrayRange(1, 9, 2)", json!({})).unwrap(), json!([1, 3, 5, 7, 9]));
        assert_eq!(eval("States.ArrayRange(5, 1, -2)", json!({})).unwrap(), json!([5, 3, 1]));
        assert!(eval("States.ArrayRange(1, 2000, 1)", json!({})).is_err());
        assert_eq!(eval("States.ArrayGetItem($.a, 1)", json!({"a": [7, 8]})).unwrap(), json!(8));
        assert!(eval("States.ArrayGetItem($.a, 5)", json!({"a": [7, 8]})).is_err());
        assert_eq!(eval("States.ArrayLength($.a)", json!({"a": [7, 8]})).unwrap(), json!(2));
        assert_eq!(eval("States.ArrayUnique($.a)", json!({"a": [1, 2, 1, "1"]})).unwrap(), json!([1, 2, "1"]));
        assert_eq!(eval("States.ArrayLength(States.Array(1, 2, 3))", json!({})).unwrap(), json!(3));
    }

    #[test]
    fn encoding_and_hashing() {
        assert_eq!(eval("States.Base64Encode('Data to encode')", json!({})).unwrap(), json!("RGF0YSB0byBlbmNvZGU="));
        assert_eq!(eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(), json!("Data to encode"));
        assert_eq!(
            eval("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
            json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
        );
        assert_eq!(eval("States.Hash('', 'MD5')", json!({})).unwrap(), json!("d41d8cd98f00b204e9800998ecf8427e"));
        assert!(eval("States.Hash('x', 'CRC32')", json!({})).is_err());
    }

    #[test]
    fn math_split_merge_uuid() {
        assert_eq!(eval("States.MathAdd($.a, -3)", json!({"a": 10})).unwrap(), json!(7));
        let r = eval("States.MathRandom(1, 10)", json!({})).unwrap().as_i64().unwrap();
        assert!((1..10).contains(&r));
        assert_eq!(
            eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap(),
            eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap()
        );
        assert_eq!(eval("States.StringSplit('a.b+c,d', '.+,')", json!({})).unwrap(), json!(["a", "b", "c", "d"]));
        assert_eq!(
            eval("States.JsonMerge($.a, $.b, false)", json!({"a": {"x": 1, "y": {"z": 1}}, "b": {"y": 2}})).unwrap(),
            json!({"x": 1, "y": 2})
        );
        let id = eval("States.UUID()", json!({})).unwrap();
        assert_eq!(id.as_str().map(str::len), Some(36));
    }

    #[test]
    fn parse_errors_name_the_problem() {
        assert!(parse("States.Nope(1)").unwrap_err().contains("unknown function"));
        assert!(parse("States.MathAdd(1)").unwrap_err().contains("takes 2 arguments"));
        assert!(parse("States.Format('x'").is_err());
        assert!(parse("States.Array(1) extra").is_err());
        assert!(parse("States.Array(bogus)").is_err());
        assert_eq!(eval("States.ArrayLength($.missing)", json!({})).unwrap_err().error, "States.IntrinsicFailure");
    }
}
