//! ingest-starter: S3 event -> one csv-ingest execution per uploaded CSV.

use aws_lambda_events::event::s3::S3Event;
use common::ports::aws::SfnWorkflowStarter;
use common::{Env, parse_input};
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
        let s3_event: S3Event = parse_input(event.payload)?;
        start_uploads(starter, arn, s3_event).await
    }))
    .await
}
