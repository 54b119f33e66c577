//! The commonest expressions read without the JSONata engine: a plain path on a
//! `$states` member or a variable (`$states.input.order.id`, `$limit`). Converting
//! the state's whole input to the engine's values and back cost most of a JSONata
//! state's time; these read the JSON in place.
//!
//! The result is exactly the engine's: every number goes through `f64` as the
//! engine's do, and anything where JSONata's path rules differ from a plain lookup
//! (an array on the way or at the end, which JSONata maps over and flattens) is
//! left to the engine.

use jsonata_core::ast::AstNode;
use serde_json::{Map, Value};

use crate::variables::Variables;

/// `$states.<member>.<field>...` or `$<variable>.<field>...`.
#[derive(Debug)]
pub(super) enum Shortcut {
    States { member: String, fields: Vec<String> },
    Variable { name: String, fields: Vec<String> },
}

impl Shortcut {
    /// The shortcut for a parsed expression, if it is a plain path.
    pub(super) fn of(ast: &AstNode) -> Option<Self> {
        match ast {
            AstNode::Variable(name) if !name.is_empty() && name != "states" => {
                Some(Shortcut::Variable { name: name.clone(), fields: Vec::new() })
            }
            AstNode::Path { steps } => {
                let (first, rest) = steps.split_first()?;
                let plain = |step: &jsonata_core::ast::PathStep| {
                    step.stages.is_empty()
                        && step.focus.is_none()
                        && step.index_var.is_none()
                        && step.ancestor_label.is_none()
                        && !step.is_tuple
                };
                if !steps.iter().all(plain) {
                    return None;
                }
                let mut fields = Vec::with_capacity(rest.len());
                for step in rest {
                    match &step.node {
                        AstNode::Name(field) => fields.push(field.clone()),
                        _ => return None,
                    }
                }
                match &first.node {
                    AstNode::Variable(name) if name == "states" => {
                        if fields.is_empty() {
                            return None;
                        }
                        let member = fields.remove(0);
                        Some(Shortcut::States { member, fields })
                    }
                    AstNode::Variable(name) if !name.is_empty() => {
                        Some(Shortcut::Variable { name: name.clone(), fields })
                    }
                    _ => None,
                }
            }
            _ => None,
        }
    }

    /// The value, `Some(None)` for JSONata's "undefined", or `None` when the engine
    /// must decide.
    pub(super) fn read(&self, states: &[(&str, &Value)], vars: &Variables) -> Option<Option<Value>> {
        let (start, fields) = match self {
            Shortcut::States { member, fields } => (states.iter().find(|(k, _)| k == member).map(|(_, v)| *v), fields),
            Shortcut::Variable { name, fields } => (vars.get(name), fields),
        };
        let Some(mut value) = start else { return Some(None) };
        for field in fields {
            match value {
                Value::Object(map) => match map.get(field) {
                    Some(next) => value = next,
                    None => return Some(None),
                },
                _ => return None,
            }
        }
        if value.is_array() {
            return None;
        }
        Some(Some(as_engine_gives(value)))
    }
}

/// A copy with every number as the engine gives it back (through `f64`).
fn as_engine_gives(value: &Value) -> Value {
    match value {
        Value::Number(n) => super::number(n.as_f64().unwrap_or(0.0)),
        Value::Array(items) => Value::Array(items.iter().map(as_engine_gives).collect()),
        Value::Object(map) => {
            Value::Object(map.iter().map(|(k, v)| (k.clone(), as_engine_gives(v))).collect::<Map<String, Value>>())
        }
        other => other.clone(),
    }
}
