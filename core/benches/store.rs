//! Benchmarks of the SQLite store (SPEC §5: audit `verify` of 1,000,000 records in
//! seconds):
//!
//! - `store/append`: audited writes, one `add_entry` (its own transaction, with its
//!   audit record) per iteration, into a store file (WAL, `synchronous = FULL`: every
//!   commit is fsynced, so this is the disk's commit rate) and into `:memory:` (the
//!   CPU cost); reported as records per second.
//! - `audit/verify_1m`: `audit::verify_records` over 1,000,000 records in memory (and,
//!   as its floor, recomputing the 1,000,000 hashes alone);
//!   `Store::audit_verify` over a store file holding 1,000,000 audit rows (reading and
//!   decoding every row, then walking the chain); `audit::verify_export` over the
//!   1,000,000-line JSON Lines export.
//! - `registry/import_10k`: `import_registry` of a generated 10,000-entry registry
//!   document into a fresh in-memory store (one transaction, 10,000 audit records), and
//!   the parse alone for comparison.
//!
//! Run with `cargo bench -p gangway --bench store` (add `-- --quick` for a short
//! run). The 1M benchmarks build their log first (a few seconds, and about 1 GB of
//! memory and 0.5 GB of disk under the target directory, removed afterwards).

// A benchmark's setup failing is a broken benchmark: unwrap/expect/index freely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
use common::{REGISTRY_SIZE, STATES, TempDir};

use std::cell::OnceCell;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use gangway::audit::{self, Origin, Record};
use gangway::{Entry, Kind, Registry, State, Store};
use serde_json::{Value as Json, json};

/// Records in the big log.
const BIG_LOG: u64 = 1_000_000;

fn origin(n: u64) -> Origin {
    Origin {
        actor: "bench".into(),
        at: jiff::Timestamp::from_second(1_790_000_000 + i64::try_from(n % 1_000_000_000).unwrap()).unwrap(),
        request_id: Some(format!("req-{n}")),
    }
}

fn scope(n: u64) -> Entry {
    Entry {
        kind: Kind::Scope,
        key: format!("bench:scope:{n}"),
        version: None,
        state: State::Draft,
        owner: "platform-iam".into(),
        product: Some("token-factory".into()),
        description: Some(format!("benchmark scope number {n}")),
        sunset: None,
    }
}

fn append(c: &mut Criterion) {
    let mut group = c.benchmark_group("store/append");
    group.throughput(Throughput::Elements(1));
    let dir = TempDir::new("bench-store-append");
    let mut file = Store::open(dir.0.join("append.db")).unwrap();
    let mut n = 0u64;
    group.bench_function("file_add_entry", |b| {
        b.iter(|| {
            n += 1;
            file.add_entry(&origin(n), &scope(n)).unwrap();
        })
    });
    let mut memory = Store::open_in_memory().unwrap();
    let mut n = 0u64;
    group.bench_function("memory_add_entry", |b| {
        b.iter(|| {
            n += 1;
            memory.add_entry(&origin(n), &scope(n)).unwrap();
        })
    });
    group.finish();
    // Each add is one audit record; the log must still verify.
    assert!(file.audit_verify().unwrap().ok);
    assert!(memory.audit_verify().unwrap().ok);
}

/// The JSON of an added scope, like the store writes into an `add` record.
fn entry_json(n: u64) -> Json {
    json!({
        "kind": "scope",
        "key": format!("bench:scope:{n}"),
        "version": null,
        "state": "draft",
        "owner": "platform-iam",
        "product": "token-factory",
        "description": format!("benchmark scope number {n}"),
        "sunset": null,
    })
}

/// A valid log of `count` records shaped like the store's own.
fn big_log(count: u64) -> Vec<Record> {
    let mut out: Vec<Record> = Vec::with_capacity(usize::try_from(count).unwrap());
    let mut prev = audit::GENESIS.to_owned();
    for seq in 1..=count {
        let rec = Record::new(
            seq,
            &origin(seq),
            "registry.entry.add",
            &format!("scope:bench:scope:{seq}"),
            None,
            Some(entry_json(seq)),
            &prev,
        );
        prev.clone_from(&rec.hash);
        out.push(rec);
    }
    out
}

/// A store file whose audit table holds `records`, inserted as the store inserts them.
fn store_with_log(path: &Path, records: &[Record]) {
    drop(Store::open(path).unwrap());
    let mut conn = rusqlite::Connection::open(path).unwrap();
    let tx = conn.transaction().unwrap();
    {
        let mut stmt = tx
            .prepare(
                "INSERT INTO audit (seq, at, actor, action, target, before, after, request_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            )
            .unwrap();
        for r in records {
            stmt.execute(rusqlite::params![
                i64::try_from(r.seq).unwrap(),
                r.at.to_string(),
                r.actor,
                r.action,
                r.target,
                r.before.as_ref().map(Json::to_string),
                r.after.as_ref().map(Json::to_string),
                r.request_id,
                r.prev_hash,
                r.hash
            ])
            .unwrap();
        }
    }
    tx.commit().unwrap();
}

fn verify(c: &mut Criterion) {
    // Built on first use, so a filtered run (`-- import`) skips the setup.
    let records: OnceCell<Vec<Record>> = OnceCell::new();
    let records = || {
        records.get_or_init(|| {
            let t = Instant::now();
            let log = big_log(BIG_LOG);
            eprintln!("built a {BIG_LOG}-record log in {:.1?}", t.elapsed());
            log
        })
    };
    let dir = TempDir::new("bench-store-verify");
    let db = dir.0.join("verify.db");
    let store: OnceCell<Store> = OnceCell::new();
    let store = || {
        store.get_or_init(|| {
            let t = Instant::now();
            store_with_log(&db, records());
            eprintln!("wrote {BIG_LOG} audit rows to a store file in {:.1?}", t.elapsed());
            Store::open(&db).unwrap()
        })
    };
    let export: OnceCell<String> = OnceCell::new();
    let export = || {
        export.get_or_init(|| {
            let mut out = Vec::new();
            assert_eq!(store().audit_export(&mut out).unwrap(), BIG_LOG);
            String::from_utf8(out).unwrap()
        })
    };

    let mut group = c.benchmark_group("audit/verify_1m");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(BIG_LOG));
    // `verify_records` takes the records by value: each iteration gets a fresh copy
    // (made outside the timing); dropping it is inside.
    group.bench_function("verify_records", |b| {
        let records = records();
        b.iter_batched(
            || records.clone(),
            |recs| {
                let v = audit::verify_records(recs);
                assert!(v.ok && v.records == BIG_LOG);
                v
            },
            BatchSize::PerIteration,
        )
    });
    // The floor: recomputing every record's hash, by reference, nothing else.
    group.bench_function("hash_only", |b| {
        let records = records();
        b.iter(|| {
            let bad = records.iter().filter(|r| r.compute_hash() != r.hash).count();
            assert_eq!(bad, 0);
        })
    });
    group.bench_function("store_audit_verify", |b| {
        let store = store();
        b.iter(|| {
            let v = store.audit_verify().unwrap();
            assert!(v.ok && v.records == BIG_LOG);
            v
        })
    });
    group.bench_function("verify_export", |b| {
        let export = export();
        b.iter(|| {
            let v = audit::verify_export(black_box(export), None, None);
            assert!(v.ok && v.records == BIG_LOG);
            v
        })
    });
    group.finish();
}

/// A registry document with `size` entries spread round-robin over the fourteen kinds
/// and the four states; usage units get a version.
fn registry_doc(size: usize) -> String {
    let mut by_kind: Vec<Vec<String>> = vec![Vec::new(); Kind::ALL.len()];
    for i in 0..size {
        let k = i % Kind::ALL.len();
        let kind = Kind::ALL[k];
        let state = STATES[i % STATES.len()];
        let mut row = format!("    - key: bench-{}-{i}\n", kind.as_str());
        if kind == Kind::UsageUnit {
            row.push_str(&format!("      version: v{}\n", 1 + i % 3));
        }
        row.push_str(&format!("      state: {state}\n      owner: platform-team-{}\n", i % 7));
        if i.is_multiple_of(2) {
            row.push_str("      product: token-factory\n");
        }
        row.push_str(&format!("      description: generated entry number {i}\n"));
        if state == State::Deprecated {
            row.push_str("      sunset: 2027-06-30\n");
        }
        by_kind[k].push(row);
    }
    let mut out = String::from("registry:\n");
    for (kind, rows) in Kind::ALL.iter().zip(by_kind) {
        out.push_str(&format!("  {}:\n", kind.plural()));
        out.extend(rows);
    }
    out
}

fn import(c: &mut Criterion) {
    let doc = registry_doc(REGISTRY_SIZE);
    assert_eq!(Registry::from_yaml(&doc).unwrap().len(), REGISTRY_SIZE);
    let mut group = c.benchmark_group("registry/import_10k");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(REGISTRY_SIZE as u64));
    let o = origin(0);
    group.bench_function("import_registry", |b| {
        b.iter_batched(
            || Store::open_in_memory().unwrap(),
            |mut store| {
                let sum = store.import_registry(&o, black_box(&doc)).unwrap();
                assert_eq!(sum.added, REGISTRY_SIZE);
                store
            },
            BatchSize::PerIteration,
        )
    });
    group.bench_function("parse_only", |b| {
        b.iter(|| Registry::from_yaml(black_box(&doc)).unwrap())
    });
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
}

criterion_group! {
    name = benches;
    config = config();
    targets = append, verify, import
}
criterion_main!(benches);
