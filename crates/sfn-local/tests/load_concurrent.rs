//! sfn-local under load: the real binary, 1,000 executions started at once through
//! aws-sdk-sfn (the JSON 1.0 protocol over HTTP), each calling Lambda three times
//! (`lambda:invoke` once, a plain function ARN for each of two Map items). Every one
//! must finish SUCCEEDED with the output computed from its own input, and the
//! functions must have been called exactly as often as the executions need.

mod common;

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use aws_sdk_sfn::types::ExecutionStatus;
use futures::future::join_all;
use serde_json::{Value, json};

use common::binary::{Server, computing_lambda};
use common::{client, create_machine};

const EXECUTIONS: i64 = 1_000;

fn definition() -> String {
    json!({
        "StartAt": "Square",
        "States": {
            "Square": {
                "Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:square",
                               "Payload": {"n.$": "$.n"}},
                "ResultSelector": {"value.$": "$.Payload.square"}, "ResultPath": "$.square",
                "Next": "Double"
            },
            "Double": {
                "Type": "Map", "ItemsPath": "$.items", "ResultPath": "$.doubled",
                "ItemProcessor": {"StartAt": "Twice", "States": {"Twice": {
                    "Type": "Task", "Resource": "arn:aws:lambda:us-east-1:123456789012:function:double", "End": true}}},
                "Next": "Result"
            },
            "Result": {
                "Type": "Pass",
                "Parameters": {"n.$": "$.n", "square.$": "$.square.value", "doubled.$": "$.doubled"},
                "End": true
            }
        }
    })
    .to_string()
}

fn expected(n: i64) -> Value {
    json!({"n": n, "square": n * n, "doubled": [2 * n, 2 * (n + 1)]})
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_thousand_concurrent_executions_with_lambda_tasks_all_succeed_with_their_own_results() {
    let lambda = computing_lambda();
    let server = Server::start(&["--lambda-endpoint", &lambda.url]).await;
    let sfn = client(&server.url);
    let machine = create_machine(&sfn, "load", &definition()).await;

    let began = Instant::now();
    let starts = (0..EXECUTIONS).map(|n| {
        sfn.start_execution()
            .state_machine_arn(&machine)
            .name(format!("n-{n}"))
            .input(json!({"n": n, "items": [n, n + 1]}).to_string())
            .send()
    });
    let started: Vec<String> = join_all(starts)
        .await
        .into_iter()
        .map(|r| r.expect("every start is accepted").execution_arn().to_owned())
        .collect();
    let started_in = began.elapsed();

    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        let running = sfn
            .list_executions()
            .state_machine_arn(&machine)
            .status_filter(ExecutionStatus::Running)
            .max_results(1)
            .send()
            .await
            .expect("list");
        if running.executions().is_empty() {
            break;
        }
        assert!(Instant::now() < deadline, "executions still running after 120 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let finished_in = began.elapsed();

    let described = join_all(started.iter().map(|arn| sfn.describe_execution().execution_arn(arn).send())).await;
    for (n, d) in (0..EXECUTIONS).zip(described) {
        let d = d.expect("describe");
        assert_eq!(d.status(), &ExecutionStatus::Succeeded, "n-{n}: {:?} {:?}", d.error(), d.cause());
        let output: Value = serde_json::from_str(d.output().unwrap_or("null")).expect("JSON output");
        assert_eq!(output, expected(n), "n-{n}");
    }
    assert_eq!(
        lambda.invocations.load(Ordering::Relaxed),
        3 * EXECUTIONS as usize,
        "each execution calls square once and double twice, no more"
    );
    eprintln!(
        "{EXECUTIONS} concurrent executions: all started in {:.2} s, all finished in {:.2} s ({:.0} executions/s)",
        started_in.as_secs_f64(),
        finished_in.as_secs_f64(),
        EXECUTIONS as f64 / finished_in.as_secs_f64()
    );
}
