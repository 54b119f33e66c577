//! The API's requests as typed structures, decoded and checked the way AWS's JSON 1.0
//! front end (Coral) does it before an operation runs:
//!
//! - a body that is not a JSON object, or a member of the wrong JSON type, is a
//!   `SerializationException` with Coral's wording ("class java.math.BigDecimal can not
//!   be converted to an String", "Start of structure or map found where not expected.");
//! - `null` is the same as an absent member, and members the operation does not know
//!   are ignored;
//! - then every constraint of the model is checked and all the violations are reported
//!   in one `ValidationException`: "2 validation errors detected: Value null at 'name'
//!   failed to satisfy constraint: Member must not be null; Value '...' at ..." (a
//!   sensitive member, such as `input` or `definition`, is not echoed).

use std::fmt;

use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, de::DeserializeOwned};
use serde_json::Value;

use crate::limits::MAX_PAGE_SIZE;
use crate::service::ApiError;

/// The longest execution input, in bytes (Step Functions quota: 256 KiB).
pub const MAX_INPUT_BYTES: usize = 262_144;
/// The longest definition (`CreateStateMachine`'s `definition`: 1,048,576 characters).
pub const MAX_DEFINITION_CHARS: usize = 1_048_576;
/// ARNs and role ARNs: 1 to 256 characters.
const MAX_ARN_CHARS: usize = 256;
/// State machine and execution names: 1 to 80 characters.
const MAX_NAME_CHARS: usize = 80;
const MAX_TOKEN_CHARS: usize = 1_024;
const MAX_ERROR_CHARS: usize = 256;
const MAX_CAUSE_CHARS: usize = 32_768;

/// The statuses `ListExecutions` may filter on (AWS's `ExecutionStatus` enum).
pub const EXECUTION_STATUSES: &[&str] = &["RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"];
const MACHINE_TYPES: &[&str] = &["STANDARD", "EXPRESS"];

/// Coral's messages for a JSON value of the wrong type; `target` is the Java type the
/// member has in the model ("String", "Integer", "Boolean").
fn wrong_type<E: de::Error>(found: Found, target: &str) -> E {
    // Coral writes "an" before every type name ("an String", "an Boolean").
    E::custom(match found {
        Found::Number => format!("class java.math.BigDecimal can not be converted to an {target}"),
        Found::Bool => format!("class java.lang.Boolean can not be converted to an {target}"),
        Found::Text => format!("class java.lang.String can not be converted to an {target}"),
        Found::Object => "Start of structure or map found where not expected.".to_owned(),
        Found::List => "Start of list found where not expected".to_owned(),
    })
}

#[derive(Clone, Copy)]
enum Found {
    Number,
    Bool,
    Text,
    Object,
    List,
}

/// Implements the visitor methods that refuse every JSON type but the wanted one.
macro_rules! refuse {
    ($target:literal; $($method:ident($ty:ty) => $found:expr),* $(,)?) => {
        $(fn $method<E: de::Error>(self, _: $ty) -> Result<Self::Value, E> {
            Err(wrong_type($found, $target))
        })*
        fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong_type(Found::Object, $target))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Self::Value, A::Error> {
            Err(wrong_type(Found::List, $target))
        }
    };
}

/// A string member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text(pub String);

impl<'de> Deserialize<'de> for Text {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Text;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Text, E> {
                Ok(Text(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Text, E> {
                Ok(Text(v))
            }
            refuse!("String"; visit_bool(bool) => Found::Bool, visit_i64(i64) => Found::Number,
                visit_u64(u64) => Found::Number, visit_f64(f64) => Found::Number);
        }
        deserializer.deserialize_any(V)
    }
}

/// An integer member. Coral truncates a fractional number, as Java's `intValue` does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Int(pub i64);

impl<'de> Deserialize<'de> for Int {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Int;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an integer")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Int, E> {
                Ok(Int(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Int, E> {
                Ok(Int(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Int, E> {
                // `as` saturates (and maps NaN to 0): no overflow on any input.
                Ok(Int(v.floor() as i64))
            }
            refuse!("Integer"; visit_bool(bool) => Found::Bool, visit_str(&str) => Found::Text);
        }
        deserializer.deserialize_any(V)
    }
}

/// A boolean member; Coral also reads the strings "true" and "false".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flag(pub bool);

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Flag;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a boolean")
            }
            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Flag, E> {
                Ok(Flag(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Flag, E> {
                match v.to_ascii_lowercase().as_str() {
                    "true" => Ok(Flag(true)),
                    "false" => Ok(Flag(false)),
                    _ => Err(E::custom(format!("'{}' can not be converted to an Boolean", v.to_uppercase()))),
                }
            }
            refuse!("Boolean"; visit_i64(i64) => Found::Number, visit_u64(u64) => Found::Number,
                visit_f64(f64) => Found::Number);
        }
        deserializer.deserialize_any(V)
    }
}

/// A body that is not JSON, or not shaped as the operation's request.
pub fn serialization_error(message: impl Into<String>) -> ApiError {
    ApiError::new("SerializationException", message)
}

/// Decodes one operation's request from the body's JSON, then checks its constraints.
pub fn decode<R: DeserializeOwned + Checked>(body: &Value) -> Result<R, ApiError> {
    match body {
        Value::Object(_) => {}
        Value::Array(_) => return Err(serialization_error("Start of list found where not expected")),
        _ => return Err(serialization_error("Expected a JSON object as the request")),
    }
    let request = R::deserialize(body).map_err(|e| serialization_error(e.to_string()))?;
    let mut violations = Violations::default();
    request.check(&mut violations);
    violations.into_result()?;
    Ok(request)
}

/// A request's model constraints.
pub trait Checked {
    fn check(&self, v: &mut Violations);
}

/// The constraint violations found in one request, in the model's member order.
#[derive(Default)]
pub struct Violations(Vec<String>);

impl Violations {
    fn push(&mut self, member: &str, value: Option<&str>, constraint: String) {
        let shown = match value {
            None => "Value null".to_owned(),
            Some(v) => format!("Value '{v}'"),
        };
        self.0.push(format!("{shown} at '{member}' failed to satisfy constraint: {constraint}"));
    }

    pub fn required<T>(&mut self, member: &str, value: &Option<T>) {
        if value.is_none() {
            self.push(member, None, "Member must not be null".to_owned());
        }
    }

    /// A length constraint in characters; a sensitive member's value is not echoed.
    pub fn length(&mut self, member: &str, value: &Option<Text>, min: usize, max: usize, sensitive: bool) {
        let Some(Text(text)) = value else { return };
        let len = text.chars().count();
        let constraint = if len < min {
            format!("Member must have length greater than or equal to {min}")
        } else if len > max {
            format!("Member must have length less than or equal to {max}")
        } else {
            return;
        };
        if sensitive {
            self.0.push(format!("Value at '{member}' failed to satisfy constraint: {constraint}"));
        } else {
            self.push(member, Some(text), constraint);
        }
    }

    pub fn range(&mut self, member: &str, value: Option<Int>, min: i64, max: i64) {
        let Some(Int(n)) = value else { return };
        let constraint = if n < min {
            format!("Member must have value greater than or equal to {min}")
        } else if n > max {
            format!("Member must have value less than or equal to {max}")
        } else {
            return;
        };
        self.push(member, Some(&n.to_string()), constraint);
    }

    pub fn one_of(&mut self, member: &str, value: &Option<Text>, set: &[&str]) {
        if let Some(Text(text)) = value
            && !set.contains(&text.as_str())
        {
            self.push(member, Some(text), format!("Member must satisfy enum value set: [{}]", set.join(", ")));
        }
    }

    fn into_result(self) -> Result<(), ApiError> {
        match self.0.len() {
            0 => Ok(()),
            n => Err(ApiError::new(
                "ValidationException",
                format!("{n} validation error{} detected: {}", if n == 1 { "" } else { "s" }, self.0.join("; ")),
            )),
        }
    }
}

impl Text {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The text of a member the checks have made sure is present.
pub fn text(value: &Option<Text>) -> &str {
    value.as_ref().map_or("", Text::as_str)
}

fn arn(v: &mut Violations, member: &str, value: &Option<Text>, required: bool) {
    if required {
        v.required(member, value);
    }
    v.length(member, value, 1, MAX_ARN_CHARS, false);
}

fn page(v: &mut Violations, max_results: Option<Int>, next_token: &Option<Text>) {
    v.range("maxResults", max_results, 0, MAX_PAGE_SIZE as i64);
    v.length("nextToken", next_token, 1, MAX_TOKEN_CHARS, false);
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreateStateMachine {
    pub name: Option<Text>,
    pub definition: Option<Text>,
    pub role_arn: Option<Text>,
    #[serde(rename = "type")]
    pub kind: Option<Text>,
}

impl Checked for CreateStateMachine {
    fn check(&self, v: &mut Violations) {
        v.required("name", &self.name);
        v.length("name", &self.name, 1, MAX_NAME_CHARS, false);
        v.required("definition", &self.definition);
        v.length("definition", &self.definition, 1, MAX_DEFINITION_CHARS, true);
        arn(v, "roleArn", &self.role_arn, true);
        v.one_of("type", &self.kind, MACHINE_TYPES);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UpdateStateMachine {
    pub state_machine_arn: Option<Text>,
    pub definition: Option<Text>,
    pub role_arn: Option<Text>,
}

impl Checked for UpdateStateMachine {
    fn check(&self, v: &mut Violations) {
        arn(v, "stateMachineArn", &self.state_machine_arn, true);
        v.length("definition", &self.definition, 1, MAX_DEFINITION_CHARS, true);
        arn(v, "roleArn", &self.role_arn, false);
    }
}

/// `DeleteStateMachine` and `DescribeStateMachine`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MachineArn {
    pub state_machine_arn: Option<Text>,
}

impl Checked for MachineArn {
    fn check(&self, v: &mut Violations) {
        arn(v, "stateMachineArn", &self.state_machine_arn, true);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListStateMachines {
    pub max_results: Option<Int>,
    pub next_token: Option<Text>,
}

impl Checked for ListStateMachines {
    fn check(&self, v: &mut Violations) {
        page(v, self.max_results, &self.next_token);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StartExecution {
    pub state_machine_arn: Option<Text>,
    pub name: Option<Text>,
    pub input: Option<Text>,
}

impl Checked for StartExecution {
    fn check(&self, v: &mut Violations) {
        arn(v, "stateMachineArn", &self.state_machine_arn, true);
        v.length("name", &self.name, 1, MAX_NAME_CHARS, false);
        // The quota is in bytes of UTF-8, not characters: checked as such.
        if self.input.as_ref().is_some_and(|i| i.0.len() > MAX_INPUT_BYTES) {
            v.0.push(format!(
                "Value at 'input' failed to satisfy constraint: Member must have size less than or equal to {MAX_INPUT_BYTES} bytes in UTF-8 encoding"
            ));
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StopExecution {
    pub execution_arn: Option<Text>,
    pub error: Option<Text>,
    pub cause: Option<Text>,
}

impl Checked for StopExecution {
    fn check(&self, v: &mut Violations) {
        arn(v, "executionArn", &self.execution_arn, true);
        v.length("error", &self.error, 0, MAX_ERROR_CHARS, true);
        v.length("cause", &self.cause, 0, MAX_CAUSE_CHARS, true);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DescribeExecution {
    pub execution_arn: Option<Text>,
}

impl Checked for DescribeExecution {
    fn check(&self, v: &mut Violations) {
        arn(v, "executionArn", &self.execution_arn, true);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListExecutions {
    pub state_machine_arn: Option<Text>,
    pub status_filter: Option<Text>,
    pub max_results: Option<Int>,
    pub next_token: Option<Text>,
}

impl Checked for ListExecutions {
    fn check(&self, v: &mut Violations) {
        arn(v, "stateMachineArn", &self.state_machine_arn, true);
        v.one_of("statusFilter", &self.status_filter, EXECUTION_STATUSES);
        page(v, self.max_results, &self.next_token);
    }
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GetExecutionHistory {
    pub execution_arn: Option<Text>,
    pub max_results: Option<Int>,
    pub reverse_order: Option<Flag>,
    pub next_token: Option<Text>,
    pub include_execution_data: Option<Flag>,
}

impl Checked for GetExecutionHistory {
    fn check(&self, v: &mut Violations) {
        arn(v, "executionArn", &self.execution_arn, true);
        page(v, self.max_results, &self.next_token);
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn start(body: Value) -> Result<StartExecution, ApiError> {
        decode::<StartExecution>(&body)
    }

    fn message(result: Result<impl fmt::Debug, ApiError>) -> (&'static str, String) {
        let e = result.expect_err("refused");
        (e.code, e.message)
    }

    #[test]
    fn members_of_the_wrong_json_type_are_a_serialization_exception_in_corals_words() {
        let arn = "arn:aws:states:us-east-1:1:stateMachine:m";
        for (input, expected) in [
            (json!(5), "class java.math.BigDecimal can not be converted to an String"),
            (json!(true), "class java.lang.Boolean can not be converted to an String"),
            (json!({"a": 1}), "Start of structure or map found where not expected."),
            (json!([1]), "Start of list found where not expected"),
        ] {
            let got = message(start(json!({"stateMachineArn": arn, "input": input})));
            assert_eq!(got, ("SerializationException", expected.to_owned()));
        }
        let history = |body: Value| message(decode::<GetExecutionHistory>(&body));
        let got = history(json!({"executionArn": arn, "maxResults": "10"}));
        assert_eq!(got.1, "class java.lang.String can not be converted to an Integer");
        let got = history(json!({"executionArn": arn, "reverseOrder": 1}));
        assert_eq!(got.1, "class java.math.BigDecimal can not be converted to an Boolean");
        assert_eq!(
            history(json!({"executionArn": arn, "reverseOrder": "maybe"})).1,
            "'MAYBE' can not be converted to an Boolean"
        );
        assert_eq!(message(start(json!([]))).0, "SerializationException");
        assert_eq!(message(start(json!("x"))).0, "SerializationException");
    }

    #[test]
    fn null_is_absent_and_unknown_members_are_ignored() {
        let request = start(json!({"stateMachineArn": "arn:x", "name": null, "traceHeader": "t", "extra": {"a": 1}}));
        let request = request.expect("accepted");
        assert_eq!(request.name, None);
        let flags =
            decode::<GetExecutionHistory>(&json!({"executionArn": "a", "reverseOrder": "TRUE", "maxResults": 2.7}));
        let flags = flags.expect("accepted");
        assert_eq!((flags.reverse_order, flags.max_results), (Some(Flag(true)), Some(Int(2))));
    }

    #[test]
    fn every_violation_is_listed_in_one_validation_exception() {
        let got = message(decode::<CreateStateMachine>(&json!({"name": "x".repeat(81), "type": "FAST"})));
        assert_eq!(got.0, "ValidationException");
        assert_eq!(
            got.1,
            format!(
                "4 validation errors detected: Value '{}' at 'name' failed to satisfy constraint: Member must have length less than or equal to 80; \
                 Value null at 'definition' failed to satisfy constraint: Member must not be null; \
                 Value null at 'roleArn' failed to satisfy constraint: Member must not be null; \
                 Value 'FAST' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [STANDARD, EXPRESS]",
                "x".repeat(81)
            )
        );
        let got = message(start(json!({})));
        assert_eq!(
            got.1,
            "1 validation error detected: Value null at 'stateMachineArn' failed to satisfy constraint: Member must not be null"
        );
        let list = message(decode::<ListExecutions>(
            &json!({"stateMachineArn": "a", "maxResults": -1, "statusFilter": "DONE"}),
        ));
        assert!(list.1.starts_with("2 validation errors detected: Value 'DONE' at 'statusFilter'"), "{}", list.1);
        assert!(list.1.ends_with(
            "Value '-1' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 0"
        ));
    }

    #[test]
    fn an_input_over_256_kib_is_refused_without_echoing_it() {
        let at_limit = "x".repeat(MAX_INPUT_BYTES);
        assert!(start(json!({"stateMachineArn": "a", "input": at_limit})).is_ok());
        // 131,073 two-byte characters: under the limit in characters, over it in bytes.
        let over = "é".repeat(MAX_INPUT_BYTES / 2 + 1);
        let got = message(start(json!({"stateMachineArn": "a", "input": over})));
        assert_eq!(
            got,
            (
                "ValidationException",
                "1 validation error detected: Value at 'input' failed to satisfy constraint: Member must have size less than or equal to 262144 bytes in UTF-8 encoding".to_owned()
            )
        );
    }
}
