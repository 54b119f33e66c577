//! ingest-starter's event decoding (S3 notifications and EventBridge "Object Created"): any
//! JSON is understood or refused by name; a started upload has a valid execution name; keys
//! encoded as S3 encodes them decode back; distinct keys never share an execution name stem.
#![no_main]

use common::ports::execution_name;
use ingest::event::uploads;
use ingest::keys::{decode_event_key, is_ingestible};
use ingest::starter::{Decision, decide};
use libfuzzer_sys::fuzz_target;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};

/// What S3 leaves unencoded in event keys (then a space becomes `+`).
const KEPT: &AsciiSet = &NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'*').remove(b' ');

fn valid_name(name: &str) -> bool {
    !name.is_empty() && name.len() <= 80 && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let encoded = utf8_percent_encode(text, KEPT).to_string().replace(' ', "+");
        assert_eq!(decode_event_key(&encoded).as_deref(), Some(text), "a key S3 encoded decodes back");
        if let Some((a, b)) = text.split_once('\n')
            && a != b
        {
            assert_ne!(execution_name(a), execution_name(b), "distinct raw names never share an execution name");
        }
    }
    let Ok(event) = serde_json::from_slice::<serde_json::Value>(data) else { return };
    let Ok(found) = uploads(&event) else { return };
    for upload in &found {
        match decide(upload) {
            Decision::Start { key, name, .. } => {
                assert!(is_ingestible(&key), "started a key that is not work: {key:?}");
                assert!(valid_name(&name), "invalid execution name {name:?}");
            }
            Decision::Skip { reason, .. } => assert!(!reason.is_empty()),
        }
    }
});
