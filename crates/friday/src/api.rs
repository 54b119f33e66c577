//! friday-api: `GET /friday?userId=...` (API Gateway HTTP API, payload 2.0).

use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::http::error;
pub use common::http::respond;
use common::ports::{ItemStore, MAX_EXECUTION_NAME, WorkflowStarter, bounded_execution_name};
use serde_json::json;

use crate::schedule::{Status, check, rfc3339};
use crate::users::{UserError, load};

pub struct ApiConfig {
    pub users_table: String,
    pub state_machine_arn: String,
}

/// One reminder per user and target Friday.
pub fn reminder_name(user_id: &str, friday: chrono::NaiveDate) -> String {
    let suffix = format!("-{friday}");
    // The stem is injective (see `execution_name`) and the suffix has a fixed length, so
    // distinct users never share a reminder.
    format!("{}{suffix}", bounded_execution_name(user_id, MAX_EXECUTION_NAME - suffix.len()))
}

pub async fn handle<D: ItemStore, W: WorkflowStarter>(
    db: &D,
    starter: &W,
    config: &ApiConfig,
    request: &ApiGatewayV2httpRequest,
    now: DateTime<Utc>,
) -> ApiGatewayV2httpResponse {
    let Some(user_id) = request.query_string_parameters.first("userId") else {
        return error(400, "the query parameter userId is required");
    };
    let profile = match load(db, &config.users_table, user_id).await {
        Ok(p) => p,
        Err(e @ UserError::InvalidId(_)) => return error(400, e.to_string()),
        Err(UserError::NotFound(_)) => return error(404, format!("no user {user_id:?}")),
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
            tracing::error!(error = %e, "starting the reminder failed");
            error(503, "could not schedule the reminder; try again")
        }
    }
}
