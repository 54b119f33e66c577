//! What every function of the workflows shares: configuration read once from the
//! environment, AWS clients built from one `SdkConfig`, the error names Step Functions
//! sees, tracing set-up, and the ports (traits) through which handlers reach AWS, with
//! their AWS adapters and in-memory twins for unit tests.

#[cfg(feature = "aws")]
pub mod aws;
pub mod config;
pub mod email;
pub mod error;
pub mod http;
pub mod ports;
pub mod telemetry;

pub use config::{ConfigError, Env, Resources};
pub use error::{ErrorName, PortError, WorkflowError, parse_input};
