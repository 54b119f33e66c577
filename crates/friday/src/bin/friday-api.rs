//! friday-api: `GET /friday?userId=...` answers whether it is Friday for the user and
//! schedules a reminder when it is not.

use common::ports::aws::{DynamoItemStore, SfnWorkflowStarter};
use common::{Env, Resources};
use friday::api::{ApiConfig, handle, request_time};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let env = Env::process();
    let config = ApiConfig {
        users_table: Resources::from_env(&env).users_table,
        state_machine_arn: common::config::state_machine_arn(
            &env,
            "FRIDAY_REMINDER_STATE_MACHINE_ARN",
            "friday-reminder",
        )?,
    };
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let starter = SfnWorkflowStarter::new(common::aws::sfn_client(&sdk));
    let (db, starter, config) = (&db, &starter, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        // A body API Gateway would never send is still answered, as a 400.
        let response = match common::http::request_from(event.payload) {
            Ok(request) => {
                let now = request_time(&request).unwrap_or_else(chrono::Utc::now);
                handle(db, starter, config, &request, now).await
            }
            Err(refusal) => refusal.into_response(),
        };
        Ok::<_, common::WorkflowError>(response)
    }))
    .await
}
