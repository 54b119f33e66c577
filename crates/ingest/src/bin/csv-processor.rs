//! csv-processor: streams an uploaded CSV into the sensor table.

use common::ports::aws::{DynamoItemStore, S3ObjectStore};
use common::{Env, parse_input};
use ingest::processor::{ProcessorConfig, process};
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let config = ProcessorConfig::from_env(&Env::process())?;
    let sdk = common::aws::load_sdk_config().await;
    let store = S3ObjectStore::new(common::aws::s3_client(&sdk));
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let (store, db, config) = (&store, &db, &config);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        process(store, db, config, parse_input(event.payload)?).await
    }))
    .await
}
