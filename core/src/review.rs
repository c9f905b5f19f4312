//! The review matrix (seed 000, "Review Matrix") and sign-offs bound to a packet's
//! digest (SPEC §2.7).
//!
//! Seven roles each confirm a list of things; a [`SignOff`] records one reviewer's
//! decision for one role on one version of the packet, named by its digest
//! ([`crate::Packet::digest`]). Editing the packet changes the digest and so voids
//! every earlier sign-off: `review.missing` then names each role still owed.

use jiff::Timestamp;
use serde::Serialize;

crate::text_enum! {
    /// A reviewer role of the review matrix.
    pub enum Role {
        Product = "product", Architecture = "architecture", Backend = "backend", Frontend = "frontend",
        Security = "security", Operations = "operations", Governance = "governance"
    }
}

impl Role {
    /// Every role, in the matrix's order.
    pub const ALL: [Role; 7] = [
        Role::Product,
        Role::Architecture,
        Role::Backend,
        Role::Frontend,
        Role::Security,
        Role::Operations,
        Role::Governance,
    ];

    /// What a reviewer in this role must confirm (seed 000, verbatim).
    pub fn must_confirm(self) -> &'static str {
        match self {
            Role::Product => "Personas, exposure, support tier, packaging, user workflows, and non-goals are clear.",
            Role::Architecture => "Product does not introduce new shared-service owners or bypass maps/guards/facades.",
            Role::Backend => {
                "API/event contracts, service boundaries, idempotency, audit, and billing ingestion are explicit."
            }
            Role::Frontend => {
                "Page family, navigation, context picker, status/error states, and portal surfaces are explicit."
            }
            Role::Security => {
                "Scopes, service accounts, credential custody, audit evidence, and failure behavior are explicit."
            }
            Role::Operations => {
                "Status components, SLO posture, reconciliation, DLQ/outbox, runbook, and rollback evidence are explicit."
            }
            Role::Governance => "Fairway tasks, evidence artifacts, residual risk, and release gates are linked.",
        }
    }

    /// The role's name as the seed writes it (`Product`, …).
    pub fn title(self) -> &'static str {
        match self {
            Role::Product => "Product",
            Role::Architecture => "Architecture",
            Role::Backend => "Backend",
            Role::Frontend => "Frontend",
            Role::Security => "Security",
            Role::Operations => "Operations",
            Role::Governance => "Governance",
        }
    }
}

impl Serialize for Role {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// The review matrix as data: `[{role, title, must_confirm}]` in the seed's order.
pub fn matrix() -> serde_json::Value {
    Role::ALL
        .iter()
        .map(|r| serde_json::json!({"role": r, "title": r.title(), "must_confirm": r.must_confirm()}))
        .collect()
}

crate::text_enum! {
    /// A reviewer's decision.
    pub enum Decision { Approve = "approve", Reject = "reject" }
}

impl Serialize for Decision {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

/// One reviewer's decision for one role on one version of a packet.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignOff {
    /// The role signed for.
    pub role: Role,
    /// Who signed (an email or handle).
    pub reviewer: String,
    /// Approve or reject.
    pub decision: Decision,
    /// Why (required for a rejection).
    pub reasons: Vec<String>,
    /// When.
    pub at: Timestamp,
    /// The digest of the packet version signed.
    pub digest: String,
}

/// Why a sign-off is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SignOffError {
    /// A required text is blank.
    #[error("`{0}` must not be blank")]
    Blank(&'static str),
    /// A rejection without reasons.
    #[error("a rejection needs at least one reason")]
    ReasonsMissing,
    /// A digest that is not 64 lower-case hex digits.
    #[error("`digest` must be the packet's SHA-256 (64 lower-case hex digits), not `{0}`")]
    Digest(String),
    /// A digest that is no stored version of the packet.
    #[error("`{digest}` is not the digest of a stored version of `{packet_id}`")]
    NotStored {
        /// The digest given.
        digest: String,
        /// The packet.
        packet_id: String,
    },
}

impl SignOffError {
    /// The stable code.
    pub fn code(&self) -> &'static str {
        "review.invalid"
    }
}

impl SignOff {
    /// Checks the sign-off's own fields: reviewer and digest present, a digest of the
    /// right shape, reasons for a rejection.
    pub fn check(&self) -> Result<(), SignOffError> {
        if self.reviewer.trim().is_empty() {
            return Err(SignOffError::Blank("reviewer"));
        }
        if self.digest.len() != 64
            || !self
                .digest
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(SignOffError::Digest(self.digest.clone()));
        }
        if self.decision == Decision::Reject && self.reasons.iter().all(|r| r.trim().is_empty()) {
            return Err(SignOffError::ReasonsMissing);
        }
        Ok(())
    }
}

/// Where one role stands for one packet digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RoleStatus {
    /// The role.
    pub role: Role,
    /// `approved`, `rejected`, `stale` (signed an earlier digest only) or `missing`.
    pub status: &'static str,
    /// The sign-off that decides it (the latest for the current digest, else the
    /// latest for any digest).
    pub signoff: Option<SignOff>,
}

/// The status of every role for `digest`: the latest sign-off (by time, then by
/// order given) for the digest decides; without one, an older digest's sign-off
/// makes the role `stale`, and none makes it `missing`.
pub fn status(signoffs: &[SignOff], digest: &str) -> Vec<RoleStatus> {
    Role::ALL
        .iter()
        .map(|&role| {
            let latest = |current: bool| {
                signoffs
                    .iter()
                    .filter(|s| s.role == role && (s.digest == digest) == current)
                    .enumerate()
                    .max_by_key(|(i, s)| (s.at, *i))
                    .map(|(_, s)| s.clone())
            };
            match latest(true) {
                Some(s) => RoleStatus {
                    role,
                    status: if s.decision == Decision::Approve {
                        "approved"
                    } else {
                        "rejected"
                    },
                    signoff: Some(s),
                },
                None => {
                    let old = latest(false);
                    RoleStatus {
                        role,
                        status: if old.is_some() { "stale" } else { "missing" },
                        signoff: old,
                    }
                }
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn so(role: Role, decision: Decision, at: &str, digest: &str) -> SignOff {
        SignOff {
            role,
            reviewer: "r@example.com".into(),
            decision,
            reasons: if decision == Decision::Reject {
                vec!["no".into()]
            } else {
                vec![]
            },
            at: at.parse().unwrap(),
            digest: digest.into(),
        }
    }

    #[test]
    fn the_latest_signoff_for_the_digest_decides() {
        let d = "a".repeat(64);
        let old = "b".repeat(64);
        let list = [
            so(Role::Product, Decision::Reject, "2026-11-01T00:00:00Z", &d),
            so(Role::Product, Decision::Approve, "2026-11-02T00:00:00Z", &d),
            so(Role::Security, Decision::Approve, "2026-11-03T00:00:00Z", &d),
            so(Role::Security, Decision::Reject, "2026-11-04T00:00:00Z", &d),
            so(Role::Backend, Decision::Approve, "2026-11-02T00:00:00Z", &old),
        ];
        let st: Vec<(&str, &str)> = status(&list, &d).iter().map(|s| (s.role.as_str(), s.status)).collect();
        assert_eq!(
            st,
            [
                ("product", "approved"),
                ("architecture", "missing"),
                ("backend", "stale"),
                ("frontend", "missing"),
                ("security", "rejected"),
                ("operations", "missing"),
                ("governance", "missing"),
            ]
        );
    }

    #[test]
    fn checks_its_fields() {
        let d = "a".repeat(64);
        let mut s = so(Role::Product, Decision::Reject, "2026-11-01T00:00:00Z", &d);
        assert_eq!(s.check(), Ok(()));
        s.reasons = vec![" ".into()];
        assert_eq!(s.check(), Err(SignOffError::ReasonsMissing));
        s.digest = "A".repeat(64);
        assert!(matches!(s.check(), Err(SignOffError::Digest(_))));
        s.reviewer = String::new();
        assert_eq!(s.check(), Err(SignOffError::Blank("reviewer")));
        assert_eq!(matrix().as_array().map(Vec::len), Some(7));
    }
}
