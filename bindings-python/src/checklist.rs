//! Checklists (SPEC §2.8): templates, runs, the pure evaluation, probes and flows
//! driven from Python, adoption metrics, and the store's checklist-run operations
//! (`Store.new_checklist_run`, `Store.check_item`, … forward here).
//!
//! Thin: reading a template, evaluating a run, checking assertions, stepping a flow,
//! evaluating adoption rows and every store operation are the core's
//! (`gangway::checklist`); `to_dict()` is the core's JSON form and `to_json()` its
//! canonical JSON. The binding sends no request: `FlowRun.next()` hands Python the
//! request to send and `FlowRun.respond()` takes the response back.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use gangway::billing::GateStandard;
use gangway::checklist::store::{DecisionUpdate, RunError, StoredRun};
use gangway::checklist::{
    AdoptionVerdict as CoreAdoption, Artifact, Check, DecisionRecord, Facts, FlowRun as CoreFlowRun, Headers, Item,
    ItemRecord, ItemState, KnownGap, Outgoing, Recorded, Response, Run, Secrets, Section, Template, Thresholds,
    Verdict, Waiver, WeekRow, builtin, evaluate, evaluate_adoption, item_key, report, upcoming_changes,
};
use gangway::report::canonical_json;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyMapping, PyString, PyTuple};

use crate::convert::{self, from_py, py_to_json, repr_opt, repr_str};
use crate::errors;
use crate::store::{Store, origin, timestamp};

static DISPLAY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Calls `gangway._display.<name>(obj)` (the notebook views are written in Python).
fn display<'py>(py: Python<'py>, name: &str, obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let module = DISPLAY.get_or_try_init(py, || PyModule::import(py, "gangway._display").map(Bound::unbind))?;
    module.bind(py).getattr(name)?.call1((obj,))
}

fn py_bool(b: bool) -> &'static str {
    if b { "True" } else { "False" }
}

/// The keys of every item of `template`, in order.
fn item_keys(template: &Template) -> Vec<String> {
    template.items().map(|(s, i)| item_key(&s.id, &i.id)).collect()
}

/// The item `key` of `template`, or `ChecklistError` (`checklist.unknown_item`, with
/// a did-you-mean) naming `argument`.
fn item_of<'t>(py: Python<'_>, template: &'t Template, key: &str, argument: &str) -> PyResult<&'t Item> {
    template.item(key).ok_or_else(|| {
        let keys = item_keys(template);
        let hint = gangway::decode::did_you_mean(key, keys.iter().map(String::as_str))
            .map(|s| format!("; did you mean `{s}`?"))
            .unwrap_or_default();
        errors::checklist_refusal(
            py,
            "checklist.unknown_item",
            Some(argument),
            format!("the template `{}` has no item `{key}`{hint}", template.id),
        )
    })
}

// ---- templates ----

/// A checklist template: sections of items (manual, probe, flow, gate) and the exit
/// criteria that say when a run of it is complete. Read strictly from YAML
/// (`from_yaml`, `from_path`) or one of the built-ins (`builtin`); a template that
/// does not read raises `ChecklistError` with every problem.
#[pyclass(frozen, module = "gangway", name = "ChecklistTemplate")]
#[derive(Debug, Clone)]
pub struct ChecklistTemplate {
    pub inner: Arc<Template>,
    /// The YAML text it was read from (what a stored run keeps).
    pub text: Arc<str>,
    pub source_name: Option<String>,
}

impl PartialEq for ChecklistTemplate {
    fn eq(&self, other: &Self) -> bool {
        self.inner == other.inner
    }
}

impl ChecklistTemplate {
    fn load(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<ChecklistTemplate> {
        let text: Arc<str> = Arc::from(text);
        match py.detach(|| Template::from_yaml(&text)) {
            Ok(t) => Ok(ChecklistTemplate {
                inner: Arc::new(t),
                text,
                source_name,
            }),
            Err(e) => Err(errors::template_error(py, &e, source_name.as_deref())),
        }
    }
}

#[pymethods]
impl ChecklistTemplate {
    /// Reads a template from YAML. A template that does not read raises
    /// `ChecklistError` whose `problems` lists every problem (code, path, line,
    /// column, message) and whose `to_json()` is the canonical error JSON.
    #[staticmethod]
    #[pyo3(signature = (text, *, source_name = None))]
    fn from_yaml(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<ChecklistTemplate> {
        ChecklistTemplate::load(py, text, source_name)
    }

    /// Reads a template file (`str` or `os.PathLike`); the source name defaults to the
    /// path as given. An unreadable file raises `FileError`.
    #[staticmethod]
    #[pyo3(signature = (path, *, source_name = None))]
    fn from_path(py: Python<'_>, path: PathBuf, source_name: Option<String>) -> PyResult<ChecklistTemplate> {
        let read = {
            let path = path.clone();
            py.detach(move || std::fs::read_to_string(path))
        };
        let text = read.map_err(|e| errors::file_error(py, &path, &e))?;
        let name = source_name.unwrap_or_else(|| path.display().to_string());
        ChecklistTemplate::load(py, text, Some(name))
    }

    /// The built-in template `id` (one of `gangway.BUILTIN_TEMPLATES`); an unknown id
    /// raises `InvalidInputError` (`invalid_template`).
    #[staticmethod]
    fn builtin(py: Python<'_>, id: &str) -> PyResult<ChecklistTemplate> {
        let Some(text) = builtin::source(id) else {
            return Err(errors::invalid_input(
                py,
                "invalid_template",
                "id",
                format!(
                    "no built-in template `{id}`; expected one of {}",
                    builtin::ids().join(", ")
                ),
            ));
        };
        ChecklistTemplate::load(py, text.to_owned(), Some(format!("builtin:{id}")))
    }

    /// The template's id.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// Its title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }

    /// Where it comes from (a runbook, a spec section).
    #[getter]
    fn source(&self) -> &str {
        &self.inner.source
    }

    /// The file name or label it was read from (`builtin:<id>` for a built-in).
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// The YAML text it was read from (what `Store.new_checklist_run` keeps).
    #[getter]
    fn text(&self) -> &str {
        &self.text
    }

    /// The names of the parameters a run must supply, in order.
    #[getter]
    fn parameters(&self) -> Vec<String> {
        self.inner.parameter_names().map(str::to_owned).collect()
    }

    /// The secret names (`${secret.NAME}`) its probes and flows use, sorted.
    #[getter]
    fn secret_names(&self) -> Vec<String> {
        self.inner.secret_names()
    }

    /// The sections, in order.
    #[getter]
    fn sections(&self) -> Vec<ChecklistSection> {
        self.inner
            .sections
            .iter()
            .map(|s| ChecklistSection { inner: s.clone() })
            .collect()
    }

    /// The exit criteria in the core's JSON form (`{id, text, all_sections, sections,
    /// items, decision_record, no_overdue_gaps}`), in order.
    #[getter]
    fn exit_criteria<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.exit_criteria)
    }

    /// Every item's key (`section.item`), in order.
    fn item_keys(&self) -> Vec<String> {
        item_keys(&self.inner)
    }

    /// The item with key `section.item`, or `None`.
    fn item(&self, key: &str) -> Option<ChecklistItem> {
        let (section, _) = key.split_once('.')?;
        self.inner.item(key).map(|i| ChecklistItem {
            section: section.to_owned(),
            inner: i.clone(),
        })
    }

    /// The core's JSON form (every default written out).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, self.inner.as_ref())
    }

    /// The canonical JSON: the same bytes as Rust, the CLI and the corpus.
    fn to_json(&self) -> String {
        canonical_json(self.inner.as_ref())
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "checklist_template_html", slf.into_any())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<ChecklistTemplate>().is_ok_and(|o| o.get() == self)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ChecklistTemplate(id={}, sections={}, items={}, exit_criteria={})",
            repr_str(py, &self.inner.id),
            self.inner.sections.len(),
            self.inner.items().count(),
            self.inner.exit_criteria.len()
        )
    }
}

/// A section of a checklist template.
#[pyclass(frozen, eq, module = "gangway", name = "ChecklistSection")]
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistSection {
    inner: Section,
}

#[pymethods]
impl ChecklistSection {
    /// The section's id.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// Its title.
    #[getter]
    fn title(&self) -> &str {
        &self.inner.title
    }

    /// Its items, in order.
    #[getter]
    fn items(&self) -> Vec<ChecklistItem> {
        self.inner
            .items
            .iter()
            .map(|i| ChecklistItem {
                section: self.inner.id.clone(),
                inner: i.clone(),
            })
            .collect()
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ChecklistSection(id={}, title={}, items={})",
            repr_str(py, &self.inner.id),
            repr_str(py, &self.inner.title),
            self.inner.items.len()
        )
    }
}

/// One item of a checklist template.
#[pyclass(frozen, eq, module = "gangway", name = "ChecklistItem")]
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistItem {
    section: String,
    inner: Item,
}

#[pymethods]
impl ChecklistItem {
    /// `section.item`: how runs, verdicts and exit criteria name it.
    #[getter]
    fn key(&self) -> String {
        item_key(&self.section, &self.inner.id)
    }

    /// The item's id.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// Its section's id.
    #[getter]
    fn section(&self) -> &str {
        &self.section
    }

    /// What must be true, for people.
    #[getter]
    fn text(&self) -> &str {
        &self.inner.text
    }

    /// `"manual"`, `"probe"`, `"flow"` or `"gate"`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind().as_str()
    }

    /// The core's JSON form (with the request and assertions, the steps, or the gate).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "ChecklistItem(key={}, kind={})",
            repr_str(py, &item_key(&self.section, &self.inner.id)),
            repr_str(py, self.inner.kind().as_str())
        )
    }
}

// ---- runs ----

/// The state of one use of a template (the core's `Run`): parameters, item records
/// by key, known gaps and the decision record. A value: build it here, from its JSON
/// form (`from_dict`, `from_json`), or read it from the store
/// (`Store.checklist_run(...).run`).
#[pyclass(frozen, eq, module = "gangway", name = "ChecklistRun")]
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistRun {
    pub inner: Run,
}

/// A template argument: a `ChecklistTemplate` or a template id.
fn template_id(py: Python<'_>, template: &Bound<'_, PyAny>) -> PyResult<String> {
    if let Ok(t) = template.cast::<ChecklistTemplate>() {
        Ok(t.get().inner.id.clone())
    } else if let Ok(s) = template.cast::<PyString>() {
        Ok(s.to_cow()?.into_owned())
    } else {
        Err(errors::invalid_input(
            py,
            "invalid_template",
            "template",
            format!(
                "template must be a gangway.ChecklistTemplate or a template id, not {}",
                convert::type_name(template)
            ),
        ))
    }
}

#[pymethods]
impl ChecklistRun {
    /// A run of `template` (a `ChecklistTemplate` or its id). `items` maps item keys
    /// to records in the JSON form (`{"state": "done", "evidence": [...], "by": …,
    /// "at": …, "waiver": {"owner", "reason", "expires"}, "result": FlowArtifact or
    /// its dict, "note": …}`; dates and aware datetimes are accepted), `known_gaps` is
    /// a list of `{text, owner, due}` and `decision_record` a mapping of its fields.
    /// A value that does not fit raises `InvalidInputError` (`invalid_run`).
    #[new]
    #[pyo3(signature = (template, *, parameters = None, items = None, known_gaps = None, decision_record = None))]
    fn new(
        py: Python<'_>,
        template: &Bound<'_, PyAny>,
        parameters: Option<BTreeMap<String, String>>,
        items: Option<&Bound<'_, PyAny>>,
        known_gaps: Option<&Bound<'_, PyAny>>,
        decision_record: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<ChecklistRun> {
        let mut run = Run::new(template_id(py, template)?);
        run.parameters = parameters.unwrap_or_default();
        if let Some(items) = items.filter(|v| !v.is_none()) {
            let map = items.cast::<PyMapping>().map_err(|_| {
                errors::invalid_input(
                    py,
                    "invalid_run",
                    "items",
                    format!("items must map item keys to records, not {}", convert::type_name(items)),
                )
            })?;
            for entry in map.items()?.iter() {
                let (key, record): (String, Bound<'_, PyAny>) = entry.extract()?;
                let argument = format!("items[{}]", repr_str(py, &key));
                let record: ItemRecord = from_py(py, &record, "invalid_run", &argument)?;
                run.items.insert(key, record);
            }
        }
        if let Some(gaps) = known_gaps.filter(|v| !v.is_none()) {
            run.known_gaps = from_py(py, gaps, "invalid_run", "known_gaps")?;
        }
        if let Some(record) = decision_record.filter(|v| !v.is_none()) {
            run.decision_record = from_py::<DecisionRecord>(py, record, "invalid_run", "decision_record")?;
        }
        Ok(ChecklistRun { inner: run })
    }

    /// A run from its JSON form as Python objects (`to_dict()`'s shape; unknown keys
    /// are refused).
    #[staticmethod]
    fn from_dict(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<ChecklistRun> {
        Ok(ChecklistRun {
            inner: from_py(py, value, "invalid_run", "run")?,
        })
    }

    /// A run from its JSON text (a run file).
    #[staticmethod]
    fn from_json(py: Python<'_>, text: &str) -> PyResult<ChecklistRun> {
        serde_json::from_str(text)
            .map(|inner| ChecklistRun { inner })
            .map_err(|e| errors::invalid_input(py, "invalid_run", "text", format!("not a checklist run: {e}")))
    }

    /// The template's id.
    #[getter]
    fn template(&self) -> &str {
        &self.inner.template
    }

    /// The parameters' values, by name.
    #[getter]
    fn parameters(&self) -> BTreeMap<String, String> {
        self.inner.parameters.clone()
    }

    /// The item records by key, in the JSON form.
    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.items)
    }

    /// The record of item `key` in the JSON form, or `None` (the item is open).
    fn item<'py>(&self, py: Python<'py>, key: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner.items.get(key).map(|r| convert::to_py(py, r)).transpose()
    }

    /// The known gaps (`{text, owner, due}`).
    #[getter]
    fn known_gaps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.known_gaps)
    }

    /// The decision record (`technical_owner_signoff`, `rollback_authority`,
    /// `support_channel`, `support_sla`).
    #[getter]
    fn decision_record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.decision_record)
    }

    /// The core's JSON form (a run file).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The canonical JSON.
    fn to_json(&self) -> String {
        canonical_json(&self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let params: Vec<String> = self
            .inner
            .parameters
            .iter()
            .map(|(k, v)| format!("{}: {}", repr_str(py, k), repr_str(py, v)))
            .collect();
        format!(
            "ChecklistRun(template={}, parameters={{{}}}, items={}, known_gaps={})",
            repr_str(py, &self.inner.template),
            params.join(", "),
            self.inner.items.len(),
            self.inner.known_gaps.len()
        )
    }
}

// ---- verdicts ----

/// The verdict on a run (the core's `Verdict`): each item's status, each section,
/// each exit criterion with what blocks it, the overdue gaps, the decision record and
/// the run's problems, on `as_of`. From `evaluate_checklist` or
/// `Store.checklist_verdict` (which also gives the gate facts it resolved from the
/// store, the billing standard and the adoption verdict). Renders as HTML in notebooks
/// and as Markdown for portal pages.
#[pyclass(frozen, eq, module = "gangway", name = "ChecklistVerdict")]
#[derive(Debug, Clone, PartialEq)]
pub struct ChecklistVerdict {
    inner: Verdict,
    template: ChecklistTemplate,
    run: Run,
    facts: Facts,
    run_id: Option<String>,
    standard: Option<GateStandard>,
    adoption: Option<CoreAdoption>,
}

#[pymethods]
impl ChecklistVerdict {
    /// True when every exit criterion is met, the run is of this template and every
    /// parameter is supplied.
    #[getter]
    fn complete(&self) -> bool {
        self.inner.complete
    }

    /// The template evaluated against.
    #[getter]
    fn template(&self) -> ChecklistTemplate {
        self.template.clone()
    }

    /// The template's id.
    #[getter]
    fn template_id(&self) -> &str {
        &self.inner.template
    }

    /// The run evaluated.
    #[getter]
    fn run(&self) -> ChecklistRun {
        ChecklistRun {
            inner: self.run.clone(),
        }
    }

    /// The stored run's id (`RUN-000001`), or `None` for a run evaluated directly.
    #[getter]
    fn run_id(&self) -> Option<&str> {
        self.run_id.as_deref()
    }

    /// The date evaluated at.
    #[getter]
    fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDate>> {
        convert::date_to_py(py, self.inner.as_of)
    }

    /// How many items have each status (`total`, `done`, `waived`, `open`, `failed`,
    /// `waiver_lapsed`, `evidence_missing`).
    #[getter]
    fn counts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.counts)
    }

    /// Every item in template order: `{key, kind, status, reason, waiver_expires, by,
    /// at}`; `status` is `done`, `failed`, `open`, `waived`, `waiver_lapsed` or
    /// `evidence_missing`.
    #[getter]
    fn items<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.items)
    }

    /// Every section: `{id, complete, blocking}`.
    #[getter]
    fn sections<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.sections)
    }

    /// Every exit criterion: `{id, met, blocking}`, each blocker tagged by `kind`
    /// (`item`, `section`, `decision_record`, `overdue_gap`).
    #[getter]
    fn exit_criteria<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.exit_criteria)
    }

    /// Known gaps due before `as_of`.
    #[getter]
    fn overdue_gaps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.overdue_gaps)
    }

    /// `{complete, missing}`.
    #[getter]
    fn decision_record<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.decision_record)
    }

    /// Problems with the run itself (`{code, subject, message}`), sorted.
    #[getter]
    fn problems<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.problems)
    }

    /// The gate facts evaluated with (`{billing, stages, reviews, adoption_weeks}`).
    #[getter]
    fn facts<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.facts)
    }

    /// The billing gate standard applied by `Store.checklist_verdict` (`None`: not
    /// configured, or a run evaluated directly).
    #[getter]
    fn standard(&self) -> Option<&'static str> {
        self.standard.map(GateStandard::as_str)
    }

    /// The adoption verdict over the stored run's weekly rows, when it has any.
    #[getter]
    fn adoption(&self) -> Option<AdoptionVerdict> {
        self.adoption.clone().map(|inner| AdoptionVerdict { inner })
    }

    /// The dates after `as_of` on which the verdict changes (a waiver lapses, a gap
    /// falls due): `{date, change, subject, owner}`, sorted.
    fn upcoming_changes<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let changes = py.detach(|| upcoming_changes(&self.template.inner, &self.run, &self.facts, self.inner.as_of));
        convert::to_py(py, &changes)
    }

    /// The core's JSON form of the verdict.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The canonical JSON of the verdict: the same bytes as Rust and the corpus.
    fn to_json(&self) -> String {
        canonical_json(&self.inner)
    }

    /// The Markdown report (summary, one table per section, the exit criteria with
    /// what blocks them, known gaps, the decision record, the run's problems), as the
    /// release bundle holds it.
    fn to_markdown(&self, py: Python<'_>) -> String {
        py.detach(|| report::markdown(&self.template.inner, self.run_id.as_deref(), &self.run, &self.inner))
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "checklist_verdict_html", slf.into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let c = &self.inner.counts;
        let unmet: Vec<String> = self
            .inner
            .exit_criteria
            .iter()
            .filter(|c| !c.met)
            .map(|c| repr_str(py, &c.id))
            .collect();
        format!(
            "ChecklistVerdict(template={}, run_id={}, as_of={}, complete={}, settled={}/{}, unmet=[{}])",
            repr_str(py, &self.inner.template),
            repr_opt(py, self.run_id.as_deref()),
            repr_str(py, &self.inner.as_of.to_string()),
            py_bool(self.inner.complete),
            c.done + c.waived,
            c.total,
            unmet.join(", ")
        )
    }
}

fn facts_of(py: Python<'_>, facts: Option<&Bound<'_, PyAny>>) -> PyResult<Facts> {
    match facts.filter(|f| !f.is_none()) {
        None => Ok(Facts::default()),
        Some(f) => from_py(py, f, "invalid_facts", "facts"),
    }
}

/// Evaluates `run` against `template` on `as_of` (a `datetime.date` or `YYYY-MM-DD`;
/// default today) with the gate `facts` (`{"billing": {tenant: {"satisfied",
/// "detail"}}, "stages": {packet_id: {stage: {…}}}, "reviews": {packet_id: {role:
/// {…}}}, "adoption_weeks": N}`; default
/// none: every gate open). Pure: the same inputs give the same verdict.
#[pyfunction]
#[pyo3(signature = (template, run, facts = None, *, as_of = None))]
fn evaluate_checklist(
    py: Python<'_>,
    template: &Bound<'_, ChecklistTemplate>,
    run: &Bound<'_, ChecklistRun>,
    facts: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<ChecklistVerdict> {
    let as_of = convert::as_of(py, as_of)?;
    let facts = facts_of(py, facts)?;
    let t = template.get();
    let r = &run.get().inner;
    let inner = py.detach(|| evaluate(&t.inner, r, &facts, as_of));
    Ok(ChecklistVerdict {
        inner,
        template: t.clone(),
        run: r.clone(),
        facts,
        run_id: None,
        standard: None,
        adoption: None,
    })
}

// ---- probes and flows ----

/// The probe assertions `assertions` (a probe item's `expect` list, as written in a
/// template: `{"status": 200}`, `{"pointer": "/status", "in": ["ok"]}`, …) checked
/// against `response` (`{"status", "headers", "body", "elapsed_ms"}`): one result per
/// assertion, `{subject, target, op, expected, actual, pass, reason}`. The
/// assertions are read by the core's template reader, so shapes and checks are a
/// template's: ones that do not read raise `ChecklistError` with every problem, its
/// `path` into `assertions` (`/2/in`).
#[pyfunction]
fn check_response<'py>(
    py: Python<'py>,
    assertions: &Bound<'py, PyAny>,
    response: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let response: Response = from_py(py, response, "invalid_response", "response")?;
    let expect = py_to_json(assertions)
        .map_err(|e| errors::invalid_input(py, "invalid_assertions", "assertions", format!("assertions{e}")))?;
    let doc = serde_json::json!({
        "id": "check-response",
        "title": "check_response",
        "source": "gangway.check_response",
        "sections": [{"id": "probe", "title": "probe", "items": [{
            "id": "probe", "text": "probe", "kind": "probe",
            "request": {"method": "GET", "path": "/"},
            "expect": expect,
        }]}],
        "exit_criteria": [{"id": "done", "text": "done", "all_sections": true}],
    });
    let text = doc.to_string();
    let template = py.detach(|| Template::from_yaml(&text)).map_err(|e| {
        const PREFIX: &str = "/sections/0/items/0/expect";
        let problems: Vec<errors::ProblemRow<'_>> = e
            .problems
            .iter()
            .map(|p| {
                let path = p.path.strip_prefix(PREFIX).unwrap_or(&p.path);
                (p.code, path, None, None, p.message.as_str())
            })
            .collect();
        errors::checklist_problems(py, e.code(), &problems, None, None)
    })?;
    let Some(Check::Probe { expect, .. }) = template.item("probe.probe").map(|i| &i.check) else {
        return Err(errors::invalid_input(
            py,
            "invalid_assertions",
            "assertions",
            "the assertions did not read as a probe's".to_owned(),
        ));
    };
    let results: Vec<_> = py.detach(|| expect.iter().map(|a| a.check(&response)).collect());
    convert::to_py(py, &results)
}

/// The secrets argument: names to values.
fn secrets_of(secrets: Option<BTreeMap<String, String>>) -> Secrets {
    secrets.unwrap_or_default().into_iter().collect()
}

/// A request the flow asks for. `method`, `path`, `headers` and `json` are the
/// **real** values, to send (they may carry secrets: never log them); `redacted`,
/// `to_dict()` and `repr()` show every secret as `***`. Wait `wait_ms` before
/// sending, then hand the response to `FlowRun.respond`.
#[pyclass(frozen, eq, module = "gangway", name = "FlowRequest")]
#[derive(Debug, Clone, PartialEq)]
pub struct FlowRequest {
    inner: Outgoing,
}

#[pymethods]
impl FlowRequest {
    /// The step's id (a probe's is the item's id).
    #[getter]
    fn step(&self) -> &str {
        &self.inner.step
    }

    /// 1 for a step's first attempt; more when polling.
    #[getter]
    fn attempt(&self) -> u32 {
        self.inner.attempt
    }

    /// How long to wait before sending, in milliseconds (0 on a first attempt).
    #[getter]
    fn wait_ms(&self) -> u64 {
        self.inner.wait_ms
    }

    /// The HTTP method (`"GET"`, `"POST"`, …).
    #[getter]
    fn method(&self) -> &'static str {
        self.inner.request.method.as_str()
    }

    /// The path (and query) with real values, percent-encoded; join it to the base URL.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.request.path
    }

    /// The headers with real values.
    #[getter]
    fn headers(&self) -> Vec<(String, String)> {
        self.inner
            .request
            .headers
            .iter()
            .map(|(n, v)| (n.to_owned(), v.to_owned()))
            .collect()
    }

    /// The JSON body with real values (`None`: no body).
    #[getter]
    fn json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.inner.request.json {
            Some(j) => convert::json_to_py(py, j),
            None => Ok(py.None().into_bound(py)),
        }
    }

    /// `base_url` (without its trailing `/`) joined with `path`.
    fn url(&self, base_url: &str) -> String {
        format!("{}{}", base_url.trim_end_matches('/'), self.inner.request.path)
    }

    /// The request as recorded: `{method, path, headers, json}` with every secret as
    /// `***`.
    #[getter]
    fn redacted<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.redacted)
    }

    /// `{step, attempt, wait_ms, request}`, the request redacted (what the corpus
    /// lists).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let d = PyDict::new(py);
        d.set_item("step", &self.inner.step)?;
        d.set_item("attempt", self.inner.attempt)?;
        d.set_item("wait_ms", self.inner.wait_ms)?;
        d.set_item("request", convert::to_py(py, &self.inner.redacted)?)?;
        Ok(d.into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "FlowRequest(step={}, attempt={}, wait_ms={}, method={}, path={})",
            repr_str(py, &self.inner.step),
            self.inner.attempt,
            self.inner.wait_ms,
            repr_str(py, self.inner.redacted.method.as_str()),
            repr_str(py, &self.inner.redacted.path)
        )
    }
}

/// The end-to-end artifact of a probe or flow (the core's `Artifact`): each step's
/// redacted request, attempts (status, request id, assertion results), captured
/// values, and the request ids, job ids and timestamps. Every secret reads `***`.
/// Record it with `Store.record_result`, or as an item's `result` in a
/// `ChecklistRun`.
#[pyclass(frozen, eq, module = "gangway", name = "FlowArtifact")]
#[derive(Debug, Clone, PartialEq)]
pub struct FlowArtifact {
    pub inner: Artifact,
}

#[pymethods]
impl FlowArtifact {
    /// An artifact from its JSON form (as `to_dict()` gives it, or a stored result).
    #[staticmethod]
    fn from_dict(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<FlowArtifact> {
        Ok(FlowArtifact {
            inner: from_py(py, value, "invalid_artifact", "artifact")?,
        })
    }

    /// `"passed"`, `"failed"` or `"incomplete"`.
    #[getter]
    fn outcome<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.outcome)
    }

    /// True when the flow passed.
    #[getter]
    fn passed(&self) -> bool {
        self.inner.passed()
    }

    /// The first failure, for people.
    #[getter]
    fn reason(&self) -> Option<&str> {
        self.inner.reason.as_deref()
    }

    /// The first attempt's time (an aware `datetime` in UTC), or `None`.
    #[getter]
    fn started_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .started_at
            .map(|t| convert::timestamp_to_py(py, t))
            .transpose()
    }

    /// The last attempt's time, or `None`.
    #[getter]
    fn finished_at<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .finished_at
            .map(|t| convert::timestamp_to_py(py, t))
            .transpose()
    }

    /// Every step (`{step, outcome, reason, request, attempts, captured}`), in order.
    #[getter]
    fn steps<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.steps)
    }

    /// Every `x-request-id` seen, in order.
    #[getter]
    fn request_ids(&self) -> Vec<String> {
        self.inner.request_ids.clone()
    }

    /// Values captured `as: job_id`, in order.
    #[getter]
    fn job_ids(&self) -> Vec<String> {
        self.inner.job_ids.clone()
    }

    /// Every captured value by name (secrets as `***`).
    #[getter]
    fn captures<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.captures)
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The canonical JSON.
    fn to_json(&self) -> String {
        canonical_json(&self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let outcome = convert::to_py(py, &self.inner.outcome)?;
        let list = |v: &[String]| v.iter().map(|s| repr_str(py, s)).collect::<Vec<_>>().join(", ");
        Ok(format!(
            "FlowArtifact(outcome={}, steps={}, request_ids=[{}], job_ids=[{}])",
            outcome.repr()?,
            self.inner.steps.len(),
            list(&self.inner.request_ids),
            list(&self.inner.job_ids)
        ))
    }
}

/// A probe or flow item being run (a probe is a flow of one step): `next()` gives
/// the request to send, `respond()` (or `transport_error()`) takes what came back,
/// until `next()` is `None`; `artifact()` is the recordable result. The secrets
/// handed in are used for sending only: the artifact, `FlowRequest.to_dict()` and
/// every repr show them as `***`.
///
/// ```python
/// flow = gangway.FlowRun(template, "first_value.trade_end_to_end",
///                        params={"tenant": "acme"}, secrets={"INTEGRATION_KEY": key})
/// while (request := flow.next()) is not None:
///     time.sleep(request.wait_ms / 1000)
///     reply = http.request(request.method, request.url(base), headers=dict(request.headers), json=request.json)
///     flow.respond(reply.status_code, dict(reply.headers), reply.json())
/// artifact = flow.artifact()
/// ```
#[pyclass(module = "gangway", name = "FlowRun")]
#[derive(Debug)]
pub struct FlowRun {
    inner: CoreFlowRun,
    item: String,
}

/// Headers handed to `respond`: a mapping or pairs of strings.
fn headers_of(py: Python<'_>, headers: Option<&Bound<'_, PyAny>>) -> PyResult<Headers> {
    let mut out = Headers::new();
    let Some(headers) = headers.filter(|h| !h.is_none()) else {
        return Ok(out);
    };
    let pairs = match headers.cast::<PyMapping>() {
        Ok(map) => map.items()?.into_any(),
        Err(_) => headers.clone(),
    };
    for pair in pairs.try_iter()? {
        let pair = pair?;
        let (name, value): (String, String) = pair.extract().map_err(|_| {
            errors::invalid_input(
                py,
                "invalid_response",
                "headers",
                format!(
                    "headers must map names to string values (or be (name, value) pairs), not hold {}",
                    convert::type_name(&pair)
                ),
            )
        })?;
        out.push(name, value);
    }
    Ok(out)
}

fn at_or_now(py: Python<'_>, at: Option<&Bound<'_, PyAny>>) -> PyResult<gangway::Timestamp> {
    Ok(timestamp(py, at, "at")?.unwrap_or_else(gangway::Timestamp::now))
}

#[pymethods]
impl FlowRun {
    /// Starts the probe or flow item `item` (`section.item`) of `template` with the
    /// run's `params` and the `secrets` its requests use (`${secret.NAME}`). Raises
    /// `ChecklistError`: `checklist.unknown_item`, `checklist.not_automatic` (a
    /// manual or gate item), `checklist.input_missing` (naming every parameter and
    /// secret missing, in `missing_parameters` and `missing_secrets`).
    #[new]
    #[pyo3(signature = (template, item, *, params = None, secrets = None))]
    fn new(
        py: Python<'_>,
        template: &Bound<'_, ChecklistTemplate>,
        item: String,
        params: Option<BTreeMap<String, String>>,
        secrets: Option<BTreeMap<String, String>>,
    ) -> PyResult<FlowRun> {
        let t = template.get();
        let found = item_of(py, &t.inner, &item, "item")?;
        let params = params.unwrap_or_default();
        let inner = CoreFlowRun::for_item(found, &params, &secrets_of(secrets))
            .map_err(|e| errors::checklist_error(py, &e, Some("item")))?;
        Ok(FlowRun { inner, item })
    }

    /// The item's key.
    #[getter]
    fn item(&self) -> &str {
        &self.item
    }

    /// True when the flow has ended (passed or failed).
    #[getter]
    fn finished(&self) -> bool {
        self.inner.is_finished()
    }

    /// The request to send next, or `None` when the flow has ended.
    fn next(&self) -> Option<FlowRequest> {
        self.inner.next().cloned().map(|inner| FlowRequest { inner })
    }

    /// Hands back the response to `next()`'s request: its `status`, `headers` (a
    /// mapping or `(name, value)` pairs; names compare ignoring case), `body` (the
    /// parsed JSON; `None` when it is not JSON), the `elapsed_ms` you measured and
    /// when it came (`at`: an aware `datetime` or RFC 3339 text; default now).
    /// `ChecklistError` (`checklist.flow_finished`) when no request is pending.
    #[pyo3(signature = (status, headers = None, body = None, *, elapsed_ms = 0, at = None))]
    fn respond(
        &mut self,
        py: Python<'_>,
        status: u16,
        headers: Option<&Bound<'_, PyAny>>,
        body: Option<&Bound<'_, PyAny>>,
        elapsed_ms: u64,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let body = match body.filter(|b| !b.is_none()) {
            None => None,
            Some(b) => Some(
                py_to_json(b).map_err(|e| errors::invalid_input(py, "invalid_response", "body", format!("body{e}")))?,
            ),
        };
        let response = Response {
            status,
            headers: headers_of(py, headers)?,
            body,
            elapsed_ms,
        };
        let at = at_or_now(py, at)?;
        let inner = &mut self.inner;
        py.detach(|| inner.respond(&response, at))
            .map_err(|e| errors::checklist_error(py, &e, None))
    }

    /// Records that no response came for the pending request (connection refused,
    /// timeout, …): the step and the flow fail. `checklist.flow_finished` when no
    /// request is pending.
    #[pyo3(signature = (message, *, at = None))]
    fn transport_error(&mut self, py: Python<'_>, message: &str, at: Option<&Bound<'_, PyAny>>) -> PyResult<()> {
        let at = at_or_now(py, at)?;
        self.inner
            .transport_error(message, at)
            .map_err(|e| errors::checklist_error(py, &e, None))
    }

    /// The artifact so far (`incomplete` while a request is pending); secrets read
    /// `***`.
    fn artifact(&self, py: Python<'_>) -> FlowArtifact {
        let inner = &self.inner;
        FlowArtifact {
            inner: py.detach(|| inner.artifact()),
        }
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        let next = self.inner.next();
        let outcome = convert::to_py(py, &self.inner.artifact().outcome)?;
        Ok(format!(
            "FlowRun(item={}, step={}, attempt={}, outcome={})",
            repr_str(py, &self.item),
            repr_opt(py, next.map(|n| n.step.as_str())),
            next.map_or(0, |n| n.attempt),
            outcome.repr()?
        ))
    }
}

/// Drives the probe or flow item `item` of `template` over recorded `replies`, in
/// order (`{"at", "response": {"status", "headers", "body", "elapsed_ms"}}`, or
/// `{"at", "error"}` for a transport error), and returns the artifact (`incomplete`
/// if the replies run out first; extra replies are ignored). Errors as for
/// `FlowRun`.
#[pyfunction]
#[pyo3(signature = (template, item, replies, *, params = None, secrets = None))]
fn replay_flow(
    py: Python<'_>,
    template: &Bound<'_, ChecklistTemplate>,
    item: &str,
    replies: &Bound<'_, PyAny>,
    params: Option<BTreeMap<String, String>>,
    secrets: Option<BTreeMap<String, String>>,
) -> PyResult<FlowArtifact> {
    let t = template.get();
    let found = item_of(py, &t.inner, item, "item")?;
    let replies: Vec<Recorded> = from_py(py, replies, "invalid_replies", "replies")?;
    let flow = CoreFlowRun::for_item(found, &params.unwrap_or_default(), &secrets_of(secrets))
        .map_err(|e| errors::checklist_error(py, &e, Some("item")))?;
    Ok(FlowArtifact {
        inner: py.detach(|| flow.replay(&replies)),
    })
}

// ---- adoption ----

/// The adoption verdict (seed 002 §4, the core's `AdoptionVerdict`): each week's
/// coverage against its bar, the permission-error trend, whether the thresholds are
/// met and the consecutive weeks as the primary tool.
#[pyclass(frozen, eq, module = "gangway", name = "AdoptionVerdict")]
#[derive(Debug, Clone, PartialEq)]
pub struct AdoptionVerdict {
    inner: CoreAdoption,
}

#[pymethods]
impl AdoptionVerdict {
    /// True when every week passes its bar and the permission trend holds.
    #[getter]
    fn thresholds_met(&self) -> bool {
        self.inner.thresholds_met
    }

    /// Consecutive primary-tool weeks ending at the latest week (the
    /// `adoption_weeks` fact of an adoption gate).
    #[getter]
    fn weeks_as_primary(&self) -> u32 {
        self.inner.weeks_as_primary
    }

    /// True when `weeks_as_primary` reaches `thresholds["min_weeks"]`.
    #[getter]
    fn primary_tool(&self) -> bool {
        self.inner.primary_tool
    }

    /// The thresholds applied.
    #[getter]
    fn thresholds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.thresholds)
    }

    /// Every week, in week order (`{week, recorded_percent, threshold_percent, pass,
    /// primary, …, reasons}`).
    #[getter]
    fn weeks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.weeks)
    }

    /// The permission-error trend (`{pass, increases, latest, near_zero, reason}`).
    #[getter]
    fn permission_errors<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.permission_errors)
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The canonical JSON.
    fn to_json(&self) -> String {
        canonical_json(&self.inner)
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "adoption_html", slf.into_any())
    }

    fn __repr__(&self) -> String {
        format!(
            "AdoptionVerdict(weeks={}, thresholds_met={}, weeks_as_primary={}, primary_tool={})",
            self.inner.weeks.len(),
            py_bool(self.inner.thresholds_met),
            self.inner.weeks_as_primary,
            py_bool(self.inner.primary_tool)
        )
    }
}

fn thresholds_of(py: Python<'_>, thresholds: Option<&Bound<'_, PyAny>>) -> PyResult<Thresholds> {
    match thresholds.filter(|t| !t.is_none()) {
        None => Ok(Thresholds::default()),
        Some(t) => from_py(py, t, "invalid_thresholds", "thresholds"),
    }
}

/// Evaluates weekly adoption `rows` (any order; each `{week, shifts_in_scope,
/// shifts_recorded, …}`) against `thresholds` (`{week1_min_percent,
/// later_min_percent, permission_errors_near_zero, spot_check_max_minutes,
/// min_weeks}`, each defaulting to the seed's). Rows or thresholds the core cannot
/// evaluate raise `ChecklistError` (`adoption.duplicate_week`, `adoption.invalid_row`,
/// `adoption.invalid_threshold`).
#[pyfunction]
#[pyo3(name = "evaluate_adoption", signature = (rows, thresholds = None))]
fn evaluate_adoption_rows(
    py: Python<'_>,
    rows: &Bound<'_, PyAny>,
    thresholds: Option<&Bound<'_, PyAny>>,
) -> PyResult<AdoptionVerdict> {
    let rows: Vec<WeekRow> = from_py(py, rows, "invalid_rows", "rows")?;
    let thresholds = thresholds_of(py, thresholds)?;
    py.detach(|| evaluate_adoption(&rows, &thresholds))
        .map(|inner| AdoptionVerdict { inner })
        .map_err(|e| errors::adoption_error(py, &e))
}

// ---- runs in the store ----

/// A checklist run kept in the store: its id, the template text it was started with
/// (and that text's digest), the run, its adoption thresholds and weekly rows, and
/// who started it when.
#[pyclass(frozen, eq, module = "gangway", name = "StoredChecklistRun")]
#[derive(Debug, Clone, PartialEq)]
pub struct StoredChecklistRun {
    inner: StoredRun,
}

#[pymethods]
impl StoredChecklistRun {
    /// `RUN-000001`, … in order of creation.
    #[getter]
    fn id(&self) -> &str {
        &self.inner.id
    }

    /// The template's id.
    #[getter]
    fn template_id(&self) -> &str {
        &self.inner.template_id
    }

    /// SHA-256 (hex) of the template text the run was started with.
    #[getter]
    fn template_digest(&self) -> &str {
        &self.inner.template_digest
    }

    /// The template the run was started with (read from the text it keeps).
    #[getter]
    fn template(&self, py: Python<'_>) -> PyResult<ChecklistTemplate> {
        ChecklistTemplate::load(
            py,
            self.inner.template_text.clone(),
            Some(format!("store:{}", self.inner.id)),
        )
    }

    /// The run: parameters, item records, known gaps, decision record.
    #[getter]
    fn run(&self) -> ChecklistRun {
        ChecklistRun {
            inner: self.inner.run.clone(),
        }
    }

    /// The run's `packet_id` parameter, if it has one.
    #[getter]
    fn packet_id(&self) -> Option<&str> {
        self.inner.packet_id()
    }

    /// The adoption thresholds of this customer.
    #[getter]
    fn adoption_thresholds<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.adoption_thresholds)
    }

    /// The weekly adoption rows recorded, by week.
    #[getter]
    fn adoption_weeks<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.adoption_weeks)
    }

    /// When it was started (an aware `datetime` in UTC).
    #[getter]
    fn created_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::timestamp_to_py(py, self.inner.created_at)
    }

    /// Who started it.
    #[getter]
    fn created_by(&self) -> &str {
        &self.inner.created_by
    }

    /// When it last changed.
    #[getter]
    fn updated_at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::timestamp_to_py(py, self.inner.updated_at)
    }

    /// The core's JSON form (without the template text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "StoredChecklistRun(id={}, template_id={}, items={}, created_by={})",
            repr_str(py, &self.inner.id),
            repr_str(py, &self.inner.template_id),
            self.inner.run.items.len(),
            repr_str(py, &self.inner.created_by)
        )
    }
}

fn item_state(py: Python<'_>, state: &str) -> PyResult<ItemState> {
    serde_json::from_value(serde_json::Value::String(state.to_owned())).map_err(|_| {
        errors::invalid_input(
            py,
            "invalid_item_state",
            "state",
            format!("unknown item state `{state}`; an item is checked \"done\" or \"failed\""),
        )
    })
}

fn stored(inner: StoredRun) -> StoredChecklistRun {
    StoredChecklistRun { inner }
}

/// `Store.new_checklist_run`.
pub fn new_run(
    store: &Store,
    py: Python<'_>,
    template: &Bound<'_, ChecklistTemplate>,
    parameters: Option<BTreeMap<String, String>>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<StoredChecklistRun> {
    let text = template.get().text.clone();
    let parameters = parameters.unwrap_or_default();
    let o = origin(py, actor, at, request_id)?;
    store
        .with(py, move |s| s.new_checklist_run(&o, &text, &parameters))
        .map(stored)
}

/// `Store.checklist_run`.
pub fn run(store: &Store, py: Python<'_>, run_id: String) -> PyResult<StoredChecklistRun> {
    store.with(py, move |s| s.checklist_run(&run_id)).map(stored)
}

/// `Store.checklist_runs`.
pub fn runs(store: &Store, py: Python<'_>, packet_id: Option<String>) -> PyResult<Vec<StoredChecklistRun>> {
    let list = store.with(py, move |s| match &packet_id {
        Some(p) => s.checklist_runs_for_packet(p),
        None => s.checklist_runs(),
    })?;
    Ok(list.into_iter().map(stored).collect())
}

/// `Store.check_item`.
#[allow(clippy::too_many_arguments)]
pub fn check_item<'py>(
    store: &Store,
    py: Python<'py>,
    run_id: String,
    item: String,
    state: &str,
    evidence: Vec<String>,
    note: Option<String>,
    actor: String,
    at: Option<&Bound<'py, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let state = item_state(py, state)?;
    let o = origin(py, actor, at, request_id)?;
    let record = store.with(py, move |s| {
        s.check_item(&o, &run_id, &item, state, &evidence, note.as_deref())
    })?;
    convert::to_py(py, &record)
}

/// `Store.waive_item`.
#[allow(clippy::too_many_arguments)]
pub fn waive_item<'py>(
    store: &Store,
    py: Python<'py>,
    run_id: String,
    item: String,
    owner: String,
    reason: String,
    expires: &Bound<'py, PyAny>,
    actor: String,
    at: Option<&Bound<'py, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let waiver = Waiver {
        owner,
        reason,
        expires: convert::required_date(py, expires, "expires")?,
    };
    let o = origin(py, actor, at, request_id)?;
    let record = store.with(py, move |s| s.waive_item(&o, &run_id, &item, &waiver))?;
    convert::to_py(py, &record)
}

/// `Store.add_known_gap`.
#[allow(clippy::too_many_arguments)]
pub fn add_gap<'py>(
    store: &Store,
    py: Python<'py>,
    run_id: String,
    text: String,
    owner: String,
    due: &Bound<'py, PyAny>,
    actor: String,
    at: Option<&Bound<'py, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let gap = KnownGap {
        text,
        owner,
        due: convert::required_date(py, due, "due")?,
    };
    let o = origin(py, actor, at, request_id)?;
    let added = store.with(py, move |s| s.add_gap(&o, &run_id, &gap))?;
    convert::to_py(py, &added)
}

/// `Store.set_decision`.
#[allow(clippy::too_many_arguments)]
pub fn set_decision<'py>(
    store: &Store,
    py: Python<'py>,
    run_id: String,
    technical_owner: Option<String>,
    rollback_authority: Option<String>,
    support_channel: Option<String>,
    support_sla: Option<String>,
    actor: String,
    at: Option<&Bound<'py, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let update = DecisionUpdate {
        technical_owner,
        rollback_authority,
        support_channel,
        support_sla,
    };
    let o = origin(py, actor, at, request_id)?;
    let record = store.with(py, move |s| s.set_decision(&o, &run_id, &update))?;
    convert::to_py(py, &record)
}

/// `Store.record_adoption_week`.
pub fn record_week(
    store: &Store,
    py: Python<'_>,
    run_id: String,
    row: &Bound<'_, PyAny>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<AdoptionVerdict> {
    let row: WeekRow = from_py(py, row, "invalid_rows", "row")?;
    let o = origin(py, actor, at, request_id)?;
    let inner = store.with(py, move |s| s.record_adoption_week(&o, &run_id, &row))?;
    Ok(AdoptionVerdict { inner })
}

/// `Store.set_adoption_thresholds`.
pub fn set_thresholds(
    store: &Store,
    py: Python<'_>,
    run_id: String,
    thresholds: &Bound<'_, PyAny>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<AdoptionVerdict> {
    let thresholds = thresholds_of(py, Some(thresholds))?;
    let o = origin(py, actor, at, request_id)?;
    let inner = store.with(py, move |s| s.set_adoption_thresholds(&o, &run_id, &thresholds))?;
    Ok(AdoptionVerdict { inner })
}

/// `Store.record_result`.
#[allow(clippy::too_many_arguments)]
pub fn record_result<'py>(
    store: &Store,
    py: Python<'py>,
    run_id: String,
    item: String,
    artifact: &Bound<'py, FlowArtifact>,
    actor: String,
    at: Option<&Bound<'py, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let artifact = artifact.get().inner.clone();
    let o = origin(py, actor, at, request_id)?;
    let record = store.with(py, move |s| s.record_result(&o, &run_id, &item, &artifact))?;
    convert::to_py(py, &record)
}

/// `Store.checklist_verdict`.
pub fn verdict(
    store: &Store,
    py: Python<'_>,
    run_id: String,
    as_of: Option<&Bound<'_, PyAny>>,
    standard: Option<&str>,
) -> PyResult<ChecklistVerdict> {
    let as_of = convert::as_of(py, as_of)?;
    let standard = standard.map(|s| crate::billing::standard(py, s)).transpose()?;
    let (stored, template, rv) = store.with(py, move |s| {
        let stored = s.checklist_run(&run_id)?;
        let template = stored.template().map_err(RunError::Template)?;
        let rv = s.verdict_of(&stored, &template, as_of, standard)?;
        Ok((stored, template, rv))
    })?;
    Ok(ChecklistVerdict {
        inner: rv.verdict,
        template: ChecklistTemplate {
            inner: Arc::new(template),
            text: Arc::from(stored.template_text),
            source_name: Some(format!("store:{}", stored.id)),
        },
        run: stored.run,
        facts: rv.facts,
        run_id: Some(rv.run_id),
        standard: rv.standard,
        adoption: rv.adoption,
    })
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("BUILTIN_TEMPLATES", PyTuple::new(py, builtin::ids())?)?;
    m.add_class::<ChecklistTemplate>()?;
    m.add_class::<ChecklistSection>()?;
    m.add_class::<ChecklistItem>()?;
    m.add_class::<ChecklistRun>()?;
    m.add_class::<ChecklistVerdict>()?;
    m.add_class::<FlowRequest>()?;
    m.add_class::<FlowArtifact>()?;
    m.add_class::<FlowRun>()?;
    m.add_class::<AdoptionVerdict>()?;
    m.add_class::<StoredChecklistRun>()?;
    m.add_function(wrap_pyfunction!(evaluate_checklist, m)?)?;
    m.add_function(wrap_pyfunction!(check_response, m)?)?;
    m.add_function(wrap_pyfunction!(replay_flow, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate_adoption_rows, m)?)?;
    Ok(())
}
