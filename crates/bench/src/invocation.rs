//! One invocation of a release binary: the process started afresh against the Runtime API
//! stand-in, timed to its first poll and its answer, its peak memory read before it is killed.
//! The cold-start and csv-processor benches both measure through it.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::report::ms;
use crate::runtime_api::RuntimeApi;

/// A function process driven by the Runtime API stand-in for one invocation.
pub(crate) struct Invocation {
    pub(crate) first_poll_ms: f64,
    pub(crate) response_ms: f64,
    pub(crate) peak_rss_kib: u64,
    pub(crate) error: Option<String>,
}

pub(crate) async fn invoke_once(
    api: &RuntimeApi,
    api_address: &str,
    binary: &Path,
    env: &[(String, String)],
    event: Value,
    limit: Duration,
) -> Result<Invocation, String> {
    api.arm(event);
    let name = binary.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let mut command = Command::new(binary);
    command
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .env("AWS_LAMBDA_RUNTIME_API", api_address)
        .env("AWS_LAMBDA_FUNCTION_NAME", &name)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", "WARN")
        .env("AWS_REGION", "us-east-1")
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (k, v) in env {
        command.env(k, v);
    }
    let started = Instant::now();
    let mut child = command.spawn().map_err(|e| format!("{}: {e}", binary.display()))?;
    let answer = api.wait(limit).await;
    let peak = peak_rss_kib(child.id());
    let _ = child.kill();
    let _ = child.wait();
    let (poll, answer) = answer.ok_or_else(|| format!("{name} did not answer within {limit:?}"))?;
    Ok(Invocation {
        first_poll_ms: ms(poll - started),
        response_ms: ms(answer.at - started),
        peak_rss_kib: peak,
        error: answer.error.then_some(answer.body),
    })
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}
