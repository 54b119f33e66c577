//! friday-notifier: when the reminder wakes, re-reads the profile; if the user's hour or
//! zone has moved the reminder later, answers `RESCHEDULED` (the state machine waits
//! again), otherwise pushes to each device in one `SendMessages` call.
//!
//! Nothing that leaves this function (output, error, log line) holds a full user id or
//! device token: ids are masked, tokens redacted.

use chrono::{DateTime, Utc};
use common::WorkflowError;
use common::ports::{ItemStore, PushMessage, PushSender, PushTarget};
use common::telemetry::{mask, redact_token};
use serde::{Deserialize, Serialize};

use crate::redact;
use crate::schedule::{Recheck, parse_timezone, recheck, rfc3339};
use crate::users::{Device, UserProfile, load};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NotifyInput {
    pub user_id: String,
    /// The instant the reminder was scheduled for (the checker's `wait`)...
    pub remind_at: DateTime<Utc>,
    /// ...and the zone it was computed in (the checker's `timezone`): together they name
    /// the reminder's Friday.
    pub timezone: String,
    /// The state machine's "now" (`$$.State.EnteredTime`); without it, the function's clock.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotifyStatus {
    /// Due: the push was sent (each token's result in `results`).
    Sent,
    /// The profile now puts the reminder later: nothing sent, wait until `remindAt`.
    Rescheduled,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TokenResult {
    /// Redacted: its first characters and a hash.
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
    pub status: NotifyStatus,
    /// Masked: its first characters and a hash.
    pub user_id: String,
    /// When the reminder is due under the current profile (UTC, RFC 3339).
    pub remind_at: String,
    pub delivered: usize,
    pub failed: usize,
    pub results: Vec<TokenResult>,
}

pub fn friday_message() -> PushMessage {
    PushMessage { title: "It's Friday!".into(), body: "Happy Friday! The weekend is almost here.".into() }
}

/// `system_now` is the function's clock, used when the input carries no `now`.
pub async fn notify<D: ItemStore, P: PushSender>(
    db: &D,
    push: &P,
    users_table: &str,
    app_id: &str,
    input: NotifyInput,
    system_now: DateTime<Utc>,
) -> Result<NotifyOutput, WorkflowError> {
    let scheduled_zone = parse_timezone(&input.timezone).map_err(|e| WorkflowError::invalid_input(e.to_string()))?;
    let supported = |name, at| crate::schedule::supported_instant(name, at).map_err(WorkflowError::invalid_input);
    let now = supported("now", input.now.unwrap_or(system_now))?;
    supported("remindAt", input.remind_at)?;
    let profile = load(db, users_table, &input.user_id).await?;
    let user = mask(&input.user_id);
    match recheck(input.remind_at, scheduled_zone, now, profile.timezone, profile.notify_hour) {
        Recheck::Later(due) => {
            tracing::info!(%user, remind_at = %rfc3339(due), "the profile moved the reminder later: waiting again");
            Ok(NotifyOutput {
                status: NotifyStatus::Rescheduled,
                user_id: user,
                remind_at: rfc3339(due),
                delivered: 0,
                failed: 0,
                results: Vec::new(),
            })
        }
        Recheck::Due(due) => {
            let results = push_to_devices(push, app_id, &profile).await?;
            let delivered = results.iter().filter(|r| r.delivered).count();
            let failed = results.len() - delivered;
            tracing::info!(%user, delivered, failed, "pushed");
            Ok(NotifyOutput {
                status: NotifyStatus::Sent,
                user_id: user,
                remind_at: rfc3339(due),
                delivered,
                failed,
                results,
            })
        }
    }
}

async fn push_to_devices<P: PushSender>(
    push: &P,
    app_id: &str,
    profile: &UserProfile,
) -> Result<Vec<TokenResult>, WorkflowError> {
    if profile.devices.is_empty() {
        return Err(WorkflowError::named(
            "NoDeviceRegistered",
            format!("user {} has no push device", mask(&profile.user_id)),
        ));
    }
    let (pushable, unsupported): (Vec<&Device>, Vec<&Device>) =
        profile.devices.iter().partition(|d| d.channel().is_some());
    let targets: Vec<PushTarget> = pushable
        .iter()
        .filter_map(|d| d.channel().map(|channel| PushTarget { token: d.token.clone(), channel }))
        .collect();
    // The push service's words may quote a token (or the user id): scrub both.
    let secrets: Vec<&str> = profile.devices.iter().map(|d| d.token.as_str()).collect();
    let scrub = |text: &str| redact::ids(&redact::tokens(text, &secrets), &[&profile.user_id]);
    let mut results = Vec::with_capacity(profile.devices.len());
    if !targets.is_empty() {
        let deliveries = push.send(app_id, &targets, &friday_message()).await.map_err(|e| {
            let scrubbed = redact::port_error(redact::port_error_tokens(e, &secrets), &[&profile.user_id]);
            WorkflowError::from_port(scrubbed, "PushRejected")
        })?;
        for (delivery, target) in deliveries.into_iter().zip(&targets) {
            results.push(TokenResult {
                token: redact_token(&delivery.token),
                platform: target.channel.as_str().to_owned(),
                delivered: delivery.delivered,
                status: delivery.status,
                message: delivery.message.as_deref().map(scrub),
            });
        }
    }
    for device in unsupported {
        results.push(TokenResult {
            token: redact_token(&device.token),
            platform: device.platform.clone(),
            delivered: false,
            status: "UNSUPPORTED_PLATFORM".into(),
            message: Some(format!("platform {:?} is neither APNS nor GCM", device.platform)),
        });
    }
    Ok(results)
}
