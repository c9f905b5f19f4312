//! The shared conformance corpus and its Rust runner.
//!
//! A case is a folder `cases/<area>/<NNN-name>/` with `case.yaml` (what to run),
//! its inputs, and `expected.json` (the canonical output). Every language's runner
//! reads the same folders and must produce the same bytes. See `conformance/README.md`.

mod billing_ops;
mod checklist_ops;
mod guard;
mod store_ops;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gangway::{Date, Format, Limits, Packet, Registry, Stage};
use serde::Deserialize;

/// What `case.yaml` says.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    /// What the case checks, for people.
    pub description: String,
    /// `validate` (default), `progress`, `store_ops`, `billing_ops`, `audit_verify`,
    /// `guard`, `scan`, or a checklist operation: `checklist_template`,
    /// `checklist_eval`, `probe_eval`, `flow_replay`, `adoption`, `forecast`.
    #[serde(default = "default_operation")]
    pub operation: String,
    /// Stage id; absent means "the one lifecycle_state selects".
    #[serde(default)]
    pub stage: Option<String>,
    /// Evaluation date, `YYYY-MM-DD`.
    pub as_of: String,
    /// The packet file, relative to the case folder (default `packet.yaml`, or
    /// `packet.json` when that exists).
    #[serde(default)]
    pub packet: Option<String>,
    /// The registry file, relative to the case folder (`store_ops`: imported into the
    /// fresh store first).
    #[serde(default)]
    pub registry: Option<String>,
    /// `validate`, `progress`: the records file (sign-offs and evidence) beside the
    /// packet, relative to the case; without it, stages from `uat_evidence` on report
    /// `records.unavailable`. `forecast`: the records of every packet without its own
    /// `packet_records` entry.
    #[serde(default)]
    pub records: Option<String>,
    /// Generated data: `regen` writes `records.yaml` beside the packet from
    /// `fixtures/records-signed.template.yaml` — all seven roles approving this
    /// packet's digest and every stage-5 evidence kind recorded (runners just read it).
    #[serde(default)]
    pub signed_records: bool,
    /// Generated data: evidence kinds `regen` leaves out of the signed records.
    #[serde(default)]
    pub signed_records_omit: Vec<String>,
    /// `store_ops`: packet files stored before the steps run; `guard`, `scan`: the
    /// packets the snapshot is built from (later files win for the same product);
    /// `forecast`: the packets forecast, in order.
    #[serde(default)]
    pub packets: Vec<String>,
    /// `store_ops`, `billing_ops`: the steps, run in order (see `store_ops.rs` and
    /// `billing_ops.rs`; each is read by its operation).
    #[serde(default)]
    pub steps: Vec<serde_json::Value>,
    /// `audit_verify`: the exported log (JSON Lines).
    #[serde(default)]
    pub log: Option<String>,
    /// `audit_verify`: a checkpoint (JSON) the log must extend.
    #[serde(default)]
    pub checkpoint: Option<String>,
    /// `audit_verify`: the trusted signer's public key (hex).
    #[serde(default)]
    pub public_key: Option<String>,
    /// `guard`: the checks, run in order (see `guard.rs`).
    #[serde(default)]
    pub checks: Vec<guard::GuardCheck>,
    /// `checklist_template`, `checklist_eval`, `flow_replay`, `forecast`: the checklist
    /// template file (YAML), relative to the case.
    #[serde(default)]
    pub template: Option<String>,
    /// `checklist_eval`, `forecast`: the run file (JSON, or YAML when the name does not
    /// end in `.json`), relative to the case.
    #[serde(default)]
    pub run: Option<String>,
    /// `checklist_eval`, `forecast`: the gate facts (default: none).
    #[serde(default)]
    pub facts: gangway::checklist::Facts,
    /// `probe_eval`: the assertions, written as a probe's `expect` list.
    #[serde(default)]
    pub assertions: Vec<serde_json::Value>,
    /// `probe_eval`: the response the assertions are checked against.
    #[serde(default)]
    pub response: Option<gangway::checklist::Response>,
    /// `flow_replay`: the key (`section.item`) of the probe or flow item run.
    #[serde(default)]
    pub item: Option<String>,
    /// `flow_replay`: the run's parameters.
    #[serde(default)]
    pub params: BTreeMap<String, String>,
    /// `flow_replay`: the secrets (`${secret.NAME}`), by name.
    #[serde(default)]
    pub secrets: BTreeMap<String, String>,
    /// `flow_replay`: the recorded replies file (a list of `{at, response}` or
    /// `{at, error}`), relative to the case.
    #[serde(default)]
    pub responses: Option<String>,
    /// `adoption`: the weekly rows file, relative to the case.
    #[serde(default)]
    pub rows: Option<String>,
    /// `adoption`: the thresholds (each defaults to the seed's).
    #[serde(default)]
    pub thresholds: Option<gangway::checklist::Thresholds>,
    /// `forecast`: the first date, `YYYY-MM-DD`.
    #[serde(default)]
    pub from: Option<String>,
    /// `forecast`: the last date, `YYYY-MM-DD`.
    #[serde(default)]
    pub to: Option<String>,
    /// `forecast`: the records file of each packet, by position in `packets`
    /// (`null`, or a shorter list: `records`, or none).
    #[serde(default)]
    pub packet_records: Vec<Option<String>>,
}

fn default_operation() -> String {
    "validate".to_owned()
}

/// One case on disk.
#[derive(Debug, Clone)]
pub struct Case {
    /// `<area>/<NNN-name>`.
    pub name: String,
    /// The case folder.
    pub dir: PathBuf,
}

impl Case {
    /// The expected output file.
    pub fn expected_path(&self) -> PathBuf {
        self.dir.join("expected.json")
    }
}

/// The corpus root (`conformance/cases`).
pub fn cases_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("cases")
}

/// Every case folder under `root`, sorted by name.
pub fn discover(root: &Path) -> Result<Vec<Case>, String> {
    let mut out = Vec::new();
    let areas = std::fs::read_dir(root).map_err(|e| format!("cannot read {}: {e}", root.display()))?;
    for area in areas.flatten().filter(|e| e.path().is_dir()) {
        let cases =
            std::fs::read_dir(area.path()).map_err(|e| format!("cannot read {}: {e}", area.path().display()))?;
        for case in cases.flatten().filter(|e| e.path().join("case.yaml").is_file()) {
            out.push(Case {
                name: format!(
                    "{}/{}",
                    area.file_name().to_string_lossy(),
                    case.file_name().to_string_lossy()
                ),
                dir: case.path(),
            });
        }
    }
    out.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(out)
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Reads a case's `case.yaml`.
pub fn spec(case: &Case) -> Result<CaseSpec, String> {
    serde_saphyr::from_str(&read(&case.dir.join("case.yaml"))?).map_err(|e| format!("{}: case.yaml: {e}", case.name))
}

/// The packet file a case names (default `packet.yaml`, or `packet.json` when that
/// exists).
pub fn packet_path(case: &Case, spec: &CaseSpec) -> PathBuf {
    let file = match &spec.packet {
        Some(p) => p.clone(),
        None if case.dir.join("packet.json").is_file() => "packet.json".to_owned(),
        None => "packet.yaml".to_owned(),
    };
    case.dir.join(file)
}

/// Runs a case and returns its canonical output (what `expected.json` must hold).
/// `Err` means the case itself is malformed.
pub fn run(case: &Case) -> Result<String, String> {
    let spec = spec(case)?;
    let as_of =
        gangway::decode::parse_date(&spec.as_of).ok_or_else(|| format!("{}: bad as_of `{}`", case.name, spec.as_of))?;
    match spec.operation.as_str() {
        "store_ops" => return store_ops::run_store_ops(case, &spec, as_of),
        "billing_ops" => return billing_ops::run_billing_ops(case, &spec, as_of),
        "audit_verify" => return store_ops::run_audit_verify(case, &spec),
        "guard" => return guard::run_guard(case, &spec, as_of),
        "scan" => return guard::run_scan(case, &spec),
        "checklist_template" => return checklist_ops::run_template(case, &spec),
        "checklist_eval" => return checklist_ops::run_eval(case, &spec, as_of),
        "probe_eval" => return checklist_ops::run_probe(case, &spec),
        "flow_replay" => return checklist_ops::run_flow(case, &spec),
        "adoption" => return checklist_ops::run_adoption(case, &spec),
        "forecast" => return checklist_ops::run_forecast(case, &spec),
        _ => {}
    }
    let stage = match &spec.stage {
        Some(s) => Some(s.parse::<Stage>().map_err(|e| format!("{}: {e}", case.name))?),
        None => None,
    };
    let packet_path = packet_path(case, &spec);
    let format = Format::from_path(&packet_path);
    let limits = Limits::default();
    let file = std::fs::File::open(&packet_path).map_err(|e| format!("cannot read {}: {e}", packet_path.display()))?;
    let text = gangway::packet::read_source(file, &limits)
        .map_err(|e| format!("cannot read {}: {e}", packet_path.display()))?;
    let registry = match &spec.registry {
        Some(r) => match Registry::from_yaml(&read(&case.dir.join(r))?) {
            Ok(reg) => Some(reg),
            Err(err) => return Ok(err.to_json()),
        },
        None => None,
    };
    let records = match &spec.records {
        Some(r) => match gangway::Records::from_yaml(&read(&case.dir.join(r))?) {
            Ok(rec) => Some(rec),
            Err(err) => {
                return Ok(gangway::report::canonical_json(&serde_json::json!({"error": {
                    "code": err.code(), "message": err.message, "line": err.line, "column": err.column,
                }})));
            }
        },
        None => None,
    };
    let parsed = text.and_then(|t| Packet::parse(&t, format, &limits));
    match spec.operation.as_str() {
        "validate" => Ok(match &parsed {
            Ok(p) => gangway::validate_with(p, registry.as_ref(), records.as_ref(), stage, as_of).to_json(),
            Err(e) => gangway::validate::unreadable(e, stage, as_of).to_json(),
        }),
        "progress" => match &parsed {
            Ok(p) => Ok(gangway::progress_with(p, registry.as_ref(), records.as_ref(), as_of).to_json()),
            Err(e) => Ok(gangway::validate::unreadable_progress(e, as_of).to_json()),
        },
        other => Err(format!("{}: unknown operation `{other}`", case.name)),
    }
}

/// The date used by generated cases.
pub const GENERATED_AS_OF: Date = Date::constant(2026, 11, 22);
