//! `secrets.*`: credentials stay in platform custody.

use super::{Check, Ctx, Out, Rule};
use crate::report::Severity;
use crate::stage::Stage;

/// Custody tiers the platform runs.
pub const PLATFORM_TIERS: &[&str] = &["vault", "step_ca", "platform_metadata"];

/// A custody tier that is not a platform tier, without an approved exception.
pub static PRODUCT_CUSTODY: Rule = Rule {
    code: "secrets.product_custody",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "a custody tier that is not a platform tier, without an approved, unexpired exception",
    check: Check::Packet(product_custody),
};

fn product_custody(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let Some(sp) = ctx.body.shared_services.value().and_then(|s| s.secrets_pki.value()) else {
        return;
    };
    let f = &sp.custody_tier;
    let Some(tier) = f.value() else { return };
    if PLATFORM_TIERS.contains(&tier.as_str()) {
        return;
    }
    let hint = crate::decode::did_you_mean(tier, PLATFORM_TIERS.iter().copied());
    let message = format!(
        "custody tier `{tier}` is product-owned secret custody; use one of {} or record an exception approved by security architecture",
        PLATFORM_TIERS.join(", ")
    );
    match hint {
        Some(h) => out.suggest(
            &f.ptr,
            f.pos,
            message,
            format!("did you mean `{h}`?"),
            vec![crate::report::PatchOp::Replace {
                path: f.ptr.clone(),
                value: serde_json::Value::String(h.to_owned()),
            }],
        ),
        None => out.report(&f.ptr, f.pos, message),
    }
}
