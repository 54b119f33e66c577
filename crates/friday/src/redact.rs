//! Scrubbing personal data out of text that comes from elsewhere (an AWS error message, a
//! push service's status) before it reaches a log line, an error or an execution's data.

use common::PortError;
use common::telemetry::{mask, redact_token};

/// `text` with every occurrence of each user id replaced by its masked form.
pub fn ids(text: &str, user_ids: &[&str]) -> String {
    replace_all(text, user_ids, MASK_SHOWS, mask)
}

/// `text` with every occurrence of each token replaced by its redacted form.
pub fn tokens(text: &str, secrets: &[&str]) -> String {
    replace_all(text, secrets, REDACT_TOKEN_SHOWS, redact_token)
}

/// How many leading characters [`mask`] and [`redact_token`] keep: a secret no longer
/// than that is shown by them anyway, and replacing it would only garble the text.
const MASK_SHOWS: usize = 2;
const REDACT_TOKEN_SHOWS: usize = 4;

fn replace_all(text: &str, secrets: &[&str], shown: usize, hide: fn(&str) -> String) -> String {
    // Longest first, so a secret that contains another is hidden whole.
    let mut ordered: Vec<&str> = secrets.iter().copied().filter(|s| s.chars().count() > shown).collect();
    ordered.sort_by_key(|s| std::cmp::Reverse(s.len()));
    ordered.iter().fold(text.to_owned(), |acc, secret| acc.replace(secret, &hide(secret)))
}

/// A port error whose message no longer quotes the given user ids.
pub fn port_error(err: PortError, user_ids: &[&str]) -> PortError {
    map_message(err, |m| ids(&m, user_ids))
}

/// A port error whose message no longer quotes the given tokens.
pub fn port_error_tokens(err: PortError, secrets: &[&str]) -> PortError {
    map_message(err, |m| tokens(&m, secrets))
}

fn map_message(err: PortError, scrub: impl Fn(String) -> String) -> PortError {
    match err {
        PortError::Transient { service, message } => PortError::Transient { service, message: scrub(message) },
        PortError::NotFound { service, message } => PortError::NotFound { service, message: scrub(message) },
        PortError::ConditionFailed { service, message } => {
            PortError::ConditionFailed { service, message: scrub(message) }
        }
        PortError::Rejected { service, code, message } => {
            PortError::Rejected { service, code, message: scrub(message) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_occurrence_is_hidden_and_the_rest_kept() {
        let text = ids("user ana.b failed; ana.b again", &["ana.b"]);
        assert_eq!(text, format!("user {0} failed; {0} again", mask("ana.b")));
        assert_eq!(ids("nothing here", &["ana.b", ""]), "nothing here");
        assert_eq!(ids("a short id is shown by the mask anyway", &["a"]), "a short id is shown by the mask anyway");
    }

    #[test]
    fn a_longer_secret_containing_a_shorter_one_is_hidden_whole() {
        let text = tokens("tokens abcde and abcdefgh", &["abcde", "abcdefgh"]);
        assert!(!text.contains("abcdefgh") && !text.contains("abcde "), "{text}");
        assert!(text.contains(&redact_token("abcdefgh")), "{text}");
    }

    #[test]
    fn port_errors_keep_their_kind_and_code() {
        let err = port_error(
            PortError::Rejected { service: "sfn", code: "InvalidName".into(), message: "bad name ana.b-1".into() },
            &["ana.b"],
        );
        assert!(
            matches!(&err, PortError::Rejected { code, message, .. } if code == "InvalidName" && !message.contains("ana.b"))
        );
        let err = port_error_tokens(
            PortError::Transient { service: "pinpoint", message: "tok-123 timed out".into() },
            &["tok-123"],
        );
        assert!(err.is_transient() && !err.to_string().contains("tok-123"));
    }
}
