//! The three checks of the Parallel state. Each reads the whole request, so a malformed
//! input fails the execution as `InvalidInput` whichever branch sees it first.

use common::WorkflowError;
use common::ports::ItemStore;
use common::telemetry::redact_email;
use serde_json::Value;

use crate::records::{Tables, load_course, load_payment};
use crate::request::{CheckKind, CheckResult, EnrollmentRequest};
use crate::rules;

pub fn check_name(payload: &Value) -> Result<CheckResult, WorkflowError> {
    let request = EnrollmentRequest::from_payload(payload)?;
    let result = CheckResult::from_rule(CheckKind::Name, rules::check_name(&request.name));
    tracing::info!(check = "name", valid = result.valid, "checked");
    Ok(result)
}

pub fn check_email(payload: &Value) -> Result<CheckResult, WorkflowError> {
    let request = EnrollmentRequest::from_payload(payload)?;
    let result = CheckResult::from_rule(CheckKind::Email, rules::check_email(&request.email).map(|_| ()));
    tracing::info!(check = "email", email = %redact_email(&request.email), valid = result.valid, "checked");
    Ok(result)
}

pub async fn check_payment<D: ItemStore>(
    db: &D,
    tables: &Tables,
    payload: &Value,
) -> Result<CheckResult, WorkflowError> {
    let request = EnrollmentRequest::from_payload(payload)?;
    let email = rules::check_email(&request.email).ok();
    let usable = |what, id: &str| rules::check_id(what, id).is_ok();
    let (payment, course) = futures::join!(
        async {
            match usable("payment id", &request.payment_id) {
                true => load_payment(db, &tables.payments, &request.payment_id).await,
                false => Ok(None),
            }
        },
        async {
            match usable("course id", &request.course_id) {
                true => load_course(db, &tables.courses, &request.course_id).await,
                false => Ok(None),
            }
        }
    );
    let storage = |e| WorkflowError::from_port(e, "StorageError");
    let (payment, course) = (payment.map_err(storage)?, course.map_err(storage)?);
    let outcome = rules::check_payment(&request, email.as_ref(), payment.as_ref(), course.as_ref());
    let result = CheckResult::from_rule(CheckKind::Payment, outcome);
    tracing::info!(check = "payment", payment = %request.payment_id, course = %request.course_id, valid = result.valid, "checked");
    Ok(result)
}
