//! csv-ingest: an S3 upload of sensor readings goes into DynamoDB, the file moves to
//! `processed/` (or `failed/`), and a report e-mail follows ten minutes later.
//!
//! Rules are plain functions ([`keys`], [`rows`] and [`batch`] from `csv-stream`, [`emailer::compose`]);
//! handlers ([`starter`], [`processor`], [`mover`], [`emailer`]) are generic over the
//! ports of `common`, so tests run them on in-memory ports.

pub mod emailer;
pub mod keys;
pub mod mover;
pub mod processor;
pub mod starter;

pub use csv_stream::{batch, rows};
