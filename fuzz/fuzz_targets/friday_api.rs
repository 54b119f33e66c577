//! friday-api's request handling over any Lambda event, on the in-memory ports: a JSON answer
//! with a message on every refusal, never a 5xx; a 202 schedules exactly one reminder.
#![no_main]

use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter};
use common::ports::{AttrValue, Item};
use friday::api::{ApiConfig, handle, request_time};
use fuzz_support::{checked_answer, now, request_or_refusal, run};
use libfuzzer_sys::fuzz_target;

fn users() -> MemoryItemStore {
    let db = MemoryItemStore::new().with_table("users", &["userId"]);
    let device = AttrValue::M(Item::from([
        ("token".to_owned(), AttrValue::string("apns-1")),
        ("platform".to_owned(), AttrValue::string("APNS")),
    ]));
    for (id, zone) in [("ana", "Europe/Lisbon"), ("kai", "Pacific/Kiritimati"), ("broken", "Mars/Olympus")] {
        let item = Item::from([
            ("userId".to_owned(), AttrValue::string(id)),
            ("timezone".to_owned(), AttrValue::string(zone)),
            ("notifyHour".to_owned(), AttrValue::number(9)),
            ("devices".to_owned(), AttrValue::L(vec![device.clone()])),
        ]);
        db.insert("users", item).expect("a fresh table");
    }
    db
}

fuzz_target!(|data: &[u8]| {
    let Some(request) = request_or_refusal(data) else { return };
    let (db, starter) = (users(), MemoryWorkflowStarter::new());
    let config = ApiConfig {
        users_table: "users".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:friday-reminder".into(),
    };
    let response = match request {
        Ok(request) => {
            let at = request_time(&request).unwrap_or_else(now);
            run(handle(&db, &starter, &config, &request, at))
        }
        Err(refusal) => refusal,
    };
    let (status, body) = checked_answer(&response);
    let started = starter.started().len();
    match status {
        202 => assert_eq!(started, 1, "a 202 schedules one reminder"),
        200 => assert!(started == 0 && body["friday"] == true, "a 200 is Friday, with nothing scheduled"),
        _ => assert_eq!(started, 0, "a refused request schedules nothing"),
    }
});
