//! Billing in the store: rate card → ingest (duplicates, rejections) → generate →
//! issue → pay → gate, with idempotent replay, conflicts, refused transitions and the
//! audit log (one record per transition, verifying).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;
use common::TempDir;
use common::billing::{CARD, PACKET, REGISTRY};

use gangway::audit::Origin;
use gangway::billing::usage::{IngestSummary, UsageRecord};
use gangway::billing::{Blocker, Currency, GateStandard, Invoice, InvoiceState, Money, Operation, RateCard};
use gangway::guard::Snapshot;
use gangway::store::AuditFilter;
use gangway::{Date, Format, Store, StoreError, Version};

fn origin() -> Origin {
    common::billing::origin("billing-svc")
}

/// An in-memory store holding the complete example's registry and packet.
fn store() -> Store {
    let mut s = Store::open_in_memory().unwrap();
    seed(&mut s);
    s
}

/// The same, with the rate card set and November's usage ingested.
fn billed() -> Store {
    let mut s = store();
    ingest_month(&mut s);
    s
}

/// Imports the complete example's registry and packet.
fn seed(s: &mut Store) {
    s.import_registry(&origin(), REGISTRY).unwrap();
    s.put_packet(&origin(), PACKET, Format::Yaml).unwrap();
}

/// Generates `tenant-acme`'s invoice for `period` (no company name) under `key`.
fn generate(s: &mut Store, key: &str, (start, end): (Date, Date)) -> Result<Invoice, StoreError> {
    s.generate_invoice(&origin(), key, "tenant-acme", None, start, end)
}

/// Ingests one event, in a batch of its own.
fn ingest_one(s: &mut Store, snapshot: &Snapshot, event: UsageRecord) -> IngestSummary {
    s.ingest_usage(&origin(), &[event], snapshot).unwrap()
}

fn usage(key: &str, unit: &str, quantity: u64, at: &str) -> UsageRecord {
    UsageRecord {
        product: "token-factory".into(),
        unit: unit.into(),
        version: Version::new(1, 0, 0),
        quantity,
        resource_type: "model_endpoint".into(),
        tenant: "tenant-acme".into(),
        idempotency_key: key.into(),
        at: at.parse().unwrap(),
    }
}

fn nov() -> (Date, Date) {
    ("2026-11-01".parse().unwrap(), "2026-12-01".parse().unwrap())
}

fn actions(s: &Store) -> Vec<String> {
    s.audit_records(&AuditFilter::default())
        .unwrap()
        .into_iter()
        .map(|r| r.action)
        .filter(|a| a.starts_with("billing."))
        .collect()
}

fn ingest_month(s: &mut Store) {
    s.set_rate_card(&origin(), &RateCard::from_yaml(CARD).unwrap()).unwrap();
    let snapshot = s.snapshot().unwrap();
    let mut unrated = usage("e-5", "request", 1, "2026-11-05T00:00:00Z");
    unrated.version = Version::new(1, 0, 0);
    let mut bad_tenant = usage("e-6", "token_input", 1, "2026-11-05T00:00:00Z");
    bad_tenant.tenant = " ".into();
    let batch = [
        usage("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        usage("e-2", "token_output", 100, "2026-11-10T10:00:00Z"),
        usage("e-3", "token_output", 100, "2026-11-20T10:00:00Z"),
        usage("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        usage("e-4", "token_input", 999, "2026-12-03T10:00:00Z"),
        unrated,
        bad_tenant,
    ];
    let sum = s.ingest_usage(&origin(), &batch, &snapshot).unwrap();
    assert_eq!((sum.accepted, sum.duplicates), (4, 1), "{sum:?}");
    let codes: Vec<(usize, &str, &str)> = sum
        .rejected
        .iter()
        .map(|r| (r.index, r.code, r.field.as_str()))
        .collect();
    assert_eq!(
        codes,
        [(5, "billing.rate_missing", "unit"), (6, "usage.invalid", "tenant")]
    );
    // A retried batch is all duplicates (or the same rejections) and writes nothing.
    let before = s.revision().unwrap();
    let again = s.ingest_usage(&origin(), &batch, &snapshot).unwrap();
    assert_eq!((again.accepted, again.duplicates, again.rejected.len()), (0, 5, 2));
    assert_eq!(s.revision().unwrap(), before);
}

#[test]
fn full_flow_to_the_gate() {
    let mut s = billed();
    let (start, end) = nov();
    assert_eq!(s.ledger("tenant-acme", start, end).unwrap().len(), 3);

    let draft = s
        .generate_invoice(&origin(), "gen-1", "tenant-acme", Some("Acme Ltd"), start, end)
        .unwrap();
    assert_eq!(draft.id(), "INV-000001");
    assert_eq!(draft.state(), InvoiceState::Draft);
    // 1500 × 0.0020 = 3.00; 100 × 0.0100 = 1.00; 100 × 0.0080 = 0.80.
    assert_eq!(draft.lines().len(), 3);
    let sum = draft
        .lines()
        .iter()
        .try_fold(Money::zero(Currency::USD), |t, l| t.checked_add(l.amount))
        .unwrap();
    assert_eq!(draft.total(), sum);
    assert_eq!(draft.total(), Money::new(480, Currency::USD));
    assert_eq!(s.invoice("INV-000001").unwrap(), draft);

    let gate = s.provisioning_gate("tenant-acme", GateStandard::Paid).unwrap();
    assert!(!gate.satisfied);

    let issued = s.issue_invoice(&origin(), "issue-1", draft.id()).unwrap();
    assert_eq!(issued.state(), InvoiceState::Issued);
    let paid = s.mark_paid(&origin(), "pay-1", draft.id(), "wire-2026-118").unwrap();
    assert_eq!(paid.state(), InvoiceState::Paid);
    assert_eq!(paid.payment_reference(), Some("wire-2026-118"));
    assert_eq!(s.invoices(Some("tenant-acme")).unwrap(), std::slice::from_ref(&paid));

    let gate = s.provisioning_gate("tenant-acme", GateStandard::Paid).unwrap();
    assert!(gate.satisfied);
    assert_eq!(gate.satisfied_by.as_deref(), Some("invoice:INV-000001"));
    let po_gate = s.provisioning_gate("tenant-acme", GateStandard::PoApproved).unwrap();
    assert!(!po_gate.satisfied);

    assert_eq!(
        actions(&s),
        [
            "billing.rate_card.set",
            "billing.usage.ingest",
            "billing.invoice.generate",
            "billing.invoice.issue",
            "billing.invoice.mark_paid",
        ]
    );
    let last = s.audit_records(&AuditFilter::default()).unwrap().pop().unwrap();
    assert_eq!(last.target, "invoice:INV-000001");
    assert_eq!(last.before.unwrap()["state"], "issued");
    assert_eq!(last.after.unwrap()["state"], "paid");
    assert!(s.audit_verify().unwrap().ok);

    // Survives a reopen of a file-backed store too: covered by reading back above.
    assert_eq!(s.schema_version().unwrap(), gangway::store::SCHEMA_VERSION);
}

#[test]
fn replay_returns_the_first_result_and_changes_nothing() {
    let mut s = billed();
    let (start, end) = nov();
    let first = generate(&mut s, "gen-1", (start, end)).unwrap();
    s.issue_invoice(&origin(), "issue-1", first.id()).unwrap();
    let rev = s.revision().unwrap();
    // Same key, same parameters: the first result (still the draft), nothing new.
    let again = generate(&mut s, "gen-1", (start, end)).unwrap();
    assert_eq!(again, first);
    let issued_again = s.issue_invoice(&origin(), "issue-1", first.id()).unwrap();
    assert_eq!(issued_again.state(), InvoiceState::Issued);
    assert_eq!(s.revision().unwrap(), rev);
    assert_eq!(s.invoices(None).unwrap().len(), 1);

    // Same key, different parameters (or another operation): a typed conflict.
    let err = s
        .generate_invoice(&origin(), "gen-1", "tenant-acme", Some("Acme"), start, end)
        .unwrap_err();
    assert!(matches!(err, StoreError::IdempotencyConflict { .. }));
    assert_eq!(err.code(), "idempotency_conflict");
    let err = s.mark_paid(&origin(), "issue-1", first.id(), "wire").unwrap_err();
    assert_eq!(err.code(), "idempotency_conflict");
    assert_eq!(s.revision().unwrap(), rev);
    assert!(s.audit_verify().unwrap().ok);
}

#[test]
fn refused_transitions_list_every_blocker() {
    let mut s = billed();
    let (start, end) = nov();
    let inv = generate(&mut s, "gen-1", (start, end)).unwrap();
    let rev = s.revision().unwrap();
    // mark_paid on a draft with a blank reference: both blockers at once.
    let err = s.mark_paid(&origin(), "pay-1", inv.id(), " ").unwrap_err();
    let StoreError::InvoiceTransition(t) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(t.state, InvoiceState::Draft);
    assert_eq!(t.operation, Operation::MarkPaid);
    assert_eq!(
        t.blockers,
        [
            Blocker::IllegalTransition {
                state: "draft",
                operation: "mark_paid"
            },
            Blocker::PaymentReferenceMissing
        ]
    );
    assert_eq!(err.code(), "billing.illegal_transition");
    // A refused call does not consume its key.
    s.cancel_invoice(&origin(), "pay-1", inv.id(), "customer left").unwrap();
    let err = s.issue_invoice(&origin(), "issue-1", inv.id()).unwrap_err();
    assert_eq!(err.code(), "billing.illegal_transition");
    assert_eq!(
        s.issue_invoice(&origin(), "issue-2", "INV-9").unwrap_err().code(),
        "billing.invoice_not_found"
    );
    assert_eq!(s.revision().unwrap(), rev + 1);

    // An empty period gives a draft that cannot be issued.
    let dec: (Date, Date) = ("2027-01-01".parse().unwrap(), "2027-02-01".parse().unwrap());
    let empty = generate(&mut s, "gen-2", dec).unwrap();
    assert!(empty.lines().is_empty());
    assert_eq!(
        s.issue_invoice(&origin(), "issue-3", empty.id()).unwrap_err().code(),
        "billing.invoice_empty"
    );
    assert_eq!(
        generate(&mut s, "gen-3", (dec.1, dec.0)).unwrap_err().code(),
        "billing.period_empty"
    );
}

#[test]
fn generate_needs_a_rate_card_and_usage_needs_a_rate() {
    let mut s = store();
    let (start, end) = nov();
    assert_eq!(
        generate(&mut s, "g", (start, end)).unwrap_err().code(),
        "billing.rate_card_missing"
    );
    let snapshot = s.snapshot().unwrap();
    let sum = ingest_one(
        &mut s,
        &snapshot,
        usage("e-1", "token_input", 1, "2026-11-03T10:00:00Z"),
    );
    assert_eq!(sum.accepted, 0);
    assert_eq!(sum.rejected[0].code, "billing.rate_missing");
    // Setting the same card twice changes nothing.
    let card = RateCard::from_yaml(CARD).unwrap();
    let v = s.set_rate_card(&origin(), &card).unwrap();
    let rev = s.revision().unwrap();
    assert_eq!(s.set_rate_card(&origin(), &card).unwrap(), v);
    assert_eq!(s.revision().unwrap(), rev);
    assert_eq!(s.rate_card(None).unwrap(), Some(card.clone()));
    assert_eq!(s.rate_card(Some(Currency::USD)).unwrap(), Some(card));
    assert_eq!(s.rate_card(Some(Currency::EUR)).unwrap(), None);
}

#[test]
fn purchase_orders_and_the_po_gate() {
    let mut s = store();
    let usd = |m| Money::new(m, Currency::USD);
    s.submit_po(&origin(), "PO-1", "tenant-acme", "ACME-4411", usd(10_000))
        .unwrap();
    assert_eq!(
        s.submit_po(&origin(), "PO-1", "tenant-acme", "ACME-4411", usd(10_000))
            .unwrap_err()
            .code(),
        "billing.po_exists"
    );
    s.submit_po(&origin(), "PO-2", "tenant-acme", "ACME-4412", usd(5_000))
        .unwrap();
    assert!(
        !s.provisioning_gate("tenant-acme", GateStandard::PoApproved)
            .unwrap()
            .satisfied
    );
    s.reject_po(&origin(), "PO-2", "wrong entity").unwrap();
    let err = s.approve_po(&origin(), "PO-2", "").unwrap_err();
    assert_eq!(err.code(), "billing.illegal_transition");
    let gangway::store::StoreError::PoTransition(e) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(e.blockers.len(), 2, "{e:?}");
    s.approve_po(&origin(), "PO-1", "cfo@acme").unwrap();
    let gate = s.provisioning_gate("tenant-acme", GateStandard::PoApproved).unwrap();
    assert_eq!(gate.satisfied_by.as_deref(), Some("po:PO-1"));
    assert!(
        !s.provisioning_gate("tenant-acme", GateStandard::Paid)
            .unwrap()
            .satisfied
    );
    assert_eq!(s.purchase_orders(Some("tenant-acme")).unwrap().len(), 2);
    assert_eq!(s.purchase_orders(Some("other")).unwrap().len(), 0);
    assert_eq!(
        actions(&s),
        [
            "billing.po.submit",
            "billing.po.submit",
            "billing.po.reject",
            "billing.po.approve"
        ]
    );
    assert!(s.audit_verify().unwrap().ok);
}

#[test]
fn billing_state_survives_a_reopen() {
    let dir = TempDir::new("billing-reopen");
    {
        let mut s = Store::open(dir.db()).unwrap();
        seed(&mut s);
        ingest_month(&mut s);
        generate(&mut s, "gen-1", nov()).unwrap();
    }
    let s = Store::open(dir.db()).unwrap();
    let inv = s.invoice("INV-000001").unwrap();
    assert_eq!(inv.total(), Money::new(480, Currency::USD));
    assert!(s.audit_verify().unwrap().ok);
}

#[test]
fn usage_is_never_billed_twice_or_left_unbilled_silently() {
    let mut s = billed();
    let (start, end) = nov();
    let first = generate(&mut s, "gen-1", (start, end)).unwrap();
    // An overlapping period is refused while the first invoice stands.
    let mid: Date = "2026-11-20".parse().unwrap();
    let e = generate(&mut s, "gen-2", (mid, "2026-12-20".parse().unwrap())).unwrap_err();
    assert_eq!(e.code(), "billing.period_overlap", "{e}");
    // Another tenant, or the adjacent period, is fine.
    generate(&mut s, "gen-3", (end, "2027-01-01".parse().unwrap())).unwrap();
    // Late usage in an invoiced period is rejected, not dropped.
    let snapshot = s.snapshot().unwrap();
    let late_event = usage("late-1", "token_input", 5, "2026-11-04T00:00:00Z");
    let late = ingest_one(&mut s, &snapshot, late_event.clone());
    assert_eq!(late.accepted, 0);
    assert_eq!(late.rejected[0].code, "billing.period_invoiced");
    assert_eq!(late.rejected[0].field, "at");
    // Cancelling the invoice reopens the period.
    s.cancel_invoice(&origin(), "cancel-1", first.id(), "late usage")
        .unwrap();
    let late = ingest_one(&mut s, &snapshot, late_event);
    assert_eq!(late.accepted, 1, "{late:?}");
    let again = generate(&mut s, "gen-4", (start, end)).unwrap();
    assert_eq!(
        again.lines().iter().map(|l| l.quantity).sum::<u64>(),
        1500 + 5 + 100 + 100
    );
}

#[test]
fn ingest_jsonl_reports_lines_and_commits_per_batch() {
    let mut s = store();
    s.set_rate_card(&origin(), &RateCard::from_yaml(CARD).unwrap()).unwrap();
    let snapshot = s.snapshot().unwrap();
    let line = |key: &str| {
        format!(
            r#"{{"product":"token-factory","unit":"token_input","version":"1.0.0","quantity":2,"resource_type":"model_endpoint","tenant":"tenant-acme","idempotency_key":"{key}","at":"2026-11-03T10:00:00Z"}}"#
        )
    };
    let text = [
        line("j-1"),
        String::new(),
        line("j-2"),
        "{not json".to_owned(),
        line("j-1"),
        line("j-3").replace("\"quantity\":2", "\"qty\":2"),
        line("j-4"),
    ]
    .join("\n");
    let mut seen = Vec::new();
    let sum = s
        .ingest_jsonl(&origin(), text.as_bytes(), &snapshot, 2, |p| seen.push(p.events))
        .unwrap();
    assert_eq!((sum.accepted, sum.duplicates, sum.rejected.len()), (3, 1, 2), "{sum:?}");
    let where_: Vec<(Option<u64>, &str, &str)> = sum
        .rejected
        .iter()
        .map(|r| (r.line, r.code, r.field.as_str()))
        .collect();
    assert_eq!(
        where_,
        [(Some(4), "usage.malformed", ""), (Some(6), "usage.malformed", "qty")]
    );
    assert_eq!(sum.rejected[1].idempotency_key.as_deref(), Some("j-3"));
    assert_eq!(seen, [2, 4, 6]);
    assert_eq!(sum.rejected_by_code().get("usage.malformed"), Some(&2));
    // Two batches accepted something: two ingest records.
    let ingests = actions(&s).iter().filter(|a| *a == "billing.usage.ingest").count();
    assert_eq!(ingests, 2);
    // Re-running the file changes nothing.
    let before = s.revision().unwrap();
    let again = s
        .ingest_jsonl(&origin(), text.as_bytes(), &snapshot, 100, |_| {})
        .unwrap();
    assert_eq!((again.accepted, again.duplicates), (0, 4));
    assert_eq!(s.revision().unwrap(), before);
}
