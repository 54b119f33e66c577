//! One execution: its identity, its outcome so far, and its history, which stops
//! growing at Step Functions' 25,000 events.

use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use tokio::sync::watch;

use super::events::EventKind;
use super::lock;
use crate::error::StatesError;
use crate::limits::MAX_HISTORY_EVENTS;

/// Run once when an execution closes (the service's retention listens with it).
type CloseHook = Box<dyn FnOnce() + Send>;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Running,
    Succeeded,
    Failed,
    TimedOut,
    Aborted,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Running => "RUNNING",
            Status::Succeeded => "SUCCEEDED",
            Status::Failed => "FAILED",
            Status::TimedOut => "TIMED_OUT",
            Status::Aborted => "ABORTED",
        }
    }

    pub fn parse(raw: &str) -> Option<Self> {
        [Status::Running, Status::Succeeded, Status::Failed, Status::TimedOut, Status::Aborted]
            .into_iter()
            .find(|s| s.as_str() == raw)
    }
}

#[derive(Debug, Clone)]
pub struct HistoryEvent {
    pub id: u64,
    pub previous_event_id: u64,
    pub timestamp: DateTime<Utc>,
    pub kind: EventKind,
    /// The AWS name of `kind` (`PassStateEntered`).
    pub event_type: String,
    /// The details member (`stateEnteredEventDetails`, ...) and its value.
    pub details: Option<(&'static str, Value)>,
}

#[derive(Debug, Clone)]
pub struct Outcome {
    pub status: Status,
    pub stop_date: Option<DateTime<Utc>>,
    pub output: Option<String>,
    pub error: Option<String>,
    pub cause: Option<String>,
}

/// One execution: its identity, its outcome so far, its history.
pub struct Execution {
    pub arn: String,
    pub name: String,
    pub state_machine_arn: String,
    pub state_machine_name: String,
    pub role_arn: String,
    pub input: String,
    pub start_date: DateTime<Utc>,
    outcome: Mutex<Outcome>,
    history: Mutex<History>,
    done: watch::Sender<bool>,
    task: Mutex<Option<tokio::task::AbortHandle>>,
    on_close: Mutex<Option<CloseHook>>,
}

#[derive(Default)]
struct History {
    events: Vec<HistoryEvent>,
    /// An event was refused because the history had reached its limit.
    full: bool,
}

impl std::fmt::Debug for Execution {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Execution").field("arn", &self.arn).field("status", &self.outcome().status).finish()
    }
}

impl Execution {
    pub fn new(
        arn: String,
        name: String,
        state_machine_arn: String,
        state_machine_name: String,
        role_arn: String,
        input: String,
        start_date: DateTime<Utc>,
    ) -> Arc<Self> {
        Arc::new(Self {
            arn,
            name,
            state_machine_arn,
            state_machine_name,
            role_arn,
            input,
            start_date,
            outcome: Mutex::new(Outcome {
                status: Status::Running,
                stop_date: None,
                output: None,
                error: None,
                cause: None,
            }),
            history: Mutex::new(History::default()),
            done: watch::Sender::new(false),
            task: Mutex::new(None),
            on_close: Mutex::new(None),
        })
    }

    pub fn outcome(&self) -> Outcome {
        lock(&self.outcome).clone()
    }

    /// The whole history (a copy).
    pub fn history(&self) -> Vec<HistoryEvent> {
        lock(&self.history).events.clone()
    }

    /// How many events the history holds.
    pub fn history_len(&self) -> usize {
        lock(&self.history).events.len()
    }

    /// Up to `count` events from id `first` on, in id order: a page, copied alone.
    pub fn history_events(&self, first: u64, count: usize) -> Vec<HistoryEvent> {
        let history = lock(&self.history);
        let start = usize::try_from(first.saturating_sub(1)).unwrap_or(usize::MAX).min(history.events.len());
        let end = start.saturating_add(count).min(history.events.len());
        history.events[start..end].to_vec()
    }

    /// Whether the history reached its limit; the run must then fail.
    pub fn history_full(&self) -> bool {
        lock(&self.history).full
    }

    /// Appends an event; returns its id. Once the history holds 24,999 events only the
    /// closing `Execution*` event still goes in (as the 25,000th); others are dropped and
    /// mark the history full.
    pub(super) fn record(&self, previous: u64, at: DateTime<Utc>, kind: EventKind, details: Option<Value>) -> u64 {
        let mut history = lock(&self.history);
        let closing = kind.closes_execution();
        let room = if closing { MAX_HISTORY_EVENTS } else { MAX_HISTORY_EVENTS - 1 };
        if history.events.len() >= room {
            history.full = true;
            return history.events.len() as u64;
        }
        let id = history.events.len() as u64 + 1;
        let details = kind.details_member().zip(details);
        history.events.push(HistoryEvent {
            id,
            previous_event_id: previous,
            timestamp: at,
            kind,
            event_type: kind.name().to_owned(),
            details,
        });
        id
    }

    /// Runs `hook` once when the execution closes (at once if it already has).
    pub fn on_close(&self, hook: impl FnOnce() + Send + 'static) {
        let mut slot = lock(&self.on_close);
        // Read the status under the hook's lock: `finish` sets it before taking the hook.
        if self.outcome().status == Status::Running {
            *slot = Some(Box::new(hook));
        } else {
            drop(slot);
            hook();
        }
    }

    pub(super) fn set_task(&self, task: tokio::task::AbortHandle) {
        *lock(&self.task) = Some(task);
    }

    /// Closes the execution once; later attempts (a stop racing the end) change nothing.
    pub(super) fn finish(
        &self,
        status: Status,
        at: DateTime<Utc>,
        output: Option<String>,
        error: Option<StatesError>,
    ) -> bool {
        let mut outcome = lock(&self.outcome);
        if outcome.status != Status::Running {
            return false;
        }
        *outcome = Outcome {
            status,
            stop_date: Some(at),
            output,
            error: error.as_ref().map(|e| e.error.clone()),
            cause: error.map(|e| e.cause),
        };
        drop(outcome);
        self.done.send_replace(true);
        let hook = lock(&self.on_close).take();
        if let Some(hook) = hook {
            hook();
        }
        true
    }

    /// Waits until the execution has closed.
    pub async fn wait(&self) -> Outcome {
        let mut rx = self.done.subscribe();
        let _ = rx.wait_for(|done| *done).await;
        self.outcome()
    }

    /// Stops a running execution (`StopExecution`); false when it had already closed.
    pub fn abort(&self, error: Option<String>, cause: Option<String>, at: DateTime<Utc>) -> bool {
        let error_value = StatesError::new(error.clone().unwrap_or_default(), cause.clone().unwrap_or_default());
        if !self.finish(Status::Aborted, at, None, Some(error_value)) {
            return false;
        }
        if let Some(task) = lock(&self.task).take() {
            task.abort();
        }
        let last = self.history_len() as u64;
        let mut details = Map::new();
        if let Some(e) = error {
            details.insert("error".into(), Value::String(e));
        }
        if let Some(c) = cause {
            details.insert("cause".into(), Value::String(c));
        }
        self.record(last, at, EventKind::ExecutionAborted, Some(Value::Object(details)));
        true
    }
}
