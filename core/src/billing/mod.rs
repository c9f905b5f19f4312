//! Billing: money, rate cards, invoices, purchase orders and the provisioning gate
//! (SPEC §2.9). The domain is pure: every function takes its inputs (including
//! dates and timestamps) and returns a value or a typed error; nothing but
//! [`store`] (billing's tables in the SQLite [`crate::Store`]) reads a clock, a file
//! or a database.
//!
//! - [`money`]: [`Money`] (integer minor units with an ISO 4217 [`Currency`]) and
//!   per-unit [`Price`]; arithmetic is checked and never mixes currencies.
//! - [`rate_card`]: [`RateCard`], a price per usage unit+version with effective dates.
//! - [`invoice`]: [`generate`] builds a draft [`Invoice`] from ledger events;
//!   `issue`, `mark_paid` and `cancel` move it; a refused move lists every blocker.
//! - [`purchase_order`]: [`PurchaseOrder`], `submitted → approved | rejected`.
//! - [`mod@gate`]: [`gate()`] decides provisioning from the configured [`GateStandard`].
//! - [`store`]: rate cards, the usage ledger, invoices (idempotent operations) and
//!   purchase orders persisted in the [`crate::Store`], every change audited.
//!
//! ```
//! use gangway::billing::{Currency, LedgerEvent, RateCard, generate};
//!
//! let card = RateCard::from_yaml(
//!     "rate_card:
//!   currency: USD
//!   rates:
//!     - {unit: request, version: 1.0.0, price: \"0.0020\", effective_from: 2026-01-01}
//! ",
//! )?;
//! let event = LedgerEvent {
//!     tenant: "acme".into(),
//!     unit: "request".into(),
//!     version: gangway::Version::new(1, 0, 0),
//!     quantity: 1500,
//!     at: "2026-11-03T10:00:00Z".parse()?,
//!     idempotency_key: "req-1".into(),
//! };
//! let draft = generate(
//!     "INV-1", "acme", Some("Acme Ltd"),
//!     "2026-11-01".parse()?, "2026-12-01".parse()?,
//!     &[event], &card,
//! )?;
//! assert_eq!(draft.total().to_string(), "3.00 USD");
//! assert_eq!(draft.total().currency, Currency::USD);
//! let issued = draft.issue()?;
//! let paid = issued.mark_paid("wire-2026-118")?;
//! assert!(paid.cancel("duplicate").is_err());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

pub mod gate;
pub mod invoice;
pub mod money;
pub mod purchase_order;
pub mod rate_card;
pub mod store;
pub mod usage;

pub use gate::{GateDecision, GateStandard, gate};
pub use invoice::{
    Blocker, DailyUsage, Invoice, InvoiceState, LedgerEvent, Line, Operation, TransitionError, generate,
    generate_from_daily,
};
pub use money::{Currency, Money, MoneyError, Price};
pub use purchase_order::{PoError, PoOperation, PoState, PurchaseOrder};
pub use rate_card::{Rate, RateCard};

use semver::Version;

/// A billing error other than a refused state transition.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BillingError {
    /// A money error (overflow, mixed currencies, unknown currency, bad amount).
    #[error(transparent)]
    Money(#[from] MoneyError),
    /// A rate card with no rates (its currency would be unknown).
    #[error("a rate card needs at least one rate")]
    EmptyRateCard,
    /// Two rates for the same unit+version overlap in time.
    #[error("rates for {unit} {version} overlap: {first} and {second}")]
    RateOverlap {
        /// The usage unit.
        unit: String,
        /// The unit version.
        version: Version,
        /// The earlier range, `from..until`.
        first: String,
        /// The later range.
        second: String,
    },
    /// A rate whose `effective_until` is not after its `effective_from`.
    #[error("rate for {unit} {version} ends ({until}) on or before it starts ({from})")]
    EmptyRange {
        /// The usage unit.
        unit: String,
        /// The unit version.
        version: Version,
        /// `effective_from`.
        from: jiff::civil::Date,
        /// `effective_until`.
        until: jiff::civil::Date,
    },
    /// A rate card that could not be read; `line`/`column` are 1-based (0 when unknown).
    #[error("rate card: {message} (line {line}, column {column})")]
    RateCardParse {
        /// What is wrong.
        message: String,
        /// 1-based line.
        line: u64,
        /// 1-based column.
        column: u64,
    },
    /// Usage with no rate effective on its date; every such unit, sorted.
    #[error("no active rate for: {}", .units.join(", "))]
    RateMissing {
        /// `unit@version on date` for each unrated event group, sorted and deduplicated.
        units: Vec<String>,
    },
    /// An invoice period whose end is not after its start.
    #[error("invoice period {start}..{end} is empty")]
    EmptyPeriod {
        /// Period start (inclusive).
        start: jiff::civil::Date,
        /// Period end (exclusive).
        end: jiff::civil::Date,
    },
    /// A period that overlaps an invoice of the same tenant that is not cancelled
    /// (its usage would be billed twice).
    #[error("the period overlaps invoice {invoice} ({start}..{end}); cancel it first or pick another period")]
    PeriodOverlap {
        /// The overlapping invoice.
        invoice: String,
        /// Its period start.
        start: jiff::civil::Date,
        /// Its period end.
        end: jiff::civil::Date,
    },
    /// A required text (invoice id, tenant, PO reference) is blank.
    #[error("{field} must not be blank")]
    Blank {
        /// The field's name.
        field: &'static str,
    },
}

impl BillingError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            BillingError::Money(e) => e.code(),
            BillingError::EmptyRateCard => "billing.rate_card_empty",
            BillingError::RateOverlap { .. } => "billing.rate_overlap",
            BillingError::EmptyRange { .. } => "billing.rate_range",
            BillingError::RateCardParse { .. } => "billing.rate_card_parse",
            BillingError::RateMissing { .. } => "billing.rate_missing",
            BillingError::EmptyPeriod { .. } => "billing.period_empty",
            BillingError::PeriodOverlap { .. } => "billing.period_overlap",
            BillingError::Blank { .. } => "billing.blank",
        }
    }
}

/// Serializes a version as its text (`1.0.0`); `semver` is built without serde here.
pub(crate) fn ser_version<S: serde::Serializer>(v: &Version, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}
