//! The error convention: what a state machine must tell apart reaches Step Functions
//! as a stable PascalCase `errorType`, never a Rust type name.

#[cfg(feature = "aws")]
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
#[cfg(feature = "aws")]
use aws_smithy_runtime_api::client::result::SdkError;
#[cfg(feature = "aws")]
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use lambda_runtime::Diagnostic;

/// The error names of DESIGN.md that any function may raise; workflow crates add their
/// own through [`WorkflowError::Named`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorName {
    InvalidInput,
    TransientError,
}

impl ErrorName {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorName::InvalidInput => "InvalidInput",
            ErrorName::TransientError => "TransientError",
        }
    }
}

/// What a port (an adapter to an outside service) can fail with.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
pub enum PortError {
    /// Throttling, 5xx, timeouts, dropped connections: worth retrying.
    #[error("transient failure from {service}: {message}")]
    Transient { service: &'static str, message: String },
    /// The thing asked for does not exist.
    #[error("not found in {service}: {message}")]
    NotFound { service: &'static str, message: String },
    /// A conditional write lost: the item exists or the condition is false.
    #[error("condition failed in {service}: {message}")]
    ConditionFailed { service: &'static str, message: String },
    /// Anything else the service refused; `code` is its error code.
    #[error("{service} refused the request ({code}): {message}")]
    Rejected { service: &'static str, code: String, message: String },
}

impl PortError {
    pub fn is_transient(&self) -> bool {
        matches!(self, PortError::Transient { .. })
    }
}

const TRANSIENT_CODES: &[&str] = &[
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestLimitExceeded",
    "ProvisionedThroughputExceededException",
    "TooManyRequestsException",
    "RequestThrottled",
    "SlowDown",
    "InternalError",
    "InternalFailure",
    "InternalServerError",
    "InternalServerErrorException",
    "ServiceUnavailable",
    "ServiceUnavailableException",
    "RequestTimeout",
    "RequestTimeoutException",
    "TransactionInProgressException",
    // A single-item write that met an item inside a running transaction.
    "TransactionConflictException",
];

const NOT_FOUND_CODES: &[&str] = &[
    "NoSuchKey",
    "NoSuchVersion",
    "NotFound",
    "NoSuchBucket",
    "ResourceNotFoundException",
    "NotFoundException",
    "StateMachineDoesNotExist",
    "ExecutionDoesNotExist",
];

/// Sorts an SDK error into a [`PortError`]: transport failures, throttling and 5xx are
/// transient; the rest keep the service's error code.
#[cfg(feature = "aws")]
pub fn classify_sdk_error<E>(service: &'static str, err: &SdkError<E, HttpResponse>) -> PortError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let message = aws_smithy_types::error::display::DisplayErrorContext(err).to_string();
    match err {
        SdkError::TimeoutError(_) | SdkError::DispatchFailure(_) | SdkError::ResponseError(_) => {
            PortError::Transient { service, message }
        }
        SdkError::ServiceError(service_err) => {
            let code = service_err.err().code().unwrap_or("Unknown").to_owned();
            let detail = service_err.err().message().unwrap_or_default().to_owned();
            let server_error = service_err.raw().status().is_server_error();
            classify_code(service, &code, detail, server_error)
        }
        _ => PortError::Rejected { service, code: "Unknown".into(), message },
    }
}

/// The code-based half of [`classify_sdk_error`], separate so it is tested directly.
pub fn classify_code(service: &'static str, code: &str, message: String, server_error: bool) -> PortError {
    if server_error || TRANSIENT_CODES.contains(&code) {
        PortError::Transient { service, message: format!("{code}: {message}") }
    } else if NOT_FOUND_CODES.contains(&code) {
        PortError::NotFound { service, message: format!("{code}: {message}") }
    } else if code == "ConditionalCheckFailedException" || code == "PreconditionFailed" {
        PortError::ConditionFailed { service, message }
    } else {
        PortError::Rejected { service, code: code.to_owned(), message }
    }
}

/// The error a handler returns: a stable name for Step Functions and a message for
/// people. Workflow crates convert their domain errors into it.
#[derive(Debug, thiserror::Error, Clone, PartialEq, Eq)]
#[error("{name}: {message}")]
pub struct WorkflowError {
    pub name: String,
    pub message: String,
}

impl WorkflowError {
    pub fn named(name: impl Into<String>, message: impl Into<String>) -> Self {
        Self { name: name.into(), message: message.into() }
    }

    pub fn invalid_input(message: impl Into<String>) -> Self {
        Self::named(ErrorName::InvalidInput.as_str(), message)
    }

    pub fn transient(message: impl Into<String>) -> Self {
        Self::named(ErrorName::TransientError.as_str(), message)
    }

    /// A port failure, with the name to use when it is not transient.
    pub fn from_port(err: PortError, otherwise: &str) -> Self {
        if err.is_transient() { Self::transient(err.to_string()) } else { Self::named(otherwise, err.to_string()) }
    }
}

impl From<WorkflowError> for Diagnostic {
    fn from(err: WorkflowError) -> Self {
        Diagnostic { error_type: err.name, error_message: err.message }
    }
}

impl From<serde_json::Error> for WorkflowError {
    fn from(err: serde_json::Error) -> Self {
        WorkflowError::invalid_input(err.to_string())
    }
}

/// Reads a handler's input; a missing or mistyped field is `InvalidInput` naming it.
pub fn parse_input<T: serde::de::DeserializeOwned>(payload: serde_json::Value) -> Result<T, WorkflowError> {
    serde_json::from_value(payload).map_err(|e| WorkflowError::invalid_input(format!("invalid input: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn throttling_and_server_errors_are_transient() {
        assert!(classify_code("dynamodb", "ProvisionedThroughputExceededException", "x".into(), false).is_transient());
        assert!(classify_code("s3", "SlowDown", "x".into(), false).is_transient());
        assert!(classify_code("s3", "WeirdCode", "x".into(), true).is_transient());
        assert!(!classify_code("s3", "AccessDenied", "x".into(), false).is_transient());
    }

    #[test]
    fn not_found_and_condition_codes_are_sorted() {
        assert!(matches!(classify_code("s3", "NoSuchKey", "k".into(), false), PortError::NotFound { .. }));
        assert!(matches!(classify_code("s3", "NoSuchVersion", "v".into(), false), PortError::NotFound { .. }));
        assert!(matches!(
            classify_code("dynamodb", "ConditionalCheckFailedException", "c".into(), false),
            PortError::ConditionFailed { .. }
        ));
        match classify_code("ses", "MessageRejected", "bad".into(), false) {
            PortError::Rejected { code, .. } => assert_eq!(code, "MessageRejected"),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn diagnostic_carries_the_stable_name() {
        let d: Diagnostic = WorkflowError::invalid_input("missing field `objectKey`").into();
        assert_eq!(d.error_type, "InvalidInput");
        assert!(d.error_message.contains("objectKey"));
        let t: Diagnostic =
            WorkflowError::from_port(PortError::Transient { service: "s3", message: "503".into() }, "ObjectNotFound")
                .into();
        assert_eq!(t.error_type, "TransientError");
        let n: Diagnostic =
            WorkflowError::from_port(PortError::NotFound { service: "s3", message: "k".into() }, "ObjectNotFound")
                .into();
        assert_eq!(n.error_type, "ObjectNotFound");
    }

    #[test]
    fn serde_errors_are_invalid_input() {
        let err: WorkflowError = serde_json::from_str::<u32>("\"x\"").unwrap_err().into();
        assert_eq!(err.name, "InvalidInput");
    }
}
