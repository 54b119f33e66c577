//! Workflow variables (`Assign`, then `$name` in later states).
//!
//! As Step Functions scopes them ("Passing data between states with variables"): the
//! states of a state machine share one scope; each Parallel branch and Map iteration
//! runs in a scope of its own that reads every variable visible where it started and
//! whose own assignments stay inside it, so an outer variable never changes from within.
//! A state's `Assign` takes effect when the state ends: every expression of the state
//! reads the values from before it.

use std::sync::Arc;

use serde_json::{Map, Value};

use crate::error::{StatesError, names};

/// The most one variable, and one state's `Assign` as a whole, may weigh (256 KiB).
pub const MAX_ASSIGN_BYTES: usize = 262_144;
/// The most all of an execution's variables together may weigh (10 MiB).
pub const MAX_STORED_BYTES: usize = 10 * 1_048_576;

#[derive(Debug, Clone, Default)]
pub struct Variables {
    /// Everything visible where this scope started (shared, never written here).
    outer: Arc<Map<String, Value>>,
    /// This scope's own assignments.
    local: Map<String, Value>,
}

impl Variables {
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.local.get(name).or_else(|| self.outer.get(name))
    }

    pub fn is_empty(&self) -> bool {
        self.local.is_empty() && self.outer.is_empty()
    }

    /// The scope of a Parallel branch or Map iteration started here. Clone the result
    /// for each branch or iteration: the visible values are copied once.
    pub fn nested(&self) -> Variables {
        if self.local.is_empty() {
            return Variables { outer: Arc::clone(&self.outer), local: Map::new() };
        }
        let mut all = (*self.outer).clone();
        all.extend(self.local.iter().map(|(k, v)| (k.clone(), v.clone())));
        Variables { outer: Arc::new(all), local: Map::new() }
    }

    /// Every visible variable, for a JSONata evaluation's bindings.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &Value)> {
        self.outer.iter().filter(|(k, _)| !self.local.contains_key(*k)).chain(self.local.iter())
    }

    /// Stores one state's assignments, within AWS's size limits.
    pub fn assign(&mut self, values: Map<String, Value>) -> Result<(), StatesError> {
        let mut total = 0usize;
        for (name, value) in &values {
            let size = value.to_string().len();
            if size > MAX_ASSIGN_BYTES {
                return Err(too_large(format!(
                    "The variable '{name}' has a size of {size} bytes, more than the maximum of {MAX_ASSIGN_BYTES} bytes."
                )));
            }
            total += size;
        }
        if total > MAX_ASSIGN_BYTES {
            return Err(too_large(format!(
                "The assigned variables have a combined size of {total} bytes, more than the maximum of {MAX_ASSIGN_BYTES} bytes."
            )));
        }
        self.local.extend(values);
        let stored: usize = self.iter().map(|(_, v)| v.to_string().len()).sum();
        if stored > MAX_STORED_BYTES {
            return Err(too_large(format!(
                "The execution's variables have a combined size of {stored} bytes, more than the maximum of {MAX_STORED_BYTES} bytes."
            )));
        }
        Ok(())
    }
}

fn too_large(cause: String) -> StatesError {
    StatesError::new(names::DATA_LIMIT_EXCEEDED, cause)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn nested_scopes_read_outer_values_and_keep_their_own() {
        let mut top = Variables::default();
        top.assign(map(json!({"a": 1, "b": 2}))).unwrap();
        let mut inner = top.nested();
        assert_eq!(inner.get("a"), Some(&json!(1)));
        inner.assign(map(json!({"a": 10, "c": 3}))).unwrap();
        assert_eq!(inner.get("a"), Some(&json!(10)));
        assert_eq!(top.get("a"), Some(&json!(1)), "the outer value is untouched");
        assert_eq!(top.get("c"), None, "inner variables stay inside");
        let names: Vec<&String> = inner.iter().map(|(k, _)| k).collect();
        assert_eq!(names.len(), 3);
    }

    #[test]
    fn sizes_are_limited_as_on_aws() {
        let mut vars = Variables::default();
        let big = "x".repeat(MAX_ASSIGN_BYTES);
        let err = vars.assign(map(json!({ "big": big }))).unwrap_err();
        assert_eq!(err.error, "States.DataLimitExceeded");
        let half = "x".repeat(MAX_ASSIGN_BYTES / 2);
        assert!(vars.assign(map(json!({"a": half.clone(), "b": half}))).is_err(), "the Assign as a whole");
        assert!(vars.is_empty());
    }
}
