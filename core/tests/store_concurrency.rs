//! Concurrency test: three processes open one fresh store file at the same time (so
//! they race to create and migrate it), then write to it together: each its own
//! scopes and packets, and all of them racing for the same shared scopes. Afterwards
//! every write is there exactly once, every contested write was won exactly once, the
//! audit sequence has no gap or duplicate and the chain verifies.
//!
//! The writers are this test executable itself, re-run with `--exact concurrent_child`
//! and `GANGWAY_CONC_CHILD=<db path>`: `concurrent_child` does nothing in a normal run.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
#![cfg(unix)]

mod common;
use common::child::{Running, ready_go, rerun, say, start_together};
use common::{TempDir, integrity_check};

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gangway::audit::Origin;
use gangway::store::{AuditFilter, EntryRef};
use gangway::{Entry, Format, Kind, State, Store};

const CHILD_ENV: &str = "GANGWAY_CONC_CHILD";
const OPEN_ENV: &str = "GANGWAY_CONC_OPEN";
const ID_ENV: &str = "GANGWAY_CONC_ID";
/// Processes racing to open each new file, and how many new files.
const OPENERS: u64 = 4;
const OPEN_ROUNDS: u64 = 25;
/// Writer processes.
const WRITERS: u64 = 3;
/// Own scopes per writer.
const PER_WRITER: u64 = 120;
/// Scopes every writer tries to add and activate.
const SHARED: u64 = 40;
const PACKET: &str = include_str!("../../examples/token-factory/packet.yaml");
const PACKET_ID: &str = "token-factory-onboarding-v1";

fn own_key(w: u64, n: u64) -> String {
    format!("conc:{w}:{n}")
}

fn shared_key(n: u64) -> String {
    format!("shared:{n}")
}

fn packet_id(w: u64, n: u64) -> String {
    format!("conc-{w}-{n}")
}

fn origin(w: u64, n: u64) -> Origin {
    Origin {
        actor: format!("writer-{w}"),
        at: jiff::Timestamp::from_second(1_790_000_000 + i64::try_from(n).unwrap()).unwrap(),
        request_id: Some(format!("w{w}-n{n}")),
    }
}

fn scope(key: String) -> Entry {
    Entry {
        kind: Kind::Scope,
        key,
        version: None,
        state: State::Draft,
        owner: "platform-iam".into(),
        product: None,
        description: None,
        sunset: None,
    }
}

/// One writer. In a normal test run (no `GANGWAY_CONC_CHILD`) it does nothing.
///
/// Opens the store, says `ready`, waits for `go` on stdin, then for each `n`: adds its
/// own scope `conc:{w}:{n}` (and activates it when `n % 3 == 0`, and stores packet
/// `conc-{w}-{n}` when `n % 10 == 0`); for `n < SHARED` also tries to add and then to
/// activate `shared:{n}`, reporting `won`/`lost` for each. Any other error fails it.
/// In the second half it pauses 1 ms between iterations.
#[test]
fn concurrent_child() {
    let Ok(db) = std::env::var(CHILD_ENV) else { return };
    let w: u64 = std::env::var(ID_ENV).unwrap().parse().unwrap();
    let mut store = Store::open(&db).unwrap();
    let mut out = std::io::stdout().lock();
    ready_go(&mut out);
    for n in 0..PER_WRITER {
        let o = origin(w, n);
        store.add_entry(&o, &scope(own_key(w, n))).unwrap();
        if n.is_multiple_of(3) {
            let r = EntryRef::new(Kind::Scope, own_key(w, n));
            store.set_state(&o, &r, State::Active, None).unwrap();
        }
        if n.is_multiple_of(10) {
            let text = PACKET.replace(PACKET_ID, &packet_id(w, n));
            assert!(store.put_packet(&o, &text, Format::Yaml).unwrap().created);
        }
        if n < SHARED {
            match store.add_entry(&o, &scope(shared_key(n))) {
                Ok(()) => say(&mut out, &format!("won add {n}")),
                Err(e) if e.code() == "registry.exists" => say(&mut out, &format!("lost add {n}")),
                Err(e) => panic!("shared add {n}: {e}"),
            }
            let r = EntryRef::new(Kind::Scope, shared_key(n));
            match store.set_state(&o, &r, State::Active, None) {
                Ok(_) => say(&mut out, &format!("won active {n}")),
                Err(e) if e.code() == "registry.illegal_transition" => say(&mut out, &format!("lost active {n}")),
                Err(e) => panic!("shared set_state {n}: {e}"),
            }
        }
        // The first half runs flat out (most contention); SQLite's busy handler sleeps,
        // so a flat-out writer can hold the lock for long runs. The second half pauses
        // between writes, like request-driven writers, so the log interleaves.
        if n >= PER_WRITER / 2 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    say(&mut out, "done");
}

fn spawn_writer(db: &Path, w: u64) -> Running {
    Running::spawn(
        rerun("concurrent_child").env(CHILD_ENV, db).env(ID_ENV, w.to_string()),
        true,
    )
}

#[test]
fn concurrent_writers_neither_corrupt_nor_lose_writes() {
    let dir = TempDir::new("store-concurrency");
    let db = dir.db();
    let started = Instant::now();
    // All writers open the fresh file at once.
    let mut writers: Vec<Running> = (0..WRITERS).map(|w| spawn_writer(&db, w)).collect();
    start_together(&mut writers);
    // (add winner, activate winner) per shared scope.
    let mut add_wins: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut active_wins: BTreeMap<u64, Vec<u64>> = BTreeMap::new();
    let mut reports = 0u64;
    for (w, writer) in writers.into_iter().enumerate() {
        let w = w as u64;
        let ended = writer.finish(&format!("writer {w}"));
        let errors = &ended.stderr;
        assert!(
            ended.lines.iter().any(|l| l == "done"),
            "writer {w} did not finish: {errors}"
        );
        for line in ended.lines {
            let words: Vec<&str> = line.split_whitespace().collect();
            if let [won_lost @ ("won" | "lost"), what @ ("add" | "active"), n] = words.as_slice() {
                reports += 1;
                let n: u64 = n.parse().unwrap();
                let map = if *what == "add" {
                    &mut add_wins
                } else {
                    &mut active_wins
                };
                let winners = map.entry(n).or_default();
                if *won_lost == "won" {
                    winners.push(w);
                }
            }
        }
    }
    assert_eq!(reports, WRITERS * SHARED * 2);
    for n in 0..SHARED {
        assert_eq!(
            add_wins.get(&n).map_or(0, Vec::len),
            1,
            "shared:{n} was added {add_wins:?}"
        );
        assert_eq!(
            active_wins.get(&n).map_or(0, Vec::len),
            1,
            "shared:{n} was activated {active_wins:?}"
        );
    }

    let store = Store::open(&db).unwrap();
    assert_eq!(store.schema_version().unwrap(), gangway::store::SCHEMA_VERSION);
    // Every own write is there, in the state it was left in.
    let scopes: BTreeMap<String, Entry> = store
        .entries(Some(Kind::Scope))
        .unwrap()
        .into_iter()
        .map(|e| (e.key.clone(), e))
        .collect();
    assert_eq!(scopes.len() as u64, WRITERS * PER_WRITER + SHARED);
    let mut expected_records = SHARED * 2;
    for w in 0..WRITERS {
        for n in 0..PER_WRITER {
            let e = scopes
                .get(&own_key(w, n))
                .unwrap_or_else(|| panic!("conc:{w}:{n} is lost"));
            let want = if n.is_multiple_of(3) {
                State::Active
            } else {
                State::Draft
            };
            assert_eq!(e.state, want, "conc:{w}:{n}");
            expected_records += 1 + u64::from(n.is_multiple_of(3)) + u64::from(n.is_multiple_of(10));
            if n.is_multiple_of(10) {
                let p = store.packet(&packet_id(w, n), None).unwrap();
                assert_eq!(p.info.version, 1);
                assert_eq!(p.text, PACKET.replace(PACKET_ID, &packet_id(w, n)));
            }
        }
    }
    for n in 0..SHARED {
        assert_eq!(scopes.get(&shared_key(n)).unwrap().state, State::Active);
    }
    assert_eq!(store.packets().unwrap().len() as u64, WRITERS * PER_WRITER.div_ceil(10));

    // The audit log: one record per write, seq 1..=N without gap or duplicate, each
    // writer's records in its own order, the chain intact.
    let records = store.audit_records(&AuditFilter::default()).unwrap();
    assert_eq!(records.len() as u64, expected_records);
    let seqs: Vec<u64> = records.iter().map(|r| r.seq).collect();
    assert_eq!(seqs, (1..=expected_records).collect::<Vec<_>>());
    let v = store.audit_verify().unwrap();
    assert!(v.ok, "{:?}", v.breach);
    assert_eq!(v.records, expected_records);
    let mut last_n: BTreeMap<&str, i64> = BTreeMap::new();
    let mut switches = 0;
    for pair in records.windows(2) {
        switches += usize::from(pair[0].actor != pair[1].actor);
    }
    for r in &records {
        let n = r
            .request_id
            .as_deref()
            .unwrap()
            .split("-n")
            .nth(1)
            .unwrap()
            .parse::<i64>()
            .unwrap();
        let last = last_n.entry(r.actor.as_str()).or_insert(-1);
        assert!(n >= *last, "{}'s records are out of order at seq {}", r.actor, r.seq);
        *last = n;
    }
    // Every shared scope has exactly one add and one set_state record, by its winner.
    for n in 0..SHARED {
        let target = format!("scope:{}", shared_key(n));
        let actions: BTreeSet<(String, String)> = records
            .iter()
            .filter(|r| r.target == target)
            .map(|r| (r.action.clone(), r.actor.clone()))
            .collect();
        let add_winner = format!("writer-{}", add_wins[&n][0]);
        let active_winner = format!("writer-{}", active_wins[&n][0]);
        assert_eq!(
            actions,
            BTreeSet::from([
                ("registry.entry.add".to_owned(), add_winner),
                ("registry.entry.set_state".to_owned(), active_winner)
            ])
        );
    }
    integrity_check(&db);
    // The go barrier makes the writers overlap, and the paced second half lets their
    // commits interleave rather than run one writer after another (which would give
    // WRITERS - 1 switches).
    eprintln!(
        "{WRITERS} writers, {expected_records} records, {switches} switches between writers, {:.1?}",
        started.elapsed()
    );
    // Interleaving depends on the scheduler (SQLite's busy handler sleeps, so one
    // writer can hold the lock for a whole burst on a loaded machine); the checks
    // above hold either way, so a run without interleaving is reported, not failed.
    if (switches as u64) < WRITERS {
        eprintln!("note: the writers did not interleave in this run");
    }
}

/// An opener. In a normal test run (no `GANGWAY_CONC_OPEN`) it does nothing. Opens
/// the (new) store file and adds one scope.
#[test]
fn open_child() {
    let Ok(db) = std::env::var(OPEN_ENV) else { return };
    let w: u64 = std::env::var(ID_ENV).unwrap().parse().unwrap();
    let mut store = Store::open(&db).unwrap();
    store.add_entry(&origin(w, 0), &scope(own_key(w, 0))).unwrap();
}

/// Processes that open a new file at the same moment all race to create it, switch it
/// to WAL and migrate it; every one must get a working store. (Before `Store::open`
/// retried the switch to WAL, most runs of this test failed in some round with
/// "database is locked": SQLite can answer that switch with `SQLITE_BUSY` at once,
/// without calling the busy handler.)
#[test]
fn concurrent_opens_of_a_new_file_all_succeed() {
    let dir = TempDir::new("store-open-race");
    for round in 0..OPEN_ROUNDS {
        let db = dir.0.join(format!("round-{round}.db"));
        let children: Vec<Child> = (0..OPENERS)
            .map(|w| {
                rerun("open_child")
                    .env(OPEN_ENV, &db)
                    .env(ID_ENV, w.to_string())
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        for (w, child) in children.into_iter().enumerate() {
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "round {round}: opener {w} failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let store = Store::open(&db).unwrap();
        assert_eq!(store.entries(Some(Kind::Scope)).unwrap().len() as u64, OPENERS);
        let v = store.audit_verify().unwrap();
        assert!(v.ok && v.records == OPENERS, "round {round}: {v:?}");
    }
}
