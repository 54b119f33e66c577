//! The sign-up rules, free of I/O: what a registration must hold, the customer id an
//! address maps to, tokens, the confirmation link and the two messages.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use common::email::{AddressError, EmailAddress, breaks_text, hides_text_breaker};
use common::http::ContentTypeError;
use common::ports::Email;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;

/// The longest name accepted, in characters (not bytes: `李小龍` is three).
pub const MAX_NAME: usize = 200;

/// The largest registration body taken, in bytes. A registration is an address of at most 254
/// characters and a name of at most 200 (under 3 KB even with every character escaped as
/// `\uXXXX`); 64 KiB leaves room for other members, holds a 10,000-level nesting (refused for its depth,
/// with a message that says so) and bounds the work any body can cause.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The deepest nesting of arrays and objects taken. A registration is one flat object; a
/// little depth is allowed for members it ignores. serde_json alone stops at 128 levels with
/// a message that calls the body "not JSON".
pub const MAX_DEPTH: usize = 16;

/// Random bytes in a confirmation token: 256 bits, well past the 128 an unguessable
/// token needs, for 43 URL-safe characters.
pub const TOKEN_BYTES: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    #[error("is empty")]
    Empty,
    #[error("is longer than {MAX_NAME} characters")]
    TooLong,
    #[error("contains a control character (such as a line break)")]
    ControlCharacter,
    #[error("contains an encoded control character (such as %0d%0a)")]
    EncodedControlCharacter,
}

/// Why a registration body is refused; the text names the field and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    #[error("the body is missing: send a JSON object with \"email\" and \"name\"")]
    NoBody,
    #[error("the body is larger than {MAX_BODY_BYTES} bytes: send a JSON object with \"email\" and \"name\"")]
    TooLarge,
    #[error("{0}")]
    ContentType(#[from] ContentTypeError),
    #[error("the body is not valid base64: {0}")]
    NotBase64(String),
    #[error("the body is not UTF-8 text")]
    NotUtf8,
    #[error("the body is not JSON: {0}")]
    NotJson(String),
    #[error("the body nests arrays or objects deeper than {MAX_DEPTH} levels: send a flat JSON object")]
    TooDeep,
    #[error("the body gives {0} more than once")]
    Repeated(&'static str),
    #[error("the body must be a JSON object with \"email\" and \"name\"")]
    NotAnObject,
    #[error("{0} is required")]
    Missing(&'static str),
    #[error("{0} must be a string")]
    NotAString(&'static str),
    #[error("email {0}")]
    Email(#[from] AddressError),
    #[error("name {0}")]
    Name(#[from] NameError),
}

/// A valid registration: the address in its normal form, the name trimmed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registration {
    pub email: EmailAddress,
    pub name: String,
}

impl RegistrationError {
    /// The HTTP status that answers this refusal.
    pub fn status(&self) -> i64 {
        match self {
            RegistrationError::TooLarge => 413,
            RegistrationError::ContentType(_) => 415,
            _ => 400,
        }
    }
}

/// Refuses an empty body, and one over [`MAX_BODY_BYTES`] once decoded, without decoding it.
pub fn within_limit(body: &str, base64_encoded: bool) -> Result<(), RegistrationError> {
    // A base64 text of n characters decodes to at most 3n/4 bytes (the estimate rounds up).
    let decoded = if base64_encoded { base64::decoded_len_estimate(body.len()) } else { body.len() };
    match (body.is_empty(), decoded > MAX_BODY_BYTES + 2 * usize::from(base64_encoded)) {
        (true, _) => Err(RegistrationError::NoBody),
        (false, true) => Err(RegistrationError::TooLarge),
        (false, false) => Ok(()),
    }
}

/// The body's text as API Gateway delivered it: as it is, or base64-decoded when API Gateway did
/// not take it for text (a binary content type, or bytes that are not UTF-8).
pub fn body_text(body: &str, base64_encoded: bool) -> Result<String, RegistrationError> {
    within_limit(body, base64_encoded)?;
    if !base64_encoded {
        return Ok(body.to_owned());
    }
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|e| RegistrationError::NotBase64(e.to_string()))?;
    if bytes.len() > MAX_BODY_BYTES {
        return Err(RegistrationError::TooLarge);
    }
    String::from_utf8(bytes).map_err(|_| RegistrationError::NotUtf8)
}

/// Reads `{"email","name"}`; other members are ignored, as most JSON APIs do, but `email` or
/// `name` given twice is refused: serde_json keeps the last of equal keys, so a filter or a log
/// in front that read the first would have checked another address than the one registered.
pub fn parse_registration(body: &str) -> Result<Registration, RegistrationError> {
    if body.trim().is_empty() {
        return Err(RegistrationError::NoBody);
    }
    if nesting_exceeds(body, MAX_DEPTH) {
        return Err(RegistrationError::TooDeep);
    }
    let value: Value = serde_json::from_str(body).map_err(|e| RegistrationError::NotJson(e.to_string()))?;
    let Value::Object(fields) = value else {
        return Err(RegistrationError::NotAnObject);
    };
    match serde_json::from_str::<MemberCounts>(body) {
        Ok(counts) if counts.email > 1 => return Err(RegistrationError::Repeated("email")),
        Ok(counts) if counts.name > 1 => return Err(RegistrationError::Repeated("name")),
        Ok(_) => {}
        Err(e) => return Err(RegistrationError::NotJson(e.to_string())),
    }
    let text = |field: &'static str| match fields.get(field) {
        None | Some(Value::Null) => Err(RegistrationError::Missing(field)),
        Some(Value::String(s)) => Ok(s.as_str()),
        Some(_) => Err(RegistrationError::NotAString(field)),
    };
    let email = EmailAddress::parse(text("email")?)?;
    let name = validate_name(text("name")?)?;
    Ok(Registration { email, name })
}

/// Whether `text` opens more than `limit` arrays or objects inside one another, found with one
/// pass over the bytes (strings skipped) before any parser builds anything.
fn nesting_exceeds(text: &str, limit: usize) -> bool {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for byte in text.bytes() {
        match (in_string, byte) {
            (true, _) if escaped => escaped = false,
            (true, b'\\') => escaped = true,
            (true, b'"') | (false, b'"') => in_string = !in_string,
            (false, b'[' | b'{') => {
                depth += 1;
                if depth > limit {
                    return true;
                }
            }
            (false, b']' | b'}') => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    false
}

/// How often the members a registration reads appear at the top of the body.
#[derive(Default)]
struct MemberCounts {
    email: usize,
    name: usize,
}

impl<'de> Deserialize<'de> for MemberCounts {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Counting;
        impl<'de> Visitor<'de> for Counting {
            type Value = MemberCounts;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<MemberCounts, A::Error> {
                let mut counts = MemberCounts::default();
                while let Some(key) = map.next_key::<String>()? {
                    map.next_value::<IgnoredAny>()?;
                    match key.as_str() {
                        "email" => counts.email += 1,
                        "name" => counts.name += 1,
                        _ => {}
                    }
                }
                Ok(counts)
            }
        }
        deserializer.deserialize_map(Counting)
    }
}

/// A name as people write them, in any script; trimmed, 1 to [`MAX_NAME`] characters, no
/// control characters or line separators, plain or percent-encoded (it goes into an e-mail).
pub fn validate_name(raw: &str) -> Result<String, NameError> {
    // Checked before trimming: a line break at the end is an injection attempt as well, and
    // `trim` would hide it (U+2028 and U+2029 are white space to it).
    if raw.chars().any(breaks_text) {
        return Err(NameError::ControlCharacter);
    }
    let name = raw.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.chars().count() > MAX_NAME {
        return Err(NameError::TooLong);
    }
    if hides_text_breaker(name) {
        return Err(NameError::EncodedControlCharacter);
    }
    Ok(name.to_owned())
}

/// The customer id of an address: 128 bits of SHA-256 of its normal form, as hex. One
/// address has one id, so a conditional put on it refuses a second registration even
/// when two arrive at once.
pub fn customer_id(email: &EmailAddress) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(format!("confirmation-reminder/customer/{email}").as_bytes());
    digest.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Whether `raw` has the shape of a [`customer_id`] (checked before any lookup).
pub fn is_customer_id(raw: &str) -> bool {
    raw.len() == 32 && raw.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// What one registration draws from the OS random source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Secrets {
    /// [`TOKEN_BYTES`] random bytes, base64url without padding.
    pub token: String,
    /// A UUID (version 4) that follows the registration through every log line.
    pub trace_id: String,
}

impl Secrets {
    pub fn generate() -> Result<Self, String> {
        use rand::TryRngCore;
        let mut token = [0u8; TOKEN_BYTES];
        let mut trace = [0u8; 16];
        let mut os = rand::rngs::OsRng;
        os.try_fill_bytes(&mut token).map_err(|e| format!("the OS random source failed: {e}"))?;
        os.try_fill_bytes(&mut trace).map_err(|e| format!("the OS random source failed: {e}"))?;
        Ok(Self {
            token: URL_SAFE_NO_PAD.encode(token),
            trace_id: uuid::Builder::from_random_bytes(trace).into_uuid().to_string(),
        })
    }
}

/// Compares a presented token with the stored one in time that does not depend on where
/// they differ (only on their lengths, which are public).
pub fn token_matches(stored: &str, presented: &str) -> bool {
    use subtle::ConstantTimeEq;
    stored.as_bytes().ct_eq(presented.as_bytes()).into()
}

/// `<base>/confirm?customerId=...&token=...`; both values are URL-safe as they are.
pub fn confirmation_link(public_base_url: &str, customer_id: &str, token: &str) -> String {
    format!("{}/confirm?customerId={customer_id}&token={token}", public_base_url.trim_end_matches('/'))
}

/// The execution of one registration: `<customerId>_<traceId>` (70 characters).
pub fn execution_name(customer_id: &str, trace_id: &str) -> String {
    format!("{customer_id}_{trace_id}")
}

pub fn confirmation_email(from: &str, to: &str, name: &str, link: &str) -> Email {
    Email {
        from: from.to_owned(),
        to: vec![to.to_owned()],
        subject: "Please confirm your e-mail address".into(),
        text: format!(
            "Hello {name},\n\nthank you for signing up. Please confirm your e-mail address by opening this link:\n\n\
             {link}\n\nIf you did not sign up, ignore this message: nothing happens unless the link is opened.\n"
        ),
    }
}

pub fn reminder_email(from: &str, to: &str, name: &str, link: &str) -> Email {
    Email {
        from: from.to_owned(),
        to: vec![to.to_owned()],
        subject: "Reminder: please confirm your e-mail address".into(),
        text: format!(
            "Hello {name},\n\nyou signed up a day ago but have not confirmed your e-mail address yet. \
             Please open this link to confirm it:\n\n{link}\n\nIf you did not sign up, ignore this message.\n"
        ),
    }
}

/// `text` with every occurrence of `secret` (ASCII case ignored, as services may change
/// the case of an address's domain) replaced by `replacement`: a service's error message
/// can quote the address, and it must not reach a log line whole.
pub fn scrub(text: &str, secret: &str, replacement: &str) -> String {
    if secret.is_empty() {
        return text.to_owned();
    }
    // ASCII lower-casing keeps every byte offset, so positions found in the copy hold.
    let (haystack, needle) = (text.to_ascii_lowercase(), secret.to_ascii_lowercase());
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    while let Some(found) = haystack[from..].find(&needle) {
        out.push_str(&text[from..from + found]);
        out.push_str(replacement);
        from += found + needle.len();
    }
    out.push_str(&text[from..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(body: &str) -> RegistrationError {
        match parse_registration(body) {
            Err(e) => e,
            Ok(r) => panic!("{body:?} accepted as {r:?}"),
        }
    }

    fn body(email: &str, name: &str) -> String {
        serde_json::json!({"email": email, "name": name}).to_string()
    }

    #[test]
    fn a_registration_keeps_the_local_part_and_lower_cases_the_domain() {
        let r = parse_registration(&body("Ana.Lopez@Example.COM", "  Ana  ")).expect("valid");
        assert_eq!(r.email.to_string(), "Ana.Lopez@example.com");
        assert_eq!(r.name, "Ana");
    }

    #[test]
    fn unicode_names_are_welcome() {
        for name in ["Ana Łopez-O'Neil", "李小龍", "Zoë Ångström", "محمد", "👩‍🚀 Ada"] {
            assert_eq!(parse_registration(&body("a@example.com", name)).expect(name).name, name);
        }
        let two_hundred = "龍".repeat(MAX_NAME);
        assert!(parse_registration(&body("a@example.com", &two_hundred)).is_ok(), "200 characters, 600 bytes");
    }

    #[test]
    fn a_ten_thousand_character_name_is_refused_by_name() {
        let err = refused(&body("a@example.com", &"x".repeat(10_000)));
        assert_eq!(err, RegistrationError::Name(NameError::TooLong));
        assert_eq!(err.to_string(), "name is longer than 200 characters");
        assert_eq!(refused(&body("a@example.com", &"x".repeat(201))), RegistrationError::Name(NameError::TooLong));
    }

    #[test]
    fn header_injection_attempts_are_refused_in_both_fields() {
        let err = refused(&body("a@example.com\r\nBcc: victim@example.com", "Ana"));
        assert_eq!(err, RegistrationError::Email(AddressError::ControlCharacter));
        assert!(err.to_string().starts_with("email contains a control character"), "{err}");
        assert!(matches!(refused(&body("a@example.com%0d%0aBcc:x@y.com", "Ana")), RegistrationError::Email(_)));
        assert_eq!(
            refused(&body("a@example.com", "Ana\r\nSubject: you won")),
            RegistrationError::Name(NameError::ControlCharacter)
        );
        assert_eq!(refused(&body("a@example.com", "Ana\u{0}")), RegistrationError::Name(NameError::ControlCharacter));
    }

    #[test]
    fn line_separators_and_encoded_line_breaks_are_refused_in_names() {
        for name in ["Ana\u{2028}Bcc: x@example.com", "Ana\u{2029}", "Ana\u{85}x", "Ana\u{0}", "Ana\r\n", "\nAna"] {
            assert_eq!(
                refused(&body("a@example.com", name)),
                RegistrationError::Name(NameError::ControlCharacter),
                "{name:?}"
            );
        }
        for name in ["Ana%0d%0aBcc: x@example.com", "Ana%00", "Ana%E2%80%A8x", "Ana%250A"] {
            let err = refused(&body("a@example.com", name));
            assert_eq!(err, RegistrationError::Name(NameError::EncodedControlCharacter), "{name:?}");
            assert_eq!(err.to_string(), "name contains an encoded control character (such as %0d%0a)");
        }
        assert_eq!(parse_registration(&body("a@example.com", "100% Ana")).map(|r| r.name), Ok("100% Ana".into()));
        for email in ["a@example.com\u{2028}Bcc: x@example.com", "a%0d%0aBcc:x@example.com", "a%00@example.com"] {
            assert!(matches!(refused(&body(email, "Ana")), RegistrationError::Email(_)), "{email:?}");
        }
    }

    #[test]
    fn ten_thousand_levels_of_nesting_are_refused_at_once_without_parsing() {
        let arrays = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        let objects = format!("{}1{}", r#"{"a":"#.repeat(10_000), "}".repeat(10_000));
        let inside = format!(r#"{{"email":"a@example.com","name":"Ana","x":{arrays}}}"#);
        let unclosed = "[".repeat(10_000);
        for text in [&arrays, &objects, &inside, &unclosed] {
            let started = std::time::Instant::now();
            assert_eq!(refused(text), RegistrationError::TooDeep);
            assert!(started.elapsed() < std::time::Duration::from_millis(200), "{:?}", started.elapsed());
        }
        assert_eq!(
            RegistrationError::TooDeep.to_string(),
            "the body nests arrays or objects deeper than 16 levels: send a flat JSON object"
        );
        let deep_enough =
            format!(r#"{{"email":"a@example.com","name":"Ana","x":{}{}}}"#, "[".repeat(15), "]".repeat(15));
        assert!(parse_registration(&deep_enough).is_ok(), "16 levels with the object itself");
        let too_deep = format!(r#"{{"email":"a@example.com","name":"Ana","x":{}{}}}"#, "[".repeat(16), "]".repeat(16));
        assert_eq!(refused(&too_deep), RegistrationError::TooDeep);
        let brackets_in_strings = body("a@example.com", &format!("\"{}{{", "[".repeat(150)));
        assert!(
            parse_registration(&brackets_in_strings).is_ok(),
            "brackets inside strings (after an escaped quote) are text"
        );
    }

    #[test]
    fn a_member_given_twice_is_refused_not_read_as_the_last() {
        let twice = r#"{"email":"a@example.com","email":"b@example.com","name":"Ana"}"#;
        assert_eq!(refused(twice), RegistrationError::Repeated("email"));
        assert_eq!(refused(twice).to_string(), "the body gives email more than once");
        assert_eq!(
            refused(r#"{"email":"a@example.com","name":"Ana","name":"Bo"}"#),
            RegistrationError::Repeated("name")
        );
        let escaped = r#"{"email":"a@example.com","em\u0061il":"b@example.com","name":"Ana"}"#;
        assert_eq!(refused(escaped), RegistrationError::Repeated("email"), "keys are compared unescaped");
        assert!(parse_registration(r#"{"email":"a@example.com","name":"Ana","x":1,"x":2}"#).is_ok(), "ignored members");
        let nested = r#"{"email":"a@example.com","name":"Ana","x":{"email":1,"email":2}}"#;
        assert!(parse_registration(nested).is_ok(), "only the top level is read");
    }

    #[test]
    fn bodies_are_bounded_before_they_are_decoded() {
        use base64::engine::general_purpose::STANDARD;
        assert_eq!(body_text("", false), Err(RegistrationError::NoBody));
        assert_eq!(body_text(&"x".repeat(MAX_BODY_BYTES), false).map(|t| t.len()), Ok(MAX_BODY_BYTES));
        assert_eq!(body_text(&"x".repeat(MAX_BODY_BYTES + 1), false), Err(RegistrationError::TooLarge));
        assert_eq!(within_limit(&"x".repeat(1 << 20), false), Err(RegistrationError::TooLarge), "1 MiB");
        let at_limit = STANDARD.encode("y".repeat(MAX_BODY_BYTES));
        assert_eq!(body_text(&at_limit, true).map(|t| t.len()), Ok(MAX_BODY_BYTES));
        let over = STANDARD.encode("y".repeat(MAX_BODY_BYTES + 1));
        assert_eq!(body_text(&over, true), Err(RegistrationError::TooLarge));
        assert_eq!(within_limit(&"@".repeat(8 << 20), true), Err(RegistrationError::TooLarge), "not decoded first");
        assert!(matches!(body_text("@@@", true), Err(RegistrationError::NotBase64(_))));
        let latin1 = STANDARD.encode(b"{\"email\":\"a@example.com\",\"name\":\"Jos\xe9\"}");
        assert_eq!(body_text(&latin1, true), Err(RegistrationError::NotUtf8));
        assert_eq!(RegistrationError::NotUtf8.to_string(), "the body is not UTF-8 text");
        assert_eq!(body_text(&STANDARD.encode("{}"), true), Ok("{}".into()));
    }

    #[test]
    fn each_refusal_has_its_status() {
        assert_eq!(RegistrationError::TooLarge.status(), 413);
        assert_eq!(RegistrationError::ContentType(ContentTypeError::Missing).status(), 415);
        assert_eq!(
            RegistrationError::ContentType(ContentTypeError::Missing).to_string(),
            ContentTypeError::Missing.to_string(),
            "the content type's own sentence"
        );
        for e in [
            RegistrationError::NoBody,
            RegistrationError::NotUtf8,
            RegistrationError::TooDeep,
            RegistrationError::Repeated("email"),
        ] {
            assert_eq!(e.status(), 400, "{e}");
        }
        assert_eq!(
            RegistrationError::TooLarge.to_string(),
            format!("the body is larger than {MAX_BODY_BYTES} bytes: send a JSON object with \"email\" and \"name\"")
        );
    }

    #[test]
    fn a_lone_surrogate_escape_is_not_json() {
        assert!(matches!(refused(r#"{"email":"a@example.com","name":"\ud800"}"#), RegistrationError::NotJson(_)));
    }

    #[test]
    fn bodies_that_are_not_registrations_say_what_is_wrong() {
        assert_eq!(refused(""), RegistrationError::NoBody);
        assert!(matches!(refused("{\"email\":"), RegistrationError::NotJson(_)));
        assert_eq!(refused("[1,2]"), RegistrationError::NotAnObject);
        assert_eq!(refused(r#"{"name":"Ana"}"#).to_string(), "email is required");
        assert_eq!(refused(r#"{"email":null,"name":"Ana"}"#).to_string(), "email is required");
        assert_eq!(refused(r#"{"email":"a@example.com"}"#).to_string(), "name is required");
        assert_eq!(refused(r#"{"email":42,"name":"Ana"}"#).to_string(), "email must be a string");
        assert_eq!(refused(r#"{"email":"a@example.com","name":["Ana"]}"#).to_string(), "name must be a string");
        assert_eq!(refused(&body("a@example.com", "   ")).to_string(), "name is empty");
        assert_eq!(refused(&body("a@localhost", "Ana")).to_string(), "email has a domain without a dot");
        assert_eq!(refused(&body("a@b@example.com", "Ana")).to_string(), "email must contain exactly one @");
        let long = format!("a@{}.com", "b".repeat(250));
        assert_eq!(refused(&body(&long, "Ana")).to_string(), "email is longer than 254 characters");
    }

    #[test]
    fn the_customer_id_follows_the_normal_form_of_the_address() {
        let id = |raw: &str| customer_id(&EmailAddress::parse(raw).expect("valid"));
        assert_eq!(id("ana@example.com"), id("ana@EXAMPLE.com"), "domains are case-insensitive");
        assert_ne!(id("ana@example.com"), id("Ana@example.com"), "local parts are kept as typed");
        assert!(is_customer_id(&id("ana@example.com")));
        assert!(!is_customer_id("ana@example.com"));
        assert!(!is_customer_id(&id("ana@example.com").to_uppercase()));
        assert!(!is_customer_id(""));
    }

    #[test]
    fn the_customer_id_derivation_is_stable_since_stored_records_depend_on_it() {
        let ana = EmailAddress::parse("ana@example.com").expect("valid");
        assert_eq!(customer_id(&ana), "1dc97a882a72d724c9bd6188ed7e687b");
    }

    #[test]
    fn tokens_are_long_random_and_url_safe() {
        let (a, b) = (Secrets::generate().expect("os rng"), Secrets::generate().expect("os rng"));
        assert_ne!(a.token, b.token);
        assert_ne!(a.trace_id, b.trace_id);
        assert_eq!(a.token.len(), 43, "256 bits in base64url without padding");
        assert!(a.token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'));
        assert_eq!(uuid::Uuid::parse_str(&a.trace_id).map(|u| u.get_version_num()), Ok(4));
    }

    #[test]
    fn token_comparison_needs_every_byte() {
        let token = Secrets::generate().expect("os rng").token;
        assert!(token_matches(&token, &token));
        assert!(!token_matches(&token, &token[..42]));
        assert!(!token_matches(&token, ""));
        let mut flipped = token.clone().into_bytes();
        flipped[42] = if flipped[42] == b'A' { b'B' } else { b'A' };
        assert!(!token_matches(&token, &String::from_utf8(flipped).expect("ascii")));
    }

    #[test]
    fn the_link_and_the_execution_name_have_their_documented_shapes() {
        assert_eq!(
            confirmation_link("http://127.0.0.1:3000/", "ab12", "t-_k"),
            "http://127.0.0.1:3000/confirm?customerId=ab12&token=t-_k"
        );
        let name = execution_name(&"a".repeat(32), "0b8a3a9e-8c1e-4a5e-9a43-2f1c2b3d4e5f");
        assert_eq!(name.len(), 69);
        assert_eq!(common::ports::execution_name(&name), name, "a valid Step Functions name as it is");
    }

    #[test]
    fn both_messages_carry_the_link_and_the_name() {
        let c = confirmation_email("no-reply@example.com", "ana@example.com", "李小龍", "http://x/confirm?t=1");
        let r = reminder_email("no-reply@example.com", "ana@example.com", "李小龍", "http://x/confirm?t=1");
        for mail in [&c, &r] {
            assert_eq!(mail.to, vec!["ana@example.com".to_owned()]);
            assert!(mail.text.contains("Hello 李小龍,") && mail.text.contains("http://x/confirm?t=1"));
        }
        assert_ne!(c.subject, r.subject);
        assert!(r.subject.starts_with("Reminder"));
    }

    #[test]
    fn scrub_hides_an_address_whatever_the_case() {
        let message = "The following identities failed the check: Ana@EXAMPLE.com, ana@example.com.";
        let clean = scrub(message, "ana@example.com", "a***");
        assert_eq!(clean, "The following identities failed the check: a***, a***.");
        assert_eq!(scrub("no secret here", "", "x"), "no secret here");
        assert_eq!(scrub("é ana@example.com é", "ana@example.com", "a***"), "é a*** é");
    }
}
