//! file-mover: copies the upload to `processed/` or `failed/`, checks the copy, deletes
//! the source. Running it again after a partial failure finishes the job.

use common::WorkflowError;
use common::ports::{ObjectMeta, ObjectPin, ObjectStore, unquote};
use serde::{Deserialize, Serialize};

use crate::keys::archive_name;
use crate::object_error;

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
    /// The upload's ETag and version: the mover moves exactly that object, never a
    /// later upload of the same key.
    #[serde(default)]
    pub e_tag: Option<String>,
    #[serde(default)]
    pub version_id: Option<String>,
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
    let (bucket, source_key) = (input.bucket_name.as_str(), input.object_key.as_str());
    let key = target_key(source_key, input.destination);
    let pin = ObjectPin::new(input.version_id.as_deref(), input.e_tag.as_deref());
    let moved = |already_moved| MoveOutput { bucket: target_bucket.to_owned(), key: key.clone(), already_moved };
    let source = store.head(bucket, source_key, pin.version()).await.map_err(object_error)?;
    let source = match source {
        Some(source) if pin.matches(&source) => source,
        // Gone, or replaced by a later upload: if the copy is in place an earlier run
        // moved ours (and the later upload, if any, belongs to its own execution).
        other => {
            let replaced = other.is_some();
            return match store.head(target_bucket, &key, None).await.map_err(object_error)? {
                // When the key now holds a later upload, the copy in place must be ours
                // (a single-part copy keeps the ETag) before the move counts as done.
                Some(copy) if !replaced || pin.e_tag.is_none() || same_e_tag(&pin, &copy) => Ok(moved(true)),
                Some(_) => Err(WorkflowError::named(
                    "ObjectChanged",
                    format!(
                        "{bucket}/{source_key} now holds a later upload and {target_bucket}/{key} is not this \
                         execution's upload"
                    ),
                )),
                None if !replaced => Err(WorkflowError::named(
                    "ObjectNotFound",
                    format!("{bucket}/{source_key} does not exist and was not moved to {target_bucket}/{key}"),
                )),
                None => Err(WorkflowError::named(
                    "ObjectChanged",
                    format!("{bucket}/{source_key} now holds a later upload; this execution's upload is gone"),
                )),
            };
        }
    };
    store.copy(bucket, source_key, &pin, source.size, target_bucket, &key).await.map_err(object_error)?;
    match store.head(target_bucket, &key, None).await.map_err(object_error)? {
        Some(copy) if copy.size == source.size => {}
        other => {
            return Err(WorkflowError::transient(format!(
                "the copy at {target_bucket}/{key} does not match the source ({} bytes, copy {:?})",
                source.size,
                other.map(|c| c.size)
            )));
        }
    }
    match pin.version() {
        // A versioned bucket: delete exactly our version; a later upload stays.
        Some(version) => store.delete(bucket, source_key, Some(version)).await.map_err(object_error)?,
        None => {
            // S3 has no conditional delete here: check the key still holds our upload
            // right before deleting, so a re-upload since the copy is left alone.
            let current = store.head(bucket, source_key, None).await.map_err(object_error)?;
            if current.as_ref().is_some_and(|c| pin.matches(c)) {
                store.delete(bucket, source_key, None).await.map_err(object_error)?;
            } else {
                tracing::warn!(
                    key = source_key,
                    "the key was re-uploaded during the move; the new upload is left in place"
                );
            }
        }
    }
    Ok(moved(false))
}

fn same_e_tag(pin: &ObjectPin, copy: &ObjectMeta) -> bool {
    matches!((pin.e_tag.as_deref(), copy.e_tag.as_deref()), (Some(a), Some(b)) if unquote(a) == unquote(b))
}
