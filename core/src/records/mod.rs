//! Records kept beside a packet: review sign-offs and stage-5 evidence. They come
//! from the store ([`crate::Store::records`]) or from a records file, and are an
//! input of [`crate::validate::validate_with`] and [`crate::validate::progress_with`].
//!
//! A records file:
//!
//! ```yaml
//! records:
//!   packet_id: token-factory-onboarding-v2
//!   signoffs:
//!     - {role: product, reviewer: pm@example.com, decision: approve,
//!        at: "2026-11-20T10:00:00Z", digest: "<the packet's SHA-256>"}
//!     - {role: security, reviewer: sec@example.com, decision: reject,
//!        reasons: [credential custody unclear], at: "2026-11-20T11:00:00Z", digest: "…"}
//!   evidence:
//!     - {kind: rollback_proof, ref: drill-2026-11, url: "https://runbooks.example.com/drill",
//!        recorded_by: ops@example.com, at: "2026-11-19T09:00:00Z"}
//! ```
//!
//! Unknown keys are refused; every problem is reported with its line and column
//! (`records.parse`) or, for a record whose fields are inconsistent, its code
//! (`review.invalid`, `evidence.invalid`).

pub mod store;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_saphyr::Spanned;

use crate::evidence::{EvidenceKind, EvidenceRecord};
use crate::review::{Decision, Role, SignOff};

/// The largest records file read (1 MiB).
const MAX_BYTES: usize = 1 << 20;

/// The sign-offs and evidence of one packet.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Records {
    /// The packet they are about (when read from a file or the store).
    pub packet_id: Option<String>,
    /// Every sign-off, oldest first.
    pub signoffs: Vec<SignOff>,
    /// Every evidence record, oldest first.
    pub evidence: Vec<EvidenceRecord>,
}

/// A records file that does not load.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("records: {message} (line {line}, column {column})")]
pub struct RecordsError {
    /// `records.parse`, `review.invalid` or `evidence.invalid`.
    pub code: &'static str,
    /// What is wrong.
    pub message: String,
    /// 1-based line (0 when unknown).
    pub line: u64,
    /// 1-based column (0 when unknown).
    pub column: u64,
}

impl RecordsError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        self.code
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    records: RecordsRaw,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RecordsRaw {
    #[serde(default)]
    packet_id: Option<String>,
    #[serde(default)]
    signoffs: Vec<Spanned<SignOffRaw>>,
    #[serde(default)]
    evidence: Vec<Spanned<EvidenceRaw>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SignOffRaw {
    role: Spanned<String>,
    reviewer: String,
    decision: Spanned<String>,
    #[serde(default)]
    reasons: Vec<String>,
    at: Spanned<String>,
    digest: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EvidenceRaw {
    kind: Spanned<String>,
    #[serde(rename = "ref")]
    reference: String,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    url: Option<String>,
    recorded_by: String,
    at: Spanned<String>,
}

fn at<T>(span: &Spanned<T>, code: &'static str, message: String) -> RecordsError {
    RecordsError {
        code,
        message,
        line: span.referenced.line(),
        column: span.referenced.column(),
    }
}

fn one_of<T: Copy>(
    span: &Spanned<String>,
    what: &str,
    names: &[&str],
    parse: fn(&str) -> Option<T>,
) -> Result<T, RecordsError> {
    parse(&span.value).ok_or_else(|| {
        at(
            span,
            "records.parse",
            format!("unknown {what} `{}` (expected one of {})", span.value, names.join(", ")),
        )
    })
}

fn timestamp(span: &Spanned<String>) -> Result<Timestamp, RecordsError> {
    span.value.parse().map_err(|_| {
        at(
            span,
            "records.parse",
            format!("invalid timestamp `{}` (expected RFC 3339 with an offset)", span.value),
        )
    })
}

impl Records {
    /// Reads a records file (see the module docs).
    pub fn from_yaml(text: &str) -> Result<Records, RecordsError> {
        if text.len() > MAX_BYTES {
            return Err(RecordsError {
                code: "records.parse",
                message: format!("larger than the limit of {MAX_BYTES} bytes"),
                line: 0,
                column: 0,
            });
        }
        let file: File = serde_saphyr::from_str(text).map_err(|e| {
            let (line, column) = e.location().map_or((0, 0), |l| (l.line(), l.column()));
            let message = e.to_string();
            let first = message.lines().next().unwrap_or_default();
            let message = first
                .strip_prefix("error: ")
                .and_then(|rest| rest.split_once(": ").filter(|(at, _)| at.starts_with("line ")))
                .map_or(first, |(_, m)| m)
                .to_owned();
            RecordsError {
                code: "records.parse",
                message,
                line,
                column,
            }
        })?;
        let raw = file.records;
        let mut out = Records {
            packet_id: raw.packet_id,
            ..Records::default()
        };
        for s in raw.signoffs {
            let r = &s.value;
            let signoff = SignOff {
                role: one_of(&r.role, "role", Role::NAMES, Role::from_name)?,
                reviewer: r.reviewer.clone(),
                decision: one_of(&r.decision, "decision", Decision::NAMES, Decision::from_name)?,
                reasons: r
                    .reasons
                    .iter()
                    .map(|x| x.trim().to_owned())
                    .filter(|x| !x.is_empty())
                    .collect(),
                at: timestamp(&r.at)?,
                digest: r.digest.clone(),
            };
            signoff.check().map_err(|e| at(&s, e.code(), e.to_string()))?;
            out.signoffs.push(signoff);
        }
        for e in raw.evidence {
            let r = &e.value;
            let record = EvidenceRecord {
                kind: one_of(&r.kind, "evidence kind", EvidenceKind::NAMES, EvidenceKind::from_name)?,
                reference: r.reference.clone(),
                digest: r
                    .digest
                    .as_deref()
                    .map(|d| d.trim().to_ascii_lowercase())
                    .filter(|d| !d.is_empty()),
                url: r.url.as_deref().map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
                recorded_by: r.recorded_by.clone(),
                at: timestamp(&r.at)?,
            };
            record.check().map_err(|err| at(&e, err.code(), err.to_string()))?;
            out.evidence.push(record);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_and_reports_lines() {
        let d = "a".repeat(64);
        let text = format!(
            "records:\n  packet_id: p\n  signoffs:\n    - {{role: product, reviewer: a, decision: approve, at: \"2026-11-20T10:00:00Z\", digest: \"{d}\"}}\n  evidence:\n    - {{kind: launch, ref: r1, url: \"https://x\", recorded_by: b, at: \"2026-11-20T10:00:00Z\"}}\n"
        );
        let r = Records::from_yaml(&text).unwrap();
        assert_eq!(r.signoffs.len(), 1);
        assert_eq!(r.evidence[0].kind, EvidenceKind::Launch);

        let bad = text.replace("role: product", "role: legal");
        let e = Records::from_yaml(&bad).unwrap_err();
        assert_eq!((e.code, e.line), ("records.parse", 4), "{e}");
        assert!(e.message.contains("unknown role `legal`"), "{e}");

        let bad = text.replace("url: \"https://x\", ", "");
        let e = Records::from_yaml(&bad).unwrap_err();
        assert_eq!((e.code, e.line), ("evidence.invalid", 6), "{e}");

        let bad = text.replace("decision: approve", "decision: reject");
        assert_eq!(Records::from_yaml(&bad).unwrap_err().code, "review.invalid");

        let bad = text.replace("packet_id: p", "packet: p");
        assert_eq!(Records::from_yaml(&bad).unwrap_err().code, "records.parse");
    }
}
