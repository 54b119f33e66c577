//! The Step Functions API over real HTTP, spoken by aws-sdk-sfn; Lambda tasks through
//! the Invoke API of a stand-in Lambda server on loopback.

mod common;

use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sfn::types::{ExecutionStatus, HistoryEventType};
use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::Engine;
use sfn_local::lambda::SdkInvoker;
use sfn_local::service::Service;

use common::{client, create_machine, fake_lambda, serve as serve_service};

async fn serve(lambda_url: &str) -> (String, tokio::task::JoinHandle<()>) {
    let invoker = Arc::new(SdkInvoker::new(Some(lambda_url)).await);
    let engine = Engine::new(Clock::new(ClockMode::Virtual), invoker, "us-east-1");
    serve_service(Service::new(engine, "us-east-1", "123456789012")).await
}

const DEFINITION: &str = r#"{
  "StartAt": "Process",
  "States": {
    "Process": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
      "Parameters": {"FunctionName.$": "$.function", "Payload.$": "$"},
      "ResultSelector": {"result.$": "$.Payload"}, "ResultPath": "$.processed",
      "Catch": [{"ErrorEquals": ["EmptyCsv"], "ResultPath": "$.error", "Next": "Rejected"}],
      "Next": "WaitADay"},
    "WaitADay": {"Type": "Wait", "Seconds": 86400, "Next": "Done"},
    "Done": {"Type": "Succeed"},
    "Rejected": {"Type": "Fail", "Error": "Rejected", "CausePath": "$.error.Cause"}
  }
}"#;

async fn finished(
    sfn: &aws_sdk_sfn::Client,
    arn: &str,
) -> aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput {
    for _ in 0..200 {
        let d = sfn.describe_execution().execution_arn(arn).send().await.expect("describe");
        if d.status() != &ExecutionStatus::Running {
            return d;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("execution {arn} did not finish");
}

#[tokio::test]
async fn aws_sdk_sfn_creates_starts_polls_and_reads_history() {
    let (lambda_url, lambda) = fake_lambda().await;
    let (url, server) = serve(&lambda_url).await;
    let sfn = client(&url);

    let machine_arn = create_machine(&sfn, "demo", DEFINITION).await;
    assert_eq!(machine_arn, "arn:aws:states:us-east-1:123456789012:stateMachine:demo");
    let again = create_machine(&sfn, "demo", DEFINITION).await;
    assert_eq!(again, machine_arn, "creating the same machine again is idempotent");

    let started = sfn
        .start_execution()
        .state_machine_arn(&machine_arn)
        .name("run-1")
        .input(
            json!({"function": "arn:aws:lambda:us-east-1:123456789012:function:processor", "key": "a.csv"}).to_string(),
        )
        .send()
        .await
        .expect("start");
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let output: Value = serde_json::from_str(done.output().unwrap_or("null")).expect("json output");
    assert_eq!(output["processed"]["result"]["function"], json!("processor"), "invoked by name on the local endpoint");
    assert_eq!(output["processed"]["result"]["got"]["key"], json!("a.csv"));
    let simulated = done.stop_date().map(|s| s.secs()).unwrap_or(0) - done.start_date().secs();
    assert!(simulated >= 86400, "the day passed in virtual time ({simulated} s)");

    let history = sfn.get_execution_history().execution_arn(started.execution_arn()).send().await.expect("history");
    let kinds: Vec<&HistoryEventType> = history.events().iter().map(|e| e.r#type()).collect();
    assert_eq!(kinds.first(), Some(&&HistoryEventType::ExecutionStarted));
    assert_eq!(kinds.last(), Some(&&HistoryEventType::ExecutionSucceeded));
    for expected in
        [HistoryEventType::TaskScheduled, HistoryEventType::TaskSucceeded, HistoryEventType::WaitStateExited]
    {
        assert!(kinds.contains(&&expected), "{expected:?} in {kinds:?}");
    }
    let entered = history.events().iter().find(|e| e.r#type() == &HistoryEventType::TaskStateEntered);
    assert_eq!(entered.and_then(|e| e.state_entered_event_details()).map(|d| d.name()), Some("Process"));

    let listed = sfn.list_executions().state_machine_arn(&machine_arn).send().await.expect("list");
    assert_eq!(listed.executions().len(), 1);
    assert_eq!(sfn.list_state_machines().send().await.expect("list").state_machines().len(), 1);

    server.abort();
    lambda.abort();
}

#[tokio::test]
async fn a_named_function_error_reaches_catch_and_fails_cleanly() {
    for function in ["fail-EmptyCsv", "watch-fail-EmptyCsv"] {
        named_error_reaches_catch(function).await;
    }
}

async fn named_error_reaches_catch(function: &str) {
    let (lambda_url, lambda) = fake_lambda().await;
    let (url, server) = serve(&lambda_url).await;
    let sfn = client(&url);
    let arn = create_machine(&sfn, &format!("errors-{function}"), DEFINITION).await;
    let started = sfn
        .start_execution()
        .state_machine_arn(&arn)
        .input(json!({"function": function}).to_string())
        .send()
        .await
        .expect("start");
    let done = finished(&sfn, started.execution_arn()).await;
    assert_eq!(done.status(), &ExecutionStatus::Failed);
    assert_eq!(done.error(), Some("Rejected"));
    assert!(done.cause().is_some_and(|c| c.contains("EmptyCsv")), "{:?}", done.cause());
    server.abort();
    lambda.abort();
}

#[tokio::test]
async fn errors_have_aws_names() {
    let (url, server) = serve("http://127.0.0.1:9").await;
    let sfn = client(&url);

    let bad = sfn
        .create_state_machine()
        .name("bad")
        .definition(r#"{"StartAt":"X","States":{}}"#)
        .role_arn("arn:aws:iam::1:role/r")
        .send()
        .await;
    let err = bad.expect_err("invalid definition");
    assert!(err.as_service_error().is_some_and(|e| e.is_invalid_definition()), "{err:?}");

    let missing =
        sfn.start_execution().state_machine_arn("arn:aws:states:us-east-1:123456789012:stateMachine:nope").send().await;
    assert!(missing.expect_err("no machine").as_service_error().is_some_and(|e| e.is_state_machine_does_not_exist()));

    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":1,"End":true}}}"#;
    let arn = create_machine(&sfn, "w", def).await;
    let other = sfn
        .create_state_machine()
        .name("w")
        .definition(r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#)
        .role_arn("arn:aws:iam::1:role/r")
        .send()
        .await;
    assert!(other.expect_err("conflict").as_service_error().is_some_and(|e| e.is_state_machine_already_exists()));

    let first = sfn.start_execution().state_machine_arn(&arn).name("once").input("{}").send().await.expect("start");
    finished(&sfn, first.execution_arn()).await;
    let repeat = sfn.start_execution().state_machine_arn(&arn).name("once").input("{}").send().await;
    assert!(
        repeat
            .expect_err("closed execution name reused")
            .as_service_error()
            .is_some_and(|e| e.is_execution_already_exists())
    );

    let bad_input = sfn.start_execution().state_machine_arn(&arn).input("{not json").send().await;
    assert!(bad_input.expect_err("bad input").as_service_error().is_some_and(|e| e.is_invalid_execution_input()));

    let no_exec =
        sfn.describe_execution().execution_arn("arn:aws:states:us-east-1:123456789012:execution:w:ghost").send().await;
    assert!(no_exec.expect_err("no execution").as_service_error().is_some_and(|e| e.is_execution_does_not_exist()));
    server.abort();
}

#[tokio::test]
async fn same_name_and_input_while_running_returns_the_same_execution() {
    let invoker = Arc::new(sfn_local::lambda::NoLambda);
    let engine = Engine::new(Clock::new(ClockMode::Manual), invoker, "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":60,"End":true}}}"#;
    let arn = service
        .create_state_machine(&json!({"name": "m", "definition": def, "roleArn": "arn:aws:iam::1:role/r"}))
        .expect("create")["stateMachineArn"]
        .clone();
    let a =
        service.start_execution(&json!({"stateMachineArn": arn, "name": "n", "input": "{\"a\":1}"})).expect("start");
    let b = service
        .start_execution(&json!({"stateMachineArn": arn, "name": "n", "input": "{\"a\":1}"}))
        .expect("idempotent");
    assert_eq!(a, b);
    let c = service.start_execution(&json!({"stateMachineArn": arn, "name": "n", "input": "{\"a\":2}"}));
    assert_eq!(c.expect_err("different input").code, "ExecutionAlreadyExists");
}

#[tokio::test]
async fn the_clock_admin_endpoint_advances_a_manual_clock() {
    let engine = Engine::new(Clock::new(ClockMode::Manual), Arc::new(sfn_local::lambda::NoLambda), "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    let (url, server) = serve_service(service).await;
    let sfn = client(&url);
    let def = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"End":true}}}"#;
    let arn = create_machine(&sfn, "day", def).await;
    let exec = sfn.start_execution().state_machine_arn(&arn).send().await.expect("start").execution_arn().to_owned();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        sfn.describe_execution().execution_arn(&exec).send().await.expect("describe").status(),
        &ExecutionStatus::Running
    );

    let http = reqwest::Client::new();
    let before: Value =
        http.get(format!("{url}/_sfn-local/clock")).send().await.expect("get").json().await.expect("json");
    assert_eq!(before["mode"], json!("manual"));
    let advanced: Value = http
        .post(format!("{url}/_sfn-local/clock"))
        .json(&json!({"advanceSeconds": 86400}))
        .send()
        .await
        .expect("advance")
        .json()
        .await
        .expect("json");
    let moved = chrono::DateTime::parse_from_rfc3339(advanced["now"].as_str().unwrap_or_default()).expect("rfc3339")
        - chrono::DateTime::parse_from_rfc3339(before["now"].as_str().unwrap_or_default()).expect("rfc3339");
    assert_eq!(moved.num_seconds(), 86400);
    let done = finished(&sfn, &exec).await;
    assert_eq!(done.status(), &ExecutionStatus::Succeeded);
    let bad = http.post(format!("{url}/_sfn-local/clock")).body("{}").send().await.expect("post");
    assert_eq!(bad.status(), 400);
    server.abort();
}
