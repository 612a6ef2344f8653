//! Money: integer minor units plus an ISO 4217 currency; ISO 3166-1 alpha-2 countries.
//!
//! Source for codes and minor-unit exponents: ISO 4217 list one (SIX Group, "Current currency &
//! funds code list", 2024 edition). Funds codes (e.g. `CLF`, `UYW`) are included with their
//! exponent; precious metals and testing codes (`XAU`, `XTS`, `XXX`, ...) are not payment
//! currencies and are rejected.

use serde::{Deserialize, Serialize};
use std::fmt;

/// Why a currency, country or amount was rejected. Each variant is a client error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// Not a three-letter code in the ISO 4217 list.
    #[error("unknown ISO 4217 currency code {0:?}")]
    UnknownCurrency(String),
    /// Not a two-letter ISO 3166-1 alpha-2 code.
    #[error("invalid ISO 3166-1 alpha-2 country code {0:?}")]
    InvalidCountry(String),
    /// Amount must be at least 1 minor unit.
    #[error("amount must be a positive integer number of minor units, got {0}")]
    NonPositiveAmount(i64),
    /// Amount is larger than [`Money::MAX_MINOR`].
    #[error("amount {0} exceeds the maximum of {max} minor units", max = Money::MAX_MINOR)]
    AmountTooLarge(i64),
}

/// (code, minor-unit exponent) for every accepted ISO 4217 currency, sorted by code.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2), ("AFN", 2), ("ALL", 2), ("AMD", 2), ("ANG", 2), ("AOA", 2), ("ARS", 2), ("AUD", 2),
    ("AWG", 2), ("AZN", 2), ("BAM", 2), ("BBD", 2), ("BDT", 2), ("BGN", 2), ("BHD", 3), ("BIF", 0),
    ("BMD", 2), ("BND", 2), ("BOB", 2), ("BOV", 2), ("BRL", 2), ("BSD", 2), ("BTN", 2), ("BWP", 2),
    ("BYN", 2), ("BZD", 2), ("CAD", 2), ("CDF", 2), ("CHE", 2), ("CHF", 2), ("CHW", 2), ("CLF", 4),
    ("CLP", 0), ("CNY", 2), ("COP", 2), ("COU", 2), ("CRC", 2), ("CUP", 2), ("CVE", 2), ("CZK", 2),
    ("DJF", 0), ("DKK", 2), ("DOP", 2), ("DZD", 2), ("EGP", 2), ("ERN", 2), ("ETB", 2), ("EUR", 2),
    ("FJD", 2), ("FKP", 2), ("GBP", 2), ("GEL", 2), ("GHS", 2), ("GIP", 2), ("GMD", 2), ("GNF", 0),
    ("GTQ", 2), ("GYD", 2), ("HKD", 2), ("HNL", 2), ("HTG", 2), ("HUF", 2), ("IDR", 2), ("ILS", 2),
    ("INR", 2), ("IQD", 3), ("IRR", 2), ("ISK", 0), ("JMD", 2), ("JOD", 3), ("JPY", 0), ("KES", 2),
    ("KGS", 2), ("KHR", 2), ("KMF", 0), ("KPW", 2), ("KRW", 0), ("KWD", 3), ("KYD", 2), ("KZT", 2),
    ("LAK", 2), ("LBP", 2), ("LKR", 2), ("LRD", 2), ("LSL", 2), ("LYD", 3), ("MAD", 2), ("MDL", 2),
    ("MGA", 2), ("MKD", 2), ("MMK", 2), ("MNT", 2), ("MOP", 2), ("MRU", 2), ("MUR", 2), ("MVR", 2),
    ("MWK", 2), ("MXN", 2), ("MXV", 2), ("MYR", 2), ("MZN", 2), ("NAD", 2), ("NGN", 2), ("NIO", 2),
    ("NOK", 2), ("NPR", 2), ("NZD", 2), ("OMR", 3), ("PAB", 2), ("PEN", 2), ("PGK", 2), ("PHP", 2),
    ("PKR", 2), ("PLN", 2), ("PYG", 0), ("QAR", 2), ("RON", 2), ("RSD", 2), ("RUB", 2), ("RWF", 0),
    ("SAR", 2), ("SBD", 2), ("SCR", 2), ("SDG", 2), ("SEK", 2), ("SGD", 2), ("SHP", 2), ("SLE", 2),
    ("SOS", 2), ("SRD", 2), ("SSP", 2), ("STN", 2), ("SVC", 2), ("SYP", 2), ("SZL", 2), ("THB", 2),
    ("TJS", 2), ("TMT", 2), ("TND", 3), ("TOP", 2), ("TRY", 2), ("TTD", 2), ("TWD", 2), ("TZS", 2),
    ("UAH", 2), ("UGX", 0), ("USD", 2), ("USN", 2), ("UYI", 0), ("UYU", 2), ("UYW", 4), ("UZS", 2),
    ("VED", 2), ("VES", 2), ("VND", 0), ("VUV", 0), ("WST", 2), ("XAF", 0), ("XCD", 2), ("XCG", 2),
    ("XOF", 0), ("XPF", 0), ("YER", 2), ("ZAR", 2), ("ZMW", 2), ("ZWG", 2),
];

/// An ISO 4217 alphabetic currency code, always upper case and always in the accepted list.
///
/// Serialises as the three-letter string (`"EUR"`). Parsing upper-cases its input.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Currency([u8; 3]);

impl Currency {
    /// Parses a code, case-insensitively (`"eur"` -> `EUR`).
    ///
    /// Errors: [`MoneyError::UnknownCurrency`] when the code is not in ISO 4217 list one.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        match CURRENCIES.binary_search_by(|(c, _)| (*c).cmp(upper.as_str())) {
            Ok(_) => {
                let b = upper.as_bytes();
                Ok(Currency([b[0], b[1], b[2]]))
            }
            Err(_) => Err(MoneyError::UnknownCurrency(code.to_owned())),
        }
    }

    /// The three-letter code.
    pub fn as_str(&self) -> &str {
        // The bytes were copied from an ASCII table entry, so this never fails.
        std::str::from_utf8(&self.0).unwrap_or("???")
    }

    /// Number of decimal digits of the minor unit: 0 for JPY/KRW, 2 for USD/EUR, 3 for KWD/BHD.
    pub fn exponent(&self) -> u8 {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(self.as_str()))
            .map(|i| CURRENCIES[i].1)
            .unwrap_or(2)
    }

    /// Formats `amount_minor` as a decimal string with exactly [`Self::exponent`] decimals
    /// (`1050` EUR -> `"10.50"`, `500` JPY -> `"500"`, `1234` KWD -> `"1.234"`).
    pub fn format_minor(&self, amount_minor: i64) -> String {
        let exp = u32::from(self.exponent());
        if exp == 0 {
            return amount_minor.to_string();
        }
        let div = 10i64.pow(exp);
        let sign = if amount_minor < 0 { "-" } else { "" };
        let abs = amount_minor.unsigned_abs();
        let div_u = div.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / div_u,
            abs % div_u,
            width = exp as usize
        )
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// An ISO 3166-1 alpha-2 country code, upper case (`"DE"`). Serialises as the string.
///
/// Validation is syntactic (two ASCII letters) plus a rejection of the user-assigned ranges
/// `AA`, `QM`..=`QZ`, `XA`..=`XZ` and `ZZ`, which are never real billing countries.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Country([u8; 2]);

impl Country {
    /// Parses a code, case-insensitively. Errors: [`MoneyError::InvalidCountry`].
    pub fn parse(code: &str) -> Result<Country, MoneyError> {
        let upper = code.trim().to_ascii_uppercase();
        let b = upper.as_bytes();
        let user_assigned =
            |b: &[u8]| b == b"AA" || b == b"ZZ" || (b[0] == b'Q' && b[1] >= b'M') || b[0] == b'X';
        if b.len() == 2 && b.iter().all(u8::is_ascii_uppercase) && !user_assigned(b) {
            Ok(Country([b[0], b[1]]))
        } else {
            Err(MoneyError::InvalidCountry(code.to_owned()))
        }
    }
    /// The two-letter code.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}
impl fmt::Debug for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
impl Serialize for Country {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}
impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// A positive amount of money: integer minor units of `currency` (`1050` + `EUR` = €10.50).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Money {
    /// Amount in minor units of `currency`; `1..=Money::MAX_MINOR`.
    pub amount_minor: i64,
    /// ISO 4217 currency.
    pub currency: Currency,
}

impl Money {
    /// Largest accepted amount in minor units (10^15, far above any card network limit, far
    /// below `i64::MAX` so sums of many payments cannot overflow).
    pub const MAX_MINOR: i64 = 1_000_000_000_000_000;

    /// Builds a payment amount. Errors: [`MoneyError::NonPositiveAmount`] for `<= 0`,
    /// [`MoneyError::AmountTooLarge`] above [`Self::MAX_MINOR`].
    pub fn new(amount_minor: i64, currency: Currency) -> Result<Money, MoneyError> {
        if amount_minor <= 0 {
            return Err(MoneyError::NonPositiveAmount(amount_minor));
        }
        if amount_minor > Self::MAX_MINOR {
            return Err(MoneyError::AmountTooLarge(amount_minor));
        }
        Ok(Money {
            amount_minor,
            currency,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn currency_table_is_sorted_and_unique() {
        assert!(CURRENCIES.windows(2).all(|w| w[0].0 < w[1].0));
    }

    #[test]
    fn currencies_parse_and_format_as_a_table() {
        // (input, code, exponent, minor amount, formatted)
        let rows: &[(&str, &str, u8, i64, &str)] = &[
            ("eur", "EUR", 2, 1050, "10.50"),
            ("USD", "USD", 2, 5, "0.05"),
            ("jpy", "JPY", 0, 500, "500"),
            ("KRW", "KRW", 0, 1, "1"),
            ("kwd", "KWD", 3, 1234, "1.234"),
            ("BHD", "BHD", 3, 5, "0.005"),
            ("CLF", "CLF", 4, 10000, "1.0000"),
        ];
        for &(input, code, exp, minor, formatted) in rows {
            let c = Currency::parse(input).unwrap();
            assert_eq!(c.as_str(), code);
            assert_eq!(c.exponent(), exp, "{code}");
            assert_eq!(c.format_minor(minor), formatted, "{code}");
        }
    }

    #[test]
    fn bad_codes_are_rejected() {
        for bad in ["", "EU", "EURO", "XXX", "XAU", "ABC", "12€"] {
            assert!(Currency::parse(bad).is_err(), "{bad}");
        }
        for bad in ["", "D", "DEU", "1A", "XX", "ZZ", "QM"] {
            assert!(Country::parse(bad).is_err(), "{bad}");
        }
        assert_eq!(Country::parse("de").unwrap().as_str(), "DE");
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(Money::new(0, eur), Err(MoneyError::NonPositiveAmount(0)));
        assert_eq!(Money::new(-5, eur), Err(MoneyError::NonPositiveAmount(-5)));
        assert!(Money::new(Money::MAX_MINOR + 1, eur).is_err());
        assert!(Money::new(1, eur).is_ok());
    }
}
