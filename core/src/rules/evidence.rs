//! `evidence.*`: evidence types are the platform's, and stage-5 evidence exists.

use super::{Check, Ctx, Out, Rule};
use crate::evidence::EvidenceKind;
use crate::packet::GapKind;
use crate::registry::Kind;
use crate::report::Severity;
use crate::stage::Stage;

/// An evidence type is neither registered nor covered by a tracked missing-artifact gap.
pub static TYPE_UNREGISTERED: Rule = Rule {
    code: "evidence.type_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "an evidence type is neither registered nor covered by a tracked missing-artifact gap",
    check: Check::Registry(|ctx, reg, out| {
        super::unregistered(ctx, reg, out, Kind::EvidenceType, |n| {
            ctx.covered(GapKind::MissingArtifact, n.ptr)
        })
    }),
};

/// A stage-5 evidence kind has no recorded evidence and no tracked gap.
pub static MISSING: Rule = Rule {
    code: "evidence.missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "a stage-5 evidence kind has no recorded evidence and no tracked gap",
    check: Check::Records(missing),
};

/// Where evidence findings point: the release evidence bundle the kinds make up.
const BUNDLE_PTR: &str = "/product_onboarding_packet/uat_and_release/release_evidence_bundle";

fn missing(ctx: &Ctx<'_>, records: &crate::Records, out: &mut Out<'_>) {
    let (ptr, pos) = ctx
        .body
        .uat_and_release
        .value()
        .map_or((crate::packet::ROOT_PTR, ctx.body.pos), |u| {
            (BUNDLE_PTR, u.release_evidence_bundle.pos)
        });
    for kind in EvidenceKind::ALL {
        let recorded = records.evidence.iter().any(|e| e.kind == kind);
        let tracked = ctx
            .gaps()
            .any(|g| g.kind.value() == Some(&GapKind::MissingArtifact) && g.evidence_kind.value() == Some(&kind));
        if !recorded && !tracked {
            out.report(
                ptr,
                pos,
                format!(
                    "no `{kind}` evidence ({}) is recorded and no `missing_artifact` gap with `evidence_kind: {kind}` tracks it",
                    kind.describe()
                ),
            );
        }
    }
}
