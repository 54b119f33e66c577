//! The documents Lambda answers with: its Invoke API errors, and the function errors it
//! writes itself when a function's process dies, times out or cannot start.

use std::time::Duration;

use serde_json::{Value, json};

/// Lambda's synchronous payload limits, request and response.
pub const MAX_REQUEST_BYTES: usize = 6_291_456;
pub const MAX_RESPONSE_BYTES: usize = 6_291_556;

/// An Invoke API error: HTTP status, `x-amzn-ErrorType`, and its JSON body.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceError {
    pub status: u16,
    pub error_type: &'static str,
    pub body: Value,
}

impl ServiceError {
    fn user(status: u16, error_type: &'static str, message: String) -> Self {
        Self { status, error_type, body: json!({"Type": "User", "message": message}) }
    }

    pub fn function_not_found(arn: &str) -> Self {
        // This one document spells its key "Message" (as a real 404 from Lambda shows).
        Self {
            status: 404,
            error_type: "ResourceNotFoundException",
            body: json!({"Type": "User", "Message": format!("Function not found: {arn}")}),
        }
    }

    pub fn too_many_requests() -> Self {
        Self {
            status: 429,
            error_type: "TooManyRequestsException",
            body: json!({"Reason": "ConcurrentInvocationLimitExceeded", "Type": "User", "message": "Rate Exceeded."}),
        }
    }

    pub fn request_too_large() -> Self {
        Self::user(
            413,
            "RequestTooLargeException",
            format!("Request must be smaller than {MAX_REQUEST_BYTES} bytes for the InvokeFunction operation"),
        )
    }

    pub fn not_json(reason: &str) -> Self {
        Self::user(400, "InvalidRequestContentException", format!("Could not parse request body into json: {reason}"))
    }
}

fn function_error(error_type: &str, message: String) -> Vec<u8> {
    json!({"errorType": error_type, "errorMessage": message}).to_string().into_bytes()
}

/// The process ended while it held an invocation (killed, out of memory, `exit`).
pub fn runtime_exit(request_id: &str, how: &str) -> Vec<u8> {
    function_error("Runtime.ExitError", format!("RequestId: {request_id} Error: Runtime exited with error: {how}"))
}

/// The invocation outlived the function's `Timeout`; Lambda stops the process.
pub fn timed_out(request_id: &str, timeout: Duration) -> Vec<u8> {
    function_error(
        "Sandbox.Timedout",
        format!("RequestId: {request_id} Error: Task timed out after {:.2} seconds", timeout.as_secs_f64()),
    )
}

/// The function's executable is missing or cannot be run.
pub fn invalid_entrypoint(request_id: &str, binary: &str, error: &std::io::Error) -> Vec<u8> {
    let message = if error.kind() == std::io::ErrorKind::NotFound {
        format!("RequestId: {request_id} Error: Couldn't find valid bootstrap(s): [{binary}]")
    } else {
        format!("RequestId: {request_id} Error: fork/exec {binary}: {error}")
    };
    function_error("Runtime.InvalidEntrypoint", message)
}

pub fn response_too_large() -> Vec<u8> {
    function_error(
        "Function.ResponseSizeTooLarge",
        format!("Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE_BYTES} bytes)."),
    )
}

/// How a process ended, in the words Lambda's own messages use (Go's `ProcessState`).
pub fn describe_exit(status: &std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    if let Some(code) = status.code() {
        return format!("exit status {code}");
    }
    match status.signal() {
        Some(signal) => {
            let name = match signal {
                1 => "hangup",
                2 => "interrupt",
                3 => "quit",
                4 => "illegal instruction",
                6 => "aborted",
                7 => "bus error",
                8 => "floating point exception",
                9 => "killed",
                11 => "segmentation fault",
                13 => "broken pipe",
                15 => "terminated",
                other => return format!("signal: {other}"),
            };
            format!("signal: {name}")
        }
        None => "exit status unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exits_are_described_as_lambda_words_them() {
        // "Runtime exited with error: signal: killed" is what Lambda reports for an OOM kill.
        assert_eq!(describe_exit(&std::process::ExitStatus::from_raw(9)), "signal: killed");
        assert_eq!(describe_exit(&std::process::ExitStatus::from_raw(1 << 8)), "exit status 1");
        assert_eq!(describe_exit(&std::process::ExitStatus::from_raw(6)), "signal: aborted");
    }

    #[test]
    fn a_timeout_names_the_configured_seconds_with_two_decimals() {
        let body: Value = serde_json::from_slice(&timed_out("r-1", Duration::from_secs(900))).unwrap();
        assert_eq!(body["errorType"], "Sandbox.Timedout");
        assert_eq!(body["errorMessage"], "RequestId: r-1 Error: Task timed out after 900.00 seconds");
    }
}
