//! enrollment-check-name: is the name a name? No AWS client: nothing to read.

use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    lambda_runtime::run(service_fn(|event: LambdaEvent<serde_json::Value>| async move {
        enrollment::checks::check_name(&event.payload)
    }))
    .await
}
