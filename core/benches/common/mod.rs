//! Shared by the benchmarks: a registry of realistic size.

use gangway::registry::parse_version;
use gangway::{Date, Entry, Kind, Registry, State};

/// Entries in the generated registries.
pub const REGISTRY_SIZE: usize = 10_000;

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
    let states = [
        State::Active,
        State::Active,
        State::Draft,
        State::Deprecated,
        State::Retired,
    ];
    let mut kinds = Kind::ALL.iter().copied().cycle();
    let mut states = states.iter().copied().cycle();
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
