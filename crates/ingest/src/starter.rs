//! ingest-starter: one csv-ingest execution per uploaded object of an S3 event.

use common::WorkflowError;
use common::ports::{StartOutcome, WorkflowStarter, is_real_version};
use serde::Serialize;
use serde_json::json;

use crate::event::{Upload, uploads};
use crate::keys::{is_ingestible, upload_execution_name};

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

pub fn decide(upload: &Upload) -> Decision {
    let raw_key = upload.raw_key.clone();
    if !upload.event_name.starts_with("ObjectCreated:") {
        return Decision::Skip {
            key: raw_key,
            reason: format!("event {:?} is not an object creation", upload.event_name),
        };
    }
    let Some(key) = upload.key.clone() else {
        return Decision::Skip { key: raw_key, reason: "the key does not decode to UTF-8".into() };
    };
    if upload.bucket.is_empty() {
        return Decision::Skip { key, reason: "the record names no bucket".into() };
    }
    if !is_ingestible(&key) {
        return Decision::Skip { key, reason: "not a .csv object under incoming/".into() };
    }
    // Unversioned buckets report no version or "null" for every upload of a key: only a
    // real version id tells uploads apart; otherwise the sequencer (unique per write).
    let version_id = upload.version_id.clone().filter(|v| is_real_version(v));
    let identity = version_id
        .clone()
        .or_else(|| upload.sequencer.clone().filter(|s| !s.is_empty()))
        .or_else(|| upload.e_tag.clone())
        .unwrap_or_default();
    let name = upload_execution_name(&upload.bucket, &key, &identity);
    // Later steps read and copy exactly this upload (null: nothing to pin by).
    let input = json!({
        "bucketName": upload.bucket,
        "objectKey": key,
        "size": upload.size,
        "eTag": upload.e_tag.clone().filter(|e| !e.is_empty()),
        "versionId": version_id,
    });
    Decision::Start { bucket: upload.bucket.clone(), key, name, input }
}

pub async fn start_uploads<W: WorkflowStarter>(
    starter: &W,
    state_machine_arn: &str,
    event: &serde_json::Value,
) -> Result<StarterOutput, WorkflowError> {
    let uploads = uploads(event).map_err(|e| WorkflowError::invalid_input(e.to_string()))?;
    let mut output = StarterOutput::default();
    for upload in &uploads {
        match decide(upload) {
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
