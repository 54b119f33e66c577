//! Task states: the time limits, `Parameters`/`Arguments` evaluated for each attempt
//! (so `$$.State.RetryCount` counts), Retry, `ResultSelector`/`ResultPath`, Catch, and
//! the Lambda call with its history events.

use std::time::Duration;

use serde_json::{Value, json};

use super::dataflow::{check_size, place_result, render};
use super::events::{EventKind, TaskStep};
use super::states::{Call, Done, Handled, too_large};
use super::{Halt, Lane, Run, retry_delay, timing};
use crate::asl::{Amount, Handling, MapState, QueryLanguage, Retrier, StateMachine};
use crate::error::{StatesError, names};
use crate::lambda::is_function_arn;
use crate::limits::later;

const LAMBDA_INVOKE: &str = "arn:aws:states:::lambda:invoke";

/// The work a Task, Parallel or Map state does once its input is ready.
pub(super) enum Work<'a> {
    /// The time limits resolved, in seconds.
    Task {
        resource: &'a str,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
    },
    Parallel(&'a [StateMachine]),
    Map(&'a MapState),
}

impl Run {
    /// A Task's work, its time limits resolved from the definition, a path or an expression.
    pub(super) fn task_work<'a>(
        &self,
        call: &Call<'_>,
        resource: &'a str,
        timeout: Option<&Amount>,
        heartbeat: Option<&Amount>,
        lane: &Lane,
    ) -> Result<Work<'a>, Halt> {
        let env = call.env(&lane.vars);
        let seconds = |amount: Option<&Amount>, field: &str| -> Result<Option<f64>, StatesError> {
            let (value, described, field) = match amount {
                None => return Ok(None),
                Some(Amount::Fixed(n)) => return Ok(Some(timing::fixed_task_seconds(*n))),
                Some(Amount::FromPath(q)) => {
                    let value = q.select(&env).ok_or_else(|| {
                        StatesError::runtime(format!(
                            "The {field}Path parameter does not reference an input value: {}",
                            q.as_str()
                        ))
                    })?;
                    (value, q.as_str().to_owned(), format!("{field}Path"))
                }
                Some(Amount::Jsonata(e)) => (env.jsonata(e)?, e.source().to_owned(), field.to_owned()),
            };
            timing::task_seconds(&value, &field, &described).map(Some).map_err(StatesError::runtime)
        };
        let timeout = seconds(timeout, "TimeoutSeconds").map_err(|e| call.fail(e))?;
        let heartbeat = seconds(heartbeat, "HeartbeatSeconds").map_err(|e| call.fail(e))?;
        Ok(Work::Task { resource, timeout, heartbeat })
    }

    /// `Parameters` and the work, retried as the retriers say; then `ResultSelector`
    /// and `ResultPath`. A failure on the way goes to the first matching catcher.
    pub(super) async fn handled<'h>(
        &self,
        call: &Call<'_>,
        work: &Work<'_>,
        handling: &'h Handling,
        lane: &mut Lane,
    ) -> Result<Handled<'h>, Halt> {
        let outcome = match self.with_retries(call, work, handling, lane).await {
            Ok(result) => self.place(call, handling, result, lane),
            Err(halt) => Err(halt),
        };
        match outcome {
            Ok(done) => Ok(Handled::Result(done)),
            Err(Halt::Error(e)) => match handling.catch.iter().find(|c| c.error_equals.iter().any(|p| e.matches(p))) {
                Some(catcher) => Ok(Handled::Caught(catcher, e)),
                None => Err(Halt::Error(e)),
            },
            Err(halt) => Err(halt),
        }
    }

    /// `ResultSelector` and `ResultPath` (JSONPath); a JSONata result goes on as it is.
    fn place(&self, call: &Call<'_>, handling: &Handling, result: Value, lane: &Lane) -> Result<Done, Halt> {
        if call.state.language == QueryLanguage::Jsonata {
            return Ok(Done {
                result: result.clone(),
                placed: result,
                has_result: true,
                next: None,
                assigned: None,
                chosen: None,
            });
        }
        let selected = match &handling.result_selector {
            Some(selector) => {
                let env = super::context::Env::new(&result, call.ctx, &lane.vars);
                render(selector, &env).map_err(|e| call.fail(e))?
            }
            None => result,
        };
        let placed = place_result(&handling.result_path, call.raw_input, selected.clone()).map_err(|e| call.fail(e))?;
        Ok(Done { result: selected, placed, has_result: true, next: None, assigned: None, chosen: None })
    }

    async fn with_retries(
        &self,
        call: &Call<'_>,
        work: &Work<'_>,
        handling: &Handling,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let mut attempts = vec![0u32; handling.retry.len()];
        let mut retries = 0u32;
        loop {
            let error = match self.attempt(call, work, handling, retries, lane).await {
                Ok(v) => return Ok(v),
                Err(Halt::Error(e)) => e,
                Err(halt) => return Err(halt),
            };
            let Some(delay) = next_retry(&handling.retry, &mut attempts, &error) else {
                return Err(Halt::Error(error));
            };
            retries += 1;
            tracing::debug!(state = call.name, error = %error.error, retries, ?delay, "retrying");
            self.check_limits(lane)?;
            self.sleep_until(lane, later(lane.timeline.now(), delay)).await?;
        }
    }

    /// One attempt: `Parameters`/`Arguments` for it (`$$.State.RetryCount` = `retries`),
    /// then the work.
    async fn attempt(
        &self,
        call: &Call<'_>,
        work: &Work<'_>,
        handling: &Handling,
        retries: u32,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let ctx = call.ctx.attempt(retries);
        let params = match &handling.parameters {
            Some(p) => {
                let env = super::context::Env::new(call.effective, &ctx, &lane.vars);
                render(p, &env).map_err(|e| call.fail(e))?
            }
            None => call.effective.clone(),
        };
        match work {
            Work::Task { resource, timeout, heartbeat } => {
                self.task(call.name, resource, params, *timeout, *heartbeat, lane).await
            }
            Work::Parallel(branches) => self.parallel(branches, params, lane).await,
            Work::Map(map) => self.map(call, map, params, lane).await,
        }
    }

    async fn task(
        &self,
        name: &str,
        resource: &str,
        params: Value,
        timeout: Option<f64>,
        heartbeat: Option<f64>,
        lane: &mut Lane,
    ) -> Result<Value, Halt> {
        let optimized = resource == LAMBDA_INVOKE;
        if !optimized && !is_function_arn(resource) {
            return Err(Halt::Error(StatesError::runtime(format!(
                "sfn-local runs Lambda tasks only ('{LAMBDA_INVOKE}' or a function ARN), not '{resource}'"
            ))));
        }
        let (function, payload) = if optimized {
            let function = params.get("FunctionName").and_then(Value::as_str).map(str::to_owned).ok_or_else(|| {
                StatesError::runtime("The lambda:invoke task needs a 'FunctionName' string in its Parameters")
            })?;
            (function, params.get("Payload").cloned().unwrap_or_else(|| json!({})))
        } else {
            (resource.to_owned(), params)
        };
        let params_text = check_size(&payload, "task input").map_err(|_| too_large(name))?;
        let resource_fields =
            if optimized { json!({"resourceType": "lambda", "resource": "invoke"}) } else { json!({}) };
        let details = |extra: Value| {
            let mut base = resource_fields.clone();
            if let (Value::Object(b), Value::Object(e)) = (&mut base, extra) {
                b.extend(e);
            }
            base
        };
        let scheduled = if optimized {
            details(
                json!({"region": self.engine.region, "parameters": json!({"FunctionName": function, "Payload": payload}).to_string()}),
            )
        } else {
            json!({"resource": resource, "input": params_text})
        };
        let scheduled = match timeout {
            Some(t) => {
                let mut s = scheduled;
                s["timeoutInSeconds"] = json!(t as u64);
                s
            }
            None => scheduled,
        };
        // An integration records Task... events; a plain function ARN LambdaFunction... ones.
        let kind = |step| if optimized { EventKind::Task(step) } else { EventKind::LambdaFunction(step) };
        self.event(lane, kind(TaskStep::Scheduled), Some(scheduled));
        self.event(lane, kind(TaskStep::Started), Some(details(json!({}))));
        let limit = match (timeout, heartbeat) {
            (Some(t), Some(h)) => Some((t.min(h), if h < t { names::HEARTBEAT_TIMEOUT } else { names::TIMEOUT })),
            (Some(t), None) => Some((t, names::TIMEOUT)),
            (None, Some(h)) => Some((h, names::HEARTBEAT_TIMEOUT)),
            (None, None) => None,
        };
        let call = self.engine.invoker.invoke(&function, payload);
        let outcome = match limit {
            Some((seconds, error)) => {
                match tokio::time::timeout(Duration::try_from_secs_f64(seconds).unwrap_or(Duration::MAX), call).await {
                    Ok(result) => result,
                    Err(_) => {
                        let e = StatesError::new(error, format!("The task did not finish within {seconds} seconds"));
                        let timed_out = details(json!({"error": e.error, "cause": e.cause}));
                        self.event(lane, kind(TaskStep::TimedOut), Some(timed_out));
                        return Err(Halt::Error(e));
                    }
                }
            }
            None => call.await,
        };
        match outcome {
            Ok(payload) => {
                let result = if optimized {
                    json!({
                        "ExecutedVersion": "$LATEST",
                        "Payload": payload,
                        "SdkHttpMetadata": {"HttpHeaders": {"Content-Type": "application/json"}, "HttpStatusCode": 200},
                        "SdkResponseMetadata": {"RequestId": uuid::Uuid::new_v4().to_string()},
                        "StatusCode": 200
                    })
                } else {
                    payload
                };
                let text = check_size(&result, "task result").map_err(|_| too_large(name))?;
                let succeeded = details(json!({"output": text, "outputDetails": {"truncated": false}}));
                self.event(lane, kind(TaskStep::Succeeded), Some(succeeded));
                Ok(result)
            }
            Err(e) => {
                self.event(lane, kind(TaskStep::Failed), Some(details(json!({"error": e.error, "cause": e.cause}))));
                Err(Halt::Error(e))
            }
        }
    }
}

/// The delay before the next retry, when a retrier matches `error` and has attempts
/// left (counted per retrier, as the States Language counts them).
fn next_retry(retriers: &[Retrier], attempts: &mut [u32], error: &StatesError) -> Option<chrono::TimeDelta> {
    let index = retriers.iter().position(|r| r.error_equals.iter().any(|p| error.matches(p)))?;
    let retrier = &retriers[index];
    if attempts[index] >= retrier.max_attempts {
        return None;
    }
    let delay = retry_delay(retrier, attempts[index]);
    attempts[index] += 1;
    Some(delay)
}
