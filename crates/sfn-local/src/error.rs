//! Errors as the States Language names them: an error name and a cause.

use std::fmt;

/// The predefined error names of the States Language.
pub mod names {
    pub const ALL: &str = "States.ALL";
    pub const TASK_FAILED: &str = "States.TaskFailed";
    pub const TIMEOUT: &str = "States.Timeout";
    pub const HEARTBEAT_TIMEOUT: &str = "States.HeartbeatTimeout";
    pub const RUNTIME: &str = "States.Runtime";
    pub const NO_CHOICE_MATCHED: &str = "States.NoChoiceMatched";
    pub const BRANCH_FAILED: &str = "States.BranchFailed";
    pub const INTRINSIC_FAILURE: &str = "States.IntrinsicFailure";
    pub const PARAMETER_PATH_FAILURE: &str = "States.ParameterPathFailure";
    pub const RESULT_PATH_MATCH_FAILURE: &str = "States.ResultPathMatchFailure";
    pub const EXCEED_TOLERATED_FAILURE_THRESHOLD: &str = "States.ExceedToleratedFailureThreshold";
    pub const DATA_LIMIT_EXCEEDED: &str = "States.DataLimitExceeded";
    pub const PERMISSIONS: &str = "States.Permissions";
    pub const QUERY_EVALUATION_ERROR: &str = "States.QueryEvaluationError";
}

/// A failure inside an execution: what Retry and Catch match on, and what
/// `DescribeExecution` reports as `error` and `cause`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatesError {
    pub error: String,
    pub cause: String,
}

impl StatesError {
    pub fn new(error: impl Into<String>, cause: impl Into<String>) -> Self {
        Self { error: error.into(), cause: cause.into() }
    }

    pub fn runtime(cause: impl Into<String>) -> Self {
        Self::new(names::RUNTIME, cause)
    }

    pub fn intrinsic(cause: impl Into<String>) -> Self {
        Self::new(names::INTRINSIC_FAILURE, cause)
    }

    /// Errors no Retry or Catch may handle: the execution fails at once.
    pub fn is_terminal(&self) -> bool {
        self.error == names::RUNTIME || self.error == names::DATA_LIMIT_EXCEEDED
    }

    /// Whether an `ErrorEquals` entry matches this error, with the wildcards' rules:
    /// `States.ALL` matches every error but the terminal ones; `States.TaskFailed`
    /// matches every error but timeouts and the terminal ones.
    pub fn matches(&self, pattern: &str) -> bool {
        if self.is_terminal() {
            return false;
        }
        match pattern {
            names::ALL => true,
            names::TASK_FAILED => self.error != names::TIMEOUT && self.error != names::HEARTBEAT_TIMEOUT,
            other => other == self.error,
        }
    }

    /// The error output a Catch hands on: `{"Error": ..., "Cause": ...}`.
    pub fn to_output(&self) -> serde_json::Value {
        serde_json::json!({ "Error": self.error, "Cause": self.cause })
    }
}

impl fmt::Display for StatesError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.error, self.cause)
    }
}

impl std::error::Error for StatesError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_follow_the_language() {
        let custom = StatesError::new("ObjectNotFound", "x");
        assert!(custom.matches("States.ALL"));
        assert!(custom.matches("States.TaskFailed"));
        assert!(custom.matches("ObjectNotFound"));
        assert!(!custom.matches("EmptyCsv"));
        let timeout = StatesError::new(names::TIMEOUT, "");
        assert!(timeout.matches("States.ALL"));
        assert!(!timeout.matches("States.TaskFailed"));
        assert!(timeout.matches("States.Timeout"));
        let runtime = StatesError::runtime("bad path");
        assert!(!runtime.matches("States.ALL"));
        assert!(!runtime.matches("States.Runtime"));
        assert!(!StatesError::new(names::DATA_LIMIT_EXCEEDED, "").matches("States.ALL"));
    }
}
