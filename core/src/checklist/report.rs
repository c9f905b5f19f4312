//! A checklist run's verdict as Markdown, for portal pages and the release bundle:
//! the summary, each section's items with their status and evidence, the exit
//! criteria with what blocks them, the known gaps, the decision record and the run's
//! problems. Deterministic: the same run, facts and `as_of` give the same bytes.
//!
//! ```
//! use gangway::checklist::{Facts, Run, Template, evaluate, report};
//!
//! let template = Template::from_yaml(r#"
//! id: mini
//! title: Mini
//! source: an example
//! sections:
//!   - id: ops
//!     title: Operations
//!     items:
//!       - {id: rollback, text: Rollback levers confirmed, kind: manual}
//! exit_criteria:
//!   - {id: all, text: Everything checked, all_sections: true}
//! "#)?;
//! let run = Run::new("mini");
//! let verdict = evaluate(&template, &run, &Facts::default(), "2026-03-01".parse()?);
//! let md = report::markdown(&template, Some("RUN-000001"), &run, &verdict);
//! assert!(md.starts_with("# Mini — RUN-000001\n"));
//! assert!(md.contains("| `ops.rollback` | Rollback levers confirmed | manual | open |"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt::Write as _;

use super::run::{Blocker, ItemStatus, Run, Verdict};
use super::template::Template;

/// The status as written in reports (`waiver_lapsed` → `waiver lapsed`).
pub fn status_text(status: ItemStatus) -> &'static str {
    match status {
        ItemStatus::Done => "done",
        ItemStatus::Failed => "failed",
        ItemStatus::Open => "open",
        ItemStatus::Waived => "waived",
        ItemStatus::WaiverLapsed => "waiver lapsed",
        ItemStatus::EvidenceMissing => "evidence missing",
    }
}

/// A table cell: one line, pipes escaped.
fn cell(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .replace('|', "\\|")
}

/// One blocker, for people.
pub fn blocker_text(b: &Blocker) -> String {
    match b {
        Blocker::Item { key, status } => format!("`{key}` is {}", status_text(*status)),
        Blocker::Section { id } => format!("section `{id}` is incomplete"),
        Blocker::DecisionRecord { missing } => format!("decision record lacks {}", missing.join(", ")),
        Blocker::OverdueGap { text, owner, due } => format!("gap \"{text}\" ({owner}) was due {due}"),
    }
}

/// The Markdown report of `verdict`, the evaluation of `run` (stored as `run_id`,
/// when it is) against `template`.
pub fn markdown(template: &Template, run_id: Option<&str>, run: &Run, verdict: &Verdict) -> String {
    let mut out = String::new();
    let title = match run_id {
        Some(id) => format!("# {} — {id}\n\n", cell(&template.title)),
        None => format!("# {}\n\n", cell(&template.title)),
    };
    out.push_str(&title);
    let _ = writeln!(out, "- Template: `{}` ({})", template.id, cell(&template.source));
    let _ = writeln!(out, "- As of: {}", verdict.as_of);
    let _ = writeln!(
        out,
        "- Verdict: **{}**",
        if verdict.complete { "complete" } else { "not complete" }
    );
    let c = &verdict.counts;
    let _ = writeln!(
        out,
        "- Items: {} — {} done, {} waived, {} open, {} failed, {} waiver lapsed, {} evidence missing",
        c.total, c.done, c.waived, c.open, c.failed, c.waiver_lapsed, c.evidence_missing
    );
    if !run.parameters.is_empty() {
        let params: Vec<String> = run
            .parameters
            .iter()
            .map(|(k, v)| format!("`{k}` = `{}`", cell(v)))
            .collect();
        let _ = writeln!(out, "- Parameters: {}", params.join(", "));
    }

    for section in &template.sections {
        let complete = verdict
            .sections
            .iter()
            .find(|s| s.id == section.id)
            .is_some_and(|s| s.complete);
        let _ = writeln!(
            out,
            "\n## {} ({})\n",
            cell(&section.title),
            if complete { "complete" } else { "incomplete" }
        );
        out.push_str("| item | what | kind | status | detail |\n|---|---|---|---|---|\n");
        let prefix = format!("{}.", section.id);
        for (item, def) in verdict
            .items
            .iter()
            .filter(|i| i.key.starts_with(&prefix))
            .zip(&section.items)
        {
            let mut detail: Vec<String> = Vec::new();
            if let Some(r) = &item.reason {
                detail.push(cell(r));
            }
            if let Some(e) = item.waiver_expires {
                detail.push(format!("waiver until {e}"));
            }
            let record = run.items.get(&item.key);
            if let Some(r) = record {
                let evidence: Vec<String> = r
                    .evidence
                    .iter()
                    .filter(|e| !e.trim().is_empty())
                    .map(|e| format!("`{}`", cell(e)))
                    .collect();
                if !evidence.is_empty() {
                    detail.push(format!("evidence {}", evidence.join(", ")));
                }
                if let Some(w) = r.waiver.as_ref().filter(|_| item.waiver_expires.is_some()) {
                    detail.push(format!("waived by {}", cell(&w.owner)));
                }
                if let Some(a) = &r.result {
                    if !a.request_ids.is_empty() {
                        detail.push(format!("request ids {}", a.request_ids.join(", ")));
                    }
                    if !a.job_ids.is_empty() {
                        detail.push(format!("job ids {}", a.job_ids.join(", ")));
                    }
                    if let Some(at) = a.finished_at {
                        detail.push(format!("ran {at}"));
                    }
                }
                if let Some(n) = &r.note {
                    detail.push(format!("note: {}", cell(n)));
                }
            }
            if let (Some(by), Some(at)) = (&item.by, item.at) {
                detail.push(format!("by {} at {at}", cell(by)));
            }
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} | {} |",
                item.key,
                cell(&def.text),
                item.kind.as_str(),
                status_text(item.status),
                detail.join("; ")
            );
        }
    }

    out.push_str("\n## Exit criteria\n\n| criterion | what | met | blocking |\n|---|---|---|---|\n");
    for (c, def) in verdict.exit_criteria.iter().zip(&template.exit_criteria) {
        let blocking: Vec<String> = c.blocking.iter().map(|b| cell(&blocker_text(b))).collect();
        let _ = writeln!(
            out,
            "| `{}` | {} | {} | {} |",
            c.id,
            cell(&def.text),
            if c.met { "yes" } else { "**no**" },
            blocking.join("; ")
        );
    }

    out.push_str("\n## Known gaps\n\n");
    if run.known_gaps.is_empty() {
        out.push_str("None listed.\n");
    } else {
        out.push_str("| gap | owner | due | overdue |\n|---|---|---|---|\n");
        let mut gaps: Vec<_> = run.known_gaps.iter().collect();
        gaps.sort_by(|a, b| (a.due, &a.owner, &a.text).cmp(&(b.due, &b.owner, &b.text)));
        for g in gaps {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} |",
                cell(&g.text),
                cell(&g.owner),
                g.due,
                if g.due < verdict.as_of { "**yes**" } else { "no" }
            );
        }
    }

    out.push_str("\n## Decision record\n\n");
    let d = &run.decision_record;
    let field = |v: &Option<String>| v.as_deref().map_or_else(|| "*missing*".to_owned(), cell);
    let signoff = d
        .technical_owner_signoff
        .as_ref()
        .map_or_else(|| "*missing*".to_owned(), |s| format!("{} at {}", cell(&s.by), s.at));
    let _ = writeln!(out, "- Technical owner sign-off: {signoff}");
    let _ = writeln!(out, "- Rollback authority: {}", field(&d.rollback_authority));
    let _ = writeln!(out, "- Support channel: {}", field(&d.support_channel));
    let _ = writeln!(out, "- Support SLA: {}", field(&d.support_sla));
    let _ = writeln!(
        out,
        "- Complete: {}",
        if verdict.decision_record.complete {
            "yes"
        } else {
            "**no**"
        }
    );

    if !verdict.problems.is_empty() {
        out.push_str("\n## Problems\n\n");
        for p in &verdict.problems {
            let _ = writeln!(out, "- `{}`: {}", p.code, cell(&p.message));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::{DecisionRecord, Facts, ItemState, KnownGap, Signoff, Template, Waiver, evaluate};

    const T: &str = r#"
id: mini
title: Mini | launch
source: seed 001
sections:
  - id: ops
    title: Operations
    items:
      - {id: rollback, text: "Rollback levers | confirmed", kind: manual}
      - {id: alerts, text: Alert routing, kind: manual}
  - id: pay
    title: Billing
    items:
      - {id: gate, text: paid, kind: gate, gate: {kind: billing, tenant: acme}}
exit_criteria:
  - {id: all, text: Everything checked, all_sections: true}
  - {id: decision, text: Decision, decision_record: true, no_overdue_gaps: true}
"#;

    #[test]
    fn reports_sections_criteria_gaps_and_the_decision_record() {
        let t = Template::from_yaml(T).unwrap();
        let mut run = crate::checklist::Run::new("mini");
        let r = run.item_mut("ops.rollback");
        r.state = ItemState::Done;
        r.evidence = vec!["ticket-1".into()];
        r.by = Some("ana".into());
        r.at = Some("2026-03-01T10:00:00Z".parse().unwrap());
        let w = run.item_mut("ops.alerts");
        w.state = ItemState::Waived;
        w.waiver = Some(Waiver {
            owner: "ops".into(),
            reason: "next sprint".into(),
            expires: "2026-03-10".parse().unwrap(),
        });
        run.known_gaps.push(KnownGap {
            text: "nightly alerting".into(),
            owner: "ops".into(),
            due: "2026-03-01".parse().unwrap(),
        });
        run.decision_record = DecisionRecord {
            technical_owner_signoff: Some(Signoff {
                by: "ana".into(),
                at: "2026-03-01T10:00:00Z".parse().unwrap(),
            }),
            rollback_authority: Some("cto".into()),
            ..DecisionRecord::default()
        };
        let v = evaluate(&t, &run, &Facts::default(), "2026-03-02".parse().unwrap());
        let md = markdown(&t, None, &run, &v);
        assert!(md.starts_with("# Mini \\| launch\n"), "{md}");
        assert!(md.contains("- Verdict: **not complete**"));
        assert!(md.contains(
            "| `ops.rollback` | Rollback levers \\| confirmed | manual | done | evidence `ticket-1`; by ana at 2026-03-01T10:00:00Z |"
        ), "{md}");
        assert!(md.contains("| `ops.alerts` | Alert routing | manual | waived | next sprint; waiver until 2026-03-10; waived by ops |"), "{md}");
        assert!(
            md.contains("| `pay.gate` | paid | gate | open | no fact given for the billing gate of tenant `acme` |"),
            "{md}"
        );
        assert!(md.contains("| `decision` | Decision | **no** | decision record lacks support_channel, support_sla; gap \"nightly alerting\" (ops) was due 2026-03-01 |"), "{md}");
        assert!(md.contains("| nightly alerting | ops | 2026-03-01 | **yes** |"));
        assert!(md.contains("- Support channel: *missing*"));
        let later = evaluate(&t, &run, &Facts::default(), "2026-03-11".parse().unwrap());
        assert!(markdown(&t, Some("RUN-000001"), &run, &later).contains("| waiver lapsed |"));
    }
}
