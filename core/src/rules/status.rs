//! `status.*`: product health is represented by Status/Ops components.

use super::{Check, Rule};
use crate::packet::GapKind;
use crate::report::Severity;
use crate::stage::Stage;

/// No status component ids and no tracked missing-artifact gap.
pub static COMPONENT_MISSING: Rule = Rule {
    code: "status.component_missing",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "no status component ids and no tracked missing-artifact gap",
    check: Check::Packet(|ctx, out| {
        let Some(es) = ctx.body.shared_services.value().and_then(|s| s.evidence_status.value()) else {
            return;
        };
        let f = &es.status_components;
        if f.is_not_applicable()
            || f.is_invalid()
            || f.value().is_some_and(|v| !v.is_empty())
            || ctx.covered(GapKind::MissingArtifact, &f.ptr)
        {
            return;
        }
        out.report(&f.ptr, f.pos, "no status component ids: product health cannot be represented only by logs or SQL; list Status/Ops component ids or track a missing_artifact gap for them");
    }),
};
