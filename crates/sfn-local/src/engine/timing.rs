//! When things happen: the execution's deadline, a Wait's end, a Task's time limit,
//! a retry's delay. Every number comes from a definition or an input, so each is
//! bounded as Step Functions bounds it and none can overflow the clock.

use chrono::{DateTime, TimeDelta, Utc};
use serde_json::Value;

use crate::asl::{Retrier, parse_timestamp};
use crate::error::{StatesError, names};
use crate::limits::{self, MAX_EXECUTION_SECONDS, MAX_TASK_TIMEOUT_SECONDS, MAX_WAIT_SECONDS, later};

/// When an execution times out, and the cause its `ExecutionTimedOut` gives: the
/// definition's `TimeoutSeconds`, or the year a Standard execution may last at most.
pub fn execution_deadline(start: DateTime<Utc>, timeout_seconds: Option<u64>) -> (DateTime<Utc>, StatesError) {
    match timeout_seconds {
        Some(s) if s < MAX_EXECUTION_SECONDS as u64 => (
            later(start, limits::seconds(s)),
            StatesError::new(names::TIMEOUT, "The execution ran longer than its TimeoutSeconds"),
        ),
        _ => (
            later(start, TimeDelta::seconds(MAX_EXECUTION_SECONDS)),
            StatesError::new(
                names::TIMEOUT,
                "The execution reached the maximum execution time of a Standard workflow (one year)",
            ),
        ),
    }
}

/// A value as AWS quotes it in a cause: strings bare, the rest as JSON.
fn quoted(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// A Wait's `SecondsPath` (or JSONata `Seconds`) value: an integer from 0 to
/// 99,999,999, as `Seconds` must be. `field` and `described` name it in the cause
/// (`SecondsPath`, `$.s`). A failure's text is the cause without the state prefix.
pub fn wait_seconds(value: Option<Value>, field: &str, described: &str) -> Result<u64, String> {
    let value = value.ok_or_else(|| format!("The {field} parameter does not reference an input value: {described}"))?;
    let shown = format!("{described} == {}", quoted(&value));
    match (value.as_u64(), value.as_i64()) {
        (Some(s), _) if s <= MAX_WAIT_SECONDS => Ok(s),
        (Some(_), _) => Err(format!(
            "The {field} parameter references a value larger than the maximum of {MAX_WAIT_SECONDS}: {shown}"
        )),
        (None, Some(_)) => Err(format!("The {field} parameter references a negative value: {shown}")),
        (None, None) => Err(format!("The {field} parameter cannot be parsed as a long value: {shown}")),
    }
}

/// A Wait's `TimestampPath` (or JSONata `Timestamp`) value: an RFC 3339 timestamp.
pub fn wait_timestamp(value: Option<Value>, field: &str, described: &str) -> Result<DateTime<Utc>, String> {
    let value = value.ok_or_else(|| format!("The {field} parameter does not reference an input value: {described}"))?;
    value.as_str().and_then(parse_timestamp).ok_or_else(|| {
        format!(
            "The {field} parameter does not reference a valid ISO-8601 extended offset date-time format string: {described} == {}",
            quoted(&value)
        )
    })
}

/// `later(now, seconds)`, for a Wait.
pub fn after(now: DateTime<Utc>, seconds: u64) -> DateTime<Utc> {
    later(now, limits::seconds(seconds))
}

/// A Task's `TimeoutSeconds` or `HeartbeatSeconds` in seconds. Definition values were
/// validated as positive; a value from a path or expression must be a positive
/// integer of at most 99,999,999 (the most, and the default, AWS allows).
pub fn task_seconds(value: &Value, field: &str, described: &str) -> Result<f64, String> {
    match value.as_u64() {
        Some(n) if (1..=MAX_TASK_TIMEOUT_SECONDS).contains(&n) => Ok(n as f64),
        _ => Err(format!(
            "The {field} parameter does not reference a positive integer of at most {MAX_TASK_TIMEOUT_SECONDS}: {described} == {}",
            quoted(value)
        )),
    }
}

/// A fixed `TimeoutSeconds`/`HeartbeatSeconds`, at most the longest AWS allows.
pub fn fixed_task_seconds(n: f64) -> f64 {
    n.min(MAX_TASK_TIMEOUT_SECONDS as f64)
}

/// The wait before retry number `attempt` (0-based), by the retrier's rules. A delay
/// past a year only reaches the execution's own end, so it stops there.
pub fn retry_delay(retrier: &Retrier, attempt: u32) -> TimeDelta {
    let growth = retrier.backoff_rate.powi(i32::try_from(attempt).unwrap_or(i32::MAX));
    let mut seconds = (retrier.interval_seconds * growth).min(MAX_EXECUTION_SECONDS as f64);
    if let Some(max) = retrier.max_delay_seconds {
        seconds = seconds.min(max);
    }
    if retrier.full_jitter {
        seconds *= rand::random::<f64>();
    }
    limits::seconds_f64(seconds)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn seconds_path_values_are_bounded_with_aws_causes() {
        let at = |s: Value| wait_seconds(Some(s), "SecondsPath", "$.s");
        assert_eq!(at(json!(60)), Ok(60));
        assert_eq!(at(json!(99_999_999)), Ok(99_999_999));
        assert_eq!(at(json!(-1)), Err("The SecondsPath parameter references a negative value: $.s == -1".into()));
        assert_eq!(
            at(json!(1.5)),
            Err("The SecondsPath parameter cannot be parsed as a long value: $.s == 1.5".into())
        );
        assert_eq!(
            at(json!(1e20)),
            Err("The SecondsPath parameter cannot be parsed as a long value: $.s == 1e+20".into())
        );
        assert_eq!(
            at(json!("ten")),
            Err("The SecondsPath parameter cannot be parsed as a long value: $.s == ten".into())
        );
        assert!(at(json!(u64::MAX)).is_err_and(|e| e.contains("larger than the maximum of 99999999")));
        assert_eq!(
            wait_seconds(None, "SecondsPath", "$.s"),
            Err("The SecondsPath parameter does not reference an input value: $.s".into())
        );
        assert!(wait_timestamp(Some(json!("2024-01-01 00:00:00")), "TimestampPath", "$.t").is_err());
    }

    #[test]
    fn task_limits_from_paths_must_be_positive_integers_of_at_most_99999999() {
        let seconds = |v: Value| task_seconds(&v, "TimeoutSecondsPath", "$.t");
        assert_eq!(seconds(json!(30)), Ok(30.0));
        for bad in [json!(0), json!(-5), json!(2.5), json!(1e20), json!(100_000_000), json!("soon")] {
            assert!(seconds(bad.clone()).is_err_and(|e| e.starts_with("The TimeoutSecondsPath parameter")), "{bad}");
        }
        assert_eq!(fixed_task_seconds(1e300), 99_999_999.0);
    }

    #[test]
    fn retry_delays_never_overflow_and_stop_at_a_year() {
        let retrier = |backoff_rate: f64, full_jitter: bool| Retrier {
            error_equals: vec!["States.ALL".into()],
            interval_seconds: 99_999_999.0,
            max_attempts: 99_999_999,
            backoff_rate,
            max_delay_seconds: None,
            full_jitter,
        };
        let year = TimeDelta::seconds(MAX_EXECUTION_SECONDS);
        assert_eq!(retry_delay(&retrier(f64::MAX, false), 99_999_998), year);
        assert!(retry_delay(&retrier(f64::MAX, true), u32::MAX) <= year);
        assert_eq!(retry_delay(&retrier(1.0, false), 0), year);
    }

    #[test]
    fn without_a_timeout_an_execution_ends_after_a_year() {
        let start = Utc::now();
        let (deadline, error) = execution_deadline(start, None);
        assert_eq!(deadline - start, TimeDelta::days(365));
        assert_eq!(error.error, "States.Timeout");
        assert_eq!(execution_deadline(start, Some(u64::MAX)).0 - start, TimeDelta::days(365));
        assert_eq!(execution_deadline(start, Some(60)).0 - start, TimeDelta::seconds(60));
    }
}
