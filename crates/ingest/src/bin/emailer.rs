//! emailer: sends the csv-ingest report (SES v2) to REPORT_EMAIL.

use common::ports::aws::SesEmailSender;
use common::{Env, Resources, parse_input};
use ingest::emailer::send_report;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let resources = Resources::from_env(&Env::process());
    let sdk = common::aws::load_sdk_config().await;
    let sender = SesEmailSender::new(common::aws::sesv2_client(&sdk));
    let (sender, resources) = (&sender, &resources);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        send_report(
            sender,
            &resources.sender_email,
            &resources.report_email,
            &resources.target_bucket,
            parse_input(event.payload)?,
        )
        .await
    }))
    .await
}
