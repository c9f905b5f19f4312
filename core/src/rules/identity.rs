//! `identity.*`: the product's names agree with each other.

use serde_json::Value as Json;

use super::{Check, Ctx, Out, Rule};
use crate::report::{PatchOp, Severity};
use crate::stage::Stage;

/// product_slug is not kebab-case, or packet_id/product_id disagree with it.
pub static SLUG: Rule = Rule {
    code: "identity.slug",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "product_slug is not lowercase kebab-case, or packet_id/product_id disagree with it",
    check: Check::Packet(slug),
};

/// True for lowercase kebab-case (`token-factory`).
pub fn is_kebab(s: &str) -> bool {
    !s.is_empty()
        && s.split('-')
            .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit()))
}

fn kebab(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_owned()
}

fn slug(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let b = ctx.body;
    let Some(slug) = b.product_slug.value() else {
        return;
    };
    if !is_kebab(slug) {
        let fixed = kebab(slug);
        let f = &b.product_slug;
        let message = format!("product_slug `{slug}` is not lowercase kebab-case");
        if is_kebab(&fixed) {
            out.suggest(
                &f.ptr,
                f.pos,
                message,
                format!("use `{fixed}`"),
                vec![PatchOp::Replace {
                    path: f.ptr.clone(),
                    value: Json::String(fixed),
                }],
            );
        } else {
            out.report(&f.ptr, f.pos, message);
        }
        return;
    }
    if let Some(id) = b.product_id.value()
        && id != slug
    {
        let f = &b.product_id;
        out.suggest(
            &f.ptr,
            f.pos,
            format!("product_id `{id}` disagrees with product_slug `{slug}`"),
            format!("use `{slug}`"),
            vec![PatchOp::Replace {
                path: f.ptr.clone(),
                value: Json::String(slug.clone()),
            }],
        );
    }
    if let Some(id) = b.packet_id.value() {
        let prefix = format!("{slug}-");
        if id != slug && !id.starts_with(&prefix) {
            let f = &b.packet_id;
            out.report(&f.ptr, f.pos, format!("packet_id `{id}` does not start with the product slug `{slug}`; name it like `{slug}-onboarding-v1`"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kebab_case() {
        assert!(is_kebab("token-factory"));
        assert!(is_kebab("a1"));
        assert!(!is_kebab("Token-Factory"));
        assert!(!is_kebab("token_factory"));
        assert!(!is_kebab("-x"));
        assert_eq!(kebab("Token Factory"), "token-factory");
    }
}
