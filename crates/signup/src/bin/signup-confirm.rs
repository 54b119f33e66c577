//! signup-confirm: `GET /confirm?customerId=...&token=...` marks the customer CONFIRMED.

use common::ports::aws::DynamoItemStore;
use common::{Env, Resources};
use lambda_runtime::{LambdaEvent, service_fn};
use signup::confirm::handle;

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let customers_table = Resources::from_env(&Env::process()).customers_table;
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let (db, customers_table) = (&db, customers_table.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let response = match common::http::request_from(event.payload) {
            Ok(request) => handle(db, customers_table, &request, chrono::Utc::now()).await,
            Err(refusal) => refusal.into_response(),
        };
        Ok::<_, common::WorkflowError>(response)
    }))
    .await
}
