//! signup-register's request handling over any Lambda event, on the in-memory ports: a JSON
//! answer with a message on every refusal, never a 5xx; a 201 stores one pending customer,
//! sends one confirmation e-mail and starts one reminder, and a refusal does none of these.
#![no_main]

use common::ports::AttrValue;
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter, RecordingEmailSender};
use fuzz_support::{checked_answer, now, request_or_refusal, run};
use libfuzzer_sys::fuzz_target;
use signup::register::{RegisterConfig, handle};

fuzz_target!(|data: &[u8]| {
    let Some(request) = request_or_refusal(data) else { return };
    let db = MemoryItemStore::new().with_table("customers", &["customerId"]);
    let (mail, sfn) = (RecordingEmailSender::new(), MemoryWorkflowStarter::new());
    let config = RegisterConfig {
        customers_table: "customers".into(),
        public_base_url: "http://127.0.0.1:3000".into(),
        sender_email: "no-reply@example.com".into(),
        state_machine_arn: "arn:aws:states:us-east-1:123456789012:stateMachine:confirmation-reminder".into(),
    };
    let response = match request {
        Ok(request) => run(handle(&db, &mail, &sfn, &config, &request, now())),
        Err(refusal) => refusal,
    };
    let (status, body) = checked_answer(&response);
    let stored = db.items("customers");
    let (sent, started) = (mail.sent().len(), sfn.started().len());
    if status == 201 {
        let id = body["customerId"].as_str().expect("a 201 names the customer");
        assert_eq!(stored.len(), 1);
        assert_eq!(stored[0].get("customerId"), Some(&AttrValue::string(id)));
        assert_eq!((sent, started), (1, 1), "one confirmation, one reminder");
    } else {
        assert!(stored.is_empty() && sent == 0 && started == 0, "a {status} left traces: {body}");
    }
});
