//! signup-confirm's request handling over any Lambda event, on the in-memory store holding one
//! pending customer: a JSON answer with a message on every refusal, never a 5xx, and only that
//! customer's id with that customer's token confirms.
#![no_main]

use common::ports::AttrValue;
use common::ports::memory::MemoryItemStore;
use fuzz_support::{checked_answer, now, request_or_refusal, run};
use libfuzzer_sys::fuzz_target;
use signup::confirm::handle;
use signup::customer::{Customer, Status};

/// The customer of `events/signup-confirm.json`, so its seed reaches the confirmation.
const CUSTOMER_ID: &str = "1dc97a882a72d724c9bd6188ed7e687b";
const TOKEN: &str = "paste-the-token-of-the-e-mail-here";

fn store() -> MemoryItemStore {
    let db = MemoryItemStore::new().with_table("customers", &["customerId"]);
    let customer = Customer {
        customer_id: CUSTOMER_ID.into(),
        email: "ana@example.com".into(),
        name: "Ana".into(),
        status: Status::Pending,
        token: TOKEN.into(),
        trace_id: "trace-1".into(),
        registered_at: "2026-11-20T09:00:00.000Z".into(),
        execution_arn: None,
        abandoned_at: None,
    };
    db.insert("customers", customer.to_item()).expect("a fresh table");
    db
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request_or_refusal(data) else { return };
    let db = store();
    let response = match &request {
        Ok(request) => run(handle(&db, "customers", request, now())),
        Err(refusal) => refusal.clone(),
    };
    let (status, _) = checked_answer(&response);
    let confirmed = db.items("customers")[0].get("status") == Some(&AttrValue::string("CONFIRMED"));
    assert_eq!(status == 200, confirmed, "a 200 confirms, nothing else does");
    if let (true, Ok(request)) = (confirmed, &request) {
        let given = |name: &str| request.query_string_parameters.all(name).map(|parts| parts.join(","));
        assert_eq!(given("customerId").as_deref(), Some(CUSTOMER_ID));
        assert_eq!(given("token").as_deref(), Some(TOKEN), "confirmed with another token");
    }
});
