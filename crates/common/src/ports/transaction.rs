//! How a cancelled `TransactWriteItems` reads as a [`PortError`], in one place for the
//! DynamoDB adapter and its in-memory twin, so both answer alike.
//!
//! DynamoDB cancels a whole transaction and gives one reason per write, in order: `None`
//! for the writes that were fine, and a code such as `ConditionalCheckFailed` or
//! `TransactionConflict` for the ones that were not (the `TransactionCanceledException`
//! reference of the DynamoDB API).

use crate::error::PortError;

const SERVICE: &str = "dynamodb";

/// Cancellation codes worth retrying: another transaction held the item, or throughput.
const TRANSIENT_REASONS: &[&str] = &["TransactionConflict", "ThrottlingError", "ProvisionedThroughputExceeded"];

/// A transaction refused because the condition of write `index` was false.
pub fn condition_failed(index: usize) -> PortError {
    PortError::ConditionFailed { service: SERVICE, message: format!("condition of write {index} failed") }
}

/// The index of the write whose condition cancelled a transaction, if `err` is that.
pub fn failed_write(err: &PortError) -> Option<usize> {
    match err {
        PortError::ConditionFailed { message, .. } => {
            message.strip_prefix("condition of write ")?.strip_suffix(" failed")?.parse().ok()
        }
        _ => None,
    }
}

/// Reads the per-write reasons of a `TransactionCanceledException`: a false condition wins
/// (it is the caller's answer, retrying cannot change it); a conflict or throttling is
/// transient; anything else is refused under the exception's code.
pub fn cancelled(reasons: &[Option<&str>]) -> PortError {
    if let Some(index) = reasons.iter().position(|r| *r == Some("ConditionalCheckFailed")) {
        return condition_failed(index);
    }
    let listed: Vec<&str> = reasons.iter().map(|r| r.unwrap_or("None")).collect();
    let message = format!("TransactionCanceledException: cancellation reasons [{}]", listed.join(", "));
    if reasons.iter().flatten().any(|r| TRANSIENT_REASONS.contains(r)) {
        PortError::Transient { service: SERVICE, message }
    } else {
        PortError::Rejected { service: SERVICE, code: "TransactionCanceledException".into(), message }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_false_condition_names_its_write() {
        let err = cancelled(&[None, Some("ConditionalCheckFailed")]);
        assert_eq!(err, condition_failed(1));
        assert_eq!(failed_write(&err), Some(1));
    }

    #[test]
    fn the_first_false_condition_is_reported_when_several_fail() {
        assert_eq!(
            failed_write(&cancelled(&[Some("ConditionalCheckFailed"), Some("ConditionalCheckFailed")])),
            Some(0)
        );
    }

    #[test]
    fn a_condition_outranks_a_conflict_in_the_same_cancellation() {
        let err = cancelled(&[Some("TransactionConflict"), Some("ConditionalCheckFailed")]);
        assert_eq!(failed_write(&err), Some(1));
    }

    #[test]
    fn transaction_conflict_is_transient_so_it_is_retried() {
        let err = cancelled(&[None, Some("TransactionConflict")]);
        assert!(err.is_transient(), "{err:?}");
        assert!(err.to_string().contains("[None, TransactionConflict]"), "{err}");
        assert!(cancelled(&[Some("ThrottlingError")]).is_transient());
        assert_eq!(failed_write(&err), None);
    }

    #[test]
    fn other_cancellations_are_refused_under_the_exception_code() {
        match cancelled(&[Some("ValidationError"), None]) {
            PortError::Rejected { code, message, .. } => {
                assert_eq!(code, "TransactionCanceledException");
                assert!(message.contains("ValidationError"));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn other_errors_name_no_write() {
        assert_eq!(failed_write(&PortError::ConditionFailed { service: "dynamodb", message: "x".into() }), None);
        assert_eq!(failed_write(&PortError::Transient { service: "dynamodb", message: "x".into() }), None);
    }
}
