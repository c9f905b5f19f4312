//! `Packet` and `Limits`.

use std::path::PathBuf;
use std::sync::Arc;

use gangway::{Format, Limits as CoreLimits};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert::{self, repr_opt};
use crate::errors;
use crate::report::{Finding, Source};

/// Budgets that bound the work and memory a document may cost to parse.
#[pyclass(frozen, eq, module = "gangway", name = "Limits")]
#[derive(Debug, Clone, PartialEq)]
pub struct Limits {
    pub inner: CoreLimits,
}

#[pymethods]
impl Limits {
    /// Every budget defaults to the library's default.
    #[new]
    #[pyo3(signature = (*, max_bytes = None, max_depth = None, max_aliases = None, max_nodes = None))]
    fn new(
        max_bytes: Option<usize>,
        max_depth: Option<usize>,
        max_aliases: Option<usize>,
        max_nodes: Option<usize>,
    ) -> Limits {
        let d = CoreLimits::default();
        Limits {
            inner: CoreLimits {
                max_bytes: max_bytes.unwrap_or(d.max_bytes),
                max_depth: max_depth.unwrap_or(d.max_depth),
                max_aliases: max_aliases.unwrap_or(d.max_aliases),
                max_nodes: max_nodes.unwrap_or(d.max_nodes),
            },
        }
    }

    /// Largest accepted document, in bytes.
    #[getter]
    fn max_bytes(&self) -> usize {
        self.inner.max_bytes
    }

    /// Deepest nesting of collections.
    #[getter]
    fn max_depth(&self) -> usize {
        self.inner.max_depth
    }

    /// Most alias (`*name`) uses.
    #[getter]
    fn max_aliases(&self) -> usize {
        self.inner.max_aliases
    }

    /// Most nodes, counting alias expansions.
    #[getter]
    fn max_nodes(&self) -> usize {
        self.inner.max_nodes
    }

    fn __repr__(&self) -> String {
        format!(
            "Limits(max_bytes={}, max_depth={}, max_aliases={}, max_nodes={})",
            self.inner.max_bytes, self.inner.max_depth, self.inner.max_aliases, self.inner.max_nodes
        )
    }
}

pub fn limits_or_default(limits: Option<&Bound<'_, Limits>>) -> CoreLimits {
    limits.map(|l| l.get().inner).unwrap_or_default()
}

/// A parsed onboarding packet. Only an unreadable document is an error (`ParseError`);
/// every other problem becomes a finding when the packet is validated.
#[pyclass(frozen, module = "gangway", name = "Packet")]
#[derive(Debug)]
pub struct Packet {
    pub inner: gangway::Packet,
    pub format: Format,
    pub source: Source,
}

impl Packet {
    /// Parses `text` with the GIL released.
    pub fn parse(
        py: Python<'_>,
        text: String,
        format: Format,
        limits: CoreLimits,
        source_name: Option<String>,
    ) -> PyResult<Packet> {
        let text: Arc<str> = Arc::from(text);
        let parsed = {
            let text = Arc::clone(&text);
            py.detach(move || gangway::Packet::parse(&text, format, &limits))
        };
        match parsed {
            Ok(inner) => Ok(Packet {
                inner,
                format,
                source: Source {
                    text: Some(text),
                    name: source_name.map(Arc::from),
                },
            }),
            Err(e) => Err(errors::parse_error(py, e, source_name.as_deref())),
        }
    }
}

#[pymethods]
impl Packet {
    /// Parses a YAML packet. `source_name` (a file name or label) is kept for reprs,
    /// the text renderer and SARIF.
    #[staticmethod]
    #[pyo3(signature = (text, *, source_name = None, limits = None))]
    fn from_yaml(
        py: Python<'_>,
        text: String,
        source_name: Option<String>,
        limits: Option<&Bound<'_, Limits>>,
    ) -> PyResult<Packet> {
        Packet::parse(py, text, Format::Yaml, limits_or_default(limits), source_name)
    }

    /// Parses a strict-JSON packet.
    #[staticmethod]
    #[pyo3(signature = (text, *, source_name = None, limits = None))]
    fn from_json(
        py: Python<'_>,
        text: String,
        source_name: Option<String>,
        limits: Option<&Bound<'_, Limits>>,
    ) -> PyResult<Packet> {
        Packet::parse(py, text, Format::Json, limits_or_default(limits), source_name)
    }

    /// Parses `text` as `format` (`"yaml"` or `"json"`).
    #[staticmethod]
    #[pyo3(signature = (text, format = "yaml", *, source_name = None, limits = None))]
    fn parse_text(
        py: Python<'_>,
        text: String,
        format: &str,
        source_name: Option<String>,
        limits: Option<&Bound<'_, Limits>>,
    ) -> PyResult<Packet> {
        let format = convert::format(py, format)?;
        Packet::parse(py, text, format, limits_or_default(limits), source_name)
    }

    /// Reads and parses a packet file (`str` or `os.PathLike`): JSON when the name ends
    /// in `.json` (or `format="json"`), else YAML. The source name defaults to the
    /// path as given.
    #[staticmethod]
    #[pyo3(signature = (path, *, format = None, source_name = None, limits = None))]
    fn from_path(
        py: Python<'_>,
        path: PathBuf,
        format: Option<&str>,
        source_name: Option<String>,
        limits: Option<&Bound<'_, Limits>>,
    ) -> PyResult<Packet> {
        let format = match format {
            Some(f) => convert::format(py, f)?,
            None => Format::from_path(&path),
        };
        let limits = limits_or_default(limits);
        let name = source_name.unwrap_or_else(|| path.display().to_string());
        let read = {
            let path = path.clone();
            py.detach(move || std::fs::File::open(&path).and_then(|f| gangway::packet::read_source(f, &limits)))
        };
        match read {
            Ok(Ok(text)) => Packet::parse(py, text, format, limits, Some(name)),
            Ok(Err(e)) => Err(errors::parse_error(py, e, Some(&name))),
            Err(e) => Err(errors::file_error(py, &path, &e)),
        }
    }

    /// The packet id, when present.
    #[getter]
    fn packet_id(&self) -> Option<&str> {
        self.inner.packet_id()
    }

    /// The file name or label the packet was read from, if any.
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.source.name.as_deref()
    }

    /// The packet text as parsed.
    #[getter]
    fn text(&self) -> &str {
        self.source.text.as_deref().unwrap_or_default()
    }

    /// `"yaml"` or `"json"`.
    #[getter]
    fn format(&self) -> &'static str {
        self.format.name()
    }

    /// The stage `validate_packet` uses when none is given (from `lifecycle_state`).
    #[getter]
    fn default_stage(&self) -> &'static str {
        gangway::validate::stage_for(&self.inner).id()
    }

    /// Findings from decoding alone (unknown fields, wrong types, unjustified markers).
    #[getter]
    fn structural_findings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.structural_findings().iter().cloned().map(Finding::from))
    }

    /// Every `not_applicable` marker: `{"path", "line", "column", "stage", "review_date"}`.
    #[getter]
    fn not_applicable<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for na in self.inner.not_applicable_markers() {
            let d = pyo3::types::PyDict::new(py);
            d.set_item("path", &na.ptr)?;
            d.set_item("line", na.pos.line)?;
            d.set_item("column", na.pos.column)?;
            d.set_item("stage", na.stage.id())?;
            d.set_item(
                "review_date",
                na.review_date.map(|r| convert::date_to_py(py, r)).transpose()?,
            )?;
            list.append(d)?;
        }
        Ok(list)
    }

    /// The document as Python objects (the JSON form of what was parsed).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_to_py(py, &self.inner.document().to_json())
    }

    /// The canonical JSON of the document (compact; used for digests).
    fn canonical_json(&self) -> String {
        self.inner.canonical_json()
    }

    /// SHA-256 (hex) of the canonical JSON: the digest a review signs off (the
    /// `digest` of a `SignOff`); any edit to the packet changes it.
    fn digest(&self, py: Python<'_>) -> String {
        let p = &self.inner;
        py.detach(|| p.digest())
    }

    /// The stage and requiredness of the schema field at a JSON Pointer
    /// (`{"stage": ..., "required": ...}`), or `None` when the schema has no such field.
    #[staticmethod]
    fn field_info<'py>(py: Python<'py>, pointer: &str) -> PyResult<Option<Bound<'py, pyo3::types::PyDict>>> {
        match gangway::Packet::field_info(pointer) {
            None => Ok(None),
            Some(info) => {
                let d = pyo3::types::PyDict::new(py);
                d.set_item("stage", info.stage.id())?;
                d.set_item("required", info.required)?;
                Ok(Some(d))
            }
        }
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let mut out = format!(
            "<gangway.Packet packet_id={} format={}",
            repr_opt(py, self.inner.packet_id()),
            self.format.name()
        );
        if let Some(name) = &self.source.name {
            out.push_str(&format!(" source={}", convert::repr_str(py, name)));
        }
        out.push('>');
        out
    }
}
