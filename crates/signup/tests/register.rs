//! signup-register on in-memory ports: the happy path, the 409 (also under a race), and
//! the 503s that leave nothing behind to block a retry.

mod support;

use std::sync::Arc;

use base64::Engine;
use common::PortError;
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter, RecordingEmailSender};
use common::ports::{AttrValue, ItemStore, WriteOp};
use serde_json::json;
use signup::customer::{Customer, REGISTRATION_LEASE, Status, rfc3339};
use signup::register::handle;
use support::*;

#[tokio::test]
async fn a_registration_is_stored_pending_mailed_and_scheduled() {
    let ports = Ports::new();
    let (status, body) = ports.register(json!({"email": "Ana.Lopez@Example.COM", "name": " 李小龍 "}), now()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["customerId"].as_str().expect("customerId").to_owned();
    assert_eq!(body, json!({"customerId": id}), "the answer holds the id only");

    let customer = ports.customer(&id);
    assert_eq!(
        (customer.status, customer.email.as_str(), customer.name.as_str()),
        (Status::Pending, "Ana.Lopez@example.com", "李小龍")
    );
    assert_eq!(customer.registered_at, "2026-11-20T10:00:00.000Z");
    assert!(customer.token.len() >= 22, "at least 128 bits");

    let sent = ports.mail.sent();
    assert_eq!(sent.len(), 1);
    assert_eq!((sent[0].from.as_str(), sent[0].to.clone()), (SENDER, vec!["Ana.Lopez@example.com".to_owned()]));
    let link = format!("{BASE}/confirm?customerId={id}&token={}", customer.token);
    assert!(sent[0].text.contains(&link), "{}", sent[0].text);

    let started = ports.sfn.started();
    assert_eq!(started.len(), 1);
    assert_eq!(started[0].state_machine_arn, ARN);
    assert_eq!(started[0].name, format!("{id}_{}", customer.trace_id), "<customerId>_<uuid>");
    assert_eq!(started[0].input, json!({"customerId": id, "traceId": customer.trace_id}));
    assert_eq!(customer.execution_arn, Some(common::ports::execution_arn(ARN, &started[0].name)), "recorded");
}

#[tokio::test]
async fn a_second_registration_of_an_address_is_409_whatever_the_case_of_its_domain() {
    let ports = Ports::new();
    assert_eq!(ports.register(json!({"email": "bo@example.com", "name": "Bo"}), now()).await.0, 201);
    for email in ["bo@example.com", "bo@EXAMPLE.COM", " bo@Example.com "] {
        let (status, body) = ports.register(json!({"email": email, "name": "Someone Else"}), now()).await;
        assert_eq!(status, 409, "{email}: {body}");
        assert_eq!(body["message"], "this e-mail address is already registered");
    }
    assert_eq!(
        ports.register(json!({"email": "Bo@example.com", "name": "Bo"}), now()).await.0,
        201,
        "local parts are kept"
    );
    assert_eq!((ports.mail.sent().len(), ports.sfn.started().len()), (2, 2));
    assert_eq!(ports.customer(ports.sfn.started()[0].input["customerId"].as_str().expect("id")).name, "Bo");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_concurrent_registrations_of_one_address_exactly_one_wins() {
    for round in 0..20 {
        let ports = Arc::new(Ports::new());
        let barrier = Arc::new(tokio::sync::Barrier::new(2));
        let racers = ["race@example.com", "race@EXAMPLE.com"].map(|email| {
            let (ports, barrier) = (Arc::clone(&ports), Arc::clone(&barrier));
            tokio::spawn(async move {
                barrier.wait().await;
                ports.register(json!({"email": email, "name": "Racer"}), now()).await.0
            })
        });
        let mut statuses = Vec::new();
        for racer in racers {
            statuses.push(racer.await.expect("no panic"));
        }
        statuses.sort();
        assert_eq!(statuses, vec![201, 409], "round {round}");
        assert_eq!((ports.mail.sent().len(), ports.sfn.started().len()), (1, 1), "round {round}");
    }
}

#[tokio::test]
async fn a_registration_still_in_progress_holds_the_address_until_its_lease_ends() {
    let ports = Ports::new();
    let (db, mail, sfn) = (
        MemoryItemStore::new().with_table(TABLE, &["customerId"]),
        RecordingEmailSender::new(),
        MemoryWorkflowStarter::new(),
    );
    // A registration that wrote its record and then stopped (its Lambda timed out).
    ports.register(json!({"email": "slow@example.com", "name": "Slow"}), now()).await;
    let mut stalled = ports.db.items(TABLE).remove(0);
    stalled.remove("executionArn");
    db.insert(TABLE, stalled.clone()).expect("insert");
    let config = register_config();
    let body = json!({"email": "slow@example.com", "name": "Slow"});
    let soon = now() + REGISTRATION_LEASE - chrono::Duration::seconds(1);
    assert_eq!(answer(&handle(&db, &mail, &sfn, &config, &post(body.clone()), soon).await).0, 409);
    let later = now() + REGISTRATION_LEASE;
    let (status, answer_body) = answer(&handle(&db, &mail, &sfn, &config, &post(body), later).await);
    assert_eq!(status, 201, "{answer_body}");
    let taken = Customer::from_item(&db.items(TABLE)[0]).expect("readable");
    assert_ne!(
        taken.token,
        stalled["token"].as_str().unwrap_or_default().to_owned(),
        "a new token: the old link is dead"
    );
    assert!(taken.execution_arn.is_some());
}

#[tokio::test]
async fn an_email_failure_answers_503_and_a_retry_is_not_a_409() {
    let ports = Ports::new();
    ports.mail.failures.push(PortError::Rejected {
        service: "sesv2",
        code: "MessageRejected".into(),
        message: "no".into(),
    });
    let body = json!({"email": "mail@example.com", "name": "Mail"});
    let (status, answer_body) = ports.register(body.clone(), now()).await;
    assert_eq!(status, 503);
    assert_eq!(answer_body["message"], "the confirmation e-mail could not be sent; try again");
    assert!(ports.sfn.started().is_empty(), "no reminder for a customer who got no link");
    let id = ports.db.items(TABLE)[0]["customerId"].as_str().expect("id").to_owned();
    let first = ports.customer(&id);
    assert_eq!(first.abandoned_at.as_deref(), Some("2026-11-20T10:00:00.000Z"));

    let (status, answer_body) = ports.register(body, now() + chrono::Duration::seconds(1)).await;
    assert_eq!(status, 201, "{answer_body}");
    let second = ports.customer(&id);
    assert_ne!(second.token, first.token);
    assert_eq!((second.abandoned_at, ports.mail.sent().len(), ports.sfn.started().len()), (None, 1, 1));
}

#[tokio::test]
async fn a_start_failure_answers_503_and_a_retry_is_not_a_409() {
    let ports = Ports::new();
    ports.sfn.failures.push(PortError::Transient { service: "sfn", message: "ThrottlingException".into() });
    let body = json!({"email": "start@example.com", "name": "Start"});
    let (status, answer_body) = ports.register(body.clone(), now()).await;
    assert_eq!(
        (status, answer_body["message"].as_str()),
        (503, Some("the reminder could not be scheduled; try again"))
    );
    assert_eq!(ports.mail.sent().len(), 1, "the link went out before the start failed");

    assert_eq!(ports.register(body, now()).await.0, 201);
    let started = ports.sfn.started();
    assert_eq!(started.len(), 1);
    let id = started[0].input["customerId"].as_str().expect("id");
    assert_eq!(ports.customer(id).trace_id, started[0].input["traceId"].as_str().expect("trace").to_owned());
}

#[tokio::test]
async fn two_retries_of_an_abandoned_registration_cannot_both_take_it_over() {
    let ports = Ports::new();
    ports.mail.failures.push(PortError::Transient { service: "sesv2", message: "503".into() });
    let body = json!({"email": "twice@example.com", "name": "Twice"});
    assert_eq!(ports.register(body.clone(), now()).await.0, 503);
    // Both retries read the abandoned record; the first takeover changes its token, so the
    // second's conditional put (on the old token) fails.
    let abandoned = ports.db.items(TABLE).remove(0);
    assert_eq!(ports.register(body.clone(), now()).await.0, 201);
    let stale_takeover = WriteOp::Put {
        table: TABLE.into(),
        item: abandoned.clone(),
        conditions: vec![signup::customer::holds_token(abandoned["token"].as_str().expect("token"))],
    };
    assert!(matches!(ports.db.write(stale_takeover).await, Err(PortError::ConditionFailed { .. })));
    assert_eq!(ports.register(body, now()).await.0, 409);
}

#[tokio::test]
async fn a_store_failure_answers_503_and_sends_nothing() {
    let ports = Ports::new();
    ports
        .db
        .failures
        .push(PortError::Transient { service: "dynamodb", message: "ProvisionedThroughputExceeded".into() });
    let (status, body) = ports.register(json!({"email": "db@example.com", "name": "Db"}), now()).await;
    assert_eq!((status, body["message"].as_str()), (503, Some("the customer could not be stored; try again")));
    assert!(ports.mail.sent().is_empty() && ports.sfn.started().is_empty() && ports.db.items(TABLE).is_empty());
    assert_eq!(ports.register(json!({"email": "db@example.com", "name": "Db"}), now()).await.0, 201);
}

#[tokio::test]
async fn bad_bodies_are_400_with_a_message_naming_the_field() {
    let ports = Ports::new();
    let cases = [
        (json!("not json"), "the body is not JSON"),
        (json!(["a"]), "the body must be a JSON object"),
        (json!({"name": "Ana"}), "email is required"),
        (json!({"email": 7, "name": "Ana"}), "email must be a string"),
        (json!({"email": "a@example.com\r\nBcc: x@example.com", "name": "Ana"}), "email contains a control character"),
        (json!({"email": "a@example", "name": "Ana"}), "email has a domain without a dot"),
        (json!({"email": "a@example.com", "name": "x".repeat(10_000)}), "name is longer than 200 characters"),
        (json!({"email": "a@example.com", "name": "  "}), "name is empty"),
    ];
    for (body, message) in cases {
        let (status, answer_body) = ports.register(body.clone(), now()).await;
        assert_eq!(status, 400, "{body}");
        assert!(answer_body["message"].as_str().is_some_and(|m| m.starts_with(message)), "{body}: {answer_body}");
    }
    let config = register_config();
    let no_body = handle(&ports.db, &ports.mail, &ports.sfn, &config, &post_raw(None, false), now()).await;
    assert_eq!(answer(&no_body).0, 400);
    let bad_base64 = handle(&ports.db, &ports.mail, &ports.sfn, &config, &post_raw(Some("@@@"), true), now()).await;
    assert_eq!(answer(&bad_base64).0, 400);
    assert!(ports.db.items(TABLE).is_empty() && ports.mail.sent().is_empty());
}

#[tokio::test]
async fn a_base64_encoded_body_is_read_as_api_gateway_sends_it() {
    let ports = Ports::new();
    let encoded =
        base64::engine::general_purpose::STANDARD.encode(r#"{"email":"b64@example.com","name":"Ana Łopez-O'Neil"}"#);
    let config = register_config();
    let response = handle(&ports.db, &ports.mail, &ports.sfn, &config, &post_raw(Some(&encoded), true), now()).await;
    let (status, body) = answer(&response);
    assert_eq!(status, 201, "{body}");
    assert_eq!(ports.customer(body["customerId"].as_str().expect("id")).name, "Ana Łopez-O'Neil");
}

#[tokio::test]
async fn an_unreadable_record_holding_the_address_is_a_409_not_a_takeover() {
    let ports = Ports::new();
    ports.register(json!({"email": "odd@example.com", "name": "Odd"}), now()).await;
    let mut item = ports.db.items(TABLE).remove(0);
    item.insert("status".into(), AttrValue::string("LOST"));
    item.insert("registeredAt".into(), AttrValue::string(rfc3339(now() - chrono::Duration::days(3))));
    item.remove("executionArn");
    ports.db.insert(TABLE, item).expect("insert");
    assert_eq!(ports.register(json!({"email": "odd@example.com", "name": "Odd"}), now()).await.0, 409);
}
