//! The HTTP server: each request is matched to a route, turned into the payload 2.0 event,
//! sent to the route's function through the Lambda Invoke API, and the answer mapped back.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderName, HeaderValue, Version};
use axum::response::Response;
use percent_encoding::percent_decode_str;

use crate::event::{IncomingRequest, RequestContext, http_api_event};
use crate::response::{GatewayResponse, from_function_answer};
use crate::routes::Routes;

/// API Gateway's HTTP API refuses request payloads over 10 MB.
pub const MAX_REQUEST_BYTES: usize = 10 * 1024 * 1024;
/// Lambda refuses a synchronous invocation whose payload (here the whole event, a body that is
/// not text counted base64-encoded) is over 6 MB (`RequestEntityTooLargeException`); the request
/// is answered 413 then, as one over the HTTP API's own limit, not 500.
pub const MAX_INVOKE_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// The HTTP API's integration timeout: 30 s, then 503.
const INTEGRATION_TIMEOUT: Duration = Duration::from_secs(30);

pub struct Gateway {
    pub routes: Routes,
    /// Base URL of the Lambda Invoke API, e.g. `http://127.0.0.1:9000`.
    pub lambda_endpoint: String,
    pub api_id: String,
    pub account_id: String,
    pub client: reqwest::Client,
}

pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new().fallback(handle).with_state(gateway)
}

async fn handle(
    State(gateway): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let started = Instant::now();
    let request_id = uuid::Uuid::new_v4().simple().to_string();
    let (parts, body) = request.into_parts();
    let decoded_path = percent_decode_str(parts.uri.path()).decode_utf8_lossy().into_owned();
    let (route_key, answer) = match gateway.routes.find(parts.method.as_str(), &decoded_path) {
        None => ("-".to_owned(), GatewayResponse::not_found()),
        Some(matched) => {
            let declared =
                parts.headers.get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<usize>().ok());
            let body = match declared {
                Some(length) if length > MAX_REQUEST_BYTES => None,
                _ => axum::body::to_bytes(body, MAX_REQUEST_BYTES).await.ok(),
            };
            let answer = match body {
                None => GatewayResponse::request_too_large(),
                Some(body) => {
                    let incoming = IncomingRequest {
                        method: parts.method.to_string(),
                        raw_path: parts.uri.path().to_owned(),
                        raw_query: parts.uri.query().unwrap_or_default().to_owned(),
                        headers: parts
                            .headers
                            .iter()
                            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
                            .collect(),
                        body: body.to_vec(),
                        source_ip: peer.ip().to_string(),
                        protocol: protocol(parts.version).to_owned(),
                    };
                    let context = RequestContext {
                        route_key: &matched.route.key,
                        path_parameters: &matched.path_parameters,
                        request_id: &request_id,
                        api_id: &gateway.api_id,
                        account_id: &gateway.account_id,
                        received_at: chrono::Utc::now(),
                    };
                    let event = http_api_event(&incoming, &context);
                    invoke(&gateway, &matched.route.function, &event).await
                }
            };
            (matched.route.key.clone(), answer)
        }
    };
    // The access log of the template's stage, without the query string (it may hold a user id).
    eprintln!(
        "{}",
        serde_json::json!({"requestId": request_id, "routeKey": route_key, "path": parts.uri.path(),
            "status": answer.status, "latencyMs": started.elapsed().as_millis() as u64})
    );
    into_http(answer, &request_id)
}

/// Sends `event` to `function` and maps what comes back as API Gateway does.
pub async fn invoke(gateway: &Gateway, function: &str, event: &serde_json::Value) -> GatewayResponse {
    let url = format!("{}/2015-03-31/functions/{function}/invocations", gateway.lambda_endpoint.trim_end_matches('/'));
    let payload = event.to_string();
    if payload.len() > MAX_INVOKE_PAYLOAD_BYTES {
        return GatewayResponse::request_too_large();
    }
    let sent = gateway
        .client
        .post(url)
        .timeout(INTEGRATION_TIMEOUT)
        .header("content-type", "application/json")
        .body(payload)
        .send()
        .await;
    let response = match sent {
        Ok(response) => response,
        Err(error) if error.is_timeout() => return GatewayResponse::service_unavailable(),
        Err(error) => {
            eprintln!("local-gateway: invoking {function} failed: {error}");
            return GatewayResponse::internal_server_error();
        }
    };
    let failed = response.headers().contains_key("x-amz-function-error") || !response.status().is_success();
    let status = response.status();
    match response.bytes().await {
        Ok(_) if failed => {
            eprintln!("local-gateway: {function} failed (invoke status {status})");
            GatewayResponse::internal_server_error()
        }
        Ok(payload) => from_function_answer(&payload),
        Err(error) if error.is_timeout() => GatewayResponse::service_unavailable(),
        Err(_) => GatewayResponse::internal_server_error(),
    }
}

fn protocol(version: Version) -> &'static str {
    match version {
        Version::HTTP_10 => "HTTP/1.0",
        Version::HTTP_2 => "HTTP/2.0",
        _ => "HTTP/1.1",
    }
}

fn into_http(answer: GatewayResponse, request_id: &str) -> Response {
    let mut response = Response::new(Body::from(answer.body));
    *response.status_mut() =
        axum::http::StatusCode::from_u16(answer.status).unwrap_or(axum::http::StatusCode::INTERNAL_SERVER_ERROR);
    let headers = response.headers_mut();
    for (name, value) in answer.headers {
        if let (Ok(name), Ok(value)) = (HeaderName::try_from(name), HeaderValue::try_from(value)) {
            headers.append(name, value);
        }
    }
    if let Ok(value) = HeaderValue::try_from(request_id) {
        headers.insert("apigw-requestid", value);
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::routing::post;
    use serde_json::{Value, json};

    /// A Lambda Invoke API whose functions answer from the event they get: `echo` returns it
    /// as the body, `fails` reports a function error, `slow` never answers in time.
    async fn fake_lambda() -> (String, tokio::task::JoinHandle<()>) {
        let app =
            Router::new()
                .route(
                    "/2015-03-31/functions/{name}/invocations",
                    post(
                        |axum::extract::Path(name): axum::extract::Path<String>,
                         axum::Json(event): axum::Json<Value>| async move {
                            match name.as_str() {
                                "echo" => {
                                    axum::Json(json!({"statusCode": 201, "headers": {"x-route": event["routeKey"]},
                        "cookies": ["s=1"], "body": event.to_string()}))
                                    .into_response()
                                }
                                "fails" => (
                                    [("x-amz-function-error", "Unhandled")],
                                    axum::Json(json!({"errorType": "InvalidInput", "errorMessage": "no"})),
                                )
                                    .into_response(),
                                _ => (axum::http::StatusCode::NOT_FOUND, "function not found").into_response(),
                            }
                        },
                    ),
                )
                // Lambda takes up to 6 MB; axum's extractors stop at 2 MB unless told.
                .layer(axum::extract::DefaultBodyLimit::max(MAX_INVOKE_PAYLOAD_BYTES));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        (url, tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") }))
    }

    use axum::response::IntoResponse;

    async fn start_gateway(lambda: String) -> (String, tokio::task::JoinHandle<()>) {
        let routes =
            Routes::from_json(r#"{"POST /echo/{id}": "echo", "GET /fails": "fails", "GET /missing": "not-built-yet"}"#)
                .expect("routes");
        let gateway = Gateway {
            routes,
            lambda_endpoint: lambda,
            api_id: "localapi".into(),
            account_id: "123456789012".into(),
            client: reqwest::Client::new(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let app = router(Arc::new(gateway)).into_make_service_with_connect_info::<SocketAddr>();
        (url, tokio::spawn(async move { axum::serve(listener, app).await.expect("serve") }))
    }

    #[tokio::test]
    async fn requests_reach_the_function_as_payload_2_0_and_answers_come_back() {
        let (lambda, lambda_task) = fake_lambda().await;
        let (url, gateway_task) = start_gateway(lambda).await;
        let client = reqwest::Client::new();
        let response = client
            .post(format!("{url}/echo/42?a=1&a=2"))
            .header("content-type", "application/json")
            .header("cookie", "k=v")
            .body(r#"{"hello":"world"}"#)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201);
        assert_eq!(response.headers()["x-route"], "POST /echo/{id}");
        assert_eq!(response.headers()["set-cookie"], "s=1");
        assert!(response.headers().contains_key("apigw-requestid"));
        let event: Value = response.json().await.expect("event as body");
        assert_eq!(event["rawPath"], "/echo/42");
        assert_eq!(event["pathParameters"], json!({"id": "42"}));
        assert_eq!(event["queryStringParameters"], json!({"a": "1,2"}));
        assert_eq!(event["cookies"], json!(["k=v"]));
        assert_eq!(event["body"], r#"{"hello":"world"}"#);
        assert_eq!(event["requestContext"]["http"]["sourceIp"], "127.0.0.1");
        lambda_task.abort();
        gateway_task.abort();
    }

    #[tokio::test]
    async fn function_errors_missing_functions_and_unknown_routes_get_api_gateways_answers() {
        let (lambda, lambda_task) = fake_lambda().await;
        let (url, gateway_task) = start_gateway(lambda).await;
        let client = reqwest::Client::new();
        for path in ["/fails", "/missing"] {
            let response = client.get(format!("{url}{path}")).send().await.expect("send");
            assert_eq!(response.status(), 500, "{path}");
            assert_eq!(response.text().await.expect("body"), r#"{"message":"Internal Server Error"}"#);
        }
        let unknown = client.get(format!("{url}/nowhere")).send().await.expect("send");
        assert_eq!(unknown.status(), 404);
        assert_eq!(unknown.text().await.expect("body"), r#"{"message":"Not Found"}"#);
        let wrong_method = client.delete(format!("{url}/fails")).send().await.expect("send");
        assert_eq!(wrong_method.status(), 404);
        lambda_task.abort();
        gateway_task.abort();
    }

    #[tokio::test]
    async fn bodies_over_api_gateways_10_mb_limit_are_refused_with_413() {
        let (lambda, lambda_task) = fake_lambda().await;
        let (url, gateway_task) = start_gateway(lambda).await;
        let big = vec![b'a'; MAX_REQUEST_BYTES + 1];
        let response = reqwest::Client::new().post(format!("{url}/echo/1")).body(big).send().await.expect("send");
        assert_eq!(response.status(), 413);
        lambda_task.abort();
        gateway_task.abort();
    }

    #[tokio::test]
    async fn an_event_over_lambdas_6_mb_invoke_limit_is_a_413_not_a_failed_invoke() {
        let (lambda, lambda_task) = fake_lambda().await;
        let (url, gateway_task) = start_gateway(lambda).await;
        let client = reqwest::Client::new();
        // 5 MB of bytes that are not text: base64 makes the event about 6.7 MB.
        let binary = vec![0xff_u8; 5 * 1024 * 1024];
        let response = client.post(format!("{url}/echo/1")).body(binary).send().await.expect("send");
        assert_eq!(response.status(), 413);
        assert_eq!(response.text().await.expect("body"), r#"{"message":"Request Entity Too Large"}"#);
        let text = vec![b'a'; 5 * 1024 * 1024];
        let response = client
            .post(format!("{url}/echo/1"))
            .header("content-type", "text/plain")
            .body(text)
            .send()
            .await
            .expect("send");
        assert_eq!(response.status(), 201, "5 MB of text fits in the event");
        lambda_task.abort();
        gateway_task.abort();
    }

    #[tokio::test]
    async fn an_unreachable_lambda_endpoint_is_a_500() {
        let (url, gateway_task) = start_gateway("http://127.0.0.1:9".into()).await;
        let response = reqwest::get(format!("{url}/fails")).await.expect("send");
        assert_eq!(response.status(), 500);
        gateway_task.abort();
    }
}
