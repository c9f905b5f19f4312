//! `audit.*`: audit actions are registered and cover privileged mutations.

use super::{Check, Rule};
use crate::registry::Kind;
use crate::report::Severity;
use crate::stage::Stage;

/// An audit action is not in the registry.
pub static ACTION_UNREGISTERED: Rule = Rule {
    code: "audit.action_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "an audit action is not in the registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::AuditAction, |_| false)),
};

/// Privileged mutations are listed but no audit action covers them.
pub static PRIVILEGED_UNAUDITED: Rule = Rule {
    code: "audit.privileged_unaudited",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "privileged mutations are listed but no audit action covers them",
    check: Check::Packet(|ctx, out| {
        let Some(a) = ctx.body.shared_services.value().and_then(|s| s.audit.value()) else {
            return;
        };
        let mutations = a.privileged_mutations.value().map_or(0, Vec::len);
        // Marking actions not_applicable does not cover listed privileged mutations.
        if mutations > 0 && !a.actions.is_invalid() && a.actions.value().is_none_or(Vec::is_empty) {
            let f = &a.actions;
            out.report(&f.ptr, f.pos, format!("{mutations} privileged mutation(s) are listed but no audit action is; list the registered audit actions that record them"));
        }
    }),
};
