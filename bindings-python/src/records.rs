//! Reviews and evidence (SPEC §2.7): the value classes (`Records`, `SignOff`,
//! `EvidenceRecord`, `ReviewStatus`, `RoleStatus`), the review matrix, the forecast
//! and the store's sign-off, evidence and bundle operations (`Store.sign_off`,
//! `Store.add_evidence`, … forward here). Thin: reading a records file, checking a
//! record, the review status, the forecast and the bundle are the core's
//! (`gangway::records`, `gangway::review`, `gangway::evidence`, `gangway::forecast`,
//! `gangway::bundle`); `to_dict()` is the core's JSON form.

use std::path::PathBuf;

use gangway::evidence::{EvidenceKind, EvidenceRecord as CoreEvidence};
use gangway::records::store::{ReviewStatus as CoreStatus, SignOffRequest};
use gangway::review::{Decision, Role, RoleStatus as CoreRoleStatus, SignOff as CoreSignOff};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyDict, PyTuple};

use crate::convert::{self, repr_opt, repr_str};
use crate::errors;
use crate::packet::Packet;
use crate::registry::Registry;
use crate::store::{Store, origin, timestamp};

static DISPLAY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Calls `gangway._display.<name>(obj)` (the notebook views are written in Python).
fn display<'py>(py: Python<'py>, name: &str, obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let module = DISPLAY.get_or_try_init(py, || PyModule::import(py, "gangway._display").map(Bound::unbind))?;
    module.bind(py).getattr(name)?.call1((obj,))
}

fn role(py: Python<'_>, name: &str) -> PyResult<Role> {
    Role::from_name(name).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_role",
            "role",
            format!("unknown role `{name}`; expected one of {}", Role::NAMES.join(", ")),
        )
    })
}

fn decision(py: Python<'_>, name: &str) -> PyResult<Decision> {
    Decision::from_name(name).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_decision",
            "decision",
            format!("unknown decision `{name}`; expected approve or reject"),
        )
    })
}

fn kind(py: Python<'_>, name: &str) -> PyResult<EvidenceKind> {
    EvidenceKind::from_name(name).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_evidence_kind",
            "kind",
            format!(
                "unknown evidence kind `{name}`; expected one of {}",
                EvidenceKind::NAMES.join(", ")
            ),
        )
    })
}

/// A short digest for reprs and tables (the first twelve hex digits).
fn short(digest: &str) -> String {
    match digest.get(..12) {
        Some(head) if head.len() < digest.len() => format!("{head}…"),
        _ => digest.to_owned(),
    }
}

/// The records given as `records=`, for `validate_with` / `progress_with`.
pub fn records_ref<'a>(records: Option<&'a Bound<'_, Records>>) -> Option<&'a gangway::Records> {
    records.map(|r| &r.get().inner)
}

// ---- SignOff ----

/// One reviewer's decision for one role of the review matrix on one version of a
/// packet, named by its digest (`Packet.digest()`). Editing the packet changes the
/// digest, so the sign-off no longer counts for it (`review.missing`).
#[pyclass(frozen, eq, module = "gangway", name = "SignOff")]
#[derive(Debug, Clone, PartialEq)]
pub struct SignOff {
    pub inner: CoreSignOff,
}

#[pymethods]
impl SignOff {
    /// A sign-off, checked as a records file's are: a reviewer, a digest of 64
    /// lower-case hex digits, reasons for a rejection (`RecordsError`,
    /// `review.invalid`, otherwise). `at` defaults to now.
    #[new]
    #[pyo3(signature = (role, reviewer, decision, *, digest, at = None, reasons = Vec::new()))]
    fn new(
        py: Python<'_>,
        role: &str,
        reviewer: String,
        decision: &str,
        digest: String,
        at: Option<&Bound<'_, PyAny>>,
        reasons: Vec<String>,
    ) -> PyResult<SignOff> {
        let inner = CoreSignOff {
            role: self::role(py, role)?,
            reviewer,
            decision: self::decision(py, decision)?,
            reasons,
            at: timestamp(py, at, "at")?.unwrap_or_else(gangway::Timestamp::now),
            digest,
        };
        inner.check().map_err(|e| {
            let field = match &e {
                gangway::review::SignOffError::Blank(f) => Some(*f),
                gangway::review::SignOffError::ReasonsMissing => Some("reasons"),
                _ => Some("digest"),
            };
            errors::record_invalid(py, e.code(), field, e.to_string())
        })?;
        Ok(SignOff { inner })
    }

    /// The role signed for (one of `gangway.REVIEW_ROLES`).
    #[getter]
    fn role(&self) -> &'static str {
        self.inner.role.as_str()
    }

    /// Who signed (an email or handle).
    #[getter]
    fn reviewer(&self) -> &str {
        &self.inner.reviewer
    }

    /// `"approve"` or `"reject"`.
    #[getter]
    fn decision(&self) -> &'static str {
        self.inner.decision.as_str()
    }

    /// Why (at least one for a rejection).
    #[getter]
    fn reasons(&self) -> Vec<String> {
        self.inner.reasons.clone()
    }

    /// When, an aware `datetime` in UTC.
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::timestamp_to_py(py, self.inner.at)
    }

    /// The SHA-256 (hex) of the packet version signed.
    #[getter]
    fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// The core's JSON form (`at` as RFC 3339 text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "SignOff(role={}, reviewer={}, decision={}, digest={}, at={})",
            repr_str(py, self.inner.role.as_str()),
            repr_str(py, &self.inner.reviewer),
            repr_str(py, self.inner.decision.as_str()),
            repr_str(py, &short(&self.inner.digest)),
            repr_str(py, &self.inner.at.to_string()),
        )
    }
}

// ---- EvidenceRecord ----

/// One piece of stage-5 evidence: what it shows (`kind`), where it comes from
/// (`ref`) and where the artifact is (`digest` and/or `url`).
#[pyclass(frozen, eq, module = "gangway", name = "EvidenceRecord")]
#[derive(Debug, Clone, PartialEq)]
pub struct EvidenceRecord {
    pub inner: CoreEvidence,
}

#[pymethods]
impl EvidenceRecord {
    /// An evidence record, checked as a records file's are: `ref` and `recorded_by`
    /// not blank, a `digest` (SHA-256 hex, optionally `sha256:`-prefixed) or a `url`
    /// (`RecordsError`, `evidence.invalid`, otherwise). `at` defaults to now.
    #[new]
    #[pyo3(signature = (kind, r#ref, *, recorded_by, at = None, digest = None, url = None))]
    fn new(
        py: Python<'_>,
        kind: &str,
        r#ref: String,
        recorded_by: String,
        at: Option<&Bound<'_, PyAny>>,
        digest: Option<String>,
        url: Option<String>,
    ) -> PyResult<EvidenceRecord> {
        let inner = CoreEvidence {
            kind: self::kind(py, kind)?,
            reference: r#ref,
            digest,
            url,
            recorded_by,
            at: timestamp(py, at, "at")?.unwrap_or_else(gangway::Timestamp::now),
        };
        inner.check().map_err(|e| {
            let field = match &e {
                gangway::evidence::EvidenceError::Blank(f) => Some(*f),
                gangway::evidence::EvidenceError::Digest(_) => Some("digest"),
                _ => None,
            };
            errors::record_invalid(py, e.code(), field, e.to_string())
        })?;
        Ok(EvidenceRecord { inner })
    }

    /// What it shows (one of `gangway.EVIDENCE_KINDS`).
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.as_str()
    }

    /// Where it comes from (a run id, a ticket, a document anchor).
    #[getter(r#ref)]
    fn reference(&self) -> &str {
        &self.inner.reference
    }

    /// SHA-256 of the artifact, when it is a file.
    #[getter]
    fn digest(&self) -> Option<&str> {
        self.inner.digest.as_deref()
    }

    /// Where the artifact is, when it is a page or a stored object.
    #[getter]
    fn url(&self) -> Option<&str> {
        self.inner.url.as_deref()
    }

    /// Who recorded it.
    #[getter]
    fn recorded_by(&self) -> &str {
        &self.inner.recorded_by
    }

    /// When, an aware `datetime` in UTC.
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::timestamp_to_py(py, self.inner.at)
    }

    /// The core's JSON form (`ref`, `at` as RFC 3339 text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "EvidenceRecord(kind={}, ref={}, digest={}, url={}, recorded_by={}, at={})",
            repr_str(py, self.inner.kind.as_str()),
            repr_str(py, &self.inner.reference),
            repr_opt(py, self.inner.digest.as_deref()),
            repr_opt(py, self.inner.url.as_deref()),
            repr_str(py, &self.inner.recorded_by),
            repr_str(py, &self.inner.at.to_string()),
        )
    }
}

// ---- Records ----

/// The sign-offs and evidence kept beside a packet, from a records file
/// (`Records.from_yaml` / `from_path`), the store (`Store.records`) or built here.
/// Pass them as `records=` to `validate_packet` and `progress`: without records,
/// stages from `uat_evidence` on report `records.unavailable` (fail closed).
#[pyclass(frozen, module = "gangway", name = "Records")]
#[derive(Debug)]
pub struct Records {
    pub inner: gangway::Records,
    pub source_name: Option<String>,
}

/// The values of an iterable argument (`signoffs`, `evidence`), each read by `read`.
fn items<T>(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
    argument: &str,
    what: &str,
    read: impl Fn(&Bound<'_, PyAny>) -> Option<T>,
) -> PyResult<Vec<T>> {
    let mut out = Vec::new();
    let Some(value) = value.filter(|v| !v.is_none()) else {
        return Ok(out);
    };
    for item in value.try_iter()? {
        let item = item?;
        let one = read(&item).ok_or_else(|| {
            errors::invalid_input(
                py,
                "invalid_record",
                argument,
                format!(
                    "{argument} must hold gangway.{what} values, not {}",
                    convert::type_name(&item)
                ),
            )
        })?;
        out.push(one);
    }
    Ok(out)
}

impl Records {
    fn load(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<Records> {
        match py.detach(|| gangway::Records::from_yaml(&text)) {
            Ok(inner) => Ok(Records { inner, source_name }),
            Err(e) => Err(errors::records_error(py, &e, source_name.as_deref())),
        }
    }
}

#[pymethods]
impl Records {
    /// Records from values (`SignOff`s and `EvidenceRecord`s, oldest first); empty
    /// by default. Empty records are still records: every role and kind missing.
    #[new]
    #[pyo3(signature = (signoffs = None, evidence = None, *, packet_id = None))]
    fn new(
        py: Python<'_>,
        signoffs: Option<&Bound<'_, PyAny>>,
        evidence: Option<&Bound<'_, PyAny>>,
        packet_id: Option<String>,
    ) -> PyResult<Records> {
        let signoffs = items(py, signoffs, "signoffs", "SignOff", |v| {
            v.cast::<SignOff>().ok().map(|s| s.get().inner.clone())
        })?;
        let evidence = items(py, evidence, "evidence", "EvidenceRecord", |v| {
            v.cast::<EvidenceRecord>().ok().map(|e| e.get().inner.clone())
        })?;
        Ok(Records {
            inner: gangway::Records {
                packet_id,
                signoffs,
                evidence,
            },
            source_name: None,
        })
    }

    /// Reads a records file (`records: {packet_id, signoffs, evidence}`). A file that
    /// does not load raises `RecordsError` with `code` (`records.parse`,
    /// `review.invalid`, `evidence.invalid`), `line` and `column`.
    #[staticmethod]
    #[pyo3(signature = (text, *, source_name = None))]
    fn from_yaml(py: Python<'_>, text: String, source_name: Option<String>) -> PyResult<Records> {
        Records::load(py, text, source_name)
    }

    /// Reads a records file from a path (`str` or `os.PathLike`); the source name
    /// defaults to the path as given.
    #[staticmethod]
    #[pyo3(signature = (path, *, source_name = None))]
    fn from_path(py: Python<'_>, path: PathBuf, source_name: Option<String>) -> PyResult<Records> {
        let read = {
            let path = path.clone();
            py.detach(move || std::fs::read_to_string(path))
        };
        let text = read.map_err(|e| errors::file_error(py, &path, &e))?;
        Records::load(
            py,
            text,
            Some(source_name.unwrap_or_else(|| path.display().to_string())),
        )
    }

    /// The packet the records are about, when the file or the store names it.
    #[getter]
    fn packet_id(&self) -> Option<&str> {
        self.inner.packet_id.as_deref()
    }

    /// Every sign-off, oldest first.
    #[getter]
    fn signoffs(&self) -> Vec<SignOff> {
        self.inner
            .signoffs
            .iter()
            .cloned()
            .map(|inner| SignOff { inner })
            .collect()
    }

    /// Every evidence record, oldest first.
    #[getter]
    fn evidence(&self) -> Vec<EvidenceRecord> {
        self.inner
            .evidence
            .iter()
            .cloned()
            .map(|inner| EvidenceRecord { inner })
            .collect()
    }

    /// The file name or label the records were read from, if any.
    #[getter]
    fn source_name(&self) -> Option<&str> {
        self.source_name.as_deref()
    }

    /// The core's JSON form: `{packet_id, signoffs, evidence}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "records_html", slf.into_any())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other.cast::<Records>().is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let mut out = format!(
            "Records(packet_id={}, signoffs={}, evidence={}",
            repr_opt(py, self.inner.packet_id.as_deref()),
            self.inner.signoffs.len(),
            self.inner.evidence.len()
        );
        if let Some(name) = &self.source_name {
            out.push_str(&format!(", source={}", repr_str(py, name)));
        }
        out.push(')');
        out
    }
}

// ---- review status ----

/// Where one role of the review matrix stands on a packet version.
#[pyclass(frozen, eq, module = "gangway", name = "RoleStatus")]
#[derive(Debug, Clone, PartialEq)]
pub struct RoleStatus {
    inner: CoreRoleStatus,
}

#[pymethods]
impl RoleStatus {
    /// The role (one of `gangway.REVIEW_ROLES`).
    #[getter]
    fn role(&self) -> &'static str {
        self.inner.role.as_str()
    }

    /// The role's name as the review matrix writes it (`"Product"`, …).
    #[getter]
    fn title(&self) -> &'static str {
        self.inner.role.title()
    }

    /// What a reviewer in this role must confirm.
    #[getter]
    fn must_confirm(&self) -> &'static str {
        self.inner.role.must_confirm()
    }

    /// `"approved"`, `"rejected"`, `"stale"` (signed an earlier version only) or
    /// `"missing"`.
    #[getter]
    fn status(&self) -> &'static str {
        self.inner.status
    }

    /// The sign-off that decides it (the latest for this version, else the latest
    /// for an earlier one), or `None`.
    #[getter]
    fn signoff(&self) -> Option<SignOff> {
        self.inner.signoff.clone().map(|inner| SignOff { inner })
    }

    /// The core's JSON form: `{role, status, signoff}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RoleStatus(role={}, status={}, reviewer={})",
            repr_str(py, self.inner.role.as_str()),
            repr_str(py, self.inner.status),
            repr_opt(py, self.inner.signoff.as_ref().map(|s| s.reviewer.as_str())),
        )
    }
}

/// Where every role of the review matrix stands on a stored packet's latest
/// version (`Store.review_status`); `complete` when all seven approved it.
#[pyclass(frozen, eq, module = "gangway", name = "ReviewStatus")]
#[derive(Debug, Clone, PartialEq)]
pub struct ReviewStatus {
    inner: CoreStatus,
}

#[pymethods]
impl ReviewStatus {
    /// The packet.
    #[getter]
    fn packet_id(&self) -> &str {
        &self.inner.packet_id
    }

    /// Its latest stored version.
    #[getter]
    fn version(&self) -> u32 {
        self.inner.version
    }

    /// That version's digest.
    #[getter]
    fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// Every role of the matrix, in the matrix's order.
    #[getter]
    fn roles(&self) -> Vec<RoleStatus> {
        self.inner
            .roles
            .iter()
            .cloned()
            .map(|inner| RoleStatus { inner })
            .collect()
    }

    /// True when every role approved this version.
    #[getter]
    fn complete(&self) -> bool {
        self.inner.complete
    }

    /// The core's JSON form (`review-status.json` in the bundle).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "review_status_html", slf.into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        let approved = self.inner.roles.iter().filter(|r| r.status == "approved").count();
        format!(
            "ReviewStatus(packet_id={}, version={}, digest={}, approved={}/{}, complete={})",
            repr_str(py, &self.inner.packet_id),
            self.inner.version,
            repr_str(py, &short(&self.inner.digest)),
            approved,
            self.inner.roles.len(),
            if self.inner.complete { "True" } else { "False" }
        )
    }
}

// ---- module functions ----

/// The review matrix: `{"role", "title", "must_confirm"}` per role, in order.
#[pyfunction]
fn review_matrix(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    convert::json_to_py(py, &gangway::review::matrix())
}

/// The forecast of one packet between `from_date` and `to_date`: validated (at the
/// stage its lifecycle selects) on both dates with the same registry and records,
/// `{packet_id, stage, ok_on_from, ok_on_to, appear, clear, lapses}` when errors
/// appear or clear, else `None`.
#[pyfunction]
#[pyo3(signature = (packet, registry = None, *, records = None, from_date, to_date))]
fn forecast_packet<'py>(
    py: Python<'py>,
    packet: &Bound<'py, Packet>,
    registry: Option<&Bound<'py, Registry>>,
    records: Option<&Bound<'py, Records>>,
    from_date: &Bound<'py, PyAny>,
    to_date: &Bound<'py, PyAny>,
) -> PyResult<Bound<'py, PyAny>> {
    let from = convert::required_date(py, from_date, "from_date")?;
    let to = convert::required_date(py, to_date, "to_date")?;
    let p = &packet.get().inner;
    let reg = registry.map(|r| &r.get().inner);
    let rec = records_ref(records);
    let out = py.detach(|| gangway::forecast::packet(p, reg, rec, from, to));
    convert::to_py(py, &out)
}

// ---- the store's operations (forwarded from `Store`'s methods) ----

/// `Store.sign_off`.
#[allow(clippy::too_many_arguments)]
pub fn sign_off(
    store: &Store,
    py: Python<'_>,
    packet_id: String,
    role: &str,
    decision: &str,
    reasons: Vec<String>,
    digest: Option<String>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<SignOff> {
    let role = self::role(py, role)?;
    let decision = self::decision(py, decision)?;
    let o = origin(py, actor, at, request_id)?;
    let inner = store.with(py, move |s| {
        s.sign_off(
            &o,
            &SignOffRequest {
                packet_id: &packet_id,
                role,
                decision,
                reasons: &reasons,
                digest: digest.as_deref(),
            },
        )
    })?;
    Ok(SignOff { inner })
}

/// `Store.add_evidence`.
#[allow(clippy::too_many_arguments)]
pub fn add_evidence(
    store: &Store,
    py: Python<'_>,
    packet_id: String,
    kind: &str,
    reference: String,
    digest: Option<String>,
    url: Option<String>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<EvidenceRecord> {
    let kind = self::kind(py, kind)?;
    let o = origin(py, actor, at, request_id)?;
    let inner = store.with(py, move |s| {
        s.add_evidence(&o, &packet_id, kind, &reference, digest.as_deref(), url.as_deref())
    })?;
    Ok(EvidenceRecord { inner })
}

/// `Store.records`.
pub fn records(store: &Store, py: Python<'_>, packet_id: String) -> PyResult<Records> {
    let inner = store.with(py, move |s| s.records(&packet_id))?;
    Ok(Records {
        inner,
        source_name: None,
    })
}

/// `Store.review_status`.
pub fn review_status(store: &Store, py: Python<'_>, packet_id: String) -> PyResult<ReviewStatus> {
    let inner = store.with(py, move |s| s.review_status(&packet_id))?;
    Ok(ReviewStatus { inner })
}

/// `Store.forecast`.
pub fn forecast<'py>(
    store: &Store,
    py: Python<'py>,
    from_date: &Bound<'py, PyAny>,
    to_date: &Bound<'py, PyAny>,
    runs: bool,
    standard: Option<&str>,
) -> PyResult<Bound<'py, PyAny>> {
    let from = convert::required_date(py, from_date, "from_date")?;
    let to = convert::required_date(py, to_date, "to_date")?;
    let standard = standard.map(|t| crate::billing::standard(py, t)).transpose()?;
    if runs {
        let all = store.with(py, move |s| s.forecast_all(from, to, standard))?;
        return convert::to_py(py, &all);
    }
    let list = store.with(py, move |s| s.forecast(from, to))?;
    convert::to_py(py, &list)
}

fn build_bundle(
    store: &Store,
    py: Python<'_>,
    packet_id: String,
    as_of: Option<&Bound<'_, PyAny>>,
    standard: Option<&str>,
) -> PyResult<gangway::bundle::Bundle> {
    let as_of = convert::as_of(py, as_of)?;
    let standard = standard.map(|t| crate::billing::standard(py, t)).transpose()?;
    store.with(py, move |s| s.bundle_with(&packet_id, as_of, standard))
}

/// `Store.bundle`.
pub fn bundle<'py>(
    store: &Store,
    py: Python<'py>,
    packet_id: String,
    as_of: Option<&Bound<'py, PyAny>>,
    standard: Option<&str>,
) -> PyResult<Bound<'py, PyDict>> {
    let b = build_bundle(store, py, packet_id, as_of, standard)?;
    let out = PyDict::new(py);
    for (name, body) in &b.files {
        out.set_item(name, PyBytes::new(py, body))?;
    }
    Ok(out)
}

/// `Store.write_bundle`.
pub fn write_bundle(
    store: &Store,
    py: Python<'_>,
    packet_id: String,
    directory: PathBuf,
    as_of: Option<&Bound<'_, PyAny>>,
    standard: Option<&str>,
) -> PyResult<usize> {
    let b = build_bundle(store, py, packet_id, as_of, standard)?;
    let written = {
        let dir = directory.clone();
        py.detach(move || b.write_to(&dir))
    };
    written.map_err(|e| errors::bundle_write_error(py, &directory, &e))
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("REVIEW_ROLES", PyTuple::new(py, Role::ALL.map(Role::as_str))?)?;
    m.add(
        "EVIDENCE_KINDS",
        PyTuple::new(py, EvidenceKind::ALL.map(EvidenceKind::as_str))?,
    )?;
    m.add_class::<SignOff>()?;
    m.add_class::<EvidenceRecord>()?;
    m.add_class::<Records>()?;
    m.add_class::<RoleStatus>()?;
    m.add_class::<ReviewStatus>()?;
    m.add_function(wrap_pyfunction!(review_matrix, m)?)?;
    m.add_function(wrap_pyfunction!(forecast_packet, m)?)?;
    Ok(())
}
