//! What the workflow writes to its logs: the trace id on every line of register and
//! reminder, never a full address, token or customer id.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::PortError;
use serde_json::json;
use signup::reminder::{ReminderInput, remind};
use support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().map_err(|_| std::io::Error::other("poisoned"))?.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    fn lines(&self) -> Vec<String> {
        let bytes = self.0.lock().map(|b| b.clone()).unwrap_or_default();
        String::from_utf8_lossy(&bytes).lines().map(str::to_owned).collect()
    }
}

/// One capturing test at a time: scoped subscribers on two threads at once can leave a
/// callsite's cached interest disabled for the other, and lines would go missing.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs the body with a JSON subscriber (as in Lambda) writing into the returned buffer.
fn capture() -> (Captured, (tracing::subscriber::DefaultGuard, std::sync::MutexGuard<'static, ()>)) {
    let serial = ONE_AT_A_TIME.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .json()
        .with_current_span(true)
        .with_span_list(false)
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(move || writer.clone())
        .finish();
    (captured, (tracing::subscriber::set_default(subscriber), serial))
}

#[tokio::test]
async fn every_log_line_of_a_registration_and_its_reminder_carries_the_trace_id_and_no_secret() {
    let ports = Ports::new();
    let (captured, guard) = capture();
    // A failed attempt first (its lines carry its own trace id), then the one that works.
    ports.mail.failures.push(PortError::Rejected {
        service: "sesv2",
        code: "MessageRejected".into(),
        message: "Email address is not verified: Secret.Person@example.com".into(),
    });
    let body = json!({"email": "Secret.Person@EXAMPLE.com", "name": "Ana"});
    assert_eq!(ports.register(body.clone(), now()).await.0, 503);
    let failed_trace = ports.db.items(TABLE)[0]["traceId"].as_str().expect("trace").to_owned();
    let failed_lines = captured.lines();

    let (status, answer_body) = ports.register(body, now()).await;
    assert_eq!(status, 201);
    let id = answer_body["customerId"].as_str().expect("id").to_owned();
    let customer = ports.customer(&id);
    let input = ReminderInput { customer_id: id.clone(), trace_id: customer.trace_id.clone() };
    remind(&ports.db, &ports.mail, &reminder_config(), input).await.expect("reminded");
    drop(guard);

    let lines = captured.lines();
    assert!(failed_lines.len() >= 2 && lines.len() >= failed_lines.len() + 3, "{lines:#?}");
    for (n, line) in lines.iter().enumerate() {
        let trace = if n < failed_lines.len() { &failed_trace } else { &customer.trace_id };
        let parsed: serde_json::Value = serde_json::from_str(line).expect("a JSON log line");
        assert_eq!(parsed["span"]["traceId"].as_str(), Some(trace.as_str()), "{line}");
        for secret in ["Secret.Person", "secret.person", &id, &customer.token] {
            assert!(!line.contains(secret), "{secret:?} in {line}");
        }
    }
    assert!(lines.iter().any(|l| l.contains("MessageRejected") && l.contains("EmailRejected")), "the cause is kept");
}

#[tokio::test]
async fn a_refused_registration_is_logged_with_its_reason_and_trace_id() {
    let ports = Ports::new();
    let (captured, guard) = capture();
    let (status, _) =
        ports.register(json!({"email": "a@example.com\r\nBcc: x@example.com", "name": "Ana"}), now()).await;
    drop(guard);
    assert_eq!(status, 400);
    let lines = captured.lines();
    assert_eq!(lines.len(), 1, "{lines:#?}");
    let parsed: serde_json::Value = serde_json::from_str(&lines[0]).expect("JSON");
    assert!(parsed["span"]["traceId"].as_str().is_some_and(|t| t.len() == 36), "{parsed}");
    assert!(parsed["fields"]["reason"].as_str().is_some_and(|r| r.contains("control character")));
}
