//! The AWS adapters of the ports.

mod dynamodb;
mod messaging;
mod s3;

pub use dynamodb::{DynamoItemStore, from_sdk, to_sdk};
pub use messaging::{PinpointPushSender, SesEmailSender, SfnWorkflowStarter};
pub use s3::{S3ObjectStore, copy_source};
