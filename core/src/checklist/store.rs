//! Checklist runs in the SQLite store (migration 4, SPEC §2.8, §2.11).
//!
//! A run is stored with its template's id **and text** (so it stays evaluable when the
//! template changes or a built-in is revised), its parameters, one row per item
//! record (state, evidence, by, at, the waiver, the last probe or flow artifact), its
//! known gaps, its decision record and the weekly adoption rows recorded for it.
//! Every mutation runs in one transaction with its audit record (one of
//! [`crate::audit::CHECKLIST_ACTIONS`], target `checklist:<run id>`).
//!
//! Nothing here sends a request or sees a secret: the caller records the
//! [`Artifact`] of a [`crate::checklist::FlowRun`], which is redacted (every secret
//! reads `***`).
//!
//! [`Store::checklist_verdict`] resolves the gate facts from the store — the billing
//! gate of a tenant under the deployment's standard (which the caller must pass: there
//! is no default, and without one a billing gate is not satisfied), a packet's stage
//! from its progress with its stored records and the store's registry, the adoption
//! weeks from the run's adoption rows — then calls the pure [`evaluate`].
//!
//! ```
//! use std::collections::BTreeMap;
//! use gangway::{Origin, Store};
//! use gangway::checklist::ItemState;
//!
//! let mut store = Store::open_in_memory()?;
//! let origin = Origin::new("ana", "2026-03-01T10:00:00Z".parse()?);
//! let template = "id: mini\ntitle: Mini\nsource: an example\nsections:\n  - id: ops\n    title: Operations\n    items:\n      - {id: rollback, text: Rollback levers confirmed, kind: manual}\nexit_criteria:\n  - {id: all, text: Everything checked, all_sections: true}\n";
//! let run = store.new_checklist_run(&origin, template, &BTreeMap::new())?;
//! assert_eq!(run.id, "RUN-000001");
//! store.check_item(&origin, &run.id, "ops.rollback", ItemState::Done, &["ticket-42".into()], None)?;
//! let verdict = store.checklist_verdict(&run.id, "2026-03-02".parse()?, None)?;
//! assert!(verdict.verdict.complete);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use serde::Serialize;
use serde_json::{Value as Json, json};

use super::adoption::{AdoptionError, AdoptionVerdict, Thresholds, WeekRow, evaluate_adoption};
use super::evaluate;
use super::flow::{Artifact, FlowOutcome};
use super::placeholder::substitute;
use super::run::{DecisionRecord, Facts, GateFact, ItemRecord, ItemState, KnownGap, Run, Signoff, Verdict, Waiver};
use super::template::{Check, Gate, ItemKind, Template, TemplateError};
use crate::audit::Origin;
use crate::billing::GateStandard;
use crate::review::{Decision, Role};
use crate::store::{Store, StoreError, append, bad_row, sha256_hex};

type Result<T> = std::result::Result<T, StoreError>;

/// A checklist-run operation the store refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RunError {
    /// No run has that id.
    #[error("checklist run `{0}` is not in the store")]
    RunNotFound(String),
    /// The run's template has no such item.
    #[error("the template of run `{run}` has no item `{item}`{}", hint(.suggestion))]
    UnknownItem {
        /// The run.
        run: String,
        /// The item key asked for.
        item: String,
        /// A close item key, if there is one.
        suggestion: Option<String>,
    },
    /// The operation does not suit the item's kind.
    #[error("item `{item}` is a {kind} item; {what}")]
    WrongKind {
        /// The item key.
        item: String,
        /// Its kind.
        kind: &'static str,
        /// What the operation needs, for people.
        what: &'static str,
    },
    /// A waiver without an owner, a reason or a future expiry.
    #[error("{0}")]
    WaiverInvalid(String),
    /// A manual item checked done without the evidence its template requires.
    #[error("item `{0}` requires evidence to be checked done; give at least one evidence reference")]
    EvidenceMissing(String),
    /// Parameters the template declares were not given.
    #[error("parameters not supplied: {}", .0.join(", "))]
    ParameterMissing(Vec<String>),
    /// Parameters the template does not declare.
    #[error("parameters the template does not declare: {}", .0.join(", "))]
    UnknownParameter(Vec<String>),
    /// A known gap or decision-record field that is blank.
    #[error("{0}")]
    Invalid(String),
    /// The template text does not read.
    #[error(transparent)]
    Template(#[from] TemplateError),
    /// Adoption rows or thresholds that cannot be evaluated.
    #[error(transparent)]
    Adoption(#[from] AdoptionError),
}

fn hint(suggestion: &Option<String>) -> String {
    suggestion
        .as_deref()
        .map(|s| format!("; did you mean `{s}`?"))
        .unwrap_or_default()
}

impl RunError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            RunError::RunNotFound(_) => "checklist.run_not_found",
            RunError::UnknownItem { .. } => "checklist.unknown_item",
            RunError::WrongKind { .. } => "checklist.wrong_kind",
            RunError::WaiverInvalid(_) => "checklist.waiver_invalid",
            RunError::EvidenceMissing(_) => "checklist.evidence_missing",
            RunError::ParameterMissing(_) => "checklist.parameter_missing",
            RunError::UnknownParameter(_) => "checklist.unknown_parameter",
            RunError::Invalid(_) => "checklist.invalid",
            RunError::Template(e) => e.code(),
            RunError::Adoption(e) => e.code(),
        }
    }
}

/// A stored checklist run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredRun {
    /// `RUN-000001`, … in order of creation.
    pub id: String,
    /// The template's id.
    pub template_id: String,
    /// SHA-256 (hex) of the template text the run was started with.
    pub template_digest: String,
    /// The template text the run was started with (not in the JSON form; see
    /// [`StoredRun::template`]).
    #[serde(skip)]
    pub template_text: String,
    /// The run: parameters, item records, known gaps, decision record.
    pub run: Run,
    /// The adoption thresholds of this customer.
    pub adoption_thresholds: Thresholds,
    /// The weekly adoption rows recorded, by week.
    pub adoption_weeks: Vec<WeekRow>,
    /// When the run was started.
    pub created_at: Timestamp,
    /// Who started it.
    pub created_by: String,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl StoredRun {
    /// The template the run was started with.
    ///
    /// # Errors
    ///
    /// The template's problems, should its text no longer read (a newer rule).
    pub fn template(&self) -> std::result::Result<Template, TemplateError> {
        Template::from_yaml(&self.template_text)
    }

    /// The run's `packet_id` parameter, if it has one.
    pub fn packet_id(&self) -> Option<&str> {
        self.run.parameters.get("packet_id").map(String::as_str)
    }
}

/// Decision-record fields to set; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DecisionUpdate {
    /// The named technical owner signing off readiness (signed at the origin's time).
    pub technical_owner: Option<String>,
    /// Who may decide a rollback.
    pub rollback_authority: Option<String>,
    /// The customer-facing support channel.
    pub support_channel: Option<String>,
    /// The support response SLA.
    pub support_sla: Option<String>,
}

/// A run's verdict on a date with the facts it was evaluated with.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunVerdict {
    /// The run.
    pub run_id: String,
    /// Its template's id.
    pub template_id: String,
    /// The billing gate standard applied (`null`: not configured, so billing gates
    /// are not satisfied).
    pub standard: Option<GateStandard>,
    /// The gate facts resolved from the store.
    pub facts: Facts,
    /// The adoption verdict, when adoption rows are recorded.
    pub adoption: Option<AdoptionVerdict>,
    /// The verdict.
    pub verdict: Verdict,
}

/// The detail of a billing gate when the caller gave no standard.
pub const STANDARD_NOT_CONFIGURED: &str =
    "the gate standard is not configured (paid or po_approved); a billing gate is not satisfied without one";

fn run_target(id: &str) -> String {
    format!("checklist:{id}")
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn blank(s: &str) -> bool {
    s.trim().is_empty()
}

fn timestamp(text: &str) -> Result<Timestamp> {
    text.parse().map_err(|_| bad_row("timestamp", text))
}

fn date(text: &str) -> Result<Date> {
    crate::decode::parse_date(text).ok_or_else(|| bad_row("date", text))
}

fn state_name(state: ItemState) -> &'static str {
    match state {
        ItemState::Open => "open",
        ItemState::Done => "done",
        ItemState::Failed => "failed",
        ItemState::Waived => "waived",
    }
}

fn state_of(text: &str) -> Result<ItemState> {
    match text {
        "open" => Ok(ItemState::Open),
        "done" => Ok(ItemState::Done),
        "failed" => Ok(ItemState::Failed),
        "waived" => Ok(ItemState::Waived),
        _ => Err(bad_row("item state", text)),
    }
}

const RUN_COLUMNS: &str = "id, template_id, template_text, template_digest, parameters, technical_owner, technical_owner_at, rollback_authority, support_channel, support_sla, adoption_thresholds, created_at, created_by, updated_at";

/// Reads one run with its items, gaps and adoption rows.
fn load(conn: &Connection, id: &str) -> Result<StoredRun> {
    let sql = format!("SELECT {RUN_COLUMNS} FROM checklist_runs WHERE id = ?1");
    let row = conn
        .query_row(&sql, params![id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
                [
                    r.get::<_, Option<String>>(5)?,
                    r.get::<_, Option<String>>(6)?,
                    r.get::<_, Option<String>>(7)?,
                    r.get::<_, Option<String>>(8)?,
                    r.get::<_, Option<String>>(9)?,
                    r.get::<_, Option<String>>(10)?,
                ],
                r.get::<_, String>(11)?,
                r.get::<_, String>(12)?,
                r.get::<_, String>(13)?,
            ))
        })
        .optional()?;
    let Some((id, template_id, template_text, template_digest, parameters, opt, created_at, created_by, updated_at)) =
        row
    else {
        return Err(RunError::RunNotFound(id.to_owned()).into());
    };
    let [owner, owner_at, rollback, channel, sla, thresholds] = opt;
    let technical_owner_signoff = match (owner, owner_at) {
        (Some(by), Some(at)) => Some(Signoff {
            by,
            at: timestamp(&at)?,
        }),
        _ => None,
    };
    let mut run = Run::new(template_id.clone());
    run.parameters = serde_json::from_str(&parameters).map_err(|_| bad_row("parameters", &parameters))?;
    run.decision_record = DecisionRecord {
        technical_owner_signoff,
        rollback_authority: rollback,
        support_channel: channel,
        support_sla: sla,
    };
    run.items = load_items(conn, &id)?;
    run.known_gaps = load_gaps(conn, &id)?;
    let adoption_thresholds = match thresholds {
        Some(t) => serde_json::from_str(&t).map_err(|_| bad_row("adoption thresholds", &t))?,
        None => Thresholds::default(),
    };
    Ok(StoredRun {
        adoption_weeks: load_weeks(conn, &id)?,
        id,
        template_id,
        template_digest,
        template_text,
        run,
        adoption_thresholds,
        created_at: timestamp(&created_at)?,
        created_by,
        updated_at: timestamp(&updated_at)?,
    })
}

type ItemRow = (
    String,
    String,
    String,
    Option<String>,
    Option<String>,
    [Option<String>; 3],
    Option<String>,
    Option<String>,
);

fn load_items(conn: &Connection, id: &str) -> Result<BTreeMap<String, ItemRecord>> {
    let mut stmt = conn.prepare_cached(
        "SELECT item, state, evidence, by, at, waiver_owner, waiver_reason, waiver_expires, result, note FROM checklist_items WHERE run_id = ?1 ORDER BY item",
    )?;
    let rows = stmt.query_map(params![id], |r| -> rusqlite::Result<ItemRow> {
        Ok((
            r.get(0)?,
            r.get(1)?,
            r.get(2)?,
            r.get(3)?,
            r.get(4)?,
            [r.get(5)?, r.get(6)?, r.get(7)?],
            r.get(8)?,
            r.get(9)?,
        ))
    })?;
    let mut out = BTreeMap::new();
    for row in rows {
        let (key, state, evidence, by, at, [owner, reason, expires], result, note) = row?;
        let waiver = match (owner, reason, expires) {
            (Some(owner), Some(reason), Some(expires)) => Some(Waiver {
                owner,
                reason,
                expires: date(&expires)?,
            }),
            _ => None,
        };
        let record = ItemRecord {
            state: state_of(&state)?,
            waiver,
            evidence: serde_json::from_str(&evidence).map_err(|_| bad_row("evidence list", &evidence))?,
            by,
            at: at.as_deref().map(timestamp).transpose()?,
            result: match result {
                Some(r) => Some(serde_json::from_str::<Artifact>(&r).map_err(|_| bad_row("result", &key))?),
                None => None,
            },
            note,
        };
        out.insert(key, record);
    }
    Ok(out)
}

fn load_gaps(conn: &Connection, id: &str) -> Result<Vec<KnownGap>> {
    let mut stmt = conn.prepare_cached("SELECT text, owner, due FROM checklist_gaps WHERE run_id = ?1 ORDER BY seq")?;
    let rows = stmt.query_map(params![id], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (text, owner, due) = row?;
        out.push(KnownGap {
            text,
            owner,
            due: date(&due)?,
        });
    }
    Ok(out)
}

fn load_weeks(conn: &Connection, id: &str) -> Result<Vec<WeekRow>> {
    let mut stmt = conn.prepare_cached("SELECT row FROM adoption_weeks WHERE run_id = ?1 ORDER BY week")?;
    let rows = stmt.query_map(params![id], |r| r.get::<_, String>(0))?;
    let mut out = Vec::new();
    for row in rows {
        let text = row?;
        out.push(serde_json::from_str(&text).map_err(|_| bad_row("adoption row", &text))?);
    }
    Ok(out)
}

fn put_item(tx: &Transaction<'_>, run_id: &str, key: &str, record: &ItemRecord) -> Result<()> {
    let result = record.result.as_ref().map(to_json).transpose()?;
    let waiver = record.waiver.as_ref();
    tx.execute(
        "INSERT OR REPLACE INTO checklist_items (run_id, item, state, evidence, by, at, waiver_owner, waiver_reason, waiver_expires, result, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
        params![
            run_id,
            key,
            state_name(record.state),
            to_json(&record.evidence)?,
            record.by,
            record.at.map(|t| t.to_string()),
            waiver.map(|w| w.owner.clone()),
            waiver.map(|w| w.reason.clone()),
            waiver.map(|w| w.expires.to_string()),
            result,
            record.note
        ],
    )?;
    Ok(())
}

fn touch(tx: &Transaction<'_>, run_id: &str, origin: &Origin) -> Result<()> {
    tx.execute(
        "UPDATE checklist_runs SET updated_at = ?2 WHERE id = ?1",
        params![run_id, origin.at.to_string()],
    )?;
    Ok(())
}

/// The stored run `run_id`, its template, and the item `key` of it with its kind.
fn item_of(stored: &StoredRun, template: &Template, key: &str) -> Result<ItemKind> {
    match template.item(key) {
        Some(item) => Ok(item.kind()),
        None => {
            let keys: Vec<String> = template
                .items()
                .map(|(s, i)| super::template::item_key(&s.id, &i.id))
                .collect();
            let suggestion = crate::decode::did_you_mean(key, keys.iter().map(String::as_str)).map(str::to_owned);
            Err(RunError::UnknownItem {
                run: stored.id.clone(),
                item: key.to_owned(),
                suggestion,
            }
            .into())
        }
    }
}

fn template_of(stored: &StoredRun) -> Result<Template> {
    stored.template().map_err(|e| RunError::Template(e).into())
}

fn record_json(record: &ItemRecord) -> Json {
    json!({
        "state": state_name(record.state),
        "evidence": record.evidence,
        "by": record.by,
        "at": record.at,
        "waiver": record.waiver,
        "note": record.note,
    })
}

impl Store {
    /// Starts a run of the template `template_text` (YAML) with `parameters`; the
    /// run keeps the text. Ids are `RUN-000001`, … in order.
    ///
    /// # Errors
    ///
    /// The template's problems; `checklist.unknown_parameter` for a parameter the
    /// template does not declare and `checklist.parameter_missing` for a declared one
    /// not given (or blank), each naming all of them.
    pub fn new_checklist_run(
        &mut self,
        origin: &Origin,
        template_text: &str,
        parameters: &BTreeMap<String, String>,
    ) -> Result<StoredRun> {
        let template = Template::from_yaml(template_text).map_err(RunError::from)?;
        let declared: Vec<&str> = template.parameter_names().collect();
        let unknown: Vec<String> = parameters
            .keys()
            .filter(|k| !declared.contains(&k.as_str()))
            .cloned()
            .collect();
        if !unknown.is_empty() {
            return Err(RunError::UnknownParameter(unknown).into());
        }
        let missing: Vec<String> = declared
            .iter()
            .filter(|p| parameters.get(**p).is_none_or(|v| blank(v)))
            .map(|p| (*p).to_owned())
            .collect();
        if !missing.is_empty() {
            return Err(RunError::ParameterMissing(missing).into());
        }
        let digest = sha256_hex(template_text.as_bytes());
        let id = self.write(|tx| {
            let n: i64 = tx.query_row("SELECT COUNT(*) FROM checklist_runs", [], |r| r.get(0))?;
            let id = format!("RUN-{:06}", n + 1);
            tx.execute(
                "INSERT INTO checklist_runs (id, template_id, template_text, template_digest, parameters, packet_id, created_at, created_by, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?7)",
                params![
                    id,
                    template.id,
                    template_text,
                    digest,
                    to_json(parameters)?,
                    parameters.get("packet_id"),
                    origin.at.to_string(),
                    origin.actor
                ],
            )?;
            append(
                tx,
                origin,
                "checklist.run.new",
                &run_target(&id),
                None,
                Some(json!({"template": template.id, "template_digest": digest, "parameters": parameters})),
            )?;
            Ok(id)
        })?;
        self.checklist_run(&id)
    }

    /// One stored run.
    ///
    /// # Errors
    ///
    /// `checklist.run_not_found`.
    pub fn checklist_run(&self, run_id: &str) -> Result<StoredRun> {
        load(self.conn(), run_id)
    }

    /// Every stored run, by id.
    pub fn checklist_runs(&self) -> Result<Vec<StoredRun>> {
        self.runs_where("SELECT id FROM checklist_runs ORDER BY id", None)
    }

    /// The runs whose `packet_id` parameter is `packet_id`, by id.
    pub fn checklist_runs_for_packet(&self, packet_id: &str) -> Result<Vec<StoredRun>> {
        self.runs_where(
            "SELECT id FROM checklist_runs WHERE packet_id = ?1 ORDER BY id",
            Some(packet_id),
        )
    }

    fn runs_where(&self, sql: &str, arg: Option<&str>) -> Result<Vec<StoredRun>> {
        let mut stmt = self.conn().prepare(sql)?;
        let ids: Vec<String> = match arg {
            Some(a) => stmt
                .query_map(params![a], |r| r.get(0))?
                .collect::<rusqlite::Result<_>>()?,
            None => stmt.query_map([], |r| r.get(0))?.collect::<rusqlite::Result<_>>()?,
        };
        ids.iter().map(|id| load(self.conn(), id)).collect()
    }

    /// Runs `f` on the stored run inside one write transaction.
    fn with_run<T>(
        &mut self,
        run_id: &str,
        f: impl FnOnce(&Transaction<'_>, &StoredRun, &Template) -> Result<T>,
    ) -> Result<T> {
        self.write(|tx| {
            let stored = load(tx, run_id)?;
            let template = template_of(&stored)?;
            f(tx, &stored, &template)
        })
    }

    /// Checks a manual item `done` or `failed`, by `origin.actor` at `origin.at`, with
    /// evidence references (and a note, for people). A waiver the item had is
    /// withdrawn.
    ///
    /// # Errors
    ///
    /// `checklist.run_not_found`, `checklist.unknown_item`; `checklist.wrong_kind` for
    /// a probe, flow or gate item (a probe or flow is done by a passing result, a gate
    /// by its fact); `checklist.invalid` for a state other than done or failed;
    /// `checklist.evidence_missing` for `done` without evidence when the item
    /// requires it.
    pub fn check_item(
        &mut self,
        origin: &Origin,
        run_id: &str,
        item: &str,
        state: ItemState,
        evidence: &[String],
        note: Option<&str>,
    ) -> Result<ItemRecord> {
        if !matches!(state, ItemState::Done | ItemState::Failed) {
            return Err(RunError::Invalid(format!(
                "an item is checked `done` or `failed`, not `{}`",
                state_name(state)
            ))
            .into());
        }
        let evidence: Vec<String> = evidence
            .iter()
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .collect();
        self.with_run(run_id, |tx, stored, template| {
            let kind = item_of(stored, template, item)?;
            let required = match template.item(item).map(|i| &i.check) {
                Some(Check::Manual { evidence }) => *evidence == super::template::Evidence::Required,
                _ => {
                    return Err(RunError::WrongKind {
                        item: item.to_owned(),
                        kind: kind.as_str(),
                        what: match kind {
                            ItemKind::Gate => "a gate is satisfied by its fact, not checked by a person",
                            _ => "it is done by a passing result: run it with `gangway checklist run`",
                        },
                    }
                    .into());
                }
            };
            if state == ItemState::Done && required && evidence.is_empty() {
                return Err(RunError::EvidenceMissing(item.to_owned()).into());
            }
            let before = stored.run.items.get(item).cloned();
            let mut record = before.clone().unwrap_or_default();
            record.state = state;
            record.waiver = None;
            record.evidence = evidence;
            record.by = Some(origin.actor.clone());
            record.at = Some(origin.at);
            record.note = note.map(str::trim).filter(|n| !n.is_empty()).map(str::to_owned);
            put_item(tx, run_id, item, &record)?;
            touch(tx, run_id, origin)?;
            append(
                tx,
                origin,
                "checklist.item.check",
                &run_target(run_id),
                before.as_ref().map(|b| json!({"item": item, "record": record_json(b)})),
                Some(json!({"item": item, "record": record_json(&record)})),
            )?;
            Ok(record)
        })
    }

    /// Waives an item (of any kind): it counts as settled until the waiver's
    /// `expires` date, and as open from the day after.
    ///
    /// # Errors
    ///
    /// `checklist.waiver_invalid` for a blank owner or reason, or an expiry before
    /// `origin.at`'s (UTC) date; `checklist.run_not_found`, `checklist.unknown_item`.
    pub fn waive_item(&mut self, origin: &Origin, run_id: &str, item: &str, waiver: &Waiver) -> Result<ItemRecord> {
        let mut missing = Vec::new();
        if blank(&waiver.owner) {
            missing.push("an owner");
        }
        if blank(&waiver.reason) {
            missing.push("a reason");
        }
        if !missing.is_empty() {
            return Err(
                RunError::WaiverInvalid(format!("a waiver of `{item}` needs {}", missing.join(" and "))).into(),
            );
        }
        let today = origin.at.to_zoned(jiff::tz::TimeZone::UTC).date();
        if waiver.expires < today {
            return Err(RunError::WaiverInvalid(format!(
                "the waiver of `{item}` expires on {}, before today ({today}); a waiver must hold on the day it is given",
                waiver.expires
            ))
            .into());
        }
        let waiver = Waiver {
            owner: waiver.owner.trim().to_owned(),
            reason: waiver.reason.trim().to_owned(),
            expires: waiver.expires,
        };
        self.with_run(run_id, |tx, stored, template| {
            item_of(stored, template, item)?;
            let before = stored.run.items.get(item).cloned();
            let mut record = before.clone().unwrap_or_default();
            record.state = ItemState::Waived;
            record.waiver = Some(waiver);
            record.by = Some(origin.actor.clone());
            record.at = Some(origin.at);
            put_item(tx, run_id, item, &record)?;
            touch(tx, run_id, origin)?;
            append(
                tx,
                origin,
                "checklist.item.waive",
                &run_target(run_id),
                before.as_ref().map(|b| json!({"item": item, "record": record_json(b)})),
                Some(json!({"item": item, "record": record_json(&record)})),
            )?;
            Ok(record)
        })
    }

    /// Records the artifact of running a probe or flow item (as
    /// [`crate::checklist::FlowRun::artifact`] gives it: redacted). The item's state
    /// follows the outcome (`done`, `failed`, `open` while incomplete), except that a
    /// waived item stays waived.
    ///
    /// # Errors
    ///
    /// `checklist.wrong_kind` for a manual or gate item; `checklist.run_not_found`,
    /// `checklist.unknown_item`.
    pub fn record_result(
        &mut self,
        origin: &Origin,
        run_id: &str,
        item: &str,
        artifact: &Artifact,
    ) -> Result<ItemRecord> {
        self.with_run(run_id, |tx, stored, template| {
            let kind = item_of(stored, template, item)?;
            if !matches!(kind, ItemKind::Probe | ItemKind::Flow) {
                return Err(RunError::WrongKind {
                    item: item.to_owned(),
                    kind: kind.as_str(),
                    what: "only probe and flow items have results",
                }
                .into());
            }
            let mut record = stored.run.items.get(item).cloned().unwrap_or_default();
            if record.state != ItemState::Waived {
                record.state = match artifact.outcome {
                    FlowOutcome::Passed => ItemState::Done,
                    FlowOutcome::Failed => ItemState::Failed,
                    FlowOutcome::Incomplete => ItemState::Open,
                };
            }
            record.result = Some(artifact.clone());
            record.by = Some(origin.actor.clone());
            record.at = Some(origin.at);
            put_item(tx, run_id, item, &record)?;
            touch(tx, run_id, origin)?;
            append(
                tx,
                origin,
                "checklist.item.result",
                &run_target(run_id),
                None,
                Some(json!({
                    "item": item,
                    "outcome": artifact.outcome,
                    "reason": artifact.reason,
                    "started_at": artifact.started_at,
                    "finished_at": artifact.finished_at,
                    "request_ids": artifact.request_ids,
                    "job_ids": artifact.job_ids,
                })),
            )?;
            Ok(record)
        })
    }

    /// Adds a known gap (what, who owns it, when it is due).
    ///
    /// # Errors
    ///
    /// `checklist.invalid` for a blank text or owner; `checklist.run_not_found`.
    pub fn add_gap(&mut self, origin: &Origin, run_id: &str, gap: &KnownGap) -> Result<KnownGap> {
        if blank(&gap.text) || blank(&gap.owner) {
            return Err(RunError::Invalid("a known gap needs a text and an owner".to_owned()).into());
        }
        let gap = KnownGap {
            text: gap.text.trim().to_owned(),
            owner: gap.owner.trim().to_owned(),
            due: gap.due,
        };
        self.with_run(run_id, |tx, _, _| {
            tx.execute(
                "INSERT INTO checklist_gaps (run_id, text, owner, due, added_at, added_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                params![
                    run_id,
                    gap.text,
                    gap.owner,
                    gap.due.to_string(),
                    origin.at.to_string(),
                    origin.actor
                ],
            )?;
            touch(tx, run_id, origin)?;
            append(tx, origin, "checklist.gap.add", &run_target(run_id), None, Some(json!(gap)))?;
            Ok(gap)
        })
    }

    /// Sets the given fields of the decision record; the technical owner's sign-off
    /// is dated `origin.at`.
    ///
    /// # Errors
    ///
    /// `checklist.invalid` when no field is given or one is blank;
    /// `checklist.run_not_found`.
    pub fn set_decision(&mut self, origin: &Origin, run_id: &str, update: &DecisionUpdate) -> Result<DecisionRecord> {
        let fields = [
            ("technical_owner", &update.technical_owner),
            ("rollback_authority", &update.rollback_authority),
            ("support_channel", &update.support_channel),
            ("support_sla", &update.support_sla),
        ];
        if fields.iter().all(|(_, v)| v.is_none()) {
            return Err(RunError::Invalid(
                "give at least one decision-record field (technical owner, rollback authority, support channel, support SLA)"
                    .to_owned(),
            )
            .into());
        }
        let blanks: Vec<&str> = fields
            .iter()
            .filter(|(_, v)| v.as_deref().is_some_and(blank))
            .map(|(n, _)| *n)
            .collect();
        if !blanks.is_empty() {
            return Err(RunError::Invalid(format!("blank decision-record fields: {}", blanks.join(", "))).into());
        }
        let trim = |v: &Option<String>| v.as_deref().map(|s| s.trim().to_owned());
        self.with_run(run_id, |tx, stored, _| {
            let before = stored.run.decision_record.clone();
            let mut after = before.clone();
            if let Some(by) = trim(&update.technical_owner) {
                after.technical_owner_signoff = Some(Signoff { by, at: origin.at });
            }
            if let Some(v) = trim(&update.rollback_authority) {
                after.rollback_authority = Some(v);
            }
            if let Some(v) = trim(&update.support_channel) {
                after.support_channel = Some(v);
            }
            if let Some(v) = trim(&update.support_sla) {
                after.support_sla = Some(v);
            }
            let signoff = after.technical_owner_signoff.as_ref();
            tx.execute(
                "UPDATE checklist_runs SET technical_owner = ?2, technical_owner_at = ?3, rollback_authority = ?4, support_channel = ?5, support_sla = ?6, updated_at = ?7 WHERE id = ?1",
                params![
                    run_id,
                    signoff.map(|s| s.by.clone()),
                    signoff.map(|s| s.at.to_string()),
                    after.rollback_authority,
                    after.support_channel,
                    after.support_sla,
                    origin.at.to_string()
                ],
            )?;
            append(
                tx,
                origin,
                "checklist.decision.set",
                &run_target(run_id),
                Some(json!(before)),
                Some(json!(after)),
            )?;
            Ok(after)
        })
    }

    /// Records (or replaces) one week of adoption figures for the run; the rows are
    /// evaluated with the run's thresholds before they land.
    ///
    /// # Errors
    ///
    /// `adoption.invalid_row` for figures that contradict each other;
    /// `checklist.run_not_found`.
    pub fn record_adoption_week(&mut self, origin: &Origin, run_id: &str, row: &WeekRow) -> Result<AdoptionVerdict> {
        self.with_run(run_id, |tx, stored, _| {
            let before = stored.adoption_weeks.iter().find(|w| w.week == row.week).cloned();
            let mut rows: Vec<WeekRow> = stored
                .adoption_weeks
                .iter()
                .filter(|w| w.week != row.week)
                .cloned()
                .collect();
            rows.push(row.clone());
            let verdict = evaluate_adoption(&rows, &stored.adoption_thresholds).map_err(RunError::from)?;
            tx.execute(
                "INSERT OR REPLACE INTO adoption_weeks (run_id, week, row, recorded_at, recorded_by) VALUES (?1, ?2, ?3, ?4, ?5)",
                params![run_id, row.week, to_json(row)?, origin.at.to_string(), origin.actor],
            )?;
            touch(tx, run_id, origin)?;
            append(
                tx,
                origin,
                "checklist.adoption.record",
                &run_target(run_id),
                before.map(|b| json!(b)),
                Some(json!(row)),
            )?;
            Ok(verdict)
        })
    }

    /// Sets the run's adoption thresholds (per customer; the defaults are the
    /// seed's).
    ///
    /// # Errors
    ///
    /// `adoption.invalid_threshold`; `checklist.run_not_found`.
    pub fn set_adoption_thresholds(
        &mut self,
        origin: &Origin,
        run_id: &str,
        thresholds: &Thresholds,
    ) -> Result<AdoptionVerdict> {
        self.with_run(run_id, |tx, stored, _| {
            let verdict = evaluate_adoption(&stored.adoption_weeks, thresholds).map_err(RunError::from)?;
            tx.execute(
                "UPDATE checklist_runs SET adoption_thresholds = ?2, updated_at = ?3 WHERE id = ?1",
                params![run_id, to_json(thresholds)?, origin.at.to_string()],
            )?;
            append(
                tx,
                origin,
                "checklist.adoption.thresholds",
                &run_target(run_id),
                Some(json!(stored.adoption_thresholds)),
                Some(json!(thresholds)),
            )?;
            Ok(verdict)
        })
    }

    /// The gate facts of a run on `as_of`, resolved from the store, and the
    /// adoption verdict when adoption rows are recorded.
    ///
    /// - `billing` gates: the provisioning gate of the tenant under `standard`;
    ///   without a standard, not satisfied ([`STANDARD_NOT_CONFIGURED`]).
    /// - `stage` gates: satisfied when the stored packet's progress (with its stored
    ///   records and the store's registry, on `as_of`) has no error up to and
    ///   including the stage; a packet not in the store is not satisfied.
    /// - `adoption`: the weeks as the primary tool over the run's rows and thresholds
    ///   (0 without rows).
    /// - `review` gates: satisfied when the role's latest sign-off approves the
    ///   packet's latest stored version ([`Store::review_status`] says `approved`);
    ///   otherwise the detail says why: `rejected` (with the reasons), `stale` (only
    ///   an earlier version was signed), `missing`, or the packet is not in the store.
    ///   Sign-offs carry no date that lapses, so these facts are the same on any
    ///   `as_of`.
    pub fn checklist_facts(
        &self,
        stored: &StoredRun,
        template: &Template,
        as_of: Date,
        standard: Option<GateStandard>,
    ) -> Result<(Facts, Option<AdoptionVerdict>)> {
        let mut facts = Facts::default();
        let params = &stored.run.parameters;
        let mut registry = None;
        let mut reviews: BTreeMap<String, BTreeMap<String, GateFact>> = BTreeMap::new();
        for (_, item) in template.items() {
            let Check::Gate { gate } = &item.check else { continue };
            match gate {
                Gate::Billing { tenant } => {
                    let Ok(tenant) = substitute(tenant, params) else {
                        continue;
                    };
                    let fact = match standard {
                        None => GateFact {
                            satisfied: false,
                            detail: Some(STANDARD_NOT_CONFIGURED.to_owned()),
                        },
                        Some(standard) => {
                            let d = self.provisioning_gate(&tenant, standard)?;
                            GateFact {
                                satisfied: d.satisfied,
                                detail: if d.satisfied { d.satisfied_by } else { d.missing },
                            }
                        }
                    };
                    facts.billing.insert(tenant, fact);
                }
                Gate::Stage { packet, stage } => {
                    let Ok(packet_id) = substitute(packet, params) else {
                        continue;
                    };
                    if registry.is_none() {
                        registry = Some(self.registry()?);
                    }
                    let fact = self.stage_fact(&packet_id, *stage, registry.as_ref(), as_of)?;
                    facts
                        .stages
                        .entry(packet_id)
                        .or_default()
                        .insert(stage.id().to_owned(), fact);
                }
                Gate::Review { packet, role } => {
                    let Ok(packet_id) = substitute(packet, params) else {
                        continue;
                    };
                    if !reviews.contains_key(&packet_id) {
                        reviews.insert(packet_id.clone(), self.review_facts(&packet_id)?);
                    }
                    if let Some(fact) = reviews.get(&packet_id).and_then(|r| r.get(role.as_str())) {
                        facts
                            .reviews
                            .entry(packet_id)
                            .or_default()
                            .insert(role.as_str().to_owned(), fact.clone());
                    }
                }
                Gate::Adoption { .. } => {}
            }
        }
        let adoption = if stored.adoption_weeks.is_empty() {
            None
        } else {
            Some(evaluate_adoption(&stored.adoption_weeks, &stored.adoption_thresholds).map_err(RunError::from)?)
        };
        facts.adoption_weeks = Some(adoption.as_ref().map_or(0, |a| a.weeks_as_primary));
        Ok((facts, adoption))
    }

    /// The review gate fact of every role of the review matrix for `packet_id`, by
    /// role.
    fn review_facts(&self, packet_id: &str) -> Result<BTreeMap<String, GateFact>> {
        let status = match self.review_status(packet_id) {
            Ok(s) => s,
            Err(StoreError::PacketNotFound(_)) => {
                let fact = GateFact {
                    satisfied: false,
                    detail: Some(format!("packet `{packet_id}` is not in the store")),
                };
                return Ok(Role::ALL
                    .iter()
                    .map(|r| (r.as_str().to_owned(), fact.clone()))
                    .collect());
            }
            Err(e) => return Err(e),
        };
        let history = self.packet_history(packet_id)?;
        let version_of = |digest: &str| {
            history.iter().find(|v| v.digest == digest).map_or_else(
                || format!("an earlier version (digest {})", digest.get(..12).unwrap_or(digest)),
                |v| format!("version {}", v.version),
            )
        };
        let latest = status.version;
        Ok(status
            .roles
            .iter()
            .map(|r| {
                let fact = match (r.status, &r.signoff) {
                    ("approved", Some(s)) => GateFact {
                        satisfied: true,
                        detail: Some(format!("approved by `{}` at {} on version {latest}", s.reviewer, s.at)),
                    },
                    ("rejected", Some(s)) => GateFact {
                        satisfied: false,
                        detail: Some(format!(
                            "rejected by `{}` at {} on version {latest}: {}",
                            s.reviewer,
                            s.at,
                            s.reasons.join("; ")
                        )),
                    },
                    ("stale", Some(s)) => GateFact {
                        satisfied: false,
                        detail: Some(format!(
                            "stale: `{}` {} {} at {}; the latest version, {latest}, has no `{}` sign-off",
                            s.reviewer,
                            match s.decision {
                                Decision::Approve => "approved",
                                Decision::Reject => "rejected",
                            },
                            version_of(&s.digest),
                            s.at,
                            r.role
                        )),
                    },
                    _ => GateFact {
                        satisfied: false,
                        detail: Some(format!(
                            "missing: no `{}` sign-off on any version; the latest is version {latest}",
                            r.role
                        )),
                    },
                };
                (r.role.as_str().to_owned(), fact)
            })
            .collect())
    }

    fn stage_fact(
        &self,
        packet_id: &str,
        stage: crate::Stage,
        registry: Option<&crate::Registry>,
        as_of: Date,
    ) -> Result<GateFact> {
        let stored = match self.packet(packet_id, None) {
            Ok(s) => s,
            Err(StoreError::PacketNotFound(_)) => {
                return Ok(GateFact {
                    satisfied: false,
                    detail: Some(format!("packet `{packet_id}` is not in the store")),
                });
            }
            Err(e) => return Err(e),
        };
        let Ok(packet) = stored.parse() else {
            return Ok(GateFact {
                satisfied: false,
                detail: Some(format!("packet `{packet_id}` does not parse")),
            });
        };
        let records = self.records(packet_id)?;
        let progress = crate::progress_with(&packet, registry, Some(&records), as_of);
        let blocked = progress
            .stages
            .iter()
            .find(|s| s.stage.number() <= stage.number() && !s.ok);
        Ok(match blocked {
            None => GateFact {
                satisfied: true,
                detail: Some(format!(
                    "packet `{packet_id}` version {} passes stage `{stage}`",
                    stored.info.version
                )),
            },
            Some(s) => {
                let first = s
                    .findings
                    .iter()
                    .find(|f| f.is_error())
                    .map(|f| format!(" (first: {})", f.code))
                    .unwrap_or_default();
                GateFact {
                    satisfied: false,
                    detail: Some(format!(
                        "packet `{packet_id}` version {} is blocked at stage `{}` with {} error(s){first}",
                        stored.info.version, s.stage, s.errors
                    )),
                }
            }
        })
    }

    /// The verdict of run `run_id` on `as_of`, its gate facts resolved from the store
    /// ([`Store::checklist_facts`]). `standard` is the deployment's billing gate
    /// standard; there is no default (without one, billing gates are not satisfied).
    ///
    /// # Errors
    ///
    /// `checklist.run_not_found`; the template's problems should its stored text no
    /// longer read.
    pub fn checklist_verdict(&self, run_id: &str, as_of: Date, standard: Option<GateStandard>) -> Result<RunVerdict> {
        let stored = self.checklist_run(run_id)?;
        let template = template_of(&stored)?;
        self.verdict_of(&stored, &template, as_of, standard)
    }

    /// The verdict of a stored run (see [`Store::checklist_verdict`]).
    pub fn verdict_of(
        &self,
        stored: &StoredRun,
        template: &Template,
        as_of: Date,
        standard: Option<GateStandard>,
    ) -> Result<RunVerdict> {
        let (facts, adoption) = self.checklist_facts(stored, template, as_of, standard)?;
        let verdict = evaluate(template, &stored.run, &facts, as_of);
        Ok(RunVerdict {
            run_id: stored.id.clone(),
            template_id: stored.template_id.clone(),
            standard,
            facts,
            adoption,
            verdict,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::{FlowRun, Recorded, Response, Secrets};
    use crate::store::AuditFilter;

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
      - {id: stage, text: intake, kind: gate, gate: {kind: stage, packet: "${packet_id}", stage: intake}}
      - {id: adoption, text: two weeks, kind: gate, gate: {kind: adoption, min_weeks: 2}}
      - {id: owner, text: owner documented, kind: manual, evidence: optional}
exit_criteria:
  - {id: all, text: all sections, all_sections: true}
  - {id: decision, text: decision, decision_record: true, no_overdue_gaps: true}
"#;

    fn origin() -> Origin {
        Origin::new("ana", "2026-03-01T10:00:00Z".parse().unwrap())
    }

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn params() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("tenant".to_owned(), "acme".to_owned()),
            ("packet_id".to_owned(), "token-factory-onboarding-v1".to_owned()),
        ])
    }

    fn health(status: u16) -> Artifact {
        let t = Template::from_yaml(T).unwrap();
        let flow = FlowRun::for_item(t.item("infra.health").unwrap(), &BTreeMap::new(), &Secrets::new()).unwrap();
        flow.replay(&[Recorded {
            at: "2026-03-01T09:00:00Z".parse().unwrap(),
            response: Some(Response::status(status).with_header("x-request-id", "r-1")),
            error: None,
        }])
    }

    fn week(week: u32, recorded: u32) -> WeekRow {
        WeekRow {
            week,
            active_staff: BTreeMap::new(),
            entries: None,
            shifts_in_scope: 10,
            shifts_recorded: recorded,
            areas_in_scope: None,
            areas_using: None,
            exceptions: 0,
            permission_errors: 0,
            spot_check_minutes: Vec::new(),
        }
    }

    fn code(e: StoreError) -> &'static str {
        e.code()
    }

    #[test]
    fn new_runs_check_their_parameters_and_number_in_order() {
        let mut s = Store::open_in_memory().unwrap();
        let mut p = params();
        p.insert("tennant".into(), "x".into());
        assert_eq!(
            code(s.new_checklist_run(&origin(), T, &p).unwrap_err()),
            "checklist.unknown_parameter"
        );
        let err = s.new_checklist_run(&origin(), T, &BTreeMap::new()).unwrap_err();
        assert_eq!(err.code(), "checklist.parameter_missing");
        assert!(err.to_string().contains("tenant, packet_id"), "{err}");
        assert_eq!(
            code(s.new_checklist_run(&origin(), "id: x\n", &params()).unwrap_err()),
            "checklist.template_invalid"
        );
        let a = s.new_checklist_run(&origin(), T, &params()).unwrap();
        let b = s.new_checklist_run(&origin(), T, &params()).unwrap();
        assert_eq!((a.id.as_str(), b.id.as_str()), ("RUN-000001", "RUN-000002"));
        assert_eq!(a.template_id, "launch");
        assert_eq!(a.template_text, T);
        assert_eq!(a.packet_id(), Some("token-factory-onboarding-v1"));
        assert_eq!(s.checklist_runs().unwrap().len(), 2);
        assert_eq!(
            s.checklist_runs_for_packet("token-factory-onboarding-v1")
                .unwrap()
                .len(),
            2
        );
        assert!(s.checklist_runs_for_packet("other").unwrap().is_empty());
        assert_eq!(
            code(s.checklist_run("RUN-000009").unwrap_err()),
            "checklist.run_not_found"
        );
    }

    #[test]
    fn operations_fail_closed_with_codes() {
        let mut s = Store::open_in_memory().unwrap();
        let run = s.new_checklist_run(&origin(), T, &params()).unwrap();
        let o = origin();
        let ev = ["ev-1".to_owned()];
        let err = s
            .check_item(&o, &run.id, "infra.evn", ItemState::Done, &ev, None)
            .unwrap_err();
        assert_eq!(err.code(), "checklist.unknown_item");
        assert!(err.to_string().contains("did you mean `infra.env`"), "{err}");
        for key in ["infra.health", "billing.gate"] {
            let err = s.check_item(&o, &run.id, key, ItemState::Done, &ev, None).unwrap_err();
            assert_eq!(err.code(), "checklist.wrong_kind", "{key}");
        }
        assert_eq!(
            code(
                s.check_item(&o, &run.id, "infra.env", ItemState::Done, &[" ".into()], None)
                    .unwrap_err()
            ),
            "checklist.evidence_missing"
        );
        assert_eq!(
            code(
                s.check_item(&o, &run.id, "infra.env", ItemState::Waived, &ev, None)
                    .unwrap_err()
            ),
            "checklist.invalid"
        );
        // Optional evidence: done without any.
        s.check_item(&o, &run.id, "billing.owner", ItemState::Done, &[], None)
            .unwrap();
        assert_eq!(
            code(s.record_result(&o, &run.id, "infra.env", &health(200)).unwrap_err()),
            "checklist.wrong_kind"
        );
        let waiver = |owner: &str, expires: &str| Waiver {
            owner: owner.into(),
            reason: "later".into(),
            expires: d(expires),
        };
        let err = s
            .waive_item(&o, &run.id, "infra.env", &waiver(" ", "2026-04-01"))
            .unwrap_err();
        assert_eq!(err.code(), "checklist.waiver_invalid");
        assert!(err.to_string().contains("needs an owner"), "{err}");
        assert_eq!(
            code(
                s.waive_item(&o, &run.id, "infra.env", &waiver("ops", "2026-02-28"))
                    .unwrap_err()
            ),
            "checklist.waiver_invalid"
        );
        assert_eq!(
            code(
                s.add_gap(
                    &o,
                    &run.id,
                    &KnownGap {
                        text: "x".into(),
                        owner: "".into(),
                        due: d("2026-04-01")
                    }
                )
                .unwrap_err()
            ),
            "checklist.invalid"
        );
        assert_eq!(
            code(s.set_decision(&o, &run.id, &DecisionUpdate::default()).unwrap_err()),
            "checklist.invalid"
        );
        assert_eq!(
            code(
                s.waive_item(&o, "RUN-000404", "infra.env", &waiver("ops", "2026-04-01"))
                    .unwrap_err()
            ),
            "checklist.run_not_found"
        );
        // Refusals wrote nothing: one run, one check.
        let log = s.audit_records(&AuditFilter::default()).unwrap();
        let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(actions, ["checklist.run.new", "checklist.item.check"]);
    }

    #[test]
    fn a_run_completes_through_the_store_with_facts_resolved() {
        let mut s = Store::open_in_memory().unwrap();
        let o = origin();
        s.import_registry(
            &o,
            include_str!("../../../examples/token-factory-complete/registry.yaml"),
        )
        .unwrap();
        let run = s.new_checklist_run(&o, T, &params()).unwrap();
        let as_of = d("2026-03-02");
        let v = s.checklist_verdict(&run.id, as_of, None).unwrap();
        assert!(!v.verdict.complete);
        assert_eq!(v.facts.billing["acme"].detail.as_deref(), Some(STANDARD_NOT_CONFIGURED));
        assert_eq!(
            v.facts.stages["token-factory-onboarding-v1"]["intake"]
                .detail
                .as_deref(),
            Some("packet `token-factory-onboarding-v1` is not in the store")
        );
        assert_eq!(v.facts.adoption_weeks, Some(0));
        // No review gate, no review facts.
        assert!(v.facts.reviews.is_empty());

        s.put_packet(
            &o,
            include_str!("../../../examples/token-factory-complete/packet.yaml"),
            crate::Format::Yaml,
        )
        .unwrap();
        s.record_result(&o, &run.id, "infra.health", &health(500)).unwrap();
        let failed = s.checklist_verdict(&run.id, as_of, None).unwrap();
        assert_eq!(failed.verdict.items[0].status, crate::checklist::ItemStatus::Failed);
        s.record_result(&o, &run.id, "infra.health", &health(200)).unwrap();
        s.check_item(
            &o,
            &run.id,
            "infra.env",
            ItemState::Done,
            &["ev-1".into()],
            Some("checked in render"),
        )
        .unwrap();
        s.check_item(&o, &run.id, "billing.owner", ItemState::Done, &[], None)
            .unwrap();
        s.waive_item(
            &o,
            &run.id,
            "billing.gate",
            &Waiver {
                owner: "finance".into(),
                reason: "invoice terms net 30".into(),
                expires: d("2026-03-31"),
            },
        )
        .unwrap();
        s.record_adoption_week(&o, &run.id, &week(1, 7)).unwrap();
        s.record_adoption_week(&o, &run.id, &week(2, 9)).unwrap();
        let a = s.record_adoption_week(&o, &run.id, &week(3, 9)).unwrap();
        assert_eq!(a.weeks_as_primary, 2);
        assert_eq!(
            code(s.record_adoption_week(&o, &run.id, &week(4, 11)).unwrap_err()),
            "adoption.invalid_row"
        );
        s.add_gap(
            &o,
            &run.id,
            &KnownGap {
                text: "alert routing for nightly".into(),
                owner: "ops".into(),
                due: d("2026-03-15"),
            },
        )
        .unwrap();
        s.set_decision(
            &o,
            &run.id,
            &DecisionUpdate {
                technical_owner: Some("ana".into()),
                rollback_authority: Some("cto".into()),
                support_channel: Some("#acme".into()),
                support_sla: Some("4 business hours".into()),
            },
        )
        .unwrap();
        let v = s.checklist_verdict(&run.id, as_of, None).unwrap();
        assert!(v.verdict.complete, "{:#?}", v.verdict);
        assert_eq!(v.facts.adoption_weeks, Some(2));
        assert!(v.facts.stages["token-factory-onboarding-v1"]["intake"].satisfied);
        // The gap falls due, then the waiver lapses.
        assert!(
            !s.checklist_verdict(&run.id, d("2026-03-16"), None)
                .unwrap()
                .verdict
                .complete
        );
        let f = s.forecast_runs(as_of, d("2026-04-30"), None).unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].complete_on_from && !f[0].complete_on_to);
        let dates: Vec<String> = f[0].changes.iter().map(|c| c.date.to_string()).collect();
        assert_eq!(dates, ["2026-03-16", "2026-04-01"]);
        assert!(s.forecast_runs(as_of, d("2026-03-10"), None).unwrap().is_empty());

        // The stored run reads back exactly; the audit log holds every step.
        let back = s.checklist_run(&run.id).unwrap();
        assert_eq!(back.run.items["infra.env"].note.as_deref(), Some("checked in render"));
        assert_eq!(back.run.items["infra.health"].state, ItemState::Done);
        assert_eq!(back.run.known_gaps.len(), 1);
        assert_eq!(back.adoption_weeks.len(), 3);
        let log = s
            .audit_records(&AuditFilter {
                target: Some(format!("checklist:{}", run.id)),
                ..AuditFilter::default()
            })
            .unwrap();
        assert_eq!(log.len(), 11);
        assert!(s.audit_verify().unwrap().ok);

        // Thresholds per customer: a 95 % bar leaves no primary-tool week.
        let t = Thresholds {
            later_min_percent: 95,
            ..Thresholds::default()
        };
        assert_eq!(s.set_adoption_thresholds(&o, &run.id, &t).unwrap().weeks_as_primary, 0);
        let v = s.checklist_verdict(&run.id, as_of, None).unwrap();
        assert!(!v.verdict.complete);
    }

    #[test]
    fn review_gates_follow_the_stored_signoffs() {
        use crate::checklist::ItemStatus;
        use crate::records::store::SignOffRequest;
        use crate::review::{Decision, Role};

        const PACKET: &str = include_str!("../../../examples/token-factory-complete/packet.yaml");
        const ID: &str = "token-factory-onboarding-v1";
        let mut s = Store::open_in_memory().unwrap();
        let o = origin();
        let template = crate::checklist::builtin::source("product-onboarding").unwrap();
        let run = s
            .new_checklist_run(&o, template, &BTreeMap::from([("packet_id".to_owned(), ID.to_owned())]))
            .unwrap();
        let as_of = d("2026-03-02");
        let reviews = |s: &Store| -> Vec<(String, ItemStatus, String)> {
            s.checklist_verdict(&run.id, as_of, None)
                .unwrap()
                .verdict
                .items
                .into_iter()
                .filter(|i| i.key.starts_with("reviews."))
                .map(|i| (i.key, i.status, i.reason.unwrap_or_default()))
                .collect()
        };
        // No packet stored: every review gate says so.
        let before = reviews(&s);
        assert_eq!(before.len(), 7);
        assert!(
            before.iter().all(|(_, st, why)| *st == ItemStatus::Open
                && why.ends_with(&format!("is not satisfied: packet `{ID}` is not in the store"))),
            "{before:#?}"
        );

        s.put_packet(&o, PACKET, crate::Format::Yaml).unwrap();
        let sign = |s: &mut Store, at: &str, role: Role, decision: Decision, reasons: &[String]| {
            let by = format!("{role}@example.com");
            s.sign_off(
                &Origin::new(by.as_str(), at.parse().unwrap()),
                &SignOffRequest {
                    packet_id: ID,
                    role,
                    decision,
                    reasons,
                    digest: None,
                },
            )
            .unwrap();
        };
        sign(&mut s, "2026-03-01T11:00:00Z", Role::Product, Decision::Approve, &[]);
        sign(&mut s, "2026-03-01T11:00:00Z", Role::Backend, Decision::Approve, &[]);
        let why = ["no threat model".to_owned(), "keys in env".to_owned()];
        sign(&mut s, "2026-03-01T12:00:00Z", Role::Security, Decision::Approve, &[]);
        sign(&mut s, "2026-03-01T13:00:00Z", Role::Security, Decision::Reject, &why);
        let v = s.checklist_verdict(&run.id, as_of, None).unwrap();
        // Each role's fact is what `review_status` says of it.
        let st = s.review_status(ID).unwrap();
        let facts = &v.facts.reviews[ID];
        assert_eq!(facts.len(), 7);
        for r in &st.roles {
            assert_eq!(facts[r.role.as_str()].satisfied, r.status == "approved", "{}", r.role);
        }
        let what = |role: &str| format!("the `{role}` review of packet `{ID}` is not satisfied: ");
        let expected = |s: &[(&str, ItemStatus, String)]| -> Vec<(String, ItemStatus, String)> {
            s.iter()
                .map(|(k, st, r)| (format!("reviews.{k}"), *st, r.clone()))
                .collect()
        };
        assert_eq!(
            reviews(&s),
            expected(&[
                (
                    "product",
                    ItemStatus::Done,
                    "approved by `product@example.com` at 2026-03-01T11:00:00Z on version 1".into()
                ),
                (
                    "architecture",
                    ItemStatus::Open,
                    what("architecture")
                        + "missing: no `architecture` sign-off on any version; the latest is version 1"
                ),
                (
                    "backend",
                    ItemStatus::Done,
                    "approved by `backend@example.com` at 2026-03-01T11:00:00Z on version 1".into()
                ),
                (
                    "frontend",
                    ItemStatus::Open,
                    what("frontend") + "missing: no `frontend` sign-off on any version; the latest is version 1"
                ),
                (
                    "security",
                    ItemStatus::Open,
                    what("security")
                        + "rejected by `security@example.com` at 2026-03-01T13:00:00Z on version 1: no threat model; keys in env"
                ),
                (
                    "operations",
                    ItemStatus::Open,
                    what("operations") + "missing: no `operations` sign-off on any version; the latest is version 1"
                ),
                (
                    "governance",
                    ItemStatus::Open,
                    what("governance") + "missing: no `governance` sign-off on any version; the latest is version 1"
                ),
            ])
        );

        // An edited packet voids every sign-off: the approvals and the rejection are
        // stale; approving the new version again satisfies the gate.
        let edited = PACKET.replace("rollback_posture: Redeploy", "rollback_posture: Re-deploy");
        assert!(edited != PACKET, "the edit must change the packet");
        s.put_packet(&o, &edited, crate::Format::Yaml).unwrap();
        sign(&mut s, "2026-03-02T09:00:00Z", Role::Backend, Decision::Approve, &[]);
        let after = reviews(&s);
        let get = |key: &str| after.iter().find(|(k, _, _)| k == key).cloned().unwrap();
        assert_eq!(
            get("reviews.product"),
            (
                "reviews.product".to_owned(),
                ItemStatus::Open,
                what("product")
                    + "stale: `product@example.com` approved version 1 at 2026-03-01T11:00:00Z; the latest version, 2, has no `product` sign-off"
            )
        );
        assert_eq!(
            get("reviews.security").2,
            what("security")
                + "stale: `security@example.com` rejected version 1 at 2026-03-01T13:00:00Z; the latest version, 2, has no `security` sign-off"
        );
        assert_eq!(
            get("reviews.backend"),
            (
                "reviews.backend".to_owned(),
                ItemStatus::Done,
                "approved by `backend@example.com` at 2026-03-02T09:00:00Z on version 2".to_owned()
            )
        );
        assert_eq!(
            get("reviews.frontend").2,
            what("frontend") + "missing: no `frontend` sign-off on any version; the latest is version 2"
        );
        let v = s.checklist_verdict(&run.id, as_of, None).unwrap();
        let unmet: Vec<&str> = v
            .verdict
            .exit_criteria
            .iter()
            .filter(|c| !c.met)
            .map(|c| c.id.as_str())
            .collect();
        assert_eq!(unmet, ["every_stage", "every_review"]);
        // A gate cannot be ticked by hand.
        assert_eq!(
            code(
                s.check_item(
                    &o,
                    &run.id,
                    "reviews.product",
                    ItemState::Done,
                    &["signed".into()],
                    None
                )
                .unwrap_err()
            ),
            "checklist.wrong_kind"
        );
        // Review facts carry no date: the forecast lists nothing for this run.
        assert!(s.forecast_runs(as_of, d("2027-03-02"), None).unwrap().is_empty());
    }

    #[test]
    fn billing_gates_follow_the_standard_given() {
        let mut s = Store::open_in_memory().unwrap();
        let o = origin();
        let run = s.new_checklist_run(&o, T, &params()).unwrap();
        let v = s
            .checklist_verdict(&run.id, d("2026-03-02"), Some(GateStandard::Paid))
            .unwrap();
        let fact = &v.facts.billing["acme"];
        assert!(!fact.satisfied);
        assert_eq!(fact.detail.as_deref(), Some("no paid invoice for tenant acme"));
        assert_eq!(v.standard, Some(GateStandard::Paid));
    }
}
