//! Reports, findings and progress: thin wrappers around the core's values.

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDate, PyList};

use crate::convert::{self, repr_opt, repr_str};

static DISPLAY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Calls `gangway._display.<name>(obj)`: the notebook views (`_repr_html_`,
/// `to_pandas`) are written in Python.
fn display<'py>(py: Python<'py>, name: &str, obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let module = DISPLAY.get_or_try_init(py, || PyModule::import(py, "gangway._display").map(Bound::unbind))?;
    module.bind(py).getattr(name)?.call1((obj,))
}

/// A mechanical fix: a "did you mean" for people and, where possible, an RFC 6902
/// JSON Patch that applies it.
#[pyclass(frozen, eq, module = "gangway", name = "Suggestion")]
#[derive(Debug, Clone, PartialEq)]
pub struct Suggestion {
    inner: gangway::Suggestion,
}

#[pymethods]
impl Suggestion {
    /// The fix, for people.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// The JSON Patch operations (`{"op": ..., "path": ..., ...}`); empty when the fix
    /// cannot be written as a patch.
    #[getter]
    fn patch<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.patch)
    }

    /// The suggestion as in the canonical JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!(
            "Suggestion(message={}, patch={})",
            repr_str(py, &self.inner.message),
            self.patch(py)?.repr()?
        ))
    }
}

/// One problem found in a packet.
#[pyclass(frozen, eq, module = "gangway", name = "Finding")]
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    inner: gangway::Finding,
}

impl From<gangway::Finding> for Finding {
    fn from(inner: gangway::Finding) -> Self {
        Finding { inner }
    }
}

#[pymethods]
impl Finding {
    /// The stable rule code (`packet.missing`, `iam.scope_unregistered`, …).
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.code
    }

    /// `"error"` or `"warning"`.
    #[getter]
    fn severity(&self) -> &'static str {
        self.inner.severity.as_str()
    }

    /// The stage whose gate the finding belongs to.
    #[getter]
    fn stage(&self) -> &'static str {
        self.inner.stage.id()
    }

    /// RFC 6901 JSON Pointer of the offending node.
    #[getter]
    fn path(&self) -> &str {
        &self.inner.path
    }

    /// 1-based line.
    #[getter]
    fn line(&self) -> u32 {
        self.inner.line
    }

    /// 1-based column.
    #[getter]
    fn column(&self) -> u32 {
        self.inner.column
    }

    /// Free text for people.
    #[getter]
    fn message(&self) -> &str {
        &self.inner.message
    }

    /// A mechanical fix, when there is one.
    #[getter]
    fn suggestion(&self) -> Option<Suggestion> {
        self.inner.suggestion.clone().map(|inner| Suggestion { inner })
    }

    /// True for errors.
    #[getter]
    fn is_error(&self) -> bool {
        self.inner.is_error()
    }

    /// The finding as in the canonical JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Finding(code={}, severity={}, stage={}, path={}, line={}, column={}, message={})",
            repr_str(py, self.inner.code),
            repr_str(py, self.inner.severity.as_str()),
            repr_str(py, self.inner.stage.id()),
            repr_str(py, &self.inner.path),
            self.inner.line,
            self.inner.column,
            repr_str(py, &self.inner.message),
        )
    }
}

fn findings_list<'py>(py: Python<'py>, findings: &[gangway::Finding]) -> PyResult<Bound<'py, PyList>> {
    PyList::new(py, findings.iter().cloned().map(Finding::from))
}

/// Where a report's packet came from, for the text renderer and SARIF.
#[derive(Debug, Clone, Default)]
pub struct Source {
    /// The packet text, when known.
    pub text: Option<Arc<str>>,
    /// A file name or label.
    pub name: Option<Arc<str>>,
}

/// The result of validating a packet at one stage. Its canonical JSON form
/// (`to_json()`) is the same bytes in every language.
#[pyclass(frozen, module = "gangway", name = "Report")]
#[derive(Debug)]
pub struct Report {
    pub inner: gangway::Report,
    pub source: Source,
}

#[pymethods]
impl Report {
    /// True when there is no error.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok
    }

    /// The packet's id, when it could be read.
    #[getter]
    fn packet_id(&self) -> Option<&str> {
        self.inner.packet_id.as_deref()
    }

    /// The stage validated (every requirement of stages up to it).
    #[getter]
    fn stage(&self) -> &'static str {
        self.inner.stage.id()
    }

    /// The evaluation date.
    #[getter]
    fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDate>> {
        convert::date_to_py(py, self.inner.as_of)
    }

    /// Every finding, in the canonical order (path, then code).
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        findings_list(py, &self.inner.findings)
    }

    /// Number of errors.
    #[getter]
    fn errors(&self) -> usize {
        self.inner.errors()
    }

    /// Number of warnings.
    #[getter]
    fn warnings(&self) -> usize {
        self.inner.warnings()
    }

    /// The name of the packet's source (a path or the `source_name` given), if any.
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.source.name.as_deref()
    }

    /// The canonical JSON form (pretty, two-space indent, final newline).
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The canonical JSON form as Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// SARIF 2.1.0 (as Python objects) with `uri` as the artifact location (default:
    /// the source name, else `packet.yaml`).
    #[pyo3(signature = (uri = None))]
    fn to_sarif<'py>(&self, py: Python<'py>, uri: Option<&str>) -> PyResult<Bound<'py, PyAny>> {
        let uri = uri.or(self.source.name.as_deref()).unwrap_or("packet.yaml");
        convert::json_to_py(py, &gangway::render::sarif(&self.inner, uri))
    }

    /// The compiler-style text the CLI prints, with the source line under each finding
    /// when the packet text is known; `color` adds ANSI colours.
    #[pyo3(signature = (color = false))]
    fn to_text(&self, color: bool) -> String {
        gangway::render::text(
            &self.inner,
            self.source.text.as_deref(),
            self.source.name.as_deref().unwrap_or("<packet>"),
            color,
        )
    }

    /// The findings as a `pandas.DataFrame`, one row per finding (needs pandas).
    fn to_pandas<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "report_to_pandas", slf.into_any())
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "report_html", slf.into_any())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Report>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __str__(&self) -> String {
        self.to_text(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<gangway.Report packet_id={} stage={} as_of={} {}: {} error(s), {} warning(s)>",
            repr_opt(py, self.inner.packet_id.as_deref()),
            repr_str(py, self.inner.stage.id()),
            self.inner.as_of,
            if self.inner.ok { "ok" } else { "blocked" },
            self.inner.errors(),
            self.inner.warnings()
        )
    }
}

/// One stage's verdict in a progress report.
#[pyclass(frozen, eq, module = "gangway", name = "StageStatus")]
#[derive(Debug, Clone, PartialEq)]
pub struct StageStatus {
    inner: gangway::StageStatus,
}

#[pymethods]
impl StageStatus {
    /// The stage id.
    #[getter]
    fn stage(&self) -> &'static str {
        self.inner.stage.id()
    }

    /// The stage's number, 0 to 7.
    #[getter]
    fn number(&self) -> u8 {
        self.inner.stage.number()
    }

    /// What the stage's exit gate checks, for people.
    #[getter]
    fn gate(&self) -> &'static str {
        self.inner.stage.gate()
    }

    /// True when the stage's own requirements have no error.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.ok
    }

    /// Errors that belong to this stage.
    #[getter]
    fn errors(&self) -> usize {
        self.inner.errors
    }

    /// Warnings that belong to this stage.
    #[getter]
    fn warnings(&self) -> usize {
        self.inner.warnings
    }

    /// The findings that belong to this stage.
    #[getter]
    fn findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        findings_list(py, &self.inner.findings)
    }

    /// The stage as in the canonical JSON.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "StageStatus(stage={}, ok={}, errors={}, warnings={})",
            repr_str(py, self.inner.stage.id()),
            if self.inner.ok { "True" } else { "False" },
            self.inner.errors,
            self.inner.warnings
        )
    }
}

/// Every stage evaluated, and the first one that is blocked.
#[pyclass(frozen, module = "gangway", name = "Progress")]
#[derive(Debug)]
pub struct Progress {
    pub inner: gangway::Progress,
}

#[pymethods]
impl Progress {
    /// The packet's id, when it could be read.
    #[getter]
    fn packet_id(&self) -> Option<&str> {
        self.inner.packet_id.as_deref()
    }

    /// The evaluation date.
    #[getter]
    fn as_of<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDate>> {
        convert::date_to_py(py, self.inner.as_of)
    }

    /// The first stage whose own requirements have an error, or `None`.
    #[getter]
    fn first_blocked(&self) -> Option<&'static str> {
        self.inner.first_blocked.map(gangway::Stage::id)
    }

    /// True when every stage passes.
    #[getter]
    fn ok(&self) -> bool {
        self.inner.first_blocked.is_none()
    }

    /// All eight stages, in order.
    #[getter]
    fn stages<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.stages.iter().cloned().map(|inner| StageStatus { inner }))
    }

    /// The canonical JSON form.
    fn to_json(&self) -> String {
        self.inner.to_json()
    }

    /// The canonical JSON form as Python objects.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The text the CLI prints: the eight stages, the first blocked one marked.
    #[pyo3(signature = (color = false))]
    fn to_text(&self, color: bool) -> String {
        gangway::render::progress_text(&self.inner, color)
    }

    /// Markdown for a portal page: a table of the eight stages, then each stage's
    /// findings (`progress.md` in the release bundle).
    fn to_markdown(&self) -> String {
        gangway::render::progress_markdown(&self.inner)
    }

    /// One row per stage as a `pandas.DataFrame` (needs pandas).
    fn to_pandas<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "progress_to_pandas", slf.into_any())
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "progress_html", slf.into_any())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Progress>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __str__(&self) -> String {
        self.to_text(false)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<gangway.Progress packet_id={} as_of={} first_blocked={}>",
            repr_opt(py, self.inner.packet_id.as_deref()),
            self.inner.as_of,
            repr_opt(py, self.inner.first_blocked.map(gangway::Stage::id)),
        )
    }
}
