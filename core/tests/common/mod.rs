//! Helpers shared by the store's integration tests.

use std::path::{Path, PathBuf};

#[cfg(unix)]
pub mod child;

/// A directory under the target dir, removed when dropped.
pub struct TempDir(pub PathBuf);

impl TempDir {
    /// A fresh directory whose name starts with `name`.
    pub fn new(name: &str) -> TempDir {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.subsec_nanos());
        let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The store file inside it.
    #[allow(dead_code)] // not every test file uses it
    pub fn db(&self) -> PathBuf {
        self.0.join("gangway.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `PRAGMA integrity_check` on a store file.
#[allow(dead_code)] // not every test file uses it
pub fn integrity_check(db: &Path) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let result: String = conn.query_row("PRAGMA integrity_check", [], |r| r.get(0)).unwrap();
    assert_eq!(result, "ok");
}

/// Billing fixtures shared by the billing reliability tests: the complete example's
/// registry and packet (so the guard accepts `token-factory` usage), a rate card and a
/// deterministic stream of usage events.
#[allow(dead_code)] // not every test file uses every helper
pub mod billing {
    use gangway::audit::Origin;
    use gangway::billing::RateCard;
    use gangway::billing::usage::UsageRecord;
    use gangway::{Date, Format, Store, Version};

    /// The complete example's packet: `token-factory`, billable, with its usage units.
    pub const PACKET: &str = include_str!("../../../examples/token-factory-complete/packet.yaml");
    /// The complete example's registry.
    pub const REGISTRY: &str = include_str!("../../../examples/token-factory-complete/registry.yaml");

    /// `token_input` at 0.0020 all year; `token_output` at 0.0100 before 2026-11-15 and
    /// 0.0080 from then on; `request` has no rate.
    pub const CARD: &str = "rate_card:
  currency: USD
  rates:
    - {unit: token_input, version: 1.0.0, price: \"0.0020\", effective_from: 2026-01-01}
    - {unit: token_output, version: 1.0.0, price: \"0.0100\", effective_from: 2026-01-01, effective_until: 2026-11-15}
    - {unit: token_output, version: 1.0.0, price: \"0.0080\", effective_from: 2026-11-15}
";

    /// Tenants the generated events are spread over.
    pub const TENANTS: [&str; 3] = ["tenant-acme", "tenant-beta", "tenant-gamma"];

    /// An origin for `actor` at a fixed time.
    pub fn origin(actor: &str) -> Origin {
        Origin::new(actor, "2026-12-01T09:00:00Z".parse().unwrap())
    }

    /// Imports the registry and packet and sets the rate card.
    pub fn setup(store: &mut Store) {
        let o = origin("setup");
        store.import_registry(&o, REGISTRY).unwrap();
        store.put_packet(&o, PACKET, Format::Yaml).unwrap();
        store.set_rate_card(&o, &RateCard::from_yaml(CARD).unwrap()).unwrap();
    }

    /// Usage event number `i` of the deterministic stream (key `{prefix}-{i}`): a rated
    /// unit, one of [`TENANTS`], a day in November 2026, a small quantity.
    pub fn event(prefix: &str, i: u64) -> UsageRecord {
        let day = 1 + (i * 7) % 30;
        let second = (i * 13) % 86_400;
        let at = format!(
            "2026-11-{day:02}T{:02}:{:02}:{:02}Z",
            second / 3600,
            second / 60 % 60,
            second % 60
        );
        UsageRecord {
            product: "token-factory".into(),
            unit: if i.is_multiple_of(2) {
                "token_input"
            } else {
                "token_output"
            }
            .into(),
            version: Version::new(1, 0, 0),
            quantity: 1 + i % 97,
            resource_type: "model_endpoint".into(),
            tenant: TENANTS[usize::try_from(i % 3).unwrap()].into(),
            idempotency_key: format!("{prefix}-{i}"),
            at: at.parse().unwrap(),
        }
    }

    /// One JSON Lines line for `event` (the form `ingest_jsonl` reads).
    pub fn jsonl(event: &UsageRecord) -> String {
        serde_json::to_string(event).unwrap()
    }

    /// The whole stream's JSON Lines text for events `0..count`.
    pub fn jsonl_text(prefix: &str, count: u64) -> String {
        let mut out = String::new();
        for i in 0..count {
            out.push_str(&jsonl(&event(prefix, i)));
            out.push('\n');
        }
        out
    }

    /// A period covering every event any test writes.
    pub fn everything() -> (Date, Date) {
        ("2000-01-01".parse().unwrap(), "2100-01-01".parse().unwrap())
    }

    /// Every ledger event of every tenant in [`TENANTS`] (and `extra` tenants), by key.
    pub fn ledger_by_key(store: &Store, extra: &[&str]) -> std::collections::BTreeMap<String, UsageRecord> {
        let (start, end) = everything();
        let mut out = std::collections::BTreeMap::new();
        for tenant in TENANTS.iter().chain(extra) {
            for e in store.ledger(tenant, start, end).unwrap() {
                let record = UsageRecord {
                    product: "token-factory".into(),
                    unit: e.unit,
                    version: e.version,
                    quantity: e.quantity,
                    resource_type: "model_endpoint".into(),
                    tenant: e.tenant,
                    idempotency_key: e.idempotency_key.clone(),
                    at: e.at,
                };
                let again = out.insert(e.idempotency_key.clone(), record);
                assert!(again.is_none(), "`{}` is in the ledger twice", e.idempotency_key);
            }
        }
        out
    }
}
