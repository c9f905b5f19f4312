//! Benchmarks of billing in the SQLite store (issue 5, item 10; the target is at least
//! 100,000 usage events per second when batched):
//!
//! - `billing/ingest_usage`: `Store::ingest_usage` of batches of 1,000 and 10,000 new
//!   events into a store file (WAL, `synchronous = FULL`: one fsync per batch), the
//!   ledger growing as it runs; and a batch of 10,000 events that are all duplicates
//!   (a retried batch). Reported as events per second.
//! - `billing/ingest_jsonl`: `Store::ingest_jsonl` of 10,000 JSON Lines (parsing
//!   included) in batches of 1,000 and 10,000.
//! - `billing/ingest_floor`: where ingest time goes, in memory (no disk): raw rusqlite
//!   on a copy of the ledger table, each variant adding or removing one per-row step
//!   (the duplicate lookup, the text conversions, `INSERT OR IGNORE` instead of the
//!   lookup, multi-row inserts), and `ingest_usage` on an in-memory store the same way.
//! - `billing/generate_1m`: `Store::generate_invoice` over a ledger of 1,000,000 rows
//!   of one tenant (built once through `ingest_usage` in batches of 100,000; each
//!   iteration's invoice is cancelled, untimed, before the next so the period is free
//!   again); `Store::ledger` over the same rows; and raw-SQL floors: the rows
//!   `read_ledger` selects with and without its `ORDER BY seq`, and the period summed
//!   per unit, version and day in SQL.
//!
//! Run with `cargo bench -p gangway --bench billing` (add `-- --quick` for a short
//! run). The 1M ledger takes a few seconds to build and about 250 MB under the target
//! directory, removed afterwards.

// A benchmark's setup failing is a broken benchmark: unwrap/expect/index freely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
use common::TempDir;
use common::billing::{events, jsonl, origin, setup};

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{BatchSize, BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group, criterion_main};
use gangway::billing::usage::UsageRecord;
use gangway::{Date, Store};

/// Rows in the big ledger.
const BIG_LEDGER: u64 = 1_000_000;
/// Events per `ingest_jsonl` iteration.
const JSONL_EVENTS: u64 = 10_000;

fn billing_store(path: &Path) -> Store {
    let mut store = Store::open(path).unwrap();
    setup(&mut store).expect("billing setup");
    store
}

fn ingest_usage(c: &mut Criterion) {
    let dir = TempDir::new("bench-billing-ingest");
    let mut store = billing_store(&dir.0.join("ingest.db"));
    let snapshot = store.snapshot().unwrap();
    let o = origin("bench");
    let mut group = c.benchmark_group("billing/ingest_usage");
    group
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    let mut next = 0u64;
    for batch in [1_000u64, 10_000] {
        group.sample_size(if batch >= 10_000 { 20 } else { 50 });
        group.throughput(Throughput::Elements(batch));
        group.bench_with_input(BenchmarkId::new("file_new", batch), &batch, |b, &batch| {
            b.iter_batched(
                || {
                    next += batch;
                    events("tenant-acme", next - batch, batch)
                },
                |records| {
                    let sum = store.ingest_usage(&o, &records, &snapshot).unwrap();
                    assert_eq!(sum.accepted as u64, batch, "{:?}", sum.rejected.first());
                    records
                },
                BatchSize::PerIteration,
            )
        });
    }
    // A retried batch: every key is already in the ledger.
    let again: Vec<UsageRecord> = events("tenant-acme", 0, 10_000);
    group.throughput(Throughput::Elements(10_000));
    group.sample_size(20);
    group.bench_function("file_duplicates/10000", |b| {
        b.iter(|| {
            let sum = store.ingest_usage(&o, black_box(&again), &snapshot).unwrap();
            assert_eq!(sum.duplicates, 10_000);
        })
    });
    group.finish();
    if next > 0 {
        eprintln!("ingest_usage: the ledger ended with {next} rows");
    }
    assert!(store.audit_verify().unwrap().ok);
}

fn ingest_jsonl(c: &mut Criterion) {
    let dir = TempDir::new("bench-billing-jsonl");
    let mut store = billing_store(&dir.0.join("jsonl.db"));
    let snapshot = store.snapshot().unwrap();
    let o = origin("bench");
    let mut group = c.benchmark_group("billing/ingest_jsonl");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5))
        .throughput(Throughput::Elements(JSONL_EVENTS));
    let mut next = 0u64;
    for batch in [1_000usize, 10_000] {
        group.bench_with_input(BenchmarkId::new("file_new", batch), &batch, |b, &batch| {
            b.iter_batched(
                || {
                    next += JSONL_EVENTS;
                    jsonl("tenant-acme", next - JSONL_EVENTS, JSONL_EVENTS)
                },
                |text| {
                    let sum = store
                        .ingest_jsonl(&o, text.as_bytes(), &snapshot, batch, |_| {})
                        .unwrap();
                    assert_eq!(sum.accepted as u64, JSONL_EVENTS);
                    text
                },
                BatchSize::PerIteration,
            )
        });
    }
    group.finish();
}

/// The ledger table and its indexes as the store creates them (schema version 2).
const LEDGER_DDL: &str = "CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        product TEXT NOT NULL,
        unit TEXT NOT NULL,
        version TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        resource_type TEXT NOT NULL,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX ledger_tenant_day ON ledger (tenant, day);";

const INSERT: &str = "INSERT INTO ledger (tenant, product, unit, version, quantity, resource_type, at, day, idempotency_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)";

/// A ledger row as the store writes it (the same text conversions).
struct Row {
    tenant: String,
    product: String,
    unit: String,
    version: String,
    quantity: i64,
    resource_type: String,
    at: String,
    day: String,
    key: String,
}

fn row(e: &UsageRecord) -> Row {
    Row {
        tenant: e.tenant.clone(),
        product: e.product.clone(),
        unit: e.unit.clone(),
        version: e.version.to_string(),
        quantity: i64::try_from(e.quantity).unwrap(),
        resource_type: e.resource_type.clone(),
        at: e.at.to_string(),
        day: e.at.to_zoned(jiff::tz::TimeZone::UTC).date().to_string(),
        key: e.idempotency_key.clone(),
    }
}

/// Inserts `r`; the number of rows written (0 for an ignored duplicate).
fn insert_row(stmt: &mut rusqlite::CachedStatement<'_>, r: &Row) -> usize {
    stmt.execute(rusqlite::params![
        r.tenant,
        r.product,
        r.unit,
        r.version,
        r.quantity,
        r.resource_type,
        r.at,
        r.day,
        r.key
    ])
    .unwrap()
}

/// How a floor variant writes a row.
#[derive(Clone, Copy)]
struct Floor {
    name: &'static str,
    /// Look the key up first, as `ingest_batch` does (`SELECT 1 … WHERE idempotency_key = ?`).
    lookup: bool,
    /// Convert version, timestamp and day to text per row (else prebuilt rows).
    convert: bool,
    /// `INSERT OR IGNORE`, a duplicate being a row that changed nothing.
    or_ignore: bool,
}

const FLOORS: [Floor; 4] = [
    Floor {
        name: "insert",
        lookup: false,
        convert: false,
        or_ignore: false,
    },
    Floor {
        name: "insert_text",
        lookup: false,
        convert: true,
        or_ignore: false,
    },
    // What `ingest_batch` does in SQL.
    Floor {
        name: "lookup_insert_text",
        lookup: true,
        convert: true,
        or_ignore: false,
    },
    // The duplicate check folded into the insert (the unique index checks it anyway).
    Floor {
        name: "insert_or_ignore_text",
        lookup: false,
        convert: true,
        or_ignore: true,
    },
];

/// Where ingest time goes, without the disk (in-memory databases, so fsync and the
/// page cache do not blur the comparison): raw rusqlite on a copy of the ledger table,
/// 10,000 rows per transaction, each variant adding or removing one per-row step; one
/// multi-row `INSERT OR IGNORE` per 100 rows; and `Store::ingest_usage` itself on an
/// in-memory store the same way. The tables grow as they run.
fn ingest_floor(c: &mut Criterion) {
    const BATCH: u64 = 10_000;
    let mut group = c.benchmark_group("billing/ingest_floor");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(20)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(4))
        .throughput(Throughput::Elements(BATCH));
    let open = || {
        let conn = rusqlite::Connection::open_in_memory().unwrap();
        conn.execute_batch(LEDGER_DDL).unwrap();
        conn
    };
    for floor in FLOORS {
        let mut conn = open();
        let mut next = 0u64;
        group.bench_function(floor.name, |b| {
            b.iter_batched(
                || {
                    next += BATCH;
                    let records = events("tenant-acme", next - BATCH, BATCH);
                    let rows: Vec<Row> = records.iter().map(row).collect();
                    (records, rows)
                },
                |(records, rows)| {
                    let tx = conn.transaction().unwrap();
                    let mut written = 0usize;
                    {
                        let mut exists = tx
                            .prepare_cached("SELECT 1 FROM ledger WHERE idempotency_key = ?1")
                            .unwrap();
                        let sql = if floor.or_ignore {
                            INSERT.replacen("INSERT", "INSERT OR IGNORE", 1)
                        } else {
                            INSERT.to_owned()
                        };
                        let mut insert = tx.prepare_cached(&sql).unwrap();
                        for (e, r) in records.iter().zip(&rows) {
                            if floor.lookup && exists.exists([&e.idempotency_key]).unwrap() {
                                continue;
                            }
                            written += if floor.convert {
                                insert_row(&mut insert, &row(e))
                            } else {
                                insert_row(&mut insert, r)
                            };
                        }
                    }
                    tx.commit().unwrap();
                    assert_eq!(written as u64, BATCH);
                    (records, rows)
                },
                BatchSize::PerIteration,
            )
        });
    }
    let mut conn = open();
    let mut next = 0u64;
    let sql = format!(
        "INSERT OR IGNORE INTO ledger (tenant, product, unit, version, quantity, resource_type, at, day, idempotency_key) VALUES {}",
        vec!["(?, ?, ?, ?, ?, ?, ?, ?, ?)"; 100].join(", ")
    );
    group.bench_function("insert_or_ignore_100_rows_per_statement", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                let records = events("tenant-acme", next - BATCH, BATCH);
                records.iter().map(row).collect::<Vec<Row>>()
            },
            |rows| {
                let tx = conn.transaction().unwrap();
                {
                    let mut insert = tx.prepare_cached(&sql).unwrap();
                    for chunk in rows.chunks(100) {
                        let params: Vec<&dyn rusqlite::ToSql> = chunk
                            .iter()
                            .flat_map(|r| -> [&dyn rusqlite::ToSql; 9] {
                                [
                                    &r.tenant,
                                    &r.product,
                                    &r.unit,
                                    &r.version,
                                    &r.quantity,
                                    &r.resource_type,
                                    &r.at,
                                    &r.day,
                                    &r.key,
                                ]
                            })
                            .collect();
                        let n = insert.execute(params.as_slice()).unwrap();
                        assert_eq!(n, chunk.len());
                    }
                }
                tx.commit().unwrap();
                rows
            },
            BatchSize::PerIteration,
        )
    });
    let mut store = Store::open_in_memory().unwrap();
    setup(&mut store).expect("billing setup");
    let snapshot = store.snapshot().unwrap();
    let o = origin("bench");
    let mut next = 0u64;
    group.bench_function("store_ingest_usage", |b| {
        b.iter_batched(
            || {
                next += BATCH;
                events("tenant-acme", next - BATCH, BATCH)
            },
            |records| {
                let sum = store.ingest_usage(&o, &records, &snapshot).unwrap();
                assert_eq!(sum.accepted as u64, BATCH);
                records
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

/// A store file with `BIG_LEDGER` ledger rows of `tenant-big` in November 2026.
fn big_ledger(path: &Path) -> Store {
    let mut store = billing_store(path);
    let snapshot = store.snapshot().unwrap();
    let o = origin("bench");
    let t = Instant::now();
    let chunk = 100_000u64;
    for from in (0..BIG_LEDGER).step_by(chunk as usize) {
        let sum = store
            .ingest_usage(&o, &events("tenant-big", from, chunk), &snapshot)
            .unwrap();
        assert_eq!(sum.accepted as u64, chunk);
    }
    eprintln!(
        "built a {BIG_LEDGER}-row ledger for one tenant in {:.1?} (ingest_usage, batches of {chunk})",
        t.elapsed()
    );
    store
}

fn generate(c: &mut Criterion) {
    let dir = TempDir::new("bench-billing-generate");
    let db = dir.0.join("generate.db");
    // Built on first use, so a filtered run (`-- ingest`) skips the setup.
    let mut store: Option<Store> = None;
    let o = origin("bench");
    let (start, end) = (Date::constant(2026, 11, 1), Date::constant(2026, 12, 1));
    let mut group = c.benchmark_group("billing/generate_1m");
    group
        .sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_millis(100))
        .measurement_time(Duration::from_secs(15))
        .throughput(Throughput::Elements(BIG_LEDGER));
    let mut n = 0u64;
    let mut last: Option<String> = None;
    group.bench_function("generate_invoice", |b| {
        let store = store.get_or_insert_with(|| big_ledger(&db));
        b.iter_custom(|iters| {
            let mut timed = Duration::ZERO;
            for _ in 0..iters {
                // Free the period: cancel the last iteration's invoice (untimed).
                if let Some(id) = last.take() {
                    store
                        .cancel_invoice(&o, &format!("cancel-{id}"), &id, "benchmark")
                        .unwrap();
                }
                n += 1;
                let key = format!("gen-{n}");
                let t = Instant::now();
                let inv = store
                    .generate_invoice(&o, &key, "tenant-big", None, start, end)
                    .unwrap();
                timed += t.elapsed();
                assert_eq!(inv.lines().len(), 3);
                assert!(inv.lines().iter().map(|l| l.quantity).sum::<u64>() > 0);
                last = Some(inv.id().to_owned());
            }
            timed
        })
    });
    // The read alone: the ledger rows of the period as `LedgerEvent`s.
    group.bench_function("ledger_read", |b| {
        let store = store.get_or_insert_with(|| big_ledger(&db));
        b.iter(|| {
            let events = store.ledger("tenant-big", start, end).unwrap();
            assert_eq!(events.len() as u64, BIG_LEDGER);
            events
        })
    });
    // Floors under `generate_invoice`, raw SQL on the same file: the rows
    // `read_ledger` selects, as owned text, with its `ORDER BY seq` (a temporary
    // B-tree sort of the whole period) and without; and the period aggregated in SQL
    // (a sum per unit, version and day, which is all rating needs: the ledger's keys
    // are unique already).
    const SELECT: &str = "SELECT tenant, unit, version, quantity, at, idempotency_key FROM ledger WHERE tenant = ?1 AND day >= ?2 AND day < ?3";
    let period = (start.to_string(), end.to_string());
    for (name, sql) in [
        ("floor_select_ordered", format!("{SELECT} ORDER BY seq")),
        ("floor_select_unordered", SELECT.to_owned()),
    ] {
        group.bench_function(name, |b| {
            store.get_or_insert_with(|| big_ledger(&db));
            let conn = rusqlite::Connection::open(&db).unwrap();
            b.iter(|| {
                let mut stmt = conn.prepare_cached(&sql).unwrap();
                let mut rows = stmt.query(rusqlite::params!["tenant-big", period.0, period.1]).unwrap();
                let mut out: Vec<(String, String, String, i64, String, String)> = Vec::new();
                while let Some(r) = rows.next().unwrap() {
                    out.push((
                        r.get(0).unwrap(),
                        r.get(1).unwrap(),
                        r.get(2).unwrap(),
                        r.get(3).unwrap(),
                        r.get(4).unwrap(),
                        r.get(5).unwrap(),
                    ));
                }
                assert_eq!(out.len() as u64, BIG_LEDGER);
                out
            })
        });
    }
    group.bench_function("floor_sql_group_by_day", |b| {
        store.get_or_insert_with(|| big_ledger(&db));
        let conn = rusqlite::Connection::open(&db).unwrap();
        b.iter(|| sum_by_day(&conn, &period))
    });
    // The same sum with a covering index (tenant, day, unit, version, quantity): an
    // index-only scan. Last, as it adds the index to this benchmark's file.
    group.bench_function("floor_sql_group_by_day_covering_index", |b| {
        store.get_or_insert_with(|| big_ledger(&db));
        let conn = rusqlite::Connection::open(&db).unwrap();
        conn.execute_batch("CREATE INDEX IF NOT EXISTS ledger_cover ON ledger (tenant, day, unit, version, quantity)")
            .unwrap();
        b.iter(|| sum_by_day(&conn, &period))
    });
    group.finish();
}

/// `tenant-big`'s ledger rows in `period` summed per unit, version and day in SQL:
/// `(unit, version, day, sum, rows)` per group, which must cover the whole big ledger.
fn sum_by_day(conn: &rusqlite::Connection, period: &(String, String)) -> Vec<(String, String, String, i64, i64)> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT unit, version, day, SUM(quantity), COUNT(*) FROM ledger WHERE tenant = ?1 AND day >= ?2 AND day < ?3 GROUP BY unit, version, day",
        )
        .unwrap();
    let groups: Vec<(String, String, String, i64, i64)> = stmt
        .query_map(rusqlite::params!["tenant-big", period.0, period.1], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(groups.iter().map(|g| g.4).sum::<i64>() as u64, BIG_LEDGER);
    groups
}

fn config() -> Criterion {
    Criterion::default()
}

criterion_group! {
    name = benches;
    config = config();
    targets = ingest_usage, ingest_jsonl, ingest_floor, generate
}
criterion_main!(benches);
