//! The rules, pure: each answers `Ok` or a sentence a person understands. E-mail addresses
//! appear in sentences only redacted (`a***#1a2b3c4d@example.com`): the reasons end up in
//! the execution's failure cause and in logs, and whoever reads them there can match the
//! redacted form to the request without the address being copied around in full.

use common::email::EmailAddress;
use common::telemetry::redact_email;

use crate::records::{Course, Payment};
use crate::request::EnrollmentRequest;

/// The longest name accepted, in characters.
pub const MAX_NAME: usize = 200;
/// The longest course or payment id accepted, in characters (well inside DynamoDB's key limit).
pub const MAX_ID: usize = 128;

/// Letters of any script (with the combining accents of decomposed text), spaces, hyphens,
/// apostrophes (straight or typographic) and periods; at least one letter.
pub fn check_name(raw: &str) -> Result<(), String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("the name is empty".into());
    }
    if name.chars().count() > MAX_NAME {
        return Err(format!("the name is longer than {MAX_NAME} characters"));
    }
    let letter = |c: char| c.is_alphabetic() || ('\u{0300}'..='\u{036F}').contains(&c);
    if let Some(c) = name.chars().find(|c| !letter(*c) && !matches!(c, ' ' | '-' | '\'' | '\u{2019}' | '.')) {
        return Err(format!("the name contains {c:?}, which is not a letter, space, hyphen, apostrophe or period"));
    }
    if !name.chars().any(char::is_alphabetic) {
        return Err("the name has no letter".into());
    }
    Ok(())
}

/// Whether a given name is the one on record: spaces around and between words and the
/// letters' case do not matter.
pub fn names_match(given: &str, on_record: &str) -> bool {
    let canonical = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase();
    canonical(given) == canonical(on_record)
}

/// The sign-up syntax rule (shared in `common::email`), answering the normal form.
pub fn check_email(raw: &str) -> Result<EmailAddress, String> {
    EmailAddress::parse(raw).map_err(|err| {
        let shown = raw.trim();
        if shown.is_empty() {
            format!("the e-mail address {err}")
        } else {
            format!("the e-mail address {} {err}", redact_email(shown))
        }
    })
}

/// A course or payment id usable as a key: `what` is "course id" or "payment id".
pub fn check_id(what: &str, raw: &str) -> Result<(), String> {
    if raw.is_empty() {
        return Err(format!("no {what} was given"));
    }
    if raw.chars().count() > MAX_ID {
        return Err(format!("the {what} is longer than {MAX_ID} characters"));
    }
    if raw.chars().any(char::is_control) {
        return Err(format!("the {what} contains a control character"));
    }
    Ok(())
}

pub fn course_missing(course_id: &str) -> String {
    format!("course {course_id} does not exist")
}

pub fn course_full(course_id: &str) -> String {
    format!("course {course_id} has no free seat left")
}

pub fn already_enrolled(email: &EmailAddress, course_id: &str) -> String {
    format!("{} is already enrolled in course {course_id}", email.redacted())
}

pub fn student_missing(email: &EmailAddress) -> String {
    format!("no student is registered with the e-mail address {}", email.redacted())
}

pub fn name_mismatch(email: &EmailAddress) -> String {
    // The name on record is not repeated: it would tell anyone who knows an address the
    // name behind it.
    format!("the name given does not match the student registered with {}", email.redacted())
}

/// The payment exists, is `PAID`, is for this course and this e-mail address, and covers
/// the course's price; the first problem found is the answer. `email` is the request's
/// address when it is valid (an invalid one is the e-mail check's to report); `course` is
/// the requested course when it exists.
pub fn check_payment(
    request: &EnrollmentRequest,
    email: Option<&EmailAddress>,
    payment: Option<&Payment>,
    course: Option<&Course>,
) -> Result<(), String> {
    check_id("payment id", &request.payment_id)?;
    check_id("course id", &request.course_id)?;
    let id = &request.payment_id;
    let payment = payment.ok_or_else(|| format!("payment {id} does not exist"))?;
    match payment.status.as_deref() {
        Some("PAID") => {}
        Some(status) => return Err(format!("payment {id} is {status}, not PAID")),
        None => return Err(format!("payment {id} has no status on record, so it is not PAID")),
    }
    match payment.course_id.as_deref() {
        Some(paid_for) if paid_for == request.course_id => {}
        Some(paid_for) => return Err(format!("payment {id} is for course {paid_for}, not {}", request.course_id)),
        None => return Err(format!("payment {id} names no course")),
    }
    if let Some(email) = email {
        let payer = payment.email.as_deref().and_then(|e| EmailAddress::parse(e).ok());
        if payer.as_ref() != Some(email) {
            return Err(format!("payment {id} was not made with the e-mail address {}", email.redacted()));
        }
    }
    let course = course.ok_or_else(|| course_missing(&request.course_id))?;
    let price = course.price.as_ref().ok_or_else(|| format!("course {} has no price on record", course.course_id))?;
    match &payment.amount {
        Some(amount) if amount >= price => Ok(()),
        Some(amount) => {
            Err(format!("payment {id} of {amount} does not cover the price of course {} ({price})", course.course_id))
        }
        None => Err(format!("payment {id} has no amount on record")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amount::Amount;

    fn request() -> EnrollmentRequest {
        EnrollmentRequest {
            name: "Ana Lima".into(),
            email: "ana@example.com".into(),
            course_id: "c-1".into(),
            payment_id: "p-1".into(),
        }
    }

    fn payment(status: &str, course: &str, email: &str, amount: &str) -> Payment {
        Payment {
            payment_id: "p-1".into(),
            email: Some(email.into()),
            course_id: Some(course.into()),
            amount: Amount::parse(amount),
            status: Some(status.into()),
        }
    }

    fn course(price: &str) -> Course {
        Course { course_id: "c-1".into(), price: Amount::parse(price), seats_available: Some(3) }
    }

    fn email() -> EmailAddress {
        EmailAddress::parse("ana@example.com").unwrap()
    }

    #[test]
    fn names_of_any_script_with_their_punctuation_are_accepted() {
        for name in [
            "Ana Lima",
            "Jean-Luc O'Neil",
            "Dr. J. R. R. Tolkien",
            "Zoë Ørsted",
            "山田 太郎",
            "José",
            "Ngũgĩ wa Thiong’o",
            "Ivan Ivanovich Ivanov",
        ] {
            assert_eq!(check_name(name), Ok(()), "{name}");
        }
        assert_eq!(check_name("Jose\u{301}"), Ok(()), "a decomposed accent");
        assert_eq!(check_name(&"a".repeat(MAX_NAME)), Ok(()));
    }

    #[test]
    fn bad_names_say_why() {
        assert_eq!(check_name("   "), Err("the name is empty".into()));
        assert_eq!(check_name(&"a".repeat(MAX_NAME + 1)), Err("the name is longer than 200 characters".into()));
        assert_eq!(
            check_name("R2-D2"),
            Err("the name contains '2', which is not a letter, space, hyphen, apostrophe or period".into())
        );
        assert!(check_name("Ana\nLima").unwrap_err().contains("'\\n'"));
        assert!(check_name("<script>").is_err());
        assert_eq!(check_name("- . '"), Err("the name has no letter".into()));
    }

    #[test]
    fn names_match_regardless_of_case_and_spacing() {
        assert!(names_match("  ana   LIMA ", "Ana Lima"));
        assert!(names_match("Zoë", "ZOË"));
        assert!(!names_match("Ana Lima", "Ana Lins"));
    }

    #[test]
    fn email_check_shares_the_signup_rule_and_redacts() {
        assert_eq!(check_email(" Ana@Example.COM").unwrap().to_string(), "Ana@example.com");
        let reason = check_email("secret.person@localhost").unwrap_err();
        assert!(
            reason.starts_with("the e-mail address s***#") && reason.ends_with("has a domain without a dot"),
            "{reason}"
        );
        assert!(!reason.contains("secret.person"));
        assert_eq!(check_email(""), Err("the e-mail address is empty".into()));
        assert!(!check_email("ana.lima.example.com").unwrap_err().contains("lima.example"));
    }

    #[test]
    fn ids_must_be_usable_keys() {
        assert_eq!(check_id("course id", "c-1"), Ok(()));
        assert_eq!(check_id("course id", ""), Err("no course id was given".into()));
        assert!(check_id("payment id", &"p".repeat(129)).unwrap_err().contains("longer than 128"));
        assert!(check_id("payment id", "p\u{0}").is_err());
    }

    #[test]
    fn a_paid_payment_for_this_course_and_address_covering_the_price_is_valid() {
        let p = payment("PAID", "c-1", "ana@EXAMPLE.com", "99.50");
        assert_eq!(check_payment(&request(), Some(&email()), Some(&p), Some(&course("99.5"))), Ok(()));
        let more = payment("PAID", "c-1", "ana@example.com", "120");
        assert_eq!(check_payment(&request(), Some(&email()), Some(&more), Some(&course("99.5"))), Ok(()));
    }

    #[test]
    fn each_payment_problem_is_a_sentence() {
        let check = |p: Option<Payment>, c: Option<Course>| {
            check_payment(&request(), Some(&email()), p.as_ref(), c.as_ref()).unwrap_err()
        };
        let price = || Some(course("99.50"));
        assert_eq!(check(None, price()), "payment p-1 does not exist");
        assert_eq!(
            check(Some(payment("PENDING", "c-1", "ana@example.com", "99.50")), price()),
            "payment p-1 is PENDING, not PAID"
        );
        assert_eq!(
            check(Some(payment("REFUNDED", "c-1", "ana@example.com", "99.50")), price()),
            "payment p-1 is REFUNDED, not PAID"
        );
        assert_eq!(
            check(Some(payment("PAID", "c-2", "ana@example.com", "99.50")), price()),
            "payment p-1 is for course c-2, not c-1"
        );
        let other = check(Some(payment("PAID", "c-1", "bob@example.com", "99.50")), price());
        assert!(other.starts_with("payment p-1 was not made with the e-mail address a***#"), "{other}");
        assert!(!other.contains("bob"), "the payer's address is not revealed");
        assert_eq!(
            check(Some(payment("PAID", "c-1", "ana@example.com", "50")), price()),
            "payment p-1 of 50 does not cover the price of course c-1 (99.50)"
        );
        assert_eq!(check(Some(payment("PAID", "c-1", "ana@example.com", "99.50")), None), "course c-1 does not exist");
    }

    #[test]
    fn an_invalid_request_address_is_left_to_the_email_check() {
        let p = payment("PAID", "c-1", "someone@example.com", "99.50");
        assert_eq!(check_payment(&request(), None, Some(&p), Some(&course("99.50"))), Ok(()));
    }
}
