//! csv-ingest's hot path, kept in its own crate so it is compiled for speed while the
//! function binaries are compiled for size: sensor rows parsed from a byte stream,
//! validated ([`rows`]), and grouped into `BatchWriteItem`-sized batches ([`batch`]).

pub mod batch;
pub mod rows;

use std::io::{Read, Write};

use tokio::sync::mpsc;

use crate::batch::{Batch, lane_of};
use crate::rows::{Reading, Row, classify, rejected_line};

/// What the parsing thread reports when the file ends.
#[derive(Debug, Default)]
pub struct ParseSummary {
    pub rows_read: u64,
    pub rows_rejected: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    #[error("the object is not CSV text: line {line} holds binary data")]
    Binary { line: u64 },
    #[error("reading the object failed: {0}")]
    Read(String),
    #[error("writing the rejected-rows report failed: {0}")]
    Spool(String),
}

/// Counts the lines that pass through a reader, so a record's line number can be told
/// from its byte offset (csv's own line count drifts on CRLF files). Holds only the
/// newline offsets not yet consumed, so memory stays bounded by the read-ahead.
struct LineIndex<R> {
    inner: R,
    read: u64,
    newlines: std::rc::Rc<std::cell::RefCell<std::collections::VecDeque<u64>>>,
}

impl<R: Read> Read for LineIndex<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        let mut newlines = self.newlines.borrow_mut();
        newlines.extend(memchr::memchr_iter(b'\n', &buf[..n]).map(|i| self.read + i as u64));
        self.read += n as u64;
        Ok(n)
    }
}

/// The 1-based line holding `offset`, consuming the newlines before it.
fn line_at(newlines: &std::cell::RefCell<std::collections::VecDeque<u64>>, lines_before: &mut u64, offset: u64) -> u64 {
    let mut newlines = newlines.borrow_mut();
    while newlines.front().is_some_and(|n| *n < offset) {
        newlines.pop_front();
        *lines_before += 1;
    }
    *lines_before + 1
}

/// Reads CSV rows from `reader` (blocking), hands full batches to the lanes (waiting when
/// they are busy) and spools rejected rows to `spool_path`. Stops early, with what it
/// has counted, when a lane closes (its writer failed and reports why).
pub fn parse(
    reader: impl Read,
    lanes: Vec<mpsc::Sender<Vec<Reading>>>,
    spool_path: &std::path::Path,
) -> Result<ParseSummary, ParseError> {
    let newlines = std::rc::Rc::new(std::cell::RefCell::new(std::collections::VecDeque::new()));
    let indexed = LineIndex { inner: reader, read: 0, newlines: std::rc::Rc::clone(&newlines) };
    let mut lines_before = 0u64;
    let mut csv =
        csv::ReaderBuilder::new().has_headers(false).flexible(true).buffer_capacity(256 * 1024).from_reader(indexed);
    let spool_file = std::fs::File::create(spool_path).map_err(|e| ParseError::Spool(e.to_string()))?;
    let mut spool = std::io::BufWriter::new(spool_file);
    spool.write_all(b"line,reason,row\n").map_err(|e| ParseError::Spool(e.to_string()))?;
    let mut batches: Vec<Batch> = lanes.iter().map(|_| Batch::default()).collect();
    let mut summary = ParseSummary::default();
    let mut record = csv::ByteRecord::new();
    let mut first = true;
    loop {
        match csv.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => return Err(ParseError::Read(e.to_string())),
        }
        // The reader stops inside the record's terminator (after `\r`, or after `\n`), so
        // every newline before the byte ahead of it precedes the record.
        let line = line_at(&newlines, &mut lines_before, csv.position().byte().saturating_sub(1));
        if record.iter().any(|f| f.contains(&0)) {
            return Err(ParseError::Binary { line });
        }
        if record.len() == 1 && record[0].iter().all(u8::is_ascii_whitespace) {
            continue; // blank line
        }
        let row = if record.len() == 3 {
            classify(&[&record[0], &record[1], &record[2]], first)
        } else {
            classify(&record.iter().collect::<Vec<_>>(), first)
        };
        first = false;
        match row {
            Row::Header => {}
            Row::Reading(reading) => {
                summary.rows_read += 1;
                let lane = lane_of(reading.key(), lanes.len());
                if let Some(full) = batches[lane].push(reading)
                    && lanes[lane].blocking_send(full).is_err()
                {
                    return Ok(summary); // the writer failed; it reports why
                }
            }
            Row::Rejected(reason) => {
                summary.rows_read += 1;
                summary.rows_rejected += 1;
                let raw = raw_row(&record);
                spool.write_all(&rejected_line(line, &reason, &raw)).map_err(|e| ParseError::Spool(e.to_string()))?;
            }
        }
    }
    for (lane, batch) in lanes.iter().zip(batches.iter_mut()) {
        if let Some(rest) = batch.finish()
            && lane.blocking_send(rest).is_err()
        {
            break;
        }
    }
    spool.flush().map_err(|e| ParseError::Spool(e.to_string()))?;
    Ok(summary)
}

fn raw_row(record: &csv::ByteRecord) -> Vec<u8> {
    let mut raw = Vec::new();
    for (i, field) in record.iter().enumerate() {
        if i > 0 {
            raw.push(b',');
        }
        raw.extend_from_slice(field);
    }
    raw
}
