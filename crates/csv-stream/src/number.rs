//! Decimal numbers as DynamoDB stores them: at most 38 significant digits, magnitudes
//! from 1E-130 to 9.99...E+125 (or zero). A value outside these would make DynamoDB refuse
//! the whole `BatchWriteItem` call, so such a row is rejected up front with its reason.

use std::fmt;

/// DynamoDB's precision limit, in significant digits.
pub const MAX_DIGITS: usize = 38;
/// The powers of ten of the largest and smallest magnitudes DynamoDB stores.
pub const MAX_POWER: i64 = 125;
pub const MIN_POWER: i64 = -130;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NumberError {
    NotANumber,
    TooPrecise(usize),
    OutOfRange,
}

impl fmt::Display for NumberError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NumberError::NotANumber => write!(f, "is not a finite number"),
            NumberError::TooPrecise(n) => {
                write!(f, "has {n} significant digits; DynamoDB keeps at most {MAX_DIGITS} significant digits")
            }
            NumberError::OutOfRange => {
                write!(f, "is outside DynamoDB's number range (magnitudes from 1E-130 to 9.99...E+125, or 0)")
            }
        }
    }
}

/// Checks decimal text (`-12.5`, `+.5`, `1e3`, `5.`) and returns it in the plain form
/// DynamoDB takes: no `+`, a digit before the point, no empty fraction, no leading zeros.
pub fn check(text: &str) -> Result<String, NumberError> {
    let (negative, unsigned) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
        Some(at) => (&unsigned[..at], Some(&unsigned[at + 1..])),
        None => (unsigned, None),
    };
    let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
    let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if int.is_empty() && frac.is_empty() || !all_digits(int) || !all_digits(frac) {
        return Err(NumberError::NotANumber);
    }
    let exponent_value = match exponent {
        None => 0,
        Some(e) => {
            let digits = e.strip_prefix(['+', '-']).unwrap_or(e);
            if digits.is_empty() || !all_digits(digits) {
                return Err(NumberError::NotANumber);
            }
            // Beyond i64 the number is out of range whatever its mantissa (unless zero).
            e.parse::<i64>().unwrap_or(if e.starts_with('-') { i64::MIN / 2 } else { i64::MAX / 2 })
        }
    };
    let digits = || int.bytes().chain(frac.bytes());
    let Some(first) = digits().position(|b| b != b'0') else {
        return Ok("0".to_owned());
    };
    let last = digits().collect::<Vec<u8>>().iter().rposition(|b| *b != b'0').unwrap_or(first);
    let significant = last - first + 1;
    if significant > MAX_DIGITS {
        return Err(NumberError::TooPrecise(significant));
    }
    let power = (int.len() as i64 - 1 - first as i64).saturating_add(exponent_value);
    if !(MIN_POWER..=MAX_POWER).contains(&power) {
        return Err(NumberError::OutOfRange);
    }
    let int = int.trim_start_matches('0');
    let mut plain = String::with_capacity(text.len() + 1);
    if negative {
        plain.push('-');
    }
    plain.push_str(if int.is_empty() { "0" } else { int });
    if !frac.is_empty() {
        plain.push('.');
        plain.push_str(frac);
    }
    if let Some(e) = exponent {
        plain.push('e');
        plain.push_str(e.strip_prefix('+').unwrap_or(e));
    }
    Ok(plain)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_numbers_keep_their_text() {
        for (text, plain) in [("21.5", "21.5"), ("-0.25", "-0.25"), ("1e3", "1e3"), ("7", "7"), ("1E-5", "1e-5")] {
            assert_eq!(check(text).as_deref(), Ok(plain), "{text}");
        }
    }

    #[test]
    fn odd_forms_are_rewritten_plainly() {
        for (text, plain) in [("+.5", "0.5"), ("-.5", "-0.5"), ("5.", "5"), ("007", "7"), ("1e+3", "1e3"), ("-0", "0")]
        {
            assert_eq!(check(text).as_deref(), Ok(plain), "{text}");
        }
    }

    #[test]
    fn non_numbers_are_refused() {
        for text in ["", "-", ".", "abc", "1.2.3", "1e", "e5", "NaN", "inf", "infinity", "0x10", "1_000", "1,5", "1e+"]
        {
            assert_eq!(check(text), Err(NumberError::NotANumber), "{text:?}");
        }
    }

    #[test]
    fn dynamodb_keeps_38_significant_digits() {
        assert!(check(&format!("1.{}", "2".repeat(37))).is_ok());
        assert_eq!(check(&format!("1.{}", "2".repeat(38))), Err(NumberError::TooPrecise(39)));
        assert!(check(&format!("1{}", "0".repeat(100))).is_ok(), "trailing zeros are not precision");
        assert!(check(&format!("0.000{}1", "0".repeat(50))).is_ok(), "nor are leading ones");
    }

    #[test]
    fn dynamodb_number_range_is_1e_minus_130_to_under_1e126() {
        assert!(check("9.9999999999999999999999999999999999999E+125").is_ok());
        assert_eq!(check("1E+126"), Err(NumberError::OutOfRange));
        assert_eq!(check("-1E+126"), Err(NumberError::OutOfRange));
        assert!(check("1E-130").is_ok());
        assert_eq!(check("0.1E-130"), Err(NumberError::OutOfRange));
        assert_eq!(check("1e99999999999999999999999"), Err(NumberError::OutOfRange));
        assert_eq!(check("0e99999999999999999999999").as_deref(), Ok("0"));
        assert_eq!(check(&format!("1{}", "0".repeat(126))), Err(NumberError::OutOfRange));
    }
}
