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

/// An e-mail address fit for a log line: `j***@example.com`.
pub fn redact_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}

/// A secret fit for a log line: its first four characters.
pub fn redact_token(token: &str) -> String {
    let head: String = token.chars().take(4).collect();
    format!("{head}***")
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
        assert_eq!(redact_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(redact_email("not-an-address"), "***");
        assert_eq!(redact_token("abcdef123456"), "abcd***");
        assert_eq!(redact_email("é@x.org"), "é***@x.org");
    }
}
