//! Lambda tasks: invoking a function through the Lambda Invoke API (the stack's `local-lambda`
//! or `cargo lambda watch` locally, or real Lambda) and turning its answer into a task result
//! or a named error.

use std::future::Future;
use std::pin::Pin;

use serde_json::Value;

use crate::error::StatesError;

pub type InvokeFuture<'a> = Pin<Box<dyn Future<Output = Result<Value, StatesError>> + Send + 'a>>;

/// Calls a function with a JSON payload. A function error comes back as the task's
/// error: its `errorType` as the error name, the error payload as the cause.
pub trait Invoker: Send + Sync {
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> InvokeFuture<'a>;
}

/// The function name inside a Lambda ARN (`arn:aws:lambda:r:a:function:NAME[:QUALIFIER]`),
/// or the input unchanged when it is a plain name.
pub fn function_name(function: &str) -> &str {
    match function.split(':').collect::<Vec<_>>().as_slice() {
        ["arn", _, "lambda", _, _, "function", name, ..] => name,
        _ => function,
    }
}

/// Whether a Task `Resource` is a plain Lambda function ARN (the pre-integration form).
pub fn is_function_arn(resource: &str) -> bool {
    resource.starts_with("arn:") && resource.split(':').nth(2) == Some("lambda") && resource.contains(":function:")
}

/// Reads a function error payload (`{"errorType","errorMessage"}`) as a States error.
pub fn function_error(payload: &[u8]) -> StatesError {
    let cause = String::from_utf8_lossy(payload).into_owned();
    let error = serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|v| v.get("errorType").and_then(Value::as_str).map(str::to_owned))
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| "Lambda.Unknown".to_owned());
    StatesError::new(error, cause)
}

/// An HTTPS client on rustls with ring (the SDK's default provider, aws-lc, is larger).
#[cfg(feature = "aws")]
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// The Invoke API through aws-sdk-lambda, so signing, endpoints (`AWS_ENDPOINT_URL_LAMBDA`)
/// and credentials work as for any SDK client.
#[cfg(feature = "aws")]
pub struct SdkInvoker {
    client: aws_sdk_lambda::Client,
    /// A local emulator knows functions by name only, not by ARN.
    names_only: bool,
}

#[cfg(feature = "aws")]
impl SdkInvoker {
    /// `endpoint`: a local Invoke API (then test credentials and `us-east-1` are used when
    /// none are configured); `None` for the AWS environment's own configuration.
    pub async fn new(endpoint: Option<&str>) -> Self {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest()).http_client(https_client());
        if let Some(url) = endpoint {
            loader = loader.endpoint_url(url);
            if std::env::var("AWS_REGION").is_err() && std::env::var("AWS_DEFAULT_REGION").is_err() {
                loader = loader.region(aws_config::Region::new("us-east-1"));
            }
            if std::env::var("AWS_ACCESS_KEY_ID").is_err() {
                loader = loader.credentials_provider(aws_credential_types::Credentials::new(
                    "test",
                    "test",
                    None,
                    None,
                    "sfn-local",
                ));
            }
        }
        let config = loader.load().await;
        let lambda_config = aws_sdk_lambda::config::Builder::from(&config)
            // A function may run for minutes; the task's own TimeoutSeconds bounds it.
            .timeout_config(
                aws_config::timeout::TimeoutConfig::builder()
                    .connect_timeout(std::time::Duration::from_secs(5))
                    .build(),
            )
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
            .build();
        Self { client: aws_sdk_lambda::Client::from_conf(lambda_config), names_only: endpoint.is_some() }
    }
}

#[cfg(feature = "aws")]
impl Invoker for SdkInvoker {
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> InvokeFuture<'a> {
        Box::pin(async move {
            let target = if self.names_only { function_name(function) } else { function };
            let body = serde_json::to_vec(&payload).map_err(|e| StatesError::runtime(e.to_string()))?;
            let result =
                self.client.invoke().function_name(target).payload(aws_smithy_types::Blob::new(body)).send().await;
            match result {
                Ok(out) => {
                    let bytes = out.payload().map(|b| b.as_ref()).unwrap_or_default();
                    if out.function_error().is_some() {
                        return Err(function_error(bytes));
                    }
                    if bytes.is_empty() {
                        return Ok(Value::Null);
                    }
                    serde_json::from_slice(bytes).map_err(|e| {
                        StatesError::new(
                            "Lambda.Unknown",
                            format!("the function returned a payload that is not JSON: {e}"),
                        )
                    })
                }
                Err(err) => match emulator_function_error(&err) {
                    Some(function_error) => Err(function_error),
                    None => Err(service_error(&err)),
                },
            }
        })
    }
}

/// `cargo lambda watch` (which sfn-local may be pointed at) answers a function error with
/// HTTP 500 and the error payload, where Lambda answers 200 with `X-Amz-Function-Error`. A
/// Lambda service error carries `x-amzn-ErrorType`; a body with `errorType` and no such header
/// is the function's.
#[cfg(feature = "aws")]
fn emulator_function_error(
    err: &aws_sdk_lambda::error::SdkError<
        aws_sdk_lambda::operation::invoke::InvokeError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
) -> Option<StatesError> {
    let raw = err.raw_response()?;
    if raw.headers().get("x-amzn-errortype").is_some() {
        return None;
    }
    let bytes = raw.body().bytes()?;
    let payload: Value = serde_json::from_slice(bytes).ok()?;
    payload.get("errorType").and_then(Value::as_str)?;
    Some(function_error(bytes))
}

/// Lambda service failures under the names Step Functions gives them.
#[cfg(feature = "aws")]
fn service_error<R: std::fmt::Debug>(
    err: &aws_sdk_lambda::error::SdkError<aws_sdk_lambda::operation::invoke::InvokeError, R>,
) -> StatesError {
    use aws_sdk_lambda::error::ProvideErrorMetadata;
    use aws_sdk_lambda::operation::invoke::InvokeError;
    let detail = aws_sdk_lambda::error::DisplayErrorContext(err).to_string();
    match err {
        aws_sdk_lambda::error::SdkError::ServiceError(e) => {
            let name = match e.err() {
                InvokeError::TooManyRequestsException(_) => "Lambda.TooManyRequestsException".to_owned(),
                InvokeError::ServiceException(_) => "Lambda.ServiceException".to_owned(),
                InvokeError::ResourceNotFoundException(_) => "Lambda.ResourceNotFoundException".to_owned(),
                other => match other.code() {
                    Some(code) => format!("Lambda.{code}"),
                    None => "Lambda.AWSLambdaException".to_owned(),
                },
            };
            StatesError::new(name, detail)
        }
        _ => StatesError::new("Lambda.SdkClientException", detail),
    }
}

/// An invoker backed by a closure: for tests and embedding.
pub struct FnInvoker<F>(pub F);

impl<F, Fut> Invoker for FnInvoker<F>
where
    F: Fn(String, Value) -> Fut + Send + Sync,
    Fut: Future<Output = Result<Value, StatesError>> + Send + 'static,
{
    fn invoke<'a>(&'a self, function: &'a str, payload: Value) -> InvokeFuture<'a> {
        Box::pin((self.0)(function_name(function).to_owned(), payload))
    }
}

/// Refuses every call: for running definitions that have no Lambda tasks.
pub struct NoLambda;

impl Invoker for NoLambda {
    fn invoke<'a>(&'a self, function: &'a str, _payload: Value) -> InvokeFuture<'a> {
        Box::pin(async move {
            Err(StatesError::new(
                "Lambda.SdkClientException",
                format!("no Lambda endpoint is configured to call {function}"),
            ))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_out_of_arns() {
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:csv-processor"), "csv-processor");
        assert_eq!(function_name("arn:aws:lambda:us-east-1:123456789012:function:f:live"), "f");
        assert_eq!(function_name("csv-processor"), "csv-processor");
        assert!(is_function_arn("arn:aws:lambda:us-east-1:1:function:f"));
        assert!(!is_function_arn("arn:aws:states:::lambda:invoke"));
    }

    #[test]
    fn function_errors_keep_their_type() {
        let e = function_error(br#"{"errorType":"EmptyCsv","errorMessage":"no rows"}"#);
        assert_eq!(e.error, "EmptyCsv");
        assert!(e.cause.contains("no rows"));
        assert_eq!(function_error(b"garbage").error, "Lambda.Unknown");
    }
}
