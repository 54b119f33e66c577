//! friday-checker: the user's Friday status and when to remind.

use chrono::{DateTime, Utc};
use common::WorkflowError;
use common::ports::ItemStore;
use serde::Deserialize;

use crate::schedule::{FridayCheck, check};
use crate::users::load;

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckInput {
    pub user_id: String,
    /// The state machine's "now" (`$$.State.EnteredTime`): the clock its Wait compares
    /// `wait` with, so the check and the wait agree on a virtual or manual clock too.
    /// Without it, the function's own clock.
    #[serde(default)]
    pub now: Option<DateTime<Utc>>,
}

/// `system_now` is the function's clock, used when the input carries no `now`.
pub async fn check_user<D: ItemStore>(
    db: &D,
    users_table: &str,
    input: CheckInput,
    system_now: DateTime<Utc>,
) -> Result<FridayCheck, WorkflowError> {
    let now = crate::schedule::supported_instant("now", input.now.unwrap_or(system_now))
        .map_err(WorkflowError::invalid_input)?;
    let profile = load(db, users_table, &input.user_id).await?;
    Ok(check(now, profile.timezone, profile.notify_hour))
}
