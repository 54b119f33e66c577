//! User profiles in `USERS_TABLE`: time zone, notify hour, push devices.

use chrono_tz::Tz;
use common::ports::{AttrValue, Item, ItemStore, PushChannel};
use common::telemetry::mask;
use common::{PortError, WorkflowError};

use crate::schedule::{ProfileError, parse_hour, parse_timezone};

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    pub token: String,
    /// `APNS` or `GCM` as stored; anything else cannot be pushed to.
    pub platform: String,
}

impl Device {
    pub fn channel(&self) -> Option<PushChannel> {
        PushChannel::parse(&self.platform)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserProfile {
    pub user_id: String,
    pub timezone: Tz,
    pub notify_hour: u32,
    pub devices: Vec<Device>,
}

/// Why a profile could not be read. The user id in each variant is already masked
/// ([`mask`]): these messages reach logs, execution histories and HTTP answers.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    #[error("userId {0} is not valid: 1-128 characters of letters, digits and ._@+-")]
    InvalidId(String),
    #[error("no user {0}")]
    NotFound(String),
    #[error("user {user_id} has an invalid profile: {problem}")]
    Invalid { user_id: String, problem: ProfileError },
    #[error("user {user_id} has an invalid profile: {problem}")]
    Malformed { user_id: String, problem: String },
    #[error(transparent)]
    Port(PortError),
}

impl From<UserError> for WorkflowError {
    fn from(err: UserError) -> Self {
        match err {
            UserError::NotFound(_) => WorkflowError::named("UserNotFound", err.to_string()),
            UserError::InvalidId(_) | UserError::Invalid { .. } | UserError::Malformed { .. } => {
                WorkflowError::invalid_input(err.to_string())
            }
            UserError::Port(port) => WorkflowError::from_port(port, "StorageError"),
        }
    }
}

pub fn user_key(user_id: &str) -> Item {
    Item::from([("userId".to_owned(), AttrValue::string(user_id))])
}

/// Reads a profile item; the offending value is named when it is wrong.
pub fn profile_from_item(user_id: &str, item: &Item) -> Result<UserProfile, UserError> {
    let malformed = |problem: String| UserError::Malformed { user_id: mask(user_id), problem };
    let invalid = |problem| UserError::Invalid { user_id: mask(user_id), problem };
    let timezone = match item.get("timezone") {
        Some(AttrValue::S(zone)) => parse_timezone(zone).map_err(invalid)?,
        Some(other) => return Err(malformed(format!("timezone must be a string, got {}", kind(other)))),
        None => return Err(malformed("timezone is missing".into())),
    };
    let notify_hour = match item.get("notifyHour") {
        None | Some(AttrValue::Null) => parse_hour(None).map_err(invalid)?,
        Some(AttrValue::N(n)) => parse_hour(Some(n)).map_err(invalid)?,
        Some(other) => return Err(malformed(format!("notifyHour must be a number, got {}", kind(other)))),
    };
    let devices = match item.get("devices") {
        None | Some(AttrValue::Null) => Vec::new(),
        Some(AttrValue::L(list)) => list
            .iter()
            .filter_map(|d| match d {
                AttrValue::M(m) => Some(Device {
                    token: m.get("token").and_then(AttrValue::as_str).unwrap_or_default().to_owned(),
                    platform: m.get("platform").and_then(AttrValue::as_str).unwrap_or_default().to_owned(),
                }),
                _ => None,
            })
            .filter(|d| !d.token.is_empty())
            .collect(),
        Some(other) => return Err(malformed(format!("devices must be a list, got {}", kind(other)))),
    };
    Ok(UserProfile { user_id: user_id.to_owned(), timezone, notify_hour, devices })
}

/// The DynamoDB type of a value, for messages: the value itself may hold a token.
fn kind(value: &AttrValue) -> &'static str {
    match value {
        AttrValue::S(_) => "a string (S)",
        AttrValue::N(_) => "a number (N)",
        AttrValue::Bool(_) => "a boolean (BOOL)",
        AttrValue::Null => "null (NULL)",
        AttrValue::L(_) => "a list (L)",
        AttrValue::M(_) => "a map (M)",
    }
}

/// Reads a user's profile; an id that cannot be a user id is refused before any lookup.
pub async fn load<D: ItemStore>(db: &D, table: &str, user_id: &str) -> Result<UserProfile, UserError> {
    if !valid_user_id(user_id) {
        return Err(UserError::InvalidId(mask(user_id)));
    }
    let item = db
        .get(table, user_key(user_id))
        .await
        .map_err(|e| UserError::Port(crate::redact::port_error(e, &[user_id])))?
        .ok_or_else(|| UserError::NotFound(mask(user_id)))?;
    profile_from_item(user_id, &item)
}

/// User ids are 1-128 characters of letters, digits and `._@+-`.
pub fn valid_user_id(raw: &str) -> bool {
    (1..=128).contains(&raw.len()) && raw.chars().all(|c| c.is_ascii_alphanumeric() || "._@+-".contains(c))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn item(pairs: &[(&str, AttrValue)]) -> Item {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
    }

    #[test]
    fn profiles_read_with_defaults() {
        let device = AttrValue::M(BTreeMap::from([
            ("token".to_owned(), AttrValue::string("abc")),
            ("platform".to_owned(), AttrValue::string("APNS")),
        ]));
        let p = profile_from_item(
            "u",
            &item(&[("timezone", AttrValue::string("Asia/Tokyo")), ("devices", AttrValue::L(vec![device]))]),
        )
        .unwrap();
        assert_eq!(p.notify_hour, 9);
        assert_eq!(p.devices, vec![Device { token: "abc".into(), platform: "APNS".into() }]);
        assert_eq!(p.devices[0].channel(), Some(PushChannel::Apns));
    }

    #[test]
    fn bad_values_are_named() {
        let err = profile_from_item("u", &item(&[("timezone", AttrValue::string("Nowhere/Town"))])).unwrap_err();
        assert!(err.to_string().contains("Nowhere/Town"));
        let err = profile_from_item(
            "u",
            &item(&[("timezone", AttrValue::string("UTC")), ("notifyHour", AttrValue::number(25))]),
        )
        .unwrap_err();
        assert!(err.to_string().contains("notifyHour 25"));
        let err: WorkflowError = profile_from_item("u", &item(&[])).unwrap_err().into();
        assert_eq!(err.name, "InvalidInput");
        assert!(err.message.contains("timezone is missing"));
    }

    #[test]
    fn profile_errors_name_the_user_masked_and_never_quote_values() {
        let secret_device = AttrValue::M(BTreeMap::from([("token".to_owned(), AttrValue::string("secret-token-1"))]));
        let err = profile_from_item(
            "jane.doe@example.com",
            &item(&[("timezone", AttrValue::string("UTC")), ("devices", secret_device)]),
        )
        .unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(text.contains(&mask("jane.doe@example.com")), "{text}");
        assert!(text.contains("devices must be a list, got a map (M)"), "{text}");
        assert!(!text.contains("jane.doe") && !text.contains("secret-token-1"), "{text}");
    }

    #[tokio::test]
    async fn unknown_and_invalid_ids_are_masked_in_the_error() {
        let db = common::ports::memory::MemoryItemStore::new().with_table("users", &["userId"]);
        let missing = load(&db, "users", "jane.doe@example.com").await.unwrap_err();
        let invalid = load(&db, "users", "jane doe@example.com").await.unwrap_err();
        for err in [missing, invalid] {
            let workflow: WorkflowError = err.into();
            let text = format!("{workflow} {workflow:?}");
            assert!(!text.contains("jane"), "{text}");
            assert!(text.contains("ja***#"), "{text}");
        }
    }

    #[tokio::test]
    async fn a_storage_error_quoting_the_id_is_scrubbed() {
        let db = common::ports::memory::MemoryItemStore::new().with_table("users", &["userId"]);
        db.failures.push(PortError::Rejected {
            service: "dynamodb",
            code: "ValidationException".into(),
            message: "bad key jane.doe@example.com".into(),
        });
        let err: WorkflowError = load(&db, "users", "jane.doe@example.com").await.unwrap_err().into();
        assert_eq!(err.name, "StorageError");
        assert!(!err.message.contains("jane.doe") && err.message.contains(&mask("jane.doe@example.com")), "{err}");
    }

    #[test]
    fn user_ids_are_checked() {
        assert!(valid_user_id("jane.doe@example.com"));
        assert!(valid_user_id("user-42"));
        assert!(!valid_user_id(""));
        assert!(!valid_user_id("a b"));
        assert!(!valid_user_id(&"x".repeat(129)));
    }
}
