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
//! | `manifest.json` | every other file with its size and SHA-256, the packet digest and `as_of` |

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::Date;
use serde_json::json;

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
    /// never merged into other files). Returns the number of files written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<usize> {
        if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists and is not empty; choose a new directory", dir.display()),
            ));
        }
        for (name, body) in &self.files {
            let path = dir.join(name);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, body)?;
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
    /// evaluated on `as_of` with the store's registry and the packet's records.
    pub fn bundle(&self, packet_id: &str, as_of: Date) -> Result<Bundle, StoreError> {
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
}
