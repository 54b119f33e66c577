//! sfn-local's JSONPath over any path and document (input: path, NUL, JSON): queries select
//! without panicking, and a value written at a reference path (ResultPath) is read back there.
#![no_main]

use fuzz_support::{Document, expression_and_document};
use libfuzzer_sys::fuzz_target;
use serde_json::json;
use sfn_local::path::{JsonPath, Query, ReferencePath};

fuzz_target!(|data: &[u8]| {
    let Some((raw, input)) = expression_and_document(data) else { return };
    if let Ok(path) = JsonPath::parse(raw) {
        let _ = path.select(&input);
        assert_eq!(path.as_str(), raw);
    }
    if let Ok(query) = Query::parse(raw) {
        let _ = query.select(&Document::new(input.clone()));
    }
    if let Ok(reference) = ReferencePath::parse(raw)
        && let Ok(written) = reference.set(input, json!({"written": true}))
        && let Ok(path) = JsonPath::parse(reference.as_str())
    {
        assert_eq!(path.select(&written), Some(json!({"written": true})), "{raw}: not read back where it was written");
    }
});
