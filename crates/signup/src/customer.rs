//! The customer record in `CUSTOMERS_TABLE` (`customerId` (S) as key): `email`, `name`,
//! `status` (PENDING/CONFIRMED) and `token` as DESIGN.md has them, plus what keeps a
//! registration safe to retry: `traceId`, `registeredAt`, `executionArn` once the
//! reminder is scheduled, `abandonedAt` when the registration failed half-way.

use chrono::{DateTime, SecondsFormat, Utc};
use common::ports::{AttrValue, Condition, Item};
use common::telemetry::mask;

/// How long a PENDING record without an execution counts as a registration in progress.
/// Past it, the registration that wrote it has ended without finishing (API Gateway gives
/// up on an integration after 30 s), and a new registration of the address may take over.
pub const REGISTRATION_LEASE: chrono::Duration = chrono::Duration::minutes(2);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Pending,
    Confirmed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pending => "PENDING",
            Status::Confirmed => "CONFIRMED",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Customer {
    pub customer_id: String,
    /// The address in its normal form: where the messages go.
    pub email: String,
    pub name: String,
    pub status: Status,
    pub token: String,
    pub trace_id: String,
    pub registered_at: String,
    pub execution_arn: Option<String>,
    pub abandoned_at: Option<String>,
}

/// A stored record the handlers cannot read; the customer id in it is masked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("customer record {customer} is malformed: {problem}")]
pub struct RecordError {
    pub customer: String,
    pub problem: String,
}

/// UTC RFC 3339 with `T` and `Z`, as DESIGN.md writes instants.
pub fn rfc3339(instant: DateTime<Utc>) -> String {
    instant.to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn key(customer_id: &str) -> Item {
    Item::from([("customerId".to_owned(), AttrValue::string(customer_id))])
}

/// The record still holds the token this registration wrote.
pub fn holds_token(token: &str) -> Condition {
    Condition::Equals { attr: "token".into(), value: AttrValue::string(token) }
}

pub fn no_execution_yet() -> Condition {
    Condition::NotExists { attr: "executionArn".into() }
}

impl Customer {
    pub fn to_item(&self) -> Item {
        let mut item = Item::from([
            ("customerId".to_owned(), AttrValue::string(&self.customer_id)),
            ("email".to_owned(), AttrValue::string(&self.email)),
            ("name".to_owned(), AttrValue::string(&self.name)),
            ("status".to_owned(), AttrValue::string(self.status.as_str())),
            ("token".to_owned(), AttrValue::string(&self.token)),
            ("traceId".to_owned(), AttrValue::string(&self.trace_id)),
            ("registeredAt".to_owned(), AttrValue::string(&self.registered_at)),
        ]);
        if let Some(arn) = &self.execution_arn {
            item.insert("executionArn".into(), AttrValue::string(arn));
        }
        if let Some(at) = &self.abandoned_at {
            item.insert("abandonedAt".into(), AttrValue::string(at));
        }
        item
    }

    pub fn from_item(item: &Item) -> Result<Self, RecordError> {
        let customer = item.get("customerId").and_then(AttrValue::as_str).map(mask).unwrap_or_else(|| "?".into());
        let problem = |problem: String| RecordError { customer: customer.clone(), problem };
        let text = |attr: &str| -> Result<String, RecordError> {
            match item.get(attr) {
                Some(AttrValue::S(s)) => Ok(s.clone()),
                Some(other) => Err(problem(format!("{attr} must be a string, got {}", kind(other)))),
                None => Err(problem(format!("{attr} is missing"))),
            }
        };
        let optional = |attr: &str| item.get(attr).and_then(AttrValue::as_str).map(str::to_owned);
        let status = match text("status")?.as_str() {
            "PENDING" => Status::Pending,
            "CONFIRMED" => Status::Confirmed,
            other => return Err(problem(format!("status {other:?} is neither PENDING nor CONFIRMED"))),
        };
        Ok(Self {
            customer_id: text("customerId")?,
            email: text("email")?,
            name: text("name")?,
            status,
            token: text("token")?,
            trace_id: optional("traceId").unwrap_or_default(),
            registered_at: optional("registeredAt").unwrap_or_default(),
            execution_arn: optional("executionArn"),
            abandoned_at: optional("abandonedAt"),
        })
    }

    /// Whether a new registration of the same address may replace this record: only a
    /// PENDING one whose registration never scheduled its reminder and has given up
    /// (marked abandoned, or older than [`REGISTRATION_LEASE`] or of unreadable age).
    pub fn may_take_over(&self, now: DateTime<Utc>) -> bool {
        if self.status != Status::Pending || self.execution_arn.is_some() {
            return false;
        }
        if self.abandoned_at.is_some() {
            return true;
        }
        match DateTime::parse_from_rfc3339(&self.registered_at) {
            Ok(at) => now.signed_duration_since(at.with_timezone(&Utc)) >= REGISTRATION_LEASE,
            Err(_) => true,
        }
    }
}

fn kind(value: &AttrValue) -> &'static str {
    match value {
        AttrValue::S(_) => "a string",
        AttrValue::N(_) => "a number",
        AttrValue::Bool(_) => "a boolean",
        AttrValue::Null => "null",
        AttrValue::L(_) => "a list",
        AttrValue::M(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pending(now: DateTime<Utc>) -> Customer {
        Customer {
            customer_id: "0123456789abcdef0123456789abcdef".into(),
            email: "ana@example.com".into(),
            name: "Ana".into(),
            status: Status::Pending,
            token: "tok".into(),
            trace_id: "trace".into(),
            registered_at: rfc3339(now),
            execution_arn: None,
            abandoned_at: None,
        }
    }

    #[test]
    fn records_round_trip_through_items() {
        let now = Utc::now();
        let mut customer = pending(now);
        assert_eq!(Customer::from_item(&customer.to_item()), Ok(customer.clone()));
        customer.execution_arn = Some("arn:x".into());
        customer.abandoned_at = Some(rfc3339(now));
        customer.status = Status::Confirmed;
        assert_eq!(Customer::from_item(&customer.to_item()), Ok(customer));
    }

    #[test]
    fn a_malformed_record_is_named_without_its_id() {
        let mut item = pending(Utc::now()).to_item();
        item.insert("status".into(), AttrValue::string("LOST"));
        let err = Customer::from_item(&item).unwrap_err();
        assert!(err.to_string().contains("\"LOST\""), "{err}");
        assert!(!err.to_string().contains("0123456789abcdef0123456789abcdef"));
        item.insert("status".into(), AttrValue::string("PENDING"));
        item.remove("token");
        assert!(Customer::from_item(&item).unwrap_err().problem.contains("token is missing"));
        item.insert("token".into(), AttrValue::number(3));
        assert!(Customer::from_item(&item).unwrap_err().problem.contains("token must be a string, got a number"));
    }

    #[test]
    fn only_a_stalled_or_abandoned_pending_registration_is_taken_over() {
        let now = Utc::now();
        let fresh = pending(now);
        assert!(!fresh.may_take_over(now + chrono::Duration::seconds(30)), "still in progress");
        assert!(fresh.may_take_over(now + REGISTRATION_LEASE), "the registration gave up");
        let abandoned = Customer { abandoned_at: Some(rfc3339(now)), ..fresh.clone() };
        assert!(abandoned.may_take_over(now));
        let scheduled = Customer { execution_arn: Some("arn:x".into()), ..fresh.clone() };
        assert!(!scheduled.may_take_over(now + chrono::Duration::days(9)));
        let confirmed = Customer { status: Status::Confirmed, abandoned_at: Some(rfc3339(now)), ..fresh.clone() };
        assert!(!confirmed.may_take_over(now + chrono::Duration::days(9)));
        let unreadable = Customer { registered_at: "yesterday".into(), ..fresh };
        assert!(unreadable.may_take_over(now));
    }
}
