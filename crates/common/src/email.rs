//! E-mail addresses as the workflows accept them: one syntax rule for sign-up and
//! enrollment, and one normal form for identity (the domain is case-insensitive, the
//! local part is kept as typed, as RFC 5321 says a server may treat it case-sensitively).

use std::fmt;

/// SMTP's limit on a forward path (RFC 5321 4.5.3.1.3 with errata: 254 characters).
pub const MAX_ADDRESS: usize = 254;
/// SMTP's limit on the local part (RFC 5321 4.5.3.1.1).
pub const MAX_LOCAL: usize = 64;

/// Why an address is refused; the text is a sentence for the person who typed it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_ADDRESS} characters")]
    TooLong,
    #[error("contains a control character (such as a line break)")]
    ControlCharacter,
    #[error("contains an encoded control character (such as %0d%0a)")]
    EncodedControlCharacter,
    #[error("contains a space")]
    Whitespace,
    #[error("must contain exactly one @")]
    AtSigns,
    #[error("has nothing before the @")]
    EmptyLocalPart,
    #[error("has more than {MAX_LOCAL} characters before the @")]
    LocalPartTooLong,
    #[error("has a domain without a dot")]
    DomainWithoutDot,
    #[error("has a domain with an empty label (two dots in a row, or a dot at an end)")]
    EmptyDomainLabel,
    #[error("has a domain with a character other than letters, digits, hyphens and dots")]
    DomainCharacter,
    #[error("has a domain label that starts or ends with a hyphen")]
    DomainHyphen,
}

/// A character that must not reach a message's header or text from a form field: a control
/// character (C0, DEL, C1 such as NEL), and the Unicode line and paragraph separators
/// (U+2028, U+2029), which some mail and JSON consumers also take for line breaks.
pub fn breaks_text(c: char) -> bool {
    c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')
}

/// Whether percent-decoding `text` (up to three times, for double encoding) reveals a character
/// [`breaks_text`] refuses: `%0d%0a`, `%00` or `%E2%80%A8` typed into a field is an injection
/// attempt waiting for a consumer that decodes it, never part of a name or an address.
pub fn hides_text_breaker(text: &str) -> bool {
    let mut current = std::borrow::Cow::Borrowed(text);
    for _ in 0..3 {
        let decoded = percent_encoding::percent_decode_str(&current).decode_utf8_lossy().into_owned();
        if decoded == *current {
            return false;
        }
        if decoded.chars().any(breaks_text) {
            return true;
        }
        current = std::borrow::Cow::Owned(decoded);
    }
    false
}

/// A syntactically deliverable-looking address, in its normal form.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct EmailAddress {
    local: String,
    domain: String,
}

impl EmailAddress {
    /// Checks `raw` (surrounding spaces are trimmed) and normalises its domain to lower case.
    pub fn parse(raw: &str) -> Result<Self, AddressError> {
        let raw = raw.trim_matches(|c: char| c == ' ' || c == '\t');
        if raw.is_empty() {
            return Err(AddressError::Empty);
        }
        if raw.chars().any(breaks_text) {
            return Err(AddressError::ControlCharacter);
        }
        if raw.chars().count() > MAX_ADDRESS {
            return Err(AddressError::TooLong);
        }
        if hides_text_breaker(raw) {
            return Err(AddressError::EncodedControlCharacter);
        }
        if raw.chars().any(char::is_whitespace) {
            return Err(AddressError::Whitespace);
        }
        let mut parts = raw.split('@');
        let (Some(local), Some(domain), None) = (parts.next(), parts.next(), parts.next()) else {
            return Err(AddressError::AtSigns);
        };
        if local.is_empty() {
            return Err(AddressError::EmptyLocalPart);
        }
        if local.chars().count() > MAX_LOCAL {
            return Err(AddressError::LocalPartTooLong);
        }
        if !domain.contains('.') {
            return Err(AddressError::DomainWithoutDot);
        }
        for label in domain.split('.') {
            if label.is_empty() {
                return Err(AddressError::EmptyDomainLabel);
            }
            // Letters of any script are allowed: internationalised domains arrive as typed.
            if !label.chars().all(|c| c.is_alphanumeric() || c == '-') {
                return Err(AddressError::DomainCharacter);
            }
            if label.starts_with('-') || label.ends_with('-') {
                return Err(AddressError::DomainHyphen);
            }
        }
        Ok(Self { local: local.to_owned(), domain: domain.to_lowercase() })
    }

    pub fn local_part(&self) -> &str {
        &self.local
    }

    pub fn domain(&self) -> &str {
        &self.domain
    }

    /// A form fit for logs and execution data (see [`crate::telemetry::redact_email`]).
    pub fn redacted(&self) -> String {
        crate::telemetry::redact_email(&self.to_string())
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.local, self.domain)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(raw: &str) -> AddressError {
        match EmailAddress::parse(raw) {
            Err(e) => e,
            Ok(a) => panic!("{raw:?} accepted as {a}"),
        }
    }

    #[test]
    fn ordinary_addresses_are_accepted_and_the_domain_lower_cased() {
        let a = EmailAddress::parse(" Jane.Doe+news@Example.COM ").expect("valid");
        assert_eq!(a.to_string(), "Jane.Doe+news@example.com", "local part kept as typed");
        assert_eq!(EmailAddress::parse("ana@EXAMPLE.com"), EmailAddress::parse("ana@example.com"));
        assert_ne!(EmailAddress::parse("Ana@example.com"), EmailAddress::parse("ana@example.com"));
        assert!(EmailAddress::parse("李@例子.中国").is_ok(), "internationalised addresses");
    }

    #[test]
    fn header_injection_attempts_are_refused() {
        assert_eq!(refused("a@example.com\r\nBcc: victim@example.com"), AddressError::ControlCharacter);
        assert_eq!(refused("a@example.com\nX: y"), AddressError::ControlCharacter);
        assert_eq!(refused("a\u{0}@example.com"), AddressError::ControlCharacter);
        assert_eq!(refused("a@example.com, b@example.com"), AddressError::Whitespace);
        assert_eq!(refused("a@example.com\u{2028}Bcc: victim@example.com"), AddressError::ControlCharacter);
        assert_eq!(refused("a\u{2029}b@example.com"), AddressError::ControlCharacter);
        assert_eq!(refused("a\u{85}b@example.com"), AddressError::ControlCharacter, "NEL, a C1 control");
    }

    #[test]
    fn percent_encoded_line_breaks_and_nuls_are_refused_once_or_twice_encoded() {
        for raw in [
            "a%0d%0aBcc:x@example.com",
            "a%0D%0A@example.com",
            "a%00@example.com",
            "a%E2%80%A8@example.com",
            "a%250d%250a@example.com",
            "a%0a@example.com",
        ] {
            assert_eq!(refused(raw), AddressError::EncodedControlCharacter, "{raw}");
        }
        assert!(refused("a@example.com%0d%0aBcc:x@y.com").to_string().contains("encoded control character"));
        assert!(EmailAddress::parse("a%b@example.com").is_ok(), "a lone % is an old but valid local part");
        assert!(EmailAddress::parse("a%41@example.com").is_ok(), "an encoded letter hides nothing");
    }

    #[test]
    fn what_breaks_text_and_what_does_not() {
        for c in ['\r', '\n', '\0', '\u{7f}', '\u{85}', '\u{2028}', '\u{2029}'] {
            assert!(breaks_text(c), "{c:?}");
        }
        for c in ['a', ' ', '李', '\u{200d}', '\u{a0}'] {
            assert!(!breaks_text(c), "{c:?}");
        }
        assert!(!hides_text_breaker("100% sure"), "a % that encodes nothing");
        assert!(!hides_text_breaker(&"%25".repeat(1000)), "bounded, and it decodes to no control character");
    }

    #[test]
    fn malformed_addresses_say_why() {
        assert_eq!(refused(""), AddressError::Empty);
        assert_eq!(refused("   "), AddressError::Empty);
        assert_eq!(refused("no-at.example.com"), AddressError::AtSigns);
        assert_eq!(refused("a@b@example.com"), AddressError::AtSigns);
        assert_eq!(refused("@example.com"), AddressError::EmptyLocalPart);
        assert_eq!(refused("a@localhost"), AddressError::DomainWithoutDot);
        assert_eq!(refused("a@example..com"), AddressError::EmptyDomainLabel);
        assert_eq!(refused("a@.example.com"), AddressError::EmptyDomainLabel);
        assert_eq!(refused("a@exa_mple.com"), AddressError::DomainCharacter);
        assert_eq!(refused("a@-example.com"), AddressError::DomainHyphen);
        assert_eq!(refused(&format!("{}@example.com", "a".repeat(65))), AddressError::LocalPartTooLong);
        let long_domain = format!("a@{}.com", "b".repeat(250));
        assert_eq!(refused(&long_domain), AddressError::TooLong);
        assert!(refused("a@exa mple.com").to_string().contains("space"));
    }

    #[test]
    fn the_length_limit_is_254_characters() {
        let domain = format!("{}.{}.{}.{}", "d".repeat(63), "d".repeat(63), "d".repeat(63), "d".repeat(60));
        let fits = format!("a@{domain}");
        assert_eq!(fits.chars().count(), 254);
        assert!(EmailAddress::parse(&fits).is_ok());
        assert_eq!(refused(&format!("ab@{domain}")), AddressError::TooLong);
    }

    #[test]
    fn redacted_form_hides_the_local_part() {
        let a = EmailAddress::parse("secret.person@example.com").expect("valid");
        assert!(!a.redacted().contains("secret.person"));
        assert!(a.redacted().ends_with("@example.com"));
    }
}
