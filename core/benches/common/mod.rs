//! Shared by the benchmarks: a registry of realistic size, a temporary directory and
//! billing fixtures.

#![allow(dead_code)]
// not every benchmark uses every helper
// A benchmark's setup failing is a broken benchmark: unwrap/expect/index freely.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]

use std::path::{Path, PathBuf};

use gangway::registry::parse_version;
use gangway::{Date, Entry, Kind, Registry, State};

/// Entries in the generated registries.
pub const REGISTRY_SIZE: usize = 10_000;

/// The states generated entries take, round-robin: active twice as often as the
/// others.
pub const STATES: [State; 5] = [
    State::Active,
    State::Active,
    State::Draft,
    State::Deprecated,
    State::Retired,
];

/// A directory under the target dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh, empty directory named `{name}-{process id}`.
    pub fn new(name: &str) -> TempDir {
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The example registry's entries plus filler entries, spread round-robin over all
/// fourteen kinds, up to `REGISTRY_SIZE` entries.
pub fn big_registry(example: &str) -> Option<Registry> {
    let base = match Registry::from_yaml(example) {
        Ok(reg) => reg,
        Err(e) => {
            eprintln!("note: the example registry does not load: {e}");
            return None;
        }
    };
    let mut entries: Vec<Entry> = base.entries().to_vec();
    let mut kinds = Kind::ALL.iter().copied().cycle();
    let mut states = STATES.iter().copied().cycle();
    let mut n = 0usize;
    while entries.len() < REGISTRY_SIZE {
        let (Some(kind), Some(state)) = (kinds.next(), states.next()) else {
            return None;
        };
        let key = match kind {
            Kind::Product => format!("filler-product-{n}"),
            Kind::Scope => format!("filler_{}:resource_{n}:read", n % 97),
            Kind::Role => format!("filler_role_{n}"),
            _ => format!("filler.{kind}.{n}"),
        };
        entries.push(Entry {
            kind,
            key,
            version: (kind == Kind::UsageUnit)
                .then(|| parse_version(&format!("v{}", n % 3 + 1)))
                .flatten(),
            state,
            owner: format!("platform-team-{}", n % 23),
            product: n.is_multiple_of(2).then(|| format!("filler-product-{}", n % 50)),
            description: Some(format!("filler {kind} number {n}")),
            sunset: (state == State::Deprecated).then(|| Date::constant(2027, 6, 30)),
        });
        n += 1;
    }
    match Registry::from_entries(entries) {
        Ok(reg) => Some(reg),
        Err(e) => {
            eprintln!("note: the generated registry was refused: {e}");
            None
        }
    }
}

/// Billing fixtures for the billing benchmarks: the complete example's registry and
/// packet (so the guard accepts `token-factory` usage), a rate card and generated
/// usage events.
pub mod billing {
    use gangway::billing::RateCard;
    use gangway::billing::usage::UsageRecord;
    use gangway::{Format, Origin, Store, Timestamp, Version};

    const PACKET: &str = include_str!("../../../examples/token-factory-complete/packet.yaml");
    const REGISTRY: &str = include_str!("../../../examples/token-factory-complete/registry.yaml");
    const CARD: &str = "rate_card:
  currency: USD
  rates:
    - {unit: token_input, version: 1.0.0, price: \"0.0020\", effective_from: 2026-01-01}
    - {unit: token_output, version: 1.0.0, price: \"0.0100\", effective_from: 2026-01-01, effective_until: 2026-11-15}
    - {unit: token_output, version: 1.0.0, price: \"0.0080\", effective_from: 2026-11-15}
";

    /// An origin for `actor` at a fixed time.
    pub fn origin(actor: &str) -> Origin {
        Origin::new(actor, Timestamp::constant(1_796_115_600, 0)) // 2026-12-01T09:00:00Z
    }

    /// Imports the registry and packet and sets the rate card.
    pub fn setup(store: &mut Store) -> Option<()> {
        let o = origin("setup");
        let report = |e: &dyn std::fmt::Display| eprintln!("note: billing setup failed: {e}");
        store.import_registry(&o, REGISTRY).map_err(|e| report(&e)).ok()?;
        store
            .put_packet(&o, PACKET, Format::Yaml)
            .map_err(|e| report(&e))
            .ok()?;
        let card = RateCard::from_yaml(CARD).map_err(|e| report(&e)).ok()?;
        store.set_rate_card(&o, &card).map_err(|e| report(&e)).ok()?;
        Some(())
    }

    /// Usage event number `n` of `tenant` (key `{tenant}-{n}`): alternating
    /// `token_input` and `token_output`, spread over November 2026.
    pub fn event(tenant: &str, n: u64) -> UsageRecord {
        // 2026-11-01T00:00:00Z plus up to 30 days.
        let second = 1_793_491_200 + i64::try_from((n * 7_919) % (30 * 86_400)).unwrap_or(0);
        UsageRecord {
            product: "token-factory".into(),
            unit: if n.is_multiple_of(2) {
                "token_input"
            } else {
                "token_output"
            }
            .into(),
            version: Version::new(1, 0, 0),
            quantity: 1 + n % 500,
            resource_type: "model_endpoint".into(),
            tenant: tenant.into(),
            idempotency_key: format!("{tenant}-{n}"),
            at: Timestamp::from_second(second).unwrap_or(Timestamp::UNIX_EPOCH),
        }
    }

    /// Events `from..from + count` of `tenant`.
    pub fn events(tenant: &str, from: u64, count: u64) -> Vec<UsageRecord> {
        (from..from + count).map(|n| event(tenant, n)).collect()
    }

    /// The same events as JSON Lines.
    pub fn jsonl(tenant: &str, from: u64, count: u64) -> String {
        let mut out = String::new();
        for e in events(tenant, from, count) {
            out.push_str(&serde_json::to_string(&e).unwrap_or_default());
            out.push('\n');
        }
        out
    }
}
