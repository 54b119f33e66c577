//! Hostile requests to `POST /register` and `GET /confirm` on in-memory ports: each is answered
//! with a 4xx JSON message naming the problem, and none stores, sends or confirms anything.

mod support;

use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};
use signup::customer::Status;
use support::*;

const JSON: &str = "application/json";

impl Ports {
    /// `POST /register` with this Content-Type (none when `None`) and body, as API Gateway
    /// delivers it: as text, or base64-encoded when `base64`.
    async fn post(&self, content_type: Option<&str>, body: &str, base64: bool) -> (i64, Value) {
        let headers = content_type.map_or(json!({}), |t| json!({"content-type": t}));
        let request = request_with("POST", "/register", "", headers, Some(body), base64);
        answer(&signup::register::handle(&self.db, &self.mail, &self.sfn, &register_config(), &request, now()).await)
    }

    async fn get_confirm(&self, raw_query: &str, body: Option<&str>) -> (i64, Value) {
        let request = request_with("GET", "/confirm", raw_query, json!({}), body, false);
        answer(&signup::confirm::handle(&self.db, TABLE, &request, now()).await)
    }

    fn untouched(&self) -> bool {
        self.db.items(TABLE).is_empty() && self.mail.sent().is_empty() && self.sfn.started().is_empty()
    }
}

fn registration(email: &str, name: &str) -> String {
    json!({"email": email, "name": name}).to_string()
}

fn message(body: &Value) -> &str {
    body["message"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_body_over_a_megabyte_is_413_before_anything_is_read() {
    let ports = Ports::new();
    let padded = format!(r#"{{"email":"big@example.com","name":"Big","pad":"{}"}}"#, "x".repeat(1 << 20));
    for (content_type, body, base64) in [
        (Some(JSON), padded.clone(), false),
        (Some(JSON), STANDARD.encode(&padded), true),
        (Some("text/plain"), padded.clone(), false),
    ] {
        let (status, answer) = ports.post(content_type, &body, base64).await;
        assert_eq!(status, 413, "{answer}");
        assert!(message(&answer).starts_with("the body is larger than 65536 bytes"), "{answer}");
    }
    assert!(ports.untouched());
}

#[tokio::test]
async fn a_body_that_is_not_declared_json_in_utf_8_is_415() {
    let ports = Ports::new();
    let body = registration("ct@example.com", "Ct");
    let form = STANDARD.encode("email=ct%40example.com&name=Ct");
    let cases = [
        (Some("text/plain"), body.clone(), false, "the Content-Type 'text/plain' is not supported"),
        // API Gateway base64-encodes a form post.
        (Some("application/x-www-form-urlencoded"), form, true, "the Content-Type 'application/x-www-form-urlencoded'"),
        (None, body.clone(), false, "the Content-Type header is missing"),
        (Some("application/json,text/plain"), body.clone(), false, "the Content-Type 'application/json,text/plain'"),
        (
            Some("application/json; charset=iso-8859-1"),
            body.clone(),
            false,
            "the charset 'iso-8859-1' is not supported",
        ),
    ];
    for (content_type, body, base64, expected) in cases {
        let (status, answer) = ports.post(content_type, &body, base64).await;
        assert_eq!(status, 415, "{content_type:?}: {answer}");
        assert!(message(&answer).starts_with(expected), "{content_type:?}: {answer}");
    }
    assert!(ports.untouched());
    let (status, answer) = ports.post(Some("application/json; charset=utf-8"), &body, false).await;
    assert_eq!(status, 201, "{answer}");
    let other = registration("ct2@example.com", "Ct");
    assert_eq!(ports.post(Some("Application/JSON;charset=\"UTF-8\""), &other, false).await.0, 201);
}

#[tokio::test]
async fn ten_thousand_levels_of_nesting_are_400_at_once() {
    let ports = Ports::new();
    let deep = format!(r#"{{"email":"a@example.com","name":"Ana","x":{}1{}}}"#, "[".repeat(10_000), "]".repeat(10_000));
    for body in [deep, "{\"a\":".repeat(10_000)] {
        let started = Instant::now();
        let (status, answer) = ports.post(Some(JSON), &body, false).await;
        assert!(started.elapsed() < Duration::from_millis(500), "{:?}", started.elapsed());
        assert_eq!(status, 400, "{answer}");
        assert!(message(&answer).starts_with("the body nests arrays or objects deeper than 16 levels"), "{answer}");
    }
    assert!(ports.untouched());
}

#[tokio::test]
async fn bytes_that_are_not_utf_8_are_400_raw_or_base64_encoded() {
    let ports = Ports::new();
    // What the gateway makes of a JSON body with a Latin-1 byte: base64, as it is not text.
    let latin1 = STANDARD.encode(b"{\"email\":\"jose@example.com\",\"name\":\"Jos\xe9\"}");
    let (status, answer) = ports.post(Some(JSON), &latin1, true).await;
    assert_eq!((status, message(&answer)), (400, "the body is not UTF-8 text"));
    let (status, answer) = ports.post(Some(JSON), "not base64!", true).await;
    assert_eq!(status, 400);
    assert!(message(&answer).starts_with("the body is not valid base64"), "{answer}");
    let surrogate = r#"{"email":"jose@example.com","name":"\ud800"}"#;
    let (status, answer) = ports.post(Some(JSON), surrogate, false).await;
    assert_eq!(status, 400);
    assert!(message(&answer).starts_with("the body is not JSON"), "{answer}");
    assert!(ports.untouched());
}

#[tokio::test]
async fn a_member_given_twice_is_400_not_the_last_one_registered() {
    let ports = Ports::new();
    let body = r#"{"email":"shown@example.com","email":"real@example.com","name":"Ana"}"#;
    let (status, answer) = ports.post(Some(JSON), body, false).await;
    assert_eq!((status, message(&answer)), (400, "the body gives email more than once"));
    assert!(ports.untouched());
}

#[tokio::test]
async fn header_injection_attempts_in_names_and_addresses_are_400_naming_the_field() {
    let ports = Ports::new();
    let cases = [
        ("a@example.com\r\nBcc: victim@example.com", "Ana", "email contains a control character"),
        ("a@example.com\nBcc: victim@example.com", "Ana", "email contains a control character"),
        ("a%0d%0aBcc:victim@example.com", "Ana", "email contains an encoded control character"),
        ("a@example.com%0D%0ABcc:victim@example.com", "Ana", "email contains an encoded control character"),
        ("a@example.com\u{2028}Bcc: victim@example.com", "Ana", "email contains a control character"),
        ("a\u{0}@example.com", "Ana", "email contains a control character"),
        ("a@example.com", "Ana\r\nSubject: you won", "name contains a control character"),
        ("a@example.com", "Ana%0d%0aSubject: you won", "name contains an encoded control character"),
        ("a@example.com", "Ana\u{2028}Subject: you won", "name contains a control character"),
        ("a@example.com", "Ana\u{2029}", "name contains a control character"),
        ("a@example.com", "Ana\u{0}", "name contains a control character"),
        ("a@example.com", "Ana%00", "name contains an encoded control character"),
    ];
    for (email, name, expected) in cases {
        let (status, answer) = ports.post(Some(JSON), &registration(email, name), false).await;
        assert_eq!(status, 400, "{email:?} {name:?}: {answer}");
        assert!(message(&answer).starts_with(expected), "{email:?} {name:?}: {answer}");
    }
    assert!(ports.untouched());
}

async fn registered(ports: &Ports) -> (String, String) {
    let (status, body) = ports.register(json!({"email": "link@example.com", "name": "Link"}), now()).await;
    assert_eq!(status, 201, "{body}");
    let id = body["customerId"].as_str().unwrap_or_default().to_owned();
    let token = ports.customer(&id).token;
    (id, token)
}

#[tokio::test]
async fn a_repeated_link_parameter_is_400_and_confirms_nothing_even_when_one_value_is_right() {
    let ports = Ports::new();
    let (id, token) = registered(&ports).await;
    let other = "0".repeat(32);
    for query in [
        format!("customerId={id}&customerId={other}&token={token}"),
        format!("customerId={other}&customerId={id}&token={token}"),
        format!("customerId={id}&customerId={id}&token={token}"),
        format!("customerId={id}&token={token}&token=guess"),
        format!("customerId={id}&token=guess&token={token}"),
    ] {
        let (status, answer) = ports.get_confirm(&query, None).await;
        assert_eq!(status, 400, "{query}: {answer}");
        assert!(message(&answer).contains("is given more than once"), "{answer}");
    }
    assert_eq!(ports.customer(&id).status, Status::Pending);
    let (status, _) = ports.get_confirm(&format!("customerId={id}&token={token}"), None).await;
    assert_eq!(status, 200, "the link as sent still works");
}

#[tokio::test]
async fn a_confirm_with_a_body_or_a_hostile_token_is_a_4xx_and_confirms_nothing() {
    let ports = Ports::new();
    let (id, token) = registered(&ports).await;
    let (status, answer) =
        ports.get_confirm(&format!("customerId={id}&token={token}"), Some(&"x".repeat(1 << 20))).await;
    assert_eq!((status, message(&answer)), (400, "GET /confirm takes no body; use the link of the e-mail"));
    for hostile in
        [format!("{token}\r\nSet-Cookie: a=b"), format!("{token}\u{0}"), "\u{2028}".into(), "x".repeat(100_000)]
    {
        let (status, answer) = ports.confirm(&id, &hostile, now()).await;
        assert_eq!(status, 403, "{answer}");
    }
    assert_eq!(ports.customer(&id).status, Status::Pending);
}
