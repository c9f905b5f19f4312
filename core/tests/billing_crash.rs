//! Crash test of usage ingest: a child process ingests a large JSON Lines file into a
//! store file in batches and is killed with SIGKILL mid-ingest, over and over. After
//! each kill the store reopens holding whole batches only (the ledger is a prefix of
//! the input that ends on a batch boundary of the killed child), every batch the child
//! reported committed is there, every ingest audit record matches the ledger rows it
//! describes and the chain verifies. At the end, re-ingesting the whole file finishes
//! the job: the committed events count as duplicates and every event is in the ledger
//! exactly once.
//!
//! The child is this test executable itself, re-run with `--exact ingest_child` and
//! `GANGWAY_BILLING_CRASH_CHILD=<db path>`: `ingest_child` does nothing in a normal
//! run. It alternates between `Store::ingest_jsonl` (the file, from a line offset) and
//! `Store::ingest_usage` (the same events parsed and cut into batches), and resumes
//! from an offset the parent picks: where the ledger ends, or a little before it so the
//! first batch is partly or wholly duplicates.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg(unix)]

mod common;
use common::billing::{event, jsonl_text, ledger_by_key, setup};
use common::child::{Rng, kill_after, rerun, say, say_ready};
use common::{TempDir, integrity_check};

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use gangway::Store;
use gangway::audit::Origin;
use gangway::billing::usage::parse_line;
use gangway::store::AuditFilter;

const CHILD_ENV: &str = "GANGWAY_BILLING_CRASH_CHILD";
const INPUT_ENV: &str = "GANGWAY_BILLING_CRASH_INPUT";
const SKIP_ENV: &str = "GANGWAY_BILLING_CRASH_SKIP";
const MODE_ENV: &str = "GANGWAY_BILLING_CRASH_MODE";
/// How many times the ingesting child is killed.
const KILLS: u64 = 50;
/// Events per batch (one transaction each).
const BATCH: u64 = 250;
/// Events in the input file: more than the children get through before the last kill.
const EVENTS: u64 = 60_000;
/// Kills land up to this long after the child is ready.
const KILL_WINDOW_MS: u64 = 100;
/// Events per batch of the final, in-process re-ingest.
const FINAL_BATCH: u64 = 10_000;
/// Key prefix of the input's events.
const PREFIX: &str = "crash";

fn child_origin(skip: u64) -> Origin {
    Origin {
        actor: "crash-ingest".into(),
        at: "2026-12-01T09:00:00Z".parse().unwrap(),
        request_id: Some(format!("from-{skip}")),
    }
}

/// The ingesting child. In a normal test run (no `GANGWAY_BILLING_CRASH_CHILD`) it
/// does nothing.
///
/// Skips the first `GANGWAY_BILLING_CRASH_SKIP` lines of the input, then ingests the
/// rest in batches of `BATCH`, printing after each committed batch `committed <end>`
/// (`ingest_jsonl`, from its progress callback) or `committed <end> <accepted>
/// <duplicates>` (`ingest_usage`), where `end` is the input position the batch ends
/// at. When the input is done it prints `done` and waits to be killed.
#[test]
fn ingest_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let input = std::fs::read_to_string(std::env::var(INPUT_ENV).unwrap()).unwrap();
    let skip: u64 = std::env::var(SKIP_ENV).unwrap().parse().unwrap();
    let jsonl = std::env::var(MODE_ENV).unwrap() == "jsonl";
    let mut store = Store::open(&db).unwrap();
    let snapshot = store.snapshot().unwrap();
    let offset = if skip == 0 {
        0
    } else {
        input
            .match_indices('\n')
            .nth(usize::try_from(skip - 1).unwrap())
            .unwrap()
            .0
            + 1
    };
    let rest = &input[offset..];
    let origin = child_origin(skip);
    let mut out = std::io::stdout().lock();
    say_ready(&mut out);
    if jsonl {
        store
            .ingest_jsonl(&origin, rest.as_bytes(), &snapshot, BATCH as usize, |p| {
                say(&mut out, &format!("committed {}", skip + p.events as u64));
            })
            .unwrap();
    } else {
        let mut lines = rest.lines();
        let mut end = skip;
        loop {
            let batch: Vec<_> = lines
                .by_ref()
                .take(BATCH as usize)
                .map(|l| parse_line(l).unwrap())
                .collect();
            if batch.is_empty() {
                break;
            }
            let sum = store.ingest_usage(&origin, &batch, &snapshot).unwrap();
            assert!(sum.rejected.is_empty(), "{sum:?}");
            end += batch.len() as u64;
            say(
                &mut out,
                &format!("committed {end} {} {}", sum.accepted, sum.duplicates),
            );
        }
    }
    say(&mut out, "done");
    std::thread::sleep(Duration::from_secs(120));
}

/// The ingesting child, resuming from line `skip` with `ingest_jsonl` or (not
/// `jsonl`) `ingest_usage`.
fn child(db: &Path, input: &Path, skip: u64, jsonl: bool) -> Command {
    let mut c = rerun("ingest_child");
    c.env(CHILD_ENV, db)
        .env(INPUT_ENV, input)
        .env(SKIP_ENV, skip.to_string())
        .env(MODE_ENV, if jsonl { "jsonl" } else { "batches" });
    c
}

/// What one killed child reported.
#[derive(Debug, Default)]
struct Seen {
    ready: bool,
    done: bool,
    /// `(end, Some((accepted, duplicates)))` per committed batch, in order.
    committed: Vec<(u64, Option<(u64, u64)>)>,
}

impl Seen {
    fn take(&mut self, line: &str) {
        let words: Vec<&str> = line.split_whitespace().collect();
        match words.as_slice() {
            ["ready"] => self.ready = true,
            ["done"] => self.done = true,
            ["committed", end] => self.committed.push((end.parse().unwrap(), None)),
            ["committed", end, a, d] => self
                .committed
                .push((end.parse().unwrap(), Some((a.parse().unwrap(), d.parse().unwrap())))),
            _ => {} // the test harness's own lines
        }
    }
}

/// The number of input events in the ledger, after checking that the ledger is
/// exactly the input's first events (each once, each as written), and that the ingest
/// audit records describe it: their ranges of keys tile it in order and their
/// `accepted` counts add up to it.
fn inspect(db: &Path, setup_records: usize, batch: u64) -> u64 {
    let store = Store::open(db).unwrap();
    let ledger = ledger_by_key(&store, &[]);
    let count = ledger.len() as u64;
    for i in 0..count {
        let want = event(PREFIX, i);
        let got = ledger
            .get(&want.idempotency_key)
            .unwrap_or_else(|| panic!("the ledger holds {count} events but not event {i}: not a prefix"));
        assert_eq!(*got, want, "event {i} was stored garbled");
    }
    let v = store.audit_verify().unwrap();
    assert!(v.ok, "the audit chain does not verify after a kill: {:?}", v.breach);
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    assert_eq!(v.records as usize, records.len());
    let mut next = 0u64;
    for r in records.iter().skip(setup_records) {
        assert_eq!(
            (r.action.as_str(), r.target.as_str()),
            ("billing.usage.ingest", "ledger")
        );
        let after = r.after.as_ref().unwrap();
        let accepted = after["accepted"].as_u64().unwrap();
        let key_number = |field: &str| -> u64 {
            let key = after[field].as_str().unwrap();
            key.strip_prefix("crash-").unwrap().parse().unwrap()
        };
        assert!((1..=batch).contains(&accepted), "seq {}: {after}", r.seq);
        assert_eq!(
            key_number("first_key"),
            next,
            "seq {}: ingest records do not tile the ledger",
            r.seq
        );
        assert_eq!(key_number("last_key"), next + accepted - 1, "seq {}: {after}", r.seq);
        assert!(after["duplicates"].as_u64().unwrap() + accepted <= batch);
        assert_eq!(after["rejected"], 0);
        next += accepted;
    }
    assert_eq!(
        next, count,
        "the ingest records account for {next} events, the ledger holds {count}"
    );
    count
}

/// Whether the batch summaries a child reported (`ingest_usage` mode) fit a ledger
/// that held `prefix` events when the child started from `skip`.
fn summaries_fit(prefix: u64, skip: u64, committed: &[(u64, Option<(u64, u64)>)]) -> bool {
    let mut prefix = prefix;
    let mut start = skip;
    for (end, summary) in committed {
        if let Some((accepted, _)) = summary
            && *accepted != end.saturating_sub(prefix.max(start))
        {
            return false;
        }
        prefix = prefix.max(*end);
        start = *end;
    }
    true
}

#[test]
fn sigkill_mid_ingest_keeps_whole_batches_and_a_rerun_finishes_the_job() {
    let dir = TempDir::new("billing-crash");
    let db = dir.db();
    let input = dir.0.join("usage.jsonl");
    std::fs::write(&input, jsonl_text(PREFIX, EVENTS)).unwrap();
    let setup_records = {
        let mut store = Store::open(&db).unwrap();
        setup(&mut store);
        store.audit_records(&AuditFilter::default()).unwrap().len()
    };
    let started = Instant::now();
    // The ledger sizes the children's reports allow (the store is only inspected after
    // every other kill, so the next child recovers the killed one's WAL itself), and
    // the sizes they allow if no child committed a batch it did not live to report.
    let mut possible = BTreeSet::from([0u64]);
    let mut if_reported = BTreeSet::from([0u64]);
    let mut ledger = 0u64;
    let mut reported_batches = 0usize;
    let mut unreported_tails = 0u64;
    let mut hot_starts = 0u64;
    let mut overlapping_starts = 0u64;
    let mut mid_ingest_kills = 0u64;
    let mut inspections = 0u64;
    for i in 0..KILLS {
        let mut rng = Rng::new(i + 7);
        let jsonl = i.is_multiple_of(2);
        // Resume where the ledger ends (at least), or before it: half a batch, a batch,
        // or a bit more than two, so the first batch is partly or wholly duplicates and
        // the batch boundaries shift.
        let low = possible.first().copied().unwrap();
        let back = [0, 0, 0, BATCH / 2, BATCH, 2 * BATCH + 7][rng.below(6) as usize];
        let skip = low.saturating_sub(back);
        overlapping_starts += u64::from(skip < low);
        hot_starts += u64::from(std::fs::metadata(db.with_extension("db-wal")).is_ok_and(|m| m.len() > 0));

        let mut seen = Seen::default();
        // Every fifth kill is timed from the spawn, so it may land while the child is
        // still opening the store (recovering the last child's WAL); the rest are timed
        // from its `ready`, so they land among the batches.
        kill_after(
            &mut child(&db, &input, skip, jsonl),
            !i.is_multiple_of(5),
            Duration::from_millis(rng.below(KILL_WINDOW_MS)),
            |line| seen.take(line),
            &format!("kill {i}: the child"),
        );
        assert!(
            !seen.done,
            "kill {i}: the child got through the whole input; make EVENTS larger"
        );
        mid_ingest_kills += u64::from(seen.ready);
        reported_batches += seen.committed.len();

        // The child's batches are skip..skip+BATCH, …: it committed the ones it
        // reported and at most one more that it was killed before reporting (none when
        // it was killed before it was ready to ingest).
        let mut start = skip;
        for (end, summary) in &seen.committed {
            assert_eq!(
                *end,
                (start + BATCH).min(EVENTS),
                "kill {i}: batches are cut at {BATCH}"
            );
            if let Some((accepted, duplicates)) = summary {
                assert_eq!(accepted + duplicates, end - start, "kill {i}: batch {start}..{end}");
            }
            start = *end;
        }
        let reported = seen.committed.last().map_or(skip, |(end, _)| *end);
        let next_end = if seen.ready {
            (reported + BATCH).min(EVENTS)
        } else {
            reported
        };
        let step = |set: &BTreeSet<u64>, tail: bool| -> BTreeSet<u64> {
            set.iter()
                .copied()
                .filter(|p| summaries_fit(*p, skip, &seen.committed))
                .flat_map(|p| [p.max(reported), if tail { p.max(next_end) } else { p.max(reported) }])
                .collect()
        };
        possible = step(&possible, true);
        if_reported = step(&if_reported, false);
        assert!(
            !possible.is_empty(),
            "kill {i}: the child's batch summaries fit no ledger: {seen:?}"
        );

        if i.is_multiple_of(2) && i + 1 < KILLS {
            continue;
        }
        inspections += 1;
        ledger = inspect(&db, setup_records, BATCH);
        assert!(
            possible.contains(&ledger),
            "kill {i}: the ledger holds {ledger} events; the children's reports allow {possible:?}"
        );
        unreported_tails += u64::from(!if_reported.contains(&ledger));
        possible = BTreeSet::from([ledger]);
        if_reported = BTreeSet::from([ledger]);
    }

    let killing = started.elapsed();
    // Finish the job: re-ingest the whole file; what the children committed counts
    // as duplicates and the rest lands.
    let snapshot = Store::open(&db).unwrap().snapshot().unwrap();
    let text = std::fs::read(&input).unwrap();
    // The whole file, in process, into the store opened afresh.
    let ingest_all = || {
        let mut store = Store::open(&db).unwrap();
        let sum = store
            .ingest_jsonl(
                &child_origin(0),
                text.as_slice(),
                &snapshot,
                FINAL_BATCH as usize,
                |_| {},
            )
            .unwrap();
        (store, sum)
    };
    let (store, sum) = ingest_all();
    assert!(sum.rejected.is_empty(), "{:?}", sum.rejected.first());
    assert_eq!((sum.accepted as u64, sum.duplicates as u64), (EVENTS - ledger, ledger));
    drop(store);
    assert_eq!(inspect(&db, setup_records, FINAL_BATCH), EVENTS);
    let store = Store::open(&db).unwrap();
    let revision = store.revision().unwrap();
    drop(store);
    let (store, again) = ingest_all();
    assert_eq!((again.accepted as u64, again.duplicates as u64), (0, EVENTS));
    assert_eq!(
        store.revision().unwrap(),
        revision,
        "an all-duplicate re-run wrote something"
    );
    drop(store);
    integrity_check(&db);

    assert!(reported_batches > 0, "no child ever reported a committed batch");
    assert!(hot_starts > 0, "no child ever had to recover a killed child's WAL");
    eprintln!(
        "{KILLS} kills ({mid_ingest_kills} after ready), {inspections} inspections in {killing:.1?} ({:.1?} with the \
         re-run): {ledger} of {EVENTS} \
         events committed by the children ({reported_batches} batches reported; {unreported_tails} inspections found \
         a batch committed but not reported); {overlapping_starts} children resumed before the ledger's end, \
         {hot_starts} started on a hot WAL",
        started.elapsed()
    );
}
