//! JSONPath as the States Language uses it: queries (`InputPath`, `.$` fields, `ItemsPath`)
//! and reference paths (`ResultPath`), which address exactly one node.
//!
//! Queries follow the Jayway semantics AWS uses: a definite path (fields and indexes only)
//! yields its one node; an indefinite one (wildcards, filters, slices, unions, descent)
//! yields the list of matched nodes.

use serde_json::Value;

#[derive(Debug, Clone)]
pub struct JsonPath {
    raw: String,
    compiled: serde_json_path::JsonPath,
    definite: bool,
}

impl PartialEq for JsonPath {
    fn eq(&self, other: &Self) -> bool {
        self.raw == other.raw
    }
}

impl JsonPath {
    /// Parses a path that starts with `$`. Dotted names outside the RFC 9535 shorthand
    /// (`$.bucket-name`) are accepted, as Jayway accepts them.
    pub fn parse(raw: &str) -> Result<Self, String> {
        if !raw.starts_with('$') {
            return Err(format!("'{raw}' is not a JSONPath: it must start with '$'"));
        }
        let normalized = normalize_dotted_names(raw);
        if has_short_unicode_escape(&normalized) {
            return Err(format!("'{raw}' is not a valid JSONPath: a \\u escape needs four hex digits"));
        }
        let compiled = serde_json_path::JsonPath::parse(&normalized)
            .map_err(|e| format!("'{raw}' is not a valid JSONPath: {e}"))?;
        Ok(Self { raw: raw.to_owned(), compiled, definite: is_definite(&normalized) })
    }

    /// `$`: the whole document.
    pub fn root() -> Self {
        Self {
            raw: "$".to_owned(),
            compiled: serde_json_path::JsonPath::parse("$").unwrap_or_default(),
            definite: true,
        }
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// Whether the path is `$`, which selects the whole document.
    pub fn is_root(&self) -> bool {
        self.raw == "$"
    }

    /// The selected value: `None` when a definite path matches nothing.
    pub fn select(&self, doc: &Value) -> Option<Value> {
        if self.raw == "$" {
            return Some(doc.clone());
        }
        let nodes = self.compiled.query(doc);
        if self.definite {
            nodes.first().cloned()
        } else {
            Some(Value::Array(nodes.all().into_iter().cloned().collect()))
        }
    }
}

/// Whether a `\u` escape lacks its four hex digits: serde_json_path 0.7 panics (an
/// `unreachable!`) on one cut off by the end of the text instead of refusing it.
fn has_short_unicode_escape(path: &str) -> bool {
    let chars: Vec<char> = path.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        if chars[i] != '\\' {
            i += 1;
            continue;
        }
        if chars.get(i + 1) == Some(&'u') {
            let hex = chars.get(i + 2..i + 6);
            if !hex.is_some_and(|h| h.iter().all(char::is_ascii_hexdigit)) {
                return true;
            }
        }
        i += 2;
    }
    false
}

fn is_shorthand_name(name: &str) -> bool {
    let mut chars = name.chars();
    match chars.next() {
        Some(c) if c.is_ascii_alphabetic() || c == '_' || !c.is_ascii() => {}
        _ => return false,
    }
    chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || !c.is_ascii())
}

/// Rewrites `.name` segments that RFC 9535 does not accept as `['name']`.
fn normalize_dotted_names(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len() + 8);
    let chars: Vec<char> = raw.chars().collect();
    let mut i = 0;
    let mut bracket_depth = 0usize;
    let mut quote: Option<char> = None;
    while i < chars.len() {
        let c = chars[i];
        if let Some(q) = quote {
            if c == '\\' && i + 1 < chars.len() {
                let next = chars[i + 1];
                // Jayway takes `\"` inside '...' (and `\'` inside "..."); RFC 9535 wants
                // the other quote unescaped.
                if (next == '"' || next == '\'') && next != q {
                    out.push(next);
                } else {
                    out.push(c);
                    out.push(next);
                }
                i += 2;
                continue;
            }
            out.push(c);
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        match c {
            '\'' | '"' if bracket_depth > 0 => {
                quote = Some(c);
                out.push(c);
            }
            '[' | '(' => {
                bracket_depth += 1;
                out.push(c);
            }
            ']' | ')' => {
                bracket_depth = bracket_depth.saturating_sub(1);
                out.push(c);
            }
            '.' if bracket_depth == 0 && chars.get(i + 1).is_some_and(|n| *n != '.' && *n != '[') => {
                let start = i + 1;
                let mut end = start;
                while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                    end += 1;
                }
                let name: String = chars[start..end].iter().collect();
                if name == "*" || is_shorthand_name(&name) {
                    out.push('.');
                    out.push_str(&name);
                } else {
                    out.push_str("['");
                    out.push_str(&name.replace('\\', "\\\\").replace('\'', "\\'"));
                    out.push_str("']");
                }
                i = end;
                continue;
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Jayway's notion: a path is definite when it has no wildcard, descent, filter, slice
/// or union.
fn is_definite(path: &str) -> bool {
    let mut in_bracket = false;
    let mut quote: Option<char> = None;
    let mut prev = '\0';
    // Inside quotes, a backslash escapes the next character (`\\` too: `['a\\']` ends there).
    let mut escaped = false;
    for c in path.chars() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                _ if c == q => quote = None,
                _ => {}
            }
            prev = c;
            continue;
        }
        match c {
            '\'' | '"' if in_bracket => quote = Some(c),
            '[' => in_bracket = true,
            ']' => in_bracket = false,
            '*' | '?' => return false,
            ':' | ',' if in_bracket => return false,
            '.' if prev == '.' => return false,
            _ => {}
        }
        prev = c;
    }
    true
}

/// Where a query starts: the state input (`$`), the context object (`$$`) or a
/// workflow variable (`$name`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Root {
    Input,
    Context,
    Variable(String),
}

/// What a query reads: the input, the context object and the variables in scope.
pub trait Sources {
    fn input(&self) -> &Value;
    fn context(&self) -> &Value;
    fn variable(&self, name: &str) -> Option<&Value>;
}

/// Sources for unit tests: an input, a context object and the variables in scope (an object).
#[cfg(test)]
pub(crate) struct TestSources(pub Value, pub Value, pub Value);

#[cfg(test)]
impl TestSources {
    /// The input and context given, the variables taken from the input's `vars` field.
    pub(crate) fn with_vars_in_input(input: Value, context: Value) -> Self {
        let variables = input.get("vars").cloned().unwrap_or(Value::Null);
        Self(input, context, variables)
    }
}

#[cfg(test)]
impl Sources for TestSources {
    fn input(&self) -> &Value {
        &self.0
    }
    fn context(&self) -> &Value {
        &self.1
    }
    fn variable(&self, name: &str) -> Option<&Value> {
        self.2.get(name)
    }
}

/// A JSONPath query on the input, the context object or a variable, as the States
/// Language writes them in `.$` fields, intrinsic arguments and `...Path` fields.
#[derive(Debug, Clone, PartialEq)]
pub struct Query {
    raw: String,
    pub root: Root,
    pub path: JsonPath,
}

/// Whether `name` is a workflow variable's name: a letter or `_` first, then letters,
/// digits and `_` (Unicode ones included), at most 80 characters.
pub fn is_variable_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_alphabetic() || c == '_')
        && chars.all(|c| c.is_alphanumeric() || c == '_')
        && name.chars().count() <= 80
}

impl Query {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let (root, path) = if let Some(rest) = raw.strip_prefix("$$") {
            (Root::Context, format!("${rest}"))
        } else if let Some(rest) = raw.strip_prefix('$')
            && rest.starts_with(|c: char| c.is_alphabetic() || c == '_')
        {
            let end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..end];
            if !is_variable_name(name) {
                return Err(format!("'{raw}' is not a valid JSONPath: '{name}' is not a variable name"));
            }
            (Root::Variable(name.to_owned()), format!("${}", &rest[end..]))
        } else {
            (Root::Input, raw.to_owned())
        };
        let path = JsonPath::parse(&path).map_err(|e| e.replace(&format!("'{path}'"), &format!("'{raw}'")))?;
        Ok(Self { raw: raw.to_owned(), root, path })
    }

    /// The query as the definition wrote it.
    pub fn as_str(&self) -> &str {
        &self.raw
    }

    /// The selected value: `None` when a definite path matches nothing or the variable
    /// is not set.
    pub fn select(&self, sources: &dyn Sources) -> Option<Value> {
        match &self.root {
            Root::Input => self.path.select(sources.input()),
            Root::Context => self.path.select(sources.context()),
            Root::Variable(name) => self.path.select(sources.variable(name)?),
        }
    }
}

/// A path written as Jayway prints it in its errors: `$['a'][0]`.
pub fn bracketed(path: &str) -> String {
    let normalized = normalize_dotted_names(path);
    let mut out = String::from("$");
    let mut rest = normalized.strip_prefix('$').unwrap_or(&normalized);
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            out.push_str(&format!("['{}']", &after[..end]));
            rest = &after[end..];
        } else if rest.starts_with('[') {
            let end = rest.find(']').map(|i| i + 1).unwrap_or(rest.len());
            out.push_str(&rest[..end].replace('"', "'"));
            rest = &rest[end..];
        } else {
            out.push_str(rest);
            break;
        }
    }
    out
}

/// One step of a reference path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Field(String),
    Index(usize),
}

/// A reference path: `$`, `$.a.b`, `$['a b'][0]`; it names one node, so it can be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferencePath {
    raw: String,
    steps: Vec<Step>,
}

impl ReferencePath {
    /// `$`: the result replaces the whole input.
    pub fn root() -> Self {
        Self { raw: "$".to_owned(), steps: Vec::new() }
    }

    pub fn parse(raw: &str) -> Result<Self, String> {
        let bad = |why: &str| format!("'{raw}' is not a valid reference path: {why}");
        let rest = raw.strip_prefix('$').ok_or_else(|| bad("it must start with '$'"))?;
        let chars: Vec<char> = rest.chars().collect();
        let mut steps = Vec::new();
        let mut i = 0;
        while i < chars.len() {
            match chars[i] {
                '.' => {
                    let start = i + 1;
                    let mut end = start;
                    while end < chars.len() && chars[end] != '.' && chars[end] != '[' {
                        end += 1;
                    }
                    let name: String = chars[start..end].iter().collect();
                    if name.is_empty() || name.contains('*') || name.contains(' ') {
                        return Err(bad("field names must be plain"));
                    }
                    steps.push(Step::Field(name));
                    i = end;
                }
                '[' => {
                    let (step, end) = bracket_step(&chars, i + 1).map_err(|why| bad(&why))?;
                    steps.push(step);
                    i = end;
                }
                _ => return Err(bad("unexpected character")),
            }
        }
        Ok(Self { raw: raw.to_owned(), steps })
    }

    pub fn as_str(&self) -> &str {
        &self.raw
    }

    pub fn is_root(&self) -> bool {
        self.steps.is_empty()
    }

    /// Writes `value` at this path inside `doc`, creating missing objects on the way.
    /// Fails when the path crosses a value that is not an object (or array, for an index).
    pub fn set(&self, doc: Value, value: Value) -> Result<Value, String> {
        if self.steps.is_empty() {
            return Ok(value);
        }
        let mut doc = doc;
        let mut node = &mut doc;
        let last = self.steps.len() - 1;
        for (n, step) in self.steps.iter().enumerate() {
            let slot = match (step, node) {
                (Step::Field(name), Value::Object(map)) => {
                    map.entry(name.clone()).or_insert_with(|| Value::Object(Default::default()))
                }
                (Step::Index(index), Value::Array(items)) => {
                    let len = items.len();
                    match items.get_mut(*index) {
                        Some(slot) => slot,
                        None => {
                            return Err(format!(
                                "Unable to apply ResultPath '{}' to input: index {index} is outside an array of {len}",
                                self.raw
                            ));
                        }
                    }
                }
                (_, other) => {
                    return Err(format!(
                        "Unable to apply ResultPath '{}' to input: it crosses a {} value",
                        self.raw,
                        type_name(other)
                    ));
                }
            };
            if n == last {
                *slot = value;
                break;
            }
            node = slot;
        }
        Ok(doc)
    }
}

/// One `[...]` step of a reference path, from just after its `[`: the step and where the
/// path goes on (just past the `]`). Quoted names are read as queries read them, so a
/// ResultPath writes the very field an InputPath or a `.$` field with the same text selects.
fn bracket_step(chars: &[char], from: usize) -> Result<(Step, usize), String> {
    let skip_ws = |mut at: usize| {
        while chars.get(at).is_some_and(|c| c.is_whitespace()) {
            at += 1;
        }
        at
    };
    let start = skip_ws(from);
    let (step, after) = match chars.get(start) {
        Some(&quote @ ('\'' | '"')) => {
            let (name, after) = quoted_name(chars, start + 1, quote)?;
            (Step::Field(name), after)
        }
        _ => {
            let close = chars[start..].iter().position(|c| *c == ']').map(|p| p + start).ok_or("unclosed '['")?;
            let digits: String = chars[start..close].iter().collect();
            let digits = digits.trim_end();
            if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
                return Err("only names and indexes may be used".into());
            }
            let index = digits.parse::<usize>().map_err(|_| "the index is too large")?;
            (Step::Index(index), close)
        }
    };
    let close = skip_ws(after);
    match chars.get(close) {
        Some(']') => Ok((step, close + 1)),
        _ => Err("unclosed '['".into()),
    }
}

/// A quoted name from just after its opening `quote`: the name with JSON's escapes decoded
/// (and `\'` or `\"` for either quote, as Jayway takes them), and where it ends (just past
/// the closing quote).
fn quoted_name(chars: &[char], from: usize, quote: char) -> Result<(String, usize), String> {
    let mut json = String::from("\"");
    let mut at = from;
    while let Some(&c) = chars.get(at) {
        match c {
            '\\' => {
                match chars.get(at + 1) {
                    Some('\'') => json.push('\''),
                    Some(&next) => {
                        json.push('\\');
                        json.push(next);
                    }
                    None => return Err("dangling '\\'".into()),
                }
                at += 2;
                continue;
            }
            c if c == quote => {
                json.push('"');
                let name =
                    serde_json::from_str::<String>(&json).map_err(|_| "the quoted name has an invalid escape")?;
                return Ok((name, at + 1));
            }
            '"' => json.push_str("\\\""),
            c => json.push(c),
        }
        at += 1;
    }
    Err("unclosed quote".into())
}

pub fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn definite_paths_yield_the_node() {
        let doc = json!({"a": {"b": [10, 20]}, "bucket-name": "x"});
        assert_eq!(JsonPath::parse("$.a.b[1]").unwrap().select(&doc), Some(json!(20)));
        assert_eq!(JsonPath::parse("$").unwrap().select(&doc), Some(doc.clone()));
        assert_eq!(JsonPath::parse("$.missing").unwrap().select(&doc), None);
        assert_eq!(JsonPath::parse("$.bucket-name").unwrap().select(&doc), Some(json!("x")));
        assert_eq!(JsonPath::parse("$['a']['b'][0]").unwrap().select(&doc), Some(json!(10)));
    }

    #[test]
    fn indefinite_paths_yield_lists() {
        let doc = json!({"items": [{"id": 1, "ok": true}, {"id": 2, "ok": false}]});
        assert_eq!(JsonPath::parse("$.items[*].id").unwrap().select(&doc), Some(json!([1, 2])));
        assert_eq!(JsonPath::parse("$.items[?@.ok == true].id").unwrap().select(&doc), Some(json!([1])));
        assert_eq!(JsonPath::parse("$..nothing").unwrap().select(&doc), Some(json!([])));
        assert_eq!(JsonPath::parse("$.items[0:1]").unwrap().select(&doc), Some(json!([{"id": 1, "ok": true}])));
    }

    #[test]
    fn queries_read_the_input_the_context_or_a_variable() {
        let s = TestSources(json!({"a": 1}), json!({"State": {"Name": "A"}}), json!({"count": [5, 6], "_x": {"y": 2}}));
        assert_eq!(Query::parse("$.a").unwrap().select(&s), Some(json!(1)));
        assert_eq!(Query::parse("$$.State.Name").unwrap().select(&s), Some(json!("A")));
        assert_eq!(Query::parse("$count[1]").unwrap().select(&s), Some(json!(6)));
        assert_eq!(Query::parse("$_x.y").unwrap().select(&s), Some(json!(2)));
        assert_eq!(Query::parse("$count").unwrap().root, Root::Variable("count".into()));
        assert_eq!(Query::parse("$missing").unwrap().select(&s), None);
        assert_eq!(bracketed("$.a.b[0]"), "$['a']['b'][0]");
    }

    #[test]
    fn bad_paths_are_refused() {
        assert!(JsonPath::parse("a.b").is_err());
        assert!(JsonPath::parse("$.a[").is_err());
        assert!(ReferencePath::parse("$.a[*]").is_err());
        assert!(ReferencePath::parse("$..a").is_err());
        assert!(ReferencePath::parse("x").is_err());
    }

    #[test]
    fn reference_paths_write_and_create() {
        let rp = ReferencePath::parse("$.result.inner").unwrap();
        assert_eq!(rp.set(json!({"a": 1}), json!(2)).unwrap(), json!({"a": 1, "result": {"inner": 2}}));
        let rp = ReferencePath::parse("$['list'][1]").unwrap();
        assert_eq!(rp.set(json!({"list": [0, 0]}), json!(5)).unwrap(), json!({"list": [0, 5]}));
        assert_eq!(ReferencePath::parse("$").unwrap().set(json!(1), json!(2)).unwrap(), json!(2));
    }

    #[test]
    fn reference_paths_refuse_to_cross_scalars() {
        let rp = ReferencePath::parse("$.a.b").unwrap();
        assert!(rp.set(json!({"a": 3}), json!(1)).is_err());
        assert!(rp.set(json!("text"), json!(1)).is_err());
        assert!(ReferencePath::parse("$.l[4]").unwrap().set(json!({"l": []}), json!(1)).is_err());
    }
}
