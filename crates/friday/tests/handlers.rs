//! The friday-reminder handlers on in-memory ports, at chosen instants.

use std::collections::BTreeMap;

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::PortError;
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter, RecordingPushSender};
use common::ports::{AttrValue, Item, PushChannel};
use friday::api::{ApiConfig, handle};
use friday::checker::{CheckInput, check_user};
use friday::notifier::{NotifyInput, notify};
use serde_json::{Value, json};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:friday-reminder";

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&Utc)).expect("timestamp")
}

fn device(token: &str, platform: &str) -> AttrValue {
    AttrValue::M(BTreeMap::from([
        ("token".to_owned(), AttrValue::string(token)),
        ("platform".to_owned(), AttrValue::string(platform)),
    ]))
}

fn users() -> MemoryItemStore {
    let db = MemoryItemStore::new().with_table("users", &["userId"]);
    let user = |id: &str, zone: &str, hour: Option<i64>, devices: Vec<AttrValue>| {
        let mut item = Item::from([
            ("userId".to_owned(), AttrValue::string(id)),
            ("timezone".to_owned(), AttrValue::string(zone)),
            ("devices".to_owned(), AttrValue::L(devices)),
        ]);
        if let Some(h) = hour {
            item.insert("notifyHour".into(), AttrValue::number(h));
        }
        item
    };
    db.insert("users", user("tokyo", "Asia/Tokyo", Some(8), vec![device("apns-1", "APNS"), device("gcm-2", "GCM")]))
        .expect("insert");
    db.insert(
        "users",
        user("la", "America/Los_Angeles", None, vec![device("invalid-3", "GCM"), device("web-4", "WEB")]),
    )
    .expect("insert");
    db.insert("users", user("nodevice", "Europe/Paris", Some(9), vec![])).expect("insert");
    db.insert("users", user("broken", "Mars/Olympus", Some(9), vec![])).expect("insert");
    db
}

fn request(query: Value) -> ApiGatewayV2httpRequest {
    serde_json::from_value(json!({
        "version": "2.0", "routeKey": "GET /friday", "rawPath": "/friday", "rawQueryString": "",
        "headers": {"accept": "application/json"}, "queryStringParameters": query,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "GET", "path": "/friday", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r1", "routeKey": "GET /friday", "stage": "$default", "time": "20/Nov/2026:00:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": false
    }))
    .expect("an HTTP API request")
}

fn body(response: &ApiGatewayV2httpResponse) -> Value {
    match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("JSON body"),
        other => panic!("unexpected body {other:?}"),
    }
}

fn config() -> ApiConfig {
    ApiConfig { users_table: "users".into(), state_machine_arn: ARN.into() }
}

#[tokio::test]
async fn api_says_friday_on_the_users_friday() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    // Thursday 20:00Z is Friday 05:00 in Tokyo.
    let r = handle(&db, &sfn, &config(), &request(json!({"userId": "tokyo"})), at("2026-11-19T20:00:00Z")).await;
    assert_eq!(r.status_code, 200);
    assert_eq!(body(&r), json!({"friday": true, "today": "Friday", "timezone": "Asia/Tokyo"}));
    assert!(sfn.started().is_empty());
}

#[tokio::test]
async fn api_schedules_one_reminder_per_user_and_friday() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    // The same instant is still Thursday 12:00 in Los Angeles.
    let now = at("2026-11-19T20:00:00Z");
    let first = handle(&db, &sfn, &config(), &request(json!({"userId": "la"})), now).await;
    assert_eq!(first.status_code, 202);
    let b = body(&first);
    assert_eq!(b["friday"], json!(false));
    assert_eq!(b["today"], json!("Thursday"));
    assert_eq!(b["remindAt"], json!("2026-11-20T17:00:00Z"), "Friday 09:00 PST (default hour)");
    assert_eq!(b["executionArn"], json!(format!("{}:la-2026-11-20", ARN.replace(":stateMachine:", ":execution:"))));
    let later = handle(&db, &sfn, &config(), &request(json!({"userId": "la"})), at("2026-11-20T06:00:00Z")).await;
    assert_eq!(body(&later)["executionArn"], b["executionArn"], "same week: same execution");
    assert_eq!(sfn.started().len(), 1);
    assert_eq!(sfn.started()[0].input, json!({"userId": "la"}));
    let next_week = handle(&db, &sfn, &config(), &request(json!({"userId": "la"})), at("2026-11-21T20:00:00Z")).await;
    assert_ne!(body(&next_week)["executionArn"], b["executionArn"]);
}

#[tokio::test]
async fn api_answers_bad_requests_with_json_errors() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    let now = at("2026-11-18T12:00:00Z");
    let cases = [
        (json!({}), 400, "required"),
        (json!({"userId": ""}), 400, "userId"),
        (json!({"userId": "a b"}), 400, "userId"),
        (json!({"userId": "ghost"}), 404, "ghost"),
        (json!({"userId": "broken"}), 422, "Mars/Olympus"),
    ];
    for (query, status, text) in cases {
        let r = handle(&db, &sfn, &config(), &request(query.clone()), now).await;
        assert_eq!(r.status_code, status, "{query}");
        assert!(body(&r)["message"].as_str().is_some_and(|m| m.contains(text)), "{query}: {:?}", body(&r));
        assert_eq!(r.headers.get("content-type").and_then(|v| v.to_str().ok()), Some("application/json"));
    }
    db.failures.push(PortError::Transient { service: "dynamodb", message: "throttled".into() });
    assert_eq!(handle(&db, &sfn, &config(), &request(json!({"userId": "la"})), now).await.status_code, 503);
    sfn.failures.push(PortError::Transient { service: "sfn", message: "throttled".into() });
    assert_eq!(handle(&db, &sfn, &config(), &request(json!({"userId": "la"})), now).await.status_code, 503);
}

#[tokio::test]
async fn checker_outputs_the_contract_fields() {
    let db = users();
    let out =
        check_user(&db, "users", CheckInput { user_id: "tokyo".into() }, at("2026-11-18T12:00:00Z")).await.expect("ok");
    let v = serde_json::to_value(&out).expect("json");
    assert_eq!(v["status"], json!("NOT_FRIDAY"));
    assert_eq!(v["today"], json!("Wednesday"));
    assert_eq!(v["daysUntilFriday"], json!(2));
    assert_eq!(v["wait"], json!("2026-11-19T23:00:00Z"), "Friday 08:00 JST");
    assert_eq!(v["timezone"], json!("Asia/Tokyo"));
    let missing = check_user(&db, "users", CheckInput { user_id: "ghost".into() }, Utc::now()).await.unwrap_err();
    assert_eq!(missing.name, "UserNotFound");
    let broken = check_user(&db, "users", CheckInput { user_id: "broken".into() }, Utc::now()).await.unwrap_err();
    assert_eq!(broken.name, "InvalidInput");
    assert!(broken.message.contains("Mars/Olympus"));
}

#[tokio::test]
async fn notifier_sends_one_call_and_reports_each_token() {
    let (db, push) = (users(), RecordingPushSender::new());
    let out = notify(&db, &push, "users", "local-app", NotifyInput { user_id: "tokyo".into() }).await.expect("ok");
    assert_eq!((out.delivered, out.failed), (2, 0));
    let sent = push.sent();
    assert_eq!(sent.len(), 1, "one SendMessages call");
    assert_eq!(sent[0].app_id, "local-app");
    let channels: Vec<PushChannel> = sent[0].targets.iter().map(|t| t.channel).collect();
    assert_eq!(channels, [PushChannel::Apns, PushChannel::Gcm]);
    assert_eq!(sent[0].message.title, "It's Friday!");

    let la = notify(&db, &push, "users", "local-app", NotifyInput { user_id: "la".into() }).await.expect("ok");
    assert_eq!((la.delivered, la.failed), (0, 2));
    let statuses: Vec<&str> = la.results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["PERMANENT_FAILURE", "UNSUPPORTED_PLATFORM"]);
}

#[tokio::test]
async fn notifier_without_devices_is_a_named_error() {
    let (db, push) = (users(), RecordingPushSender::new());
    let err = notify(&db, &push, "users", "local-app", NotifyInput { user_id: "nodevice".into() }).await.unwrap_err();
    assert_eq!(err.name, "NoDeviceRegistered");
    assert!(push.sent().is_empty());
    let err = notify(&db, &push, "users", "local-app", NotifyInput { user_id: "ghost".into() }).await.unwrap_err();
    assert_eq!(err.name, "UserNotFound");
}

#[test]
fn the_example_events_match_the_handlers_inputs() {
    let read = |name: &str| -> Value {
        let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
        serde_json::from_str(&std::fs::read_to_string(&path).expect("fixture exists")).expect("fixture is JSON")
    };
    let request: ApiGatewayV2httpRequest =
        serde_json::from_value(read("friday-api.json")).expect("an HTTP API request");
    assert_eq!(request.query_string_parameters.first("userId"), Some("ana"));
    let _: CheckInput = serde_json::from_value(read("friday-checker.json")).expect("checker input");
    let _: NotifyInput = serde_json::from_value(read("friday-notifier.json")).expect("notifier input");
}

#[tokio::test]
async fn checker_and_notifier_refuse_malformed_user_ids() {
    let (db, push) = (users(), RecordingPushSender::new());
    let check = check_user(&db, "users", CheckInput { user_id: "a b".into() }, Utc::now()).await.unwrap_err();
    assert_eq!(check.name, "InvalidInput");
    assert!(check.message.contains("userId \"a b\""));
    let notify = notify(&db, &push, "users", "local-app", NotifyInput { user_id: String::new() }).await.unwrap_err();
    assert_eq!(notify.name, "InvalidInput");
}
