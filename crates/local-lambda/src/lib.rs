//! A local Lambda service for the stack: it runs each function's binary as Lambda runs a
//! `provided.al2023` function (one invocation per process at a time, more processes under
//! concurrency, the template's timeout enforced) and answers a process that dies or times
//! out with the function error Lambda gives, so callers' retries work locally as on AWS.

pub mod answers;
pub mod api;
pub mod config;
pub mod pool;
