//! Tracing set-up: JSON lines in Lambda (`AWS_LAMBDA_LOG_FORMAT=JSON`), readable text
//! elsewhere; the level from `AWS_LAMBDA_LOG_LEVEL` or `RUST_LOG`.

use tracing_subscriber::EnvFilter;

pub fn init() {
    let filter = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .map(|level| level.to_lowercase())
        .unwrap_or_else(|_| "info".to_owned());
    let json = std::env::var("AWS_LAMBDA_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::new(filter))
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
    fn addresses_and_tokens_never_appear_in_full() {
        assert_eq!(redact_email("jane.doe@example.com"), "j***@example.com");
        assert_eq!(redact_email("not-an-address"), "***");
        assert_eq!(redact_token("abcdef123456"), "abcd***");
        assert_eq!(redact_email("é@x.org"), "é***@x.org");
    }
}
