//! The real `sfn-local serve` as a child process, a stand-in Lambda Invoke API that
//! computes from its input, and the JSON 1.0 protocol spoken by hand (as every SDK
//! speaks it: `POST /`, `X-Amz-Target: AWSStepFunctions.<Operation>`).

use std::net::{SocketAddr, TcpListener};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// Ports the helpers may use (loopback only).
const PORTS: std::ops::Range<u16> = 18_000..19_000;

/// A loopback listener on a free port of the range, starting from a point that differs
/// between test processes so that parallel runs rarely try the same ports.
pub fn listener() -> TcpListener {
    let span = PORTS.end - PORTS.start;
    let offset = (std::process::id() % u32::from(span)) as u16;
    (0..span)
        .map(|i| PORTS.start + (offset + i * 7) % span)
        .find_map(|port| TcpListener::bind(("127.0.0.1", port)).ok())
        .expect("a free port in 18000-18999")
}

/// `sfn-local serve` running on loopback; killed when dropped.
pub struct Server {
    child: Child,
    pub url: String,
}

impl Server {
    /// Starts the binary with `args` after `serve --listen ...` and waits until it answers.
    /// `SFN_LOCAL_BIN` names another build of it (a release one, for figures).
    pub async fn start(args: &[&str]) -> Server {
        let binary = std::env::var("SFN_LOCAL_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_sfn-local").to_owned());
        let address: SocketAddr = {
            let probe = listener();
            probe.local_addr().expect("address")
        };
        let child = Command::new(&binary)
            .args(["serve", "--listen", &address.to_string()])
            .args(args)
            .env("SFN_LOCAL_LOG", "warn")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .spawn()
            .expect("sfn-local starts");
        let server = Server { child, url: format!("http://{address}") };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            let health = http.get(format!("{}/_sfn-local/health", server.url)).send().await;
            if health.is_ok_and(|r| r.status().is_success()) {
                return server;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("sfn-local did not answer on {address} within 20 s");
    }

    /// The resident set size of the server process, in KiB (`VmRSS`), and its peak (`VmHWM`).
    pub fn rss_kib(&self) -> (u64, u64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).expect("/proc status");
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<u64>().ok())
                .expect("a VmRSS/VmHWM line")
        };
        (field("VmRSS:"), field("VmHWM:"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One JSON 1.0 call: the HTTP status and the JSON answer.
pub async fn call(http: &reqwest::Client, url: &str, operation: &str, body: &Value) -> (u16, Value) {
    let response = http
        .post(url)
        .header("content-type", "application/x-amz-json-1.0")
        .header("x-amz-target", format!("AWSStepFunctions.{operation}"))
        .body(body.to_string())
        .send()
        .await
        .unwrap_or_else(|e| panic!("{operation}: {e}"));
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// A call that must succeed.
pub async fn ok(http: &reqwest::Client, url: &str, operation: &str, body: &Value) -> Value {
    let (status, answer) = call(http, url, operation, body).await;
    assert_eq!(status, 200, "{operation} {body}: {answer}");
    answer
}

/// A Lambda Invoke API on loopback whose functions compute from their payload:
/// `square` answers `{"square": n * n}` for `{"n": n}`, `double` answers `2 * x` for a
/// number `x`. Counts the invocations.
pub struct ComputingLambda {
    pub url: String,
    pub invocations: Arc<AtomicUsize>,
    handle: tokio::task::JoinHandle<()>,
}

impl Drop for ComputingLambda {
    fn drop(&mut self) {
        self.handle.abort();
    }
}

pub fn computing_lambda() -> ComputingLambda {
    let invocations = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&invocations);
    let invoke = move |axum::extract::Path(name): axum::extract::Path<String>, body: axum::body::Bytes| {
        let counter = Arc::clone(&counter);
        async move {
            counter.fetch_add(1, Ordering::Relaxed);
            let payload: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
            let answer = match (name.as_str(), &payload) {
                ("square", p) => p["n"].as_i64().map(|n| json!({ "square": n * n })),
                ("double", p) => p.as_i64().map(|x| json!(2 * x)),
                _ => None,
            };
            let mut headers = axum::http::HeaderMap::new();
            headers.insert("content-type", axum::http::HeaderValue::from_static("application/json"));
            match answer {
                Some(a) => (headers, a.to_string()),
                None => {
                    headers.insert("x-amz-function-error", axum::http::HeaderValue::from_static("Unhandled"));
                    (headers, json!({"errorType": "BadPayload", "errorMessage": payload.to_string()}).to_string())
                }
            }
        }
    };
    let app = axum::Router::new().route("/2015-03-31/functions/{name}/invocations", axum::routing::post(invoke));
    let std_listener = listener();
    std_listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", std_listener.local_addr().expect("address"));
    let tokio_listener = tokio::net::TcpListener::from_std(std_listener).expect("tokio listener");
    let handle = tokio::spawn(async move {
        let _ = axum::serve(tokio_listener, app).await;
    });
    ComputingLambda { url, invocations, handle }
}
