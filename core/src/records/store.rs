//! Sign-offs and evidence in the SQLite store (migration 3). Each is appended with
//! its audit record (`review.sign`, `evidence.add`) in one transaction, and is about
//! one stored packet: a sign-off names the digest of a stored version of it.

use jiff::Timestamp;
use rusqlite::{Connection, params};
use serde_json::json;

use super::Records;
use crate::audit::Origin;
use crate::evidence::{EvidenceKind, EvidenceRecord};
use crate::review::{Decision, Role, RoleStatus, SignOff, SignOffError};
use crate::store::{Store, StoreError, append, bad_row};

type Result<T> = std::result::Result<T, StoreError>;

/// What to record for a sign-off; the reviewer and time come from the origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignOffRequest<'a> {
    /// The packet signed.
    pub packet_id: &'a str,
    /// The role signed for.
    pub role: Role,
    /// Approve or reject.
    pub decision: Decision,
    /// Why (required to reject).
    pub reasons: &'a [String],
    /// The version signed; default the latest stored version.
    pub digest: Option<&'a str>,
}

/// The review status of a packet's latest stored version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ReviewStatus {
    /// The packet.
    pub packet_id: String,
    /// Its latest stored version.
    pub version: u32,
    /// That version's digest.
    pub digest: String,
    /// Every role of the matrix, in order.
    pub roles: Vec<RoleStatus>,
    /// True when every role approved this digest.
    pub complete: bool,
}

fn stored_digests(conn: &Connection, packet_id: &str) -> Result<Vec<(u32, String)>> {
    let mut stmt = conn.prepare_cached("SELECT version, digest FROM packets WHERE packet_id = ?1 ORDER BY version")?;
    let rows = stmt.query_map(params![packet_id], |r| {
        Ok((r.get::<_, u32>(0)?, r.get::<_, String>(1)?))
    })?;
    let out: Vec<(u32, String)> = rows.collect::<rusqlite::Result<_>>()?;
    if out.is_empty() {
        return Err(StoreError::PacketNotFound(packet_id.to_owned()));
    }
    Ok(out)
}

fn timestamp(text: &str) -> Result<Timestamp> {
    text.parse().map_err(|_| bad_row("timestamp", text))
}

impl Store {
    /// Records a sign-off by `origin.actor` at `origin.at` on a stored version of
    /// the packet (the latest unless `digest` names another stored version).
    pub fn sign_off(&mut self, origin: &Origin, request: &SignOffRequest<'_>) -> Result<SignOff> {
        if let Some(d) = request.digest
            && (d.len() != 64 || !d.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        {
            return Err(SignOffError::Digest(d.to_owned()).into());
        }
        self.write(|tx| {
            let versions = stored_digests(tx, request.packet_id)?;
            let digest = match request.digest {
                Some(d) => {
                    if !versions.iter().any(|(_, v)| v == d) {
                        return Err(SignOffError::NotStored {
                            digest: d.to_owned(),
                            packet_id: request.packet_id.to_owned(),
                        }
                        .into());
                    }
                    d.to_owned()
                }
                None => versions.last().map(|(_, d)| d.clone()).unwrap_or_default(),
            };
            let signoff = SignOff {
                role: request.role,
                reviewer: origin.actor.clone(),
                decision: request.decision,
                reasons: request.reasons.iter().map(|r| r.trim().to_owned()).filter(|r| !r.is_empty()).collect(),
                at: origin.at,
                digest,
            };
            signoff.check()?;
            let reasons = serde_json::to_string(&signoff.reasons).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
                "INSERT INTO signoffs (packet_id, role, reviewer, decision, reasons, at, digest) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    request.packet_id,
                    signoff.role.as_str(),
                    signoff.reviewer,
                    signoff.decision.as_str(),
                    reasons,
                    signoff.at.to_string(),
                    signoff.digest
                ],
            )?;
            append(
                tx,
                origin,
                "review.sign",
                &format!("packet:{}", request.packet_id),
                None,
                Some(json!(signoff)),
            )?;
            Ok(signoff)
        })
    }

    /// Records evidence for a stored packet, by `origin.actor` at `origin.at`.
    pub fn add_evidence(
        &mut self,
        origin: &Origin,
        packet_id: &str,
        kind: EvidenceKind,
        reference: &str,
        digest: Option<&str>,
        url: Option<&str>,
    ) -> Result<EvidenceRecord> {
        let record = EvidenceRecord {
            kind,
            reference: reference.trim().to_owned(),
            digest: digest.map(|d| d.trim().to_ascii_lowercase()).filter(|d| !d.is_empty()),
            url: url.map(|u| u.trim().to_owned()).filter(|u| !u.is_empty()),
            recorded_by: origin.actor.clone(),
            at: origin.at,
        };
        record.check()?;
        self.write(|tx| {
            stored_digests(tx, packet_id)?;
            tx.execute(
                "INSERT INTO evidence (packet_id, kind, ref, digest, url, recorded_by, at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![
                    packet_id,
                    record.kind.as_str(),
                    record.reference,
                    record.digest,
                    record.url,
                    record.recorded_by,
                    record.at.to_string()
                ],
            )?;
            append(
                tx,
                origin,
                "evidence.add",
                &format!("packet:{packet_id}"),
                None,
                Some(json!(record)),
            )?;
            Ok(record)
        })
    }

    /// The sign-offs and evidence of a packet (empty when none are recorded), oldest
    /// first.
    pub fn records(&self, packet_id: &str) -> Result<Records> {
        let conn = self.conn();
        let mut out = Records {
            packet_id: Some(packet_id.to_owned()),
            ..Records::default()
        };
        let mut stmt = conn.prepare_cached(
            "SELECT role, reviewer, decision, reasons, at, digest FROM signoffs WHERE packet_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![packet_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (role, reviewer, decision, reasons, at, digest) = row?;
            out.signoffs.push(SignOff {
                role: Role::from_name(&role).ok_or_else(|| bad_row("role", &role))?,
                reviewer,
                decision: Decision::from_name(&decision).ok_or_else(|| bad_row("decision", &decision))?,
                reasons: serde_json::from_str(&reasons).map_err(|_| bad_row("reasons", &reasons))?,
                at: timestamp(&at)?,
                digest,
            });
        }
        let mut stmt = conn.prepare_cached(
            "SELECT kind, ref, digest, url, recorded_by, at FROM evidence WHERE packet_id = ?1 ORDER BY seq",
        )?;
        let rows = stmt.query_map(params![packet_id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, Option<String>>(2)?,
                r.get::<_, Option<String>>(3)?,
                r.get::<_, String>(4)?,
                r.get::<_, String>(5)?,
            ))
        })?;
        for row in rows {
            let (kind, reference, digest, url, recorded_by, at) = row?;
            out.evidence.push(EvidenceRecord {
                kind: EvidenceKind::from_name(&kind).ok_or_else(|| bad_row("evidence kind", &kind))?,
                reference,
                digest,
                url,
                recorded_by,
                at: timestamp(&at)?,
            });
        }
        Ok(out)
    }

    /// Where every role of the review matrix stands on the packet's latest stored
    /// version.
    pub fn review_status(&self, packet_id: &str) -> Result<ReviewStatus> {
        let (version, digest) = stored_digests(self.conn(), packet_id)?
            .pop()
            .ok_or_else(|| StoreError::PacketNotFound(packet_id.to_owned()))?;
        let records = self.records(packet_id)?;
        let roles = crate::review::status(&records.signoffs, &digest);
        let complete = roles.iter().all(|r| r.status == "approved");
        Ok(ReviewStatus {
            packet_id: packet_id.to_owned(),
            version,
            digest,
            roles,
            complete,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PACKET: &str = include_str!("../../../examples/token-factory-complete/packet.yaml");

    fn origin(actor: &str, at: &str) -> Origin {
        Origin::new(actor, at.parse().unwrap())
    }

    #[test]
    fn signoffs_bind_to_the_stored_digest_and_are_audited() {
        let mut s = Store::open_in_memory().unwrap();
        let o = origin("pm@example.com", "2026-11-20T10:00:00Z");
        let none = SignOffRequest {
            packet_id: "nope",
            role: Role::Product,
            decision: Decision::Approve,
            reasons: &[],
            digest: None,
        };
        assert_eq!(s.sign_off(&o, &none).unwrap_err().code(), "packet.not_found");
        let put = s.put_packet(&o, PACKET, crate::Format::Yaml).unwrap();
        let id = put.info.packet_id.clone();
        let req = SignOffRequest { packet_id: &id, ..none };
        let so = s.sign_off(&o, &req).unwrap();
        assert_eq!(so.digest, put.info.digest);
        assert_eq!(so.reviewer, "pm@example.com");
        let reject = SignOffRequest {
            decision: Decision::Reject,
            ..req.clone()
        };
        assert_eq!(s.sign_off(&o, &reject).unwrap_err().code(), "review.invalid");
        let other = SignOffRequest {
            digest: Some(&"0".repeat(64)),
            ..req.clone()
        };
        assert_eq!(s.sign_off(&o, &other).unwrap_err().code(), "review.invalid");

        let e = s
            .add_evidence(
                &o,
                &id,
                EvidenceKind::Launch,
                "drill-1",
                None,
                Some("https://x.example.com"),
            )
            .unwrap();
        assert_eq!(e.recorded_by, "pm@example.com");
        assert_eq!(
            s.add_evidence(&o, &id, EvidenceKind::Launch, "drill-1", None, None)
                .unwrap_err()
                .code(),
            "evidence.invalid"
        );
        let r = s.records(&id).unwrap();
        assert_eq!((r.signoffs.len(), r.evidence.len()), (1, 1));
        let st = s.review_status(&id).unwrap();
        assert_eq!(st.roles.iter().filter(|r| r.status == "approved").count(), 1);
        assert!(!st.complete);

        // Storing an edited packet makes the product sign-off stale.
        let edited = PACKET.replace("rollback_posture: Redeploy", "rollback_posture: Re-deploy");
        assert!(edited != PACKET, "the edit must change the packet");
        s.put_packet(&o, &edited, crate::Format::Yaml).unwrap();
        let st = s.review_status(&id).unwrap();
        assert_eq!(st.version, 2);
        assert_eq!(st.roles.first().map(|r| r.status), Some("stale"));

        let actions: Vec<String> = s
            .audit_records(&crate::store::AuditFilter::default())
            .unwrap()
            .into_iter()
            .map(|r| r.action)
            .filter(|a| a.starts_with("review.") || a.starts_with("evidence."))
            .collect();
        assert_eq!(actions, ["review.sign", "evidence.add"]);
        assert!(s.audit_verify().unwrap().ok);
    }
}
