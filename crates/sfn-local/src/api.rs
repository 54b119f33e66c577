//! The HTTP face of [`Service`]: the Step Functions JSON 1.0 protocol
//! (`POST /` with `X-Amz-Target: AWSStepFunctions.<Operation>`), plus the admin
//! endpoints `/_sfn-local/clock` and `/_sfn-local/health`.

use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};
use std::sync::Arc;

use crate::clock::ClockError;
use crate::service::Service;

const JSON_10: &str = "application/x-amz-json-1.0";

/// The largest request body read: room for a 1,048,576-character definition even when
/// escaping as a JSON string doubles it. Past it the body is not read any further.
pub const MAX_BODY_BYTES: usize = 4 * 1_048_576;

pub fn router(service: Arc<Service>) -> Router {
    Router::new()
        .route("/", post(aws_api))
        .route("/_sfn-local/clock", get(read_clock).post(advance_clock))
        .route("/_sfn-local/health", get(|| async { axum::Json(json!({"status": "ok"})) }))
        .with_state(service)
}

fn aws_json(status: StatusCode, body: Value, error_type: Option<&str>) -> Response {
    let mut response = (status, body.to_string()).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(JSON_10));
    headers.insert(
        "x-amzn-RequestId",
        HeaderValue::from_str(&uuid::Uuid::new_v4().to_string()).unwrap_or(HeaderValue::from_static("local")),
    );
    if let Some(t) = error_type.and_then(|t| HeaderValue::from_str(t).ok()) {
        headers.insert("x-amzn-ErrorType", t);
    }
    response
}

fn client_error(code: &str, message: &str) -> Response {
    aws_json(StatusCode::BAD_REQUEST, json!({"__type": code, "message": message}), Some(code))
}

async fn aws_api(State(service): State<Arc<Service>>, headers: HeaderMap, body: Body) -> Response {
    let Some(operation) = headers
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(|t| t.strip_prefix("AWSStepFunctions."))
        .map(str::to_owned)
    else {
        return client_error("UnknownOperationException", "Missing or unknown X-Amz-Target header");
    };
    // As AWS: the operation is known before the body is read.
    if !Service::implements(&operation) {
        return client_error("UnknownOperationException", &format!("sfn-local does not implement {operation}"));
    }
    let Ok(body) = axum::body::to_bytes(body, MAX_BODY_BYTES).await else {
        // A body cut off by its sender and one over the limit both end here; only the
        // second is worth a clear answer, and it is by far the likelier.
        return aws_json(
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"__type": "RequestEntityTooLargeException",
                   "message": format!("Request body is larger than {MAX_BODY_BYTES} bytes")}),
            Some("RequestEntityTooLargeException"),
        );
    };
    let request: Value = if body.is_empty() {
        json!({})
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                return client_error("SerializationException", &format!("The request body is not valid JSON: {e}"));
            }
        }
    };
    match service.call(&operation, &request) {
        Ok(result) => aws_json(StatusCode::OK, result, None),
        Err(e) => {
            tracing::debug!(operation, error = %e, "request refused");
            client_error(e.code, &e.message)
        }
    }
}

async fn read_clock(State(service): State<Arc<Service>>) -> Response {
    let clock = &service.engine().clock;
    axum::Json(json!({"now": clock.now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true), "mode": clock.mode().to_string()}))
        .into_response()
}

async fn advance_clock(State(service): State<Arc<Service>>, body: Bytes) -> Response {
    let refuse = |message: String| (StatusCode::BAD_REQUEST, axum::Json(json!({"message": message}))).into_response();
    let request = serde_json::from_slice::<Value>(&body).ok();
    let Some(seconds) = request.as_ref().and_then(|v| v.get("advanceSeconds")).and_then(Value::as_f64) else {
        return refuse("expected {\"advanceSeconds\": N} with N a number of seconds from 0 to ten years".into());
    };
    match service.engine().clock.advance_seconds(seconds) {
        Ok(now) => axum::Json(json!({"now": now.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)})).into_response(),
        Err(e @ ClockError::NotManual(_)) => {
            (StatusCode::CONFLICT, axum::Json(json!({"message": e.to_string()}))).into_response()
        }
        Err(e @ ClockError::Refused(_)) => refuse(e.to_string()),
    }
}
