//! csv-processor: streams the CSV object into `SENSOR_TABLE`, rejected rows into
//! `rejected/<name>`, in constant memory whatever the file's size.

use std::time::Duration;

use common::WorkflowError;
use common::ports::{ItemStore, ObjectStore};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use csv_stream::rows::Reading;
use csv_stream::{ParseError, parse};

use crate::keys::archive_name;

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
    let parser = tokio::task::spawn_blocking(move || {
        parse(tokio_util::io::SyncIoBridge::new(reader), senders, &spool_for_parser)
    });
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
    parsed: Result<Result<csv_stream::ParseSummary, ParseError>, tokio::task::JoinError>,
    written: Vec<Result<(), WorkflowError>>,
    input: &ProcessInput,
) -> Result<csv_stream::ParseSummary, WorkflowError> {
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
