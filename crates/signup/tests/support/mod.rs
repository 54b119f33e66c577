//! What the handler tests share: in-memory ports, requests, answers.

#![allow(dead_code)]

use aws_lambda_events::encodings::Body;
use aws_lambda_events::event::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use chrono::{DateTime, Utc};
use common::ports::AttrValue;
use common::ports::memory::{MemoryItemStore, MemoryWorkflowStarter, RecordingEmailSender};
use serde_json::{Value, json};
use signup::customer::Customer;
use signup::register::RegisterConfig;
use signup::reminder::ReminderConfig;

pub const TABLE: &str = "customers";
pub const ARN: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:confirmation-reminder";
pub const BASE: &str = "http://127.0.0.1:3000";
pub const SENDER: &str = "no-reply@example.com";

pub struct Ports {
    pub db: MemoryItemStore,
    pub mail: RecordingEmailSender,
    pub sfn: MemoryWorkflowStarter,
}

impl Ports {
    pub fn new() -> Self {
        Self {
            db: MemoryItemStore::new().with_table(TABLE, &["customerId"]),
            mail: RecordingEmailSender::new(),
            sfn: MemoryWorkflowStarter::new(),
        }
    }

    pub async fn register(&self, body: Value, now: DateTime<Utc>) -> (i64, Value) {
        let response =
            signup::register::handle(&self.db, &self.mail, &self.sfn, &register_config(), &post(body), now).await;
        answer(&response)
    }

    pub async fn confirm(&self, customer_id: &str, token: &str, now: DateTime<Utc>) -> (i64, Value) {
        let query = json!({"customerId": customer_id, "token": token});
        answer(&signup::confirm::handle(&self.db, TABLE, &get(query), now).await)
    }

    pub fn customer(&self, customer_id: &str) -> Customer {
        let item =
            self.db.items(TABLE).into_iter().find(|i| i.get("customerId") == Some(&AttrValue::string(customer_id)));
        Customer::from_item(&item.expect("stored")).expect("readable")
    }
}

pub fn register_config() -> RegisterConfig {
    RegisterConfig {
        customers_table: TABLE.into(),
        public_base_url: BASE.into(),
        sender_email: SENDER.into(),
        state_machine_arn: ARN.into(),
    }
}

pub fn reminder_config() -> ReminderConfig {
    ReminderConfig { customers_table: TABLE.into(), public_base_url: BASE.into(), sender_email: SENDER.into() }
}

pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-20T10:00:00Z").map(|t| t.with_timezone(&Utc)).expect("timestamp")
}

fn event(method: &str, path: &str, query: Value, body: Option<String>, base64: bool) -> ApiGatewayV2httpRequest {
    let headers = json!({"content-type": "application/json"});
    event_with(method, path, "", query, headers, body, base64)
}

/// A request as API Gateway sends it for `raw_query` (repeated parameters comma-joined, as
/// payload 2.0 does), with these headers and body.
pub fn request_with(
    method: &str,
    path: &str,
    raw_query: &str,
    headers: Value,
    body: Option<&str>,
    base64: bool,
) -> ApiGatewayV2httpRequest {
    let mut query = serde_json::Map::new();
    for (name, value) in raw_query.split('&').filter(|p| !p.is_empty()).map(|p| p.split_once('=').unwrap_or((p, ""))) {
        match query.get_mut(name) {
            Some(Value::String(joined)) => *joined = format!("{joined},{value}"),
            _ => {
                query.insert(name.to_owned(), json!(value));
            }
        }
    }
    let query = if query.is_empty() { Value::Null } else { Value::Object(query) };
    event_with(method, path, raw_query, query, headers, body.map(str::to_owned), base64)
}

fn event_with(
    method: &str,
    path: &str,
    raw_query: &str,
    query: Value,
    headers: Value,
    body: Option<String>,
    base64: bool,
) -> ApiGatewayV2httpRequest {
    serde_json::from_value(json!({
        "version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": raw_query,
        "headers": headers, "queryStringParameters": query, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "local", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "test"},
            "requestId": "r1", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "20/Nov/2026:00:00:00 +0000", "timeEpoch": 0},
        "isBase64Encoded": base64
    }))
    .expect("an HTTP API request")
}

pub fn post(body: Value) -> ApiGatewayV2httpRequest {
    let text = match body {
        Value::String(raw) => raw,
        other => other.to_string(),
    };
    event("POST", "/register", Value::Null, Some(text), false)
}

pub fn post_raw(body: Option<&str>, base64: bool) -> ApiGatewayV2httpRequest {
    event("POST", "/register", Value::Null, body.map(str::to_owned), base64)
}

pub fn get(query: Value) -> ApiGatewayV2httpRequest {
    event("GET", "/confirm", query, None, false)
}

pub fn answer(response: &ApiGatewayV2httpResponse) -> (i64, Value) {
    let body = match &response.body {
        Some(Body::Text(text)) => serde_json::from_str(text).expect("a JSON body"),
        other => panic!("unexpected body {other:?}"),
    };
    (response.status_code, body)
}

/// The token in a message's confirmation link.
pub fn token_in(text: &str) -> String {
    let start = text.find("&token=").expect("a link with a token") + "&token=".len();
    text[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}
