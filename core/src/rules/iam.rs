//! `iam.*`: scopes are registered and live in the product's namespace.

use serde_json::Value as Json;

use super::{Check, Ctx, Out, Rule};
use crate::decode::Field;
use crate::registry::Kind;
use crate::report::{PatchOp, Severity};
use crate::stage::Stage;

/// A scope string is not in the registry.
pub static SCOPE_UNREGISTERED: Rule = Rule {
    code: "iam.scope_unregistered",
    stage: Stage::Registry,
    severity: Severity::Error,
    summary: "a scope string is not in the registry",
    check: Check::Registry(|ctx, reg, out| super::unregistered(ctx, reg, out, Kind::Scope, |_| false)),
};

/// A scope is not in the product's namespace.
pub static SCOPE_NAMESPACE: Rule = Rule {
    code: "iam.scope_namespace",
    stage: Stage::PlatformServices,
    severity: Severity::Error,
    summary: "a scope is not in the product's namespace (`<product_slug with - as _>:<resource>:<verb>`)",
    check: Check::Packet(scope_namespace),
};

/// The scope namespace of a product slug (`token-factory` → `token_factory`).
pub fn namespace(slug: &str) -> String {
    slug.replace('-', "_")
}

fn is_segment(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// True when `scope` is `<ns>:<resource>:<verb>` with lowercase snake segments.
pub fn in_namespace(scope: &str, ns: &str) -> bool {
    let mut parts = scope.split(':');
    matches!((parts.next(), parts.next(), parts.next(), parts.next()),
        (Some(n), Some(r), Some(v), None) if n == ns && is_segment(r) && is_segment(v))
}

fn scope_namespace(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let reg = ctx.registry;
    let b = ctx.body;
    let Some(slug) = b.product_slug.value() else {
        return;
    };
    let ns = namespace(slug);
    let scopes = b
        .shared_services
        .value()
        .and_then(|s| s.iam.value())
        .and_then(|i| i.scopes.value());
    for row in scopes.into_iter().flatten().filter_map(Field::value) {
        let f = &row.scope;
        let Some(scope) = f.value() else { continue };
        if in_namespace(scope, &ns) {
            continue;
        }
        let message =
            format!("scope `{scope}` is not in the product's namespace; scopes look like `{ns}:<resource>:<verb>`");
        let tail: Vec<&str> = scope.split(':').skip(1).collect();
        let candidate = if tail.len() == 2 {
            Some(format!("{ns}:{}", tail.join(":")))
        } else {
            None
        };
        // Only a registered near-match is offered: without a registry, no suggestion.
        let registered = |c: &str| reg.is_some_and(|r| r.get(Kind::Scope, c).is_some());
        match candidate.filter(|c| in_namespace(c, &ns) && registered(c)) {
            Some(c) => out.suggest(
                &f.ptr,
                f.pos,
                message,
                format!("did you mean `{c}`?"),
                vec![PatchOp::Replace {
                    path: f.ptr.clone(),
                    value: Json::String(c),
                }],
            ),
            None => out.report(&f.ptr, f.pos, message),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces() {
        assert!(in_namespace("token_factory:model:invoke", "token_factory"));
        assert!(!in_namespace("token-factory:model:invoke", "token_factory"));
        assert!(!in_namespace("token_factory:model", "token_factory"));
        assert!(!in_namespace("token_factory:Model:invoke", "token_factory"));
        assert!(!in_namespace("token_factory:a:b:c", "token_factory"));
    }
}
