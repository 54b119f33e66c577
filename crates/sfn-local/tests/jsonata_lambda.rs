//! The JSONata example (`examples/jsonata-lambda.asl.json`) end to end: created and run
//! through aws-sdk-sfn over HTTP, its Lambda task calling a stand-in Invoke API on
//! loopback through the SDK, as `serve --lambda-endpoint` runs it.

mod common;

use std::sync::Arc;

use aws_sdk_sfn::types::ExecutionStatus;
use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::Engine;
use sfn_local::lambda::SdkInvoker;
use sfn_local::service::Service;

use common::{client, fake_lambda, serve};

const EXAMPLE: &str = include_str!("../examples/jsonata-lambda.asl.json");

async fn run(input: Value) -> (ExecutionStatus, Option<String>, Option<String>, Option<String>) {
    let (lambda_url, _lambda) = fake_lambda().await;
    let invoker = Arc::new(SdkInvoker::new(Some(&lambda_url)).await);
    let engine = Engine::new(Clock::new(ClockMode::Virtual), invoker, "us-east-1");
    let (url, _server) = serve(Service::new(engine, "us-east-1", "123456789012")).await;
    let sfn = client(&url);
    let arn = sfn
        .create_state_machine()
        .name("jsonata-lambda")
        .definition(EXAMPLE)
        .role_arn("arn:aws:iam::123456789012:role/r")
        .send()
        .await
        .expect("the example is a valid definition")
        .state_machine_arn()
        .to_owned();
    let started = sfn.start_execution().state_machine_arn(arn).input(input.to_string()).send().await.expect("started");
    for _ in 0..200 {
        let described =
            sfn.describe_execution().execution_arn(started.execution_arn()).send().await.expect("described");
        if described.status() != &ExecutionStatus::Running {
            return (
                described.status().clone(),
                described.output().map(str::to_owned),
                described.error().map(str::to_owned),
                described.cause().map(str::to_owned),
            );
        }
        tokio::time::sleep(std::time::Duration::from_millis(25)).await;
    }
    panic!("the execution did not finish");
}

#[tokio::test]
async fn the_jsonata_example_calls_lambda_maps_and_chooses() {
    let (status, output, _, _) = run(json!({"function": "greeter", "who": "Ann", "items": [1, 2, 3]})).await;
    assert_eq!(status, ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(output.as_deref().unwrap_or("null")).expect("JSON output");
    assert_eq!(output, json!({"labels": ["Hello Ann #2", "Hello Ann #4", "Hello Ann #6"]}));
}

#[tokio::test]
async fn a_function_error_is_caught_into_the_jsonata_output() {
    let (status, _, error, cause) = run(json!({"function": "fail-Boom", "who": "Ann", "items": [1]})).await;
    assert_eq!(status, ExecutionStatus::Failed);
    assert_eq!(error.as_deref(), Some("NotEnough"));
    assert_eq!(cause.as_deref(), Some("labels: 0"), "the catcher's Output replaced the input");
}
