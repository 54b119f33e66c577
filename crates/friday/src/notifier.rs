//! friday-notifier: a push to each of the user's devices, one `SendMessages` call.

use common::WorkflowError;
use common::ports::{ItemStore, PushMessage, PushSender, PushTarget};
use serde::{Deserialize, Serialize};

use crate::users::load;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyInput {
    pub user_id: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenResult {
    pub token: String,
    pub platform: String,
    pub delivered: bool,
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct NotifyOutput {
    pub user_id: String,
    pub delivered: usize,
    pub failed: usize,
    pub results: Vec<TokenResult>,
}

pub fn friday_message() -> PushMessage {
    PushMessage { title: "It's Friday!".into(), body: "Happy Friday! The weekend is almost here.".into() }
}

pub async fn notify<D: ItemStore, P: PushSender>(
    db: &D,
    push: &P,
    users_table: &str,
    app_id: &str,
    input: NotifyInput,
) -> Result<NotifyOutput, WorkflowError> {
    let profile = load(db, users_table, &input.user_id).await?;
    if profile.devices.is_empty() {
        return Err(WorkflowError::named("NoDeviceRegistered", format!("user {:?} has no push device", input.user_id)));
    }
    let (pushable, unsupported): (Vec<_>, Vec<_>) = profile.devices.iter().partition(|d| d.channel().is_some());
    let targets: Vec<PushTarget> = pushable
        .iter()
        .filter_map(|d| d.channel().map(|channel| PushTarget { token: d.token.clone(), channel }))
        .collect();
    let mut results = Vec::with_capacity(profile.devices.len());
    if !targets.is_empty() {
        let deliveries = push
            .send(app_id, &targets, &friday_message())
            .await
            .map_err(|e| WorkflowError::from_port(e, "PushRejected"))?;
        for (delivery, target) in deliveries.into_iter().zip(&targets) {
            results.push(TokenResult {
                token: delivery.token,
                platform: target.channel.as_str().to_owned(),
                delivered: delivery.delivered,
                status: delivery.status,
                message: delivery.message,
            });
        }
    }
    for device in unsupported {
        results.push(TokenResult {
            token: device.token.clone(),
            platform: device.platform.clone(),
            delivered: false,
            status: "UNSUPPORTED_PLATFORM".into(),
            message: Some(format!("platform {:?} is neither APNS nor GCM", device.platform)),
        });
    }
    let delivered = results.iter().filter(|r| r.delivered).count();
    tracing::info!(user = %input.user_id, delivered, failed = results.len() - delivered, "pushed");
    Ok(NotifyOutput { user_id: input.user_id, delivered, failed: results.len() - delivered, results })
}
