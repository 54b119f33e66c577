//! The Amazon States Language: a definition parsed into a typed state machine
//! ([`validate`] checks it as Step Functions does on `CreateStateMachine`).
//!
//! Both query languages share this model: a JSONPath state's `Parameters` and a
//! JSONata state's `Arguments` are both a [`Template`] (with `.$` paths in one and
//! `{% %}` expressions in the other), and [`Dataflow`] holds what differs, the input
//! and output processing.

mod errors;
mod fields;
mod references;
mod rules;
mod validate;

#[cfg(test)]
mod tests;

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;

pub use self::errors::{DefinitionError, DefinitionErrors, ErrorCode};
pub use self::validate::parse_definition;
use crate::intrinsics::Call;
use crate::jsonata::Expression;
use crate::path::{JsonPath, Query, ReferencePath};

/// `QueryLanguage`: JSONPath unless the state or its machine says JSONata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum QueryLanguage {
    JsonPath,
    Jsonata,
}

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
    pub language: QueryLanguage,
    pub dataflow: Dataflow,
    /// `Assign`: an object template whose fields are the variables to set.
    pub assign: Option<Template>,
    pub kind: StateKind,
    pub next: Option<String>,
}

/// How a state turns its input into its effective input, and its result into its
/// output: where the two query languages differ.
#[derive(Debug, Clone)]
pub enum Dataflow {
    /// `InputPath` and `OutputPath` (`ResultPath` and the templates sit with the states
    /// that have them).
    JsonPath { input_path: Selector, output_path: Selector },
    /// `Output`; without it the output is the state's result (or its input).
    Jsonata { output: Option<Template> },
}

/// `InputPath` / `OutputPath` / `ItemsPath`: a path, or `null` meaning `{}`.
#[derive(Debug, Clone)]
pub enum Selector {
    Path(JsonPath),
    Discard,
}

impl Selector {
    fn root() -> Self {
        Selector::Path(JsonPath::root())
    }
}

/// `ResultPath`: where a state's result goes in its input, or `null` to drop it.
#[derive(Debug, Clone)]
pub enum ResultTarget {
    Path(ReferencePath),
    Discard,
}

/// A payload template: `Parameters`, `ItemSelector`, `ResultSelector`, `Assign` in
/// JSONPath; `Arguments`, `Output`, `Assign` and every `{% %}` field in JSONata.
#[derive(Debug, Clone)]
pub enum Template {
    Literal(Value),
    Object(Vec<(String, Template)>),
    Array(Vec<Template>),
    /// A `.$` field's path on the input, the context object or a variable.
    Path {
        field: String,
        query: Query,
    },
    Intrinsic {
        field: String,
        call: Call,
    },
    /// A `{% ... %}` string.
    Jsonata(Expression),
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
    /// JSONata: the output (default: the error output).
    pub output: Option<Template>,
    pub assign: Option<Template>,
}

/// The handling common to Task, Parallel and Map.
#[derive(Debug, Clone)]
pub struct Handling {
    /// `Parameters` (JSONPath) or `Arguments` (JSONata).
    pub parameters: Option<Template>,
    pub result_selector: Option<Template>,
    pub result_path: ResultTarget,
    pub retry: Vec<Retrier>,
    pub catch: Vec<Catcher>,
}

/// A number given in the definition or computed at run time.
#[derive(Debug, Clone)]
pub enum Amount {
    Fixed(f64),
    FromPath(Query),
    Jsonata(Expression),
}

#[derive(Debug, Clone)]
pub enum WaitFor {
    Seconds(u64),
    Timestamp(DateTime<Utc>),
    SecondsPath(Query),
    TimestampPath(Query),
    SecondsExpr(Expression),
    TimestampExpr(Expression),
}

#[derive(Debug, Clone)]
pub enum Text {
    Fixed(String),
    Path(Query),
    Intrinsic(Call),
    Jsonata(Expression),
}

// States are built once per definition and read in place, never moved on a hot path:
// boxing the larger variants would only add indirection.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone)]
pub enum StateKind {
    Pass { result: Option<Value>, parameters: Option<Template>, result_path: ResultTarget },
    Task { resource: String, handling: Handling, timeout: Option<Amount>, heartbeat: Option<Amount> },
    Choice { choices: Vec<Choice>, default: Option<String> },
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
    /// JSONata `Items`: an array or an expression giving one.
    pub items: Option<Template>,
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
    /// `Variable` (on the input, the context object or a variable) and its comparison.
    Compare {
        variable: Query,
        op: Comparison,
        operand: Operand,
    },
    /// JSONata: `Condition`, `true`, `false` or an expression.
    Condition(Template),
}

/// A top-level choice rule: its test, where it leads, the variables it assigns
/// when it matches (on top of the state's own `Assign`) and, in JSONata, the
/// state's output when it matches (in place of the state's own `Output`).
#[derive(Debug, Clone)]
pub struct Choice {
    pub rule: Rule,
    pub next: String,
    pub assign: Option<Template>,
    pub output: Option<Template>,
}

#[derive(Debug, Clone)]
pub enum Operand {
    Literal(Value),
    Path(Query),
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

pub(crate) const COMPARISONS: &[(&str, Comparison)] = &[
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
    pub(crate) fn is_type_test(self) -> bool {
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

/// The states a state can move to, with the field naming each.
pub fn targets(state: &State) -> Vec<(&str, &'static str)> {
    let mut out: Vec<(&str, &'static str)> = state.next.iter().map(|n| (n.as_str(), "Next")).collect();
    match &state.kind {
        StateKind::Choice { choices, default } => {
            out.extend(choices.iter().map(|c| (c.next.as_str(), "Choices")));
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
