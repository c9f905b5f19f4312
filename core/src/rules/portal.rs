//! `portal.*`: required pages exist with a source and a freshness owner.

use super::{Check, Rule};
use crate::decode::Field;
use crate::packet::{GapKind, Required};
use crate::report::Severity;
use crate::stage::Stage;

/// A required page has neither a page source nor a tracked doc gap.
pub static PAGE_MISSING: Rule = Rule {
    code: "portal.page_missing",
    stage: Stage::Portal,
    severity: Severity::Error,
    summary: "a required page has neither a page nor a tracked doc gap",
    check: Check::Packet(|ctx, out| {
        let Some(docs) = ctx.body.docs_and_portal.value() else {
            return;
        };
        let sources: Vec<_> = docs
            .sources
            .value()
            .into_iter()
            .flatten()
            .filter_map(Field::value)
            .collect();
        for (key, f) in docs.pages() {
            if f.value() != Some(&Required::Required) {
                continue;
            }
            // A row naming the page counts; a row lacking its source or freshness
            // owner is already `packet.missing` and is not reported twice.
            let sourced = sources.iter().any(|s| s.page.value().is_some_and(|p| p == key));
            if !sourced && !ctx.covered(GapKind::DocGap, &f.ptr) {
                out.report(&f.ptr, f.pos, format!("{key} is required but has no `sources` row with a source and freshness owner, and no tracked doc_gap"));
            }
        }
    }),
};
