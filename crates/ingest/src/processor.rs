//! csv-processor: streams the CSV object into `SENSOR_TABLE`, rejected rows into
//! `rejected/<name>`, in constant memory whatever the file's size.

use std::io::Write;
use std::time::Duration;

use common::WorkflowError;
use common::ports::{ItemStore, ObjectStore};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::batch::{Batch, lane_of};
use crate::keys::archive_name;
use crate::rows::{Reading, Row, classify, rejected_line};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInput {
    pub bucket_name: String,
    pub object_key: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcessOutput {
    pub bucket_name: String,
    pub object_key: String,
    pub rows_read: u64,
    pub rows_written: u64,
    pub rows_rejected: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rejected_key: Option<String>,
}

#[derive(Debug, Clone)]
pub struct ProcessorConfig {
    pub sensor_table: String,
    pub target_bucket: String,
    /// `BatchWriteItem` calls in flight (lanes).
    pub write_concurrency: usize,
    /// Attempts at a batch whose items DynamoDB leaves unprocessed.
    pub max_write_attempts: u32,
    /// The first backoff before retrying unprocessed items (doubles each time).
    pub retry_base: Duration,
}

impl ProcessorConfig {
    pub fn from_env(env: &common::Env) -> Result<Self, common::ConfigError> {
        let resources = common::Resources::from_env(env);
        Ok(Self {
            sensor_table: resources.sensor_table,
            target_bucket: resources.target_bucket,
            write_concurrency: env.parse_or("WRITE_CONCURRENCY", 8usize)?.clamp(1, 64),
            max_write_attempts: env.parse_or("MAX_WRITE_ATTEMPTS", 8u32)?.max(1),
            retry_base: Duration::from_millis(env.parse_or("WRITE_RETRY_BASE_MS", 50u64)?),
        })
    }
}

/// What the parsing thread reports when the file ends.
#[derive(Debug, Default)]
struct ParseSummary {
    rows_read: u64,
    rows_rejected: u64,
}

#[derive(Debug, thiserror::Error)]
enum ParseError {
    #[error("the object is not CSV text: line {line} holds binary data")]
    Binary { line: u64 },
    #[error("reading the object failed: {0}")]
    Read(String),
    #[error("writing the rejected-rows report failed: {0}")]
    Spool(String),
}

/// Batches per lane waiting to be written: small, so memory stays flat.
const LANE_QUEUE: usize = 2;

pub async fn process<S: ObjectStore, D: ItemStore>(
    store: &S,
    db: &D,
    config: &ProcessorConfig,
    input: ProcessInput,
) -> Result<ProcessOutput, WorkflowError> {
    if input.bucket_name.is_empty() || input.object_key.is_empty() {
        return Err(WorkflowError::invalid_input("bucketName and objectKey must be non-empty"));
    }
    let reader = store
        .open(&input.bucket_name, &input.object_key)
        .await
        .map_err(|e| WorkflowError::from_port(e, "ObjectNotFound"))?;

    let lanes = config.write_concurrency;
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..lanes).map(|_| mpsc::channel::<Vec<Reading>>(LANE_QUEUE)).unzip();
    let spool = tempfile_path(&input.object_key);
    let spool_for_parser = spool.clone();

    // csv is a blocking reader: it runs on a blocking thread, bridged to the async body,
    // and hands full batches to the writer lanes (waiting when they are busy).
    let parser = tokio::task::spawn_blocking(move || parse(reader, senders, &spool_for_parser));
    let writers = receivers.into_iter().map(|rx| write_lane(db, config, rx));
    let (parsed, written) = tokio::join!(parser, futures::future::join_all(writers));

    let outcome = finish(parsed, written, &input);
    let summary = match outcome {
        Ok(summary) => summary,
        Err(e) => {
            let _ = std::fs::remove_file(&spool);
            return Err(e);
        }
    };
    let (rows_read, rows_rejected) = (summary.rows_read, summary.rows_rejected);
    // Every valid row is written; a later row for the same key supersedes an earlier one.
    let rows_written = rows_read - rows_rejected;
    let result = async {
        if rows_read == 0 {
            return Err(WorkflowError::named("EmptyCsv", format!("{} has no data rows", input.object_key)));
        }
        let rejected_key = if rows_rejected > 0 {
            let key = format!("rejected/{}", archive_name(&input.object_key));
            let body =
                std::fs::read(&spool).map_err(|e| WorkflowError::transient(format!("reading the spool: {e}")))?;
            store
                .put(&config.target_bucket, &key, body, "text/csv; charset=utf-8")
                .await
                .map_err(|e| WorkflowError::from_port(e, "StorageError"))?;
            Some(key)
        } else {
            None
        };
        if rows_written == 0 {
            return Err(WorkflowError::named(
                "InvalidCsv",
                format!(
                    "no valid row in {} ({rows_rejected} rejected; see {})",
                    input.object_key,
                    rejected_key.unwrap_or_default()
                ),
            ));
        }
        Ok(ProcessOutput {
            bucket_name: input.bucket_name.clone(),
            object_key: input.object_key.clone(),
            rows_read,
            rows_written,
            rows_rejected,
            rejected_key,
        })
    }
    .await;
    let _ = std::fs::remove_file(&spool);
    result
}

fn finish(
    parsed: Result<Result<ParseSummary, ParseError>, tokio::task::JoinError>,
    written: Vec<Result<(), WorkflowError>>,
    input: &ProcessInput,
) -> Result<ParseSummary, WorkflowError> {
    // A writer's failure ends the parser early (its lane closes), so report the writer's.
    written.into_iter().collect::<Result<Vec<()>, _>>()?;
    match parsed {
        Ok(Ok(summary)) => Ok(summary),
        Ok(Err(ParseError::Binary { line })) => Err(WorkflowError::named(
            "InvalidCsv",
            format!("{} is not CSV text: line {line} holds binary data", input.object_key),
        )),
        Ok(Err(e @ ParseError::Read(_))) => Err(WorkflowError::transient(e.to_string())),
        Ok(Err(e @ ParseError::Spool(_))) => Err(WorkflowError::transient(e.to_string())),
        Err(join) => Err(WorkflowError::transient(format!("the parser stopped: {join}"))),
    }
}

fn tempfile_path(key: &str) -> std::path::PathBuf {
    let unique = format!(
        "csv-rejected-{}-{}-{:x}.csv",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0),
        key.len()
    );
    std::env::temp_dir().join(unique)
}

/// Counts the lines that pass through a reader, so a record's line number can be told
/// from its byte offset (csv's own line count drifts on CRLF files). Holds only the
/// newline offsets not yet consumed, so memory stays bounded by the read-ahead.
struct LineIndex<R> {
    inner: R,
    read: u64,
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

impl<R: std::io::Read> std::io::Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        for (i, byte) in buf[..n].iter().enumerate() {
            if *byte == b'\n' {
                newlines.push_back(self.read + i as u64);
            }
        }
        self.read += n as u64;
        Ok(n)
    }
}

/// The 1-based line holding `offset`, consuming the newlines before it.
fn line_at(newlines: &std::cell::RefCell<std::collections::VecDeque<u64>>, lines_before: &mut u64, offset: u64) -> u64 {
    let mut newlines = newlines.borrow_mut();
    while newlines.front().is_some_and(|n| *n < offset) {
        newlines.pop_front();
        *lines_before += 1;
    }
    *lines_before + 1
}

fn parse(
    reader: common::ports::ObjectReader,
    lanes: Vec<mpsc::Sender<Vec<Reading>>>,
    spool_path: &std::path::Path,
) -> Result<ParseSummary, ParseError> {
    let bridge = tokio_util::io::SyncIoBridge::new(reader);
    let newlines = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
    let indexed = LineIndex { inner: bridge, read: 0, newlines: std::rc::Rc::clone(&newlines) };
    let mut lines_before = 0u64;
    let mut csv =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(256 * 1024).from_reader(indexed);
    let spool_file = std::fs::File::create(spool_path).map_err(|e| ParseError::Spool(e.to_string()))?;
    let mut spool = std::io::BufWriter::new(spool_file);
    spool.write_all(b"line,reason,row\n").map_err(|e| ParseError::Spool(e.to_string()))?;
    let mut batches: Vec<Batch> = lanes.iter().map(|_| Batch::default()).collect();
    let mut summary = ParseSummary::default();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ParseError::Read(e.to_string())),
        }
        // The reader stops inside the record's terminator (after `\r`, or after `\n`), so
        // every newline before the byte ahead of it precedes the record.
        let line = line_at(&newlines, &mut lines_before, csv.position().byte().saturating_sub(1));
        if record.iter().any(|f| f.contains(&0)) {
            return Err(ParseError::Binary { line });
        }
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue; // blank line
        }
        let row = if record.len() == 3 {
            classify(&[&record[0], &record[1], &record[2]], first)
        } else {
            classify(&record.iter().collect::<Vec<_>>(), first)
        };
        first = false;
        match row {
            Row::Header => {}
            Row::Reading(reading) => {
                summary.rows_read += 1;
                let lane = lane_of(reading.key(), lanes.len());
                if let Some(full) = batches[lane].push(reading)
                    && lanes[lane].blocking_send(full).is_err()
                {
                    return Ok(summary); // the writer failed; it reports why
                }
            }
            Row::Rejected(reason) => {
                summary.rows_read += 1;
                summary.rows_rejected += 1;
                let raw = raw_row(&record);
                spool.write_all(&rejected_line(line, &reason, &raw)).map_err(|e| ParseError::Spool(e.to_string()))?;
            }
        }
    }
    for (lane, batch) in lanes.iter().zip(batches.iter_mut()) {
        if let Some(rest) = batch.finish()
            && lane.blocking_send(rest).is_err()
        {
            break;
        }
    }
    spool.flush().map_err(|e| ParseError::Spool(e.to_string()))?;
    Ok(summary)
}

fn raw_row(record: &csv::ByteRecord) -> Vec<u8> {
    let mut raw = Vec::new();
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(field);
    }
    raw
}

/// Writes one lane's batches in order, retrying what DynamoDB leaves unprocessed.
async fn write_lane<D: ItemStore>(
    db: &D,
    config: &ProcessorConfig,
    mut batches: mpsc::Receiver<Vec<Reading>>,
) -> Result<(), WorkflowError> {
    while let Some(batch) = batches.recv().await {
        let mut pending: Vec<_> = batch.iter().map(Reading::to_item).collect();
        let mut attempt = 0u32;
        while !pending.is_empty() {
            attempt += 1;
            match db.batch_put(&config.sensor_table, &pending).await {
                Ok(left) => pending = left,
                Err(e) if e.is_transient() && attempt < config.max_write_attempts => {}
                Err(e) => return Err(WorkflowError::from_port(e, "StorageError")),
            }
            if pending.is_empty() {
                break;
            }
            if attempt >= config.max_write_attempts {
                return Err(WorkflowError::transient(format!(
                    "{} items still unprocessed after {attempt} BatchWriteItem attempts",
                    pending.len()
                )));
            }
            let backoff = config.retry_base.saturating_mul(1 << attempt.min(10)).min(Duration::from_secs(5));
            tokio::time::sleep(backoff).await;
        }
    }
    Ok(())
}
