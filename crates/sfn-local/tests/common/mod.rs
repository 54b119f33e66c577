//! Helpers the limit and retention suites share: a service, a started execution, a
//! server on loopback and an SDK client for it.

#![allow(dead_code)]

pub mod binary;

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, Execution, Outcome};
use sfn_local::lambda::{Invoker, NoLambda};
use sfn_local::service::Service;

pub const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:worker";

pub fn service(mode: ClockMode) -> Arc<Service> {
    service_with(Arc::new(NoLambda), mode)
}

pub fn service_with(invoker: Arc<dyn Invoker>, mode: ClockMode) -> Arc<Service> {
    Service::new(Engine::new(Clock::new(mode), invoker, "us-east-1"), "us-east-1", "123456789012")
}

pub fn create(service: &Service, name: &str, definition: &Value) -> String {
    let created = service
        .create_state_machine(
            &json!({"name": name, "definition": definition.to_string(), "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )
        .expect("valid definition");
    created["stateMachineArn"].as_str().unwrap_or_default().to_owned()
}

pub fn start_on(service: &Service, machine_arn: &str, input: &Value) -> Arc<Execution> {
    let started =
        service.start_execution(&json!({"stateMachineArn": machine_arn, "input": input.to_string()})).expect("started");
    service.execution(started["executionArn"].as_str().unwrap_or_default()).expect("execution exists")
}

pub fn start(service: &Service, definition: &Value, input: &Value) -> Arc<Execution> {
    let arn = create(service, &format!("m{}", uuid::Uuid::new_v4().simple()), definition);
    start_on(service, &arn, input)
}

/// The execution's outcome once it closes; a test fails if it stays open 20 s.
pub async fn finished(execution: &Execution) -> Outcome {
    tokio::time::timeout(Duration::from_secs(20), execution.wait()).await.expect("the execution closes")
}

pub async fn serve(service: Arc<Service>) -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, sfn_local::api::router(service)).await;
    });
    (url, handle)
}

/// Creates a state machine through the API; panics (the test fails) if it is refused.
pub async fn create_machine(sfn: &aws_sdk_sfn::Client, name: &str, definition: &str) -> String {
    sfn.create_state_machine()
        .name(name)
        .definition(definition)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .expect("create")
        .state_machine_arn()
        .to_owned()
}

pub fn client(endpoint: &str) -> aws_sdk_sfn::Client {
    let config = aws_sdk_sfn::Config::builder()
        .behavior_version(aws_sdk_sfn::config::BehaviorVersion::latest())
        .region(aws_sdk_sfn::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sfn::config::Credentials::new("test", "test", None, None, "test"))
        .endpoint_url(endpoint)
        .http_client(sfn_local::lambda::https_client())
        .build();
    aws_sdk_sfn::Client::from_conf(config)
}

/// A Lambda Invoke API: `fail-*` functions answer a function error with their name's
/// rest as `errorType`; others echo their payload.
pub async fn fake_lambda() -> (String, tokio::task::JoinHandle<()>) {
    async fn invoke(
        axum::extract::Path(name): axum::extract::Path<String>,
        body: axum::body::Bytes,
    ) -> (axum::http::StatusCode, axum::http::HeaderMap, String) {
        let mut headers = axum::http::HeaderMap::new();
        headers.insert("content-type", axum::http::HeaderValue::from_static("application/json"));
        if let Some(error_type) = name.strip_prefix("watch-fail-") {
            // cargo lambda watch's way: HTTP 500 with the error payload, no header.
            let body = json!({"errorType": error_type, "errorMessage": format!("{name} failed")});
            return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, headers, body.to_string());
        }
        if let Some(error_type) = name.strip_prefix("fail-") {
            headers.insert("x-amz-function-error", axum::http::HeaderValue::from_static("Unhandled"));
            let body = json!({"errorType": error_type, "errorMessage": format!("{name} failed")});
            return (axum::http::StatusCode::OK, headers, body.to_string());
        }
        let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        (axum::http::StatusCode::OK, headers, json!({"function": name, "got": payload}).to_string())
    }
    let app = axum::Router::new().route("/2015-03-31/functions/{name}/invocations", axum::routing::post(invoke));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    let handle = tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (url, handle)
}
