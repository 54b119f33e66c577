//! Choice rule evaluation.

use std::cmp::Ordering;

use serde_json::Value;

use crate::asl::{Comparison, Operand, Rule, parse_timestamp};
use crate::error::StatesError;
use crate::path::{Query, Sources};

fn invalid_path(path: &Query) -> StatesError {
    StatesError::runtime(format!(
        "Invalid path '{}': The choice state's condition path references an invalid value.",
        path.as_str()
    ))
}

/// Whether `rule` holds. A variable that does not resolve is a `States.Runtime` error,
/// except under `IsPresent`. (JSONata `Condition`s are evaluated by the engine.)
pub fn evaluate(rule: &Rule, sources: &dyn Sources) -> Result<bool, StatesError> {
    match rule {
        Rule::And(rules) => {
            for r in rules {
                if !evaluate(r, sources)? {
                    return Ok(false);
                }
            }
            Ok(true)
        }
        Rule::Or(rules) => {
            for r in rules {
                if evaluate(r, sources)? {
                    return Ok(true);
                }
            }
            Ok(false)
        }
        Rule::Not(inner) => Ok(!evaluate(inner, sources)?),
        Rule::Condition(_) => Err(StatesError::runtime("a JSONata Condition outside a JSONata Choice state")),
        Rule::Compare { variable, op, operand } => {
            let value = variable.select(sources);
            if *op == Comparison::IsPresent {
                return Ok(value.is_some() == (operand_literal(operand) == Some(&Value::Bool(true))));
            }
            let value = value.ok_or_else(|| invalid_path(variable))?;
            let expected = match operand {
                Operand::Literal(v) => v.clone(),
                Operand::Path(p) => p.select(sources).ok_or_else(|| invalid_path(p))?,
            };
            Ok(compare(&value, *op, &expected))
        }
    }
}

fn operand_literal(operand: &Operand) -> Option<&Value> {
    match operand {
        Operand::Literal(v) => Some(v),
        Operand::Path(_) => None,
    }
}

fn numeric_order(a: &Value, b: &Value) -> Option<Ordering> {
    match (a.as_i64(), b.as_i64()) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        _ => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

fn timestamp_order(a: &Value, b: &Value) -> Option<Ordering> {
    Some(parse_timestamp(a.as_str()?)?.cmp(&parse_timestamp(b.as_str()?)?))
}

/// Comparisons of mismatched types are false, as on AWS.
fn compare(value: &Value, op: Comparison, expected: &Value) -> bool {
    use Comparison as C;
    let order = |f: fn(&Value, &Value) -> Option<Ordering>, want: &[Ordering]| {
        f(value, expected).is_some_and(|o| want.contains(&o))
    };
    let string_order = |a: &Value, b: &Value| Some(a.as_str()?.cmp(b.as_str()?));
    match op {
        C::StringEquals => order(string_order, &[Ordering::Equal]),
        C::StringLessThan => order(string_order, &[Ordering::Less]),
        C::StringGreaterThan => order(string_order, &[Ordering::Greater]),
        C::StringLessThanEquals => order(string_order, &[Ordering::Less, Ordering::Equal]),
        C::StringGreaterThanEquals => order(string_order, &[Ordering::Greater, Ordering::Equal]),
        C::StringMatches => match (value.as_str(), expected.as_str()) {
            (Some(text), Some(pattern)) => wildcard_match(pattern, text),
            _ => false,
        },
        C::NumericEquals => order(numeric_order, &[Ordering::Equal]),
        C::NumericLessThan => order(numeric_order, &[Ordering::Less]),
        C::NumericGreaterThan => order(numeric_order, &[Ordering::Greater]),
        C::NumericLessThanEquals => order(numeric_order, &[Ordering::Less, Ordering::Equal]),
        C::NumericGreaterThanEquals => order(numeric_order, &[Ordering::Greater, Ordering::Equal]),
        C::BooleanEquals => value.is_boolean() && value == expected,
        C::TimestampEquals => order(timestamp_order, &[Ordering::Equal]),
        C::TimestampLessThan => order(timestamp_order, &[Ordering::Less]),
        C::TimestampGreaterThan => order(timestamp_order, &[Ordering::Greater]),
        C::TimestampLessThanEquals => order(timestamp_order, &[Ordering::Less, Ordering::Equal]),
        C::TimestampGreaterThanEquals => order(timestamp_order, &[Ordering::Greater, Ordering::Equal]),
        C::IsNull => value.is_null() == (expected == &Value::Bool(true)),
        C::IsNumeric => value.is_number() == (expected == &Value::Bool(true)),
        C::IsString => value.is_string() == (expected == &Value::Bool(true)),
        C::IsBoolean => value.is_boolean() == (expected == &Value::Bool(true)),
        C::IsTimestamp => value.as_str().and_then(parse_timestamp).is_some() == (expected == &Value::Bool(true)),
        C::IsPresent => true,
    }
}

/// `StringMatches`: `*` matches any run of characters; `\*` and `\\` are literal.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    #[derive(Clone, Copy, PartialEq)]
    enum Token {
        Char(char),
        Star,
    }
    let mut tokens = Vec::new();
    let mut chars = pattern.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => tokens.push(Token::Char(chars.next().unwrap_or('\\'))),
            '*' => tokens.push(Token::Star),
            c => tokens.push(Token::Char(c)),
        }
    }
    let text: Vec<char> = text.chars().collect();
    // Greedy matching with backtracking to the last star: linear in practice.
    let (mut t, mut p) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        match tokens.get(p) {
            Some(Token::Char(c)) if *c == text[t] => {
                t += 1;
                p += 1;
            }
            Some(Token::Star) => {
                star = Some((p, t));
                p += 1;
            }
            _ => match star {
                Some((sp, st)) => {
                    p = sp + 1;
                    t = st + 1;
                    star = Some((sp, st + 1));
                }
                None => return false,
            },
        }
    }
    tokens[p..].iter().all(|tok| *tok == Token::Star)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::asl::parse_definition;
    use crate::path::TestSources;
    use serde_json::json;

    /// Evaluates the first choice rule of a one-Choice definition.
    fn holds(rule: Value, input: Value) -> Result<bool, StatesError> {
        let mut rule = rule;
        rule["Next"] = json!("T");
        // `limit` is assigned so that rules may read it (the values come from `TestSources`).
        let def = json!({"StartAt":"C","States":{"C":{"Type":"Choice","Choices":[rule],"Assign":{"limit":0}},
            "T":{"Type":"Succeed"}}});
        let machine = parse_definition(&def.to_string()).unwrap();
        let Some(crate::asl::StateKind::Choice { choices, .. }) = machine.state("C").map(|s| &s.kind) else {
            panic!("not a choice")
        };
        evaluate(&choices[0].rule, &TestSources::with_vars_in_input(input, json!({"Execution": {"Name": "n"}})))
    }

    #[test]
    fn string_numeric_boolean_timestamp() {
        assert!(holds(json!({"Variable":"$.s","StringEquals":"a"}), json!({"s":"a"})).unwrap());
        assert!(holds(json!({"Variable":"$.s","StringLessThan":"b"}), json!({"s":"a"})).unwrap());
        assert!(holds(json!({"Variable":"$.s","StringGreaterThanEquals":"a"}), json!({"s":"a"})).unwrap());
        assert!(
            !holds(json!({"Variable":"$.s","StringEquals":"1"}), json!({"s":1})).unwrap(),
            "type mismatch is false"
        );
        assert!(holds(json!({"Variable":"$.n","NumericEquals":2}), json!({"n":2.0})).unwrap());
        assert!(holds(json!({"Variable":"$.n","NumericLessThanEquals":2}), json!({"n":1})).unwrap());
        assert!(holds(json!({"Variable":"$.n","NumericGreaterThanPath":"$.m"}), json!({"n":3,"m":2})).unwrap());
        assert!(holds(json!({"Variable":"$.b","BooleanEquals":false}), json!({"b":false})).unwrap());
        assert!(
            holds(
                json!({"Variable":"$.t","TimestampLessThan":"2024-01-02T00:00:00Z"}),
                json!({"t":"2024-01-01T23:00:00-00:30"})
            )
            .unwrap()
        );
        assert!(
            holds(
                json!({"Variable":"$.t","TimestampEqualsPath":"$.u"}),
                json!({"t":"2024-01-01T01:00:00+01:00","u":"2024-01-01T00:00:00Z"})
            )
            .unwrap()
        );
        assert!(holds(json!({"Variable":"$$.Execution.Name","StringEquals":"n"}), json!({})).unwrap());
        assert!(
            holds(json!({"Variable":"$limit","NumericLessThanPath":"$.n"}), json!({"n": 5, "vars": {"limit": 3}}))
                .unwrap()
        );
    }

    #[test]
    fn type_tests_and_presence() {
        assert!(holds(json!({"Variable":"$.x","IsPresent":false}), json!({})).unwrap());
        assert!(holds(json!({"Variable":"$.x","IsNull":true}), json!({"x":null})).unwrap());
        assert!(holds(json!({"Variable":"$.x","IsNumeric":true}), json!({"x":1.5})).unwrap());
        assert!(holds(json!({"Variable":"$.x","IsString":false}), json!({"x":1})).unwrap());
        assert!(holds(json!({"Variable":"$.x","IsBoolean":true}), json!({"x":true})).unwrap());
        assert!(holds(json!({"Variable":"$.x","IsTimestamp":true}), json!({"x":"2024-01-01T00:00:00Z"})).unwrap());
        assert!(!holds(json!({"Variable":"$.x","IsTimestamp":true}), json!({"x":"yesterday"})).unwrap());
    }

    #[test]
    fn combinators() {
        let rule = json!({"And":[{"Variable":"$.a","NumericGreaterThan":1},{"Or":[{"Variable":"$.b","StringEquals":"x"},{"Not":{"Variable":"$.c","IsPresent":true}}]}]});
        assert!(holds(rule.clone(), json!({"a":2,"b":"y"})).unwrap());
        assert!(!holds(rule.clone(), json!({"a":2,"b":"y","c":1})).unwrap());
        assert!(!holds(rule, json!({"a":0})).unwrap(), "And stops at the first false");
    }

    #[test]
    fn a_missing_variable_is_a_runtime_error() {
        let err = holds(json!({"Variable":"$.missing","StringEquals":"a"}), json!({})).unwrap_err();
        assert_eq!(err.error, "States.Runtime");
        assert!(err.cause.contains("$.missing"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.csv", "incoming/a.csv"));
        assert!(wildcard_match("log-*-2024*", "log-x-2024-01"));
        assert!(!wildcard_match("*.csv", "a.txt"));
        assert!(wildcard_match("a\\*b", "a*b"));
        assert!(!wildcard_match("a\\*b", "axb"));
        assert!(wildcard_match("*", ""));
        assert!(wildcard_match("a*b*c", "aXbYbZc"));
        assert!(!wildcard_match("abc", "abcd"));
    }
}
