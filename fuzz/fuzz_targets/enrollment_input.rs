//! course-enrollment's input checks over any JSON payload, on an in-memory store, as the state
//! machine runs them: the three checks, their results validated, then the enrollment. Errors
//! are named (never a storage error: the store does not fail), and a request the validation
//! approves is enrolled.
#![no_main]

use common::WorkflowError;
use common::ports::memory::MemoryItemStore;
use common::ports::{AttrValue, Item};
use enrollment::checks::{check_email, check_name, check_payment};
use enrollment::enroll::enroll;
use enrollment::records::Tables;
use enrollment::validate::validate;
use fuzz_support::{now, run};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn tables() -> Tables {
    Tables {
        students: "students".into(),
        courses: "courses".into(),
        payments: "payments".into(),
        enrollments: "enrollments".into(),
    }
}

fn store() -> MemoryItemStore {
    let db = MemoryItemStore::new()
        .with_table("students", &["email"])
        .with_table("courses", &["courseId"])
        .with_table("payments", &["paymentId"])
        .with_table("enrollments", &["courseId", "email"]);
    let item = |pairs: &[(&str, &str)]| -> Item {
        pairs
            .iter()
            .map(|(k, v)| {
                let value = if *k == "price" || *k == "amount" || *k == "seatsAvailable" {
                    AttrValue::N((*v).into())
                } else {
                    AttrValue::string(*v)
                };
                ((*k).to_owned(), value)
            })
            .collect()
    };
    let rows: [(&str, &[(&str, &str)]); 3] = [
        ("students", &[("email", "ana@example.com"), ("name", "Ana Lima"), ("studentId", "st-1")]),
        ("courses", &[("courseId", "rust-101"), ("title", "Rust"), ("price", "99.50"), ("seatsAvailable", "3")]),
        (
            "payments",
            &[
                ("paymentId", "pay-ana"),
                ("email", "ana@example.com"),
                ("courseId", "rust-101"),
                ("amount", "99.5"),
                ("status", "PAID"),
            ],
        ),
    ];
    for (table, pairs) in rows {
        db.insert(table, item(pairs)).expect("a fresh table");
    }
    db
}

fn named(err: &WorkflowError) {
    assert!(!err.name.is_empty() && err.name.chars().all(|c| c.is_ascii_alphanumeric()), "{err:?}");
    assert!(!["StorageError", "TransientError"].contains(&err.name.as_str()), "the store did not fail: {err:?}");
}

fuzz_target!(|data: &[u8]| {
    let Ok(payload) = serde_json::from_slice::<Value>(data) else { return };
    let (db, tables) = (store(), tables());
    run(async {
        if let Err(e) = validate(&db, &tables, &payload).await {
            named(&e);
        }
        let checks = [check_name(&payload), check_email(&payload), check_payment(&db, &tables, &payload).await];
        let mut results = Vec::new();
        for check in checks {
            match check {
                Ok(result) => results.push(result),
                Err(e) => return named(&e),
            }
        }
        let mut with_checks = payload.clone();
        with_checks["checks"] = serde_json::to_value(&results).expect("check results are JSON");
        let validation = match validate(&db, &tables, &with_checks).await {
            Ok(validation) => validation,
            Err(e) => return named(&e),
        };
        assert_eq!(validation.approved, validation.reasons.is_empty(), "{validation:?}");
        match enroll(&db, &tables, &with_checks, now()).await {
            Ok(_) => {}
            Err(e) if validation.approved => panic!("approved but not enrolled: {e:?}"),
            Err(e) => named(&e),
        }
    });
});
