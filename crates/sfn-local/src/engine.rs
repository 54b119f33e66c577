//! Runs executions: state by state, with the States Language's input and output
//! processing in both query languages, variables, Retry and Catch, Parallel and Map,
//! timeouts, and an AWS-shaped history.
//!
//! One file per stage: the execution record and its history (`execution`), what a
//! state's expressions read (`context`), input and output processing (`dataflow`),
//! the states (`states`), tasks with Retry and Catch (`task`), Parallel and Map
//! (`parallel`), and the time arithmetic (`timing`).

mod context;
mod dataflow;
mod events;
mod execution;
mod parallel;
mod states;
mod task;
mod timing;

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};

use chrono::{DateTime, SecondsFormat, Utc};
use serde_json::{Value, json};

pub use self::events::{EventKind, StateType, TaskStep};
pub use self::execution::{Execution, HistoryEvent, Outcome, Status};
pub use self::timing::retry_delay;
use crate::asl::StateMachine;
use crate::clock::{Clock, Timeline};
use crate::error::StatesError;
use crate::lambda::Invoker;
use crate::limits::MAX_HISTORY_EVENTS;
use crate::variables::Variables;

/// The most a state's input or output may weigh, as on AWS (256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 262_144;
/// Inline Map iterations run at most this many at once when `MaxConcurrency` is 0.
pub const UNBOUNDED_MAP_CONCURRENCY: usize = 40;

/// Locks, carrying on past a poisoned lock (a panicking test thread must not wedge the server).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn timestamp_text(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

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

/// A line of work inside an execution: its time, its last event (for
/// `previousEventId`) and its variables. Parallel branches and Map iterations get
/// their own.
#[derive(Clone)]
struct Lane {
    timeline: Timeline,
    last_event: u64,
    vars: Variables,
}

impl Lane {
    /// The lane of a Parallel branch or Map iteration started here (`vars` from
    /// [`Variables::nested`], computed once for all of them).
    fn fork(&self, vars: &Variables) -> Lane {
        Lane { timeline: self.timeline.clone(), last_event: self.last_event, vars: vars.clone() }
    }
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
        let mut lane = Lane { timeline: self.clock.timeline(), last_event: 0, vars: Variables::default() };
        let start = execution.start_date;
        let input = serde_json::from_str::<Value>(&execution.input).unwrap_or(Value::Null);
        let context_base = json!({
            "Execution": {
                "Id": execution.arn,
                "Input": input,
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
            EventKind::ExecutionStarted,
            Some(
                json!({"input": execution.input, "inputDetails": {"truncated": false}, "roleArn": execution.role_arn}),
            ),
        );
        let result = match run.machine(&machine, input, &mut lane, None).await {
            // Events were dropped to keep the history within its limit: the run must not succeed.
            Ok(_) if execution.history_full() => Err(Halt::Error(history_full())),
            result => result,
        };
        run.close(result, &lane);
    }
}

fn history_full() -> StatesError {
    StatesError::runtime(format!("The execution reached the maximum number of history events ({MAX_HISTORY_EVENTS})."))
}

impl Run {
    fn event(&self, lane: &mut Lane, kind: EventKind, details: Option<Value>) {
        lane.last_event = self.execution.record(lane.last_event, lane.timeline.now(), kind, details);
    }

    /// Records how the execution ended.
    fn close(&self, result: Result<Value, Halt>, lane: &Lane) {
        let execution = &self.execution;
        let at = lane.timeline.now();
        let (status, at, output, error, kind) = match result {
            Ok(output) => (Status::Succeeded, at, Some(output.to_string()), None, EventKind::ExecutionSucceeded),
            Err(Halt::Error(e)) => (Status::Failed, at, None, Some(e), EventKind::ExecutionFailed),
            Err(Halt::ExecutionTimedOut) => {
                (Status::TimedOut, self.deadline, None, Some(self.timed_out.clone()), EventKind::ExecutionTimedOut)
            }
        };
        let details = match (&output, &error) {
            (Some(text), _) => json!({"output": text, "outputDetails": {"truncated": false}}),
            (_, Some(e)) => json!({"error": e.error, "cause": e.cause}),
            _ => json!({}),
        };
        if execution.finish(status, at, output, error) {
            execution.record(lane.last_event, at, kind, Some(details));
        }
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
}
