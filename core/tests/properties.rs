//! Property tests: arbitrary input never panics, mutations of the complete example
//! give well-formed reports, and hostile YAML is refused.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use gangway::tree;
use gangway::{Date, Packet, ParseError, Registry, Report, Stage};
use proptest::prelude::*;
use proptest::sample::Index;
use serde_json::{Map, Value as Json};

const COMPLETE_PACKET: &str = include_str!("../../examples/token-factory-complete/packet.yaml");
const COMPLETE_REGISTRY: &str = include_str!("../../examples/token-factory-complete/registry.yaml");

fn as_of() -> Date {
    Date::constant(2026, 11, 22)
}

fn complete_registry() -> Registry {
    Registry::from_yaml(COMPLETE_REGISTRY).expect("complete registry loads")
}

fn complete_json() -> Json {
    Packet::from_yaml(COMPLETE_PACKET)
        .expect("complete packet parses")
        .document()
        .to_json()
}

/// Keys and strings the schema knows, so random documents reach past the top level.
const WORDS: &[&str] = &[
    "product_onboarding_packet",
    "schema_version",
    "packet_id",
    "product_id",
    "product_slug",
    "lifecycle_state",
    "owner",
    "personas",
    "exposure",
    "posture",
    "ownership",
    "packages",
    "routes",
    "events",
    "shared_services",
    "iam",
    "scopes",
    "scope",
    "registry_state",
    "billing",
    "usage_units",
    "unit",
    "version",
    "docs_and_portal",
    "uat_and_release",
    "extraction",
    "tracked_gaps",
    "exceptions",
    "ref",
    "rule",
    "expires",
    "kind",
    "due_date",
    "not_applicable",
    "reason",
    "review_date",
    "approved_by",
    "registry",
    "products",
    "key",
    "state",
    "sunset",
    "draft",
    "active",
    "deprecated",
    "retired",
    "required",
    "optional",
    "not_ready",
    "billable",
    "keep",
    "split",
    "doc_gap",
    "v1",
    "1.0.0",
    "2.0.0",
    "2026-11-22",
    "2020-01-01",
    "2999-12-31",
    "/product_onboarding_packet",
    "/product_onboarding_packet/owner",
    "token-factory",
    "token_factory:model:invoke",
    "",
    "~",
];

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        3 => prop::sample::select(WORDS).prop_map(str::to_owned),
        1 => "[a-z_:./-]{0,12}",
        1 => ".{0,16}",
    ]
}

fn scalar() -> impl Strategy<Value = Json> {
    prop_oneof![
        Just(Json::Null),
        any::<bool>().prop_map(Json::Bool),
        any::<i64>().prop_map(Json::from),
        any::<f64>().prop_map(Json::from),
        word().prop_map(Json::String),
    ]
}

/// Random nested maps, lists and scalars.
fn json_value() -> impl Strategy<Value = Json> {
    scalar().prop_recursive(6, 96, 8, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..8).prop_map(Json::Array),
            prop::collection::vec((word(), inner), 0..8)
                .prop_map(|entries| Json::Object(entries.into_iter().collect::<Map<_, _>>())),
        ]
    })
}

/// A random document, sometimes wrapped in the packet's or the registry's top key.
fn json_document() -> impl Strategy<Value = Json> {
    prop_oneof![
        2 => json_value(),
        1 => json_value().prop_map(|v| wrap("product_onboarding_packet", v)),
        1 => json_value().prop_map(|v| wrap("registry", v)),
    ]
}

fn wrap(key: &str, value: Json) -> Json {
    let mut map = Map::new();
    map.insert(key.to_owned(), value);
    Json::Object(map)
}

/// Text built from YAML's structural pieces.
fn yaml_ish() -> impl Strategy<Value = String> {
    const PIECES: &[&str] = &[
        "product_onboarding_packet:",
        "registry:",
        "owner:",
        "not_applicable:",
        "key: ",
        "a:",
        ": ",
        " ",
        "  ",
        "\n",
        "\n  ",
        "\n    ",
        "- ",
        "? ",
        "[",
        "]",
        "{",
        "}",
        ",",
        "'",
        "\"",
        "&a ",
        "*a",
        "&b ",
        "*b",
        "!!str ",
        "!!binary ",
        "!custom ",
        "|",
        ">-",
        "# c",
        "~",
        "null",
        "true",
        "yes",
        "1",
        "-1",
        "1e999",
        "99999999999999999999",
        "0x1F",
        ".nan",
        "2026-11-22",
        "v1",
        "---",
        "...",
        "%YAML 1.2",
        "<<: ",
        "\t",
        "\u{feff}",
        "é",
    ];
    prop::collection::vec(prop::sample::select(PIECES), 0..80).prop_map(|v| v.concat())
}

/// Runs everything a caller can run on a packet; returns nothing, only must not panic.
fn exercise(packet: &Packet, registry: &Registry) {
    for stage in Stage::ALL {
        for reg in [None, Some(registry)] {
            let report = gangway::validate(packet, reg, Some(stage), as_of());
            check_report(&report);
        }
    }
    let _ = gangway::validate(packet, None, None, as_of());
    let progress = gangway::progress(packet, Some(registry), as_of());
    assert_eq!(progress.stages.len(), Stage::ALL.len());
    let last = gangway::validate(packet, Some(registry), Some(Stage::Extraction), as_of());
    assert_eq!(
        progress.first_blocked.is_none(),
        last.ok,
        "progress: {}\nreport: {}",
        progress.to_json(),
        last.to_json()
    );
    let _ = progress.to_json();
    let _ = packet.canonical_json();
}

/// A report is sorted by (path, code) and `ok` is exactly "no error".
fn check_report(report: &Report) {
    for pair in report.findings.windows(2) {
        let (a, b) = (&pair[0], &pair[1]);
        assert!(
            (a.path.as_str(), a.code) <= (b.path.as_str(), b.code),
            "findings out of order: {a:?} before {b:?}"
        );
    }
    assert_eq!(
        report.ok,
        !report.findings.iter().any(|f| f.is_error()),
        "{}",
        report.to_json()
    );
    let _ = report.to_json();
}

fn feed(text: &str, registry: &Registry) {
    if let Ok(packet) = Packet::from_yaml(text) {
        exercise(&packet, registry);
    }
    if let Ok(packet) = Packet::from_json(text) {
        exercise(&packet, registry);
    }
    if let Ok(reg) = Registry::from_yaml(text) {
        let packet = Packet::from_yaml(COMPLETE_PACKET).expect("complete packet parses");
        let report = gangway::validate(&packet, Some(&reg), Some(Stage::Extraction), as_of());
        check_report(&report);
    }
}

/// 256 cases each; `PROPTEST_CASES` changes that for a longer (or shorter) run.
fn config() -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256);
    ProptestConfig {
        cases,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,400}") {
        feed(&text, &complete_registry());
    }

    #[test]
    fn yaml_ish_text_never_panics(text in yaml_ish()) {
        feed(&text, &complete_registry());
    }

    #[test]
    fn arbitrary_json_documents_never_panic(doc in json_document()) {
        let registry = complete_registry();
        let text = serde_json::to_string(&doc).expect("serializes");
        feed(&text, &registry);
        let pretty = serde_json::to_string_pretty(&doc).expect("serializes");
        feed(&pretty, &registry);
        // Valid JSON within the default limits is always accepted, whatever its
        // strings hold. A bare `null` reads as an empty document, refused on purpose.
        if !doc.is_null() {
            let packet = Packet::from_json(&text);
            prop_assert!(packet.is_ok(), "{text}: {:?}", packet.err());
            if let Ok(packet) = packet {
                prop_assert_eq!(packet.document().to_json(), doc);
            }
        }
    }
}

#[test]
fn from_json_accepts_every_valid_json_string() {
    for c in ['\u{7f}', '\u{80}', '\u{9f}', '\u{fffe}', '\u{ffff}'] {
        let text = format!("{{\"product_onboarding_packet\": {{\"packet_id\": \"a{c}b\"}}}}");
        assert!(
            serde_json::from_str::<Json>(&text).is_ok(),
            "serde_json accepts U+{:04X}",
            u32::from(c)
        );
        let packet = Packet::from_json(&text);
        assert!(packet.is_ok(), "U+{:04X}: {:?}", u32::from(c), packet.err());
        // The canonical re-encoding of a document read from escaped input must read back.
        let escaped = format!("{{\"packet_id\": \"\\u{:04x}\"}}", u32::from(c));
        let packet = Packet::from_json(&escaped).expect("escaped form parses");
        let again = Packet::from_json(&packet.canonical_json());
        assert!(
            again.is_ok(),
            "canonical JSON of U+{:04X}: {:?}",
            u32::from(c),
            again.err()
        );
    }
}

// ---- mutations of the complete example ----

/// One edit of the complete example's JSON form.
#[derive(Debug, Clone)]
enum Mutation {
    /// Delete a key.
    Delete(Index),
    /// Replace a node (not the root) with a random value.
    Replace(Index, Json),
    /// Insert a copy of a list element right after it.
    Duplicate(Index),
    /// Rename a key by appending a character.
    Rename(Index, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::Delete),
        (any::<Index>(), json_value()).prop_map(|(i, v)| Mutation::Replace(i, v)),
        any::<Index>().prop_map(Mutation::Duplicate),
        (any::<Index>(), prop::char::range('a', 'z')).prop_map(|(i, c)| Mutation::Rename(i, c)),
    ]
}

/// Pointers of every node below the root; `keys` only mapping keys, `items` only list
/// elements.
fn pointers(value: &Json, ptr: &str, keys: &mut Vec<String>, items: &mut Vec<String>) {
    match value {
        Json::Object(map) => {
            for (k, v) in map {
                let p = tree::join(ptr, k);
                keys.push(p.clone());
                pointers(v, &p, keys, items);
            }
        }
        Json::Array(list) => {
            for (i, v) in list.iter().enumerate() {
                let p = tree::join(ptr, &i.to_string());
                items.push(p.clone());
                pointers(v, &p, keys, items);
            }
        }
        _ => {}
    }
}

/// The parent of `ptr` and its last token (unescaped).
fn split(ptr: &str) -> (&str, String) {
    let cut = ptr.rfind('/').expect("pointer has a slash");
    (&ptr[..cut], tree::unescape(&ptr[cut + 1..]))
}

/// The mapping at `parent` in `doc`.
fn mapping<'a>(doc: &'a mut Json, parent: &str) -> &'a mut Map<String, Json> {
    doc.pointer_mut(parent)
        .and_then(Json::as_object_mut)
        .expect("parent is a mapping")
}

/// What a mutation did, for the assertions.
#[derive(Debug)]
enum Applied {
    Deleted(String),
    Replaced,
    Nothing,
    Duplicated(String),
    Renamed(String, String),
}

fn apply(doc: &mut Json, m: &Mutation) -> Applied {
    let mut keys = Vec::new();
    let mut items = Vec::new();
    pointers(doc, "", &mut keys, &mut items);
    // An earlier edit may have replaced the whole document with a scalar.
    let nothing_to_edit = match m {
        Mutation::Duplicate(_) => items.is_empty(),
        Mutation::Replace(..) => keys.is_empty() && items.is_empty(),
        Mutation::Delete(_) | Mutation::Rename(..) => keys.is_empty(),
    };
    if nothing_to_edit {
        return Applied::Nothing;
    }
    match m {
        Mutation::Delete(i) => {
            let ptr = i.get(&keys).clone();
            let (parent, key) = split(&ptr);
            let map = mapping(doc, parent);
            map.shift_remove(&key).expect("key exists");
            Applied::Deleted(ptr)
        }
        Mutation::Replace(i, v) => {
            let mut all = keys.clone();
            all.extend(items);
            let ptr = i.get(&all).clone();
            *doc.pointer_mut(&ptr).expect("node exists") = v.clone();
            Applied::Replaced
        }
        Mutation::Duplicate(i) => {
            let ptr = i.get(&items).clone();
            let (parent, index) = split(&ptr);
            let index: usize = index.parse().expect("list index");
            let list = doc
                .pointer_mut(parent)
                .and_then(Json::as_array_mut)
                .expect("parent is a list");
            let copy = list[index].clone();
            list.insert(index + 1, copy);
            Applied::Duplicated(tree::join(parent, &(index + 1).to_string()))
        }
        Mutation::Rename(i, c) => {
            let ptr = i.get(&keys).clone();
            let (parent, key) = split(&ptr);
            let map = mapping(doc, parent);
            let renamed = format!("{key}{c}");
            let entries: Vec<(String, Json)> = std::mem::take(map).into_iter().collect();
            for (k, v) in entries {
                if k == key {
                    map.insert(renamed.clone(), v);
                } else {
                    map.insert(k, v);
                }
            }
            let to = tree::join(parent, &renamed);
            Applied::Renamed(ptr.clone(), to)
        }
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn mutations_of_the_complete_example_give_well_formed_reports(
        mutations in prop::collection::vec(mutation(), 1..3)
    ) {
        let registry = complete_registry();
        let mut doc = complete_json();
        let mut applied = Vec::new();
        for m in &mutations {
            applied.push(apply(&mut doc, m));
        }
        let text = serde_json::to_string(&doc).expect("serializes");
        let packet = Packet::from_json(&text).expect("a JSON re-encoding parses");
        let report = gangway::validate(&packet, Some(&registry), Some(Stage::Extraction), as_of());
        check_report(&report);
        // Progress blocks exactly when validating at the last stage fails.
        let progress = gangway::progress(&packet, Some(&registry), as_of());
        prop_assert_eq!(
            progress.first_blocked.is_none(),
            report.ok,
            "progress: {}\nreport: {}",
            progress.to_json(),
            report.to_json()
        );

        // Only the first edit is guaranteed to act on the original document.
        match applied.first() {
            Some(Applied::Deleted(ptr)) => {
                let info = Packet::field_info(ptr).expect("every example key is in the schema");
                if info.required && applied.len() == 1 {
                    prop_assert!(!report.ok, "deleting required {ptr} left the report ok");
                    prop_assert!(
                        report.findings.iter().any(|f| f.code == "packet.missing" && f.path == *ptr),
                        "deleting {ptr}: no packet.missing there:\n{}", report.to_json()
                    );
                }
            }
            Some(Applied::Renamed(from, to)) if applied.len() == 1 => {
                // Every mapping in the example is a record, so the new name is unknown.
                prop_assert!(!report.ok, "renaming {from} to {to} left the report ok");
                prop_assert!(
                    report.findings.iter().any(|f| f.code == "packet.unknown_field" && f.path == *to),
                    "renaming {from}: no packet.unknown_field at {to}:\n{}", report.to_json()
                );
            }
            Some(Applied::Duplicated(ptr))
                if applied.len() == 1 && !ptr.contains("/tracked_gaps/") =>
            {
                // Every list in the example except tracked_gaps has an identity.
                prop_assert!(!report.ok, "duplicating {ptr} left the report ok");
                prop_assert!(
                    report.findings.iter().any(|f| f.code == "packet.duplicate" && f.path == *ptr),
                    "duplicating into {ptr}: no packet.duplicate there:\n{}", report.to_json()
                );
            }
            _ => {}
        }
    }
}

// ---- hostile YAML ----

fn assert_parse_error(result: Result<Packet, ParseError>, what: &str) {
    match result {
        Ok(_) => panic!("{what} was accepted"),
        Err(e) => {
            assert_eq!(e.finding().code, ParseError::CODE, "{what}: {e}");
            assert_eq!(ParseError::CODE, "packet.parse");
            // Refused by a budget (nodes, aliases or depth), not by a syntax error.
            assert!(e.to_string().contains("limit"), "{what}: {e}");
        }
    }
}

#[test]
fn alias_bomb_is_refused() {
    // Ten levels, each a list of ten aliases of the level below: 10^10 nodes expanded.
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..=10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    assert_parse_error(Packet::from_yaml(&bomb), "alias bomb");
    let wrapped = format!(
        "product_onboarding_packet:\n  packet_id: x\n  exceptions:\n{}",
        bomb.lines()
            .map(|l| format!("    - {}\n", l.replace(": &", ": {k: &").replace(']', "]}")))
            .collect::<String>()
    );
    assert_parse_error(Packet::from_yaml(&wrapped), "alias bomb inside a packet");
}

#[test]
fn deep_flow_list_is_refused() {
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert_parse_error(Packet::from_yaml(&deep), "10,000-deep flow list");
    assert_parse_error(Packet::from_json(&deep), "10,000-deep JSON list");
    let deep_map = format!("{}1{}", "{a: ".repeat(10_000), "}".repeat(10_000));
    assert_parse_error(Packet::from_yaml(&deep_map), "10,000-deep flow mapping");
}

#[test]
fn hostile_registries_are_refused() {
    let deep = format!("registry: {}{}", "[".repeat(10_000), "]".repeat(10_000));
    assert!(Registry::from_yaml(&deep).is_err());
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..=10 {
        let refs = vec![format!("*a{}", i - 1); 10].join(", ");
        bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
    }
    let err = Registry::from_yaml(&bomb).expect_err("alias bomb accepted as a registry");
    assert_eq!(err.code(), "registry.parse", "{err}");
}
