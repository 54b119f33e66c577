//! Hostile requests to `GET /friday` on in-memory ports: each is a 400 JSON message naming the
//! problem, and none starts a reminder.

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter};
use common::ports::{AttrValue, Item};
use friday::api::{ApiConfig, handle};
use serde_json::{Value, json};

const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:friday-reminder";

fn users() -> MemoryItemStore {
    let db = MemoryItemStore::new().with_table("users", &["userId"]);
    for id in ["ana", "bo"] {
        let item = Item::from([
            ("userId".to_owned(), AttrValue::string(id)),
            ("timezone".to_owned(), AttrValue::string("America/Los_Angeles")),
        ]);
        db.insert("users", item).expect("insert");
    }
    db
}

/// `GET /friday?<raw_query>` as API Gateway sends it: repeated parameters comma-joined.
fn get(raw_query: &str, query: Value, body: Option<&str>) -> ApiGatewayV2httpRequest {
    serde_json::from_value(json!({
        "version": "2.0", "routeKey": "GET /friday", "rawPath": "/friday", "rawQueryString": raw_query,
        "headers": {}, "queryStringParameters": query, "body": body,
        "requestContext": {"http": {"method": "GET", "path": "/friday"}, "timeEpoch": 0},
        "isBase64Encoded": false
    }))
    .expect("an HTTP API request")
}

fn answer(response: &ApiGatewayV2httpResponse) -> (i64, String) {
    let message = match &response.body {
        Some(Body::Text(text)) => serde_json::from_str::<Value>(text).expect("JSON")["message"].clone(),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status_code, message.as_str().unwrap_or_default().to_owned())
}

async fn ask(db: &MemoryItemStore, sfn: &MemoryWorkflowStarter, request: &ApiGatewayV2httpRequest) -> (i64, String) {
    let config = ApiConfig { users_table: "users".into(), state_machine_arn: ARN.into() };
    // A Thursday in Los Angeles: an accepted request would start a reminder.
    let thursday = DateTime::parse_from_rfc3339("2026-11-19T20:00:00Z").expect("instant").with_timezone(&Utc);
    answer(&handle(db, sfn, &config, request, thursday).await)
}

#[tokio::test]
async fn a_repeated_user_id_is_400_and_starts_no_reminder_for_either_user() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    for (raw, joined) in
        [("userId=ana&userId=bo", "ana,bo"), ("userId=ana&userId=ana", "ana,ana"), ("userId=ana&userId=", "ana,")]
    {
        let (status, message) = ask(&db, &sfn, &get(raw, json!({"userId": joined}), None)).await;
        assert_eq!(
            (status, message.as_str()),
            (400, "the query parameter userId is given more than once; give it once"),
            "{raw}"
        );
    }
    assert!(sfn.started().is_empty());
    let (status, _) = ask(&db, &sfn, &get("userId=ana", json!({"userId": "ana"}), None)).await;
    assert_eq!(status, 202, "one userId is still answered");
}

#[tokio::test]
async fn a_body_on_get_friday_is_400() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    let big = "x".repeat(1 << 20);
    let (status, message) = ask(&db, &sfn, &get("userId=ana", json!({"userId": "ana"}), Some(&big))).await;
    assert_eq!((status, message.as_str()), (400, "GET /friday takes no body: give userId in the query string"));
    assert!(sfn.started().is_empty());
}

#[tokio::test]
async fn user_ids_carrying_line_breaks_or_nul_are_400_with_the_id_masked() {
    let (db, sfn) = (users(), MemoryWorkflowStarter::new());
    // The gateway percent-decodes `%0d%0a` before the function sees it; `%25` stays a literal `%`.
    for hostile in ["ana\r\nX-Injected: 1", "ana\u{0}", "ana\u{2028}", "ana%0d%0a", "\u{fffd}"] {
        let (status, message) = ask(&db, &sfn, &get("userId=x", json!({"userId": hostile}), None)).await;
        assert_eq!(status, 400, "{hostile:?}: {message}");
        assert!(message.starts_with("userId ") && message.contains("is not valid"), "{message}");
        assert!(
            !message.contains('\r') && !message.contains('\u{0}') && !message.contains("X-Injected"),
            "{message:?}"
        );
    }
    assert!(sfn.started().is_empty());
}
