//! The tamper-evident audit log.
//!
//! Append-only: each record carries the SHA-256 of the record before it, so
//! [`verify_records`] finds any edited, removed or reordered record and names the
//! first bad one. Checkpoints (record count and head hash, optionally signed with
//! Ed25519) let a holder of an exported log prove offline that a later log extends it
//! unchanged ([`verify_export`]).

use std::fmt;

use ed25519_dalek::{Signer, Verifier};
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first record.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Audit actions the store itself writes; they are registered (as `audit_action`
/// entries owned by `platform-audit`) when a store is created.
pub const BUILTIN_ACTIONS: &[(&str, &str)] = &[
    ("store.migrate", "the store's schema was created or migrated"),
    ("registry.entry.add", "a registry entry was added"),
    (
        "registry.entry.update",
        "a registry entry's owner, product, description or sunset changed",
    ),
    ("registry.entry.set_state", "a registry entry moved along its lifecycle"),
    ("packet.put", "a new version of an onboarding packet was stored"),
    ("audit.checkpoint", "a checkpoint of the audit log was taken"),
];

/// Audit actions of billing (SPEC §2.9); registered by the store's migration 2.
pub const BILLING_ACTIONS: &[(&str, &str)] = &[
    (
        "billing.rate_card.set",
        "a rate card was set (replacing the current card)",
    ),
    (
        "billing.usage.ingest",
        "a batch of usage events was accepted into the ledger",
    ),
    (
        "billing.invoice.generate",
        "a draft invoice was generated from the ledger",
    ),
    ("billing.invoice.issue", "an invoice was issued"),
    ("billing.invoice.mark_paid", "an invoice was marked paid"),
    ("billing.invoice.cancel", "an invoice was cancelled"),
    ("billing.po.submit", "a purchase order was submitted"),
    ("billing.po.approve", "a purchase order was approved"),
    ("billing.po.reject", "a purchase order was rejected"),
];

/// Audit actions of review sign-offs and evidence (SPEC §2.7); registered by the
/// store's migration 3.
pub const RECORD_ACTIONS: &[(&str, &str)] = &[
    (
        "review.sign",
        "a reviewer signed off (approved or rejected) a packet version",
    ),
    ("evidence.add", "stage-5 evidence was recorded for a packet"),
];

/// Audit actions of checklist runs (SPEC §2.8); registered by the store's migration 4.
pub const CHECKLIST_ACTIONS: &[(&str, &str)] = &[
    ("checklist.run.new", "a checklist run was started from a template"),
    (
        "checklist.item.check",
        "a manual checklist item was checked done or failed, with its evidence",
    ),
    (
        "checklist.item.waive",
        "a checklist item was waived, with an owner, a reason and an expiry",
    ),
    (
        "checklist.item.result",
        "the result of a probe or flow item was recorded (redacted)",
    ),
    ("checklist.gap.add", "a known gap was added to a checklist run"),
    (
        "checklist.decision.set",
        "fields of a checklist run's decision record were set",
    ),
    (
        "checklist.adoption.record",
        "a week of adoption figures was recorded for a checklist run",
    ),
    (
        "checklist.adoption.thresholds",
        "the adoption thresholds of a checklist run were set",
    ),
];

/// Every audit action a store registers, in migration order.
pub fn registered_actions() -> impl Iterator<Item = &'static (&'static str, &'static str)> {
    BUILTIN_ACTIONS
        .iter()
        .chain(BILLING_ACTIONS)
        .chain(RECORD_ACTIONS)
        .chain(CHECKLIST_ACTIONS)
}

/// Who made a change, when, and under which request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// Who (a person or a service).
    pub actor: String,
    /// When (the caller's clock: time is an input).
    pub at: Timestamp,
    /// The request or job id, when there is one.
    pub request_id: Option<String>,
}

impl Origin {
    /// An origin without a request id.
    pub fn new(actor: impl Into<String>, at: Timestamp) -> Origin {
        Origin {
            actor: actor.into(),
            at,
            request_id: None,
        }
    }
}

/// One record of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Position in the log, from 1.
    pub seq: u64,
    /// When the change happened.
    pub at: Timestamp,
    /// Who made it.
    pub actor: String,
    /// A registered audit action.
    pub action: String,
    /// What it changed (`scope:token_factory:model:invoke`, `packet:token-factory-onboarding-v1`).
    pub target: String,
    /// The state before, when there was one.
    pub before: Option<Json>,
    /// The state after, when there is one.
    pub after: Option<Json>,
    /// The request id, when there was one.
    pub request_id: Option<String>,
    /// The hash of the record before (`GENESIS` for the first).
    pub prev_hash: String,
    /// SHA-256 (hex) of this record's body, which includes `prev_hash`.
    pub hash: String,
}

#[derive(Serialize)]
struct Body<'a> {
    seq: u64,
    at: &'a Timestamp,
    actor: &'a str,
    action: &'a str,
    target: &'a str,
    before: &'a Option<Json>,
    after: &'a Option<Json>,
    request_id: &'a Option<String>,
    prev_hash: &'a str,
}

impl Record {
    /// Builds the record that follows `prev_hash` at `seq`, computing its hash.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        seq: u64,
        origin: &Origin,
        action: &str,
        target: &str,
        before: Option<Json>,
        after: Option<Json>,
        prev_hash: &str,
    ) -> Record {
        let mut r = Record {
            seq,
            at: origin.at,
            actor: origin.actor.clone(),
            action: action.to_owned(),
            target: target.to_owned(),
            before,
            after,
            request_id: origin.request_id.clone(),
            prev_hash: prev_hash.to_owned(),
            hash: String::new(),
        };
        r.hash = r.compute_hash();
        r
    }

    /// SHA-256 (hex) of the record's canonical body (every field but `hash`, compact
    /// JSON in declaration order).
    pub fn compute_hash(&self) -> String {
        let body = Body {
            seq: self.seq,
            at: &self.at,
            actor: &self.actor,
            action: &self.action,
            target: &self.target,
            before: &self.before,
            after: &self.after,
            request_id: &self.request_id,
            prev_hash: &self.prev_hash,
        };
        let bytes = serde_json::to_vec(&body).unwrap_or_default();
        hex::encode(Sha256::digest(&bytes))
    }

    /// The record as one JSON line (no trailing newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// What is wrong with the first bad record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Problem {
    /// The record's content no longer matches its hash.
    Edited,
    /// Records before this one are missing (a gap in the sequence).
    Removed,
    /// The record is out of place: its sequence number goes back, or it does not
    /// chain to the record before it.
    Reordered,
    /// The log ends before the checkpoint's count.
    Truncated,
    /// The log differs from the checkpoint's head at the checkpoint's count.
    Diverged,
    /// A line of an exported log is not a record.
    Malformed,
    /// The checkpoint's signature does not verify.
    BadSignature,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Problem::Edited => "edited",
            Problem::Removed => "removed",
            Problem::Reordered => "reordered",
            Problem::Truncated => "truncated",
            Problem::Diverged => "diverged",
            Problem::Malformed => "malformed",
            Problem::BadSignature => "bad_signature",
        })
    }
}

/// The first bad record and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Breach {
    /// What is wrong.
    pub problem: Problem,
    /// The sequence number the log expected at that place.
    pub expected_seq: u64,
    /// The sequence number found there (if a record was there).
    pub found_seq: Option<u64>,
    /// 1-based line of an exported log (when verifying an export).
    pub line: Option<u64>,
    /// For people.
    pub message: String,
}

/// The result of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// True when the whole chain (and the checkpoint, if any) holds.
    pub ok: bool,
    /// Records read.
    pub records: u64,
    /// The hash of the last good record (`GENESIS` for an empty log).
    pub head: String,
    /// The first bad record, when there is one.
    pub breach: Option<Breach>,
}

impl Verification {
    /// The canonical JSON form.
    pub fn to_json(&self) -> String {
        crate::report::canonical_json(self)
    }
}

/// Walks records in order and checks the chain; each record comes with its line
/// number in an export.
fn walk<I>(records: I) -> Verification
where
    I: IntoIterator<Item = (Option<u64>, Result<Record, String>)>,
{
    let records: Vec<(Option<u64>, Result<Record, String>)> = records.into_iter().collect();
    let seqs: Vec<Option<u64>> = records.iter().map(|(_, r)| r.as_ref().ok().map(|r| r.seq)).collect();
    let mut head = GENESIS.to_owned();
    let mut count = 0u64;
    for (i, (line, rec)) in records.into_iter().enumerate() {
        let expected = count + 1;
        let fail = |problem, found: Option<u64>, message: String| Verification {
            ok: false,
            records: count,
            head: head.clone(),
            breach: Some(Breach {
                problem,
                expected_seq: expected,
                found_seq: found,
                line,
                message,
            }),
        };
        let rec = match rec {
            Ok(r) => r,
            Err(e) => return fail(Problem::Malformed, None, format!("not an audit record: {e}")),
        };
        if rec.hash != rec.compute_hash() {
            return fail(
                Problem::Edited,
                Some(rec.seq),
                format!(
                    "record {} was changed after it was written (its hash does not match its content)",
                    rec.seq
                ),
            );
        }
        // A record further on, where `expected` should be, means a move, not a loss.
        let later = |want: u64| seqs.iter().skip(i + 1).any(|s| *s == Some(want));
        if rec.seq > expected && later(expected) {
            return fail(
                Problem::Reordered,
                Some(rec.seq),
                format!("record {} stands where record {expected} belongs", rec.seq),
            );
        }
        if rec.seq > expected {
            return fail(
                Problem::Removed,
                Some(rec.seq),
                format!("record {expected} is missing: the next record is {}", rec.seq),
            );
        }
        if rec.seq < expected || rec.prev_hash != head {
            return fail(
                Problem::Reordered,
                Some(rec.seq),
                format!(
                    "record {} is out of place: it does not follow record {}",
                    rec.seq,
                    expected - 1
                ),
            );
        }
        head = rec.hash;
        count += 1;
    }
    Verification {
        ok: true,
        records: count,
        head,
        breach: None,
    }
}

/// Verifies records read from the store, in sequence order.
pub fn verify_records(records: impl IntoIterator<Item = Record>) -> Verification {
    walk(records.into_iter().map(|r| (None, Ok(r))))
}

/// A checkpoint: how many records a log had and the hash of the last one, optionally
/// signed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// Number of records covered.
    pub count: u64,
    /// Hash of record `count` (`GENESIS` when 0).
    pub head: String,
    /// When it was taken.
    pub at: Timestamp,
    /// Hex Ed25519 public key of the signer, when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub public_key: Option<String>,
    /// Hex Ed25519 signature over [`Checkpoint::message`], when signed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A signing key that could not be read, or a signature that does not verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct KeyError(pub String);

impl Checkpoint {
    /// An unsigned checkpoint.
    pub fn new(count: u64, head: String, at: Timestamp) -> Checkpoint {
        Checkpoint {
            count,
            head,
            at,
            public_key: None,
            signature: None,
        }
    }

    /// The bytes a signature covers.
    pub fn message(&self) -> Vec<u8> {
        format!("gangway-checkpoint-v1\n{}\n{}\n{}\n", self.count, self.head, self.at).into_bytes()
    }

    /// Signs with a 32-byte Ed25519 seed (hex).
    pub fn sign(mut self, seed_hex: &str) -> Result<Checkpoint, KeyError> {
        let key = signing_key(seed_hex)?;
        let sig = key.sign(&self.message());
        self.public_key = Some(hex::encode(key.verifying_key().to_bytes()));
        self.signature = Some(hex::encode(sig.to_bytes()));
        Ok(self)
    }

    /// Checks the signature (when there is one) against the embedded public key, or
    /// against `trusted` (hex) when given — pass the key you trust to rule out a
    /// re-signed checkpoint.
    pub fn verify_signature(&self, trusted: Option<&str>) -> Result<bool, KeyError> {
        let Some(sig_hex) = &self.signature else {
            return match trusted {
                Some(_) => Err(KeyError("the checkpoint is not signed".to_owned())),
                None => Ok(false),
            };
        };
        let key_hex = trusted
            .or(self.public_key.as_deref())
            .ok_or_else(|| KeyError("no public key".to_owned()))?;
        let key_bytes: [u8; 32] = decode_fixed(key_hex, "public key")?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&key_bytes)
            .map_err(|e| KeyError(format!("bad public key: {e}")))?;
        let sig_bytes: [u8; 64] = decode_fixed(sig_hex, "signature")?;
        let sig = ed25519_dalek::Signature::from_bytes(&sig_bytes);
        key.verify(&self.message(), &sig)
            .map_err(|_| KeyError("the checkpoint's signature does not verify".to_owned()))?;
        Ok(true)
    }

    /// The canonical JSON form.
    pub fn to_json(&self) -> String {
        crate::report::canonical_json(self)
    }
}

fn decode_fixed<const N: usize>(hex_text: &str, what: &str) -> Result<[u8; N], KeyError> {
    let bytes = hex::decode(hex_text.trim()).map_err(|e| KeyError(format!("{what} is not hex: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| KeyError(format!("{what} must be {N} bytes")))
}

fn signing_key(seed_hex: &str) -> Result<ed25519_dalek::SigningKey, KeyError> {
    let seed: [u8; 32] = decode_fixed(seed_hex, "signing key")?;
    Ok(ed25519_dalek::SigningKey::from_bytes(&seed))
}

/// A new random Ed25519 signing seed and its public key, both hex.
pub fn generate_key() -> Result<(String, String), KeyError> {
    let mut seed = [0u8; 32];
    getrandom::fill(&mut seed).map_err(|e| KeyError(format!("no randomness: {e}")))?;
    let key = ed25519_dalek::SigningKey::from_bytes(&seed);
    Ok((hex::encode(seed), hex::encode(key.verifying_key().to_bytes())))
}

/// The public key (hex) of a signing seed (hex).
pub fn public_key(seed_hex: &str) -> Result<String, KeyError> {
    Ok(hex::encode(signing_key(seed_hex)?.verifying_key().to_bytes()))
}

/// Verifies an exported log (JSON Lines) and, when given, that it extends
/// `checkpoint` unchanged: the first `count` records end in the checkpoint's head.
/// `trusted_key` (hex) pins the checkpoint's signer.
pub fn verify_export(jsonl: &str, checkpoint: Option<&Checkpoint>, trusted_key: Option<&str>) -> Verification {
    let lines = jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| {
            (
                Some(i as u64 + 1),
                serde_json::from_str::<Record>(l).map_err(|e| e.to_string()),
            )
        });
    let mut heads: Vec<String> = Vec::new();
    let want = checkpoint.map(|c| c.count);
    let v = walk(lines.inspect(|(_, r)| {
        if let (Ok(r), Some(n)) = (r, want)
            && r.seq == n
        {
            heads.push(r.hash.clone());
        }
    }));
    let Some(cp) = checkpoint else { return v };
    let fail = |v: Verification, problem, message: String| Verification {
        ok: false,
        breach: Some(Breach {
            problem,
            expected_seq: cp.count,
            found_seq: None,
            line: None,
            message,
        }),
        ..v
    };
    if let Err(e) = cp.verify_signature(trusted_key) {
        return fail(v, Problem::BadSignature, e.0);
    }
    if !v.ok {
        return v;
    }
    if v.records < cp.count {
        let message = format!(
            "the log has {} records but the checkpoint covers {}",
            v.records, cp.count
        );
        return fail(v, Problem::Truncated, message);
    }
    let head_at_count = if cp.count == 0 {
        Some(GENESIS.to_owned())
    } else {
        heads.first().cloned()
    };
    if head_at_count.as_deref() != Some(cp.head.as_str()) {
        let message = format!(
            "record {} differs from the checkpoint's head: the log was rewritten",
            cp.count
        );
        return fail(v, Problem::Diverged, message);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(n: u64) -> Vec<Record> {
        let origin = Origin::new("alice", Timestamp::from_second(1_700_000_000).unwrap());
        let mut out: Vec<Record> = Vec::new();
        for seq in 1..=n {
            let prev = out.last().map_or(GENESIS.to_owned(), |r| r.hash.clone());
            out.push(Record::new(
                seq,
                &origin,
                "packet.put",
                &format!("packet:p{seq}"),
                None,
                Some(serde_json::json!({"v": seq})),
                &prev,
            ));
        }
        out
    }

    fn export(records: &[Record]) -> String {
        records.iter().map(|r| r.to_json_line() + "\n").collect()
    }

    #[test]
    fn an_untouched_log_verifies() {
        let v = verify_records(log(5));
        assert!(v.ok);
        assert_eq!(v.records, 5);
        assert!(verify_records(Vec::new()).ok);
    }

    #[test]
    fn names_the_first_bad_record() {
        let mut l = log(5);
        l[2].actor = "mallory".into();
        let v = verify_records(l);
        assert_eq!(v.breach.as_ref().unwrap().problem, Problem::Edited);
        assert_eq!(v.breach.unwrap().found_seq, Some(3));

        let mut l = log(5);
        l.remove(1);
        assert_eq!(verify_records(l).breach.unwrap().problem, Problem::Removed);

        let mut l = log(5);
        l.swap(1, 2);
        let b = verify_records(l).breach.unwrap();
        assert_eq!((b.problem, b.expected_seq), (Problem::Reordered, 2));
    }

    #[test]
    fn checkpoints_prove_extension() {
        let (seed, public) = generate_key().unwrap();
        let l = log(6);
        let cp = Checkpoint::new(4, l[3].hash.clone(), l[3].at).sign(&seed).unwrap();
        assert!(verify_export(&export(&l), Some(&cp), Some(&public)).ok);
        // Truncated below the checkpoint.
        let v = verify_export(&export(&l[..3]), Some(&cp), None);
        assert_eq!(v.breach.unwrap().problem, Problem::Truncated);
        // Rewritten history that still chains.
        let mut other = log(6);
        other[0].actor = "mallory".into();
        for i in 0..other.len() {
            other[i].prev_hash = if i == 0 {
                GENESIS.into()
            } else {
                other[i - 1].hash.clone()
            };
            other[i].hash = other[i].compute_hash();
        }
        let v = verify_export(&export(&other), Some(&cp), None);
        assert_eq!(v.breach.unwrap().problem, Problem::Diverged);
        // A forged checkpoint signed by someone else.
        let (other_seed, _) = generate_key().unwrap();
        let forged = Checkpoint::new(4, l[3].hash.clone(), l[3].at)
            .sign(&other_seed)
            .unwrap();
        let v = verify_export(&export(&l), Some(&forged), Some(&public));
        assert_eq!(v.breach.unwrap().problem, Problem::BadSignature);
        // A malformed line.
        let v = verify_export("{not json}\n", None, None);
        assert_eq!(v.breach.unwrap().line, Some(1));
    }
}
