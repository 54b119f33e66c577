//! signup-reminder: a day after sign-up, the reminder to a customer still PENDING.

use common::ports::aws::{DynamoItemStore, SesEmailSender};
use common::{Env, Resources, parse_input};
use lambda_runtime::{LambdaEvent, service_fn};
use signup::reminder::{ReminderConfig, remind};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let resources = Resources::from_env(&Env::process());
    let config = ReminderConfig {
        customers_table: resources.customers_table,
        public_base_url: resources.public_base_url,
        sender_email: resources.sender_email,
    };
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let mail = SesEmailSender::new(common::aws::sesv2_client(&sdk));
    let (db, mail, config) = (&db, &mail, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        remind(db, mail, config, parse_input(event.payload)?).await
    }))
    .await
}
