//! emailer: the report e-mail for a processed or failed upload.

use common::WorkflowError;
use common::ports::{Email, EmailSender};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    pub rows_read: u64,
    pub rows_written: u64,
    #[serde(default)]
    pub rows_superseded: u64,
    pub rows_rejected: u64,
    #[serde(default)]
    pub rejected_key: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Moved {
    pub bucket: String,
    pub key: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
pub struct Failure {
    #[serde(rename = "Error")]
    pub error: String,
    #[serde(rename = "Cause", default)]
    pub cause: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReportInput {
    pub bucket_name: String,
    pub object_key: String,
    #[serde(default)]
    pub processing: Option<Counts>,
    #[serde(default)]
    pub moved: Option<Moved>,
    #[serde(default)]
    pub error: Option<Failure>,
    /// The bucket holding `rejected/` (the archive bucket).
    #[serde(default)]
    pub archive_bucket: Option<String>,
}

#[derive(Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReportOutput {
    pub message_id: String,
    pub subject: String,
}

/// The report's subject and text.
pub fn compose(input: &ReportInput, archive_bucket: &str) -> (String, String) {
    let mut text = String::new();
    let subject;
    match &input.error {
        None => {
            subject = format!("Sensor upload processed: {}", input.object_key);
            text.push_str(&format!("The upload s3://{}/{} was processed.\n\n", input.bucket_name, input.object_key));
        }
        Some(failure) => {
            subject = format!("Sensor upload FAILED: {}", input.object_key);
            text.push_str(&format!(
                "The upload s3://{}/{} could not be processed.\n\n",
                input.bucket_name, input.object_key
            ));
            text.push_str(&format!("Error: {}\n", failure.error));
            let cause = failure_message(&failure.cause);
            if !cause.is_empty() {
                text.push_str(&format!("Cause: {cause}\n"));
            }
            text.push('\n');
        }
    }
    if let Some(c) = &input.processing {
        text.push_str(&format!(
            "Rows read:       {}\nRows written:    {}\nRows superseded: {} (replaced before writing by a later row for the same sensor and timestamp)\nRows rejected:   {}\n",
            c.rows_read, c.rows_written, c.rows_superseded, c.rows_rejected
        ));
        if let Some(rejected) = &c.rejected_key {
            text.push_str(&format!("Rejected rows: s3://{archive_bucket}/{rejected}\n"));
        }
    }
    match &input.moved {
        Some(m) => text.push_str(&format!("File moved to: s3://{}/{}\n", m.bucket, m.key)),
        None => text.push_str("File moved to: (not moved)\n"),
    }
    (subject, text)
}

/// A Lambda error's cause is its JSON payload: show its message.
fn failure_message(cause: &str) -> String {
    serde_json::from_str::<serde_json::Value>(cause)
        .ok()
        .and_then(|v| v.get("errorMessage").and_then(|m| m.as_str()).map(str::to_owned))
        .unwrap_or_else(|| cause.to_owned())
}

pub async fn send_report<E: EmailSender>(
    sender: &E,
    from: &str,
    to: &str,
    archive_bucket: &str,
    input: ReportInput,
) -> Result<ReportOutput, WorkflowError> {
    let archive = input.archive_bucket.clone().unwrap_or_else(|| archive_bucket.to_owned());
    let (subject, text) = compose(&input, &archive);
    let email = Email { from: from.to_owned(), to: vec![to.to_owned()], subject: subject.clone(), text };
    let message_id = sender.send(&email).await.map_err(|e| WorkflowError::from_port(e, "EmailRejected"))?;
    tracing::info!(to = %common::telemetry::redact_email(to), %subject, "report sent");
    Ok(ReportOutput { message_id, subject })
}
