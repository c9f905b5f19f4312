//! A state-machine test of billing in the STORE against a small reference model:
//! random sequences of usage ingest (both entry points; repeated keys, unrated and
//! unregistered units, blank tenants, zero quantities, usage in invoiced periods),
//! invoice generation (overlapping and empty periods), issue / mark paid / cancel
//! (on final states, with blank arguments, unknown invoices, replays with the same
//! key and parameters, reused keys with other parameters), purchase orders and the
//! provisioning gate.
//!
//! Each operation's outcome (result or error code) is compared with the model's, and
//! after every step:
//!
//! - the ledger, the invoices and the purchase orders are the model's;
//! - a final state (paid, cancelled, approved, rejected) never changes;
//! - every invoice's total is the sum of its lines;
//! - no usage is counted twice: each ledger event lies in at most one period of its
//!   tenant's invoices that are not cancelled, and those invoices' line quantities add
//!   up to the ledger's quantity in their periods, per unit;
//! - a successful operation wrote exactly its audit records (action, target), a
//!   refused one or a replay wrote none, and the chain verifies;
//! - a replay returns the first result.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

#[allow(dead_code)] // the temporary directory is not needed here
mod common;
use common::billing::{jsonl, origin, setup};

use std::collections::BTreeMap;

use gangway::billing::usage::{IngestSummary, UsageRecord};
use gangway::billing::{Currency, GateStandard, Invoice, InvoiceState, PoState, Price};
use gangway::store::AuditFilter;
use gangway::{Date, Store, Timestamp, Version};
use jiff::ToSpan;
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;

/// The last tenant is blank (refused everywhere).
const TENANTS: [&str; 3] = ["t-a", "t-b", " "];
/// `request` is registered but has no rate; `bogus` is not registered.
const UNITS: [&str; 4] = ["token_input", "token_output", "request", "bogus"];
/// Idempotency keys of invoice operations (one namespace); the first is blank.
const KEYS: [&str; 13] = [
    " ", "k1", "k2", "k3", "k4", "k5", "k6", "k7", "k8", "k9", "k10", "k11", "k12",
];
/// Payment references and cancel reasons; the first two are blank.
const ARGS: [&str; 4] = ["", "  ", "r1", " r2 "];
/// Purchase order ids; the first is blank.
const PO_IDS: [&str; 4] = ["", "PO-1", "PO-2", "PO-3"];
/// Days from 2026-11-01 that usage and periods fall on (November and December).
const DAYS: i64 = 61;

fn day(n: i64) -> Date {
    Date::constant(2026, 11, 1).checked_add(n.days()).unwrap()
}

/// The model's prices, in millionths of a cent, and the card's text for them.
fn price(unit: &str, on: Date) -> Option<(i128, &'static str)> {
    match unit {
        "token_input" => Some((200_000, "0.0020")),
        "token_output" if on < Date::constant(2026, 11, 15) => Some((1_000_000, "0.0100")),
        "token_output" => Some((800_000, "0.0080")),
        _ => None,
    }
}

// ---------- operations ----------

#[derive(Debug, Clone)]
struct Ev {
    key: u8,
    tenant: usize,
    day: i64,
    hour: i8,
    unit: usize,
    quantity: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Move {
    Issue,
    Pay,
    Cancel,
}

impl Move {
    fn name(self) -> &'static str {
        match self {
            Move::Issue => "issue",
            Move::Pay => "mark_paid",
            Move::Cancel => "cancel",
        }
    }
}

/// The invoice a move names.
#[derive(Debug, Clone)]
enum InvoiceRef {
    /// Picked when the move runs: mostly an existing invoice, sometimes the next id
    /// (not there yet).
    Pick(u8),
    Id(String),
}

#[derive(Debug, Clone)]
enum Op {
    /// `jsonl`: through `ingest_jsonl` with this batch size, else `ingest_usage`.
    Ingest {
        events: Vec<Ev>,
        jsonl: Option<usize>,
    },
    Generate {
        key: usize,
        tenant: usize,
        start: i64,
        len: i64,
        company: bool,
    },
    Move {
        op: Move,
        key: String,
        invoice: InvoiceRef,
        arg: usize,
    },
    /// The next move of an existing invoice (issue a draft with lines, cancel an empty
    /// one, pay an issued one, cancel a final one) under a fresh key, so whole
    /// lifecycles happen and not only refusals.
    Advance {
        invoice: u8,
    },
    /// The last generate or move again, verbatim.
    Repeat,
    Submit {
        id: usize,
        tenant: usize,
        reference: bool,
        amount: i64,
    },
    Approve {
        id: usize,
        arg: usize,
    },
    Reject {
        id: usize,
        arg: usize,
    },
    Gate {
        tenant: usize,
        po: bool,
    },
}

fn arb_tenant() -> impl Strategy<Value = usize> {
    prop_oneof![19 => 0..2usize, 1 => Just(2usize)]
}

fn arb_ev() -> impl Strategy<Value = Ev> {
    (
        0..24u8,
        arb_tenant(),
        0..DAYS,
        0..24i8,
        prop_oneof![8 => 0..2usize, 1 => Just(2usize), 1 => Just(3usize)],
        prop_oneof![19 => 1..100u64, 1 => Just(0u64)],
    )
        .prop_map(|(key, tenant, day, hour, unit, quantity)| Ev {
            key,
            tenant,
            day,
            hour,
            unit,
            quantity,
        })
}

fn arb_key() -> impl Strategy<Value = usize> {
    prop_oneof![1 => Just(0usize), 12 => 1..KEYS.len()]
}

fn arb_move() -> impl Strategy<Value = Move> {
    prop_oneof![3 => Just(Move::Issue), 3 => Just(Move::Pay), 2 => Just(Move::Cancel)]
}

fn arb_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (prop::collection::vec(arb_ev(), 1..16), prop::option::of(1..5usize))
            .prop_map(|(events, jsonl)| Op::Ingest { events, jsonl }),
        4 => (arb_key(), arb_tenant(), 0..DAYS, prop_oneof![9 => 1..45i64, 1 => -2..=0i64], any::<bool>())
            .prop_map(|(key, tenant, start, len, company)| Op::Generate { key, tenant, start, len, company }),
        6 => (arb_move(), arb_key(), any::<u8>(), 0..ARGS.len())
            .prop_map(|(op, key, invoice, arg)| Op::Move { op, key: KEYS[key].to_owned(), invoice: InvoiceRef::Pick(invoice), arg }),
        3 => any::<u8>().prop_map(|invoice| Op::Advance { invoice }),
        2 => Just(Op::Repeat),
        2 => (0..PO_IDS.len(), arb_tenant(), prop::bool::weighted(0.9), prop_oneof![9 => Just(500i64), 1 => Just(0i64)])
            .prop_map(|(id, tenant, reference, amount)| Op::Submit { id, tenant, reference, amount }),
        2 => (0..PO_IDS.len(), 0..ARGS.len()).prop_map(|(id, arg)| Op::Approve { id, arg }),
        2 => (0..PO_IDS.len(), 0..ARGS.len()).prop_map(|(id, arg)| Op::Reject { id, arg }),
        1 => (arb_tenant(), any::<bool>()).prop_map(|(tenant, po)| Op::Gate { tenant, po }),
    ]
}

// ---------- the model ----------

#[derive(Debug, Clone, PartialEq)]
struct MEvent {
    tenant: String,
    unit: String,
    day: Date,
    quantity: u64,
}

#[derive(Debug, Clone)]
struct MInvoice {
    id: String,
    tenant: String,
    company: Option<String>,
    start: Date,
    end: Date,
    state: InvoiceState,
    /// (unit, price text) → (quantity, amount in cents).
    lines: BTreeMap<(String, &'static str), (u64, i64)>,
    reference: Option<String>,
    reason: Option<String>,
}

#[derive(Debug, Default)]
struct Model {
    ledger: BTreeMap<String, MEvent>,
    invoices: Vec<MInvoice>,
    /// key → (operation, parameters, the first result).
    keys: BTreeMap<String, (String, String, Invoice)>,
    /// id → (tenant, state).
    pos: BTreeMap<String, (String, PoState)>,
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

impl Model {
    /// A non-cancelled invoice of `tenant` whose period contains `on`.
    fn invoiced(&self, tenant: &str, on: Date) -> bool {
        self.invoices
            .iter()
            .any(|i| i.tenant == tenant && i.state != InvoiceState::Cancelled && i.start <= on && on < i.end)
    }

    /// One ingest batch: accepted, duplicates and (index, code, field) per rejection.
    fn ingest(&mut self, batch: &[(usize, UsageRecord)]) -> (usize, usize, Vec<(usize, &'static str, &'static str)>) {
        let (mut accepted, mut duplicates, mut rejected) = (0, 0, Vec::new());
        for (index, e) in batch {
            let on = e.at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let refusal = if self.ledger.contains_key(&e.idempotency_key) {
                duplicates += 1;
                continue;
            } else if blank(&e.tenant) {
                Some(("usage.invalid", "tenant"))
            } else if e.quantity == 0 {
                Some(("usage.invalid", "quantity"))
            } else if e.unit == "bogus" {
                Some(("billing.usage_unit_unregistered", "unit"))
            } else if price(&e.unit, on).is_none() {
                Some(("billing.rate_missing", "unit"))
            } else if self.invoiced(&e.tenant, on) {
                Some(("billing.period_invoiced", "at"))
            } else {
                None
            };
            match refusal {
                Some((code, field)) => rejected.push((*index, code, field)),
                None => {
                    accepted += 1;
                    self.ledger.insert(
                        e.idempotency_key.clone(),
                        MEvent {
                            tenant: e.tenant.clone(),
                            unit: e.unit.clone(),
                            day: on,
                            quantity: e.quantity,
                        },
                    );
                }
            }
        }
        (accepted, duplicates, rejected)
    }

    /// The outcome of an invoice operation's key: `Err(code)` when refused by it,
    /// `Ok(Some(first))` for a replay, `Ok(None)` when the key is new.
    fn key_check(&self, key: &str, operation: &str, params: &str) -> Result<Option<Invoice>, &'static str> {
        if blank(key) {
            return Err("billing.blank");
        }
        match self.keys.get(key) {
            None => Ok(None),
            Some((op, p, first)) if op == operation && p == params => Ok(Some(first.clone())),
            Some(_) => Err("idempotency_conflict"),
        }
    }

    fn lines(&self, tenant: &str, start: Date, end: Date) -> BTreeMap<(String, &'static str), (u64, i64)> {
        let mut quantities: BTreeMap<(String, &'static str), (u64, i128)> = BTreeMap::new();
        for e in self.ledger.values() {
            if e.tenant == tenant && start <= e.day && e.day < end {
                let (micro, text) = price(&e.unit, e.day).unwrap();
                quantities.entry((e.unit.clone(), text)).or_insert((0, micro)).0 += e.quantity;
            }
        }
        quantities
            .into_iter()
            .map(|(k, (q, micro))| {
                (
                    k,
                    (q, i64::try_from((micro * i128::from(q) + 500_000) / 1_000_000).unwrap()),
                )
            })
            .collect()
    }
}

// ---------- checks ----------

type TestResult = Result<(), TestCaseError>;

fn check_invoice(got: &Invoice, want: &MInvoice) -> TestResult {
    prop_assert_eq!(got.id(), want.id.as_str());
    prop_assert_eq!(got.tenant(), want.tenant.as_str());
    prop_assert_eq!(got.company(), want.company.as_deref());
    prop_assert_eq!((got.period_start(), got.period_end()), (want.start, want.end));
    prop_assert_eq!(got.state(), want.state, "{}", got.id());
    prop_assert_eq!(got.payment_reference(), want.reference.as_deref());
    prop_assert_eq!(got.cancel_reason(), want.reason.as_deref());
    prop_assert_eq!(got.currency(), Currency::USD);
    let mut lines = BTreeMap::new();
    for l in got.lines() {
        let text = ["0.0020", "0.0100", "0.0080"]
            .into_iter()
            .find(|t| Price::parse(t, Currency::USD).unwrap() == l.unit_price)
            .unwrap_or_else(|| panic!("unexpected price {}", l.unit_price));
        prop_assert_eq!(&l.version, &Version::new(1, 0, 0));
        prop_assert_eq!(l.amount.currency, Currency::USD);
        let again = lines.insert((l.unit.clone(), text), (l.quantity, l.amount.minor));
        prop_assert!(again.is_none(), "two lines for {} at {}", l.unit, text);
    }
    prop_assert_eq!(&lines, &want.lines, "{}", got.id());
    Ok(())
}

/// The invariants that hold after every step, read from the store alone (and compared
/// with the model).
fn check_store(store: &Store, model: &Model, finals: &mut BTreeMap<String, String>) -> TestResult {
    let (far_past, far_future) = (Date::constant(2000, 1, 1), Date::constant(2100, 1, 1));
    // The ledger is the model's.
    let mut ledger = BTreeMap::new();
    for tenant in TENANTS {
        for e in store.ledger(tenant, far_past, far_future).unwrap() {
            let on = e.at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let m = MEvent {
                tenant: e.tenant,
                unit: e.unit,
                day: on,
                quantity: e.quantity,
            };
            prop_assert!(
                ledger.insert(e.idempotency_key.clone(), m).is_none(),
                "{} twice",
                e.idempotency_key
            );
        }
    }
    prop_assert_eq!(&ledger, &model.ledger);

    let invoices = store.invoices(None).unwrap();
    prop_assert_eq!(invoices.len(), model.invoices.len());
    for (got, want) in invoices.iter().zip(&model.invoices) {
        check_invoice(got, want)?;
        // The total is the sum of the lines.
        let sum: i64 = got.lines().iter().map(|l| l.amount.minor).sum();
        prop_assert_eq!(got.total().minor, sum, "{}", got.id());
    }
    let pos = store.purchase_orders(None).unwrap();
    let got: BTreeMap<String, (String, PoState)> = pos
        .iter()
        .map(|p| (p.id().to_owned(), (p.tenant().to_owned(), p.state())))
        .collect();
    prop_assert_eq!(&got, &model.pos);

    // Final states stay final.
    let states = invoices
        .iter()
        .map(|i| (format!("invoice:{}", i.id()), i.state().as_str(), i.state().is_final()))
        .chain(
            pos.iter()
                .map(|p| (format!("po:{}", p.id()), p.state().as_str(), p.state().is_final())),
        );
    for (target, state, is_final) in states {
        if let Some(was) = finals.get(&target) {
            prop_assert_eq!(was.as_str(), state, "{} left its final state", target);
        } else if is_final {
            finals.insert(target, state.to_owned());
        }
    }

    // No usage counted twice, or left out of an invoice that covers its day.
    for tenant in TENANTS {
        let open: Vec<&Invoice> = invoices
            .iter()
            .filter(|i| i.tenant() == tenant && i.state() != InvoiceState::Cancelled)
            .collect();
        let mut covered: BTreeMap<String, u64> = BTreeMap::new();
        for e in store.ledger(tenant, far_past, far_future).unwrap() {
            let on = e.at.to_zoned(jiff::tz::TimeZone::UTC).date();
            let n = open
                .iter()
                .filter(|i| i.period_start() <= on && on < i.period_end())
                .count();
            prop_assert!(n <= 1, "{} lies in {n} invoiced periods of {tenant}", e.idempotency_key);
            if n == 1 {
                *covered.entry(e.unit).or_default() += e.quantity;
            }
        }
        let mut billed: BTreeMap<String, u64> = BTreeMap::new();
        for l in open.iter().flat_map(|i| i.lines()) {
            *billed.entry(l.unit.clone()).or_default() += l.quantity;
        }
        prop_assert_eq!(billed, covered, "{}'s invoices and ledger disagree", tenant);
    }

    let v = store.audit_verify().unwrap();
    prop_assert!(v.ok, "{:?}", v.breach);
    Ok(())
}

/// The audit records written since `revision` (at `at` or later), as (action, target,
/// after).
fn written(store: &Store, revision: u64, at: Timestamp) -> Vec<(String, String, serde_json::Value)> {
    let since = AuditFilter {
        since: Some(at),
        ..AuditFilter::default()
    };
    store
        .audit_records(&since)
        .unwrap()
        .into_iter()
        .filter(|r| r.seq > revision)
        .map(|r| (r.action, r.target, r.after.unwrap_or_default()))
        .collect()
}

/// What the model expects of an invoice operation.
#[derive(Debug)]
enum Want {
    Refused(&'static str),
    /// A replay: the first result.
    Replay(Invoice),
    /// A new invoice or transition.
    New,
}

// ---------- the run ----------

fn record(e: &Ev) -> UsageRecord {
    let at: Timestamp = day(e.day)
        .at(e.hour, 30, 0, 0)
        .to_zoned(jiff::tz::TimeZone::UTC)
        .unwrap()
        .timestamp();
    UsageRecord {
        product: "token-factory".into(),
        unit: UNITS[e.unit].into(),
        version: Version::new(1, 0, 0),
        quantity: e.quantity,
        resource_type: "model_endpoint".into(),
        tenant: TENANTS[e.tenant].into(),
        idempotency_key: format!("u{}", e.key),
        at,
    }
}

fn run(ops: Vec<Op>) -> TestResult {
    let mut store = Store::open_in_memory().unwrap();
    setup(&mut store);
    let snapshot = store.snapshot().unwrap();
    let mut model = Model::default();
    let mut finals = BTreeMap::new();
    let mut last: Option<Op> = None;
    for (step, op) in ops.into_iter().enumerate() {
        // Each step at its own time, so its audit records can be read alone.
        let mut o = origin("model");
        o.at =
            o.at.checked_add(jiff::SignedDuration::from_secs(60 * (step as i64 + 1)))
                .unwrap();
        let op = match op {
            Op::Repeat => match &last {
                Some(op) => op.clone(),
                None => continue,
            },
            Op::Advance { invoice } => {
                let Some(inv) = model.invoices.get(usize::from(invoice) % model.invoices.len().max(1)) else {
                    continue;
                };
                let next = match inv.state {
                    InvoiceState::Draft if !inv.lines.is_empty() => Move::Issue,
                    InvoiceState::Issued => Move::Pay,
                    _ => Move::Cancel,
                };
                Op::Move {
                    op: next,
                    key: format!("advance-{step}"),
                    invoice: InvoiceRef::Id(inv.id.clone()),
                    arg: 2 + usize::from(invoice % 2),
                }
            }
            Op::Move {
                op,
                key,
                invoice: InvoiceRef::Pick(pick),
                arg,
            } => {
                let n = model.invoices.len();
                let id = if n == 0 || pick < 24 {
                    n + 1
                } else {
                    usize::from(pick) % n + 1
                };
                Op::Move {
                    op,
                    key,
                    invoice: InvoiceRef::Id(format!("INV-{id:06}")),
                    arg,
                }
            }
            op => op,
        };
        let revision = store.revision().unwrap();
        // The audit records the model expects: (action, target).
        let mut expected: Vec<(String, String)> = Vec::new();
        match &op {
            Op::Ingest { events, jsonl: batch } => {
                let records: Vec<UsageRecord> = events.iter().map(record).collect();
                let indexed: Vec<(usize, UsageRecord)> = records.iter().cloned().enumerate().collect();
                let size = batch.unwrap_or(records.len());
                let mut want = IngestSummary::default();
                let mut want_rejected = Vec::new();
                let mut accepted_per_record = Vec::new();
                for chunk in indexed.chunks(size) {
                    let (accepted, duplicates, rejected) = model.ingest(chunk);
                    want.accepted += accepted;
                    want.duplicates += duplicates;
                    want_rejected.extend(rejected);
                    if accepted > 0 {
                        expected.push(("billing.usage.ingest".into(), "ledger".into()));
                        accepted_per_record.push(accepted);
                    }
                }
                let got = match batch {
                    None => store.ingest_usage(&o, &records, &snapshot).unwrap(),
                    Some(size) => {
                        let text: String = records.iter().map(|r| jsonl(r) + "\n").collect();
                        store
                            .ingest_jsonl(&o, text.as_bytes(), &snapshot, *size, |_| {})
                            .unwrap()
                    }
                };
                prop_assert_eq!((got.accepted, got.duplicates), (want.accepted, want.duplicates));
                let rejected: Vec<(usize, &str, &str)> = got
                    .rejected
                    .iter()
                    .map(|r| (r.index, r.code, r.field.as_str()))
                    .collect();
                prop_assert_eq!(rejected, want_rejected);
                for r in &got.rejected {
                    prop_assert_eq!(r.line, batch.map(|_| r.index as u64 + 1));
                }
                let accepted: Vec<usize> = written(&store, revision, o.at)
                    .iter()
                    .map(|(_, _, after)| after["accepted"].as_u64().unwrap() as usize)
                    .collect();
                prop_assert_eq!(accepted, accepted_per_record);
            }
            Op::Generate {
                key,
                tenant,
                start,
                len,
                company,
            } => {
                last = Some(op.clone());
                let (key, tenant, company) = (KEYS[*key], TENANTS[*tenant], company.then_some("Acme Ltd"));
                let (start, end) = (day(*start), day(start + len));
                let params = format!("{tenant}|{company:?}|{start}|{end}");
                let want = match model.key_check(key, "invoice.generate", &params) {
                    Err(code) => Want::Refused(code),
                    Ok(Some(first)) => Want::Replay(first),
                    Ok(None) => {
                        let overlap = model.invoices.iter().any(|i| {
                            i.tenant == tenant && i.state != InvoiceState::Cancelled && i.start < end && i.end > start
                        });
                        if overlap {
                            Want::Refused("billing.period_overlap")
                        } else if blank(tenant) {
                            Want::Refused("billing.blank")
                        } else if end <= start {
                            Want::Refused("billing.period_empty")
                        } else {
                            Want::New
                        }
                    }
                };
                let got = store.generate_invoice(&o, key, tenant, company, start, end);
                match (got, want) {
                    (Ok(got), Want::Replay(first)) => prop_assert_eq!(got, first, "a replay returned another result"),
                    (Ok(got), Want::New) => {
                        let inv = MInvoice {
                            id: format!("INV-{:06}", model.invoices.len() + 1),
                            tenant: tenant.to_owned(),
                            company: company.map(str::to_owned),
                            start,
                            end,
                            state: InvoiceState::Draft,
                            lines: model.lines(tenant, start, end),
                            reference: None,
                            reason: None,
                        };
                        check_invoice(&got, &inv)?;
                        expected.push(("billing.invoice.generate".into(), format!("invoice:{}", inv.id)));
                        model
                            .keys
                            .insert(key.to_owned(), ("invoice.generate".into(), params, got));
                        model.invoices.push(inv);
                    }
                    (Err(e), Want::Refused(code)) => prop_assert_eq!(e.code(), code, "{}", e),
                    (got, want) => prop_assert!(false, "generate: store {got:?}, model {want:?}"),
                }
            }
            Op::Move {
                op: step,
                key,
                invoice,
                arg,
            } => {
                last = Some(op.clone());
                let InvoiceRef::Id(id) = invoice else {
                    unreachable!("picked above")
                };
                let key = key.as_str();
                let arg = (*step != Move::Issue).then_some(ARGS[*arg]);
                let operation = format!("invoice.{}", step.name());
                let params = format!("{id}|{arg:?}");
                let found = model.invoices.iter().position(|i| i.id == *id);
                let want = match model.key_check(key, &operation, &params) {
                    Err(code) => Want::Refused(code),
                    Ok(Some(first)) => Want::Replay(first),
                    Ok(None) => match found.map(|n| &model.invoices[n]) {
                        None => Want::Refused("billing.invoice_not_found"),
                        Some(inv) => {
                            let legal = matches!(
                                (inv.state, step),
                                (InvoiceState::Draft, Move::Issue)
                                    | (InvoiceState::Issued, Move::Pay)
                                    | (InvoiceState::Draft | InvoiceState::Issued, Move::Cancel)
                            );
                            let arg_blank = arg.is_some_and(blank);
                            if !legal {
                                Want::Refused("billing.illegal_transition")
                            } else if *step == Move::Issue && inv.lines.is_empty() {
                                Want::Refused("billing.invoice_empty")
                            } else if *step == Move::Pay && arg_blank {
                                Want::Refused("billing.payment_reference_missing")
                            } else if *step == Move::Cancel && arg_blank {
                                Want::Refused("billing.cancel_reason_missing")
                            } else {
                                Want::New
                            }
                        }
                    },
                };
                let got = match step {
                    Move::Issue => store.issue_invoice(&o, key, id),
                    Move::Pay => store.mark_paid(&o, key, id, arg.unwrap_or_default()),
                    Move::Cancel => store.cancel_invoice(&o, key, id, arg.unwrap_or_default()),
                };
                match (got, want) {
                    (Ok(got), Want::Replay(first)) => prop_assert_eq!(got, first, "a replay returned another result"),
                    (Ok(got), Want::New) => {
                        let inv = &mut model.invoices[found.unwrap()];
                        match step {
                            Move::Issue => inv.state = InvoiceState::Issued,
                            Move::Pay => {
                                inv.state = InvoiceState::Paid;
                                inv.reference = arg.map(|a| a.trim().to_owned());
                            }
                            Move::Cancel => {
                                inv.state = InvoiceState::Cancelled;
                                inv.reason = arg.map(|a| a.trim().to_owned());
                            }
                        }
                        check_invoice(&got, inv)?;
                        expected.push((format!("billing.invoice.{}", step.name()), format!("invoice:{id}")));
                        model.keys.insert(key.to_owned(), (operation, params, got));
                    }
                    (Err(e), Want::Refused(code)) => prop_assert_eq!(e.code(), code, "{}", e),
                    (got, want) => prop_assert!(false, "{}: store {got:?}, model {want:?}", step.name()),
                }
            }
            Op::Submit {
                id,
                tenant,
                reference,
                amount,
            } => {
                let (id, tenant) = (PO_IDS[*id], TENANTS[*tenant]);
                let reference = if *reference { "ACME-4411" } else { " " };
                let want = if blank(id) || blank(tenant) || blank(reference) {
                    Err("billing.blank")
                } else if *amount <= 0 {
                    Err("billing.invalid_amount")
                } else if model.pos.contains_key(id) {
                    Err("billing.po_exists")
                } else {
                    Ok(())
                };
                let got = store.submit_po(
                    &o,
                    id,
                    tenant,
                    reference,
                    gangway::billing::Money::new(*amount, Currency::USD),
                );
                match (got, want) {
                    (Ok(po), Ok(())) => {
                        prop_assert_eq!(po.state(), PoState::Submitted);
                        model.pos.insert(id.to_owned(), (tenant.to_owned(), PoState::Submitted));
                        expected.push(("billing.po.submit".into(), format!("po:{id}")));
                    }
                    (Err(e), Err(code)) => prop_assert_eq!(e.code(), code, "{}", e),
                    (got, want) => prop_assert!(false, "submit: store {got:?}, model {want:?}"),
                }
            }
            Op::Approve { id, arg } | Op::Reject { id, arg } => {
                let approve = matches!(op, Op::Approve { .. });
                let (id, arg) = (PO_IDS[*id], ARGS[*arg]);
                let want = match model.pos.get(id) {
                    None => Err("billing.po_not_found"),
                    Some((_, state)) if *state != PoState::Submitted => Err("billing.illegal_transition"),
                    Some(_) if blank(arg) && approve => Err("billing.approver_missing"),
                    Some(_) if blank(arg) => Err("billing.rejection_reason_missing"),
                    Some(_) => Ok(if approve { PoState::Approved } else { PoState::Rejected }),
                };
                let got = if approve {
                    store.approve_po(&o, id, arg)
                } else {
                    store.reject_po(&o, id, arg)
                };
                match (got, want) {
                    (Ok(po), Ok(state)) => {
                        prop_assert_eq!(po.state(), state);
                        model.pos.get_mut(id).unwrap().1 = state;
                        let action = if approve {
                            "billing.po.approve"
                        } else {
                            "billing.po.reject"
                        };
                        expected.push((action.into(), format!("po:{id}")));
                    }
                    (Err(e), Err(code)) => prop_assert_eq!(e.code(), code, "{}", e),
                    (got, want) => prop_assert!(false, "approve/reject: store {got:?}, model {want:?}"),
                }
            }
            Op::Gate { tenant, po } => {
                let tenant = TENANTS[*tenant];
                let (standard, want) = if *po {
                    let id = model
                        .pos
                        .iter()
                        .filter(|(_, (t, s))| t == tenant && *s == PoState::Approved)
                        .map(|(id, _)| format!("po:{id}"))
                        .next();
                    (GateStandard::PoApproved, id)
                } else {
                    let id = model
                        .invoices
                        .iter()
                        .filter(|i| i.tenant == tenant && i.state == InvoiceState::Paid)
                        .map(|i| format!("invoice:{}", i.id))
                        .next();
                    (GateStandard::Paid, id)
                };
                let got = store.provisioning_gate(tenant, standard).unwrap();
                prop_assert_eq!(got.satisfied, want.is_some());
                prop_assert_eq!(got.satisfied_by, want);
            }
            Op::Repeat | Op::Advance { .. } => unreachable!("replaced above"),
        }
        // Exactly the expected audit records, or none.
        let got: Vec<(String, String)> = written(&store, revision, o.at)
            .into_iter()
            .map(|(a, t, _)| (a, t))
            .collect();
        prop_assert_eq!(got, expected, "after {:?}", op);
        check_store(&store, &model, &mut finals)?;
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn the_store_follows_the_model(ops in prop::collection::vec(arb_op(), 1..48)) {
        run(ops)?;
    }
}
