//! `billing.*`: usage units, rating posture, the ledger owner and resource types.

use serde_json::Value as Json;

use super::{Check, Ctx, Out, Rule};
use crate::decode::Slot;
use crate::packet::{BillingPosture, Required};
use crate::registry::Kind;
use crate::report::{PatchOp, Severity};
use crate::stage::Stage;

/// A usage unit+version is not in the registry.
pub static USAGE_UNIT_UNREGISTERED: Rule = Rule {
    code: "billing.usage_unit_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a usage unit+version is not in the registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::UsageUnit, |_| false)),
};

/// A resource type is not in the registry.
pub static RESOURCE_TYPE_UNREGISTERED: Rule = Rule {
    code: "billing.resource_type_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a resource type is not in the registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::ResourceType, |_| false)),
};

/// Billable without `rating_rule: required`, or without usage units.
pub static RATING_RULE_REQUIRED: Rule = Rule {
    code: "billing.rating_rule_required",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "posture `billable` without `rating_rule: required`, or without usage units",
    check: Check::Packet(rating_rule),
};

fn rating_rule(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let Some(bl) = ctx.body.shared_services.value().and_then(|s| s.billing.value()) else {
        return;
    };
    if bl.posture.value() != Some(&BillingPosture::Billable) {
        return;
    }
    if !bl.rating_rule.is_invalid() && bl.rating_rule.value() != Some(&Required::Required) {
        let f = &bl.rating_rule;
        out.suggest(
            &f.ptr,
            f.pos,
            "a billable product needs `rating_rule: required`; usage cannot be accepted without a rating posture",
            "set `rating_rule: required`",
            vec![PatchOp::Add {
                path: f.ptr.clone(),
                value: Json::String("required".to_owned()),
            }],
        );
    }
    if !bl.usage_units.is_invalid() && bl.usage_units.value().is_none_or(Vec::is_empty) {
        let f = &bl.usage_units;
        out.report(
            &f.ptr,
            f.pos,
            "a billable product needs at least one usage unit with a version",
        );
    }
}

/// `ledger_write_owner` is not `platform_billing`.
pub static LEDGER_OWNER: Rule = Rule {
    code: "billing.ledger_owner",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "`ledger_write_owner` is not `platform_billing`",
    check: Check::Packet(|ctx, out| {
        let Some(bl) = ctx.body.shared_services.value().and_then(|s| s.billing.value()) else {
            return;
        };
        let f = &bl.ledger_write_owner;
        let found = match &f.slot {
            Slot::Value(v) if v.as_str() != "platform_billing" => format!("`{v}`"),
            Slot::NotApplicable(_) => "marked not_applicable".to_owned(),
            _ => return,
        };
        {
            out.suggest(
                &f.ptr,
                f.pos,
                format!("ledger_write_owner is {found}; only platform billing writes the usage ledger (no product-owned billing fork)"),
                "set `ledger_write_owner: platform_billing`",
                vec![PatchOp::Replace { path: f.ptr.clone(), value: Json::String("platform_billing".to_owned()) }],
            );
        }
    }),
};
