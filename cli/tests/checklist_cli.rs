//! `gangway checklist …`, `forecast`, `bundle` and `adoption` run as a user would run
//! them: the built binary on a temporary store, probes and flows sent over HTTP to a
//! local server playing the seed-001 API (`common/`), billing gates satisfied through
//! the real billing commands. Secrets are checked never to reach standard output,
//! standard error, the store file or the audit log, byte for byte.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod common;
mod support;

use std::cell::RefCell;
use std::ops::Deref;
use std::process::{Command, Output};

use common::{Health, Server, closed_port_url};
use serde_json::Value;
use support::{BIN, example, field, generate, json_of, pay, text_of};

const KEY: &str = "gw-live-KEY-7f3a9c2e51";
const REVOKED: &str = "gw-revoked-KEY-0b4d66";
const INVALID: &str = "gw-never-issued-KEY-9931";
const TOKEN: &str = "tok-BEARER-51d0e8aa";

fn server() -> Server {
    Server::start(KEY, REVOKED, TOKEN)
}

/// A fresh folder with a store, removed when dropped; keeps every output it saw.
struct Dir {
    dir: support::Dir,
    seen: RefCell<Vec<u8>>,
}

impl Deref for Dir {
    type Target = support::Dir;

    fn deref(&self) -> &support::Dir {
        &self.dir
    }
}

impl Dir {
    fn new(name: &str) -> Dir {
        let d = Dir {
            dir: support::Dir::new(name),
            seen: RefCell::new(Vec::new()),
        };
        assert_eq!(d.json(&["registry", "init"]).0, 0);
        d
    }

    /// `gangway ARGS --db STORE` (but `adoption evaluate`, which reads a file, not the
    /// store) with no proxy and the test keys in `GW_TEST_KEY`, `GW_TEST_REVOKED` and
    /// `GW_TEST_INVALID`.
    fn run(&self, args: &[&str]) -> Output {
        let mut c = self.command(args);
        if args.first() != Some(&"adoption") {
            c.arg("--db").arg(self.db());
        }
        c.env_remove("HTTP_PROXY")
            .env_remove("http_proxy")
            .env_remove("HTTPS_PROXY")
            .env_remove("https_proxy")
            .env_remove("ALL_PROXY")
            .env_remove("all_proxy")
            .env("GW_TEST_KEY", KEY)
            .env("GW_TEST_REVOKED", REVOKED)
            .env("GW_TEST_INVALID", INVALID);
        let out = c.output().unwrap();
        let mut seen = self.seen.borrow_mut();
        seen.extend_from_slice(&out.stdout);
        seen.extend_from_slice(&out.stderr);
        out
    }

    /// Exit code, parsed standard output (`--format json`), standard error.
    fn json(&self, args: &[&str]) -> (i32, Value, String) {
        json_of(self.run(&[args, &["--format", "json"]].concat()))
    }

    /// Exit code, standard output, standard error (text).
    fn text(&self, args: &[&str]) -> (i32, String, String) {
        text_of(self.run(args))
    }

    /// `gangway checklist run RUN --base-url URL MORE` in text mode.
    fn run_checklist(&self, run: &str, base_url: &str, more: &[&str]) -> (i32, String, String) {
        self.text(&[&["checklist", "run", run, "--base-url", base_url], more].concat())
    }

    /// Starts a run; returns its id.
    fn new_run(&self, template: &[&str], params: &[&str]) -> String {
        let mut args = vec!["checklist", "new"];
        args.extend(template);
        for p in params {
            args.extend(["--param", p]);
        }
        let (code, v, err) = self.json(&args);
        assert_eq!(code, 0, "{err}");
        v["run"]["id"].as_str().unwrap().to_owned()
    }

    /// Checks every manual item of the run done, with evidence.
    fn check_manual_items(&self, run: &str) -> usize {
        let (code, v, err) = self.json(&["checklist", "show", run]);
        assert_eq!(code, 0, "{err}");
        let mut n = 0;
        for item in v["verdict"]["verdict"]["items"].as_array().unwrap() {
            if item["kind"] == "manual" {
                let key = item["key"].as_str().unwrap();
                let (code, _, err) = self.json(&[
                    "checklist",
                    "check",
                    run,
                    key,
                    "--done",
                    "--evidence",
                    &format!("ticket-{n}"),
                ]);
                assert_eq!(code, 0, "{key}: {err}");
                n += 1;
            }
        }
        n
    }

    fn decision(&self, run: &str) {
        let (code, v, err) = self.json(&[
            "checklist",
            "decision",
            run,
            "--technical-owner",
            "ana",
            "--rollback-authority",
            "CTO",
            "--support-channel",
            "#acme-launch",
            "--support-sla",
            "4 business hours",
        ]);
        assert_eq!(code, 0, "{err}");
        assert_eq!(v["missing"], serde_json::json!([]));
    }

    /// Rate card → usage → invoice → issued → paid for `tenant-acme`.
    fn pay_invoice(&self) {
        assert_eq!(
            self.json(&[
                "registry",
                "import",
                &example("token-factory-complete", "registry.yaml")
            ])
            .0,
            0
        );
        assert_eq!(
            self.json(&["packet", "put", &example("token-factory-complete", "packet.yaml")])
                .0,
            0
        );
        assert_eq!(
            self.json(&["billing", "rate-card", "set", &example("billing", "rate-card.yaml")])
                .0,
            0
        );
        let (code, _, err) = self.json(&["billing", "usage", "ingest", &example("billing", "usage.jsonl")]);
        assert!(code == 0 || code == 1, "{err}");
        let (code, inv, err) = self.json(&generate("2026-11-01", "2026-12-01", "g1"));
        assert_eq!(code, 0, "{err}");
        let id = inv["id"].as_str().unwrap().to_owned();
        assert_eq!(self.json(&["billing", "invoice", "issue", &id, "--key", "i1"]).0, 0);
        let (code, paid, _) = self.json(&pay(&id, "wire-1", "p1"));
        assert_eq!((code, paid["state"].as_str()), (0, Some("paid")));
    }

    fn secrets_args() -> Vec<&'static str> {
        vec![
            "--secret-env",
            "INTEGRATION_KEY=GW_TEST_KEY",
            "--secret-env",
            "REVOKED_KEY=GW_TEST_REVOKED",
            "--secret-env",
            "INVALID_KEY=GW_TEST_INVALID",
        ]
    }

    /// Every byte the store holds (the file, its WAL) and the exported audit log.
    fn stored_bytes(&self) -> Vec<u8> {
        let mut all = Vec::new();
        for name in ["gangway.db", "gangway.db-wal", "gangway.db-shm"] {
            if let Ok(b) = std::fs::read(self.path(name)) {
                all.extend(b);
            }
        }
        let out = self.run(&["audit", "export"]);
        assert!(out.status.success());
        all.extend(out.stdout);
        all
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

fn assert_no_secret(what: &str, bytes: &[u8]) {
    for s in [KEY, REVOKED, INVALID, TOKEN] {
        assert!(!contains(bytes, s), "{what} holds the secret `{s}`");
    }
}

#[test]
fn templates_are_listed_and_shown() {
    let d = Dir::new("templates");
    let (code, v, _) = d.json(&["checklist", "templates"]);
    assert_eq!(code, 0);
    let ids = field(&v, "id");
    assert_eq!(
        ids,
        ["assisted-public-launch", "customer-onboarding", "product-onboarding"]
    );
    assert_eq!(
        v[0]["secrets"],
        serde_json::json!(["INTEGRATION_KEY", "INVALID_KEY", "REVOKED_KEY"])
    );
    let (code, out, _) = d.text(&["checklist", "templates", "--show", "customer-onboarding"]);
    assert_eq!(code, 0);
    assert!(out.contains("id: customer-onboarding"), "{out}");
    let (code, v, _) = d.json(&["checklist", "templates", "--show", "self-serve"]);
    assert_eq!(
        (code, v["error"]["code"].as_str()),
        (1, Some("checklist.unknown_template"))
    );
}

/// Seed 001 end to end: probes and the first-value flow against the server, the manual
/// items checked, the decision record, and the billing gate through real billing.
#[test]
fn assisted_public_launch_completes_against_a_local_server() {
    let srv = server();
    let d = Dir::new("launch");
    let run = d.new_run(&["--template", "assisted-public-launch"], &["tenant=tenant-acme"]);
    assert_eq!(run, "RUN-000001");

    let (code, out, err) = d.run_checklist(&run, &srv.url(), &Dir::secrets_args());
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("PASS  infrastructure.health"), "{out}");
    assert!(out.contains("PASS  security.revoked_key"), "{out}");
    assert!(
        out.contains("PASS  first_value.trade_end_to_end") && out.contains("job ids job-1"),
        "{out}"
    );
    assert!(
        out.contains("RUN-000001: 12 of 12 item(s) passed; results recorded"),
        "{out}"
    );
    // The flow polled the job until done and read its results.
    let seen = srv.seen();
    assert!(
        seen.iter().filter(|s| *s == "GET /api/jobs/job-1").count() == 2,
        "{seen:?}"
    );
    assert!(seen.contains(&"GET /api/sima/results".to_owned()));

    // Not complete yet: the manual items, the decision record, the billing gate.
    let (code, out, _) = d.text(&["checklist", "status", &run]);
    assert_eq!(code, 1);
    assert!(out.contains("NOT complete"), "{out}");
    let checked = d.check_manual_items(&run);
    assert!(checked > 30, "{checked}");
    d.decision(&run);
    let (code, out, _) = d.text(&["checklist", "status", &run]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("billing.payment_gate"), "{out}");
    assert!(out.contains("the billing gate standard is not configured"), "{out}");

    // The billing gate, through the real billing commands.
    d.pay_invoice();
    let (code, out, _) = d.text(&["checklist", "status", &run, "--standard", "paid"]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("RUN-000001 (assisted-public-launch, tenant=tenant-acme)"),
        "{out}"
    );
    assert!(out.contains(": complete"), "{out}");
    let (code, v, _) = d.json(&["checklist", "status", &run, "--standard", "paid"]);
    assert_eq!(code, 0);
    assert_eq!(v["verdict"]["complete"], true);
    assert_eq!(v["facts"]["billing"]["tenant-acme"]["detail"], "invoice:INV-000001");
    // GANGWAY_GATE_STANDARD works too; the artifact of the flow is stored, redacted.
    let mut c = Command::new(BIN);
    let out = c
        .args(["checklist", "status", &run, "--db", &d.db()])
        .env("GANGWAY_GATE_STANDARD", "paid")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let (_, v, _) = d.json(&["checklist", "show", &run]);
    let artifact = &v["run"]["run"]["items"]["first_value.trade_end_to_end"]["result"];
    assert_eq!(artifact["outcome"], "passed");
    assert_eq!(artifact["captures"]["token"], "***");
    assert_eq!(artifact["steps"][0]["request"]["json"]["key"], "***");
    assert_eq!(artifact["job_ids"], serde_json::json!(["job-1"]));
    assert!(artifact["request_ids"].as_array().unwrap().len() >= 5);

    // Markdown report.
    let (code, md, _) = d.text(&["checklist", "show", &run, "--format", "markdown", "--standard", "paid"]);
    assert_eq!(code, 0);
    assert!(md.starts_with("# Assisted public launch (A-Z) — RUN-000001"), "{md}");
    assert!(md.contains("- Verdict: **complete**"), "{md}");

    // No secret anywhere: outputs, the store file, the audit log.
    assert_no_secret("stdout/stderr", &d.seen.borrow());
    assert_no_secret("the store", &d.stored_bytes());
}

fn launch_with(srv: &Server, d: &Dir, items: &[&str], timeout: Option<&str>) -> (i32, String, String, String) {
    let run = d.new_run(&["--template", "assisted-public-launch"], &["tenant=tenant-acme"]);
    let mut args = Dir::secrets_args();
    for i in items {
        args.extend(["--item", i]);
    }
    if let Some(t) = timeout {
        args.extend(["--timeout-ms", t]);
    }
    let (code, out, err) = d.run_checklist(&run, &srv.url(), &args);
    (code, out, err, run)
}

#[test]
fn failing_probes_report_their_failed_assertions() {
    let srv = server();
    let d = Dir::new("failing");

    // Degraded, with pending migrations: the health probe fails on the pointer.
    srv.set(|s| s.health = Health::PendingMigrations(3));
    let (code, out, _, run) = launch_with(&srv, &d, &["infrastructure.health"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  infrastructure.health"), "{out}");
    assert!(
        out.contains("- step `health`: `/checks/migrations/pending` eq: expected 0, found 3"),
        "{out}"
    );
    let (_, v, _) = d.json(&["checklist", "status", &run]);
    assert_eq!(v["verdict"]["items"][10]["key"], "infrastructure.health");
    assert_eq!(v["verdict"]["items"][10]["status"], "failed");
    // Degraded without pending migrations passes.
    srv.set(|s| s.health = Health::Degraded);
    let url = srv.url();
    let (code, out, _) = d.run_checklist(&run, &url, &["--item", "infrastructure.health"]);
    assert_eq!(code, 0, "{out}");
    let (_, v, _) = d.json(&["checklist", "status", &run]);
    assert_eq!(v["verdict"]["items"][10]["status"], "done");

    // A broken server accepts the revoked key.
    srv.set(|s| s.accept_revoked = true);
    let (code, out, _, _) = launch_with(&srv, &d, &["security.revoked_key", "security.invalid_key"], None);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAIL  security.revoked_key"), "{out}");
    assert!(
        out.contains("- step `revoked_key`: status eq: expected 401, found 200"),
        "{out}"
    );
    assert!(
        out.contains("- step `revoked_key`: `/token` exists: `/token` is present"),
        "{out}"
    );
    assert!(out.contains("PASS  security.invalid_key"), "{out}");
    assert!(out.contains("1 of 2 item(s) passed"), "{out}");
    srv.set(|s| s.accept_revoked = false);

    // A timeout per request.
    srv.set(|s| s.delay_ms = 1500);
    let (code, out, _, _) = launch_with(&srv, &d, &["infrastructure.health"], Some("200"));
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("no response: timed out after 200 ms"), "{out}");
    srv.set(|s| s.delay_ms = 0);

    // The server is down: a transport error, recorded as the item's result.
    let down = closed_port_url();
    let run = d.new_run(&["--template", "assisted-public-launch"], &["tenant=tenant-acme"]);
    let mut args = Dir::secrets_args();
    args.extend(["--item", "first_value.trade_end_to_end"]);
    let (code, out, _) = d.run_checklist(&run, &down, &args);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("step `token`: no response: connection refused"), "{out}");
    let (_, v, _) = d.json(&["checklist", "show", &run]);
    let result = &v["run"]["run"]["items"]["first_value.trade_end_to_end"]["result"];
    assert_eq!(result["outcome"], "failed");
    assert_eq!(result["steps"][1]["outcome"], "not_run");

    assert_no_secret("stdout/stderr", &d.seen.borrow());
    assert_no_secret("the store", &d.stored_bytes());
}

const POLL_TEMPLATE: &str = r#"
id: first-value
title: First value, fast polling
source: a test
parameters: [tenant]
sections:
  - id: api
    title: API
    items:
      - id: e2e
        text: token -> enqueue -> poll -> results
        kind: flow
        steps:
          - id: token
            request: {method: POST, path: /api/auth/token/integration, json: {key: "${secret.INTEGRATION_KEY}"}}
            expect: [{status: 200}]
            capture: {token: {pointer: /token, as: secret}}
          - id: enqueue
            request: {method: POST, path: /api/upload, headers: {authorization: "Bearer ${token}"}, json: {tenant: "${tenant}"}}
            expect: [{status: 202}]
            capture: {job_id: {pointer: /job/id, as: job_id}}
          - id: poll
            request: {method: GET, path: "/api/jobs/${job_id}", headers: {authorization: "Bearer ${token}"}}
            expect: [{status: 200}]
            poll: {until: [{pointer: /status, eq: done}], every_ms: 20, max_attempts: 4}
exit_criteria:
  - {id: all, text: all, all_sections: true}
"#;

#[test]
fn a_job_that_never_finishes_fails_the_bounded_poll() {
    let srv = server();
    let d = Dir::new("poll");
    let file = d.write("first-value.yaml", POLL_TEMPLATE);
    let run = d.new_run(&["--file", &file], &["tenant=acme"]);
    srv.set(|s| s.jobs_never_finish = true);
    let url = srv.url();
    let started = std::time::Instant::now();
    let (code, out, err) = d.run_checklist(&run, &url, &["--secret", &format!("INTEGRATION_KEY={KEY}")]);
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("prefer --secret-env"), "{err}");
    assert!(
        out.contains("FAIL  api.e2e: step `poll`: still not done after 4 attempts"),
        "{out}"
    );
    assert!(
        out.contains("- step `poll`: `/status` eq: expected \"done\", found \"running\""),
        "{out}"
    );
    assert!(started.elapsed().as_millis() >= 60, "three waits of 20 ms");
    assert_eq!(srv.seen().iter().filter(|s| s.starts_with("GET /api/jobs/")).count(), 4);
    // The same run passes once the job finishes.
    srv.set(|s| s.jobs_never_finish = false);
    let (code, out, _) = d.run_checklist(&run, &url, &["--secret-env", "INTEGRATION_KEY=GW_TEST_KEY"]);
    assert_eq!(code, 0, "{out}");
    let (code, _, _) = d.text(&["checklist", "status", &run]);
    assert_eq!(code, 0);
    assert_no_secret("stdout/stderr", &d.seen.borrow()[..]);
    assert_no_secret("the store", &d.stored_bytes());
}

#[test]
fn refusals_fail_closed_with_codes() {
    let srv = server();
    let d = Dir::new("refusals");
    let run = d.new_run(&["--template", "assisted-public-launch"], &["tenant=acme"]);
    let code_of = |args: &[&str]| {
        let (code, v, err) = d.json(args);
        (code, v["error"]["code"].as_str().map(str::to_owned).unwrap_or(err))
    };
    assert_eq!(
        code_of(&["checklist", "status", "RUN-000404"]),
        (1, "checklist.run_not_found".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "check",
            &run,
            "infrastructure.health",
            "--done",
            "--evidence",
            "x"
        ]),
        (1, "checklist.wrong_kind".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "check",
            &run,
            "billing.payment_gate",
            "--done",
            "--evidence",
            "x"
        ]),
        (1, "checklist.wrong_kind".to_owned())
    );
    assert_eq!(
        code_of(&["checklist", "check", &run, "infrastructure.postgres_attached", "--done"]),
        (1, "checklist.evidence_missing".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "check",
            &run,
            "infrastructure.postgress_attached",
            "--done",
            "--evidence",
            "x"
        ]),
        (1, "checklist.unknown_item".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "waive",
            &run,
            "guardrails.alert_routing",
            "--owner",
            " ",
            "--reason",
            "r",
            "--expires",
            "2099-01-01"
        ]),
        (1, "checklist.waiver_invalid".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "waive",
            &run,
            "guardrails.alert_routing",
            "--owner",
            "ops",
            "--reason",
            "r",
            "--expires",
            "2001-01-01"
        ]),
        (1, "checklist.waiver_invalid".to_owned())
    );
    assert_eq!(
        code_of(&[
            "checklist",
            "new",
            "--template",
            "assisted-public-launch",
            "--param",
            "tenant=a",
            "--param",
            "tenat=b"
        ]),
        (1, "checklist.unknown_parameter".to_owned())
    );
    assert_eq!(
        code_of(&["checklist", "new", "--template", "customer-onboarding"]),
        (1, "checklist.parameter_missing".to_owned())
    );
    let url = srv.url();
    assert_eq!(
        code_of(&[
            "checklist",
            "run",
            &run,
            "--base-url",
            &url,
            "--item",
            "infrastructure.postgres_attached"
        ]),
        (1, "checklist.not_automatic".to_owned())
    );
    // A missing secret: nothing is sent (exit 2).
    let (code, _, err) = d.run_checklist(&run, &url, &["--secret-env", "INTEGRATION_KEY=GW_TEST_KEY"]);
    assert_eq!(code, 2);
    assert!(
        err.contains("nothing was sent: missing secrets INVALID_KEY, REVOKED_KEY"),
        "{err}"
    );
    assert!(srv.seen().is_empty());
    let (code, _, err) = d.run_checklist(&run, &url, &["--secret-env", "INTEGRATION_KEY=GW_NOT_SET"]);
    assert_eq!(code, 2);
    assert!(err.contains("environment variable `GW_NOT_SET` is not set"), "{err}");
    // Usage errors.
    assert_eq!(d.text(&["checklist", "list", "--format", "markdown"]).0, 2);
    assert_eq!(d.run_checklist(&run, "ftp://x", &[]).0, 2);
    let bad = d.write(
        "bad.yaml",
        "id: x\ntitle: X\nsource: s\nsections: []\nexit_criteria: []\n",
    );
    let (code, _, err) = d.text(&["checklist", "new", "--file", &bad]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml:"), "{err}");
    // Nothing refused landed in the audit log.
    let (_, log, _) = d.json(&["audit", "query", "--target", "checklist:"]);
    let actions = field(&log, "action");
    assert_eq!(actions, ["checklist.run.new"]);
}

/// Seed 002: phases A–E checked, the payment gate by an approved purchase order, the
/// adoption gate by two qualifying weeks.
#[test]
fn customer_onboarding_phases_a_to_e() {
    let d = Dir::new("onboarding");
    let run = d.new_run(&["--template", "customer-onboarding"], &["tenant=casino-7"]);
    let checked = d.check_manual_items(&run);
    assert!(checked > 40, "{checked}");
    let (code, out, _) = d.text(&["checklist", "status", &run, "--standard", "po_approved"]);
    assert_eq!(code, 1);
    assert!(out.contains("phase_a.a3_payment_gate"), "{out}");
    assert!(
        out.contains("phase_e.e_primary_tool_two_weeks: 0 of 2 weeks as the primary tool"),
        "{out}"
    );

    // The payment gate: a purchase order, approved.
    assert_eq!(
        d.json(&[
            "billing",
            "po",
            "submit",
            "--id",
            "PO-7",
            "--tenant",
            "casino-7",
            "--reference",
            "AP-7781",
            "--amount",
            "12000.00",
            "--currency",
            "USD"
        ])
        .0,
        0
    );
    assert_eq!(d.json(&["billing", "po", "approve", "PO-7", "--by", "finance"]).0, 0);

    // Adoption: week 1 at 70 %, then weeks 2 and 3 at 90 % and 100 %.
    let (code, v, err) = d.json(&[
        "checklist",
        "adoption",
        &run,
        "--week",
        "1",
        "--shifts-in-scope",
        "10",
        "--shifts-recorded",
        "7",
        "--active-staff",
        "pit_boss=4",
        "--active-staff",
        "cashier=2",
        "--permission-errors",
        "3",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(v["adoption"]["weeks_as_primary"], 0);
    let rows = d.write(
        "weeks.csv",
        "week,shifts_in_scope,shifts_recorded,active_staff,permission_errors,spot_check_minutes\n2,10,9,pit_boss=5;cashier=2,1,3;4\n3,10,10,pit_boss=5,0,2\n",
    );
    let (code, out, err) = d.text(&["checklist", "adoption", &run, "--rows", &rows]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("3 week(s) recorded"), "{out}");
    assert!(
        out.contains("weeks as the primary tool: 2 of 2 needed (primary tool)"),
        "{out}"
    );

    let (code, out, _) = d.text(&["checklist", "status", &run, "--standard", "po_approved"]);
    assert_eq!(code, 0, "{out}");
    // Under the other standard, the gate is not satisfied.
    let (code, v, _) = d.json(&["checklist", "status", &run, "--standard", "paid"]);
    assert_eq!(code, 1);
    assert_eq!(v["facts"]["billing"]["casino-7"]["satisfied"], false);
    // A stricter bar for this customer: week 2 no longer counts.
    let (code, v, _) = d.json(&["checklist", "adoption", &run, "--later-min-percent", "95"]);
    assert_eq!(code, 0);
    assert_eq!(v["adoption"]["weeks_as_primary"], 1);
    assert_eq!(d.text(&["checklist", "status", &run, "--standard", "po_approved"]).0, 1);
}

const SMALL: &str = r#"
id: small
title: Small
source: a test
parameters: [packet_id]
sections:
  - id: ops
    title: Operations
    items:
      - {id: alerts, text: Alert routing configured, kind: manual}
      - {id: rollback, text: Rollback levers confirmed, kind: manual}
exit_criteria:
  - {id: all, text: all, all_sections: true}
  - {id: gaps, text: no overdue gaps, no_overdue_gaps: true}
"#;

#[test]
fn waivers_lapse_on_as_of_and_forecast_says_when() {
    let d = Dir::new("waivers");
    let file = d.write("small.yaml", SMALL);
    let run = d.new_run(&["--file", &file], &["packet_id=token-factory-onboarding-v1"]);
    assert_eq!(
        d.json(&[
            "checklist",
            "check",
            &run,
            "ops.rollback",
            "--done",
            "--evidence",
            "runbook#7"
        ])
        .0,
        0
    );
    let (code, out, _) = d.text(&[
        "checklist",
        "waive",
        &run,
        "ops.alerts",
        "--owner",
        "ops-lead",
        "--reason",
        "routing lands next sprint",
        "--expires",
        "2099-01-31",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("waived by ops-lead until 2099-01-31"), "{out}");
    assert_eq!(d.text(&["checklist", "status", &run, "--as-of", "2099-01-31"]).0, 0);
    let (code, out, _) = d.text(&["checklist", "status", &run, "--as-of", "2099-02-01"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("[waiver lapsed] ops.alerts: the waiver owned by ops-lead expired on 2099-01-31"),
        "{out}"
    );
    assert_eq!(
        d.json(&[
            "checklist",
            "gap",
            &run,
            "--text",
            "nightly alerting",
            "--owner",
            "ops",
            "--due",
            "2099-01-15"
        ])
        .0,
        0
    );

    // Forecast: nothing before the gap falls due; the gap, then the waiver.
    let (code, out, _) = d.text(&["forecast", "--from", "2099-01-01", "--as-of", "2099-01-15"]);
    assert_eq!(code, 0);
    assert_eq!(out, "nothing changes between 2099-01-01 and 2099-01-15\n");
    let (code, out, _) = d.text(&["forecast", "--from", "2099-01-01", "--as-of", "2099-03-01"]);
    assert_eq!(code, 1);
    assert!(
        out.contains("RUN-000001 (small, packet token-factory-onboarding-v1): complete on 2099-01-01 → NOT complete on 2099-03-01"),
        "{out}"
    );
    assert!(
        out.contains("2099-01-16  gap overdue: nightly alerting (owner ops)"),
        "{out}"
    );
    assert!(
        out.contains("2099-02-01  waiver lapses: ops.alerts (owner ops-lead)"),
        "{out}"
    );
    let (code, v, _) = d.json(&["forecast", "--from", "2099-01-01", "--as-of", "2099-03-01"]);
    assert_eq!(code, 1);
    assert_eq!(v["runs"][0]["changes"].as_array().unwrap().len(), 2);
    assert_eq!(v["packets"], serde_json::json!([]));
    assert_eq!(
        d.text(&["forecast", "--from", "2099-03-01", "--as-of", "2099-01-01"]).0,
        2
    );
}

#[test]
fn bundles_carry_the_packets_checklist_runs() {
    let d = Dir::new("bundle");
    assert_eq!(
        d.json(&[
            "registry",
            "import",
            &example("token-factory-complete", "registry.yaml")
        ])
        .0,
        0
    );
    assert_eq!(
        d.json(&["packet", "put", &example("token-factory-complete", "packet.yaml")])
            .0,
        0
    );
    let run = d.new_run(
        &["--template", "product-onboarding"],
        &["packet_id=token-factory-onboarding-v1"],
    );
    let file = d.write("small.yaml", SMALL);
    d.new_run(&["--file", &file], &["packet_id=another-packet"]);
    let out_dir = d.path("bundle");
    let out = out_dir.display().to_string();
    let (code, text, err) = d.text(&["bundle", "token-factory-onboarding-v1", &out, "--as-of", "2026-11-22"]);
    assert_eq!(code, 0, "{err}");
    assert!(text.contains(&format!("wrote 20 files to {out}")), "{text}");
    assert!(
        text.contains(&format!("checklist {run} (product-onboarding): NOT complete")),
        "{text}"
    );
    let md = std::fs::read_to_string(out_dir.join(format!("checklists/{run}.md"))).unwrap();
    assert!(md.contains("| `stages.intake` |"), "{md}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join(format!("checklists/{run}.json"))).unwrap())
            .unwrap();
    assert_eq!(
        json["verdict"]["facts"]["stages"]["token-factory-onboarding-v1"]["intake"]["satisfied"],
        true
    );
    let manifest: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("manifest.json")).unwrap()).unwrap();
    let listed = field(&manifest["files"], "path");
    for f in [
        "checklists/RUN-000001.json",
        "checklists/RUN-000001.md",
        "checklists/RUN-000001.template.yaml",
        "checklists/RUN-000001.audit.jsonl",
    ] {
        assert!(listed.contains(&f), "{listed:?}");
    }
    assert!(!listed.iter().any(|f| f.contains("RUN-000002")));
    // A non-empty OUT is refused; an unknown packet is a refusal.
    let (code, _, err) = d.text(&["bundle", "token-factory-onboarding-v1", &out]);
    assert_eq!(code, 2);
    assert!(err.contains("is not an empty directory"), "{err}");
    let (code, v, _) = d.json(&["bundle", "nope", &d.path("b2").display().to_string()]);
    assert_eq!((code, v["error"]["code"].as_str()), (1, Some("packet.not_found")));
}

#[test]
fn adoption_evaluate_reads_rows_and_thresholds() {
    let d = Dir::new("adoption");
    let rows = d.write(
        "rows.json",
        r#"[{"week": 1, "shifts_in_scope": 20, "shifts_recorded": 12, "permission_errors": 4},
            {"week": 2, "shifts_in_scope": 20, "shifts_recorded": 18, "permission_errors": 1},
            {"week": 3, "shifts_in_scope": 20, "shifts_recorded": 19, "permission_errors": 0}]"#,
    );
    let (code, out, _) = d.text(&["adoption", "evaluate", &rows]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("thresholds met: yes; weeks as the primary tool: 2 of 2 needed (primary tool)"),
        "{out}"
    );
    let (code, v, _) = d.json(&["adoption", "evaluate", &rows, "--week1-min-percent", "65"]);
    assert_eq!(code, 1);
    assert_eq!(v["weeks"][0]["pass"], false);
    let jsonl = d.write(
        "rows.jsonl",
        "{\"week\": 1, \"shifts_in_scope\": 10, \"shifts_recorded\": 11}\n",
    );
    let (code, v, _) = d.json(&["adoption", "evaluate", &jsonl]);
    assert_eq!((code, v["error"]["code"].as_str()), (1, Some("adoption.invalid_row")));
    assert_eq!(
        d.text(&["adoption", "evaluate", &d.write("x.json", "[{\"wek\": 1}]")])
            .0,
        2
    );
}
