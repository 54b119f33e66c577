//! Local stand-ins for two AWS front doors the emulators lack: the HTTP API (API Gateway,
//! payload format 2.0) and the S3 -> Lambda notification (moto delivers to SQS; the pump
//! invokes the function).

pub mod event;
pub mod gateway;
pub mod pump;
pub mod response;
pub mod routes;
