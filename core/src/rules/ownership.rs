//! `ownership.*`: every path has exactly one owner.

use super::{Check, Ctx, Out, Rule};
use crate::decode::Field;
use crate::report::Severity;
use crate::stage::Stage;

/// Two ownership rows claim overlapping paths with different owners.
pub static PATH_CONFLICT: Rule = Rule {
    code: "ownership.path_conflict",
    stage: Stage::Ownership,
    severity: Severity::Error,
    summary: "two ownership rows claim overlapping paths with different owners",
    check: Check::Packet(path_conflict),
};

/// A path without trailing slashes or glob suffixes.
pub fn normalize(path: &str) -> &str {
    let mut p = path.trim();
    loop {
        let next = p
            .trim_end_matches("/**")
            .trim_end_matches("/*")
            .trim_end_matches('*')
            .trim_end_matches('/');
        if next == p {
            return p;
        }
        p = next;
    }
}

/// True when one path equals the other or contains it (segment-wise).
pub fn overlaps(a: &str, b: &str) -> bool {
    let (a, b) = (normalize(a), normalize(b));
    let contains = |outer: &str, inner: &str| {
        outer.is_empty()
            || inner == outer
            || (inner.starts_with(outer) && inner.as_bytes().get(outer.len()) == Some(&b'/'))
    };
    contains(a, b) || contains(b, a)
}

fn path_conflict(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let Some(own) = ctx.body.ownership.value() else {
        return;
    };
    let packages: Vec<(&Field<String>, String)> = own
        .packages
        .value()
        .into_iter()
        .flatten()
        .filter_map(Field::value)
        .filter_map(|r| Some((&r.path, r.owner.value()?.as_str().to_owned())))
        .collect();
    conflicts("package path", &packages, out);
    let routes: Vec<(&Field<String>, String)> = own
        .routes
        .value()
        .into_iter()
        .flatten()
        .filter_map(Field::value)
        .filter_map(|r| Some((&r.prefix, r.owner.value()?.clone())))
        .collect();
    conflicts("route prefix", &routes, out);
}

fn conflicts(what: &str, rows: &[(&Field<String>, String)], out: &mut Out<'_>) {
    for (j, (pj, oj)) in rows.iter().enumerate() {
        let Some(path_j) = pj.value() else { continue };
        let earlier = rows
            .iter()
            .take(j)
            .find(|(pi, oi)| oi != oj && pi.value().is_some_and(|p| overlaps(p, path_j)));
        if let Some((pi, oi)) = earlier {
            let path_i = pi.value().map_or("", String::as_str);
            out.report(
                &pj.ptr,
                pj.pos,
                format!("{what} `{path_j}` (owner `{oj}`) overlaps `{path_i}` (owner `{oi}`, at {}); give each path exactly one owner", pi.ptr),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlap_is_segment_wise() {
        assert!(overlaps("apps/api", "apps/api/v1"));
        assert!(overlaps("apps/api/**", "apps/api"));
        assert!(!overlaps("apps/api", "apps/apix"));
        assert!(overlaps("/v1/tf/", "/v1/tf"));
        assert!(!overlaps("/v1/a", "/v1/b"));
    }
}
