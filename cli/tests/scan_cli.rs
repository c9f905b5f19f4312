//! `gangway scan` and `gangway owner` run as a user would run them: exit codes and
//! output on the corpus's scan cases.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

mod support;

use std::process::{Command, Output};

use support::{BIN, workspace};

fn gangway(args: &[&str]) -> Output {
    Command::new(BIN).current_dir(workspace()).args(args).output().unwrap()
}

const REGISTRY: &str = "conformance/fixtures/guard/registry.yaml";
const PACKET: &str = "conformance/fixtures/guard/token-factory.yaml";

#[test]
fn scan_reports_and_fails_on_unregistered_scopes() {
    let out = gangway(&[
        "scan",
        "conformance/cases/scan/001-sdk-openapi-python/files",
        "--registry",
        REGISTRY,
        "--packet",
        PACKET,
    ]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.lines().any(|l| l
            == "conformance/cases/scan/001-sdk-openapi-python/files/client/usage_report.py:3:49: iam.scope_unregistered: scope `token_factory:usage:export` is not in the registry; register it before code uses it"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6, "{text}");
}

#[test]
fn scan_json_is_the_corpus_form_and_warnings_pass() {
    let out = gangway(&[
        "scan",
        "conformance/cases/scan/001-sdk-openapi-python/files/sdk",
        "--registry",
        REGISTRY,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "a deprecated scope is a warning: {out:?}");
    let findings: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(findings[0]["code"], "registry.entry_deprecated");
    assert_eq!(findings[0]["severity"], "warning");
    assert_eq!(findings.as_array().map(Vec::len), Some(1));
}

#[test]
fn scan_clean_files_exit_zero() {
    let out = gangway(&[
        "scan",
        "conformance/cases/scan/002-all-registered/files",
        "--registry",
        REGISTRY,
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
}

#[test]
fn scan_usage_errors_exit_two() {
    let no_registry = gangway(&["scan", "conformance/cases/scan"]);
    assert_eq!(no_registry.status.code(), Some(2));
    let missing = gangway(&["scan", "no/such/path", "--registry", REGISTRY]);
    assert_eq!(missing.status.code(), Some(2));
    let bad_registry = gangway(&[
        "scan",
        "conformance/cases/scan",
        "--registry",
        "conformance/cases/guard/013-registry-unloadable/registry.yaml",
    ]);
    assert_eq!(bad_registry.status.code(), Some(2));
}

#[test]
fn owner_classifies_by_the_longest_row() {
    let out = gangway(&[
        "owner",
        "products/token-factory/billing/ledger.rs",
        "--packet",
        PACKET,
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let m: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(m["owner"], "platform");
    assert_eq!(m["path_prefix"], "products/token-factory/billing");
    assert_eq!(m["packet_id"], "token-factory-onboarding-v2");

    let out = gangway(&["owner", "products/token-factory-eu/api.rs", "--packet", PACKET]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    assert!(String::from_utf8(out.stdout).unwrap().contains("unowned"));
}
