//! Runs executions: state by state, with the States Language's input and output
//! processing, Retry and Catch, Parallel and Map, timeouts, and an AWS-shaped history.

mod execution;
mod timing;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use futures::StreamExt;
use serde_json::{Map, Value, json};

pub use self::execution::{Execution, HistoryEvent, Outcome, Status};
pub use self::timing::retry_delay;
use crate::asl::{
    Amount, Catcher, Handling, MapState, ResultTarget, Retrier, Selector, State, StateKind, StateMachine, Template,
    Text,
};
use crate::clock::{Clock, Timeline};
use crate::error::{StatesError, names};
use crate::lambda::{Invoker, is_function_arn};
use crate::limits::{MAX_HISTORY_EVENTS, later};
use crate::path::type_name;
use crate::{choice, intrinsics};

/// The most a state's input or output may weigh, as on AWS (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// Inline Map iterations run at most this many at once when `MaxConcurrency` is 0.
pub const UNBOUNDED_MAP_CONCURRENCY: usize = 40;
const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// Locks, carrying on past a poisoned lock (a panicking test thread must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

// ---------------------------------------------------------------- the engine

/// Why a run stopped short of a result.
#[derive(Debug, Clone)]
enum Halt {
    Error(StatesError),
    /// The execution's own `TimeoutSeconds` passed.
    ExecutionTimedOut,
}

impl From<StatesError> for Halt {
    fn from(e: StatesError) -> Self {
        Halt::Error(e)
    }
}

/// A line of work inside an execution: its time, and its last event (for
/// `previousEventId`). Parallel branches and Map iterations get their own.
#[derive(Clone)]
struct Lane {
    timeline: Timeline,
    last_event: u64,
}

/// What a run shares: the execution, the context object's fixed part, the deadline
/// and the error that passing it raises.
struct Run {
    engine: Arc<Engine>,
    execution: Arc<Execution>,
    context_base: Value,
    deadline: DateTime<Utc>,
    timed_out: StatesError,
}

type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

pub struct Engine {
    pub clock: Arc<Clock>,
    invoker: Arc<dyn Invoker>,
    region: String,
}

impl Engine {
    pub fn new(clock: Arc<Clock>, invoker: Arc<dyn Invoker>, region: impl Into<String>) -> Arc<Self> {
        Arc::new(Self { clock, invoker, region: region.into() })
    }

    /// Starts running `execution` in the background.
    pub fn launch(self: &Arc<Self>, machine: Arc<StateMachine>, execution: Arc<Execution>) {
        let engine = Arc::clone(self);
        let exec = Arc::clone(&execution);
        let handle = tokio::spawn(async move { engine.drive(machine, exec).await });
        execution.set_task(handle.abort_handle());
        // A stop that came before the handle was stored still ends the task.
        if execution.outcome().status != Status::Running {
            handle.abort();
        }
    }

    async fn drive(self: Arc<Self>, machine: Arc<StateMachine>, execution: Arc<Execution>) {
        let mut lane = Lane { timeline: self.clock.timeline(), last_event: 0 };
        let start = execution.start_date;
        let context_base = json!({
            "Execution": {
                "Id": execution.arn,
                "Input": serde_json::from_str::<Value>(&execution.input).unwrap_or(Value::Null),
                "Name": execution.name,
                "RoleArn": execution.role_arn,
                "StartTime": timestamp_text(start),
                "RedriveCount": 0,
            },
            "StateMachine": { "Id": execution.state_machine_arn, "Name": execution.state_machine_name },
        });
        let (deadline, timed_out) = timing::execution_deadline(start, machine.timeout_seconds);
        let run =
            Run { engine: Arc::clone(&self), execution: Arc::clone(&execution), context_base, deadline, timed_out };
        lane.last_event = execution.record(
            0,
            lane.timeline.now(),
            "ExecutionStarted".into(),
            Some((
                "executionStartedEventDetails",
                json!({"input": execution.input, "inputDetails": {"truncated": false}, "roleArn": execution.role_arn}),
            )),
        );
        let input = serde_json::from_str::<Value>(&execution.input).unwrap_or(Value::Null);
        let result = match run.machine(&machine, input, &mut lane, None).await {
            // Events were dropped to keep the history within its limit: the run must not succeed.
            Ok(_) if execution.history_full() => Err(Halt::Error(history_full())),
            result => result,
        };
        let at = lane.timeline.now();
        match result {
            Ok(output) => {
                let text = output.to_string();
                if execution.finish(Status::Succeeded, at, Some(text.clone()), None) {
                    execution.record(
                        lane.last_event,
                        at,
                        "ExecutionSucceeded".into(),
                        Some((
                            "executionSucceededEventDetails",
                            json!({"output": text, "outputDetails": {"truncated": false}}),
                        )),
                    );
                }
            }
            Err(Halt::Error(e)) => {
                let details = json!({"error": e.error, "cause": e.cause});
                if execution.finish(Status::Failed, at, None, Some(e)) {
                    execution.record(
                        lane.last_event,
                        at,
                        "ExecutionFailed".into(),
                        Some(("executionFailedEventDetails", details)),
                    );
                }
            }
            Err(Halt::ExecutionTimedOut) => {
                let e = run.timed_out.clone();
                let details = json!({"error": e.error, "cause": e.cause});
                let at = run.deadline;
                if execution.finish(Status::TimedOut, at, None, Some(e)) {
                    execution.record(
                        lane.last_event,
                        at,
                        "ExecutionTimedOut".into(),
                        Some(("executionTimedOutEventDetails", details)),
                    );
                }
            }
        }
    }
}

// ---------------------------------------------------------------- the context object

/// The context object for one state, built only when a path asks for it.
struct Context<'a> {
    run: &'a Run,
    state: &'a str,
    entered: DateTime<Utc>,
    map_item: Option<&'a (usize, Value)>,
    built: OnceLock<Value>,
}

impl Context<'_> {
    fn value(&self) -> &Value {
        self.built.get_or_init(|| {
            let mut ctx = self.run.context_base.clone();
            ctx["State"] = json!({"Name": self.state, "EnteredTime": timestamp_text(self.entered), "RetryCount": 0});
            if let Some((index, value)) = self.map_item {
                ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
            }
            ctx
        })
    }
}

// ---------------------------------------------------------------- input and output processing

fn select(selector: &Selector, input: &Value, field: &str) -> Result<Value, StatesError> {
    match selector {
        Selector::Discard => Ok(json!({})),
        Selector::Path(p) => p.select(input).ok_or_else(|| {
            StatesError::runtime(format!(
                "Invalid path '{}' : No results for path: {field} '{}'",
                p.as_str(),
                p.as_str()
            ))
        }),
    }
}

fn render(template: &Template, input: &Value, ctx: &Context<'_>) -> Result<Value, StatesError> {
    Ok(match template {
        Template::Literal(v) => v.clone(),
        Template::Object(fields) => {
            let mut out = Map::with_capacity(fields.len());
            for (key, t) in fields {
                out.insert(key.clone(), render(t, input, ctx)?);
            }
            Value::Object(out)
        }
        Template::Array(items) => Value::Array(items.iter().map(|t| render(t, input, ctx)).collect::<Result<_, _>>()?),
        Template::Path { field, path } => path.select(input).ok_or_else(|| {
            StatesError::new(
                names::PARAMETER_PATH_FAILURE,
                format!(
                    "The JSONPath '{}' specified for the field '{field}.$' could not be found in the input",
                    path.as_str()
                ),
            )
        })?,
        Template::ContextPath { field, path } => path.select(ctx.value()).ok_or_else(|| {
            StatesError::new(
                names::PARAMETER_PATH_FAILURE,
                format!(
                    "The JSONPath '${}' specified for the field '{field}.$' could not be found in the context object",
                    path.as_str()
                ),
            )
        })?,
        Template::Intrinsic { call, .. } => intrinsics::evaluate(call, input, ctx.value())?,
    })
}

fn place_result(target: &ResultTarget, raw_input: &Value, result: Value) -> Result<Value, StatesError> {
    match target {
        ResultTarget::Discard => Ok(raw_input.clone()),
        ResultTarget::Path(p) if p.is_root() => Ok(result),
        ResultTarget::Path(p) => {
            p.set(raw_input.clone(), result).map_err(|e| StatesError::new(names::RESULT_PATH_MATCH_FAILURE, e))
        }
    }
}

fn check_size(value: &Value, what: &str) -> Result<String, StatesError> {
    let text = value.to_string();
    if text.len() > MAX_PAYLOAD_BYTES {
        return Err(StatesError::new(
            names::DATA_LIMIT_EXCEEDED,
            format!("The {what} has {} bytes, more than the {MAX_PAYLOAD_BYTES} allowed", text.len()),
        ));
    }
    Ok(text)
}

fn resolve_amount(amount: &Amount, input: &Value, field: &str) -> Result<f64, StatesError> {
    match amount {
        Amount::Fixed(n) => Ok(*n),
        Amount::FromPath(p) => match p.select(input) {
            Some(v) if v.as_f64().is_some_and(|n| n >= 0.0) => Ok(v.as_f64().unwrap_or_default()),
            Some(v) => Err(StatesError::runtime(format!(
                "{field}Path '{}' resolved to {v}, not a non-negative number",
                p.as_str()
            ))),
            None => Err(StatesError::runtime(format!("{field}Path '{}' could not be found in the input", p.as_str()))),
        },
    }
}

fn resolve_text(text: &Text, input: &Value, ctx: &Context<'_>, field: &str) -> Result<String, StatesError> {
    let value = match text {
        Text::Fixed(s) => return Ok(s.clone()),
        Text::Path(p) => p.select(input).ok_or_else(|| {
            StatesError::runtime(format!("{field}Path '{}' could not be found in the input", p.as_str()))
        })?,
        Text::Intrinsic(call) => intrinsics::evaluate(call, input, ctx.value())?,
    };
    match value {
        Value::String(s) => Ok(s),
        other => {
            Err(StatesError::runtime(format!("{field}Path must resolve to a string, not a {}", type_name(&other))))
        }
    }
}

fn history_full() -> StatesError {
    StatesError::runtime(format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."))
}

/// Where a state goes next.
enum Step {
    /// The next state's name, and its input as a value and as JSON text.
    Next(String, Value, String),
    End(Value),
}

impl Run {
    fn event(&self, lane: &mut Lane, event_type: String, details: Option<(&'static str, Value)>) {
        lane.last_event = self.execution.record(lane.last_event, lane.timeline.now(), event_type, details);
    }

    /// Whether the run may go on: its deadline not passed, its history not full.
    fn check_limits(&self, lane: &Lane) -> Result<(), Halt> {
        if lane.timeline.now() >= self.deadline {
            return Err(Halt::ExecutionTimedOut);
        }
        if self.execution.history_full() {
            return Err(Halt::Error(history_full()));
        }
        Ok(())
    }

    /// Sleeps on the lane's clock, but not past the execution's deadline.
    async fn sleep_until(&self, lane: &mut Lane, until: DateTime<Utc>) -> Result<(), Halt> {
        if until >= self.deadline {
            lane.timeline.sleep_until(self.deadline).await;
            return Err(Halt::ExecutionTimedOut);
        }
        lane.timeline.sleep_until(until).await;
        Ok(())
    }

    fn machine<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        lane: &'a mut Lane,
        map_item: Option<&'a (usize, Value)>,
    ) -> BoxFuture<'a, Result<Value, Halt>> {
        Box::pin(async move {
            let missing = |name: &str| StatesError::runtime(format!("no state named '{name}'"));
            let (mut current, mut state) =
                machine.entry(&machine.start_at).ok_or_else(|| missing(&machine.start_at))?;
            // Each state's input is the previous state's output: serialised once, by `exit`.
            let mut input_text = check_size(&input, "state input")?;
            let mut input = input;
            loop {
                self.check_limits(lane)?;
                // Under the virtual clock a loop of Pass and Choice states never waits:
                // give the runtime its turn so one execution cannot hold a worker.
                tokio::task::consume_budget().await;
                match self.state(current, state, input, input_text, lane, map_item).await? {
                    Step::Next(next, output, output_text) => {
                        (current, state) = machine.entry(&next).ok_or_else(|| missing(&next))?;
                        input = output;
                        input_text = output_text;
                    }
                    Step::End(output) => return Ok(output),
                }
            }
        })
    }

    async fn state(
        &self,
        name: &str,
        state: &State,
        raw_input: Value,
        input_text: String,
        lane: &mut Lane,
        map_item: Option<&(usize, Value)>,
    ) -> Result<Step, Halt> {
        let type_name = state.kind.type_name();
        let entered = lane.timeline.now();
        self.event(
            lane,
            format!("{type_name}StateEntered"),
            Some((
                "stateEnteredEventDetails",
                json!({"name": name, "input": input_text, "inputDetails": {"truncated": false}}),
            )),
        );
        let entered_event = lane.last_event;
        let ctx = Context { run: self, state: name, entered, map_item, built: OnceLock::new() };
        let effective = match &state.kind {
            StateKind::Fail { .. } => raw_input.clone(),
            _ => select(&state.input_path, &raw_input, "InputPath")?,
        };
        let (result, next_override) = match &state.kind {
            StateKind::Pass { result, parameters, result_path } => {
                let value = match (result, parameters) {
                    (Some(r), _) => r.clone(),
                    (None, Some(p)) => render(p, &effective, &ctx)?,
                    (None, None) => effective,
                };
                (place_result(result_path, &raw_input, value)?, None)
            }
            StateKind::Choice { choices, default } => {
                let mut chosen = None;
                for (rule, next) in choices {
                    if choice::evaluate(rule, &effective, ctx.value())? {
                        chosen = Some(next.clone());
                        break;
                    }
                }
                let next = chosen.or_else(|| default.clone()).ok_or_else(|| {
                    StatesError::new(
                        names::NO_CHOICE_MATCHED,
                        format!("No Choice rule of '{name}' matched and it has no Default"),
                    )
                })?;
                (effective, Some(next))
            }
            StateKind::Wait(wait) => {
                let until = timing::wait_until(wait, &effective, lane.timeline.now())
                    .map_err(|cause| timing::in_state(name, entered_event, cause))?;
                self.sleep_until(lane, until).await?;
                (effective, None)
            }
            StateKind::Succeed => (effective, None),
            StateKind::Fail { error, cause } => {
                let error = error.as_ref().map(|t| resolve_text(t, &raw_input, &ctx, "Error")).transpose()?;
                let cause = cause.as_ref().map(|t| resolve_text(t, &raw_input, &ctx, "Cause")).transpose()?;
                return Err(Halt::Error(StatesError::new(error.unwrap_or_default(), cause.unwrap_or_default())));
            }
            StateKind::Task { resource, handling, timeout, heartbeat } => {
                let seconds = |amount: &Option<Amount>, field: &str| {
                    amount
                        .as_ref()
                        .map(|a| timing::task_seconds(a, &effective, field))
                        .transpose()
                        .map_err(|cause| timing::in_state(name, entered_event, cause))
                };
                let (timeout, heartbeat) =
                    (seconds(timeout, "TimeoutSeconds")?, seconds(heartbeat, "HeartbeatSeconds")?);
                let work = Work::Task { resource, timeout, heartbeat };
                match self.handled(name, &work, handling, &raw_input, &effective, &ctx, lane).await? {
                    Handled::Result(v) => (v, None),
                    Handled::Caught(next, v) => return self.exit(name, type_name, v, Some(next), lane),
                }
            }
            StateKind::Parallel { branches, handling } => {
                match self
                    .handled(name, &Work::Parallel(branches), handling, &raw_input, &effective, &ctx, lane)
                    .await?
                {
                    Handled::Result(v) => (v, None),
                    Handled::Caught(next, v) => return self.exit(name, type_name, v, Some(next), lane),
                }
            }
            StateKind::Map(map) => {
                match self.handled(name, &Work::Map(map), &map.handling, &raw_input, &effective, &ctx, lane).await? {
                    Handled::Result(v) => (v, None),
                    Handled::Caught(next, v) => return self.exit(name, type_name, v, Some(next), lane),
                }
            }
        };
        let output = select(&state.output_path, &result, "OutputPath")?;
        let next = next_override.or_else(|| state.next.clone());
        self.exit(name, type_name, output, next, lane)
    }

    fn exit(
        &self,
        name: &str,
        type_name: &str,
        output: Value,
        next: Option<String>,
        lane: &mut Lane,
    ) -> Result<Step, Halt> {
        let text = check_size(&output, "state output")?;
        let details = |text: String| json!({"name": name, "output": text, "outputDetails": {"truncated": false}});
        Ok(match next {
            Some(n) => {
                self.event(
                    lane,
                    format!("{type_name}StateExited"),
                    Some(("stateExitedEventDetails", details(text.clone()))),
                );
                Step::Next(n, output, text)
            }
            None => {
                self.event(lane, format!("{type_name}StateExited"), Some(("stateExitedEventDetails", details(text))));
                Step::End(output)
            }
        })
    }

    /// Parameters, the work with its retries, ResultSelector, ResultPath; a failure on
    /// the way goes to the first matching catcher.
    #[allow(clippy::too_many_arguments)]
    async fn handled(
        &self,
        name: &str,
        work: &Work<'_>,
        handling: &Handling,
        raw_input: &Value,
        effective: &Value,
        ctx: &Context<'_>,
        lane: &mut Lane,
    ) -> Result<Handled, Halt> {
        let attempt = async {
            let params = match &handling.parameters {
                Some(p) => render(p, effective, ctx)?,
                None => effective.clone(),
            };
            let result = self.with_retries(name, work, &handling.retry, params, lane).await?;
            let selected = match &handling.result_selector {
                Some(selector) => render(selector, &result, ctx)?,
                None => result,
            };
            Ok::<Value, Halt>(place_result(&handling.result_path, raw_input, selected)?)
        };
        match attempt.await {
            Ok(v) => Ok(Handled::Result(v)),
            Err(Halt::Error(e)) => match find_catcher(&handling.catch, &e) {
                Some(catcher) => {
                    let output = place_result(&catcher.result_path, raw_input, e.to_output())?;
                    Ok(Handled::Caught(catcher.next.clone(), output))
                }
                None => Err(Halt::Error(e)),
            },
            Err(halt) => Err(halt),
        }
    }

    async fn with_retries(
        &self,
        name: &str,
        work: &Work<'_>,
        retriers: &[Retrier],
        params: Value,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let mut attempts = vec![0u32; retriers.len()];
        loop {
            let error = match self.perform(name, work, params.clone(), lane).await {
                Ok(v) => return Ok(v),
                Err(Halt::Error(e)) => e,
                Err(halt) => return Err(halt),
            };
            let Some(index) = retriers.iter().position(|r| r.error_equals.iter().any(|p| error.matches(p))) else {
                return Err(Halt::Error(error));
            };
            let retrier = &retriers[index];
            if attempts[index] >= retrier.max_attempts {
                return Err(Halt::Error(error));
            }
            let delay = retry_delay(retrier, attempts[index]);
            attempts[index] += 1;
            tracing::debug!(state = name, error = %error.error, attempt = attempts[index], ?delay, "retrying");
            self.check_limits(lane)?;
            self.sleep_until(lane, later(lane.timeline.now(), delay)).await?;
        }
    }

    async fn perform(&self, name: &str, work: &Work<'_>, params: Value, lane: &mut Lane) -> Result<Value, Halt> {
        match work {
            Work::Task { resource, timeout, heartbeat } => {
                self.task(resource, params, *timeout, *heartbeat, lane).await
            }
            Work::Parallel(branches) => self.parallel(branches, params, lane).await,
            Work::Map(map) => self.map(name, map, params, lane).await,
        }
    }

    async fn task(
        &self,
        resource: &str,
        params: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let optimized = resource == LAMBDA_INVOKE;
        if !optimized && !is_function_arn(resource) {
            return Err(Halt::Error(StatesError::runtime(format!(
                "sfn-local runs Lambda tasks only ('{LAMBDA_INVOKE}' or a function ARN), not '{resource}'"
            ))));
        }
        let (function, payload) = if optimized {
            let function = params.get("FunctionName").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                StatesError::runtime("The lambda:invoke task needs a 'FunctionName' string in its Parameters")
            })?;
            (function, params.get("Payload").cloned().unwrap_or_else(|| json!({})))
        } else {
            (resource.to_owned(), params)
        };
        let params_text = check_size(&payload, "task input")?;
        let (prefix, resource_fields) = if optimized {
            ("Task", json!({"resourceType": "lambda", "resource": "invoke"}))
        } else {
            ("LambdaFunction", json!({}))
        };
        let details = |extra: Value| {
            let mut base = resource_fields.clone();
            if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
                b.extend(e);
            }
            base
        };
        let scheduled = if optimized {
            details(
                json!({"region": self.engine.region, "parameters": json!({"FunctionName": function, "Payload": payload}).to_string()}),
            )
        } else {
            json!({"resource": resource, "input": params_text})
        };
        let scheduled = match timeout {
            Some(t) => {
                let mut s = scheduled;
                s["timeoutInSeconds"] = json!(t as u64);
                s
            }
            None => scheduled,
        };
        let field = |suffix: &str| details_member(optimized, suffix);
        self.event(lane, format!("{prefix}Scheduled"), Some((field("Scheduled"), scheduled)));
        self.event(lane, format!("{prefix}Started"), Some((field("Started"), details(json!({})))));
        let limit = match (timeout, heartbeat) {
            (Some(t), Some(h)) => Some((t.min(h), if h < t { names::HEARTBEAT_TIMEOUT } else { names::TIMEOUT })),
            (Some(t), None) => Some((t, names::TIMEOUT)),
            (None, Some(h)) => Some((h, names::HEARTBEAT_TIMEOUT)),
            (None, None) => None,
        };
        let call = self.engine.invoker.invoke(&function, payload);
        let outcome = match limit {
            Some((seconds, error)) => {
                match tokio::time::timeout(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX), call).await {
                    Ok(result) => result,
                    Err(_) => {
                        let e = StatesError::new(error, format!("The task did not finish within {seconds} seconds"));
                        self.event(
                            lane,
                            format!("{prefix}TimedOut"),
                            Some((field("TimedOut"), details(json!({"error": e.error, "cause": e.cause})))),
                        );
                        return Err(Halt::Error(e));
                    }
                }
            }
            None => call.await,
        };
        match outcome {
            Ok(payload) => {
                let result = if optimized {
                    json!({
                        "ExecutedVersion": "$LATEST",
                        "Payload": payload,
                        "SdkHttpMetadata": {"HttpHeaders": {"Content-Type": "application/json"}, "HttpStatusCode": 200},
                        "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()},
                        "StatusCode": 200
                    })
                } else {
                    payload
                };
                let text = check_size(&result, "task result")?;
                self.event(
                    lane,
                    format!("{prefix}Succeeded"),
                    Some((field("Succeeded"), details(json!({"output": text, "outputDetails": {"truncated": false}})))),
                );
                Ok(result)
            }
            Err(e) => {
                self.event(
                    lane,
                    format!("{prefix}Failed"),
                    Some((field("Failed"), details(json!({"error": e.error, "cause": e.cause})))),
                );
                Err(Halt::Error(e))
            }
        }
    }

    async fn parallel(&self, branches: &[StateMachine], input: Value, lane: &mut Lane) -> Result<Value, Halt> {
        self.event(lane, "ParallelStateStarted".into(), None);
        let mut lanes: Vec<Lane> = branches.iter().map(|_| lane.clone()).collect();
        let runs = branches
            .iter()
            .zip(lanes.iter_mut())
            .map(|(branch, branch_lane)| self.machine(branch, input.clone(), branch_lane, None));
        // The first failure ends the others (they are dropped), as on AWS.
        let result = futures::future::try_join_all(runs).await;
        lane.timeline.join(lanes.iter().map(|l| &l.timeline));
        lane.last_event = lanes.iter().map(|l| l.last_event).max().unwrap_or(lane.last_event);
        match result {
            Ok(outputs) => {
                self.event(lane, "ParallelStateSucceeded".into(), None);
                Ok(Value::Array(outputs))
            }
            Err(halt) => {
                self.event(lane, "ParallelStateFailed".into(), None);
                Err(halt)
            }
        }
    }

    async fn map(&self, name: &str, map: &MapState, input: Value, lane: &mut Lane) -> Result<Value, Halt> {
        let items = match select(&map.items_path, &input, "ItemsPath")? {
            Value::Array(items) => items,
            other => {
                return Err(Halt::Error(StatesError::runtime(format!(
                    "Map state '{name}': ItemsPath must select an array, not a {}",
                    type_name(&other)
                ))));
            }
        };
        let count = items.len();
        self.event(lane, "MapStateStarted".into(), Some(("mapStateStartedEventDetails", json!({"length": count}))));
        let max_concurrency = match &map.max_concurrency {
            Some(a) => resolve_amount(a, &input, "MaxConcurrency")? as usize,
            None => 0,
        };
        let concurrency = if max_concurrency == 0 { UNBOUNDED_MAP_CONCURRENCY } else { max_concurrency };
        let tolerated_count = map
            .tolerated_failure_count
            .as_ref()
            .map(|a| resolve_amount(a, &input, "ToleratedFailureCount"))
            .transpose()?;
        let tolerated_percent = map
            .tolerated_failure_percentage
            .as_ref()
            .map(|a| resolve_amount(a, &input, "ToleratedFailurePercentage"))
            .transpose()?;
        let tolerant = tolerated_count.is_some() || tolerated_percent.is_some();
        let exceeds = |failures: usize| {
            let over_count = tolerated_count.is_some_and(|c| failures as f64 > c);
            let over_percent =
                tolerated_percent.is_some_and(|p| count > 0 && failures as f64 * 100.0 / count as f64 > p);
            // With both set, exceeding either one fails the Map.
            over_count || over_percent
        };

        let base_lane = lane.clone();
        let input = &input;
        let iterations = items.into_iter().enumerate().map(|(index, item)| {
            let mut item_lane = base_lane.clone();
            async move {
                let map_item = (index, item);
                item_lane.last_event = self.execution.record(
                    item_lane.last_event,
                    item_lane.timeline.now(),
                    "MapIterationStarted".into(),
                    Some(("mapIterationStartedEventDetails", json!({"name": name, "index": index}))),
                );
                let item_input = match &map.item_selector {
                    Some(selector) => {
                        let ctx = Context {
                            run: self,
                            state: name,
                            entered: item_lane.timeline.now(),
                            map_item: Some(&map_item),
                            built: OnceLock::new(),
                        };
                        render(selector, input, &ctx).map_err(Halt::Error)
                    }
                    None => Ok(map_item.1.clone()),
                };
                let result = match item_input {
                    Ok(v) => self.machine(&map.processor, v, &mut item_lane, Some(&map_item)).await,
                    Err(e) => Err(e),
                };
                let kind = if result.is_ok() { "MapIterationSucceeded" } else { "MapIterationFailed" };
                let field =
                    if result.is_ok() { "mapIterationSucceededEventDetails" } else { "mapIterationFailedEventDetails" };
                item_lane.last_event = self.execution.record(
                    item_lane.last_event,
                    item_lane.timeline.now(),
                    kind.into(),
                    Some((field, json!({"name": name, "index": index}))),
                );
                (index, result, item_lane)
            }
        });
        let mut stream = futures::stream::iter(iterations).buffer_unordered(concurrency.max(1));
        let mut outputs = vec![Value::Null; count];
        let mut failures = 0usize;
        let mut failure: Option<Halt> = None;
        let mut finished_lanes = Vec::with_capacity(count);
        while let Some((index, result, item_lane)) = stream.next().await {
            finished_lanes.push(item_lane);
            match result {
                Ok(v) => outputs[index] = v,
                Err(Halt::Error(e)) if tolerant => {
                    failures += 1;
                    outputs[index] = e.to_output();
                    if exceeds(failures) {
                        failure = Some(Halt::Error(StatesError::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!("Map state '{name}': {failures} of {count} iterations failed, more than tolerated"),
                        )));
                        break;
                    }
                }
                Err(halt) => {
                    failure = Some(halt);
                    break;
                }
            }
        }
        drop(stream);
        lane.timeline.join(finished_lanes.iter().map(|l| &l.timeline));
        lane.last_event = finished_lanes.iter().map(|l| l.last_event).max().unwrap_or(lane.last_event);
        match failure {
            None => {
                self.event(lane, "MapStateSucceeded".into(), None);
                Ok(Value::Array(outputs))
            }
            Some(halt) => {
                self.event(lane, "MapStateFailed".into(), None);
                Err(halt)
            }
        }
    }
}

enum Work<'a> {
    /// The time limits resolved, in seconds.
    Task {
        resource: &'a str,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
    },
    Parallel(&'a [StateMachine]),
    Map(&'a MapState),
}

enum Handled {
    Result(Value),
    Caught(String, Value),
}

fn find_catcher<'a>(catchers: &'a [Catcher], error: &StatesError) -> Option<&'a Catcher> {
    catchers.iter().find(|c| c.error_equals.iter().any(|p| error.matches(p)))
}

/// The details member of a task event: `taskScheduledEventDetails`,
/// `lambdaFunctionFailedEventDetails`, ...
fn details_member(optimized: bool, suffix: &str) -> &'static str {
    match (optimized, suffix) {
        (true, "Scheduled") => "taskScheduledEventDetails",
        (true, "Started") => "taskStartedEventDetails",
        (true, "Succeeded") => "taskSucceededEventDetails",
        (true, "Failed") => "taskFailedEventDetails",
        (true, _) => "taskTimedOutEventDetails",
        (false, "Scheduled") => "lambdaFunctionScheduledEventDetails",
        (false, "Started") => "lambdaFunctionStartedEventDetails",
        (false, "Succeeded") => "lambdaFunctionSucceededEventDetails",
        (false, "Failed") => "lambdaFunctionFailedEventDetails",
        (false, _) => "lambdaFunctionTimedOutEventDetails",
    }
}
