//! `packet.*`, `na.*` and `gap.*`: the document's own shape.

use super::{Check, Ctx, Out, Rule};
use crate::decode::Field;
use crate::packet::{GapKind, Packet};
use crate::report::Severity;
use crate::stage::Stage;

/// The document is not valid YAML/JSON, too large, too deep, or an alias bomb.
pub static PARSE: Rule = Rule {
    code: "packet.parse",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "the document is not valid YAML/JSON, is too large, too deep, or uses aliases past the expansion limit",
    check: Check::Structure,
};

/// Unsupported `schema_version`.
pub static SCHEMA_VERSION: Rule = Rule {
    code: "packet.schema_version",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "unsupported `schema_version`",
    check: Check::Packet(schema_version),
};

/// The major version this build reads.
pub const SUPPORTED_MAJOR: u64 = 1;

fn schema_version(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let f = &ctx.body.schema_version;
    if let Some(v) = f.value().filter(|v| v.0.major != SUPPORTED_MAJOR) {
        out.report(
            &f.ptr,
            f.pos,
            format!(
                "schema_version `{}` is not supported; this build reads {SUPPORTED_MAJOR}.x packets",
                v.0
            ),
        );
    }
}

/// A key the schema does not have.
pub static UNKNOWN_FIELD: Rule = Rule {
    code: "packet.unknown_field",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "a key the schema does not have",
    check: Check::Structure,
};

/// Wrong type, or a value outside the field's enum.
pub static TYPE: Rule = Rule {
    code: "packet.type",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "wrong type, or a value outside the field's enum",
    check: Check::Structure,
};

/// References inside the packet that must name something real.
pub static REFS: Rule = Rule {
    code: "packet.type",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "a reference (gap or exception ref, exception rule, source page) names nothing",
    check: Check::Packet(refs),
};

/// A ref must name a field below the packet root: the root itself would cover
/// everything at once.
fn valid_ref(r: &str) -> bool {
    r.starts_with(crate::packet::ROOT_PTR) && r != crate::packet::ROOT_PTR && Packet::field_info(r).is_some()
}

fn refs(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    let b = ctx.body;
    for g in ctx.gaps() {
        check_ref(&g.r#ref, out);
    }
    for e in b.exceptions.value().into_iter().flatten().filter_map(Field::value) {
        check_ref(&e.r#ref, out);
        if let Some(rule) = e.rule.value() {
            if super::rule(rule).is_none() {
                out.report(&e.rule.ptr, e.rule.pos, format!("`{rule}` is not a rule code"));
            } else if !super::exceptable(rule) {
                out.report(
                    &e.rule.ptr,
                    e.rule.pos,
                    format!("`{rule}` cannot be excepted: fix the packet (or give the registry) instead"),
                );
            }
        }
    }
    if let Some(docs) = b.docs_and_portal.value() {
        let pages = docs.pages().map(|(k, _)| k);
        for s in docs.sources.value().into_iter().flatten().filter_map(Field::value) {
            if let Some(page) = s.page.value()
                && !pages.contains(&page.as_str())
            {
                out.report(
                    &s.page.ptr,
                    s.page.pos,
                    format!("`{page}` is not a page; expected one of {}", pages.join(", ")),
                );
            }
        }
    }
}

fn check_ref(f: &Field<String>, out: &mut Out<'_>) {
    if let Some(r) = f.value()
        && !valid_ref(r)
    {
        out.report(
                &f.ptr,
                f.pos,
                format!("ref `{r}` is not a packet field; write a JSON Pointer such as /product_onboarding_packet/docs_and_portal/operator_page"),
            );
    }
}

/// A required field (for the stage asked) is absent.
pub static MISSING: Rule = Rule {
    code: "packet.missing",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "a required field (for the stage asked) is absent",
    check: Check::Structure,
};

/// The same entry listed twice.
pub static DUPLICATE: Rule = Rule {
    code: "packet.duplicate",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "the same scope / usage unit+version / action / template / ... listed twice",
    check: Check::Structure,
};

/// `not_applicable` without owner, reason and review_date.
pub static NA_UNJUSTIFIED: Rule = Rule {
    code: "na.unjustified",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "`not_applicable` without owner, reason and review_date",
    check: Check::Structure,
};

/// A `not_applicable` review_date is past.
pub static NA_EXPIRED: Rule = Rule {
    code: "na.expired",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "a `not_applicable` review_date is past",
    check: Check::Packet(na_expired),
};

fn na_expired(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    for na in ctx.packet.not_applicable_markers() {
        if let Some(d) = na.review_date.filter(|d| *d < ctx.as_of) {
            out.report_at(
                na.stage,
                &na.ptr,
                na.pos,
                format!("not_applicable was due for review on {d}; review it and set a new review_date, or fill in the field"),
            );
        }
    }
}

/// A tracked gap's due_date is past.
pub static GAP_OVERDUE: Rule = Rule {
    code: "gap.overdue",
    stage: Stage::Intake,
    severity: Severity::Error,
    summary: "a tracked gap's due_date is past",
    check: Check::Packet(gap_overdue),
};

fn gap_overdue(ctx: &Ctx<'_>, out: &mut Out<'_>) {
    for g in ctx.gaps() {
        let Some(due) = g.due_date.value().filter(|d| **d < ctx.as_of) else {
            continue;
        };
        // The gap is due where it stops covering: the stage of the field it stands
        // in for, or the earliest stage whose rules consult gaps of its kind.
        let field_stage = g
            .r#ref
            .value()
            .and_then(|r| Packet::field_info(r))
            .map_or(Stage::Intake, |i| i.stage);
        let kind_stage = match g.kind.value() {
            Some(GapKind::MissingArtifact) => Stage::Registry,
            Some(GapKind::Blocker) => Stage::Contracts,
            Some(GapKind::DocGap) => Stage::Portal,
            None => Stage::Intake,
        };
        let stage = field_stage.min(kind_stage);
        let id = g.tracking_id.value().map_or("the gap", String::as_str);
        out.report_at(
            stage,
            &g.due_date.ptr,
            g.due_date.pos,
            format!("{id} was due on {due}; close it or agree a new due_date with its owner"),
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn dates_are_strict() {
        assert!(crate::decode::parse_date("2026-11-22").is_some());
        assert!(crate::decode::parse_date("2026-1-22").is_none());
        assert!(crate::decode::parse_date("2026-02-30").is_none());
    }
}
