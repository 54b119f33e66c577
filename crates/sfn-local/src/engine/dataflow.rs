//! Input and output processing, the one place the two query languages differ:
//! JSONPath's `InputPath` / `Parameters` / `ResultSelector` / `ResultPath` /
//! `OutputPath` and JSONata's `Arguments` / `Output`, both through [`render`] for
//! templates, and `Assign` for both.

use std::borrow::Cow;

use serde_json::{Map, Value, json};

use super::MAX_PAYLOAD_BYTES;
use super::context::Env;
use crate::asl::{Amount, Dataflow, ResultTarget, Selector, Template, Text};
use crate::error::{StatesError, names};
use crate::intrinsics;
use crate::path::{Root, bracketed, type_name};

/// The effective input: JSONPath's `InputPath`; a JSONata state reads its whole
/// input. The whole input (`$`, the default) is borrowed, not copied.
pub(super) fn effective_input<'v>(dataflow: &Dataflow, raw: &'v Value) -> Result<Cow<'v, Value>, StatesError> {
    match dataflow {
        Dataflow::JsonPath { input_path: Selector::Path(p), .. } if p.is_root() => Ok(Cow::Borrowed(raw)),
        Dataflow::JsonPath { input_path, .. } => select(input_path, raw).map(Cow::Owned),
        Dataflow::Jsonata { .. } => Ok(Cow::Borrowed(raw)),
    }
}

/// The state output from its result placed in its input: JSONPath's `OutputPath`;
/// JSONata's `Output` (reading `$states.input` and `$states.result`), or the result.
pub(super) fn output(dataflow: &Dataflow, placed: Value, env: &Env<'_>) -> Result<Value, StatesError> {
    match dataflow {
        Dataflow::JsonPath { output_path: Selector::Path(p), .. } if p.is_root() => Ok(placed),
        Dataflow::JsonPath { output_path, .. } => select(output_path, &placed),
        Dataflow::Jsonata { output: Some(template) } => render(template, env),
        Dataflow::Jsonata { output: None } => Ok(placed),
    }
}

/// `Assign`'s values, all computed before any is stored (a state's expressions read
/// the variables as they were when it started).
pub(super) fn assignments(assign: &Template, env: &Env<'_>) -> Result<Map<String, Value>, StatesError> {
    match render(assign, env)? {
        Value::Object(values) => Ok(values),
        other => Err(StatesError::runtime(format!("Assign must give an object, not a {}", type_name(&other)))),
    }
}

/// `InputPath` / `OutputPath` / `ItemsPath`: a path that must match, or `null` for `{}`.
pub(super) fn select(selector: &Selector, input: &Value) -> Result<Value, StatesError> {
    match selector {
        Selector::Discard => Ok(json!({})),
        Selector::Path(p) => p.select(input).ok_or_else(|| {
            StatesError::runtime(format!(
                "Invalid path '{}' : No results for path: {}",
                p.as_str(),
                bracketed(p.as_str())
            ))
        }),
    }
}

/// A template's value (each `.$` path and `{% %}` expression knows its field, for
/// error causes).
pub(super) fn render(template: &Template, env: &Env<'_>) -> Result<Value, StatesError> {
    Ok(match template {
        Template::Literal(v) => v.clone(),
        Template::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, t) in fields {
                out.insert(key.clone(), render(t, env)?);
            }
            Value::Object(out)
        }
        Template::Array(items) => Value::Array(items.iter().map(|t| render(t, env)).collect::<Result<_, _>>()?),
        Template::Path { field, query } => query.select(env).ok_or_else(|| {
            let place = match &query.root {
                Root::Input => format!("in the input '{}'", env.input),
                Root::Context => "in the context object".to_owned(),
                Root::Variable(name) => format!("in the variable '{name}'"),
            };
            StatesError::new(
                names::PARAMETER_PATH_FAILURE,
                format!(
                    "The JSONPath '{}' specified for the field '{field}.$' could not be found {place}",
                    query.as_str()
                ),
            )
        })?,
        Template::Intrinsic { call, .. } => intrinsics::evaluate(call, env)?,
        Template::Jsonata(expr) => env.jsonata(expr)?,
    })
}

/// `ResultPath`: the result placed in the raw input (or the input kept, for `null`).
pub(super) fn place_result(target: &ResultTarget, raw_input: &Value, result: Value) -> Result<Value, StatesError> {
    match target {
        ResultTarget::Discard => Ok(raw_input.clone()),
        ResultTarget::Path(p) if p.is_root() => Ok(result),
        // AWS's cause quotes the path and the whole input, as JSON.
        ResultTarget::Path(p) => p.set(raw_input.clone(), result).map_err(|_| {
            StatesError::new(
                names::RESULT_PATH_MATCH_FAILURE,
                format!("Unable to apply ReferencePath {} to input {raw_input}", p.as_str()),
            )
        }),
    }
}

/// A payload as JSON text, refused past AWS's 256 KiB.
pub(super) fn check_size(value: &Value, what: &str) -> Result<String, StatesError> {
    let text = value.to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(
            names::DATA_LIMIT_EXCEEDED,
            format!("The {what} has {} bytes, more than the {MAX_PAYLOAD_BYTES} allowed", text.len()),
        ));
    }
    Ok(text)
}

/// A Map's `MaxConcurrency` / `ToleratedFailureCount` / `ToleratedFailurePercentage`
/// (`field`): fixed, from a path, or from an expression. A path's value may be an
/// integer or a string holding one, as AWS reads it.
pub(super) fn resolve_amount(amount: &Amount, env: &Env<'_>, field: &str) -> Result<f64, StatesError> {
    let (value, path) = match amount {
        Amount::Fixed(n) => return Ok(*n),
        Amount::FromPath(q) => {
            let value = q.select(env).ok_or_else(|| {
                StatesError::runtime(format!(
                    "The {field}Path field references a path that could not be found: {}",
                    q.as_str()
                ))
            })?;
            (value, Some(q.as_str()))
        }
        Amount::Jsonata(expr) => (env.jsonata_of_type(expr, "number")?, None),
    };
    let percentage = field == "ToleratedFailurePercentage";
    let number = match &value {
        Value::Number(n) if percentage => n.as_f64(),
        Value::Number(n) => n.as_i64().map(|i| i as f64),
        Value::String(s) if percentage => s.trim().parse::<f64>().ok().filter(|n| n.is_finite()),
        Value::String(s) => s.trim().parse::<i64>().ok().map(|i| i as f64),
        _ => None,
    };
    let kind = if percentage { "float" } else { "integer" };
    let Some(n) = number else {
        let shown = match &value {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        return Err(StatesError::runtime(match path {
            Some(path) => {
                format!("The {field}Path field refers to value \"{shown}\" which is not a valid {kind}: {path}")
            }
            None => format!("Expected non-negative {kind} for {field}, got '{shown}' instead."),
        }));
    };
    // The tolerance texts are AWS's (recorded in LocalStack's test_base_scenarios snapshot,
    // test_map_state_tolerated_failure_*_path); MaxConcurrency's negative text is not published.
    if percentage && !(0.0..=100.0).contains(&n) {
        return Err(StatesError::runtime(format!("{field} must be between 0 and 100.")));
    }
    if n < 0.0 && field == "ToleratedFailureCount" {
        return Err(StatesError::runtime(format!("{field} cannot be negative.")));
    }
    if n < 0.0 {
        let shown = if n.fract() == 0.0 { (n as i64).to_string() } else { n.to_string() };
        return Err(StatesError::runtime(format!("Expected non-negative integer for {field}, got '{shown}' instead.")));
    }
    Ok(n)
}

/// Fail's `Error` / `Cause`.
pub(super) fn resolve_text(text: &Text, env: &Env<'_>, field: &str) -> Result<String, StatesError> {
    let value = match text {
        Text::Fixed(s) => return Ok(s.clone()),
        Text::Path(q) => q.select(env).ok_or_else(|| {
            StatesError::runtime(format!(
                "The {field}Path field references a path that could not be found: {}",
                q.as_str()
            ))
        })?,
        Text::Intrinsic(call) => intrinsics::evaluate(call, env)?,
        Text::Jsonata(expr) => env.jsonata_of_type(expr, "string")?,
    };
    match value {
        Value::String(s) => Ok(s),
        other => Err(StatesError::runtime(format!(
            "The {field} field must resolve to a string, not a {}",
            type_name(&other)
        ))),
    }
}
