//! What the functions read and return: the enrollment request as the execution's input,
//! and the checks' results.

use common::WorkflowError;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// The execution's input `{"name","email","courseId","paymentId"}`, every field a string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnrollmentRequest {
    pub name: String,
    pub email: String,
    pub course_id: String,
    pub payment_id: String,
}

const FIELDS: [&str; 4] = ["name", "email", "courseId", "paymentId"];

impl EnrollmentRequest {
    /// Reads the four fields; a missing or non-string one is `InvalidInput` naming it
    /// (serde would say "expected a string" without saying which field).
    pub fn from_payload(payload: &Value) -> Result<Self, WorkflowError> {
        let object = as_object(payload)?;
        let problems: Vec<String> = FIELDS.iter().filter_map(|f| field_problem(object, f)).collect();
        if !problems.is_empty() {
            return Err(WorkflowError::invalid_input(format!("invalid input: {}", problems.join("; "))));
        }
        let text = |field: &str| object.get(field).and_then(Value::as_str).unwrap_or_default().to_owned();
        Ok(Self {
            name: text("name"),
            email: text("email"),
            course_id: text("courseId"),
            payment_id: text("paymentId"),
        })
    }
}

pub(crate) fn as_object(payload: &Value) -> Result<&Map<String, Value>, WorkflowError> {
    payload.as_object().ok_or_else(|| {
        WorkflowError::invalid_input(format!(
            "invalid input: expected a JSON object with name, email, courseId and paymentId, got {}",
            kind(payload)
        ))
    })
}

fn field_problem(object: &Map<String, Value>, field: &str) -> Option<String> {
    match object.get(field) {
        None => Some(format!("missing field `{field}`")),
        Some(Value::String(_)) => None,
        Some(other) => Some(format!("field `{field}` must be a string, got {}", kind(other))),
    }
}

/// An optional string field: absent or null is `None`, any other non-string is named.
pub(crate) fn optional_string(object: &Map<String, Value>, field: &str) -> Result<Option<String>, WorkflowError> {
    match object.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(WorkflowError::invalid_input(format!(
            "invalid input: field `{field}` must be a string, got {}",
            kind(other)
        ))),
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Which check a result is from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckKind {
    Name,
    Email,
    Payment,
}

/// A check's answer `{"check","valid","reason"?}`: a merely invalid value is `valid: false`
/// with a sentence saying why, never an error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckResult {
    pub check: CheckKind,
    pub valid: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl CheckResult {
    pub fn from_rule(check: CheckKind, outcome: Result<(), String>) -> Self {
        match outcome {
            Ok(()) => Self { check, valid: true, reason: None },
            Err(reason) => Self { check, valid: false, reason: Some(reason) },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn refused(payload: Value) -> String {
        let err = EnrollmentRequest::from_payload(&payload).unwrap_err();
        assert_eq!(err.name, "InvalidInput");
        err.message
    }

    #[test]
    fn the_four_fields_are_read() {
        let r = EnrollmentRequest::from_payload(
            &json!({"name": "Ana", "email": "a@x.org", "courseId": "c", "paymentId": "p", "extra": 1}),
        )
        .unwrap();
        assert_eq!((r.name.as_str(), r.course_id.as_str(), r.payment_id.as_str()), ("Ana", "c", "p"));
    }

    #[test]
    fn a_missing_or_mistyped_field_is_named() {
        let m = refused(json!({"name": "Ana", "courseId": "c", "paymentId": "p"}));
        assert!(m.contains("missing field `email`"), "{m}");
        let m = refused(json!({"name": "Ana", "email": 42, "courseId": "c", "paymentId": "p"}));
        assert!(m.contains("field `email` must be a string, got a number"), "{m}");
        let m = refused(json!({"name": null, "email": "a@x.org", "courseId": ["c"]}));
        assert!(
            m.contains("`name` must be a string, got null") && m.contains("`courseId`") && m.contains("`paymentId`"),
            "{m}"
        );
        assert!(refused(json!("Ana")).contains("got a string"));
    }

    #[test]
    fn check_results_keep_the_contract_shape() {
        let ok = CheckResult::from_rule(CheckKind::Name, Ok(()));
        assert_eq!(serde_json::to_value(&ok).unwrap(), json!({"check": "name", "valid": true}));
        let bad = CheckResult::from_rule(CheckKind::Payment, Err("payment p is PENDING, not PAID".into()));
        assert_eq!(
            serde_json::to_value(&bad).unwrap(),
            json!({"check": "payment", "valid": false, "reason": "payment p is PENDING, not PAID"})
        );
    }
}
