//! One `aws_config` load per process, and the service clients built from it.
//!
//! `AWS_ENDPOINT_URL` / `AWS_ENDPOINT_URL_<SERVICE>` (read by aws-config itself) point
//! the clients at the local stack; S3 then switches to path-style addressing, since
//! `bucket.127.0.0.1` does not resolve.

use aws_config::{BehaviorVersion, SdkConfig};

/// The HTTPS client every SDK client shares: rustls with the ring provider (the SDK's
/// default, aws-lc, adds megabytes to each binary).
pub fn https_client() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
    aws_smithy_http_client::Builder::new().tls_provider(Provider::Rustls(CryptoMode::Ring)).build_https()
}

/// Loads the shared SDK configuration (region, credentials, endpoints) once.
pub async fn load_sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).http_client(https_client()).load().await
}

fn endpoint_overridden(service_env_suffix: &str) -> bool {
    let set = |name: &str| std::env::var(name).is_ok_and(|v| !v.trim().is_empty());
    set("AWS_ENDPOINT_URL") || set(&format!("AWS_ENDPOINT_URL_{service_env_suffix}"))
}

pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let builder = aws_sdk_s3::config::Builder::from(config).force_path_style(endpoint_overridden("S3"));
    aws_sdk_s3::Client::from_conf(builder.build())
}

pub fn dynamodb_client(config: &SdkConfig) -> aws_sdk_dynamodb::Client {
    aws_sdk_dynamodb::Client::new(config)
}

pub fn sesv2_client(config: &SdkConfig) -> aws_sdk_sesv2::Client {
    aws_sdk_sesv2::Client::new(config)
}

pub fn sfn_client(config: &SdkConfig) -> aws_sdk_sfn::Client {
    aws_sdk_sfn::Client::new(config)
}

pub fn pinpoint_client(config: &SdkConfig) -> aws_sdk_pinpoint::Client {
    aws_sdk_pinpoint::Client::new(config)
}
