//! enrollment-validate: the checks' results and the records, combined into one decision.

use common::ports::aws::DynamoItemStore;
use common::{Env, Resources};
use enrollment::records::Tables;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let tables = Tables::from_resources(&Resources::from_env(&Env::process()));
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let (db, tables) = (&db, &tables);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        enrollment::validate::validate(db, tables, &event.payload).await
    }))
    .await
}
