//! csv-ingest's hot path, kept in its own crate so it is compiled for speed while the
//! function binaries are compiled for size: sensor rows parsed from a byte stream,
//! validated ([`rows`]), and grouped into `BatchWriteItem`-sized batches ([`batch`]).
//!
//! A record is one line. Fields may be quoted (`"s-1","17","2.5"`), but a quoted field
//! cannot span lines: no valid reading holds a line break, and reading line by line
//! bounds every record, so one stray `"` or a file without newlines can neither turn the
//! rest of the object into one record nor hold it in memory.

pub mod batch;
pub mod number;
pub mod rows;

use std::io::{BufRead, BufReader, Read};

use tokio::sync::mpsc;

use crate::batch::{Batch, lane_of};
use crate::rows::{Reading, Row, classify, rejected_line};

/// The longest line read as a row. A valid row is far shorter (a 2,048-byte sensor id
/// and two numbers); longer lines are rejected whole, and only their start is kept.
pub const MAX_LINE: usize = 16 * 1024;
/// How much of the object's start is checked for binary content before anything is written.
pub const SNIFF_BYTES: usize = 8 * 1024;

/// What the parsing thread reports when the file ends.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ParseSummary {
    pub rows_read: u64,
    pub rows_rejected: u64,
    /// Rows replaced by a later row for the same key before they were sent.
    pub rows_superseded: u64,
}

#[derive(Debug, thiserror::Error)]
pub enum ParseError {
    /// Found before any row was handed on: nothing was written.
    #[error("the object is not CSV text: {0}")]
    Binary(String),
    #[error("reading the object failed: {0}")]
    Read(String),
}

/// Where the parser hands its work: a lane per writer and the rejected-rows report.
pub struct Outlets {
    pub lanes: Vec<mpsc::Sender<Vec<Reading>>>,
    /// Lines of the rejected-rows report (`line,reason,row\n`), header excluded.
    pub rejects: mpsc::Sender<Vec<u8>>,
}

/// Reads rows from `reader` (blocking), hands full batches to the lanes and rejected rows
/// to the report (waiting when they are busy). Stops early, with what it has counted,
/// when a lane or the report closes (its consumer failed and reports why).
///
/// The object's first [`SNIFF_BYTES`] decide whether it is text: NUL bytes or invalid
/// UTF-8 there fail it before any row is written. Past that, a line with binary content
/// is a rejected row like any other, so the report and the table always agree.
pub fn parse(reader: impl Read, outlets: Outlets) -> Result<ParseSummary, ParseError> {
    let mut reader = BufReader::with_capacity(256 * 1024, reader);
    sniff(&mut reader)?;
    let mut parser = Parser::new(outlets);
    let mut long_line: Vec<u8> = Vec::new();
    let mut long_len = 0usize;
    loop {
        let buf = reader.fill_buf().map_err(|e| ParseError::Read(e.to_string()))?;
        if buf.is_empty() {
            if long_len > 0 && !parser.line(&long_line, long_len) {
                return Ok(parser.finish_early());
            }
            break;
        }
        match memchr::memchr(b'\n', buf) {
            // The whole line is in the buffer: no copy.
            Some(end) if long_len == 0 => {
                let go_on = parser.line(&buf[..end], end);
                reader.consume(end + 1);
                if !go_on {
                    return Ok(parser.finish_early());
                }
            }
            Some(end) => {
                keep_bounded(&mut long_line, &buf[..end]);
                long_len += end;
                reader.consume(end + 1);
                let go_on = parser.line(&long_line, long_len);
                long_line.clear();
                long_len = 0;
                if !go_on {
                    return Ok(parser.finish_early());
                }
            }
            None => {
                let n = buf.len();
                keep_bounded(&mut long_line, buf);
                long_len += n;
                reader.consume(n);
            }
        }
    }
    Ok(parser.finish())
}

/// Keeps at most `MAX_LINE + 1` bytes of a line: enough to tell it is too long.
fn keep_bounded(line: &mut Vec<u8>, more: &[u8]) {
    let room = (MAX_LINE + 1).saturating_sub(line.len());
    line.extend_from_slice(&more[..more.len().min(room)]);
}

fn sniff(reader: &mut BufReader<impl Read>) -> Result<(), ParseError> {
    let head = reader.fill_buf().map_err(|e| ParseError::Read(e.to_string()))?;
    let head = &head[..head.len().min(SNIFF_BYTES)];
    if let Some(at) = memchr::memchr(0, head) {
        return Err(ParseError::Binary(format!("a NUL byte at offset {at}")));
    }
    match std::str::from_utf8(head) {
        Ok(_) => Ok(()),
        // A character cut by the end of the block is fine.
        Err(e) if e.error_len().is_none() => Ok(()),
        Err(e) => Err(ParseError::Binary(format!("bytes that are not UTF-8 at offset {}", e.valid_up_to()))),
    }
}

struct Parser {
    outlets: Outlets,
    batches: Vec<Batch>,
    summary: ParseSummary,
    line_number: u64,
    first: bool,
}

impl Parser {
    fn new(outlets: Outlets) -> Self {
        let batches = outlets.lanes.iter().map(|_| Batch::default()).collect();
        Self { outlets, batches, summary: ParseSummary::default(), line_number: 0, first: true }
    }

    /// One line (without its `\n`) whose full length was `len`; false when a consumer
    /// has gone and parsing should stop.
    fn line(&mut self, line: &[u8], len: usize) -> bool {
        self.line_number += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if len <= MAX_LINE && line.iter().all(u8::is_ascii_whitespace) {
            return true; // blank line
        }
        let first = std::mem::replace(&mut self.first, false);
        let row = if len > MAX_LINE {
            Row::Rejected(format!("the line is {len} bytes long; a row has at most {MAX_LINE}"))
        } else if memchr::memchr(0, line).is_some() {
            Row::Rejected("the line holds binary data (a NUL byte)".into())
        } else {
            with_fields(line, |fields| classify(fields, first))
        };
        match row {
            Row::Header => true,
            Row::Reading(mut reading) => {
                self.summary.rows_read += 1;
                reading.line = self.line_number;
                let lane = lane_of(reading.key(), self.batches.len());
                match self.batches[lane].push(reading) {
                    Some(full) => self.outlets.lanes[lane].blocking_send(full).is_ok(),
                    None => true,
                }
            }
            Row::Rejected(reason) => {
                self.summary.rows_read += 1;
                self.summary.rows_rejected += 1;
                self.outlets.rejects.blocking_send(rejected_line(self.line_number, &reason, line)).is_ok()
            }
        }
    }

    fn finish(mut self) -> ParseSummary {
        for (lane, batch) in self.outlets.lanes.iter().zip(self.batches.iter_mut()) {
            if let Some(rest) = batch.finish()
                && lane.blocking_send(rest).is_err()
            {
                break;
            }
        }
        self.finish_early()
    }

    fn finish_early(mut self) -> ParseSummary {
        self.summary.rows_superseded = self.batches.iter().map(|b| b.superseded).sum();
        self.summary
    }
}

/// Splits a line into fields: a plain split on `,` for the common unquoted line, the
/// csv crate for a line with quotes.
fn with_fields<T>(line: &[u8], f: impl FnOnce(&[&[u8]]) -> T) -> T {
    if memchr::memchr(b'"', line).is_none() {
        let mut fields: [&[u8]; 3] = [&[], &[], &[]];
        let mut count = 0;
        for field in line.split(|b| *b == b',') {
            if count < 3 {
                fields[count] = field;
            }
            count += 1;
        }
        if count <= 3 {
            return f(&fields[..count]);
        }
        let all: Vec<&[u8]> = line.split(|b| *b == b',').collect();
        return f(&all);
    }
    let mut reader = csv::ReaderBuilder::new().has_headers(false).flexible(true).from_reader(line);
    let mut record = csv::ByteRecord::new();
    match reader.read_byte_record(&mut record) {
        Ok(true) => {
            let fields: Vec<&[u8]> = record.iter().collect();
            f(&fields)
        }
        _ => f(&[line]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(input: &[u8]) -> (Result<ParseSummary, ParseError>, Vec<Reading>, String) {
        let (lane_tx, mut lane_rx) = mpsc::channel(1024);
        let (rejects_tx, mut rejects_rx) = mpsc::channel(1024);
        let result = parse(input, Outlets { lanes: vec![lane_tx], rejects: rejects_tx });
        let mut readings = Vec::new();
        while let Ok(batch) = lane_rx.try_recv() {
            readings.extend(batch);
        }
        let mut rejects = String::new();
        while let Ok(line) = rejects_rx.try_recv() {
            rejects.push_str(&String::from_utf8_lossy(&line));
        }
        (result, readings, rejects)
    }

    #[test]
    fn rows_carry_their_line_numbers_across_crlf_and_blank_lines() {
        let (summary, readings, rejects) = run(b"sensor_id,timestamp,value\r\ns,1,2\r\n\r\nbad\r\ns,2,3");
        assert_eq!(summary.expect("parsed"), ParseSummary { rows_read: 3, rows_rejected: 1, rows_superseded: 0 });
        assert_eq!(readings.iter().map(|r| r.line).collect::<Vec<_>>(), [2, 5]);
        assert!(rejects.starts_with("4,"), "{rejects}");
    }

    #[test]
    fn quoted_fields_are_read_but_a_stray_quote_stays_on_its_line() {
        let (summary, readings, rejects) = run(b"\"s,1\",1,2\n\"s-2,1,2\ns,3,4\n");
        let summary = summary.expect("parsed");
        assert_eq!(summary.rows_read, 3);
        assert_eq!(readings.iter().map(|r| r.sensor_id.as_str()).collect::<Vec<_>>(), ["s,1", "s"]);
        assert!(rejects.starts_with("2,"), "only the line with the stray quote is rejected: {rejects}");
    }

    #[test]
    fn a_file_without_newlines_is_one_bounded_rejected_line() {
        let input = vec![b'x'; 3 * MAX_LINE];
        let (summary, readings, rejects) = run(&input);
        assert_eq!(summary.expect("parsed").rows_rejected, 1);
        assert!(readings.is_empty());
        assert!(rejects.len() < 2 * 1024, "the report keeps only the line's start: {} bytes", rejects.len());
        assert!(rejects.contains("49152 bytes long"), "{}", &rejects[..200.min(rejects.len())]);
    }

    #[test]
    fn binary_at_the_start_fails_before_anything_is_handed_on() {
        let (result, readings, rejects) = run(b"\x1f\x8b\x08\x00gzip");
        assert!(matches!(result, Err(ParseError::Binary(_))));
        assert!(readings.is_empty() && rejects.is_empty());
        assert!(matches!(run(b"s,1,2\n\xff\xfe,1,2\n").0, Err(ParseError::Binary(_))));
    }

    #[test]
    fn binary_lines_past_the_sniffed_block_are_rejected_rows() {
        let mut input = b"s,1,2\n".repeat(SNIFF_BYTES / 6 + 10);
        input.extend_from_slice(b"s,\x00\x01,2\ns,\xff\xff,3\ns,999999,4\n");
        let (summary, readings, rejects) = run(&input);
        let summary = summary.expect("parsed");
        assert_eq!(summary.rows_rejected, 2);
        assert_eq!(readings.last().map(|r| r.timestamp), Some(999_999));
        assert!(rejects.contains("binary data") && rejects.contains("UTF-8"), "{rejects}");
    }

    #[test]
    fn superseded_rows_are_counted_apart_from_written_ones() {
        let (summary, readings, _) = run(b"s,1,old\ns,1,2\ns,1,3\nt,1,4\n");
        let summary = summary.expect("parsed");
        // `old` is rejected (not a number); the two later rows for (s,1) leave one.
        assert_eq!(summary, ParseSummary { rows_read: 4, rows_rejected: 1, rows_superseded: 1 });
        assert_eq!(readings.len(), 2);
    }

    #[test]
    fn a_closed_lane_stops_the_parser() {
        let (lane_tx, lane_rx) = mpsc::channel(1);
        drop(lane_rx);
        let (rejects_tx, _rejects_rx) = mpsc::channel(8);
        let input: String = (0..200).map(|i| format!("s,{i},2\n")).collect();
        let summary = parse(input.as_bytes(), Outlets { lanes: vec![lane_tx], rejects: rejects_tx }).expect("parsed");
        assert_eq!(summary.rows_read, 25, "stopped at the first full batch it could not hand on");
    }
}
