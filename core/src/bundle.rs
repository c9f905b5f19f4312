//! The release evidence bundle (seed 000, stage 5: "Release evidence bundle
//! exists"): one directory holding everything a release gate needs to see about a
//! packet, with a manifest of SHA-256 digests so the bundle itself can be checked.
//!
//! [`crate::Store::bundle`] builds it in memory (deterministic: the same store and
//! `as_of` give the same bytes); [`Bundle::write_to`] writes it to a new directory.
//!
//! | file | what |
//! |---|---|
//! | `packet.yaml` / `packet.json` | the packet's latest stored version, as stored |
//! | `progress.json`, `progress.md` | all eight stages with the records |
//! | `reports/<n>-<stage>.json` | the report of validating at each stage |
//! | `review-status.json` | each role of the review matrix on this version |
//! | `signoffs.json`, `evidence.json` | every sign-off and evidence record (the evidence index) |
//! | `audit.jsonl` | the audit records about the packet (`packet:<id>`) |
//! | `checklists/<run>.json`, `checklists/<run>.md`, `checklists/<run>.template.yaml` | each checklist run whose `packet_id` parameter is the packet: the run and its verdict on `as_of`, the Markdown report, the template text it was started with |
//! | `checklists/<run>.audit.jsonl` | the audit records about that run (`checklist:<run>`) |
//! | `manifest.json` | every other file with its size and SHA-256, the packet digest, `as_of` and the runs' verdicts |

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use serde_json::json;

use crate::billing::GateStandard;
use crate::report::canonical_json;
use crate::store::{AuditFilter, Store, StoreError};

/// A bundle's files, by relative path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// Relative path → content (the manifest included).
    pub files: BTreeMap<String, Vec<u8>>,
}

impl Bundle {
    /// Writes the bundle into `dir`, which must not exist or be empty (a bundle is
    /// never merged into other files). The files are written into a sibling
    /// directory first and moved into place at once, so a failure leaves no partial
    /// bundle at `dir`. Returns the number of files written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<usize> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not empty; choose a new directory", dir.display()),
            ));
        }
        let name = dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let staging = dir.with_file_name(format!(".{name}.partial-{}", std::process::id()));
        let written = (|| {
            for (file, body) in &self.files {
                let path = staging.join(file);
                if let Some(parent) = path.parent() {
                    std::fs::create_dir_all(parent)?;
                }
                std::fs::write(path, body)?;
            }
            if dir.exists() {
                std::fs::remove_dir(dir)?;
            }
            std::fs::rename(&staging, dir)
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_dir_all(&staging);
            return Err(e);
        }
        Ok(self.files.len())
    }
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    hex::encode(sha2::Sha256::digest(bytes))
}

impl Store {
    /// Builds the release evidence bundle of `packet_id`'s latest stored version,
    /// evaluated on `as_of` with the store's registry and the packet's records. Its
    /// checklist runs' billing gates are evaluated without a gate standard (not
    /// satisfied); [`Store::bundle_with`] takes the deployment's standard.
    pub fn bundle(&self, packet_id: &str, as_of: Date) -> Result<Bundle, StoreError> {
        self.bundle_with(packet_id, as_of, None)
    }

    /// [`Store::bundle`], evaluating the checklist runs' billing gates under
    /// `standard` (the deployment's configured standard; `None`: not satisfied).
    pub fn bundle_with(
        &self,
        packet_id: &str,
        as_of: Date,
        standard: Option<GateStandard>,
    ) -> Result<Bundle, StoreError> {
        let stored = self.packet(packet_id, None)?;
        let packet = stored.parse()?;
        let registry = self.registry()?;
        let records = self.records(packet_id)?;
        let mut files: BTreeMap<String, Vec<u8>> = BTreeMap::new();
        let mut put = |name: String, body: String| {
            files.insert(name, body.into_bytes());
        };
        let ext = if stored.info.format == "json" { "json" } else { "yaml" };
        put(format!("packet.{ext}"), stored.text.clone());
        let progress = crate::progress_with(&packet, Some(&registry), Some(&records), as_of);
        put("progress.json".into(), progress.to_json());
        put("progress.md".into(), crate::render::progress_markdown(&progress));
        for stage in crate::Stage::ALL {
            let report = crate::validate_with(&packet, Some(&registry), Some(&records), Some(stage), as_of);
            put(
                format!("reports/{}-{}.json", stage.number(), stage.id()),
                report.to_json(),
            );
        }
        put(
            "review-status.json".into(),
            canonical_json(&json!(self.review_status(packet_id)?)),
        );
        put("signoffs.json".into(), canonical_json(&json!(records.signoffs)));
        put("evidence.json".into(), canonical_json(&json!(records.evidence)));
        let audit = self.audit_records(&AuditFilter {
            target: Some(format!("packet:{packet_id}")),
            ..AuditFilter::default()
        })?;
        let mut lines = String::new();
        for r in &audit {
            lines.push_str(&r.to_json_line());
            lines.push('\n');
        }
        put("audit.jsonl".into(), lines);
        let mut checklists = Vec::new();
        for stored in self.checklist_runs_for_packet(packet_id)? {
            let template = stored
                .template()
                .map_err(|e| StoreError::from(crate::checklist::store::RunError::from(e)))?;
            let verdict = self.verdict_of(&stored, &template, as_of, standard)?;
            let id = &stored.id;
            put(
                format!("checklists/{id}.json"),
                canonical_json(&json!({"run": stored, "verdict": verdict})),
            );
            put(
                format!("checklists/{id}.md"),
                crate::checklist::report::markdown(&template, Some(id), &stored.run, &verdict.verdict),
            );
            put(format!("checklists/{id}.template.yaml"), stored.template_text.clone());
            let audit = self.audit_records(&AuditFilter {
                target: Some(format!("checklist:{id}")),
                ..AuditFilter::default()
            })?;
            let mut lines = String::new();
            for r in &audit {
                lines.push_str(&r.to_json_line());
                lines.push('\n');
            }
            put(format!("checklists/{id}.audit.jsonl"), lines);
            checklists.push(json!({
                "run_id": id,
                "template": stored.template_id,
                "template_digest": stored.template_digest,
                "complete": verdict.verdict.complete,
            }));
        }
        let entries: Vec<serde_json::Value> = files
            .iter()
            .map(|(name, body)| json!({"path": name, "bytes": body.len(), "sha256": sha256_hex(body)}))
            .collect();
        let manifest = json!({
            "packet_id": packet_id,
            "version": stored.info.version,
            "digest": stored.info.digest,
            "as_of": as_of.to_string(),
            "verdict": progress.first_blocked.map_or("ready", |_| "blocked"),
            "first_blocked": progress.first_blocked,
            "checklists": checklists,
            "gate_standard": standard,
            "files": entries,
        });
        files.insert("manifest.json".into(), canonical_json(&manifest).into_bytes());
        Ok(Bundle { files })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundles_are_deterministic_and_listed_in_the_manifest() {
        let mut s = Store::open_in_memory().unwrap();
        let o = crate::Origin::new("t", "2026-11-20T00:00:00Z".parse().unwrap());
        s.import_registry(&o, include_str!("../../examples/token-factory-complete/registry.yaml"))
            .unwrap();
        let put = s
            .put_packet(
                &o,
                include_str!("../../examples/token-factory-complete/packet.yaml"),
                crate::Format::Yaml,
            )
            .unwrap();
        let id = put.info.packet_id;
        assert_eq!(
            s.bundle("nope", Date::constant(2026, 11, 22)).unwrap_err().code(),
            "packet.not_found"
        );
        let a = s.bundle(&id, Date::constant(2026, 11, 22)).unwrap();
        let b = s.bundle(&id, Date::constant(2026, 11, 22)).unwrap();
        assert_eq!(a, b);
        assert_eq!(a.files.len(), 8 + 8, "8 reports and 8 other files");
        let manifest: serde_json::Value = serde_json::from_slice(&a.files["manifest.json"]).unwrap();
        assert_eq!(manifest["verdict"], "blocked");
        assert_eq!(manifest["first_blocked"], "uat_evidence");
        let listed = manifest["files"].as_array().unwrap();
        assert_eq!(listed.len(), a.files.len() - 1);
        for f in listed {
            let body = &a.files[f["path"].as_str().unwrap()];
            assert_eq!(f["sha256"], sha256_hex(body));
        }
        let md = String::from_utf8(a.files["progress.md"].clone()).unwrap();
        assert!(md.contains("| 5 | `uat_evidence` | **fail** |"), "{md}");

        let dir = std::env::temp_dir().join(format!("gangway-bundle-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        assert_eq!(a.write_to(&dir).unwrap(), a.files.len());
        assert!(a.write_to(&dir).is_err(), "never merges into a non-empty directory");
        assert_eq!(
            std::fs::read(dir.join("reports/0-intake.json")).unwrap(),
            a.files["reports/0-intake.json"]
        );
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn bundles_carry_the_packets_checklist_runs() {
        let mut s = Store::open_in_memory().unwrap();
        let o = crate::Origin::new("t", "2026-11-20T00:00:00Z".parse().unwrap());
        s.import_registry(&o, include_str!("../../examples/token-factory-complete/registry.yaml"))
            .unwrap();
        let id = s
            .put_packet(
                &o,
                include_str!("../../examples/token-factory-complete/packet.yaml"),
                crate::Format::Yaml,
            )
            .unwrap()
            .info
            .packet_id;
        let template = "id: mini\ntitle: Mini\nsource: x\nparameters: [packet_id, tenant]\nsections:\n  - id: ops\n    title: Ops\n    items:\n      - {id: paid, text: paid, kind: gate, gate: {kind: billing, tenant: \"${tenant}\"}}\nexit_criteria:\n  - {id: all, text: all, all_sections: true}\n";
        let params = |p: &str| {
            BTreeMap::from([
                ("packet_id".to_owned(), p.to_owned()),
                ("tenant".to_owned(), "acme".to_owned()),
            ])
        };
        let run = s.new_checklist_run(&o, template, &params(&id)).unwrap();
        s.new_checklist_run(&o, template, &params("another-packet")).unwrap();
        let as_of = Date::constant(2026, 11, 22);
        let b = s.bundle(&id, as_of).unwrap();
        assert_eq!(b.files.len(), 16 + 4, "one run: json, md, template, audit");
        let json: serde_json::Value = serde_json::from_slice(&b.files[&format!("checklists/{}.json", run.id)]).unwrap();
        assert_eq!(json["run"]["id"], run.id.as_str());
        assert_eq!(json["verdict"]["verdict"]["complete"], false);
        assert_eq!(
            json["verdict"]["facts"]["billing"]["acme"]["detail"],
            crate::checklist::store::STANDARD_NOT_CONFIGURED
        );
        let md = String::from_utf8(b.files[&format!("checklists/{}.md", run.id)].clone()).unwrap();
        assert!(md.starts_with("# Mini — RUN-000001\n"), "{md}");
        assert_eq!(
            b.files[&format!("checklists/{}.template.yaml", run.id)],
            template.as_bytes()
        );
        let manifest: serde_json::Value = serde_json::from_slice(&b.files["manifest.json"]).unwrap();
        assert_eq!(manifest["checklists"][0]["run_id"], "RUN-000001");
        assert_eq!(manifest["checklists"].as_array().unwrap().len(), 1);
        assert_eq!(manifest["files"].as_array().unwrap().len(), b.files.len() - 1);
        let with = s.bundle_with(&id, as_of, Some(GateStandard::Paid)).unwrap();
        let m: serde_json::Value = serde_json::from_slice(&with.files["manifest.json"]).unwrap();
        assert_eq!(m["gate_standard"], "paid");
    }
}
