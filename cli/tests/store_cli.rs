//! The store commands run as a user would run them: the built binary on a temporary
//! folder, checking exit codes and JSON output.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::process::Command;

use serde_json::Value;
use support::{BIN, Dir, complete, dry_run_invoke, field};

/// A store holding the complete example's registry, imported by `importer`, and
/// packet, put by `author`.
fn seeded(name: &str) -> Dir {
    Dir::seeded_with(name, &["--actor", "importer"], &["--actor", "author"])
}

#[test]
fn init_creates_the_store_and_commands_need_one() {
    let d = Dir::new("init");
    let (code, _, err) = d.text(&["registry", "list"]);
    assert_eq!(code, 2, "a missing store is a usage error");
    assert!(err.contains("registry init"), "{err}");
    assert!(!d.path("gangway.db").exists(), "only init creates the file");

    let (code, v, _) = d.json(&["registry", "init"]);
    assert_eq!(code, 0);
    assert_eq!(v["schema_version"], gangway::store::SCHEMA_VERSION);
    assert!(d.path("gangway.db").exists());
    // Init again migrates nothing and succeeds.
    assert_eq!(d.json(&["registry", "init"]).0, 0);

    // The default path is gangway.db in the working directory; GANGWAY_DB overrides it.
    let out = d.run(&["registry", "list", "--format", "json"]);
    assert_eq!(out.status.code(), Some(0));
    let other = d.path("other.db");
    let out = Command::new(BIN)
        .args(["registry", "init"])
        .current_dir(d.root())
        .env("GANGWAY_DB", &other)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(other.exists());

    // `:memory:` is accepted (a throwaway store).
    let out = d.run(&["registry", "init", "--db", ":memory:"]);
    assert_eq!(out.status.code(), Some(0));
}

#[test]
fn lifecycle_moves_and_refusals() {
    let d = Dir::new("lifecycle");
    d.json(&["registry", "init"]);
    let (code, v, _) = d.json(&[
        "registry",
        "add",
        "scope",
        "demo:item:read",
        "--owner",
        "platform-iam",
        "--product",
        "demo",
    ]);
    assert_eq!(code, 0);
    assert_eq!(v["state"], "draft");
    assert_eq!(v["product"], "demo");

    let (code, v, _) = d.json(&["registry", "add", "scope", "demo:item:read", "--owner", "x"]);
    assert_eq!(code, 1, "a duplicate is a refused operation");
    assert_eq!(v["error"]["code"], "registry.exists");

    let (code, _, err) = d.text(&["registry", "add", "scope", "demo:item:read", "--owner", "x"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("gangway: error: registry.exists: "), "{err}");

    for (to, code) in [
        ("active", 0),
        ("draft", 1),
        ("deprecated", 0),
        ("active", 1),
        ("retired", 0),
        ("active", 1),
    ] {
        let (got, v, _) = d.json(&["registry", "set-state", "scope", "demo:item:read", to]);
        assert_eq!(got, code, "move to {to}");
        if code == 1 {
            assert_eq!(v["error"]["code"], "registry.illegal_transition");
        } else {
            assert_eq!(v["state"], to);
        }
    }

    let (code, v, _) = d.json(&["registry", "set-state", "scope", "demo:item:nope", "active"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "registry.not_found");

    // Bad flags are usage errors.
    assert_eq!(
        d.json(&["registry", "set-state", "scope", "demo:item:read", "gone"]).0,
        2
    );
    assert_eq!(d.json(&["registry", "add", "widget", "x", "--owner", "o"]).0, 2);

    // Only the moves that landed are in the log, and it verifies.
    let (_, log, _) = d.json(&["audit", "query", "--target", "scope:demo:item:read"]);
    let actions = field(&log, "action");
    assert_eq!(
        actions,
        [
            "registry.entry.add",
            "registry.entry.set_state",
            "registry.entry.set_state",
            "registry.entry.set_state"
        ]
    );
    let (code, v, _) = d.json(&["audit", "verify"]);
    assert_eq!(code, 0);
    assert_eq!(v["records"], 4);
}

#[test]
fn usage_units_and_deprecation_sunset() {
    let d = Dir::new("units");
    d.json(&["registry", "init"]);
    for v in ["v1", "2.0.0"] {
        let (code, _, err) = d.json(&[
            "registry",
            "add",
            "usage_unit",
            "demo_call",
            "--version",
            v,
            "--owner",
            "platform-billing",
            "--state",
            "active",
        ]);
        assert_eq!(code, 0, "{err}");
    }
    // Two versions: the command needs --version.
    let (code, _, err) = d.json(&["registry", "show", "usage_unit", "demo_call"]);
    assert_eq!(code, 2);
    assert!(err.contains("--version"), "{err}");
    let (code, v, _) = d.json(&[
        "registry",
        "set-state",
        "usage_unit",
        "demo_call",
        "--version",
        "1",
        "deprecated",
        "--sunset",
        "2027-06-30",
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        (v["version"].as_str(), v["sunset"].as_str()),
        (Some("1.0.0"), Some("2027-06-30"))
    );
    let (_, list, _) = d.json(&["registry", "list", "--kind", "usage_units", "--state", "deprecated"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    let (code, shown, _) = d.json(&["registry", "show", "usage_unit", "demo_call", "--version", "1.0.0"]);
    assert_eq!(code, 0);
    assert_eq!(shown["history"].as_array().unwrap().len(), 2);
}

#[test]
fn update_changes_fields_only() {
    let d = Dir::new("update");
    d.json(&["registry", "init"]);
    d.json(&[
        "registry",
        "add",
        "role",
        "demo_admin",
        "--owner",
        "a",
        "--description",
        "old",
    ]);
    let (code, v, _) = d.json(&[
        "registry",
        "update",
        "role",
        "demo_admin",
        "--owner",
        "b",
        "--description",
        "",
        "--product",
        "demo",
    ]);
    assert_eq!(code, 0);
    assert_eq!((v["owner"].as_str(), v["description"].is_null()), (Some("b"), true));
    assert_eq!(v["product"], "demo");
    assert_eq!(v["state"], "draft");
}

#[test]
fn import_export_round_trips() {
    let a = seeded("export-a");
    let (code, yaml, _) = a.text(&["registry", "export"]);
    assert_eq!(code, 0);
    assert!(yaml.starts_with("registry:\n"));

    // The export imports into a fresh store and exports byte for byte the same.
    let b = Dir::new("export-b");
    b.json(&["registry", "init"]);
    let file = b.path("exported.yaml");
    std::fs::write(&file, &yaml).unwrap();
    let (code, sum, _) = b.json(&["registry", "import", file.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(sum["added"].as_u64().unwrap() > 40);
    let out = b.path("again.yaml");
    assert_eq!(b.text(&["registry", "export", "--output", out.to_str().unwrap()]).0, 0);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), yaml);

    // Importing the same file again changes nothing.
    let (_, sum, _) = b.json(&["registry", "import", file.to_str().unwrap()]);
    assert_eq!(
        (sum["added"].as_u64(), sum["updated"].as_u64(), sum["moved"].as_u64()),
        (Some(0), Some(0), Some(0))
    );

    // The JSON export is a registry document too.
    let (_, json_export, _) = a.json(&["registry", "export"]);
    let c = Dir::new("export-c");
    c.json(&["registry", "init"]);
    let jfile = c.path("exported.json");
    std::fs::write(&jfile, serde_json::to_string(&json_export).unwrap()).unwrap();
    assert_eq!(c.json(&["registry", "import", jfile.to_str().unwrap()]).0, 0);
    assert_eq!(c.text(&["registry", "export"]).1, yaml);
}

#[test]
fn import_refusals() {
    let d = Dir::new("import-bad");
    d.json(&["registry", "init"]);
    let bad = d.path("bad.yaml");
    std::fs::write(&bad, "registry:\n  scopes:\n    - key: x\n").unwrap();
    let (code, _, err) = d.text(&["registry", "import", bad.to_str().unwrap()]);
    assert_eq!(code, 2, "an invalid registry file is an input error");
    assert!(err.contains("bad.yaml:3:"), "{err}");
    assert_eq!(d.text(&["registry", "import", "missing.yaml"]).0, 2);

    // A file that moves an entry backwards is refused whole.
    let first = d.path("first.yaml");
    std::fs::write(
        &first,
        "registry:\n  scopes:\n    - key: a:b:c\n      state: retired\n      owner: o\n",
    )
    .unwrap();
    assert_eq!(d.json(&["registry", "import", first.to_str().unwrap()]).0, 0);
    let back = d.path("back.yaml");
    std::fs::write(
        &back,
        "registry:\n  scopes:\n    - key: a:b:c\n      state: active\n      owner: o\n    - key: d:e:f\n      state: active\n      owner: o\n",
    )
    .unwrap();
    let (code, v, _) = d.json(&["registry", "import", back.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "registry.illegal_transition");
    assert_eq!(d.json(&["registry", "show", "scope", "d:e:f"]).0, 1, "nothing landed");
}

#[test]
fn packets_keep_versions() {
    let d = Dir::new("packets");
    d.json(&["registry", "init"]);
    let src = complete("packet.yaml");
    let text = std::fs::read_to_string(&src).unwrap();
    let (code, v, _) = d.json(&["packet", "put", &src]);
    assert_eq!(code, 0);
    assert_eq!((v["version"].as_u64(), v["created"].as_bool()), (Some(1), Some(true)));
    assert_eq!(v["digest"].as_str().unwrap().len(), 64);
    assert_eq!(v["packet_id"], "token-factory-onboarding-v1");

    let (_, again, _) = d.json(&["packet", "put", &src]);
    assert_eq!(
        (again["version"].as_u64(), again["created"].as_bool()),
        (Some(1), Some(false))
    );

    let edited = d.path("edited.yaml");
    std::fs::write(
        &edited,
        text.replace("lifecycle_state: active", "lifecycle_state: deprecated"),
    )
    .unwrap();
    let (_, second, _) = d.json(&["packet", "put", edited.to_str().unwrap()]);
    assert_eq!(second["version"], 2);
    assert_ne!(second["digest"], v["digest"]);

    let (_, list, _) = d.json(&["packet", "list"]);
    assert_eq!(list.as_array().unwrap().len(), 1);
    assert_eq!(list[0]["version"], 2);

    let (code, shown, _) = d.text(&["packet", "show", "token-factory-onboarding-v1", "--version", "1"]);
    assert_eq!(code, 0);
    assert_eq!(shown, text);
    let (_, shown, _) = d.json(&["packet", "show", "token-factory-onboarding-v1"]);
    assert_eq!(shown["versions"].as_array().unwrap().len(), 2);
    assert_eq!(
        shown["document"]["product_onboarding_packet"]["lifecycle_state"],
        "deprecated"
    );

    let (code, v, _) = d.json(&["packet", "show", "token-factory-onboarding-v1", "--version", "9"]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "packet.not_found");

    let broken = d.path("broken.yaml");
    std::fs::write(&broken, "product_onboarding_packet: [unclosed\n").unwrap();
    let (code, _, err) = d.text(&["packet", "put", broken.to_str().unwrap()]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("packet.parse"), "{err}");
}

#[test]
fn impact_and_dry_run_gate_a_change() {
    let d = seeded("impact");
    let (code, v, _) = d.json(&["registry", "impact", "scope", "token_factory:model:invoke"]);
    assert_eq!(code, 0);
    assert_eq!(v["packets"][0]["packet_id"], "token-factory-onboarding-v1");
    assert_eq!(
        v["packets"][0]["paths"][0],
        "/product_onboarding_packet/shared_services/iam/scopes/0/scope"
    );
    let (code, v, _) = d.json(&["registry", "impact", "scope", "app_platform:app:deploy"]);
    assert_eq!(code, 0, "no hits is not a failure");
    assert_eq!(v["packets"].as_array().unwrap().len(), 0);

    let retire = dry_run_invoke("retired");
    let (code, v, _) = d.json(&retire);
    assert_eq!(code, 1, "a verdict would flip to failing");
    assert_eq!(v["ok"], false);
    assert_eq!(v["flips"][0]["ok_after"], false);
    assert_eq!(v["flips"][0]["appeared"][0]["code"], "registry.entry_retired");
    let (code, text, _) = d.text(&retire);
    assert_eq!(code, 1);
    assert!(text.contains("token-factory-onboarding-v1"), "{text}");

    let (code, v, _) = d.json(&dry_run_invoke("deprecated"));
    assert_eq!(code, 0);
    assert_eq!(v["flips"].as_array().unwrap().len(), 0);

    let (code, _, _) = d.json(&[
        "registry",
        "dry-run",
        "remove",
        "scope",
        "token_factory:usage:read",
        "--as-of",
        "2026-11-22",
    ]);
    assert_eq!(code, 1);

    // Nothing landed.
    let (_, e, _) = d.json(&["registry", "show", "scope", "token_factory:model:invoke"]);
    assert_eq!(e["state"], "active");
    let (code, v, _) = d.json(&[
        "registry",
        "dry-run",
        "set-state",
        "scope",
        "token_factory:model:invoke",
        "draft",
    ]);
    assert_eq!(code, 1);
    assert_eq!(v["error"]["code"], "registry.illegal_transition");
}

#[test]
fn validate_reads_the_registry_from_the_store() {
    let d = seeded("validate");
    let packet = complete("packet.yaml");
    let reg = complete("registry.yaml");
    // The store holds no sign-offs for the packet: the records come from the file
    // (cli/tests/records_cli.rs covers records kept in the store).
    let records = complete("records.yaml");
    let db = d.db();
    // `command PACKET SOURCE… --records RECORDS --as-of 2026-11-22 --format json`.
    let judge = |command: &str, source: [&str; 2]| {
        d.run(&[
            command,
            &packet,
            source[0],
            source[1],
            "--records",
            &records,
            "--as-of",
            "2026-11-22",
            "--format",
            "json",
        ])
    };
    let from_file = judge("validate", ["--registry", &reg]);
    let from_db = judge("validate", ["--db", &db]);
    assert_eq!(from_db.status.code(), Some(0));
    assert_eq!(from_file.stdout, from_db.stdout);
    let progress = judge("progress", ["--db", &db]);
    assert_eq!(progress.status.code(), Some(0));

    // Retire a scope in the store: validate against the store now fails.
    d.json(&[
        "registry",
        "set-state",
        "scope",
        "token_factory:model:invoke",
        "retired",
    ]);
    let after = judge("validate", ["--db", &db]);
    assert_eq!(after.status.code(), Some(1));

    let both = d.run(&["validate", &packet, "--db", &db, "--registry", &reg]);
    assert_eq!(both.status.code(), Some(2), "--db and --registry are exclusive");
    let missing = d.run(&["validate", &packet, "--db", "nope.db"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(!d.path("nope.db").exists());
}

#[test]
fn audit_query_export_checkpoint_and_offline_verify() {
    let d = seeded("audit");
    // Actor from the flag, GANGWAY_ACTOR, or USER.
    d.json(&[
        "registry",
        "set-state",
        "scope",
        "app_platform:app:deploy",
        "deprecated",
        "--actor",
        "dana",
    ]);
    let out = Command::new(BIN)
        .args([
            "registry",
            "set-state",
            "scope",
            "app_platform:app:deploy",
            "retired",
            "--db",
            &d.db(),
        ])
        .env("GANGWAY_ACTOR", "erin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, by_dana, _) = d.json(&["audit", "query", "--actor", "dana"]);
    assert_eq!(by_dana.as_array().unwrap().len(), 1);
    let (_, by_erin, _) = d.json(&[
        "audit",
        "query",
        "--actor",
        "erin",
        "--action",
        "registry.entry.set_state",
    ]);
    assert_eq!(by_erin[0]["target"], "scope:app_platform:app:deploy");
    let (_, puts, _) = d.json(&["audit", "query", "--target", "packet:"]);
    assert_eq!(puts.as_array().unwrap().len(), 1);
    assert_eq!(puts[0]["actor"], "author");
    let (_, none, _) = d.json(&["audit", "query", "--until", "2000-01-01"]);
    assert_eq!(none.as_array().unwrap().len(), 0);
    let (_, all, _) = d.json(&["audit", "query", "--since", "2000-01-01T00:00:00Z"]);
    let total = all.as_array().unwrap().len();
    assert!(total > 40);
    assert_eq!(d.json(&["audit", "query", "--since", "yesterday"]).0, 2);

    // A signing key, written for its owner only.
    let key = d.path("checkpoint.key");
    let (code, kg, _) = d.json(&["audit", "keygen", "--out", key.to_str().unwrap()]);
    assert_eq!(code, 0);
    let public = kg["public_key"].as_str().unwrap().to_owned();
    assert_eq!(public.len(), 64);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&key).unwrap().permissions().mode() & 0o777, 0o600);
    }
    assert_eq!(
        d.json(&["audit", "keygen", "--out", key.to_str().unwrap()]).0,
        2,
        "no overwrite"
    );

    let cp_file = d.path("cp.json");
    let (code, cp, _) = d.json(&[
        "audit",
        "checkpoint",
        "--key",
        key.to_str().unwrap(),
        "--output",
        cp_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);
    assert_eq!(cp["count"].as_u64().unwrap() as usize, total);
    assert_eq!(cp["public_key"], public.as_str());
    assert!(cp_file.exists());

    // More changes after the checkpoint.
    d.json(&["registry", "add", "scope", "late:scope:x", "--owner", "o"]);
    let (code, v, _) = d.json(&[
        "audit",
        "verify",
        "--checkpoint",
        cp_file.to_str().unwrap(),
        "--public-key",
        &public,
    ]);
    assert_eq!(code, 0, "{v}");

    let log = d.path("log.jsonl");
    assert_eq!(d.text(&["audit", "export", "--output", log.to_str().unwrap()]).0, 0);
    let exported = std::fs::read_to_string(&log).unwrap();
    assert_eq!(
        exported.lines().count(),
        total + 2,
        "+ the checkpoint record and the late add"
    );
    let (code, stdout_export, _) = d.text(&["audit", "export"]);
    assert_eq!(code, 0);
    assert_eq!(stdout_export, exported);

    // Offline: no store needed.
    let offline = Dir::new("audit-offline");
    let cp_arg = cp_file.to_str().unwrap();
    let log_arg = log.to_str().unwrap();
    // `gangway audit verify --export EXPORT MORE` in the folder without a store.
    let verify = |export: &str, more: &[&str]| offline.run(&[&["audit", "verify", "--export", export], more].concat());
    let out = verify(log_arg, &["--checkpoint", cp_arg, "--public-key", &public]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let pubfile = offline.path("public.txt");
    std::fs::write(&pubfile, format!("{public}\n")).unwrap();
    let out = verify(
        log_arg,
        &["--checkpoint", cp_arg, "--public-key", pubfile.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(0));

    // An edited record: exit 1, the text names it.
    let mut lines: Vec<String> = exported.lines().map(str::to_owned).collect();
    lines[2] = lines[2].replace("\"actor\":\"importer\"", "\"actor\":\"mallory\"");
    let tampered = offline.path("tampered.jsonl");
    std::fs::write(&tampered, lines.join("\n") + "\n").unwrap();
    let out = verify(tampered.to_str().unwrap(), &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("record 3, line 3: edited"), "{text}");
    let out = verify(tampered.to_str().unwrap(), &["--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (v["breach"]["problem"].as_str(), v["breach"]["found_seq"].as_u64()),
        (Some("edited"), Some(3))
    );

    // Truncated below the checkpoint.
    let short = offline.path("short.jsonl");
    let original: Vec<&str> = exported.lines().collect();
    std::fs::write(&short, original[..3].join("\n")).unwrap();
    let out = verify(short.to_str().unwrap(), &["--checkpoint", cp_arg, "--format", "json"]);
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["breach"]["problem"], "truncated");

    // A checkpoint pinned to another key.
    let other = offline.path("other.key");
    let (_, kg2, _) = offline.json(&["audit", "keygen", "--out", other.to_str().unwrap()]);
    let out = verify(
        log_arg,
        &[
            "--checkpoint",
            cp_arg,
            "--public-key",
            kg2["public_key"].as_str().unwrap(),
            "--format",
            "json",
        ],
    );
    assert_eq!(out.status.code(), Some(1));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["breach"]["problem"], "bad_signature");

    assert_eq!(verify("missing.jsonl", &[]).status.code(), Some(2));
    assert!(!offline.path("gangway.db").exists(), "offline verify opens no store");
}

#[test]
fn full_flow_in_text() {
    let d = Dir::new("flow");
    let reg = complete("registry.yaml");
    let packet = complete("packet.yaml");
    let setup: &[(&[&str], i32, &str)] = &[
        (&["registry", "init"], 0, "is at schema version"),
        (&["registry", "import", &reg], 0, "added"),
        (
            &["packet", "put", &packet],
            0,
            "stored token-factory-onboarding-v1 version 1",
        ),
    ];
    let run = |steps: &[(&[&str], i32, &str)]| {
        for (args, code, needle) in steps {
            let (got, out, err) = d.text(args);
            assert_eq!(got, *code, "{args:?}: {out}{err}");
            assert!(out.contains(needle), "{args:?}: `{needle}` not in\n{out}");
        }
    };
    run(setup);
    // Every role signs and every kind of evidence is recorded, so the packet passes
    // and a change can flip it to failing.
    let id = "token-factory-onboarding-v1";
    for role in gangway::review::Role::ALL {
        let (code, out, err) = d.text(&["review", "sign", id, "--role", role.as_str(), "--approve"]);
        assert_eq!(code, 0, "{out}{err}");
        assert!(out.contains("review approved"), "{out}");
    }
    for kind in gangway::evidence::EvidenceKind::ALL {
        let url = format!("https://evidence.example.com/{kind}");
        let (code, out, err) = d.text(&[
            "evidence",
            "add",
            id,
            "--kind",
            kind.as_str(),
            "--ref",
            "UAT-1",
            "--url",
            &url,
        ]);
        assert_eq!(code, 0, "{out}{err}");
    }
    let steps: &[(&[&str], i32, &str)] = &[
        (&["review", "status", id], 0, "7 of 7 roles approved"),
        (&["evidence", "list", id], 0, "7 of 7 stage-5 kinds recorded"),
        (&["packet", "list"], 0, "token-factory-onboarding-v1"),
        (
            &["registry", "list", "--kind", "scope"],
            0,
            "token_factory:model:invoke",
        ),
        (
            &["registry", "show", "scope", "token_factory:model:invoke"],
            0,
            "history:",
        ),
        (
            &["registry", "impact", "scope", "token_factory:model:invoke"],
            0,
            "named by 1 stored packet",
        ),
        (&dry_run_invoke("retired"), 1, "ok → failing"),
        (
            &[
                "registry",
                "set-state",
                "scope",
                "token_factory:model:invoke",
                "deprecated",
                "--sunset",
                "2027-06-30",
            ],
            0,
            "active → deprecated",
        ),
        (&["audit", "verify"], 0, "verifies"),
        (
            &["audit", "query", "--action", "registry.entry.set_state"],
            0,
            "scope:token_factory:model:invoke",
        ),
    ];
    run(steps);
}
