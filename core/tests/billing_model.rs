//! State-machine tests of invoices and purchase orders against an independent
//! reference model, plus money arithmetic on extreme values.
//!
//! The model below is written from SPEC §2.9 alone (a table of legal moves and the
//! blockers each operation can have), not from the implementation.

// Integration tests are separate crates, so the workspace's allow-*-in-tests does not
// reach them; a failed fixture should panic here.
#![allow(clippy::panic)]

use gangway::billing::{
    Currency, Invoice, InvoiceState, LedgerEvent, Money, MoneyError, Operation, PoOperation, PoState, Price,
    PurchaseOrder, RateCard, generate,
};
use gangway::{Date, Timestamp};
use proptest::prelude::*;
use semver::Version;

// ---------- reference model ----------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum M {
    Draft,
    Issued,
    Paid,
    Cancelled,
}

/// Legal moves, straight from the SPEC: draft → issued → paid; draft → cancelled;
/// issued → cancelled.
const MOVES: &[(M, &str, M)] = &[
    (M::Draft, "issue", M::Issued),
    (M::Issued, "mark_paid", M::Paid),
    (M::Draft, "cancel", M::Cancelled),
    (M::Issued, "cancel", M::Cancelled),
];

fn model_next(state: M, op: &str) -> Option<M> {
    MOVES
        .iter()
        .find(|(from, o, _)| *from == state && *o == op)
        .map(|(_, _, to)| *to)
}

fn model_blockers(state: M, op: &str, arg: &str, has_lines: bool) -> Vec<&'static str> {
    let mut out = Vec::new();
    if model_next(state, op).is_none() {
        out.push("billing.illegal_transition");
    }
    let blank = arg.chars().all(char::is_whitespace);
    match op {
        "issue" if !has_lines => out.push("billing.invoice_empty"),
        "mark_paid" if blank => out.push("billing.payment_reference_missing"),
        "cancel" if blank => out.push("billing.cancel_reason_missing"),
        _ => {}
    }
    out
}

fn to_model(s: InvoiceState) -> M {
    match s {
        InvoiceState::Draft => M::Draft,
        InvoiceState::Issued => M::Issued,
        InvoiceState::Paid => M::Paid,
        InvoiceState::Cancelled => M::Cancelled,
    }
}

fn is_final(m: M) -> bool {
    matches!(m, M::Paid | M::Cancelled)
}

// ---------- fixtures ----------

const UNITS: &[&str] = &["alpha", "beta", "gamma"]; // gamma has no rate

fn card() -> RateCard {
    RateCard::from_yaml(
        "rate_card:
  currency: USD
  rates:
    - {unit: alpha, version: v1, price: \"0.0020\", effective_from: 2026-01-01, effective_until: 2026-11-15}
    - {unit: alpha, version: v1, price: \"0.0035\", effective_from: 2026-11-15}
    - {unit: beta, version: v1, price: \"12.50\", effective_from: 2026-01-01}
",
    )
    .unwrap_or_else(|e| panic!("{e}"))
}

/// The model's own price table, in millionths of a cent, by unit and day of November.
fn model_price(unit: &str, day: i8) -> Option<i128> {
    match unit {
        "alpha" if day < 15 => Some(200_000),
        "alpha" => Some(350_000),
        "beta" => Some(1_250_000_000),
        _ => None,
    }
}

fn arb_event() -> impl Strategy<Value = (usize, i8, u64, bool)> {
    (
        0..UNITS.len(),
        1i8..=30,
        prop_oneof![0u64..5_000, Just(u64::MAX), Just(u64::MAX / 2), Just(1u64 << 40)],
        prop::bool::weighted(0.9),
    )
}

fn event(i: usize, (unit, day, quantity, mine): (usize, i8, u64, bool)) -> LedgerEvent {
    let at: Timestamp = format!("2026-11-{day:02}T12:00:00Z")
        .parse()
        .unwrap_or_else(|e| panic!("{e}"));
    LedgerEvent {
        tenant: if mine { "acme" } else { "beta-corp" }.into(),
        unit: UNITS.get(unit).copied().unwrap_or("alpha").into(),
        version: Version::new(1, 0, 0),
        quantity,
        at,
        idempotency_key: format!("k{i}"),
    }
}

fn d(s: &str) -> Date {
    s.parse().unwrap_or_else(|e| panic!("{e}"))
}

#[derive(Debug, Clone)]
enum Op {
    Issue,
    Pay(String),
    Cancel(String),
}

fn arb_text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), Just("  ".to_owned()), "[a-z]{1,6}"]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        Just(Op::Issue),
        arb_text().prop_map(Op::Pay),
        arb_text().prop_map(Op::Cancel),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn invoices_follow_the_model(
        raw in prop::collection::vec(arb_event(), 0..12),
        ops in prop::collection::vec(arb_op(), 0..12),
    ) {
        let events: Vec<LedgerEvent> = raw.iter().copied().enumerate().map(|(i, e)| event(i, e)).collect();
        let generated = generate("INV-1", "acme", None, d("2026-11-01"), d("2026-12-01"), &events, &card());

        // Model of generation: missing rates first, then overflow, else lines.
        let mine: Vec<_> = raw.iter().filter(|e| e.3).collect();
        let missing = mine.iter().any(|e| model_price(UNITS.get(e.0).copied().unwrap_or(""), e.1).is_none());
        let mut groups: std::collections::BTreeMap<(usize, i128), i128> = std::collections::BTreeMap::new();
        for e in &mine {
            if let Some(p) = model_price(UNITS.get(e.0).copied().unwrap_or(""), e.1) {
                *groups.entry((e.0, p)).or_insert(0) += i128::from(e.2);
            }
        }
        let quantity_overflow = groups.values().any(|q| *q > i128::from(u64::MAX));
        let amounts: Vec<i128> = groups.iter().map(|((_, p), q)| (p * q + 500_000) / 1_000_000).collect();
        let amount_overflow = amounts.iter().any(|a| *a > i128::from(i64::MAX));
        let total: i128 = amounts.iter().sum();
        let total_overflow = total > i128::from(i64::MAX);

        let invoice = match generated {
            Err(e) if missing => { prop_assert_eq!(e.code(), "billing.rate_missing"); return Ok(()); }
            Err(e) if quantity_overflow || amount_overflow || total_overflow => {
                prop_assert_eq!(e.code(), "billing.overflow");
                return Ok(());
            }
            Err(e) => { prop_assert!(false, "unexpected error {e}"); return Ok(()); }
            Ok(inv) => {
                prop_assert!(!missing && !quantity_overflow && !amount_overflow && !total_overflow);
                inv
            }
        };
        prop_assert_eq!(invoice.lines().len(), groups.len());
        let line_amounts: Vec<i128> = invoice.lines().iter().map(|l| i128::from(l.amount.minor)).collect();
        prop_assert_eq!(&line_amounts, &amounts);
        prop_assert_eq!(i128::from(invoice.total().minor), total);

        let has_lines = !invoice.lines().is_empty();
        let lines = invoice.lines().to_vec();
        let mut state = M::Draft;
        let mut current: Invoice = invoice;
        for op in ops {
            let (name, arg, result) = match &op {
                Op::Issue => ("issue", "", current.issue()),
                Op::Pay(r) => ("mark_paid", r.as_str(), current.mark_paid(r)),
                Op::Cancel(r) => ("cancel", r.as_str(), current.cancel(r)),
            };
            let expected = model_blockers(state, name, arg, has_lines);
            match result {
                Ok(next) => {
                    prop_assert!(expected.is_empty(), "{name} from {state:?} accepted, model expected {expected:?}");
                    prop_assert!(!is_final(state), "left a final state");
                    let to = model_next(state, name);
                    prop_assert_eq!(Some(to_model(next.state())), to);
                    if let Some(to) = to { state = to; }
                    match name {
                        "mark_paid" => prop_assert_eq!(next.payment_reference(), Some(arg.trim())),
                        "cancel" => prop_assert_eq!(next.cancel_reason(), Some(arg.trim())),
                        _ => {}
                    }
                    current = next;
                }
                Err(e) => {
                    let codes: Vec<&str> = e.blockers.iter().map(|b| b.code()).collect();
                    prop_assert_eq!(&codes, &expected);
                    prop_assert_eq!(to_model(e.state), state);
                    prop_assert_eq!(e.operation.as_str(), name);
                }
            }
            // Invariants after every step.
            prop_assert_eq!(to_model(current.state()), state);
            prop_assert_eq!(current.lines(), lines.as_slice());
            let sum = current.lines().iter().try_fold(Money::zero(Currency::USD), |acc, l| acc.checked_add(l.amount));
            prop_assert_eq!(sum, Ok(current.total()));
            let actions: Vec<(&str, M)> = current.available_actions().iter().map(|(o, s)| (o.as_str(), to_model(*s))).collect();
            let model_actions: Vec<(&str, M)> = ["issue", "mark_paid", "cancel"]
                .into_iter()
                .filter(|o| *o != "issue" || has_lines)
                .filter_map(|o| model_next(state, o).map(|s| (o, s)))
                .collect();
            prop_assert_eq!(actions, model_actions);
            if is_final(state) {
                for op in Operation::ALL {
                    let r = match op {
                        Operation::Issue => current.issue(),
                        Operation::MarkPaid => current.mark_paid("ref"),
                        Operation::Cancel => current.cancel("why"),
                    };
                    prop_assert!(r.is_err());
                }
            }
        }
    }

    #[test]
    fn purchase_orders_follow_the_model(
        ops in prop::collection::vec((prop::bool::ANY, arb_text()), 0..8),
    ) {
        let mut po = PurchaseOrder::submit("PO-1", "acme", "REF-1", Money::new(5_000, Currency::USD))
            .unwrap_or_else(|e| panic!("{e}"));
        let mut state = "submitted";
        for (approve, arg) in ops {
            let result = if approve { po.approve(&arg) } else { po.reject(&arg) };
            let mut expected = Vec::new();
            if state != "submitted" { expected.push("billing.illegal_transition"); }
            if arg.trim().is_empty() {
                expected.push(if approve { "billing.approver_missing" } else { "billing.rejection_reason_missing" });
            }
            match result {
                Ok(next) => {
                    prop_assert!(expected.is_empty());
                    state = if approve { "approved" } else { "rejected" };
                    prop_assert_eq!(next.state().as_str(), state);
                    po = next;
                }
                Err(e) => {
                    let codes: Vec<&str> = e.blockers.iter().map(|b| b.code()).collect();
                    prop_assert_eq!(codes, expected);
                    prop_assert_eq!(e.state.as_str(), state);
                    prop_assert_eq!(e.operation, if approve { PoOperation::Approve } else { PoOperation::Reject });
                }
            }
            prop_assert_eq!(po.state().as_str(), state);
            prop_assert_eq!(po.state().is_final(), state != "submitted");
            prop_assert_eq!(po.available_actions().is_empty(), po.state() != PoState::Submitted);
            prop_assert_eq!(po.amount(), Money::new(5_000, Currency::USD));
        }
    }

    #[test]
    fn money_never_panics_and_matches_wide_arithmetic(
        a in prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(0i64), Just(-1i64), any::<i64>()],
        b in prop_oneof![Just(i64::MAX), Just(i64::MIN), Just(0i64), Just(1i64), any::<i64>()],
        q in prop_oneof![Just(u64::MAX), Just(0u64), Just(1u64), any::<u64>()],
    ) {
        let usd = |m| Money::new(m, Currency::USD);
        prop_assert_eq!(usd(a).checked_add(usd(b)), a.checked_add(b).map(usd).ok_or(MoneyError::Overflow));
        prop_assert_eq!(usd(a).checked_sub(usd(b)), a.checked_sub(b).map(usd).ok_or(MoneyError::Overflow));
        let wide = i128::from(a) * i128::from(q);
        prop_assert_eq!(usd(a).checked_mul(q), i64::try_from(wide).map(usd).map_err(|_| MoneyError::Overflow));
        prop_assert_eq!(
            usd(a).checked_add(Money::new(b, Currency::JPY)),
            Err(MoneyError::CurrencyMismatch { left: Currency::USD, right: Currency::JPY })
        );
        // Display round-trips through parse, for every exponent.
        for currency in [Currency::USD, Currency::JPY, Currency::KWD] {
            let text = Money::new(a, currency).to_string();
            let number = text.strip_suffix(&format!(" {currency}")).unwrap_or("");
            prop_assert_eq!(Money::parse(number, currency), Ok(Money::new(a, currency)));
        }
        if a >= 0 {
            let price = Price::from_money(usd(a));
            if let Ok(price) = price {
                let exact = i128::from(a) * i128::from(q);
                prop_assert_eq!(price.amount_for(q), i64::try_from(exact).map(usd).map_err(|_| MoneyError::Overflow));
            }
        }
    }
}
