//! The example packets in `examples/` behave as documented, and every required field
//! of the complete example is enforced when it is deleted.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeSet;

use gangway::tree::{self, Node, Value};
use gangway::{Date, Packet, Registry, Report, Severity, Stage};

const SEED_PACKET: &str = include_str!("../../examples/token-factory/packet.yaml");
const SEED_REGISTRY: &str = include_str!("../../examples/token-factory/registry.yaml");
const COMPLETE_PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
const COMPLETE_REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");
const COMPLETE_RECORDS: &str = include_str!("../../examples/token-factory-complete/records.yaml");

const ROOT: &str = "/product_onboarding_packet";

fn as_of() -> Date {
    Date::constant(2026, 11, 22)
}

fn seed() -> Packet {
    Packet::from_yaml(SEED_PACKET).expect("seed packet parses")
}

fn complete() -> Packet {
    Packet::from_yaml(COMPLETE_PACKET).expect("complete packet parses")
}

fn seed_registry() -> Registry {
    Registry::from_yaml(SEED_REGISTRY).expect("seed registry loads")
}

fn complete_registry() -> Registry {
    Registry::from_yaml(COMPLETE_REGISTRY).expect("complete registry loads")
}

/// Every finding as one line, for failure messages.
fn describe(report: &Report) -> String {
    report
        .findings
        .iter()
        .map(|f| {
            format!(
                "  {} {} [{}] {} at {}:{}: {}",
                f.severity, f.code, f.stage, f.path, f.line, f.column, f.message
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn pairs(report: &Report) -> BTreeSet<(String, String)> {
    report
        .findings
        .iter()
        .map(|f| (f.code.to_owned(), f.path.clone()))
        .collect()
}

fn at(field: &str) -> String {
    format!("{ROOT}/{field}")
}

#[test]
fn seed_at_intake_misses_owner_personas_and_exposure() {
    let report = gangway::validate(&seed(), None, Some(Stage::Intake), as_of());
    assert!(!report.ok, "{}", describe(&report));
    let expected: BTreeSet<(String, String)> = ["owner", "personas", "exposure"]
        .into_iter()
        .map(|f| ("packet.missing".to_owned(), at(f)))
        .collect();
    assert_eq!(pairs(&report), expected, "\n{}", describe(&report));
    for f in &report.findings {
        assert_eq!(f.stage, Stage::Intake, "{f:?}");
        assert_eq!(f.severity, Severity::Error, "{f:?}");
        // A missing field points at the mapping that should hold it: the body of
        // `product_onboarding_packet`, whose first key is on line 2, column 3.
        assert_eq!((f.line, f.column), (2, 3), "{f:?}");
    }
    assert_eq!(report.packet_id.as_deref(), Some("token-factory-onboarding-v1"));
}

#[test]
fn seed_at_registry_has_no_registry_or_iam_findings() {
    let registry = seed_registry();
    let report = gangway::validate(&seed(), Some(&registry), Some(Stage::Registry), as_of());
    let text = describe(&report);
    assert!(!report.ok, "{text}");
    assert!(
        !report
            .findings
            .iter()
            .any(|f| f.code.starts_with("registry.") || f.code.starts_with("iam.")),
        "the draft scopes are declared draft and registered draft:\n{text}"
    );
    let expected = [
        ("owner", Stage::Intake),
        ("personas", Stage::Intake),
        ("exposure", Stage::Intake),
        ("ownership", Stage::Ownership),
    ];
    let wanted: BTreeSet<(String, String)> = expected
        .iter()
        .map(|(f, _)| ("packet.missing".to_owned(), at(f)))
        .collect();
    assert_eq!(pairs(&report), wanted, "\n{text}");
    for f in &report.findings {
        let stage = expected
            .iter()
            .find(|(field, _)| at(field) == f.path)
            .map(|(_, stage)| *stage);
        assert_eq!(Some(f.stage), stage, "{f:?}");
    }
}

#[test]
fn complete_example_passes_every_stage() {
    let packet = complete();
    let registry = complete_registry();
    let records = gangway::Records::from_yaml(COMPLETE_RECORDS).expect("records load");
    let records = Some(&records);
    for stage in Stage::ALL {
        let report = gangway::validate_with(&packet, Some(&registry), records, Some(stage), as_of());
        assert!(report.ok, "stage {stage}:\n{}", describe(&report));
        assert!(
            report.findings.is_empty(),
            "stage {stage} has findings:\n{}",
            describe(&report)
        );
        assert_eq!(report.stage, stage);
    }
    // Without an explicit stage, `lifecycle_state: active` selects extraction.
    let report = gangway::validate_with(&packet, Some(&registry), records, None, as_of());
    assert_eq!(report.stage, Stage::Extraction);
    assert!(report.ok, "{}", describe(&report));

    let progress = gangway::progress_with(&packet, Some(&registry), records, as_of());
    assert_eq!(progress.first_blocked, None, "{}", progress.to_json());
    assert_eq!(progress.stages.len(), Stage::ALL.len());
    for status in &progress.stages {
        assert!(status.ok, "{}", progress.to_json());
        assert_eq!((status.errors, status.warnings), (0, 0), "{status:?}");
    }
}

#[test]
fn stage_five_needs_the_records_and_an_edit_voids_the_signoffs() {
    let packet = complete();
    let registry = complete_registry();
    // No records at all: reported once, fail closed.
    let report = gangway::validate(&packet, Some(&registry), Some(Stage::UatEvidence), as_of());
    let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
    assert_eq!(codes, ["records.unavailable"], "{}", describe(&report));
    // Records of another packet count as not given.
    let mut other = gangway::Records::from_yaml(COMPLETE_RECORDS).unwrap();
    other.packet_id = Some("another-packet".into());
    let report = gangway::validate_with(
        &packet,
        Some(&registry),
        Some(&other),
        Some(Stage::UatEvidence),
        as_of(),
    );
    assert_eq!(report.findings.len(), 1, "{}", describe(&report));
    assert!(
        report.findings[0]
            .message
            .contains("records given are for `another-packet`")
    );
    // Stages before 5 do not need them.
    assert!(gangway::validate(&packet, Some(&registry), Some(Stage::PlatformServices), as_of()).ok);

    // Empty records: every role and every evidence kind is owed.
    let empty = gangway::Records::default();
    let report = gangway::validate_with(
        &packet,
        Some(&registry),
        Some(&empty),
        Some(Stage::UatEvidence),
        as_of(),
    );
    let count = |code: &str| report.findings.iter().filter(|f| f.code == code).count();
    assert_eq!(
        (count("review.missing"), count("evidence.missing")),
        (7, 7),
        "{}",
        describe(&report)
    );

    // An edited packet voids every sign-off but keeps the evidence.
    let records = gangway::Records::from_yaml(COMPLETE_RECORDS).unwrap();
    let edited = Packet::from_yaml(&COMPLETE_PACKET.replace("posture: keep", "posture: split")).unwrap();
    let report = gangway::validate_with(
        &edited,
        Some(&registry),
        Some(&records),
        Some(Stage::UatEvidence),
        as_of(),
    );
    let stale: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.code == "review.missing")
        .map(|f| f.message.as_str())
        .collect();
    assert_eq!(stale.len(), 7, "{}", describe(&report));
    assert!(
        stale.iter().all(|m| m.contains("signed an earlier version")),
        "{stale:?}"
    );
    assert!(!report.findings.iter().any(|f| f.code == "evidence.missing"));

    // A rejection is reported with its reasons; a later approval of the same digest wins.
    let digest = packet.digest();
    let mut r = records.clone();
    let at: gangway::Timestamp = "2026-11-21T00:00:00Z".parse().unwrap();
    r.signoffs.push(gangway::review::SignOff {
        role: gangway::review::Role::Security,
        reviewer: "ciso@platform.example".into(),
        decision: gangway::review::Decision::Reject,
        reasons: vec!["custody tier unclear".into()],
        at,
        digest: digest.clone(),
    });
    let report = gangway::validate_with(&packet, Some(&registry), Some(&r), Some(Stage::UatEvidence), as_of());
    assert_eq!(report.findings.len(), 1, "{}", describe(&report));
    assert!(report.findings[0].message.contains("custody tier unclear"));
    assert!(report.findings[0].message.starts_with("Security review rejected"));

    // A tracked missing_artifact gap naming the kind stands in for its evidence.
    let mut r = records.clone();
    r.evidence
        .retain(|e| e.kind != gangway::evidence::EvidenceKind::RollbackProof);
    let report = gangway::validate_with(&packet, Some(&registry), Some(&r), Some(Stage::UatEvidence), as_of());
    assert_eq!(
        report.findings.iter().map(|f| f.code).collect::<Vec<_>>(),
        ["evidence.missing"]
    );
    let tracked_text = COMPLETE_PACKET.replace(
        "  tracked_gaps:\n",
        "  tracked_gaps:\n    - kind: missing_artifact\n      ref: /product_onboarding_packet/uat_and_release/release_evidence_bundle\n      evidence_kind: rollback_proof\n      owner: token-factory-ops\n      tracking_id: PSSM-TF-OPS-3\n      due_date: 2027-01-31\n",
    );
    let tracked = Packet::from_yaml(&tracked_text).unwrap();
    // Adding the gap edited the packet: the reviewers sign the new version.
    for s in &mut r.signoffs {
        s.digest = tracked.digest();
    }
    let report = gangway::validate_with(&tracked, Some(&registry), Some(&r), Some(Stage::UatEvidence), as_of());
    assert!(report.ok, "{}", describe(&report));
}

/// The pointer of every mapping key in the tree, including keys inside list elements.
fn key_paths(node: &Node, ptr: &str, out: &mut Vec<String>) {
    match &node.value {
        Value::Map(entries) => {
            for (key, child) in entries {
                let child_ptr = tree::join(ptr, &key.name);
                out.push(child_ptr.clone());
                key_paths(child, &child_ptr, out);
            }
        }
        Value::Seq(items) => {
            for (i, child) in items.iter().enumerate() {
                key_paths(child, &tree::join(ptr, &i.to_string()), out);
            }
        }
        _ => {}
    }
}

/// Removes the key `pointer` names; false when there is no such key.
fn remove_key(node: &mut Node, pointer: &str) -> bool {
    let Some(rest) = pointer.strip_prefix('/') else {
        return false;
    };
    let tokens: Vec<String> = rest.split('/').map(tree::unescape).collect();
    let Some((last, parents)) = tokens.split_last() else {
        return false;
    };
    let mut here = node;
    for token in parents {
        here = match &mut here.value {
            Value::Map(entries) => match entries.iter_mut().find(|(k, _)| k.name == *token) {
                Some((_, child)) => child,
                None => return false,
            },
            Value::Seq(items) => match token.parse::<usize>().ok().and_then(|i| items.get_mut(i)) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match &mut here.value {
        Value::Map(entries) => {
            let before = entries.len();
            entries.retain(|(k, _)| k.name != *last);
            entries.len() < before
        }
        _ => false,
    }
}

/// True when a field enclosing `path` belongs to a later stage than `stage` (for
/// example `uat_and_release`, required from `uat_evidence`, encloses
/// `contract_tests[].command`, required from `contracts`).
fn under_later_stage(path: &str, stage: Stage) -> bool {
    let tokens: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let Some((_, parents)) = tokens.split_last() else {
        return false;
    };
    let mut prefix = String::new();
    parents.iter().any(|token| {
        prefix.push('/');
        prefix.push_str(token);
        Packet::field_info(&prefix).is_some_and(|info| info.stage > stage)
    })
}

/// Deletes `path` from the complete example and checks that validating at
/// `required_from` reports `packet.missing` at `path` with that stage, that the
/// report is not ok, and that `progress` blocks at `required_from` or earlier.
fn check_deletion(packet: &Packet, registry: &Registry, path: &str, required_from: Stage) -> Result<(), String> {
    let mut doc = packet.document().clone();
    if !remove_key(&mut doc, path) {
        return Err(format!("{path}: could not delete the key"));
    }
    let mutated = Packet::from_node(doc);
    let report = gangway::validate(&mutated, Some(registry), Some(required_from), as_of());
    let found = report
        .findings
        .iter()
        .any(|f| f.code == "packet.missing" && f.path == path && f.stage == required_from);
    if !found || report.ok {
        return Err(format!(
            "{path} (required from {required_from}): expected packet.missing at that path with stage {required_from} and ok = false; got ok = {}:\n{}",
            report.ok,
            describe(&report)
        ));
    }
    let progress = gangway::progress(&mutated, Some(registry), as_of());
    match progress.first_blocked {
        Some(blocked) if blocked <= required_from => Ok(()),
        other => Err(format!(
            "{path} (required from {required_from}): progress.first_blocked is {other:?}, expected {required_from} or earlier"
        )),
    }
}

#[test]
fn deleting_any_required_key_is_reported_at_its_stage() {
    let packet = complete();
    let registry = complete_registry();
    let mut paths = Vec::new();
    key_paths(packet.document(), "", &mut paths);
    assert!(paths.len() > 100, "only {} key paths", paths.len());

    let mut checked = 0usize;
    let mut nested = 0usize;
    let mut failures = Vec::new();
    for path in &paths {
        let info = Packet::field_info(path).unwrap_or_else(|| panic!("{path}: the schema does not know this key"));
        if !info.required {
            continue;
        }
        checked += 1;
        if under_later_stage(path, info.stage) {
            nested += 1;
        }
        if let Err(e) = check_deletion(&packet, &registry, path, info.stage) {
            failures.push(e);
        }
    }
    println!(
        "deletion property: checked {checked} required key paths of {} keys ({nested} inside a field of a later stage)",
        paths.len()
    );
    assert!(
        failures.is_empty(),
        "{} of {checked} deletions were not reported:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked >= 60, "only {checked} required key paths checked");
    // The contract-test commands inside `uat_and_release` must stay covered.
    assert!(nested >= 2, "only {nested} required keys inside a later-stage field");
}

#[test]
fn reports_are_byte_stable_and_format_independent() {
    let registry = complete_registry();
    let seed_registry = seed_registry();
    for (name, packet, registry) in [("seed", seed(), &seed_registry), ("complete", complete(), &registry)] {
        let json_text = serde_json::to_string(&packet.document().to_json()).expect("document serializes");
        let from_json = Packet::from_json(&json_text).expect("JSON re-encoding parses");
        assert_eq!(from_json.document().to_json(), packet.document().to_json(), "{name}");
        for stage in Stage::ALL {
            let first = gangway::validate(&packet, Some(registry), Some(stage), as_of());
            let second = gangway::validate(&packet, Some(registry), Some(stage), as_of());
            assert_eq!(first.to_json(), second.to_json(), "{name} at {stage}");
            let json = gangway::validate(&from_json, Some(registry), Some(stage), as_of());
            assert_eq!(pairs(&first), pairs(&json), "{name} at {stage}");
            let codes_paths = |r: &Report| -> Vec<(&'static str, String)> {
                r.findings.iter().map(|f| (f.code, f.path.clone())).collect()
            };
            assert_eq!(codes_paths(&first), codes_paths(&json), "{name} at {stage}");
        }
        let p1 = gangway::progress(&packet, Some(registry), as_of());
        let p2 = gangway::progress(&packet, Some(registry), as_of());
        assert_eq!(p1.to_json(), p2.to_json(), "{name} progress");
    }
}
