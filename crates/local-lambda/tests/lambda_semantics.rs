//! local-lambda as a caller and a function see it: the real binary on loopback, functions
//! that are real processes speaking the Runtime API (`fixtures/fake_function.py`), and the
//! answers Lambda gives for each way an invocation can end.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

struct Server {
    child: Child,
    port: u16,
    bin_dir: PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        // SIGTERM: the service stops its function processes before it exits.
        let _ = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline && matches!(self.child.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.bin_dir);
    }
}

fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fake_function.py")
}

/// Starts local-lambda with functions `echo` (timeout 1 s), `slow` (timeout 30 s),
/// `slow-start` (a second to start), `crashes-at-start`, `fails-at-start` and `missing` (no binary).
async fn start() -> Server {
    start_with(&[]).await
}

async fn start_with(options: &[&str]) -> Server {
    let bin_dir = std::env::temp_dir().join(format!("local-lambda-test-{}", uuid::Uuid::new_v4()));
    std::fs::create_dir_all(&bin_dir).unwrap();
    for name in ["echo", "slow", "slow-start", "crashes-at-start", "fails-at-start"] {
        std::fs::copy(fixture(), bin_dir.join(name)).unwrap();
    }
    let functions = json!({
        "echo": {"timeoutSeconds": 1, "memoryMb": 256, "environment": {"OWN": "echo's"}},
        "slow": {"timeoutSeconds": 30, "memoryMb": 128, "environment": {}},
        "slow-start": {"timeoutSeconds": 30, "memoryMb": 128, "environment": {"FAKE_INIT": "slow"}},
        "crashes-at-start": {"timeoutSeconds": 3, "memoryMb": 128, "environment": {"FAKE_INIT": "crash"}},
        "fails-at-start": {"timeoutSeconds": 3, "memoryMb": 128, "environment": {"FAKE_INIT": "init-error"}},
        "missing": {"timeoutSeconds": 3, "memoryMb": 128, "environment": {}},
    });
    std::fs::write(bin_dir.join("functions.json"), functions.to_string()).unwrap();
    std::fs::write(bin_dir.join("shared.env"), "# every function\nSHARED=yes\n").unwrap();
    let port = free_port();
    let child = Command::new(env!("CARGO_BIN_EXE_local-lambda"))
        .args(["serve", "--listen", &format!("127.0.0.1:{port}"), "--bin-dir"])
        .arg(&bin_dir)
        .arg("--functions")
        .arg(bin_dir.join("functions.json"))
        .arg("--env-file")
        .arg(bin_dir.join("shared.env"))
        .args(options)
        .env("PARENT_SECRET", "must not leak")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let server = Server { child, port, bin_dir };
    let client = reqwest::Client::new();
    for _ in 0..100 {
        if client.get(format!("http://127.0.0.1:{port}/")).send().await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("local-lambda did not start");
}

struct Answer {
    status: u16,
    function_error: Option<String>,
    error_type: Option<String>,
    body: Value,
}

async fn invoke(server: &Server, function: &str, payload: &[u8]) -> Answer {
    let url = format!("http://127.0.0.1:{}/2015-03-31/functions/{function}/invocations", server.port);
    let response = reqwest::Client::new().post(url).body(payload.to_vec()).send().await.unwrap();
    let header = |name: &str| response.headers().get(name).map(|v| v.to_str().unwrap().to_owned());
    let (status, function_error, error_type) =
        (response.status().as_u16(), header("x-amz-function-error"), header("x-amzn-errortype"));
    let bytes = response.bytes().await.unwrap();
    let body = serde_json::from_slice(&bytes).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into()));
    Answer { status, function_error, error_type, body }
}

async fn call(server: &Server, function: &str, event: Value) -> Answer {
    invoke(server, function, event.to_string().as_bytes()).await
}

#[tokio::test]
async fn a_warm_process_serves_the_next_invocation_and_sees_only_its_own_environment() {
    let server = start().await;
    let first = call(&server, "echo", json!({"n": 1})).await;
    assert_eq!((first.status, first.function_error.as_deref()), (200, None), "{}", first.body);
    assert_eq!(first.body["event"], json!({"n": 1}));
    let env = &first.body["env"];
    assert_eq!(env["OWN"], "echo's");
    assert_eq!(env["SHARED"], "yes");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "echo");
    assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
    assert_eq!(env["TZ"], ":UTC");
    assert!(env.get("PARENT_SECRET").is_none(), "Lambda gives a function only its own configuration");
    let deadline = first.body["deadlineInMs"].as_i64().unwrap();
    assert!((0..=1000).contains(&deadline), "the deadline is the function's 1 s timeout: {deadline}");
    // As on Lambda, an environment takes work again once its runtime asks for the next event.
    tokio::time::sleep(Duration::from_millis(100)).await;
    let second = call(&server, "echo", json!({"n": 2})).await;
    assert_eq!(second.body["pid"], first.body["pid"], "the warm execution environment is reused");
}

#[tokio::test]
async fn concurrent_invocations_run_in_separate_processes_at_once() {
    let server = start().await;
    let started = Instant::now();
    let (a, b) = tokio::join!(
        call(&server, "slow", json!({"do": "sleep", "seconds": 1.5})),
        call(&server, "slow", json!({"do": "sleep", "seconds": 1.5})),
    );
    assert_eq!((a.status, b.status), (200, 200));
    assert_ne!(a.body["pid"], b.body["pid"], "Lambda runs one invocation per environment at a time");
    assert!(started.elapsed() < Duration::from_millis(2900), "they ran side by side: {:?}", started.elapsed());
}

#[tokio::test]
async fn a_function_error_is_200_with_x_amz_function_error_unhandled() {
    let server = start().await;
    let answer = call(&server, "echo", json!({"do": "fail"})).await;
    assert_eq!((answer.status, answer.function_error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(answer.body, json!({"errorType": "Boom", "errorMessage": "asked to fail"}));
}

#[tokio::test]
async fn a_process_killed_mid_invocation_is_runtime_exit_error_signal_killed_and_the_next_call_gets_a_new_one() {
    let server = start().await;
    let before = call(&server, "slow", json!({})).await;
    let killed = call(&server, "slow", json!({"do": "kill"})).await;
    assert_eq!((killed.status, killed.function_error.as_deref()), (200, Some("Unhandled")));
    assert_eq!(killed.body["errorType"], "Runtime.ExitError");
    let message = killed.body["errorMessage"].as_str().unwrap();
    assert!(
        message.starts_with("RequestId: ") && message.ends_with(" Error: Runtime exited with error: signal: killed"),
        "{message}"
    );
    let after = call(&server, "slow", json!({})).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.body["pid"], before.body["pid"]);
}

#[tokio::test]
async fn a_process_that_exits_mid_invocation_reports_its_exit_status() {
    let server = start().await;
    let answer = call(&server, "slow", json!({"do": "exit", "code": 2})).await;
    assert_eq!(answer.body["errorType"], "Runtime.ExitError");
    assert!(answer.body["errorMessage"].as_str().unwrap().ends_with("Runtime exited with error: exit status 2"));
}

#[tokio::test]
async fn an_invocation_past_the_timeout_is_sandbox_timedout_and_its_process_is_stopped() {
    let server = start().await;
    let pidfile = server.bin_dir.join("sleeper.pid");
    let started = Instant::now();
    let answer = call(&server, "echo", json!({"do": "sleep", "seconds": 20, "pidfile": pidfile})).await;
    assert!(started.elapsed() < Duration::from_secs(5), "answered at the 1 s timeout: {:?}", started.elapsed());
    assert_eq!(answer.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(answer.body["errorType"], "Sandbox.Timedout");
    assert!(answer.body["errorMessage"].as_str().unwrap().ends_with("Error: Task timed out after 1.00 seconds"));
    let pid = std::fs::read_to_string(&pidfile).unwrap();
    assert!(gone(pid.trim().parse().unwrap(), Duration::from_secs(5)).await, "the timed-out process is stopped");
    let next = call(&server, "echo", json!({})).await;
    assert_eq!(next.status, 200, "a new environment serves the next call");
}

/// Whether process `pid` ends within `within`.
async fn gone(pid: u64, within: Duration) -> bool {
    let deadline = Instant::now() + within;
    while Instant::now() < deadline && Path::new(&format!("/proc/{pid}")).exists() {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    !Path::new(&format!("/proc/{pid}")).exists()
}

#[tokio::test]
async fn past_the_concurrency_limit_an_invocation_is_throttled_with_429() {
    let server = start_with(&["--max-instances", "1"]).await;
    let (a, b) = tokio::join!(
        call(&server, "slow", json!({"do": "sleep", "seconds": 1})),
        call(&server, "slow", json!({"do": "sleep", "seconds": 1})),
    );
    let mut statuses = [a.status, b.status];
    statuses.sort();
    assert_eq!(statuses, [200, 429]);
    let throttled = if a.status == 429 { a } else { b };
    assert_eq!(throttled.error_type.as_deref(), Some("TooManyRequestsException"));
    assert_eq!(throttled.body["Reason"], "ConcurrentInvocationLimitExceeded");
}

#[tokio::test]
async fn an_environment_idle_past_the_idle_limit_is_stopped_and_the_next_call_starts_another() {
    let server = start_with(&["--idle-seconds", "1"]).await;
    let first = call(&server, "echo", json!({})).await.body["pid"].as_u64().unwrap();
    assert!(gone(first, Duration::from_secs(5)).await, "the idle process is stopped");
    let second = call(&server, "echo", json!({})).await;
    assert_eq!(second.status, 200);
    assert_ne!(second.body["pid"].as_u64(), Some(first));
}

#[tokio::test]
async fn a_rebuild_while_an_environment_starts_still_answers_the_invocation_it_was_started_for() {
    let server = start().await;
    let binary = server.bin_dir.join("slow-start");
    let rebuild = async {
        tokio::time::sleep(Duration::from_millis(300)).await;
        let later = std::time::SystemTime::now() + Duration::from_secs(5);
        std::fs::File::options().write(true).open(&binary).unwrap().set_modified(later).unwrap();
    };
    let invocation = tokio::time::timeout(Duration::from_secs(15), call(&server, "slow-start", json!({"n": 1})));
    let (answer, ()) = tokio::join!(invocation, rebuild);
    let answer = answer.expect("the invocation is answered, not stranded");
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.body["event"], json!({"n": 1}));
}

#[tokio::test]
async fn a_runtime_that_dies_or_fails_while_starting_fails_the_invocation_it_was_started_for() {
    let server = start().await;
    let crashed = call(&server, "crashes-at-start", json!({})).await;
    assert_eq!(crashed.body["errorType"], "Runtime.ExitError");
    assert!(crashed.body["errorMessage"].as_str().unwrap().ends_with("exit status 3"));
    let failed = call(&server, "fails-at-start", json!({})).await;
    assert_eq!(failed.function_error.as_deref(), Some("Unhandled"));
    assert_eq!(failed.body, json!({"errorType": "Runtime.Unknown", "errorMessage": "cannot read configuration"}));
}

#[tokio::test]
async fn a_function_whose_binary_is_not_built_is_runtime_invalid_entrypoint() {
    let server = start().await;
    let answer = call(&server, "missing", json!({})).await;
    assert_eq!(answer.body["errorType"], "Runtime.InvalidEntrypoint");
    assert!(answer.body["errorMessage"].as_str().unwrap().contains("Couldn't find valid bootstrap(s)"));
}

#[tokio::test]
async fn invoke_api_errors_are_lambdas() {
    let server = start().await;
    let unknown = call(&server, "nope", json!({})).await;
    assert_eq!((unknown.status, unknown.error_type.as_deref()), (404, Some("ResourceNotFoundException")));
    assert_eq!(unknown.body["Message"], "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope");
    let not_json = invoke(&server, "echo", b"{not json").await;
    assert_eq!((not_json.status, not_json.error_type.as_deref()), (400, Some("InvalidRequestContentException")));
    let big = format!("\"{}\"", "x".repeat(6_291_456));
    let too_large = invoke(&server, "echo", big.as_bytes()).await;
    assert_eq!((too_large.status, too_large.error_type.as_deref()), (413, Some("RequestTooLargeException")));
    let by_arn = call(&server, "arn:aws:lambda:us-east-1:123456789012:function:echo", json!({"n": 3})).await;
    assert_eq!(by_arn.body["event"], json!({"n": 3}));
    let response_too_large = call(&server, "slow", json!({"do": "big"})).await;
    assert_eq!(response_too_large.body["errorType"], "Function.ResponseSizeTooLarge");
}

#[tokio::test]
async fn stopping_the_service_stops_its_function_processes() {
    let mut server = start().await;
    let pid = call(&server, "slow", json!({})).await.body["pid"].as_u64().unwrap();
    assert!(Path::new(&format!("/proc/{pid}")).exists());
    let _ = Command::new("kill").args(["-TERM", &server.child.id().to_string()]).status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline && matches!(server.child.try_wait(), Ok(None)) {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(matches!(server.child.try_wait(), Ok(Some(_))), "the service exits on SIGTERM");
    assert!(gone(pid, Duration::from_secs(5)).await, "no function process outlives the service");
}

#[tokio::test]
async fn a_rebuilt_binary_serves_the_next_invocation() {
    let server = start().await;
    let before = call(&server, "slow", json!({})).await;
    // A rebuild replaces the file: a new modification time.
    let binary = server.bin_dir.join("slow");
    let later = std::time::SystemTime::now() + Duration::from_secs(5);
    std::fs::File::options().write(true).open(&binary).unwrap().set_modified(later).unwrap();
    let after = call(&server, "slow", json!({})).await;
    assert_eq!(after.status, 200);
    assert_ne!(after.body["pid"], before.body["pid"], "the old process is retired");
}
