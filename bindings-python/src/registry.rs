//! `Registry` and `Entry`.

use std::path::PathBuf;

use gangway::registry::parse_version;
use gangway::{Kind, State};
use pyo3::prelude::*;
use pyo3::types::PyList;

use crate::convert::{self, repr_opt, repr_str};
use crate::errors;

pub fn kind(py: Python<'_>, s: &str) -> PyResult<Kind> {
    s.parse::<Kind>().map_err(|e| {
        let message = e.problems.first().map_or_else(String::new, |p| p.message.clone());
        errors::invalid_input(py, "invalid_kind", "kind", message)
    })
}

pub fn state(py: Python<'_>, s: &str) -> PyResult<State> {
    State::from_name(s).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_state",
            "state",
            format!("unknown entry state `{s}`; expected one of {}", State::NAMES.join(", ")),
        )
    })
}

/// An optional usage-unit version: semver or `v1` shorthand.
pub fn version(py: Python<'_>, v: Option<&str>) -> PyResult<Option<gangway::Version>> {
    match v {
        None => Ok(None),
        Some(v) => parse_version(v).map(Some).ok_or_else(|| {
            errors::invalid_input(
                py,
                "invalid_version",
                "version",
                format!("`{v}` is not a version; write it as semver (1.0.0) or v1"),
            )
        }),
    }
}

/// One registry entry.
#[pyclass(frozen, eq, module = "gangway", name = "Entry")]
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub inner: gangway::Entry,
}

#[pymethods]
impl Entry {
    /// `kind` is one of `gangway.KINDS` (singular or plural), `state` one of
    /// `gangway.ENTRY_STATES`; `version` (usage units) is semver or `v1` shorthand.
    #[new]
    #[pyo3(signature = (kind, key, *, state, owner, version = None, product = None, description = None, sunset = None))]
    #[allow(clippy::too_many_arguments)]
    fn new(
        py: Python<'_>,
        kind: &str,
        key: String,
        state: &str,
        owner: String,
        version: Option<&str>,
        product: Option<String>,
        description: Option<String>,
        sunset: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Entry> {
        let version = self::version(py, version)?;
        Ok(Entry {
            inner: gangway::Entry {
                kind: self::kind(py, kind)?,
                key,
                version,
                state: self::state(py, state)?,
                owner,
                product,
                description,
                sunset: convert::optional_date(py, sunset, "sunset")?,
            },
        })
    }

    /// The entry's kind (singular, e.g. `usage_unit`).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }

    /// Its key (a scope string, a unit name, a product id …).
    #[getter]
    fn key(&self) -> &str {
        &self.inner.key
    }

    /// The version (usage units only), as semver text.
    #[getter]
    fn version(&self) -> Option<String> {
        self.inner.version.as_ref().map(ToString::to_string)
    }

    /// Lifecycle state: `draft`, `active`, `deprecated` or `retired`.
    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state.as_str()
    }

    /// Owning team.
    #[getter]
    fn owner(&self) -> &str {
        &self.inner.owner
    }

    /// The product it belongs to, when product-specific.
    #[getter]
    fn product(&self) -> Option<&str> {
        self.inner.product.as_deref()
    }

    /// What it is.
    #[getter]
    fn description(&self) -> Option<&str> {
        self.inner.description.as_deref()
    }

    /// When a deprecated entry goes away.
    #[getter]
    fn sunset<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, pyo3::types::PyDate>>> {
        self.inner.sunset.map(|d| convert::date_to_py(py, d)).transpose()
    }

    /// The display name: the key, with `@version` for usage units.
    #[getter]
    fn label(&self) -> String {
        self.inner.label()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let mut out = format!(
            "Entry(kind={}, key={}, state={}, owner={}",
            repr_str(py, self.inner.kind.as_str()),
            repr_str(py, &self.inner.key),
            repr_str(py, self.inner.state.as_str()),
            repr_str(py, &self.inner.owner),
        );
        if let Some(v) = &self.inner.version {
            out.push_str(&format!(", version={}", repr_str(py, &v.to_string())));
        }
        if let Some(p) = &self.inner.product {
            out.push_str(&format!(", product={}", repr_str(py, p)));
        }
        if let Some(s) = &self.inner.sunset {
            out.push_str(&format!(", sunset={}", repr_str(py, &s.to_string())));
        }
        out.push(')');
        out
    }
}

/// An immutable, indexed platform registry. Cheap to share across threads.
#[pyclass(frozen, module = "gangway", name = "Registry")]
#[derive(Debug)]
pub struct Registry {
    pub inner: gangway::Registry,
    pub source_name: Option<String>,
}

impl Registry {
    fn load(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<Registry> {
        match py.detach(move || gangway::Registry::from_yaml(&text)) {
            Ok(inner) => Ok(Registry { inner, source_name }),
            Err(e) => Err(errors::registry_error(py, &e, source_name.as_deref())),
        }
    }
}

#[pymethods]
impl Registry {
    /// An empty registry.
    #[new]
    fn new() -> Registry {
        Registry {
            inner: gangway::Registry::new(),
            source_name: None,
        }
    }

    /// Loads a registry document (top-level `registry:` with one list per kind).
    /// Raises `RegistryError` listing every problem.
    #[staticmethod]
    #[pyo3(signature = (text, *, source_name = None))]
    fn from_yaml(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<Registry> {
        Registry::load(py, text, source_name)
    }

    /// Reads and loads a registry file (`str` or `os.PathLike`).
    #[staticmethod]
    #[pyo3(signature = (path, *, source_name = None))]
    fn from_path(py: Python<'_>, path: PathBuf, source_name: Option<String>) -> PyResult<Registry> {
        let read = {
            let path = path.clone();
            py.detach(move || std::fs::read_to_string(path))
        };
        let text = read.map_err(|e| errors::file_error(py, &path, &e))?;
        Registry::load(
            py,
            text,
            Some(source_name.unwrap_or_else(|| path.display().to_string())),
        )
    }

    /// Builds a registry from entries; refuses duplicates (same kind, key and version)
    /// with `RegistryError`.
    #[staticmethod]
    fn from_entries(py: Python<'_>, entries: &Bound<'_, PyAny>) -> PyResult<Registry> {
        let mut list = Vec::new();
        for item in entries.try_iter()? {
            let item = item?;
            let entry = item.cast::<Entry>().map_err(|_| {
                errors::invalid_input(
                    py,
                    "invalid_entry",
                    "entries",
                    format!(
                        "entries must be gangway.Entry values, not {}",
                        convert::type_name(&item)
                    ),
                )
            })?;
            list.push(entry.get().inner.clone());
        }
        match py.detach(move || gangway::Registry::from_entries(list)) {
            Ok(inner) => Ok(Registry {
                inner,
                source_name: None,
            }),
            Err(e) => Err(errors::registry_error(py, &e, None)),
        }
    }

    /// Every entry, in the order given.
    fn entries<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        PyList::new(py, self.inner.entries().iter().cloned().map(|inner| Entry { inner }))
    }

    /// The entry of `kind` with `key` (for usage units: at `version`, or any version
    /// when `version` is `None`).
    #[pyo3(signature = (kind, key, version = None))]
    fn get(&self, py: Python<'_>, kind: &str, key: &str, version: Option<&str>) -> PyResult<Option<Entry>> {
        let kind = self::kind(py, kind)?;
        let found = match version {
            None => self.inner.get(kind, key),
            Some(v) => match parse_version(v) {
                Some(v) => self.inner.get_version(kind, key, &v),
                None => {
                    return Err(errors::invalid_input(
                        py,
                        "invalid_version",
                        "version",
                        format!("`{v}` is not a version; write it as semver (1.0.0) or v1"),
                    ));
                }
            },
        };
        Ok(found.cloned().map(|inner| Entry { inner }))
    }

    /// Every key of `kind`.
    fn keys(&self, py: Python<'_>, kind: &str) -> PyResult<Vec<String>> {
        let kind = self::kind(py, kind)?;
        Ok(self.inner.keys(kind).map(str::to_owned).collect())
    }

    /// The file name or label the registry was read from, if any.
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    fn __len__(&self) -> usize {
        self.inner.len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<gangway.Registry entries={} source={}>",
            self.inner.len(),
            repr_opt(py, self.source_name.as_deref())
        )
    }
}
