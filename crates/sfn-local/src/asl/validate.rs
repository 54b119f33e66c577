//! Parsing a definition into the model, checking it as `CreateStateMachine` does:
//! the machine and its states here, fields in `fields.rs`, Choice/Retry/Catch rules in
//! `rules.rs`.

use std::collections::{HashMap, HashSet};

use serde_json::{Map, Value};

use super::errors::{DefinitionError, DefinitionErrors, ErrorCode};
use super::references::Scopes;
use super::{Amount, Dataflow, MapState, QueryLanguage, State, StateKind, StateMachine, WaitFor, targets};

/// Parses and validates a definition (JSON text).
pub fn parse_definition(text: &str) -> Result<StateMachine, DefinitionErrors> {
    let value: Value = serde_json::from_str(text).map_err(|e| {
        DefinitionErrors(vec![DefinitionError {
            code: ErrorCode::InvalidJsonDescription,
            place: "/".into(),
            message: e.to_string(),
        }])
    })?;
    let mut v = Validator {
        errors: Vec::new(),
        language: QueryLanguage::JsonPath,
        state_at: String::new(),
        scopes: Scopes::default(),
    };
    let machine = v.machine(&value, "", true);
    v.check_references();
    match machine {
        Some(m) if v.errors.is_empty() => Ok(m),
        _ if v.errors.is_empty() => Err(DefinitionErrors(vec![DefinitionError {
            code: ErrorCode::SchemaValidationFailed,
            place: "/".into(),
            message: "invalid definition".into(),
        }])),
        _ => Err(DefinitionErrors(v.errors)),
    }
}

pub(super) struct Validator {
    pub(super) errors: Vec<DefinitionError>,
    /// The query language of the state being read.
    pub(super) language: QueryLanguage,
    /// The place of the state being read (`/States/A`): a field's place in its
    /// state (`Arguments/Input/id`) is what AWS's causes quote.
    pub(super) state_at: String,
    /// The variables assigned and referenced, by scope.
    pub(super) scopes: Scopes,
}

/// Each state type's fields in both query languages (`Type`, `Comment`,
/// `QueryLanguage`, `Assign` and the transitions are checked apart).
const COMMON_FIELDS: &[(&str, &[&str])] = &[
    ("Pass", &["Next", "End", "Assign"]),
    ("Task", &["Next", "End", "Assign", "Resource", "Retry", "Catch", "TimeoutSeconds", "HeartbeatSeconds"]),
    ("Choice", &["Choices", "Default", "Assign"]),
    ("Wait", &["Next", "End", "Assign", "Seconds", "Timestamp"]),
    ("Succeed", &[]),
    ("Fail", &["Error", "Cause"]),
    ("Parallel", &["Next", "End", "Assign", "Retry", "Catch", "Branches"]),
    (
        "Map",
        &[
            "Next",
            "End",
            "Assign",
            "Retry",
            "Catch",
            "ItemSelector",
            "ItemProcessor",
            "Iterator",
            "MaxConcurrency",
            "ToleratedFailureCount",
            "ToleratedFailurePercentage",
            "Label",
        ],
    ),
];

/// The fields only JSONPath states have.
const JSONPATH_FIELDS: &[(&str, &[&str])] = &[
    ("Pass", &["InputPath", "OutputPath", "Parameters", "Result", "ResultPath"]),
    (
        "Task",
        &[
            "InputPath",
            "OutputPath",
            "Parameters",
            "ResultSelector",
            "ResultPath",
            "TimeoutSecondsPath",
            "HeartbeatSecondsPath",
        ],
    ),
    ("Choice", &["InputPath", "OutputPath"]),
    ("Wait", &["InputPath", "OutputPath", "SecondsPath", "TimestampPath"]),
    ("Succeed", &["InputPath", "OutputPath"]),
    ("Fail", &["ErrorPath", "CausePath"]),
    ("Parallel", &["InputPath", "OutputPath", "Parameters", "ResultSelector", "ResultPath"]),
    (
        "Map",
        &[
            "InputPath",
            "OutputPath",
            "Parameters",
            "ItemsPath",
            "MaxConcurrencyPath",
            "ToleratedFailureCountPath",
            "ToleratedFailurePercentagePath",
            "ResultSelector",
            "ResultPath",
        ],
    ),
];

/// The fields only JSONata states have.
const JSONATA_FIELDS: &[(&str, &[&str])] = &[
    ("Pass", &["Output"]),
    ("Task", &["Output", "Arguments"]),
    ("Choice", &["Output"]),
    ("Wait", &["Output"]),
    ("Succeed", &["Output"]),
    ("Fail", &[]),
    ("Parallel", &["Output", "Arguments"]),
    ("Map", &["Output", "Items"]),
];

fn fields_of(table: &'static [(&str, &'static [&str])], type_name: &str) -> &'static [&'static str] {
    table.iter().find(|(t, _)| *t == type_name).map(|(_, f)| *f).unwrap_or(&[])
}

impl Validator {
    pub(super) fn err(&mut self, code: ErrorCode, message: impl std::fmt::Display, at: &str) {
        let place = if at.is_empty() { "/".to_owned() } else { at.to_owned() };
        self.errors.push(DefinitionError { code, place, message: message.to_string() });
    }

    pub(super) fn schema(&mut self, message: impl std::fmt::Display, at: &str) {
        self.err(ErrorCode::SchemaValidationFailed, message, at);
    }

    /// `QueryLanguage` of a machine or state, `inherited` when absent. A JSONata
    /// machine's states cannot be JSONPath (Transforming data with JSONata).
    fn query_language(&mut self, obj: &Map<String, Value>, inherited: QueryLanguage, at: &str) -> QueryLanguage {
        match obj.get("QueryLanguage") {
            None => inherited,
            Some(Value::String(s)) if s == "JSONata" => QueryLanguage::Jsonata,
            Some(Value::String(s)) if s == "JSONPath" => {
                if inherited == QueryLanguage::Jsonata {
                    // AWS's words, at the state's place (ValidateStateMachineDefinition).
                    self.schema(
                        "'QueryLanguage' can not be 'JSONPath' if set to 'JSONata' for whole state machine",
                        at,
                    );
                }
                QueryLanguage::JsonPath
            }
            Some(other) => {
                let at = format!("{at}/QueryLanguage");
                self.schema(format!("QueryLanguage must be JSONPath or JSONata, got {other}"), &at);
                inherited
            }
        }
    }

    /// A variable referenced where no `Assign` in scope ever sets it.
    fn check_references(&mut self) {
        let unassigned: Vec<(String, String)> =
            self.scopes.unassigned().into_iter().map(|(n, at)| (n.to_owned(), at.to_owned())).collect();
        for (name, at) in unassigned {
            self.schema(format!("The variable '{name}' is referenced but never assigned"), &at);
        }
    }

    /// A state machine, Parallel branch or Map processor: a variable scope of its own.
    pub(super) fn machine(&mut self, value: &Value, at: &str, top: bool) -> Option<StateMachine> {
        self.scopes.enter();
        let machine = self.machine_body(value, at, top);
        self.scopes.leave();
        machine
    }

    fn machine_body(&mut self, value: &Value, at: &str, top: bool) -> Option<StateMachine> {
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
        let machine_language = if top { self.query_language(obj, QueryLanguage::JsonPath, at) } else { self.language };
        // AWS names the missing fields together, at the machine's place.
        let missing: Vec<&str> = ["States", "StartAt"].into_iter().filter(|f| !obj.contains_key(*f)).collect();
        if !missing.is_empty() {
            self.schema(format!("These fields are required: [{}]", missing.join(", ")), at);
        }
        let start_at = match obj.get("StartAt").map(Value::as_str) {
            Some(Some(s)) => s.to_owned(),
            Some(None) => {
                self.schema("The field 'StartAt' must be a string", &format!("{at}/StartAt"));
                String::new()
            }
            None => String::new(),
        };
        let timeout_seconds = match obj.get("TimeoutSeconds") {
            Some(t) if top => self.positive_int(t, &format!("{at}/TimeoutSeconds")),
            _ => None,
        };
        let Some(states_obj) = obj.get("States").and_then(Value::as_object) else {
            if obj.contains_key("States") {
                self.schema("The field 'States' must be an object", &format!("{at}/States"));
            }
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
            self.language = machine_language;
            if let Some(state) = self.state(body, &format!("{at}/States/{name}")) {
                states.push((name.clone(), state));
            }
        }
        self.language = machine_language;
        let index: HashMap<String, usize> = states.iter().enumerate().map(|(i, (n, _))| (n.clone(), i)).collect();
        if !start_at.is_empty() && !states_obj.contains_key(&start_at) {
            self.err(
                ErrorCode::MissingTransitionTarget,
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
                        ErrorCode::MissingTransitionTarget,
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
                    ErrorCode::UnreachableState,
                    format!("State '{name}' is not reachable"),
                    &format!("{at}/States/{name}"),
                );
            }
        }
    }

    /// Unknown fields, and fields of the other query language.
    fn check_fields(&mut self, obj: &Map<String, Value>, type_name: &str, at: &str) {
        let (own, other, other_name) = match self.language {
            QueryLanguage::JsonPath => (JSONPATH_FIELDS, JSONATA_FIELDS, "JSONata"),
            QueryLanguage::Jsonata => (JSONATA_FIELDS, JSONPATH_FIELDS, "JSONPath"),
        };
        for key in obj.keys() {
            let key = key.as_str();
            if ["Type", "Comment", "QueryLanguage"].contains(&key)
                || fields_of(COMMON_FIELDS, type_name).contains(&key)
                || fields_of(own, type_name).contains(&key)
            {
                continue;
            }
            let message = if fields_of(other, type_name).contains(&key) {
                let language = if other_name == "JSONata" { "JSONPath" } else { "JSONata" };
                format!("The field '{key}' is not supported in a state whose QueryLanguage is {language}")
            } else {
                format!("The field '{key}' is not supported by Step Functions for a {type_name} state")
            };
            self.schema(message, &format!("{at}/{key}"));
        }
    }

    fn state(&mut self, value: &Value, at: &str) -> Option<State> {
        // A Parallel branch's or Map processor's states are read inside this one.
        let outer_at = std::mem::replace(&mut self.state_at, at.to_owned());
        let state = self.state_body(value, at);
        self.state_at = outer_at;
        state
    }

    fn state_body(&mut self, value: &Value, at: &str) -> Option<State> {
        let Some(obj) = value.as_object() else {
            self.schema("a state must be an object", at);
            return None;
        };
        let Some(type_name) = obj.get("Type").and_then(Value::as_str) else {
            self.schema("The field 'Type' is required", &format!("{at}/Type"));
            return None;
        };
        if !COMMON_FIELDS.iter().any(|(t, _)| *t == type_name) {
            self.schema(format!("'{type_name}' is not a valid state type"), &format!("{at}/Type"));
            return None;
        }
        self.language = self.query_language(obj, self.language, at);
        self.check_fields(obj, type_name, at);
        let next = self.transition(obj, type_name, at);
        let dataflow = self.dataflow(obj, at);
        let assign = obj.get("Assign").and_then(|a| self.assign(a, &format!("{at}/Assign")));
        let kind = match type_name {
            "Pass" => self.pass(obj, at),
            "Task" => self.task(obj, at),
            "Choice" => self.choice(obj, at),
            "Wait" => self.wait(obj, at)?,
            "Succeed" => StateKind::Succeed,
            "Fail" => StateKind::Fail { error: self.text(obj, "Error", at), cause: self.text(obj, "Cause", at) },
            "Parallel" => self.parallel(obj, at),
            _ => self.map(obj, at)?,
        };
        Some(State {
            comment: obj.get("Comment").and_then(Value::as_str).map(str::to_owned),
            language: self.language,
            dataflow,
            assign,
            kind,
            next,
        })
    }

    /// `Next` xor `End` for the states that move on.
    fn transition(&mut self, obj: &Map<String, Value>, type_name: &str, at: &str) -> Option<String> {
        let next = obj.get("Next").and_then(Value::as_str).map(str::to_owned);
        let end = obj.get("End").and_then(Value::as_bool).unwrap_or(false);
        if fields_of(COMMON_FIELDS, type_name).contains(&"Next") {
            match (&next, end) {
                (Some(_), true) => self.schema("A state may not have both 'Next' and 'End'", at),
                (None, false) => self.err(ErrorCode::MissingEndState, "A state must have 'Next' or 'End': true", at),
                _ => {}
            }
            if obj.get("Next").is_some_and(|n| !n.is_string()) {
                self.schema("'Next' must be a string", &format!("{at}/Next"));
            }
        }
        next
    }

    fn dataflow(&mut self, obj: &Map<String, Value>, at: &str) -> Dataflow {
        match self.language {
            QueryLanguage::JsonPath => Dataflow::JsonPath {
                input_path: self.selector(obj.get("InputPath"), &format!("{at}/InputPath")),
                output_path: self.selector(obj.get("OutputPath"), &format!("{at}/OutputPath")),
            },
            QueryLanguage::Jsonata => Dataflow::Jsonata {
                output: obj.get("Output").map(|o| self.jsonata_template(o, &format!("{at}/Output"))),
            },
        }
    }

    fn pass(&mut self, obj: &Map<String, Value>, at: &str) -> StateKind {
        StateKind::Pass {
            result: obj.get("Result").cloned(),
            parameters: obj.get("Parameters").map(|p| self.template(p, &format!("{at}/Parameters"))),
            result_path: self.result_target(obj.get("ResultPath"), &format!("{at}/ResultPath")),
        }
    }

    fn task(&mut self, obj: &Map<String, Value>, at: &str) -> StateKind {
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
            self.schema("'HeartbeatSeconds' must be smaller than 'TimeoutSeconds'", &format!("{at}/HeartbeatSeconds"));
        }
        StateKind::Task { resource, handling: self.handling(obj, at), timeout, heartbeat }
    }

    fn parallel(&mut self, obj: &Map<String, Value>, at: &str) -> StateKind {
        let language = self.language;
        let branches = match obj.get("Branches").and_then(Value::as_array) {
            Some(list) if !list.is_empty() => list
                .iter()
                .enumerate()
                .filter_map(|(i, b)| {
                    self.language = language;
                    self.machine(b, &format!("{at}/Branches[{i}]"), false)
                })
                .collect(),
            _ => {
                self.schema("'Branches' must be a non-empty array", &format!("{at}/Branches"));
                Vec::new()
            }
        };
        self.language = language;
        StateKind::Parallel { branches, handling: self.handling(obj, at) }
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
        if let Some(expr) = self.expression_of(value, &field_at).ok()? {
            return Some(StateKind::Wait(if field == "Seconds" {
                WaitFor::SecondsExpr(expr)
            } else {
                WaitFor::TimestampExpr(expr)
            }));
        }
        let wait = match field {
            "Seconds" => WaitFor::Seconds(self.non_negative_int(value, &field_at)?),
            "Timestamp" => match value.as_str().and_then(super::parse_timestamp) {
                Some(t) => WaitFor::Timestamp(t),
                None => {
                    self.schema(format!("{value} is not an RFC 3339 timestamp (upper-case T and Z)"), &field_at);
                    return None;
                }
            },
            _ => {
                let query = self.query(value, &field_at)?;
                if field == "SecondsPath" { WaitFor::SecondsPath(query) } else { WaitFor::TimestampPath(query) }
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
        let language = self.language;
        let processor = self.machine(processor_value, &format!("{at}/{processor_field}"), false)?;
        self.language = language;
        if obj.contains_key("ItemSelector") && obj.contains_key("Parameters") {
            self.schema("A Map state may not have both 'ItemSelector' and 'Parameters'", at);
        }
        let item_selector = match language {
            QueryLanguage::Jsonata => {
                obj.get("ItemSelector").map(|t| self.jsonata_template(t, &format!("{at}/ItemSelector")))
            }
            QueryLanguage::JsonPath => obj
                .get("ItemSelector")
                .map(|t| self.template(t, &format!("{at}/ItemSelector")))
                .or_else(|| obj.get("Parameters").map(|t| self.template(t, &format!("{at}/Parameters")))),
        };
        let mut handling = self.handling(obj, at);
        // In a Map, `Parameters` is the legacy name of `ItemSelector`, not a state-level template.
        handling.parameters = None;
        let items_path = self.selector(obj.get("ItemsPath"), &format!("{at}/ItemsPath"));
        let items = obj.get("Items").map(|t| self.jsonata_template(t, &format!("{at}/Items")));
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
            items,
            item_selector,
            max_concurrency: self.amount(obj, "MaxConcurrency", at),
            tolerated_failure_count: self.amount(obj, "ToleratedFailureCount", at),
            tolerated_failure_percentage,
            handling,
        })))
    }
}
