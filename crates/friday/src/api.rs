//! friday-api: `GET /friday?userId=...` (API Gateway HTTP API, payload 2.0).

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
pub use common::http::respond;
use common::http::{error, has_body, single_query_parameter};
use common::ports::{ItemStore, MAX_EXECUTION_NAME, WorkflowStarter, bounded_execution_name};
use serde_json::json;

use crate::redact;
use crate::schedule::{Status, check, rfc3339};
use crate::users::{UserError, load};

pub struct ApiConfig {
    pub users_table: String,
    pub state_machine_arn: String,
}

/// The instant API Gateway received the request (`requestContext.timeEpoch`, set by
/// API Gateway, not by the caller): "is it Friday" is answered for the moment the user
/// asked, the same on a retried invocation, and a test can ask at any instant. `None`
/// for an event that was not made by API Gateway (no or a zero `timeEpoch`).
pub fn request_time(request: &ApiGatewayV2httpRequest) -> Option<DateTime<Utc>> {
    match request.request_context.time_epoch {
        millis if millis > 0 => DateTime::from_timestamp_millis(millis),
        _ => None,
    }
}

/// One reminder per user and target Friday.
pub fn reminder_name(user_id: &str, friday: chrono::NaiveDate) -> String {
    let suffix = format!("-{friday}");
    // The stem is injective (see `execution_name`) and the suffix has a fixed length, so
    // distinct users never share a reminder.
    format!("{}{suffix}", bounded_execution_name(user_id, MAX_EXECUTION_NAME - suffix.len()))
}

/// The one `userId` of the query, or why the request is refused (a 400).
fn user_id_of(request: &ApiGatewayV2httpRequest) -> Result<String, String> {
    if has_body(request) {
        return Err("GET /friday takes no body: give userId in the query string".into());
    }
    match single_query_parameter(request, "userId") {
        Ok(Some(user_id)) => Ok(user_id),
        Ok(None) => Err("the query parameter userId is required".into()),
        Err(repeated) => Err(repeated.to_string()),
    }
}

pub async fn handle<D: ItemStore, W: WorkflowStarter>(
    db: &D,
    starter: &W,
    config: &ApiConfig,
    request: &ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    let user_id = match user_id_of(request) {
        Ok(user_id) => user_id,
        Err(refusal) => return error(400, refusal),
    };
    let user_id = user_id.as_str();
    // Every message below names the user masked (see `UserError`): the caller knows its
    // own id, but answers end up in access logs and traces too.
    let profile = match load(db, &config.users_table, user_id).await {
        Ok(p) => p,
        Err(e @ UserError::InvalidId(_)) => return error(400, e.to_string()),
        Err(e @ UserError::NotFound(_)) => return error(404, e.to_string()),
        Err(e @ (UserError::Invalid { .. } | UserError::Malformed { .. })) => return error(422, e.to_string()),
        Err(UserError::Port(e)) => {
            tracing::error!(error = %e, "reading the user failed");
            return error(503, "the user store is unavailable; try again");
        }
    };
    let friday = check(now, profile.timezone, profile.notify_hour);
    if friday.status == Status::Friday {
        return respond(200, json!({"friday": true, "today": friday.today, "timezone": friday.timezone}));
    }
    let target_friday = friday.wait.with_timezone(&profile.timezone).date_naive();
    let name = reminder_name(user_id, target_friday);
    match starter.start(&config.state_machine_arn, &name, &json!({"userId": user_id})).await {
        Ok(outcome) => respond(
            202,
            json!({
                "friday": false,
                "today": friday.today,
                "timezone": friday.timezone,
                "daysUntilFriday": friday.days_until_friday,
                "remindAt": rfc3339(friday.wait),
                "executionArn": outcome.execution_arn(),
            }),
        ),
        Err(e) => {
            // The execution name (and ARN) carries the readable part of the id.
            let e = redact::port_error(e, &[user_id, &name]);
            tracing::error!(error = %e, user = %common::telemetry::mask(user_id), "starting the reminder failed");
            error(503, "could not schedule the reminder; try again")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn users_a_dot_b_a_underscore_b_and_a_at_b_get_different_reminder_names() {
        let friday = chrono::NaiveDate::from_ymd_opt(2026, 11, 20).expect("a date");
        let names: std::collections::BTreeSet<String> =
            ["a.b", "a_b", "a@b"].iter().map(|id| reminder_name(id, friday)).collect();
        assert_eq!(names.len(), 3, "{names:?}");
        let long = "x".repeat(128);
        assert!(reminder_name(&long, friday).len() <= MAX_EXECUTION_NAME);
        assert!(reminder_name(&long, friday).ends_with("-2026-11-20"));
    }
}
