//! `artifacts.*`: the product's registry entry and supply-chain trust.

use serde_json::Value as Json;

use super::{Check, Rule};
use crate::packet::Trust;
use crate::registry::Kind;
use crate::report::{PatchOp, Severity};
use crate::stage::Stage;

/// Trust requirements lack one of digest_pinned, provenance, sbom.
pub static TRUST_INCOMPLETE: Rule = Rule {
    code: "artifacts.trust_incomplete",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "trust requirements lack one of digest_pinned, provenance, sbom",
    check: Check::Packet(|ctx, out| {
        let Some(ra) = ctx
            .body
            .shared_services
            .value()
            .and_then(|s| s.registry_artifacts.value())
        else {
            return;
        };
        let f = &ra.trust_requirements;
        if f.is_not_applicable() || f.has_invalid() {
            return;
        }
        let have: Vec<Trust> = f
            .value()
            .into_iter()
            .flatten()
            .filter_map(|t| t.value().copied())
            .collect();
        let lacking: Vec<&str> = Trust::NAMES
            .iter()
            .copied()
            .filter(|n| !have.iter().any(|t| t.as_str() == *n))
            .collect();
        if lacking.is_empty() {
            return;
        }
        let patch = if f.value().is_some() {
            lacking
                .iter()
                .map(|n| PatchOp::Add {
                    path: format!("{}/-", f.ptr),
                    value: Json::String((*n).to_owned()),
                })
                .collect()
        } else {
            vec![PatchOp::Add {
                path: f.ptr.clone(),
                value: Json::from(lacking.clone()),
            }]
        };
        out.suggest(
            &f.ptr,
            f.pos,
            format!("trust requirements lack {}", lacking.join(", ")),
            format!("add {}", lacking.join(", ")),
            patch,
        );
    }),
};

/// `product_registry_entry` is not `required`.
pub static REGISTRY_ENTRY: Rule = Rule {
    code: "artifacts.registry_entry",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "`product_registry_entry` is not `required`",
    check: Check::Packet(|ctx, out| {
        let Some(ra) = ctx
            .body
            .shared_services
            .value()
            .and_then(|s| s.registry_artifacts.value())
        else {
            return;
        };
        let f = &ra.product_registry_entry;
        let not_required = match &f.slot {
            crate::decode::Slot::Value(v) => v != "required",
            crate::decode::Slot::NotApplicable(_) => true,
            _ => false,
        };
        if not_required {
            out.suggest(
                &f.ptr,
                f.pos,
                "product_registry_entry must be `required`: every product has a registry entry",
                "set `product_registry_entry: required`",
                vec![PatchOp::Replace {
                    path: f.ptr.clone(),
                    value: Json::String("required".to_owned()),
                }],
            );
        }
    }),
};

/// An artifact type is not in the registry.
pub static TYPE_UNREGISTERED: Rule = Rule {
    code: "artifacts.type_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "an artifact type is not in the registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::ArtifactType, |_| false)),
};
