//! csv-processor: streams the CSV object into `SENSOR_TABLE`, rejected rows into
//! `rejected/<name>`, in constant memory whatever the file's size or its number of bad rows.

use std::time::Duration;

use common::WorkflowError;
use common::ports::{ItemStore, ObjectPin, ObjectStore};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use csv_stream::rows::Reading;
use csv_stream::{Outlets, ParseError, ParseSummary, parse};

use crate::keys::archive_name;
use crate::object_error;
use crate::rejects::{PART_SIZE, stream_report};
use crate::writer::{LaneTotals, write_lane};

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProcessInput {
    pub bucket_name: String,
    pub object_key: String,
    /// The upload's ETag and version: the processor reads exactly that object.
    #[serde(default)]
    pub e_tag: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
}

/// `rowsRead = rowsWritten + rowsSuperseded + rowsRejected`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProcessOutput {
    pub bucket_name: String,
    pub object_key: String,
    pub rows_read: u64,
    /// Rows DynamoDB accepted (a key repeated far apart in the file is written twice,
    /// the later value winning).
    pub rows_written: u64,
    /// Rows never sent because a later row in the same batch had the same key.
    pub rows_superseded: u64,
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
    /// Bytes of the rejected-rows report gathered before a part is uploaded.
    pub report_part_size: usize,
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
            report_part_size: PART_SIZE,
        })
    }
}

/// Batches per lane waiting to be written: small, so memory stays flat.
const LANE_QUEUE: usize = 2;
/// Report lines waiting to be uploaded.
const REJECT_QUEUE: usize = 1024;

pub async fn process<S: ObjectStore, D: ItemStore>(
    store: &S,
    db: &D,
    config: &ProcessorConfig,
    input: ProcessInput,
) -> Result<ProcessOutput, WorkflowError> {
    if input.bucket_name.is_empty() || input.object_key.is_empty() {
        return Err(WorkflowError::invalid_input("bucketName and objectKey must be non-empty"));
    }
    let pin = ObjectPin::new(input.version_id.as_deref(), input.e_tag.as_deref());
    let reader = store.open(&input.bucket_name, &input.object_key, &pin).await.map_err(object_error)?;

    let (lanes, receivers): (Vec<_>, Vec<_>) =
        (0..config.write_concurrency).map(|_| mpsc::channel::<Vec<Reading>>(LANE_QUEUE)).unzip();
    let (rejects, report_lines) = mpsc::channel::<Vec<u8>>(REJECT_QUEUE);
    let rejected_key = format!("rejected/{}", archive_name(&input.object_key));
    let writer_rejects = rejects.clone();

    // csv parsing is blocking: it runs on a blocking thread, bridged to the async body,
    // and hands batches to the writer lanes and bad rows to the report as it goes.
    let outlets = Outlets { lanes, rejects };
    let parser = tokio::task::spawn_blocking(move || parse(tokio_util::io::SyncIoBridge::new(reader), outlets));
    let writers =
        futures::future::join_all(receivers.into_iter().map(|rx| write_lane(db, config, rx, writer_rejects.clone())));
    drop(writer_rejects);
    let report = stream_report(store, &config.target_bucket, &rejected_key, config.report_part_size, report_lines);
    let (parsed, written, reported) = tokio::join!(parser, writers, report);

    let (summary, totals) = settle(parsed, written, reported, &input)?;
    let rows_rejected = summary.rows_rejected + totals.rejected;
    let output = ProcessOutput {
        bucket_name: input.bucket_name.clone(),
        object_key: input.object_key.clone(),
        rows_read: summary.rows_read,
        rows_written: totals.written,
        rows_superseded: summary.rows_superseded,
        rows_rejected,
        rejected_key: (rows_rejected > 0).then_some(rejected_key),
    };
    if output.rows_read == 0 {
        return Err(WorkflowError::named("EmptyCsv", format!("{} has no data rows", input.object_key)));
    }
    if output.rows_written == 0 {
        return Err(WorkflowError::named(
            "InvalidCsv",
            format!(
                "no valid row in {} ({rows_rejected} rejected; see s3://{}/{})",
                input.object_key,
                config.target_bucket,
                output.rejected_key.as_deref().unwrap_or_default()
            ),
        ));
    }
    tracing::info!(
        key = %input.object_key,
        read = output.rows_read,
        written = output.rows_written,
        superseded = output.rows_superseded,
        rejected = output.rows_rejected,
        "processed"
    );
    Ok(output)
}

/// The outcome of the three parties; the first failure explains the others' early stop
/// (a failed writer or report closes its channel, which stops the parser).
fn settle(
    parsed: Result<Result<ParseSummary, ParseError>, tokio::task::JoinError>,
    written: Vec<Result<LaneTotals, WorkflowError>>,
    reported: Result<u64, WorkflowError>,
    input: &ProcessInput,
) -> Result<(ParseSummary, LaneTotals), WorkflowError> {
    // A failed report stops the writers that had rows for it: its error comes first.
    reported?;
    let mut totals = LaneTotals::default();
    for lane in written {
        let lane = lane?;
        totals.written += lane.written;
        totals.rejected += lane.rejected;
    }
    match parsed {
        Ok(Ok(summary)) => Ok((summary, totals)),
        Ok(Err(ParseError::Binary(what))) => Err(WorkflowError::named(
            "InvalidCsv",
            format!("{} is not CSV text ({what}); nothing was written", input.object_key),
        )),
        Ok(Err(e @ ParseError::Read(_))) => Err(WorkflowError::transient(e.to_string())),
        Err(join) => Err(WorkflowError::transient(format!("the parser stopped: {join}"))),
    }
}
