//! enrollment-enroll: the enrollment written and the seat taken in one transaction,
//! conditional so that a course is never overbooked and a student never enrolled twice,
//! however executions race.

use std::collections::BTreeMap;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use common::WorkflowError;
use common::email::EmailAddress;
use common::ports::{AttrValue, Condition, Item, ItemStore, PortResult, WriteOp, short_hash, transaction};
use serde::Serialize;
use serde_json::Value;

use crate::records::{Tables, course_key, enrollment_key, load_course, load_enrollment};
use crate::request::{EnrollmentRequest, as_object, optional_string};
use crate::rules;

/// The error the state machine turns into its `EnrollmentRejected` failure.
pub const REJECTED: &str = "EnrollmentRejected";

/// The transaction's writes, in this order: which one's condition failed says why.
const ENROLLMENT_WRITE: usize = 0;
const SEAT_WRITE: usize = 1;

/// Attempts at a transaction that another one conflicts with, before the state machine's
/// own retry takes over: a conflict lasts milliseconds, a state-machine retry seconds.
const CONFLICT_ATTEMPTS: u32 = 3;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Enrolled {
    pub enrollment_id: String,
}

/// Derived from the execution when there is one, so that a retry of the same execution
/// (after a write whose answer was lost) recognises its own enrollment.
pub fn enrollment_id(execution_id: Option<&str>) -> String {
    match execution_id {
        Some(execution) => format!("enr-{}", short_hash(execution)),
        None => format!("enr-{}", uuid::Uuid::new_v4().simple()),
    }
}

/// Put the enrollment unless one exists; take a seat only while one is free.
pub fn enrollment_writes(
    tables: &Tables,
    request: &EnrollmentRequest,
    email: &EmailAddress,
    enrollment_id: &str,
    enrolled_at: DateTime<Utc>,
) -> Vec<WriteOp> {
    let mut enrollment = enrollment_key(&request.course_id, email);
    enrollment.extend([
        ("enrollmentId".to_owned(), AttrValue::string(enrollment_id)),
        ("enrolledAt".to_owned(), AttrValue::string(enrolled_at.to_rfc3339_opts(SecondsFormat::Millis, true))),
        ("paymentId".to_owned(), AttrValue::string(&request.payment_id)),
    ]);
    vec![
        WriteOp::Put {
            table: tables.enrollments.clone(),
            item: enrollment,
            conditions: vec![Condition::NotExists { attr: "courseId".into() }],
        },
        WriteOp::Update {
            table: tables.courses.clone(),
            key: course_key(&request.course_id),
            set: Item::new(),
            add: BTreeMap::from([("seatsAvailable".to_owned(), -1)]),
            // Also false when the course does not exist: an update must not create it.
            conditions: vec![Condition::AtLeast { attr: "seatsAvailable".into(), min: 1 }],
        },
    ]
}

pub async fn enroll<D: ItemStore>(
    db: &D,
    tables: &Tables,
    payload: &Value,
    now: DateTime<Utc>,
) -> Result<Enrolled, WorkflowError> {
    let request = EnrollmentRequest::from_payload(payload)?;
    let execution_id = optional_string(as_object(payload)?, "executionId")?;
    let invalid = |reason: String| WorkflowError::invalid_input(format!("invalid input: {reason}"));
    let email = rules::check_email(&request.email).map_err(invalid)?;
    rules::check_id("course id", &request.course_id).map_err(invalid)?;
    let enrollment_id = enrollment_id(execution_id.as_deref());
    let writes = enrollment_writes(tables, &request, &email, &enrollment_id, now);
    let outcome = transact_retrying_conflicts(db, writes).await;
    let storage = |e| WorkflowError::from_port(e, "StorageError");
    let reason = match outcome {
        Ok(()) => return Ok(enrolled(&request, &email, enrollment_id)),
        Err(err) => match transaction::failed_write(&err) {
            Some(ENROLLMENT_WRITE) => {
                let existing =
                    load_enrollment(db, &tables.enrollments, &request.course_id, &email).await.map_err(storage)?;
                if existing.and_then(|e| e.enrollment_id).as_deref() == Some(enrollment_id.as_str()) {
                    return Ok(enrolled(&request, &email, enrollment_id));
                }
                rules::already_enrolled(&email, &request.course_id)
            }
            Some(SEAT_WRITE) => match load_course(db, &tables.courses, &request.course_id).await.map_err(storage)? {
                Some(_) => rules::course_full(&request.course_id),
                None => rules::course_missing(&request.course_id),
            },
            _ => return Err(storage(err)),
        },
    };
    tracing::info!(course = %request.course_id, email = %email.redacted(), %reason, "enrollment rejected");
    Err(WorkflowError::named(REJECTED, reason))
}

fn enrolled(request: &EnrollmentRequest, email: &EmailAddress, enrollment_id: String) -> Enrolled {
    tracing::info!(course = %request.course_id, email = %email.redacted(), %enrollment_id, "enrolled");
    Enrolled { enrollment_id }
}

async fn transact_retrying_conflicts<D: ItemStore>(db: &D, writes: Vec<WriteOp>) -> PortResult<()> {
    let mut attempt = 1;
    loop {
        match db.transact(writes.clone()).await {
            Err(err) if err.is_transient() && attempt < CONFLICT_ATTEMPTS => {
                // Jittered, so two conflicting executions do not meet again at once.
                let ceiling = 25u64 << attempt;
                tracing::warn!(attempt, error = %err, "transaction cancelled; trying again");
                tokio::time::sleep(Duration::from_millis(rand::random_range(ceiling / 2..=ceiling))).await;
                attempt += 1;
            }
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_execution_always_gets_the_same_enrollment_id() {
        let arn = "arn:aws:states:us-east-1:123456789012:execution:course-enrollment:run-1";
        assert_eq!(enrollment_id(Some(arn)), enrollment_id(Some(arn)));
        assert_ne!(enrollment_id(Some(arn)), enrollment_id(Some("another")));
        assert_ne!(enrollment_id(None), enrollment_id(None));
        assert!(enrollment_id(Some(arn)).starts_with("enr-"));
    }

    #[test]
    fn the_writes_guard_against_a_second_enrollment_and_an_overbooking() {
        let tables =
            Tables { students: "s".into(), courses: "c".into(), payments: "p".into(), enrollments: "e".into() };
        let request = EnrollmentRequest {
            name: "Ana".into(),
            email: "ana@x.org".into(),
            course_id: "c-1".into(),
            payment_id: "p-1".into(),
        };
        let email = EmailAddress::parse("ana@X.org").unwrap();
        let at = DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").unwrap().with_timezone(&Utc);
        let writes = enrollment_writes(&tables, &request, &email, "enr-1", at);
        match &writes[ENROLLMENT_WRITE] {
            WriteOp::Put { table, item, conditions } => {
                assert_eq!(table, "e");
                assert_eq!(item.get("email"), Some(&AttrValue::string("ana@x.org")), "the normal form is the key");
                assert_eq!(item.get("enrolledAt"), Some(&AttrValue::string("2026-11-20T10:00:00.000Z")));
                assert_eq!(conditions, &vec![Condition::NotExists { attr: "courseId".into() }]);
            }
            other => panic!("unexpected {other:?}"),
        }
        match &writes[SEAT_WRITE] {
            WriteOp::Update { table, add, conditions, .. } => {
                assert_eq!(table, "c");
                assert_eq!(add.get("seatsAvailable"), Some(&-1));
                assert_eq!(conditions, &vec![Condition::AtLeast { attr: "seatsAvailable".into(), min: 1 }]);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}
