//! Object keys: decoding them from S3 events, naming what derives from them.

use common::ports::execution_name;
use sha2::{Digest, Sha256};

/// The prefix uploads arrive under.
pub const INCOMING: &str = "incoming/";

/// S3 event keys are form-urlencoded: `+` is a space, then percent-decoding (so a
/// literal `+` arrives as `%2B`). `None` when the bytes are not UTF-8.
pub fn decode_event_key(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced).decode_utf8().ok().map(|k| k.into_owned())
}

/// The key without its `incoming/` prefix: the `<name>` of `processed/<name>`.
pub fn archive_name(key: &str) -> &str {
    key.strip_prefix(INCOMING).unwrap_or(key)
}

/// Only `.csv` objects (any case) under `incoming/` are work.
pub fn is_ingestible(key: &str) -> bool {
    key.starts_with(INCOMING) && key.len() > INCOMING.len() && key.to_ascii_lowercase().ends_with(".csv")
}

/// One execution per upload: the name is derived from bucket, key and the upload's
/// version (or sequencer, or ETag), so a redelivered event maps to the same name and a
/// new upload of the same key to a new one. A readable stem plus a hash keeps it within 80.
pub fn upload_execution_name(bucket: &str, key: &str, version: &str) -> String {
    let digest = Sha256::digest(format!("{bucket}\n{key}\n{version}").as_bytes());
    let hash: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    let stem = archive_name(key).rsplit('/').next().unwrap_or_default();
    let stem = stem.strip_suffix(".csv").or_else(|| stem.strip_suffix(".CSV")).unwrap_or(stem);
    let readable = execution_name(stem);
    let readable: String = readable.chars().take(80 - hash.len() - 1).collect();
    if readable.is_empty() { hash } else { format!("{readable}-{hash}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_decode_as_s3_encodes_them() {
        assert_eq!(decode_event_key("incoming/my+file.csv").as_deref(), Some("incoming/my file.csv"));
        assert_eq!(decode_event_key("incoming/a%2Bb.csv").as_deref(), Some("incoming/a+b.csv"));
        assert_eq!(decode_event_key("incoming%2Fsub%2Fx.csv").as_deref(), Some("incoming/sub/x.csv"));
        assert_eq!(decode_event_key("incoming/caf%C3%A9+%E2%82%AC.csv").as_deref(), Some("incoming/café €.csv"));
        assert_eq!(decode_event_key("incoming/%FF.csv"), None, "not UTF-8");
    }

    #[test]
    fn only_csv_uploads_under_incoming_are_work() {
        assert!(is_ingestible("incoming/readings.csv"));
        assert!(is_ingestible("incoming/deep/READINGS.CSV"));
        assert!(!is_ingestible("incoming/readings.txt"));
        assert!(!is_ingestible("processed/readings.csv"));
        assert!(!is_ingestible("incoming/"));
    }

    #[test]
    fn archive_names_drop_the_prefix_only() {
        assert_eq!(archive_name("incoming/a b/c.csv"), "a b/c.csv");
        assert_eq!(archive_name("other/c.csv"), "other/c.csv");
    }

    #[test]
    fn execution_names_are_stable_distinct_and_valid() {
        let a = upload_execution_name("b", "incoming/day 1 é.csv", "seq-1");
        assert_eq!(a, upload_execution_name("b", "incoming/day 1 é.csv", "seq-1"), "redelivery: same name");
        assert_ne!(a, upload_execution_name("b", "incoming/day 1 é.csv", "seq-2"), "new upload: new name");
        assert_ne!(a, upload_execution_name("other", "incoming/day 1 é.csv", "seq-1"));
        assert!(a.starts_with("day_1__-"), "{a}");
        let long = upload_execution_name("b", &format!("incoming/{}.csv", "x".repeat(200)), "v");
        assert!(long.len() <= 80);
        assert!(long.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
    }
}
