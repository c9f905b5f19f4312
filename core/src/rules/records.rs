//! `records.*`: the records kept beside the packet (sign-offs, evidence) were given.

use super::{Check, Rule};
use crate::report::Severity;
use crate::stage::Stage;

/// A stage from `uat_evidence` on was asked for but no records were given.
pub static UNAVAILABLE: Rule = Rule {
    code: "records.unavailable",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "a stage from `uat_evidence` on was asked for but no sign-off and evidence records were given (reported once; fail closed)",
    check: Check::Structure,
};
