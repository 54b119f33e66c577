//! enrollment-validate: the checks' results and the records, combined into one decision
//! `{"approved","reasons"}`.

use common::WorkflowError;
use common::email::EmailAddress;
use common::ports::ItemStore;
use serde::Serialize;
use serde_json::Value;

use crate::records::{Course, Enrollment, Student, Tables, load_course, load_enrollment, load_student};
use crate::request::{CheckKind, CheckResult, EnrollmentRequest, as_object};
use crate::rules;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    pub approved: bool,
    pub reasons: Vec<String>,
}

/// A record looked up, missing, or not looked up because the request could not name it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup<T> {
    Skipped,
    Missing,
    Found(T),
}

impl<T> From<Option<T>> for Lookup<T> {
    fn from(found: Option<T>) -> Self {
        found.map_or(Lookup::Missing, Lookup::Found)
    }
}

/// What the records say about a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Records {
    pub student: Lookup<Student>,
    pub course: Lookup<Course>,
    pub enrollment: Lookup<Enrollment>,
}

/// The decision: every invalid check's reason, then what the records refuse; each reason
/// once (the payment check and the records may both find the course missing).
pub fn judge(
    request: &EnrollmentRequest,
    email: Option<&EmailAddress>,
    checks: &[CheckResult],
    records: &Records,
) -> Validation {
    let mut reasons: Vec<String> = Vec::new();
    let mut add = |reason: String| {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    };
    for check in checks.iter().filter(|c| !c.valid) {
        add(check.reason.clone().unwrap_or_else(|| format!("the {} check failed", kind_name(check.check))));
    }
    let name_valid = checks.iter().any(|c| c.check == CheckKind::Name && c.valid);
    if let Some(email) = email {
        match &records.student {
            Lookup::Missing => add(rules::student_missing(email)),
            Lookup::Found(student)
                if name_valid && !student.name.as_deref().is_some_and(|n| rules::names_match(&request.name, n)) =>
            {
                add(rules::name_mismatch(email))
            }
            _ => {}
        }
        if let Lookup::Found(_) = records.enrollment {
            add(rules::already_enrolled(email, &request.course_id));
        }
    }
    match (&records.course, rules::check_id("course id", &request.course_id)) {
        (_, Err(reason)) => add(reason),
        (Lookup::Missing, Ok(())) => add(rules::course_missing(&request.course_id)),
        (Lookup::Found(course), Ok(())) if course.seats_available.unwrap_or(0) < 1 => {
            add(rules::course_full(&request.course_id))
        }
        _ => {}
    }
    Validation { approved: reasons.is_empty(), reasons }
}

fn kind_name(kind: CheckKind) -> &'static str {
    match kind {
        CheckKind::Name => "name",
        CheckKind::Email => "e-mail",
        CheckKind::Payment => "payment",
    }
}

/// Reads `checks`: the Parallel state's output, one result for each of the three checks.
pub fn read_checks(payload: &Value) -> Result<Vec<CheckResult>, WorkflowError> {
    let invalid = |why: String| WorkflowError::invalid_input(format!("invalid input: {why}"));
    let raw = match as_object(payload)?.get("checks") {
        Some(Value::Array(items)) => items,
        Some(_) => return Err(invalid("field `checks` must be an array of check results".into())),
        None => return Err(invalid("missing field `checks`".into())),
    };
    let checks = raw
        .iter()
        .enumerate()
        .map(|(i, c)| {
            serde_json::from_value::<CheckResult>(c.clone()).map_err(|e| invalid(format!("checks[{i}]: {e}")))
        })
        .collect::<Result<Vec<_>, _>>()?;
    for kind in [CheckKind::Name, CheckKind::Email, CheckKind::Payment] {
        if !checks.iter().any(|c| c.check == kind) {
            return Err(invalid(format!("`checks` holds no result of the {} check", kind_name(kind))));
        }
    }
    Ok(checks)
}

pub async fn validate<D: ItemStore>(db: &D, tables: &Tables, payload: &Value) -> Result<Validation, WorkflowError> {
    let request = EnrollmentRequest::from_payload(payload)?;
    let checks = read_checks(payload)?;
    let email = rules::check_email(&request.email).ok();
    let course_id = rules::check_id("course id", &request.course_id).ok().map(|()| request.course_id.as_str());
    let (student, course, enrollment) = futures::join!(
        async {
            match &email {
                Some(email) => load_student(db, &tables.students, email).await.map(Lookup::from),
                None => Ok(Lookup::Skipped),
            }
        },
        async {
            match course_id {
                Some(id) => load_course(db, &tables.courses, id).await.map(Lookup::from),
                None => Ok(Lookup::Skipped),
            }
        },
        async {
            match (&email, course_id) {
                (Some(email), Some(id)) => load_enrollment(db, &tables.enrollments, id, email).await.map(Lookup::from),
                _ => Ok(Lookup::Skipped),
            }
        }
    );
    let storage = |e| WorkflowError::from_port(e, "StorageError");
    let records = Records {
        student: student.map_err(storage)?,
        course: course.map_err(storage)?,
        enrollment: enrollment.map_err(storage)?,
    };
    let validation = judge(&request, email.as_ref(), &checks, &records);
    tracing::info!(
        course = %request.course_id,
        email = %common::telemetry::redact_email(&request.email),
        approved = validation.approved,
        reasons = validation.reasons.len(),
        "validated"
    );
    Ok(validation)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;

    fn request(name: &str) -> EnrollmentRequest {
        EnrollmentRequest {
            name: name.into(),
            email: "ana@example.com".into(),
            course_id: "c-1".into(),
            payment_id: "p-1".into(),
        }
    }

    fn all_valid() -> Vec<CheckResult> {
        [CheckKind::Name, CheckKind::Email, CheckKind::Payment].map(|k| CheckResult::from_rule(k, Ok(()))).to_vec()
    }

    fn records(seats: i64) -> Records {
        Records {
            student: Lookup::Found(Student { name: Some("Ana Lima".into()) }),
            course: Lookup::Found(Course {
                course_id: "c-1".into(),
                price: Amount::parse("10"),
                seats_available: Some(seats),
            }),
            enrollment: Lookup::Missing,
        }
    }

    fn email() -> EmailAddress {
        EmailAddress::parse("ana@example.com").unwrap()
    }

    #[test]
    fn everything_in_order_is_approved() {
        let v = judge(&request("ana lima"), Some(&email()), &all_valid(), &records(1));
        assert_eq!(v, Validation { approved: true, reasons: vec![] });
    }

    #[test]
    fn every_refusal_is_listed_once() {
        let mut checks = all_valid();
        checks[2] = CheckResult::from_rule(CheckKind::Payment, Err(rules::course_missing("c-1")));
        let mut r = records(1);
        r.course = Lookup::Missing;
        r.enrollment = Lookup::Found(Enrollment { enrollment_id: Some("e".into()) });
        let v = judge(&request("Bob"), Some(&email()), &checks, &r);
        assert!(!v.approved);
        assert_eq!(v.reasons.len(), 3, "{:?}", v.reasons);
        assert_eq!(v.reasons[0], "course c-1 does not exist");
        assert!(v.reasons[1].starts_with("the name given does not match the student registered with a***#"));
        assert!(v.reasons[2].ends_with("@example.com is already enrolled in course c-1"));
    }

    #[test]
    fn a_full_course_and_an_unknown_student_are_refused() {
        let mut r = records(0);
        r.student = Lookup::Missing;
        let v = judge(&request("Ana Lima"), Some(&email()), &all_valid(), &r);
        assert_eq!(v.reasons.len(), 2);
        assert!(v.reasons[0].starts_with("no student is registered with the e-mail address a***#"));
        assert_eq!(v.reasons[1], "course c-1 has no free seat left");
        assert!(v.reasons.iter().all(|r| !r.contains("ana@")), "no full address in a reason");
    }

    #[test]
    fn an_invalid_name_is_not_also_reported_as_a_mismatch() {
        let mut checks = all_valid();
        checks[0] = CheckResult::from_rule(CheckKind::Name, Err("the name is empty".into()));
        let v = judge(&request(" "), Some(&email()), &checks, &records(1));
        assert_eq!(v.reasons, vec!["the name is empty".to_owned()]);
    }

    #[test]
    fn an_unusable_course_id_is_its_own_reason() {
        let mut r = records(1);
        r.course = Lookup::Skipped;
        let mut req = request("Ana Lima");
        req.course_id = String::new();
        assert_eq!(judge(&req, Some(&email()), &all_valid(), &r).reasons, vec!["no course id was given".to_owned()]);
    }

    #[test]
    fn checks_must_be_all_three() {
        let payload =
            serde_json::json!({"checks": [{"check": "name", "valid": true}, {"check": "email", "valid": true}]});
        let err = read_checks(&payload).unwrap_err();
        assert!(err.message.contains("payment check"), "{}", err.message);
        let err = read_checks(&serde_json::json!({"checks": [{"check": "age", "valid": true}]})).unwrap_err();
        assert!(err.message.contains("checks[0]"), "{}", err.message);
        assert!(read_checks(&serde_json::json!({})).unwrap_err().message.contains("missing field `checks`"));
    }
}
