//! `quota.*`: quota-changing writes identify their snapshot kind and dimension.

use super::{Check, Rule};
use crate::registry::Kind;
use crate::report::Severity;
use crate::stage::Stage;

/// Quota dimensions or snapshot kinds are missing.
pub static INCOMPLETE: Rule = Rule {
    code: "quota.incomplete",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "a quota-changing write lacks snapshot kind, dimension, parent scope or override scope, or names ones the registry/packet does not have",
    check: Check::Packet(|ctx, out| {
        let Some(pq) = ctx.body.shared_services.value().and_then(|s| s.policy_quota.value()) else {
            return;
        };
        let dims_empty = pq.quota_dimensions.value().is_none_or(Vec::is_empty);
        let kinds_empty = pq.snapshot_kinds.value().is_none_or(Vec::is_empty);
        if dims_empty && !pq.quota_dimensions.is_not_applicable() && !pq.quota_dimensions.is_invalid() {
            let f = &pq.quota_dimensions;
            out.report(&f.ptr, f.pos, "no quota dimensions: quota-changing writes must name the dimension they change (or mark quota_dimensions not_applicable)");
        }
        if kinds_empty && !pq.snapshot_kinds.is_not_applicable() && !pq.snapshot_kinds.is_invalid() {
            let f = &pq.snapshot_kinds;
            out.report(&f.ptr, f.pos, "no snapshot kinds: quota-changing writes must name the snapshot kind they record (or mark snapshot_kinds not_applicable)");
        }
    }),
};

/// A quota dimension or snapshot kind is not in the registry.
pub static UNREGISTERED: Rule = Rule {
    code: "quota.incomplete",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a quota dimension or snapshot kind the packet names is not in the registry",
    check: Check::Registry(|ctx, reg, out| {
        super::unregistered(ctx, reg, out, Kind::QuotaDimension, |_| false);
        super::unregistered(ctx, reg, out, Kind::SnapshotKind, |_| false);
    }),
};
