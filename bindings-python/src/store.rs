//! `Store`: the SQLite store (registry, packet versions, audit log) and the audit
//! log's offline checks. Thin: every operation is the core's.

use std::path::PathBuf;
use std::sync::Mutex;

use gangway::Format;
use gangway::audit::{Checkpoint, Origin};
use gangway::store::{AuditFilter, Change, EntryRef};
use pyo3::prelude::*;
use pyo3::types::{PyDateTime, PyString};

use crate::convert;
use crate::errors;
use crate::packet::Packet;
use crate::registry::{self, Entry, Registry};

/// `at`: an aware `datetime.datetime`, an RFC 3339 string, or `None` for now.
pub fn timestamp(
    py: Python<'_>,
    value: Option<&Bound<'_, PyAny>>,
    field: &str,
) -> PyResult<Option<gangway::Timestamp>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let text: String = if v.is_instance_of::<PyDateTime>() {
        if v.getattr("tzinfo")?.is_none() {
            return Err(errors::invalid_input(
                py,
                "invalid_timestamp",
                field,
                format!("{field} must be timezone-aware (e.g. datetime.now(timezone.utc))"),
            ));
        }
        v.call_method0("isoformat")?.extract()?
    } else if let Ok(s) = v.cast::<PyString>() {
        s.to_cow()?.into_owned()
    } else {
        return Err(errors::invalid_input(
            py,
            "invalid_timestamp",
            field,
            format!(
                "{field} must be a datetime or an RFC 3339 string, not {}",
                convert::type_name(v)
            ),
        ));
    };
    text.parse::<gangway::Timestamp>().map(Some).map_err(|e| {
        errors::invalid_input(
            py,
            "invalid_timestamp",
            field,
            format!("`{text}` is not an RFC 3339 timestamp: {e}"),
        )
    })
}

/// The `actor`/`at`/`request_id` of a change (shared with `Billing`).
pub(crate) fn origin(
    py: Python<'_>,
    actor: String,
    at: Option<&Bound<'_, PyAny>>,
    request_id: Option<String>,
) -> PyResult<Origin> {
    if actor.trim().is_empty() {
        return Err(errors::invalid_input(
            py,
            "invalid_actor",
            "actor",
            "actor must name who makes the change".to_owned(),
        ));
    }
    Ok(Origin {
        actor,
        at: timestamp(py, at, "at")?.unwrap_or_else(gangway::Timestamp::now),
        request_id,
    })
}

fn entry_ref(py: Python<'_>, kind: &str, key: String, version: Option<&str>) -> PyResult<EntryRef> {
    Ok(EntryRef {
        kind: registry::kind(py, kind)?,
        key,
        version: registry::version(py, version)?,
    })
}

/// The SQLite store: registry entries, every version of every packet, and the
/// tamper-evident audit log. Every change takes an `actor` (and optionally `at` and
/// `request_id`) and is audited in the same transaction.
#[pyclass(module = "gangway", name = "Store")]
#[derive(Debug)]
pub struct Store {
    inner: Mutex<gangway::Store>,
    path: Option<String>,
}

std::thread_local! {
    /// The store whose lock this thread holds (its address; 0 for none), so that a
    /// Python callback run under the lock (`Billing.ingest_jsonl`'s `progress`) that
    /// calls back into the same store is refused instead of deadlocking.
    static HOLDING: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// Restores the previous `HOLDING` when the lock is released.
struct Holding(usize);

impl Drop for Holding {
    fn drop(&mut self) {
        HOLDING.set(self.0);
    }
}

impl Store {
    /// Runs `f` on the store with the GIL released (shared with `Billing`).
    pub(crate) fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut gangway::Store) -> Result<T, gangway::StoreError> + Send,
    ) -> PyResult<T> {
        let me = std::ptr::from_ref(&self.inner).addr();
        if HOLDING.get() == me {
            return Err(errors::invalid_input(
                py,
                "store.reentrant",
                "store",
                "a callback cannot use the store it was called from while that store is busy".to_owned(),
            ));
        }
        let result = py.detach(|| match self.inner.lock() {
            Ok(mut guard) => {
                let _held = Holding(HOLDING.replace(me));
                f(&mut guard).map_err(Some)
            }
            Err(_) => Err(None),
        });
        result.map_err(|e| match e {
            Some(err) => errors::store_error(py, &err),
            None => errors::invalid_input(
                py,
                "store.poisoned",
                "store",
                "the store was poisoned by a panic in another thread".to_owned(),
            ),
        })
    }
}

#[pymethods]
impl Store {
    /// Opens (creating if needed) a store file and runs its migrations.
    #[staticmethod]
    fn open(py: Python<'_>, path: PathBuf) -> PyResult<Store> {
        let display = path.display().to_string();
        let store = py
            .detach(|| gangway::Store::open(&path))
            .map_err(|e| errors::store_error(py, &e))?;
        Ok(Store {
            inner: Mutex::new(store),
            path: Some(display),
        })
    }

    /// A store in memory (for tests and notebooks).
    #[staticmethod]
    fn in_memory(py: Python<'_>) -> PyResult<Store> {
        let store = gangway::Store::open_in_memory().map_err(|e| errors::store_error(py, &e))?;
        Ok(Store {
            inner: Mutex::new(store),
            path: None,
        })
    }

    /// The file, or `None` in memory.
    #[getter]
    fn path(&self) -> Option<&str> {
        self.path.as_deref()
    }

    /// Adds an entry (refused with code `registry.exists` when it is there).
    #[pyo3(signature = (entry, *, actor, at = None, request_id = None))]
    fn add_entry(
        &self,
        py: Python<'_>,
        entry: &Bound<'_, Entry>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<()> {
        let o = origin(py, actor, at, request_id)?;
        let e = entry.get().inner.clone();
        self.with(py, move |s| s.add_entry(&o, &e))
    }

    /// Changes an entry's owner, product, description and sunset (not its state).
    #[pyo3(signature = (entry, *, actor, at = None, request_id = None))]
    fn update_entry(
        &self,
        py: Python<'_>,
        entry: &Bound<'_, Entry>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Entry> {
        let o = origin(py, actor, at, request_id)?;
        let e = entry.get().inner.clone();
        Ok(Entry {
            inner: self.with(py, move |s| s.update_entry(&o, &e))?,
        })
    }

    /// Moves an entry along draft → active → deprecated → retired; an illegal move
    /// raises `StoreError` with code `registry.illegal_transition`.
    #[pyo3(signature = (kind, key, state, *, version = None, sunset = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn set_state(
        &self,
        py: Python<'_>,
        kind: &str,
        key: String,
        state: &str,
        version: Option<&str>,
        sunset: Option<&Bound<'_, PyAny>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Entry> {
        let r = entry_ref(py, kind, key, version)?;
        let to = registry::state(py, state)?;
        let sunset = convert::optional_date(py, sunset, "sunset")?;
        let o = origin(py, actor, at, request_id)?;
        Ok(Entry {
            inner: self.with(py, move |s| s.set_state(&o, &r, to, sunset))?,
        })
    }

    /// One entry, or `None`.
    #[pyo3(signature = (kind, key, version = None))]
    fn entry(&self, py: Python<'_>, kind: &str, key: String, version: Option<&str>) -> PyResult<Option<Entry>> {
        let r = entry_ref(py, kind, key, version)?;
        Ok(self.with(py, move |s| s.entry(&r))?.map(|inner| Entry { inner }))
    }

    /// One entry, like `entry`, but a missing one raises `StoreError` with code
    /// `registry.not_found` (the message names the kind and `key@version`).
    #[pyo3(signature = (kind, key, version = None))]
    fn require_entry(&self, py: Python<'_>, kind: &str, key: String, version: Option<&str>) -> PyResult<Entry> {
        let r = entry_ref(py, kind, key, version)?;
        let inner = self.with(py, move |s| {
            s.entry(&r)?.ok_or_else(|| gangway::StoreError::NotFound {
                kind: r.kind,
                key: r.label(),
            })
        })?;
        Ok(Entry { inner })
    }

    /// Every entry (of `kind`), sorted by kind, key and version.
    #[pyo3(signature = (kind = None))]
    fn entries(&self, py: Python<'_>, kind: Option<&str>) -> PyResult<Vec<Entry>> {
        let kind = kind.map(|k| registry::kind(py, k)).transpose()?;
        Ok(self
            .with(py, move |s| s.entries(kind))?
            .into_iter()
            .map(|inner| Entry { inner })
            .collect())
    }

    /// The registry as it is now, for `validate_packet`.
    fn registry(&self, py: Python<'_>) -> PyResult<Registry> {
        let inner = self.with(py, |s| s.registry())?;
        Ok(Registry {
            inner,
            source_name: self.path.clone(),
        })
    }

    /// Applies a registry document (adds, moves forward, updates; all audited).
    /// Returns `{added, updated, moved, unchanged}`.
    #[pyo3(signature = (text, *, actor, at = None, request_id = None))]
    fn import_registry<'py>(
        &self,
        py: Python<'py>,
        text: String,
        actor: String,
        at: Option<&Bound<'py, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let o = origin(py, actor, at, request_id)?;
        let sum = self.with(py, move |s| s.import_registry(&o, &text))?;
        convert::to_py(py, &sum)
    }

    /// The registry as a registry document (byte-stable).
    fn export_registry(&self, py: Python<'_>) -> PyResult<String> {
        self.with(py, |s| s.export_registry())
    }

    /// Stores a new version of a packet (a `Packet`, or text with `format`). Returns
    /// `{info: {packet_id, version, digest, ...}, created}`; an identical document
    /// is not stored twice.
    #[pyo3(signature = (packet, *, format = "yaml", actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn put_packet<'py>(
        &self,
        py: Python<'py>,
        packet: &Bound<'py, PyAny>,
        format: &str,
        actor: String,
        at: Option<&Bound<'py, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let (text, fmt) = if let Ok(p) = packet.cast::<Packet>() {
            let p = p.get();
            (p.source.text.as_deref().unwrap_or_default().to_owned(), p.format)
        } else if let Ok(s) = packet.cast::<PyString>() {
            (s.to_cow()?.into_owned(), convert::format(py, format)?)
        } else {
            return Err(errors::invalid_input(
                py,
                "invalid_packet",
                "packet",
                format!(
                    "packet must be a gangway.Packet or its text, not {}",
                    convert::type_name(packet)
                ),
            ));
        };
        let o = origin(py, actor, at, request_id)?;
        let out = self.with(py, move |s| s.put_packet(&o, &text, fmt))?;
        convert::to_py(py, &out)
    }

    /// The current version of every stored packet.
    fn packets<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let list = self.with(py, |s| s.packets())?;
        convert::to_py(py, &list)
    }

    /// Every stored version of one packet, oldest first.
    fn packet_history<'py>(&self, py: Python<'py>, packet_id: String) -> PyResult<Bound<'py, PyAny>> {
        let list = self.with(py, move |s| s.packet_history(&packet_id))?;
        convert::to_py(py, &list)
    }

    /// A stored version (the current one by default), parsed.
    #[pyo3(signature = (packet_id, version = None))]
    fn packet(&self, py: Python<'_>, packet_id: String, version: Option<u32>) -> PyResult<Packet> {
        let stored = self.with(py, move |s| s.packet(&packet_id, version))?;
        let format = Format::from_name(&stored.info.format).unwrap_or(Format::Yaml);
        let name = format!("store:{}@{}", stored.info.packet_id, stored.info.version);
        Packet::parse(py, stored.text, format, gangway::Limits::default(), Some(name))
    }

    /// The store's revision (the number of audit records); it moves on every change.
    fn revision(&self, py: Python<'_>) -> PyResult<u64> {
        self.with(py, |s| s.revision())
    }

    /// Swaps `guards` to a fresh snapshot when the store changed since revision
    /// `seen`; returns the current revision (pass it back next time).
    fn refresh_guards(&self, py: Python<'_>, guards: &Bound<'_, crate::guard::Guards>, seen: u64) -> PyResult<u64> {
        let g = guards.get();
        let now = self.with(py, |s| s.revision())?;
        if now != seen {
            let snap = self.with(py, |s| s.snapshot())?;
            g.swap_snapshot(snap);
        }
        Ok(now)
    }

    /// A guard `Snapshot` of the registry and every stored packet's current version.
    fn snapshot(&self, py: Python<'_>) -> PyResult<crate::guard::Snapshot> {
        let inner = self.with(py, |s| s.snapshot())?;
        Ok(crate::guard::Snapshot {
            inner: std::sync::Arc::new(inner),
        })
    }

    /// Every stored packet (current version) that names the entry, and where.
    #[pyo3(signature = (kind, key, version = None))]
    fn impact<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        key: String,
        version: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let r = entry_ref(py, kind, key, version)?;
        let hits = self.with(py, move |s| s.impact(&r))?;
        convert::to_py(py, &hits)
    }

    /// The stored packets whose verdict would flip if the entry moved to `state`
    /// (nothing lands).
    #[pyo3(signature = (kind, key, state, *, version = None, as_of = None))]
    fn dry_run_set_state<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        key: String,
        state: &str,
        version: Option<&str>,
        as_of: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let change = Change::SetState {
            entry: entry_ref(py, kind, key, version)?,
            to: registry::state(py, state)?,
        };
        self.dry_run(py, change, as_of)
    }

    /// The stored packets whose verdict would flip if the entry were removed.
    #[pyo3(signature = (kind, key, *, version = None, as_of = None))]
    fn dry_run_remove<'py>(
        &self,
        py: Python<'py>,
        kind: &str,
        key: String,
        version: Option<&str>,
        as_of: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let change = Change::Remove(entry_ref(py, kind, key, version)?);
        self.dry_run(py, change, as_of)
    }

    /// The stored packets whose verdict would flip if `entry` were added.
    #[pyo3(signature = (entry, *, as_of = None))]
    fn dry_run_add<'py>(
        &self,
        py: Python<'py>,
        entry: &Bound<'py, Entry>,
        as_of: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let change = Change::Add(entry.get().inner.clone());
        self.dry_run(py, change, as_of)
    }

    /// Audit records, filtered (all given filters apply; `target` also matches
    /// targets that start with it).
    #[pyo3(signature = (*, actor = None, action = None, target = None, since = None, until = None))]
    fn audit_records<'py>(
        &self,
        py: Python<'py>,
        actor: Option<String>,
        action: Option<String>,
        target: Option<String>,
        since: Option<&Bound<'py, PyAny>>,
        until: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter = AuditFilter {
            actor,
            action,
            target,
            since: timestamp(py, since, "since")?,
            until: timestamp(py, until, "until")?,
        };
        let records = self.with(py, move |s| s.audit_records(&filter))?;
        convert::to_py(py, &records)
    }

    /// Walks the log; `{ok, records, head, breach}` names the first bad record.
    fn audit_verify<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let v = self.with(py, |s| s.audit_verify())?;
        convert::to_py(py, &v)
    }

    /// The whole log as JSON Lines.
    fn audit_export(&self, py: Python<'_>) -> PyResult<String> {
        let bytes = self.with(py, |s| {
            let mut out = Vec::new();
            s.audit_export(&mut out)?;
            Ok(out)
        })?;
        Ok(String::from_utf8_lossy(&bytes).into_owned())
    }

    /// Takes a checkpoint (signed when `key` — a hex Ed25519 seed — is given) and
    /// records that it was taken. Returns the checkpoint as a dict.
    #[pyo3(signature = (*, actor, key = None, at = None, request_id = None))]
    fn audit_checkpoint<'py>(
        &self,
        py: Python<'py>,
        actor: String,
        key: Option<String>,
        at: Option<&Bound<'py, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let o = origin(py, actor, at, request_id)?;
        let cp = self.with(py, move |s| s.audit_checkpoint(&o, key.as_deref()))?;
        convert::to_py(py, &cp)
    }

    /// Records a sign-off by `actor` for `role` (one of `gangway.REVIEW_ROLES`) on a
    /// stored version of the packet: the latest, unless `digest` names another.
    /// `decision` is `"approve"` or `"reject"` (with at least one reason). Refusals
    /// raise `StoreError` (`packet.not_found`, `review.invalid`). Audited
    /// (`review.sign`).
    #[pyo3(signature = (packet_id, role, decision, *, reasons = Vec::new(), digest = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn sign_off(
        &self,
        py: Python<'_>,
        packet_id: String,
        role: &str,
        decision: &str,
        reasons: Vec<String>,
        digest: Option<String>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<crate::records::SignOff> {
        crate::records::sign_off(
            self, py, packet_id, role, decision, reasons, digest, actor, at, request_id,
        )
    }

    /// Records stage-5 evidence of `kind` (one of `gangway.EVIDENCE_KINDS`) for a
    /// stored packet, by `actor`; it needs a `digest` or a `url`. Refusals raise
    /// `StoreError` (`packet.not_found`, `evidence.invalid`). Audited (`evidence.add`).
    #[pyo3(signature = (packet_id, kind, r#ref, *, digest = None, url = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_evidence(
        &self,
        py: Python<'_>,
        packet_id: String,
        kind: &str,
        r#ref: String,
        digest: Option<String>,
        url: Option<String>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<crate::records::EvidenceRecord> {
        crate::records::add_evidence(self, py, packet_id, kind, r#ref, digest, url, actor, at, request_id)
    }

    /// The sign-offs and evidence recorded for a packet (empty when none), for
    /// `validate_packet(..., records=...)`.
    fn records(&self, py: Python<'_>, packet_id: String) -> PyResult<crate::records::Records> {
        crate::records::records(self, py, packet_id)
    }

    /// Where every role of the review matrix stands on the packet's latest stored
    /// version (`packet.not_found` when it is not stored).
    fn review_status(&self, py: Python<'_>, packet_id: String) -> PyResult<crate::records::ReviewStatus> {
        crate::records::review_status(self, py, packet_id)
    }

    /// Every stored packet (current version, with the store's registry and its
    /// records) whose errors change between `from_date` and `to_date`, as
    /// `{packet_id, stage, ok_on_from, ok_on_to, appear, clear, lapses}`. With
    /// `runs=True`, `{packets, runs}`: the checklist runs whose verdict changes too
    /// (billing gates under `standard`, `paid` or `po_approved`; none: unsatisfied).
    #[pyo3(signature = (from_date, to_date, *, runs = false, standard = None))]
    fn forecast<'py>(
        &self,
        py: Python<'py>,
        from_date: &Bound<'py, PyAny>,
        to_date: &Bound<'py, PyAny>,
        runs: bool,
        standard: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::records::forecast(self, py, from_date, to_date, runs, standard)
    }

    /// The release evidence bundle of the packet's latest stored version, evaluated
    /// on `as_of` (default today): relative path → bytes, `manifest.json` listing
    /// every other file with its size and SHA-256.
    /// The packet's checklist runs are included, their billing gates evaluated under
    /// `standard` (`paid` or `po_approved`; none: unsatisfied).
    #[pyo3(signature = (packet_id, as_of = None, *, standard = None))]
    fn bundle<'py>(
        &self,
        py: Python<'py>,
        packet_id: String,
        as_of: Option<&Bound<'py, PyAny>>,
        standard: Option<&str>,
    ) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        crate::records::bundle(self, py, packet_id, as_of, standard)
    }

    /// Writes the bundle into `directory`, which must not exist or be empty
    /// (`FileError`, `bundle.not_empty`, otherwise). Returns the number of files.
    #[pyo3(signature = (packet_id, directory, as_of = None, *, standard = None))]
    fn write_bundle(
        &self,
        py: Python<'_>,
        packet_id: String,
        directory: PathBuf,
        as_of: Option<&Bound<'_, PyAny>>,
        standard: Option<&str>,
    ) -> PyResult<usize> {
        crate::records::write_bundle(self, py, packet_id, directory, as_of, standard)
    }

    /// Starts a run of `template` (its text is kept with the run, so the run stays
    /// evaluable when the template changes) with `parameters`, exactly the template's
    /// (`checklist.parameter_missing`, `checklist.unknown_parameter` otherwise). Ids
    /// are `RUN-000001`, … in order. Audited (`checklist.run.new`).
    #[pyo3(signature = (template, *, parameters = None, actor, at = None, request_id = None))]
    fn new_checklist_run(
        &self,
        py: Python<'_>,
        template: &Bound<'_, crate::checklist::ChecklistTemplate>,
        parameters: Option<std::collections::BTreeMap<String, String>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<crate::checklist::StoredChecklistRun> {
        crate::checklist::new_run(self, py, template, parameters, actor, at, request_id)
    }

    /// One stored run (`checklist.run_not_found` when there is none).
    fn checklist_run(&self, py: Python<'_>, run_id: String) -> PyResult<crate::checklist::StoredChecklistRun> {
        crate::checklist::run(self, py, run_id)
    }

    /// Every stored run (whose `packet_id` parameter is `packet_id`, when given), by id.
    #[pyo3(signature = (*, packet_id = None))]
    fn checklist_runs(
        &self,
        py: Python<'_>,
        packet_id: Option<String>,
    ) -> PyResult<Vec<crate::checklist::StoredChecklistRun>> {
        crate::checklist::runs(self, py, packet_id)
    }

    /// Checks a manual item `"done"` or `"failed"` with evidence references (and a
    /// note); a waiver it had is withdrawn. Returns the item record. Refused with
    /// `checklist.wrong_kind` (a probe, flow or gate item), `checklist.evidence_missing`,
    /// `checklist.unknown_item`, `checklist.run_not_found`. Audited.
    #[pyo3(signature = (run_id, item, state, *, evidence = Vec::new(), note = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn check_item<'py>(
        &self,
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
        crate::checklist::check_item(self, py, run_id, item, state, evidence, note, actor, at, request_id)
    }

    /// Waives an item (of any kind) until `expires` (a date; from the next day it
    /// counts as open again), owned by `owner` for `reason`. Returns the item record.
    /// `checklist.waiver_invalid` for a blank owner or reason or an expiry before
    /// today (`at`'s date). Audited.
    #[pyo3(signature = (run_id, item, *, owner, reason, expires, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn waive_item<'py>(
        &self,
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
        crate::checklist::waive_item(self, py, run_id, item, owner, reason, expires, actor, at, request_id)
    }

    /// Adds a known gap (what is missing, who owns it, the last day it may stay open).
    /// Returns `{text, owner, due}`. `checklist.invalid` for a blank text or owner.
    /// Audited.
    #[pyo3(signature = (run_id, text, *, owner, due, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn add_known_gap<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        text: String,
        owner: String,
        due: &Bound<'py, PyAny>,
        actor: String,
        at: Option<&Bound<'py, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::checklist::add_gap(self, py, run_id, text, owner, due, actor, at, request_id)
    }

    /// Sets the given fields of the run's decision record (`technical_owner` signs off
    /// at `at`); returns the whole record. `checklist.invalid` when none is given or
    /// one is blank. Audited.
    #[pyo3(signature = (run_id, *, technical_owner = None, rollback_authority = None, support_channel = None, support_sla = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn set_decision<'py>(
        &self,
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
        crate::checklist::set_decision(
            self,
            py,
            run_id,
            technical_owner,
            rollback_authority,
            support_channel,
            support_sla,
            actor,
            at,
            request_id,
        )
    }

    /// Records (or replaces) one week of adoption figures (`{week, shifts_in_scope,
    /// shifts_recorded, …}`) and returns the adoption verdict over every row with the
    /// run's thresholds (`adoption.invalid_row` refuses it). Audited.
    #[pyo3(signature = (run_id, row, *, actor, at = None, request_id = None))]
    fn record_adoption_week(
        &self,
        py: Python<'_>,
        run_id: String,
        row: &Bound<'_, PyAny>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<crate::checklist::AdoptionVerdict> {
        crate::checklist::record_week(self, py, run_id, row, actor, at, request_id)
    }

    /// Sets the run's adoption thresholds (each defaulting to the seed's) and returns
    /// the adoption verdict under them (`adoption.invalid_threshold`). Audited.
    #[pyo3(signature = (run_id, thresholds, *, actor, at = None, request_id = None))]
    fn set_adoption_thresholds(
        &self,
        py: Python<'_>,
        run_id: String,
        thresholds: &Bound<'_, PyAny>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<crate::checklist::AdoptionVerdict> {
        crate::checklist::set_thresholds(self, py, run_id, thresholds, actor, at, request_id)
    }

    /// Records the artifact of running a probe or flow item (`FlowRun.artifact()`,
    /// redacted); the item's state follows its outcome unless it is waived. Returns
    /// the item record. `checklist.wrong_kind` for a manual or gate item. Audited.
    #[pyo3(signature = (run_id, item, artifact, *, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn record_result<'py>(
        &self,
        py: Python<'py>,
        run_id: String,
        item: String,
        artifact: &Bound<'py, crate::checklist::FlowArtifact>,
        actor: String,
        at: Option<&Bound<'py, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        crate::checklist::record_result(self, py, run_id, item, artifact, actor, at, request_id)
    }

    /// The run's verdict on `as_of` (default today) with its gate facts resolved from
    /// the store: a billing gate is the tenant's provisioning gate under `standard`
    /// (`"paid"` or `"po_approved"`; without one, billing gates are not satisfied), a
    /// stage gate the stored packet's progress, the adoption gate the run's weekly
    /// rows.
    #[pyo3(signature = (run_id, as_of = None, standard = None))]
    fn checklist_verdict(
        &self,
        py: Python<'_>,
        run_id: String,
        as_of: Option<&Bound<'_, PyAny>>,
        standard: Option<&str>,
    ) -> PyResult<crate::checklist::ChecklistVerdict> {
        crate::checklist::verdict(self, py, run_id, as_of, standard)
    }

    /// Billing on this store: rate cards, the usage ledger, invoices, purchase
    /// orders and the provisioning gate (the same as `gangway.Billing(store)`).
    fn billing(slf: Bound<'_, Self>) -> crate::billing::Billing {
        crate::billing::Billing::of(slf)
    }

    fn __repr__(&self) -> String {
        match &self.path {
            Some(p) => format!("Store(path={p:?})"),
            None => "Store(in_memory)".to_owned(),
        }
    }
}

impl Store {
    fn dry_run<'py>(
        &self,
        py: Python<'py>,
        change: Change,
        as_of: Option<&Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let as_of = convert::as_of(py, as_of)?;
        let flips = self.with(py, move |s| s.dry_run(&change, as_of))?;
        convert::to_py(py, &flips)
    }
}

/// Verifies an exported log (JSON Lines) and, when `checkpoint` (its JSON text or a
/// dict) is given, that the log extends it unchanged; `public_key` (hex) pins the
/// checkpoint's signer. Returns `{ok, records, head, breach}`.
#[pyfunction]
#[pyo3(signature = (jsonl, checkpoint = None, *, public_key = None))]
pub fn verify_audit_export<'py>(
    py: Python<'py>,
    jsonl: String,
    checkpoint: Option<&Bound<'py, PyAny>>,
    public_key: Option<String>,
) -> PyResult<Bound<'py, PyAny>> {
    let cp: Option<Checkpoint> = match checkpoint.filter(|c| !c.is_none()) {
        None => None,
        Some(c) => {
            let text: String = if let Ok(s) = c.cast::<PyString>() {
                s.to_cow()?.into_owned()
            } else {
                PyModule::import(py, "json")?.call_method1("dumps", (c,))?.extract()?
            };
            Some(serde_json::from_str(&text).map_err(|e| {
                errors::invalid_input(py, "invalid_checkpoint", "checkpoint", format!("not a checkpoint: {e}"))
            })?)
        }
    };
    let v = py.detach(|| gangway::audit::verify_export(&jsonl, cp.as_ref(), public_key.as_deref()));
    convert::to_py(py, &v)
}

/// A new Ed25519 signing key for checkpoints: `(seed_hex, public_key_hex)`. Keep the
/// seed secret.
#[pyfunction]
pub fn generate_audit_key(py: Python<'_>) -> PyResult<(String, String)> {
    gangway::audit::generate_key().map_err(|e| errors::invalid_input(py, "audit.key", "key", e.0))
}
