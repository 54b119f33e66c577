//! The two HTTP faces of the local Lambda: the Invoke API its callers use (sfn-local, the
//! gateway, the SDKs, `cargo lambda invoke`) and the Runtime API its function processes poll.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::answers::{self, ServiceError};
use crate::pool::{Outcome, Pool, RuntimeCallError};

/// What the server reads of a body. Past Lambda's 6 MB, so that Lambda's own limits answer
/// first; a body past this one is answered as Lambda answers an oversized one too.
const BODY_LIMIT: usize = 16 * 1024 * 1024;

/// Lambda retries a failed asynchronous invocation twice: after one minute, then two.
const EVENT_RETRY_DELAYS: [Duration; 2] = [Duration::from_secs(60), Duration::from_secs(120)];

pub fn router(pool: Arc<Pool>) -> Router {
    let runtime = "/instances/{id}/2018-06-01/runtime";
    Router::new()
        .route("/", get(health))
        .route("/2015-03-31/functions/{function}/invocations", post(invoke))
        .route(&format!("{runtime}/invocation/next"), get(next))
        .route(&format!("{runtime}/invocation/{{request_id}}/response"), post(respond))
        .route(&format!("{runtime}/invocation/{{request_id}}/error"), post(fail))
        .route(&format!("{runtime}/init/error"), post(init_error))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(pool)
}

async fn health(State(pool): State<Arc<Pool>>) -> Response {
    axum::Json(json!({"status": "ok", "instances": pool.instance_counts()})).into_response()
}

/// The function name in an Invoke path: a name, `name:qualifier`, or a function ARN.
pub fn function_name(target: &str) -> &str {
    let parts: Vec<&str> = target.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        [name, ..] => name,
        [] => target,
    }
}

fn service_error(error: ServiceError) -> Response {
    let status = StatusCode::from_u16(error.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    (status, [("x-amzn-ErrorType", error.error_type), ("content-type", "application/json")], error.body.to_string())
        .into_response()
}

async fn invoke(
    State(pool): State<Arc<Pool>>,
    Path(target): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let name = function_name(&target).to_owned();
    if pool.function(&name).is_none() {
        return service_error(ServiceError::function_not_found(&pool.function_arn(&name)));
    }
    let body = match body {
        Ok(body) if body.len() <= answers::MAX_REQUEST_BYTES => body,
        Ok(_) => return service_error(ServiceError::request_too_large()),
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return service_error(ServiceError::request_too_large());
        }
        Err(rejection) => return service_error(ServiceError::not_json(&rejection.body_text())),
    };
    if !body.is_empty()
        && let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&body)
    {
        return service_error(ServiceError::not_json(&error.to_string()));
    }
    let invocation_type =
        headers.get("x-amz-invocation-type").and_then(|v| v.to_str().ok()).unwrap_or("RequestResponse");
    match invocation_type {
        "DryRun" => return StatusCode::NO_CONTENT.into_response(),
        "Event" => {
            tokio::spawn(invoke_event(pool, name, body));
            return StatusCode::ACCEPTED.into_response();
        }
        _ => {}
    }
    match pool.invoke(&name, body).await {
        Err(error) => service_error(error),
        Ok((request_id, outcome)) => {
            let (body, failed) = match outcome {
                Outcome::Response(body) if body.len() > answers::MAX_RESPONSE_BYTES => {
                    (Bytes::from(answers::response_too_large()), true)
                }
                Outcome::Response(body) => (body, false),
                Outcome::FunctionError(body) => (body, true),
            };
            let mut response = (StatusCode::OK, body).into_response();
            let headers = response.headers_mut();
            headers.insert("content-type", HeaderValue::from_static("application/json"));
            headers.insert("x-amz-executed-version", HeaderValue::from_static("$LATEST"));
            if let Ok(id) = HeaderValue::from_str(&request_id) {
                headers.insert("x-amzn-requestid", id);
            }
            if failed {
                headers.insert("x-amz-function-error", HeaderValue::from_static("Unhandled"));
            }
            response
        }
    }
}

/// An asynchronous invocation: a function error is retried as Lambda retries it; what still
/// fails, or is refused, is logged, since the caller has already had its 202.
async fn invoke_event(pool: Arc<Pool>, name: String, body: Bytes) {
    let mut delays = EVENT_RETRY_DELAYS.iter();
    loop {
        match pool.invoke(&name, body.clone()).await {
            Ok((_, Outcome::Response(_))) => return,
            Ok((request_id, Outcome::FunctionError(error))) => {
                let error = String::from_utf8_lossy(&error);
                let Some(delay) = delays.next() else {
                    eprintln!("local-lambda: {name} (event {request_id}) failed for good: {error}");
                    return;
                };
                eprintln!(
                    "local-lambda: {name} (event {request_id}) failed, retried in {} s: {error}",
                    delay.as_secs()
                );
                tokio::time::sleep(*delay).await;
            }
            Err(error) => {
                eprintln!("local-lambda: {name} (event) refused: {} {}", error.error_type, error.body);
                return;
            }
        }
    }
}

fn runtime_error(error: RuntimeCallError) -> Response {
    let (status, kind, message) = match error {
        RuntimeCallError::UnknownInstance => {
            (StatusCode::GONE, "UnknownInstance", "this execution environment is not (or no longer) running")
        }
        RuntimeCallError::NotCurrent => {
            (StatusCode::BAD_REQUEST, "InvalidRequestID", "the request id is not this environment's current invocation")
        }
    };
    (status, axum::Json(json!({"errorType": kind, "errorMessage": message}))).into_response()
}

fn trace_id() -> String {
    let now = std::time::SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or_default();
    let random = uuid::Uuid::new_v4().simple().to_string();
    format!("Root=1-{now:08x}-{};Parent={};Sampled=0", &random[..24], &random[16..32])
}

async fn next(State(pool): State<Arc<Pool>>, Path(id): Path<u64>) -> Response {
    match pool.next(id).await {
        Err(error) => runtime_error(error),
        Ok(assigned) => {
            let deadline_ms = assigned.deadline.duration_since(UNIX_EPOCH).map(|d| d.as_millis()).unwrap_or_default();
            let mut response = (StatusCode::OK, assigned.payload).into_response();
            let headers = response.headers_mut();
            let values = [
                ("lambda-runtime-aws-request-id", assigned.request_id),
                ("lambda-runtime-deadline-ms", deadline_ms.to_string()),
                ("lambda-runtime-invoked-function-arn", assigned.function_arn),
                ("lambda-runtime-trace-id", trace_id()),
            ];
            for (name, value) in values {
                if let Ok(value) = HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            response
        }
    }
}

fn accepted() -> Response {
    (StatusCode::ACCEPTED, axum::Json(json!({"status": "OK"}))).into_response()
}

type InvocationPath = Path<(u64, String)>;

async fn respond(pool: State<Arc<Pool>>, path: InvocationPath, body: Result<Bytes, BytesRejection>) -> Response {
    complete(pool, path, body, Outcome::Response)
}

async fn fail(pool: State<Arc<Pool>>, path: InvocationPath, body: Result<Bytes, BytesRejection>) -> Response {
    complete(pool, path, body, Outcome::FunctionError)
}

/// A runtime's answer; one too large to read still ends its invocation, as on Lambda.
fn complete(
    State(pool): State<Arc<Pool>>,
    Path((id, request_id)): InvocationPath,
    body: Result<Bytes, BytesRejection>,
    outcome: fn(Bytes) -> Outcome,
) -> Response {
    let body = match body {
        Ok(body) => body,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            let too_large = Outcome::FunctionError(answers::response_too_large().into());
            let _ = pool.complete(id, &request_id, too_large);
            let error = json!({"errorType": "RequestEntityTooLarge", "errorMessage": rejection.body_text()});
            return (StatusCode::PAYLOAD_TOO_LARGE, axum::Json(error)).into_response();
        }
        // Unread (the connection broke): the invocation stays the runtime's to answer.
        Err(rejection) => {
            let error = json!({"errorType": "InvalidRequest", "errorMessage": rejection.body_text()});
            return (rejection.status(), axum::Json(error)).into_response();
        }
    };
    match pool.complete(id, &request_id, outcome(body)) {
        Ok(()) => accepted(),
        Err(error) => runtime_error(error),
    }
}

async fn init_error(State(pool): State<Arc<Pool>>, Path(id): Path<u64>, body: Bytes) -> Response {
    match pool.init_failed(id, body) {
        Ok(()) => accepted(),
        Err(error) => runtime_error(error),
    }
}

#[cfg(test)]
mod tests {
    use super::function_name;

    #[test]
    fn invoke_paths_name_the_function_by_name_qualified_name_or_arn() {
        assert_eq!(function_name("csv-processor"), "csv-processor");
        assert_eq!(function_name("csv-processor:$LATEST"), "csv-processor");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:emailer"), "emailer");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:emailer:7"), "emailer");
    }
}
