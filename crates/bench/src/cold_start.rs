//! Cold start, binary size and memory of every function: each release binary started afresh,
//! `--starts` times, for a typical invocation against the seeded local stack.

use std::time::Duration;

use serde_json::{Value, json};

use crate::Args;
use crate::fixtures::{
    BENCH_CUSTOMER, BENCH_STUDENT, DIRECT, api_event, confirm_event, enrollment_event, enrollment_validate_event,
    function_env, put_source_object, register_event, resource, s3_event,
};
use crate::invocation::invoke_once;
use crate::report::{Report, percentile};
use crate::runtime_api::RuntimeApi;

const FUNCTIONS: &[&str] = &[
    "ingest-starter",
    "csv-processor",
    "file-mover",
    "emailer",
    "friday-api",
    "friday-checker",
    "friday-notifier",
    "enrollment-check-name",
    "enrollment-check-email",
    "enrollment-check-payment",
    "enrollment-validate",
    "enrollment-enroll",
    "signup-register",
    "signup-reminder",
    "signup-confirm",
];

/// What one function's cold starts measured; the timings sorted.
struct Measured {
    size: u64,
    arm64_size: u64,
    polls: Vec<f64>,
    responses: Vec<f64>,
    peak: u64,
}

pub(crate) async fn cold_starts(report: &mut Report, args: &Args, s3: &aws_sdk_s3::Client) -> Result<(), String> {
    let api = RuntimeApi::default();
    let address = api.start().await.map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    for function in FUNCTIONS {
        let measured = measure(&api, &address, args, s3, function).await?;
        let (row, figures) = record(report, function, &measured, args.starts);
        rows.push(row);
        results.insert((*function).to_owned(), figures);
    }
    report.table(
        &format!("Functions: size, cold start ({} starts each), memory", args.starts),
        &[
            "function",
            "deployed binary (arm64)",
            "binary started here",
            "first poll median (ms)",
            "first poll p95 (ms)",
            "first response median (ms)",
            "first response p95 (ms)",
            "peak RSS, typical invocation",
        ],
        rows,
    );
    report.json.insert("functions".into(), Value::Object(results));
    Ok(())
}

/// `function`'s binary sizes, then its `args.starts` cold starts.
async fn measure(
    api: &RuntimeApi,
    address: &str,
    args: &Args,
    s3: &aws_sdk_s3::Client,
    function: &str,
) -> Result<Measured, String> {
    let binary = args.bin_dir.join(function);
    let size = std::fs::metadata(&binary)
        .map_err(|e| format!("{}: {e} (run the release build first)", binary.display()))?
        .len();
    let deployed = args.arm64_dir.join(function).join("bootstrap");
    let arm64_size = std::fs::metadata(&deployed)
        .map_err(|e| format!("{}: {e} (run `make release-arm64` first)", deployed.display()))?
        .len();
    let mut polls = Vec::new();
    let mut responses = Vec::new();
    let mut peak = 0u64;
    for n in 0..args.starts {
        let event = typical_event(function, n, s3).await?;
        let run = invoke_once(api, address, &binary, &function_env(&[]), event, Duration::from_secs(30)).await?;
        if let Some(error) = run.error {
            return Err(format!("{function} answered an error: {error}"));
        }
        polls.push(run.first_poll_ms);
        responses.push(run.response_ms);
        peak = peak.max(run.peak_rss_kib);
    }
    polls.sort_by(f64::total_cmp);
    responses.sort_by(f64::total_cmp);
    Ok(Measured { size, arm64_size, polls, responses, peak })
}

/// The event of `function`'s `n`th start: one it answers without an error, given the seeded data.
async fn typical_event(function: &str, n: usize, s3: &aws_sdk_s3::Client) -> Result<Value, String> {
    Ok(match function {
        "ingest-starter" => s3_event("incoming/bench.csv", &format!("{n:08}-{}", std::process::id())),
        "csv-processor" => {
            json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": format!("{DIRECT}/bench-small.csv")})
        }
        "file-mover" => {
            let key = format!("{DIRECT}/bench-move-{n}.csv");
            put_source_object(s3, &key, b"s,1,1\n".to_vec()).await?;
            json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": key, "destination": "processed"})
        }
        "emailer" => json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": "incoming/bench.csv",
            "processing": {"rowsRead": 100, "rowsWritten": 100, "rowsRejected": 0},
            "moved": {"bucket": resource("TARGET_BUCKET"), "key": "processed/bench.csv"}}),
        "friday-api" => api_event("bench-user"),
        "enrollment-validate" => enrollment_validate_event(),
        // A new address each time: enrolling the same one twice would be refused.
        "enrollment-enroll" => enrollment_event(&format!("bench-{n}-{}@example.com", std::process::id())),
        name if name.starts_with("enrollment-") => enrollment_event(BENCH_STUDENT),
        "signup-register" => register_event(&format!("bench-{n}-{}@example.com", std::process::id())),
        "signup-reminder" => json!({"customerId": BENCH_CUSTOMER, "traceId": "bench-trace"}),
        "signup-confirm" => confirm_event(),
        // Due now (Friday 9:00 in Paris): the push goes out.
        "friday-notifier" => json!({"userId": "bench-user", "remindAt": "2026-12-04T08:00:00Z",
            "timezone": "Europe/Paris", "now": "2026-12-04T08:00:00Z"}),
        _ => json!({"userId": "bench-user"}),
    })
}

/// Checks `function`'s targets; returns its table row and its raw figures.
fn record(report: &mut Report, function: &str, measured: &Measured, starts: usize) -> (Vec<String>, Value) {
    let Measured { size, arm64_size, ref polls, ref responses, peak } = *measured;
    let (poll_median, poll_p95) = (percentile(polls, 50.0), percentile(polls, 95.0));
    let (resp_median, resp_p95) = (percentile(responses, 50.0), percentile(responses, 95.0));
    let row = vec![
        function.to_owned(),
        format!("{:.2} MB", arm64_size as f64 / 1e6),
        format!("{:.2} MB", size as f64 / 1e6),
        format!("{poll_median:.2}"),
        format!("{poll_p95:.2}"),
        format!("{resp_median:.1}"),
        format!("{resp_p95:.1}"),
        format!("{:.1} MiB", peak as f64 / 1024.0),
    ];
    report.check(
        &format!("{function}: cold start to first poll (median)"),
        "< 10 ms",
        format!("{poll_median:.2} ms"),
        poll_median < 10.0,
    );
    // The limit is on what Lambda downloads: the arm64 binary.
    report.check(
        &format!("{function}: deployed (arm64) binary"),
        "< 8 MB",
        format!("{:.2} MB", arm64_size as f64 / 1e6),
        arm64_size < 8_000_000,
    );
    let figures = json!({"binaryBytes": size, "arm64BinaryBytes": arm64_size, "firstPollMs": {"median": poll_median, "p95": poll_p95},
           "firstResponseMs": {"median": resp_median, "p95": resp_p95}, "peakRssKiB": peak, "starts": starts});
    (row, figures)
}
