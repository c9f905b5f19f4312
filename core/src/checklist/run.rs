//! A checklist run as a value, and its evaluation: a pure function of the template,
//! the run, the gate facts and the date (`as_of`).
//!
//! ```
//! use gangway::checklist::{Facts, ItemState, ItemStatus, Run, Template, Waiver, evaluate, upcoming_changes};
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
//! let mut run = Run::new("mini");
//! let item = run.item_mut("ops.rollback");
//! item.state = ItemState::Waived;
//! item.waiver = Some(Waiver {
//!     owner: "ops-lead".into(),
//!     reason: "levers land next sprint".into(),
//!     expires: "2027-01-31".parse()?,
//! });
//! let before = evaluate(&template, &run, &Facts::default(), "2027-01-31".parse()?);
//! assert!(before.complete);
//! let after = evaluate(&template, &run, &Facts::default(), "2027-02-01".parse()?);
//! assert!(!after.complete);
//! assert_eq!(after.items[0].status, ItemStatus::WaiverLapsed);
//! let changes = upcoming_changes(&template, &run, &Facts::default(), "2027-01-01".parse()?);
//! assert_eq!(changes[0].date.to_string(), "2027-02-01");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::flow::{Artifact, FlowOutcome};
use super::placeholder::substitute;
use super::template::{Check, Evidence, Gate, Item, ItemKind, Template, item_key};

/// The recorded state of an item in a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemState {
    /// Not checked yet (the default).
    #[default]
    Open,
    /// Checked and true.
    Done,
    /// Checked and false.
    Failed,
    /// Accepted as not done, with a [`Waiver`].
    Waived,
}

/// Why an item may stay undone, who owns that, and until when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Waiver {
    /// Who owns the decision.
    pub owner: String,
    /// Why.
    pub reason: String,
    /// The last day the waiver holds; from the next day the item counts as open.
    pub expires: Date,
}

/// What a run records about one item.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRecord {
    /// The recorded state.
    #[serde(default)]
    pub state: ItemState,
    /// The waiver, when `state` is `waived`.
    #[serde(default)]
    pub waiver: Option<Waiver>,
    /// Evidence references (ids in the evidence store, URLs, ticket ids).
    #[serde(default)]
    pub evidence: Vec<String>,
    /// Who recorded the state.
    #[serde(default)]
    pub by: Option<String>,
    /// When.
    #[serde(default)]
    pub at: Option<Timestamp>,
    /// The last probe or flow artifact (probe and flow items).
    #[serde(default)]
    pub result: Option<Artifact>,
    /// A note, for people.
    #[serde(default)]
    pub note: Option<String>,
}

/// A known gap: something not done, with an owner and a due date.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnownGap {
    /// What is missing.
    pub text: String,
    /// Who owns closing it.
    pub owner: String,
    /// The last day it may stay open; from the next day it is overdue.
    pub due: Date,
}

/// A sign-off: who and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signoff {
    /// Who signed off.
    pub by: String,
    /// When.
    pub at: Timestamp,
}

/// The launch decision record (seed 001 §7).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    /// The named technical owner's sign-off on readiness.
    #[serde(default)]
    pub technical_owner_signoff: Option<Signoff>,
    /// Who may decide a rollback.
    #[serde(default)]
    pub rollback_authority: Option<String>,
    /// The customer-facing support channel.
    #[serde(default)]
    pub support_channel: Option<String>,
    /// The support response SLA.
    #[serde(default)]
    pub support_sla: Option<String>,
}

impl DecisionRecord {
    /// The missing (absent or blank) fields, in a fixed order.
    pub fn missing(&self) -> Vec<String> {
        let blank = |s: &Option<String>| s.as_deref().is_none_or(|s| s.trim().is_empty());
        let mut out = Vec::new();
        if self
            .technical_owner_signoff
            .as_ref()
            .is_none_or(|s| s.by.trim().is_empty())
        {
            out.push("technical_owner_signoff".to_owned());
        }
        for (name, field) in [
            ("rollback_authority", &self.rollback_authority),
            ("support_channel", &self.support_channel),
            ("support_sla", &self.support_sla),
        ] {
            if blank(field) {
                out.push(name.to_owned());
            }
        }
        out
    }
}

/// The state of one use of a template.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Run {
    /// The template's id.
    pub template: String,
    /// Values of the template's parameters.
    #[serde(default)]
    pub parameters: BTreeMap<String, String>,
    /// Item records by key (`section.item`); an item without a record is open.
    #[serde(default)]
    pub items: BTreeMap<String, ItemRecord>,
    /// Known gaps.
    #[serde(default)]
    pub known_gaps: Vec<KnownGap>,
    /// The decision record.
    #[serde(default)]
    pub decision_record: DecisionRecord,
}

impl Run {
    /// An empty run of the template `template`.
    pub fn new(template: impl Into<String>) -> Run {
        Run {
            template: template.into(),
            ..Run::default()
        }
    }

    /// The record of `key`, created (open) when absent.
    pub fn item_mut(&mut self, key: &str) -> &mut ItemRecord {
        self.items.entry(key.to_owned()).or_default()
    }
}

/// A gate fact resolved by the caller.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateFact {
    /// True when the gate is satisfied.
    pub satisfied: bool,
    /// What satisfies it or what is missing, for people (`invoice:INV-1`).
    #[serde(default)]
    pub detail: Option<String>,
}

/// What other parts of the library say, resolved before evaluation so that the
/// checklist core depends on no store.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Facts {
    /// The billing provisioning gate, by tenant.
    #[serde(default)]
    pub billing: BTreeMap<String, GateFact>,
    /// Stage gates, by packet id, then by stage id (`uat_evidence`).
    #[serde(default)]
    pub stages: BTreeMap<String, BTreeMap<String, GateFact>>,
    /// Consecutive weeks as the primary tool (see [`crate::checklist::adoption`]).
    #[serde(default)]
    pub adoption_weeks: Option<u32>,
    /// Review gates, by packet id, then by role (`security`): satisfied when that
    /// role's latest sign-off approves the packet's latest stored version. Left out
    /// of the JSON form when empty.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub reviews: BTreeMap<String, BTreeMap<String, GateFact>>,
}

/// An item's status in a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemStatus {
    /// Done (with evidence where required; a passing result; a satisfied gate).
    Done,
    /// Failed.
    Failed,
    /// Not done.
    Open,
    /// Waived, and the waiver holds on `as_of`.
    Waived,
    /// Waived, but the waiver expired before `as_of`: counts as open.
    WaiverLapsed,
    /// A manual item marked done without the evidence it requires: counts as open.
    EvidenceMissing,
}

impl ItemStatus {
    /// True for `done` and `waived`: what a complete section needs.
    pub fn settled(self) -> bool {
        matches!(self, ItemStatus::Done | ItemStatus::Waived)
    }
}

/// One item in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ItemVerdict {
    /// `section.item`.
    pub key: String,
    /// The item's kind.
    pub kind: ItemKind,
    /// Its status on `as_of`.
    pub status: ItemStatus,
    /// Why, for people (a failure, a missing fact, the waiver's reason).
    pub reason: Option<String>,
    /// The waiver's expiry, when waived or lapsed.
    pub waiver_expires: Option<Date>,
    /// Who recorded the state.
    pub by: Option<String>,
    /// When.
    pub at: Option<Timestamp>,
}

/// One section in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SectionVerdict {
    /// The section's id.
    pub id: String,
    /// True when every item is done or validly waived.
    pub complete: bool,
    /// The keys of the items that are not.
    pub blocking: Vec<String>,
}

/// What keeps an exit criterion from being met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Blocker {
    /// An item that is not done or validly waived.
    Item {
        /// `section.item`.
        key: String,
        /// Its status.
        status: ItemStatus,
    },
    /// An incomplete section.
    Section {
        /// The section's id.
        id: String,
    },
    /// The decision record is incomplete.
    DecisionRecord {
        /// The missing fields.
        missing: Vec<String>,
    },
    /// A known gap is overdue.
    OverdueGap {
        /// What is missing.
        text: String,
        /// Who owns it.
        owner: String,
        /// When it was due.
        due: Date,
    },
}

/// One exit criterion in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CriterionVerdict {
    /// The criterion's id.
    pub id: String,
    /// True when every condition holds.
    pub met: bool,
    /// What keeps it from being met, in template order.
    pub blocking: Vec<Blocker>,
}

/// The decision record in a verdict.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecisionVerdict {
    /// True when every field is present.
    pub complete: bool,
    /// The missing fields.
    pub missing: Vec<String>,
}

/// How many items have each status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Counts {
    /// Every item.
    pub total: usize,
    /// `done`
    pub done: usize,
    /// `waived`
    pub waived: usize,
    /// `open`
    pub open: usize,
    /// `failed`
    pub failed: usize,
    /// `waiver_lapsed`
    pub waiver_lapsed: usize,
    /// `evidence_missing`
    pub evidence_missing: usize,
}

/// Something wrong with the run itself (not with an item's progress).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct RunProblem {
    /// `checklist.template_mismatch`, `checklist.parameter_missing`,
    /// `checklist.unknown_parameter`, `checklist.unknown_item`,
    /// `checklist.waiver_missing` or `checklist.waiver_invalid`.
    pub code: String,
    /// The parameter name or item key concerned, if any.
    pub subject: Option<String>,
    /// For people.
    pub message: String,
}

/// The verdict on a run: a pure function of the template, the run, the facts and
/// `as_of`; every list in a deterministic order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Verdict {
    /// The template's id.
    pub template: String,
    /// The date evaluated at.
    pub as_of: Date,
    /// True when every exit criterion is met, the run is of this template and every
    /// parameter is supplied.
    pub complete: bool,
    /// Items by status.
    pub counts: Counts,
    /// Every item, in template order.
    pub items: Vec<ItemVerdict>,
    /// Every section, in template order.
    pub sections: Vec<SectionVerdict>,
    /// Every exit criterion, in template order.
    pub exit_criteria: Vec<CriterionVerdict>,
    /// Known gaps due before `as_of`, by due date, owner and text.
    pub overdue_gaps: Vec<KnownGap>,
    /// The decision record.
    pub decision_record: DecisionVerdict,
    /// Problems with the run, sorted.
    pub problems: Vec<RunProblem>,
}

fn problem(code: &str, subject: Option<&str>, message: String) -> RunProblem {
    RunProblem {
        code: code.to_owned(),
        subject: subject.map(str::to_owned),
        message,
    }
}

/// Evaluates `run` against `template` on `as_of`.
///
/// Item rules, in order:
/// 1. An item's own status: a `gate` is `done` when its fact is satisfied, else `open`
///    (the recorded state is ignored: a person cannot tick a gate); a `probe`/`flow`
///    is `done` when its last result passed, `failed` when it failed, else `failed`
///    if recorded so, else `open`; a `manual` item is its recorded state, except that
///    `done` without required evidence is `evidence_missing`.
/// 2. If that is not `done` and the recorded state is `waived`: `waived` while the
///    waiver's `expires` is on or after `as_of`, `waiver_lapsed` after; a waived item
///    without a waiver, or with a blank owner or reason, is `open` (and a problem).
pub fn evaluate(template: &Template, run: &Run, facts: &Facts, as_of: Date) -> Verdict {
    let mut problems = Vec::new();
    if run.template != template.id {
        problems.push(problem(
            "checklist.template_mismatch",
            Some(&run.template),
            format!("the run is of template `{}`, not `{}`", run.template, template.id),
        ));
    }
    for name in template.parameter_names() {
        if run.parameters.get(name).is_none_or(|v| v.trim().is_empty()) {
            problems.push(problem(
                "checklist.parameter_missing",
                Some(name),
                format!("parameter `{name}` is not supplied"),
            ));
        }
    }
    for name in run.parameters.keys() {
        if !template.parameter_names().any(|p| p == name) {
            problems.push(problem(
                "checklist.unknown_parameter",
                Some(name),
                format!("parameter `{name}` is not declared by the template"),
            ));
        }
    }
    for key in run.items.keys() {
        if template.item(key).is_none() {
            problems.push(problem(
                "checklist.unknown_item",
                Some(key),
                format!("the template has no item `{key}`"),
            ));
        }
    }

    let mut items = Vec::new();
    let mut counts = Counts::default();
    for (section, item) in template.items() {
        let key = item_key(&section.id, &item.id);
        let record = run.items.get(&key);
        let (status, reason, waiver_expires) = item_status(item, &key, record, run, facts, as_of, &mut problems);
        counts.total += 1;
        *match status {
            ItemStatus::Done => &mut counts.done,
            ItemStatus::Waived => &mut counts.waived,
            ItemStatus::Open => &mut counts.open,
            ItemStatus::Failed => &mut counts.failed,
            ItemStatus::WaiverLapsed => &mut counts.waiver_lapsed,
            ItemStatus::EvidenceMissing => &mut counts.evidence_missing,
        } += 1;
        items.push(ItemVerdict {
            key,
            kind: item.kind(),
            status,
            reason,
            waiver_expires,
            by: record.and_then(|r| r.by.clone()),
            at: record.and_then(|r| r.at),
        });
    }

    let sections: Vec<SectionVerdict> = template
        .sections
        .iter()
        .map(|s| {
            let prefix = format!("{}.", s.id);
            let blocking: Vec<String> = items
                .iter()
                .filter(|i| i.key.starts_with(&prefix) && !i.status.settled())
                .map(|i| i.key.clone())
                .collect();
            SectionVerdict {
                id: s.id.clone(),
                complete: blocking.is_empty(),
                blocking,
            }
        })
        .collect();

    let mut overdue_gaps: Vec<KnownGap> = run.known_gaps.iter().filter(|g| g.due < as_of).cloned().collect();
    overdue_gaps.sort_by(|a, b| (a.due, &a.owner, &a.text).cmp(&(b.due, &b.owner, &b.text)));

    let missing = run.decision_record.missing();
    let decision_record = DecisionVerdict {
        complete: missing.is_empty(),
        missing,
    };

    let exit_criteria: Vec<CriterionVerdict> = template
        .exit_criteria
        .iter()
        .map(|c| {
            let mut blocking: Vec<Blocker> = Vec::new();
            let mut add = |b: Blocker| {
                if !blocking.contains(&b) {
                    blocking.push(b);
                }
            };
            for s in &sections {
                if !s.complete && (c.all_sections || c.sections.contains(&s.id)) {
                    add(Blocker::Section { id: s.id.clone() });
                }
            }
            for key in &c.items {
                match items.iter().find(|i| &i.key == key) {
                    Some(i) if i.status.settled() => {}
                    Some(i) => add(Blocker::Item {
                        key: key.clone(),
                        status: i.status,
                    }),
                    None => add(Blocker::Item {
                        key: key.clone(),
                        status: ItemStatus::Open,
                    }),
                }
            }
            if c.decision_record && !decision_record.complete {
                add(Blocker::DecisionRecord {
                    missing: decision_record.missing.clone(),
                });
            }
            if c.no_overdue_gaps {
                for g in &overdue_gaps {
                    add(Blocker::OverdueGap {
                        text: g.text.clone(),
                        owner: g.owner.clone(),
                        due: g.due,
                    });
                }
            }
            CriterionVerdict {
                id: c.id.clone(),
                met: blocking.is_empty(),
                blocking,
            }
        })
        .collect();

    problems.sort();
    problems.dedup();
    let run_ok = !problems
        .iter()
        .any(|p| p.code == "checklist.template_mismatch" || p.code == "checklist.parameter_missing");
    Verdict {
        template: template.id.clone(),
        as_of,
        complete: run_ok && exit_criteria.iter().all(|c| c.met),
        counts,
        items,
        sections,
        exit_criteria,
        overdue_gaps,
        decision_record,
        problems,
    }
}

type Status = (ItemStatus, Option<String>, Option<Date>);

fn item_status(
    item: &Item,
    key: &str,
    record: Option<&ItemRecord>,
    run: &Run,
    facts: &Facts,
    as_of: Date,
    problems: &mut Vec<RunProblem>,
) -> Status {
    let state = record.map_or(ItemState::Open, |r| r.state);
    let (own, reason) = own_status(item, record, state, run, facts);
    if own == ItemStatus::Done || state != ItemState::Waived {
        return (own, reason, None);
    }
    let Some(waiver) = record.and_then(|r| r.waiver.as_ref()) else {
        problems.push(problem(
            "checklist.waiver_missing",
            Some(key),
            format!("`{key}` is marked waived without a waiver"),
        ));
        return (
            ItemStatus::Open,
            Some("marked waived without a waiver".to_owned()),
            None,
        );
    };
    if waiver.owner.trim().is_empty() || waiver.reason.trim().is_empty() {
        problems.push(problem(
            "checklist.waiver_invalid",
            Some(key),
            format!("the waiver of `{key}` needs an owner and a reason"),
        ));
        return (
            ItemStatus::Open,
            Some("the waiver needs an owner and a reason".to_owned()),
            Some(waiver.expires),
        );
    }
    if waiver.expires < as_of {
        (
            ItemStatus::WaiverLapsed,
            Some(format!(
                "the waiver owned by {} expired on {}",
                waiver.owner, waiver.expires
            )),
            Some(waiver.expires),
        )
    } else {
        (ItemStatus::Waived, Some(waiver.reason.clone()), Some(waiver.expires))
    }
}

fn own_status(
    item: &Item,
    record: Option<&ItemRecord>,
    state: ItemState,
    run: &Run,
    facts: &Facts,
) -> (ItemStatus, Option<String>) {
    match &item.check {
        Check::Gate { gate } => gate_status(gate, run, facts),
        Check::Probe { .. } | Check::Flow { .. } => match record.and_then(|r| r.result.as_ref()) {
            Some(a) => match a.outcome {
                FlowOutcome::Passed => (ItemStatus::Done, None),
                FlowOutcome::Failed => (ItemStatus::Failed, a.reason.clone()),
                FlowOutcome::Incomplete => (ItemStatus::Open, Some("the last run did not finish".to_owned())),
            },
            None if state == ItemState::Failed => (ItemStatus::Failed, record.and_then(|r| r.note.clone())),
            None if state == ItemState::Done => (
                ItemStatus::Open,
                Some("marked done without a recorded result".to_owned()),
            ),
            None => (ItemStatus::Open, Some("no recorded result".to_owned())),
        },
        Check::Manual { evidence } => match state {
            ItemState::Done => {
                let has = record.is_some_and(|r| r.evidence.iter().any(|e| !e.trim().is_empty()));
                if *evidence == Evidence::Required && !has {
                    (
                        ItemStatus::EvidenceMissing,
                        Some("marked done without the evidence it requires".to_owned()),
                    )
                } else {
                    (ItemStatus::Done, None)
                }
            }
            ItemState::Failed => (ItemStatus::Failed, record.and_then(|r| r.note.clone())),
            ItemState::Open | ItemState::Waived => (ItemStatus::Open, None),
        },
    }
}

fn gate_status(gate: &Gate, run: &Run, facts: &Facts) -> (ItemStatus, Option<String>) {
    let fill = |text: &str| substitute(text, &run.parameters);
    let fact = |f: Option<&GateFact>, what: String| match f {
        Some(f) if f.satisfied => (ItemStatus::Done, f.detail.clone()),
        Some(f) => (
            ItemStatus::Open,
            Some(match &f.detail {
                Some(d) => format!("{what} is not satisfied: {d}"),
                None => format!("{what} is not satisfied"),
            }),
        ),
        None => (ItemStatus::Open, Some(format!("no fact given for {what}"))),
    };
    let unsupplied = |name: String| (ItemStatus::Open, Some(format!("parameter `{name}` is not supplied")));
    match gate {
        Gate::Billing { tenant } => match fill(tenant) {
            Ok(t) => fact(facts.billing.get(&t), format!("the billing gate of tenant `{t}`")),
            Err(name) => unsupplied(name),
        },
        Gate::Stage { packet, stage } => match fill(packet) {
            Ok(p) => fact(
                facts.stages.get(&p).and_then(|s| s.get(stage.id())),
                format!("stage `{stage}` of packet `{p}`"),
            ),
            Err(name) => unsupplied(name),
        },
        Gate::Review { packet, role } => match fill(packet) {
            Ok(p) => fact(
                facts.reviews.get(&p).and_then(|r| r.get(role.as_str())),
                format!("the `{role}` review of packet `{p}`"),
            ),
            Err(name) => unsupplied(name),
        },
        Gate::Adoption { min_weeks } => match facts.adoption_weeks {
            Some(w) if w >= *min_weeks => (ItemStatus::Done, Some(format!("{w} weeks as the primary tool"))),
            Some(w) => (
                ItemStatus::Open,
                Some(format!("{w} of {min_weeks} weeks as the primary tool")),
            ),
            None => (ItemStatus::Open, Some("no adoption fact given".to_owned())),
        },
    }
}

/// Why a verdict would change on a date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// A waiver in effect lapses: its item counts as open from this date.
    WaiverLapses,
    /// A known gap becomes overdue.
    GapOverdue,
}

/// A date after `as_of` on which the verdict would change.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Change {
    /// The first day of the new verdict.
    pub date: Date,
    /// What happens.
    pub change: ChangeKind,
    /// The item key, or the gap's text.
    pub subject: String,
    /// The waiver's or the gap's owner.
    pub owner: String,
}

/// The dates after `as_of` on which [`evaluate`] would give another verdict because
/// a waiver in effect lapses or a known gap falls due, sorted by date, kind and
/// subject (for a forecast: evaluate again on each date).
pub fn upcoming_changes(template: &Template, run: &Run, facts: &Facts, as_of: Date) -> Vec<Change> {
    let verdict = evaluate(template, run, facts, as_of);
    let mut out = Vec::new();
    for item in verdict.items.iter().filter(|i| i.status == ItemStatus::Waived) {
        let waiver = run.items.get(&item.key).and_then(|r| r.waiver.as_ref());
        if let Some(w) = waiver
            && let Ok(date) = w.expires.tomorrow()
        {
            out.push(Change {
                date,
                change: ChangeKind::WaiverLapses,
                subject: item.key.clone(),
                owner: w.owner.clone(),
            });
        }
    }
    for gap in run.known_gaps.iter().filter(|g| g.due >= as_of) {
        if let Ok(date) = gap.due.tomorrow() {
            out.push(Change {
                date,
                change: ChangeKind::GapOverdue,
                subject: gap.text.clone(),
                owner: gap.owner.clone(),
            });
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::flow::{FlowRun, Recorded};
    use crate::checklist::placeholder::Secrets;
    use crate::checklist::probe::Response;
    use proptest::prelude::*;
    use serde_json::json;

    const T: &str = r#"
id: launch
title: Launch
source: seed 001
parameters: [tenant, packet_id]
sections:
  - id: infra
    title: Infrastructure
    items:
      - id: health
        text: health is green
        kind: probe
        request: {method: GET, path: /health}
        expect: [{status: 200}]
      - id: env
        text: env vars present
        kind: manual
  - id: billing
    title: Billing
    items:
      - {id: gate, text: paid, kind: gate, gate: {kind: billing, tenant: "${tenant}"}}
      - {id: stage, text: uat, kind: gate, gate: {kind: stage, packet: "${packet_id}", stage: uat_evidence}}
      - {id: adoption, text: two weeks, kind: gate, gate: {kind: adoption, min_weeks: 2}}
      - {id: owner, text: owner documented, kind: manual, evidence: optional}
exit_criteria:
  - {id: all, text: all sections, all_sections: true}
  - {id: health, text: health, items: [infra.health]}
  - {id: decision, text: decision, decision_record: true, no_overdue_gaps: true}
"#;

    fn template() -> Template {
        Template::from_yaml(T).unwrap()
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn health_result(status: u16) -> Artifact {
        let t = template();
        let flow = FlowRun::for_item(t.item("infra.health").unwrap(), &BTreeMap::new(), &Secrets::new()).unwrap();
        flow.replay(&[Recorded {
            at: "2026-03-01T09:00:00Z".parse().unwrap(),
            response: Some(Response::status(status)),
            error: None,
        }])
    }

    fn complete_run() -> (Run, Facts) {
        let mut run = Run::new("launch");
        run.parameters.insert("tenant".into(), "acme".into());
        run.parameters.insert("packet_id".into(), "pkt-1".into());
        run.item_mut("infra.health").result = Some(health_result(200));
        let env = run.item_mut("infra.env");
        env.state = ItemState::Done;
        env.evidence = vec!["ev-1".into()];
        env.by = Some("ana".into());
        env.at = Some("2026-03-01T10:00:00Z".parse().unwrap());
        run.item_mut("billing.owner").state = ItemState::Done;
        run.decision_record = DecisionRecord {
            technical_owner_signoff: Some(Signoff {
                by: "ana".into(),
                at: "2026-03-01T10:00:00Z".parse().unwrap(),
            }),
            rollback_authority: Some("cto".into()),
            support_channel: Some("#acme-support".into()),
            support_sla: Some("4h business".into()),
        };
        let facts = Facts {
            billing: BTreeMap::from([(
                "acme".into(),
                GateFact {
                    satisfied: true,
                    detail: Some("invoice:INV-1".into()),
                },
            )]),
            stages: BTreeMap::from([(
                "pkt-1".into(),
                BTreeMap::from([(
                    "uat_evidence".into(),
                    GateFact {
                        satisfied: true,
                        detail: None,
                    },
                )]),
            )]),
            adoption_weeks: Some(2),
            reviews: BTreeMap::new(),
        };
        (run, facts)
    }

    fn statuses(v: &Verdict) -> Vec<(&str, ItemStatus)> {
        v.items.iter().map(|i| (i.key.as_str(), i.status)).collect()
    }

    #[test]
    fn a_complete_run() {
        let (run, facts) = complete_run();
        let v = evaluate(&template(), &run, &facts, d("2026-03-02"));
        assert!(v.complete, "{v:#?}");
        assert_eq!(v.counts.done, 6);
        assert!(v.problems.is_empty());
        assert_eq!(v.items[2].reason.as_deref(), Some("invoice:INV-1"));
        assert_eq!(v.items[1].by.as_deref(), Some("ana"));
    }

    #[test]
    fn an_empty_run_is_open_everywhere_with_reasons() {
        let v = evaluate(&template(), &Run::new("launch"), &Facts::default(), d("2026-03-02"));
        assert!(!v.complete);
        assert_eq!(v.counts.open, 6);
        let reasons: Vec<Option<&str>> = v.items.iter().map(|i| i.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("no recorded result"),
                None,
                Some("parameter `tenant` is not supplied"),
                Some("parameter `packet_id` is not supplied"),
                Some("no adoption fact given"),
                None
            ]
        );
        let codes: Vec<&str> = v.problems.iter().map(|p| p.code.as_str()).collect();
        assert_eq!(codes, ["checklist.parameter_missing", "checklist.parameter_missing"]);
        assert_eq!(
            v.decision_record.missing,
            [
                "technical_owner_signoff",
                "rollback_authority",
                "support_channel",
                "support_sla"
            ]
        );
        assert_eq!(
            v.exit_criteria[0].blocking,
            [
                Blocker::Section { id: "infra".into() },
                Blocker::Section { id: "billing".into() }
            ]
        );
        assert_eq!(
            v.exit_criteria[1].blocking,
            [Blocker::Item {
                key: "infra.health".into(),
                status: ItemStatus::Open
            }]
        );
    }

    #[test]
    fn waivers_evidence_results_and_gaps() {
        let (mut run, mut facts) = complete_run();
        run.item_mut("infra.env").evidence.clear();
        run.item_mut("infra.health").result = Some(health_result(500));
        let w = run.item_mut("billing.owner");
        w.state = ItemState::Waived;
        w.waiver = Some(Waiver {
            owner: "finance".into(),
            reason: "documented next week".into(),
            expires: d("2026-03-10"),
        });
        facts.billing.insert(
            "acme".into(),
            GateFact {
                satisfied: false,
                detail: Some("awaiting payment: INV-2".into()),
            },
        );
        facts.adoption_weeks = Some(1);
        run.known_gaps = vec![
            KnownGap {
                text: "alerting for nightly".into(),
                owner: "ops".into(),
                due: d("2026-03-05"),
            },
            KnownGap {
                text: "FORCE-RLS on staging".into(),
                owner: "db".into(),
                due: d("2026-03-01"),
            },
        ];
        let v = evaluate(&template(), &run, &facts, d("2026-03-02"));
        assert_eq!(
            statuses(&v),
            [
                ("infra.health", ItemStatus::Failed),
                ("infra.env", ItemStatus::EvidenceMissing),
                ("billing.gate", ItemStatus::Open),
                ("billing.stage", ItemStatus::Done),
                ("billing.adoption", ItemStatus::Open),
                ("billing.owner", ItemStatus::Waived),
            ]
        );
        assert_eq!(
            v.items[0].reason.as_deref(),
            Some("step `health`: status eq: expected 200, found 500")
        );
        assert_eq!(
            v.items[2].reason.as_deref(),
            Some("the billing gate of tenant `acme` is not satisfied: awaiting payment: INV-2")
        );
        assert_eq!(v.items[4].reason.as_deref(), Some("1 of 2 weeks as the primary tool"));
        assert_eq!(v.items[5].waiver_expires, Some(d("2026-03-10")));
        assert_eq!(v.overdue_gaps.len(), 1);
        assert_eq!(
            v.exit_criteria[2].blocking,
            [Blocker::OverdueGap {
                text: "FORCE-RLS on staging".into(),
                owner: "db".into(),
                due: d("2026-03-01")
            }]
        );
        let later = evaluate(&template(), &run, &facts, d("2026-03-11"));
        assert_eq!(later.items[5].status, ItemStatus::WaiverLapsed);
        assert_eq!(
            later.items[5].reason.as_deref(),
            Some("the waiver owned by finance expired on 2026-03-10")
        );
        assert_eq!(later.overdue_gaps.len(), 2);

        let changes = upcoming_changes(&template(), &run, &facts, d("2026-03-02"));
        let summary: Vec<(String, ChangeKind, &str)> = changes
            .iter()
            .map(|c| (c.date.to_string(), c.change, c.subject.as_str()))
            .collect();
        assert_eq!(
            summary,
            [
                ("2026-03-06".to_owned(), ChangeKind::GapOverdue, "alerting for nightly"),
                ("2026-03-11".to_owned(), ChangeKind::WaiverLapses, "billing.owner"),
            ]
        );
        // The waiver and the gap due on as_of still hold that day.
        assert!(upcoming_changes(&template(), &run, &facts, d("2026-03-10")).len() == 1);
        assert!(upcoming_changes(&template(), &run, &facts, d("2026-03-11")).is_empty());
    }

    #[test]
    fn run_problems() {
        let (mut run, facts) = complete_run();
        run.template = "other".into();
        run.parameters.insert("extra".into(), "x".into());
        run.item_mut("infra.nope").state = ItemState::Done;
        run.item_mut("billing.owner").state = ItemState::Waived;
        run.item_mut("infra.env").state = ItemState::Waived;
        run.item_mut("infra.env").waiver = Some(Waiver {
            owner: " ".into(),
            reason: "r".into(),
            expires: d("2030-01-01"),
        });
        let v = evaluate(&template(), &run, &facts, d("2026-03-02"));
        assert!(!v.complete);
        let codes: Vec<(&str, Option<&str>)> = v
            .problems
            .iter()
            .map(|p| (p.code.as_str(), p.subject.as_deref()))
            .collect();
        assert_eq!(
            codes,
            [
                ("checklist.template_mismatch", Some("other")),
                ("checklist.unknown_item", Some("infra.nope")),
                ("checklist.unknown_parameter", Some("extra")),
                ("checklist.waiver_invalid", Some("infra.env")),
                ("checklist.waiver_missing", Some("billing.owner")),
            ]
        );
        // A done gate item stays done whatever the recorded state; a gate cannot be ticked.
        let mut run2 = Run::new("launch");
        run2.item_mut("billing.gate").state = ItemState::Done;
        let v = evaluate(&template(), &run2, &facts, d("2026-03-02"));
        assert_eq!(v.items[2].status, ItemStatus::Open);
        run2.item_mut("infra.health").state = ItemState::Done;
        let v = evaluate(&template(), &run2, &facts, d("2026-03-02"));
        assert_eq!(
            v.items[0].reason.as_deref(),
            Some("marked done without a recorded result")
        );
    }

    #[test]
    fn json_forms() {
        let text = r#"{"template":"launch","parameters":{"tenant":"acme"},"items":{"infra.env":{"state":"waived","waiver":{"owner":"o","reason":"r","expires":"2026-04-01"}}},"known_gaps":[{"text":"t","owner":"o","due":"2026-04-01"}],"decision_record":{"rollback_authority":"cto"}}"#;
        let run: Run = serde_json::from_str(text).unwrap();
        assert_eq!(run.items["infra.env"].state, ItemState::Waived);
        assert!(serde_json::from_str::<Run>(r#"{"template":"x","colour":1}"#).is_err());
        let v = evaluate(&template(), &run, &Facts::default(), d("2026-03-02"));
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(
            json["items"][1],
            json!({"key": "infra.env", "kind": "manual", "status": "waived", "reason": "r",
                   "waiver_expires": "2026-04-01", "by": null, "at": null})
        );
        assert_eq!(json["exit_criteria"][2]["blocking"][0]["kind"], "decision_record");
        assert_eq!(
            json["counts"],
            json!({"total": 6, "done": 0, "waived": 1, "open": 5, "failed": 0, "waiver_lapsed": 0, "evidence_missing": 0})
        );
        let facts: Facts = serde_json::from_value(
            json!({"billing": {"acme": {"satisfied": true}}, "stages": {"p": {"uat_evidence": {"satisfied": false, "detail": "x"}}}, "adoption_weeks": 3}),
        )
        .unwrap();
        assert_eq!(facts.adoption_weeks, Some(3));
        // Review facts are left out of the JSON form when there are none, so facts
        // without review gates write as they always did.
        assert_eq!(
            serde_json::to_value(&facts).unwrap(),
            json!({"billing": {"acme": {"satisfied": true, "detail": null}}, "stages": {"p": {"uat_evidence": {"satisfied": false, "detail": "x"}}}, "adoption_weeks": 3})
        );
        let facts: Facts =
            serde_json::from_value(json!({"reviews": {"p": {"security": {"satisfied": true, "detail": "approved"}}}}))
                .unwrap();
        assert!(facts.reviews["p"]["security"].satisfied);
        assert_eq!(
            serde_json::to_value(&facts).unwrap()["reviews"],
            json!({"p": {"security": {"satisfied": true, "detail": "approved"}}})
        );
    }

    #[test]
    fn review_gates_follow_their_facts() {
        let t = Template::from_yaml(
            r#"
id: reviews
title: Reviews
source: seed 000
parameters: [packet_id]
sections:
  - id: reviews
    title: Review matrix
    items:
      - {id: product, text: product, kind: gate, gate: {kind: review, packet: "${packet_id}", role: product}}
      - {id: security, text: security, kind: gate, gate: {kind: review, packet: "${packet_id}", role: security}}
      - {id: governance, text: governance, kind: gate, gate: {kind: review, packet: "${packet_id}", role: governance}}
      - {id: other, text: other packet, kind: gate, gate: {kind: review, packet: pkt-2, role: product}}
exit_criteria:
  - {id: all, text: every review, sections: [reviews]}
"#,
        )
        .unwrap();
        let mut run = Run::new("reviews");
        let v = evaluate(&t, &run, &Facts::default(), d("2026-03-02"));
        let reasons: Vec<Option<&str>> = v.items.iter().map(|i| i.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("parameter `packet_id` is not supplied"),
                Some("parameter `packet_id` is not supplied"),
                Some("parameter `packet_id` is not supplied"),
                Some("no fact given for the `product` review of packet `pkt-2`"),
            ]
        );
        run.parameters.insert("packet_id".into(), "pkt-1".into());
        let fact = |satisfied: bool, detail: &str| GateFact {
            satisfied,
            detail: Some(detail.to_owned()),
        };
        let facts = Facts {
            reviews: BTreeMap::from([
                (
                    "pkt-1".to_owned(),
                    BTreeMap::from([
                        ("product".to_owned(), fact(true, "approved by `pm` on version 2")),
                        (
                            "security".to_owned(),
                            fact(false, "rejected by `sec` on version 2: no threat model"),
                        ),
                    ]),
                ),
                (
                    "pkt-2".to_owned(),
                    BTreeMap::from([("security".to_owned(), fact(true, "x"))]),
                ),
            ]),
            ..Facts::default()
        };
        // A recorded `done` does not tick a gate.
        run.item_mut("reviews.governance").state = ItemState::Done;
        let v = evaluate(&t, &run, &facts, d("2026-03-02"));
        assert_eq!(
            statuses(&v),
            [
                ("reviews.product", ItemStatus::Done),
                ("reviews.security", ItemStatus::Open),
                ("reviews.governance", ItemStatus::Open),
                ("reviews.other", ItemStatus::Open),
            ]
        );
        let reasons: Vec<Option<&str>> = v.items.iter().map(|i| i.reason.as_deref()).collect();
        assert_eq!(
            reasons,
            [
                Some("approved by `pm` on version 2"),
                Some(
                    "the `security` review of packet `pkt-1` is not satisfied: rejected by `sec` on version 2: no threat model"
                ),
                Some("no fact given for the `governance` review of packet `pkt-1`"),
                Some("no fact given for the `product` review of packet `pkt-2`"),
            ]
        );
        assert_eq!(v.sections[0].blocking.len(), 3);
        assert!(!v.complete);
        // Review facts do not lapse: nothing upcoming.
        assert!(upcoming_changes(&t, &run, &facts, d("2026-03-02")).is_empty());
        // Every role approved, and a waiver on the other packet's gate: complete.
        let mut all = facts.clone();
        for role in ["security", "governance"] {
            all.reviews
                .entry("pkt-1".into())
                .or_default()
                .insert(role.into(), fact(true, "approved"));
        }
        let other = run.item_mut("reviews.other");
        other.state = ItemState::Waived;
        other.waiver = Some(Waiver {
            owner: "governance".into(),
            reason: "pkt-2 is reviewed with pkt-1".into(),
            expires: d("2026-03-31"),
        });
        assert!(evaluate(&t, &run, &all, d("2026-03-02")).complete);
    }

    fn arb_state() -> impl Strategy<Value = ItemState> {
        prop_oneof![
            Just(ItemState::Open),
            Just(ItemState::Done),
            Just(ItemState::Failed),
            Just(ItemState::Waived)
        ]
    }

    fn arb_record() -> impl Strategy<Value = ItemRecord> {
        (
            arb_state(),
            proptest::option::of((0i16..20, "[a-z ]{0,3}", "[a-z ]{0,3}")),
            prop::collection::vec("[a-z ]{0,2}", 0..2),
            proptest::option::of(prop_oneof![Just(200u16), Just(500)]),
        )
            .prop_map(|(state, waiver, evidence, result)| ItemRecord {
                state,
                waiver: waiver.map(|(days, owner, reason)| Waiver {
                    owner,
                    reason,
                    expires: d("2026-03-01").saturating_add(jiff::Span::new().days(i64::from(days))),
                }),
                evidence,
                result: result.map(health_result),
                ..ItemRecord::default()
            })
    }

    proptest! {
        #[test]
        fn evaluation_never_panics_and_lapsed_waivers_never_count(
            records in prop::collection::vec(proptest::option::of(arb_record()), 7),
            day in 0i16..30,
            billing in any::<bool>(),
            weeks in proptest::option::of(0u32..4),
        ) {
            let t = template();
            let keys = ["infra.health", "infra.env", "billing.gate", "billing.stage", "billing.adoption", "billing.owner", "x.y"];
            let mut run = Run::new("launch");
            run.parameters.insert("tenant".into(), "acme".into());
            for (key, record) in keys.iter().zip(records) {
                if let Some(r) = record {
                    run.items.insert((*key).to_owned(), r);
                }
            }
            let mut facts = Facts { adoption_weeks: weeks, ..Facts::default() };
            facts.billing.insert("acme".into(), GateFact { satisfied: billing, detail: None });
            let as_of = d("2026-03-01").saturating_add(jiff::Span::new().days(i64::from(day)));
            let v = evaluate(&t, &run, &facts, as_of);
            prop_assert_eq!(v.items.len(), 6);
            for (item, section_id) in v.items.iter().zip(["infra", "infra", "billing", "billing", "billing", "billing"]) {
                let lapsed = run.items.get(&item.key).is_some_and(|r| {
                    r.state == ItemState::Waived && r.waiver.as_ref().is_some_and(|w| w.expires < as_of)
                });
                if lapsed {
                    prop_assert!(item.status != ItemStatus::Waived);
                    if item.status != ItemStatus::Done {
                        let section = v.sections.iter().find(|s| s.id == section_id);
                        prop_assert!(section.is_some_and(|s| !s.complete));
                        prop_assert!(!v.complete);
                    }
                }
            }
            // Deterministic, and a forecast date never precedes as_of.
            prop_assert_eq!(&v, &evaluate(&t, &run, &facts, as_of));
            for c in upcoming_changes(&t, &run, &facts, as_of) {
                prop_assert!(c.date > as_of);
            }
            let _ = serde_json::to_string(&v);
        }
    }
}
