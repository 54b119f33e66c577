//! The friday-reminder handlers on in-memory ports, at chosen instants.

use std::collections::BTreeMap;

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::PortError;
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter, RecordingPushSender};
use common::ports::{AttrValue, Item, PushChannel};
use common::telemetry::{mask, redact_token};
use friday::api::{ApiConfig, handle, request_time};
use friday::checker::{CheckInput, check_user};
use friday::notifier::{NotifyInput, NotifyOutput, NotifyStatus, notify};
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

fn checking(user: &str, now: Option<&str>) -> CheckInput {
    CheckInput { user_id: user.into(), now: now.map(at) }
}

fn notifying(user: &str, remind_at: &str, zone: &str, now: &str) -> NotifyInput {
    NotifyInput { user_id: user.into(), remind_at: at(remind_at), timezone: zone.into(), now: Some(at(now)) }
}

/// The notifier woken at the instant it was scheduled for, the profile unchanged.
async fn notify_due(
    db: &MemoryItemStore,
    push: &RecordingPushSender,
    user: &str,
) -> Result<NotifyOutput, common::WorkflowError> {
    // Friday 18:00Z: past the hour on that Friday in every zone of `users()`.
    let input = notifying(user, "2026-11-20T09:00:00Z", "UTC", "2026-11-20T18:00:00Z");
    notify(db, push, "users", "local-app", input, at("2000-01-01T00:00:00Z")).await
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
        (json!({"userId": "ghost"}), 404, "no user gh***#"),
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
    let out = check_user(&db, "users", checking("tokyo", None), at("2026-11-18T12:00:00Z")).await.expect("ok");
    let v = serde_json::to_value(&out).expect("json");
    assert_eq!(v["status"], json!("NOT_FRIDAY"));
    assert_eq!(v["today"], json!("Wednesday"));
    assert_eq!(v["daysUntilFriday"], json!(2));
    assert_eq!(v["wait"], json!("2026-11-19T23:00:00Z"), "Friday 08:00 JST");
    assert_eq!(v["timezone"], json!("Asia/Tokyo"));
    let missing = check_user(&db, "users", checking("ghost", None), Utc::now()).await.unwrap_err();
    assert_eq!(missing.name, "UserNotFound");
    let broken = check_user(&db, "users", checking("broken", None), Utc::now()).await.unwrap_err();
    assert_eq!(broken.name, "InvalidInput");
    assert!(broken.message.contains("Mars/Olympus"));
}

#[tokio::test]
async fn notifier_sends_one_call_and_reports_each_token() {
    let (db, push) = (users(), RecordingPushSender::new());
    let out = notify_due(&db, &push, "tokyo").await.expect("ok");
    assert_eq!(out.status, NotifyStatus::Sent);
    assert_eq!((out.delivered, out.failed), (2, 0));
    let sent = push.sent();
    assert_eq!(sent.len(), 1, "one SendMessages call");
    assert_eq!(sent[0].app_id, "local-app");
    let channels: Vec<PushChannel> = sent[0].targets.iter().map(|t| t.channel).collect();
    assert_eq!(channels, [PushChannel::Apns, PushChannel::Gcm]);
    assert_eq!(sent[0].message.title, "It's Friday!");

    let la = notify_due(&db, &push, "la").await.expect("ok");
    assert_eq!((la.delivered, la.failed), (0, 2));
    let statuses: Vec<&str> = la.results.iter().map(|r| r.status.as_str()).collect();
    assert_eq!(statuses, ["PERMANENT_FAILURE", "UNSUPPORTED_PLATFORM"]);
}

#[tokio::test]
async fn notifier_without_devices_is_a_named_error() {
    let (db, push) = (users(), RecordingPushSender::new());
    let err = notify_due(&db, &push, "nodevice").await.unwrap_err();
    assert_eq!(err.name, "NoDeviceRegistered");
    assert!(push.sent().is_empty());
    let err = notify_due(&db, &push, "ghost").await.unwrap_err();
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
    assert_eq!(request_time(&request), Some(at("2026-11-21T10:00:00Z")), "timeEpoch agrees with time");
    let check: CheckInput = serde_json::from_value(read("friday-checker.json")).expect("checker input");
    assert_eq!(check.now, Some(at("2026-11-19T10:00:00Z")));
    let woken: NotifyInput = serde_json::from_value(read("friday-notifier.json")).expect("notifier input");
    assert_eq!((woken.remind_at, woken.now), (at("2026-11-20T08:00:00Z"), Some(at("2026-11-20T08:00:00Z"))));
}

#[tokio::test]
async fn checker_and_notifier_refuse_malformed_user_ids() {
    let (db, push) = (users(), RecordingPushSender::new());
    let check = check_user(&db, "users", checking("a b", None), Utc::now()).await.unwrap_err();
    assert_eq!(check.name, "InvalidInput");
    assert!(check.message.contains(&format!("userId {} is not valid", mask("a b"))), "{check}");
    let notify = notify_due(&db, &push, "").await.unwrap_err();
    assert_eq!(notify.name, "InvalidInput");
}

// ---------------------------------------------------------------- time comes from the caller

#[tokio::test]
async fn api_uses_the_instant_api_gateway_stamped_on_the_request() {
    let mut friday_request = request(json!({"userId": "tokyo"}));
    // Thursday 2026-11-19 20:00Z: Friday 05:00 in Tokyo, Thursday 12:00 in Los Angeles.
    friday_request.request_context.time_epoch = at("2026-11-19T20:00:00Z").timestamp_millis();
    assert_eq!(request_time(&friday_request), Some(at("2026-11-19T20:00:00Z")));
    let mut hand_made = request(json!({"userId": "tokyo"}));
    hand_made.request_context.time_epoch = 0;
    assert_eq!(request_time(&hand_made), None, "no timeEpoch: the function's clock decides");
}

#[tokio::test]
async fn checker_uses_the_state_machines_now_over_its_own_clock() {
    let db = users();
    let system_clock = at("2026-11-18T12:00:00Z"); // a Wednesday
    let stamped =
        check_user(&db, "users", checking("la", Some("2026-11-20T09:00:00Z")), system_clock).await.expect("ok");
    assert_eq!((stamped.today.as_str(), stamped.days_until_friday), ("Friday", 0), "Friday 01:00 in LA");
    assert_eq!(stamped.wait, at("2026-11-20T17:00:00Z"), "an early Friday check still waits for 09:00");
    let own = check_user(&db, "users", checking("la", None), system_clock).await.expect("ok");
    assert_eq!(own.today, "Wednesday");
}

// ---------------------------------------------------------------- a profile changed in the week

fn set_hour(db: &MemoryItemStore, user: &str, zone: &str, hour: i64) {
    db.insert(
        "users",
        Item::from([
            ("userId".to_owned(), AttrValue::string(user)),
            ("timezone".to_owned(), AttrValue::string(zone)),
            ("notifyHour".to_owned(), AttrValue::number(hour)),
            ("devices".to_owned(), AttrValue::L(vec![device("apns-moved", "APNS")])),
        ]),
    )
    .expect("insert");
}

#[tokio::test]
async fn notifier_reschedules_without_pushing_when_the_hour_moved_later() {
    let (db, push) = (users(), RecordingPushSender::new());
    set_hour(&db, "mover", "UTC", 11);
    let woken = notifying("mover", "2026-11-20T09:00:00Z", "UTC", "2026-11-20T09:00:00Z");
    let out = notify(&db, &push, "users", "local-app", woken, Utc::now()).await.expect("ok");
    assert_eq!(out.status, NotifyStatus::Rescheduled);
    assert_eq!(out.remind_at, "2026-11-20T11:00:00Z");
    assert_eq!((out.delivered, out.failed, out.results.len()), (0, 0, 0));
    assert!(push.sent().is_empty(), "nothing is pushed before the new hour");
    let at_eleven = notifying("mover", "2026-11-20T11:00:00Z", "UTC", "2026-11-20T11:00:00Z");
    let out = notify(&db, &push, "users", "local-app", at_eleven, Utc::now()).await.expect("ok");
    assert_eq!((out.status, out.delivered), (NotifyStatus::Sent, 1));
}

#[tokio::test]
async fn notifier_pushes_at_once_when_the_hour_moved_earlier() {
    let (db, push) = (users(), RecordingPushSender::new());
    set_hour(&db, "mover", "UTC", 7);
    let woken = notifying("mover", "2026-11-20T09:00:00Z", "UTC", "2026-11-20T09:00:00Z");
    let out = notify(&db, &push, "users", "local-app", woken, Utc::now()).await.expect("ok");
    assert_eq!((out.status, out.remind_at.as_str(), out.delivered), (NotifyStatus::Sent, "2026-11-20T07:00:00Z", 1));
    assert_eq!(push.sent().len(), 1);
}

#[tokio::test]
async fn notifier_refuses_a_schedule_zone_that_is_not_a_zone() {
    let (db, push) = (users(), RecordingPushSender::new());
    let input = notifying("tokyo", "2026-11-20T09:00:00Z", "Nowhere/Town", "2026-11-20T09:00:00Z");
    let err = notify(&db, &push, "users", "local-app", input, Utc::now()).await.unwrap_err();
    assert_eq!(err.name, "InvalidInput");
    assert!(err.message.contains("Nowhere/Town"));
}

// ---------------------------------------------------------------- identity and personal data

#[tokio::test]
async fn users_a_dot_b_a_underscore_b_and_a_at_b_get_three_reminders() {
    let (db, sfn) = (MemoryItemStore::new().with_table("users", &["userId"]), MemoryWorkflowStarter::new());
    for id in ["a.b", "a_b", "a@b"] {
        set_hour(&db, id, "UTC", 9);
    }
    let now = at("2026-11-18T12:00:00Z");
    let mut arns = Vec::new();
    for id in ["a.b", "a_b", "a@b"] {
        let r = handle(&db, &sfn, &config(), &request(json!({"userId": id})), now).await;
        assert_eq!(r.status_code, 202);
        arns.push(body(&r)["executionArn"].as_str().expect("arn").to_owned());
    }
    arns.sort();
    arns.dedup();
    assert_eq!(arns.len(), 3, "{arns:?}");
    assert_eq!(sfn.started().len(), 3);
}

const PRIVATE_ID: &str = "jane.doe@example.com";
const PRIVATE_TOKENS: [&str; 2] = ["apns-0123456789abcdef", "invalid-fedcba9876543210"];

fn private_user(db: &MemoryItemStore, devices: bool) {
    let list = if devices { vec![device(PRIVATE_TOKENS[0], "APNS"), device(PRIVATE_TOKENS[1], "GCM")] } else { vec![] };
    db.insert(
        "users",
        Item::from([
            ("userId".to_owned(), AttrValue::string(PRIVATE_ID)),
            ("timezone".to_owned(), AttrValue::string("UTC")),
            ("devices".to_owned(), AttrValue::L(list)),
        ]),
    )
    .expect("insert");
}

fn assert_private(what: &str, text: &str) {
    assert!(!text.contains(PRIVATE_ID) && !text.contains("jane.doe"), "{what} holds the user id: {text}");
    for token in PRIVATE_TOKENS {
        assert!(!text.contains(token), "{what} holds a token: {text}");
    }
}

#[tokio::test]
async fn notifier_output_holds_no_full_user_id_or_token() {
    let (db, push) = (MemoryItemStore::new().with_table("users", &["userId"]), RecordingPushSender::new());
    private_user(&db, true);
    let out = notify_due(&db, &push, PRIVATE_ID).await.expect("ok");
    assert_eq!((out.delivered, out.failed), (1, 1));
    assert_private("the execution output", &serde_json::to_string(&out).expect("json"));
    assert_eq!(out.user_id, mask(PRIVATE_ID), "masked, so two outputs about one user still match");
    assert_eq!(out.results[0].token, redact_token(PRIVATE_TOKENS[0]));
}

#[tokio::test]
async fn handler_errors_hold_no_full_user_id_or_token() {
    // lambda_runtime 1.5 logs every handler error as `error!("{error:?}")` and sends its
    // message to Step Functions as the task's cause: check both forms of each error.
    let (db, push) = (MemoryItemStore::new().with_table("users", &["userId"]), RecordingPushSender::new());
    let unknown = check_user(&db, "users", checking(PRIVATE_ID, None), Utc::now()).await.unwrap_err();
    let unknown_notify = notify_due(&db, &push, PRIVATE_ID).await.unwrap_err();
    private_user(&db, false);
    let no_device = notify_due(&db, &push, PRIVATE_ID).await.unwrap_err();
    private_user(&db, true);
    push.failures.push(PortError::Rejected {
        service: "pinpoint",
        code: "BadRequestException".into(),
        message: format!("address {} of user {PRIVATE_ID} is malformed", PRIVATE_TOKENS[0]),
    });
    let rejected = notify_due(&db, &push, PRIVATE_ID).await.unwrap_err();
    let names: Vec<&str> = [&unknown, &unknown_notify, &no_device, &rejected].iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["UserNotFound", "UserNotFound", "NoDeviceRegistered", "PushRejected"]);
    for err in [unknown, unknown_notify, no_device, rejected] {
        assert_private("an error", &format!("{err} {err:?}"));
        let diagnostic: lambda_runtime::Diagnostic = err.into();
        assert_private("a diagnostic", &format!("{} {}", diagnostic.error_type, diagnostic.error_message));
    }
}

#[tokio::test]
async fn api_answers_hold_no_full_user_id() {
    let (db, sfn) = (MemoryItemStore::new().with_table("users", &["userId"]), MemoryWorkflowStarter::new());
    let now = at("2026-11-18T12:00:00Z");
    let missing = handle(&db, &sfn, &config(), &request(json!({"userId": PRIVATE_ID})), now).await;
    assert_eq!(missing.status_code, 404);
    assert_private("the 404 answer", &body(&missing).to_string());
    assert!(body(&missing)["message"].as_str().is_some_and(|m| m.contains(&mask(PRIVATE_ID))));
    let invalid = handle(&db, &sfn, &config(), &request(json!({"userId": "jane.doe@example.com!"})), now).await;
    assert_eq!(invalid.status_code, 400);
    assert_private("the 400 answer", &body(&invalid).to_string());
}

/// A `tracing` writer into a shared buffer.
#[derive(Clone, Default)]
struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("buffer").extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().expect("buffer")).into_owned()
    }
}

#[tokio::test]
async fn log_lines_hold_no_full_user_id_or_token() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    // The global default, not a scoped one: tests running beside this one on other threads
    // would otherwise leave some callsites cached as disabled and the lines would go missing.
    // Lines of those other tests land in the buffer too, and must be just as private.
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber of this test binary");

    let (db, sfn, push) = (
        MemoryItemStore::new().with_table("users", &["userId"]),
        MemoryWorkflowStarter::new(),
        RecordingPushSender::new(),
    );
    private_user(&db, true);
    let now = at("2026-11-18T12:00:00Z");
    sfn.failures.push(PortError::Rejected {
        service: "sfn",
        code: "InvalidName".into(),
        message: format!(
            "Invalid Name: '{PRIVATE_ID}' for {}",
            friday::api::reminder_name(PRIVATE_ID, now.date_naive())
        ),
    });
    let failed_start = handle(&db, &sfn, &config(), &request(json!({"userId": PRIVATE_ID})), now).await;
    assert_eq!(failed_start.status_code, 503);
    db.failures.push(PortError::Transient { service: "dynamodb", message: format!("timeout reading {PRIVATE_ID}") });
    assert_eq!(handle(&db, &sfn, &config(), &request(json!({"userId": PRIVATE_ID})), now).await.status_code, 503);
    notify_due(&db, &push, PRIVATE_ID).await.expect("pushed");
    let later = notifying(PRIVATE_ID, "2026-11-20T08:00:00Z", "Asia/Tokyo", "2026-11-20T08:00:00Z");
    let rescheduled = notify(&db, &push, "users", "local-app", later, Utc::now()).await.expect("ok");
    assert_eq!(rescheduled.status, NotifyStatus::Rescheduled);

    let logs = captured.text();
    assert!(logs.contains("starting the reminder failed") && logs.contains("pushed"), "{logs}");
    assert!(logs.contains("waiting again") && logs.contains(&mask(PRIVATE_ID)), "{logs}");
    assert_private("the log", &logs);
}
