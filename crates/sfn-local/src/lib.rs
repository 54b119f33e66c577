//! sfn-local: a local AWS Step Functions for development and tests.
//!
//! - [`asl`]: the Amazon States Language, parsed and validated, in both query
//!   languages ([`path`] and [`intrinsics`] for JSONPath, [`jsonata`] for JSONata);
//! - [`variables`]: workflow variables and their scopes;
//! - [`engine`]: runs executions (JSONPath processing, Retry/Catch, Parallel, Map,
//!   timeouts) on a [`clock`] that is virtual, manual or real;
//! - [`lambda`]: Lambda tasks through the Invoke API;
//! - [`service`] and [`api`]: the Step Functions API (JSON 1.0) over HTTP, its
//!   [`requests`] typed and checked as AWS checks them, with
//!   [`paging`] by stable tokens and a [`store`] that forgets the oldest finished
//!   executions past a cap;
//! - [`limits`]: AWS's numeric limits, and time arithmetic that cannot overflow;
//! - [`graph`]: a Mermaid flowchart of a definition.

pub mod api;
pub mod asl;
pub mod choice;
pub mod clock;
pub mod engine;
pub mod error;
pub mod graph;
pub mod intrinsics;
pub mod jsonata;
pub mod lambda;
pub mod limits;
pub mod paging;
pub mod path;
pub mod register;
pub mod requests;
pub mod service;
pub mod store;
pub mod variables;
