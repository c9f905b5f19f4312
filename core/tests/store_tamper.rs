//! Tamper tests: a store's audit log is edited, cut, reordered and truncated with raw
//! SQL (as someone with write access to the file could), and an exported log is
//! tampered with line by line; `verify` names the first bad record (and, in an
//! export, its line).

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
use common::TempDir;

use std::path::Path;

use gangway::audit::{self, Checkpoint, Origin, Problem, Record, Verification};
use gangway::store::{AuditFilter, EntryRef};
use gangway::{Entry, Format, Kind, State, Store};
use rusqlite::params;
use serde_json::Value as Json;

/// Records in the log under test.
const RECORDS: u64 = 20;
const PACKET: &str = include_str!("../../examples/token-factory/packet.yaml");
const PACKET_ID: &str = "token-factory-onboarding-v1";
/// A fixed Ed25519 seed (hex) for signed checkpoints.
const SEED: &str = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60";

fn origin(i: u64) -> Origin {
    Origin {
        actor: if i.is_multiple_of(2) { "alice" } else { "bob" }.into(),
        at: jiff::Timestamp::from_second(1_790_000_000 + 60 * i64::try_from(i).unwrap()).unwrap(),
        request_id: Some(format!("req-{i}")),
    }
}

fn scope(i: u64) -> Entry {
    Entry {
        kind: Kind::Scope,
        key: format!("tamper:s:{i}"),
        version: None,
        state: State::Draft,
        owner: "platform-iam".into(),
        product: None,
        description: Some(format!("scope {i}")),
        sunset: None,
    }
}

/// Writes `RECORDS` audited changes (adds, lifecycle moves and packet puts) to a new
/// store at `db`; with `checkpoint`, then takes a signed checkpoint (which writes
/// record `RECORDS + 1`).
fn build(db: &Path, checkpoint: bool) -> Option<Checkpoint> {
    let mut store = Store::open(db).unwrap();
    for i in 1..=RECORDS {
        let o = origin(i);
        match i % 5 {
            3 => {
                let r = EntryRef::new(Kind::Scope, format!("tamper:s:{}", i - 1));
                store.set_state(&o, &r, State::Active, None).unwrap();
            }
            4 => {
                let text = PACKET.replace(PACKET_ID, &format!("tamper-{i}"));
                assert!(store.put_packet(&o, &text, Format::Yaml).unwrap().created);
            }
            _ => store.add_entry(&o, &scope(i)).unwrap(),
        }
    }
    assert_eq!(records(db).len() as u64, RECORDS);
    checkpoint.then(|| store.audit_checkpoint(&origin(RECORDS + 1), Some(SEED)).unwrap())
}

fn records(db: &Path) -> Vec<Record> {
    Store::open(db).unwrap().audit_records(&AuditFilter::default()).unwrap()
}

fn verify(db: &Path) -> Verification {
    Store::open(db).unwrap().audit_verify().unwrap()
}

fn export(db: &Path) -> String {
    let mut out = Vec::new();
    Store::open(db).unwrap().audit_export(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn sql(db: &Path, statement: &str) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let changed = conn.execute(statement, []).unwrap();
    assert!(changed > 0, "`{statement}` changed nothing");
}

/// Overwrites the row with `rec.seq` with `rec`'s fields, stored the way the store
/// stores them.
fn write_row(conn: &rusqlite::Connection, rec: &Record) {
    conn.execute(
        "UPDATE audit SET at = ?2, actor = ?3, action = ?4, target = ?5, before = ?6, after = ?7, request_id = ?8, prev_hash = ?9, hash = ?10 WHERE seq = ?1",
        params![
            i64::try_from(rec.seq).unwrap(),
            rec.at.to_string(),
            rec.actor,
            rec.action,
            rec.target,
            rec.before.as_ref().map(Json::to_string),
            rec.after.as_ref().map(Json::to_string),
            rec.request_id,
            rec.prev_hash,
            rec.hash
        ],
    )
    .unwrap();
}

/// Asserts `v` fails with `problem` where record `expected` belonged, `found` standing
/// there, at `line` of an export (`None` for the store), and that the good prefix
/// before it is reported.
fn assert_breach(v: &Verification, problem: Problem, expected: u64, found: Option<u64>, line: Option<u64>) {
    assert!(!v.ok, "tampering went unnoticed: {v:?}");
    let b = v.breach.as_ref().unwrap();
    assert_eq!(
        (b.problem, b.expected_seq, b.found_seq, b.line),
        (problem, expected, found, line),
        "{}",
        b.message
    );
    if !matches!(problem, Problem::Truncated | Problem::Diverged | Problem::BadSignature) {
        assert_eq!(v.records, expected - 1, "the good records before the breach");
    }
}

// ---- raw SQL on the store file ----

#[test]
fn untouched_store_verifies() {
    let dir = TempDir::new("tamper-none");
    build(&dir.db(), false);
    let v = verify(&dir.db());
    assert!(v.ok);
    assert_eq!(v.records, RECORDS);
    assert_eq!(v.head, records(&dir.db()).last().unwrap().hash);
}

#[test]
fn sql_edit_is_named_edited_at_that_record() {
    let dir = TempDir::new("tamper-sql-edit");
    let edits: &[(u64, &str)] = &[
        (1, "actor = 'mallory'"),
        (7, "actor = 'mallory'"),
        (RECORDS, "actor = 'mallory'"),
        (7, "target = 'scope:tamper:s:99'"),
        (7, "action = 'registry.entry.update'"),
        (7, "at = '2030-01-01T00:00:00Z'"),
        (7, "request_id = NULL"),
        (7, "after = '{\"state\":\"retired\"}'"),
        (7, "prev_hash = hash"),
        (7, "hash = prev_hash"),
    ];
    for (n, (seq, set)) in edits.iter().enumerate() {
        let db = dir.0.join(format!("edit-{n}.db"));
        build(&db, false);
        sql(&db, &format!("UPDATE audit SET {set} WHERE seq = {seq}"));
        let v = verify(&db);
        assert_breach(&v, Problem::Edited, *seq, Some(*seq), None);
        // The head is the last good record's hash.
        let head = if *seq == 1 {
            audit::GENESIS.to_owned()
        } else {
            records(&db)[*seq as usize - 2].hash.clone()
        };
        assert_eq!(v.head, head, "SET {set} WHERE seq = {seq}");
    }
}

#[test]
fn sql_delete_is_named_removed_at_the_missing_record() {
    let dir = TempDir::new("tamper-sql-delete");
    for (n, (from, to)) in [(1, 1), (7, 7), (7, 9), (2, RECORDS - 1)].into_iter().enumerate() {
        let db = dir.0.join(format!("delete-{n}.db"));
        build(&db, false);
        sql(&db, &format!("DELETE FROM audit WHERE seq BETWEEN {from} AND {to}"));
        assert_breach(&verify(&db), Problem::Removed, from, Some(to + 1), None);
    }
}

#[test]
fn sql_swap_of_two_records_is_named_at_the_first() {
    let dir = TempDir::new("tamper-sql-swap");
    // A plain swap: rows 7 and 8 trade every column but `seq` (the key the log is read
    // in order of, so swapping it too would just swap them back). Each record's hash
    // covers its own `seq`, so record 8's content under seq 7 no longer matches its
    // hash: verify reports it as *edited*, at record 7 — the first bad record.
    let db = dir.0.join("swap.db");
    build(&db, false);
    let before = records(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let (r7, r8) = (&before[6], &before[7]);
    write_row(&conn, &Record { seq: 7, ..r8.clone() });
    write_row(&conn, &Record { seq: 8, ..r7.clone() });
    drop(conn);
    assert_breach(&verify(&db), Problem::Edited, 7, Some(7), None);

    // A careful swap: the tamperer also recomputes each moved record's hash for its new
    // seq (the hash function is no secret), leaving `prev_hash` as it was. Now every
    // record matches its hash, but record 7 no longer chains to record 6: verify
    // reports it as *reordered*, at record 7.
    let db = dir.0.join("swap-rehashed.db");
    build(&db, false);
    let before = records(&db);
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut new7 = Record {
        seq: 7,
        ..before[7].clone()
    };
    new7.hash = new7.compute_hash();
    let mut new8 = Record {
        seq: 8,
        ..before[6].clone()
    };
    new8.hash = new8.compute_hash();
    write_row(&conn, &new7);
    write_row(&conn, &new8);
    drop(conn);
    assert_breach(&verify(&db), Problem::Reordered, 7, Some(7), None);
}

#[test]
fn sql_truncated_tail_is_caught_only_by_a_checkpoint() {
    let dir = TempDir::new("tamper-sql-truncate");
    let cp = build(&dir.db(), true).unwrap();
    assert_eq!(cp.count, RECORDS);
    let public = audit::public_key(SEED).unwrap();
    // Before: the export extends the checkpoint.
    let whole = export(&dir.db());
    assert!(audit::verify_export(&whole, Some(&cp), Some(&public)).ok);
    // Delete the last 3 rows (the checkpoint's own record and records 19, 20).
    sql(&dir.db(), &format!("DELETE FROM audit WHERE seq > {}", RECORDS - 2));
    // What is left is a consistent chain: a cut tail is undetectable on its own …
    let v = verify(&dir.db());
    assert!(v.ok, "{v:?}");
    assert_eq!(v.records, RECORDS - 2);
    // … but not against a checkpoint taken before the cut.
    let v = audit::verify_export(&export(&dir.db()), Some(&cp), Some(&public));
    assert_breach(&v, Problem::Truncated, RECORDS, None, None);
    assert_eq!(v.records, RECORDS - 2);
}

#[test]
fn sql_rewritten_history_is_caught_only_by_a_checkpoint() {
    let dir = TempDir::new("tamper-sql-rewrite");
    let cp = build(&dir.db(), true).unwrap();
    // Edit record 7 and re-chain everything after it: a log that verifies on its own.
    let mut recs = records(&dir.db());
    recs[6].actor = "mallory".into();
    let conn = rusqlite::Connection::open(dir.db()).unwrap();
    for i in 6..recs.len() {
        recs[i].prev_hash = recs[i - 1].hash.clone();
        recs[i].hash = recs[i].compute_hash();
        write_row(&conn, &recs[i]);
    }
    drop(conn);
    assert!(verify(&dir.db()).ok);
    let v = audit::verify_export(&export(&dir.db()), Some(&cp), None);
    assert_breach(&v, Problem::Diverged, RECORDS, None, None);
}

// ---- an exported file ----

/// The export of a fresh `RECORDS`-record log, one line per record.
fn exported() -> (TempDir, Vec<String>) {
    let dir = TempDir::new("tamper-export");
    build(&dir.db(), false);
    let lines = export(&dir.db()).lines().map(str::to_owned).collect::<Vec<_>>();
    assert_eq!(lines.len() as u64, RECORDS);
    (dir, lines)
}

fn join(lines: &[String]) -> String {
    lines.iter().map(|l| format!("{l}\n")).collect()
}

fn verify_lines(lines: &[String]) -> Verification {
    audit::verify_export(&join(lines), None, None)
}

/// Replaces one field of the record on `line` (1-based).
fn edit_field(lines: &[String], line: usize, field: &str, value: Json) -> Vec<String> {
    let mut out = lines.to_vec();
    let mut rec: serde_json::Map<String, Json> = serde_json::from_str(&out[line - 1]).unwrap();
    assert!(rec.contains_key(field), "no field {field}");
    assert_ne!(rec[field], value, "the edit of {field} changes nothing");
    rec.insert(field.to_owned(), value);
    out[line - 1] = Json::Object(rec).to_string();
    out
}

#[test]
fn untouched_export_verifies() {
    let (_dir, lines) = exported();
    let v = verify_lines(&lines);
    assert!(v.ok);
    assert_eq!(v.records, RECORDS);
}

#[test]
fn export_edit_is_named_at_its_line() {
    let (_dir, lines) = exported();
    for k in 1..=RECORDS as usize {
        let v = verify_lines(&edit_field(&lines, k, "actor", "mallory".into()));
        assert_breach(&v, Problem::Edited, k as u64, Some(k as u64), Some(k as u64));
    }
    let at7: serde_json::Map<String, Json> = serde_json::from_str(&lines[6]).unwrap();
    let edits: Vec<(&str, Json)> = vec![
        ("target", "scope:tamper:s:99".into()),
        ("action", "registry.entry.update".into()),
        ("at", "2030-01-01T00:00:00Z".into()),
        ("request_id", Json::Null),
        ("after", serde_json::json!({"state": "retired"})),
        ("before", serde_json::json!({"state": "draft"})),
        ("prev_hash", at7["hash"].clone()),
        ("hash", at7["prev_hash"].clone()),
        // A changed seq is a changed record: the hash covers it.
        ("seq", 70.into()),
    ];
    for (field, value) in edits {
        let v = verify_lines(&edit_field(&lines, 7, field, value));
        let found = if field == "seq" { 70 } else { 7 };
        assert_breach(&v, Problem::Edited, 7, Some(found), Some(7));
    }
    // Lines are the file's lines: blank lines count, and are skipped.
    let mut padded = edit_field(&lines, 7, "actor", "mallory".into());
    padded.insert(0, String::new());
    padded.insert(3, "   ".into());
    assert_breach(&verify_lines(&padded), Problem::Edited, 7, Some(7), Some(9));
}

#[test]
fn export_dropped_line_is_named_removed() {
    let (_dir, lines) = exported();
    for k in 1..RECORDS as usize {
        let mut cut = lines.clone();
        cut.remove(k - 1);
        // Record k+1 now stands on line k, where record k belongs.
        assert_breach(
            &verify_lines(&cut),
            Problem::Removed,
            k as u64,
            Some(k as u64 + 1),
            Some(k as u64),
        );
    }
    // Dropping the last line is a truncation: see `export_cut_tail_*`.
    let v = verify_lines(&lines[..lines.len() - 1]);
    assert!(v.ok);
}

#[test]
fn export_swapped_lines_are_named_reordered() {
    let (_dir, lines) = exported();
    for k in 1..RECORDS as usize {
        let mut swapped = lines.clone();
        swapped.swap(k - 1, k);
        // Record k+1 stands on line k, and record k follows later: a move, not a loss.
        let v = verify_lines(&swapped);
        assert_breach(&v, Problem::Reordered, k as u64, Some(k as u64 + 1), Some(k as u64));
    }
    // A record moved far back.
    let mut moved = lines.clone();
    let r3 = moved.remove(2);
    moved.insert(15, r3);
    assert_breach(&verify_lines(&moved), Problem::Reordered, 3, Some(4), Some(3));
}

#[test]
fn export_cut_tail_is_caught_only_by_a_checkpoint() {
    let dir = TempDir::new("tamper-export-cut");
    let cp = build(&dir.db(), true).unwrap();
    let public = audit::public_key(SEED).unwrap();
    let whole = export(&dir.db());
    let lines: Vec<String> = whole.lines().map(str::to_owned).collect();
    assert_eq!(lines.len() as u64, RECORDS + 1);
    assert!(audit::verify_export(&whole, Some(&cp), Some(&public)).ok);
    // Cut the last 3 lines: verifies alone, not against the checkpoint.
    let cut = join(&lines[..lines.len() - 3]);
    let v = audit::verify_export(&cut, None, None);
    assert!(v.ok);
    assert_eq!(v.records, RECORDS - 2);
    let v = audit::verify_export(&cut, Some(&cp), Some(&public));
    assert_breach(&v, Problem::Truncated, RECORDS, None, None);
    // Cutting through the checkpoint's own record only is fine: the checkpoint covers
    // records 1..=RECORDS.
    let v = audit::verify_export(&join(&lines[..RECORDS as usize]), Some(&cp), Some(&public));
    assert!(v.ok, "{v:?}");
    // A file cut in the middle of a line (a torn copy): the torn line is malformed.
    let torn = &whole[..whole.len() - lines.last().unwrap().len() / 2 - 1];
    let v = audit::verify_export(torn, None, None);
    assert_breach(&v, Problem::Malformed, RECORDS + 1, None, Some(RECORDS + 1));
    // With a checkpoint, a breach inside the covered records is named as such.
    let edited = join(&edit_field(&lines, 7, "actor", "mallory".into()));
    let v = audit::verify_export(&edited, Some(&cp), Some(&public));
    assert_breach(&v, Problem::Edited, 7, Some(7), Some(7));
}
