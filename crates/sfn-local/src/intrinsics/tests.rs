//! Intrinsic functions as AWS evaluates them, edge cases included.

use super::*;
use crate::path::TestSources;

fn eval(expr: &str, input: Value) -> Result<Value, StatesError> {
    evaluate(
        &parse(expr).map_err(StatesError::intrinsic)?,
        &TestSources::with_vars_in_input(input, json!({"Execution": {"Name": "run-1"}})),
    )
}

#[test]
fn aws_edge_cases() {
    assert_eq!(eval("States.MathAdd(1.6, 2)", json!({})).unwrap(), json!(4));
    assert_eq!(eval("States.MathAdd($.a, $.b)", json!({"a": 1.2, "b": -0.4})).unwrap(), json!(1));
    assert_eq!(
        eval("States.Format('{} {}', $.o, $.l)", json!({"o": {"a": 1}, "l": [1, "x"]})).unwrap(),
        json!("{\"a\":1} [1,\"x\"]")
    );
    assert_eq!(eval("States.StringToJson('')", json!({})).unwrap(), Value::Null);
    assert_eq!(eval("States.StringToJson($.s)", json!({"s": "  "})).unwrap(), Value::Null);
    assert_eq!(
        eval("States.Array('a\\{b\\}', 'it\\'s', 'back\\\\slash')", json!({})).unwrap(),
        json!(["a{b}", "it's", "back\\slash"])
    );
    assert_eq!(eval("States.Format('\\{\\} {} \\\\', 'x')", json!({})).unwrap(), json!("{} x \\"));
    assert_eq!(
        eval("States.Format('{} and {}', $name, $.vars.name)", json!({"vars": {"name": "v"}})).unwrap(),
        json!("v and v")
    );
}

#[test]
fn format_with_paths_context_and_escapes() {
    let v = eval(
        "States.Format('Hello {} from {}, \\{literal\\} it\\'s {}', $.name, $$.Execution.Name, $.n)",
        json!({"name": "Ann", "n": 3}),
    );
    assert_eq!(v.unwrap(), json!("Hello Ann from run-1, {literal} it's 3"));
    let err = eval("States.Format('{} {}', 'a')", json!({})).unwrap_err();
    assert_eq!((err.error.as_str(), err.cause.as_str()), ("States.Runtime", "Invalid arguments in States.Format"));
}

#[test]
fn json_round_trip() {
    assert_eq!(eval("States.StringToJson($.s)", json!({"s": "{\"a\":[1,2]}"})).unwrap(), json!({"a": [1, 2]}));
    assert_eq!(eval("States.JsonToString($.o)", json!({"o": {"a": 1}})).unwrap(), json!("{\"a\":1}"));
    assert!(eval("States.StringToJson('nope{')", json!({})).is_err());
}

#[test]
fn arrays() {
    assert_eq!(
        eval("States.Array('a', 1, true, null, $.x)", json!({"x": [1]})).unwrap(),
        json!(["a", 1, true, null, [1]])
    );
    assert_eq!(
        eval("States.ArrayPartition($.a, 2)", json!({"a": [1, 2, 3, 4, 5]})).unwrap(),
        json!([[1, 2], [3, 4], [5]])
    );
    assert_eq!(eval("States.ArrayContains($.a, 3)", json!({"a": [1, 3]})).unwrap(), json!(true));
    assert_eq!(eval("States.ArrayRange(1, 9, 2)", json!({})).unwrap(), json!([1, 3, 5, 7, 9]));
    assert_eq!(eval("States.ArrayRange(5, 1, -2)", json!({})).unwrap(), json!([5, 3, 1]));
    assert!(eval("States.ArrayRange(1, 2000, 1)", json!({})).is_err());
    assert_eq!(eval("States.ArrayGetItem($.a, 1)", json!({"a": [7, 8]})).unwrap(), json!(8));
    assert!(eval("States.ArrayGetItem($.a, 5)", json!({"a": [7, 8]})).is_err());
    assert_eq!(eval("States.ArrayLength($.a)", json!({"a": [7, 8]})).unwrap(), json!(2));
    assert_eq!(eval("States.ArrayUnique($.a)", json!({"a": [1, 2, 1, "1"]})).unwrap(), json!([1, 2, "1"]));
    assert_eq!(eval("States.ArrayLength(States.Array(1, 2, 3))", json!({})).unwrap(), json!(3));
}

#[test]
fn encoding_and_hashing() {
    assert_eq!(eval("States.Base64Encode('Data to encode')", json!({})).unwrap(), json!("RGF0YSB0byBlbmNvZGU="));
    assert_eq!(eval("States.Base64Decode('RGF0YSB0byBlbmNvZGU=')", json!({})).unwrap(), json!("Data to encode"));
    assert_eq!(
        eval("States.Hash('input data', 'SHA-1')", json!({})).unwrap(),
        json!("aaff4a450a104cd177d28d18d74485e8cae074b7")
    );
    assert_eq!(eval("States.Hash('', 'MD5')", json!({})).unwrap(), json!("d41d8cd98f00b204e9800998ecf8427e"));
    assert!(eval("States.Hash('x', 'CRC32')", json!({})).is_err());
}

#[test]
fn math_add_takes_32_bit_integers_and_names_itself_when_refused() {
    assert_eq!(eval("States.MathAdd(2147483646, 1)", json!({})).unwrap(), json!(2147483647));
    assert_eq!(eval("States.MathAdd(-2147483647, -1)", json!({})).unwrap(), json!(-2147483648));
    for refused in [
        "States.MathAdd(2147483647, 1)",
        "States.MathAdd(3000000000, 1)",
        "States.MathAdd('1', 2)",
        "States.MathAdd(true, 1)",
    ] {
        let err = eval(refused, json!({})).unwrap_err();
        assert_eq!(err, StatesError::runtime("Invalid arguments in States.MathAdd"), "{refused}");
    }
    assert_eq!(Function::Uuid.name(), "States.UUID");
}

#[test]
fn math_split_merge_uuid() {
    assert_eq!(eval("States.MathAdd($.a, -3)", json!({"a": 10})).unwrap(), json!(7));
    let r = eval("States.MathRandom(1, 10)", json!({})).unwrap().as_i64().unwrap();
    assert!((1..10).contains(&r));
    assert_eq!(
        eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap(),
        eval("States.MathRandom(1, 1000, 7)", json!({})).unwrap()
    );
    assert_eq!(eval("States.StringSplit('a.b+c,d', '.+,')", json!({})).unwrap(), json!(["a", "b", "c", "d"]));
    assert_eq!(
        eval("States.JsonMerge($.a, $.b, false)", json!({"a": {"x": 1, "y": {"z": 1}}, "b": {"y": 2}})).unwrap(),
        json!({"x": 1, "y": 2})
    );
    let id = eval("States.UUID()", json!({})).unwrap();
    assert_eq!(id.as_str().map(str::len), Some(36));
}

#[test]
fn parse_errors_name_the_problem() {
    assert!(parse("States.Nope(1)").unwrap_err().contains("unknown function"));
    assert!(parse("States.MathAdd(1)").unwrap_err().contains("takes 2 arguments"));
    assert!(parse("States.Format('x'").is_err());
    assert!(parse("States.Array(1) extra").is_err());
    assert!(parse("States.Array(bogus)").is_err());
    assert_eq!(eval("States.ArrayLength($.missing)", json!({})).unwrap_err().error, "States.Runtime");
}
