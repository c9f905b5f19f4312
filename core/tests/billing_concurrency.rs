//! Concurrency test of usage ingest: three processes ingest overlapping idempotency
//! keys into one store file at the same time, in different orders, batch sizes and
//! modes (`ingest_jsonl` and `ingest_usage`). Afterwards every key is in the ledger
//! exactly once; the processes' accepted counts add up to the number of distinct keys;
//! each process's accepted + duplicates is its input size; the ingest audit records
//! account for every ledger row, per process; the chain verifies.
//!
//! A second test races invoicing against ingest: one process ingests usage while another
//! generates an invoice for the first half of November, cancels it and generates it
//! again, over and over. Usage dated in the period while an invoice stands is
//! rejected (`billing.period_invoiced`), everything else lands, and the invoice left
//! standing bills exactly the ledger's usage in its period: none billed twice, none
//! left out.
//!
//! The child processes are this test executable itself, re-run with `--exact
//! ingest_child` (or `race_child`, `invoice_child`) and `GANGWAY_BILLING_CONC_CHILD=<db
//! path>`: the children do nothing in a normal run.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg(unix)]

mod common;
use common::billing::{event, jsonl, ledger_by_key, origin, setup};
use common::child::{Running, ready_go, rerun, say, start_together};
use common::{TempDir, integrity_check};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant};

use gangway::billing::InvoiceState;
use gangway::billing::usage::UsageRecord;
use gangway::store::AuditFilter;
use gangway::{Date, Store};

const CHILD_ENV: &str = "GANGWAY_BILLING_CONC_CHILD";
const ID_ENV: &str = "GANGWAY_BILLING_CONC_ID";
/// Events the race writer ingests (a third of them `tenant-acme`'s).
const RACE_EVENTS: u64 = 3_000;
/// Times the invoicer generates (and, but for the last, cancels) its invoice.
const RACE_ROUNDS: u64 = 12;
/// Writer processes.
const WRITERS: u64 = 3;
/// Each writer's own range of keys is `w * STRIDE .. w * STRIDE + SPAN`, so
/// neighbours share half their range.
const STRIDE: u64 = 1_000;
const SPAN: u64 = 2_000;
/// Keys every writer ingests, each writer with its own quantity (the first to
/// commit wins; the others count it as a duplicate whatever its fields).
const HOT: std::ops::Range<u64> = 10_000..10_200;
const PREFIX: &str = "conc";
/// Milliseconds each writer pauses after a batch.
const PAUSE_MS: u64 = 10;

/// Writer `w`'s input, in the order it ingests it: the hot keys with its own quantity
/// (so the writers race for them from the start), its range (forwards, backwards or
/// odd keys then even keys), then every tenth event of its range again.
fn input(w: u64) -> Vec<UsageRecord> {
    let own: Vec<u64> = (w * STRIDE..w * STRIDE + SPAN).collect();
    let order: Vec<u64> = match w % 3 {
        0 => own.clone(),
        1 => own.iter().rev().copied().collect(),
        _ => own
            .iter()
            .filter(|n| *n % 2 == 1)
            .chain(own.iter().filter(|n| *n % 2 == 0))
            .copied()
            .collect(),
    };
    let mut out: Vec<UsageRecord> = HOT
        .chain(order)
        .map(|n| {
            let mut e = event(PREFIX, n);
            if HOT.contains(&n) {
                e.quantity = 1_000 + w;
            }
            e
        })
        .collect();
    out.extend(own.iter().filter(|n| *n % 10 == 0).map(|n| event(PREFIX, *n)));
    out
}

fn batch_size(w: u64) -> usize {
    [100, 250, 64][usize::try_from(w % 3).unwrap()]
}

/// A pause between batches, like request-driven writers. SQLite's busy handler sleeps
/// (1, 2, 5, 10, 15, 20, 25 ms, …), so a writer that runs flat out or pauses for less
/// than those sleeps keeps the lock for its whole input and the batches do not
/// interleave.
fn pause() {
    std::thread::sleep(Duration::from_millis(PAUSE_MS));
}

/// One writer. In a normal test run (no `GANGWAY_BILLING_CONC_CHILD`) it does nothing.
///
/// Opens the store, says `ready`, waits for `go` on stdin, ingests its input (writer
/// 1 with `ingest_usage` per batch, the others with `ingest_jsonl`), pausing after
/// each batch, and prints
/// `summary <accepted> <duplicates> <rejected>`.
#[test]
fn ingest_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let w: u64 = std::env::var(ID_ENV).unwrap().parse().unwrap();
    let mut store = Store::open(&db).unwrap();
    let snapshot = store.snapshot().unwrap();
    let events = input(w);
    let text: String = events.iter().map(|e| jsonl(e) + "\n").collect();
    let mut out = std::io::stdout().lock();
    ready_go(&mut out);
    let o = origin(&format!("writer-{w}"));
    let mut batches = 0usize;
    let sum = if w == 1 {
        let mut total = gangway::billing::usage::IngestSummary::default();
        for batch in events.chunks(batch_size(w)) {
            total.absorb(store.ingest_usage(&o, batch, &snapshot).unwrap());
            batches += 1;
            pause();
        }
        total
    } else {
        store
            .ingest_jsonl(&o, text.as_bytes(), &snapshot, batch_size(w), |_| {
                batches += 1;
                pause();
            })
            .unwrap()
    };
    assert_eq!(batches, events.len().div_ceil(batch_size(w)));
    let summary = format!("summary {} {} {}", sum.accepted, sum.duplicates, sum.rejected.len());
    say(&mut out, &summary);
}

fn spawn_writer(db: &Path, w: u64) -> Running {
    spawn(db, &w.to_string(), "ingest_child")
}

/// Runs the child test `test` with `GANGWAY_BILLING_CONC_ID=id`.
fn spawn(db: &Path, id: &str, test: &str) -> Running {
    Running::spawn(rerun(test).env(CHILD_ENV, db).env(ID_ENV, id), true)
}

#[test]
fn concurrent_ingests_of_overlapping_keys_land_each_key_once() {
    let dir = TempDir::new("billing-concurrency");
    let db = dir.db();
    let setup_records = {
        let mut store = Store::open(&db).unwrap();
        setup(&mut store);
        store.audit_records(&AuditFilter::default()).unwrap().len()
    };
    let started = Instant::now();
    let mut writers: Vec<Running> = (0..WRITERS).map(|w| spawn_writer(&db, w)).collect();
    start_together(&mut writers);
    // (accepted, duplicates) per writer.
    let mut summaries: Vec<(u64, u64)> = Vec::new();
    for (w, writer) in writers.into_iter().enumerate() {
        let ended = writer.finish(&format!("writer {w}"));
        let errors = &ended.stderr;
        let summary = ended
            .lines
            .iter()
            .find_map(|l| {
                let words: Vec<u64> = l
                    .strip_prefix("summary ")?
                    .split(' ')
                    .map(|n| n.parse().unwrap())
                    .collect();
                Some(words)
            })
            .unwrap_or_else(|| panic!("writer {w} printed no summary: {errors}"));
        assert_eq!(summary[2], 0, "writer {w} had rejections");
        summaries.push((summary[0], summary[1]));
    }
    let elapsed = started.elapsed();

    // Each writer saw its whole input: accepted + duplicates.
    for (w, (accepted, duplicates)) in summaries.iter().enumerate() {
        assert_eq!(
            accepted + duplicates,
            input(w as u64).len() as u64,
            "writer {w}: {accepted} + {duplicates}"
        );
    }
    // Every distinct key was accepted by exactly one writer.
    let keys: BTreeSet<String> = (0..WRITERS).flat_map(input).map(|e| e.idempotency_key).collect();
    let accepted: u64 = summaries.iter().map(|s| s.0).sum();
    assert_eq!(accepted, keys.len() as u64, "writers accepted {summaries:?}");

    let store = Store::open(&db).unwrap();
    // The ledger: every key once (`ledger_by_key` fails on a key seen twice), as some
    // writer sent it; a hot key as the one writer that won it sent it.
    let ledger = ledger_by_key(&store, &[]);
    assert_eq!(ledger.keys().cloned().collect::<BTreeSet<_>>(), keys);
    let mut hot_winners: BTreeMap<u64, u64> = BTreeMap::new();
    for (key, got) in &ledger {
        let n: u64 = key.strip_prefix("conc-").unwrap().parse().unwrap();
        let mut want = event(PREFIX, n);
        if HOT.contains(&n) {
            let w = got.quantity.checked_sub(1_000).unwrap_or(u64::MAX);
            assert!(w < WRITERS, "hot key {key} holds quantity {}", got.quantity);
            *hot_winners.entry(w).or_default() += 1;
            want.quantity = got.quantity;
        }
        assert_eq!(*got, want, "{key} was stored garbled");
    }

    // The audit log: ingest records only (after setup), seq without gaps, verifying;
    // each writer's records account for exactly what it accepted.
    let v = store.audit_verify().unwrap();
    assert!(v.ok, "{:?}", v.breach);
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=records.len() as u64).collect::<Vec<_>>());
    let mut by_writer: BTreeMap<String, u64> = BTreeMap::new();
    let mut switches = 0usize;
    let ingests = &records[setup_records..];
    for r in ingests {
        assert_eq!(
            (r.action.as_str(), r.target.as_str()),
            ("billing.usage.ingest", "ledger")
        );
        let after = r.after.as_ref().unwrap();
        assert_eq!(after["rejected"], 0);
        *by_writer.entry(r.actor.clone()).or_default() += after["accepted"].as_u64().unwrap();
    }
    for pair in ingests.windows(2) {
        switches += usize::from(pair[0].actor != pair[1].actor);
    }
    for (w, (accepted, _)) in summaries.iter().enumerate() {
        assert_eq!(
            by_writer.get(&format!("writer-{w}")).copied().unwrap_or(0),
            *accepted,
            "writer {w}"
        );
    }
    drop(store);
    integrity_check(&db);
    eprintln!(
        "{WRITERS} writers ingested {} events ({} distinct keys) in {elapsed:.1?}: accepted/duplicates {summaries:?}; \
         hot keys won per writer {hot_winners:?}; {} ingest records, {switches} switches between writers",
        (0..WRITERS).map(|w| input(w).len()).sum::<usize>(),
        keys.len(),
        ingests.len(),
    );
    if switches < WRITERS as usize {
        eprintln!("note: the writers did not interleave in this run");
    }
}

/// The invoiced period of the race: the first half of November.
fn race_period() -> (Date, Date) {
    (Date::constant(2026, 11, 1), Date::constant(2026, 11, 16))
}

/// The store of the race's child `id`; none in a normal run or in the other child.
fn child_db(id: &str) -> Option<String> {
    let db = std::env::var(CHILD_ENV).ok()?;
    (std::env::var(ID_ENV).as_deref() == Ok(id)).then_some(db)
}

/// The race's ingesting child: events `race-0..RACE_EVENTS` in batches of 50, a short
/// pause after each; prints `rejected <key> <code>` per rejection and `summary
/// <accepted> <duplicates> <rejected>`.
#[test]
fn race_child() {
    let Some(db) = child_db("race") else { return };
    let mut store = Store::open(&db).unwrap();
    let snapshot = store.snapshot().unwrap();
    let events: Vec<UsageRecord> = (0..RACE_EVENTS).map(|n| event("race", n)).collect();
    let mut out = std::io::stdout().lock();
    ready_go(&mut out);
    let o = origin("race-writer");
    let mut total = gangway::billing::usage::IngestSummary::default();
    for batch in events.chunks(50) {
        total.absorb(store.ingest_usage(&o, batch, &snapshot).unwrap());
        std::thread::sleep(Duration::from_millis(2));
    }
    for r in &total.rejected {
        let key = r.idempotency_key.as_deref().unwrap_or("?");
        say(&mut out, &format!("rejected {key} {}", r.code));
    }
    let summary = format!(
        "summary {} {} {}",
        total.accepted,
        total.duplicates,
        total.rejected.len()
    );
    say(&mut out, &summary);
}

/// The race's invoicing child: generates `tenant-acme`'s invoice for the race period,
/// prints `invoice <id> <quantity>`, and cancels it, `RACE_ROUNDS` times (the last
/// invoice stays).
#[test]
fn invoice_child() {
    let Some(db) = child_db("invoicer") else { return };
    let mut store = Store::open(&db).unwrap();
    let mut out = std::io::stdout().lock();
    ready_go(&mut out);
    let o = origin("invoicer");
    let (start, end) = race_period();
    for r in 0..RACE_ROUNDS {
        std::thread::sleep(Duration::from_millis(5));
        let inv = store
            .generate_invoice(&o, &format!("gen-{r}"), "tenant-acme", None, start, end)
            .unwrap();
        let quantity: u64 = inv.lines().iter().map(|l| l.quantity).sum();
        say(&mut out, &format!("invoice {} {quantity}", inv.id()));
        if r + 1 < RACE_ROUNDS {
            std::thread::sleep(Duration::from_millis(5));
            store
                .cancel_invoice(&o, &format!("cancel-{r}"), inv.id(), "usage arrived late")
                .unwrap();
        }
    }
}

#[test]
fn invoicing_while_ingesting_bills_each_event_exactly_once() {
    let dir = TempDir::new("billing-race");
    let db = dir.db();
    {
        let mut store = Store::open(&db).unwrap();
        setup(&mut store);
    }
    let started = Instant::now();
    let mut children = vec![
        spawn(&db, "race", "race_child"),
        spawn(&db, "invoicer", "invoice_child"),
    ];
    start_together(&mut children);
    let mut children = children.into_iter();
    let writer = children.next().unwrap().finish("the race writer").lines;
    let invoicer = children.next().unwrap().finish("the invoicer").lines;
    let elapsed = started.elapsed();

    let (start, end) = race_period();
    let all: BTreeMap<String, UsageRecord> = (0..RACE_EVENTS)
        .map(|n| event("race", n))
        .map(|e| (e.idempotency_key.clone(), e))
        .collect();
    let in_period = |e: &UsageRecord| {
        let on = e.at.to_zoned(jiff::tz::TimeZone::UTC).date();
        e.tenant == "tenant-acme" && start <= on && on < end
    };
    // The writer: every event accepted or rejected because its day was invoiced.
    let mut rejected = BTreeSet::new();
    let mut summary = None;
    for line in &writer {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["rejected", key, code] => {
                assert_eq!(*code, "billing.period_invoiced", "{key}");
                assert!(in_period(&all[*key]), "{key} was rejected outside the invoiced period");
                rejected.insert((*key).to_owned());
            }
            ["summary", a, d, r] => {
                summary = Some((
                    a.parse::<u64>().unwrap(),
                    d.parse::<u64>().unwrap(),
                    r.parse::<u64>().unwrap(),
                ))
            }
            _ => {}
        }
    }
    let (accepted, duplicates, rejections) = summary.expect("the race writer printed no summary");
    assert_eq!((accepted + rejections, duplicates), (RACE_EVENTS, 0));
    assert_eq!(rejections as usize, rejected.len());

    let store = Store::open(&db).unwrap();
    let ledger = ledger_by_key(&store, &[]);
    let landed: BTreeSet<String> = ledger.keys().cloned().collect();
    let expected: BTreeSet<String> = all.keys().filter(|k| !rejected.contains(*k)).cloned().collect();
    assert_eq!(landed, expected, "the ledger is not the accepted events");

    // The invoices: each generated one as reported, all cancelled but the last, each
    // billing at least what the one before billed; the last bills the ledger's usage in
    // its period exactly.
    let reported: Vec<(String, u64)> = invoicer
        .iter()
        .filter_map(|l| {
            let rest = l.strip_prefix("invoice ")?;
            let (id, q) = rest.split_once(' ')?;
            Some((id.to_owned(), q.parse().unwrap()))
        })
        .collect();
    assert_eq!(reported.len() as u64, RACE_ROUNDS);
    let invoices = store.invoices(Some("tenant-acme")).unwrap();
    assert_eq!(invoices.len() as u64, RACE_ROUNDS);
    for (i, (inv, (id, quantity))) in invoices.iter().zip(&reported).enumerate() {
        assert_eq!(inv.id(), id);
        assert_eq!(inv.lines().iter().map(|l| l.quantity).sum::<u64>(), *quantity);
        let want = if i + 1 < invoices.len() {
            InvoiceState::Cancelled
        } else {
            InvoiceState::Draft
        };
        assert_eq!(inv.state(), want, "{id}");
    }
    let quantities: Vec<u64> = reported.iter().map(|r| r.1).collect();
    assert!(
        quantities.windows(2).all(|w| w[0] <= w[1]),
        "an invoice billed less than the one before: {quantities:?}"
    );
    let in_ledger: u64 = ledger.values().filter(|e| in_period(e)).map(|e| e.quantity).sum();
    assert_eq!(
        *quantities.last().unwrap(),
        in_ledger,
        "the standing invoice does not bill its period's usage"
    );

    let v = store.audit_verify().unwrap();
    assert!(v.ok, "{:?}", v.breach);
    drop(store);
    integrity_check(&db);
    eprintln!(
        "race: {accepted} accepted, {rejections} rejected as invoiced, in {elapsed:.1?}; the {RACE_ROUNDS} invoices \
         billed {quantities:?}"
    );
    if rejections == 0 || quantities.first() == quantities.last() {
        eprintln!("note: ingest and invoicing did not overlap in this run");
    }
}
