//! enrollment-check-email: the sign-up e-mail rule. No AWS client: nothing to read.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        enrollment::checks::check_email(&event.payload)
    }))
    .await
}
