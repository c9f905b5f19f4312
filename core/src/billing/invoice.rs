//! Invoices: generated as a draft from the usage ledger and a rate card, then moved
//! `draft → issued → paid`, `draft → cancelled`, `issued → cancelled`. `paid` and
//! `cancelled` are final.
//!
//! Every operation is a pure method that returns the new invoice or a
//! [`TransitionError`] listing every [`Blocker`] at once. No operation touches the
//! lines or the total, so an issued invoice's lines never change; the fields are
//! private so the invariants (total = checked sum of lines; state reached only
//! through the operations) cannot be broken from outside.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use semver::Version;
use serde::Serialize;

use super::BillingError;
use super::money::{Currency, Money, Price};
use super::rate_card::RateCard;

/// One accepted usage event from the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LedgerEvent {
    /// The tenant billed.
    pub tenant: String,
    /// The usage unit key.
    pub unit: String,
    /// The usage unit version.
    #[serde(serialize_with = "super::ser_version")]
    pub version: Version,
    /// How many units.
    pub quantity: u64,
    /// When the usage happened; its UTC date selects the rate.
    pub at: Timestamp,
    /// The ledger's deduplication key.
    pub idempotency_key: String,
}

/// An invoice's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum InvoiceState {
    /// Generated, editable only by regenerating; not yet sent.
    Draft,
    /// Sent to the customer; lines frozen.
    Issued,
    /// Paid (final).
    Paid,
    /// Cancelled (final).
    Cancelled,
}

impl InvoiceState {
    /// The lower-case name (`draft`).
    pub fn as_str(self) -> &'static str {
        match self {
            InvoiceState::Draft => "draft",
            InvoiceState::Issued => "issued",
            InvoiceState::Paid => "paid",
            InvoiceState::Cancelled => "cancelled",
        }
    }

    /// True for `paid` and `cancelled`.
    pub fn is_final(self) -> bool {
        matches!(self, InvoiceState::Paid | InvoiceState::Cancelled)
    }

    /// The state `operation` leads to from `self`, if the state machine allows it.
    pub fn after(self, operation: Operation) -> Option<InvoiceState> {
        match (self, operation) {
            (InvoiceState::Draft, Operation::Issue) => Some(InvoiceState::Issued),
            (InvoiceState::Issued, Operation::MarkPaid) => Some(InvoiceState::Paid),
            (InvoiceState::Draft | InvoiceState::Issued, Operation::Cancel) => Some(InvoiceState::Cancelled),
            _ => None,
        }
    }
}

impl fmt::Display for InvoiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An invoice operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Operation {
    /// `draft → issued`.
    Issue,
    /// `issued → paid`, with a payment reference.
    MarkPaid,
    /// `draft | issued → cancelled`, with a reason.
    Cancel,
}

impl Operation {
    /// Every operation.
    pub const ALL: [Operation; 3] = [Operation::Issue, Operation::MarkPaid, Operation::Cancel];

    /// The snake-case name (`mark_paid`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Issue => "issue",
            Operation::MarkPaid => "mark_paid",
            Operation::Cancel => "cancel",
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason an operation (on an invoice or a purchase order) is refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "code", content = "detail")]
pub enum Blocker {
    /// The state machine has no such move from the current state.
    #[serde(rename = "billing.illegal_transition")]
    IllegalTransition {
        /// The current state.
        state: &'static str,
        /// The operation asked.
        operation: &'static str,
    },
    /// `mark_paid` without a payment reference.
    #[serde(rename = "billing.payment_reference_missing")]
    PaymentReferenceMissing,
    /// `cancel` without a reason.
    #[serde(rename = "billing.cancel_reason_missing")]
    CancelReasonMissing,
    /// `issue` on an invoice with no lines (cancel it instead).
    #[serde(rename = "billing.invoice_empty")]
    NoLines,
    /// `approve` without naming the approver.
    #[serde(rename = "billing.approver_missing")]
    ApproverMissing,
    /// `reject` without a reason.
    #[serde(rename = "billing.rejection_reason_missing")]
    RejectionReasonMissing,
}

impl Blocker {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        match self {
            Blocker::IllegalTransition { .. } => "billing.illegal_transition",
            Blocker::PaymentReferenceMissing => "billing.payment_reference_missing",
            Blocker::CancelReasonMissing => "billing.cancel_reason_missing",
            Blocker::NoLines => "billing.invoice_empty",
            Blocker::ApproverMissing => "billing.approver_missing",
            Blocker::RejectionReasonMissing => "billing.rejection_reason_missing",
        }
    }
}

impl fmt::Display for Blocker {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Blocker::IllegalTransition { state, operation } => {
                write!(f, "cannot {operation} from {state}")
            }
            Blocker::PaymentReferenceMissing => f.write_str("a payment reference is required"),
            Blocker::CancelReasonMissing => f.write_str("a cancel reason is required"),
            Blocker::NoLines => f.write_str("the invoice has no lines; cancel it instead"),
            Blocker::ApproverMissing => f.write_str("the approver is required"),
            Blocker::RejectionReasonMissing => f.write_str("a rejection reason is required"),
        }
    }
}

fn join(blockers: &[Blocker]) -> String {
    blockers.iter().map(ToString::to_string).collect::<Vec<_>>().join("; ")
}

/// A refused invoice operation: the state, the operation and every blocker (an
/// illegal transition first, then missing arguments, then content).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{operation} refused on {state} invoice: {}", join(.blockers))]
pub struct TransitionError {
    /// The invoice's state when refused.
    pub state: InvoiceState,
    /// The operation asked.
    pub operation: Operation,
    /// Every reason, never empty.
    pub blockers: Vec<Blocker>,
}

impl TransitionError {
    /// The code of the first blocker (`billing.illegal_transition` when the move
    /// itself is illegal).
    pub fn code(&self) -> &'static str {
        self.blockers
            .first()
            .map_or("billing.illegal_transition", Blocker::code)
    }
}

/// One invoice line: the usage of one unit+version at one price.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Line {
    /// The usage unit key.
    pub unit: String,
    /// The usage unit version.
    #[serde(serialize_with = "super::ser_version")]
    pub version: Version,
    /// Total units in the period at this price.
    pub quantity: u64,
    /// The price per unit.
    pub unit_price: Price,
    /// `quantity × unit_price`, rounded half up to minor units.
    pub amount: Money,
}

/// An invoice for one tenant and period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Invoice {
    id: String,
    tenant: String,
    company: Option<String>,
    period_start: Date,
    period_end: Date,
    currency: Currency,
    lines: Vec<Line>,
    total: Money,
    state: InvoiceState,
    payment_reference: Option<String>,
    cancel_reason: Option<String>,
}

/// Builds a draft invoice for `tenant` over `period_start..period_end` (UTC dates,
/// end exclusive) from `events`, pricing each event at the rate effective on its UTC
/// date.
///
/// Events of other tenants or outside the period are ignored; a repeated
/// idempotency key counts once (the first occurrence). Lines are one per
/// unit+version+price, sorted by unit, version and price. A period with no usage
/// gives a draft with no lines and a zero total (which cannot be issued).
///
/// Errors: blank id or tenant (`billing.blank`), an empty period
/// (`billing.period_empty`), usage without an effective rate (`billing.rate_missing`,
/// listing every `unit@version` at once, reported before any overflow), overflow
/// (`billing.overflow`).
pub fn generate(
    invoice_id: &str,
    tenant: &str,
    company: Option<&str>,
    period_start: Date,
    period_end: Date,
    events: &[LedgerEvent],
    card: &RateCard,
) -> Result<Invoice, BillingError> {
    if invoice_id.trim().is_empty() {
        return Err(BillingError::Blank { field: "invoice_id" });
    }
    if tenant.trim().is_empty() {
        return Err(BillingError::Blank { field: "tenant" });
    }
    if period_end <= period_start {
        return Err(BillingError::EmptyPeriod {
            start: period_start,
            end: period_end,
        });
    }
    let mut seen: HashSet<&str> = HashSet::with_capacity(events.len());
    let mut daily: BTreeMap<(&str, &Version, Date), u128> = BTreeMap::new();
    for event in events {
        if event.tenant != tenant {
            continue;
        }
        let date = event.at.to_zoned(TimeZone::UTC).date();
        if date < period_start || date >= period_end {
            continue;
        }
        if !seen.insert(event.idempotency_key.as_str()) {
            continue;
        }
        *daily.entry((event.unit.as_str(), &event.version, date)).or_insert(0) += u128::from(event.quantity);
    }
    let usage: Vec<DailyUsage> = daily
        .into_iter()
        .map(|((unit, version, day), quantity)| DailyUsage {
            unit: unit.to_owned(),
            version: version.clone(),
            day,
            quantity,
        })
        .collect();
    generate_from_daily(invoice_id, tenant, company, period_start, period_end, &usage, card)
}

/// The usage of one unit+version on one UTC day, summed (the ledger's daily total;
/// `u128`, so summing any number of `u64` quantities cannot overflow).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DailyUsage {
    /// The usage unit key.
    pub unit: String,
    /// The usage unit version.
    pub version: Version,
    /// The UTC day.
    pub day: Date,
    /// Units used that day.
    pub quantity: u128,
}

/// [`generate`] from daily totals instead of events: what the store uses, so an
/// invoice over a million ledger rows never holds them in memory. Days outside the
/// period are ignored; a line whose quantity does not fit in `u64` is
/// `billing.overflow`.
pub fn generate_from_daily(
    invoice_id: &str,
    tenant: &str,
    company: Option<&str>,
    period_start: Date,
    period_end: Date,
    usage: &[DailyUsage],
    card: &RateCard,
) -> Result<Invoice, BillingError> {
    if invoice_id.trim().is_empty() {
        return Err(BillingError::Blank { field: "invoice_id" });
    }
    if tenant.trim().is_empty() {
        return Err(BillingError::Blank { field: "tenant" });
    }
    if period_end <= period_start {
        return Err(BillingError::EmptyPeriod {
            start: period_start,
            end: period_end,
        });
    }
    let mut groups: BTreeMap<(&str, &Version, Price), u128> = BTreeMap::new();
    let mut missing: BTreeSet<String> = BTreeSet::new();
    for u in usage {
        if u.day < period_start || u.day >= period_end {
            continue;
        }
        match card.rate_for(&u.unit, &u.version, u.day) {
            Some(rate) => {
                let slot = groups.entry((u.unit.as_str(), &u.version, rate.price)).or_insert(0);
                *slot = slot.saturating_add(u.quantity);
            }
            None => {
                missing.insert(format!("{}@{}", u.unit, u.version));
            }
        }
    }
    if !missing.is_empty() {
        return Err(BillingError::RateMissing {
            units: missing.into_iter().collect(),
        });
    }
    let currency = card.currency();
    let mut lines = Vec::with_capacity(groups.len());
    let mut total = Money::zero(currency);
    for ((unit, version, price), quantity) in groups {
        let quantity = u64::try_from(quantity).map_err(|_| super::MoneyError::Overflow)?;
        let amount = price.amount_for(quantity)?;
        total = total.checked_add(amount)?;
        lines.push(Line {
            unit: unit.to_owned(),
            version: version.clone(),
            quantity,
            unit_price: price,
            amount,
        });
    }
    Ok(Invoice {
        id: invoice_id.to_owned(),
        tenant: tenant.to_owned(),
        company: company.map(str::to_owned),
        period_start,
        period_end,
        currency,
        lines,
        total,
        state: InvoiceState::Draft,
        payment_reference: None,
        cancel_reason: None,
    })
}

/// The parts of a stored invoice, for [`Invoice::restore`] (the store's reader).
#[derive(Debug, Clone)]
pub(crate) struct InvoiceParts {
    pub(crate) id: String,
    pub(crate) tenant: String,
    pub(crate) company: Option<String>,
    pub(crate) period_start: Date,
    pub(crate) period_end: Date,
    pub(crate) currency: Currency,
    pub(crate) lines: Vec<Line>,
    pub(crate) total: Money,
    pub(crate) state: InvoiceState,
    pub(crate) payment_reference: Option<String>,
    pub(crate) cancel_reason: Option<String>,
}

impl Invoice {
    /// The invoice id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The tenant billed.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
    /// The company's billing identity, if known.
    pub fn company(&self) -> Option<&str> {
        self.company.as_deref()
    }
    /// Period start (inclusive, UTC).
    pub fn period_start(&self) -> Date {
        self.period_start
    }
    /// Period end (exclusive, UTC).
    pub fn period_end(&self) -> Date {
        self.period_end
    }
    /// The currency of every line and the total.
    pub fn currency(&self) -> Currency {
        self.currency
    }
    /// The lines, sorted by unit, version and price.
    pub fn lines(&self) -> &[Line] {
        &self.lines
    }
    /// The checked sum of the lines' amounts.
    pub fn total(&self) -> Money {
        self.total
    }
    /// The current state.
    pub fn state(&self) -> InvoiceState {
        self.state
    }
    /// The payment reference (set by `mark_paid`).
    pub fn payment_reference(&self) -> Option<&str> {
        self.payment_reference.as_deref()
    }
    /// The cancel reason (set by `cancel`).
    pub fn cancel_reason(&self) -> Option<&str> {
        self.cancel_reason.as_deref()
    }

    /// Rebuilds a stored invoice; `None` when the parts break an invariant (a line in
    /// another currency or with an amount that is not `quantity × price`, a total that
    /// is not the checked sum of the lines, a period that is empty).
    pub(crate) fn restore(parts: InvoiceParts) -> Option<Invoice> {
        if parts.period_end <= parts.period_start || parts.total.currency != parts.currency {
            return None;
        }
        let mut sum = Money::zero(parts.currency);
        for line in &parts.lines {
            if line.unit_price.currency() != parts.currency
                || line.unit_price.amount_for(line.quantity).ok()? != line.amount
            {
                return None;
            }
            sum = sum.checked_add(line.amount).ok()?;
        }
        if sum != parts.total {
            return None;
        }
        Some(Invoice {
            id: parts.id,
            tenant: parts.tenant,
            company: parts.company,
            period_start: parts.period_start,
            period_end: parts.period_end,
            currency: parts.currency,
            lines: parts.lines,
            total: parts.total,
            state: parts.state,
            payment_reference: parts.payment_reference,
            cancel_reason: parts.cancel_reason,
        })
    }

    /// Every blocker of `operation` given its text argument (`None` for `issue`).
    pub fn blockers(&self, operation: Operation, argument: Option<&str>) -> Vec<Blocker> {
        let mut blockers = Vec::new();
        if self.state.after(operation).is_none() {
            blockers.push(Blocker::IllegalTransition {
                state: self.state.as_str(),
                operation: operation.as_str(),
            });
        }
        let blank = argument.is_none_or(|a| a.trim().is_empty());
        match operation {
            Operation::Issue => {
                if self.lines.is_empty() {
                    blockers.push(Blocker::NoLines);
                }
            }
            Operation::MarkPaid if blank => blockers.push(Blocker::PaymentReferenceMissing),
            Operation::Cancel if blank => blockers.push(Blocker::CancelReasonMissing),
            Operation::MarkPaid | Operation::Cancel => {}
        }
        blockers
    }

    fn apply(&self, operation: Operation, argument: Option<&str>) -> Result<Invoice, TransitionError> {
        let blockers = self.blockers(operation, argument);
        let next = self.state.after(operation);
        match next {
            Some(state) if blockers.is_empty() => {
                let mut out = self.clone();
                out.state = state;
                let text = argument.map(|a| a.trim().to_owned());
                match operation {
                    Operation::MarkPaid => out.payment_reference = text,
                    Operation::Cancel => out.cancel_reason = text,
                    Operation::Issue => {}
                }
                Ok(out)
            }
            _ => Err(TransitionError {
                state: self.state,
                operation,
                blockers,
            }),
        }
    }

    /// `draft → issued`. Refused for any other state and for an invoice with no lines.
    pub fn issue(&self) -> Result<Invoice, TransitionError> {
        self.apply(Operation::Issue, None)
    }

    /// `issued → paid`, recording `reference` (trimmed; must not be blank).
    pub fn mark_paid(&self, reference: &str) -> Result<Invoice, TransitionError> {
        self.apply(Operation::MarkPaid, Some(reference))
    }

    /// `draft | issued → cancelled`, recording `reason` (trimmed; must not be blank).
    pub fn cancel(&self, reason: &str) -> Result<Invoice, TransitionError> {
        self.apply(Operation::Cancel, Some(reason))
    }

    /// The operations legal now, each with the state it leads to, in
    /// [`Operation::ALL`] order. Text arguments (reference, reason) must still be
    /// given; `issue` is left out for an invoice with no lines.
    pub fn available_actions(&self) -> Vec<(Operation, InvoiceState)> {
        Operation::ALL
            .into_iter()
            .filter_map(|op| {
                let to = self.state.after(op)?;
                let blocked = op == Operation::Issue && self.lines.is_empty();
                (!blocked).then_some((op, to))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap_or_default()
    }

    fn card() -> RateCard {
        RateCard::from_yaml(
            "rate_card:
  currency: USD
  rates:
    - {unit: request, version: v1, price: \"0.0020\", effective_from: 2026-01-01, effective_until: 2026-11-15}
    - {unit: request, version: v1, price: \"0.0030\", effective_from: 2026-11-15}
    - {unit: gb, version: v1, price: \"0.10\", effective_from: 2026-01-01}
",
        )
        .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn ev(tenant: &str, unit: &str, quantity: u64, at: &str, key: &str) -> LedgerEvent {
        LedgerEvent {
            tenant: tenant.into(),
            unit: unit.into(),
            version: Version::new(1, 0, 0),
            quantity,
            at: at.parse().unwrap_or_else(|_| unreachable!()),
            idempotency_key: key.into(),
        }
    }

    fn nov(events: &[LedgerEvent]) -> Result<Invoice, BillingError> {
        generate(
            "INV-1",
            "acme",
            Some("Acme Ltd"),
            d("2026-11-01"),
            d("2026-12-01"),
            events,
            &card(),
        )
    }

    #[test]
    fn generate_aggregates_by_unit_version_price() {
        let events = [
            ev("acme", "request", 1000, "2026-11-02T00:00:00Z", "a"),
            ev("acme", "request", 500, "2026-11-20T00:00:00Z", "b"),
            ev("acme", "request", 1000, "2026-11-03T23:59:59Z", "c"),
            ev("acme", "request", 1000, "2026-11-03T23:59:59Z", "c"), // repeat key
            ev("acme", "gb", 3, "2026-11-10T00:00:00Z", "d"),
            ev("other", "request", 9, "2026-11-10T00:00:00Z", "e"),
            ev("acme", "request", 9, "2026-12-01T00:00:00Z", "f"), // period end exclusive
            ev("acme", "request", 9, "2026-10-31T23:59:59Z", "g"),
        ];
        let inv = nov(&events).unwrap_or_else(|e| unreachable!("{e}"));
        let lines: Vec<String> = inv
            .lines()
            .iter()
            .map(|l| format!("{} {} {} {} {}", l.unit, l.version, l.quantity, l.unit_price, l.amount))
            .collect();
        assert_eq!(
            lines,
            [
                "gb 1.0.0 3 0.10 USD 0.30 USD",
                "request 1.0.0 2000 0.002 USD 4.00 USD",
                "request 1.0.0 500 0.003 USD 1.50 USD",
            ]
        );
        assert_eq!(inv.total(), Money::new(580, Currency::USD));
        assert_eq!(inv.state(), InvoiceState::Draft);
        assert_eq!(inv.company(), Some("Acme Ltd"));
    }

    #[test]
    fn generate_lists_every_missing_rate() {
        let mut v2 = ev("acme", "request", 1, "2026-11-02T00:00:00Z", "x");
        v2.version = Version::new(2, 0, 0);
        let events = [
            ev("acme", "cpu", 1, "2026-11-02T00:00:00Z", "a"),
            v2,
            ev("acme", "cpu", 1, "2026-11-03T00:00:00Z", "b"),
            ev("acme", "request", 1, "2026-11-03T00:00:00Z", "c"),
        ];
        assert_eq!(
            nov(&events),
            Err(BillingError::RateMissing {
                units: vec!["cpu@1.0.0".into(), "request@2.0.0".into()]
            })
        );
        assert_eq!(nov(&events).map_err(|e| e.code()), Err("billing.rate_missing"));
    }

    #[test]
    fn generate_refuses_bad_inputs_and_overflow() {
        let c = card();
        let bad = generate("INV", "acme", None, d("2026-11-01"), d("2026-11-01"), &[], &c);
        assert_eq!(bad.map_err(|e| e.code()), Err("billing.period_empty"));
        let blank = generate(" ", "acme", None, d("2026-11-01"), d("2026-12-01"), &[], &c);
        assert_eq!(blank.map_err(|e| e.code()), Err("billing.blank"));
        let huge = [ev("acme", "gb", u64::MAX, "2026-11-02T00:00:00Z", "a")];
        assert_eq!(nov(&huge).map_err(|e| e.code()), Err("billing.overflow"));
        let sum = [
            ev("acme", "gb", u64::MAX, "2026-11-02T00:00:00Z", "a"),
            ev("acme", "gb", 1, "2026-11-02T00:00:00Z", "b"),
        ];
        assert_eq!(nov(&sum).map_err(|e| e.code()), Err("billing.overflow"));
    }

    #[test]
    fn lifecycle_and_blockers() {
        let draft = nov(&[ev("acme", "gb", 1, "2026-11-02T00:00:00Z", "a")]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            draft.available_actions(),
            [
                (Operation::Issue, InvoiceState::Issued),
                (Operation::Cancel, InvoiceState::Cancelled)
            ]
        );
        let e = draft.mark_paid("  ").err();
        assert_eq!(
            e.as_ref().map(|e| e.blockers.clone()),
            Some(vec![
                Blocker::IllegalTransition {
                    state: "draft",
                    operation: "mark_paid"
                },
                Blocker::PaymentReferenceMissing
            ])
        );
        assert_eq!(
            e.as_ref().map(TransitionError::code),
            Some("billing.illegal_transition")
        );
        assert_eq!(
            e.map(|e| e.to_string()).as_deref(),
            Some("mark_paid refused on draft invoice: cannot mark_paid from draft; a payment reference is required")
        );
        let issued = draft.issue().unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(issued.lines(), draft.lines());
        assert_eq!(
            issued.mark_paid("").map_err(|e| e.code()),
            Err("billing.payment_reference_missing")
        );
        let paid = issued.mark_paid(" wire-1 ").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(paid.payment_reference(), Some("wire-1"));
        assert!(paid.available_actions().is_empty());
        for op in [paid.issue(), paid.mark_paid("x"), paid.cancel("x")] {
            assert_eq!(op.map_err(|e| e.code()), Err("billing.illegal_transition"));
        }
        let cancelled = issued
            .cancel("customer dispute")
            .unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(cancelled.cancel_reason(), Some("customer dispute"));
        assert!(cancelled.available_actions().is_empty());
    }

    #[test]
    fn empty_draft_cannot_be_issued_but_can_be_cancelled() {
        let empty = nov(&[]).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(empty.total(), Money::zero(Currency::USD));
        assert_eq!(
            empty.available_actions(),
            [(Operation::Cancel, InvoiceState::Cancelled)]
        );
        assert_eq!(empty.issue().map_err(|e| e.blockers), Err(vec![Blocker::NoLines]));
        assert!(empty.cancel("no usage").is_ok());
    }

    #[test]
    fn serializes_deterministically() {
        let inv = nov(&[ev("acme", "gb", 1, "2026-11-02T00:00:00Z", "a")]).unwrap_or_else(|e| unreachable!("{e}"));
        let json = serde_json::to_string(&inv).unwrap_or_default();
        assert_eq!(
            json,
            r#"{"id":"INV-1","tenant":"acme","company":"Acme Ltd","period_start":"2026-11-01","period_end":"2026-12-01","currency":"USD","lines":[{"unit":"gb","version":"1.0.0","quantity":1,"unit_price":{"amount":"0.10","currency":"USD"},"amount":{"amount":"0.10","currency":"USD","minor":10}}],"total":{"amount":"0.10","currency":"USD","minor":10},"state":"draft","payment_reference":null,"cancel_reason":null}"#
        );
        let err = serde_json::to_string(&inv.mark_paid("").err()).unwrap_or_default();
        assert_eq!(
            err,
            r#"{"state":"draft","operation":"mark_paid","blockers":[{"code":"billing.illegal_transition","detail":{"state":"draft","operation":"mark_paid"}},{"code":"billing.payment_reference_missing"}]}"#
        );
    }
}
