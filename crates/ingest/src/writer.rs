//! A writer lane: `BatchWriteItem` calls in file order, unprocessed items retried with
//! backoff, and a batch DynamoDB refuses as invalid split until the refused rows are
//! isolated and reported, so one bad row never fails the file.

use std::time::Duration;

use common::ports::{ItemStore, PortResult};
use common::{PortError, WorkflowError};
use csv_stream::rows::{Reading, rejected_line};
use tokio::sync::mpsc;

use crate::processor::ProcessorConfig;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LaneTotals {
    pub written: u64,
    /// Rows DynamoDB refused one by one (reported in the rejected-rows file).
    pub rejected: u64,
}

/// Writes one lane's batches in order.
pub async fn write_lane<D: ItemStore>(
    db: &D,
    config: &ProcessorConfig,
    mut batches: mpsc::Receiver<Vec<Reading>>,
    rejects: mpsc::Sender<Vec<u8>>,
) -> Result<LaneTotals, WorkflowError> {
    let mut totals = LaneTotals::default();
    while let Some(batch) = batches.recv().await {
        // Halves of a refused batch, written first half first so file order holds.
        let mut pending = vec![batch];
        while let Some(chunk) = pending.pop() {
            match put_all(db, config, &chunk).await {
                Ok(written) => totals.written += written,
                Err(Refusal::Invalid { written, left, message }) => {
                    totals.written += written;
                    if let [row] = left.as_slice() {
                        let reason = format!("DynamoDB refused the row: {message}");
                        let raw = format!("{},{},{}", row.sensor_id, row.timestamp, row.value);
                        totals.rejected += 1;
                        if rejects.send(rejected_line(row.line, &reason, raw.as_bytes())).await.is_err() {
                            return Err(WorkflowError::transient("the rejected-rows report stopped"));
                        }
                    } else {
                        let (first, second) = left.split_at(left.len() / 2);
                        pending.push(second.to_vec());
                        pending.push(first.to_vec());
                    }
                }
                Err(Refusal::Failed(e)) => return Err(e),
            }
        }
    }
    Ok(totals)
}

enum Refusal {
    /// DynamoDB's `ValidationException`: something in the request is invalid.
    Invalid {
        written: u64,
        left: Vec<Reading>,
        message: String,
    },
    Failed(WorkflowError),
}

/// Puts `chunk`, retrying what DynamoDB leaves unprocessed; returns how many went in.
async fn put_all<D: ItemStore>(db: &D, config: &ProcessorConfig, chunk: &[Reading]) -> Result<u64, Refusal> {
    let mut pending: Vec<Reading> = chunk.to_vec();
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let items: Vec<_> = pending.iter().map(Reading::to_item).collect();
        let result: PortResult<_> = db.batch_put(&config.sensor_table, &items).await;
        match result {
            Ok(left) => pending.retain(|r| left.iter().any(|item| is_item_of(item, r))),
            Err(PortError::Rejected { code, message, .. }) if code == "ValidationException" => {
                let written = (chunk.len() - pending.len()) as u64;
                return Err(Refusal::Invalid { written, left: pending, message });
            }
            Err(e) if e.is_transient() && attempt < config.max_write_attempts => {}
            Err(e) => return Err(Refusal::Failed(WorkflowError::from_port(e, "StorageError"))),
        }
        if pending.is_empty() {
            return Ok(chunk.len() as u64);
        }
        if attempt >= config.max_write_attempts {
            return Err(Refusal::Failed(WorkflowError::transient(format!(
                "{} items still unprocessed after {attempt} BatchWriteItem attempts",
                pending.len()
            ))));
        }
        let backoff = config.retry_base.saturating_mul(1 << attempt.min(10)).min(Duration::from_secs(5));
        tokio::time::sleep(backoff).await;
    }
}

fn is_item_of(item: &common::ports::Item, reading: &Reading) -> bool {
    use common::ports::AttrValue;
    item.get("sensor_id").and_then(AttrValue::as_str) == Some(reading.sensor_id.as_str())
        && item.get("timestamp").and_then(AttrValue::as_number) == Some(reading.timestamp.to_string().as_str())
}
