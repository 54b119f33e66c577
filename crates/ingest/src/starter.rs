//! ingest-starter: one csv-ingest execution per uploaded object of an S3 event.

use aws_lambda_events::event::s3::{S3Event, S3EventRecord};
use common::WorkflowError;
use common::ports::{StartOutcome, WorkflowStarter};
use serde::Serialize;
use serde_json::json;

use crate::keys::{decode_event_key, is_ingestible, upload_execution_name};

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Started {
    pub object_key: String,
    pub execution_arn: String,
    /// True when this upload had been started before (a redelivered event).
    pub already_started: bool,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Skipped {
    pub object_key: String,
    pub reason: String,
}

#[derive(Debug, Serialize, PartialEq, Default)]
pub struct StarterOutput {
    pub started: Vec<Started>,
    pub skipped: Vec<Skipped>,
}

/// What one record asks for, decided without I/O.
#[derive(Debug, PartialEq)]
pub enum Decision {
    Start { bucket: String, key: String, name: String, input: serde_json::Value },
    Skip { key: String, reason: String },
}

pub fn decide(record: &S3EventRecord) -> Decision {
    let raw_key = record.s3.object.key.clone().unwrap_or_default();
    let event = record.event_name.as_deref().unwrap_or_default();
    if !event.starts_with("ObjectCreated:") {
        return Decision::Skip { key: raw_key, reason: format!("event {event:?} is not an object creation") };
    }
    let Some(key) = decode_event_key(&raw_key) else {
        return Decision::Skip { key: raw_key, reason: "the key does not decode to UTF-8".into() };
    };
    let Some(bucket) = record.s3.bucket.name.clone().filter(|b| !b.is_empty()) else {
        return Decision::Skip { key, reason: "the record names no bucket".into() };
    };
    if !is_ingestible(&key) {
        return Decision::Skip { key, reason: "not a .csv object under incoming/".into() };
    }
    let object = &record.s3.object;
    let version = object
        .version_id
        .clone()
        .or_else(|| object.sequencer.clone())
        .or_else(|| object.e_tag.clone())
        .unwrap_or_default();
    let name = upload_execution_name(&bucket, &key, &version);
    let input = json!({
        "bucketName": bucket,
        "objectKey": key,
        "size": object.size.unwrap_or(0),
        "eTag": object.e_tag.clone().unwrap_or_default(),
    });
    Decision::Start { bucket, key, name, input }
}

pub async fn start_uploads<W: WorkflowStarter>(
    starter: &W,
    state_machine_arn: &str,
    event: S3Event,
) -> Result<StarterOutput, WorkflowError> {
    let mut output = StarterOutput::default();
    for record in &event.records {
        match decide(record) {
            Decision::Skip { key, reason } => {
                tracing::info!(key, reason, "skipped");
                output.skipped.push(Skipped { object_key: key, reason });
            }
            Decision::Start { bucket, key, name, input } => {
                // A failure here fails the whole event so S3 redelivers it; the names
                // make the already started ones a no-op then.
                let outcome = starter
                    .start(state_machine_arn, &name, &input)
                    .await
                    .map_err(|e| WorkflowError::from_port(e, "StartFailed"))?;
                let already_started = matches!(outcome, StartOutcome::AlreadyStarted { .. });
                tracing::info!(bucket, key, execution = outcome.execution_arn(), already_started, "upload");
                output.started.push(Started {
                    object_key: key,
                    execution_arn: outcome.execution_arn().to_owned(),
                    already_started,
                });
            }
        }
    }
    Ok(output)
}
