//! The run-time guards (`Snapshot`, `Guards`, `Rejection`) and the scope scanner.
//! Thin: each call is the core's; rejections are values, not exceptions, because
//! they sit on request paths.

use std::path::PathBuf;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};

use crate::convert;
use crate::errors;
use crate::packet::Packet;
use crate::registry::{self, Registry};

/// Why a guard refused a request: the rule `code`, the request `field` at fault, a
/// stable `reason`, and (for a refused entry) its registry `state`.
#[pyclass(frozen, eq, module = "gangway", name = "Rejection")]
#[derive(Debug, Clone, PartialEq)]
pub struct Rejection {
    inner: gangway::Rejection,
}

#[pymethods]
impl Rejection {
    /// The rule code (`billing.usage_unit_unregistered`, `quota.incomplete`, …).
    #[getter]
    fn code(&self) -> &'static str {
        self.inner.code
    }

    /// The request field at fault (`unit`, `version`, `dimension`, …).
    #[getter]
    fn field(&self) -> &'static str {
        self.inner.field
    }

    /// A stable reason (`unregistered`, `inactive`, `not_listed`, …).
    #[getter]
    fn reason(&self) -> &'static str {
        self.inner.reason.as_str()
    }

    /// The refused entry's registry state, when that is the reason.
    #[getter]
    fn state(&self) -> Option<&'static str> {
        self.inner.reason.state().map(gangway::State::as_str)
    }

    /// For people.
    #[getter]
    fn message(&self) -> String {
        self.inner.message()
    }

    fn __repr__(&self) -> String {
        format!(
            "Rejection(code={:?}, field={:?}, reason={:?})",
            self.inner.code,
            self.inner.field,
            self.inner.reason.as_str()
        )
    }
}

fn rejection(r: Result<(), gangway::Rejection>) -> Option<Rejection> {
    r.err().map(|inner| Rejection { inner })
}

fn scope_issues<'py>(py: Python<'py>, issues: &[gangway::ScopeIssue]) -> PyResult<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for i in issues {
        let d = PyDict::new(py);
        d.set_item("scope", &i.scope)?;
        d.set_item("code", i.code)?;
        d.set_item("severity", i.severity.as_str())?;
        d.set_item("state", i.state.map(gangway::State::as_str))?;
        d.set_item("sunset", i.sunset.map(|s| convert::date_to_py(py, s)).transpose()?)?;
        d.set_item("message", i.message())?;
        out.append(d)?;
    }
    Ok(out)
}

/// The checks, shared by `Snapshot` and `Guards`.
#[allow(clippy::too_many_arguments)]
fn accept(
    py: Python<'_>,
    snap: &gangway::Snapshot,
    product: &str,
    unit: &str,
    version: &str,
    quantity: u64,
    resource_type: &str,
    tenant: &str,
    idempotency_key: &str,
    at: Option<&Bound<'_, PyAny>>,
) -> PyResult<Option<Rejection>> {
    let version = registry::version(py, Some(version))?.unwrap_or_else(|| gangway::Version::new(0, 0, 0));
    let at = crate::store::timestamp(py, at, "at")?.unwrap_or_else(gangway::Timestamp::now);
    let event = gangway::UsageEvent {
        product,
        unit,
        version: &version,
        quantity,
        resource_type,
        tenant,
        idempotency_key,
        at,
    };
    Ok(rejection(snap.accept_usage(&event)))
}

fn quota(
    snap: &gangway::Snapshot,
    product: &str,
    snapshot_kind: Option<&str>,
    dimension: Option<&str>,
    parent_scope: Option<&str>,
    override_scope: Option<&str>,
) -> Option<Rejection> {
    rejection(snap.check_quota_write(&gangway::QuotaChange {
        product,
        snapshot_kind,
        dimension,
        parent_scope,
        override_scope,
    }))
}

/// An immutable view of the registry and the products' packets, cheap to share
/// across threads; the guards read it.
#[pyclass(frozen, module = "gangway", name = "Snapshot")]
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub inner: Arc<gangway::Snapshot>,
}

#[pymethods]
impl Snapshot {
    /// The registry plus each product's billing facts from its packet (a later
    /// packet of the same product wins).
    #[new]
    #[pyo3(signature = (registry, packets = Vec::new()))]
    fn new(registry: &Bound<'_, Registry>, packets: Vec<Bound<'_, Packet>>) -> Snapshot {
        let reg = registry.get().inner.clone();
        let held: Vec<&gangway::Packet> = packets.iter().map(|p| &p.get().inner).collect();
        Snapshot {
            inner: Arc::new(gangway::Snapshot::new(reg, &held)),
        }
    }

    /// False unless the product's entry is active (in onboarding mode a draft entry
    /// counts too).
    #[pyo3(signature = (product, *, onboarding_mode = false))]
    fn is_visible(&self, product: &str, onboarding_mode: bool) -> bool {
        self.inner.is_visible(product, onboarding_mode)
    }

    /// The scopes that are unregistered, not active, retired or deprecated, as dicts
    /// (`scope`, `code`, `severity`, `state`, `sunset`, `message`).
    fn check_scopes<'py>(&self, py: Python<'py>, scopes: Vec<String>) -> PyResult<Bound<'py, PyList>> {
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        scope_issues(py, &self.inner.check_scopes(&refs))
    }

    /// `None` when the usage event may be accepted, else the `Rejection`.
    #[pyo3(signature = (*, product, unit, version, quantity, resource_type, tenant, idempotency_key, at = None))]
    #[allow(clippy::too_many_arguments)]
    fn accept_usage(
        &self,
        py: Python<'_>,
        product: &str,
        unit: &str,
        version: &str,
        quantity: u64,
        resource_type: &str,
        tenant: &str,
        idempotency_key: &str,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Rejection>> {
        accept(
            py,
            &self.inner,
            product,
            unit,
            version,
            quantity,
            resource_type,
            tenant,
            idempotency_key,
            at,
        )
    }

    /// `None` when a quota-changing write names a registered snapshot kind,
    /// dimension, parent scope and override scope; else the `Rejection`.
    #[pyo3(signature = (*, product, snapshot_kind = None, dimension = None, parent_scope = None, override_scope = None))]
    fn check_quota_write(
        &self,
        product: &str,
        snapshot_kind: Option<&str>,
        dimension: Option<&str>,
        parent_scope: Option<&str>,
        override_scope: Option<&str>,
    ) -> Option<Rejection> {
        quota(
            &self.inner,
            product,
            snapshot_kind,
            dimension,
            parent_scope,
            override_scope,
        )
    }

    fn __repr__(&self) -> String {
        format!("Snapshot(entries={})", self.inner.registry().len())
    }
}

/// The guards a service keeps for its lifetime: the current `Snapshot`, swapped
/// atomically when the registry changes.
#[pyclass(frozen, module = "gangway", name = "Guards")]
#[derive(Debug)]
pub struct Guards {
    inner: gangway::Guards,
}

impl Guards {
    /// Replaces the snapshot (used by `Store.refresh_guards`).
    pub fn swap_snapshot(&self, snapshot: gangway::Snapshot) {
        self.inner.swap(snapshot);
    }
}

#[pymethods]
impl Guards {
    /// Guards over `snapshot`.
    #[new]
    fn new(snapshot: &Bound<'_, Snapshot>) -> Guards {
        Guards {
            inner: gangway::Guards::from_shared(Arc::clone(&snapshot.get().inner)),
        }
    }

    /// Replaces the snapshot for every later call (calls in flight finish on the old one).
    fn swap(&self, snapshot: &Bound<'_, Snapshot>) {
        self.inner.swap_shared(Arc::clone(&snapshot.get().inner));
    }

    /// The current snapshot.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            inner: self.inner.snapshot(),
        }
    }

    /// See `Snapshot.is_visible`.
    #[pyo3(signature = (product, *, onboarding_mode = false))]
    fn is_visible(&self, product: &str, onboarding_mode: bool) -> bool {
        self.inner.is_visible(product, onboarding_mode)
    }

    /// See `Snapshot.check_scopes`.
    fn check_scopes<'py>(&self, py: Python<'py>, scopes: Vec<String>) -> PyResult<Bound<'py, PyList>> {
        let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
        scope_issues(py, &self.inner.check_scopes(&refs))
    }

    /// See `Snapshot.accept_usage`.
    #[pyo3(signature = (*, product, unit, version, quantity, resource_type, tenant, idempotency_key, at = None))]
    #[allow(clippy::too_many_arguments)]
    fn accept_usage(
        &self,
        py: Python<'_>,
        product: &str,
        unit: &str,
        version: &str,
        quantity: u64,
        resource_type: &str,
        tenant: &str,
        idempotency_key: &str,
        at: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Option<Rejection>> {
        let snap = self.inner.snapshot();
        accept(
            py,
            &snap,
            product,
            unit,
            version,
            quantity,
            resource_type,
            tenant,
            idempotency_key,
            at,
        )
    }

    /// See `Snapshot.check_quota_write`.
    #[pyo3(signature = (*, product, snapshot_kind = None, dimension = None, parent_scope = None, override_scope = None))]
    fn check_quota_write(
        &self,
        product: &str,
        snapshot_kind: Option<&str>,
        dimension: Option<&str>,
        parent_scope: Option<&str>,
        override_scope: Option<&str>,
    ) -> Option<Rejection> {
        quota(
            &self.inner.snapshot(),
            product,
            snapshot_kind,
            dimension,
            parent_scope,
            override_scope,
        )
    }

    fn __repr__(&self) -> String {
        format!("Guards(entries={})", self.inner.snapshot().registry().len())
    }
}

/// Finds scope strings in files and directories and returns the unregistered or
/// inactive ones (`file`, `line`, `column`, `scope`, `code`, `severity`, `message`).
#[pyfunction]
pub fn scan<'py>(py: Python<'py>, paths: Vec<PathBuf>, snapshot: &Bound<'py, Snapshot>) -> PyResult<Bound<'py, PyAny>> {
    let snap = Arc::clone(&snapshot.get().inner);
    let found = py
        .detach(move || gangway::scan::scan_files(&paths, &snap))
        .map_err(|e| errors::invalid_input(py, "scan.unreadable", "paths", e.to_string()))?;
    let values: Vec<serde_json::Value> = found.iter().map(gangway::scan::ScanFinding::to_json_value).collect();
    convert::to_py(py, &values)
}

/// Which packet's ownership row claims `path` (the longest matching package path):
/// `{packet_id, path_prefix, owner}`, or `None` when no row does.
#[pyfunction]
pub fn owner_of<'py>(
    py: Python<'py>,
    path: PathBuf,
    packets: Vec<Bound<'py, Packet>>,
) -> PyResult<Option<Bound<'py, PyAny>>> {
    let held: Vec<&gangway::Packet> = packets.iter().map(|p| &p.get().inner).collect();
    gangway::guard::owner_of(&path, &held)
        .map(|m| {
            let d = PyDict::new(py);
            d.set_item("packet_id", &m.packet_id)?;
            d.set_item("product_id", &m.product_id)?;
            d.set_item("path_prefix", &m.path_prefix)?;
            d.set_item("owner", m.owner.as_str())?;
            Ok(d.into_any())
        })
        .transpose()
}
