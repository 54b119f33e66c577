//! The numeric limits Step Functions enforces, in one place, and the saturating time
//! arithmetic that keeps every number a definition, an input or a request can carry
//! from overflowing `chrono` or `std::time`.

use chrono::{DateTime, TimeDelta, Utc};

/// A Standard execution runs for at most a year; past it, the execution times out
/// (Step Functions service quotas: "Maximum execution time: 1 year").
pub const MAX_EXECUTION_SECONDS: i64 = 365 * 86_400;

/// `Seconds` of a Wait, and what `SecondsPath` may resolve to: 0 to 99,999,999
/// (the Wait state's documented range).
pub const MAX_WAIT_SECONDS: u64 = 99_999_999;

/// A Task's `TimeoutSeconds` when none is given, and the most it may be.
pub const MAX_TASK_TIMEOUT_SECONDS: u64 = 99_999_999;

/// The history of one execution holds at most 25,000 events; the 25,000th is the
/// `ExecutionFailed` that ends it (`States.Runtime`).
pub const MAX_HISTORY_EVENTS: usize = 25_000;

/// `maxResults` of the List and history operations: 0 means the default of 100; the
/// most is 1,000.
pub const DEFAULT_PAGE_SIZE: usize = 100;
pub const MAX_PAGE_SIZE: usize = 1_000;

/// The most one `POST /_sfn-local/clock` may move a manual clock: ten years, enough
/// to pass any execution's one-year limit, small enough to be a mistake when exceeded.
/// (AWS has no such API; this limit is sfn-local's own.)
pub const MAX_CLOCK_ADVANCE_SECONDS: f64 = 10.0 * 365.0 * 86_400.0;

/// Finished executions `serve` keeps by default; older finished ones are dropped.
pub const DEFAULT_MAX_FINISHED_EXECUTIONS: usize = 10_000;

/// The latest instant sfn-local lets any clock reach: the last one RFC 3339's four-digit
/// years (and so every SDK's timestamp parser) can write.
pub fn latest_instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("9999-12-31T23:59:59Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `seconds` as a time span, saturating instead of panicking on huge values.
pub fn seconds(seconds: u64) -> TimeDelta {
    i64::try_from(seconds).ok().and_then(TimeDelta::try_seconds).unwrap_or(TimeDelta::MAX)
}

/// A possibly fractional, possibly non-finite number of seconds as a time span:
/// NaN and negatives are zero, the too large saturate.
pub fn seconds_f64(seconds: f64) -> TimeDelta {
    if seconds.is_nan() || seconds <= 0.0 {
        return TimeDelta::zero();
    }
    let millis = (seconds * 1000.0).min(i64::MAX as f64) as i64;
    TimeDelta::try_milliseconds(millis).unwrap_or(TimeDelta::MAX)
}

/// `at + span`, stopping at the latest representable instant instead of panicking.
pub fn later(at: DateTime<Utc>, span: TimeDelta) -> DateTime<Utc> {
    at.checked_add_signed(span).unwrap_or(DateTime::<Utc>::MAX_UTC)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn time_arithmetic_saturates_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(later(now, seconds(u64::MAX)), DateTime::<Utc>::MAX_UTC);
        assert_eq!(later(DateTime::<Utc>::MAX_UTC, TimeDelta::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(seconds_f64(f64::NAN), TimeDelta::zero());
        assert_eq!(seconds_f64(-1.0), TimeDelta::zero());
        assert_eq!(seconds_f64(f64::INFINITY), TimeDelta::MAX);
        assert_eq!(seconds_f64(1e300), TimeDelta::MAX);
        assert_eq!(seconds_f64(1.5), TimeDelta::milliseconds(1500));
        assert_eq!(seconds(86_400), TimeDelta::days(1));
        assert_eq!(latest_instant().timestamp(), 253_402_300_799);
    }
}
