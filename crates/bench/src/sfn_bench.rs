//! State machines: sfn-local's engine alone (transitions per second on a virtual clock), then
//! whole workflows on the local stack, started the way their triggers start them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use aws_sdk_sfn::operation::describe_execution::DescribeExecutionOutput;
use serde_json::{Value, json};

use crate::fixtures::{api_event, put_source_object, resource, sensor_csv};
use crate::report::{Report, percentile};
use crate::stack::{local, sdk_config};

/// `states` Pass states in a row, each carrying part of its input on, in either query language.
fn pass_chain(states: usize, jsonata: bool) -> Value {
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

fn wide_map() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "B"},
            "B": {"Type": "Pass", "End": true}}},
        "ResultSelector": {"count.$": "States.ArrayLength($)"}, "End": true}}})
}

pub(crate) async fn sfn_transitions(report: &mut Report) -> Result<(), String> {
    use sfn_local::clock::{Clock, ClockMode};
    use sfn_local::engine::{Engine, Status};
    let engine = Engine::new(Clock::new(ClockMode::Virtual), Arc::new(sfn_local::lambda::NoLambda), "us-east-1");
    let service = sfn_local::service::Service::new(engine, "us-east-1", "123456789012");
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    // (label, definition, input, checked against 50,000 transitions/s)
    let cases = [
        ("pass chain, 1,000 states", pass_chain(1000, false), json!({"carried": {"k": "v"}}), true),
        ("JSONata pass chain, 1,000 states", pass_chain(1000, true), json!({"carried": {"k": "v"}}), true),
        // Six history events per item: AWS's 25,000-event history bounds an inline Map of
        // this shape near 4,000 items, and sfn-local enforces that limit too.
        ("Map over 3,000 items", wide_map(), json!({"items": (0..3_000).collect::<Vec<_>>()}), false),
    ];
    for (n, (label, definition, input, checked)) in cases.into_iter().enumerate() {
        let arn = service
            .create_state_machine(&json!({"name": format!("bench{n}"), "definition": definition.to_string(), "roleArn": "arn:aws:iam::1:role/r"}))
            .map_err(|e| e.to_string())?["stateMachineArn"]
            .clone();
        let mut rates = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let run = service
                .start_execution(&json!({"stateMachineArn": arn, "input": input.to_string()}))
                .map_err(|e| e.to_string())?;
            let execution =
                service.execution(run["executionArn"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
            let outcome = execution.wait().await;
            let seconds = started.elapsed().as_secs_f64();
            if outcome.status != Status::Succeeded {
                return Err(format!("{label}: {:?}", outcome.error));
            }
            let transitions = execution.history().iter().filter(|e| e.event_type.ends_with("StateEntered")).count();
            rates.push(transitions as f64 / seconds);
        }
        rates.sort_by(f64::total_cmp);
        let median = percentile(&rates, 50.0);
        rows.push(vec![label.to_owned(), format!("{median:.0}")]);
        results.insert(label.to_owned(), json!(median));
        if checked {
            report.check(
                &format!("sfn-local: {label}"),
                "> 50,000 transitions/s",
                format!("{median:.0} transitions/s"),
                median > 50_000.0,
            );
        }
    }
    report.table(
        "sfn-local: state transitions per second (median of 5, virtual clock)",
        &["run", "transitions/s"],
        rows,
    );
    report.json.insert("sfnLocal".into(), Value::Object(results));
    Ok(())
}

/// One workflow run, waited for to its end.
struct FlowRun {
    execution: DescribeExecutionOutput,
    wall: Duration,
}

impl FlowRun {
    /// Virtual-clock seconds from the execution's start to its stop.
    fn simulated(&self) -> i64 {
        self.execution.stop_date().map(|s| s.secs()).unwrap_or(0) - self.execution.start_date().secs()
    }

    fn row(&self, workflow: &str) -> Vec<String> {
        vec![
            workflow.into(),
            format!("{:?}", self.execution.status()),
            format!("{:.2} s", self.wall.as_secs_f64()),
            format!("{} s", self.simulated()),
        ]
    }

    fn figures(&self) -> Value {
        json!({"wallSeconds": self.wall.as_secs_f64(), "simulatedSeconds": self.simulated()})
    }
}

/// Wall time of each workflow end to end on the local stack (functions under
/// `local-lambda`, debug builds), virtual clock.
pub(crate) async fn workflows(
    report: &mut Report,
    s3: &aws_sdk_s3::Client,
    sfn: &aws_sdk_sfn::Client,
) -> Result<(), String> {
    let http = reqwest::Client::new();
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    for round in 0..2 {
        // Round 0 warms the stack up (local-lambda starts each function's first process).
        let csv_ingest = csv_ingest_flow(s3, sfn, round).await?;
        let friday = friday_reminder_flow(&http, sfn, round).await?;
        if round == 1 {
            rows.push(csv_ingest.row("csv-ingest (100 rows)"));
            rows.push(friday.row("friday-reminder"));
            results.insert("csv-ingest".into(), csv_ingest.figures());
            results.insert("friday-reminder".into(), friday.figures());
        }
    }
    report.table(
        "Workflows end to end, local stack, virtual clock (warm functions)",
        &["workflow", "status", "wall time", "simulated time"],
        rows,
    );
    report.json.insert("workflows".into(), Value::Object(results));
    Ok(())
}

/// A 100-row upload through the front door: the put itself starts the execution (the bucket's
/// notification, the stack's pump, ingest-starter), timed from the put to the execution's end.
async fn csv_ingest_flow(s3: &aws_sdk_s3::Client, sfn: &aws_sdk_sfn::Client, round: u32) -> Result<FlowRun, String> {
    let key = format!("incoming/bench-flow-{round}-{}.csv", std::process::id());
    let started = Instant::now();
    put_source_object(s3, &key, sensor_csv(100, "flow")).await?;
    let arn = execution_started_by(sfn, &key).await?;
    let execution = wait_for_execution(sfn, &arn).await?;
    Ok(FlowRun { execution, wall: started.elapsed() })
}

/// The csv-ingest execution whose input names `key`, once the upload has started it.
async fn execution_started_by(sfn: &aws_sdk_sfn::Client, key: &str) -> Result<String, String> {
    let machine = std::env::var("CSV_INGEST_STATE_MACHINE_ARN")
        .unwrap_or_else(|_| "arn:aws:states:us-east-1:123456789012:stateMachine:csv-ingest".to_owned());
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        let listed = sfn.list_executions().state_machine_arn(&machine).max_results(1000).send().await;
        for execution in listed.map_err(|e| format!("{e:?}"))?.executions() {
            let described = sfn.describe_execution().execution_arn(execution.execution_arn()).send().await;
            let input = described.map_err(|e| format!("{e:?}"))?.input().unwrap_or("{}").to_owned();
            let input: Value = serde_json::from_str(&input).unwrap_or_default();
            if input["objectKey"] == key {
                return Ok(execution.execution_arn().to_owned());
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("no csv-ingest execution for {key} within 60 s of its upload"))
}

/// A new user, asked about through friday-api in a zone where it is not Friday now.
async fn friday_reminder_flow(
    http: &reqwest::Client,
    sfn: &aws_sdk_sfn::Client,
    round: u32,
) -> Result<FlowRun, String> {
    let user = format!("flow-user-{round}-{}", std::process::id());
    put_flow_user(&user).await?;
    let started = Instant::now();
    let answer = invoke_lambda(http, "friday-api", api_event(&user)).await?;
    let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("{}")).map_err(|e| e.to_string())?;
    let arn = body["executionArn"].as_str().ok_or_else(|| format!("friday-api: {answer}"))?;
    let execution = wait_for_execution(sfn, arn).await?;
    Ok(FlowRun { execution, wall: started.elapsed() })
}

async fn put_flow_user(user: &str) -> Result<(), String> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let config = sdk_config(&local("MOTO_PORT", 4566)).await;
    aws_sdk_dynamodb::Client::new(&config)
        .put_item()
        .table_name(resource("USERS_TABLE"))
        .item("userId", A::S(user.to_owned()))
        .item("timezone", A::S(non_friday_zone()))
        .item(
            "devices",
            A::L(vec![A::M(
                [("token".to_owned(), A::S("flow-token".into())), ("platform".to_owned(), A::S("APNS".into()))].into(),
            )]),
        )
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    Ok(())
}

async fn wait_for_execution(sfn: &aws_sdk_sfn::Client, arn: &str) -> Result<DescribeExecutionOutput, String> {
    loop {
        let d = sfn.describe_execution().execution_arn(arn).send().await.map_err(|e| format!("{e:?}"))?;
        if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
            return Ok(d);
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One call of the local stack's Lambda Invoke API (`local-lambda`).
async fn invoke_lambda(http: &reqwest::Client, function: &str, payload: Value) -> Result<Value, String> {
    let url = format!("{}/2015-03-31/functions/{function}/invocations", local("LAMBDA_PORT", 9000));
    let response = http.post(&url).json(&payload).send().await.map_err(|e| format!("{url}: {e}"))?;
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{function}: {e}: {text}"))
}

fn non_friday_zone() -> String {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    // Among zones a day apart, one is never on a Friday.
    for (zone, offset_hours) in [("Etc/GMT-12", 12), ("UTC", 0), ("Etc/GMT+11", -11)] {
        if (now + chrono::Duration::hours(offset_hours)).weekday() != chrono::Weekday::Fri {
            return zone.to_owned();
        }
    }
    "UTC".to_owned()
}
