//! Rate cards: a price per usage unit+version with effective dates.
//!
//! A usage unit without a rate effective on the event's date cannot be billed
//! (the seed's "rating posture"): [`crate::billing::generate`] refuses with
//! `billing.rate_missing`.

use jiff::civil::Date;
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use super::BillingError;
use super::money::{Currency, Price};
use crate::registry::parse_version;

/// The largest rate-card text read (1 MiB).
const MAX_BYTES: usize = 1 << 20;

/// One rate: the price of one `unit` at `version`, effective from `effective_from`
/// (inclusive) until `effective_until` (exclusive; open-ended when `None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rate {
    /// The usage unit key.
    pub unit: String,
    /// The usage unit version.
    #[serde(serialize_with = "super::ser_version")]
    pub version: Version,
    /// The price per unit.
    pub price: Price,
    /// First day the rate applies (UTC).
    pub effective_from: Date,
    /// First day the rate no longer applies (UTC), if any.
    pub effective_until: Option<Date>,
}

impl Rate {
    /// True when the rate applies on `date`.
    pub fn applies_on(&self, date: Date) -> bool {
        self.effective_from <= date && self.effective_until.is_none_or(|until| date < until)
    }

    fn range(&self) -> String {
        match self.effective_until {
            Some(until) => format!("{}..{until}", self.effective_from),
            None => format!("{}..", self.effective_from),
        }
    }
}

/// A validated set of rates in one currency, with no overlapping ranges for the same
/// unit+version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RateCard {
    currency: Currency,
    rates: Vec<Rate>,
}

impl RateCard {
    /// Validates `rates`: at least one; one currency; every range non-empty; no two
    /// ranges of the same unit+version overlap. Rates are kept sorted by unit,
    /// version and start.
    pub fn new(mut rates: Vec<Rate>) -> Result<RateCard, BillingError> {
        let currency = rates
            .first()
            .map(|r| r.price.currency())
            .ok_or(BillingError::EmptyRateCard)?;
        for rate in &rates {
            if rate.price.currency() != currency {
                return Err(super::MoneyError::CurrencyMismatch {
                    left: currency,
                    right: rate.price.currency(),
                }
                .into());
            }
            if let Some(until) = rate.effective_until
                && until <= rate.effective_from
            {
                return Err(BillingError::EmptyRange {
                    unit: rate.unit.clone(),
                    version: rate.version.clone(),
                    from: rate.effective_from,
                    until,
                });
            }
        }
        rates.sort_by(|a, b| (&a.unit, &a.version, a.effective_from).cmp(&(&b.unit, &b.version, b.effective_from)));
        for pair in rates.windows(2) {
            if let [a, b] = pair
                && a.unit == b.unit
                && a.version == b.version
                && a.effective_until.is_none_or(|until| until > b.effective_from)
            {
                return Err(BillingError::RateOverlap {
                    unit: a.unit.clone(),
                    version: a.version.clone(),
                    first: a.range(),
                    second: b.range(),
                });
            }
        }
        Ok(RateCard { currency, rates })
    }

    /// The card's currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// Every rate, sorted by unit, version and start.
    pub fn rates(&self) -> &[Rate] {
        &self.rates
    }

    /// The rate for `unit` at `version` effective on `date`, if any.
    pub fn rate_for(&self, unit: &str, version: &Version, date: Date) -> Option<&Rate> {
        self.rates
            .iter()
            .find(|r| r.unit == unit && &r.version == version && r.applies_on(date))
    }

    /// Reads a rate card:
    ///
    /// ```yaml
    /// rate_card:
    ///   currency: USD
    ///   rates:
    ///     - {unit: request, version: 1.0.0, price: "0.0020", effective_from: 2026-01-01}
    ///     - {unit: gb_stored, version: v1, price: "0.10", effective_from: 2026-01-01, effective_until: 2027-01-01}
    /// ```
    ///
    /// Prices are exact decimal strings (at most six decimals beyond the currency's
    /// minor unit); versions are semver or `v1`/`v1.2`; unknown keys are refused.
    /// The first problem is reported with its line and column.
    pub fn from_yaml(text: &str) -> Result<RateCard, BillingError> {
        if text.len() > MAX_BYTES {
            return Err(parse_error(format!("larger than the limit of {MAX_BYTES} bytes"), 0, 0));
        }
        let file: File = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            // The parser prefixes `error: line L column C: `; the position is kept apart.
            let message = first
                .strip_prefix("error: ")
                .and_then(|rest| rest.split_once(": ").filter(|(at, _)| at.starts_with("line ")))
                .map_or(first, |(_, m)| m)
                .to_owned();
            parse_error(message, line, column)
        })?;
        let card = file.rate_card;
        let currency = Currency::new(&card.currency.value).map_err(|e| at(&card.currency, e.to_string()))?;
        let mut rates = Vec::with_capacity(card.rates.len());
        for raw in card.rates {
            let version = parse_version(&raw.version.value).ok_or_else(|| {
                at(
                    &raw.version,
                    format!("invalid version `{}` (expected semver or v1)", raw.version.value),
                )
            })?;
            let price = Price::parse(&raw.price.value, currency).map_err(|e| at(&raw.price, e.to_string()))?;
            let date = |s: &Spanned<String>| {
                s.value
                    .parse::<Date>()
                    .map_err(|_| at(s, format!("invalid date `{}` (expected YYYY-MM-DD)", s.value)))
            };
            let effective_from = date(&raw.effective_from)?;
            let effective_until = raw.effective_until.as_ref().map(date).transpose()?;
            if raw.unit.value.trim().is_empty() {
                return Err(at(&raw.unit, "unit must not be blank".to_owned()));
            }
            rates.push(Rate {
                unit: raw.unit.value,
                version,
                price,
                effective_from,
                effective_until,
            });
        }
        RateCard::new(rates)
    }
}

fn parse_error(message: String, line: u64, column: u64) -> BillingError {
    BillingError::RateCardParse { message, line, column }
}

fn at(span: &Spanned<String>, message: String) -> BillingError {
    parse_error(message, span.referenced.line(), span.referenced.column())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    rate_card: CardRaw,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CardRaw {
    currency: Spanned<String>,
    rates: Vec<RateRaw>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RateRaw {
    unit: Spanned<String>,
    version: Spanned<String>,
    price: Spanned<String>,
    effective_from: Spanned<String>,
    #[serde(default)]
    effective_until: Option<Spanned<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap_or_default()
    }

    fn rate(unit: &str, from: &str, until: Option<&str>, price: &str) -> Rate {
        Rate {
            unit: unit.into(),
            version: Version::new(1, 0, 0),
            price: Price::parse(price, Currency::USD).unwrap_or_else(|_| unreachable!()),
            effective_from: d(from),
            effective_until: until.map(d),
        }
    }

    #[test]
    fn lookup_respects_exclusive_end() {
        let card = RateCard::new(vec![
            rate("req", "2026-06-01", None, "0.003"),
            rate("req", "2026-01-01", Some("2026-06-01"), "0.002"),
        ]);
        let Ok(card) = card else { unreachable!() };
        let v = Version::new(1, 0, 0);
        let p = |date| card.rate_for("req", &v, d(date)).map(|r| r.price.to_string());
        assert_eq!(p("2025-12-31"), None);
        assert_eq!(p("2026-01-01").as_deref(), Some("0.002 USD"));
        assert_eq!(p("2026-05-31").as_deref(), Some("0.002 USD"));
        assert_eq!(p("2026-06-01").as_deref(), Some("0.003 USD"));
        assert_eq!(card.rate_for("req", &Version::new(2, 0, 0), d("2026-07-01")), None);
        assert_eq!(card.rates().first().map(|r| r.effective_from), Some(d("2026-01-01")));
    }

    #[test]
    fn refuses_overlap_mixed_currency_empty_and_bad_range() {
        let overlap = RateCard::new(vec![
            rate("req", "2026-01-01", Some("2026-06-02"), "1"),
            rate("req", "2026-06-01", None, "2"),
        ]);
        assert_eq!(overlap.map_err(|e| e.code()), Err("billing.rate_overlap"));
        let open = RateCard::new(vec![
            rate("req", "2026-01-01", None, "1"),
            rate("req", "2027-01-01", None, "2"),
        ]);
        assert_eq!(open.map_err(|e| e.code()), Err("billing.rate_overlap"));
        let other_unit = RateCard::new(vec![
            rate("req", "2026-01-01", None, "1"),
            rate("gb", "2026-01-01", None, "2"),
        ]);
        assert!(other_unit.is_ok());
        let mut eur = rate("gb", "2026-01-01", None, "1");
        eur.price = Price::parse("1", Currency::EUR).unwrap_or_else(|_| unreachable!());
        let mixed = RateCard::new(vec![rate("req", "2026-01-01", None, "1"), eur]);
        assert_eq!(mixed.map_err(|e| e.code()), Err("billing.currency_mismatch"));
        assert_eq!(
            RateCard::new(vec![]).map_err(|e| e.code()),
            Err("billing.rate_card_empty")
        );
        let backwards = RateCard::new(vec![rate("req", "2026-01-01", Some("2026-01-01"), "1")]);
        assert_eq!(backwards.map_err(|e| e.code()), Err("billing.rate_range"));
    }

    #[test]
    fn from_yaml_reads_and_reports_lines() {
        let text = "rate_card:\n  currency: USD\n  rates:\n    - unit: request\n      version: v1\n      price: \"0.0020\"\n      effective_from: 2026-01-01\n      effective_until: 2027-01-01\n";
        let card = RateCard::from_yaml(text);
        let Ok(card) = card else { unreachable!("{card:?}") };
        assert_eq!(card.currency(), Currency::USD);
        assert_eq!(card.rates().first().map(|r| r.price.micro_minor()), Some(200_000));

        let unknown = RateCard::from_yaml(
            "rate_card:\n  currency: USD\n  rates:\n    - {unit: r, version: v1, price: \"1\", effective_from: 2026-01-01, colour: red}\n",
        );
        match unknown {
            Err(BillingError::RateCardParse { line, message, .. }) => {
                assert_eq!(line, 4, "{message}");
                assert!(message.contains("colour"), "{message}");
            }
            other => unreachable!("{other:?}"),
        }
        let bad_price = RateCard::from_yaml(
            "rate_card:\n  currency: USD\n  rates:\n    - unit: r\n      version: v1\n      price: \"0.1.2\"\n      effective_from: 2026-01-01\n",
        );
        assert!(
            matches!(bad_price, Err(BillingError::RateCardParse { line: 6, .. })),
            "{bad_price:?}"
        );
        let bad_currency = RateCard::from_yaml("rate_card:\n  currency: XYZ\n  rates: []\n");
        assert!(
            matches!(bad_currency, Err(BillingError::RateCardParse { line: 2, .. })),
            "{bad_currency:?}"
        );
        let bad_date = RateCard::from_yaml(
            "rate_card:\n  currency: USD\n  rates:\n    - {unit: r, version: v1, price: \"1\", effective_from: 2026-13-01}\n",
        );
        assert!(
            matches!(bad_date, Err(BillingError::RateCardParse { line: 4, .. })),
            "{bad_date:?}"
        );
        let empty = RateCard::from_yaml("rate_card:\n  currency: USD\n  rates: []\n");
        assert_eq!(empty.map_err(|e| e.code()), Err("billing.rate_card_empty"));
    }
}
