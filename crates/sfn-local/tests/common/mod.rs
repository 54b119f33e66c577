//! Helpers the limit and retention suites share: a service, a started execution, a
//! server on loopback and an SDK client for it.

#![allow(dead_code)]

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
