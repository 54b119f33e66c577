//! The conformance suite: every `tests/conformance/*.json` is one case taken from AWS's
//! documented behaviour (its `description` names the page and the behaviour), run
//! through the service as `CreateStateMachine` and `StartExecution` would run it.
//!
//! A case file holds:
//! - `description`: what AWS does, and where it says so;
//! - `definition`: the state machine (an object, or a string to send as is);
//! - `input`: the execution input (default `{}`);
//! - `lambda`: optional answers of the fake Lambda, by function name, in call order
//!   (the last one repeats): `{"result": ...}`, `{"error": ..., "cause": ...}` or
//!   `{"echo": true}` (the payload back);
//! - `expect`: either `{"definitionError": {"code": ..., "contains": ...}}` (refused at
//!   create), or `status` with `output` (SUCCEEDED) or `error` and `cause` /
//!   `causeContains`, and optionally `events`: the history's event types in order.
//!
//! One test runs them all and names every case that failed, with why.

mod common;

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::{Value, json};
use sfn_local::clock::ClockMode;
use sfn_local::error::StatesError;
use sfn_local::lambda::{FnInvoker, Invoker, function_name};

fn case_files() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/conformance");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map(|entries| entries.filter_map(Result::ok).map(|e| e.path()).collect())
        .unwrap_or_default();
    files.retain(|p| p.extension().is_some_and(|e| e == "json"));
    files.sort();
    files
}

/// A Lambda that answers from the case's script, per function name.
fn scripted(script: Option<&Value>) -> Arc<dyn Invoker> {
    let script = script.cloned().unwrap_or_else(|| json!({}));
    let calls = Arc::new(AtomicUsize::new(0));
    Arc::new(FnInvoker(move |function: String, payload: Value| {
        let answers = script.get(function_name(&function)).and_then(Value::as_array).cloned().unwrap_or_default();
        let n = calls.fetch_add(1, Ordering::SeqCst);
        async move {
            let answer = answers.get(n.min(answers.len().saturating_sub(1))).cloned();
            match answer {
                None => Ok(payload),
                Some(a) if a.get("echo").is_some() => Ok(payload),
                Some(a) if a.get("error").is_some() => Err(StatesError::new(
                    a["error"].as_str().unwrap_or_default(),
                    a.get("cause").and_then(Value::as_str).unwrap_or_default(),
                )),
                Some(a) => Ok(a.get("result").cloned().unwrap_or(Value::Null)),
            }
        }
    }))
}

/// Runs one case; `Err` says how it differed from what AWS does.
async fn run_case(case: &Value) -> Result<(), String> {
    let definition = match &case["definition"] {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    };
    let expect = &case["expect"];
    let service = common::service_with(scripted(case.get("lambda")), ClockMode::Virtual);
    let created = service.create_state_machine(&json!({
        "name": "conformance", "definition": definition, "roleArn": "arn:aws:iam::123456789012:role/r"
    }));
    if let Some(wanted) = expect.get("definitionError") {
        let error = created.err().ok_or("the definition was accepted; AWS refuses it")?;
        let code = wanted["code"].as_str().unwrap_or_default();
        let contains = wanted.get("contains").and_then(Value::as_str).unwrap_or_default();
        if error.code != "InvalidDefinition" || !error.message.contains(code) || !error.message.contains(contains) {
            return Err(format!("refused with {error}; wanted {code} containing {contains:?}"));
        }
        return Ok(());
    }
    let arn = created.map_err(|e| format!("refused at create: {e}"))?["stateMachineArn"].clone();
    let input = case.get("input").cloned().unwrap_or_else(|| json!({}));
    let started = service
        .start_execution(&json!({"stateMachineArn": arn, "input": input.to_string()}))
        .map_err(|e| format!("not started: {e}"))?;
    let execution = service
        .execution(started["executionArn"].as_str().unwrap_or_default())
        .map_err(|e| format!("the execution is not kept: {e}"))?;
    let outcome = common::finished(&execution).await;
    let got = json!({
        "status": outcome.status.as_str(),
        "output": outcome.output.as_deref().and_then(|o| serde_json::from_str::<Value>(o).ok()),
        "error": outcome.error,
        "cause": outcome.cause,
    });
    let mismatch = |what: &str| {
        let mut shown = got.to_string();
        if shown.len() > 400 {
            shown = format!(
                "{}... ({} bytes)",
                &shown[..shown.char_indices().nth(400).map_or(shown.len(), |(i, _)| i)],
                shown.len()
            );
        }
        format!("{what} differs: got {shown}")
    };
    if expect.get("status").is_some_and(|s| *s != got["status"]) {
        return Err(mismatch("status"));
    }
    for field in ["output", "error", "cause"] {
        if let Some(wanted) = expect.get(field)
            && *wanted != got[field]
        {
            return Err(mismatch(field));
        }
    }
    if let Some(part) = expect.get("causeContains").and_then(Value::as_str)
        && !got["cause"].as_str().is_some_and(|c| c.contains(part))
    {
        return Err(mismatch("cause"));
    }
    if let Some(events) = expect.get("events") {
        let types: Vec<String> = execution.history().iter().map(|e| e.event_type.clone()).collect();
        if *events != json!(types) {
            return Err(format!("events differ: got {types:?}"));
        }
    }
    Ok(())
}

#[tokio::test]
async fn every_conformance_case_behaves_as_aws_documents() {
    let files = case_files();
    assert!(files.len() >= 10, "the suite is in tests/conformance ({} cases found)", files.len());
    let mut failures = Vec::new();
    for file in &files {
        let name = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let case: Value = match std::fs::read_to_string(file).map(|t| serde_json::from_str(&t)) {
            Ok(Ok(case)) => case,
            Ok(Err(e)) => {
                failures.push(format!("{name}: not JSON: {e}"));
                continue;
            }
            Err(e) => {
                failures.push(format!("{name}: unreadable: {e}"));
                continue;
            }
        };
        if case["description"].as_str().is_none_or(|d| d.is_empty()) {
            failures.push(format!("{name}: no description of the AWS behaviour"));
            continue;
        }
        if let Err(why) = run_case(&case).await {
            failures.push(format!("{name}: {why}"));
        }
    }
    assert!(failures.is_empty(), "{} of {} cases failed:\n{}", failures.len(), files.len(), failures.join("\n"));
}
