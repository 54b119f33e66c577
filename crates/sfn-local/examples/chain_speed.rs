//! Transitions per second on two 1,000-state Pass chains, one in each query language
//! (the figures `make bench` checks against 50,000/s):
//! `cargo run --release -p sfn-local --example chain_speed`.
//!
//! Besides wall time it reports transitions per second of the process's CPU time (from
//! `/proc/self/stat`, Linux), which a busy machine does not distort.

use std::sync::Arc;
use std::time::Instant;

use serde_json::{Value, json};
use sfn_local::clock::{Clock, ClockMode};
use sfn_local::engine::{Engine, Status};
use sfn_local::lambda::NoLambda;
use sfn_local::service::Service;

/// `states` Pass states in a row, each carrying part of its input on.
fn chain(states: usize, jsonata: bool) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = if jsonata {
            json!({"Type": "Pass", "Output": {"step": i, "carried": "{% $states.input.carried %}"}})
        } else {
            json!({"Type": "Pass", "Parameters": {"step": i, "carried.$": "$.carried"}})
        };
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    let mut definition = json!({"StartAt": "S0", "States": map});
    if jsonata {
        definition["QueryLanguage"] = json!("JSONata");
    }
    definition
}

/// The process's CPU time so far (user + system), in seconds; `None` off Linux.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // The kernel's USER_HZ is 100 on every Linux this runs on.
    Some(ticks / 100.0)
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let engine = Engine::new(Clock::new(ClockMode::Virtual), Arc::new(NoLambda), "us-east-1");
    let service = Service::new(engine, "us-east-1", "123456789012");
    for (n, (label, jsonata)) in
        [("JSONPath Pass chain, 1,000 states", false), ("JSONata Pass chain, 1,000 states", true)]
            .into_iter()
            .enumerate()
    {
        let created = service
            .create_state_machine(&json!({"name": format!("chain{n}"), "definition": chain(1000, jsonata).to_string(),
                "roleArn": "arn:aws:iam::123456789012:role/r"}))
            .map_err(|e| e.to_string())?;
        let mut rates = Vec::new();
        let mut transitions_total = 0usize;
        let cpu_before = cpu_seconds();
        for _ in 0..20 {
            let started = Instant::now();
            let run = service
                .start_execution(&json!({"stateMachineArn": created["stateMachineArn"], "input": json!({"carried": {"k": "v"}}).to_string()}))
                .map_err(|e| e.to_string())?;
            let execution =
                service.execution(run["executionArn"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
            let outcome = execution.wait().await;
            let seconds = started.elapsed().as_secs_f64();
            if outcome.status != Status::Succeeded {
                return Err(format!("{label}: {:?} {:?}", outcome.error, outcome.cause));
            }
            // A Pass chain's history is ExecutionStarted, one Entered and one Exited per
            // state, ExecutionSucceeded: counting from its length keeps the benchmark from
            // copying 2,000 events per run into the CPU time it reports.
            let transitions = execution.history_len().saturating_sub(2) / 2;
            transitions_total += transitions;
            rates.push(transitions as f64 / seconds);
        }
        rates.sort_by(f64::total_cmp);
        let per_cpu = cpu_before.zip(cpu_seconds()).map(|(a, b)| transitions_total as f64 / (b - a).max(0.01));
        println!(
            "{label}: {:.0} transitions/s (median of 20 runs), {} transitions per CPU-second",
            rates[10],
            per_cpu.map_or("unknown".to_owned(), |r| format!("{r:.0}"))
        );
    }
    Ok(())
}
