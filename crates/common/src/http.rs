//! Answers of the HTTP functions (API Gateway HTTP API, payload 2.0): JSON bodies, and
//! errors as `{"message": ...}` so a client always gets a sentence to show.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::http::{HeaderMap, HeaderValue, header};
use serde_json::{Value, json};

/// A JSON answer with `status`.
pub fn respond(status: i64, body: Value) -> ApiGatewayV2httpResponse {
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    let mut response = ApiGatewayV2httpResponse::default();
    response.status_code = status;
    response.headers = headers;
    response.body = Some(Body::Text(body.to_string()));
    response
}

/// An error answer: `{"message": message}` with `status`.
pub fn error(status: i64, message: impl Into<String>) -> ApiGatewayV2httpResponse {
    respond(status, json!({"message": message.into()}))
}

/// An event that is not an HTTP API request; still answered (as a 400), not failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not an HTTP API request: {0}")]
pub struct NotAnHttpRequest(String);

impl NotAnHttpRequest {
    pub fn into_response(self) -> ApiGatewayV2httpResponse {
        error(400, self.to_string())
    }
}

/// The request in a Lambda event.
pub fn request_from(payload: Value) -> Result<ApiGatewayV2httpRequest, NotAnHttpRequest> {
    serde_json::from_value(payload).map_err(|e| NotAnHttpRequest(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body_of(response: &ApiGatewayV2httpResponse) -> Value {
        match &response.body {
            Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
            other => panic!("unexpected body {other:?}"),
        }
    }

    #[test]
    fn answers_are_json_and_errors_carry_a_message() {
        let ok = respond(201, json!({"id": "x"}));
        assert_eq!(ok.status_code, 201);
        assert_eq!(ok.headers.get(header::CONTENT_TYPE).map(|v| v.as_bytes()), Some(&b"application/json"[..]));
        let refused = error(409, "taken");
        assert_eq!((refused.status_code, body_of(&refused)), (409, json!({"message": "taken"})));
    }

    #[test]
    fn an_event_that_is_not_an_http_request_is_a_400() {
        let refused = request_from(json!(["not", "a", "request"])).expect_err("refused").into_response();
        assert_eq!(refused.status_code, 400);
        assert!(body_of(&refused)["message"].as_str().is_some_and(|m| m.starts_with("not an HTTP API request")));
    }
}
