//! Review sign-offs and stage-5 evidence from the command line: `validate` and
//! `progress` with a records file or the store, `packet digest`, `review …` and
//! `evidence …`, run as a user would run them (the built binary on a temporary store).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use gangway::evidence::EvidenceKind;
use gangway::review::Role;
use serde_json::Value;
use support::{Dir, complete, dry_run_invoke, field};

const ID: &str = "token-factory-onboarding-v1";
const AS_OF: &str = "2026-11-22";

/// A fresh folder whose commands find its store through `GANGWAY_DB`.
fn dir(name: &str) -> Dir {
    Dir::new(name).store_in_env()
}

/// The same, its store holding the complete example's registry and packet.
fn seeded(name: &str) -> Dir {
    Dir::seeded(name).store_in_env()
}

/// The codes of a JSON report's findings.
fn codes(report: &Value) -> Vec<String> {
    field(&report["findings"], "code")
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// The status of each role in `review status --format json` output.
fn statuses(v: &Value) -> Vec<String> {
    field(&v["roles"], "status").into_iter().map(str::to_owned).collect()
}

#[test]
fn validate_fails_closed_without_records_and_passes_with_the_records_file() {
    let d = dir("file");
    let (packet, registry, records) = (
        complete("packet.yaml"),
        complete("registry.yaml"),
        complete("records.yaml"),
    );
    let base = ["validate", &packet, "--registry", &registry, "--as-of", AS_OF];

    let (code, v, _) = d.json(&base);
    assert_eq!(code, 1, "an active packet is judged at extraction, which needs records");
    assert_eq!(v["stage"], "extraction");
    assert_eq!(codes(&v), ["records.unavailable"]);
    let (code, out, _) = d.text(&base);
    assert_eq!(code, 1);
    assert!(out.contains("error[records.unavailable]"), "{out}");
    assert!(out.contains("--records FILE or --db STORE"), "{out}");

    let mut with = base.to_vec();
    with.extend(["--records", &records]);
    let (code, v, err) = d.json(&with);
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["ok"], true);
    assert!(codes(&v).is_empty(), "{v}");

    // Earlier stages do not need records.
    let mut early = base.to_vec();
    early.extend(["--stage", "platform_services"]);
    assert_eq!(d.json(&early).0, 0);

    // progress: uat_evidence is blocked without records, every stage passes with them.
    let progress = ["progress", &packet, "--registry", &registry, "--as-of", AS_OF];
    let (code, v, _) = d.json(&progress);
    assert_eq!(code, 1);
    assert_eq!(v["first_blocked"], "uat_evidence");
    let mut with = progress.to_vec();
    with.extend(["--records", &records]);
    let (code, v, _) = d.json(&with);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["first_blocked"], Value::Null);
}

#[test]
fn a_bad_records_file_is_a_usage_error_with_its_line_and_column() {
    let d = dir("bad");
    let (packet, registry) = (complete("packet.yaml"), complete("registry.yaml"));
    let good = std::fs::read_to_string(complete("records.yaml")).unwrap();
    let validate = |records: &str| {
        d.text(&[
            "validate",
            &packet,
            "--registry",
            &registry,
            "--records",
            records,
            "--as-of",
            AS_OF,
        ])
    };

    // An unknown role on line 10 (`    - {role: legal, …`): the role's value is at column 14.
    let bad = d.write("role.yaml", &good.replace("role: backend", "role: legal"));
    let (code, out, err) = validate(&bad);
    assert_eq!(code, 2, "{out}{err}");
    assert!(out.is_empty(), "no report for a command that could not run: {out}");
    assert!(
        err.contains(&format!("{bad}:10:14: records.parse: unknown role `legal`")),
        "{err}"
    );

    // A rejection without reasons: review.invalid, at the sign-off.
    let bad = d.write(
        "reject.yaml",
        &good.replacen("decision: approve", "decision: reject", 1),
    );
    let (code, _, err) = validate(&bad);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{bad}:8:7: review.invalid")), "{err}");

    // Evidence with neither url nor digest: evidence.invalid.
    let unanchored = good.replace(
        r#"url: "https://evidence.platform.example/token-factory/launch-drill", "#,
        "",
    );
    assert_ne!(unanchored, good);
    let bad = d.write("evidence.yaml", &unanchored);
    let (code, _, err) = validate(&bad);
    assert_eq!(code, 2);
    assert!(err.contains(&format!("{bad}:16:7: evidence.invalid")), "{err}");

    // Not YAML at all, a missing file, and records about another packet.
    let bad = d.write("broken.yaml", "records:\n  signoffs: [\n");
    let (code, _, err) = validate(&bad);
    assert_eq!(code, 2);
    assert!(
        err.contains(&format!("{bad}:2:")) && err.contains("records.parse"),
        "{err}"
    );
    let (code, _, err) = validate(d.path("missing.yaml").to_str().unwrap());
    assert_eq!(code, 2);
    assert!(err.contains("cannot read records"), "{err}");
    let other = d.write(
        "other.yaml",
        &good.replace(&format!("packet_id: {ID}"), "packet_id: other"),
    );
    let (code, _, err) = validate(&other);
    assert_eq!(code, 2);
    assert!(err.contains("about packet `other`"), "{err}");
}

#[test]
fn packet_digest_is_what_the_records_file_signs() {
    let d = dir("digest");
    let records = std::fs::read_to_string(complete("records.yaml")).unwrap();
    let (code, out, _) = d.text(&["packet", "digest", &complete("packet.yaml")]);
    assert_eq!(code, 0);
    let digest = out.trim();
    assert_eq!(digest.len(), 64);
    assert!(records.contains(&format!("digest: \"{digest}\"")), "{digest}");
    assert!(!d.path("gangway.db").exists(), "no store is opened");

    let (code, v, _) = d.json(&["packet", "digest", &complete("packet.yaml")]);
    assert_eq!(code, 0);
    assert_eq!(v["packet_id"], ID);
    assert_eq!(v["digest"], digest);

    // Comments and key order do not change the digest; content does.
    let text = std::fs::read_to_string(complete("packet.yaml")).unwrap();
    let commented = d.write("commented.yaml", &format!("# a comment\n{text}"));
    assert_eq!(d.text(&["packet", "digest", &commented]).1.trim(), digest);
    let edited = d.write(
        "edited.yaml",
        &text.replace("rollback_posture: Redeploy", "rollback_posture: Re-deploy"),
    );
    assert_ne!(d.text(&["packet", "digest", &edited]).1.trim(), digest);

    let broken = d.write("broken.yaml", "product_onboarding_packet: [unclosed\n");
    let (code, _, err) = d.text(&["packet", "digest", &broken]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("packet.parse"), "{err}");
}

#[test]
fn the_review_matrix_needs_no_store() {
    let d = dir("matrix");
    let (code, v, _) = d.json(&["review", "matrix"]);
    assert_eq!(code, 0);
    let roles = field(&v, "role");
    assert_eq!(roles, Role::NAMES);
    assert_eq!(v[4]["title"], "Security");
    assert!(v[4]["must_confirm"].as_str().unwrap().contains("credential custody"));
    let (code, out, _) = d.text(&["review", "matrix"]);
    assert_eq!(code, 0);
    assert!(out.starts_with("Product (product)\n  Personas, exposure"), "{out}");
    assert!(!d.path("gangway.db").exists());
}

#[test]
fn sign_offs_and_evidence_in_the_store_gate_validation() {
    let d = seeded("flow");
    let packet = complete("packet.yaml");
    let validate_db = |file: &str| d.json(&["validate", file, "--db", &d.db(), "--as-of", AS_OF]);

    // Nothing signed yet: every role is missing, and validation names each one.
    let (code, v, _) = d.json(&["review", "status", ID]);
    assert_eq!(code, 1, "not every role approved");
    assert_eq!(v["version"], 1);
    assert_eq!(v["complete"], false);
    assert_eq!(statuses(&v), ["missing"; 7]);
    let (code, out, _) = d.text(&["review", "status", ID]);
    assert_eq!(code, 1);
    assert!(out.contains("0 of 7 roles approved"), "{out}");
    let (code, v, _) = validate_db(&packet);
    assert_eq!(code, 1);
    let found = codes(&v);
    assert_eq!(found.iter().filter(|c| *c == "review.missing").count(), 7, "{found:?}");
    assert_eq!(
        found.iter().filter(|c| *c == "evidence.missing").count(),
        7,
        "{found:?}"
    );
    assert!(
        !found.contains(&"records.unavailable".to_owned()),
        "the store gives the records"
    );

    // Security rejects first, then approves; the latest sign-off for the digest decides.
    let (code, v, _) = d.json(&[
        "review",
        "sign",
        ID,
        "--role",
        "security",
        "--reject",
        "--reason",
        "credential custody unclear",
        "--reason",
        "no rotation runbook",
        "--actor",
        "sec@example.com",
    ]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["decision"], "reject");
    assert_eq!(v["reviewer"], "sec@example.com");
    assert_eq!(v["reasons"][1], "no rotation runbook");
    assert_eq!(v["packet_id"], ID);
    assert_eq!(v["version"], 1);
    let (_, status, _) = d.json(&["review", "status", ID]);
    assert_eq!(status["roles"][4]["status"], "rejected");
    let (_, report, _) = validate_db(&packet);
    let rejected = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["message"].as_str().unwrap().starts_with("Security review rejected"))
        .unwrap();
    assert!(
        rejected["message"]
            .as_str()
            .unwrap()
            .contains("credential custody unclear")
    );

    for role in Role::ALL {
        let reviewer = format!("{role}@example.com");
        let (code, v, err) = d.json(&[
            "review",
            "sign",
            ID,
            "--role",
            role.as_str(),
            "--approve",
            "--actor",
            &reviewer,
        ]);
        assert_eq!(code, 0, "{v}{err}");
        assert_eq!(v["decision"], "approve");
        assert_eq!(v["reviewer"], reviewer.as_str());
    }
    let (code, v, _) = d.json(&["review", "status", ID]);
    assert_eq!(code, 0, "every role approved: {v}");
    assert_eq!(v["complete"], true);
    assert_eq!(statuses(&v), ["approved"; 7]);

    // Review done; evidence still missing.
    let (code, v, _) = validate_db(&packet);
    assert_eq!(code, 1);
    assert!(codes(&v).iter().all(|c| c == "evidence.missing"), "{v}");
    let (code, v, _) = d.json(&["evidence", "list", ID]);
    assert_eq!(code, 0, "a listing");
    assert_eq!(v["missing"].as_array().unwrap().len(), 7);

    for (i, kind) in EvidenceKind::ALL.iter().enumerate() {
        let reference = format!("UAT-TF-{}", 101 + i);
        let url = format!("https://evidence.example.com/{kind}");
        let digest = format!("sha256:{}", "ab".repeat(32));
        let mut args = vec![
            "evidence",
            "add",
            ID,
            "--kind",
            kind.as_str(),
            "--ref",
            &reference,
            "--actor",
            "sre@example.com",
        ];
        // A URL, a digest, or both.
        match i % 3 {
            0 => args.extend(["--url", &url]),
            1 => args.extend(["--digest", &digest]),
            _ => args.extend(["--url", &url, "--digest", &digest]),
        }
        let (code, v, err) = d.json(&args);
        assert_eq!(code, 0, "{v}{err}");
        assert_eq!(v["kind"], kind.as_str());
        assert_eq!(v["ref"], reference.as_str());
        assert_eq!(v["recorded_by"], "sre@example.com");
    }
    let (code, v, _) = d.json(&["evidence", "list", ID]);
    assert_eq!(code, 0);
    assert_eq!(v["evidence"].as_array().unwrap().len(), 7);
    assert_eq!(v["missing"], serde_json::json!([]));
    let (_, out, _) = d.text(&["evidence", "list", ID]);
    assert!(out.contains("7 of 7 stage-5 kinds recorded"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("rollback_proof") && l.contains("UAT-TF-107")),
        "{out}"
    );

    // Signed and evidenced: the packet passes at extraction, and progress agrees.
    let (code, v, err) = validate_db(&packet);
    assert_eq!(code, 0, "{v}{err}");
    assert_eq!(v["stage"], "extraction");
    let (code, v, _) = d.json(&["progress", &packet, "--db", &d.db(), "--as-of", AS_OF]);
    assert_eq!(code, 0, "{v}");

    // A registry change that would fail the packet now flips it from ok.
    let (code, v, _) = d.json(&dry_run_invoke("retired"));
    assert_eq!(code, 1);
    assert_eq!(v["flips"][0]["ok_before"], true);

    // Store an edited packet: every sign-off is for the old digest now.
    let text = std::fs::read_to_string(&packet).unwrap();
    let edited = d.write(
        "edited.yaml",
        &text.replace("rollback_posture: Redeploy", "rollback_posture: Re-deploy"),
    );
    let (code, v, _) = d.json(&["packet", "put", &edited]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 2);
    let (code, v, _) = d.json(&["review", "status", ID]);
    assert_eq!(code, 1);
    assert_eq!(v["version"], 2);
    assert_eq!(statuses(&v), ["stale"; 7]);
    let (_, out, _) = d.text(&["review", "status", ID]);
    assert!(out.contains("an earlier version"), "{out}");
    let (code, v, _) = validate_db(&edited);
    assert_eq!(code, 1);
    let found = codes(&v);
    assert_eq!(
        found, ["review.missing"; 7],
        "evidence still counts; the sign-offs do not"
    );
    assert!(
        v["findings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("signed an earlier version"),
        "{v}"
    );
    // The old version can still be signed by digest, and that does not help the new one.
    let (_, old, _) = d.json(&["packet", "digest", &packet]);
    let old = old["digest"].as_str().unwrap().to_owned();
    let (code, v, _) = d.json(&["review", "sign", ID, "--role", "product", "--approve", "--digest", &old]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 1);
    let (_, v, _) = d.json(&["review", "status", ID]);
    assert_eq!(v["roles"][0]["status"], "stale");

    // Every sign-off and every evidence record is in the audit log, which verifies.
    let (code, v, _) = d.json(&[
        "audit",
        "query",
        "--action",
        "review.sign",
        "--target",
        &format!("packet:{ID}"),
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        v.as_array().unwrap().len(),
        9,
        "a reject, seven approvals and the old-digest approval"
    );
    assert_eq!(v[0]["actor"], "sec@example.com");
    assert_eq!(v[0]["after"]["decision"], "reject");
    let (_, v, _) = d.json(&["audit", "query", "--action", "evidence.add"]);
    assert_eq!(v.as_array().unwrap().len(), 7);
    let (code, v, _) = d.json(&["audit", "verify"]);
    assert_eq!(code, 0, "{v}");
    assert_eq!(v["ok"], true);
}

#[test]
fn refusals_exit_1_with_their_code_and_bad_flags_exit_2() {
    let d = seeded("refusals");
    let sign = |extra: &[&str]| {
        let mut args = vec!["review", "sign"];
        args.extend(extra);
        d.json(&args)
    };

    let (code, v, _) = sign(&["nope", "--role", "product", "--approve"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "packet.not_found");
    let (code, v, _) = sign(&[ID, "--role", "product", "--approve", "--digest", &"0".repeat(64)]);
    assert_eq!(code, 1, "not the digest of a stored version");
    assert_eq!(v["error"]["code"], "review.invalid");
    let (code, v, _) = sign(&[ID, "--role", "product", "--reject", "--reason", " "]);
    assert_eq!(code, 1, "a blank reason is no reason");
    assert_eq!(v["error"]["code"], "review.invalid");
    let (code, _, err) = d.text(&["review", "sign", ID, "--role", "product", "--approve", "--actor", " "]);
    assert_eq!(code, 0, "a blank actor falls back to $USER: {err}");
    let (code, out, err) = d.text(&["review", "status", "nope"]);
    assert_eq!(code, 1);
    assert!(out.is_empty());
    assert!(err.contains("gangway: error: packet.not_found"), "{err}");

    // Usage errors: no decision, both, a rejection without reasons, an unknown role.
    for args in [
        &[ID, "--role", "product"][..],
        &[ID, "--role", "product", "--approve", "--reject", "--reason", "x"],
        &[ID, "--role", "product", "--reject"],
        &[ID, "--role", "legal", "--approve"],
    ] {
        let (code, _, err) = sign(args);
        assert_eq!(code, 2, "{args:?}: {err}");
    }

    let add = |extra: &[&str]| {
        let mut args = vec!["evidence", "add"];
        args.extend(extra);
        d.json(&args)
    };
    let (code, v, _) = add(&[ID, "--kind", "launch", "--ref", "R-1", "--digest", "sha256:xyz"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "evidence.invalid");
    let (code, v, _) = add(&[ID, "--kind", "launch", "--ref", " ", "--url", "https://x.example.com"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "evidence.invalid");
    let (code, v, _) = add(&[
        "nope",
        "--kind",
        "launch",
        "--ref",
        "R-1",
        "--url",
        "https://x.example.com",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "packet.not_found");
    let (code, v, _) = d.json(&["evidence", "list", "nope"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "packet.not_found");
    let (code, _, _) = add(&[ID, "--kind", "launch", "--ref", "R-1"]);
    assert_eq!(code, 2, "neither --url nor --digest");
    let (code, _, err) = add(&[ID, "--kind", "smoke", "--ref", "R-1", "--url", "https://x.example.com"]);
    assert_eq!(code, 2);
    assert!(err.contains("unknown evidence kind `smoke`"), "{err}");

    // Nothing refused was recorded.
    let (_, v, _) = d.json(&["audit", "query", "--action", "evidence.add"]);
    assert_eq!(v.as_array().unwrap().len(), 0);
    let (_, v, _) = d.json(&["audit", "query", "--action", "review.sign"]);
    assert_eq!(v.as_array().unwrap().len(), 1, "only the blank-actor approval");
    assert_eq!(v[0]["actor"], "tester");

    // Without a store, the commands that need one cannot run.
    let empty = dir("nostore");
    let (code, _, err) = empty.text(&["review", "status", ID]);
    assert_eq!(code, 2);
    assert!(err.contains("registry init"), "{err}");
    let (code, _, _) = empty.text(&["validate", &complete("packet.yaml"), "--db", "nope.db"]);
    assert_eq!(code, 2);
}

#[test]
fn a_tracked_gap_stands_in_for_evidence() {
    let d = seeded("gap");
    let text = std::fs::read_to_string(complete("packet.yaml")).unwrap();
    let gap = "      due_date: 2027-03-31\n    - kind: missing_artifact\n      ref: /product_onboarding_packet/uat_and_release/release_evidence_bundle\n      evidence_kind: rollback_proof\n      owner: token-factory-ops\n      tracking_id: PSSM-TF-OPS-3\n      due_date: 2027-01-31\n";
    let with_gap = text.replace("      due_date: 2027-03-31\n", gap);
    assert_ne!(with_gap, text);
    let file = d.write("packet.yaml", &with_gap);
    assert_eq!(d.json(&["packet", "put", &file]).0, 0);

    let (code, v, _) = d.json(&["evidence", "list", ID]);
    assert_eq!(code, 0);
    assert_eq!(v["version"], 2);
    assert_eq!(v["tracked"][0]["kind"], "rollback_proof");
    assert_eq!(v["tracked"][0]["tracking_id"], "PSSM-TF-OPS-3");
    assert_eq!(v["tracked"][0]["due_date"], "2027-01-31");
    let missing: Vec<&str> = v["missing"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap())
        .collect();
    assert_eq!(missing.len(), 6);
    assert!(!missing.contains(&"rollback_proof"));
    let (_, out, _) = d.text(&["evidence", "list", ID]);
    assert!(
        out.contains("tracked by a gap: rollback_proof (PSSM-TF-OPS-3, due 2027-01-31)"),
        "{out}"
    );

    // Validation agrees: no evidence.missing for the tracked kind.
    let (code, v, _) = d.json(&["validate", &file, "--db", &d.db(), "--as-of", AS_OF]);
    assert_eq!(code, 1);
    let messages: Vec<&str> = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["code"] == "evidence.missing")
        .map(|f| f["message"].as_str().unwrap())
        .collect();
    assert_eq!(messages.len(), 6);
    assert!(messages.iter().all(|m| !m.contains("`rollback_proof`")), "{messages:?}");
}
