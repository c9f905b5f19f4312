//! The SQLite store: one file (or `:memory:`) holding the registry, stored packets,
//! billing (rate cards, ledger, invoices, purchase orders: [`crate::billing::store`]),
//! review sign-offs and evidence ([`crate::records::store`]), checklist runs
//! ([`crate::checklist::store`]) and the audit log.
//!
//! Every mutation runs in one `BEGIN IMMEDIATE` transaction together with its audit
//! record, so a change and its record land together or not at all. Files use WAL with
//! `synchronous = FULL` (a crash loses no committed write) and a busy timeout, so two
//! processes can write to the same file. Schema migrations are versioned
//! (`PRAGMA user_version`) and run on open.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OptionalExtension, Transaction, TransactionBehavior, params};
use semver::Version;
use serde::Serialize;
use serde_json::{Value as Json, json};
use sha2::{Digest, Sha256};

use crate::audit::{self, Checkpoint, Origin, Record, Verification};
use crate::packet::{Format, Packet, ParseError};
use crate::registry::{Entry, Kind, Registry, RegistryError, State};
use crate::report::Finding;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = 4;

const MIGRATIONS: &[&str] = &[
    // 1: registry entries, packet versions, the audit log.
    "CREATE TABLE entries (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        version TEXT NOT NULL DEFAULT '',
        state TEXT NOT NULL,
        owner TEXT NOT NULL,
        product TEXT,
        description TEXT,
        sunset TEXT,
        PRIMARY KEY (kind, key, version)
    );
    CREATE TABLE packets (
        packet_id TEXT NOT NULL,
        version INTEGER NOT NULL,
        digest TEXT NOT NULL,
        format TEXT NOT NULL,
        text TEXT NOT NULL,
        stored_at TEXT NOT NULL,
        stored_by TEXT NOT NULL,
        PRIMARY KEY (packet_id, version)
    );
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        target TEXT NOT NULL,
        before TEXT,
        after TEXT,
        request_id TEXT,
        prev_hash TEXT NOT NULL,
        hash TEXT NOT NULL
    );
    CREATE INDEX audit_actor ON audit (actor);
    CREATE INDEX audit_action ON audit (action);
    CREATE INDEX audit_target ON audit (target);",
    // 2: billing (see `crate::billing::store`); its audit actions are registered too.
    "CREATE TABLE rate_cards (
        version INTEGER PRIMARY KEY,
        currency TEXT NOT NULL,
        rates TEXT NOT NULL,
        set_at TEXT NOT NULL,
        set_by TEXT NOT NULL
    );
    CREATE TABLE ledger (
        seq INTEGER PRIMARY KEY,
        tenant TEXT NOT NULL,
        product TEXT NOT NULL,
        unit TEXT NOT NULL,
        version TEXT NOT NULL,
        quantity INTEGER NOT NULL,
        resource_type TEXT NOT NULL,
        at TEXT NOT NULL,
        day TEXT NOT NULL,
        idempotency_key TEXT NOT NULL UNIQUE
    );
    CREATE INDEX ledger_tenant_day ON ledger (tenant, day);
    CREATE TABLE invoices (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        company TEXT,
        period_start TEXT NOT NULL,
        period_end TEXT NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        lines TEXT NOT NULL,
        total INTEGER NOT NULL,
        payment_reference TEXT,
        cancel_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX invoices_tenant ON invoices (tenant);
    CREATE TABLE idempotency (
        key TEXT PRIMARY KEY,
        operation TEXT NOT NULL,
        params_digest TEXT NOT NULL,
        result TEXT NOT NULL
    );
    CREATE TABLE purchase_orders (
        id TEXT PRIMARY KEY,
        tenant TEXT NOT NULL,
        reference TEXT NOT NULL,
        amount INTEGER NOT NULL,
        currency TEXT NOT NULL,
        state TEXT NOT NULL,
        approved_by TEXT,
        rejection_reason TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX purchase_orders_tenant ON purchase_orders (tenant);",
    // 3: review sign-offs and stage-5 evidence (see `crate::records::store`).
    "CREATE TABLE signoffs (
        seq INTEGER PRIMARY KEY,
        packet_id TEXT NOT NULL,
        role TEXT NOT NULL,
        reviewer TEXT NOT NULL,
        decision TEXT NOT NULL,
        reasons TEXT NOT NULL,
        at TEXT NOT NULL,
        digest TEXT NOT NULL
    );
    CREATE INDEX signoffs_packet ON signoffs (packet_id);
    CREATE TABLE evidence (
        seq INTEGER PRIMARY KEY,
        packet_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        ref TEXT NOT NULL,
        digest TEXT,
        url TEXT,
        recorded_by TEXT NOT NULL,
        at TEXT NOT NULL
    );
    CREATE INDEX evidence_packet ON evidence (packet_id);",
    // 4: checklist runs (see `crate::checklist::store`): each run keeps the text of
    // its template, so it stays evaluable when the template changes.
    "CREATE TABLE checklist_runs (
        id TEXT PRIMARY KEY,
        template_id TEXT NOT NULL,
        template_text TEXT NOT NULL,
        template_digest TEXT NOT NULL,
        parameters TEXT NOT NULL,
        packet_id TEXT,
        technical_owner TEXT,
        technical_owner_at TEXT,
        rollback_authority TEXT,
        support_channel TEXT,
        support_sla TEXT,
        adoption_thresholds TEXT,
        created_at TEXT NOT NULL,
        created_by TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX checklist_runs_packet ON checklist_runs (packet_id);
    CREATE TABLE checklist_items (
        run_id TEXT NOT NULL REFERENCES checklist_runs (id),
        item TEXT NOT NULL,
        state TEXT NOT NULL,
        evidence TEXT NOT NULL,
        by TEXT,
        at TEXT,
        waiver_owner TEXT,
        waiver_reason TEXT,
        waiver_expires TEXT,
        result TEXT,
        note TEXT,
        PRIMARY KEY (run_id, item)
    );
    CREATE INDEX checklist_items_waiver ON checklist_items (waiver_expires);
    CREATE TABLE checklist_gaps (
        seq INTEGER PRIMARY KEY,
        run_id TEXT NOT NULL REFERENCES checklist_runs (id),
        text TEXT NOT NULL,
        owner TEXT NOT NULL,
        due TEXT NOT NULL,
        added_at TEXT NOT NULL,
        added_by TEXT NOT NULL
    );
    CREATE INDEX checklist_gaps_run ON checklist_gaps (run_id);
    CREATE TABLE adoption_weeks (
        run_id TEXT NOT NULL REFERENCES checklist_runs (id),
        week INTEGER NOT NULL,
        row TEXT NOT NULL,
        recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL,
        PRIMARY KEY (run_id, week)
    );",
];

/// Why a store operation failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// SQLite failed (I/O, corruption, lock timeout).
    #[error("store: {0}")]
    Sqlite(#[from] rusqlite::Error),
    /// The file was written by a newer build.
    #[error("the store's schema is version {found}; this build reads up to version {supported}")]
    Version {
        /// Version in the file.
        found: i64,
        /// Newest version this build knows.
        supported: i64,
    },
    /// No such registry entry.
    #[error("{kind} `{key}` is not in the registry")]
    NotFound {
        /// Entry kind.
        kind: Kind,
        /// Entry label (`key` or `key@version`).
        key: String,
    },
    /// The entry already exists.
    #[error("{kind} `{key}` is already in the registry")]
    Exists {
        /// Entry kind.
        kind: Kind,
        /// Entry label.
        key: String,
    },
    /// A lifecycle move that is not allowed.
    #[error("cannot move {kind} `{key}` from `{from}` to `{to}`: entries only move forward (draft → active → deprecated → retired); {}", transition_hint(*.from, *.to))]
    IllegalTransition {
        /// Entry kind.
        kind: Kind,
        /// Entry label.
        key: String,
        /// Its state.
        from: State,
        /// The state asked for.
        to: State,
    },
    /// A registry document that does not load.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A packet that cannot be read.
    #[error(transparent)]
    Parse(#[from] ParseError),
    /// No such stored packet (or version).
    #[error("packet `{0}` is not in the store")]
    PacketNotFound(String),
    /// An audit action that is not registered and active.
    #[error("audit action `{0}` is not a registered, active audit action")]
    UnregisteredAction(String),
    /// Input the store refuses.
    #[error("{0}")]
    Invalid(String),
    /// An idempotency key reused with different parameters (or another operation).
    #[error("idempotency key `{key}` was first used for {operation} with other parameters")]
    IdempotencyConflict {
        /// The key.
        key: String,
        /// The operation it was first used for.
        operation: String,
    },
    /// A billing error (its code passes through: `billing.rate_missing`, …).
    #[error(transparent)]
    Billing(#[from] crate::billing::BillingError),
    /// A refused invoice operation, with every blocker.
    #[error(transparent)]
    InvoiceTransition(#[from] crate::billing::TransitionError),
    /// A refused purchase-order operation, with every blocker.
    #[error(transparent)]
    PoTransition(#[from] crate::billing::PoError),
    /// No such invoice.
    #[error("invoice `{0}` is not in the store")]
    InvoiceNotFound(String),
    /// No such purchase order.
    #[error("purchase order `{0}` is not in the store")]
    PoNotFound(String),
    /// A purchase order with that id already exists.
    #[error("purchase order `{0}` is already in the store")]
    PoExists(String),
    /// No rate card has been set.
    #[error("no rate card is set; set one before generating invoices")]
    RateCardMissing,
    /// A sign-off the store refuses.
    #[error(transparent)]
    SignOff(#[from] crate::review::SignOffError),
    /// An evidence record the store refuses.
    #[error(transparent)]
    Evidence(#[from] crate::evidence::EvidenceError),
    /// A checklist-run operation the store refuses (its code passes through:
    /// `checklist.run_not_found`, `checklist.unknown_item`, …).
    #[error(transparent)]
    Checklist(#[from] crate::checklist::store::RunError),
}

impl StoreError {
    /// A stable code for callers and bindings.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Sqlite(_) => "store.sqlite",
            StoreError::Version { .. } => "store.version",
            StoreError::NotFound { .. } => "registry.not_found",
            StoreError::Exists { .. } => "registry.exists",
            StoreError::IllegalTransition { .. } => "registry.illegal_transition",
            StoreError::Registry(e) => e.code(),
            StoreError::Parse(_) => ParseError::CODE,
            StoreError::PacketNotFound(_) => "packet.not_found",
            StoreError::UnregisteredAction(_) => "audit.action_unregistered",
            StoreError::Invalid(_) => "store.invalid",
            StoreError::IdempotencyConflict { .. } => "idempotency_conflict",
            StoreError::Billing(e) => e.code(),
            StoreError::InvoiceTransition(e) => e.code(),
            StoreError::PoTransition(e) => e.code(),
            StoreError::InvoiceNotFound(_) => "billing.invoice_not_found",
            StoreError::PoNotFound(_) => "billing.po_not_found",
            StoreError::PoExists(_) => "billing.po_exists",
            StoreError::RateCardMissing => "billing.rate_card_missing",
            StoreError::SignOff(e) => e.code(),
            StoreError::Evidence(e) => e.code(),
            StoreError::Checklist(e) => e.code(),
        }
    }
}

type Result<T> = std::result::Result<T, StoreError>;

fn transition_hint(from: State, to: State) -> String {
    if from == to {
        return format!("it is already `{to}`");
    }
    let next: Vec<&str> = State::NAMES
        .iter()
        .filter_map(|n| State::from_name(n))
        .filter(|s| from.can_move_to(*s))
        .map(State::as_str)
        .collect();
    if next.is_empty() {
        format!("nothing leaves `{from}`")
    } else {
        format!("from `{from}` it may move to {}", next.join(" or "))
    }
}

/// Refuses a usage-unit reference without a version: units are known by key and
/// version together.
fn check_ref(r: &EntryRef) -> Result<()> {
    if r.kind == Kind::UsageUnit && r.version.is_none() {
        return Err(StoreError::Invalid(format!("usage unit `{}` needs a version", r.key)));
    }
    Ok(())
}

/// Names one registry entry: kind, key and (usage units) version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryRef {
    /// Entry kind.
    pub kind: Kind,
    /// Entry key.
    pub key: String,
    /// Version (usage units).
    pub version: Option<Version>,
}

impl EntryRef {
    /// A reference to `kind` / `key` (no version).
    pub fn new(kind: Kind, key: impl Into<String>) -> EntryRef {
        EntryRef {
            kind,
            key: key.into(),
            version: None,
        }
    }

    /// The reference to an existing entry.
    pub fn of(entry: &Entry) -> EntryRef {
        EntryRef {
            kind: entry.kind,
            key: entry.key.clone(),
            version: entry.version.clone(),
        }
    }

    /// `key` or `key@version`.
    pub fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.key),
            None => self.key.clone(),
        }
    }

    /// The audit target: `<kind>:<label>`.
    pub fn target(&self) -> String {
        format!("{}:{}", self.kind, self.label())
    }

    fn version_text(&self) -> String {
        self.version.as_ref().map(Version::to_string).unwrap_or_default()
    }
}

/// A stored packet version, without its text.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PacketInfo {
    /// The packet's id.
    pub packet_id: String,
    /// 1 for the first stored version.
    pub version: u32,
    /// SHA-256 (hex) of the document's canonical JSON.
    pub digest: String,
    /// `yaml` or `json`.
    pub format: String,
    /// When it was stored.
    pub stored_at: Timestamp,
    /// Who stored it.
    pub stored_by: String,
}

/// A stored packet version with its text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredPacket {
    /// Which version.
    pub info: PacketInfo,
    /// The document as stored.
    pub text: String,
}

impl StoredPacket {
    /// Parses the stored text.
    pub fn parse(&self) -> std::result::Result<Packet, ParseError> {
        let format = Format::from_name(&self.info.format).unwrap_or(Format::Yaml);
        Packet::parse(&self.text, format, &crate::Limits::default())
    }
}

/// What `put_packet` did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PutOutcome {
    /// The version now current.
    pub info: PacketInfo,
    /// False when the document was identical to the current version (nothing stored).
    pub created: bool,
}

/// What `import_registry` did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ImportSummary {
    /// Entries added.
    pub added: usize,
    /// Entries whose owner, product, description or sunset changed.
    pub updated: usize,
    /// Entries that moved along their lifecycle.
    pub moved: usize,
    /// Entries already as the file says.
    pub unchanged: usize,
}

/// A stored packet that names an entry, and where.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImpactHit {
    /// The packet.
    pub packet_id: String,
    /// Its current version.
    pub version: u32,
    /// JSON Pointers of the places that name the entry.
    pub paths: Vec<String>,
}

/// A registry change to try without landing it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Move an entry to a state.
    SetState {
        /// Which entry.
        entry: EntryRef,
        /// The new state.
        to: State,
    },
    /// Add an entry.
    Add(Entry),
    /// Take an entry out of the registry.
    Remove(EntryRef),
}

/// A stored packet whose verdict would flip.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Flip {
    /// The packet.
    pub packet_id: String,
    /// Its current version.
    pub version: u32,
    /// The stage validated (the one its lifecycle selects).
    pub stage: crate::Stage,
    /// Verdict today.
    pub ok_before: bool,
    /// Verdict after the change.
    pub ok_after: bool,
    /// Findings the change would add.
    pub appeared: Vec<Finding>,
    /// Findings the change would clear.
    pub resolved: Vec<Finding>,
}

/// Which audit records to read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Exactly this actor.
    pub actor: Option<String>,
    /// Exactly this action.
    pub action: Option<String>,
    /// This target exactly; a filter ending in `:` matches every target that starts
    /// with it (`packet:` matches every packet, `scope:` every scope).
    pub target: Option<String>,
    /// At or after.
    pub since: Option<Timestamp>,
    /// Before.
    pub until: Option<Timestamp>,
}

/// The store.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) a store file and migrates it.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        let conn = Connection::open(path)?;
        set_wal(&conn)?;
        Store::setup(conn)
    }

    /// A store in memory (for tests and notebooks).
    pub fn open_in_memory() -> Result<Store> {
        Store::setup(Connection::open_in_memory()?)
    }

    fn setup(conn: Connection) -> Result<Store> {
        conn.busy_timeout(BUSY_TIMEOUT)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;
        let mut store = Store { conn };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64> {
        Ok(self.conn.query_row("PRAGMA user_version", [], |r| r.get(0))?)
    }

    fn migrate(&mut self) -> Result<()> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let found: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let supported = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if found > supported {
            return Err(StoreError::Version { found, supported });
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(usize::try_from(found).unwrap_or(0)) {
            tx.execute_batch(sql)?;
            let actions = match i {
                0 => audit::BUILTIN_ACTIONS,
                1 => audit::BILLING_ACTIONS,
                2 => audit::RECORD_ACTIONS,
                3 => audit::CHECKLIST_ACTIONS,
                _ => &[],
            };
            for (action, description) in actions {
                tx.execute(
                    "INSERT OR IGNORE INTO entries (kind, key, version, state, owner, description) VALUES ('audit_action', ?1, '', 'active', 'platform-audit', ?2)",
                    params![action, description],
                )?;
            }
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(i64::MAX))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The connection, for reads by other modules (billing).
    pub(crate) fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Runs `f` in one immediate transaction; commits when it succeeds.
    pub(crate) fn write<T>(&mut self, f: impl FnOnce(&Transaction<'_>) -> Result<T>) -> Result<T> {
        let tx = self.conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let out = f(&tx)?;
        tx.commit()?;
        Ok(out)
    }

    // ---- registry ----

    /// Adds an entry (refused when it exists).
    pub fn add_entry(&mut self, origin: &Origin, entry: &Entry) -> Result<()> {
        self.write(|tx| add_entry(tx, origin, entry))
    }

    /// Changes an entry's owner, product, description and sunset to `entry`'s. The
    /// state only changes through [`Store::set_state`].
    pub fn update_entry(&mut self, origin: &Origin, entry: &Entry) -> Result<Entry> {
        self.write(|tx| {
            let r = EntryRef::of(entry);
            let before = get_entry(tx, &r)?.ok_or_else(|| not_found(&r))?;
            if before.state != entry.state {
                return Err(StoreError::Invalid(format!(
                    "{} `{}` is `{}`; change its state with set-state, not update",
                    r.kind,
                    r.label(),
                    before.state
                )));
            }
            if before != *entry {
                put_fields(tx, entry)?;
                append(
                    tx,
                    origin,
                    "registry.entry.update",
                    &r.target(),
                    Some(before.to_json()),
                    Some(entry.to_json()),
                )?;
            }
            Ok(entry.clone())
        })
    }

    /// Moves an entry along its lifecycle; `sunset` is recorded for a deprecation.
    pub fn set_state(&mut self, origin: &Origin, r: &EntryRef, to: State, sunset: Option<Date>) -> Result<Entry> {
        check_ref(r)?;
        self.write(|tx| set_state(tx, origin, r, to, sunset))
    }

    /// One entry.
    pub fn entry(&self, r: &EntryRef) -> Result<Option<Entry>> {
        check_ref(r)?;
        get_entry(&self.conn, r)
    }

    /// Every entry (of `kind`, when given), sorted by kind, key and version.
    pub fn entries(&self, kind: Option<Kind>) -> Result<Vec<Entry>> {
        let mut stmt = self
            .conn
            .prepare("SELECT kind, key, version, state, owner, product, description, sunset FROM entries")?;
        let rows = stmt.query_map([], row_to_entry)?;
        let mut out = Vec::new();
        for row in rows {
            let e = row??;
            if kind.is_none_or(|k| k == e.kind) {
                out.push(e);
            }
        }
        out.sort_by(|a, b| (a.kind, &a.key, &a.version).cmp(&(b.kind, &b.key, &b.version)));
        Ok(out)
    }

    /// The registry as it is now (an immutable snapshot for validation and guards).
    pub fn registry(&self) -> Result<Registry> {
        Ok(Registry::from_entries(self.entries(None)?)?)
    }

    /// Applies a registry document: adds new entries, moves states forward, updates
    /// other fields; every change audited. Entries the file does not list are left
    /// alone. Refused whole if any move is illegal.
    pub fn import_registry(&mut self, origin: &Origin, text: &str) -> Result<ImportSummary> {
        let incoming = Registry::from_yaml(text)?;
        self.write(|tx| {
            let mut sum = ImportSummary::default();
            for entry in incoming.entries() {
                let r = EntryRef::of(entry);
                match get_entry(tx, &r)? {
                    None => {
                        add_entry(tx, origin, entry)?;
                        sum.added += 1;
                    }
                    Some(current) if current == *entry => sum.unchanged += 1,
                    Some(current) => {
                        if current.state != entry.state {
                            set_state(tx, origin, &r, entry.state, entry.sunset)?;
                            sum.moved += 1;
                        }
                        let now = get_entry(tx, &r)?.ok_or_else(|| not_found(&r))?;
                        if now != *entry {
                            put_fields(tx, entry)?;
                            append(
                                tx,
                                origin,
                                "registry.entry.update",
                                &r.target(),
                                Some(now.to_json()),
                                Some(entry.to_json()),
                            )?;
                            sum.updated += 1;
                        }
                    }
                }
            }
            Ok(sum)
        })
    }

    /// The registry as a registry document (`registry:` with one list per kind),
    /// sorted, so import → export → import → export is byte-stable.
    pub fn export_registry(&self) -> Result<String> {
        Ok(registry_yaml(&self.entries(None)?))
    }

    // ---- packets ----

    /// Stores a new version of a packet (a document equal to the current version is
    /// not stored again). The packet must parse and have a `packet_id`.
    pub fn put_packet(&mut self, origin: &Origin, text: &str, format: Format) -> Result<PutOutcome> {
        let packet = Packet::parse(text, format, &crate::Limits::default())?;
        let id = packet
            .packet_id()
            .filter(|id| !id.trim().is_empty())
            .ok_or_else(|| {
                StoreError::Invalid("the packet has no packet_id; a stored packet is known by it".to_owned())
            })?
            .to_owned();
        let digest = packet.digest();
        self.write(|tx| {
            if let Some(current) = latest_info(tx, &id)?
                && current.digest == digest
            {
                return Ok(PutOutcome { info: current, created: false });
            }
            let version: u32 = tx.query_row(
                "SELECT COALESCE(MAX(version), 0) + 1 FROM packets WHERE packet_id = ?1",
                params![id],
                |r| r.get(0),
            )?;
            let info = PacketInfo {
                packet_id: id.clone(),
                version,
                digest: digest.clone(),
                format: format.name().to_owned(),
                stored_at: origin.at,
                stored_by: origin.actor.clone(),
            };
            tx.execute(
                "INSERT INTO packets (packet_id, version, digest, format, text, stored_at, stored_by) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                params![id, version, digest, info.format, text, origin.at.to_string(), origin.actor],
            )?;
            append(tx, origin, "packet.put", &format!("packet:{id}"), None, Some(json!({"version": version, "digest": digest})))?;
            Ok(PutOutcome { info, created: true })
        })
    }

    /// The current version of every stored packet, sorted by id.
    pub fn packets(&self) -> Result<Vec<PacketInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT packet_id, version, digest, format, stored_at, stored_by FROM packets p
             WHERE version = (SELECT MAX(version) FROM packets q WHERE q.packet_id = p.packet_id)
             ORDER BY packet_id",
        )?;
        let rows = stmt.query_map([], row_to_info)?;
        rows.map(|r| r?).collect()
    }

    /// Every stored version of one packet, oldest first.
    pub fn packet_history(&self, packet_id: &str) -> Result<Vec<PacketInfo>> {
        let mut stmt = self.conn.prepare(
            "SELECT packet_id, version, digest, format, stored_at, stored_by FROM packets WHERE packet_id = ?1 ORDER BY version",
        )?;
        let rows = stmt.query_map(params![packet_id], row_to_info)?;
        rows.map(|r| r?).collect()
    }

    /// One stored version (the current one when `version` is `None`).
    pub fn packet(&self, packet_id: &str, version: Option<u32>) -> Result<StoredPacket> {
        let row = match version {
            Some(v) => self
                .conn
                .query_row(
                    "SELECT packet_id, version, digest, format, stored_at, stored_by, text FROM packets WHERE packet_id = ?1 AND version = ?2",
                    params![packet_id, v],
                    row_to_stored,
                )
                .optional()?,
            None => self
                .conn
                .query_row(
                    "SELECT packet_id, version, digest, format, stored_at, stored_by, text FROM packets WHERE packet_id = ?1 ORDER BY version DESC LIMIT 1",
                    params![packet_id],
                    row_to_stored,
                )
                .optional()?,
        };
        let label = match version {
            Some(v) => format!("{packet_id}` version `{v}"),
            None => packet_id.to_owned(),
        };
        row.ok_or(StoreError::PacketNotFound(label))?
    }

    /// The current version of every stored packet, parsed (unparseable ones skipped:
    /// they could not have been stored).
    pub fn current_packets(&self) -> Result<Vec<(PacketInfo, Packet)>> {
        let mut out = Vec::new();
        for info in self.packets()? {
            let stored = self.packet(&info.packet_id, Some(info.version))?;
            if let Ok(p) = stored.parse() {
                out.push((info, p));
            }
        }
        Ok(out)
    }

    /// The store's revision: the number of audit records. Every mutation writes one, so
    /// a service polls this cheaply and rebuilds its guard snapshot when it moves.
    pub fn revision(&self) -> Result<u64> {
        let n: i64 = self
            .conn
            .query_row("SELECT COALESCE(MAX(seq), 0) FROM audit", [], |r| r.get(0))?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    /// Swaps `guards` to a fresh snapshot when the store changed since `seen` (a
    /// revision); returns the revision now current. Requests in flight finish on the
    /// snapshot they hold.
    pub fn refresh_guards(&self, guards: &crate::guard::Guards, seen: u64) -> Result<u64> {
        let now = self.revision()?;
        if now != seen {
            guards.swap(self.snapshot()?);
        }
        Ok(now)
    }

    /// A guard snapshot of the registry and every stored packet's current version.
    pub fn snapshot(&self) -> Result<crate::guard::Snapshot> {
        let packets = self.current_packets()?;
        let refs: Vec<&Packet> = packets.iter().map(|(_, p)| p).collect();
        Ok(crate::guard::Snapshot::new(self.registry()?, &refs))
    }

    // ---- impact ----

    /// Every stored packet (current version) that names the entry, with where.
    pub fn impact(&self, r: &EntryRef) -> Result<Vec<ImpactHit>> {
        let mut out = Vec::new();
        for (info, packet) in self.current_packets()? {
            let Some(body) = packet.body() else { continue };
            let paths: Vec<String> = crate::rules::registry::named(body)
                .into_iter()
                .filter(|n| n.kind == r.kind && n.key == r.key && (r.version.is_none() || n.version == r.version))
                .map(|n| n.ptr.to_owned())
                .collect();
            if !paths.is_empty() {
                out.push(ImpactHit {
                    packet_id: info.packet_id,
                    version: info.version,
                    paths,
                });
            }
        }
        Ok(out)
    }

    /// Re-validates every stored packet (current version, at the stage its lifecycle
    /// selects, with its recorded sign-offs and evidence) against the registry as it
    /// would be after `change`, and returns those that would gain or lose an error —
    /// before the change lands. A packet already failing for another reason is still
    /// listed when the change adds an error to it; changes in warnings alone are not.
    pub fn dry_run(&self, change: &Change, as_of: Date) -> Result<Vec<Flip>> {
        let now = self.entries(None)?;
        let after = apply_change(now.clone(), change)?;
        let before_reg = Registry::from_entries(now)?;
        let after_reg = Registry::from_entries(after)?;
        let mut out = Vec::new();
        for (info, packet) in self.current_packets()? {
            let stage = crate::validate::stage_for(&packet);
            let records = self.records(&info.packet_id)?;
            let a = crate::validate_with(&packet, Some(&before_reg), Some(&records), Some(stage), as_of);
            let b = crate::validate_with(&packet, Some(&after_reg), Some(&records), Some(stage), as_of);
            let appeared: Vec<Finding> = b.findings.iter().filter(|f| !a.findings.contains(f)).cloned().collect();
            let resolved: Vec<Finding> = a.findings.iter().filter(|f| !b.findings.contains(f)).cloned().collect();
            if !appeared.iter().chain(&resolved).any(Finding::is_error) {
                continue;
            }
            out.push(Flip {
                packet_id: info.packet_id,
                version: info.version,
                stage,
                ok_before: a.ok,
                ok_after: b.ok,
                appeared,
                resolved,
            });
        }
        Ok(out)
    }

    // ---- audit ----

    /// Audit records matching `filter`, in log order.
    pub fn audit_records(&self, filter: &AuditFilter) -> Result<Vec<Record>> {
        let mut sql = String::from(
            "SELECT seq, at, actor, action, target, before, after, request_id, prev_hash, hash FROM audit WHERE 1 = 1",
        );
        let mut args: Vec<String> = Vec::new();
        if let Some(a) = &filter.actor {
            args.push(a.clone());
            sql.push_str(&format!(" AND actor = ?{}", args.len()));
        }
        if let Some(a) = &filter.action {
            args.push(a.clone());
            sql.push_str(&format!(" AND action = ?{}", args.len()));
        }
        if let Some(t) = &filter.target {
            args.push(t.clone());
            let n = args.len();
            sql.push_str(&format!(
                " AND (target = ?{n} OR (substr(?{n}, -1) = ':' AND substr(target, 1, length(?{n})) = ?{n}))"
            ));
        }
        sql.push_str(" ORDER BY seq");
        let mut stmt = self.conn.prepare(&sql)?;
        let rows = stmt.query_map(rusqlite::params_from_iter(args.iter()), row_to_record)?;
        let mut out = Vec::new();
        for row in rows {
            let r = row??;
            if filter.since.is_some_and(|s| r.at < s) || filter.until.is_some_and(|u| r.at >= u) {
                continue;
            }
            out.push(r);
        }
        Ok(out)
    }

    /// Walks the whole log and names the first edited, removed or reordered record.
    pub fn audit_verify(&self) -> Result<Verification> {
        Ok(audit::verify_records(self.audit_records(&AuditFilter::default())?))
    }

    /// Writes the whole log as JSON Lines; returns the number of records.
    pub fn audit_export(&self, out: &mut impl std::io::Write) -> Result<u64> {
        let records = self.audit_records(&AuditFilter::default())?;
        for r in &records {
            writeln!(out, "{}", r.to_json_line())
                .map_err(|e| StoreError::Invalid(format!("cannot write the export: {e}")))?;
        }
        Ok(records.len() as u64)
    }

    /// Takes a checkpoint of the log as it is (optionally signed with an Ed25519 seed,
    /// hex), then records that it was taken. Refused when the log does not verify.
    pub fn audit_checkpoint(&mut self, origin: &Origin, seed_hex: Option<&str>) -> Result<Checkpoint> {
        let v = self.audit_verify()?;
        if let Some(b) = &v.breach {
            return Err(StoreError::Invalid(format!(
                "the audit log does not verify: {}",
                b.message
            )));
        }
        let mut cp = Checkpoint::new(v.records, v.head, origin.at);
        if let Some(seed) = seed_hex {
            cp = cp.sign(seed).map_err(|e| StoreError::Invalid(e.0))?;
        }
        let summary = json!({"count": cp.count, "head": cp.head, "public_key": cp.public_key});
        self.write(|tx| append(tx, origin, "audit.checkpoint", "audit", None, Some(summary)))?;
        Ok(cp)
    }
}

/// How long a write waits for another connection's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Switches the file to WAL. When two processes open a new file at once, both
/// switching it can deadlock on the file lock, and SQLite then answers `SQLITE_BUSY`
/// at once rather than call the busy handler; so retry, for as long as a write would
/// wait.
fn set_wal(conn: &Connection) -> Result<()> {
    let deadline = std::time::Instant::now() + BUSY_TIMEOUT;
    loop {
        match conn.pragma_update(None, "journal_mode", "WAL") {
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.code == rusqlite::ErrorCode::DatabaseBusy && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(Duration::from_millis(2));
            }
            done => return Ok(done?),
        }
    }
}

// ---- helpers inside transactions ----

fn not_found(r: &EntryRef) -> StoreError {
    StoreError::NotFound {
        kind: r.kind,
        key: r.label(),
    }
}

fn add_entry(tx: &Transaction<'_>, origin: &Origin, entry: &Entry) -> Result<()> {
    let r = EntryRef::of(entry);
    if entry.kind == Kind::UsageUnit && entry.version.is_none() {
        return Err(StoreError::Invalid(format!(
            "usage unit `{}` needs a version",
            entry.key
        )));
    }
    if entry.kind != Kind::UsageUnit && entry.version.is_some() {
        return Err(StoreError::Invalid(format!(
            "only usage units have versions; {} `{}` does not",
            entry.kind, entry.key
        )));
    }
    if get_entry(tx, &r)?.is_some() {
        return Err(StoreError::Exists {
            kind: r.kind,
            key: r.label(),
        });
    }
    tx.execute(
        "INSERT INTO entries (kind, key, version, state, owner, product, description, sunset) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
        params![
            entry.kind.as_str(),
            entry.key,
            r.version_text(),
            entry.state.as_str(),
            entry.owner,
            entry.product,
            entry.description,
            entry.sunset.map(|d| d.to_string())
        ],
    )?;
    append(
        tx,
        origin,
        "registry.entry.add",
        &r.target(),
        None,
        Some(entry.to_json()),
    )?;
    Ok(())
}

fn put_fields(tx: &Transaction<'_>, entry: &Entry) -> Result<()> {
    let r = EntryRef::of(entry);
    tx.execute(
        "UPDATE entries SET owner = ?4, product = ?5, description = ?6, sunset = ?7 WHERE kind = ?1 AND key = ?2 AND version = ?3",
        params![
            entry.kind.as_str(),
            entry.key,
            r.version_text(),
            entry.owner,
            entry.product,
            entry.description,
            entry.sunset.map(|d| d.to_string())
        ],
    )?;
    Ok(())
}

fn set_state(tx: &Transaction<'_>, origin: &Origin, r: &EntryRef, to: State, sunset: Option<Date>) -> Result<Entry> {
    let before = get_entry(tx, r)?.ok_or_else(|| not_found(r))?;
    if !before.state.can_move_to(to) {
        return Err(StoreError::IllegalTransition {
            kind: r.kind,
            key: r.label(),
            from: before.state,
            to,
        });
    }
    let mut after = before.clone();
    after.state = to;
    if sunset.is_some() {
        after.sunset = sunset;
    }
    tx.execute(
        "UPDATE entries SET state = ?4, sunset = ?5 WHERE kind = ?1 AND key = ?2 AND version = ?3",
        params![
            r.kind.as_str(),
            r.key,
            r.version_text(),
            to.as_str(),
            after.sunset.map(|d| d.to_string())
        ],
    )?;
    append(
        tx,
        origin,
        "registry.entry.set_state",
        &r.target(),
        Some(before.to_json()),
        Some(after.to_json()),
    )?;
    Ok(after)
}

/// Appends an audit record inside `tx`; the action must be a registered, active
/// audit action.
pub(crate) fn append(
    tx: &Transaction<'_>,
    origin: &Origin,
    action: &str,
    target: &str,
    before: Option<Json>,
    after: Option<Json>,
) -> Result<Record> {
    let registered: Option<String> = tx
        .query_row(
            "SELECT state FROM entries WHERE kind = 'audit_action' AND key = ?1 AND version = ''",
            params![action],
            |r| r.get(0),
        )
        .optional()?;
    if registered.as_deref() != Some("active") {
        return Err(StoreError::UnregisteredAction(action.to_owned()));
    }
    let last: Option<(i64, String)> = tx
        .query_row("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .optional()?;
    let (seq, prev) = match last {
        Some((s, h)) => (u64::try_from(s).unwrap_or(0) + 1, h),
        None => (1, audit::GENESIS.to_owned()),
    };
    let rec = Record::new(seq, origin, action, target, before, after, &prev);
    tx.execute(
        "INSERT INTO audit (seq, at, actor, action, target, before, after, request_id, prev_hash, hash) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
            i64::try_from(rec.seq).unwrap_or(i64::MAX),
            rec.at.to_string(),
            rec.actor,
            rec.action,
            rec.target,
            rec.before.as_ref().map(Json::to_string),
            rec.after.as_ref().map(Json::to_string),
            rec.request_id,
            rec.prev_hash,
            rec.hash
        ],
    )?;
    Ok(rec)
}

fn get_entry(conn: &Connection, r: &EntryRef) -> Result<Option<Entry>> {
    let row = conn
        .query_row(
            "SELECT kind, key, version, state, owner, product, description, sunset FROM entries WHERE kind = ?1 AND key = ?2 AND version = ?3",
            params![r.kind.as_str(), r.key, r.version_text()],
            row_to_entry,
        )
        .optional()?;
    row.transpose()
}

pub(crate) fn bad_row(what: &str, value: &str) -> StoreError {
    StoreError::Invalid(format!("the store holds an unreadable {what} `{value}`"))
}

fn row_to_entry(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Entry>> {
    let kind: String = row.get(0)?;
    let key: String = row.get(1)?;
    let version: String = row.get(2)?;
    let state: String = row.get(3)?;
    let sunset: Option<String> = row.get(7)?;
    let build = || -> Result<Entry> {
        Ok(Entry {
            kind: kind.parse::<Kind>().map_err(|_| bad_row("kind", &kind))?,
            version: if version.is_empty() {
                None
            } else {
                Some(Version::parse(&version).map_err(|_| bad_row("version", &version))?)
            },
            state: State::from_name(&state).ok_or_else(|| bad_row("state", &state))?,
            owner: row.get(4).map_err(StoreError::from)?,
            product: row.get(5).map_err(StoreError::from)?,
            description: row.get(6).map_err(StoreError::from)?,
            sunset: match &sunset {
                Some(s) => Some(crate::decode::parse_date(s).ok_or_else(|| bad_row("date", s))?),
                None => None,
            },
            key: key.clone(),
        })
    };
    Ok(build())
}

fn timestamp(s: &str) -> Result<Timestamp> {
    s.parse::<Timestamp>().map_err(|_| bad_row("timestamp", s))
}

fn row_to_info(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<PacketInfo>> {
    let stored_at: String = row.get(4)?;
    let info = (|| -> Result<PacketInfo> {
        Ok(PacketInfo {
            packet_id: row.get(0)?,
            version: row.get(1)?,
            digest: row.get(2)?,
            format: row.get(3)?,
            stored_at: timestamp(&stored_at)?,
            stored_by: row.get(5)?,
        })
    })();
    Ok(info)
}

fn row_to_stored(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<StoredPacket>> {
    let text: String = row.get(6)?;
    Ok(row_to_info(row)?.map(|info| StoredPacket { info, text }))
}

fn latest_info(tx: &Transaction<'_>, id: &str) -> Result<Option<PacketInfo>> {
    let row = tx
        .query_row(
            "SELECT packet_id, version, digest, format, stored_at, stored_by FROM packets WHERE packet_id = ?1 ORDER BY version DESC LIMIT 1",
            params![id],
            row_to_info,
        )
        .optional()?;
    row.transpose()
}

fn row_to_record(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Record>> {
    let at: String = row.get(1)?;
    let before: Option<String> = row.get(5)?;
    let after: Option<String> = row.get(6)?;
    let json_of = |s: &Option<String>| -> Result<Option<Json>> {
        match s {
            Some(t) => serde_json::from_str(t).map(Some).map_err(|_| bad_row("audit value", t)),
            None => Ok(None),
        }
    };
    let rec = (|| -> Result<Record> {
        Ok(Record {
            seq: u64::try_from(row.get::<_, i64>(0)?).map_err(|_| bad_row("sequence number", "negative"))?,
            at: timestamp(&at)?,
            actor: row.get(2)?,
            action: row.get(3)?,
            target: row.get(4)?,
            before: json_of(&before)?,
            after: json_of(&after)?,
            request_id: row.get(7)?,
            prev_hash: row.get(8)?,
            hash: row.get(9)?,
        })
    })();
    Ok(rec)
}

fn apply_change(mut entries: Vec<Entry>, change: &Change) -> Result<Vec<Entry>> {
    let find = |entries: &[Entry], r: &EntryRef| {
        entries
            .iter()
            .position(|e| e.kind == r.kind && e.key == r.key && e.version == r.version)
    };
    match change {
        Change::SetState { entry, to } => {
            let i = find(&entries, entry).ok_or_else(|| not_found(entry))?;
            if let Some(e) = entries.get_mut(i) {
                if !e.state.can_move_to(*to) {
                    return Err(StoreError::IllegalTransition {
                        kind: e.kind,
                        key: entry.label(),
                        from: e.state,
                        to: *to,
                    });
                }
                e.state = *to;
            }
        }
        Change::Add(e) => {
            if find(&entries, &EntryRef::of(e)).is_some() {
                return Err(StoreError::Exists {
                    kind: e.kind,
                    key: e.label(),
                });
            }
            entries.push(e.clone());
        }
        Change::Remove(r) => {
            let i = find(&entries, r).ok_or_else(|| not_found(r))?;
            entries.remove(i);
        }
    }
    Ok(entries)
}

// ---- registry YAML ----

/// A YAML scalar: plain when that reads back as the same string, else JSON-quoted.
fn scalar(s: &str) -> String {
    let plain_safe = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.' | b'/' | b'@' | b':'))
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphabetic())
        && !s.contains(": ")
        && !s.ends_with(':')
        && !matches!(
            s.to_ascii_lowercase().as_str(),
            "true" | "false" | "null" | "yes" | "no" | "on" | "off" | "y" | "n" | "nan" | "inf"
        );
    if plain_safe {
        s.to_owned()
    } else {
        serde_json::to_string(s).unwrap_or_default()
    }
}

fn registry_yaml(entries: &[Entry]) -> String {
    let mut by_kind: BTreeMap<Kind, Vec<&Entry>> = BTreeMap::new();
    for e in entries {
        by_kind.entry(e.kind).or_default().push(e);
    }
    let mut out = String::from("registry:\n");
    if by_kind.is_empty() {
        return "registry: {}\n".to_owned();
    }
    for (kind, list) in by_kind {
        out.push_str(&format!("  {}:\n", kind.plural()));
        for e in list {
            out.push_str(&format!("    - key: {}\n", scalar(&e.key)));
            if let Some(v) = &e.version {
                out.push_str(&format!("      version: {}\n", scalar(&v.to_string())));
            }
            out.push_str(&format!("      state: {}\n", e.state));
            out.push_str(&format!("      owner: {}\n", scalar(&e.owner)));
            if let Some(p) = &e.product {
                out.push_str(&format!("      product: {}\n", scalar(p)));
            }
            if let Some(d) = &e.description {
                out.push_str(&format!("      description: {}\n", scalar(d)));
            }
            if let Some(s) = e.sunset {
                out.push_str(&format!("      sunset: {s}\n"));
            }
        }
    }
    out
}

/// SHA-256 (hex) of bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin() -> Origin {
        Origin::new("alice", "2026-11-22T10:00:00Z".parse().unwrap())
    }

    fn entry(kind: Kind, key: &str, state: State) -> Entry {
        Entry {
            kind,
            key: key.into(),
            version: None,
            state,
            owner: "platform-iam".into(),
            product: None,
            description: None,
            sunset: None,
        }
    }

    #[test]
    fn lifecycle_moves_are_audited_and_checked() {
        let mut s = Store::open_in_memory().unwrap();
        let e = entry(Kind::Scope, "tf:model:invoke", State::Draft);
        s.add_entry(&origin(), &e).unwrap();
        assert!(matches!(s.add_entry(&origin(), &e), Err(StoreError::Exists { .. })));
        let r = EntryRef::of(&e);
        s.set_state(&origin(), &r, State::Active, None).unwrap();
        s.set_state(&origin(), &r, State::Retired, None).unwrap();
        let err = s.set_state(&origin(), &r, State::Active, None).unwrap_err();
        assert_eq!(err.code(), "registry.illegal_transition");
        assert!(err.to_string().contains("from `retired` to `active`"));
        let log = s.audit_records(&AuditFilter::default()).unwrap();
        let actions: Vec<&str> = log.iter().map(|r| r.action.as_str()).collect();
        assert_eq!(
            actions,
            [
                "registry.entry.add",
                "registry.entry.set_state",
                "registry.entry.set_state"
            ]
        );
        assert!(s.audit_verify().unwrap().ok);
    }

    #[test]
    fn export_import_round_trips() {
        let text = include_str!("../../examples/token-factory-complete/registry.yaml");
        let mut a = Store::open_in_memory().unwrap();
        let sum = a.import_registry(&origin(), text).unwrap();
        assert!(sum.added > 40);
        let out = a.export_registry().unwrap();
        let mut b = Store::open_in_memory().unwrap();
        b.import_registry(&origin(), &out).unwrap();
        assert_eq!(b.export_registry().unwrap(), out);
        // Importing the same file again changes nothing.
        let again = a.import_registry(&origin(), &out).unwrap();
        assert_eq!((again.added, again.updated, again.moved), (0, 0, 0));
    }

    #[test]
    fn packets_keep_versions_and_digests() {
        let mut s = Store::open_in_memory().unwrap();
        let text = include_str!("../../examples/token-factory/packet.yaml");
        let first = s.put_packet(&origin(), text, Format::Yaml).unwrap();
        assert!(first.created);
        let same = s.put_packet(&origin(), text, Format::Yaml).unwrap();
        assert!(!same.created);
        assert_eq!(same.info.version, 1);
        let edited = text.replace("lifecycle_state: draft", "lifecycle_state: onboarding");
        let second = s.put_packet(&origin(), &edited, Format::Yaml).unwrap();
        assert_eq!(second.info.version, 2);
        assert_ne!(second.info.digest, first.info.digest);
        assert_eq!(s.packet_history("token-factory-onboarding-v1").unwrap().len(), 2);
        assert_eq!(s.packet("token-factory-onboarding-v1", Some(1)).unwrap().text, text);
        assert_eq!(s.packet("nope", None).unwrap_err().code(), "packet.not_found");
    }

    #[test]
    fn guards_refresh_when_the_store_changes() {
        let mut s = Store::open_in_memory().unwrap();
        s.import_registry(
            &origin(),
            include_str!("../../examples/token-factory-complete/registry.yaml"),
        )
        .unwrap();
        let guards = crate::guard::Guards::new(s.snapshot().unwrap());
        let seen = s.revision().unwrap();
        assert_eq!(s.refresh_guards(&guards, seen).unwrap(), seen);
        assert!(guards.is_visible("token-factory", false));
        s.set_state(
            &origin(),
            &EntryRef::new(Kind::Product, "token-factory"),
            State::Retired,
            None,
        )
        .unwrap();
        assert!(guards.is_visible("token-factory", false), "not refreshed yet");
        let now = s.refresh_guards(&guards, seen).unwrap();
        assert_eq!(now, seen + 1);
        assert!(!guards.is_visible("token-factory", false));
    }

    #[test]
    fn impact_and_dry_run() {
        let mut s = Store::open_in_memory().unwrap();
        s.import_registry(
            &origin(),
            include_str!("../../examples/token-factory-complete/registry.yaml"),
        )
        .unwrap();
        s.put_packet(
            &origin(),
            include_str!("../../examples/token-factory-complete/packet.yaml"),
            Format::Yaml,
        )
        .unwrap();
        let scope = EntryRef::new(Kind::Scope, "token_factory:model:invoke");
        let hits = s.impact(&scope).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].paths.len(), 1);
        let as_of = Date::constant(2026, 11, 22);
        let flips = s
            .dry_run(
                &Change::SetState {
                    entry: scope.clone(),
                    to: State::Retired,
                },
                as_of,
            )
            .unwrap();
        assert_eq!(flips.len(), 1);
        // Without sign-offs the packet already fails (review.missing); the change adds an error.
        assert!(!flips[0].ok_before && !flips[0].ok_after);
        assert!(flips[0].appeared.iter().any(|f| f.code == "registry.entry_retired"));
        // Nothing landed.
        assert_eq!(s.entry(&scope).unwrap().unwrap().state, State::Active);
        let none = s
            .dry_run(
                &Change::SetState {
                    entry: scope,
                    to: State::Deprecated,
                },
                as_of,
            )
            .unwrap();
        assert!(none.is_empty(), "a deprecation only warns: {none:?}");
    }
}
