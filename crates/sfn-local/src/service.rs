//! The Step Functions API subset, as operations on JSON documents: state machines and
//! executions kept in memory, with AWS's names, ARNs, idempotency rules and errors.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::asl::{StateMachine, parse_definition};
use crate::engine::{Engine, Execution, Status, lock};

/// An error as the API reports it: `__type` and `message`, HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self { code, message: message.into() }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.code, self.message)
    }
}

impl std::error::Error for ApiError {}

/// Epoch seconds with milliseconds, as the JSON 1.0 protocol carries timestamps.
pub fn epoch(t: DateTime<Utc>) -> Value {
    json!(t.timestamp_millis() as f64 / 1000.0)
}

struct MachineRecord {
    arn: String,
    name: String,
    definition: String,
    machine: Arc<StateMachine>,
    role_arn: String,
    kind: String,
    created: DateTime<Utc>,
}

/// Executions by ARN (`.0`), and their ARNs in start order (`.1`).
type Executions = (BTreeMap<String, Arc<Execution>>, Vec<String>);

pub struct Service {
    engine: Arc<Engine>,
    region: String,
    account: String,
    machines: Mutex<BTreeMap<String, MachineRecord>>,
    executions: Mutex<Executions>,
}

const MAX_INPUT_BYTES: usize = 262_144;

fn valid_name(name: &str) -> bool {
    let len = name.chars().count();
    (1..=80).contains(&len)
        && !name.chars().any(|c| {
            c.is_whitespace()
                || c.is_control()
                || matches!(
                    c,
                    '<' | '>'
                        | '{'
                        | '}'
                        | '['
                        | ']'
                        | '?'
                        | '*'
                        | '"'
                        | '#'
                        | '%'
                        | '\\'
                        | '^'
                        | '|'
                        | '~'
                        | '`'
                        | '$'
                        | '&'
                        | ','
                        | ';'
                        | ':'
                        | '/'
                )
        })
}

fn string_field<'a>(body: &'a Value, field: &str) -> Result<&'a str, ApiError> {
    body.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| ApiError::new("ValidationException", format!("1 validation error detected: Value null at '{field}' failed to satisfy constraint: Member must not be null")))
}

fn page(body: &Value, total: usize) -> Result<(usize, usize), ApiError> {
    let max = body.get("maxResults").and_then(Value::as_u64).filter(|n| *n > 0).unwrap_or(100).min(1000) as usize;
    let start = match body.get("nextToken").and_then(Value::as_str) {
        Some(token) => token
            .parse::<usize>()
            .ok()
            .filter(|n| *n <= total)
            .ok_or_else(|| ApiError::new("InvalidToken", "Invalid Token"))?,
        None => 0,
    };
    Ok((start, max))
}

impl Service {
    pub fn new(engine: Arc<Engine>, region: impl Into<String>, account: impl Into<String>) -> Arc<Self> {
        Arc::new(Self {
            engine,
            region: region.into(),
            account: account.into(),
            machines: Mutex::new(BTreeMap::new()),
            executions: Mutex::new((BTreeMap::new(), Vec::new())),
        })
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("arn:aws:states:{}:{}:stateMachine:{name}", self.region, self.account)
    }

    /// Dispatches one API operation by its `X-Amz-Target` name.
    pub fn call(&self, operation: &str, body: &Value) -> Result<Value, ApiError> {
        match operation {
            "CreateStateMachine" => self.create_state_machine(body),
            "UpdateStateMachine" => self.update_state_machine(body),
            "DeleteStateMachine" => self.delete_state_machine(body),
            "DescribeStateMachine" => self.describe_state_machine(body),
            "ListStateMachines" => self.list_state_machines(body),
            "StartExecution" => self.start_execution(body),
            "StopExecution" => self.stop_execution(body),
            "DescribeExecution" => self.describe_execution(body),
            "ListExecutions" => self.list_executions(body),
            "GetExecutionHistory" => self.get_execution_history(body),
            other => Err(ApiError::new("UnknownOperationException", format!("sfn-local does not implement {other}"))),
        }
    }

    fn check_machine_arn(&self, arn: &str) -> Result<(), ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 7 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "stateMachine" {
            return Err(ApiError::new(
                "InvalidArn",
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            ));
        }
        Ok(())
    }

    fn check_execution_arn(&self, arn: &str) -> Result<(), ApiError> {
        let parts: Vec<&str> = arn.split(':').collect();
        if parts.len() != 8 || parts[0] != "arn" || parts[2] != "states" || parts[5] != "execution" {
            return Err(ApiError::new(
                "InvalidArn",
                format!("Invalid Arn: 'Resource type not valid in this context: {arn}'"),
            ));
        }
        Ok(())
    }

    fn parse(&self, definition: &str) -> Result<Arc<StateMachine>, ApiError> {
        parse_definition(definition).map(Arc::new).map_err(|e| ApiError::new("InvalidDefinition", e.to_string()))
    }

    pub fn create_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let name = string_field(body, "name")?;
        let definition = string_field(body, "definition")?;
        let role_arn = string_field(body, "roleArn")?;
        if !valid_name(name) {
            return Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")));
        }
        let kind = body.get("type").and_then(Value::as_str).unwrap_or("STANDARD");
        if kind != "STANDARD" && kind != "EXPRESS" {
            return Err(ApiError::new(
                "ValidationException",
                format!("Value '{kind}' at 'type' failed to satisfy constraint"),
            ));
        }
        let machine = self.parse(definition)?;
        let arn = self.state_machine_arn(name);
        let mut machines = lock(&self.machines);
        if let Some(existing) = machines.get(&arn) {
            // Creating the same machine again is idempotent; a different one is a conflict.
            if existing.definition == definition && existing.role_arn == role_arn && existing.kind == kind {
                return Ok(json!({"stateMachineArn": arn, "creationDate": epoch(existing.created)}));
            }
            return Err(ApiError::new("StateMachineAlreadyExists", format!("State Machine Already Exists: '{arn}'")));
        }
        let created = self.engine.clock.now();
        machines.insert(
            arn.clone(),
            MachineRecord {
                arn: arn.clone(),
                name: name.to_owned(),
                definition: definition.to_owned(),
                machine,
                role_arn: role_arn.to_owned(),
                kind: kind.to_owned(),
                created,
            },
        );
        Ok(json!({"stateMachineArn": arn, "creationDate": epoch(created)}))
    }

    pub fn update_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = string_field(body, "stateMachineArn")?;
        self.check_machine_arn(arn)?;
        let definition = body.get("definition").and_then(Value::as_str);
        let role_arn = body.get("roleArn").and_then(Value::as_str);
        if definition.is_none() && role_arn.is_none() {
            return Err(ApiError::new(
                "MissingRequiredParameter",
                "Either the definition or the roleArn must be specified",
            ));
        }
        let parsed = definition.map(|d| self.parse(d)).transpose()?;
        let mut machines = lock(&self.machines);
        let record = machines.get_mut(arn).ok_or_else(|| {
            ApiError::new("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'"))
        })?;
        if let (Some(text), Some(machine)) = (definition, parsed) {
            record.definition = text.to_owned();
            record.machine = machine;
        }
        if let Some(role) = role_arn {
            record.role_arn = role.to_owned();
        }
        Ok(json!({"updateDate": epoch(self.engine.clock.now())}))
    }

    pub fn delete_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = string_field(body, "stateMachineArn")?;
        self.check_machine_arn(arn)?;
        lock(&self.machines).remove(arn);
        Ok(json!({}))
    }

    pub fn describe_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let arn = string_field(body, "stateMachineArn")?;
        self.check_machine_arn(arn)?;
        let machines = lock(&self.machines);
        let r = machines.get(arn).ok_or_else(|| {
            ApiError::new("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{arn}'"))
        })?;
        Ok(json!({
            "stateMachineArn": r.arn,
            "name": r.name,
            "status": "ACTIVE",
            "definition": r.definition,
            "roleArn": r.role_arn,
            "type": r.kind,
            "creationDate": epoch(r.created),
            "loggingConfiguration": {"level": "OFF", "includeExecutionData": false},
        }))
    }

    pub fn list_state_machines(&self, body: &Value) -> Result<Value, ApiError> {
        let machines = lock(&self.machines);
        let (start, max) = page(body, machines.len())?;
        let list: Vec<Value> = machines
            .values()
            .skip(start)
            .take(max)
            .map(
                |r| json!({"stateMachineArn": r.arn, "name": r.name, "type": r.kind, "creationDate": epoch(r.created)}),
            )
            .collect();
        let mut out = json!({"stateMachines": list});
        if start + max < machines.len() {
            out["nextToken"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    pub fn start_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let machine_arn = string_field(body, "stateMachineArn")?;
        self.check_machine_arn(machine_arn)?;
        let input = body.get("input").and_then(Value::as_str).unwrap_or("{}");
        if input.len() > MAX_INPUT_BYTES {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                format!("The input has more than {MAX_INPUT_BYTES} bytes"),
            ));
        }
        if serde_json::from_str::<Value>(input).is_err() {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                "Invalid State Machine Execution Input: 'Input is not valid JSON'",
            ));
        }
        let name = match body.get("name").and_then(Value::as_str) {
            Some(n) if !valid_name(n) => return Err(ApiError::new("InvalidName", format!("Invalid Name: '{n}'"))),
            Some(n) => n.to_owned(),
            None => uuid::Uuid::new_v4().to_string(),
        };
        let (machine, sm_name, role_arn) = {
            let machines = lock(&self.machines);
            let r = machines.get(machine_arn).ok_or_else(|| {
                ApiError::new("StateMachineDoesNotExist", format!("State Machine Does Not Exist: '{machine_arn}'"))
            })?;
            (Arc::clone(&r.machine), r.name.clone(), r.role_arn.clone())
        };
        let arn = format!("arn:aws:states:{}:{}:execution:{sm_name}:{name}", self.region, self.account);
        let mut executions = lock(&self.executions);
        if let Some(existing) = executions.0.get(&arn) {
            // AWS: the same name and input while still running answers the first start;
            // anything else with that name is refused.
            if existing.outcome().status == Status::Running && existing.input == input {
                return Ok(json!({"executionArn": existing.arn, "startDate": epoch(existing.start_date)}));
            }
            return Err(ApiError::new("ExecutionAlreadyExists", format!("Execution Already Exists: '{arn}'")));
        }
        let start = self.engine.clock.now();
        let execution =
            Execution::new(arn.clone(), name, machine_arn.to_owned(), sm_name, role_arn, input.to_owned(), start);
        executions.0.insert(arn.clone(), Arc::clone(&execution));
        executions.1.push(arn.clone());
        drop(executions);
        self.engine.launch(machine, execution);
        Ok(json!({"executionArn": arn, "startDate": epoch(start)}))
    }

    pub fn execution(&self, arn: &str) -> Result<Arc<Execution>, ApiError> {
        self.check_execution_arn(arn)?;
        lock(&self.executions)
            .0
            .get(arn)
            .cloned()
            .ok_or_else(|| ApiError::new("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")))
    }

    pub fn stop_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let execution = self.execution(string_field(body, "executionArn")?)?;
        let error = body.get("error").and_then(Value::as_str).map(str::to_owned);
        let cause = body.get("cause").and_then(Value::as_str).map(str::to_owned);
        let now = self.engine.clock.now();
        execution.abort(error, cause, now);
        let stop = execution.outcome().stop_date.unwrap_or(now);
        Ok(json!({"stopDate": epoch(stop)}))
    }

    pub fn describe_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let e = self.execution(string_field(body, "executionArn")?)?;
        let outcome = e.outcome();
        let mut out = json!({
            "executionArn": e.arn,
            "stateMachineArn": e.state_machine_arn,
            "name": e.name,
            "status": outcome.status.as_str(),
            "startDate": epoch(e.start_date),
            "input": e.input,
            "inputDetails": {"included": true},
            "redriveCount": 0,
            "redriveStatus": "NOT_REDRIVABLE",
        });
        if let Some(stop) = outcome.stop_date {
            out["stopDate"] = epoch(stop);
        }
        if let Some(output) = outcome.output {
            out["output"] = json!(output);
            out["outputDetails"] = json!({"included": true});
        }
        if let Some(error) = outcome.error {
            out["error"] = json!(error);
        }
        if let Some(cause) = outcome.cause {
            out["cause"] = json!(cause);
        }
        Ok(out)
    }

    pub fn list_executions(&self, body: &Value) -> Result<Value, ApiError> {
        let machine_arn = string_field(body, "stateMachineArn")?;
        self.check_machine_arn(machine_arn)?;
        if !lock(&self.machines).contains_key(machine_arn) {
            return Err(ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{machine_arn}'"),
            ));
        }
        let filter = match body.get("statusFilter").and_then(Value::as_str) {
            Some(raw) => Some(
                Status::parse(raw)
                    .ok_or_else(|| ApiError::new("ValidationException", format!("Invalid statusFilter '{raw}'")))?,
            ),
            None => None,
        };
        let executions = lock(&self.executions);
        // Newest first, as AWS lists them.
        let matching: Vec<&Arc<Execution>> = executions
            .1
            .iter()
            .rev()
            .filter_map(|arn| executions.0.get(arn))
            .filter(|e| e.state_machine_arn == machine_arn)
            .filter(|e| filter.is_none_or(|f| e.outcome().status == f))
            .collect();
        let (start, max) = page(body, matching.len())?;
        let list: Vec<Value> = matching
            .iter()
            .skip(start)
            .take(max)
            .map(|e| {
                let o = e.outcome();
                let mut item = json!({
                    "executionArn": e.arn, "stateMachineArn": e.state_machine_arn, "name": e.name,
                    "status": o.status.as_str(), "startDate": epoch(e.start_date),
                });
                if let Some(stop) = o.stop_date {
                    item["stopDate"] = epoch(stop);
                }
                item
            })
            .collect();
        let mut out = json!({"executions": list});
        if start + max < matching.len() {
            out["nextToken"] = json!((start + max).to_string());
        }
        Ok(out)
    }

    pub fn get_execution_history(&self, body: &Value) -> Result<Value, ApiError> {
        let e = self.execution(string_field(body, "executionArn")?)?;
        let include_data = body.get("includeExecutionData").and_then(Value::as_bool).unwrap_or(true);
        let mut events = e.history();
        if body.get("reverseOrder").and_then(Value::as_bool).unwrap_or(false) {
            events.reverse();
        }
        let (start, max) = page(body, events.len())?;
        let list: Vec<Value> = events
            .iter()
            .skip(start)
            .take(max)
            .map(|ev| {
                let mut item = Map::new();
                item.insert("timestamp".into(), epoch(ev.timestamp));
                item.insert("type".into(), json!(ev.event_type));
                item.insert("id".into(), json!(ev.id));
                item.insert("previousEventId".into(), json!(ev.previous_event_id));
                if let Some((member, details)) = &ev.details {
                    let mut details = details.clone();
                    if !include_data && let Value::Object(d) = &mut details {
                        d.remove("input");
                        d.remove("output");
                    }
                    item.insert((*member).into(), details);
                }
                Value::Object(item)
            })
            .collect();
        let mut out = json!({"events": list});
        if start + max < events.len() {
            out["nextToken"] = json!((start + max).to_string());
        }
        Ok(out)
    }
}
