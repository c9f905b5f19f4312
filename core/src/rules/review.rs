//! `review.*`: sign-offs of the review matrix.

use super::{Check, Ctx, Out, Rule};
use crate::Records;
use crate::report::Severity;
use crate::stage::Stage;

/// A reviewer role has not approved the packet's current digest.
pub static MISSING: Rule = Rule {
    code: "review.missing",
    stage: Stage::UatEvidence,
    severity: Severity::Error,
    summary: "a reviewer role of the review matrix has not signed off the packet's current digest",
    check: Check::Records(missing),
};

fn missing(ctx: &Ctx<'_>, records: &Records, out: &mut Out<'_>) {
    let digest = ctx.packet.digest();
    for role in crate::review::status(&records.signoffs, &digest) {
        let name = role.role.title();
        let message = match (role.status, &role.signoff) {
            ("approved", _) => continue,
            ("rejected", Some(s)) => format!(
                "{name} review rejected this version ({} at {}): {}; address it and ask for a new sign-off",
                s.reviewer,
                s.at,
                s.reasons.join("; ")
            ),
            ("stale", Some(s)) => format!(
                "{name} review signed an earlier version ({} at {}, digest {}…); the packet changed since, so it must be signed again",
                s.reviewer,
                s.at,
                s.digest.get(..12).unwrap_or(&s.digest)
            ),
            _ => format!(
                "no {name} sign-off for this version (digest {}…); the reviewer must confirm: {}",
                digest.get(..12).unwrap_or(&digest),
                role.role.must_confirm()
            ),
        };
        out.report(crate::packet::ROOT_PTR, ctx.body.pos, message);
    }
}
