//! A state machine run state by state: each state's type is one call (the States
//! Language's table of contents), then `Assign` and the output, the same for all.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::context::{Context, Env};
use super::dataflow::{self, check_size, place_result, render};
use super::events::{EventKind, StateType};
use super::task::Work;
use super::{BoxFuture, Halt, Lane, Run, timing};
use crate::asl::{
    Catcher, Choice, Dataflow, QueryLanguage, Rule, State, StateKind, StateMachine, Template, Text, WaitFor,
};
use crate::choice;
use crate::error::{StatesError, names};

/// Where a state goes next.
pub(super) enum Step {
    /// The next state's name, and its input as a value and as JSON text.
    Next(String, Value, String),
    End(Value),
}

/// What a state's work produced, before `Assign` and the output.
pub(super) struct Done {
    /// The result before `ResultPath` (JSONPath `Assign` reads it as `$`; JSONata's
    /// `$states.result` for Task, Parallel and Map), or the effective input.
    pub(super) result: Value,
    /// The result placed in the input (`ResultPath`), or the result itself.
    pub(super) placed: Value,
    pub(super) has_result: bool,
    /// A Choice's pick; otherwise the state's `Next`.
    pub(super) next: Option<String>,
    /// What the matching choice rule's `Assign` gives (stored after the state's own).
    pub(super) assigned: Option<Map<String, Value>>,
    /// The index of the matching choice rule, whose JSONata `Output` (if any)
    /// stands in for the state's. (16 bits keep `Done` small; a definition, at most
    /// 1 MiB, cannot hold 65,536 rules.)
    pub(super) chosen: Option<u16>,
}

impl Done {
    /// A state without a result: its effective input goes on.
    fn input(call: &Call<'_>, effective: Value) -> Self {
        let result = if call.assign_reads_result() { effective.clone() } else { Value::Null };
        Done { result, placed: effective, has_result: false, next: None, assigned: None, chosen: None }
    }
}

/// What a Task, Parallel or Map ended with.
pub(super) enum Handled<'s> {
    Result(Done),
    Caught(&'s Catcher, StatesError),
}

/// One state's call: what every stage of it reads.
pub(super) struct Call<'a> {
    pub(super) name: &'a str,
    pub(super) state: &'a State,
    pub(super) raw_input: &'a Value,
    pub(super) effective: &'a Value,
    pub(super) ctx: &'a Context<'a>,
    /// The id of the `...StateEntered` event, which AWS's causes cite.
    pub(super) entered_event: u64,
}

impl Call<'_> {
    /// A failure of this state's own processing, with AWS's prefix for the errors
    /// that carry it.
    pub(super) fn fail(&self, e: StatesError) -> StatesError {
        if e.error == names::RUNTIME || e.error == names::QUERY_EVALUATION_ERROR {
            StatesError::new(e.error, self.ctx.in_state(self.entered_event, e.cause))
        } else {
            e
        }
    }

    /// Whether a JSONPath `Assign` reads the state's result: otherwise it is not kept
    /// (a copy per state saved on the hot path of Pass chains).
    fn assign_reads_result(&self) -> bool {
        self.state.language == QueryLanguage::JsonPath && self.state.assign.is_some()
    }

    /// The view for JSONPath templates and paths: `$` is the effective input.
    pub(super) fn env<'e>(&'e self, vars: &'e crate::variables::Variables) -> Env<'e> {
        Env::new(self.effective, self.ctx, vars)
    }
}

impl Run {
    pub(super) fn machine<'a>(
        &'a self,
        machine: &'a StateMachine,
        input: Value,
        lane: &'a mut Lane,
        map_item: Option<&'a (usize, Value)>,
    ) -> BoxFuture<'a, Result<Value, Halt>> {
        Box::pin(async move {
            let missing = |name: &str| StatesError::runtime(format!("no state named '{name}'"));
            let (mut current, mut state) =
                machine.entry(&machine.start_at).ok_or_else(|| missing(&machine.start_at))?;
            // Each state's input is the previous state's output: serialised once, by `exit`.
            let mut input_text = check_size(&input, "state input")?;
            let mut input = input;
            loop {
                self.check_limits(lane)?;
                // Under the virtual clock a loop of Pass and Choice states never waits:
                // give the runtime its turn so one execution cannot hold a worker.
                tokio::task::consume_budget().await;
                match self.state(current, state, input, input_text, lane, map_item).await? {
                    Step::Next(next, output, output_text) => {
                        (current, state) = machine.entry(&next).ok_or_else(|| missing(&next))?;
                        input = output;
                        input_text = output_text;
                    }
                    Step::End(output) => return Ok(output),
                }
            }
        })
    }

    async fn state(
        &self,
        name: &str,
        state: &State,
        raw_input: Value,
        input_text: String,
        lane: &mut Lane,
        map_item: Option<&(usize, Value)>,
    ) -> Result<Step, Halt> {
        let entered = lane.timeline.now();
        self.event(
            lane,
            EventKind::StateEntered(StateType::of(&state.kind)),
            Some(json!({"name": name, "input": input_text, "inputDetails": {"truncated": false}})),
        );
        let ctx = Context::new(self, name, entered, map_item);
        let mut call = Call {
            name,
            state,
            raw_input: &raw_input,
            effective: &raw_input,
            ctx: &ctx,
            entered_event: lane.last_event,
        };
        let effective = dataflow::effective_input(&state.dataflow, &raw_input).map_err(|e| call.fail(e))?;
        call.effective = &*effective;
        let done = match &state.kind {
            StateKind::Pass { result, parameters, result_path } => {
                self.pass(&call, result.as_ref(), parameters.as_ref(), result_path, lane)?
            }
            StateKind::Task { resource, handling, timeout, heartbeat } => {
                let work = self.task_work(&call, resource, timeout.as_ref(), heartbeat.as_ref(), lane)?;
                self.handled(&call, &work, handling, lane).await?
            }
            StateKind::Parallel { branches, handling } => {
                self.handled(&call, &Work::Parallel(branches), handling, lane).await?
            }
            StateKind::Map(map) => self.handled(&call, &Work::Map(map), &map.handling, lane).await?,
            StateKind::Choice { choices, default } => Handled::Result(self.choose(&call, choices, default, lane)?),
            StateKind::Wait(wait) => Handled::Result(self.wait(&call, wait, lane).await?),
            StateKind::Succeed => Handled::Result(Done::input(&call, call.effective.clone())),
            StateKind::Fail { error, cause } => return Err(self.fail_state(&call, error, cause, lane)),
        };
        match done {
            Handled::Result(done) => self.finish(&call, done, lane),
            Handled::Caught(catcher, error) => self.caught(&call, catcher, error, lane),
        }
    }

    /// `Assign` and the output, then the move to the next state.
    fn finish(&self, call: &Call<'_>, done: Done, lane: &mut Lane) -> Result<Step, Halt> {
        let state = call.state;
        let env = match state.language {
            QueryLanguage::JsonPath => Env::new(&done.result, call.ctx, &lane.vars),
            QueryLanguage::Jsonata => Env {
                result: done.has_result.then_some(&done.result),
                ..Env::new(call.raw_input, call.ctx, &lane.vars)
            },
        };
        let assigned = state.assign.as_ref().map(|a| dataflow::assignments(a, &env)).transpose();
        let mut assigned = assigned.map_err(|e| call.fail(e))?;
        if let Some(rule_values) = done.assigned {
            assigned.get_or_insert_with(Map::new).extend(rule_values);
        }
        let rule_output = match (&state.kind, done.chosen) {
            (StateKind::Choice { choices, .. }, Some(i)) => choices.get(usize::from(i)).and_then(|c| c.output.as_ref()),
            _ => None,
        };
        let output = match rule_output {
            Some(template) => render(template, &env),
            None => dataflow::output(&state.dataflow, done.placed, &env),
        };
        let output = output.map_err(|e| call.fail(e))?;
        if let Some(values) = assigned {
            lane.vars.assign(values)?;
        }
        let next = done.next.or_else(|| state.next.clone());
        self.exit(call.name, StateType::of(&state.kind), output, next, lane)
    }

    /// A catcher took the error: its `Assign` and output (`ResultPath`, or JSONata's
    /// `Output`, by default the error output), then its `Next`.
    fn caught(&self, call: &Call<'_>, catcher: &Catcher, error: StatesError, lane: &mut Lane) -> Result<Step, Halt> {
        let error_output = error.to_output();
        let env = match call.state.language {
            QueryLanguage::JsonPath => Env::new(&error_output, call.ctx, &lane.vars),
            QueryLanguage::Jsonata => {
                Env { error_output: Some(&error_output), ..Env::new(call.raw_input, call.ctx, &lane.vars) }
            }
        };
        let assigned = catcher.assign.as_ref().map(|a| dataflow::assignments(a, &env)).transpose();
        let assigned = assigned.map_err(|e| call.fail(e))?;
        let output = match (&catcher.output, call.state.language) {
            (Some(template), _) => render(template, &env),
            (None, QueryLanguage::Jsonata) => Ok(error_output.clone()),
            (None, QueryLanguage::JsonPath) => place_result(&catcher.result_path, call.raw_input, error_output.clone()),
        };
        let output = output.map_err(|e| call.fail(e))?;
        if let Some(values) = assigned {
            lane.vars.assign(values)?;
        }
        self.exit(call.name, StateType::of(&call.state.kind), output, Some(catcher.next.clone()), lane)
    }

    pub(super) fn exit(
        &self,
        name: &str,
        state_type: StateType,
        output: Value,
        next: Option<String>,
        lane: &mut Lane,
    ) -> Result<Step, Halt> {
        let text = check_size(&output, "state output").map_err(|_| too_large(name))?;
        let details = json!({"name": name, "output": text, "outputDetails": {"truncated": false}});
        self.event(lane, EventKind::StateExited(state_type), Some(details));
        Ok(match next {
            Some(n) => Step::Next(n, output, text),
            None => Step::End(output),
        })
    }

    fn pass(
        &self,
        call: &Call<'_>,
        result: Option<&Value>,
        parameters: Option<&Template>,
        result_path: &crate::asl::ResultTarget,
        lane: &Lane,
    ) -> Result<Handled<'static>, Halt> {
        let value = match (result, parameters) {
            (Some(r), _) => r.clone(),
            // A Pass state's unresolvable path is not catchable: States.Runtime, as on AWS.
            (None, Some(p)) => render(p, &call.env(&lane.vars)).map_err(|e| {
                let e = if e.error == names::PARAMETER_PATH_FAILURE { StatesError::runtime(e.cause) } else { e };
                call.fail(e)
            })?,
            // A JSONata Pass state's `Output` replaces its input: no copy to carry.
            (None, None) if matches!(call.state.dataflow, Dataflow::Jsonata { output: Some(_) }) => Value::Null,
            (None, None) => call.effective.clone(),
        };
        let kept = if call.assign_reads_result() { value.clone() } else { Value::Null };
        let placed = place_result(result_path, call.raw_input, value).map_err(|e| call.fail(e))?;
        Ok(Handled::Result(Done { result: kept, placed, has_result: false, next: None, assigned: None, chosen: None }))
    }

    fn choose(&self, call: &Call<'_>, choices: &[Choice], default: &Option<String>, lane: &Lane) -> Result<Done, Halt> {
        let env = call.env(&lane.vars);
        for (index, Choice { rule, next, assign, .. }) in choices.iter().enumerate() {
            let holds = match rule {
                Rule::Condition(condition) => condition_holds(condition, &env),
                rule => choice::evaluate(rule, &env),
            };
            if holds.map_err(|e| call.fail(e))? {
                let assigned = assign.as_ref().map(|a| dataflow::assignments(a, &env)).transpose();
                let assigned = assigned.map_err(|e| call.fail(e))?;
                let input = Done::input(call, call.effective.clone());
                return Ok(Done { next: Some(next.clone()), assigned, chosen: u16::try_from(index).ok(), ..input });
            }
        }
        let next = default.clone().ok_or_else(|| {
            StatesError::new(
                names::NO_CHOICE_MATCHED,
                format!("No Choice rule of '{}' matched and it has no Default", call.name),
            )
        })?;
        Ok(Done { next: Some(next), ..Done::input(call, call.effective.clone()) })
    }

    async fn wait(&self, call: &Call<'_>, wait: &WaitFor, lane: &mut Lane) -> Result<Done, Halt> {
        let until = self.wait_until(call, wait, lane).map_err(|e| call.fail(e))?;
        self.sleep_until(lane, until).await?;
        Ok(Done::input(call, call.effective.clone()))
    }

    fn wait_until(&self, call: &Call<'_>, wait: &WaitFor, lane: &Lane) -> Result<DateTime<Utc>, StatesError> {
        let env = call.env(&lane.vars);
        let now = lane.timeline.now();
        let jsonata = |e: &crate::jsonata::Expression| env.jsonata(e).map(Some);
        let until = match wait {
            WaitFor::Seconds(s) => Ok(timing::after(now, *s)),
            WaitFor::Timestamp(t) => Ok(*t),
            WaitFor::SecondsPath(q) => {
                timing::wait_seconds(q.select(&env), "SecondsPath", q.as_str()).map(|s| timing::after(now, s))
            }
            WaitFor::TimestampPath(q) => timing::wait_timestamp(q.select(&env), "TimestampPath", q.as_str()),
            WaitFor::SecondsExpr(e) => {
                timing::wait_seconds(jsonata(e)?, "Seconds", e.source()).map(|s| timing::after(now, s))
            }
            WaitFor::TimestampExpr(e) => timing::wait_timestamp(jsonata(e)?, "Timestamp", e.source()),
        };
        until.map_err(StatesError::runtime)
    }

    fn fail_state(&self, call: &Call<'_>, error: &Option<Text>, cause: &Option<Text>, lane: &Lane) -> Halt {
        let env = call.env(&lane.vars);
        let text = |t: &Option<Text>, field| t.as_ref().map(|t| dataflow::resolve_text(t, &env, field)).transpose();
        match (text(error, "Error"), text(cause, "Cause")) {
            (Ok(error), Ok(cause)) => {
                Halt::Error(StatesError::new(error.unwrap_or_default(), cause.unwrap_or_default()))
            }
            (Err(e), _) | (_, Err(e)) => Halt::Error(call.fail(e)),
        }
    }
}

/// A JSONata choice rule's `Condition`: `true`, `false` or an expression giving a boolean.
fn condition_holds(condition: &Template, env: &Env<'_>) -> Result<bool, StatesError> {
    let value = match condition {
        Template::Jsonata(expr) => env.jsonata_of_type(expr, "boolean")?,
        other => render(other, env)?,
    };
    Ok(value == Value::Bool(true))
}

/// AWS's `States.DataLimitExceeded` cause for an output over 256 KiB.
pub(super) fn too_large(name: &str) -> StatesError {
    StatesError::new(
        names::DATA_LIMIT_EXCEEDED,
        format!(
            "The state/task '{name}' returned a result with a size exceeding the maximum number of bytes service limit."
        ),
    )
}
