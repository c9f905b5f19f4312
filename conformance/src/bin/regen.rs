//! Regenerates the generated cases and every `expected.json` of the corpus.
//!
//! `regen` rewrites; `regen --check` only compares and exits 1 when anything would
//! change (CI runs it, so a stale corpus fails).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gangway::Packet;
use gangway::tree::{Key, Node, Value};
use gangway_conformance::{GENERATED_AS_OF, cases_root, discover, run};

fn main() -> ExitCode {
    let check = std::env::args().any(|a| a == "--check");
    match regen(check) {
        Ok(0) => {
            eprintln!("corpus is up to date");
            ExitCode::SUCCESS
        }
        Ok(n) if check => {
            eprintln!("{n} file(s) would change; run `make regen` and review the diff");
            ExitCode::from(1)
        }
        Ok(n) => {
            eprintln!("{n} file(s) written");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("regen: {e}");
            ExitCode::from(2)
        }
    }
}

fn write(path: &Path, body: &str, check: bool, changed: &mut usize) -> Result<(), String> {
    if std::fs::read_to_string(path).ok().as_deref() == Some(body) {
        return Ok(());
    }
    *changed += 1;
    if check {
        eprintln!("stale: {}", path.display());
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(path, body).map_err(|e| format!("{}: {e}", path.display()))
}

fn regen(check: bool) -> Result<usize, String> {
    let mut changed = 0;
    generate_deletions(check, &mut changed)?;
    generate_signed_records(check, &mut changed)?;
    for case in discover(&cases_root())? {
        let out = run(&case)?;
        write(&case.expected_path(), &out, check, &mut changed)?;
    }
    Ok(changed)
}

/// Writes `records.yaml` for every case with `signed_records: true`: the template
/// with the digest of the case's packet.
fn generate_signed_records(check: bool, changed: &mut usize) -> Result<(), String> {
    let template_path = cases_root().join("../fixtures/records-signed.template.yaml");
    let template = std::fs::read_to_string(&template_path).map_err(|e| format!("{}: {e}", template_path.display()))?;
    for case in discover(&cases_root())? {
        let spec = gangway_conformance::spec(&case)?;
        if !spec.signed_records {
            continue;
        }
        if spec.records.as_deref() != Some("records.yaml") {
            return Err(format!("{}: signed_records needs `records: records.yaml`", case.name));
        }
        let path = gangway_conformance::packet_path(&case, &spec);
        let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let packet = Packet::parse(&text, gangway::Format::from_path(&path), &gangway::Limits::default())
            .map_err(|e| format!("{}: the packet does not parse: {e}", case.name))?;
        let body: String = template
            .replace("{digest}", &packet.digest())
            .lines()
            .filter(|l| {
                !spec
                    .signed_records_omit
                    .iter()
                    .any(|k| l.contains(&format!("{{kind: {k},")))
            })
            .map(|l| format!("{l}\n"))
            .collect();
        write(&case.dir.join("records.yaml"), &body, check, changed)?;
    }
    Ok(())
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every key path of `node` (mapping keys, through lists).
fn key_paths(node: &Node, ptr: &str, out: &mut Vec<String>) {
    match &node.value {
        Value::Map(entries) => {
            for (k, v) in entries {
                let p = gangway::tree::join(ptr, &k.name);
                out.push(p.clone());
                key_paths(v, &p, out);
            }
        }
        Value::Seq(items) => {
            for (i, v) in items.iter().enumerate() {
                key_paths(v, &gangway::tree::join(ptr, &i.to_string()), out);
            }
        }
        _ => {}
    }
}

fn without(node: &Node, target: &str, ptr: &str) -> Node {
    let value = match &node.value {
        Value::Map(entries) => Value::Map(
            entries
                .iter()
                .filter(|(k, _)| gangway::tree::join(ptr, &k.name) != target)
                .map(|(k, v)| {
                    let p = gangway::tree::join(ptr, &k.name);
                    (
                        Key {
                            name: k.name.clone(),
                            pos: k.pos,
                        },
                        without(v, target, &p),
                    )
                })
                .collect(),
        ),
        Value::Seq(items) => Value::Seq(
            items
                .iter()
                .enumerate()
                .map(|(i, v)| without(v, target, &gangway::tree::join(ptr, &i.to_string())))
                .collect(),
        ),
        other => other.clone(),
    };
    Node { value, pos: node.pos }
}

/// Writes one case per required field of the complete example, with that field deleted.
fn generate_deletions(check: bool, changed: &mut usize) -> Result<(), String> {
    let root = workspace().join("examples/token-factory-complete");
    let text = std::fs::read_to_string(root.join("packet.yaml")).map_err(|e| e.to_string())?;
    let registry = std::fs::read_to_string(root.join("registry.yaml")).map_err(|e| e.to_string())?;
    write(
        &cases_root().join("../fixtures/token-factory-complete-registry.yaml"),
        &registry,
        check,
        changed,
    )?;
    let packet = Packet::from_yaml(&text).map_err(|e| e.to_string())?;
    let mut paths = Vec::new();
    key_paths(packet.document(), "", &mut paths);
    let dir = cases_root().join("deletion");
    let mut n = 0;
    let mut expected_dirs = Vec::new();
    for path in paths {
        let Some(info) = Packet::field_info(&path).filter(|i| i.required) else {
            continue;
        };
        n += 1;
        let slug = path
            .trim_start_matches("/product_onboarding_packet")
            .trim_start_matches('/')
            .replace('/', ".");
        let slug = if slug.is_empty() {
            "product_onboarding_packet".to_owned()
        } else {
            slug
        };
        let case_dir = dir.join(format!("{n:03}-{slug}"));
        let doc = without(packet.document(), &path, "");
        let mut json = serde_json::to_string_pretty(&doc.to_json()).map_err(|e| e.to_string())?;
        json.push('\n');
        write(&case_dir.join("packet.json"), &json, check, changed)?;
        let spec = format!(
            "description: the complete example with {path} deleted fails closed with packet.missing at that path (stage {stage})\noperation: validate\nstage: {stage}\nas_of: {GENERATED_AS_OF}\nregistry: ../../../fixtures/token-factory-complete-registry.yaml\n",
            stage = info.stage
        );
        write(&case_dir.join("case.yaml"), &spec, check, changed)?;
        expected_dirs.push(case_dir);
    }
    // Remove generated cases that no longer correspond to a field.
    if let Ok(entries) = std::fs::read_dir(&dir) {
        for e in entries.flatten() {
            if !expected_dirs.contains(&e.path()) {
                *changed += 1;
                if check {
                    eprintln!("stale: {}", e.path().display());
                } else {
                    std::fs::remove_dir_all(e.path()).map_err(|err| err.to_string())?;
                }
            }
        }
    }
    Ok(())
}
