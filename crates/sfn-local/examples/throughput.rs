//! State transitions per second: a long Pass chain and a wide Map, on the virtual clock.
//! `cargo run --release -p sfn-local --example throughput [CHAIN_STATES] [MAP_ITEMS]`

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, Status};
use sfn_local::lambda::NoLambda;
use sfn_local::service::Service;

fn pass_chain(states: usize) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = json!({"Type": "Pass", "Parameters": {"step": i, "carried.$": "$.carried"}});
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    json!({"StartAt": "S0", "States": map})
}

fn wide_map() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "B"},
            "B": {"Type": "Pass", "End": true}}},
        "ResultSelector": {"count.$": "States.ArrayLength($)"}, "End": true}}})
}

/// Runs one execution; returns (states entered, seconds).
async fn measure(service: &Service, name: &str, definition: Value, input: Value) -> Result<(usize, f64), String> {
    let created = service
        .create_state_machine(
            &json!({"name": name, "definition": definition.to_string(), "roleArn": "arn:aws:iam::1:role/r"}),
        )
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let run = service
        .start_execution(&json!({"stateMachineArn": created["stateMachineArn"], "input": input.to_string()}))
        .map_err(|e| e.to_string())?;
    let execution = service.execution(run["executionArn"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
    let outcome = execution.wait().await;
    let seconds = started.elapsed().as_secs_f64();
    if outcome.status != Status::Succeeded {
        return Err(format!("{name}: {:?} {:?}", outcome.error, outcome.cause));
    }
    let transitions = execution.history().iter().filter(|e| e.event_type.ends_with("StateEntered")).count();
    Ok((transitions, seconds))
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let chain: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let items: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(1000);
    let engine = Engine::new(Clock::new(ClockMode::Virtual), Arc::new(NoLambda), "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    for round in 0..3 {
        let (t, s) =
            measure(&service, &format!("chain{round}"), pass_chain(chain), json!({"carried": {"k": "v"}})).await?;
        println!(
            "pass chain of {chain} states: {t} transitions in {:.1} ms = {:.0} transitions/s",
            s * 1000.0,
            t as f64 / s
        );
        let input = json!({"items": (0..items).collect::<Vec<_>>()});
        let (t, s) = measure(&service, &format!("map{round}"), wide_map(), input).await?;
        println!("map of {items} items: {t} transitions in {:.1} ms = {:.0} transitions/s", s * 1000.0, t as f64 / s);
    }
    Ok(())
}
