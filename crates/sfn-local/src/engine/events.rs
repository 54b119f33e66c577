//! The history events sfn-local records, typed: each kind knows its AWS name
//! (`PassStateEntered`) and the member its details go in (`stateEnteredEventDetails`).

use crate::asl::StateKind;

/// A state's type, as event names spell it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StateType {
    Pass,
    Task,
    Choice,
    Wait,
    Succeed,
    Fail,
    Parallel,
    Map,
}

impl StateType {
    pub fn of(kind: &StateKind) -> Self {
        match kind {
            StateKind::Pass { .. } => StateType::Pass,
            StateKind::Task { .. } => StateType::Task,
            StateKind::Choice { .. } => StateType::Choice,
            StateKind::Wait(_) => StateType::Wait,
            StateKind::Succeed => StateType::Succeed,
            StateKind::Fail { .. } => StateType::Fail,
            StateKind::Parallel { .. } => StateType::Parallel,
            StateKind::Map(_) => StateType::Map,
        }
    }
}

/// A task step, recorded as `Task...` for an integration (`arn:aws:states:::lambda:invoke`)
/// and `LambdaFunction...` for a plain function ARN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskStep {
    Scheduled,
    Started,
    Succeeded,
    Failed,
    TimedOut,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventKind {
    ExecutionStarted,
    ExecutionSucceeded,
    ExecutionFailed,
    ExecutionTimedOut,
    ExecutionAborted,
    StateEntered(StateType),
    StateExited(StateType),
    Task(TaskStep),
    LambdaFunction(TaskStep),
    ParallelStateStarted,
    ParallelStateSucceeded,
    ParallelStateFailed,
    MapStateStarted,
    MapStateSucceeded,
    MapStateFailed,
    MapIterationStarted,
    MapIterationSucceeded,
    MapIterationFailed,
}

impl EventKind {
    /// The event's `type`, as AWS names it.
    pub fn name(self) -> &'static str {
        use EventKind as E;
        use StateType as S;
        use TaskStep as T;
        match self {
            E::ExecutionStarted => "ExecutionStarted",
            E::ExecutionSucceeded => "ExecutionSucceeded",
            E::ExecutionFailed => "ExecutionFailed",
            E::ExecutionTimedOut => "ExecutionTimedOut",
            E::ExecutionAborted => "ExecutionAborted",
            E::StateEntered(state) => match state {
                S::Pass => "PassStateEntered",
                S::Task => "TaskStateEntered",
                S::Choice => "ChoiceStateEntered",
                S::Wait => "WaitStateEntered",
                S::Succeed => "SucceedStateEntered",
                S::Fail => "FailStateEntered",
                S::Parallel => "ParallelStateEntered",
                S::Map => "MapStateEntered",
            },
            E::StateExited(state) => match state {
                S::Pass => "PassStateExited",
                S::Task => "TaskStateExited",
                S::Choice => "ChoiceStateExited",
                S::Wait => "WaitStateExited",
                S::Succeed => "SucceedStateExited",
                S::Fail => "FailStateExited",
                S::Parallel => "ParallelStateExited",
                S::Map => "MapStateExited",
            },
            E::Task(step) => match step {
                T::Scheduled => "TaskScheduled",
                T::Started => "TaskStarted",
                T::Succeeded => "TaskSucceeded",
                T::Failed => "TaskFailed",
                T::TimedOut => "TaskTimedOut",
            },
            E::LambdaFunction(step) => match step {
                T::Scheduled => "LambdaFunctionScheduled",
                T::Started => "LambdaFunctionStarted",
                T::Succeeded => "LambdaFunctionSucceeded",
                T::Failed => "LambdaFunctionFailed",
                T::TimedOut => "LambdaFunctionTimedOut",
            },
            E::ParallelStateStarted => "ParallelStateStarted",
            E::ParallelStateSucceeded => "ParallelStateSucceeded",
            E::ParallelStateFailed => "ParallelStateFailed",
            E::MapStateStarted => "MapStateStarted",
            E::MapStateSucceeded => "MapStateSucceeded",
            E::MapStateFailed => "MapStateFailed",
            E::MapIterationStarted => "MapIterationStarted",
            E::MapIterationSucceeded => "MapIterationSucceeded",
            E::MapIterationFailed => "MapIterationFailed",
        }
    }

    /// The member of `HistoryEvent` the details go in; `None` for events without.
    pub fn details_member(self) -> Option<&'static str> {
        use EventKind as E;
        use TaskStep as T;
        Some(match self {
            E::ExecutionStarted => "executionStartedEventDetails",
            E::ExecutionSucceeded => "executionSucceededEventDetails",
            E::ExecutionFailed => "executionFailedEventDetails",
            E::ExecutionTimedOut => "executionTimedOutEventDetails",
            E::ExecutionAborted => "executionAbortedEventDetails",
            E::StateEntered(_) => "stateEnteredEventDetails",
            E::StateExited(_) => "stateExitedEventDetails",
            E::Task(step) => match step {
                T::Scheduled => "taskScheduledEventDetails",
                T::Started => "taskStartedEventDetails",
                T::Succeeded => "taskSucceededEventDetails",
                T::Failed => "taskFailedEventDetails",
                T::TimedOut => "taskTimedOutEventDetails",
            },
            E::LambdaFunction(step) => match step {
                T::Scheduled => "lambdaFunctionScheduledEventDetails",
                T::Started => "lambdaFunctionStartedEventDetails",
                T::Succeeded => "lambdaFunctionSucceededEventDetails",
                T::Failed => "lambdaFunctionFailedEventDetails",
                T::TimedOut => "lambdaFunctionTimedOutEventDetails",
            },
            E::MapStateStarted => "mapStateStartedEventDetails",
            E::MapIterationStarted => "mapIterationStartedEventDetails",
            E::MapIterationSucceeded => "mapIterationSucceededEventDetails",
            E::MapIterationFailed => "mapIterationFailedEventDetails",
            E::ParallelStateStarted
            | E::ParallelStateSucceeded
            | E::ParallelStateFailed
            | E::MapStateSucceeded
            | E::MapStateFailed => return None,
        })
    }

    /// Whether the event closes the execution (it may be the history's 25,000th).
    pub fn closes_execution(self) -> bool {
        matches!(
            self,
            EventKind::ExecutionSucceeded
                | EventKind::ExecutionFailed
                | EventKind::ExecutionTimedOut
                | EventKind::ExecutionAborted
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_know_their_aws_names_and_members() {
        assert_eq!(EventKind::StateEntered(StateType::Map).name(), "MapStateEntered");
        assert_eq!(EventKind::StateExited(StateType::Pass).details_member(), Some("stateExitedEventDetails"));
        assert_eq!(EventKind::LambdaFunction(TaskStep::TimedOut).name(), "LambdaFunctionTimedOut");
        assert_eq!(EventKind::Task(TaskStep::Scheduled).details_member(), Some("taskScheduledEventDetails"));
        assert_eq!(EventKind::ParallelStateStarted.details_member(), None);
        assert!(EventKind::ExecutionAborted.closes_execution());
        assert!(!EventKind::MapIterationFailed.closes_execution());
    }
}
