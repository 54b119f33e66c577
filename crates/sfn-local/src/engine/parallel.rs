//! Parallel and Map states: branches and iterations on lanes of their own (each with
//! its own variable scope reading the outer variables), their events, and a Map's
//! concurrency and failure tolerance.

use futures::StreamExt;
use serde_json::{Value, json};

use super::context::{Context, Env};
use super::dataflow::{render, resolve_amount, select};
use super::events::EventKind;
use super::states::Call;
use super::{Halt, Lane, Run, UNBOUNDED_MAP_CONCURRENCY};
use crate::asl::{MapState, StateMachine, Template};
use crate::error::{StatesError, names};
use crate::path::type_name;

impl Run {
    pub(super) async fn parallel(
        &self,
        branches: &[StateMachine],
        input: Value,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        self.event(lane, EventKind::ParallelStateStarted, None);
        let scope = lane.vars.nested();
        let mut lanes: Vec<Lane> = branches.iter().map(|_| lane.fork(&scope)).collect();
        let runs = branches
            .iter()
            .zip(lanes.iter_mut())
            .map(|(branch, branch_lane)| self.machine(branch, input.clone(), branch_lane, None));
        // The first failure ends the others (they are dropped), as on AWS.
        let result = futures::future::try_join_all(runs).await;
        lane.timeline.join(lanes.iter().map(|l| &l.timeline));
        lane.last_event = lanes.iter().map(|l| l.last_event).max().unwrap_or(lane.last_event);
        match result {
            Ok(outputs) => {
                self.event(lane, EventKind::ParallelStateSucceeded, None);
                Ok(Value::Array(outputs))
            }
            Err(halt) => {
                self.event(lane, EventKind::ParallelStateFailed, None);
                Err(halt)
            }
        }
    }

    pub(super) async fn map(
        &self,
        call: &Call<'_>,
        map: &MapState,
        input: Value,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let name = call.name;
        let env = Env::new(&input, call.ctx, &lane.vars);
        let items = match &map.items {
            Some(Template::Jsonata(expr)) => env.jsonata_of_type(expr, "array"),
            Some(template) => render(template, &env),
            None => select(&map.items_path, &input),
        };
        let items = match items.map_err(|e| call.fail(e))? {
            Value::Array(items) => items,
            other => {
                let field = if map.items.is_some() { "Items" } else { "ItemsPath" };
                return Err(Halt::Error(call.fail(StatesError::runtime(format!(
                    "The {field} field must give an array, not a {}",
                    type_name(&other)
                )))));
            }
        };
        let amount = |a: &Option<crate::asl::Amount>, field| {
            a.as_ref().map(|a| resolve_amount(a, &env, field)).transpose().map_err(|e| call.fail(e))
        };
        let max_concurrency = amount(&map.max_concurrency, "MaxConcurrency")?.unwrap_or(0.0) as usize;
        let tolerated_count = amount(&map.tolerated_failure_count, "ToleratedFailureCount")?;
        let tolerated_percent = amount(&map.tolerated_failure_percentage, "ToleratedFailurePercentage")?;
        let count = items.len();
        self.event(lane, EventKind::MapStateStarted, Some(json!({"length": count})));
        let concurrency = if max_concurrency == 0 { UNBOUNDED_MAP_CONCURRENCY } else { max_concurrency };
        let tolerant = tolerated_count.is_some() || tolerated_percent.is_some();
        let exceeds = |failures: usize| {
            let over_count = tolerated_count.is_some_and(|c| failures as f64 > c);
            let over_percent =
                tolerated_percent.is_some_and(|p| count > 0 && failures as f64 * 100.0 / count as f64 > p);
            // With both set, exceeding either one fails the Map.
            over_count || over_percent
        };

        let scope = lane.vars.nested();
        let base_lane = lane.fork(&scope);
        let input = &input;
        let iterations = items.into_iter().enumerate().map(|(index, item)| {
            let mut item_lane = base_lane.clone();
            async move {
                let map_item = (index, item);
                item_lane.last_event = self.execution.record(
                    item_lane.last_event,
                    item_lane.timeline.now(),
                    EventKind::MapIterationStarted,
                    Some(json!({"name": name, "index": index})),
                );
                let item_input = match &map.item_selector {
                    Some(selector) => {
                        let ctx = Context::new(self, name, call.ctx.entered, Some(&map_item));
                        let env = Env::new(input, &ctx, &item_lane.vars);
                        render(selector, &env).map_err(|e| Halt::Error(call.fail(e)))
                    }
                    None => Ok(map_item.1.clone()),
                };
                let result = match item_input {
                    Ok(v) => self.machine(&map.processor, v, &mut item_lane, Some(&map_item)).await,
                    Err(e) => Err(e),
                };
                let kind =
                    if result.is_ok() { EventKind::MapIterationSucceeded } else { EventKind::MapIterationFailed };
                item_lane.last_event = self.execution.record(
                    item_lane.last_event,
                    item_lane.timeline.now(),
                    kind,
                    Some(json!({"name": name, "index": index})),
                );
                (index, result, item_lane)
            }
        });
        let mut stream = futures::stream::iter(iterations).buffer_unordered(concurrency.max(1));
        let mut outputs = vec![Value::Null; count];
        let mut failures = 0usize;
        let mut failure: Option<Halt> = None;
        let mut finished_lanes = Vec::with_capacity(count);
        while let Some((index, result, item_lane)) = stream.next().await {
            finished_lanes.push(item_lane);
            match result {
                Ok(v) => outputs[index] = v,
                Err(Halt::Error(e)) if tolerant => {
                    failures += 1;
                    outputs[index] = e.to_output();
                    if exceeds(failures) {
                        failure = Some(Halt::Error(StatesError::new(
                            names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                            format!("Map state '{name}': {failures} of {count} iterations failed, more than tolerated"),
                        )));
                        break;
                    }
                }
                Err(halt) => {
                    failure = Some(halt);
                    break;
                }
            }
        }
        drop(stream);
        lane.timeline.join(finished_lanes.iter().map(|l| &l.timeline));
        lane.last_event = finished_lanes.iter().map(|l| l.last_event).max().unwrap_or(lane.last_event);
        match failure {
            None => {
                self.event(lane, EventKind::MapStateSucceeded, None);
                Ok(Value::Array(outputs))
            }
            Some(halt) => {
                self.event(lane, EventKind::MapStateFailed, None);
                Err(halt)
            }
        }
    }
}
