//! Case operations that drive the store: `store_ops` (a registry and packets loaded
//! into a fresh in-memory store, then a list of steps) and `audit_verify` (an exported
//! log checked offline, optionally against a checkpoint).
//!
//! Every write uses one fixed origin (actor `conformance`, at
//! `2026-11-22T00:00:00Z`), so the audit log's hashes — and the output — are the same
//! on every run.

use std::path::Path;

use gangway::audit::{self, Checkpoint, Origin};
use gangway::report::canonical_json;
use gangway::store::{AuditFilter, Change, EntryRef};
use gangway::{Date, Entry, Format, Kind, State, Store, StoreError};
use semver::Version;
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::{Case, CaseSpec, read};

/// The fixed time of every write.
const AT: &str = "2026-11-22T00:00:00Z";
/// The fixed actor of every write.
const ACTOR: &str = "conformance";

/// An entry as a case writes it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    kind: String,
    key: String,
    #[serde(default)]
    version: Option<String>,
    #[serde(default = "draft")]
    state: String,
    owner: String,
    #[serde(default)]
    product: Option<String>,
    #[serde(default)]
    description: Option<String>,
    #[serde(default)]
    sunset: Option<String>,
}

fn draft() -> String {
    "draft".to_owned()
}

/// A registry change for `dry_run`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum ChangeSpec {
    /// Move an entry.
    SetState {
        kind: String,
        key: String,
        #[serde(default)]
        version: Option<String>,
        to: String,
    },
    /// Add an entry.
    Add { entry: EntrySpec },
    /// Remove an entry.
    Remove {
        kind: String,
        key: String,
        #[serde(default)]
        version: Option<String>,
    },
}

/// One step of a `store_ops` case.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `add_entry`.
    Add { entry: EntrySpec },
    /// `update_entry` (owner, product, description, sunset).
    Update { entry: EntrySpec },
    /// `set_state`.
    SetState {
        kind: String,
        key: String,
        #[serde(default)]
        version: Option<String>,
        to: String,
        #[serde(default)]
        sunset: Option<String>,
    },
    /// Read one entry.
    Entry {
        kind: String,
        key: String,
        #[serde(default)]
        version: Option<String>,
    },
    /// `impact` (no version: every version of a usage unit).
    Impact {
        kind: String,
        key: String,
        #[serde(default)]
        version: Option<String>,
    },
    /// `dry_run` at `as_of` (default: the case's).
    DryRun {
        change: ChangeSpec,
        #[serde(default)]
        as_of: Option<String>,
    },
    /// `import_registry` of a file (relative to the case).
    Import { file: String },
    /// `export_registry`.
    Export,
    /// Export, import the export into a fresh store, export again: are they the same?
    RoundTrip,
    /// `put_packet` of a file (relative to the case).
    Put { packet: String },
}

pub(crate) fn bad(case: &Case, what: String) -> String {
    format!("{}: {what}", case.name)
}

fn kind(case: &Case, s: &str) -> Result<Kind, String> {
    s.parse::<Kind>().map_err(|_| bad(case, format!("unknown kind `{s}`")))
}

fn state(case: &Case, s: &str) -> Result<State, String> {
    State::from_name(s).ok_or_else(|| bad(case, format!("unknown state `{s}`")))
}

pub(crate) fn date(case: &Case, s: &str) -> Result<Date, String> {
    gangway::decode::parse_date(s).ok_or_else(|| bad(case, format!("bad date `{s}`")))
}

fn version(case: &Case, v: Option<&str>) -> Result<Option<Version>, String> {
    v.map(|s| gangway::registry::parse_version(s).ok_or_else(|| bad(case, format!("bad version `{s}`"))))
        .transpose()
}

fn entry_ref(case: &Case, k: &str, key: &str, v: Option<&str>) -> Result<EntryRef, String> {
    Ok(EntryRef {
        kind: kind(case, k)?,
        key: key.to_owned(),
        version: version(case, v)?,
    })
}

fn entry(case: &Case, e: &EntrySpec) -> Result<Entry, String> {
    Ok(Entry {
        kind: kind(case, &e.kind)?,
        key: e.key.clone(),
        version: version(case, e.version.as_deref())?,
        state: state(case, &e.state)?,
        owner: e.owner.clone(),
        product: e.product.clone(),
        description: e.description.clone(),
        sunset: e.sunset.as_deref().map(|s| date(case, s)).transpose()?,
    })
}

fn change(case: &Case, c: &ChangeSpec) -> Result<Change, String> {
    Ok(match c {
        ChangeSpec::SetState { kind, key, version, to } => Change::SetState {
            entry: entry_ref(case, kind, key, version.as_deref())?,
            to: state(case, to)?,
        },
        ChangeSpec::Add { entry: e } => Change::Add(entry(case, e)?),
        ChangeSpec::Remove { kind, key, version } => Change::Remove(entry_ref(case, kind, key, version.as_deref())?),
    })
}

pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

/// A step's outcome: its fields, or an error with its code, message and (for refused
/// transitions) every blocker.
pub(crate) enum Outcome {
    Ok(Vec<(&'static str, Json)>),
    Err {
        code: String,
        message: String,
        blockers: Option<Json>,
    },
}

impl From<StoreError> for Outcome {
    fn from(e: StoreError) -> Outcome {
        let blockers = match &e {
            StoreError::InvoiceTransition(t) => Some(to_json(&t.blockers)),
            StoreError::PoTransition(t) => Some(to_json(&t.blockers)),
            _ => None,
        };
        Outcome::Err {
            code: e.code().to_owned(),
            message: e.to_string(),
            blockers,
        }
    }
}

/// The outcome of a store call, its value turned into fields by `ok`.
pub(crate) fn outcome<T>(r: Result<T, StoreError>, ok: impl FnOnce(T) -> Vec<(&'static str, Json)>) -> Outcome {
    r.map_or_else(Outcome::from, |v| Outcome::Ok(ok(v)))
}

/// `{"op": …, "ok": true, …fields}` or `{"op": …, "ok": false, "code": …, "message":
/// …, "blockers"?: […]}`.
pub(crate) fn render(op: &str, outcome: Outcome) -> Json {
    let mut m = serde_json::Map::new();
    m.insert("op".to_owned(), json!(op));
    match outcome {
        Outcome::Ok(fields) => {
            m.insert("ok".to_owned(), json!(true));
            for (k, v) in fields {
                m.insert(k.to_owned(), v);
            }
        }
        Outcome::Err {
            code,
            message,
            blockers,
        } => {
            m.insert("ok".to_owned(), json!(false));
            m.insert("code".to_owned(), json!(code));
            m.insert("message".to_owned(), json!(message));
            if let Some(b) = blockers {
                m.insert("blockers".to_owned(), b);
            }
        }
    }
    Json::Object(m)
}

fn op_name(step: &Step) -> &'static str {
    match step {
        Step::Add { .. } => "add",
        Step::Update { .. } => "update",
        Step::SetState { .. } => "set_state",
        Step::Entry { .. } => "entry",
        Step::Impact { .. } => "impact",
        Step::DryRun { .. } => "dry_run",
        Step::Import { .. } => "import",
        Step::Export => "export",
        Step::RoundTrip => "round_trip",
        Step::Put { .. } => "put",
    }
}

fn packet_format(path: &Path) -> Format {
    Format::from_path(path)
}

/// A case's store after its setup: the registry imported and the packets stored,
/// with the fixed origin every write uses.
pub(crate) struct Setup {
    /// The origin of every write.
    pub origin: Origin,
    imported: Option<gangway::store::ImportSummary>,
    packets: Vec<Json>,
    /// How many audit records the setup wrote.
    pub audit_records: usize,
}

impl Setup {
    /// A fresh in-memory store with `registry` imported and `packets` stored.
    pub(crate) fn load(case: &Case, spec: &CaseSpec) -> Result<(Store, Setup), String> {
        let at = AT.parse().map_err(|e| bad(case, format!("{e}")))?;
        let origin = Origin::new(ACTOR, at);
        let fail = |e: StoreError| bad(case, format!("setup: {}: {e}", e.code()));
        let mut store = Store::open_in_memory().map_err(fail)?;
        let imported = match &spec.registry {
            Some(file) => {
                let text = read(&case.dir.join(file))?;
                Some(store.import_registry(&origin, &text).map_err(fail)?)
            }
            None => None,
        };
        let mut packets = Vec::new();
        for file in &spec.packets {
            let path = case.dir.join(file);
            let out = store
                .put_packet(&origin, &read(&path)?, packet_format(&path))
                .map_err(fail)?;
            packets
                .push(json!({"packet_id": out.info.packet_id, "version": out.info.version, "digest": out.info.digest}));
        }
        let audit_records = store.audit_records(&AuditFilter::default()).map_err(fail)?.len();
        Ok((
            store,
            Setup {
                origin,
                imported,
                packets,
                audit_records,
            },
        ))
    }

    /// `{registry, packets, audit_records}`.
    pub(crate) fn to_json(&self) -> Json {
        json!({
            "registry": self.imported.as_ref().map(to_json),
            "packets": self.packets,
            "audit_records": self.audit_records,
        })
    }
}

/// Runs a `store_ops` case.
pub(crate) fn run_store_ops(case: &Case, spec: &CaseSpec, as_of: Date) -> Result<String, String> {
    let (mut store, setup) = Setup::load(case, spec)?;
    let origin = setup.origin.clone();
    let mut results = Vec::new();
    for (index, raw) in spec.steps.iter().enumerate() {
        let step: Step = serde_json::from_value(raw.clone()).map_err(|e| bad(case, format!("step {index}: {e}")))?;
        let step = &step;
        let fields: Result<Vec<(&'static str, Json)>, StoreError> = match step {
            Step::Add { entry: e } => {
                let e = entry(case, e)?;
                store.add_entry(&origin, &e).map(|()| vec![("entry", e.to_json())])
            }
            Step::Update { entry: e } => {
                let e = entry(case, e)?;
                store.update_entry(&origin, &e).map(|e| vec![("entry", e.to_json())])
            }
            Step::SetState {
                kind,
                key,
                version,
                to,
                sunset,
            } => {
                let r = entry_ref(case, kind, key, version.as_deref())?;
                let sunset = sunset.as_deref().map(|s| date(case, s)).transpose()?;
                store
                    .set_state(&origin, &r, state(case, to)?, sunset)
                    .map(|e| vec![("entry", e.to_json())])
            }
            Step::Entry { kind, key, version } => {
                let r = entry_ref(case, kind, key, version.as_deref())?;
                store.entry(&r).and_then(|e| {
                    e.map(|e| vec![("entry", e.to_json())])
                        .ok_or_else(|| StoreError::NotFound {
                            kind: r.kind,
                            key: r.label(),
                        })
                })
            }
            Step::Impact { kind, key, version } => {
                let r = entry_ref(case, kind, key, version.as_deref())?;
                store.impact(&r).map(|hits| vec![("packets", to_json(&hits))])
            }
            Step::DryRun { change: c, as_of: when } => {
                let c = change(case, c)?;
                let when = match when {
                    Some(s) => date(case, s)?,
                    None => as_of,
                };
                store.dry_run(&c, when).map(|flips| {
                    vec![
                        ("as_of", json!(when.to_string())),
                        ("verdicts_hold", json!(flips.iter().all(|f| f.ok_after))),
                        ("flips", to_json(&flips)),
                    ]
                })
            }
            Step::Import { file } => {
                let text = read(&case.dir.join(file))?;
                store
                    .import_registry(&origin, &text)
                    .map(|sum| vec![("summary", to_json(&sum))])
            }
            Step::Export => store.export_registry().map(|yaml| vec![("yaml", json!(yaml))]),
            Step::RoundTrip => round_trip(&store, &origin),
            Step::Put { packet } => {
                let path = case.dir.join(packet);
                store
                    .put_packet(&origin, &read(&path)?, packet_format(&path))
                    .map(|out| {
                        vec![
                            ("packet_id", json!(out.info.packet_id)),
                            ("version", json!(out.info.version)),
                            ("digest", json!(out.info.digest)),
                            ("created", json!(out.created)),
                        ]
                    })
            }
        };
        results.push(render(op_name(step), outcome(fields, |f| f)));
    }
    report(case, &store, &setup, results)
}

/// A case's output: its setup, its steps' results, and the audit records the steps
/// wrote with the verification of the whole log.
pub(crate) fn report(case: &Case, store: &Store, setup: &Setup, results: Vec<Json>) -> Result<String, String> {
    let fail = |e: StoreError| bad(case, format!("{}: {e}", e.code()));
    let log = store.audit_records(&AuditFilter::default()).map_err(fail)?;
    let written: Vec<Json> = log
        .iter()
        .skip(setup.audit_records)
        .map(|r| json!({"seq": r.seq, "action": r.action, "target": r.target}))
        .collect();
    let verification = store.audit_verify().map_err(fail)?;
    Ok(canonical_json(&json!({
        "setup": setup.to_json(),
        "steps": results,
        "audit": {
            "written": written,
            "verification": verification,
        },
    })))
}

fn round_trip(store: &Store, origin: &Origin) -> Result<Vec<(&'static str, Json)>, StoreError> {
    let first = store.export_registry()?;
    let mut fresh = Store::open_in_memory()?;
    fresh.import_registry(origin, &first)?;
    let second = fresh.export_registry()?;
    Ok(vec![
        ("entries", json!(store.entries(None)?.len())),
        ("identical", json!(first == second)),
    ])
}

/// Runs an `audit_verify` case: `log` (JSON Lines), optional `checkpoint` (JSON) and
/// `public_key` (hex).
pub(crate) fn run_audit_verify(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let log_file = spec
        .log
        .as_deref()
        .ok_or_else(|| bad(case, "audit_verify needs `log`".to_owned()))?;
    let log = read(&case.dir.join(log_file))?;
    let checkpoint: Option<Checkpoint> = match &spec.checkpoint {
        Some(file) => Some(
            serde_json::from_str(&read(&case.dir.join(file))?)
                .map_err(|e| bad(case, format!("{file} is not a checkpoint: {e}")))?,
        ),
        None => None,
    };
    Ok(audit::verify_export(&log, checkpoint.as_ref(), spec.public_key.as_deref()).to_json())
}
