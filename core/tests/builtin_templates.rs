//! The built-in checklist templates hold every item of their seeds: tables of the seed
//! text each template maps (every env var, route, deliverable, definition-of-done
//! bullet, stage and review role) must each appear in some item, so a lost item fails
//! here. A fresh run of each is open everywhere, a fully checked one is complete, and
//! the first-value flow of `assisted-public-launch` runs against recorded responses of
//! the seed-001 API.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use gangway::checklist::{
    Artifact, Check, Evidence, Facts, FlowOutcome, FlowRun, Gate, GateFact, ItemKind, ItemState, ItemStatus, Recorded,
    Response, Run, Secrets, Signoff, StepOutcome, Template, builtin, evaluate,
};
use gangway::review::Role;
use gangway::{Date, Stage, Timestamp};
use serde_json::json;

const LAUNCH: &str = "assisted-public-launch";
const CUSTOMER: &str = "customer-onboarding";
const PRODUCT: &str = "product-onboarding";

fn template(id: &str) -> Template {
    builtin::template(id).unwrap_or_else(|| {
        let err = Template::from_yaml(builtin::source(id).expect("a built-in")).expect_err("read failed");
        panic!("built-in `{id}` does not read: {}", err.to_json())
    })
}

fn as_of() -> Date {
    Date::constant(2026, 3, 1)
}

fn at(s: &str) -> Timestamp {
    s.parse().expect("a timestamp")
}

/// Every text a person reads for an item: its text and its flow steps' texts.
fn item_texts(t: &Template) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (section, item) in t.items() {
        let key = format!("{}.{}", section.id, item.id);
        out.push((key.clone(), item.text.clone()));
        if let Check::Flow { steps } = &item.check {
            out.extend(
                steps
                    .iter()
                    .filter_map(|s| s.text.clone())
                    .map(|text| (key.clone(), text)),
            );
        }
    }
    out
}

/// Each fragment appears in some item's text; returns the key of the first item holding it.
fn assert_fragments(t: &Template, fragments: &[&str]) -> BTreeMap<String, String> {
    let texts = item_texts(t);
    let mut found = BTreeMap::new();
    let mut missing = Vec::new();
    for fragment in fragments {
        match texts.iter().find(|(_, text)| text.contains(fragment)) {
            Some((key, _)) => {
                found.insert((*fragment).to_owned(), key.clone());
            }
            None => missing.push(*fragment),
        }
    }
    assert!(missing.is_empty(), "`{}` lost seed items: {missing:#?}", t.id);
    found
}

fn assert_criteria_texts(t: &Template, fragments: &[&str]) {
    let missing: Vec<&&str> = fragments
        .iter()
        .filter(|f| !t.exit_criteria.iter().any(|c| c.text.contains(**f)))
        .collect();
    assert!(missing.is_empty(), "`{}` lost exit criteria: {missing:#?}", t.id);
}

fn kinds(t: &Template) -> BTreeMap<ItemKind, usize> {
    let mut out = BTreeMap::new();
    for (_, item) in t.items() {
        *out.entry(item.kind()).or_insert(0) += 1;
    }
    out
}

fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn launch_secrets() -> Secrets {
    [
        ("INTEGRATION_KEY", "ik_live_valid_0001"),
        ("REVOKED_KEY", "ik_live_revoked_0002"),
        ("INVALID_KEY", "ik_live_never_issued_0003"),
    ]
    .into_iter()
    .collect()
}

// ---- every built-in ----

#[test]
fn ids_titles_and_sections() {
    assert_eq!(builtin::ids(), [LAUNCH, CUSTOMER, PRODUCT]);
    let shape: Vec<(String, Vec<String>, Vec<String>)> = builtin::ids()
        .iter()
        .map(|id| {
            let t = template(id);
            assert_eq!(t.id, *id);
            assert_eq!(builtin::source(id).map(Template::from_yaml), Some(Ok(t.clone())));
            (
                t.title.clone(),
                t.sections.iter().map(|s| s.id.clone()).collect(),
                t.parameter_names().map(str::to_owned).collect(),
            )
        })
        .collect();
    let strings = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    assert_eq!(
        shape,
        [
            (
                "Assisted public launch (A-Z)".to_owned(),
                strings(&[
                    "infrastructure",
                    "security",
                    "customer_onboarding",
                    "first_value",
                    "guardrails",
                    "billing",
                    "decision_record"
                ]),
                strings(&["tenant"]),
            ),
            (
                "Customer onboarding (contract to primary tool)".to_owned(),
                strings(&[
                    "phase_a",
                    "phase_b",
                    "phase_c",
                    "phase_d",
                    "phase_e",
                    "go_live_requirements"
                ]),
                strings(&["tenant"]),
            ),
            (
                "Product onboarding (execution stages and review matrix)".to_owned(),
                strings(&["stages", "reviews"]),
                strings(&["packet_id"]),
            ),
        ]
    );
    assert!(builtin::source("self-serve").is_none());
    assert!(builtin::template("Assisted-Public-Launch").is_none());
}

#[test]
fn a_fresh_run_is_open_everywhere() {
    for id in builtin::ids() {
        let t = template(id);
        let total = t.items().count();
        let with_params = {
            let mut run = Run::new(*id);
            for name in t.parameter_names() {
                run.parameters.insert(name.to_owned(), "acme".to_owned());
            }
            run
        };
        for run in [Run::new(*id), with_params] {
            let v = evaluate(&t, &run, &Facts::default(), as_of());
            assert!(!v.complete, "{id}");
            assert_eq!(v.items.len(), total, "{id}");
            let not_open: Vec<_> = v.items.iter().filter(|i| i.status != ItemStatus::Open).collect();
            assert!(not_open.is_empty(), "{id}: {not_open:#?}");
            assert_eq!((v.counts.total, v.counts.open), (total, total), "{id}");
            assert!(v.sections.iter().all(|s| !s.complete), "{id}");
            assert!(v.exit_criteria.iter().all(|c| !c.met), "{id}");
        }
    }
}

/// Marks every manual item done with evidence and gives every gate a satisfied fact;
/// probe and flow items get the artifacts in `results`.
fn fully_checked(t: &Template, parameters: &[(&str, &str)], results: &BTreeMap<String, Artifact>) -> (Run, Facts) {
    let mut run = Run::new(t.id.clone());
    run.parameters = params(parameters);
    let mut facts = Facts::default();
    let yes = GateFact {
        satisfied: true,
        detail: None,
    };
    for (section, item) in t.items() {
        let key = format!("{}.{}", section.id, item.id);
        match &item.check {
            Check::Manual { .. } => {
                let record = run.item_mut(&key);
                record.state = ItemState::Done;
                record.evidence = vec![format!("ev-{key}")];
                record.by = Some("ana".into());
                record.at = Some(at("2026-03-01T10:00:00Z"));
            }
            Check::Probe { .. } | Check::Flow { .. } => {
                if let Some(artifact) = results.get(&key) {
                    run.item_mut(&key).result = Some(artifact.clone());
                }
            }
            Check::Gate { gate } => match gate {
                Gate::Billing { .. } => {
                    facts.billing.insert("acme".into(), yes.clone());
                }
                Gate::Stage { stage, .. } => {
                    facts
                        .stages
                        .entry("pkt-acme".into())
                        .or_default()
                        .insert(stage.id().to_owned(), yes.clone());
                }
                Gate::Adoption { min_weeks } => facts.adoption_weeks = Some(*min_weeks),
                Gate::Review { role, .. } => {
                    facts
                        .reviews
                        .entry("pkt-acme".into())
                        .or_default()
                        .insert(role.as_str().to_owned(), yes.clone());
                }
            },
        }
    }
    (run, facts)
}

#[test]
fn a_fully_checked_run_is_complete() {
    let launch = template(LAUNCH);
    let (mut run, facts) = fully_checked(&launch, &[("tenant", "acme")], &launch_results());
    let v = evaluate(&launch, &run, &facts, as_of());
    // Everything is checked but the decision record is empty.
    let unmet: Vec<&str> = v
        .exit_criteria
        .iter()
        .filter(|c| !c.met)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(unmet, ["decision_record"]);
    run.decision_record.technical_owner_signoff = Some(Signoff {
        by: "ana".into(),
        at: at("2026-03-01T10:00:00Z"),
    });
    run.decision_record.rollback_authority = Some("CTO".into());
    run.decision_record.support_channel = Some("#acme-launch".into());
    run.decision_record.support_sla = Some("4 business hours".into());
    let v = evaluate(&launch, &run, &facts, as_of());
    assert!(v.complete, "{:#?}", v.exit_criteria);
    assert!(v.problems.is_empty(), "{:#?}", v.problems);

    // Without the first-value artifact the exit criterion names the flow.
    let mut without = run.clone();
    without.item_mut("first_value.trade_end_to_end").result = None;
    let v = evaluate(&launch, &without, &facts, as_of());
    let first = v.exit_criteria.iter().find(|c| c.id == "first_value").unwrap();
    assert!(!first.met);

    let customer = template(CUSTOMER);
    let (run, facts) = fully_checked(&customer, &[("tenant", "acme")], &BTreeMap::new());
    let v = evaluate(&customer, &run, &facts, as_of());
    assert!(v.complete, "{:#?}", v.exit_criteria);
    // One primary-tool week is not enough.
    let short = Facts {
        adoption_weeks: Some(1),
        ..facts.clone()
    };
    let v = evaluate(&customer, &run, &short, as_of());
    let unmet: Vec<&str> = v
        .exit_criteria
        .iter()
        .filter(|c| !c.met)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(unmet, ["primary_tool", "all_phases"]);
    // Nor is an unpaid tenant.
    let unpaid = Facts {
        billing: BTreeMap::from([(
            "acme".to_owned(),
            GateFact {
                satisfied: false,
                detail: Some("no paid invoice".into()),
            },
        )]),
        ..facts
    };
    let v = evaluate(&customer, &run, &unpaid, as_of());
    let unmet: Vec<&str> = v
        .exit_criteria
        .iter()
        .filter(|c| !c.met)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(unmet, ["contract_and_payment", "all_phases"]);

    let product = template(PRODUCT);
    let (mut run, mut facts) = fully_checked(&product, &[("packet_id", "pkt-acme")], &BTreeMap::new());
    let v = evaluate(&product, &run, &facts, as_of());
    assert!(v.complete, "{:#?}", v.exit_criteria);
    // A review is decided by its sign-off: one not approving the latest version keeps
    // the item open, whatever a person records on it.
    facts.reviews.get_mut("pkt-acme").unwrap().insert(
        "security".into(),
        GateFact {
            satisfied: false,
            detail: Some("stale: `sec@example.com` approved version 1".into()),
        },
    );
    let security = run.item_mut("reviews.security");
    security.state = ItemState::Done;
    security.evidence = vec!["signed".into()];
    let v = evaluate(&product, &run, &facts, as_of());
    let security = v.items.iter().find(|i| i.key == "reviews.security").unwrap();
    assert_eq!(security.status, ItemStatus::Open);
    assert_eq!(
        security.reason.as_deref(),
        Some(
            "the `security` review of packet `pkt-acme` is not satisfied: stale: `sec@example.com` approved version 1"
        )
    );
    assert!(!v.complete);
}

// ---- assisted-public-launch (seed 001) ----

/// Seed 001, every checkbox and every sub-bullet that is a check of its own.
const SEED_001: &[&str] = &[
    // 1. Infrastructure Ready
    "Render API service is deployed with pre-deploy migration command",
    "cd apps/api && npx prisma migrate deploy",
    "Render Postgres is attached and `DATABASE_URL` is set",
    "Web app is deployed and points to API (`API_URL`)",
    "Required API env vars are present",
    "`DATABASE_URL`",
    "`NODE_ENV=production`",
    "`JWT_PRIVATE_KEY`",
    "`JWT_PUBLIC_KEY`",
    "`CLERK_SECRET_KEY`",
    "`KEY_HASH_SECRET`",
    "`ALLOW_API_KEY_FALLBACK=false`",
    "`GET /health` returns",
    "HTTP 200",
    "`status` is `ok` or `degraded`",
    "`checks.migrations.pending` is `0` before launch",
    // 2. Security and Auth Ready
    "Integration token path verified in target environment",
    "`POST /api/auth/token/integration` with valid key returns bearer token",
    "Revoked key path verified",
    "revoked key returns `401`",
    "Missing/invalid key path verified",
    "invalid key returns `401`",
    "Tenant route auth enforcement verified for high-risk routes",
    "`/api/sima/*`",
    "`/api/jobs/*`",
    "`/api/upload`",
    "`/api/catalog/upload`",
    "`/api/ship/upload`",
    "`/api/orders/upload`",
    // 3. Customer Onboarding Complete
    "Tenant created (`POST /api/admin/tenants`) or via CLI fallback",
    "Integration key issued (`POST /api/admin/tenants/:id/integration-keys`)",
    "Detector config confirmed (`POST /api/admin/tenants/:id/detectors`) or defaults accepted",
    "Onboarding status captured (`GET /api/admin/tenants/:id/onboarding-status`)",
    "Customer received",
    "integration key secret (one-time reveal)",
    "minimal API usage guide",
    "first-upload template",
    // 4. First-Value API Flow Validated
    "Customer exchanges key for token",
    "Customer enqueues at least one job",
    "TRADE: `POST /api/upload`",
    "`/api/sima/batch`",
    "SHIP: `POST /api/ship/upload`",
    "ORDERS: `POST /api/orders/upload`",
    "Customer can poll job status",
    "`GET /api/jobs/:id`",
    "Customer can read results",
    "TRADE: `GET /api/sima/results`",
    "SHIP: `GET /api/ship/findings`",
    "One successful end-to-end artifact captured (request IDs/job IDs + timestamp)",
    // 5. Operational Guardrails Active
    "`api-contract-gate` is configured as required branch protection status check on `main`",
    "Branch protection review policy matches team size",
    "Solo maintainer mode: required approvals = `0`",
    "Multi-maintainer mode: required approvals >= `1`",
    "Branch protection conversation-resolution policy matches team size",
    "\"Require conversation resolution before merging\" = disabled",
    "Multi-maintainer mode: enabled",
    "Staging FORCE-RLS checks are green",
    "Nightly self-hosted validation has at least one successful run in last 36 hours",
    "Alert routing is configured for staging checks and nightly failures",
    "Rollback levers are confirmed",
    "tenant detector disable",
    "`TRADE_DETECTOR_MODE=legacy` global fallback for trade pipeline",
    // 6. Billing Reality Confirmed
    "Billing model for customer is confirmed (gain-share/platform fee/manual terms)",
    "Invoice generation path is tested",
    "`POST /api/admin/billing/invoices/generate`",
    "Issue/mark-paid/cancel paths are tested",
    "/api/admin/billing/invoices/:id/issue",
    "/api/admin/billing/invoices/:id/mark-paid",
    "/api/admin/billing/invoices/:id/cancel",
    "Payment collection owner/process is documented externally",
    "No Stripe automation exists in current API",
    "treat invoice lifecycle endpoints as internal billing operations",
    // 7. Launch Decision Record
    "Named owner signs off on technical readiness",
    "Known gaps are listed with owners and dates",
    "Rollback authority is explicit",
    "Customer-facing support channel and response SLA are defined",
];

#[test]
fn assisted_public_launch_holds_every_seed_item() {
    let t = template(LAUNCH);
    let found = assert_fragments(&t, SEED_001);
    // Each env var and each high-risk route is an item of its own.
    for (fragment, key) in [
        ("`NODE_ENV=production`", "infrastructure.env_node_env"),
        ("`JWT_PRIVATE_KEY`", "infrastructure.env_jwt_private_key"),
        ("`JWT_PUBLIC_KEY`", "infrastructure.env_jwt_public_key"),
        ("`CLERK_SECRET_KEY`", "infrastructure.env_clerk_secret_key"),
        ("`KEY_HASH_SECRET`", "infrastructure.env_key_hash_secret"),
        (
            "`ALLOW_API_KEY_FALLBACK=false`",
            "infrastructure.env_allow_api_key_fallback",
        ),
        ("`/api/sima/*`", "security.route_auth_sima"),
        ("`/api/jobs/*`", "security.route_auth_jobs"),
        ("`/api/catalog/upload`", "security.route_auth_catalog_upload"),
        ("`/api/ship/upload`", "security.route_auth_ship_upload"),
        ("`/api/orders/upload`", "security.route_auth_orders_upload"),
    ] {
        assert_eq!(found.get(fragment).map(String::as_str), Some(key), "{fragment}");
    }
    assert_criteria_texts(
        &t,
        &[
            "All sections above are checked",
            "One customer has completed token -> enqueue -> poll -> results in production",
            "decision record is complete",
        ],
    );
    let criteria: Vec<(&str, bool, &[String], bool)> = t
        .exit_criteria
        .iter()
        .map(|c| (c.id.as_str(), c.all_sections, c.items.as_slice(), c.decision_record))
        .collect();
    assert_eq!(
        criteria,
        [
            ("all_sections", true, &[][..], false),
            ("decision_record", false, &[][..], true),
            (
                "first_value",
                false,
                &["first_value.trade_end_to_end".to_owned()][..],
                false
            ),
        ]
    );
    assert_eq!(
        kinds(&t),
        BTreeMap::from([
            (ItemKind::Manual, 37),
            (ItemKind::Probe, 11),
            (ItemKind::Flow, 1),
            (ItemKind::Gate, 1)
        ])
    );
    assert_eq!(t.secret_names(), ["INTEGRATION_KEY", "INVALID_KEY", "REVOKED_KEY"]);
    // Every secret is named in the text of each item that uses it.
    for (section, item) in t.items() {
        let uses = serde_json::to_string(&item.check).unwrap();
        for secret in t.secret_names() {
            if uses.contains(&format!("${{secret.{secret}}}")) {
                assert!(item.text.contains(&secret), "{}.{} uses {secret}", section.id, item.id);
            }
        }
    }
}

#[test]
fn launch_billing_is_wired_to_the_invoice_state_machine() {
    let t = template(LAUNCH);
    for (key, command) in [
        (
            "billing.invoice_generate",
            "`gangway billing invoice generate --tenant TENANT --from DATE --until DATE`",
        ),
        ("billing.invoice_issue", "`gangway billing invoice issue ID`"),
        (
            "billing.invoice_mark_paid",
            "`gangway billing invoice pay ID --reference REF`",
        ),
        (
            "billing.invoice_cancel",
            "`gangway billing invoice cancel ID --reason TEXT`",
        ),
    ] {
        let item = t.item(key).unwrap();
        assert!(item.text.contains(command), "{key}: {}", item.text);
        assert_eq!(
            item.check,
            Check::Manual {
                evidence: Evidence::Required
            },
            "{key}"
        );
    }
    assert_eq!(
        t.item("billing.payment_gate").map(|i| &i.check),
        Some(&Check::Gate {
            gate: Gate::Billing {
                tenant: "${tenant}".into()
            }
        })
    );
    assert_eq!(
        t.item("billing.billing_model").map(|i| &i.check),
        Some(&Check::Manual {
            evidence: Evidence::Required
        })
    );
}

fn run_probe(t: &Template, key: &str, response: Response) -> Artifact {
    let item = t.item(key).unwrap();
    let flow = FlowRun::for_item(item, &params(&[("tenant", "acme")]), &launch_secrets()).unwrap();
    let request = flow.next().unwrap().request.clone();
    if key.starts_with("security.route_auth") {
        assert!(request.headers.get("authorization").is_none(), "{key} sends a token");
    }
    flow.replay(&[Recorded {
        at: at("2026-03-01T10:00:00Z"),
        response: Some(response),
        error: None,
    }])
}

#[test]
fn launch_probes_check_the_seed_001_api() {
    let t = template(LAUNCH);
    let healthy = |status: &str, pending: u32| {
        Response::status(200).with_body(json!({"status": status, "checks": {"migrations": {"pending": pending}}}))
    };
    assert!(run_probe(&t, "infrastructure.health", healthy("ok", 0)).passed());
    assert!(run_probe(&t, "infrastructure.health", healthy("degraded", 0)).passed());
    assert!(!run_probe(&t, "infrastructure.health", healthy("down", 0)).passed());
    let pending = run_probe(&t, "infrastructure.health", healthy("ok", 2));
    assert_eq!(
        pending.reason.as_deref(),
        Some("step `health`: `/checks/migrations/pending` eq: expected 0, found 2")
    );
    assert!(!run_probe(&t, "infrastructure.health", Response::status(503)).passed());

    let token = Response::status(200).with_body(json!({"token": "tok-1", "token_type": "bearer"}));
    assert!(run_probe(&t, "security.integration_token", token.clone()).passed());
    assert!(!run_probe(&t, "security.integration_token", Response::status(401)).passed());
    for key in ["security.revoked_key", "security.invalid_key", "security.missing_key"] {
        assert!(run_probe(&t, key, Response::status(401)).passed(), "{key}");
        let body = Response::status(401).with_body(json!({"error": "invalid key"}));
        assert!(run_probe(&t, key, body).passed(), "{key}");
        assert!(!run_probe(&t, key, token.clone()).passed(), "{key}");
    }
    let routes: Vec<(&str, &str, String)> = t
        .section("security")
        .unwrap()
        .items
        .iter()
        .filter(|i| i.id.starts_with("route_auth"))
        .map(|i| {
            let key = format!("security.{}", i.id);
            assert!(run_probe(&t, &key, Response::status(401)).passed(), "{key}");
            assert!(!run_probe(&t, &key, Response::status(200)).passed(), "{key}");
            let Check::Probe { request, .. } = &i.check else {
                panic!("{key} is not a probe")
            };
            (i.id.as_str(), request.method.as_str(), request.path.clone())
        })
        .collect();
    assert_eq!(
        routes,
        [
            ("route_auth_sima", "GET", "/api/sima/results".to_owned()),
            ("route_auth_jobs", "GET", "/api/jobs/route-auth-check".to_owned()),
            ("route_auth_upload", "POST", "/api/upload".to_owned()),
            ("route_auth_catalog_upload", "POST", "/api/catalog/upload".to_owned()),
            ("route_auth_ship_upload", "POST", "/api/ship/upload".to_owned()),
            ("route_auth_orders_upload", "POST", "/api/orders/upload".to_owned()),
        ]
    );
}

fn reply(at_: &str, response: Response) -> Recorded {
    Recorded {
        at: at(at_),
        response: Some(response),
        error: None,
    }
}

/// The seed-001 API answering the first-value flow: token, enqueue, three polls, results.
fn first_value_replies() -> Vec<Recorded> {
    vec![
        reply(
            "2026-03-01T10:00:00Z",
            Response::status(200)
                .with_header("x-request-id", "req-token")
                .with_body(json!({"token": "eyJ.first-value.token", "token_type": "bearer"})),
        ),
        reply(
            "2026-03-01T10:00:01Z",
            Response::status(202)
                .with_header("x-request-id", "req-enqueue")
                .with_body(json!({"job": {"id": "job-42", "status": "queued"}})),
        ),
        reply(
            "2026-03-01T10:00:03Z",
            Response::status(200).with_body(json!({"id": "job-42", "status": "queued"})),
        ),
        reply(
            "2026-03-01T10:00:05Z",
            Response::status(200).with_body(json!({"id": "job-42", "status": "running"})),
        ),
        reply(
            "2026-03-01T10:00:07Z",
            Response::status(200)
                .with_header("x-request-id", "req-poll")
                .with_body(json!({"id": "job-42", "status": "done"})),
        ),
        reply(
            "2026-03-01T10:00:08Z",
            Response::status(200)
                .with_header("x-request-id", "req-results")
                .with_body(json!({"job_id": "job-42", "results": [{"reference": "first-value-1"}]})),
        ),
    ]
}

fn first_value_flow() -> FlowRun {
    let t = template(LAUNCH);
    let item = t.item("first_value.trade_end_to_end").unwrap();
    FlowRun::for_item(item, &params(&[("tenant", "acme")]), &launch_secrets()).unwrap()
}

/// A passing artifact for every probe and flow item of `assisted-public-launch`.
fn launch_results() -> BTreeMap<String, Artifact> {
    let t = template(LAUNCH);
    let mut out = BTreeMap::new();
    for (section, item) in t.items() {
        let key = format!("{}.{}", section.id, item.id);
        let artifact = match (key.as_str(), item.kind()) {
            ("first_value.trade_end_to_end", _) => first_value_flow().replay(&first_value_replies()),
            ("infrastructure.health", _) => run_probe(
                &t,
                &key,
                Response::status(200).with_body(json!({"status": "ok", "checks": {"migrations": {"pending": 0}}})),
            ),
            ("security.integration_token", _) => run_probe(
                &t,
                &key,
                Response::status(200).with_body(json!({"token": "tok", "token_type": "bearer"})),
            ),
            (_, ItemKind::Probe) => run_probe(&t, &key, Response::status(401)),
            _ => continue,
        };
        assert!(artifact.passed(), "{key}: {:?}", artifact.reason);
        out.insert(key, artifact);
    }
    out
}

#[test]
fn first_value_flow_replays_over_the_seed_001_api() {
    // The requests the flow sends, step by step.
    let mut flow = first_value_flow();
    let replies = first_value_replies();
    let mut sent = Vec::new();
    for r in &replies {
        let next = flow.next().unwrap().clone();
        sent.push((
            next.step.clone(),
            next.request.method.as_str(),
            next.request.path.clone(),
            next.request.headers.get("authorization").map(str::to_owned),
            next.redacted.headers.get("authorization").map(str::to_owned),
            next.request.json.clone(),
            next.wait_ms,
        ));
        flow.respond(r.response.as_ref().unwrap(), r.at).unwrap();
    }
    assert!(flow.is_finished());
    let bearer = Some("Bearer eyJ.first-value.token".to_owned());
    let redacted = Some("Bearer ***".to_owned());
    let body = json!({"source": "gangway-checklist", "kind": "first-value-check",
                      "records": [{"reference": "first-value-1", "quantity": 1}]});
    let poll = |wait| {
        (
            "poll".to_owned(),
            "GET",
            "/api/jobs/job-42".to_owned(),
            bearer.clone(),
            redacted.clone(),
            None,
            wait,
        )
    };
    assert_eq!(
        sent,
        [
            (
                "token".to_owned(),
                "POST",
                "/api/auth/token/integration".to_owned(),
                None,
                None,
                Some(json!({"key": "ik_live_valid_0001"})),
                0
            ),
            (
                "enqueue".to_owned(),
                "POST",
                "/api/upload".to_owned(),
                bearer.clone(),
                redacted.clone(),
                Some(body),
                0
            ),
            poll(0),
            poll(2000),
            poll(2000),
            (
                "results".to_owned(),
                "GET",
                "/api/sima/results?job_id=job-42".to_owned(),
                bearer.clone(),
                redacted.clone(),
                None,
                0
            ),
        ]
    );

    // Replayed: passes, captures the job id, records request ids and timestamps, and
    // never the key or the token.
    let a = first_value_flow().replay(&replies);
    assert_eq!(a.outcome, FlowOutcome::Passed, "{:?}", a.reason);
    assert_eq!(a.job_ids, ["job-42"]);
    assert_eq!(a.captures.get("job_id"), Some(&json!("job-42")));
    assert_eq!(a.captures.get("token"), Some(&json!("***")));
    assert_eq!(a.request_ids, ["req-token", "req-enqueue", "req-poll", "req-results"]);
    assert_eq!(a.started_at, Some(at("2026-03-01T10:00:00Z")));
    assert_eq!(a.finished_at, Some(at("2026-03-01T10:00:08Z")));
    let steps: Vec<(&str, usize)> = a.steps.iter().map(|s| (s.step.as_str(), s.attempts.len())).collect();
    assert_eq!(steps, [("token", 1), ("enqueue", 1), ("poll", 3), ("results", 1)]);
    let text = serde_json::to_string(&a).unwrap();
    assert!(
        !text.contains("eyJ.first-value") && !text.contains("ik_live_valid"),
        "{text}"
    );
    assert_eq!(a.steps[0].request.as_ref().unwrap().json, Some(json!({"key": "***"})));
}

#[test]
fn first_value_flow_fails_where_the_api_does() {
    let replies = first_value_replies();
    // A 401 on the token step fails the flow there.
    let a = first_value_flow().replay(&[reply(
        "2026-03-01T10:00:00Z",
        Response::status(401).with_body(json!({"error": "invalid key"})),
    )]);
    assert_eq!(a.outcome, FlowOutcome::Failed);
    assert_eq!(
        a.reason.as_deref(),
        Some("step `token`: status eq: expected 200, found 401")
    );
    let outcomes: Vec<StepOutcome> = a.steps.iter().map(|s| s.outcome).collect();
    assert_eq!(
        outcomes,
        [
            StepOutcome::Failed,
            StepOutcome::NotRun,
            StepOutcome::NotRun,
            StepOutcome::NotRun
        ]
    );
    assert!(a.job_ids.is_empty());

    // A job that fails stops polling at once.
    let mut failed = replies[..3].to_vec();
    failed.push(reply(
        "2026-03-01T10:00:05Z",
        Response::status(200).with_body(json!({"id": "job-42", "status": "failed"})),
    ));
    let a = first_value_flow().replay(&failed);
    assert_eq!(a.outcome, FlowOutcome::Failed);
    assert!(
        a.reason.as_deref().unwrap().starts_with("step `poll`: `/status` in:"),
        "{:?}",
        a.reason
    );
    assert_eq!(a.job_ids, ["job-42"]);

    // Polling is bounded: 90 attempts, then the step fails.
    let mut stuck = replies[..2].to_vec();
    stuck.extend((0..100).map(|_| {
        reply(
            "2026-03-01T10:00:05Z",
            Response::status(200).with_body(json!({"id": "job-42", "status": "running"})),
        )
    }));
    let a = first_value_flow().replay(&stuck);
    assert_eq!(a.outcome, FlowOutcome::Failed);
    assert!(
        a.reason
            .as_deref()
            .unwrap()
            .contains("still not done after 90 attempts"),
        "{:?}",
        a.reason
    );

    // Results for another job do not count.
    let mut other = replies.clone();
    *other.last_mut().unwrap() = reply(
        "2026-03-01T10:00:08Z",
        Response::status(200).with_body(json!({"job_id": "job-7", "results": []})),
    );
    assert_eq!(first_value_flow().replay(&other).outcome, FlowOutcome::Failed);

    // Evaluated in a run, the failed artifact makes the item failed.
    let t = template(LAUNCH);
    let mut run = Run::new(LAUNCH);
    run.parameters = params(&[("tenant", "acme")]);
    run.item_mut("first_value.trade_end_to_end").result = Some(first_value_flow().replay(&replies[..1]));
    let v = evaluate(&t, &run, &Facts::default(), as_of());
    let item = v
        .items
        .iter()
        .find(|i| i.key == "first_value.trade_end_to_end")
        .unwrap();
    assert_eq!(item.status, ItemStatus::Open, "an incomplete flow is open");
    run.item_mut("first_value.trade_end_to_end").result =
        Some(first_value_flow().replay(&[reply("2026-03-01T10:00:00Z", Response::status(401))]));
    let v = evaluate(&t, &run, &Facts::default(), as_of());
    let item = v
        .items
        .iter()
        .find(|i| i.key == "first_value.trade_end_to_end")
        .unwrap();
    assert_eq!(item.status, ItemStatus::Failed);
}

// ---- customer-onboarding (seed 002) ----

/// Seed 002 §3 (phases A–E: steps, deliverables, exit criteria), §4 (adoption metrics
/// and thresholds), §5 (must-haves) and the roles of §2.
const SEED_002: &[&str] = &[
    // Phase A
    "Confirm the workflows PT will own in v0.1 (and what stays paper)",
    "Confirm compliance posture expectations (audit trail, exports, internal controls alignment)",
    "Scope + Success Criteria (1–2 pages)",
    "Explicit “MVP exclusions” list",
    "Implementation timeline draft",
    "MSA",
    "Order Form (sites/casinos, seats, term)",
    "DPA (if required)",
    "Invoice sent (typical for casinos) OR ACH/CC processed",
    "Provisioning gate: **paid** or **PO approved** (choose one standard",
    "Signed documents stored (vendor-side)",
    "Payment confirmation logged",
    "Provisioning ticket opened",
    "Contract signed",
    "Payment gate satisfied",
    "Customer assigns Ops lead + Admin contact email",
    // Phase B
    "from “customer exists” to “tenant exists”",
    "Create `company` record (legal/billing identity) *if you are using it*",
    "Create `casino` tenant (security boundary)",
    "Create initial admin staff binding (or invite)",
    "Do NOT block on a perfect company model",
    "record company name as casino metadata",
    "Tenant created (`casino_id`)",
    "Admin created/bound OR invite issued",
    "Baseline settings created (`casino_settings`)",
    "Admin can log in",
    "RLS context succeeds",
    "Admin can access settings and invite staff",
    "`rpc_bootstrap_casino` (create tenant + first admin)",
    "`rpc_create_staff_invite`, `rpc_accept_staff_invite`",
    // Phase C
    "Tables / pits / areas (at minimum: table list + status)",
    "Game settings (limit / type / defaults)",
    "Staff roster + roles (admin, pit_boss, cashier, etc.)",
    "Decide on “system of record” boundaries",
    "What is entered in PT first?",
    "What stays paper for compliance/accounting?",
    "What is the fallback if PT is down?",
    "“Floor Ready” checklist completed",
    "Draft SOP: PT usage rules by role",
    "A pit boss can complete top 5 tasks in PT in under 5 minutes each",
    "Permissions match role responsibilities (no surprise denials)",
    // Phase D
    "Pit boss: player lookup, sessions/ratings, notes, rewards visibility",
    "Cashier (if applicable): transactions logging and exception handling",
    "Admin: staff management, settings, reports",
    "Compliance: audit logs, exports, review posture",
    "Pick one pit / subset of tables",
    "Run for 1–3 shifts",
    "Log issues; fix only the top blockers",
    "Training quick guides (1–2 pages per role)",
    "Pilot issue log + triage outcomes",
    "Pilot shift completes with PT used for agreed workflows",
    "Customer sponsor agrees to go-live date",
    // Phase E
    "Communicate: “If it’s not in PT, it didn’t happen” (for the workflows PT owns)",
    "Freeze config changes during first live shift window",
    "Ensure support escalation path is known",
    "Daily check-ins week 1 (short)",
    "Weekly thereafter",
    "Track adoption metrics (see §4)",
    "Go-live announcement",
    "Hypercare schedule and escalation contacts",
    "Adoption metrics hit threshold",
    "Customer signs off “primary tool” status for MVP workflows",
    // §4 adoption metrics and thresholds
    "Active staff users per week, by role",
    "# of visit/session entries per shift",
    "% of tables/areas using PT",
    "Exception count (failed writes/permission errors)",
    "Time-to-complete key workflows (spot checks)",
    "Week 1: 60% of pilot scope shifts recorded in PT",
    "Week 2–3: 85%+",
    "Permission/denial errors trend to near-zero after week 1",
    // §5 must-have (blocks go-live)
    "Tenant bootstrap (casino + settings + first admin)",
    "Staff invite + accept flow",
    "Role gates enforced by RLS",
    "Audit log for admin actions (at least create/update staff, settings changes)",
    "Export/report baseline needed by compliance/ops",
    // §7 definition of done, as items
    "Go-live date executed",
    "PT used as primary tool for agreed workflows for ≥2 weeks",
    "Hypercare complete; open issues triaged into roadmap",
    // §2 roles
    "Vendor",
    "Exec sponsor (GM/Director)",
    "approves success criteria and “primary tool” directive",
    "Operations lead",
    "owns floor adoption and SOP enforcement",
    "Compliance lead",
    "IT/Systems",
    "Finance/AP",
];

/// Seed 002 §7, verbatim.
const DEFINITION_OF_DONE: &[&str] = &[
    "Contract signed and payment gate satisfied",
    "Tenant provisioned; admin can log in and invite staff",
    "Floor configuration complete for agreed scope",
    "Training completed for pit bosses (and other required roles)",
    "Pilot completed and go-live date executed",
    "PT used as primary tool for agreed workflows for ≥2 weeks",
    "Hypercare complete; open issues triaged into roadmap",
];

#[test]
fn customer_onboarding_holds_every_seed_item() {
    let t = template(CUSTOMER);
    let found = assert_fragments(&t, SEED_002);
    assert_eq!(
        found
            .get("PT used as primary tool for agreed workflows for ≥2 weeks")
            .map(String::as_str),
        Some("phase_e.e_primary_tool_two_weeks")
    );
    assert_criteria_texts(&t, DEFINITION_OF_DONE);
    assert_eq!(
        t.item("phase_a.a3_payment_gate").map(|i| &i.check),
        Some(&Check::Gate {
            gate: Gate::Billing {
                tenant: "${tenant}".into()
            }
        })
    );
    assert_eq!(
        t.item("phase_e.e_primary_tool_two_weeks").map(|i| &i.check),
        Some(&Check::Gate {
            gate: Gate::Adoption { min_weeks: 2 }
        })
    );
    // Each definition-of-done bullet is its own exit criterion.
    let criteria: Vec<(&str, &[String], &[String], bool)> = t
        .exit_criteria
        .iter()
        .map(|c| (c.id.as_str(), c.items.as_slice(), c.sections.as_slice(), c.all_sections))
        .collect();
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect::<Vec<String>>();
    assert_eq!(
        criteria,
        [
            (
                "contract_and_payment",
                &s(&["phase_a.a_exit_contract_signed", "phase_a.a3_payment_gate"])[..],
                &[][..],
                false
            ),
            (
                "tenant_provisioned",
                &s(&[
                    "phase_b.b1_casino_tenant",
                    "phase_b.b_exit_admin_login",
                    "phase_b.b_exit_admin_settings_invite"
                ])[..],
                &[][..],
                false
            ),
            ("floor_configured", &[][..], &s(&["phase_c"])[..], false),
            (
                "training",
                &s(&[
                    "phase_d.d1_pit_boss",
                    "phase_d.d1_cashier",
                    "phase_d.d1_admin",
                    "phase_d.d1_compliance"
                ])[..],
                &[][..],
                false
            ),
            (
                "pilot_and_go_live",
                &s(&["phase_d.d_exit_pilot_completes", "phase_e.e1_go_live_executed"])[..],
                &[][..],
                false
            ),
            (
                "primary_tool",
                &s(&["phase_e.e_primary_tool_two_weeks"])[..],
                &[][..],
                false
            ),
            ("hypercare", &s(&["phase_e.e_hypercare_complete"])[..], &[][..], false),
            ("all_phases", &[][..], &[][..], true),
        ]
    );
    let per_section: Vec<(&str, usize)> = t.sections.iter().map(|s| (s.id.as_str(), s.items.len())).collect();
    assert_eq!(
        per_section,
        [
            ("phase_a", 15),
            ("phase_b", 7),
            ("phase_c", 10),
            ("phase_d", 10),
            ("phase_e", 13),
            ("go_live_requirements", 5)
        ]
    );
    assert_eq!(kinds(&t), BTreeMap::from([(ItemKind::Manual, 58), (ItemKind::Gate, 2)]));
    assert!(t.secret_names().is_empty());
}

// ---- product-onboarding (seed 000) ----

/// Seed 000, "Execution Stages": each stage's output and exit gate, verbatim.
const SEED_000_STAGES: [(&str, &str); 8] = [
    (
        "Product identity, owners, personas, exposure, support tier",
        "Fairway epic created with source docs and review domains",
    ),
    (
        "Package, route, schema, event, worker, frontend ownership rows",
        "Boundary guard can classify new paths",
    ),
    (
        "Product, scope, usage-unit, resource-type, audit-action, evidence-type, notification-template, artifact-type entries",
        "Runtime visibility remains disabled until entries are active",
    ),
    (
        "API/event/SDK/app manifest contracts and failure model",
        "Contract tests or tracked blockers exist",
    ),
    (
        "IAM, billing, audit, notification, policy/quota, evidence/status, secrets/artifacts integration",
        "No product-owned fork of a shared service",
    ),
    (
        "Launch/connect/decommission, billing attribution, audit query, status read model, rollback proof",
        "Release evidence bundle exists",
    ),
    (
        "User, developer, operator, security, product, and architecture pages",
        "Source inventory and freshness owner exist",
    ),
    (
        "Keep/split/extract recommendation and blockers",
        "No extraction without service auth, rollback, smoke, and degradation evidence",
    ),
];

#[test]
fn product_onboarding_holds_every_stage_and_review() {
    let t = template(PRODUCT);
    let stages = t.section("stages").unwrap();
    assert_eq!(stages.items.len(), 8);
    for ((item, stage), (output, exit_gate)) in stages.items.iter().zip(Stage::ALL).zip(SEED_000_STAGES) {
        assert_eq!(item.id, stage.id());
        assert_eq!(
            item.check,
            Check::Gate {
                gate: Gate::Stage {
                    packet: "${packet_id}".into(),
                    stage
                }
            }
        );
        assert!(item.text.contains(output), "{}: output `{output}`", item.id);
        assert!(item.text.contains(exit_gate), "{}: exit gate `{exit_gate}`", item.id);
    }
    // The review matrix: one review gate per role, its text holding the role's "must
    // confirm" list verbatim.
    let reviews = t.section("reviews").unwrap();
    assert_eq!(reviews.items.len(), Role::ALL.len());
    for (item, role) in reviews.items.iter().zip(Role::ALL) {
        assert_eq!(item.id, role.as_str());
        assert!(
            item.text
                .starts_with(&format!("{} review. Must confirm: ", role.title())),
            "{}",
            item.text
        );
        assert!(item.text.contains(role.must_confirm()), "{}: {}", item.id, item.text);
        assert!(
            item.text.contains(&format!(
                "`gangway review sign PACKET_ID --role {} --approve`",
                role.as_str()
            )),
            "{}",
            item.text
        );
        assert_eq!(
            item.check,
            Check::Gate {
                gate: Gate::Review {
                    packet: "${packet_id}".into(),
                    role
                }
            }
        );
    }
    let criteria: Vec<(&str, &[String])> = t
        .exit_criteria
        .iter()
        .map(|c| (c.id.as_str(), c.sections.as_slice()))
        .collect();
    assert_eq!(
        criteria,
        [
            ("every_stage", &["stages".to_owned()][..]),
            ("every_review", &["reviews".to_owned()][..])
        ]
    );
    assert_eq!(kinds(&t), BTreeMap::from([(ItemKind::Gate, 15)]));

    // One stage short: not complete, and the blocker names the stage.
    let (run, mut facts) = fully_checked(&t, &[("packet_id", "pkt-acme")], &BTreeMap::new());
    facts
        .stages
        .get_mut("pkt-acme")
        .unwrap()
        .insert("portal".into(), GateFact::default());
    let v = evaluate(&t, &run, &facts, as_of());
    assert!(!v.complete);
    let portal = v.items.iter().find(|i| i.key == "stages.portal").unwrap();
    assert_eq!(portal.status, ItemStatus::Open);

    // One role short: the `every_review` criterion names the reviews section.
    let (run, mut facts) = fully_checked(&t, &[("packet_id", "pkt-acme")], &BTreeMap::new());
    facts.reviews.get_mut("pkt-acme").unwrap().remove("governance");
    let v = evaluate(&t, &run, &facts, as_of());
    let governance = v.items.iter().find(|i| i.key == "reviews.governance").unwrap();
    assert_eq!(
        (governance.status, governance.reason.as_deref()),
        (
            ItemStatus::Open,
            Some("no fact given for the `governance` review of packet `pkt-acme`")
        )
    );
    let unmet: Vec<&str> = v
        .exit_criteria
        .iter()
        .filter(|c| !c.met)
        .map(|c| c.id.as_str())
        .collect();
    assert_eq!(unmet, ["every_review"]);
}
