//! What the fuzz targets share: running a handler's future, reading a fuzz input as an
//! expression and a document, and the checks every HTTP answer must pass.

use std::future::Future;

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::ApiGatewayV2httpResponse;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sfn_local::path::Sources;

/// Runs a future to completion on a fresh current-thread runtime (with timers, for the
/// handlers that back off and the engine's clock): nothing spawned by one input outlives it.
pub fn run<F: Future>(future: F) -> F::Output {
    let runtime =
        tokio::runtime::Builder::new_current_thread().enable_time().build().expect("a current-thread runtime builds");
    runtime.block_on(future)
}

/// A fixed instant for handlers that take one.
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").map(|t| t.with_timezone(&Utc)).unwrap_or_default()
}

/// Splits an input at its first NUL byte: an expression (UTF-8, else `None`) and the JSON
/// document it runs on (a fixed document when the rest is not JSON). The seeds are written so.
pub fn expression_and_document(data: &[u8]) -> Option<(&str, Value)> {
    let (expression, rest) = match data.iter().position(|b| *b == 0) {
        Some(at) => (&data[..at], &data[at + 1..]),
        None => (data, &[][..]),
    };
    let expression = std::str::from_utf8(expression).ok()?;
    let document = serde_json::from_slice(rest).unwrap_or_else(|_| default_document());
    Some((expression, document))
}

/// A document with every JSON type at a few depths.
pub fn default_document() -> Value {
    json!({
        "key": "incoming/a.csv", "size": 10, "n": -1.5, "flag": true, "none": null,
        "items": [1, "two", {"three": 3}, [4, 5], null],
        "nested": {"a": {"b": {"c": "deep"}}, "list": [{"id": 1}, {"id": 2}]},
        "vars": {"count": 2, "name": "ana", "list": [1, 2, 3]}
    })
}

/// The input, a context object and the variables (the input's `vars`) of a JSONPath query.
pub struct Document {
    pub input: Value,
    pub context: Value,
    pub variables: Value,
}

impl Document {
    pub fn new(input: Value) -> Self {
        let variables = input.get("vars").cloned().unwrap_or(Value::Null);
        let context = json!({
            "Execution": {"Id": "arn:aws:states:us-east-1:123456789012:execution:m:e", "Name": "e", "Input": input},
            "State": {"Name": "S", "EnteredTime": "2026-11-20T10:00:00.000Z", "RetryCount": 0},
            "StateMachine": {"Id": "arn:aws:states:us-east-1:123456789012:stateMachine:m", "Name": "m"},
            "Map": {"Item": {"Index": 0, "Value": {"id": 1}}}
        });
        Self { input, context, variables }
    }
}

impl Sources for Document {
    fn input(&self) -> &Value {
        &self.input
    }
    fn context(&self) -> &Value {
        &self.context
    }
    fn variable(&self, name: &str) -> Option<&Value> {
        self.variables.get(name)
    }
}

/// Checks what every answer of an HTTP function must be, whatever the request: a JSON body
/// declared as such, never a 5xx (the in-memory ports never fail), and a `message` sentence on
/// every refusal. Returns the status and the body.
pub fn checked_answer(response: &ApiGatewayV2httpResponse) -> (i64, Value) {
    let status = response.status_code;
    assert!((200..500).contains(&status), "status {status} for a request the ports did not fail");
    let content_type = response.headers.get("content-type").map(|v| v.as_bytes());
    assert_eq!(content_type, Some(&b"application/json"[..]), "every answer is JSON");
    let body = match &response.body {
        Some(Body::Text(text)) => serde_json::from_str::<Value>(text).expect("the body is JSON"),
        other => panic!("the body is not JSON text: {other:?}"),
    };
    if status >= 400 {
        let message = body.get("message").and_then(Value::as_str);
        assert!(message.is_some_and(|m| !m.is_empty()), "a {status} without a message: {body}");
    }
    (status, body)
}

/// The request a Lambda event carries, or the 400 answer to one that is not a request.
pub fn request_or_refusal(
    data: &[u8],
) -> Option<Result<aws_lambda_events::event::apigw::ApiGatewayV2httpRequest, ApiGatewayV2httpResponse>> {
    let payload: Value = serde_json::from_slice(data).ok()?;
    Some(common::http::request_from(payload).map_err(|refusal| refusal.into_response()))
}
