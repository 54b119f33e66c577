//! ingest-starter: S3 event (notification or EventBridge) -> one csv-ingest execution per uploaded CSV.

use common::Env;
use common::ports::aws::SfnWorkflowStarter;
use ingest::starter::start_uploads;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let env = Env::process();
    let state_machine_arn = common::config::state_machine_arn(&env, "CSV_INGEST_STATE_MACHINE_ARN", "csv-ingest")?;
    let sdk = common::aws::load_sdk_config().await;
    let starter = SfnWorkflowStarter::new(common::aws::sfn_client(&sdk));
    let (starter, arn) = (&starter, state_machine_arn.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        start_uploads(starter, arn, &event.payload).await
    }))
    .await
}
