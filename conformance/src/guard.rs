//! The `guard` and `scan` operations: the run-time guards and the scope scanner over
//! a registry and the case's packets.
//!
//! `guard` runs the case's `checks` in order and prints one result per check:
//!
//! ```yaml
//! operation: guard
//! registry: ../../../fixtures/guard/registry.yaml
//! packets: [../../../fixtures/guard/token-factory.yaml]
//! checks:
//!   - {check: is_visible, product: token-factory, onboarding: false}
//!   - {check: check_scopes, scopes: [token_factory:model:invoke]}
//!   - {check: accept_usage, product: token-factory, unit: token_input, version: v1, quantity: 5,
//!      resource_type: model_endpoint, tenant: acme, idempotency_key: k1}
//!   - {check: check_quota_write, product: token-factory, snapshot_kind: product_quota,
//!      dimension: token_per_day, parent_scope: …, override_scope: …}
//! ```
//!
//! `scan` scans the case's `files/` folder and prints the findings, with file paths
//! relative to the case folder.

use std::path::Path;

use gangway::guard::{QuotaChange, Rejection, Snapshot, UsageEvent};
use gangway::report::canonical_json;
use gangway::{Format, Limits, Packet, Registry};
use serde::Deserialize;
use serde_json::{Map, Value as Json, json};

use crate::{Case, CaseSpec};

/// One check of a `guard` case.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "check", rename_all = "snake_case", deny_unknown_fields)]
pub enum GuardCheck {
    /// `is_visible(product, onboarding)`.
    IsVisible {
        /// Product id.
        product: String,
        /// Onboarding mode.
        #[serde(default)]
        onboarding: bool,
    },
    /// `check_scopes(scopes)`.
    CheckScopes {
        /// The scope strings.
        scopes: Vec<String>,
    },
    /// `accept_usage(event)`.
    AcceptUsage {
        /// Product id.
        product: String,
        /// Usage unit key.
        unit: String,
        /// Usage unit version (`v1`, `1.2.0`).
        version: String,
        /// Quantity.
        quantity: u64,
        /// Resource type.
        resource_type: String,
        /// Tenant.
        tenant: String,
        /// Idempotency key.
        idempotency_key: String,
        /// When (RFC 3339); default: the case's `as_of` at midnight UTC.
        #[serde(default)]
        at: Option<String>,
    },
    /// `check_quota_write(change)`.
    CheckQuotaWrite {
        /// Product id.
        product: String,
        /// Snapshot kind.
        #[serde(default)]
        snapshot_kind: Option<String>,
        /// Quota dimension.
        #[serde(default)]
        dimension: Option<String>,
        /// Parent scope.
        #[serde(default)]
        parent_scope: Option<String>,
        /// Override scope.
        #[serde(default)]
        override_scope: Option<String>,
    },
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// The case's snapshot, or the registry's load error as the case output.
fn snapshot(case: &Case, spec: &CaseSpec) -> Result<Result<Snapshot, String>, String> {
    let Some(registry_file) = &spec.registry else {
        return Err(format!("{}: a {} case needs `registry`", case.name, spec.operation));
    };
    let registry = match Registry::from_yaml(&read(&case.dir.join(registry_file))?) {
        Ok(reg) => reg,
        Err(err) => return Ok(Err(err.to_json())),
    };
    let mut packets = Vec::new();
    for file in &spec.packets {
        let path = case.dir.join(file);
        let packet = Packet::parse(&read(&path)?, Format::from_path(&path), &Limits::default())
            .map_err(|e| format!("{}: packet {file}: {e}", case.name))?;
        packets.push(packet);
    }
    let refs: Vec<&Packet> = packets.iter().collect();
    Ok(Ok(Snapshot::new(registry, &refs)))
}

fn verdict(check: &str, result: Result<(), Rejection>) -> Json {
    let mut out = Map::new();
    out.insert("check".to_owned(), json!(check));
    out.insert("accepted".to_owned(), json!(result.is_ok()));
    if let Err(r) = result {
        out.insert("code".to_owned(), json!(r.code));
        out.insert("field".to_owned(), json!(r.field));
        out.insert("reason".to_owned(), json!(r.reason.as_str()));
        if let Some(state) = r.reason.state() {
            out.insert("state".to_owned(), json!(state.as_str()));
        }
    }
    Json::Object(out)
}

/// Runs a `guard` case.
pub fn run_guard(case: &Case, spec: &CaseSpec, as_of: gangway::Date) -> Result<String, String> {
    let snap = match snapshot(case, spec)? {
        Ok(s) => s,
        Err(output) => return Ok(output),
    };
    if spec.checks.is_empty() {
        return Err(format!("{}: a guard case needs `checks`", case.name));
    }
    let midnight = format!("{as_of}T00:00:00Z");
    let mut results = Vec::new();
    for check in &spec.checks {
        let result = match check {
            GuardCheck::IsVisible { product, onboarding } => json!({
                "check": "is_visible",
                "product": product,
                "onboarding": onboarding,
                "visible": snap.is_visible(product, *onboarding),
            }),
            GuardCheck::CheckScopes { scopes } => {
                let refs: Vec<&str> = scopes.iter().map(String::as_str).collect();
                let issues: Vec<Json> = snap
                    .check_scopes(&refs)
                    .iter()
                    .map(|i| {
                        let mut o = Map::new();
                        o.insert("scope".to_owned(), json!(i.scope));
                        o.insert("code".to_owned(), json!(i.code));
                        o.insert("severity".to_owned(), json!(i.severity.as_str()));
                        if let Some(state) = i.state {
                            o.insert("state".to_owned(), json!(state.as_str()));
                        }
                        if let Some(sunset) = i.sunset {
                            o.insert("sunset".to_owned(), json!(sunset.to_string()));
                        }
                        Json::Object(o)
                    })
                    .collect();
                json!({"check": "check_scopes", "issues": issues})
            }
            GuardCheck::AcceptUsage {
                product,
                unit,
                version,
                quantity,
                resource_type,
                tenant,
                idempotency_key,
                at,
            } => {
                let version = gangway::registry::parse_version(version)
                    .ok_or_else(|| format!("{}: bad version `{version}`", case.name))?;
                let at = at.as_deref().unwrap_or(&midnight);
                let at = at.parse().map_err(|e| format!("{}: bad `at` `{at}`: {e}", case.name))?;
                let event = UsageEvent {
                    product,
                    unit,
                    version: &version,
                    quantity: *quantity,
                    resource_type,
                    tenant,
                    idempotency_key,
                    at,
                };
                verdict("accept_usage", snap.accept_usage(&event))
            }
            GuardCheck::CheckQuotaWrite {
                product,
                snapshot_kind,
                dimension,
                parent_scope,
                override_scope,
            } => {
                let change = QuotaChange {
                    product,
                    snapshot_kind: snapshot_kind.as_deref(),
                    dimension: dimension.as_deref(),
                    parent_scope: parent_scope.as_deref(),
                    override_scope: override_scope.as_deref(),
                };
                verdict("check_quota_write", snap.check_quota_write(&change))
            }
        };
        results.push(result);
    }
    Ok(canonical_json(&Json::Array(results)))
}

/// Runs a `scan` case: scans `files/` and lists the findings.
pub fn run_scan(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let snap = match snapshot(case, spec)? {
        Ok(s) => s,
        Err(output) => return Ok(output),
    };
    let mut findings =
        gangway::scan::scan_files(&[case.dir.join("files")], &snap).map_err(|e| format!("{}: {e}", case.name))?;
    for f in &mut findings {
        if let Ok(rel) = f.file.strip_prefix(&case.dir) {
            f.file = rel.to_path_buf();
        }
    }
    Ok(gangway::scan::to_json(&findings))
}
