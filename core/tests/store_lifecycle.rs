//! Property test of the registry entry lifecycle in the store against a model.
//!
//! Random sequences of adds, lifecycle moves, updates and registry imports run against
//! an in-memory store and against a plain model (a map of entries and the allowed-move
//! table, written out here rather than taken from `State::can_move_to`). After every
//! step the store's entries equal the model's, a refused step changed nothing and
//! returned the model's error code, and the audit log holds exactly one record per
//! change (with the expected action and target) and verifies.

// Helpers in an integration-test crate are not `#[test]` functions, so clippy.toml's
// allow-*-in-tests does not reach them; a failed expectation should panic here.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::collections::BTreeMap;

use gangway::audit::{self, Origin};
use gangway::store::{AuditFilter, EntryRef};
use gangway::{Date, Entry, Kind, State, Store};
use proptest::prelude::*;
use semver::Version;

/// The moves the spec allows (draft → active → deprecated → retired, forward only,
/// skipping allowed, nothing leaves retired), written out independently.
const MOVES: &[(State, State)] = &[
    (State::Draft, State::Active),
    (State::Draft, State::Retired),
    (State::Active, State::Deprecated),
    (State::Active, State::Retired),
    (State::Deprecated, State::Retired),
];

const OWNERS: &[&str] = &["platform-iam", "platform-billing", "team-x"];
const PRODUCTS: &[&str] = &["token-factory", "vector-db"];
/// Descriptions that are awkward in YAML, to check imports keep them exactly.
const DESCRIPTIONS: &[&str] = &[
    "plain words",
    "colon: space",
    "quote \" and 'single'",
    "yes",
    "null",
    "# not a comment",
    "- dash first",
    "ünïcødé — dash",
    "two\nlines",
];

fn sunsets() -> [Date; 2] {
    [Date::constant(2027, 1, 31), Date::constant(2027, 6, 30)]
}

/// Which entry: a kind and an index; usage units get a version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Slot {
    kind: Kind,
    idx: u8,
}

impl Slot {
    fn key(self) -> String {
        match self.kind {
            Kind::Scope => format!("life:s:{}", self.idx),
            Kind::Product => format!("life-p{}", self.idx),
            _ => format!("life_u{}", self.idx / 2),
        }
    }

    fn version(self) -> Option<Version> {
        (self.kind == Kind::UsageUnit).then(|| Version::new(1 + u64::from(self.idx % 2), 0, 0))
    }

    fn model_key(self) -> (Kind, String, Option<Version>) {
        (self.kind, self.key(), self.version())
    }

    fn entry_ref(self) -> EntryRef {
        EntryRef {
            kind: self.kind,
            key: self.key(),
            version: self.version(),
        }
    }

    /// The audit target: `<kind>:<key>` or `<kind>:<key>@<version>`.
    fn target(self) -> String {
        match self.version() {
            Some(v) => format!("{}:{}@{v}", self.kind.as_str(), self.key()),
            None => format!("{}:{}", self.kind.as_str(), self.key()),
        }
    }
}

/// Owner, product, description and sunset, as indexes into the pools.
#[derive(Debug, Clone, Copy)]
struct Fields {
    owner: usize,
    product: Option<usize>,
    description: Option<usize>,
    sunset: Option<usize>,
}

fn make_entry(slot: Slot, state: State, f: Fields) -> Entry {
    Entry {
        kind: slot.kind,
        key: slot.key(),
        version: slot.version(),
        state,
        owner: OWNERS[f.owner].to_owned(),
        product: f.product.map(|i| PRODUCTS[i].to_owned()),
        description: f.description.map(|i| DESCRIPTIONS[i].to_owned()),
        sunset: f.sunset.map(|i| sunsets()[i]),
    }
}

#[derive(Debug, Clone)]
enum Op {
    Add(Slot, State, Fields),
    SetState(Slot, State, Option<usize>),
    /// New fields; the state sent is the entry's own unless `wrong_state` is given.
    Update(Slot, Fields, Option<State>),
    Import(Vec<(Slot, State, Fields)>),
}

fn slot() -> impl Strategy<Value = Slot> {
    (
        prop_oneof![Just(Kind::Scope), Just(Kind::Product), Just(Kind::UsageUnit)],
        0u8..4,
    )
        .prop_map(|(kind, idx)| Slot { kind, idx })
}

fn state() -> impl Strategy<Value = State> {
    prop_oneof![
        Just(State::Draft),
        Just(State::Active),
        Just(State::Deprecated),
        Just(State::Retired)
    ]
}

fn fields() -> impl Strategy<Value = Fields> {
    (
        0..OWNERS.len(),
        proptest::option::of(0..PRODUCTS.len()),
        proptest::option::of(0..DESCRIPTIONS.len()),
        proptest::option::of(0usize..2),
    )
        .prop_map(|(owner, product, description, sunset)| Fields {
            owner,
            product,
            description,
            sunset,
        })
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        3 => (slot(), state(), fields()).prop_map(|(s, st, f)| Op::Add(s, st, f)),
        4 => (slot(), state(), proptest::option::of(0usize..2)).prop_map(|(s, st, d)| Op::SetState(s, st, d)),
        2 => (slot(), fields(), proptest::option::weighted(0.2, state())).prop_map(|(s, f, w)| Op::Update(s, f, w)),
        1 => proptest::collection::vec((slot(), state(), fields()), 1..6).prop_map(Op::Import),
    ]
}

/// The model: every entry, and how many audit records the log should hold.
struct Model {
    entries: BTreeMap<(Kind, String, Option<Version>), Entry>,
    records: u64,
}

/// What the model expects of one step: the (action, target) of each record it
/// appends, or the error code.
type Expect = Result<Vec<(&'static str, String)>, &'static str>;

impl Model {
    /// A new store holds the built-in and billing audit actions, active, owned by
    /// platform-audit.
    fn new() -> Model {
        let mut entries = BTreeMap::new();
        for (action, description) in audit::registered_actions() {
            let e = Entry {
                kind: Kind::AuditAction,
                key: (*action).to_owned(),
                version: None,
                state: State::Active,
                owner: "platform-audit".to_owned(),
                product: None,
                description: Some((*description).to_owned()),
                sunset: None,
            };
            entries.insert((e.kind, e.key.clone(), None), e);
        }
        Model { entries, records: 0 }
    }

    fn allowed(from: State, to: State) -> bool {
        MOVES.contains(&(from, to))
    }

    fn apply(&mut self, op: &Op) -> Expect {
        let out = match op {
            Op::Add(slot, state, f) => {
                if self.entries.contains_key(&slot.model_key()) {
                    return Err("registry.exists");
                }
                self.entries.insert(slot.model_key(), make_entry(*slot, *state, *f));
                vec![("registry.entry.add", slot.target())]
            }
            Op::SetState(slot, to, sunset) => {
                let Some(e) = self.entries.get_mut(&slot.model_key()) else {
                    return Err("registry.not_found");
                };
                if !Model::allowed(e.state, *to) {
                    return Err("registry.illegal_transition");
                }
                e.state = *to;
                if let Some(i) = sunset {
                    e.sunset = Some(sunsets()[*i]);
                }
                vec![("registry.entry.set_state", slot.target())]
            }
            Op::Update(slot, f, wrong_state) => {
                let Some(e) = self.entries.get_mut(&slot.model_key()) else {
                    return Err("registry.not_found");
                };
                if wrong_state.is_some_and(|w| w != e.state) {
                    return Err("store.invalid");
                }
                let new = make_entry(*slot, e.state, *f);
                if *e == new {
                    vec![]
                } else {
                    *e = new;
                    vec![("registry.entry.update", slot.target())]
                }
            }
            Op::Import(list) => {
                // All or nothing: refused whole when any move is illegal.
                let incoming = import_list(list);
                for (slot, new) in &incoming {
                    if let Some(cur) = self.entries.get(&slot.model_key())
                        && cur.state != new.state
                        && !Model::allowed(cur.state, new.state)
                    {
                        return Err("registry.illegal_transition");
                    }
                }
                let mut out = Vec::new();
                for (slot, new) in incoming {
                    match self.entries.get(&slot.model_key()) {
                        None => out.push(("registry.entry.add", slot.target())),
                        Some(cur) if *cur == new => {}
                        Some(cur) => {
                            // A move (with the file's sunset, when it has one), then the
                            // other fields if they still differ.
                            let mut moved = cur.clone();
                            if cur.state != new.state {
                                out.push(("registry.entry.set_state", slot.target()));
                                moved.state = new.state;
                                moved.sunset = new.sunset.or(cur.sunset);
                            }
                            if moved != new {
                                out.push(("registry.entry.update", slot.target()));
                            }
                        }
                    }
                    self.entries.insert(slot.model_key(), new);
                }
                out
            }
        };
        self.records += out.len() as u64;
        Ok(out)
    }
}

/// The entries an import carries, first of each slot kept, in the order the registry
/// document lists them (one list per kind, kinds in file order).
fn import_list(list: &[(Slot, State, Fields)]) -> Vec<(Slot, Entry)> {
    let mut by_slot: BTreeMap<Slot, Entry> = BTreeMap::new();
    for (slot, state, f) in list {
        by_slot.entry(*slot).or_insert_with(|| make_entry(*slot, *state, *f));
    }
    let mut out: Vec<(Slot, Entry)> = by_slot.into_iter().collect();
    // Kinds in file order (products, scopes, …, usage_units), then as listed.
    out.sort_by_key(|(slot, _)| (Kind::ALL.iter().position(|k| *k == slot.kind), slot.idx));
    out
}

/// A registry document, every scalar JSON-quoted (a valid YAML double-quoted scalar).
fn registry_yaml(entries: &[(Slot, Entry)]) -> String {
    let q = |s: &str| serde_json::to_string(s).unwrap();
    let mut out = String::from("registry:\n");
    let mut kind = None;
    for (slot, e) in entries {
        if kind != Some(e.kind) {
            kind = Some(e.kind);
            out.push_str(&format!("  {}:\n", e.kind.plural()));
        }
        out.push_str(&format!("    - key: {}\n", q(&e.key)));
        if let Some(v) = &e.version {
            // Both spellings a registry file may use.
            let text = if slot.idx < 2 {
                format!("v{}", v.major)
            } else {
                v.to_string()
            };
            out.push_str(&format!("      version: {}\n", q(&text)));
        }
        out.push_str(&format!("      state: {}\n", e.state));
        out.push_str(&format!("      owner: {}\n", q(&e.owner)));
        if let Some(p) = &e.product {
            out.push_str(&format!("      product: {}\n", q(p)));
        }
        if let Some(d) = &e.description {
            out.push_str(&format!("      description: {}\n", q(d)));
        }
        if let Some(s) = e.sunset {
            out.push_str(&format!("      sunset: {s}\n"));
        }
    }
    out
}

fn origin(step: usize) -> Origin {
    Origin {
        actor: format!("actor-{}", step % 3),
        at: jiff::Timestamp::from_second(1_790_000_000 + i64::try_from(step).unwrap()).unwrap(),
        request_id: Some(format!("step-{step}")),
    }
}

/// Runs `op` on the store; the error code when refused.
fn run(store: &mut Store, step: usize, op: &Op) -> Result<(), String> {
    let o = origin(step);
    let code = |e: gangway::StoreError| e.code().to_owned();
    match op {
        Op::Add(slot, state, f) => store.add_entry(&o, &make_entry(*slot, *state, *f)).map_err(code),
        Op::SetState(slot, to, sunset) => store
            .set_state(&o, &slot.entry_ref(), *to, sunset.map(|i| sunsets()[i]))
            .map(|_| ())
            .map_err(code),
        Op::Update(slot, f, wrong_state) => {
            // Send the entry's own state (or the wrong one asked for); an entry that
            // does not exist gets any state.
            let current = store.entry(&slot.entry_ref()).unwrap().map(|e| e.state);
            let state = wrong_state.or(current).unwrap_or(State::Draft);
            store
                .update_entry(&o, &make_entry(*slot, state, *f))
                .map(|_| ())
                .map_err(code)
        }
        Op::Import(list) => store
            .import_registry(&o, &registry_yaml(&import_list(list)))
            .map(|_| ())
            .map_err(code),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn store_lifecycle_matches_the_model(ops in proptest::collection::vec(op(), 1..40)) {
        let mut store = Store::open_in_memory().unwrap();
        let mut model = Model::new();
        prop_assert_eq!(store.entries(None).unwrap(), model.entries.values().cloned().collect::<Vec<_>>());
        for (step, op) in ops.iter().enumerate() {
            let before = store.entries(None).unwrap();
            let expect = model.apply(op);
            let got = run(&mut store, step, op);
            match (&expect, &got) {
                (Ok(_), Ok(())) => {}
                (Err(want), Err(code)) => prop_assert_eq!(*want, code.as_str(), "step {}: {:?}", step, op),
                _ => prop_assert!(false, "step {}: {:?}: model says {:?}, store says {:?}", step, op, expect, got),
            }
            let entries = store.entries(None).unwrap();
            prop_assert_eq!(&entries, &model.entries.values().cloned().collect::<Vec<_>>(), "step {}: {:?}", step, op);
            if got.is_err() {
                prop_assert_eq!(&entries, &before, "a refused step changed the registry");
            }
            // One record per change, with the expected action and target, by this step's
            // origin; the chain verifies.
            let records = store.audit_records(&AuditFilter::default()).unwrap();
            prop_assert_eq!(records.len() as u64, model.records, "step {}: {:?}", step, op);
            let appended = expect.unwrap_or_default();
            let fresh = &records[records.len() - appended.len()..];
            let actions: Vec<(&str, String)> = fresh.iter().map(|r| (r.action.as_str(), r.target.clone())).collect();
            prop_assert_eq!(actions, appended, "step {}: {:?}", step, op);
            for r in fresh {
                prop_assert_eq!(r.request_id.clone(), Some(format!("step-{step}")));
                if r.action == "registry.entry.set_state" {
                    let before_state = r.before.as_ref().and_then(|b| b.get("state")).and_then(|s| s.as_str());
                    let after_state = r.after.as_ref().and_then(|a| a.get("state")).and_then(|s| s.as_str());
                    prop_assert!(
                        before_state.zip(after_state).is_some_and(|(b, a)| {
                            let (b, a) = (State::from_name(b).unwrap(), State::from_name(a).unwrap());
                            Model::allowed(b, a)
                        }),
                        "a set_state record for a move the table refuses: {:?} → {:?}", before_state, after_state
                    );
                }
            }
            let v = store.audit_verify().unwrap();
            prop_assert!(v.ok, "{:?}", v.breach);
            prop_assert_eq!(v.records, model.records);
        }
    }
}

/// A few fixed sequences, so the interesting paths are covered on every run whatever
/// proptest draws.
#[test]
fn fixed_sequences() {
    let scope = Slot {
        kind: Kind::Scope,
        idx: 0,
    };
    let unit = Slot {
        kind: Kind::UsageUnit,
        idx: 1,
    };
    let f = Fields {
        owner: 0,
        product: None,
        description: Some(1),
        sunset: None,
    };
    let g = Fields {
        owner: 1,
        product: Some(0),
        description: Some(8),
        sunset: Some(1),
    };
    let ops = [
        Op::SetState(scope, State::Active, None),        // not found
        Op::Add(scope, State::Draft, f),                 // add
        Op::Add(scope, State::Active, f),                // exists
        Op::SetState(scope, State::Draft, None),         // draft → draft: refused
        Op::SetState(scope, State::Active, None),        // moves
        Op::SetState(scope, State::Draft, None),         // backwards: refused
        Op::SetState(scope, State::Deprecated, Some(0)), // with a sunset
        Op::Update(scope, f, None),                      // drops the sunset: an update
        Op::Update(scope, f, None),                      // same again: no record
        Op::Update(scope, g, Some(State::Active)),       // wrong state: refused
        Op::Import(vec![(scope, State::Active, g), (unit, State::Draft, f)]), // refused whole
        Op::Import(vec![(scope, State::Retired, g), (unit, State::Draft, f)]), // move + update, add
        Op::SetState(scope, State::Active, None),        // nothing leaves retired
        Op::Import(vec![(scope, State::Retired, g), (unit, State::Draft, f)]), // unchanged
    ];
    let mut store = Store::open_in_memory().unwrap();
    let mut model = Model::new();
    for (step, op) in ops.iter().enumerate() {
        let expect = model.apply(op);
        let got = run(&mut store, step, op);
        assert_eq!(
            expect.as_ref().err().copied(),
            got.as_ref().err().map(String::as_str),
            "step {step}: {op:?}"
        );
        assert_eq!(
            store.entries(None).unwrap(),
            model.entries.values().cloned().collect::<Vec<_>>(),
            "step {step}"
        );
    }
    let log = store.audit_records(&AuditFilter::default()).unwrap();
    let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
    assert_eq!(
        actions,
        [
            "registry.entry.add",
            "registry.entry.set_state",
            "registry.entry.set_state",
            "registry.entry.update",
            "registry.entry.set_state",
            "registry.entry.update",
            "registry.entry.add",
        ]
    );
    assert_eq!(model.records, 7);
    assert!(store.audit_verify().unwrap().ok);
}
