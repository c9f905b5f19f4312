//! `evidence.*`: evidence types are the platform's, and stage-5 evidence exists.

use super::{Check, Rule};
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
///
/// Evaluated once evidence records are stored (the store arrives in a later
/// release); until then validation does not emit it.
pub static MISSING: Rule = Rule {
    code: "evidence.missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "a stage-5 evidence kind has no recorded evidence and no tracked gap",
    check: Check::Store,
};
