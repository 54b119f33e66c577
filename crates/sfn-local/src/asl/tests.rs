//! The validator's checks, one behaviour per test.

use super::*;

fn errors(def: &str) -> Vec<String> {
    parse_definition(def).err().map(|e| e.lines()).unwrap_or_default()
}

#[test]
fn a_complete_definition_parses() {
    let m = parse_definition(
        r#"{"StartAt":"A","TimeoutSeconds":60,"States":{
            "A":{"Type":"Pass","Parameters":{"x.$":"$.y","k":[{"n.$":"$$.Execution.Id"}]},"Next":"B"},
            "B":{"Type":"Choice","Choices":[{"Variable":"$.x","NumericGreaterThan":1,"Next":"C"},
                 {"And":[{"Variable":"$.x","IsPresent":true},{"Not":{"Variable":"$.x","StringEqualsPath":"$.z"}}],"Next":"D"}],
                 "Default":"E"},
            "C":{"Type":"Wait","SecondsPath":"$.s","Next":"D"},
            "D":{"Type":"Task","Resource":"arn:aws:states:::lambda:invoke","Parameters":{"FunctionName":"f","Payload.$":"$"},
                 "Retry":[{"ErrorEquals":["TransientError"],"MaxAttempts":2},{"ErrorEquals":["States.ALL"]}],
                 "Catch":[{"ErrorEquals":["States.ALL"],"Next":"E","ResultPath":"$.error"}],"End":true},
            "E":{"Type":"Fail","Error":"Boom","CausePath":"States.Format('x {}', $.a)"}}}"#,
    )
    .unwrap();
    assert_eq!(m.states.len(), 5);
    assert_eq!(m.timeout_seconds, Some(60));
    assert!(matches!(m.state("D").map(|s| &s.kind), Some(StateKind::Task { .. })));
}

#[test]
fn broken_definitions_are_refused_with_their_place() {
    assert!(errors("{").iter().any(|e| e.starts_with("INVALID_JSON_DESCRIPTION")));
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Next":"Nowhere"}}}"#)
            .iter()
            .any(|e| e.contains("MISSING_TRANSITION_TARGET") && e.contains("/States/A/Next"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass"}}}"#).iter().any(|e| e.contains("MISSING_END_STATE"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true},"B":{"Type":"Succeed"}}}"#)
            .iter()
            .any(|e| e.contains("UNREACHABLE_STATE"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Bogus","End":true}}}"#)
            .iter()
            .any(|e| e.contains("not a valid state type"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","End":true,"Resource":"x"}}}"#)
            .iter()
            .any(|e| e.contains("'Resource' is not supported"))
    );
    assert!(errors(r#"{"StartAt":"A","States":{"A":{"Type":"Wait","Seconds":1,"Timestamp":"2024-01-01T00:00:00Z","End":true}}}"#)
        .iter()
        .any(|e| e.contains("exactly one")));
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Wait","Timestamp":"2024-01-01t00:00:00z","End":true}}}"#)
            .iter()
            .any(|e| e.contains("RFC 3339"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","InputPath":"nope","End":true}}}"#)
            .iter()
            .any(|e| e.contains("/States/A/InputPath"))
    );
    assert!(
        errors(r#"{"StartAt":"A","States":{"A":{"Type":"Pass","Parameters":{"a.$":"States.Nope()"},"End":true}}}"#)
            .iter()
            .any(|e| e.contains("unknown function"))
    );
}

#[test]
fn retry_and_catch_rules_are_checked() {
    let e = errors(
        r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:aws:lambda:us-east-1:1:function:f","End":true,
            "Retry":[{"ErrorEquals":["States.ALL","X"]},{"ErrorEquals":["Y"],"BackoffRate":0.5}]}}}"#,
    );
    assert!(e.iter().any(|e| e.contains("alone")));
    assert!(e.iter().any(|e| e.contains("must be the last")));
    assert!(e.iter().any(|e| e.contains("BackoffRate")));
    let e = errors(
        r#"{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"arn:x","End":true,"TimeoutSeconds":5,"HeartbeatSeconds":10}}}"#,
    );
    assert!(e.iter().any(|e| e.contains("HeartbeatSeconds")));
}

#[test]
fn choice_rules_are_checked() {
    let e = errors(
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","StringEquals":3,"Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
    );
    assert!(e.iter().any(|e| e.contains("wrong type")));
    let e = errors(
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
    );
    assert!(e.iter().any(|e| e.contains("exactly one comparison")));
    let e = errors(
        r#"{"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[{"Variable":"$.a","IsNullPath":"$.b","Next":"D"}]},"D":{"Type":"Succeed"}}}"#,
    );
    assert!(!e.is_empty());
}

#[test]
fn timestamps_need_upper_case() {
    assert!(parse_timestamp("2024-03-01T09:00:00Z").is_some());
    assert!(parse_timestamp("2024-03-01T09:00:00+02:00").is_some());
    assert!(parse_timestamp("2024-03-01t09:00:00Z").is_none());
    assert!(parse_timestamp("2024-03-01T09:00:00z").is_none());
    assert!(parse_timestamp("2024-03-01").is_none());
}

#[test]
fn map_processors_are_validated_recursively() {
    let e = errors(
        r#"{"StartAt":"M","States":{"M":{"Type":"Map","End":true,"ItemProcessor":{"StartAt":"X","States":{"X":{"Type":"Pass","Next":"Y"}}}}}}"#,
    );
    assert!(e.iter().any(|e| e.contains("/States/M/ItemProcessor/States/X/Next")));
}
