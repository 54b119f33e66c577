//! Bounded memory and stable paging, spoken by aws-sdk-sfn over HTTP.
//!
//! AWS behaviour relied on (Step Functions API Reference, ListExecutions and
//! GetExecutionHistory): `maxResults` defaults to 100 (0 means the default) and is at
//! most 1,000; `nextToken` continues a listing whose other arguments are unchanged, a
//! bad one is `InvalidToken` (HTTP 400); `reverseOrder` lists the newest events first;
//! executions are listed newest first; an unknown execution is `ExecutionDoesNotExist`.

mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_sfn::error::ProvideErrorMetadata;
use serde_json::json;
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::Engine;
use sfn_local::lambda::NoLambda;
use sfn_local::service::Service;

use common::{client, create, create_machine, finished, serve, service, start_on};

const WAIT_A_DAY: &str = r#"{"StartAt":"W","States":{"W":{"Type":"Wait","Seconds":86400,"End":true}}}"#;
const PASS: &str = r#"{"StartAt":"P","States":{"P":{"Type":"Pass","End":true}}}"#;

async fn history_ids(sfn: &aws_sdk_sfn::Client, arn: &str, page: i32, reverse: bool) -> Vec<i64> {
    let mut ids = Vec::new();
    let mut token = None;
    loop {
        let out = sfn
            .get_execution_history()
            .execution_arn(arn)
            .max_results(page)
            .reverse_order(reverse)
            .set_next_token(token)
            .send()
            .await
            .expect("history page");
        assert!(out.events().len() <= page as usize);
        ids.extend(out.events().iter().map(|e| e.id()));
        token = out.next_token().map(str::to_owned);
        if token.is_none() {
            return ids;
        }
    }
}

#[tokio::test]
async fn a_long_history_paged_in_small_pages_returns_every_event_once_in_order() {
    let service = service(ClockMode::Virtual);
    let items: Vec<u32> = (0..300).collect();
    let definition = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "End": true,
        "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}}}});
    let machine = create(&service, "many-events", &definition);
    let execution = start_on(&service, &machine, &json!(items));
    finished(&execution).await;
    let total = execution.history().len() as i64;
    assert!(total > 1_000, "{total} events");
    let (url, server) = serve(service).await;
    let sfn = client(&url);
    assert_eq!(history_ids(&sfn, &execution.arn, 7, false).await, (1..=total).collect::<Vec<_>>());
    assert_eq!(history_ids(&sfn, &execution.arn, 7, true).await, (1..=total).rev().collect::<Vec<_>>());
    let default_page = sfn.get_execution_history().execution_arn(&execution.arn).send().await.expect("page");
    assert_eq!(default_page.events().len(), 100, "maxResults defaults to 100");
    server.abort();
}

#[tokio::test]
async fn history_events_added_between_pages_are_neither_skipped_nor_repeated() {
    let service = service(ClockMode::Manual);
    let definition = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "Next": "W"}, "W": {"Type": "Wait", "Seconds": 60, "Next": "B"}, "B": {"Type": "Pass", "End": true}}});
    let machine = create(&service, "grows", &definition);
    let execution = start_on(&service, &machine, &json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    let (url, server) = serve(Arc::clone(&service)).await;
    let sfn = client(&url);
    let first = sfn.get_execution_history().execution_arn(&execution.arn).max_results(2).send().await.expect("page");
    let mut ids: Vec<i64> = first.events().iter().map(|e| e.id()).collect();
    service.engine().clock.advance(Duration::from_secs(60)).expect("manual clock");
    finished(&execution).await;
    let mut token = first.next_token().map(str::to_owned);
    while let Some(t) = token {
        let page = sfn.get_execution_history().execution_arn(&execution.arn).max_results(2).next_token(t).send().await;
        let page = page.expect("page");
        ids.extend(page.events().iter().map(|e| e.id()));
        token = page.next_token().map(str::to_owned);
    }
    assert_eq!(ids, (1..=execution.history().len() as i64).collect::<Vec<_>>());
    server.abort();
}

async fn list_page(sfn: &aws_sdk_sfn::Client, machine: &str, token: Option<String>) -> (Vec<String>, Option<String>) {
    let out = sfn
        .list_executions()
        .state_machine_arn(machine)
        .max_results(3)
        .set_next_token(token)
        .send()
        .await
        .expect("list");
    (out.executions().iter().map(|e| e.name().to_owned()).collect(), out.next_token().map(str::to_owned))
}

#[tokio::test]
async fn executions_started_between_pages_neither_shift_nor_repeat_listed_items() {
    let service = service(ClockMode::Manual);
    let (url, server) = serve(service).await;
    let sfn = client(&url);
    let machine = create_machine(&sfn, "day", WAIT_A_DAY).await;
    let start = |name: String| sfn.start_execution().state_machine_arn(&machine).name(name).send();
    for i in 0..10 {
        start(format!("first-{i:02}")).await.expect("start");
    }
    let (mut names, mut token) = list_page(&sfn, &machine, None).await;
    let mut late = 0;
    while let Some(t) = token {
        for _ in 0..2 {
            start(format!("late-{late:02}")).await.expect("start");
            late += 1;
        }
        let (page, next) = list_page(&sfn, &machine, Some(t)).await;
        names.extend(page);
        token = next;
    }
    let expected: Vec<String> = (0..10).rev().map(|i| format!("first-{i:02}")).collect();
    assert_eq!(names, expected, "the newest-first listing as it stood when paging began");
    let fresh = sfn.list_executions().state_machine_arn(&machine).max_results(1000).send().await.expect("list");
    assert_eq!(fresh.executions().len(), 10 + late);
    assert_eq!(fresh.executions()[0].name(), format!("late-{:02}", late - 1));
    server.abort();
}

#[tokio::test]
async fn bad_foreign_or_oversized_paging_arguments_get_aws_errors() {
    let service = service(ClockMode::Virtual);
    let (a, b) = (
        create(&service, "a", &json!({"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}})),
        create(&service, "b", &serde_json::from_str(PASS).unwrap_or_default()),
    );
    for _ in 0..3 {
        finished(&start_on(&service, &a, &json!({}))).await;
    }
    let (url, server) = serve(service).await;
    let sfn = client(&url);
    let page = sfn.list_executions().state_machine_arn(&a).max_results(1).send().await.expect("list");
    let token = page.next_token().expect("more than one page").to_owned();
    let foreign = sfn.list_executions().state_machine_arn(&b).next_token(&token).send().await;
    assert_eq!(foreign.expect_err("another machine's token").code(), Some("InvalidToken"));
    let garbage = sfn.list_executions().state_machine_arn(&a).next_token("not-a-token").send().await;
    assert_eq!(garbage.expect_err("garbage").code(), Some("InvalidToken"));
    let oversized = sfn.list_executions().state_machine_arn(&a).max_results(1001).send().await;
    assert_eq!(oversized.expect_err("over 1000").code(), Some("ValidationException"));
    let arn = page.executions()[0].execution_arn();
    let history = sfn.get_execution_history().execution_arn(arn).max_results(1).send().await.expect("history");
    let reversed = sfn
        .get_execution_history()
        .execution_arn(arn)
        .reverse_order(true)
        .next_token(history.next_token().unwrap_or_default())
        .send()
        .await;
    assert_eq!(reversed.expect_err("a forward token used in reverse").code(), Some("InvalidToken"));
    server.abort();
}

#[tokio::test]
async fn retention_keeps_running_executions_and_forgets_the_oldest_finished_as_unknown() {
    let engine = Engine::new(Clock::new(ClockMode::Manual), Arc::new(NoLambda), "us-east-1");
    let service = Service::keeping(engine, "us-east-1", "123456789012", 2);
    let waits = create(&service, "waits", &serde_json::from_str(WAIT_A_DAY).unwrap_or_default());
    let quick = create(&service, "quick", &serde_json::from_str(PASS).unwrap_or_default());
    let running = start_on(&service, &waits, &json!({}));
    let mut done = Vec::new();
    for _ in 0..4 {
        let e = start_on(&service, &quick, &json!({}));
        finished(&e).await;
        done.push(e);
    }
    assert_eq!(service.kept_executions(), (3, 2), "the running one and the two newest finished");
    let (url, server) = serve(Arc::clone(&service)).await;
    let sfn = client(&url);
    let describe = |arn: String| sfn.describe_execution().execution_arn(arn).send();
    describe(running.arn.clone()).await.expect("a running execution is never forgotten");
    for gone in &done[..2] {
        let err = describe(gone.arn.clone()).await.expect_err("forgotten");
        assert_eq!(err.code(), Some("ExecutionDoesNotExist"));
        let history = sfn.get_execution_history().execution_arn(&gone.arn).send().await;
        assert_eq!(history.expect_err("forgotten").code(), Some("ExecutionDoesNotExist"));
    }
    let unknown = describe(format!("{}-never-started", done[0].arn)).await.expect_err("unknown");
    assert_eq!(unknown.code(), Some("ExecutionDoesNotExist"), "forgotten answers as unknown does");
    let listed = sfn.list_executions().state_machine_arn(&quick).send().await.expect("list");
    let names: HashSet<&str> = listed.executions().iter().map(|e| e.name()).collect();
    assert_eq!(names, HashSet::from([done[3].name.as_str(), done[2].name.as_str()]));

    // The running one finishes: now the oldest finished (done[2]) goes, the newest stay.
    service.engine().clock.advance(Duration::from_secs(86_400)).expect("manual clock");
    finished(&running).await;
    describe(running.arn.clone()).await.expect("just finished, kept");
    describe(done[3].arn.clone()).await.expect("kept");
    assert_eq!(describe(done[2].arn.clone()).await.expect_err("oldest finished").code(), Some("ExecutionDoesNotExist"));
    assert_eq!(service.kept_executions(), (2, 2));
    server.abort();
}
