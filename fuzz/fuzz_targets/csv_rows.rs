//! csv-ingest's row parser and classifier over any bytes: every row read is either handed on
//! or reported, and a row it accepts comes back the same when written out as CSV and read again.
#![no_main]

use csv_stream::rows::Reading;
use csv_stream::{Outlets, ParseSummary, parse};
use libfuzzer_sys::fuzz_target;
use tokio::sync::mpsc;

/// Parses `data` on two lanes; the channels hold one message per line, so nothing blocks.
fn parse_all(data: &[u8]) -> Option<(ParseSummary, Vec<Reading>, usize)> {
    let room = data.len() + 2;
    let (lane_a, mut rx_a) = mpsc::channel(room);
    let (lane_b, mut rx_b) = mpsc::channel(room);
    let (rejects, mut rejects_rx) = mpsc::channel(room);
    let summary = parse(data, Outlets { lanes: vec![lane_a, lane_b], rejects }).ok()?;
    let mut readings = Vec::new();
    while let Ok(batch) = rx_a.try_recv().or_else(|_| rx_b.try_recv()) {
        assert!(!batch.is_empty() && batch.len() <= 25, "a batch of {} readings", batch.len());
        readings.extend(batch);
    }
    let mut rejected = 0;
    while let Ok(line) = rejects_rx.try_recv() {
        assert!(line.ends_with(b"\n"), "a report line ends its record");
        rejected += 1;
    }
    Some((summary, readings, rejected))
}

fn csv_line(reading: &Reading) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new().terminator(csv::Terminator::Any(b'\n')).from_writer(Vec::new());
    let timestamp = reading.timestamp.to_string();
    writer.write_record([reading.sensor_id.as_str(), timestamp.as_str(), reading.value.as_str()]).expect("to a Vec");
    writer.into_inner().expect("to a Vec")
}

fuzz_target!(|data: &[u8]| {
    let Some((summary, readings, rejected)) = parse_all(data) else { return };
    assert_eq!(summary.rows_rejected, rejected as u64, "every rejected row is in the report");
    assert_eq!(
        readings.len() as u64 + summary.rows_superseded + summary.rows_rejected,
        summary.rows_read,
        "every row read is written, superseded or rejected"
    );
    for reading in &readings {
        assert!(!reading.sensor_id.is_empty() && reading.sensor_id.len() <= csv_stream::rows::MAX_PARTITION_KEY);
        assert_eq!(csv_stream::number::check(&reading.value).as_deref(), Ok(reading.value.as_str()));
        let mut again = b"sensor_id,timestamp,value\n".to_vec();
        again.extend(csv_line(reading));
        let (_, back, _) = parse_all(&again).expect("a written row is text");
        let back: Vec<_> = back.into_iter().map(|r| (r.sensor_id, r.timestamp, r.value)).collect();
        assert_eq!(
            back,
            [(reading.sensor_id.clone(), reading.timestamp, reading.value.clone())],
            "an accepted row round-trips"
        );
    }
});
