//! `review.*`: sign-offs of the review matrix.

use super::{Check, Rule};
use crate::report::Severity;
use crate::stage::Stage;

/// A reviewer role has not signed off the packet's current digest.
///
/// Evaluated once sign-offs are stored (the store arrives in a later release);
/// until then validation does not emit it.
pub static MISSING: Rule = Rule {
    code: "review.missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "a reviewer role of the review matrix has not signed off the packet's current digest",
    check: Check::Store,
};
