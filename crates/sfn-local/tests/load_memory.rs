//! sfn-local's memory stays bounded however many executions it runs: the real binary,
//! executions started back to back over HTTP (JSON 1.0), a Lambda task in each, and the
//! server's resident set size (`VmRSS` in `/proc/<pid>/status`) sampled as they go.
//! Retention keeps every running execution and the last `--max-finished-executions`
//! finished ones; once that many have finished, the resident set must stop growing.
//!
//! `make test` runs 5,000 executions keeping 500 (a twentieth of the default) so that the
//! plateau is reached early and measured for long, in about 40 s of a debug build on two
//! busy cores. `SFN_LOCAL_LOAD_EXECUTIONS` and `SFN_LOCAL_LOAD_KEEP` change both, and
//! `SFN_LOCAL_BIN` runs another build of the server: 100,000 executions keeping the
//! default 10,000 against a release build give the README's figures.

mod common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::{Value, json};

use common::binary::{Server, call, computing_lambda, ok};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// How many starts are in flight at once: enough to keep both cores busy.
const WINDOW: usize = 32;

const DEFINITION: &str = r#"{"StartAt": "Square", "States": {
  "Square": {"Type": "Task", "Resource": "arn:aws:states:::lambda:invoke",
    "Parameters": {"FunctionName": "square", "Payload": {"n.$": "$.n"}},
    "ResultSelector": {"square.$": "$.Payload.square"}, "Next": "Done"},
  "Done": {"Type": "Pass", "Parameters": {"square.$": "$.square", "note": "done"}, "End": true}}}"#;

async fn running(http: &reqwest::Client, url: &str, machine: &str) -> usize {
    let body = json!({"stateMachineArn": machine, "statusFilter": "RUNNING", "maxResults": 1000});
    ok(http, url, "ListExecutions", &body).await["executions"].as_array().map_or(0, Vec::len)
}

/// Every execution of the machine the server still lists, with the status filter given.
async fn listed(http: &reqwest::Client, url: &str, machine: &str, status: &str) -> usize {
    let mut count = 0;
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"stateMachineArn": machine, "statusFilter": status, "maxResults": 1000});
        if let Some(t) = &token {
            body["nextToken"] = json!(t);
        }
        let page = ok(http, url, "ListExecutions", &body).await;
        count += page["executions"].as_array().map_or(0, Vec::len);
        match page["nextToken"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return count,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resident_memory_stops_growing_once_retention_is_full() {
    let executions = setting("SFN_LOCAL_LOAD_EXECUTIONS", 5_000);
    let keep = setting("SFN_LOCAL_LOAD_KEEP", 500);
    let lambda = computing_lambda();
    let server =
        Server::start(&["--lambda-endpoint", &lambda.url, "--max-finished-executions", &keep.to_string()]).await;
    let (http, url) = (reqwest::Client::new(), server.url.clone());
    let machine = ok(
        &http,
        &url,
        "CreateStateMachine",
        &json!({"name": "memory", "definition": DEFINITION, "roleArn": "arn:aws:iam::123456789012:role/r"}),
    )
    .await["stateMachineArn"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let (idle_rss, _) = server.rss_kib();

    let began = Instant::now();
    let checkpoint = (executions / 10).max(1);
    let mut samples: Vec<(usize, u64)> = Vec::new();
    let mut done = 0;
    let mut starts = futures::stream::iter(0..executions)
        .map(|n| {
            let (http, url, machine) = (&http, &url, &machine);
            async move {
                let body =
                    json!({"stateMachineArn": machine, "name": format!("m-{n}"), "input": json!({"n": n}).to_string()});
                call(http, url, "StartExecution", &body).await
            }
        })
        .buffer_unordered(WINDOW);
    while let Some((status, answer)) = starts.next().await {
        assert_eq!(status, 200, "StartExecution: {answer}");
        done += 1;
        if done % checkpoint == 0 {
            samples.push((done, server.rss_kib().0));
        }
    }
    drop(starts);
    let deadline = Instant::now() + Duration::from_secs(120);
    while running(&http, &url, &machine).await > 0 {
        assert!(Instant::now() < deadline, "executions still running 120 s after the last start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let elapsed = began.elapsed().as_secs_f64();
    let (final_rss, peak_rss) = server.rss_kib();
    let mib = |kib: u64| kib as f64 / 1024.0;
    let shown: Vec<String> = samples.iter().map(|(n, rss)| format!("{n}: {:.1}", mib(*rss))).collect();
    eprintln!(
        "{executions} executions keeping {keep}: {elapsed:.1} s, {:.0} executions/s; RSS MiB idle {:.1}, {}, final {:.1}, peak {:.1}",
        executions as f64 / elapsed,
        mib(idle_rss),
        shown.join(", "),
        mib(final_rss),
        mib(peak_rss)
    );

    assert_eq!(listed(&http, &url, &machine, "SUCCEEDED").await, keep.min(executions), "the newest `keep` are kept");
    assert_eq!(listed(&http, &url, &machine, "FAILED").await, 0);
    let newest = format!("arn:aws:states:us-east-1:123456789012:execution:memory:m-{}", executions - 1);
    let described = ok(&http, &url, "DescribeExecution", &json!({ "executionArn": newest })).await;
    let n = (executions - 1) as i64;
    let output: Value = serde_json::from_str(described["output"].as_str().unwrap_or("null")).unwrap_or_default();
    assert_eq!(output, json!({"square": n * n, "note": "done"}));
    let oldest = json!({"executionArn": newest.replace(&format!("m-{}", executions - 1), "m-0")});
    if executions > keep {
        let (status, answer) = call(&http, &url, "DescribeExecution", &oldest).await;
        assert_eq!((status, answer["__type"].as_str()), (400, Some("ExecutionDoesNotExist")), "forgotten");
    }

    // The plateau: from the first sample taken once `keep` executions have finished
    // twice over, the resident set may move with the allocator's fragmentation (about
    // 2 MiB seen), not with the number of executions run (a kept execution costs about
    // 30 KiB: one never forgotten would add well over the margin by the end).
    let Some(&(_, plateau)) = samples.iter().find(|(n, _)| *n >= 2 * keep) else { return };
    let allowed = plateau + plateau / 5 + 4 * 1024;
    assert!(
        final_rss <= allowed,
        "RSS grew from {:.1} MiB to {:.1} MiB after retention was full",
        mib(plateau),
        mib(final_rss)
    );
}
