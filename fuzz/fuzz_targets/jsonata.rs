//! sfn-local's JSONata expressions over any expression and document (input: expression, NUL,
//! JSON as `$states.input`, its `vars` as variables): parsed or refused, then evaluated to a
//! value, undefined or an error (never a panic).
#![no_main]

use fuzz_support::expression_and_document;
use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value};
use sfn_local::jsonata::Expression;
use sfn_local::variables::Variables;

fuzz_target!(|data: &[u8]| {
    let Some((source, input)) = expression_and_document(data) else { return };
    let Ok(expression) = Expression::parse(source) else { return };
    let _ = expression.reads_context();
    let mut variables = Variables::default();
    if let Some(Value::Object(vars)) = input.get("vars") {
        let valid: Map<String, Value> = vars
            .iter()
            .filter(|(k, _)| sfn_local::path::is_variable_name(k))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let _ = variables.assign(valid);
    }
    let _ = expression.evaluate(&[("input", &input)], &variables);
});
