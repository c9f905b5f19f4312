//! `extraction.*`: no split or extraction without its safety evidence.

use super::{Check, Rule};
use crate::packet::{ExtractionPosture, Readiness};
use crate::report::Severity;
use crate::stage::Stage;

/// Split/extract posture without service auth, degradation contract, rollback and smoke evidence.
pub static NOT_READY: Rule = Rule {
    code: "extraction.not_ready",
    stage: Stage::Extraction,
    severity: Severity::Error,
    summary: "split/extract posture without service auth, degradation contract, rollback and smoke evidence",
    check: Check::Packet(|ctx, out| {
        let b = ctx.body;
        let Some(ex) = b.extraction.value() else {
            return;
        };
        let Some(posture) = ex.posture.value().filter(|p| **p != ExtractionPosture::Keep) else {
            return;
        };
        let uat = b.uat_and_release.value();
        let unreadable = ex.service_auth_packet.is_invalid()
            || ex.degradation_contract.is_invalid()
            || uat.is_some_and(|u| u.rollback_posture.is_invalid() || u.smoke_tests.is_invalid());
        if unreadable {
            return; // already a packet.type finding
        }
        let mut lacking = Vec::new();
        if ex.service_auth_packet.value() != Some(&Readiness::Required) {
            lacking.push("service_auth_packet: required");
        }
        if ex.degradation_contract.value() != Some(&Readiness::Required) {
            lacking.push("degradation_contract: required");
        }
        let uat = b.uat_and_release.value();
        if uat
            .and_then(|u| u.rollback_posture.value())
            .is_none_or(|r| r.trim().is_empty())
        {
            lacking.push("a rollback posture");
        }
        if uat.and_then(|u| u.smoke_tests.value()).is_none_or(Vec::is_empty) {
            lacking.push("smoke tests");
        }
        if !lacking.is_empty() {
            let f = &ex.posture;
            out.report(
                &f.ptr,
                f.pos,
                format!(
                    "posture `{posture}` needs {}; keep the product in place until they exist",
                    lacking.join(", ")
                ),
            );
        }
    }),
};
