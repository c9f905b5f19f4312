//! The code's rule catalog and `docs/rules.md` list the same codes.
// Test helpers outside #[test] functions: clippy.toml's allow-in-tests does not reach them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

fn documented_codes() -> Vec<String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md")).unwrap();
    let section = text
        .split("\n## ")
        .find(|s| s.starts_with("Catalog"))
        .expect("docs/rules.md has a `## Catalog` section");
    section
        .lines()
        .filter_map(|l| l.strip_prefix("| `"))
        .filter_map(|l| l.split('`').next())
        .map(str::to_owned)
        .collect()
}

#[test]
fn code_catalog_matches_docs() {
    let docs = documented_codes();
    let code: Vec<String> = gangway::rules::codes().into_iter().map(str::to_owned).collect();
    let mut sorted_docs = docs.clone();
    sorted_docs.sort();
    sorted_docs.dedup();
    assert_eq!(sorted_docs.len(), docs.len(), "a code is listed twice in docs/rules.md");
    let mut sorted_code = code.clone();
    sorted_code.sort();
    let missing_in_docs: Vec<_> = sorted_code.iter().filter(|c| !sorted_docs.contains(c)).collect();
    let missing_in_code: Vec<_> = sorted_docs.iter().filter(|c| !sorted_code.contains(c)).collect();
    assert!(
        missing_in_docs.is_empty() && missing_in_code.is_empty(),
        "not documented: {missing_in_docs:?}; documented but not in code: {missing_in_code:?}"
    );
}

#[test]
fn every_rule_has_a_section() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/rules.md")).unwrap();
    for code in gangway::rules::codes() {
        assert!(
            text.contains(&format!("### `{code}`")),
            "docs/rules.md has no section for {code}"
        );
    }
}

#[test]
fn every_unit_is_consistent() {
    for rule in gangway::rules::RULES {
        assert!(rule.code.contains('.'), "{}", rule.code);
        assert!(!rule.summary.is_empty(), "{}", rule.code);
    }
}
