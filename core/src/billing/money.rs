//! Money: integer minor units with an ISO 4217 currency. No floats.

use std::fmt;

use serde::{Deserialize, Serialize};

/// Current ISO 4217 codes this build knows, with their minor-unit exponent
/// (sorted by code for binary search).
const CURRENCIES: &[(&str, u8)] = &[
    ("AED", 2),
    ("ARS", 2),
    ("AUD", 2),
    ("BHD", 3),
    ("BRL", 2),
    ("CAD", 2),
    ("CHF", 2),
    ("CLP", 0),
    ("CNY", 2),
    ("CZK", 2),
    ("DKK", 2),
    ("EUR", 2),
    ("GBP", 2),
    ("HKD", 2),
    ("HUF", 2),
    ("IDR", 2),
    ("ILS", 2),
    ("INR", 2),
    ("IQD", 3),
    ("ISK", 0),
    ("JOD", 3),
    ("JPY", 0),
    ("KRW", 0),
    ("KWD", 3),
    ("LYD", 3),
    ("MXN", 2),
    ("MYR", 2),
    ("NOK", 2),
    ("NZD", 2),
    ("OMR", 3),
    ("PHP", 2),
    ("PLN", 2),
    ("QAR", 2),
    ("RON", 2),
    ("SAR", 2),
    ("SEK", 2),
    ("SGD", 2),
    ("THB", 2),
    ("TND", 3),
    ("TRY", 2),
    ("TWD", 2),
    ("UGX", 0),
    ("USD", 2),
    ("VND", 0),
    ("XAF", 0),
    ("XOF", 0),
    ("ZAR", 2),
];

/// Extra decimal places a per-unit [`Price`] may carry beyond the currency's exponent.
pub const PRICE_EXTRA_DECIMALS: u8 = 6;
const PRICE_SCALE: i128 = 1_000_000;

/// A money error: overflow, mixed currencies, an unknown currency or a malformed amount.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The result does not fit in an `i64` of minor units.
    #[error("amount overflows")]
    Overflow,
    /// Two amounts in different currencies were combined.
    #[error("cannot combine {left} with {right}")]
    CurrencyMismatch {
        /// The left operand's currency.
        left: Currency,
        /// The right operand's currency.
        right: Currency,
    },
    /// Not a current ISO 4217 code this build knows.
    #[error("unknown currency `{0}` (expected a current ISO 4217 code such as USD)")]
    UnknownCurrency(String),
    /// The text is not an exact decimal amount for the currency.
    #[error("invalid amount `{text}`: {reason}")]
    InvalidAmount {
        /// The text given.
        text: String,
        /// Why it was refused.
        reason: String,
    },
}

impl MoneyError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            MoneyError::Overflow => "billing.overflow",
            MoneyError::CurrencyMismatch { .. } => "billing.currency_mismatch",
            MoneyError::UnknownCurrency(_) => "billing.unknown_currency",
            MoneyError::InvalidAmount { .. } => "billing.invalid_amount",
        }
    }
}

/// An ISO 4217 currency (validated against the embedded table).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

impl Currency {
    /// US dollar.
    pub const USD: Currency = Currency {
        code: "USD",
        exponent: 2,
    };
    /// Euro.
    pub const EUR: Currency = Currency {
        code: "EUR",
        exponent: 2,
    };
    /// Japanese yen.
    pub const JPY: Currency = Currency {
        code: "JPY",
        exponent: 0,
    };
    /// Kuwaiti dinar.
    pub const KWD: Currency = Currency {
        code: "KWD",
        exponent: 3,
    };

    /// Looks up a three-letter code (exact, upper case).
    pub fn new(code: &str) -> Result<Currency, MoneyError> {
        CURRENCIES
            .binary_search_by(|(c, _)| (*c).cmp(code))
            .ok()
            .and_then(|i| CURRENCIES.get(i))
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_owned()))
    }

    /// The three-letter code.
    pub fn code(self) -> &'static str {
        self.code
    }

    /// The number of decimal places of the minor unit (USD 2, JPY 0, KWD 3).
    pub fn exponent(self) -> u8 {
        self.exponent
    }

    /// Every currency this build knows, by code.
    pub fn all() -> impl Iterator<Item = Currency> {
        CURRENCIES.iter().map(|&(code, exponent)| Currency { code, exponent })
    }
}

impl fmt::Debug for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl fmt::Display for Currency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code)
    }
}

impl std::str::FromStr for Currency {
    type Err = MoneyError;
    fn from_str(s: &str) -> Result<Currency, MoneyError> {
        Currency::new(s)
    }
}

impl Serialize for Currency {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code)
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let text = String::deserialize(d)?;
        Currency::new(&text).map_err(serde::de::Error::custom)
    }
}

/// An amount of money: integer minor units (cents for USD) and a currency.
///
/// Its JSON form is `{"amount": "4.80", "currency": "USD", "minor": 480}`: the exact
/// decimal for people and the integer for programs (reading takes `minor` and
/// `currency`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
pub struct Money {
    /// The amount in minor units; may be negative.
    pub minor: i64,
    /// The currency.
    pub currency: Currency,
}

impl Money {
    /// An amount in minor units.
    pub fn new(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Zero in `currency`.
    pub fn zero(currency: Currency) -> Money {
        Money { minor: 0, currency }
    }

    fn same(self, other: Money) -> Result<(), MoneyError> {
        if self.currency == other.currency {
            Ok(())
        } else {
            Err(MoneyError::CurrencyMismatch {
                left: self.currency,
                right: other.currency,
            })
        }
    }

    /// `self + other`; refuses mixed currencies and overflow.
    pub fn checked_add(self, other: Money) -> Result<Money, MoneyError> {
        self.same(other)?;
        let minor = self.minor.checked_add(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self - other`; refuses mixed currencies and overflow.
    pub fn checked_sub(self, other: Money) -> Result<Money, MoneyError> {
        self.same(other)?;
        let minor = self.minor.checked_sub(other.minor).ok_or(MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// `self × quantity`; refuses overflow.
    pub fn checked_mul(self, quantity: u64) -> Result<Money, MoneyError> {
        let product = i128::from(self.minor)
            .checked_mul(i128::from(quantity))
            .ok_or(MoneyError::Overflow)?;
        let minor = i64::try_from(product).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }

    /// Parses an exact decimal (`12.34`, `-0.50`, `7`) into minor units. Refuses more
    /// decimals than the currency's exponent, exponents, signs other than a leading
    /// `-`, separators, blanks and overflow.
    pub fn parse(text: &str, currency: Currency) -> Result<Money, MoneyError> {
        let scaled = parse_decimal(text, currency.exponent)?;
        let minor = i64::try_from(scaled).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, currency))
    }
}

impl fmt::Display for Money {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let text = format_decimal(i128::from(self.minor), self.currency.exponent, false);
        write!(f, "{text} {}", self.currency)
    }
}

/// A per-unit price: exact, with up to [`PRICE_EXTRA_DECIMALS`] more decimals than the
/// currency's minor unit (rate cards price a request at `0.0020 USD`).
///
/// Stored as millionths of a minor unit. A line's amount is `quantity × price`,
/// rounded once, half up, to minor units ([`Price::amount_for`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Price {
    micro_minor: i64,
    currency: Currency,
}

impl Price {
    /// Parses an exact, non-negative decimal price (`0.0020`).
    pub fn parse(text: &str, currency: Currency) -> Result<Price, MoneyError> {
        let places = currency.exponent.saturating_add(PRICE_EXTRA_DECIMALS);
        let scaled = parse_decimal(text, places)?;
        if scaled < 0 {
            return Err(MoneyError::InvalidAmount {
                text: text.to_owned(),
                reason: "a price cannot be negative".to_owned(),
            });
        }
        let micro_minor = i64::try_from(scaled).map_err(|_| MoneyError::Overflow)?;
        Ok(Price { micro_minor, currency })
    }

    /// A price of exactly `money` per unit (`money` must not be negative).
    pub fn from_money(money: Money) -> Result<Price, MoneyError> {
        if money.minor < 0 {
            return Err(MoneyError::InvalidAmount {
                text: money.to_string(),
                reason: "a price cannot be negative".to_owned(),
            });
        }
        let micro_minor = i128::from(money.minor)
            .checked_mul(PRICE_SCALE)
            .and_then(|v| i64::try_from(v).ok())
            .ok_or(MoneyError::Overflow)?;
        Ok(Price {
            micro_minor,
            currency: money.currency,
        })
    }

    /// The currency.
    pub fn currency(self) -> Currency {
        self.currency
    }

    /// The price in millionths of a minor unit.
    pub fn micro_minor(self) -> i64 {
        self.micro_minor
    }

    /// `quantity × self`, rounded half up to minor units; refuses overflow.
    pub fn amount_for(self, quantity: u64) -> Result<Money, MoneyError> {
        let exact = i128::from(self.micro_minor)
            .checked_mul(i128::from(quantity))
            .ok_or(MoneyError::Overflow)?;
        // Prices are never negative, so half up is (exact + scale/2) / scale.
        let rounded = exact.checked_add(PRICE_SCALE / 2).ok_or(MoneyError::Overflow)? / PRICE_SCALE;
        let minor = i64::try_from(rounded).map_err(|_| MoneyError::Overflow)?;
        Ok(Money::new(minor, self.currency))
    }
}

impl fmt::Display for Price {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let places = self.currency.exponent.saturating_add(PRICE_EXTRA_DECIMALS);
        let text = format_decimal(i128::from(self.micro_minor), places, true);
        let text = pad_to(text, self.currency.exponent);
        write!(f, "{text} {}", self.currency)
    }
}

impl Serialize for Money {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let text = self.to_string();
        let amount = text.strip_suffix(self.currency.code).unwrap_or(&text).trim_end();
        let mut st = s.serialize_struct("Money", 3)?;
        st.serialize_field("amount", amount)?;
        st.serialize_field("currency", &self.currency)?;
        st.serialize_field("minor", &self.minor)?;
        st.end()
    }
}

impl Serialize for Price {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let places = self.currency.exponent.saturating_add(PRICE_EXTRA_DECIMALS);
        let text = pad_to(
            format_decimal(i128::from(self.micro_minor), places, true),
            self.currency.exponent,
        );
        let mut st = s.serialize_struct("Price", 2)?;
        st.serialize_field("amount", &text)?;
        st.serialize_field("currency", &self.currency)?;
        st.end()
    }
}

fn invalid(text: &str, reason: &str) -> MoneyError {
    MoneyError::InvalidAmount {
        text: text.to_owned(),
        reason: reason.to_owned(),
    }
}

/// Parses `-?digits(.digits)?` into an integer scaled by `10^places`.
fn parse_decimal(text: &str, places: u8) -> Result<i128, MoneyError> {
    let (negative, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = match body.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (body, None),
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(whole) || frac.is_some_and(|f| !digits(f)) {
        return Err(invalid(
            text,
            "expected an exact decimal such as 12.34 (digits, an optional leading '-', at most one '.')",
        ));
    }
    let frac = frac.unwrap_or("");
    if frac.len() > usize::from(places) {
        return Err(invalid(text, &format!("more than {places} decimal place(s)")));
    }
    let mut value: i128 = 0;
    let padding = usize::from(places).saturating_sub(frac.len());
    for b in whole
        .bytes()
        .chain(frac.bytes())
        .chain(std::iter::repeat_n(b'0', padding))
    {
        value = value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i128::from(b - b'0')))
            .ok_or(MoneyError::Overflow)?;
    }
    Ok(if negative { -value } else { value })
}

/// Formats `value / 10^places`; with `trim`, drops trailing fractional zeros.
fn format_decimal(value: i128, places: u8, trim: bool) -> String {
    let digits = value.unsigned_abs().to_string();
    let places = usize::from(places);
    let padded = if digits.len() <= places {
        format!("{}{digits}", "0".repeat(places + 1 - digits.len()))
    } else {
        digits
    };
    let split = padded.len() - places;
    let (whole, frac) = padded.split_at(split);
    let frac = if trim { frac.trim_end_matches('0') } else { frac };
    let sign = if value < 0 { "-" } else { "" };
    if frac.is_empty() {
        format!("{sign}{whole}")
    } else {
        format!("{sign}{whole}.{frac}")
    }
}

/// Pads a decimal's fraction with zeros to at least `places` digits.
fn pad_to(text: String, places: u8) -> String {
    let places = usize::from(places);
    let have = text.split_once('.').map_or(0, |(_, f)| f.len());
    if have >= places {
        return text;
    }
    let mut out = text;
    if have == 0 {
        out.push('.');
    }
    out.push_str(&"0".repeat(places - have));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_sorted_and_valid() {
        assert!(CURRENCIES.windows(2).all(|w| matches!(w, [a, b] if a.0 < b.0)));
        assert!(CURRENCIES.iter().all(|(c, e)| c.len() == 3 && *e <= 3));
        assert_eq!(Currency::new("JPY"), Ok(Currency::JPY));
        assert_eq!(Currency::new("KWD").map(Currency::exponent), Ok(3));
        assert_eq!(
            Currency::new("usd").map_err(|e| e.code()),
            Err("billing.unknown_currency")
        );
        assert!(Currency::new("XXX").is_err());
    }

    #[test]
    fn json_form_round_trips() {
        let m = Money::new(-123_456, Currency::USD);
        let json = serde_json::to_value(m).unwrap();
        assert_eq!(
            json,
            serde_json::json!({"amount": "-1234.56", "currency": "USD", "minor": -123_456})
        );
        assert_eq!(serde_json::from_value::<Money>(json).unwrap(), m);
        let jpy = serde_json::to_value(Money::new(7, Currency::JPY)).unwrap();
        assert_eq!(jpy["amount"], "7");
    }

    #[test]
    fn parse_and_display() {
        let m = Money::parse("12.34", Currency::USD);
        assert_eq!(m, Ok(Money::new(1234, Currency::USD)));
        assert_eq!(Money::new(1234, Currency::USD).to_string(), "12.34 USD");
        assert_eq!(Money::new(-5, Currency::USD).to_string(), "-0.05 USD");
        assert_eq!(Money::new(1234, Currency::JPY).to_string(), "1234 JPY");
        assert_eq!(Money::new(1, Currency::KWD).to_string(), "0.001 KWD");
        assert_eq!(
            Money::new(i64::MIN, Currency::USD).to_string(),
            "-92233720368547758.08 USD"
        );
        assert_eq!(Money::parse("7", Currency::USD), Ok(Money::new(700, Currency::USD)));
        assert_eq!(Money::parse("0.5", Currency::USD), Ok(Money::new(50, Currency::USD)));
        assert_eq!(
            Money::parse("-1.25", Currency::USD),
            Ok(Money::new(-125, Currency::USD))
        );
        for bad in [
            "12.345", "1.5", ".5", "5.", "+1", "1e3", " 1", "1,000", "", "-", "1.2.3",
        ] {
            let currency = if bad == "1.5" { Currency::JPY } else { Currency::USD };
            assert_eq!(
                Money::parse(bad, currency).map_err(|e| e.code()),
                Err("billing.invalid_amount"),
                "{bad}"
            );
        }
        assert_eq!(
            Money::parse("92233720368547758.08", Currency::USD),
            Err(MoneyError::Overflow)
        );
        assert_eq!(
            Money::parse("92233720368547758.07", Currency::USD),
            Ok(Money::new(i64::MAX, Currency::USD))
        );
    }

    #[test]
    fn arithmetic_is_checked() {
        let max = Money::new(i64::MAX, Currency::USD);
        let one = Money::new(1, Currency::USD);
        assert_eq!(max.checked_add(one), Err(MoneyError::Overflow));
        assert_eq!(
            Money::new(i64::MIN, Currency::USD).checked_sub(one),
            Err(MoneyError::Overflow)
        );
        assert_eq!(max.checked_mul(2), Err(MoneyError::Overflow));
        assert_eq!(max.checked_mul(1), Ok(max));
        assert_eq!(max.checked_mul(0), Ok(Money::zero(Currency::USD)));
        assert_eq!(one.checked_mul(u64::MAX), Err(MoneyError::Overflow));
        let e = one.checked_add(Money::new(1, Currency::EUR));
        assert_eq!(
            e,
            Err(MoneyError::CurrencyMismatch {
                left: Currency::USD,
                right: Currency::EUR
            })
        );
        assert_eq!(e.map_err(|e| e.code()), Err("billing.currency_mismatch"));
    }

    #[test]
    fn serde_form() {
        let m = Money::new(1234, Currency::USD);
        let json = serde_json::to_string(&m).unwrap_or_default();
        assert_eq!(json, r#"{"amount":"12.34","currency":"USD","minor":1234}"#);
        assert_eq!(serde_json::from_str::<Money>(&json).ok(), Some(m));
        assert!(serde_json::from_str::<Money>(r#"{"minor":1,"currency":"ZZZ"}"#).is_err());
    }

    #[test]
    fn prices() {
        let p = Price::parse("0.0020", Currency::USD);
        assert_eq!(p.clone().map(Price::micro_minor), Ok(200_000));
        let Ok(p) = p else { return };
        assert_eq!(p.to_string(), "0.002 USD");
        assert_eq!(
            Price::parse("3", Currency::USD).map(|p| p.to_string()),
            Ok("3.00 USD".into())
        );
        assert_eq!(p.amount_for(1000), Ok(Money::new(200, Currency::USD)));
        assert_eq!(p.amount_for(2), Ok(Money::new(0, Currency::USD)));
        assert_eq!(p.amount_for(3), Ok(Money::new(1, Currency::USD))); // 0.6 cent → 1
        // 0.2 cent × u64::MAX still fits; 1 USD × u64::MAX does not.
        assert_eq!(
            p.amount_for(u64::MAX),
            Ok(Money::new(3_689_348_814_741_910_323, Currency::USD))
        );
        let dollar = Price::from_money(Money::new(100, Currency::USD));
        assert_eq!(
            dollar.map(|d| d.amount_for(u64::MAX).map_err(|e| e.code())),
            Ok(Err("billing.overflow"))
        );
        let max = Price::parse("92233720368.54775807", Currency::USD);
        assert_eq!(
            max.map(|m| m.amount_for(u64::MAX).map_err(|e| e.code())),
            Ok(Err("billing.overflow"))
        );
        assert!(Price::parse("-1", Currency::USD).is_err());
        assert!(Price::parse("0.000000001", Currency::USD).is_err());
        assert_eq!(
            serde_json::to_string(&p).unwrap_or_default(),
            r#"{"amount":"0.002","currency":"USD"}"#
        );
    }
}
