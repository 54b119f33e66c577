//! friday-notifier: pushes the Friday message to each of the user's devices.

use common::ports::aws::{DynamoItemStore, PinpointPushSender};
use common::{Env, Resources, parse_input};
use friday::notifier::notify;
use lambda_runtime::{LambdaEvent, service_fn};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    common::telemetry::init();
    let resources = Resources::from_env(&Env::process());
    let sdk = common::aws::load_sdk_config().await;
    let db = DynamoItemStore::new(common::aws::dynamodb_client(&sdk));
    let push = PinpointPushSender::new(common::aws::pinpoint_client(&sdk));
    let (db, push, resources) = (&db, &push, &resources);
    lambda_runtime::run(service_fn(move |event: LambdaEvent<serde_json::Value>| async move {
        let input = parse_input(event.payload)?;
        notify(db, push, &resources.users_table, &resources.pinpoint_app_id, input, chrono::Utc::now()).await
    }))
    .await
}
