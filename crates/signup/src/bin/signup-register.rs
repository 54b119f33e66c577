//! signup-register: `POST /register` stores a pending customer, e-mails the confirmation
//! link and starts `confirmation-reminder`.

use common::ports::aws::{DynamoItemStore, SesEmailSender, SfnWorkflowStarter};
use common::{Env, Resources};
use lambda_runtime::{LambdaEvent, service_fn};
use signup::register::{RegisterConfig, handle};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let env = Env::process();
    let resources = Resources::from_env(&env);
    let config = RegisterConfig {
        customers_table: resources.customers_table,
        public_base_url: resources.public_base_url,
        sender_email: resources.sender_email,
        state_machine_arn: common::config::state_machine_arn(
            &env,
            "CONFIRMATION_REMINDER_STATE_MACHINE_ARN",
            "confirmation-reminder",
        )?,
    };
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let mail = SesEmailSender::new(common::aws::sesv2_client(&sdk));
    let starter = SfnWorkflowStarter::new(common::aws::sfn_client(&sdk));
    let (db, mail, starter, config) = (&db, &mail, &starter, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let response = match common::http::request_from(event.payload) {
            Ok(request) => handle(db, mail, starter, config, &request, chrono::Utc::now()).await,
            Err(refusal) => refusal.into_response(),
        };
        Ok::<_, common::WorkflowError>(response)
    }))
    .await
}
