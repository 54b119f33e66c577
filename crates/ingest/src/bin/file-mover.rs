//! file-mover: moves an upload to processed/ or failed/ in the archive bucket.

use common::ports::aws::S3ObjectStore;
use common::{Env, Resources, parse_input};
use ingest::mover::move_object;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let target_bucket = Resources::from_env(&Env::process()).target_bucket;
    let sdk = common::aws::load_sdk_config().await;
    let store = S3ObjectStore::new(common::aws::s3_client(&sdk));
    let (store, target_bucket) = (&store, target_bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        move_object(store, target_bucket, parse_input(event.payload)?).await
    }))
    .await
}
