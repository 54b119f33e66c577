//! Grouping readings into `BatchWriteItem` calls.
//!
//! Readings are routed to a fixed number of lanes by their key, and each lane writes its
//! batches one after another while the lanes run side by side. So several calls are in
//! flight, yet every row for one key goes through one lane in file order: the last row
//! for a key always wins, in one processing or in a repeat of it.

use std::hash::{Hash, Hasher};

use common::ports::MAX_BATCH_WRITE;

use crate::rows::Reading;

/// The lane a key belongs to (stable within a process and across runs). A fast
/// non-cryptographic hash: keys come from our own files, not from an adversary.
pub fn lane_of(key: (&str, i64), lanes: usize) -> usize {
    let mut hasher = rustc_hash::FxHasher::default();
    key.hash(&mut hasher);
    (hasher.finish() % lanes.max(1) as u64) as usize
}

/// One lane's batch being filled: at most 25 distinct keys, the last reading per key.
#[derive(Debug, Default)]
pub struct Batch {
    readings: Vec<Reading>,
    /// Rows replaced by a later row for the same key while in this batch.
    pub superseded: u64,
}

impl Batch {
    /// Adds a reading; returns the full batch to send when it reaches 25 keys.
    pub fn push(&mut self, reading: Reading) -> Option<Vec<Reading>> {
        // Timestamps differ far more often than sensor ids: compare them first.
        if let Some(existing) =
            self.readings.iter_mut().find(|r| r.timestamp == reading.timestamp && r.sensor_id == reading.sensor_id)
        {
            *existing = reading;
            self.superseded += 1;
            return None;
        }
        self.readings.push(reading);
        (self.readings.len() == MAX_BATCH_WRITE).then(|| std::mem::take(&mut self.readings))
    }

    /// What is left at the end of the file.
    pub fn finish(&mut self) -> Option<Vec<Reading>> {
        (!self.readings.is_empty()).then(|| std::mem::take(&mut self.readings))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(id: &str, ts: i64, value: &str) -> Reading {
        Reading { sensor_id: id.into(), timestamp: ts, value: value.into(), line: 0 }
    }

    #[test]
    fn batches_hold_25_distinct_keys() {
        let mut batch = Batch::default();
        for i in 0..24 {
            assert!(batch.push(reading("s", i, "1")).is_none());
        }
        let full = batch.push(reading("s", 24, "1")).expect("25th key fills the batch");
        assert_eq!(full.len(), 25);
        assert!(batch.finish().is_none());
    }

    #[test]
    fn a_repeated_key_replaces_the_earlier_row() {
        let mut batch = Batch::default();
        batch.push(reading("s", 1, "old"));
        batch.push(reading("t", 1, "other"));
        batch.push(reading("s", 1, "new"));
        let rest = batch.finish().expect("two keys");
        assert_eq!(rest.len(), 2);
        assert_eq!(rest.iter().find(|r| r.sensor_id == "s").map(|r| r.value.as_str()), Some("new"));
        assert_eq!(batch.superseded, 1);
    }

    #[test]
    fn lanes_are_stable_and_spread() {
        assert_eq!(lane_of(("s", 1), 8), lane_of(("s", 1), 8));
        let used: std::collections::HashSet<usize> = (0..200).map(|i| lane_of(("s", i), 8)).collect();
        assert_eq!(used.len(), 8);
        assert_eq!(lane_of(("s", 1), 0), 0);
    }
}
