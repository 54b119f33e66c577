//! JSONata as Step Functions runs it: `{% ... %}` strings evaluated by `jsonata-core`
//! (which passes 1,594 of the official suite's 1,598 loadable cases), with `$states`
//! and the workflow variables bound, and the functions Step Functions adds
//! (`$partition`, `$range`, `$hash`, `$random`, `$uuid`, `$parse`) registered through
//! the crate's host-function seam. `$eval` is not available, as on AWS.

use std::collections::BTreeSet;
use std::sync::Arc;

use jsonata_core::ast::AstNode;
use jsonata_core::evaluator::{Context, Evaluator, EvaluatorError};
use jsonata_core::value::{JArray, JMap, JValue};
use serde_json::{Map, Number, Value};

use self::shortcut::Shortcut;
use crate::variables::Variables;

mod shortcut;

/// The expression inside a `{% ... %}` string, if the string is one.
pub fn embedded(text: &str) -> Option<&str> {
    text.strip_prefix("{%").and_then(|rest| rest.strip_suffix("%}")).map(str::trim)
}

/// A parsed expression; cheap to clone and shared between executions.
#[derive(Clone)]
pub struct Expression {
    source: Arc<str>,
    ast: Arc<AstNode>,
    /// The `$names` the expression mentions: the variables and functions to bind.
    names: Arc<BTreeSet<String>>,
    /// Where the expression sits in its state (`Arguments/Input/id`), as AWS's
    /// causes name it.
    field: Arc<str>,
    /// A plain path, read without the engine.
    shortcut: Option<Arc<Shortcut>>,
}

impl std::fmt::Debug for Expression {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{{% {} %}}", self.source)
    }
}

/// The functions Step Functions adds to JSONata.
const AWS_FUNCTIONS: &[&str] = &["partition", "range", "hash", "random", "uuid", "parse", "eval"];

impl Expression {
    pub fn parse(source: &str) -> Result<Self, String> {
        let ast = jsonata_core::parser::parse(source).map_err(|e| e.display_message())?;
        Ok(Self {
            source: source.into(),
            shortcut: Shortcut::of(&ast).map(Arc::new),
            ast: Arc::new(ast),
            names: Arc::new(dollar_names(source)),
            field: Arc::from(""),
        })
    }

    /// The same expression, placed at `field` of its state.
    pub fn at_field(mut self, field: &str) -> Self {
        self.field = field.into();
        self
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    /// The field of its state the expression sits in (`Output`, `Arguments/Input/id`).
    pub fn field(&self) -> &str {
        &self.field
    }

    /// Whether `$states.context` may be read (building it costs a copy of the execution
    /// input, so it is bound only then).
    pub fn reads_context(&self) -> bool {
        self.source.match_indices("$states").any(|(i, _)| {
            let after = &self.source[i + "$states".len()..];
            ![".input", ".result", ".errorOutput"].iter().any(|field| after.starts_with(field))
        })
    }

    /// Evaluates with `$states` (its members given as borrowed JSON) and the variables;
    /// `None` is JSONata's "undefined".
    pub fn evaluate(&self, states: &[(&str, &Value)], vars: &Variables) -> Result<Option<Value>, String> {
        if let Some(value) = self.shortcut.as_ref().and_then(|s| s.read(states, vars)) {
            return Ok(value);
        }
        let mut context = Context::new();
        let states: JMap = states.iter().map(|(k, v)| ((*k).to_owned(), from_json(v))).collect();
        context.bind("states".to_owned(), JValue::Object(std::rc::Rc::new(states)));
        for name in self.names.iter() {
            if let Some(value) = vars.get(name) {
                context.bind(name.clone(), from_json(value));
            }
        }
        let mut evaluator = Evaluator::with_context(context);
        for name in AWS_FUNCTIONS {
            if self.names.contains(*name) {
                register(&mut evaluator, name).map_err(|e| e.message().to_owned())?;
            }
        }
        // The engine's message carries JSONata's own code ("T0410: ..."), which AWS quotes.
        let result = evaluator.evaluate(&self.ast, &JValue::Undefined).map_err(|e| e.message().to_owned())?;
        Ok(if result.is_undefined() { None } else { Some(to_json(&result)) })
    }
}

/// Every `$name` in the source (outside nothing: a name inside a string literal only
/// binds a value that is not read).
fn dollar_names(source: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut chars = source.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '$' {
            continue;
        }
        let start = i + 1;
        let mut end = start;
        while let Some(&(j, d)) = chars.peek() {
            if d.is_alphanumeric() || d == '_' {
                end = j + d.len_utf8();
                chars.next();
            } else {
                break;
            }
        }
        if end > start {
            names.insert(source[start..end].to_owned());
        }
    }
    names
}

/// JSON as a JSONata value, read in place (no intermediate copy of the document).
fn from_json(value: &Value) -> JValue {
    match value {
        Value::Null => JValue::Null,
        Value::Bool(b) => JValue::Bool(*b),
        Value::Number(n) => JValue::Number(n.as_f64().unwrap_or(0.0)),
        Value::String(s) => JValue::String(s.as_str().into()),
        Value::Array(items) => {
            let flat = !items.iter().any(Value::is_array);
            JValue::Array(JArray::new_flat(items.iter().map(from_json).collect(), flat))
        }
        Value::Object(map) => {
            JValue::Object(std::rc::Rc::new(map.iter().map(|(k, v)| (k.clone(), from_json(v))).collect::<JMap>()))
        }
    }
}

/// A JSONata value as JSON; whole numbers are written as integers, as AWS writes them.
fn to_json(value: &JValue) -> Value {
    match value {
        JValue::Bool(b) => Value::Bool(*b),
        JValue::Number(n) => number(*n),
        JValue::String(s) => Value::String(s.to_string()),
        JValue::Array(items) => Value::Array(items.iter().map(to_json).collect()),
        JValue::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), to_json(v))).collect::<Map<String, Value>>())
        }
        _ => Value::Null,
    }
}

fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9_007_199_254_740_992.0 {
        Value::Number(Number::from(n as i64))
    } else {
        Number::from_f64(n).map(Value::Number).unwrap_or(Value::Null)
    }
}

fn fail(function: &str, why: impl std::fmt::Display) -> EvaluatorError {
    EvaluatorError::EvaluationError(format!("${function}: {why}"))
}

fn register(evaluator: &mut Evaluator, name: &str) -> Result<(), EvaluatorError> {
    match name {
        "partition" => evaluator.register_fn("partition", |args: &[JValue]| aws_call("partition", args)),
        "range" => evaluator.register_fn("range", |args: &[JValue]| aws_call("range", args)),
        "hash" => evaluator.register_fn("hash", |args: &[JValue]| aws_call("hash", args)),
        "uuid" => evaluator.register_fn("uuid", |_: &[JValue]| Ok(JValue::from(uuid::Uuid::new_v4().to_string()))),
        "parse" => evaluator.register_fn("parse", |args: &[JValue]| aws_call("parse", args)),
        "random" => evaluator.register_fn_override("random", |args: &[JValue]| aws_call("random", args)),
        _ => evaluator.register_fn_override("eval", |_: &[JValue]| {
            Err(fail("eval", "is not supported by Step Functions; use $parse"))
        }),
    }
}

/// AWS's functions, on JSON values.
fn aws_call(function: &str, args: &[JValue]) -> Result<JValue, EvaluatorError> {
    let json: Vec<Value> = args.iter().map(to_json).collect();
    let arg = |i: usize| json.get(i).cloned().unwrap_or(Value::Null);
    let int = |i: usize| -> Result<i64, EvaluatorError> {
        match arg(i).as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9.0e15 => Ok(f as i64),
            _ => Err(fail(function, format!("argument {} must be an integer, got {}", i + 1, arg(i)))),
        }
    };
    let out = match function {
        "partition" => {
            let items =
                arg(0).as_array().cloned().ok_or_else(|| fail(function, "the first argument must be an array"))?;
            let size = usize::try_from(int(1)?).ok().filter(|s| *s > 0);
            let size = size.ok_or_else(|| fail(function, "the chunk size must be a positive integer"))?;
            Value::Array(items.chunks(size).map(|c| Value::Array(c.to_vec())).collect())
        }
        "range" => {
            let (start, end, step) = (int(0)?, int(1)?, int(2)?);
            if step == 0 {
                return Err(fail(function, "the step must not be 0"));
            }
            let mut items = Vec::new();
            let mut n = start;
            while (step > 0 && n <= end) || (step < 0 && n >= end) {
                if items.len() == 1000 {
                    return Err(fail(function, "the range has more than 1000 items"));
                }
                items.push(Value::from(n));
                n = n.saturating_add(step);
            }
            Value::Array(items)
        }
        "hash" => {
            let data = arg(0).as_str().map(str::to_owned).ok_or_else(|| fail(function, "the data must be a string"))?;
            let algorithm = arg(1).as_str().map(str::to_owned).unwrap_or_default();
            let digest = crate::intrinsics::hash(&data, &algorithm)
                .ok_or_else(|| fail(function, format!("unknown algorithm '{algorithm}'")))?;
            Value::String(digest)
        }
        "parse" => {
            let text =
                arg(0).as_str().map(str::to_owned).ok_or_else(|| fail(function, "the argument must be a string"))?;
            serde_json::from_str(&text).map_err(|e| fail(function, format!("not JSON text: {e}")))?
        }
        _ => {
            use rand::{Rng, SeedableRng};
            let n: f64 = match json.first() {
                Some(seed) if !seed.is_null() => {
                    let seed = seed.as_f64().ok_or_else(|| fail(function, "the seed must be a number"))?;
                    rand::rngs::StdRng::seed_from_u64(seed as i64 as u64).random()
                }
                _ => rand::random(),
            };
            Value::from(n)
        }
    };
    Ok(JValue::from(out))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn eval(source: &str, states: Value) -> Result<Option<Value>, String> {
        let mut vars = Variables::default();
        vars.assign(json!({"limit": 3}).as_object().cloned().unwrap_or_default()).map_err(|e| e.cause)?;
        let members: Vec<(&str, &Value)> =
            states.as_object().map(|m| m.iter().map(|(k, v)| (k.as_str(), v)).collect()).unwrap_or_default();
        Expression::parse(source)?.evaluate(&members, &vars)
    }

    #[test]
    fn states_and_variables_are_bound() {
        let states = json!({"input": {"n": 2, "items": [1, 2, 3]}});
        assert_eq!(eval("$states.input.n + $limit", states.clone()), Ok(Some(json!(5))));
        assert_eq!(eval("$sum($states.input.items)", states.clone()), Ok(Some(json!(6))));
        assert_eq!(eval("$states.input.missing", states.clone()), Ok(None));
        assert_eq!(eval("1.5 * 2", states), Ok(Some(json!(3))), "whole numbers are integers");
    }

    #[test]
    fn aws_functions() {
        let s = json!({});
        assert_eq!(eval("$partition([1,2,3,4,5], 2)", s.clone()), Ok(Some(json!([[1, 2], [3, 4], [5]]))));
        assert_eq!(eval("$range(0, 10, 5)", s.clone()), Ok(Some(json!([0, 5, 10]))));
        assert_eq!(
            eval("$hash('input data', 'SHA-1')", s.clone()),
            Ok(Some(json!("aaff4a450a104cd177d28d18d74485e8cae074b7")))
        );
        assert_eq!(eval("$parse('{\"a\": [1]}').a", s.clone()), Ok(Some(json!([1]))));
        assert_eq!(eval("$random(7) = $random(7)", s.clone()), Ok(Some(json!(true))));
        assert!(
            eval("$random()", s.clone())
                .is_ok_and(|v| v.and_then(|v| v.as_f64()).is_some_and(|n| (0.0..1.0).contains(&n)))
        );
        assert_eq!(eval("$length($uuid())", s.clone()), Ok(Some(json!(36))));
        assert!(eval("$eval('1')", s.clone()).is_err());
        assert!(eval("$range(0, 5000, 1)", s).is_err());
    }

    #[test]
    fn plain_paths_read_without_the_engine_give_what_the_engine_gives() {
        let input = json!({"o": {"n": 2.0, "big": 12345678901234567890u64, "s": "x", "nested": {"list": [1, [2]]}},
                           "items": [{"id": 1}, {"id": 2}], "one": [7], "text": "t"});
        let mut vars = Variables::default();
        vars.assign(json!({"v": {"w": 1.5}}).as_object().cloned().unwrap_or_default()).unwrap();
        let states = [("input", &input)];
        for source in [
            "$states.input.o",
            "$states.input.o.n",
            "$states.input.o.big",
            "$states.input.o.nested",
            "$states.input.missing",
            "$states.input.items",
            "$states.input.items.id",
            "$states.input.one",
            "$states.input.text.length",
            "$states.result",
            "$v",
            "$v.w",
            "$nope",
            "$states.input",
        ] {
            let expr = Expression::parse(source).unwrap();
            let engine = Expression { shortcut: None, ..expr.clone() };
            assert_eq!(expr.evaluate(&states, &vars), engine.evaluate(&states, &vars), "{source}");
        }
        assert!(Expression::parse("$states.input.o").unwrap().shortcut.is_some());
        assert!(Expression::parse("$v.w").unwrap().shortcut.is_some());
        assert!(Expression::parse("$states.input.items[0]").unwrap().shortcut.is_none());
    }

    #[test]
    fn the_context_is_bound_only_when_read() {
        let reads = |source: &str| Expression::parse(source).map(|e| e.reads_context());
        assert_eq!(reads("$states.input.a + $states.result.b"), Ok(false));
        assert_eq!(reads("$states.context.Execution.Id"), Ok(true));
        assert_eq!(reads("$keys($states)"), Ok(true));
        assert_eq!(reads("$states"), Ok(true));
    }

    #[test]
    fn syntax_errors_are_reported_and_embedded_expressions_found() {
        assert!(Expression::parse("$states.input.").is_err());
        assert_eq!(embedded("{% $x + 1 %}"), Some("$x + 1"));
        assert_eq!(embedded("{% unterminated"), None);
        assert_eq!(embedded("plain"), None);
    }
}
