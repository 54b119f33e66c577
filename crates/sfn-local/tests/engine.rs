//! The engine's behaviour, feature by feature, with in-process Lambda functions.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, Execution, HistoryEvent, Outcome, Status};
use sfn_local::error::StatesError;
use sfn_local::lambda::{FnInvoker, Invoker, NoLambda};
use sfn_local::service::Service;

fn service_with(invoker: Arc<dyn Invoker>, mode: ClockMode) -> Arc<Service> {
    Service::new(Engine::new(Clock::new(mode), invoker, "us-east-1"), "us-east-1", "123456789012")
}

fn start(service: &Service, definition: Value, input: Value) -> Arc<Execution> {
    let name = format!("m{}", uuid::Uuid::new_v4().simple());
    let created = service
        .create_state_machine(
            &json!({"name": name, "definition": definition.to_string(), "roleArn": "arn:aws:iam::123456789012:role/r"}),
        )
        .expect("valid definition");
    let started = service
        .start_execution(&json!({"stateMachineArn": created["stateMachineArn"], "input": input.to_string()}))
        .expect("started");
    service.execution(started["executionArn"].as_str().unwrap_or_default()).expect("execution exists")
}

async fn run_with(invoker: Arc<dyn Invoker>, definition: Value, input: Value) -> (Outcome, Vec<HistoryEvent>) {
    let service = service_with(invoker, ClockMode::Virtual);
    let execution = start(&service, definition, input);
    let outcome = tokio::time::timeout(Duration::from_secs(20), execution.wait()).await.expect("execution finished");
    (outcome, execution.history())
}

async fn run(definition: Value, input: Value) -> (Outcome, Vec<HistoryEvent>) {
    run_with(Arc::new(NoLambda), definition, input).await
}

fn output(outcome: &Outcome) -> Value {
    assert_eq!(outcome.status, Status::Succeeded, "error {:?}: {:?}", outcome.error, outcome.cause);
    serde_json::from_str(outcome.output.as_deref().unwrap_or("null")).expect("output is JSON")
}

fn types(history: &[HistoryEvent]) -> Vec<&str> {
    history.iter().map(|e| e.event_type.as_str()).collect()
}

fn task(resource: &str, extra: Value) -> Value {
    let mut state = json!({"Type": "Task", "Resource": resource});
    if let (Value::Object(s), Value::Object(e)) = (&mut state, extra) {
        s.extend(e);
    }
    state
}

const FN: &str = "arn:aws:lambda:us-east-1:123456789012:function:worker";

/// A function that fails with `error` the first `failures` calls, then echoes its input.
fn flaky(error: &'static str, failures: usize) -> (Arc<dyn Invoker>, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&calls);
    let invoker = FnInvoker(move |_name: String, payload: Value| {
        let n = counter.fetch_add(1, Ordering::SeqCst);
        async move {
            if n < failures {
                Err(StatesError::new(error, format!("{{\"errorType\":\"{error}\",\"errorMessage\":\"call {n}\"}}")))
            } else {
                Ok(json!({"echo": payload, "call": n}))
            }
        }
    });
    (Arc::new(invoker), calls)
}

#[tokio::test]
async fn pass_chain_with_input_output_processing() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Pass", "InputPath": "$.in", "Parameters": {"x.$": "$.v", "fixed": 1, "nested": {"y.$": "$.v"}}, "ResultPath": "$.made", "Next": "B"},
        "B": {"Type": "Pass", "Result": {"r": true}, "ResultPath": "$.made.result", "OutputPath": "$.made", "Next": "C"},
        "C": {"Type": "Pass", "ResultPath": null, "End": true}
    }});
    let (outcome, history) = run(def, json!({"in": {"v": 7}, "other": 1})).await;
    assert_eq!(output(&outcome), json!({"x": 7, "fixed": 1, "nested": {"y": 7}, "result": {"r": true}}));
    assert_eq!(types(&history).first(), Some(&"ExecutionStarted"));
    assert_eq!(types(&history).last(), Some(&"ExecutionSucceeded"));
    assert!(types(&history).contains(&"PassStateExited"));
    let ids: Vec<u64> = history.iter().map(|e| e.id).collect();
    assert_eq!(ids, (1..=history.len() as u64).collect::<Vec<_>>());
}

#[tokio::test]
async fn context_object_and_intrinsics_in_parameters() {
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": true, "Parameters": {
        "name.$": "$$.Execution.Name", "state.$": "$$.State.Name", "input.$": "$$.Execution.Input",
        "msg.$": "States.Format('{} has {} items', $.who, States.ArrayLength($.items))",
        "hash.$": "States.Hash($.who, 'SHA-256')"
    }}}});
    let (outcome, _) = run(def, json!({"who": "Ann", "items": [1, 2, 3]})).await;
    let out = output(&outcome);
    assert_eq!(out["state"], json!("A"));
    assert_eq!(out["input"], json!({"who": "Ann", "items": [1, 2, 3]}));
    assert_eq!(out["msg"], json!("Ann has 3 items"));
    assert_eq!(out["hash"].as_str().map(str::len), Some(64));
    assert!(out["name"].as_str().is_some_and(|n| n.len() == 36), "default names are UUIDs");
}

#[tokio::test]
async fn choice_routes_and_no_match_fails() {
    let def = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [
            {"Variable": "$.n", "NumericGreaterThan": 10, "Next": "Big"},
            {"And": [{"Variable": "$.s", "IsPresent": true}, {"Variable": "$.s", "StringMatches": "log-*"}], "Next": "Log"}
        ]},
        "Big": {"Type": "Pass", "Result": "big", "End": true},
        "Log": {"Type": "Pass", "Result": "log", "End": true}
    }});
    assert_eq!(output(&run(def.clone(), json!({"n": 11})).await.0), json!("big"));
    assert_eq!(output(&run(def.clone(), json!({"n": 1, "s": "log-1"})).await.0), json!("log"));
    let (outcome, history) = run(def, json!({"n": 1, "s": "x"})).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("States.NoChoiceMatched"));
    assert_eq!(types(&history).last(), Some(&"ExecutionFailed"));
}

#[tokio::test]
async fn a_day_long_wait_takes_no_wall_time_under_the_virtual_clock() {
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": true}}});
    let wall = Instant::now();
    let (outcome, history) = run(def, json!({"k": 1})).await;
    assert!(wall.elapsed() < Duration::from_millis(500), "took {:?}", wall.elapsed());
    assert_eq!(output(&outcome), json!({"k": 1}));
    let entered = history.iter().find(|e| e.event_type == "WaitStateEntered").map(|e| e.timestamp);
    let exited = history.iter().find(|e| e.event_type == "WaitStateExited").map(|e| e.timestamp);
    let simulated = exited.zip(entered).map(|(x, e)| (x - e).num_seconds());
    assert_eq!(simulated, Some(86400), "the history shows the simulated day");
}

#[tokio::test]
async fn wait_paths_read_the_input() {
    let def = json!({"StartAt": "A", "States": {
        "A": {"Type": "Wait", "SecondsPath": "$.s", "Next": "B"},
        "B": {"Type": "Wait", "TimestampPath": "$.t", "End": true}
    }});
    let (outcome, _) = run(def.clone(), json!({"s": 5, "t": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(outcome.status, Status::Succeeded, "a past timestamp does not wait");
    let (outcome, _) = run(def.clone(), json!({"s": "five", "t": "2000-01-01T00:00:00Z"})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    let (outcome, _) = run(def, json!({"s": 1, "t": "2000-01-01 00:00:00"})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn manual_clock_holds_waits_until_advanced() {
    let service = service_with(Arc::new(NoLambda), ClockMode::Manual);
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 86400, "End": true}}});
    let execution = start(&service, def, json!({}));
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(execution.outcome().status, Status::Running);
    service.engine().clock.advance(Duration::from_secs(86_399)).expect("manual clock");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(execution.outcome().status, Status::Running);
    service.engine().clock.advance(Duration::from_secs(1)).expect("manual clock");
    let outcome = tokio::time::timeout(Duration::from_secs(5), execution.wait()).await.expect("finished");
    assert_eq!(outcome.status, Status::Succeeded);
}

#[tokio::test]
async fn catch_matches_a_named_lambda_error() {
    let (invoker, calls) = flaky("ObjectNotFound", usize::MAX);
    let def = json!({"StartAt": "T", "States": {
        "T": task(FN, json!({"Next": "Ok", "Retry": [{"ErrorEquals": ["TransientError"], "MaxAttempts": 3}],
            "Catch": [{"ErrorEquals": ["EmptyCsv"], "Next": "Ok"}, {"ErrorEquals": ["ObjectNotFound"], "ResultPath": "$.error", "Next": "Handled"}]})),
        "Ok": {"Type": "Succeed"},
        "Handled": {"Type": "Pass", "End": true}
    }});
    let (outcome, history) = run_with(invoker, def, json!({"key": "a.csv"})).await;
    let out = output(&outcome);
    assert_eq!(out["key"], json!("a.csv"), "the catcher's ResultPath keeps the input");
    assert_eq!(out["error"]["Error"], json!("ObjectNotFound"));
    assert!(out["error"]["Cause"].as_str().is_some_and(|c| c.contains("errorMessage")));
    assert_eq!(calls.load(Ordering::SeqCst), 1, "a non-matching retrier does not retry");
    assert!(types(&history).contains(&"LambdaFunctionFailed"));
}

#[tokio::test]
async fn retry_with_backoff_then_success() {
    let (invoker, calls) = flaky("TransientError", 2);
    let def = json!({"StartAt": "T", "States": {"T": task(FN, json!({"End": true,
        "Retry": [{"ErrorEquals": ["TransientError"], "IntervalSeconds": 3, "BackoffRate": 2.0, "MaxAttempts": 3}]}))}});
    let wall = Instant::now();
    let (outcome, history) = run_with(invoker, def, json!({"x": 1})).await;
    assert!(wall.elapsed() < Duration::from_secs(1), "retry intervals are virtual");
    assert_eq!(output(&outcome), json!({"echo": {"x": 1}, "call": 2}));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
    let scheduled: Vec<_> =
        history.iter().filter(|e| e.event_type == "LambdaFunctionScheduled").map(|e| e.timestamp).collect();
    let gaps: Vec<i64> = scheduled.windows(2).map(|w| (w[1] - w[0]).num_seconds()).collect();
    assert_eq!(gaps, vec![3, 6], "intervals 3 s then 3 x 2");
}

#[tokio::test]
async fn retry_exhausts_its_attempts_then_fails_with_the_error() {
    let (invoker, calls) = flaky("TransientError", usize::MAX);
    let def = json!({"StartAt": "T", "States": {"T": task(FN, json!({"End": true,
        "Retry": [{"ErrorEquals": ["States.ALL"], "IntervalSeconds": 1, "MaxAttempts": 2, "MaxDelaySeconds": 1, "JitterStrategy": "FULL"}]}))}});
    let (outcome, history) = run_with(invoker, def, json!({})).await;
    assert_eq!(outcome.status, Status::Failed);
    assert_eq!(outcome.error.as_deref(), Some("TransientError"));
    assert_eq!(calls.load(Ordering::SeqCst), 3, "one call and two retries");
    assert_eq!(types(&history).iter().filter(|t| **t == "LambdaFunctionFailed").count(), 3);
}

#[tokio::test]
async fn lambda_invoke_integration_shape_and_result_selector() {
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    let invoker = FnInvoker(move |name: String, payload: Value| {
        record.lock().map(|mut s| s.push((name, payload.clone()))).ok();
        async move { Ok(json!({"rows": 3})) }
    });
    let def = json!({"StartAt": "T", "States": {"T": task("arn:aws:states:::lambda:invoke", json!({
        "Parameters": {"FunctionName": "arn:aws:lambda:us-east-1:123456789012:function:csv-processor", "Payload.$": "$"},
        "ResultSelector": {"rows.$": "$.Payload.rows", "code.$": "$.StatusCode"},
        "ResultPath": "$.result", "End": true}))}});
    let (outcome, history) = run_with(Arc::new(invoker), def, json!({"k": "v"})).await;
    assert_eq!(output(&outcome), json!({"k": "v", "result": {"rows": 3, "code": 200}}));
    let calls = seen.lock().map(|s| s.clone()).unwrap_or_default();
    assert_eq!(calls, vec![("csv-processor".to_owned(), json!({"k": "v"}))]);
    let kinds = types(&history);
    for expected in ["TaskStateEntered", "TaskScheduled", "TaskStarted", "TaskSucceeded", "TaskStateExited"] {
        assert!(kinds.contains(&expected), "{expected} in {kinds:?}");
    }
    let scheduled = history.iter().find(|e| e.event_type == "TaskScheduled").and_then(|e| e.details.clone());
    assert_eq!(
        scheduled.map(|(member, d)| (member, d["resourceType"].clone())),
        Some(("taskScheduledEventDetails", json!("lambda")))
    );
}

/// A function that takes 5 s: longer than every limit the timeout tests set.
fn slow_function() -> Arc<dyn Invoker> {
    Arc::new(FnInvoker(|_name: String, _payload: Value| async {
        tokio::time::sleep(Duration::from_secs(5)).await;
        Ok(json!({}))
    }))
}

#[tokio::test]
async fn task_timeout_raises_states_timeout() {
    let def = json!({"StartAt": "T", "States": {
        "T": task(FN, json!({"TimeoutSeconds": 1, "Next": "Done", "Catch": [{"ErrorEquals": ["States.TaskFailed"], "Next": "Wrong"}, {"ErrorEquals": ["States.Timeout"], "Next": "Done"}]})),
        "Wrong": {"Type": "Fail", "Error": "Wrong"},
        "Done": {"Type": "Succeed"}
    }});
    let wall = Instant::now();
    let (outcome, history) = run_with(slow_function(), def, json!({})).await;
    assert!(wall.elapsed() < Duration::from_secs(3));
    assert_eq!(
        output(&outcome),
        json!({"Error": "States.Timeout", "Cause": "The task did not finish within 1 seconds"})
    );
    assert!(types(&history).contains(&"LambdaFunctionTimedOut"));
}

#[tokio::test]
async fn execution_timeout_ends_a_long_wait() {
    let def =
        json!({"StartAt": "W", "TimeoutSeconds": 60, "States": {"W": {"Type": "Wait", "Seconds": 3600, "End": true}}});
    let (outcome, history) = run(def, json!({})).await;
    assert_eq!(outcome.status, Status::TimedOut);
    assert_eq!(outcome.error.as_deref(), Some("States.Timeout"));
    assert_eq!(types(&history).last(), Some(&"ExecutionTimedOut"));
}

#[tokio::test]
async fn bad_paths_raise_the_right_errors() {
    let input_path = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$.nope", "End": true}}});
    assert_eq!(run(input_path, json!({})).await.0.error.as_deref(), Some("States.Runtime"));

    let params =
        json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a.$": "$.nope"}, "End": true}}});
    // A Pass state's unresolvable Parameters path is States.Runtime on AWS (not the
    // catchable States.ParameterPathFailure a Task raises), with the state prefix.
    let (outcome, _) = run(params, json!({})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert_eq!(
        outcome.cause.as_deref(),
        Some(
            "An error occurred while executing the state 'A' (entered at the event id #2). \
             The JSONPath '$.nope' specified for the field 'a.$' could not be found in the input '{}'"
        )
    );

    let result_path = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": 1, "ResultPath": "$.s.deeper", "End": true}}});
    assert_eq!(run(result_path, json!({"s": "text"})).await.0.error.as_deref(), Some("States.ResultPathMatchFailure"));

    let intrinsic = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Parameters": {"a.$": "States.StringToJson($.s)"}, "End": true}}});
    // On AWS an intrinsic function given arguments it cannot take fails the state with
    // States.Runtime ("Invalid arguments in States.StringToJson"), not States.IntrinsicFailure.
    assert_eq!(run(intrinsic, json!({"s": "{broken"})).await.0.error.as_deref(), Some("States.Runtime"));

    let output_path = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "OutputPath": "$.gone", "End": true}}});
    assert_eq!(run(output_path, json!({})).await.0.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn a_parameter_path_failure_in_a_task_can_be_caught() {
    let def = json!({"StartAt": "T", "States": {
        "T": task(FN, json!({"Parameters": {"k.$": "$.missing"}, "End": true,
            "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]})),
        "C": {"Type": "Pass", "End": true}
    }});
    let (outcome, _) = run(def, json!({})).await;
    assert_eq!(output(&outcome)["Error"], json!("States.ParameterPathFailure"));
}

#[tokio::test]
async fn states_runtime_is_not_caught_by_states_all() {
    let def = json!({"StartAt": "T", "States": {
        "T": task("arn:aws:states:::sns:publish", json!({"End": true, "Catch": [{"ErrorEquals": ["States.ALL"], "Next": "C"}]})),
        "C": {"Type": "Succeed"}
    }});
    let (outcome, _) = run(def, json!({})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
    assert!(outcome.cause.unwrap_or_default().contains("Lambda tasks only"));
}

#[tokio::test]
async fn fail_state_with_paths() {
    let def = json!({"StartAt": "F", "States": {"F": {"Type": "Fail", "ErrorPath": "$.e", "CausePath": "States.Format('row {} bad', $.n)"}}});
    let (outcome, history) = run(def, json!({"e": "InvalidCsv", "n": 4})).await;
    assert_eq!(outcome.error.as_deref(), Some("InvalidCsv"));
    assert_eq!(outcome.cause.as_deref(), Some("row 4 bad"));
    assert_eq!(types(&history)[1..], ["FailStateEntered", "ExecutionFailed"]);
}

#[tokio::test]
async fn parallel_collects_branch_outputs_and_overlaps_their_waits() {
    let def = json!({"StartAt": "P", "States": {"P": {"Type": "Parallel", "End": true, "ResultSelector": {"a.$": "$[0]", "b.$": "$[1]"}, "Branches": [
        {"StartAt": "W1", "States": {"W1": {"Type": "Wait", "Seconds": 100, "Next": "A"}, "A": {"Type": "Pass", "Result": "a", "End": true}}},
        {"StartAt": "W2", "States": {"W2": {"Type": "Wait", "Seconds": 300, "Next": "B"}, "B": {"Type": "Pass", "Result": "b", "End": true}}}
    ]}}});
    let (outcome, history) = run(def, json!({})).await;
    assert_eq!(output(&outcome), json!({"a": "a", "b": "b"}));
    let span = (outcome.stop_date.expect("stopped") - history[0].timestamp).num_seconds();
    assert_eq!(span, 300, "branches run side by side: the longest wait, not the sum");
    let kinds = types(&history);
    assert!(kinds.contains(&"ParallelStateStarted") && kinds.contains(&"ParallelStateSucceeded"));
}

#[tokio::test]
async fn a_failing_branch_fails_the_parallel_state_with_its_error() {
    let def = json!({"StartAt": "P", "States": {
        "P": {"Type": "Parallel", "Next": "Done", "Branches": [
            {"StartAt": "Ok", "States": {"Ok": {"Type": "Pass", "End": true}}},
            {"StartAt": "Bad", "States": {"Bad": {"Type": "Fail", "Error": "CheckFailed", "Cause": "no"}}}
        ], "Catch": [{"ErrorEquals": ["CheckFailed"], "Next": "Caught"}]},
        "Done": {"Type": "Succeed"},
        "Caught": {"Type": "Pass", "End": true}
    }});
    let (outcome, history) = run(def, json!({})).await;
    assert_eq!(output(&outcome), json!({"Error": "CheckFailed", "Cause": "no"}));
    assert!(types(&history).contains(&"ParallelStateFailed"));
}

#[tokio::test]
async fn map_with_selector_context_and_concurrency() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 2,
        "ItemSelector": {"index.$": "$$.Map.Item.Index", "value.$": "$$.Map.Item.Value", "prefix.$": "$.prefix"},
        "ItemProcessor": {"ProcessorConfig": {"Mode": "INLINE"}, "StartAt": "F", "States": {
            "F": {"Type": "Pass", "Parameters": {"s.$": "States.Format('{}{}', $.prefix, $.value)", "i.$": "$.index"}, "End": true}}},
        "ResultPath": "$.out", "End": true}}});
    let (outcome, history) = run(def, json!({"prefix": "p", "items": ["a", "b", "c"]})).await;
    assert_eq!(output(&outcome)["out"], json!([{"s": "pa", "i": 0}, {"s": "pb", "i": 1}, {"s": "pc", "i": 2}]));
    assert_eq!(types(&history).iter().filter(|t| **t == "MapIterationSucceeded").count(), 3);
    let started = history.iter().find(|e| e.event_type == "MapStateStarted").and_then(|e| e.details.clone());
    assert_eq!(started.map(|(_, d)| d["length"].clone()), Some(json!(3)));
}

#[tokio::test]
async fn map_tolerates_failures_up_to_its_threshold() {
    let processor = json!({"StartAt": "C", "States": {
        "C": {"Type": "Choice", "Choices": [{"Variable": "$", "NumericGreaterThanEquals": 0, "Next": "Ok"}], "Default": "Bad"},
        "Ok": {"Type": "Pass", "End": true},
        "Bad": {"Type": "Fail", "Error": "Negative", "Cause": "below zero"}
    }});
    let tolerant = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailureCount": 1, "ItemProcessor": processor.clone(), "End": true}}});
    let (outcome, history) = run(tolerant.clone(), json!([1, -1, 2])).await;
    assert_eq!(output(&outcome), json!([1, {"Error": "Negative", "Cause": "below zero"}, 2]));
    assert!(types(&history).contains(&"MapIterationFailed"));

    let (outcome, _) = run(tolerant, json!([-1, -2, 3])).await;
    assert_eq!(outcome.error.as_deref(), Some("States.ExceedToleratedFailureThreshold"));

    let percent = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ToleratedFailurePercentage": 50, "ItemProcessor": processor.clone(), "End": true}}});
    assert_eq!(run(percent.clone(), json!([1, -1])).await.0.status, Status::Succeeded);
    assert_eq!(
        run(percent, json!([1, -1, -2])).await.0.error.as_deref(),
        Some("States.ExceedToleratedFailureThreshold")
    );

    let strict = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemProcessor": processor, "End": true}}});
    assert_eq!(
        run(strict, json!([1, -1])).await.0.error.as_deref(),
        Some("Negative"),
        "no tolerance: the item's error"
    );
}

#[tokio::test]
async fn map_needs_an_array() {
    let def = json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.x", "ItemProcessor": {"StartAt": "P", "States": {"P": {"Type": "Pass", "End": true}}}, "End": true}}});
    let (outcome, _) = run(def, json!({"x": "not a list"})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"));
}

#[tokio::test]
async fn oversized_output_is_data_limit_exceeded() {
    let big = "x".repeat(300_000);
    let def = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "Result": big, "Next": "B"}, "B": {"Type": "Pass", "End": true}}});
    let (outcome, _) = run(def, json!({})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.DataLimitExceeded"));
}

#[tokio::test]
async fn stop_execution_aborts_a_waiting_run() {
    let service = service_with(Arc::new(NoLambda), ClockMode::Manual);
    let def = json!({"StartAt": "W", "States": {"W": {"Type": "Wait", "Seconds": 10, "End": true}}});
    let execution = start(&service, def, json!({}));
    tokio::time::sleep(Duration::from_millis(50)).await;
    service
        .stop_execution(&json!({"executionArn": execution.arn, "error": "Cancelled", "cause": "by test"}))
        .expect("stopped");
    let outcome = execution.wait().await;
    assert_eq!(outcome.status, Status::Aborted);
    assert_eq!(outcome.error.as_deref(), Some("Cancelled"));
    assert_eq!(types(&execution.history()).last(), Some(&"ExecutionAborted"));
    service.engine().clock.advance(Duration::from_secs(20)).expect("manual");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert_eq!(execution.outcome().status, Status::Aborted, "an aborted run stays aborted");
}

#[tokio::test]
async fn heartbeat_and_timeout_paths() {
    let heartbeat = json!({"StartAt": "T", "States": {"T": task(FN, json!({"TimeoutSeconds": 30, "HeartbeatSeconds": 1, "End": true}))}});
    let (outcome, _) = run_with(slow_function(), heartbeat, json!({})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.HeartbeatTimeout"));

    let from_path =
        json!({"StartAt": "T", "States": {"T": task(FN, json!({"TimeoutSecondsPath": "$.limit", "End": true}))}});
    let (outcome, _) = run_with(slow_function(), from_path.clone(), json!({"limit": 1})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Timeout"));
    let (outcome, _) = run_with(slow_function(), from_path, json!({"limit": "soon"})).await;
    assert_eq!(outcome.error.as_deref(), Some("States.Runtime"), "a bad TimeoutSecondsPath value");
}
