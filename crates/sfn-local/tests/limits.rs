//! Numbers from definitions and inputs, bounded as Step Functions bounds them: no
//! overflow, no execution left running forever, AWS's errors and causes.
//!
//! AWS behaviour relied on (Step Functions Developer Guide):
//! - Wait: `Seconds` is an integer from 0 to 99,999,999; the longest wait a Standard
//!   workflow can make is one year ("Wait workflow state").
//! - A Standard execution lasts at most one year ("Step Functions service quotas"); past
//!   it the execution times out with `States.Timeout`.
//! - An execution's history holds at most 25,000 events; reaching it fails the execution
//!   with `States.Runtime`, "The execution reached the maximum number of history events
//!   (25000).", as event 25,000.
//! - SecondsPath/TimestampPath failures are `States.Runtime` with the causes AWS gives
//!   ("... The SecondsPath parameter references a negative value: $.s == -1").

mod common;

use std::sync::Arc;

use chrono::TimeDelta;
use serde_json::{Value, json};
use sfn_local::clock::ClockMode;
use sfn_local::engine::{Outcome, Status};
use sfn_local::error::StatesError;
use sfn_local::lambda::FnInvoker;

use common::{FN, finished, service, service_with, start};

async fn run(definition: Value, input: Value) -> (Outcome, usize, chrono::DateTime<chrono::Utc>) {
    let service = service(ClockMode::Virtual);
    let execution = start(&service, &definition, &input);
    let outcome = finished(&execution).await;
    (outcome, execution.history().len(), execution.start_date)
}

fn wait_on(field: &str, value: Value) -> Value {
    json!({"StartAt": "W", "States": {"W": {"Type": "Wait", field: value, "End": true}}})
}

async fn runtime_cause(definition: Value, input: Value) -> String {
    let (outcome, _, _) = run(definition, input).await;
    assert_eq!(outcome.status, Status::Failed, "{outcome:?}");
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    outcome.cause.unwrap_or_default()
}

const IN_W: &str = "An error occurred while executing the state 'W' (entered at the event id #2). ";

#[tokio::test]
async fn wait_seconds_path_negative_fails_with_aws_states_runtime_cause() {
    let cause = runtime_cause(wait_on("SecondsPath", json!("$.s")), json!({"s": -1})).await;
    assert_eq!(cause, format!("{IN_W}The SecondsPath parameter references a negative value: $.s == -1"));
}

#[tokio::test]
async fn wait_seconds_path_fractional_or_beyond_a_long_cannot_be_parsed_as_a_long_value() {
    for (value, shown) in [(json!(1.5), "1.5"), (json!(1e20), "1e+20"), (json!("ten"), "ten")] {
        let cause = runtime_cause(wait_on("SecondsPath", json!("$.s")), json!({ "s": value })).await;
        assert_eq!(cause, format!("{IN_W}The SecondsPath parameter cannot be parsed as a long value: $.s == {shown}"));
    }
}

#[tokio::test]
async fn wait_seconds_path_above_the_seconds_range_of_99999999_fails_instead_of_overflowing() {
    for value in [json!(100_000_000u64), json!(u64::MAX), json!(i64::MAX)] {
        let cause = runtime_cause(wait_on("SecondsPath", json!("$.s")), json!({ "s": value })).await;
        assert!(cause.starts_with(IN_W), "{cause}");
        assert!(cause.contains("larger than the maximum of 99999999"), "{cause}");
    }
}

#[tokio::test]
async fn a_wait_longer_than_a_year_times_out_at_the_standard_one_year_maximum() {
    let year = TimeDelta::days(365);
    let cases = [
        (wait_on("Seconds", json!(99_999_999)), json!({})),
        (wait_on("SecondsPath", json!("$.s")), json!({"s": 99_999_999})),
        (wait_on("Timestamp", json!("9999-12-31T23:59:59Z")), json!({})),
        (wait_on("TimestampPath", json!("$.t")), json!({"t": "9999-12-31T23:59:59Z"})),
    ];
    for (definition, input) in cases {
        let (outcome, _, start) = run(definition, input).await;
        assert_eq!(outcome.status, Status::TimedOut, "{outcome:?}");
        assert_eq!(outcome.error.as_deref(), Some("States.Timeout"));
        assert_eq!(outcome.stop_date.map(|stop| stop - start), Some(year));
    }
}

#[tokio::test]
async fn a_machine_timeout_shorter_than_a_year_still_wins() {
    let definition = json!({"StartAt": "W", "TimeoutSeconds": 60, "States": {"W": {"Type": "Wait", "Seconds": 99_999_999, "End": true}}});
    let (outcome, _, start) = run(definition, json!({})).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(outcome.stop_date.map(|stop| stop - start), Some(TimeDelta::seconds(60)));
}

#[tokio::test]
async fn timestamp_path_not_a_timestamp_fails_with_aws_iso_8601_cause() {
    for (value, shown) in [
        (json!("2000-01-01 00:00:00"), "2000-01-01 00:00:00"),
        (json!("+275760-09-13T00:00:00Z"), "+275760-09-13T00:00:00Z"),
        (json!(12), "12"),
    ] {
        let cause = runtime_cause(wait_on("TimestampPath", json!("$.t")), json!({ "t": value })).await;
        assert_eq!(
            cause,
            format!(
                "{IN_W}The TimestampPath parameter does not reference a valid ISO-8601 extended offset date-time format string: $.t == {shown}"
            )
        );
    }
}

#[tokio::test]
async fn task_timeout_and_heartbeat_paths_out_of_range_fail_with_states_runtime() {
    for field in ["TimeoutSecondsPath", "HeartbeatSecondsPath"] {
        let definition =
            json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, field: "$.limit", "End": true}}});
        for limit in [json!(1e20), json!(-1), json!(0), json!(2.5), json!(100_000_000u64)] {
            let (outcome, _, _) = run(definition.clone(), json!({ "limit": limit })).await;
            assert_eq!(outcome.error.as_deref(), Some("States.Runtime"), "{field} = {limit}");
            let cause = outcome.cause.unwrap_or_default();
            assert!(cause.contains(&format!("The {field} parameter does not reference a positive integer")), "{cause}");
        }
    }
}

#[tokio::test]
async fn retries_with_huge_intervals_backoff_and_attempts_end_within_the_year() {
    let always_failing = Arc::new(FnInvoker(|_name: String, _payload: Value| async {
        Err::<Value, _>(StatesError::new("Flaky", "always"))
    }));
    for jitter in ["NONE", "FULL"] {
        let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
            "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 99_999_999, "BackoffRate": 1e308,
                       "MaxAttempts": 99_999_999, "JitterStrategy": jitter}]}}});
        let service = service_with(always_failing.clone(), ClockMode::Virtual);
        let execution = start(&service, &definition, &json!({}));
        let outcome = finished(&execution).await;
        assert_eq!(outcome.status, Status::TimedOut, "JitterStrategy {jitter}: {outcome:?}");
        assert_eq!(outcome.stop_date.map(|stop| stop - execution.start_date), Some(TimeDelta::days(365)));
    }
}

#[tokio::test]
async fn an_endless_loop_fails_at_the_aws_history_limit_of_25000_events() {
    let definition = json!({"StartAt": "Loop", "States": {
        "Loop": {"Type": "Choice", "Choices": [{"Variable": "$.spin", "BooleanEquals": true, "Next": "Loop"}], "Default": "Out"},
        "Out": {"Type": "Succeed"}
    }});
    let service = service(ClockMode::Virtual);
    let execution = start(&service, &definition, &json!({"spin": true}));
    let outcome = finished(&execution).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(outcome.cause.as_deref(), Some("The execution reached the maximum number of history events (25000)."));
    let history = execution.history();
    assert_eq!(history.len(), 25_000);
    let (last, before) = (&history[24_999], &history[24_998]);
    assert_eq!((last.id, last.event_type.as_str(), last.previous_event_id), (25_000, "ExecutionFailed", 24_999));
    assert_eq!((before.id, before.event_type.as_str()), (24_999, "ChoiceStateExited"));
}

#[tokio::test]
async fn a_retry_loop_also_stops_at_the_history_limit() {
    let always_failing = Arc::new(FnInvoker(|_name: String, _payload: Value| async {
        Err::<Value, _>(StatesError::new("Flaky", "always"))
    }));
    let definition = json!({"StartAt": "T", "States": {"T": {"Type": "Task", "Resource": FN, "End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "BackoffRate": 1.0, "MaxAttempts": 99_999_999}]}}});
    let service = service_with(always_failing, ClockMode::Virtual);
    let execution = start(&service, &definition, &json!({}));
    let outcome = finished(&execution).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.cause.as_deref(), Some("The execution reached the maximum number of history events (25000)."));
    assert_eq!(execution.history().len(), 25_000);
}
