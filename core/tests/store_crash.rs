//! Crash test: a writer process is killed with SIGKILL at random points, over and
//! over, against the same store file; after each kill the store reopens with every
//! committed write present, nothing extra, and an audit chain that verifies.
//!
//! The writer is this test executable itself, re-run with `--exact crash_child` and
//! `GANGWAY_CRASH_CHILD=<db path>`: `crash_child` does nothing in a normal run.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg(unix)]

mod common;
use common::child::{Rng, kill_after, rerun, say, say_ready};
use common::{TempDir, integrity_check};

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use gangway::audit::Origin;
use gangway::store::{AuditFilter, EntryRef};
use gangway::{Entry, Format, Kind, State, Store};

const CHILD_ENV: &str = "GANGWAY_CRASH_CHILD";
/// How many times the writer is killed.
const KILLS: u64 = 100;
const PACKET: &str = include_str!("../../examples/token-factory/packet.yaml");
const PACKET_ID: &str = "token-factory-onboarding-v1";

fn key(n: u64) -> String {
    format!("crash:s:{n}")
}

fn packet_id(n: u64) -> String {
    format!("crash-{n}")
}

fn origin(n: u64) -> Origin {
    let at = jiff::Timestamp::from_second(1_790_000_000 + i64::try_from(n).unwrap()).unwrap();
    Origin {
        actor: "crash-writer".into(),
        at,
        request_id: Some(format!("req-{n}")),
    }
}

fn entry(n: u64) -> Entry {
    Entry {
        kind: Kind::Scope,
        key: key(n),
        version: None,
        state: State::Draft,
        owner: "platform-iam".into(),
        product: None,
        description: Some(format!("scope number {n} written by the crash writer")),
        sunset: None,
    }
}

/// The writer. In a normal test run (no `GANGWAY_CRASH_CHILD`) it does nothing.
///
/// Opens the store (recovering it, when the last writer was killed and nobody opened
/// it since), and goes on from the first scope number not yet written: for each `n`,
/// adds scope `crash:s:{n}`; for even `n` moves it to `active`; for `n` divisible by 5
/// stores a packet `crash-{n}`. Each write is its own transaction, reported on stdout
/// (`committed add|active|packet n`) only after it returned Ok.
#[test]
fn crash_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let mut store = Store::open(&db).unwrap();
    // The scopes written so far are 0..count (the test checks that they form a prefix).
    let start = store.entries(Some(Kind::Scope)).unwrap().len() as u64;
    let mut out = std::io::stdout().lock();
    say_ready(&mut out);
    // A cap so a writer whose parent vanished stops on its own (its stdout would close
    // first, failing `say`, anyway).
    for n in start..start + 100_000 {
        store.add_entry(&origin(n), &entry(n)).unwrap();
        say(&mut out, &format!("committed add {n}"));
        if n.is_multiple_of(2) {
            let r = EntryRef::new(Kind::Scope, key(n));
            store.set_state(&origin(n), &r, State::Active, None).unwrap();
            say(&mut out, &format!("committed active {n}"));
        }
        if n.is_multiple_of(5) {
            let text = PACKET.replace(PACKET_ID, &packet_id(n));
            let put = store.put_packet(&origin(n), &text, Format::Yaml).unwrap();
            assert!(put.created);
            say(&mut out, &format!("committed packet {n}"));
        }
    }
}

/// What the parent saw the writer report.
#[derive(Debug, Default)]
struct Seen {
    adds: Vec<u64>,
    actives: Vec<u64>,
    packets: Vec<u64>,
}

impl Seen {
    /// Notes a `committed …` line.
    fn take(&mut self, line: &str) {
        let mut words = line.split_whitespace();
        match (words.next(), words.next(), words.next().map(str::parse::<u64>)) {
            (Some("committed"), Some("add"), Some(Ok(n))) => self.adds.push(n),
            (Some("committed"), Some("active"), Some(Ok(n))) => self.actives.push(n),
            (Some("committed"), Some("packet"), Some(Ok(n))) => self.packets.push(n),
            _ => {} // `ready` and the test harness's own lines
        }
    }

    fn mutations(&self) -> usize {
        self.adds.len() + self.actives.len() + self.packets.len()
    }
}

/// Everything the store holds that the writer could have written.
struct Found {
    adds: BTreeSet<u64>,
    actives: BTreeSet<u64>,
    packets: BTreeSet<u64>,
    audit: usize,
}

fn inspect(db: &Path) -> Found {
    let store = Store::open(db).unwrap();
    let mut adds = BTreeSet::new();
    let mut actives = BTreeSet::new();
    for e in store.entries(Some(Kind::Scope)).unwrap() {
        let n: u64 = e.key.strip_prefix("crash:s:").unwrap().parse().unwrap();
        assert_eq!(
            e,
            Entry {
                state: e.state,
                ..entry(n)
            },
            "scope {n} was stored garbled"
        );
        adds.insert(n);
        match e.state {
            State::Draft => {}
            State::Active => {
                actives.insert(n);
            }
            other => panic!("scope {n} is {other}, which no writer asked for"),
        }
    }
    let mut packets = BTreeSet::new();
    for p in store.packets().unwrap() {
        let n: u64 = p.packet_id.strip_prefix("crash-").unwrap().parse().unwrap();
        assert_eq!(p.version, 1);
        let stored = store.packet(&p.packet_id, None).unwrap();
        assert_eq!(
            stored.text,
            PACKET.replace(PACKET_ID, &packet_id(n)),
            "packet {n} was stored garbled"
        );
        packets.insert(n);
    }
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    let v = store.audit_verify().unwrap();
    assert!(v.ok, "the audit chain does not verify after a crash: {:?}", v.breach);
    assert_eq!(v.records as usize, records.len());
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.seq, i as u64 + 1, "audit sequence has a gap or duplicate");
    }
    Found {
        adds,
        actives,
        packets,
        audit: records.len(),
    }
}

#[test]
fn sigkill_mid_write_loses_no_committed_write() {
    let dir = TempDir::new("store-crash");
    let db = dir.db();
    let started = Instant::now();
    let mut audit_before = 0usize;
    let mut total_seen = 0usize;
    let mut uncounted_tails = 0usize;
    let mut hot_starts = 0u64;
    let mut inspections = 0u64;
    // What the writers killed since the last inspection reported.
    let mut seen = Seen::default();
    let mut kills_since = 0usize;
    for i in 0..KILLS {
        let mut rng = Rng::new(i + 1);
        let wal = db.with_extension("db-wal");
        hot_starts += u64::from(std::fs::metadata(&wal).is_ok_and(|m| m.len() > 0));
        // Every tenth kill is timed from the spawn, so some land while the writer is
        // still opening (and, the first time, creating) the store; the rest are timed
        // from its `ready`, so they land among the writes.
        kill_after(
            rerun("crash_child").env(CHILD_ENV, &db),
            !i.is_multiple_of(10),
            Duration::from_millis(rng.below(51)),
            |line| seen.take(line),
            "the writer",
        );
        kills_since += 1;
        // Inspect after every other kill (and the last): in between, the next writer
        // opens the store with the killed one's hot WAL and has to recover it itself.
        if i.is_multiple_of(2) && i + 1 < KILLS {
            continue;
        }
        inspections += 1;

        let found = inspect(&db);
        for n in &seen.adds {
            assert!(found.adds.contains(n), "kill {i}: committed scope {n} is gone");
        }
        for n in &seen.actives {
            assert!(
                found.actives.contains(n),
                "kill {i}: scope {n} was committed active but is not"
            );
        }
        for n in &seen.packets {
            assert!(found.packets.contains(n), "kill {i}: committed packet {n} is gone");
        }
        // Writes are sequential and each is one transaction, so what landed is a prefix:
        // scopes 0..next' with none missing.
        let max = found.adds.last().copied();
        assert_eq!(
            found.adds.len() as u64,
            max.map_or(0, |m| m + 1),
            "kill {i}: a scope is missing"
        );
        assert!(found.actives.iter().all(|n| n.is_multiple_of(2)));
        assert!(
            found
                .packets
                .iter()
                .all(|n| n.is_multiple_of(5) && found.adds.contains(n))
        );
        // Every mutation landed with its audit record or not at all.
        assert_eq!(
            found.audit,
            found.adds.len() + found.actives.len() + found.packets.len(),
            "kill {i}: audit records and mutations disagree"
        );
        // Nothing committed was lost and nothing uncommitted appeared: the store holds
        // what the writers reported, plus at most one write per killed writer that
        // committed before its report could be printed.
        let landed = found.audit - audit_before;
        assert!(
            (seen.mutations()..=seen.mutations() + kills_since).contains(&landed),
            "kill {i}: the writers reported {} writes but {landed} landed",
            seen.mutations()
        );
        uncounted_tails += landed - seen.mutations();
        total_seen += seen.mutations();
        audit_before = found.audit;
        seen = Seen::default();
        kills_since = 0;
    }
    integrity_check(&db);
    assert!(total_seen > 0, "no write was ever reported");
    assert!(hot_starts > 0, "no writer ever had to recover a killed writer's WAL");
    eprintln!(
        "{KILLS} kills, {inspections} inspections in {:.1?}: {audit_before} writes landed ({total_seen} reported, \
         {uncounted_tails} committed but killed before reporting); {hot_starts} writers started on a hot WAL",
        started.elapsed()
    );
}
