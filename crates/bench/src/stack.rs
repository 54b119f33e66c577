//! The local stack as the bench reaches it: each part's address and SDK clients for it.

/// A part of the local stack, on the port its variable names (as in scripts/stack.sh).
pub(crate) fn local(port_var: &str, default_port: u16) -> String {
    let port = std::env::var(port_var).ok().and_then(|p| p.parse::<u16>().ok()).unwrap_or(default_port);
    format!("http://127.0.0.1:{port}")
}

pub(crate) async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "bench"))
        .endpoint_url(endpoint)
        .http_client(common::aws::https_client())
        .load()
        .await
}

pub(crate) fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}
