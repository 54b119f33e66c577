//! Inputs the fuzz targets (`make fuzz`, fuzz/) found crashing or breaking a property, each
//! kept as the behaviour it now has.

use serde_json::json;
use sfn_local::asl::parse_definition;
use sfn_local::intrinsics;
use sfn_local::path::{JsonPath, ReferencePath};

/// fuzz target `intrinsics`: a path argument whose quoted name ends in a backslash made the
/// parser slice past the end of the text (a panic, so an abort of the server).
#[test]
fn an_intrinsic_path_argument_ending_in_a_backslash_is_refused() {
    for raw in ["States.Format($['\\", "States.MathAdd($.Sta'$tes.Format('Hello, my name is {value0, $.stea2`\\"] {
        let refusal = intrinsics::parse(raw).expect_err("a dangling backslash is not a path");
        assert!(refusal.contains("dangling"), "{refusal}");
    }
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass",
        "Parameters": {"a.$": "States.Array($['\\"}, "End": true}}});
    assert!(parse_definition(&definition.to_string()).is_err(), "refused, not a crash");
}

/// fuzz target `jsonpath`: `ResultPath: $['Test\"Name']` wrote to the field `Test\"Name` (the
/// backslash kept) while `$['Test\"Name']` as a query reads `Test"Name`, as Jayway does.
#[test]
fn a_reference_path_writes_the_field_the_same_query_reads() {
    let input = json!({"Test\"Name": 1});
    for raw in ["$['Test\\\"Name']", "$[\"Test\\\"Name\"]", "$['Test\"Name']"] {
        let written = ReferencePath::parse(raw).expect("a reference path").set(input.clone(), json!("w")).expect("set");
        assert_eq!(written, json!({"Test\"Name": "w"}), "{raw}");
        assert_eq!(JsonPath::parse(raw).expect("a query").select(&written), Some(json!("w")), "{raw}");
    }
    let escapes = ReferencePath::parse(r"$['a\'b']['c]d'][' e\u0041\\ '][2]").expect("escapes and a ']' in a name");
    let written = escapes.set(json!({"a'b": {"c]d": {" eA\\ ": [0, 0, 0]}}}), json!(9)).expect("set");
    assert_eq!(written, json!({"a'b": {"c]d": {" eA\\ ": [0, 0, 9]}}}));
    for bad in [r"$['a\x']", "$['open", "$['a'", "$[+1]", "$[ ]", "$['a'x]"] {
        assert!(ReferencePath::parse(bad).is_err(), "{bad}");
    }
}

/// fuzz target `jsonpath` (a 300-byte input, minimised here): a quoted name ending in an
/// escaped backslash (`['a\\']`, which `$.a\.b` becomes) was read as escaping its closing
/// quote, so a later `,` looked like a union: the definite path answered a one-item list.
#[test]
fn a_name_ending_in_a_backslash_leaves_the_path_definite() {
    let doc = json!({"a\\": {"b,c": 1}});
    for raw in [r"$['a\\']['b,c']", r"$.a\.b,c"] {
        assert_eq!(JsonPath::parse(raw).expect("a query").select(&doc), Some(json!(1)), "{raw}");
    }
    let written = ReferencePath::parse(r"$.a\.b,c").expect("a reference path").set(json!({}), json!(2)).expect("set");
    assert_eq!(written, json!({"a\\": {"b,c": 2}}));
    assert_eq!(JsonPath::parse(r"$.a\.b,c").expect("a query").select(&written), Some(json!(2)));
}

/// fuzz target `jsonpath`: `$['T\u` (a `\u` escape cut off by the end of the path) reached an
/// `unreachable!` in serde_json_path 0.7.2, which aborts the server; it is refused first.
#[test]
fn a_path_ending_inside_a_unicode_escape_is_refused_not_a_crash() {
    for raw in [r"$['T\u", r"$['T\u00", r"$['\uD800\u", r"$['\uD800\uD", r"$.a['b\u12']"] {
        let refusal = JsonPath::parse(raw).expect_err("not a JSONPath");
        assert!(refusal.contains("four hex digits"), "{raw}: {refusal}");
    }
    assert_eq!(JsonPath::parse(r"$['\u0041']").expect("a JSONPath").select(&json!({"A": 1})), Some(json!(1)));
    assert!(JsonPath::parse(r"$.a\u").is_ok(), "a backslash in a dotted name is the character itself");
    let definition = json!({"StartAt": "A", "States": {"A": {"Type": "Pass", "InputPath": "$['T\\u", "End": true}}});
    assert!(parse_definition(&definition.to_string()).is_err(), "refused, not a crash");
}
