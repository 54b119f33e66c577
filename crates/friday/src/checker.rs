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
}

pub async fn check_user<D: ItemStore>(
    db: &D,
    users_table: &str,
    input: CheckInput,
    now: DateTime<Utc>,
) -> Result<FridayCheck, WorkflowError> {
    let profile = load(db, users_table, &input.user_id).await?;
    Ok(check(now, profile.timezone, profile.notify_hour))
}
