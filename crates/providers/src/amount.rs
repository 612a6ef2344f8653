//! Amount conversion between integer minor units ([`routing::Money`]) and the decimal strings
//! some providers put on the wire (Braintree `"20.00"`, Mollie `{"value":"10.00"}`, REFERENCE.md §0
//! "Amount" row). No floats anywhere: the decimal string is built from and parsed into integers
//! with exactly the ISO 4217 exponent of the currency ([`routing::Currency::exponent`]: JPY/KRW 0,
//! USD/EUR 2, KWD/BHD 3).

use routing::{Currency, Money};

/// ISO 4217 currencies with three decimals (minor unit exponent 3).
pub const THREE_DECIMAL: &[&str] = &["BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"];

/// `money` as a decimal string with exactly the currency's decimals: `1050` EUR -> `"10.50"`,
/// `1000` JPY -> `"1000"`, `1234` KWD -> `"1.234"`.
pub fn to_decimal(money: &Money) -> String {
    money.currency.format_minor(money.amount_minor)
}

/// Parses a provider decimal string into minor units of `currency`. The string must have
/// exactly the currency's number of decimals (`"10.00"` EUR = 1000; `"10"` or `"10.0"` EUR are
/// refused, as Mollie refuses them, REFERENCE.md §0) and no sign, exponent or spaces.
///
/// Returns `None` for anything else (including overflow).
pub fn parse_decimal(value: &str, currency: &Currency) -> Option<i64> {
    let exp = usize::from(currency.exponent());
    let (whole, frac) = match value.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (value, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) {
        return None;
    }
    let frac = match (frac, exp) {
        (None, 0) => "",
        (Some(f), e) if e > 0 && f.len() == e && digits(f) => f,
        (None, _) | (Some(_), _) => return None,
    };
    let scale = 10i64.checked_pow(u32::try_from(exp).ok()?)?;
    let whole: i64 = whole.parse().ok()?;
    let frac: i64 = if frac.is_empty() {
        0
    } else {
        frac.parse().ok()?
    };
    whole.checked_mul(scale)?.checked_add(frac)
}

/// Whether `currency` has three decimals ([`THREE_DECIMAL`]).
pub fn is_three_decimal(currency: &Currency) -> bool {
    THREE_DECIMAL.contains(&currency.as_str())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn m(minor: i64, c: &str) -> Money {
        Money::new(minor, Currency::parse(c).unwrap()).unwrap()
    }

    #[test]
    fn decimal_strings_table() {
        let cases = [
            (1050, "EUR", "10.50"),
            (1, "USD", "0.01"),
            (1000, "JPY", "1000"),
            (5000, "KRW", "5000"),
            (1234, "KWD", "1.234"),
            (10, "BHD", "0.010"),
            (100_000, "ISK", "100000"),
        ];
        for (minor, cur, s) in cases {
            assert_eq!(to_decimal(&m(minor, cur)), s, "{minor} {cur}");
            let c = Currency::parse(cur).unwrap();
            assert_eq!(parse_decimal(s, &c), Some(minor), "{s} {cur}");
        }
    }

    #[test]
    fn wrong_decimals_are_refused() {
        let eur = Currency::parse("EUR").unwrap();
        let jpy = Currency::parse("JPY").unwrap();
        let kwd = Currency::parse("KWD").unwrap();
        for s in [
            "10", "10.0", "10.000", "-1.00", "1e2", " 1.00", "", ".50", "1.5a",
        ] {
            assert_eq!(parse_decimal(s, &eur), None, "{s:?}");
        }
        assert_eq!(parse_decimal("1000.00", &jpy), None);
        assert_eq!(parse_decimal("1.23", &kwd), None);
        assert_eq!(parse_decimal("99999999999999999999.00", &eur), None);
        assert!(is_three_decimal(&kwd));
        assert!(!is_three_decimal(&jpy));
    }
}
