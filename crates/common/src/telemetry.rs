//! Tracing set-up: JSON lines in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), readable text
//! elsewhere; the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.

use tracing_subscriber::filter::LevelFilter;

/// The level from `AWS_LAMBDA_LOG_LEVEL` (Lambda's own setting) or `RUST_LOG`: one of
/// trace, debug, info, warn, error, off; `info` when unset or unreadable.
pub fn level_from(value: Option<&str>) -> LevelFilter {
    value.and_then(|v| v.trim().to_ascii_lowercase().parse::<LevelFilter>().ok()).unwrap_or(LevelFilter::INFO)
}

pub fn init() {
    let setting = std::env::var("AWS_LAMBDA_LOG_LEVEL").or_else(|_| std::env::var("RUST_LOG")).ok();
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_max_level(level_from(setting.as_deref()))
        .with_target(false)
        .with_writer(std::io::stderr);
    // A second initialisation (tests) is harmless: keep the first subscriber.
    let _ = if json {
        builder.json().with_current_span(true).without_time().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// An e-mail address fit for a log line or an execution's data: its first character, a
/// hash of the whole address (so two lines about one address can be matched) and the
/// domain: `j***#1a2b3c4d@example.com`.
pub fn redact_email(email: &str) -> String {
    match email.rsplit_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***#{}@{domain}", hash8(email))
        }
        None => mask(email),
    }
}

/// A secret (token, device token) fit for a log line: its first four characters and a hash.
pub fn redact_token(token: &str) -> String {
    let head: String = token.chars().take(4).collect();
    format!("{head}***#{}", hash8(token))
}

/// An identifier (user id, customer id) fit for a log line or an execution's data: its
/// first two characters and a hash, so it can be matched but not read back.
pub fn mask(value: &str) -> String {
    let head: String = value.chars().take(2).collect();
    format!("{head}***#{}", hash8(value))
}

fn hash8(value: &str) -> String {
    use sha2::{Digest, Sha256};
    Sha256::digest(value.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_read_as_lambda_writes_them() {
        assert_eq!(level_from(Some("WARN")), LevelFilter::WARN);
        assert_eq!(level_from(Some("debug")), LevelFilter::DEBUG);
        assert_eq!(level_from(Some("nonsense")), LevelFilter::INFO);
        assert_eq!(level_from(None), LevelFilter::INFO);
    }

    #[test]
    fn addresses_and_tokens_never_appear_in_full() {
        let email = redact_email("jane.doe@example.com");
        assert!(email.starts_with("j***#") && email.ends_with("@example.com"), "{email}");
        assert!(!email.contains("jane.doe"));
        assert_ne!(email, redact_email("jim@example.com"), "the hash tells addresses apart");
        assert!(!redact_email("not-an-address").contains("an-address"));
        let token = redact_token("abcdef123456");
        assert!(token.starts_with("abcd***#") && !token.contains("123456"), "{token}");
        assert!(redact_email("é@x.org").starts_with("é***#"));
        let id = mask("user-12345");
        assert!(id.starts_with("us***#") && !id.contains("12345"), "{id}");
        assert_eq!(mask("user-12345"), mask("user-12345"));
    }
}
