//! csv-ingest: an S3 upload of sensor readings goes into DynamoDB, the file moves to
//! `processed/` (or `failed/`), and a report e-mail follows ten minutes later.
//!
//! Rules are plain functions ([`keys`], [`rows`] and [`batch`] from `csv-stream`, [`emailer::compose`]);
//! handlers ([`starter`], [`processor`], [`mover`], [`emailer`]) are generic over the
//! ports of `common`, so tests run them on in-memory ports.

pub mod emailer;
pub mod event;
pub mod keys;
pub mod mover;
pub mod processor;
pub mod rejects;
pub mod starter;
pub mod writer;

pub use csv_stream::{batch, rows};

use common::{PortError, WorkflowError};

/// An S3 failure under the name the state machine acts on: only a real 404 is
/// `ObjectNotFound`; a key that now holds another upload than the pinned one is
/// `ObjectChanged`; throttling and 5xx are `TransientError`; anything else (AccessDenied,
/// KMS, limits) is `StorageError` with S3's error code in the message.
pub fn object_error(err: PortError) -> WorkflowError {
    match err {
        PortError::NotFound { .. } => WorkflowError::named("ObjectNotFound", err.to_string()),
        PortError::ConditionFailed { .. } => WorkflowError::named(
            "ObjectChanged",
            format!("the key now holds another object than the upload this execution is for ({err})"),
        ),
        other => WorkflowError::from_port(other, "StorageError"),
    }
}
