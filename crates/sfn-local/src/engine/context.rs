//! What a state's expressions read: its input, the context object (built only when a
//! path or expression asks for it), the variables in scope, and in JSONata the
//! `$states` object.

use std::sync::OnceLock;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Run, timestamp_text};
use crate::error::{StatesError, names};
use crate::jsonata::Expression;
use crate::path::{Sources, type_name};
use crate::variables::Variables;

/// The context object for one state, built only when a path asks for it.
pub(super) struct Context<'a> {
    pub(super) run: &'a Run,
    pub(super) state: &'a str,
    pub(super) entered: DateTime<Utc>,
    pub(super) map_item: Option<&'a (usize, Value)>,
    /// `$$.State.RetryCount`: how many retries came before this attempt.
    pub(super) retry_count: u32,
    pub(super) built: OnceLock<Value>,
}

impl<'a> Context<'a> {
    pub(super) fn new(
        run: &'a Run,
        state: &'a str,
        entered: DateTime<Utc>,
        map_item: Option<&'a (usize, Value)>,
    ) -> Self {
        Self { run, state, entered, map_item, retry_count: 0, built: OnceLock::new() }
    }

    /// The same state's context for retry number `retry_count`.
    pub(super) fn attempt(&self, retry_count: u32) -> Context<'a> {
        Context { retry_count, built: OnceLock::new(), ..*self }
    }

    pub(super) fn value(&self) -> &Value {
        self.built.get_or_init(|| {
            let mut ctx = self.run.context_base.clone();
            ctx["State"] = json!({
                "Name": self.state,
                "EnteredTime": timestamp_text(self.entered),
                "RetryCount": self.retry_count,
            });
            if let Some((index, value)) = self.map_item {
                ctx["Map"] = json!({"Item": {"Index": index, "Value": value}});
            }
            ctx
        })
    }

    /// AWS's wording for a failure inside this state, with the id of the event that
    /// entered it.
    pub(super) fn in_state(&self, entered_event: u64, cause: impl std::fmt::Display) -> String {
        format!(
            "An error occurred while executing the state '{}' (entered at the event id #{entered_event}). {cause}",
            self.state
        )
    }
}

/// One evaluation's view: `$` (JSONPath) or `$states.input` (JSONata), the context
/// object, the variables, and in JSONata the state's result or error output.
pub(super) struct Env<'a> {
    pub(super) input: &'a Value,
    pub(super) ctx: &'a Context<'a>,
    pub(super) vars: &'a Variables,
    pub(super) result: Option<&'a Value>,
    pub(super) error_output: Option<&'a Value>,
}

impl<'a> Env<'a> {
    pub(super) fn new(input: &'a Value, ctx: &'a Context<'a>, vars: &'a Variables) -> Self {
        Self { input, ctx, vars, result: None, error_output: None }
    }

    /// JSONata's `$states`: `input`, `context`, and `result` or `errorOutput` where
    /// the field may read them. The context object is built only when read.
    fn states(&self, with_context: bool) -> Vec<(&str, &Value)> {
        let mut states = Vec::with_capacity(4);
        states.push(("input", self.input));
        if with_context {
            states.push(("context", self.ctx.value()));
        }
        if let Some(result) = self.result {
            states.push(("result", result));
        }
        if let Some(error) = self.error_output {
            states.push(("errorOutput", error));
        }
        states
    }

    /// Evaluates a JSONata expression; "undefined" is an error, as AWS has no value
    /// to put in the field. Causes name the expression's field as AWS does
    /// (`Arguments/Input/id`).
    pub(super) fn jsonata(&self, expr: &Expression) -> Result<Value, StatesError> {
        let failed = |what: String| {
            StatesError::new(
                names::QUERY_EVALUATION_ERROR,
                format!("The JSONata expression '{}' specified for the field '{}' {what}", expr.source(), expr.field()),
            )
        };
        let evaluated = expr
            .evaluate(&self.states(expr.reads_context()), self.vars)
            .map_err(|e| failed(format!("threw an error during evaluation. {e}")))?;
        evaluated.ok_or_else(|| failed("returned nothing (undefined).".to_owned()))
    }

    /// [`Env::jsonata`] for a field that takes one type of value (`Items` an array,
    /// `Condition` a boolean), with AWS's cause for a value of another type.
    pub(super) fn jsonata_of_type(&self, expr: &Expression, expected: &str) -> Result<Value, StatesError> {
        let value = self.jsonata(expr)?;
        if type_name(&value) == expected {
            return Ok(value);
        }
        Err(StatesError::new(
            names::QUERY_EVALUATION_ERROR,
            format!(
                "The JSONata expression '{}' specified for the field '{}' returned an unexpected result type. \
                 Expected '{expected}', but was '{}' for value: {value}",
                expr.source(),
                expr.field(),
                type_name(&value)
            ),
        ))
    }
}

impl Sources for Env<'_> {
    fn input(&self) -> &Value {
        self.input
    }

    fn context(&self) -> &Value {
        self.ctx.value()
    }

    fn variable(&self, name: &str) -> Option<&Value> {
        self.vars.get(name)
    }
}
