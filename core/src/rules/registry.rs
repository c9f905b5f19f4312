//! `registry.*`: the packet against the registry's entries and their states.

use super::{Check, Ctx, Named, Out, Rule};
use crate::decode::Field;
use crate::packet::{Body, Lifecycle, Posture};
use crate::registry::{Entry, Kind, Registry, State};
use crate::report::Severity;
use crate::stage::Stage;

/// Every registry name the packet uses, in document order.
pub fn named(b: &Body) -> Vec<Named<'_>> {
    let mut out = Vec::new();
    fn push<'a>(out: &mut Vec<Named<'a>>, kind: Kind, f: &'a Field<String>) {
        if let Some(key) = f.value() {
            out.push(Named {
                kind,
                key,
                version: None,
                ptr: &f.ptr,
                pos: f.pos,
            });
        }
    }
    fn rows<'a, T: 'a>(list: &'a Field<Vec<Field<T>>>) -> impl Iterator<Item = &'a T> {
        list.value().into_iter().flatten().filter_map(Field::value)
    }
    if let Some(id) = b.product_id.value() {
        out.push(Named {
            kind: Kind::Product,
            key: id,
            version: None,
            ptr: &b.product_id.ptr,
            pos: b.product_id.pos,
        });
    }
    let Some(ss) = b.shared_services.value() else {
        return out;
    };
    if let Some(iam) = ss.iam.value() {
        for r in rows(&iam.scopes) {
            push(&mut out, Kind::Scope, &r.scope);
        }
        for r in iam.roles.value().into_iter().flatten() {
            push(&mut out, Kind::Role, r);
        }
    }
    if let Some(bl) = ss.billing.value() {
        for u in rows(&bl.usage_units) {
            if let (Some(key), Some(v)) = (u.unit.value(), u.version.value().map(|v| v.version.clone())) {
                out.push(Named {
                    kind: Kind::UsageUnit,
                    key,
                    version: Some(v),
                    ptr: &u.unit.ptr,
                    pos: u.unit.pos,
                });
            }
        }
        for r in bl.resource_types.value().into_iter().flatten() {
            push(&mut out, Kind::ResourceType, r);
        }
    }
    if let Some(a) = ss.audit.value() {
        for r in rows(&a.actions) {
            push(&mut out, Kind::AuditAction, &r.action);
        }
    }
    if let Some(n) = ss.notifications.value() {
        for r in rows(&n.templates) {
            push(&mut out, Kind::NotificationTemplate, &r.template_key);
        }
    }
    if let Some(e) = ss.evidence_status.value() {
        for r in rows(&e.evidence_types) {
            push(&mut out, Kind::EvidenceType, &r.r#type);
        }
        for r in rows(&e.status_components) {
            push(&mut out, Kind::StatusComponent, &r.component_id);
        }
    }
    if let Some(p) = ss.policy_quota.value() {
        for r in rows(&p.policy_keys) {
            push(&mut out, Kind::PolicyKey, &r.key);
        }
        for r in rows(&p.quota_dimensions) {
            push(&mut out, Kind::QuotaDimension, &r.dimension);
        }
        for r in rows(&p.snapshot_kinds) {
            push(&mut out, Kind::SnapshotKind, &r.kind);
        }
    }
    if let Some(ra) = ss.registry_artifacts.value() {
        for r in rows(&ra.artifact_types) {
            push(&mut out, Kind::ArtifactType, &r.r#type);
        }
    }
    if let Some(sp) = ss.secrets_pki.value() {
        for r in rows(&sp.credential_purposes) {
            push(&mut out, Kind::CredentialPurpose, &r.purpose);
        }
    }
    out
}

fn lookup<'r>(reg: &'r Registry, n: &Named<'_>) -> Option<&'r Entry> {
    match &n.version {
        Some(v) => reg.get_version(n.kind, n.key, v),
        None => reg.get(n.kind, n.key),
    }
}

fn label(n: &Named<'_>) -> String {
    match &n.version {
        Some(v) => format!("{} `{}@{v}`", n.kind, n.key),
        None => format!("{} `{}`", n.kind, n.key),
    }
}

/// A stage from `registry` on was asked for but no registry was given.
pub static UNAVAILABLE: Rule = Rule {
    code: "registry.unavailable",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a stage from `registry` on was asked for but no registry was given (reported once; fail closed)",
    check: Check::Structure,
};

/// The packet's declared `registry_state` differs from the registry's state.
pub static STATE_MISMATCH: Rule = Rule {
    code: "registry.state_mismatch",
    stage: Stage::Registry,
    severity: Severity::Warning,
    summary: "the packet's declared `registry_state` differs from the registry's state",
    check: Check::Registry(state_mismatch),
};

fn state_mismatch(ctx: &Ctx<'_>, reg: &Registry, out: &mut Out<'_>) {
    let scopes = ctx
        .body
        .shared_services
        .value()
        .and_then(|s| s.iam.value())
        .and_then(|i| i.scopes.value());
    for row in scopes.into_iter().flatten().filter_map(Field::value) {
        let (Some(scope), Some(declared)) = (row.scope.value(), row.registry_state.value()) else {
            continue;
        };
        // Deprecated and retired scopes have rules of their own.
        let Some(entry) = reg
            .get(Kind::Scope, scope)
            .filter(|e| matches!(e.state, State::Draft | State::Active))
        else {
            continue;
        };
        if entry.state.as_str() != declared.as_str() {
            let f = &row.registry_state;
            out.suggest(
                &f.ptr,
                f.pos,
                format!(
                    "scope `{scope}` is declared `{declared}` but the registry has it `{}`",
                    entry.state
                ),
                format!("declare `{}`", entry.state),
                vec![crate::report::PatchOp::Replace {
                    path: f.ptr.clone(),
                    value: serde_json::Value::String(entry.state.as_str().to_owned()),
                }],
            );
        }
    }
}

/// The product has no registry entry.
pub static PRODUCT_MISSING: Rule = Rule {
    code: "registry.product_missing",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "the product has no registry entry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::Product, |_| false)),
};

/// The product is visible outside onboarding while its entry is not active.
pub static PRODUCT_INACTIVE: Rule = Rule {
    code: "registry.product_inactive",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "the product is visible outside onboarding (lifecycle `active`, or exposure `partner`/`external` past stage `registry`) while its entry is not active",
    check: Check::Registry(product_inactive),
};

/// Why the product counts as visible outside onboarding at this target stage, and
/// the stage whose gate that belongs to: lifecycle `active` (from `registry`), or
/// exposure `partner`/`external` past stage `registry` (from `contracts`).
fn visibility(ctx: &Ctx<'_>) -> Option<(String, Stage)> {
    let b = ctx.body;
    if let Some(l) = b.lifecycle_state.value().filter(|l| **l == Lifecycle::Active) {
        return Some((format!("lifecycle_state is `{l}`"), Stage::Registry));
    }
    let posture = b.exposure.value().and_then(|e| e.posture.value());
    match posture {
        Some(p @ (Posture::Partner | Posture::External)) if ctx.target > Stage::Registry => {
            Some((format!("exposure is `{p}`"), Stage::Contracts))
        }
        _ => None,
    }
}

fn product_inactive(ctx: &Ctx<'_>, reg: &Registry, out: &mut Out<'_>) {
    let Some(n) = ctx.named.iter().find(|n| n.kind == Kind::Product) else {
        return;
    };
    let Some(entry) = lookup(reg, n).filter(|e| e.state != State::Active) else {
        return;
    };
    if let Some((why, stage)) = visibility(ctx) {
        out.report_at(
            stage,
            n.ptr,
            n.pos,
            format!(
                "product `{}` is visible outside onboarding ({why}) but its registry entry is `{}`; runtime visibility stays disabled until the entry is active",
                n.key, entry.state
            ),
        );
    }
}

/// Entries the state rules look at: every named entry, but the product only while
/// it is not visible (a visible product's entry is `registry.product_inactive`'s).
fn state_subjects<'c>(ctx: &'c Ctx<'_>) -> impl Iterator<Item = &'c Named<'c>> {
    let product_visible = visibility(ctx).is_some();
    ctx.named
        .iter()
        .filter(move |n| n.kind != Kind::Product || !product_visible)
}

/// From lifecycle `active` on, a named registry entry is not active.
pub static ENTRY_INACTIVE: Rule = Rule {
    code: "registry.entry_inactive",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "from lifecycle `active` on, a named registry entry is not `active`",
    check: Check::Registry(entry_inactive),
};

fn entry_inactive(ctx: &Ctx<'_>, reg: &Registry, out: &mut Out<'_>) {
    let lifecycle = ctx.body.lifecycle_state.value();
    if !matches!(
        lifecycle,
        Some(Lifecycle::Active | Lifecycle::Deprecated | Lifecycle::Retired)
    ) {
        return;
    }
    for n in state_subjects(ctx) {
        if let Some(e) = lookup(reg, n).filter(|e| e.state == State::Draft) {
            out.report(
                n.ptr,
                n.pos,
                format!(
                    "{} is `{}` in the registry but the product is `{}`; activate the entry",
                    label(n),
                    e.state,
                    lifecycle.map_or("", |l| l.as_str())
                ),
            );
        }
    }
}

/// A named registry entry is retired.
pub static ENTRY_RETIRED: Rule = Rule {
    code: "registry.entry_retired",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a named registry entry is retired",
    check: Check::Registry(|ctx, reg, out| {
        for n in state_subjects(ctx) {
            if lookup(reg, n).is_some_and(|e| e.state == State::Retired) {
                out.report(n.ptr, n.pos, format!("{} is retired; use its replacement", label(n)));
            }
        }
    }),
};

/// A named registry entry is deprecated.
pub static ENTRY_DEPRECATED: Rule = Rule {
    code: "registry.entry_deprecated",
    stage: Stage::Registry,
    severity: Severity::Warning,
    summary: "a named registry entry is deprecated; the message gives its sunset date",
    check: Check::Registry(|ctx, reg, out| {
        for n in state_subjects(ctx) {
            if let Some(e) = lookup(reg, n).filter(|e| e.state == State::Deprecated) {
                let when = e
                    .sunset
                    .map_or_else(|| "no sunset date is set".to_owned(), |d| format!("sunset {d}"));
                out.report(
                    n.ptr,
                    n.pos,
                    format!("{} is deprecated ({when}); plan the move to its replacement", label(n)),
                );
            }
        }
    }),
};

/// A role, status component, policy key or credential purpose is not registered.
pub static ENTRY_UNREGISTERED: Rule = Rule {
    code: "registry.entry_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a role, status component, policy key or credential purpose is not in the registry",
    check: Check::Registry(|ctx, reg, out| {
        for kind in [
            Kind::Role,
            Kind::StatusComponent,
            Kind::PolicyKey,
            Kind::CredentialPurpose,
        ] {
            super::unregistered(ctx, reg, out, kind, |_| false);
        }
    }),
};
