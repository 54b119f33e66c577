//! sfn-local's intrinsic functions over any call and document (input: call, NUL, JSON): a call
//! parses or is refused, and evaluates to a value or a States error (never a panic).
#![no_main]

use fuzz_support::{Document, expression_and_document};
use libfuzzer_sys::fuzz_target;
use sfn_local::intrinsics::{evaluate, looks_like_call, parse};

fuzz_target!(|data: &[u8]| {
    let Some((raw, input)) = expression_and_document(data) else { return };
    let _ = looks_like_call(raw);
    let Ok(call) = parse(raw) else { return };
    if let Err(e) = evaluate(&call, &Document::new(input)) {
        assert!(e.error.starts_with("States."), "an intrinsic failed with {e:?}");
    }
});
