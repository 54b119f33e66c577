//! The Step Functions API subset, as operations on JSON documents: state machines and
//! executions kept in memory, with AWS's names, ARNs, idempotency rules and errors.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::asl::{StateMachine, parse_definition};
use crate::engine::{Engine, Execution, HistoryEvent, Status, lock};
use crate::limits::DEFAULT_MAX_FINISHED_EXECUTIONS;
use crate::paging::{self, PageRequest};
use crate::requests::{self as req, decode, text};
use crate::store::ExecutionStore;

/// An error as the API reports it: `__type` and `message`, HTTP 400.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub(crate) fn new(code: &'static str, message: impl Into<String>) -> Self {
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

pub struct Service {
    engine: Arc<Engine>,
    region: String,
    account: String,
    machines: Mutex<BTreeMap<String, MachineRecord>>,
    executions: Arc<ExecutionStore>,
}

/// The operations of the API that sfn-local implements.
const OPERATIONS: &[&str] = &[
    "CreateStateMachine",
    "UpdateStateMachine",
    "DeleteStateMachine",
    "DescribeStateMachine",
    "ListStateMachines",
    "StartExecution",
    "StopExecution",
    "DescribeExecution",
    "ListExecutions",
    "GetExecutionHistory",
];

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

impl Service {
    /// A service keeping the default number of finished executions.
    pub fn new(engine: Arc<Engine>, region: impl Into<String>, account: impl Into<String>) -> Arc<Self> {
        Self::keeping(engine, region, account, DEFAULT_MAX_FINISHED_EXECUTIONS)
    }

    /// A service keeping at most `max_finished` finished executions (and every running one).
    pub fn keeping(
        engine: Arc<Engine>,
        region: impl Into<String>,
        account: impl Into<String>,
        max_finished: usize,
    ) -> Arc<Self> {
        Arc::new(Self {
            engine,
            region: region.into(),
            account: account.into(),
            machines: Mutex::new(BTreeMap::new()),
            executions: ExecutionStore::new(max_finished),
        })
    }

    /// How many executions are kept, and how many of those have finished.
    pub fn kept_executions(&self) -> (usize, usize) {
        self.executions.counts()
    }

    pub fn engine(&self) -> &Arc<Engine> {
        &self.engine
    }

    pub fn state_machine_arn(&self, name: &str) -> String {
        format!("arn:aws:states:{}:{}:stateMachine:{name}", self.region, self.account)
    }

    /// Whether `operation` is one this service implements (the `X-Amz-Target` suffix).
    pub fn implements(operation: &str) -> bool {
        OPERATIONS.contains(&operation)
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
        let request: req::CreateStateMachine = decode(body)?;
        let (name, definition, role_arn) = (text(&request.name), text(&request.definition), text(&request.role_arn));
        if !valid_name(name) {
            return Err(ApiError::new("InvalidName", format!("Invalid Name: '{name}'")));
        }
        let kind = request.kind.as_ref().map_or("STANDARD", req::Text::as_str);
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
        let request: req::UpdateStateMachine = decode(body)?;
        let arn = text(&request.state_machine_arn);
        self.check_machine_arn(arn)?;
        let definition = request.definition.as_ref().map(req::Text::as_str);
        let role_arn = request.role_arn.as_ref().map(req::Text::as_str);
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
        let request: req::MachineArn = decode(body)?;
        let arn = text(&request.state_machine_arn);
        self.check_machine_arn(arn)?;
        lock(&self.machines).remove(arn);
        Ok(json!({}))
    }

    pub fn describe_state_machine(&self, body: &Value) -> Result<Value, ApiError> {
        let request: req::MachineArn = decode(body)?;
        let arn = text(&request.state_machine_arn);
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
        let request: req::ListStateMachines = decode(body)?;
        let PageRequest { size, after } =
            paging::request(request.max_results, request.next_token.as_ref(), "ListStateMachines")?;
        let machines = lock(&self.machines);
        let from = after.as_ref().map_or(Bound::Unbounded, |arn| Bound::Excluded(arn.clone()));
        let mut page: Vec<&MachineRecord> =
            machines.range((from, Bound::Unbounded)).map(|(_, r)| r).take(size + 1).collect();
        let more = page.len() > size;
        page.truncate(size);
        let list: Vec<Value> = page
            .iter()
            .map(
                |r| json!({"stateMachineArn": r.arn, "name": r.name, "type": r.kind, "creationDate": epoch(r.created)}),
            )
            .collect();
        let mut out = json!({"stateMachines": list});
        if let (true, Some(last)) = (more, page.last()) {
            out["nextToken"] = json!(paging::token("ListStateMachines", &last.arn));
        }
        Ok(out)
    }

    pub fn start_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let request: req::StartExecution = decode(body)?;
        let machine_arn = text(&request.state_machine_arn);
        self.check_machine_arn(machine_arn)?;
        let input = request.input.as_ref().map_or("{}", req::Text::as_str);
        if serde_json::from_str::<Value>(input).is_err() {
            return Err(ApiError::new(
                "InvalidExecutionInput",
                "Invalid State Machine Execution Input: 'Input is not valid JSON'",
            ));
        }
        let name = match request.name.as_ref().map(req::Text::as_str) {
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
        let start = self.engine.clock.now();
        let created = self.executions.insert(&arn, || {
            Execution::new(arn.clone(), name, machine_arn.to_owned(), sm_name, role_arn, input.to_owned(), start)
        });
        let execution = match created {
            Ok(execution) => execution,
            // AWS: the same name and input while still running answers the first start;
            // anything else with that name is refused (a name forgotten by retention is free again).
            Err(existing) if existing.outcome().status == Status::Running && existing.input == input => {
                return Ok(json!({"executionArn": existing.arn, "startDate": epoch(existing.start_date)}));
            }
            Err(_) => {
                return Err(ApiError::new("ExecutionAlreadyExists", format!("Execution Already Exists: '{arn}'")));
            }
        };
        self.engine.launch(machine, execution);
        Ok(json!({"executionArn": arn, "startDate": epoch(start)}))
    }

    pub fn execution(&self, arn: &str) -> Result<Arc<Execution>, ApiError> {
        self.check_execution_arn(arn)?;
        self.executions
            .get(arn)
            .ok_or_else(|| ApiError::new("ExecutionDoesNotExist", format!("Execution Does Not Exist: '{arn}'")))
    }

    pub fn stop_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let request: req::StopExecution = decode(body)?;
        let execution = self.execution(text(&request.execution_arn))?;
        let (error, cause) = (request.error.map(|t| t.0), request.cause.map(|t| t.0));
        let now = self.engine.clock.now();
        execution.abort(error, cause, now);
        let stop = execution.outcome().stop_date.unwrap_or(now);
        Ok(json!({"stopDate": epoch(stop)}))
    }

    pub fn describe_execution(&self, body: &Value) -> Result<Value, ApiError> {
        let request: req::DescribeExecution = decode(body)?;
        let e = self.execution(text(&request.execution_arn))?;
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
        let request: req::ListExecutions = decode(body)?;
        let machine_arn = text(&request.state_machine_arn);
        self.check_machine_arn(machine_arn)?;
        if !lock(&self.machines).contains_key(machine_arn) {
            return Err(ApiError::new(
                "StateMachineDoesNotExist",
                format!("State Machine Does Not Exist: '{machine_arn}'"),
            ));
        }
        // The checks let only AWS's statuses through; PENDING_REDRIVE, which nothing here
        // reaches (no redrive), parses to None and matches no execution.
        let raw_filter = request.status_filter.as_ref().map(req::Text::as_str);
        let filter = raw_filter.map(Status::parse);
        let scope = format!("ListExecutions {machine_arn} {}", raw_filter.unwrap_or(""));
        let PageRequest { size, after } = paging::request(request.max_results, request.next_token.as_ref(), &scope)?;
        let before = after.map(|p| p.parse::<u64>().map_err(|_| paging::invalid_token())).transpose()?;
        // Newest first, as AWS lists them; a page starts below the last one listed.
        let listed = self.executions.newest_first(before, size, |e| {
            e.state_machine_arn == machine_arn && filter.is_none_or(|f| f == Some(e.outcome().status))
        });
        let list: Vec<Value> = listed
            .executions
            .iter()
            .map(|(_, e)| {
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
        if let (true, Some((last, _))) = (listed.more, listed.executions.last()) {
            out["nextToken"] = json!(paging::token(&scope, &last.to_string()));
        }
        Ok(out)
    }

    /// Pages by event id: a page copies only its own events, and a token names the
    /// last id returned, so events added meanwhile neither shift nor repeat.
    pub fn get_execution_history(&self, body: &Value) -> Result<Value, ApiError> {
        let request: req::GetExecutionHistory = decode(body)?;
        let e = self.execution(text(&request.execution_arn))?;
        let include_data = request.include_execution_data.is_none_or(|f| f.0);
        let reverse = request.reverse_order.is_some_and(|f| f.0);
        let scope = format!("GetExecutionHistory {} {}", e.arn, if reverse { "reverse" } else { "forward" });
        let PageRequest { size, after } = paging::request(request.max_results, request.next_token.as_ref(), &scope)?;
        let len = e.history_len() as u64;
        let after = after
            .map(|p| p.parse::<u64>().ok().filter(|id| (1..=len).contains(id)).ok_or_else(paging::invalid_token))
            .transpose()?;
        let (events, more) = if reverse {
            let last = after.map_or(len, |id| id - 1);
            let first = last.saturating_sub(size as u64 - 1).max(1);
            let mut events = if last == 0 { Vec::new() } else { e.history_events(first, (last - first + 1) as usize) };
            events.reverse();
            (events, first > 1)
        } else {
            let first = after.map_or(1, |id| id + 1);
            let events = e.history_events(first, size);
            let more = events.last().is_some_and(|ev| ev.id < len);
            (events, more)
        };
        let list: Vec<Value> = events.iter().map(|ev| history_item(ev, include_data)).collect();
        let mut out = json!({"events": list});
        if let (true, Some(last)) = (more, events.last()) {
            out["nextToken"] = json!(paging::token(&scope, &last.id.to_string()));
        }
        Ok(out)
    }
}

/// One history event as the API shows it.
fn history_item(event: &HistoryEvent, include_data: bool) -> Value {
    let mut item = Map::new();
    item.insert("timestamp".into(), epoch(event.timestamp));
    item.insert("type".into(), json!(event.event_type));
    item.insert("id".into(), json!(event.id));
    item.insert("previousEventId".into(), json!(event.previous_event_id));
    if let Some((member, details)) = &event.details {
        let mut details = details.clone();
        if !include_data && let Value::Object(d) = &mut details {
            d.remove("input");
            d.remove("output");
        }
        item.insert((*member).into(), details);
    }
    Value::Object(item)
}
