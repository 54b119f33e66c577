//! file-mover: moves an upload to processed/ or failed/ in the archive bucket.

use common::ports::aws::S3ObjectStore;
use common::{Env, Resources, parse_input};
use ingest::mover::move_object;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let env = Env::process();
    let target_bucket = Resources::from_env(&env).target_bucket;
    // Objects over CopyObject's 5 GiB limit are always copied in parts; these lower the
    // threshold (AWS suggests parts for anything over a few hundred MB).
    let threshold = env.parse_or("MULTIPART_COPY_THRESHOLD_BYTES", common::ports::MAX_COPY_OBJECT)?;
    let part_size = env.parse_or("MULTIPART_COPY_PART_BYTES", 512u64 * 1024 * 1024)?;
    let sdk = common::aws::load_sdk_config().await;
    let store = S3ObjectStore::new(common::aws::s3_client(&sdk)).with_multipart_copy(threshold, part_size);
    let (store, target_bucket) = (&store, target_bucket.as_str());
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        move_object(store, target_bucket, parse_input(event.payload)?).await
    }))
    .await
}
