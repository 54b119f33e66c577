//! file-mover: copies the upload to `processed/` or `failed/`, checks the copy, deletes
//! the source. Running it again after a partial failure finishes the job.

use common::WorkflowError;
use common::ports::ObjectStore;
use serde::{Deserialize, Serialize};

use crate::keys::archive_name;

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Destination {
    Processed,
    Failed,
}

impl Destination {
    pub fn prefix(self) -> &'static str {
        match self {
            Destination::Processed => "processed",
            Destination::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MoveInput {
    pub bucket_name: String,
    pub object_key: String,
    pub destination: Destination,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MoveOutput {
    pub bucket: String,
    pub key: String,
    /// The source was already gone and the copy in place: an earlier run had moved it.
    pub already_moved: bool,
}

pub fn target_key(source_key: &str, destination: Destination) -> String {
    format!("{}/{}", destination.prefix(), archive_name(source_key))
}

pub async fn move_object<S: ObjectStore>(
    store: &S,
    target_bucket: &str,
    input: MoveInput,
) -> Result<MoveOutput, WorkflowError> {
    if input.bucket_name.is_empty() || input.object_key.is_empty() {
        return Err(WorkflowError::invalid_input("bucketName and objectKey must be non-empty"));
    }
    let key = target_key(&input.object_key, input.destination);
    let storage = |e| WorkflowError::from_port(e, "StorageError");
    let source = store.head(&input.bucket_name, &input.object_key).await.map_err(storage)?;
    let Some(source) = source else {
        return match store.head(target_bucket, &key).await.map_err(storage)? {
            Some(_) => Ok(MoveOutput { bucket: target_bucket.to_owned(), key, already_moved: true }),
            None => Err(WorkflowError::named(
                "ObjectNotFound",
                format!(
                    "{}/{} does not exist and was not moved to {target_bucket}/{key}",
                    input.bucket_name, input.object_key
                ),
            )),
        };
    };
    store
        .copy(&input.bucket_name, &input.object_key, target_bucket, &key)
        .await
        .map_err(|e| WorkflowError::from_port(e, "ObjectNotFound"))?;
    let copy = store.head(target_bucket, &key).await.map_err(storage)?;
    match copy {
        Some(copy) if copy.size == source.size => {}
        other => {
            return Err(WorkflowError::transient(format!(
                "the copy at {target_bucket}/{key} does not match the source ({} bytes, copy {:?})",
                source.size,
                other.map(|c| c.size)
            )));
        }
    }
    store.delete(&input.bucket_name, &input.object_key).await.map_err(storage)?;
    Ok(MoveOutput { bucket: target_bucket.to_owned(), key, already_moved: false })
}
