//! signup-confirm and signup-reminder on in-memory ports, and the whole sign-up in order.

mod support;

use common::PortError;
use common::ports::AttrValue;
use serde_json::json;
use signup::customer::Status;
use signup::reminder::{ReminderInput, ReminderOutput, remind};
use support::*;

async fn registered(ports: &Ports, email: &str) -> (String, String, String) {
    let (status, body) = ports.register(json!({"email": email, "name": "Ana"}), now()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["customerId"].as_str().expect("id").to_owned();
    let customer = ports.customer(&id);
    (id, customer.token, customer.trace_id)
}

async fn reminder(ports: &Ports, customer_id: &str, trace_id: &str) -> Result<ReminderOutput, common::WorkflowError> {
    let input = ReminderInput { customer_id: customer_id.into(), trace_id: trace_id.into() };
    remind(&ports.db, &ports.mail, &reminder_config(), input).await
}

fn json_of(output: &ReminderOutput) -> serde_json::Value {
    serde_json::to_value(output).expect("serialisable")
}

#[tokio::test]
async fn the_right_token_confirms_and_a_second_click_is_harmless() {
    let ports = Ports::new();
    let (id, token, _) = registered(&ports, "ana@example.com").await;
    let (status, body) = ports.confirm(&id, &token, now()).await;
    assert_eq!((status, body["status"].as_str()), (200, Some("CONFIRMED")), "{body}");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("confirmed")));
    assert_eq!(ports.customer(&id).status, Status::Confirmed);
    let (again, body) = ports.confirm(&id, &token, now()).await;
    assert_eq!((again, body["status"].as_str()), (200, Some("CONFIRMED")), "{body}");
}

#[tokio::test]
async fn a_wrong_token_is_403_and_changes_nothing() {
    let ports = Ports::new();
    let (id, token, _) = registered(&ports, "ana@example.com").await;
    for wrong in ["", "x", &token[..token.len() - 1], &format!("{token}x"), &token.to_uppercase()] {
        if wrong == token {
            continue;
        }
        let (status, body) = ports.confirm(&id, wrong, now()).await;
        assert_eq!(status, 403, "{wrong:?}: {body}");
        assert!(body["message"].as_str().is_some_and(|m| m.contains("not valid")));
    }
    assert_eq!(ports.customer(&id).status, Status::Pending);
}

#[tokio::test]
async fn unknown_customers_are_404_and_missing_or_malformed_parameters_400() {
    let ports = Ports::new();
    let (status, body) = ports.confirm(&"0".repeat(32), "token", now()).await;
    assert_eq!(status, 404, "{body}");
    let handle = async |query| signup::confirm::handle(&ports.db, TABLE, &get(query), now()).await;
    for (query, named) in [
        (json!({"token": "t"}), "customerId"),
        (json!({"customerId": "0".repeat(32)}), "token"),
        (serde_json::Value::Null, "customerId"),
    ] {
        let (status, body) = answer(&handle(query).await);
        assert_eq!(status, 400);
        assert!(body["message"].as_str().is_some_and(|m| m.contains(named)), "{body}");
    }
    let (status, _) = answer(&handle(json!({"customerId": "../users", "token": "t"})).await);
    assert_eq!(status, 400);
}

#[tokio::test]
async fn a_store_failure_while_confirming_is_503() {
    let ports = Ports::new();
    let (id, token, _) = registered(&ports, "ana@example.com").await;
    ports.db.failures.push(PortError::Transient { service: "dynamodb", message: "500".into() });
    assert_eq!(ports.confirm(&id, &token, now()).await.0, 503);
    assert_eq!(ports.confirm(&id, &token, now()).await.0, 200, "opening the link again works");
}

#[tokio::test]
async fn a_pending_customer_is_reminded_with_the_same_link() {
    let ports = Ports::new();
    let (id, token, trace) = registered(&ports, "ana@Example.com").await;
    let output = reminder(&ports, &id, &trace).await.expect("reminded");
    assert_eq!(json_of(&output), json!({"reminded": true}));
    let sent = ports.mail.sent();
    assert_eq!(sent.len(), 2);
    assert!(sent[1].subject.starts_with("Reminder"));
    assert_eq!(sent[1].to, vec!["ana@example.com".to_owned()]);
    assert_eq!(token_in(&sent[1].text), token, "the same link as the confirmation");
    assert_eq!(token_in(&sent[0].text), token);
}

#[tokio::test]
async fn a_confirmed_customer_gets_nothing() {
    let ports = Ports::new();
    let (id, token, trace) = registered(&ports, "ana@example.com").await;
    assert_eq!(ports.confirm(&id, &token, now()).await.0, 200);
    let output = reminder(&ports, &id, &trace).await.expect("skipped");
    assert_eq!(json_of(&output), json!({"reminded": false, "reason": "confirmed"}));
    assert_eq!(ports.mail.sent().len(), 1, "only the confirmation");
}

#[tokio::test]
async fn an_unknown_customer_is_customer_not_found() {
    let ports = Ports::new();
    let err = reminder(&ports, &"0".repeat(32), "trace").await.unwrap_err();
    assert_eq!(err.name, "CustomerNotFound");
    assert!(!err.message.contains(&"0".repeat(32)), "the id is masked: {}", err.message);
    // lambda_runtime logs the error outside the handler's span: the message carries the trace id.
    assert!(err.message.contains("traceId trace"), "{}", err.message);
}

#[tokio::test]
async fn the_reminder_of_a_replaced_registration_sends_nothing() {
    let ports = Ports::new();
    ports.sfn.failures.push(PortError::Transient { service: "sfn", message: "timeout".into() });
    let (status, _) = ports.register(json!({"email": "ana@example.com", "name": "Ana"}), now()).await;
    assert_eq!(status, 503);
    let abandoned_trace = ports.db.items(TABLE)[0]["traceId"].as_str().expect("trace").to_owned();
    let (id, _, trace) = registered(&ports, "ana@example.com").await;
    let output = reminder(&ports, &id, &abandoned_trace).await.expect("skipped");
    assert_eq!(json_of(&output), json!({"reminded": false, "reason": "superseded"}));
    assert_eq!(json_of(&reminder(&ports, &id, &trace).await.expect("reminded")), json!({"reminded": true}));
}

#[tokio::test]
async fn a_refused_reminder_is_email_rejected_without_the_address_and_throttling_is_transient() {
    let ports = Ports::new();
    let (id, _, trace) = registered(&ports, "secret.person@example.com").await;
    ports.mail.failures.push(PortError::Rejected {
        service: "sesv2",
        code: "MessageRejected".into(),
        message: "Email address is not verified: secret.person@EXAMPLE.com".into(),
    });
    let err = reminder(&ports, &id, &trace).await.unwrap_err();
    assert_eq!(err.name, "EmailRejected");
    assert!(!err.message.contains("secret.person"), "{}", err.message);
    ports.mail.failures.push(PortError::Transient { service: "sesv2", message: "Throttling".into() });
    assert_eq!(reminder(&ports, &id, &trace).await.unwrap_err().name, "TransientError");
    ports.db.failures.push(PortError::Rejected {
        service: "dynamodb",
        code: "AccessDeniedException".into(),
        message: "no".into(),
    });
    assert_eq!(reminder(&ports, &id, &trace).await.unwrap_err().name, "StorageError");
}

#[tokio::test]
async fn a_malformed_record_is_invalid_input_naming_the_attribute() {
    let ports = Ports::new();
    let (id, _, trace) = registered(&ports, "ana@example.com").await;
    let mut item = ports.db.items(TABLE).remove(0);
    item.insert("email".into(), AttrValue::number(1));
    ports.db.insert(TABLE, item).expect("insert");
    let err = reminder(&ports, &id, &trace).await.unwrap_err();
    assert_eq!(err.name, "InvalidInput");
    assert!(err.message.contains("email must be a string"), "{}", err.message);
}

#[test]
fn the_event_fixtures_are_what_the_functions_read() {
    let read = |name: &str| -> serde_json::Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture")).expect("JSON")
    };
    let register = common::http::request_from(read("signup-register.json")).expect("register request");
    assert!(signup::rules::parse_registration(register.body.as_deref().unwrap_or_default()).is_ok());
    let confirm = common::http::request_from(read("signup-confirm.json")).expect("confirm request");
    assert!(confirm.query_string_parameters.first("customerId").is_some());
    let _: ReminderInput = common::parse_input(read("signup-reminder.json")).expect("reminder input");
}
