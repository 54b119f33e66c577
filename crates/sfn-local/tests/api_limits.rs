//! The HTTP face under absurd numbers: the clock endpoint and CLI refuse them with a
//! clear 400, and a server hammered with every numeric input still answers and closes
//! every execution (AWS: a Standard execution lasts at most a year).

mod common;

use std::time::Duration;

use serde_json::{Value, json};
use sfn_local::clock::ClockMode;
use sfn_local::engine::Status;

use common::{FN, create, serve, service, start_on};

async fn post_clock(http: &reqwest::Client, url: &str, body: String) -> (u16, Value) {
    let response = http
        .post(format!("{url}/_sfn-local/clock"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .expect("the server answers");
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn clock_endpoint_answers_400_for_non_finite_negative_or_absurd_advance_seconds() {
    let (url, server) = serve(service(ClockMode::Manual)).await;
    let http = reqwest::Client::new();
    for body in [
        r#"{"advanceSeconds": 1e20}"#,
        r#"{"advanceSeconds": 1e308}"#,
        r#"{"advanceSeconds": 1e400}"#,
        r#"{"advanceSeconds": -1}"#,
        r#"{"advanceSeconds": 315360001}"#,
        r#"{"advanceSeconds": "10"}"#,
        r#"{"advanceSeconds": null}"#,
        "not json",
    ] {
        let (status, answer) = post_clock(&http, &url, body.to_owned()).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer["message"].as_str().is_some_and(|m| m.contains("advanceSeconds")), "{body}: {answer}");
    }
    let (status, answer) = post_clock(&http, &url, r#"{"advanceSeconds": 315360000}"#.into()).await;
    assert_eq!(status, 200, "ten years is the most one call may move: {answer}");
    server.abort();
}

#[tokio::test]
async fn cli_clock_advance_reports_the_servers_refusal_and_exits_non_zero() {
    let (url, server) = serve(service(ClockMode::Manual)).await;
    let output = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfn-local"))
        .args(["clock", "advance", "1e20", "--endpoint", &url])
        .output()
        .await
        .expect("the CLI runs");
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("advanceSeconds must be a number from 0 to"), "{stderr}");
    let ok = tokio::process::Command::new(env!("CARGO_BIN_EXE_sfn-local"))
        .args(["clock", "advance", "60", "--endpoint", &url])
        .output()
        .await
        .expect("the CLI runs");
    assert!(ok.status.success(), "{}", String::from_utf8_lossy(&ok.stderr));
    server.abort();
}

/// Every number a user can put in a definition, an input or a clock request, at its
/// extremes.
fn absurd_numbers() -> Vec<Value> {
    vec![
        json!(-1),
        json!(0),
        json!(1.5),
        json!(99_999_999),
        json!(100_000_000u64),
        json!(i64::MAX),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e20),
        json!(-1e308),
        json!(1.7976931348623157e308),
        json!("1e20"),
        json!(null),
        json!("9999-12-31T23:59:59Z"),
        json!("+275760-09-13T00:00:00Z"),
        json!("0000-01-01T00:00:00Z"),
    ]
}

#[tokio::test]
async fn hammering_numeric_inputs_leaves_the_server_answering_and_every_execution_closed() {
    let service = service(ClockMode::Manual);
    let machines: Vec<String> = [
        json!({"Type": "Wait", "SecondsPath": "$.n", "End": true}),
        json!({"Type": "Wait", "TimestampPath": "$.n", "End": true}),
        json!({"Type": "Task", "Resource": FN, "TimeoutSecondsPath": "$.n", "End": true}),
        json!({"Type": "Task", "Resource": FN, "HeartbeatSecondsPath": "$.n", "End": true}),
        json!({"Type": "Map", "ItemsPath": "$.items", "MaxConcurrencyPath": "$.n", "ToleratedFailureCountPath": "$.n",
               "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}),
        json!({"Type": "Task", "Resource": FN, "End": true, "Retry": [{"ErrorEquals": ["States.ALL"],
               "IntervalSeconds": 99_999_999, "BackoffRate": 1e308, "MaxAttempts": 99_999_999, "MaxDelaySeconds": 31_622_400}]}),
    ]
    .iter()
    .enumerate()
    .map(|(i, state)| create(&service, &format!("m{i}"), &json!({"StartAt": "S", "States": {"S": state}})))
    .collect();
    let (url, server) = serve(std::sync::Arc::clone(&service)).await;
    let http = reqwest::Client::new();
    let mut executions = Vec::new();
    for n in absurd_numbers() {
        for machine in &machines {
            executions.push(start_on(&service, machine, &json!({"n": n, "items": [1, 2, 3]})));
        }
        for body in [json!({ "advanceSeconds": n }), json!({"advanceSeconds": 315_360_000})] {
            let (status, _) = post_clock(&http, &url, body.to_string()).await;
            assert!(status == 200 || status == 400, "advance by {n}: HTTP {status}");
        }
        let health = http.get(format!("{url}/_sfn-local/health")).send().await.expect("the server still answers");
        assert!(health.status().is_success());
    }
    // The clock has moved decades: every execution has met its one-year end, if nothing else.
    for execution in &executions {
        let outcome = tokio::time::timeout(Duration::from_secs(10), execution.wait()).await;
        let outcome = outcome.unwrap_or_else(|_| panic!("{} is still running", execution.arn));
        assert_ne!(outcome.status, Status::Running);
    }
    let listed =
        service.list_executions(&json!({"stateMachineArn": machines[0], "statusFilter": "RUNNING"})).expect("listed");
    assert_eq!(listed["executions"], json!([]));
    server.abort();
}
