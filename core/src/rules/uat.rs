//! `uat.*`: tests and rollback exist before release.

use super::{Check, Ctx, Out, Rule};
use crate::decode::Field;
use crate::packet::{GapKind, ROOT_PTR, UatAndRelease};
use crate::report::Severity;
use crate::stage::Stage;
use crate::tree::join;

/// No contract test commands and no tracked blocker.
pub static CONTRACT_TESTS_MISSING: Rule = Rule {
    code: "uat.tests_missing",
    stage: Stage::Contracts,
    severity: Severity::Error,
    summary: "no contract or smoke test commands and no tracked blocker",
    check: Check::Packet(|ctx, out| tests_missing(ctx, out, "contract_tests", |u| &u.contract_tests)),
};

/// No smoke test commands and no tracked blocker.
pub static SMOKE_TESTS_MISSING: Rule = Rule {
    code: "uat.tests_missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "no smoke test commands and no tracked blocker",
    check: Check::Packet(|ctx, out| tests_missing(ctx, out, "smoke_tests", |u| &u.smoke_tests)),
};

fn tests_missing<T>(ctx: &Ctx<'_>, out: &mut Out<'_>, key: &str, field: fn(&UatAndRelease) -> &Field<Vec<Field<T>>>) {
    let section = &ctx.body.uat_and_release;
    let (ptr, pos) = match section.value() {
        Some(u) => {
            let f = field(u);
            if f.is_not_applicable() || f.is_invalid() || f.value().is_some_and(|v| !v.is_empty()) {
                return;
            }
            (f.ptr.clone(), f.pos)
        }
        // The whole section missing is one `packet.missing` once the section is due.
        None if section.is_absent() && ctx.target < Stage::UatEvidence => {
            (join(&join(ROOT_PTR, "uat_and_release"), key), section.pos)
        }
        None => return,
    };
    if !ctx.covered(GapKind::Blocker, &ptr) {
        out.report(
            &ptr,
            pos,
            format!(
                "no {} commands; list them or track a blocker gap for them",
                key.replace('_', " ")
            ),
        );
    }
}

/// No rollback posture.
pub static ROLLBACK_MISSING: Rule = Rule {
    code: "uat.rollback_missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "no rollback posture",
    check: Check::Packet(|ctx, out| {
        let Some(u) = ctx.body.uat_and_release.value() else {
            return;
        };
        let f = &u.rollback_posture;
        if f.is_absent() || f.value().is_some_and(|v| v.trim().is_empty()) {
            out.report(
                &f.ptr,
                f.pos,
                "no rollback posture: say how a bad release is rolled back",
            );
        }
    }),
};
