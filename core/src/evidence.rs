//! Stage-5 evidence (seed 000, "UAT evidence"): records that a launch, connect or
//! decommission drill, billing attribution, an audit query, the status read model or a
//! rollback was shown to work, each pointing at the artifact (SPEC §2.7).
//!
//! `evidence.missing` fires for a kind with neither a record nor a tracked
//! `missing_artifact` gap naming it (`evidence_kind` on the gap).

use jiff::Timestamp;
use serde::Serialize;

crate::text_enum! {
    /// A stage-5 evidence kind.
    pub enum EvidenceKind {
        Launch = "launch", Connect = "connect", Decommission = "decommission",
        BillingAttribution = "billing_attribution", AuditQuery = "audit_query",
        StatusReadModel = "status_read_model", RollbackProof = "rollback_proof"
    }
}

impl EvidenceKind {
    /// Every kind stage 5 requires, in the seed's order.
    pub const ALL: [EvidenceKind; 7] = [
        EvidenceKind::Launch,
        EvidenceKind::Connect,
        EvidenceKind::Decommission,
        EvidenceKind::BillingAttribution,
        EvidenceKind::AuditQuery,
        EvidenceKind::StatusReadModel,
        EvidenceKind::RollbackProof,
    ];

    /// For people.
    pub fn describe(self) -> &'static str {
        match self {
            EvidenceKind::Launch => "a launch drill",
            EvidenceKind::Connect => "a tenant connecting and using the product",
            EvidenceKind::Decommission => "a decommission drill",
            EvidenceKind::BillingAttribution => "usage reaching the ledger under the right tenant",
            EvidenceKind::AuditQuery => "privileged actions found in the audit log",
            EvidenceKind::StatusReadModel => "components reporting through the status service",
            EvidenceKind::RollbackProof => "a rollback shown to work",
        }
    }
}

impl Serialize for EvidenceKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One piece of evidence for a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EvidenceRecord {
    /// What it shows.
    pub kind: EvidenceKind,
    /// Where it comes from (a run id, a ticket, a document anchor).
    #[serde(rename = "ref")]
    pub reference: String,
    /// SHA-256 of the artifact (`sha256:<hex>` or bare hex), when it is a file.
    pub digest: Option<String>,
    /// Where the artifact is, when it is a page or a stored object.
    pub url: Option<String>,
    /// Who recorded it.
    pub recorded_by: String,
    /// When.
    pub at: Timestamp,
}

/// Why an evidence record is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvidenceError {
    /// A required text is blank.
    #[error("`{0}` must not be blank")]
    Blank(&'static str),
    /// Neither a digest nor a URL: the artifact cannot be found or checked.
    #[error("evidence needs a `digest` or a `url` pointing at the artifact")]
    Unanchored,
    /// A digest that is not SHA-256 hex.
    #[error("`digest` must be SHA-256 hex (optionally `sha256:`-prefixed), not `{0}`")]
    Digest(String),
}

impl EvidenceError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        "evidence.invalid"
    }
}

impl EvidenceRecord {
    /// Checks the record's own fields.
    pub fn check(&self) -> Result<(), EvidenceError> {
        if self.reference.trim().is_empty() {
            return Err(EvidenceError::Blank("ref"));
        }
        if self.recorded_by.trim().is_empty() {
            return Err(EvidenceError::Blank("recorded_by"));
        }
        let url = self.url.as_deref().filter(|u| !u.trim().is_empty());
        match self.digest.as_deref() {
            Some(d) => {
                let hex = d.strip_prefix("sha256:").unwrap_or(d);
                if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(EvidenceError::Digest(d.to_owned()));
                }
            }
            None if url.is_none() => return Err(EvidenceError::Unanchored),
            None => {}
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_needs_an_anchor() {
        let mut r = EvidenceRecord {
            kind: EvidenceKind::RollbackProof,
            reference: "drill-2026-11".into(),
            digest: None,
            url: None,
            recorded_by: "ops@example.com".into(),
            at: "2026-11-20T10:00:00Z".parse().unwrap(),
        };
        assert_eq!(r.check(), Err(EvidenceError::Unanchored));
        r.url = Some("https://runbooks.example.com/drill".into());
        assert_eq!(r.check(), Ok(()));
        r.digest = Some("sha256:xyz".into());
        assert!(matches!(r.check(), Err(EvidenceError::Digest(_))));
        r.digest = Some(format!("sha256:{}", "0".repeat(64)));
        assert_eq!(r.check(), Ok(()));
        assert_eq!(EvidenceKind::from_name("audit_query"), Some(EvidenceKind::AuditQuery));
    }
}
