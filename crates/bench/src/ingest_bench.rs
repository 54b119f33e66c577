//! csv-processor's throughput and memory: parsing alone in process, the release binary over
//! generated files, and the write pipelining against a delayed DynamoDB stand-in.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use common::ports::memory::MemoryObjectStore;
use common::ports::{Item, ItemStore, PortResult, WriteOp};
use serde_json::{Value, json};

use crate::Args;
use crate::dynamo_stub::DynamoStub;
use crate::fixtures::{DIRECT, function_env, put_source_object, resource, sensor_csv};
use crate::invocation::{Invocation, invoke_once};
use crate::report::Report;
use crate::runtime_api::RuntimeApi;
use crate::stack::sdk_config;

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

pub(crate) async fn csv_parsing(report: &mut Report, args: &Args) -> Result<(), String> {
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

/// csv-processor's release binary, started afresh for each file.
struct Processor {
    api: RuntimeApi,
    address: String,
    binary: PathBuf,
}

impl Processor {
    /// Uploads `body` to `key`, then runs the binary once over it.
    async fn run(
        &self,
        s3: &aws_sdk_s3::Client,
        key: &str,
        body: Vec<u8>,
        env: &[(String, String)],
        limit: Duration,
    ) -> Result<Invocation, String> {
        put_source_object(s3, key, body).await?;
        let event = json!({"bucketName": resource("SOURCE_BUCKET"), "objectKey": key});
        invoke_once(&self.api, &self.address, &self.binary, env, event, limit).await
    }
}

/// A row of the csv-processor table: `rows` rows, processed `against` what.
fn processor_row(rows: usize, against: &str, run: &Invocation) -> Vec<String> {
    let seconds = (run.response_ms - run.first_poll_ms) / 1000.0;
    vec![
        format!("{rows}"),
        against.to_owned(),
        format!("{seconds:.2} s"),
        format!("{:.0}", rows as f64 / seconds),
        format!("{:.1} MiB", run.peak_rss_kib as f64 / 1024.0),
    ]
}

pub(crate) async fn csv_memory_and_end_to_end(
    report: &mut Report,
    args: &Args,
    s3: &aws_sdk_s3::Client,
) -> Result<(), String> {
    let api = RuntimeApi::default();
    let address = api.start().await.map_err(|e| e.to_string())?;
    let processor = Processor { api, address, binary: args.bin_dir.join("csv-processor") };
    let (stub_url, _stub) = DynamoStub::start(Duration::from_millis(1)).await.map_err(|e| e.to_string())?;
    let mut rows_out = Vec::new();
    let mut peaks = Vec::new();
    for rows in [100_000usize, args.big_rows] {
        let key = format!("{DIRECT}/bench-{rows}.csv");
        let env = function_env(&[("AWS_ENDPOINT_URL_DYNAMODB", stub_url.as_str())]);
        let run = processor.run(s3, &key, sensor_csv(rows, "mem"), &env, Duration::from_secs(300)).await?;
        if let Some(error) = run.error {
            return Err(format!("csv-processor ({rows} rows): {error}"));
        }
        peaks.push(run.peak_rss_kib);
        rows_out.push(processor_row(rows, "S3 in moto, DynamoDB stand-in (1 ms)", &run));
    }
    // End to end against the local stack: S3 and DynamoDB both in moto.
    let rows = 100_000usize;
    let env = function_env(&[]);
    let run = processor
        .run(s3, &format!("{DIRECT}/bench-e2e.csv"), sensor_csv(rows, "e2e"), &env, Duration::from_secs(600))
        .await?;
    if let Some(error) = run.error {
        return Err(format!("csv-processor end to end: {error}"));
    }
    let e2e_seconds = (run.response_ms - run.first_poll_ms) / 1000.0;
    let e2e_rate = rows as f64 / e2e_seconds;
    rows_out.push(processor_row(rows, "local stack: S3 and DynamoDB in moto", &run));
    report.table(
        "csv-processor: release binary, one invocation each",
        &["rows", "against", "time", "rows/s", "peak RSS"],
        rows_out,
    );
    record_memory(report, args, &peaks, e2e_rate);
    Ok(())
}

/// The memory targets and raw figures, from the peaks of the 100,000-row and `--big-rows` runs.
fn record_memory(report: &mut Report, args: &Args, peaks: &[u64], e2e_rate: f64) {
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
}

pub(crate) async fn write_pipelining(report: &mut Report) -> Result<(), String> {
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
