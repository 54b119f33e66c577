//! The Amazon States Language: a definition parsed into a typed state machine and
//! validated as Step Functions validates it on `CreateStateMachine`.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use crate::error::names;
use crate::intrinsics::{self, Call};
use crate::path::{JsonPath, ReferencePath};

#[derive(Debug, Clone)]
pub struct StateMachine {
    pub comment: Option<String>,
    pub start_at: String,
    /// In definition order (for graphs and listings).
    pub states: Vec<(String, State)>,
    index: HashMap<String, usize>,
    pub timeout_seconds: Option<u64>,
}

impl StateMachine {
    pub fn state(&self, name: &str) -> Option<&State> {
        self.entry(name).map(|(_, state)| state)
    }

    /// A state with its name as the machine holds it.
    pub fn entry(&self, name: &str) -> Option<(&str, &State)> {
        self.index.get(name).and_then(|i| self.states.get(*i)).map(|(n, s)| (n.as_str(), s))
    }
}

#[derive(Debug, Clone)]
pub struct State {
    pub comment: Option<String>,
    pub input_path: Selector,
    pub output_path: Selector,
    pub kind: StateKind,
    pub next: Option<String>,
}

/// `InputPath` / `OutputPath` / `ItemsPath`: a path, or `null` meaning `{}`.
#[derive(Debug, Clone)]
pub enum Selector {
    Path(JsonPath),
    Discard,
}

impl Selector {
    fn root() -> Self {
        Selector::Path(JsonPath::parse("$").unwrap_or_else(|_| unreachable!("'$' is a valid path")))
    }
}

/// `ResultPath`: where a state's result goes in its input, or `null` to drop it.
#[derive(Debug, Clone)]
pub enum ResultTarget {
    Path(ReferencePath),
    Discard,
}

/// A payload template (`Parameters`, `ItemSelector`, `ResultSelector`).
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    Path { field: String, path: JsonPath },
    ContextPath { field: String, path: JsonPath },
    Intrinsic { field: String, call: Call },
}

#[derive(Debug, Clone)]
pub struct Retrier {
    pub error_equals: Vec<String>,
    pub interval_seconds: f64,
    pub max_attempts: u32,
    pub backoff_rate: f64,
    pub max_delay_seconds: Option<f64>,
    pub full_jitter: bool,
}

#[derive(Debug, Clone)]
pub struct Catcher {
    pub error_equals: Vec<String>,
    pub next: String,
    pub result_path: ResultTarget,
}

/// The handling common to Task, Parallel and Map.
#[derive(Debug, Clone)]
pub struct Handling {
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultTarget,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// A number given in the definition or read from the input at run time.
#[derive(Debug, Clone)]
pub enum Amount {
    Fixed(f64),
    FromPath(JsonPath),
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    Timestamp(DateTime<Utc>),
    SecondsPath(JsonPath),
    TimestampPath(JsonPath),
}

#[derive(Debug, Clone)]
pub enum Text {
    Fixed(String),
    Path(JsonPath),
    Intrinsic(Call),
}

#[derive(Debug, Clone)]
pub enum StateKind {
    Pass { result: Option<Value>, parameters: Option<Template>, result_path: ResultTarget },
    Task { resource: String, handling: Handling, timeout: Option<Amount>, heartbeat: Option<Amount> },
    Choice { choices: Vec<(Rule, String)>, default: Option<String> },
    Wait(WaitFor),
    Succeed,
    Fail { error: Option<Text>, cause: Option<Text> },
    Parallel { branches: Vec<StateMachine>, handling: Handling },
    Map(Box<MapState>),
}

#[derive(Debug, Clone)]
pub struct MapState {
    pub processor: StateMachine,
    pub items_path: Selector,
    pub item_selector: Option<Template>,
    pub max_concurrency: Option<Amount>,
    pub tolerated_failure_count: Option<Amount>,
    pub tolerated_failure_percentage: Option<Amount>,
    pub handling: Handling,
}

impl StateKind {
    pub fn type_name(&self) -> &'static str {
        match self {
            StateKind::Pass { .. } => "Pass",
            StateKind::Task { .. } => "Task",
            StateKind::Choice { .. } => "Choice",
            StateKind::Wait(_) => "Wait",
            StateKind::Succeed => "Succeed",
            StateKind::Fail { .. } => "Fail",
            StateKind::Parallel { .. } => "Parallel",
            StateKind::Map(_) => "Map",
        }
    }
}

// ---------------------------------------------------------------- choice rules

#[derive(Debug, Clone)]
pub enum Rule {
    And(Vec<Rule>),
    Or(Vec<Rule>),
    Not(Box<Rule>),
    Compare { variable: VariablePath, op: Comparison, operand: Operand },
}

/// A choice `Variable`: on the input (`$.x`) or on the context object (`$$.x`).
#[derive(Debug, Clone)]
pub struct VariablePath {
    pub path: JsonPath,
    pub context: bool,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(VariablePath),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    StringEquals,
    StringLessThan,
    StringGreaterThan,
    StringLessThanEquals,
    StringGreaterThanEquals,
    StringMatches,
    NumericEquals,
    NumericLessThan,
    NumericGreaterThan,
    NumericLessThanEquals,
    NumericGreaterThanEquals,
    BooleanEquals,
    TimestampEquals,
    TimestampLessThan,
    TimestampGreaterThan,
    TimestampLessThanEquals,
    TimestampGreaterThanEquals,
    IsNull,
    IsPresent,
    IsNumeric,
    IsString,
    IsBoolean,
    IsTimestamp,
}

const COMPARISONS: &[(&str, Comparison)] = &[
    ("StringEquals", Comparison::StringEquals),
    ("StringLessThan", Comparison::StringLessThan),
    ("StringGreaterThan", Comparison::StringGreaterThan),
    ("StringLessThanEquals", Comparison::StringLessThanEquals),
    ("StringGreaterThanEquals", Comparison::StringGreaterThanEquals),
    ("StringMatches", Comparison::StringMatches),
    ("NumericEquals", Comparison::NumericEquals),
    ("NumericLessThan", Comparison::NumericLessThan),
    ("NumericGreaterThan", Comparison::NumericGreaterThan),
    ("NumericLessThanEquals", Comparison::NumericLessThanEquals),
    ("NumericGreaterThanEquals", Comparison::NumericGreaterThanEquals),
    ("BooleanEquals", Comparison::BooleanEquals),
    ("TimestampEquals", Comparison::TimestampEquals),
    ("TimestampLessThan", Comparison::TimestampLessThan),
    ("TimestampGreaterThan", Comparison::TimestampGreaterThan),
    ("TimestampLessThanEquals", Comparison::TimestampLessThanEquals),
    ("TimestampGreaterThanEquals", Comparison::TimestampGreaterThanEquals),
    ("IsNull", Comparison::IsNull),
    ("IsPresent", Comparison::IsPresent),
    ("IsNumeric", Comparison::IsNumeric),
    ("IsString", Comparison::IsString),
    ("IsBoolean", Comparison::IsBoolean),
    ("IsTimestamp", Comparison::IsTimestamp),
];

impl Comparison {
    fn is_type_test(self) -> bool {
        matches!(
            self,
            Comparison::IsNull
                | Comparison::IsPresent
                | Comparison::IsNumeric
                | Comparison::IsString
                | Comparison::IsBoolean
                | Comparison::IsTimestamp
        )
    }
}

/// Parses an RFC 3339 timestamp as the States Language wants it: upper-case `T`, and
/// `Z` (not `z`) when there is no numeric offset.
pub fn parse_timestamp(raw: &str) -> Option<DateTime<Utc>> {
    if raw.len() < 20 || raw.as_bytes().get(10) != Some(&b'T') || raw.ends_with('z') {
        return None;
    }
    DateTime::parse_from_rfc3339(raw).ok().map(|t| t.with_timezone(&Utc))
}

// ---------------------------------------------------------------- parsing and validation

/// Why a definition was refused, in the words `InvalidDefinition` uses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefinitionErrors(pub Vec<String>);

impl std::fmt::Display for DefinitionErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let quoted: Vec<String> = self.0.iter().map(|e| format!("'{e}'")).collect();
        write!(f, "Invalid State Machine Definition: {}", quoted.join(", "))
    }
}

impl std::error::Error for DefinitionErrors {}

/// Parses and validates a definition (JSON text).
pub fn parse_definition(text: &str) -> Result<StateMachine, DefinitionErrors> {
    let value: Value =
        serde_json::from_str(text).map_err(|e| DefinitionErrors(vec![format!("INVALID_JSON_DESCRIPTION: {e}")]))?;
    let mut v = Validator { errors: Vec::new() };
    let machine = v.machine(&value, "", true);
    match machine {
        Some(m) if v.errors.is_empty() => Ok(m),
        _ => Err(DefinitionErrors(if v.errors.is_empty() {
            vec!["SCHEMA_VALIDATION_FAILED: invalid definition".into()]
        } else {
            v.errors
        })),
    }
}

struct Validator {
    errors: Vec<String>,
}

const STATE_FIELDS: &[(&str, &[&str])] = &[
    ("Pass", &["Next", "End", "InputPath", "OutputPath", "Parameters", "Result", "ResultPath"]),
    (
        "Task",
        &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Resource",
            "TimeoutSeconds",
            "TimeoutSecondsPath",
            "HeartbeatSeconds",
            "HeartbeatSecondsPath",
        ],
    ),
    ("Choice", &["Choices", "Default", "InputPath", "OutputPath"]),
    ("Wait", &["Next", "End", "InputPath", "OutputPath", "Seconds", "Timestamp", "SecondsPath", "TimestampPath"]),
    ("Succeed", &["InputPath", "OutputPath"]),
    ("Fail", &["Error", "ErrorPath", "Cause", "CausePath"]),
    (
        "Parallel",
        &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Branches",
        ],
    ),
    (
        "Map",
        &[
            "Next",
            "End",
            "InputPath",
            "OutputPath",
            "Parameters",
            "ItemSelector",
            "ItemsPath",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "MaxConcurrencyPath",
            "ToleratedFailureCount",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentage",
            "ToleratedFailurePercentagePath",
            "ResultSelector",
            "ResultPath",
            "Retry",
            "Catch",
            "Label",
        ],
    ),
];

impl Validator {
    fn err(&mut self, code: &str, message: impl std::fmt::Display, at: &str) {
        self.errors.push(format!("{code}: {message} at {}", if at.is_empty() { "/" } else { at }));
    }

    fn schema(&mut self, message: impl std::fmt::Display, at: &str) {
        self.err("SCHEMA_VALIDATION_FAILED", message, at);
    }

    fn machine(&mut self, value: &Value, at: &str, top: bool) -> Option<StateMachine> {
        let Some(obj) = value.as_object() else {
            self.schema("a state machine must be an object", at);
            return None;
        };
        let allowed: &[&str] = if top {
            &["Comment", "StartAt", "States", "TimeoutSeconds", "Version", "QueryLanguage"]
        } else {
            &["Comment", "StartAt", "States", "ProcessorConfig"]
        };
        for key in obj.keys() {
            if !allowed.contains(&key.as_str()) {
                self.schema(format!("The field '{key}' is not supported by Step Functions"), &format!("{at}/{key}"));
            }
        }
        if let Some(lang) = obj.get("QueryLanguage").and_then(Value::as_str)
            && lang != "JSONPath"
        {
            self.schema(
                format!("QueryLanguage '{lang}' is not supported by sfn-local (only JSONPath)"),
                &format!("{at}/QueryLanguage"),
            );
        }
        let start_at = match obj.get("StartAt").and_then(Value::as_str) {
            Some(s) => s.to_owned(),
            None => {
                self.schema("The field 'StartAt' is required and must be a string", &format!("{at}/StartAt"));
                String::new()
            }
        };
        let timeout_seconds = match obj.get("TimeoutSeconds") {
            Some(t) if top => self.positive_int(t, &format!("{at}/TimeoutSeconds")),
            _ => None,
        };
        let Some(states_obj) = obj.get("States").and_then(Value::as_object) else {
            self.schema("The field 'States' is required and must be an object", &format!("{at}/States"));
            return None;
        };
        if states_obj.is_empty() {
            self.schema("'States' must have at least one state", &format!("{at}/States"));
        }
        let mut states = Vec::with_capacity(states_obj.len());
        for (name, body) in states_obj {
            if name.is_empty() || name.chars().count() > 80 {
                self.schema(format!("State name '{name}' must be 1-80 characters"), &format!("{at}/States/{name}"));
            }
            if let Some(state) = self.state(body, &format!("{at}/States/{name}")) {
                states.push((name.clone(), state));
            }
        }
        let index: HashMap<String, usize> = states.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        if !start_at.is_empty() && !states_obj.contains_key(&start_at) {
            self.err(
                "MISSING_TRANSITION_TARGET",
                format!("Missing 'Next' target: {start_at}"),
                &format!("{at}/StartAt"),
            );
        }
        let machine = StateMachine {
            comment: obj.get("Comment").and_then(Value::as_str).map(str::to_owned),
            start_at,
            states,
            index,
            timeout_seconds,
        };
        self.check_transitions(&machine, states_obj, at);
        Some(machine)
    }

    fn check_transitions(&mut self, machine: &StateMachine, states_obj: &Map<String, Value>, at: &str) {
        for (name, state) in &machine.states {
            for (target, field) in targets(state) {
                if !states_obj.contains_key(target) {
                    self.err(
                        "MISSING_TRANSITION_TARGET",
                        format!("Missing 'Next' target: {target}"),
                        &format!("{at}/States/{name}/{field}"),
                    );
                }
            }
        }
        // Every state must be reachable from StartAt.
        let mut seen = HashSet::new();
        let mut stack = vec![machine.start_at.as_str()];
        while let Some(name) = stack.pop() {
            if !seen.insert(name) {
                continue;
            }
            if let Some(state) = machine.state(name) {
                stack.extend(targets(state).into_iter().map(|(t, _)| t));
            }
        }
        for (name, _) in &machine.states {
            if !seen.contains(name.as_str()) {
                self.err(
                    "UNREACHABLE_STATE",
                    format!("State '{name}' is not reachable"),
                    &format!("{at}/States/{name}"),
                );
            }
        }
    }

    fn state(&mut self, value: &Value, at: &str) -> Option<State> {
        let Some(obj) = value.as_object() else {
            self.schema("a state must be an object", at);
            return None;
        };
        let Some(type_name) = obj.get("Type").and_then(Value::as_str) else {
            self.schema("The field 'Type' is required", &format!("{at}/Type"));
            return None;
        };
        let Some((_, fields)) = STATE_FIELDS.iter().find(|(t, _)| *t == type_name) else {
            self.schema(format!("'{type_name}' is not a valid state type"), &format!("{at}/Type"));
            return None;
        };
        for key in obj.keys() {
            if key != "Type" && key != "Comment" && !fields.contains(&key.as_str()) {
                self.schema(
                    format!("The field '{key}' is not supported by Step Functions for a {type_name} state"),
                    &format!("{at}/{key}"),
                );
            }
        }
        // Transitions: Next xor End for the states that move on.
        let next = obj.get("Next").and_then(Value::as_str).map(str::to_owned);
        let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
        if fields.contains(&"Next") {
            match (&next, end) {
                (Some(_), true) => self.schema("A state may not have both 'Next' and 'End'", at),
                (None, false) => self.err("MISSING_END_STATE", "A state must have 'Next' or 'End': true", at),
                _ => {}
            }
            if obj.get("Next").is_some_and(|n| !n.is_string()) {
                self.schema("'Next' must be a string", &format!("{at}/Next"));
            }
        }
        let input_path = self.selector(obj.get("InputPath"), &format!("{at}/InputPath"));
        let output_path = self.selector(obj.get("OutputPath"), &format!("{at}/OutputPath"));
        let kind = match type_name {
            "Pass" => StateKind::Pass {
                result: obj.get("Result").cloned(),
                parameters: obj.get("Parameters").map(|p| self.template(p, &format!("{at}/Parameters"))),
                result_path: self.result_target(obj.get("ResultPath"), &format!("{at}/ResultPath")),
            },
            "Task" => {
                let resource = match obj.get("Resource").and_then(Value::as_str) {
                    Some(r) if r.starts_with("arn:") => r.to_owned(),
                    Some(r) => {
                        self.schema(format!("'{r}' is not a valid resource ARN"), &format!("{at}/Resource"));
                        r.to_owned()
                    }
                    None => {
                        self.schema("The field 'Resource' is required", &format!("{at}/Resource"));
                        String::new()
                    }
                };
                let timeout = self.amount(obj, "TimeoutSeconds", at);
                let heartbeat = self.amount(obj, "HeartbeatSeconds", at);
                if let (Some(Amount::Fixed(t)), Some(Amount::Fixed(h))) = (&timeout, &heartbeat)
                    && h >= t
                {
                    self.schema(
                        "'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'",
                        &format!("{at}/HeartbeatSeconds"),
                    );
                }
                StateKind::Task { resource, handling: self.handling(obj, at), timeout, heartbeat }
            }
            "Choice" => self.choice(obj, at),
            "Wait" => self.wait(obj, at)?,
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail { error: self.text(obj, "Error", at), cause: self.text(obj, "Cause", at) },
            "Parallel" => {
                let branches = match obj.get("Branches").and_then(Value::as_array) {
                    Some(list) if !list.is_empty() => list
                        .iter()
                        .enumerate()
                        .filter_map(|(i, b)| self.machine(b, &format!("{at}/Branches[{i}]"), false))
                        .collect(),
                    _ => {
                        self.schema("'Branches' must be a non-empty array", &format!("{at}/Branches"));
                        Vec::new()
                    }
                };
                StateKind::Parallel { branches, handling: self.handling(obj, at) }
            }
            "Map" => self.map(obj, at)?,
            _ => return None,
        };
        Some(State {
            comment: obj.get("Comment").and_then(Value::as_str).map(str::to_owned),
            input_path,
            output_path,
            kind,
            next,
        })
    }

    fn choice(&mut self, obj: &Map<String, Value>, at: &str) -> StateKind {
        let mut choices = Vec::new();
        match obj.get("Choices").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => {
                for (i, rule) in list.iter().enumerate() {
                    let rule_at = format!("{at}/Choices[{i}]");
                    let next = rule.get("Next").and_then(Value::as_str);
                    if next.is_none() {
                        self.schema("Each top-level choice rule needs a 'Next'", &format!("{rule_at}/Next"));
                    }
                    if let (Some(parsed), Some(next)) = (self.rule(rule, &rule_at, true), next) {
                        choices.push((parsed, next.to_owned()));
                    }
                }
            }
            _ => self.schema("'Choices' must be a non-empty array", &format!("{at}/Choices")),
        }
        StateKind::Choice { choices, default: obj.get("Default").and_then(Value::as_str).map(str::to_owned) }
    }

    fn rule(&mut self, value: &Value, at: &str, top: bool) -> Option<Rule> {
        let Some(obj) = value.as_object() else {
            self.schema("a choice rule must be an object", at);
            return None;
        };
        for key in obj.keys() {
            let known = key == "Variable"
                || key == "And"
                || key == "Or"
                || key == "Not"
                || key == "Comment"
                || (key == "Next" && top)
                || COMPARISONS.iter().any(|(n, _)| key == n || key.strip_suffix("Path") == Some(n));
            if !known {
                self.schema(format!("The field '{key}' is not supported in a choice rule"), &format!("{at}/{key}"));
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
        let variable = match obj.get("Variable").and_then(Value::as_str) {
            Some(raw) => self.variable_path(raw, &format!("{at}/Variable"))?,
            None => {
                self.schema("A comparison needs a 'Variable' (or use And/Or/Not)", at);
                return None;
            }
        };
        let ops: Vec<(&String, &Value)> =
            obj.iter().filter(|(k, _)| *k != "Variable" && *k != "Next" && *k != "Comment").collect();
        if ops.len() != 1 {
            self.schema("A choice rule needs exactly one comparison operator", at);
            return None;
        }
        let (key, operand_value) = ops[0];
        let (base, is_path) = match COMPARISONS.iter().find(|(n, _)| n == key) {
            Some((_, c)) => (*c, false),
            None => {
                let c = COMPARISONS.iter().find(|(n, _)| key.strip_suffix("Path") == Some(n)).map(|(_, c)| *c)?;
                if c.is_type_test() {
                    self.schema(format!("'{key}' is not an operator"), &format!("{at}/{key}"));
                    return None;
                }
                (c, true)
            }
        };
        let op_at = format!("{at}/{key}");
        let operand = if is_path {
            let raw = operand_value.as_str().unwrap_or_default();
            Operand::Path(self.variable_path(raw, &op_at)?)
        } else {
            let ok = match base {
                Comparison::StringEquals
                | Comparison::StringLessThan
                | Comparison::StringGreaterThan
                | Comparison::StringLessThanEquals
                | Comparison::StringGreaterThanEquals
                | Comparison::StringMatches => operand_value.is_string(),
                Comparison::TimestampEquals
                | Comparison::TimestampLessThan
                | Comparison::TimestampGreaterThan
                | Comparison::TimestampLessThanEquals
                | Comparison::TimestampGreaterThanEquals => operand_value.as_str().and_then(parse_timestamp).is_some(),
                Comparison::NumericEquals
                | Comparison::NumericLessThan
                | Comparison::NumericGreaterThan
                | Comparison::NumericLessThanEquals
                | Comparison::NumericGreaterThanEquals => operand_value.is_number(),
                _ => operand_value.is_boolean(),
            };
            if !ok {
                self.schema(format!("The value of '{key}' has the wrong type: {operand_value}"), &op_at);
                return None;
            }
            Operand::Literal(operand_value.clone())
        };
        Some(Rule::Compare { variable, op: base, operand })
    }

    fn variable_path(&mut self, raw: &str, at: &str) -> Option<VariablePath> {
        let (context, path) = match raw.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None => (false, raw.to_owned()),
        };
        match JsonPath::parse(&path) {
            Ok(path) => Some(VariablePath { path, context }),
            Err(e) => {
                self.schema(e, at);
                None
            }
        }
    }

    fn wait(&mut self, obj: &Map<String, Value>, at: &str) -> Option<StateKind> {
        let given: Vec<&str> = ["Seconds", "Timestamp", "SecondsPath", "TimestampPath"]
            .into_iter()
            .filter(|k| obj.contains_key(*k))
            .collect();
        if given.len() != 1 {
            self.schema("A Wait state needs exactly one of 'Seconds', 'Timestamp', 'SecondsPath', 'TimestampPath'", at);
            return None;
        }
        let field = given[0];
        let value = &obj[field];
        let field_at = format!("{at}/{field}");
        let wait = match field {
            "Seconds" => WaitFor::Seconds(self.non_negative_int(value, &field_at)?),
            "Timestamp" => match value.as_str().and_then(parse_timestamp) {
                Some(t) => WaitFor::Timestamp(t),
                None => {
                    self.schema(format!("{value} is not an RFC 3339 timestamp (upper-case T and Z)"), &field_at);
                    return None;
                }
            },
            _ => {
                let path = self.path(value, &field_at)?;
                if field == "SecondsPath" { WaitFor::SecondsPath(path) } else { WaitFor::TimestampPath(path) }
            }
        };
        Some(StateKind::Wait(wait))
    }

    fn map(&mut self, obj: &Map<String, Value>, at: &str) -> Option<StateKind> {
        let (processor_value, processor_field) = match (obj.get("ItemProcessor"), obj.get("Iterator")) {
            (Some(p), None) => (p, "ItemProcessor"),
            (None, Some(p)) => (p, "Iterator"),
            _ => {
                self.schema("A Map state needs exactly one of 'ItemProcessor' or 'Iterator'", at);
                return None;
            }
        };
        if let Some(mode) = processor_value.pointer("/ProcessorConfig/Mode").and_then(Value::as_str)
            && mode != "INLINE"
            && mode != "DISTRIBUTED"
        {
            self.schema(format!("'{mode}' is not a Map mode"), &format!("{at}/{processor_field}/ProcessorConfig/Mode"));
        }
        let processor = self.machine(processor_value, &format!("{at}/{processor_field}"), false)?;
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.schema("A Map state may not have both 'ItemSelector' and 'Parameters'", at);
        }
        let item_selector = obj
            .get("ItemSelector")
            .map(|t| self.template(t, &format!("{at}/ItemSelector")))
            .or_else(|| obj.get("Parameters").map(|t| self.template(t, &format!("{at}/Parameters"))));
        let mut handling = self.handling(obj, at);
        // In a Map, `Parameters` is the legacy name of `ItemSelector`, not a state-level template.
        handling.parameters = None;
        let items_path = self.selector(obj.get("ItemsPath"), &format!("{at}/ItemsPath"));
        let tolerated_failure_percentage = self.amount(obj, "ToleratedFailurePercentage", at);
        if let Some(Amount::Fixed(p)) = tolerated_failure_percentage
            && !(0.0..=100.0).contains(&p)
        {
            self.schema(
                "'ToleratedFailurePercentage' must be between 0 and 100",
                &format!("{at}/ToleratedFailurePercentage"),
            );
        }
        Some(StateKind::Map(Box::new(MapState {
            processor,
            items_path,
            item_selector,
            max_concurrency: self.amount(obj, "MaxConcurrency", at),
            tolerated_failure_count: self.amount(obj, "ToleratedFailureCount", at),
            tolerated_failure_percentage,
            handling,
        })))
    }

    fn handling(&mut self, obj: &Map<String, Value>, at: &str) -> Handling {
        Handling {
            parameters: obj.get("Parameters").map(|p| self.template(p, &format!("{at}/Parameters"))),
            result_selector: obj.get("ResultSelector").map(|p| self.template(p, &format!("{at}/ResultSelector"))),
            result_path: self.result_target(obj.get("ResultPath"), &format!("{at}/ResultPath")),
            retry: self.retriers(obj.get("Retry"), &format!("{at}/Retry")),
            catch: self.catchers(obj.get("Catch"), &format!("{at}/Catch")),
        }
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

    fn retriers(&mut self, value: Option<&Value>, at: &str) -> Vec<Retrier> {
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

    fn catchers(&mut self, value: Option<&Value>, at: &str) -> Vec<Catcher> {
        let mut out = Vec::new();
        for (c_at, obj, last) in self.rule_objects(value, at, "Catch", &["ErrorEquals", "Next", "ResultPath"]) {
            let error_equals = self.error_equals(obj, &c_at, last);
            let Some(next) = obj.get("Next").and_then(Value::as_str) else {
                self.schema("A catcher needs a 'Next'", &format!("{c_at}/Next"));
                continue;
            };
            let result_path = self.result_target(obj.get("ResultPath"), &format!("{c_at}/ResultPath"));
            out.push(Catcher { error_equals, next: next.to_owned(), result_path });
        }
        out
    }

    fn amount(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Amount> {
        let path_field = format!("{field}Path");
        match (obj.get(field), obj.get(&path_field)) {
            (Some(_), Some(_)) => {
                self.schema(format!("'{field}' and '{path_field}' are exclusive"), at);
                None
            }
            (Some(v), None) => {
                let n = v.as_f64().filter(|n| *n >= 0.0);
                if n.is_none() {
                    self.schema(format!("'{field}' must be a non-negative number, got {v}"), &format!("{at}/{field}"));
                }
                if field.ends_with("Seconds") && n == Some(0.0) {
                    self.schema(format!("'{field}' must be positive"), &format!("{at}/{field}"));
                }
                n.map(Amount::Fixed)
            }
            (None, Some(p)) => self.path(p, &format!("{at}/{path_field}")).map(Amount::FromPath),
            (None, None) => None,
        }
    }

    fn text(&mut self, obj: &Map<String, Value>, field: &str, at: &str) -> Option<Text> {
        let path_field = format!("{field}Path");
        match (obj.get(field), obj.get(&path_field)) {
            (Some(_), Some(_)) => {
                self.schema(format!("'{field}' and '{path_field}' are exclusive"), at);
                None
            }
            (Some(Value::String(s)), None) => Some(Text::Fixed(s.clone())),
            (Some(v), None) => {
                self.schema(format!("'{field}' must be a string, got {v}"), &format!("{at}/{field}"));
                None
            }
            (None, Some(Value::String(raw))) if intrinsics::looks_like_call(raw) => match intrinsics::parse(raw) {
                Ok(call) => Some(Text::Intrinsic(call)),
                Err(e) => {
                    self.schema(e, &format!("{at}/{path_field}"));
                    None
                }
            },
            (None, Some(p)) => self.path(p, &format!("{at}/{path_field}")).map(Text::Path),
            (None, None) => None,
        }
    }

    fn positive_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        match v.as_u64() {
            Some(n) if n > 0 => Some(n),
            _ => {
                self.schema(format!("expected a positive integer, got {v}"), at);
                None
            }
        }
    }

    fn non_negative_int(&mut self, v: &Value, at: &str) -> Option<u64> {
        let n = v.as_u64();
        if n.is_none() {
            self.schema(format!("expected a non-negative integer, got {v}"), at);
        }
        n
    }

    fn path(&mut self, v: &Value, at: &str) -> Option<JsonPath> {
        match v.as_str().map(JsonPath::parse) {
            Some(Ok(p)) => Some(p),
            Some(Err(e)) => {
                self.schema(e, at);
                None
            }
            None => {
                self.schema(format!("expected a JSONPath string, got {v}"), at);
                None
            }
        }
    }

    fn selector(&mut self, v: Option<&Value>, at: &str) -> Selector {
        match v {
            None => Selector::root(),
            Some(Value::Null) => Selector::Discard,
            Some(v) => self.path(v, at).map(Selector::Path).unwrap_or_else(Selector::root),
        }
    }

    fn result_target(&mut self, v: Option<&Value>, at: &str) -> ResultTarget {
        match v {
            None => ResultTarget::Path(ReferencePath::parse("$").unwrap_or_else(|_| unreachable!("'$' is valid"))),
            Some(Value::Null) => ResultTarget::Discard,
            Some(Value::String(raw)) => match ReferencePath::parse(raw) {
                Ok(p) => ResultTarget::Path(p),
                Err(e) => {
                    self.schema(e, at);
                    ResultTarget::Discard
                }
            },
            Some(other) => {
                self.schema(format!("'ResultPath' must be a string or null, got {other}"), at);
                ResultTarget::Discard
            }
        }
    }

    fn template(&mut self, v: &Value, at: &str) -> Template {
        fn has_dynamic(v: &Value) -> bool {
            match v {
                Value::Object(m) => m.iter().any(|(k, v)| k.ends_with(".$") || has_dynamic(v)),
                Value::Array(a) => a.iter().any(has_dynamic),
                _ => false,
            }
        }
        if !has_dynamic(v) {
            return Template::Literal(v.clone());
        }
        match v {
            Value::Object(map) => Template::Object(
                map.iter()
                    .map(|(key, value)| {
                        let field_at = format!("{at}/{key}");
                        match key.strip_suffix(".$") {
                            Some(field) => (field.to_owned(), self.dynamic_field(key, value, &field_at)),
                            None => (key.clone(), self.template(value, &field_at)),
                        }
                    })
                    .collect(),
            ),
            Value::Array(items) => Template::Array(
                items.iter().enumerate().map(|(i, item)| self.template(item, &format!("{at}[{i}]"))).collect(),
            ),
            other => Template::Literal(other.clone()),
        }
    }

    fn dynamic_field(&mut self, key: &str, value: &Value, at: &str) -> Template {
        let Some(raw) = value.as_str() else {
            self.schema(format!("The value of '{key}' must be a path or intrinsic function string"), at);
            return Template::Literal(Value::Null);
        };
        let field = key.strip_suffix(".$").unwrap_or(key).to_owned();
        if intrinsics::looks_like_call(raw) {
            return match intrinsics::parse(raw) {
                Ok(call) => Template::Intrinsic { field, call },
                Err(e) => {
                    self.schema(e, at);
                    Template::Literal(Value::Null)
                }
            };
        }
        let (context, path_text) = match raw.strip_prefix("$$") {
            Some(rest) => (true, format!("${rest}")),
            None => (false, raw.to_owned()),
        };
        match JsonPath::parse(&path_text) {
            Ok(path) if context => Template::ContextPath { field, path },
            Ok(path) => Template::Path { field, path },
            Err(e) => {
                self.schema(e, at);
                Template::Literal(Value::Null)
            }
        }
    }
}

/// The states a state can move to, with the field naming each.
pub fn targets(state: &State) -> Vec<(&str, &'static str)> {
    let mut out: Vec<(&str, &'static str)> = state.next.iter().map(|n| (n.as_str(), "Next")).collect();
    match &state.kind {
        StateKind::Choice { choices, default } => {
            out.extend(choices.iter().map(|(_, n)| (n.as_str(), "Choices")));
            out.extend(default.iter().map(|d| (d.as_str(), "Default")));
        }
        StateKind::Task { handling, .. } | StateKind::Parallel { handling, .. } => {
            out.extend(handling.catch.iter().map(|c| (c.next.as_str(), "Catch")));
        }
        StateKind::Map(map) => out.extend(map.handling.catch.iter().map(|c| (c.next.as_str(), "Catch"))),
        _ => {}
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors(def: &str) -> Vec<String> {
        parse_definition(def).err().map(|e| e.0).unwrap_or_default()
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
}
