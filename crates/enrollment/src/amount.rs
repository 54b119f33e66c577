//! Money as DynamoDB stores it: decimal text, compared exactly (a float would let
//! 19.999999999999999999 cover a price of 20).

use std::cmp::Ordering;
use std::fmt;

/// DynamoDB keeps at most 38 significant digits; its exponents stay within about ±130.
const MAX_EXPONENT: i64 = 200;

/// A decimal number read from DynamoDB number text (`"99.5"`, `"1E+2"`, `"-0"`), with the
/// text kept for messages.
#[derive(Debug, Clone)]
pub struct Amount {
    text: String,
    negative: bool,
    /// Significant digits, no leading or trailing zeros; empty for zero.
    digits: Vec<u8>,
    /// The value is `0.<digits> x 10^point`.
    point: i64,
}

impl Amount {
    /// Reads `[-+]digits[.digits][e[-+]digits]`; `None` for anything else.
    pub fn parse(raw: &str) -> Option<Self> {
        let text = raw.trim();
        let (negative, unsigned) = match text.as_bytes().first()? {
            b'-' => (true, &text[1..]),
            b'+' => (false, &text[1..]),
            _ => (false, text),
        };
        let (mantissa, exponent) = match unsigned.find(['e', 'E']) {
            Some(at) => (&unsigned[..at], unsigned[at + 1..].parse::<i64>().ok()?),
            None => (unsigned, 0),
        };
        if !(-MAX_EXPONENT..=MAX_EXPONENT).contains(&exponent) {
            return None;
        }
        let (whole, fraction) = mantissa.split_once('.').unwrap_or((mantissa, ""));
        let all_digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.len() + fraction.len() == 0 || !all_digits(whole) || !all_digits(fraction) {
            return None;
        }
        let mut digits: Vec<u8> = whole.bytes().chain(fraction.bytes()).map(|b| b - b'0').collect();
        let mut point = whole.len() as i64 + exponent;
        let leading = digits.iter().take_while(|d| **d == 0).count();
        digits.drain(..leading);
        point -= leading as i64;
        while digits.last() == Some(&0) {
            digits.pop();
        }
        Some(Self { text: text.to_owned(), negative: negative && !digits.is_empty(), digits, point })
    }

    fn cmp_magnitude(&self, other: &Self) -> Ordering {
        match (self.digits.is_empty(), other.digits.is_empty()) {
            (true, true) => return Ordering::Equal,
            (true, false) => return Ordering::Less,
            (false, true) => return Ordering::Greater,
            (false, false) => {}
        }
        // Both start with a non-zero digit, so the one whose first digit sits higher is larger;
        // at the same height the digit strings decide (a missing digit is a zero).
        self.point.cmp(&other.point).then_with(|| self.digits.cmp(&other.digits))
    }
}

impl PartialEq for Amount {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for Amount {}

impl PartialOrd for Amount {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Amount {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self.negative, other.negative) {
            (false, true) => Ordering::Greater,
            (true, false) => Ordering::Less,
            (false, false) => self.cmp_magnitude(other),
            (true, true) => other.cmp_magnitude(self),
        }
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(text: &str) -> Amount {
        Amount::parse(text).unwrap_or_else(|| panic!("{text:?} is a number"))
    }

    #[test]
    fn equal_values_written_differently_compare_equal() {
        assert_eq!(a("99.5"), a("99.50"));
        assert_eq!(a("0099.500"), a("9.95e1"));
        assert_eq!(a("1E+2"), a("100"));
        assert_eq!(a("0"), a("-0.000"));
        assert_eq!(a("0.05"), a("5e-2"));
    }

    #[test]
    fn order_is_exact_where_floats_are_not() {
        assert!(a("19.999999999999999999") < a("20"), "a float would round this up to 20");
        assert!(a("100.01") > a("100"));
        assert!(a("99.99") < a("100"));
        assert!(a("1000") > a("999.999"));
        assert!(a("0.1") > a("0.09"));
        assert!(a("-5") < a("0"));
        assert!(a("-5") < a("-4.5"));
        assert!(a("12345678901234567890123456789012345678") > a("12345678901234567890123456789012345677"));
    }

    #[test]
    fn text_that_is_not_a_number_is_refused() {
        for bad in ["", "-", ".", "abc", "1.2.3", "1e", "1e999", "1,5", "١٢"] {
            assert!(Amount::parse(bad).is_none(), "{bad:?}");
        }
        assert_eq!(a(" 42 ").to_string(), "42");
        assert_eq!(a(".5"), a("0.5"));
    }
}
