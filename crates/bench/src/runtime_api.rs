//! A stand-in for the Lambda Runtime API on loopback: it hands one event to the function
//! process and records when the process first polled and when it answered.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::Value;
use tokio::sync::Notify;

#[derive(Debug, Clone)]
pub struct Answer {
    pub at: Instant,
    pub error: bool,
    pub body: String,
}

#[derive(Default)]
struct Run {
    event: Option<Value>,
    first_poll: Option<Instant>,
    answer: Option<Answer>,
}

#[derive(Clone, Default)]
pub struct RuntimeApi {
    run: Arc<Mutex<Run>>,
    answered: Arc<Notify>,
}

fn lock(m: &Mutex<Run>) -> std::sync::MutexGuard<'_, Run> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

impl RuntimeApi {
    /// Serves on 127.0.0.1 (a free port); returns the `host:port` for `AWS_LAMBDA_RUNTIME_API`.
    pub async fn start(&self) -> std::io::Result<String> {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?.to_string();
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route("/2018-06-01/runtime/invocation/{id}/response", post(response))
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(init_error))
            .with_state(self.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(address)
    }

    /// Arms the next run with `event`.
    pub fn arm(&self, event: Value) {
        *lock(&self.run) = Run { event: Some(event), first_poll: None, answer: None };
    }

    /// Waits for the answer; returns the first poll and the answer.
    pub async fn wait(&self, limit: Duration) -> Option<(Instant, Answer)> {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let notified = self.answered.notified();
            {
                let run = lock(&self.run);
                if let (Some(poll), Some(answer)) = (run.first_poll, run.answer.clone()) {
                    return Some((poll, answer));
                }
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                return None;
            }
        }
    }
}

async fn next(State(api): State<RuntimeApi>) -> Response {
    let now = Instant::now();
    let event = {
        let mut run = lock(&api.run);
        run.first_poll.get_or_insert(now);
        run.event.take()
    };
    let Some(event) = event else {
        // One event per process: later polls wait until the process is stopped.
        std::future::pending::<()>().await;
        return StatusCode::NO_CONTENT.into_response();
    };
    let mut headers = HeaderMap::new();
    let deadline = (chrono::Utc::now().timestamp_millis() + 60_000).to_string();
    headers.insert("Lambda-Runtime-Aws-Request-Id", HeaderValue::from_static("bench-request"));
    headers.insert(
        "Lambda-Runtime-Deadline-Ms",
        HeaderValue::from_str(&deadline).unwrap_or(HeaderValue::from_static("0")),
    );
    headers.insert(
        "Lambda-Runtime-Invoked-Function-Arn",
        HeaderValue::from_static("arn:aws:lambda:us-east-1:123456789012:function:bench"),
    );
    headers.insert("Lambda-Runtime-Trace-Id", HeaderValue::from_static("Root=1-00000000-000000000000000000000000"));
    (StatusCode::OK, headers, event.to_string()).into_response()
}

fn record(api: &RuntimeApi, error: bool, body: Bytes) -> StatusCode {
    let at = Instant::now();
    lock(&api.run).answer = Some(Answer { at, error, body: String::from_utf8_lossy(&body).into_owned() });
    api.answered.notify_waiters();
    StatusCode::ACCEPTED
}

async fn response(State(api): State<RuntimeApi>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    record(&api, false, body)
}

async fn error(State(api): State<RuntimeApi>, Path(_id): Path<String>, body: Bytes) -> StatusCode {
    record(&api, true, body)
}

async fn init_error(State(api): State<RuntimeApi>, body: Bytes) -> StatusCode {
    lock(&api.run).first_poll.get_or_insert(Instant::now());
    record(&api, true, body)
}
