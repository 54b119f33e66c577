//! The course-enrollment handlers on the in-memory store, whose transactions keep
//! DynamoDB's semantics: all writes or none, a false condition naming its write, a
//! conflict with another transaction cancelled as transient.

use chrono::{DateTime, Utc};
use common::PortError;
use common::ports::memory::MemoryItemStore;
use common::ports::{AttrValue, Item, ItemStore};
use enrollment::checks::{check_email, check_name, check_payment};
use enrollment::enroll::enroll;
use enrollment::records::{Tables, course_key};
use enrollment::request::{CheckKind, CheckResult};
use enrollment::validate::validate;
use serde_json::{Value, json};

fn tables() -> Tables {
    Tables {
        students: "students".into(),
        courses: "courses".into(),
        payments: "payments".into(),
        enrollments: "enrollments".into(),
    }
}

fn item(pairs: &[(&str, AttrValue)]) -> Item {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect()
}

fn s(v: &str) -> AttrValue {
    AttrValue::string(v)
}

fn n(v: &str) -> AttrValue {
    AttrValue::N(v.into())
}

/// Ana and Bob are students; rust-101 costs 99.50 and has `seats` seats; Ana and Bob
/// have paid for it, Cleo's payment is pending.
fn store(seats: i64) -> MemoryItemStore {
    let db = MemoryItemStore::new()
        .with_table("students", &["email"])
        .with_table("courses", &["courseId"])
        .with_table("payments", &["paymentId"])
        .with_table("enrollments", &["courseId", "email"]);
    let put = |table: &str, pairs: &[(&str, AttrValue)]| db.insert(table, item(pairs)).expect("insert");
    put("students", &[("email", s("ana@example.com")), ("name", s("Ana Lima")), ("studentId", s("st-1"))]);
    put("students", &[("email", s("bob@example.com")), ("name", s("Bob Stone")), ("studentId", s("st-2"))]);
    put("students", &[("email", s("cleo@example.com")), ("name", s("Cleo")), ("studentId", s("st-3"))]);
    put(
        "courses",
        &[
            ("courseId", s("rust-101")),
            ("title", s("Rust")),
            ("price", n("99.50")),
            ("seatsAvailable", AttrValue::number(seats)),
        ],
    );
    for (id, email, status) in [
        ("p-ana", "ana@example.com", "PAID"),
        ("p-bob", "bob@example.com", "PAID"),
        ("p-cleo", "cleo@example.com", "PENDING"),
    ] {
        put(
            "payments",
            &[
                ("paymentId", s(id)),
                ("email", s(email)),
                ("courseId", s("rust-101")),
                ("amount", n("99.5")),
                ("status", s(status)),
            ],
        );
    }
    db
}

fn request(name: &str, email: &str, payment: &str) -> Value {
    json!({"name": name, "email": email, "courseId": "rust-101", "paymentId": payment})
}

fn ana() -> Value {
    request("Ana Lima", "ana@EXAMPLE.com", "p-ana")
}

fn with(mut payload: Value, field: &str, value: Value) -> Value {
    payload[field] = value;
    payload
}

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").expect("instant").with_timezone(&Utc)
}

async fn seats(db: &MemoryItemStore) -> AttrValue {
    let course = db.get("courses", course_key("rust-101")).await.expect("read").expect("course");
    course.get("seatsAvailable").cloned().expect("seats")
}

async fn checks_for(db: &MemoryItemStore, payload: &Value) -> Value {
    let results = vec![
        check_name(payload).expect("name check"),
        check_email(payload).expect("e-mail check"),
        check_payment(db, &tables(), payload).await.expect("payment check"),
    ];
    with(payload.clone(), "checks", serde_json::to_value(results).expect("json"))
}

#[tokio::test]
async fn invalid_values_are_answers_not_errors() {
    let db = store(3);
    let bad = request("R2-D2", "r2@localhost", "p-none");
    let name = check_name(&bad).expect("answer");
    assert_eq!((name.check, name.valid), (CheckKind::Name, false));
    assert!(name.reason.as_deref().is_some_and(|r| r.contains("'2'")));
    let email = check_email(&bad).expect("answer");
    assert!(!email.valid && email.reason.as_deref().is_some_and(|r| r.contains("domain without a dot")));
    let payment = check_payment(&db, &tables(), &bad).await.expect("answer");
    assert_eq!(payment.reason.as_deref(), Some("payment p-none does not exist"));
    assert_eq!(check_name(&ana()).expect("answer"), CheckResult { check: CheckKind::Name, valid: true, reason: None });
}

#[tokio::test]
async fn a_missing_or_non_string_field_is_invalid_input_in_every_function() {
    let db = store(3);
    let missing = json!({"name": "Ana Lima", "email": "ana@example.com", "paymentId": "p-ana"});
    let numeric = with(ana(), "paymentId", json!(7));
    for payload in [&missing, &numeric] {
        let field = if payload == &missing { "`courseId`" } else { "`paymentId`" };
        let errors = [
            check_name(payload).unwrap_err(),
            check_email(payload).unwrap_err(),
            check_payment(&db, &tables(), payload).await.unwrap_err(),
            validate(&db, &tables(), payload).await.unwrap_err(),
            enroll(&db, &tables(), payload, now()).await.unwrap_err(),
        ];
        for err in errors {
            assert_eq!(err.name, "InvalidInput");
            assert!(err.message.contains(field), "{}", err.message);
        }
    }
    assert!(db.items("enrollments").is_empty(), "no partial work");
}

#[tokio::test]
async fn payment_problems_are_sentences() {
    let db = store(3);
    db.insert(
        "payments",
        item(&[
            ("paymentId", s("p-low")),
            ("email", s("ana@example.com")),
            ("courseId", s("rust-101")),
            ("amount", n("50")),
            ("status", s("PAID")),
        ]),
    )
    .expect("insert");
    let reason = |payload: Value| {
        let db = &db;
        async move { check_payment(db, &tables(), &payload).await.expect("answer").reason }
    };
    assert_eq!(reason(ana()).await, None);
    assert_eq!(
        reason(request("Cleo", "cleo@example.com", "p-cleo")).await.as_deref(),
        Some("payment p-cleo is PENDING, not PAID")
    );
    assert_eq!(
        reason(request("Ana Lima", "ana@example.com", "p-low")).await.as_deref(),
        Some("payment p-low of 50 does not cover the price of course rust-101 (99.50)")
    );
    let someone_elses = reason(request("Ana Lima", "ana@example.com", "p-bob")).await.unwrap_or_default();
    assert!(someone_elses.starts_with("payment p-bob was not made with the e-mail address a***#"), "{someone_elses}");
    let elsewhere = reason(with(ana(), "courseId", json!("go-201"))).await;
    assert_eq!(elsewhere.as_deref(), Some("payment p-ana is for course rust-101, not go-201"));
}

#[tokio::test]
async fn validation_approves_a_sound_request_and_lists_every_refusal() {
    let db = store(3);
    let approved = validate(&db, &tables(), &checks_for(&db, &ana()).await).await.expect("decision");
    assert!(approved.approved && approved.reasons.is_empty(), "{approved:?}");

    let impostor = request("Bob Stone", "ana@example.com", "p-ana");
    let refused = validate(&db, &tables(), &checks_for(&db, &impostor).await).await.expect("decision");
    assert!(!refused.approved);
    assert_eq!(refused.reasons.len(), 1);
    assert!(refused.reasons[0].starts_with("the name given does not match the student registered with a***#"));
    assert!(!refused.reasons[0].contains("Ana"), "the name on record is not revealed");

    let unknown = with(request("Dan", "dan@example.com", "p-none"), "courseId", json!("nope-1"));
    let refused = validate(&db, &tables(), &checks_for(&db, &unknown).await).await.expect("decision");
    assert_eq!(refused.reasons.len(), 3, "{:?}", refused.reasons);
    assert_eq!(refused.reasons[0], "payment p-none does not exist");
    assert!(refused.reasons[1].starts_with("no student is registered with the e-mail address d***#"));
    assert_eq!(refused.reasons[2], "course nope-1 does not exist");
    assert!(refused.reasons.iter().all(|r| !r.contains("dan@")), "{:?}", refused.reasons);
}

#[tokio::test]
async fn validation_sees_a_full_course_and_an_existing_enrollment() {
    let db = store(1);
    enroll(&db, &tables(), &ana(), now()).await.expect("enrolled");
    let again = validate(&db, &tables(), &checks_for(&db, &ana()).await).await.expect("decision");
    assert_eq!(again.reasons.len(), 2, "{:?}", again.reasons);
    assert!(again.reasons[0].ends_with("@example.com is already enrolled in course rust-101"));
    assert_eq!(again.reasons[1], "course rust-101 has no free seat left");
}

#[tokio::test]
async fn enrolling_writes_the_enrollment_and_takes_a_seat_together() {
    let db = store(2);
    let payload =
        with(ana(), "executionId", json!("arn:aws:states:us-east-1:123456789012:execution:course-enrollment:a"));
    let enrolled = enroll(&db, &tables(), &payload, now()).await.expect("enrolled");
    assert!(enrolled.enrollment_id.starts_with("enr-"));
    assert_eq!(seats(&db).await, AttrValue::number(1));
    let rows = db.items("enrollments");
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get("email"), Some(&s("ana@example.com")), "keyed by the normal form");
    assert_eq!(rows[0].get("enrollmentId"), Some(&s(&enrolled.enrollment_id)));
    assert_eq!(rows[0].get("enrolledAt"), Some(&s("2026-11-20T10:00:00.000Z")));
}

#[tokio::test]
async fn a_second_enrollment_of_the_same_student_is_rejected_and_takes_no_seat() {
    let db = store(5);
    enroll(&db, &tables(), &ana(), now()).await.expect("enrolled");
    let err = enroll(&db, &tables(), &request("Ana Lima", "ana@example.com", "p-ana"), now()).await.unwrap_err();
    assert_eq!(err.name, "EnrollmentRejected");
    assert!(err.message.ends_with("@example.com is already enrolled in course rust-101"), "{}", err.message);
    assert_eq!(seats(&db).await, AttrValue::number(4));
    assert_eq!(db.items("enrollments").len(), 1);
}

#[tokio::test]
async fn a_retry_of_the_same_execution_after_its_write_landed_succeeds_with_the_same_id() {
    let db = store(1);
    let payload = with(ana(), "executionId", json!("exec-1"));
    let first = enroll(&db, &tables(), &payload, now()).await.expect("enrolled");
    let retry = enroll(&db, &tables(), &payload, now()).await.expect("the same enrollment, not a rejection");
    assert_eq!(first, retry);
    assert_eq!(seats(&db).await, AttrValue::number(0));
}

#[tokio::test]
async fn the_last_seat_goes_to_one_and_the_course_is_never_overbooked() {
    let db = store(1);
    enroll(&db, &tables(), &ana(), now()).await.expect("enrolled");
    let err = enroll(&db, &tables(), &request("Bob Stone", "bob@example.com", "p-bob"), now()).await.unwrap_err();
    assert_eq!(
        (err.name.as_str(), err.message.as_str()),
        ("EnrollmentRejected", "course rust-101 has no free seat left")
    );
    assert_eq!(seats(&db).await, AttrValue::number(0));
    assert_eq!(db.items("enrollments").len(), 1, "a cancelled transaction writes nothing");
}

#[tokio::test]
async fn two_enrollments_racing_for_the_last_seat_leave_exactly_one() {
    let db = store(1);
    let bob = request("Bob Stone", "bob@example.com", "p-bob");
    let (ana, tables) = (ana(), tables());
    let (a, b) = tokio::join!(enroll(&db, &tables, &ana, now()), enroll(&db, &tables, &bob, now()));
    assert_eq!(usize::from(a.is_ok()) + usize::from(b.is_ok()), 1, "{a:?} {b:?}");
    let loser = a.err().or(b.err()).expect("one rejection");
    assert_eq!(loser.message, "course rust-101 has no free seat left");
    assert_eq!(seats(&db).await, AttrValue::number(0));
}

#[tokio::test]
async fn enrolling_in_a_course_that_does_not_exist_creates_nothing() {
    let db = store(1);
    let err = enroll(&db, &tables(), &with(ana(), "courseId", json!("ghost-1")), now()).await.unwrap_err();
    assert_eq!((err.name.as_str(), err.message.as_str()), ("EnrollmentRejected", "course ghost-1 does not exist"));
    assert!(db.items("enrollments").is_empty());
    assert!(db.get("courses", course_key("ghost-1")).await.expect("read").is_none(), "the update did not create it");
}

#[tokio::test]
async fn a_transaction_conflict_is_retried_until_it_clears() {
    let db = store(1);
    db.conflict_next_transactions(2);
    enroll(&db, &tables(), &ana(), now()).await.expect("enrolled on the third attempt");
    assert_eq!(seats(&db).await, AttrValue::number(0));
    assert_eq!(db.items("enrollments").len(), 1);
}

#[tokio::test]
async fn a_lasting_conflict_is_transient_for_the_state_machine_to_retry_and_writes_nothing() {
    let db = store(1);
    db.conflict_next_transactions(3);
    let err = enroll(&db, &tables(), &ana(), now()).await.unwrap_err();
    assert_eq!(err.name, "TransientError");
    assert!(err.message.contains("TransactionConflict"), "{}", err.message);
    assert_eq!(seats(&db).await, AttrValue::number(1));
    assert!(db.items("enrollments").is_empty());
    enroll(&db, &tables(), &ana(), now()).await.expect("the state machine's retry enrolls");
}

#[tokio::test]
async fn storage_failures_keep_their_names() {
    let db = store(1);
    db.failures.push(PortError::Transient { service: "dynamodb", message: "503".into() });
    assert_eq!(check_payment(&db, &tables(), &ana()).await.unwrap_err().name, "TransientError");
    let checked = checks_for(&db, &ana()).await;
    db.failures.push(PortError::Rejected {
        service: "dynamodb",
        code: "AccessDeniedException".into(),
        message: "no".into(),
    });
    let err = validate(&db, &tables(), &checked).await.unwrap_err();
    assert_eq!(err.name, "StorageError");
    assert!(err.message.contains("AccessDeniedException"));
}
