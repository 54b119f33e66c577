//! `make bench`: cold start, binary size, memory and throughput, measured on this machine
//! against loopback stand-ins and the local stack, checked against the project's targets.
//! Writes `docs/benchmarks.md` and `target/bench/results.json`; exits 1 when a target is missed.

mod dynamo_stub;
mod runtime_api;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use common::ports::memory::MemoryObjectStore;
use common::ports::{Item, ItemStore, PortResult, WriteOp};
use serde_json::{Value, json};

use dynamo_stub::DynamoStub;
use runtime_api::RuntimeApi;

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
/// The customer seeded for signup-reminder and signup-confirm (any 32 hex digits form an id).
const BENCH_CUSTOMER: &str = "0000000000000000000000000000bec0";

/// A part of the local stack, on the port its variable names (as in scripts/stack.sh).
fn local(port_var: &str, default_port: u16) -> String {
    let port = std::env::var(port_var).ok().and_then(|p| p.parse::<u16>().ok()).unwrap_or(default_port);
    format!("http://127.0.0.1:{port}")
}
const NOOP_MACHINE: &str = "arn:aws:states:us-east-1:123456789012:stateMachine:bench-noop";

#[derive(Parser)]
#[command(about = "Measure cold start, size, memory and throughput")]
struct Args {
    /// Where the release binaries are (this machine's architecture: the ones started here).
    #[arg(long, default_value = "target/release")]
    bin_dir: PathBuf,
    /// Where `cargo lambda build --release --arm64` put the binaries Lambda runs
    /// (`<dir>/<function>/bootstrap`): their sizes are the ones deployed.
    #[arg(long, default_value = "target/lambda")]
    arm64_dir: PathBuf,
    /// Cold starts per function.
    #[arg(long, default_value_t = 20)]
    starts: usize,
    /// Rows for the parsing benchmark and the large memory run.
    #[arg(long, default_value_t = 1_000_000)]
    big_rows: usize,
    #[arg(long, default_value = "docs/benchmarks.md")]
    report: PathBuf,
    #[arg(long, default_value = "target/bench/results.json")]
    results: PathBuf,
    /// Run only these steps (comma-separated: cold-starts, csv-parsing, csv-memory,
    /// pipelining, sfn-local, workflows); the report then holds only them.
    #[arg(long, value_delimiter = ',')]
    only: Vec<String>,
}

struct Check {
    name: String,
    target: String,
    measured: String,
    met: bool,
}

#[derive(Default)]
struct Report {
    sections: Vec<(String, Vec<String>, Vec<Vec<String>>)>,
    checks: Vec<Check>,
    json: serde_json::Map<String, Value>,
}

impl Report {
    fn table(&mut self, title: &str, header: &[&str], rows: Vec<Vec<String>>) {
        println!("\n## {title}\n");
        println!("| {} |", header.join(" | "));
        println!("|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
        for row in &rows {
            println!("| {} |", row.join(" | "));
        }
        self.sections.push((title.to_owned(), header.iter().map(|h| (*h).to_owned()).collect(), rows));
    }

    fn check(&mut self, name: &str, target: &str, measured: String, met: bool) {
        self.checks.push(Check { name: name.into(), target: target.into(), measured, met });
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * (sorted.len() as f64 - 1.0)).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn peak_rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

async fn sdk_config(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .credentials_provider(aws_credential_types::Credentials::new("test", "test", None, None, "bench"))
        .endpoint_url(endpoint)
        .http_client(common::aws::https_client())
        .load()
        .await
}

fn s3_client(config: &aws_config::SdkConfig) -> aws_sdk_s3::Client {
    aws_sdk_s3::Client::from_conf(aws_sdk_s3::config::Builder::from(config).force_path_style(true).build())
}

/// A generated sensor CSV of `rows` rows over 100 sensors.
fn sensor_csv(rows: usize, tag: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(rows * 28 + 32);
    out.extend_from_slice(b"sensor_id,timestamp,value\n");
    for i in 0..rows {
        use std::io::Write;
        let _ = writeln!(out, "{tag}-{},{},{}.{}", i % 100, 1_700_000_000 + i / 100, i % 1000, i % 10);
    }
    out
}

/// A function process driven by the Runtime API stand-in for one invocation.
struct Invocation {
    first_poll_ms: f64,
    response_ms: f64,
    peak_rss_kib: u64,
    error: Option<String>,
}

async fn invoke_once(
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

/// DESIGN.md's resource variables, with the names the stack gives by default.
const RESOURCES: [(&str, &str); 9] = [
    ("SOURCE_BUCKET", "sensor-uploads"),
    ("TARGET_BUCKET", "sensor-archive"),
    ("SENSOR_TABLE", "sensor_data"),
    ("USERS_TABLE", "users"),
    ("CUSTOMERS_TABLE", "customers"),
    ("STUDENTS_TABLE", "students"),
    ("COURSES_TABLE", "courses"),
    ("PAYMENTS_TABLE", "payments"),
    ("ENROLLMENTS_TABLE", "enrollments"),
];

/// A resource's name as the stack was given it: its variable when set, else the default.
fn resource(variable: &str) -> String {
    let default = RESOURCES.iter().find(|(name, _)| *name == variable).map_or(variable, |(_, d)| *d);
    std::env::var(variable).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_owned())
}

fn function_env(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut env = vec![
        ("AWS_ENDPOINT_URL".to_owned(), local("MOTO_PORT", 4566)),
        ("AWS_ENDPOINT_URL_SFN".to_owned(), local("SFN_PORT", 8083)),
        ("AWS_ENDPOINT_URL_PINPOINT".to_owned(), local("PINPOINT_PORT", 4570)),
        ("CSV_INGEST_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
        ("FRIDAY_REMINDER_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
        ("CONFIRMATION_REMINDER_STATE_MACHINE_ARN".to_owned(), NOOP_MACHINE.to_owned()),
    ];
    env.extend(RESOURCES.iter().map(|(variable, _)| ((*variable).to_owned(), resource(variable))));
    env.extend(extra.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())));
    env
}

/// An S3 notification for `key`; no ETag, so the execution reads whatever the key holds.
fn s3_event(key: &str, sequencer: &str) -> Value {
    let source = resource("SOURCE_BUCKET");
    json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "us-east-1", "eventTime": "2026-11-21T10:00:00.000Z",
        "eventName": "ObjectCreated:Put", "userIdentity": {"principalId": "bench"}, "requestParameters": {"sourceIPAddress": "127.0.0.1"},
        "responseElements": {}, "s3": {"s3SchemaVersion": "1.0", "configurationId": "bench",
            "bucket": {"name": source, "ownerIdentity": {"principalId": "bench"}, "arn": format!("arn:aws:s3:::{source}")},
            "object": {"key": key, "size": 10, "sequencer": sequencer}}}]})
}

fn api_event(user: &str) -> Value {
    json!({"version": "2.0", "routeKey": "GET /friday", "rawPath": "/friday", "rawQueryString": format!("userId={user}"),
        "headers": {}, "queryStringParameters": {"userId": user},
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": "GET", "path": "/friday", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": "GET /friday", "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false})
}

const BENCH_STUDENT: &str = "bench-student@example.com";

fn enrollment_event(email: &str) -> Value {
    json!({"name": "Bench Student", "email": email, "courseId": "bench-course", "paymentId": "bench-payment"})
}

fn enrollment_validate_event() -> Value {
    let mut event = enrollment_event(BENCH_STUDENT);
    event["checks"] = json!([{"check": "name", "valid": true}, {"check": "email", "valid": true},
        {"check": "payment", "valid": true}]);
    event
}

fn http_event(method: &str, path: &str, query: Value, body: Option<String>) -> Value {
    json!({"version": "2.0", "routeKey": format!("{method} {path}"), "rawPath": path, "rawQueryString": "",
        "headers": {"content-type": "application/json"}, "queryStringParameters": query, "body": body,
        "requestContext": {"accountId": "123456789012", "apiId": "bench", "domainName": "localhost", "domainPrefix": "localhost",
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1", "userAgent": "bench"},
            "requestId": "bench", "routeKey": format!("{method} {path}"), "stage": "$default", "time": "", "timeEpoch": 0},
        "isBase64Encoded": false})
}

fn register_event(email: &str) -> Value {
    http_event("POST", "/register", Value::Null, Some(json!({"email": email, "name": "Bench"}).to_string()))
}

fn confirm_event() -> Value {
    http_event("GET", "/confirm", json!({"customerId": BENCH_CUSTOMER, "token": "bench-token"}), None)
}

/// Seeds what the typical invocations read, and a no-op state machine for the starters.
async fn seed(
    s3: &aws_sdk_s3::Client,
    dynamodb: &aws_sdk_dynamodb::Client,
    sfn: &aws_sdk_sfn::Client,
) -> Result<(), String> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    s3.put_object()
        .bucket(resource("SOURCE_BUCKET"))
        .key("incoming/bench-small.csv")
        .body(sensor_csv(100, "small").into())
        .send()
        .await
        .map_err(|e| format!("seeding S3: {e:?}"))?;
    let device = |token: &str, platform: &str| {
        A::M([("token".to_owned(), A::S(token.into())), ("platform".to_owned(), A::S(platform.into()))].into())
    };
    dynamodb
        .put_item()
        .table_name(resource("USERS_TABLE"))
        .item("userId", A::S("bench-user".into()))
        .item("timezone", A::S("Europe/Paris".into()))
        .item("notifyHour", A::N("9".into()))
        .item("devices", A::L(vec![device("bench-apns", "APNS"), device("bench-gcm", "GCM")]))
        .send()
        .await
        .map_err(|e| format!("seeding DynamoDB: {e:?}"))?;
    seed_enrollment(dynamodb).await?;
    // A PENDING customer: signup-reminder sends its reminder, signup-confirm confirms it
    // (then answers "already confirmed", the same 200).
    let mut customer = dynamodb.put_item().table_name(resource("CUSTOMERS_TABLE"));
    for (attr, value) in [
        ("customerId", BENCH_CUSTOMER),
        ("email", "bench-customer@example.com"),
        ("name", "Bench"),
        ("status", "PENDING"),
        ("token", "bench-token"),
        ("traceId", "bench-trace"),
        ("registeredAt", "2026-11-20T10:00:00.000Z"),
    ] {
        customer = customer.item(attr, A::S(value.into()));
    }
    customer.send().await.map_err(|e| format!("seeding the customer: {e:?}"))?;
    let noop = r#"{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}"#;
    let created = sfn
        .create_state_machine()
        .name("bench-noop")
        .definition(noop)
        .role_arn("arn:aws:iam::123456789012:role/bench")
        .send()
        .await;
    if let Err(e) = created {
        let exists = e.as_service_error().is_some_and(|e| e.is_state_machine_already_exists());
        if !exists {
            return Err(format!("creating bench-noop: {e:?}"));
        }
    }
    Ok(())
}

/// A student, a paid payment and a course with seats enough for every cold start of
/// enrollment-enroll (reset on each run).
async fn seed_enrollment(dynamodb: &aws_sdk_dynamodb::Client) -> Result<(), String> {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    let put = |table: &str, item: Vec<(&str, A)>| {
        let request = dynamodb.put_item().table_name(table);
        item.into_iter().fold(request, |r, (k, v)| r.item(k, v)).send()
    };
    let failed = |e| format!("seeding the enrollment tables: {e:?}");
    put(
        &resource("STUDENTS_TABLE"),
        vec![("email", A::S(BENCH_STUDENT.into())), ("name", A::S("Bench Student".into()))],
    )
    .await
    .map_err(failed)?;
    put(
        &resource("COURSES_TABLE"),
        vec![
            ("courseId", A::S("bench-course".into())),
            ("price", A::N("10".into())),
            ("seatsAvailable", A::N("1000000".into())),
        ],
    )
    .await
    .map_err(failed)?;
    put(
        &resource("PAYMENTS_TABLE"),
        vec![
            ("paymentId", A::S("bench-payment".into())),
            ("email", A::S(BENCH_STUDENT.into())),
            ("courseId", A::S("bench-course".into())),
            ("amount", A::N("10".into())),
            ("status", A::S("PAID".into())),
        ],
    )
    .await
    .map_err(failed)?;
    Ok(())
}

async fn cold_starts(report: &mut Report, args: &Args, s3: &aws_sdk_s3::Client) -> Result<(), String> {
    let api = RuntimeApi::default();
    let address = api.start().await.map_err(|e| e.to_string())?;
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    for function in FUNCTIONS {
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
            let event = match *function {
                "ingest-starter" => s3_event("incoming/bench.csv", &format!("{n:08}-{}", std::process::id())),
                "csv-processor" => {
                    json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": "incoming/bench-small.csv"})
                }
                "file-mover" => {
                    let key = format!("incoming/bench-move-{n}.csv");
                    s3.put_object()
                        .bucket(resource("SOURCE_BUCKET"))
                        .key(&key)
                        .body(b"s,1,1\n".to_vec().into())
                        .send()
                        .await
                        .map_err(|e| format!("{e:?}"))?;
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
            };
            let run = invoke_once(&api, &address, &binary, &function_env(&[]), event, Duration::from_secs(30)).await?;
            if let Some(error) = run.error {
                return Err(format!("{function} answered an error: {error}"));
            }
            polls.push(run.first_poll_ms);
            responses.push(run.response_ms);
            peak = peak.max(run.peak_rss_kib);
        }
        polls.sort_by(f64::total_cmp);
        responses.sort_by(f64::total_cmp);
        let (poll_median, poll_p95) = (percentile(&polls, 50.0), percentile(&polls, 95.0));
        let (resp_median, resp_p95) = (percentile(&responses, 50.0), percentile(&responses, 95.0));
        rows.push(vec![
            (*function).to_owned(),
            format!("{:.2} MB", arm64_size as f64 / 1e6),
            format!("{:.2} MB", size as f64 / 1e6),
            format!("{poll_median:.2}"),
            format!("{poll_p95:.2}"),
            format!("{resp_median:.1}"),
            format!("{resp_p95:.1}"),
            format!("{:.1} MiB", peak as f64 / 1024.0),
        ]);
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
        results.insert(
            (*function).to_owned(),
            json!({"binaryBytes": size, "arm64BinaryBytes": arm64_size, "firstPollMs": {"median": poll_median, "p95": poll_p95},
                   "firstResponseMs": {"median": resp_median, "p95": resp_p95}, "peakRssKiB": peak, "starts": args.starts}),
        );
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

/// An item store that accepts everything at once: parsing measured alone.
struct NullItemStore;

impl ItemStore for NullItemStore {
    async fn get(&self, _table: &str, _key: Item) -> PortResult<Option<Item>> {
        Ok(None)
    }
    async fn write(&self, _op: WriteOp) -> PortResult<()> {
        Ok(())
    }
    async fn transact(&self, _ops: Vec<WriteOp>) -> PortResult<()> {
        Ok(())
    }
    async fn batch_put(&self, _table: &str, _items: &[Item]) -> PortResult<Vec<Item>> {
        Ok(Vec::new())
    }
}

fn processor_config(concurrency: usize) -> ingest::processor::ProcessorConfig {
    ingest::processor::ProcessorConfig {
        sensor_table: "sensor_data".into(),
        target_bucket: "sensor-archive".into(),
        write_concurrency: concurrency,
        max_write_attempts: 8,
        retry_base: Duration::from_millis(50),
        report_part_size: ingest::rejects::PART_SIZE,
    }
}

async fn csv_parsing(report: &mut Report, args: &Args) -> Result<(), String> {
    let body = sensor_csv(args.big_rows, "parse");
    let bytes = body.len();
    let store = MemoryObjectStore::new();
    store.insert("sensor-uploads", "incoming/parse.csv", body);
    let mut best = f64::MAX;
    for _ in 0..3 {
        let started = Instant::now();
        let input = ingest::processor::ProcessInput {
            bucket_name: "sensor-uploads".into(),
            object_key: "incoming/parse.csv".into(),
            e_tag: None,
            version_id: None,
        };
        let out = ingest::processor::process(&store, &NullItemStore, &processor_config(8), input)
            .await
            .map_err(|e| e.to_string())?;
        if out.rows_written as usize != args.big_rows {
            return Err(format!("parsed {} rows of {}", out.rows_written, args.big_rows));
        }
        best = best.min(started.elapsed().as_secs_f64());
    }
    let rows_per_s = args.big_rows as f64 / best;
    let mb_per_s = bytes as f64 / 1e6 / best;
    report.table(
        "csv-processor: parsing and validation alone (best of 3)",
        &["rows", "size", "time", "rows/s", "MB/s"],
        vec![vec![
            args.big_rows.to_string(),
            format!("{:.1} MB", bytes as f64 / 1e6),
            format!("{:.3} s", best),
            format!("{rows_per_s:.0}"),
            format!("{mb_per_s:.1}"),
        ]],
    );
    report.check(
        "csv-processor: parsing",
        "> 1,000,000 rows/s",
        format!("{rows_per_s:.0} rows/s"),
        rows_per_s > 1_000_000.0,
    );
    report.json.insert("csvParsing".into(), json!({"rows": args.big_rows, "bytes": bytes, "seconds": best, "rowsPerSecond": rows_per_s, "mbPerSecond": mb_per_s}));
    Ok(())
}

async fn csv_memory_and_end_to_end(report: &mut Report, args: &Args, s3: &aws_sdk_s3::Client) -> Result<(), String> {
    let api = RuntimeApi::default();
    let address = api.start().await.map_err(|e| e.to_string())?;
    let binary = args.bin_dir.join("csv-processor");
    let (stub_url, _stub) = DynamoStub::start(Duration::from_millis(1)).await.map_err(|e| e.to_string())?;
    let mut rows_out = Vec::new();
    let mut peaks = Vec::new();
    for rows in [100_000usize, args.big_rows] {
        let key = format!("incoming/bench-{rows}.csv");
        let body = sensor_csv(rows, "mem");
        s3.put_object()
            .bucket(resource("SOURCE_BUCKET"))
            .key(&key)
            .body(body.into())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let env = function_env(&[("AWS_ENDPOINT_URL_DYNAMODB", stub_url.as_str())]);
        let event = json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": key});
        let run = invoke_once(&api, &address, &binary, &env, event, Duration::from_secs(300)).await?;
        if let Some(error) = run.error {
            return Err(format!("csv-processor ({rows} rows): {error}"));
        }
        let seconds = (run.response_ms - run.first_poll_ms) / 1000.0;
        peaks.push(run.peak_rss_kib);
        rows_out.push(vec![
            format!("{rows}"),
            "S3 in moto, DynamoDB stand-in (1 ms)".to_owned(),
            format!("{seconds:.2} s"),
            format!("{:.0}", rows as f64 / seconds),
            format!("{:.1} MiB", run.peak_rss_kib as f64 / 1024.0),
        ]);
    }
    // End to end against the local stack: S3 and DynamoDB both in moto.
    let rows = 100_000usize;
    let key = "incoming/bench-e2e.csv".to_owned();
    s3.put_object()
        .bucket(resource("SOURCE_BUCKET"))
        .key(&key)
        .body(sensor_csv(rows, "e2e").into())
        .send()
        .await
        .map_err(|e| format!("{e:?}"))?;
    let run = invoke_once(
        &api,
        &address,
        &binary,
        &function_env(&[]),
        json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": key}),
        Duration::from_secs(600),
    )
    .await?;
    if let Some(error) = run.error {
        return Err(format!("csv-processor end to end: {error}"));
    }
    let e2e_seconds = (run.response_ms - run.first_poll_ms) / 1000.0;
    let e2e_rate = rows as f64 / e2e_seconds;
    rows_out.push(vec![
        format!("{rows}"),
        "local stack: S3 and DynamoDB in moto".to_owned(),
        format!("{e2e_seconds:.2} s"),
        format!("{e2e_rate:.0}"),
        format!("{:.1} MiB", run.peak_rss_kib as f64 / 1024.0),
    ]);
    report.table(
        "csv-processor: release binary, one invocation each",
        &["rows", "against", "time", "rows/s", "peak RSS"],
        rows_out,
    );
    let (small, large) = (peaks[0] as f64, peaks[1] as f64);
    report.check(
        "csv-processor: memory flat",
        "1M-row peak <= 1.5 x 100k-row peak",
        format!("{:.2} x", large / small),
        large <= 1.5 * small,
    );
    report.check("csv-processor: peak memory", "< 64 MiB", format!("{:.1} MiB", large / 1024.0), large < 64.0 * 1024.0);
    report.json.insert(
        "csvProcessor".into(),
        json!({"peakRssKiB": {"100000": peaks[0], args.big_rows.to_string(): peaks[1]}, "endToEndRowsPerSecond": e2e_rate}),
    );
    Ok(())
}

async fn write_pipelining(report: &mut Report) -> Result<(), String> {
    let delay = Duration::from_millis(10);
    let (url, stub) = DynamoStub::start(delay).await.map_err(|e| e.to_string())?;
    let config = sdk_config(&url).await;
    let db = common::ports::aws::DynamoItemStore::new(aws_sdk_dynamodb::Client::new(&config));
    let rows = 20_000usize;
    let store = MemoryObjectStore::new();
    store.insert("sensor-uploads", "incoming/pipe.csv", sensor_csv(rows, "pipe"));
    let mut table = Vec::new();
    let mut results = Vec::new();
    for concurrency in [1usize, 2, 4, 8, 16] {
        let before = stub.items.load(std::sync::atomic::Ordering::Relaxed);
        let started = Instant::now();
        let input = ingest::processor::ProcessInput {
            bucket_name: "sensor-uploads".into(),
            object_key: "incoming/pipe.csv".into(),
            e_tag: None,
            version_id: None,
        };
        ingest::processor::process(&store, &db, &processor_config(concurrency), input)
            .await
            .map_err(|e| e.to_string())?;
        let seconds = started.elapsed().as_secs_f64();
        let written = stub.items.load(std::sync::atomic::Ordering::Relaxed) - before;
        if written as usize != rows {
            return Err(format!("the stand-in received {written} items, not {rows}"));
        }
        let rate = rows as f64 / seconds;
        let ideal = concurrency as f64 * 25.0 / delay.as_secs_f64();
        table.push(vec![
            concurrency.to_string(),
            format!("{rate:.0}"),
            format!("{ideal:.0}"),
            format!("{:.0} %", 100.0 * rate / ideal),
        ]);
        results.push(json!({"inFlight": concurrency, "rowsPerSecond": rate, "ideal": ideal}));
        if concurrency == 8 {
            report.check(
                "csv-processor: pipelining at 8 in flight",
                ">= 70 % of ideal",
                format!("{:.0} %", 100.0 * rate / ideal),
                rate >= 0.7 * ideal,
            );
        }
    }
    report.table(
        "Write pipelining: BatchWriteItem answered after 10 ms, 20,000 rows",
        &["calls in flight", "rows/s", "ideal (in flight x 25 / 10 ms)", "of ideal"],
        table,
    );
    report.json.insert("pipelining".into(), Value::Array(results));
    Ok(())
}

/// `states` Pass states in a row, each carrying part of its input on, in either query language.
fn pass_chain(states: usize, jsonata: bool) -> Value {
    let mut map = serde_json::Map::new();
    for i in 0..states {
        let mut state = if jsonata {
            json!({"Type": "Pass", "Output": {"step": i, "carried": "{% $states.input.carried %}"}})
        } else {
            json!({"Type": "Pass", "Parameters": {"step": i, "carried.$": "$.carried"}})
        };
        if i + 1 == states {
            state["End"] = json!(true);
        } else {
            state["Next"] = json!(format!("S{}", i + 1));
        }
        map.insert(format!("S{i}"), state);
    }
    let mut definition = json!({"StartAt": "S0", "States": map});
    if jsonata {
        definition["QueryLanguage"] = json!("JSONata");
    }
    definition
}

fn wide_map() -> Value {
    json!({"StartAt": "M", "States": {"M": {"Type": "Map", "ItemsPath": "$.items", "MaxConcurrency": 0,
        "ItemProcessor": {"StartAt": "A", "States": {
            "A": {"Type": "Pass", "Parameters": {"v.$": "$"}, "Next": "B"},
            "B": {"Type": "Pass", "End": true}}},
        "ResultSelector": {"count.$": "States.ArrayLength($)"}, "End": true}}})
}

async fn sfn_transitions(report: &mut Report) -> Result<(), String> {
    use sfn_local::clock::{Clock, ClockMode};
    use sfn_local::engine::{Engine, Status};
    let engine = Engine::new(Clock::new(ClockMode::Virtual), Arc::new(sfn_local::lambda::NoLambda), "us-east-1");
    let service = sfn_local::service::Service::new(engine, "us-east-1", "123456789012");
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    // (label, definition, input, checked against 50,000 transitions/s)
    let cases = [
        ("pass chain, 1,000 states", pass_chain(1000, false), json!({"carried": {"k": "v"}}), true),
        ("JSONata pass chain, 1,000 states", pass_chain(1000, true), json!({"carried": {"k": "v"}}), true),
        // Six history events per item: AWS's 25,000-event history bounds an inline Map of
        // this shape near 4,000 items, and sfn-local enforces that limit too.
        ("Map over 3,000 items", wide_map(), json!({"items": (0..3_000).collect::<Vec<_>>()}), false),
    ];
    for (n, (label, definition, input, checked)) in cases.into_iter().enumerate() {
        let arn = service
            .create_state_machine(&json!({"name": format!("bench{n}"), "definition": definition.to_string(), "roleArn": "arn:aws:iam::1:role/r"}))
            .map_err(|e| e.to_string())?["stateMachineArn"]
            .clone();
        let mut rates = Vec::new();
        for _ in 0..5 {
            let started = Instant::now();
            let run = service
                .start_execution(&json!({"stateMachineArn": arn, "input": input.to_string()}))
                .map_err(|e| e.to_string())?;
            let execution =
                service.execution(run["executionArn"].as_str().unwrap_or_default()).map_err(|e| e.to_string())?;
            let outcome = execution.wait().await;
            let seconds = started.elapsed().as_secs_f64();
            if outcome.status != Status::Succeeded {
                return Err(format!("{label}: {:?}", outcome.error));
            }
            let transitions = execution.history().iter().filter(|e| e.event_type.ends_with("StateEntered")).count();
            rates.push(transitions as f64 / seconds);
        }
        rates.sort_by(f64::total_cmp);
        let median = percentile(&rates, 50.0);
        rows.push(vec![label.to_owned(), format!("{median:.0}")]);
        results.insert(label.to_owned(), json!(median));
        if checked {
            report.check(
                &format!("sfn-local: {label}"),
                "> 50,000 transitions/s",
                format!("{median:.0} transitions/s"),
                median > 50_000.0,
            );
        }
    }
    report.table(
        "sfn-local: state transitions per second (median of 5, virtual clock)",
        &["run", "transitions/s"],
        rows,
    );
    report.json.insert("sfnLocal".into(), Value::Object(results));
    Ok(())
}

/// Wall time of each workflow end to end on the local stack (functions under
/// `local-lambda`, debug builds), virtual clock.
async fn workflows(report: &mut Report, s3: &aws_sdk_s3::Client, sfn: &aws_sdk_sfn::Client) -> Result<(), String> {
    let http = reqwest::Client::new();
    let wait = |arn: String| async move {
        loop {
            let d = sfn.describe_execution().execution_arn(&arn).send().await.map_err(|e| format!("{e:?}"))?;
            if d.status() != &aws_sdk_sfn::types::ExecutionStatus::Running {
                return Ok::<_, String>(d);
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    let mut rows = Vec::new();
    let mut results = serde_json::Map::new();
    for round in 0..2 {
        // Round 0 warms the stack up (local-lambda starts each function's first process).
        let key = format!("incoming/bench-flow-{round}-{}.csv", std::process::id());
        s3.put_object()
            .bucket(resource("SOURCE_BUCKET"))
            .key(&key)
            .body(sensor_csv(100, "flow").into())
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let started = Instant::now();
        let answer =
            invoke_lambda(&http, "ingest-starter", s3_event(&key, &format!("flow-{round}-{}", std::process::id())))
                .await?;
        let arn = answer["started"][0]["executionArn"]
            .as_str()
            .ok_or_else(|| format!("ingest-starter: {answer}"))?
            .to_owned();
        let done = wait(arn).await?;
        let csv_wall = started.elapsed();
        let simulated = done.stop_date().map(|s| s.secs()).unwrap_or(0) - done.start_date().secs();

        let user = format!("flow-user-{round}-{}", std::process::id());
        let config = sdk_config(&local("MOTO_PORT", 4566)).await;
        aws_sdk_dynamodb::Client::new(&config)
            .put_item()
            .table_name(resource("USERS_TABLE"))
            .item("userId", aws_sdk_dynamodb::types::AttributeValue::S(user.clone()))
            .item("timezone", aws_sdk_dynamodb::types::AttributeValue::S(non_friday_zone()))
            .item(
                "devices",
                aws_sdk_dynamodb::types::AttributeValue::L(vec![aws_sdk_dynamodb::types::AttributeValue::M(
                    [
                        ("token".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S("flow-token".into())),
                        ("platform".to_owned(), aws_sdk_dynamodb::types::AttributeValue::S("APNS".into())),
                    ]
                    .into(),
                )]),
            )
            .send()
            .await
            .map_err(|e| format!("{e:?}"))?;
        let started = Instant::now();
        let answer = invoke_lambda(&http, "friday-api", api_event(&user)).await?;
        let body: Value = serde_json::from_str(answer["body"].as_str().unwrap_or("{}")).map_err(|e| e.to_string())?;
        let arn = body["executionArn"].as_str().ok_or_else(|| format!("friday-api: {answer}"))?.to_owned();
        let friday = wait(arn).await?;
        let friday_wall = started.elapsed();
        let friday_simulated = friday.stop_date().map(|s| s.secs()).unwrap_or(0) - friday.start_date().secs();
        if round == 1 {
            rows.push(vec![
                "csv-ingest (100 rows)".into(),
                format!("{:?}", done.status()),
                format!("{:.2} s", csv_wall.as_secs_f64()),
                format!("{simulated} s"),
            ]);
            rows.push(vec![
                "friday-reminder".into(),
                format!("{:?}", friday.status()),
                format!("{:.2} s", friday_wall.as_secs_f64()),
                format!("{friday_simulated} s"),
            ]);
            results.insert(
                "csv-ingest".into(),
                json!({"wallSeconds": csv_wall.as_secs_f64(), "simulatedSeconds": simulated}),
            );
            results.insert(
                "friday-reminder".into(),
                json!({"wallSeconds": friday_wall.as_secs_f64(), "simulatedSeconds": friday_simulated}),
            );
        }
    }
    report.table(
        "Workflows end to end, local stack, virtual clock (warm functions)",
        &["workflow", "status", "wall time", "simulated time"],
        rows,
    );
    report.json.insert("workflows".into(), Value::Object(results));
    Ok(())
}

/// One call of the local stack's Lambda Invoke API (`local-lambda`).
async fn invoke_lambda(http: &reqwest::Client, function: &str, payload: Value) -> Result<Value, String> {
    let url = format!("{}/2015-03-31/functions/{function}/invocations", local("LAMBDA_PORT", 9000));
    let response = http.post(&url).json(&payload).send().await.map_err(|e| format!("{url}: {e}"))?;
    let text = response.text().await.map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{function}: {e}: {text}"))
}

fn non_friday_zone() -> String {
    use chrono::Datelike;
    let now = chrono::Utc::now();
    // Among zones a day apart, one is never on a Friday.
    for (zone, offset_hours) in [("Etc/GMT-12", 12), ("UTC", 0), ("Etc/GMT+11", -11)] {
        if (now + chrono::Duration::hours(offset_hours)).weekday() != chrono::Weekday::Fri {
            return zone.to_owned();
        }
    }
    "UTC".to_owned()
}

fn machine_description() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let memory = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| s.lines().next().and_then(|l| l.split_whitespace().nth(1)?.parse::<u64>().ok()))
        .map(|kib| format!("{:.0} GiB", kib as f64 / 1024.0 / 1024.0))
        .unwrap_or_default();
    format!("{cpu}, {cores} cores, {memory} RAM, {} {}", std::env::consts::OS, std::env::consts::ARCH)
}

fn write_outputs(report: &Report, args: &Args) -> Result<(), String> {
    let date = chrono::Utc::now().format("%Y-%m-%d %H:%M UTC");
    let machine = machine_description();
    let mut md = format!(
        "# Benchmarks\n\nMeasured by `make bench` on {date}, on {machine}. Release binaries (LTO, stripped, panic=abort); \
         local stand-ins on loopback for the Lambda Runtime API and a delayed DynamoDB; the local stack (moto, sfn-local, \
         local-lambda) for the rest. Raw figures: `target/bench/results.json`.\n"
    );
    md.push_str("\n## Targets\n\n| target | goal | measured | met |\n|---|---|---|---|\n");
    for c in &report.checks {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            c.name,
            c.target,
            c.measured,
            if c.met { "yes" } else { "**no**" }
        ));
    }
    for (title, header, rows) in &report.sections {
        md.push_str(&format!(
            "\n## {title}\n\n| {} |\n|{}|\n",
            header.join(" | "),
            header.iter().map(|_| "---").collect::<Vec<_>>().join("|")
        ));
        for row in rows {
            md.push_str(&format!("| {} |\n", row.join(" | ")));
        }
    }
    if let Some(dir) = args.report.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.report, md).map_err(|e| format!("{}: {e}", args.report.display()))?;
    let mut json = report.json.clone();
    json.insert("date".into(), json!(date.to_string()));
    json.insert("machine".into(), json!(machine));
    json.insert(
        "targets".into(),
        Value::Array(
            report
                .checks
                .iter()
                .map(|c| json!({"name": c.name, "goal": c.target, "measured": c.measured, "met": c.met}))
                .collect(),
        ),
    );
    if let Some(dir) = args.results.parent() {
        std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    }
    std::fs::write(&args.results, serde_json::to_string_pretty(&Value::Object(json)).unwrap_or_default())
        .map_err(|e| format!("{}: {e}", args.results.display()))?;
    Ok(())
}

async fn run(args: &Args) -> Result<bool, String> {
    let moto = sdk_config(&local("MOTO_PORT", 4566)).await;
    let s3 = s3_client(&moto);
    let dynamodb = aws_sdk_dynamodb::Client::new(&moto);
    let sfn = aws_sdk_sfn::Client::new(&sdk_config(&local("SFN_PORT", 8083)).await);
    seed(&s3, &dynamodb, &sfn).await?;
    let mut report = Report::default();
    for step in ["cold-starts", "csv-parsing", "csv-memory", "pipelining", "sfn-local", "workflows"] {
        if !args.only.is_empty() && !args.only.iter().any(|s| s == step) {
            continue;
        }
        let started = Instant::now();
        eprintln!("[bench] {step}...");
        match step {
            "cold-starts" => cold_starts(&mut report, args, &s3).await?,
            "csv-parsing" => csv_parsing(&mut report, args).await?,
            "csv-memory" => csv_memory_and_end_to_end(&mut report, args, &s3).await?,
            "pipelining" => write_pipelining(&mut report).await?,
            "sfn-local" => sfn_transitions(&mut report).await?,
            _ => workflows(&mut report, &s3, &sfn).await?,
        }
        eprintln!("[bench] {step} done in {:.1} s", started.elapsed().as_secs_f64());
    }
    println!("\n## Targets\n");
    for c in &report.checks {
        println!(
            "{} {:<55} goal {:<38} measured {}",
            if c.met { "ok  " } else { "MISS" },
            c.name,
            c.target,
            c.measured
        );
    }
    write_outputs(&report, args)?;
    println!("\nwrote {} and {}", args.report.display(), args.results.display());
    Ok(report.checks.iter().all(|c| c.met))
}

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let args = Args::parse();
    match run(&args).await {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => {
            eprintln!("bench: some targets were missed (see above)");
            std::process::ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("bench: {e}");
            std::process::ExitCode::from(2)
        }
    }
}
