//! `gangway billing …` run as a user would run it: the built binary on a temporary
//! store seeded with the complete example's registry and packet, checking exit codes,
//! JSON output and what lands in the audit log.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::io::Write as _;
use std::process::Stdio;

use serde_json::Value;
use support::{Dir, example, field, generate, pay};

/// A JSON Lines usage event for the Token Factory example.
fn event(key: &str, unit: &str, quantity: u64, at: &str) -> String {
    format!(
        r#"{{"product":"token-factory","unit":"{unit}","version":"1.0.0","quantity":{quantity},"resource_type":"model_endpoint","tenant":"tenant-acme","idempotency_key":"{key}","at":"{at}"}}"#
    )
}

/// The month of usage the flow bills: three good events, then a duplicate, a line that
/// is not JSON, a line with an unknown key and an unrated unit.
fn november() -> String {
    [
        event("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        event("e-2", "token_output", 100, "2026-11-10T10:00:00Z"),
        String::new(),
        event("e-3", "token_output", 100, "2026-11-20T10:00:00Z"),
        event("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        "{not json".to_owned(),
        event("e-4", "token_input", 2, "2026-11-06T00:00:00Z").replace("\"quantity\"", "\"qty\""),
        event("e-5", "request", 1, "2026-11-05T00:00:00Z"),
    ]
    .join("\n")
        + "\n"
}

impl Dir {
    /// Billing actions in the audit log, oldest first.
    fn billing_actions(&self) -> Vec<String> {
        let (code, v, _) = self.json(&["audit", "query"]);
        assert_eq!(code, 0);
        field(&v, "action")
            .into_iter()
            .filter(|a| a.starts_with("billing."))
            .map(str::to_owned)
            .collect()
    }

    /// A seeded store with the example rate card and November's usage ingested.
    fn billed(name: &str) -> Dir {
        let d = Dir::seeded(name);
        let card = example("billing", "rate-card.yaml");
        assert_eq!(d.json(&["billing", "rate-card", "set", &card]).0, 0);
        let usage = d.write("usage.jsonl", &november());
        assert_eq!(d.json(&["billing", "usage", "ingest", &usage]).0, 1);
        d
    }
}

/// The arguments of `gangway billing invoice cancel` for `invoice`, with its `reason`,
/// under idempotency key `key`.
fn cancel<'a>(invoice: &'a str, reason: &'a str, key: &'a str) -> [&'a str; 8] {
    [
        "billing", "invoice", "cancel", invoice, "--reason", reason, "--key", key,
    ]
}

/// The codes of a refusal's blockers.
fn codes(blockers: &Value) -> Vec<&str> {
    field(blockers, "code")
}

#[test]
fn full_flow_from_rate_card_to_the_gate() {
    let d = Dir::seeded("flow");
    let card = example("billing", "rate-card.yaml");
    let (code, v, _) = d.json(&["billing", "rate-card", "set", &card]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 1);
    assert_eq!(v["changed"], true);
    assert_eq!(v["rate_card"]["currency"], "USD");
    // The same card again changes nothing and keeps its version.
    let (code, out, _) = d.text(&["billing", "rate-card", "set", &card]);
    assert_eq!(code, 0);
    assert!(out.contains("version 1") && out.contains("unchanged"), "{out}");
    let (code, shown, _) = d.json(&["billing", "rate-card", "show"]);
    assert_eq!(code, 0);
    assert_eq!(shown, v["rate_card"]);
    assert_eq!(shown["rates"].as_array().unwrap().len(), 3);

    // Ingest: 3 accepted, 1 duplicate, 3 rejected (lines 6, 7, 8), exit 1.
    let usage = d.write("usage.jsonl", &november());
    let (code, v, _) = d.json(&["billing", "usage", "ingest", &usage, "--batch-size", "2"]);
    assert_eq!(code, 1, "a rejected event fails the ingest so CI notices");
    assert_eq!((v["accepted"].as_u64(), v["duplicates"].as_u64()), (Some(3), Some(1)));
    assert_eq!(v["rejected"], 3);
    assert_eq!(v["rejected_by_code"]["usage.malformed"], 2);
    assert_eq!(v["rejected_by_code"]["billing.rate_missing"], 1);
    let rejections: Vec<(u64, &str, &str)> = v["rejections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["line"].as_u64().unwrap(),
                r["code"].as_str().unwrap(),
                r["field"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        rejections,
        [
            (6, "usage.malformed", ""),
            (7, "usage.malformed", "qty"),
            (8, "billing.rate_missing", "unit")
        ]
    );
    // The same file again: everything already in the ledger is a duplicate; text
    // output names each rejection's line, code and field.
    let (code, out, _) = d.text(&["billing", "usage", "ingest", &usage]);
    assert_eq!(code, 1);
    assert!(out.contains("accepted 0, duplicates 4, rejected 3"), "{out}");
    assert!(out.contains("line 8: billing.rate_missing (field unit)"), "{out}");
    assert!(out.contains("line 7: usage.malformed (field qty)"), "{out}");
    assert!(out.contains("line 6: usage.malformed: not JSON"), "{out}");
    // A clean file exits 0.
    let december = d.write("dec.jsonl", &event("d-1", "token_input", 10, "2026-12-02T00:00:00Z"));
    let (code, v, _) = d.json(&["billing", "usage", "ingest", &december]);
    assert_eq!(
        (code, v["accepted"].as_u64(), v["rejected"].as_u64()),
        (0, Some(1), Some(0))
    );

    let nov = [
        "--tenant",
        "tenant-acme",
        "--from",
        "2026-11-01",
        "--until",
        "2026-12-01",
    ];
    let (code, ledger, _) = d.json(&[&["billing", "usage", "list"], &nov[..]].concat());
    assert_eq!(code, 0);
    let keys = field(&ledger, "idempotency_key");
    assert_eq!(keys, ["e-1", "e-2", "e-3"]);

    // Generate → issue → pay, with the gate refusing until the invoice is paid.
    let (code, inv, _) = d.json(
        &[
            &["billing", "invoice", "generate"],
            &nov[..],
            &["--company", "Acme Ltd", "--key", "gen-1"],
        ]
        .concat(),
    );
    assert_eq!(code, 0);
    assert_eq!(inv["id"], "INV-000001");
    assert_eq!(inv["state"], "draft");
    assert_eq!(inv["company"], "Acme Ltd");
    assert_eq!(inv["lines"].as_array().unwrap().len(), 3);
    // 1500 × 0.0020 + 100 × 0.0100 + 100 × 0.0080 = 4.80
    assert_eq!(inv["total"]["amount"], "4.80");
    assert_eq!(inv["total"]["minor"], 480);

    let gate = ["billing", "gate", "tenant-acme", "--standard", "paid"];
    let (code, g, _) = d.json(&gate);
    assert_eq!(code, 1);
    assert_eq!(g["satisfied"], false);

    let (code, inv, _) = d.json(&["billing", "invoice", "issue", "INV-000001", "--key", "issue-1"]);
    assert_eq!((code, inv["state"].as_str()), (0, Some("issued")));
    let (code, out, _) = d.text(&gate);
    assert_eq!(code, 1);
    assert!(
        out.contains("NOT satisfied") && out.contains("awaiting payment: INV-000001"),
        "{out}"
    );

    let (code, paid, _) = d.json(&pay("INV-000001", "wire-2026-118", "pay-1"));
    assert_eq!(code, 0);
    assert_eq!(paid["state"], "paid");
    assert_eq!(paid["payment_reference"], "wire-2026-118");

    let (code, g, _) = d.json(&gate);
    assert_eq!(code, 0);
    assert_eq!(g["satisfied"], true);
    assert_eq!(g["satisfied_by"], "invoice:INV-000001");
    let (code, out, _) = d.text(&gate);
    assert_eq!(code, 0);
    assert!(out.contains("satisfied by invoice:INV-000001"), "{out}");
    // Another tenant has nothing paid.
    assert_eq!(d.json(&["billing", "gate", "tenant-other", "--standard", "paid"]).0, 1);

    // show, list and actions read the stored invoice.
    let (code, shown, _) = d.json(&["billing", "invoice", "show", "INV-000001"]);
    assert_eq!((code, &shown), (0, &paid));
    let (code, list, _) = d.json(&["billing", "invoice", "list", "--tenant", "tenant-acme"]);
    assert_eq!((code, list), (0, Value::Array(vec![paid])));
    let (code, actions, _) = d.json(&["billing", "invoice", "actions", "INV-000001"]);
    assert_eq!(code, 0);
    assert_eq!(actions["state"], "paid");
    assert_eq!(actions["actions"], Value::Array(vec![]));

    // The log verifies, with one record per change.
    let (code, v, _) = d.json(&["audit", "verify"]);
    assert_eq!((code, v["ok"].as_bool()), (0, Some(true)));
    assert_eq!(
        d.billing_actions(),
        [
            "billing.rate_card.set",
            "billing.usage.ingest",
            "billing.usage.ingest",
            "billing.usage.ingest",
            "billing.invoice.generate",
            "billing.invoice.issue",
            "billing.invoice.mark_paid",
        ]
    );
    let (_, records, _) = d.json(&["audit", "query", "--target", "invoice:INV-000001"]);
    let states: Vec<(&str, &str)> = records
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["action"].as_str().unwrap(), r["after"]["state"].as_str().unwrap()))
        .collect();
    assert_eq!(
        states,
        [
            ("billing.invoice.generate", "draft"),
            ("billing.invoice.issue", "issued"),
            ("billing.invoice.mark_paid", "paid")
        ]
    );
    assert_eq!(records[2]["actor"], "tester");
}

#[test]
fn a_replayed_key_returns_the_first_result_and_a_reused_key_conflicts() {
    let d = Dir::billed("replay");
    let gen_1 = generate("2026-11-01", "2026-12-01", "gen-1");
    let (code, first, _) = d.json(&gen_1);
    assert_eq!(code, 0);
    let (code, again, _) = d.json(&gen_1);
    assert_eq!(code, 0);
    assert_eq!(again, first, "the same key and arguments return the first invoice");
    let (_, list, _) = d.json(&["billing", "invoice", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);

    let (code, issued, _) = d.json(&["billing", "invoice", "issue", "INV-000001", "--key", "issue-1"]);
    assert_eq!((code, issued["state"].as_str()), (0, Some("issued")));
    let before = d.billing_actions().len();
    let (code, again, _) = d.json(&["billing", "invoice", "issue", "INV-000001", "--key", "issue-1"]);
    assert_eq!((code, &again), (0, &issued), "a retried issue is not a refusal");
    assert_eq!(d.billing_actions().len(), before, "a replay writes nothing");

    // The same key with other parameters, or for another operation, is refused.
    let (code, v, _) = d.json(&[&gen_1[..], &["--company", "Acme Ltd"]].concat());
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "idempotency_conflict");
    let (code, _, err) = d.text(&pay("INV-000001", "w", "issue-1"));
    assert_eq!(code, 1);
    assert!(err.contains("idempotency_conflict"), "{err}");
    assert_eq!(d.billing_actions().len(), before);

    // Without --key a key is made and printed (on standard error), and it replays.
    let (code, paid, err) = d.json(&["billing", "invoice", "pay", "INV-000001", "--reference", "wire-9"]);
    assert_eq!((code, paid["state"].as_str()), (0, Some("paid")));
    let key = err
        .split_whitespace()
        .find(|w| w.starts_with("gw-"))
        .unwrap_or_else(|| panic!("no key printed: {err}"))
        .trim_end_matches(|c: char| !c.is_ascii_hexdigit());
    assert_eq!(key.len(), 3 + 32, "{key}");
    let (code, again, err) = d.json(&pay("INV-000001", "wire-9", key));
    assert_eq!((code, &again), (0, &paid));
    assert!(!err.contains("gw-"), "a given key is not announced: {err}");
    let (_, v, _) = d.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn refused_transitions_list_every_blocker() {
    let d = Dir::billed("refused");
    let (code, inv, _) = d.json(&generate("2026-11-01", "2026-12-01", "gen-1"));
    assert_eq!((code, inv["state"].as_str()), (0, Some("draft")));
    let (code, actions, _) = d.json(&["billing", "invoice", "actions", "INV-000001"]);
    assert_eq!(code, 0);
    assert_eq!(
        actions["actions"],
        serde_json::json!([
            {"operation": "issue", "to": "issued"},
            {"operation": "cancel", "to": "cancelled"}
        ])
    );
    let (_, out, _) = d.text(&["billing", "invoice", "actions", "INV-000001"]);
    assert!(out.contains("gangway billing invoice issue INV-000001"), "{out}");

    let before = d.billing_actions().len();
    // Paying a draft with a blank reference: both blockers at once.
    let blank = pay("INV-000001", " ", "pay-1");
    let (code, v, _) = d.json(&blank);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "billing.illegal_transition");
    assert_eq!(
        (v["error"]["state"].as_str(), v["error"]["operation"].as_str()),
        (Some("draft"), Some("mark_paid"))
    );
    assert_eq!(
        codes(&v["error"]["blockers"]),
        ["billing.illegal_transition", "billing.payment_reference_missing"]
    );
    let (code, _, err) = d.text(&blank);
    assert_eq!(code, 1);
    assert!(
        err.contains("- billing.illegal_transition: cannot mark_paid from draft"),
        "{err}"
    );
    assert!(err.contains("- billing.payment_reference_missing:"), "{err}");
    assert_eq!(d.billing_actions().len(), before, "a refusal writes nothing");

    // Cancel (the refused call did not consume its key), then nothing more applies.
    let (code, v, _) = d.json(&cancel("INV-000001", "customer left", "pay-1"));
    assert_eq!((code, v["state"].as_str()), (0, Some("cancelled")));
    let (code, v, _) = d.json(&cancel("INV-000001", "", "c-2"));
    assert_eq!(code, 1);
    assert_eq!(
        codes(&v["error"]["blockers"]),
        ["billing.illegal_transition", "billing.cancel_reason_missing"]
    );
    let (code, v, _) = d.json(&["billing", "invoice", "issue", "INV-9", "--key", "i-9"]);
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("billing.invoice_not_found"))
    );
    let (code, v, _) = d.json(&["billing", "invoice", "show", "INV-9"]);
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("billing.invoice_not_found"))
    );

    // An empty draft cannot be issued; an overlapping period cannot be generated.
    let empty = generate("2027-01-01", "2027-02-01", "gen-2");
    let (code, v, _) = d.json(&empty);
    assert_eq!((code, v["lines"].as_array().map(Vec::len)), (0, Some(0)));
    let (code, v, _) = d.json(&["billing", "invoice", "issue", v["id"].as_str().unwrap(), "--key", "i-2"]);
    assert_eq!(code, 1);
    assert_eq!(codes(&v["error"]["blockers"]), ["billing.invoice_empty"]);
    let (code, v, _) = d.json(&generate("2027-01-15", "2027-03-01", "gen-3"));
    assert_eq!((code, v["error"]["code"].as_str()), (1, Some("billing.period_overlap")));
    let (_, v, _) = d.json(&["audit", "verify"]);
    assert_eq!(v["ok"], true);
}

#[test]
fn purchase_orders_and_the_po_gate() {
    let d = Dir::seeded("po");
    let submit = |id: &str, reference: &str, amount: &str| {
        d.json(&[
            "billing",
            "po",
            "submit",
            "--id",
            id,
            "--tenant",
            "tenant-acme",
            "--reference",
            reference,
            "--amount",
            amount,
            "--currency",
            "USD",
        ])
    };
    let (code, po, _) = submit("PO-1", "ACME-4411", "1000.00");
    assert_eq!(code, 0);
    assert_eq!(po["state"], "submitted");
    assert_eq!(po["amount"]["minor"], 100_000);
    assert_eq!(submit("PO-2", "ACME-4412", "50").0, 0);
    let (code, v, _) = submit("PO-1", "ACME-4411", "1000.00");
    assert_eq!((code, v["error"]["code"].as_str()), (1, Some("billing.po_exists")));
    // An amount that is not a decimal in the currency is a bad flag.
    let (code, _, err) = submit("PO-3", "ACME-4413", "10.001");
    assert_eq!(code, 2);
    assert!(err.contains("billing.invalid_amount"), "{err}");
    assert_eq!(
        submit("PO-3", "ACME-4413", "0").1["error"]["code"],
        "billing.invalid_amount"
    );

    let gate = ["billing", "gate", "tenant-acme", "--standard", "po_approved"];
    let (code, g, _) = d.json(&gate);
    assert_eq!(code, 1);
    assert!(
        g["missing"].as_str().unwrap().contains("awaiting approval: PO-1, PO-2"),
        "{g}"
    );

    let (code, v, _) = d.json(&["billing", "po", "reject", "PO-2", "--reason", "wrong entity"]);
    assert_eq!((code, v["state"].as_str()), (0, Some("rejected")));
    let (code, v, _) = d.json(&["billing", "po", "approve", "PO-2", "--by", ""]);
    assert_eq!(code, 1);
    assert_eq!(
        codes(&v["error"]["blockers"]),
        ["billing.illegal_transition", "billing.approver_missing"]
    );
    let (code, v, _) = d.json(&["billing", "po", "approve", "PO-1", "--by", "cfo@acme"]);
    assert_eq!((code, v["approved_by"].as_str()), (0, Some("cfo@acme")));
    let (code, v, _) = d.json(&["billing", "po", "approve", "PO-404", "--by", "cfo@acme"]);
    assert_eq!((code, v["error"]["code"].as_str()), (1, Some("billing.po_not_found")));

    let (code, g, _) = d.json(&gate);
    assert_eq!(code, 0);
    assert_eq!(g["satisfied_by"], "po:PO-1");
    // The other standard does not count a PO.
    assert_eq!(d.json(&["billing", "gate", "tenant-acme", "--standard", "paid"]).0, 1);

    let (code, list, _) = d.json(&["billing", "po", "list", "--tenant", "tenant-acme"]);
    assert_eq!(code, 0);
    let states: Vec<(&str, &str)> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["state"].as_str().unwrap()))
        .collect();
    assert_eq!(states, [("PO-1", "approved"), ("PO-2", "rejected")]);
    assert_eq!(
        d.json(&["billing", "po", "list", "--tenant", "other"]).1,
        Value::Array(vec![])
    );
    assert_eq!(
        d.billing_actions(),
        [
            "billing.po.submit",
            "billing.po.submit",
            "billing.po.reject",
            "billing.po.approve"
        ]
    );
    assert_eq!(d.json(&["audit", "verify"]).0, 0);
}

#[test]
fn the_gate_needs_a_configured_standard() {
    let d = Dir::seeded("gate");
    let db = d.db();
    let (code, out, err) = d.text(&["billing", "gate", "tenant-acme"]);
    assert_eq!(code, 2, "no default standard: fail closed");
    assert!(out.is_empty(), "{out}");
    assert!(
        err.contains("GANGWAY_GATE_STANDARD") && err.contains("--standard"),
        "{err}"
    );

    let out = d
        .command(&["billing", "gate", "tenant-acme", "--db", &db])
        .env("GANGWAY_GATE_STANDARD", "po_approved")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("standard po_approved"));

    let (code, _, err) = d.text(&["billing", "gate", "tenant-acme", "--standard", "invoiced"]);
    assert_eq!(code, 2);
    assert!(err.contains("po_approved"), "{err}");
}

#[test]
fn inputs_that_cannot_be_used_exit_2() {
    let d = Dir::new("inputs");
    // No store.
    let (code, _, err) = d.text(&["billing", "invoice", "list"]);
    assert_eq!(code, 2);
    assert!(err.contains("registry init"), "{err}");

    let d = Dir::seeded("inputs2");
    let (code, _, err) = d.text(&["billing", "usage", "ingest", "missing.jsonl"]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.jsonl"), "{err}");
    let bad = d.write(
        "overlap.yaml",
        "rate_card:\n  currency: USD\n  rates:\n    - {unit: token_input, version: v1, price: \"1\", effective_from: 2026-01-01}\n    - {unit: token_input, version: v1, price: \"2\", effective_from: 2026-06-01}\n",
    );
    let (code, _, err) = d.text(&["billing", "rate-card", "set", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("billing.rate_overlap"), "{err}");
    let bad = d.write("typo.yaml", "rate_card:\n  currency: USD\n  ratez: []\n");
    let (code, _, err) = d.text(&["billing", "rate-card", "set", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("billing.rate_card_parse"), "{err}");
    let (code, _, _) = d.text(&["billing", "usage", "ingest", "x.jsonl", "--batch-size", "0"]);
    assert_eq!(code, 2);

    // No rate card yet: generating and showing are refusals (exit 1), and usage is
    // rejected as unrated.
    let (code, v, _) = d.json(&["billing", "rate-card", "show"]);
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("billing.rate_card_missing"))
    );
    let (code, v, _) = d.json(&generate("2026-11-01", "2026-12-01", "g"));
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("billing.rate_card_missing"))
    );
}

#[test]
fn ingest_reads_stdin_and_shows_progress_on_stderr_only() {
    let d = Dir::seeded("stdin");
    let card = example("billing", "rate-card.yaml");
    assert_eq!(d.json(&["billing", "rate-card", "set", &card]).0, 0);
    let db = d.db();
    let mut child = d
        .command(&[
            "billing",
            "usage",
            "ingest",
            "-",
            "--progress",
            "--batch-size",
            "1",
            "--db",
            &db,
            "--format",
            "json",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let body = [
        event("s-1", "token_input", 5, "2026-11-03T10:00:00Z"),
        event("s-2", "token_output", 7, "2026-11-04T10:00:00Z"),
    ]
    .join("\n");
    child.stdin.take().unwrap().write_all(body.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["accepted"].as_u64(), v["rejected"].as_u64()), (Some(2), Some(0)));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.contains("2 events"), "{err}");

    // Without --progress and with standard error not a terminal: no progress.
    let file = d.write("more.jsonl", &event("s-3", "token_input", 1, "2026-11-05T10:00:00Z"));
    let (code, _, err) = d.json(&["billing", "usage", "ingest", &file]);
    assert_eq!(code, 0);
    assert!(err.is_empty(), "{err}");
}

/// The end-to-end example of docs/user.md, with the files in examples/billing.
#[test]
fn the_documented_example_runs() {
    let d = Dir::seeded("docs");
    let card = example("billing", "rate-card.yaml");
    let usage = example("billing", "usage.jsonl");
    let (code, out, _) = d.text(&["billing", "rate-card", "set", &card]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = d.text(&["billing", "usage", "ingest", &usage]);
    assert_eq!(code, 1, "the example shows rejections: {out}");
    assert!(out.contains("accepted 4, duplicates 1, rejected 2"), "{out}");
    let (code, inv, _) = d.json(
        &[
            &generate("2026-11-01", "2026-12-01", "acme-2026-11-generate")[..],
            &["--company", "Acme Ltd"],
        ]
        .concat(),
    );
    assert_eq!(code, 0);
    assert_eq!(inv["total"]["amount"], "4.80");
    let id = inv["id"].as_str().unwrap();
    assert_eq!(
        d.text(&["billing", "invoice", "issue", id, "--key", "acme-2026-11-issue"])
            .0,
        0
    );
    assert_eq!(d.text(&pay(id, "wire-2026-118", "acme-2026-11-pay")).0, 0);
    let (code, out, _) = d.text(&["billing", "gate", "tenant-acme", "--standard", "paid"]);
    assert_eq!(code, 0);
    assert!(out.contains("satisfied by invoice:INV-000001"), "{out}");
}
