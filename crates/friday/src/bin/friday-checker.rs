//! friday-checker: the user's Friday status and the instant to remind at.

use common::ports::aws::DynamoItemStore;
use common::{Env, Resources, parse_input};
use friday::checker::check_user;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let users_table = Resources::from_env(&Env::process()).users_table;
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let (db, users_table) = (&db, users_table.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        check_user(db, users_table, parse_input(event.payload)?, chrono::Utc::now()).await
    }))
    .await
}
