//! Choice rules, retriers and catchers, checked as `CreateStateMachine` checks them.

use serde_json::{Map, Value};

use super::validate::Validator;
use super::{
    COMPARISONS, Catcher, Choice, Comparison, Operand, QueryLanguage, Retrier, Rule, StateKind, parse_timestamp,
};
use crate::error::names;

impl Validator {
    pub(super) fn choice(&mut self, obj: &Map<String, Value>, at: &str) -> StateKind {
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, rule) in list.iter().enumerate() {
                    let rule_at = format!("{at}/Choices[{i}]");
                    let next = rule.get("Next").and_then(Value::as_str);
                    if next.is_none() {
                        self.schema("Each top-level choice rule needs a 'Next'", &format!("{rule_at}/Next"));
                    }
                    let parsed = match self.language {
                        QueryLanguage::JsonPath => self.rule(rule, &rule_at, true),
                        QueryLanguage::Jsonata => self.condition_rule(rule, &rule_at),
                    };
                    let assign = rule.get("Assign").and_then(|a| self.assign(a, &format!("{rule_at}/Assign")));
                    // `Output` on a rule exists in JSONata only (JSONPath rules refuse it above).
                    let output = match self.language {
                        QueryLanguage::Jsonata => {
                            rule.get("Output").map(|o| self.jsonata_template(o, &format!("{rule_at}/Output")))
                        }
                        QueryLanguage::JsonPath => None,
                    };
                    if let (Some(rule), Some(next)) = (parsed, next) {
                        choices.push(Choice { rule, next: next.to_owned(), assign, output });
                    }
                }
            }
            _ => self.schema("'Choices' must be a non-empty array", &format!("{at}/Choices")),
        }
        StateKind::Choice { choices, default: obj.get("Default").and_then(Value::as_str).map(str::to_owned) }
    }

    /// A JSONata choice rule: `Condition` (a boolean or an expression) and `Next`.
    fn condition_rule(&mut self, value: &Value, at: &str) -> Option<Rule> {
        let Some(obj) = value.as_object() else {
            self.schema("a choice rule must be an object", at);
            return None;
        };
        for key in obj.keys() {
            if !["Condition", "Next", "Comment", "Assign", "Output"].contains(&key.as_str()) {
                let why = if key == "Variable" || key == "And" || key == "Or" || key == "Not" {
                    format!("The field '{key}' is not supported in a state whose QueryLanguage is JSONata")
                } else {
                    format!("The field '{key}' is not supported in a choice rule")
                };
                self.schema(why, &format!("{at}/{key}"));
            }
        }
        match obj.get("Condition") {
            Some(c @ (Value::Bool(_) | Value::String(_))) => {
                Some(Rule::Condition(self.jsonata_template(c, &format!("{at}/Condition"))))
            }
            Some(other) => {
                self.schema(format!("'Condition' must be a boolean or a JSONata expression, got {other}"), at);
                None
            }
            None => {
                self.schema("A JSONata choice rule needs a 'Condition'", at);
                None
            }
        }
    }

    fn rule(&mut self, value: &Value, at: &str, top: bool) -> Option<Rule> {
        let Some(obj) = value.as_object() else {
            self.schema("a choice rule must be an object", at);
            return None;
        };
        for key in obj.keys() {
            let known = ["Variable", "And", "Or", "Not", "Comment"].contains(&key.as_str())
                || ((key == "Next" || key == "Assign") && top)
                || COMPARISONS.iter().any(|(n, _)| key == n || key.strip_suffix("Path") == Some(n));
            if !known {
                let why = if key == "Condition" || (key == "Output" && top) {
                    format!("The field '{key}' is not supported in a state whose QueryLanguage is JSONPath")
                } else {
                    format!("The field '{key}' is not supported in a choice rule")
                };
                self.schema(why, &format!("{at}/{key}"));
            }
        }
        if !top && obj.contains_key("Next") {
            self.schema("'Next' is only allowed on top-level choice rules", &format!("{at}/Next"));
        }
        for combinator in ["And", "Or"] {
            if let Some(list) = obj.get(combinator) {
                let Some(list) = list.as_array().filter(|l| !l.is_empty()) else {
                    self.schema(format!("'{combinator}' must be a non-empty array"), &format!("{at}/{combinator}"));
                    return None;
                };
                let rules: Vec<Rule> = list
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| self.rule(r, &format!("{at}/{combinator}[{i}]"), false))
                    .collect();
                return Some(if combinator == "And" { Rule::And(rules) } else { Rule::Or(rules) });
            }
        }
        if let Some(inner) = obj.get("Not") {
            return self.rule(inner, &format!("{at}/Not"), false).map(|r| Rule::Not(Box::new(r)));
        }
        let variable = match obj.get("Variable") {
            Some(raw) => self.query(raw, &format!("{at}/Variable"))?,
            None => {
                self.schema("A comparison needs a 'Variable' (or use And/Or/Not)", at);
                return None;
            }
        };
        let ops: Vec<(&String, &Value)> =
            obj.iter().filter(|(k, _)| !["Variable", "Next", "Comment", "Assign"].contains(&k.as_str())).collect();
        if ops.len() != 1 {
            self.schema("A choice rule needs exactly one comparison operator", at);
            return None;
        }
        let (key, operand_value) = ops[0];
        let (op, operand) = self.comparison(key, operand_value, &format!("{at}/{key}"))?;
        Some(Rule::Compare { variable, op, operand })
    }

    fn comparison(&mut self, key: &str, operand: &Value, at: &str) -> Option<(Comparison, Operand)> {
        if let Some((_, c)) = COMPARISONS.iter().find(|(n, _)| *n == key) {
            if !operand_fits(*c, operand) {
                self.schema(format!("The value of '{key}' has the wrong type: {operand}"), at);
                return None;
            }
            return Some((*c, Operand::Literal(operand.clone())));
        }
        let c = COMPARISONS.iter().find(|(n, _)| key.strip_suffix("Path") == Some(n)).map(|(_, c)| *c)?;
        if c.is_type_test() {
            self.schema(format!("'{key}' is not an operator"), at);
            return None;
        }
        Some((c, Operand::Path(self.query(operand, at)?)))
    }

    pub(super) fn retriers(&mut self, value: Option<&Value>, at: &str) -> Vec<Retrier> {
        let allowed =
            ["ErrorEquals", "IntervalSeconds", "MaxAttempts", "BackoffRate", "MaxDelaySeconds", "JitterStrategy"];
        let mut out = Vec::new();
        for (r_at, obj, last) in self.rule_objects(value, at, "Retry", &allowed) {
            let error_equals = self.error_equals(obj, &r_at, last);
            let interval_seconds = match obj.get("IntervalSeconds") {
                Some(v) => self.positive_int(v, &format!("{r_at}/IntervalSeconds")).unwrap_or(1) as f64,
                None => 1.0,
            };
            let max_attempts = match obj.get("MaxAttempts") {
                Some(v) => self.non_negative_int(v, &format!("{r_at}/MaxAttempts")).unwrap_or(3).min(99_999_999) as u32,
                None => 3,
            };
            let backoff_rate = match obj.get("BackoffRate").map(|v| (v, v.as_f64())) {
                Some((_, Some(rate))) if rate >= 1.0 => rate,
                Some((v, _)) => {
                    self.schema(
                        format!("'BackoffRate' must be a number >= 1.0, got {v}"),
                        &format!("{r_at}/BackoffRate"),
                    );
                    2.0
                }
                None => 2.0,
            };
            let max_delay_seconds = obj
                .get("MaxDelaySeconds")
                .and_then(|v| self.positive_int(v, &format!("{r_at}/MaxDelaySeconds")))
                .map(|n| n as f64);
            let full_jitter = match obj.get("JitterStrategy").and_then(Value::as_str) {
                None | Some("NONE") => false,
                Some("FULL") => true,
                Some(other) => {
                    self.schema(
                        format!("'JitterStrategy' must be FULL or NONE, got '{other}'"),
                        &format!("{r_at}/JitterStrategy"),
                    );
                    false
                }
            };
            out.push(Retrier {
                error_equals,
                interval_seconds,
                max_attempts,
                backoff_rate,
                max_delay_seconds,
                full_jitter,
            });
        }
        out
    }

    pub(super) fn catchers(&mut self, value: Option<&Value>, at: &str) -> Vec<Catcher> {
        let allowed: &[&str] = match self.language {
            QueryLanguage::JsonPath => &["ErrorEquals", "Next", "ResultPath", "Assign"],
            QueryLanguage::Jsonata => &["ErrorEquals", "Next", "Output", "Assign"],
        };
        let mut out = Vec::new();
        for (c_at, obj, last) in self.rule_objects(value, at, "Catch", allowed) {
            let error_equals = self.error_equals(obj, &c_at, last);
            let Some(next) = obj.get("Next").and_then(Value::as_str) else {
                self.schema("A catcher needs a 'Next'", &format!("{c_at}/Next"));
                continue;
            };
            let result_path = self.result_target(obj.get("ResultPath"), &format!("{c_at}/ResultPath"));
            let output = obj.get("Output").map(|o| self.jsonata_template(o, &format!("{c_at}/Output")));
            let assign = obj.get("Assign").and_then(|a| self.assign(a, &format!("{c_at}/Assign")));
            out.push(Catcher { error_equals, next: next.to_owned(), result_path, output, assign });
        }
        out
    }

    fn error_equals(&mut self, obj: &Map<String, Value>, at: &str, last: bool) -> Vec<String> {
        let list: Vec<String> = match obj.get("ErrorEquals").and_then(Value::as_array) {
            Some(l) if !l.is_empty() => l.iter().filter_map(Value::as_str).map(str::to_owned).collect(),
            _ => {
                self.schema("'ErrorEquals' must be a non-empty array of strings", &format!("{at}/ErrorEquals"));
                return Vec::new();
            }
        };
        if list.iter().any(|e| e == names::ALL) {
            if list.len() > 1 {
                self.schema("'States.ALL' must appear alone in 'ErrorEquals'", &format!("{at}/ErrorEquals"));
            }
            if !last {
                self.schema("A rule with 'States.ALL' must be the last one", &format!("{at}/ErrorEquals"));
            }
        }
        list
    }

    /// The objects of a `Retry` or `Catch` array, each with its place and whether it is
    /// the last; shapes and unknown fields are reported on the way.
    fn rule_objects<'v>(
        &mut self,
        value: Option<&'v Value>,
        at: &str,
        what: &str,
        allowed: &[&str],
    ) -> Vec<(String, &'v Map<String, Value>, bool)> {
        let Some(value) = value else { return Vec::new() };
        let Some(list) = value.as_array() else {
            self.schema(format!("'{what}' must be an array"), at);
            return Vec::new();
        };
        let mut out = Vec::new();
        for (i, rule) in list.iter().enumerate() {
            let rule_at = format!("{at}[{i}]");
            let Some(obj) = rule.as_object() else {
                self.schema(format!("each '{what}' rule must be an object"), &rule_at);
                continue;
            };
            for key in obj.keys() {
                if !allowed.contains(&key.as_str()) && key != "Comment" {
                    self.schema(
                        format!("The field '{key}' is not supported in a '{what}' rule"),
                        &format!("{rule_at}/{key}"),
                    );
                }
            }
            out.push((rule_at, obj, i + 1 == list.len()));
        }
        out
    }
}

/// Whether a comparison's literal operand has the type the operator compares.
fn operand_fits(op: Comparison, operand: &Value) -> bool {
    use Comparison as C;
    match op {
        C::StringEquals
        | C::StringLessThan
        | C::StringGreaterThan
        | C::StringLessThanEquals
        | C::StringGreaterThanEquals
        | C::StringMatches => operand.is_string(),
        C::TimestampEquals
        | C::TimestampLessThan
        | C::TimestampGreaterThan
        | C::TimestampLessThanEquals
        | C::TimestampGreaterThanEquals => operand.as_str().and_then(parse_timestamp).is_some(),
        C::NumericEquals
        | C::NumericLessThan
        | C::NumericGreaterThan
        | C::NumericLessThanEquals
        | C::NumericGreaterThanEquals => operand.is_number(),
        _ => operand.is_boolean(),
    }
}
