//! `gangway registry …`, `gangway packet …` and `gangway audit …`: the commands that
//! read and write the SQLite store.
//!
//! Exit codes follow the rest of the tool, with one addition: an operation the store
//! refuses because of what it holds (an illegal lifecycle move, an entry that exists
//! or is missing, an unknown packet) exits 1 with the typed error and its code, like a
//! check that found errors; a command that could not run at all (bad flags, unreadable
//! files, an invalid registry or packet file, a store that cannot be opened) exits 2.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use gangway::audit::{self, Checkpoint, Origin, Record, Verification};
use gangway::billing::Blocker;
use gangway::store::{AuditFilter, Change, EntryRef, Flip, ImpactHit, PacketInfo};
use gangway::{Date, Entry, Format, Kind, Limits, Registry, State, Store, StoreError};
use jiff::Timestamp;
use semver::Version;
use serde_json::{Value as Json, json};

use crate::{Fatal, PlainFormat, emit, parse_date, today};

/// Where the store is, who is acting, and how to print (shared by every command family
/// that uses the store: `registry`, `packet`, `audit`, `billing`, `review`, `evidence`).
#[derive(Args, Debug)]
pub(crate) struct StoreOpts {
    /// The store file (`:memory:` for a throwaway store).
    #[arg(long, env = "GANGWAY_DB", default_value = "gangway.db", global = true)]
    pub(crate) db: PathBuf,
    /// Who makes the change, for the audit log (default: `$USER`, else `gangway`).
    #[arg(long, env = "GANGWAY_ACTOR", global = true)]
    pub(crate) actor: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlainFormat::Text, global = true)]
    pub(crate) format: PlainFormat,
}

/// `gangway registry …`.
#[derive(Args, Debug)]
pub struct RegistryArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: RegistryCommand,
}

/// Names one entry on the command line.
#[derive(Args, Debug)]
struct EntryArg {
    /// Entry kind (`scope`, `usage_unit`, … or the plural list name).
    #[arg(value_parser = parse_kind)]
    kind: Kind,
    /// Entry key.
    key: String,
    /// Version (usage units; `v1` reads as `1.0.0`).
    #[arg(long, value_parser = parse_version)]
    version: Option<Version>,
}

#[derive(Subcommand, Debug)]
enum RegistryCommand {
    /// Create the store (or migrate it) and print its schema version.
    Init,
    /// Add an entry.
    Add {
        #[command(flatten)]
        entry: EntryArg,
        /// Initial state.
        #[arg(long, value_parser = parse_state, default_value = "draft")]
        state: State,
        /// Owning team.
        #[arg(long)]
        owner: String,
        /// The product it belongs to.
        #[arg(long)]
        product: Option<String>,
        /// What it is.
        #[arg(long)]
        description: Option<String>,
        /// When a deprecated entry goes away (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        sunset: Option<Date>,
    },
    /// Change an entry's owner, product, description or sunset (an empty value clears
    /// product, description and sunset).
    Update {
        #[command(flatten)]
        entry: EntryArg,
        /// Owning team.
        #[arg(long)]
        owner: Option<String>,
        /// The product it belongs to.
        #[arg(long)]
        product: Option<String>,
        /// What it is.
        #[arg(long)]
        description: Option<String>,
        /// When a deprecated entry goes away (YYYY-MM-DD).
        #[arg(long, value_parser = parse_clearable_date)]
        sunset: Option<Clearable>,
    },
    /// Move an entry along its lifecycle (draft → active → deprecated → retired).
    SetState {
        #[command(flatten)]
        entry: EntryArg,
        /// The new state.
        #[arg(value_parser = parse_state)]
        state: State,
        /// Sunset date to record (for a deprecation).
        #[arg(long, value_parser = parse_date)]
        sunset: Option<Date>,
    },
    /// List entries.
    List {
        /// Only this kind.
        #[arg(long, value_parser = parse_kind)]
        kind: Option<Kind>,
        /// Only this state.
        #[arg(long, value_parser = parse_state)]
        state: Option<State>,
    },
    /// Show one entry and its audit history.
    Show {
        #[command(flatten)]
        entry: EntryArg,
    },
    /// Apply a registry file: add new entries, move states forward, update fields.
    Import {
        /// The registry file (YAML, top-level `registry:`).
        file: PathBuf,
    },
    /// Write the registry as a registry file (sorted; imports back unchanged).
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// List the stored packets that name an entry, and where.
    Impact {
        #[command(flatten)]
        entry: EntryArg,
    },
    /// Re-validate every stored packet as if a change had landed; exit 1 when a
    /// verdict would flip to failing.
    DryRun {
        #[command(subcommand)]
        change: DryRunChange,
    },
}

#[derive(Subcommand, Debug)]
enum DryRunChange {
    /// Try a lifecycle move.
    SetState {
        #[command(flatten)]
        entry: EntryArg,
        /// The new state.
        #[arg(value_parser = parse_state)]
        state: State,
        /// Evaluation date, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
    },
    /// Try removing an entry.
    Remove {
        #[command(flatten)]
        entry: EntryArg,
        /// Evaluation date, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
    },
}

/// `gangway packet …`.
#[derive(Args, Debug)]
pub struct PacketArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: PacketCommand,
}

#[derive(Subcommand, Debug)]
enum PacketCommand {
    /// Store a new version of a packet (YAML, or JSON when the name ends in .json).
    Put {
        /// The packet file; `-` reads standard input (YAML).
        file: PathBuf,
    },
    /// List the current version of every stored packet.
    List,
    /// Print a stored packet (text: the document as stored).
    Show {
        /// The packet's id.
        id: String,
        /// Which version (default: the current one).
        #[arg(long)]
        version: Option<u32>,
    },
    /// Print a packet file's digest (SHA-256 of its canonical JSON), the value a review
    /// sign-off names; no store needed.
    Digest {
        /// The packet file; `-` reads standard input (YAML).
        file: PathBuf,
    },
}

/// `gangway audit …`.
#[derive(Args, Debug)]
pub struct AuditArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: AuditCommand,
}

#[derive(Subcommand, Debug)]
enum AuditCommand {
    /// Verify the hash chain (of the store's log, or of an exported log with --export);
    /// exit 1 when it does not hold.
    Verify {
        /// A checkpoint (JSON) the log must extend unchanged.
        #[arg(long)]
        checkpoint: Option<PathBuf>,
        /// Verify this exported log (JSON Lines) instead of the store's; no store needed.
        #[arg(long)]
        export: Option<PathBuf>,
        /// The checkpoint signer's public key (hex, or a file holding it).
        #[arg(long)]
        public_key: Option<String>,
    },
    /// Print audit records.
    Query {
        /// Only this actor.
        #[arg(long)]
        actor: Option<String>,
        /// Only this action.
        #[arg(long)]
        action: Option<String>,
        /// Only this target, or targets below it (`packet:` for every packet).
        #[arg(long)]
        target: Option<String>,
        /// At or after (RFC 3339, or YYYY-MM-DD for the start of that day, UTC).
        #[arg(long, value_parser = parse_since)]
        since: Option<Timestamp>,
        /// Up to (RFC 3339, exclusive; or YYYY-MM-DD for the end of that day, UTC).
        #[arg(long, value_parser = parse_until)]
        until: Option<Timestamp>,
    },
    /// Write the whole log as JSON Lines.
    Export {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Take a checkpoint (record count and head hash), optionally signed.
    Checkpoint {
        /// A file holding the Ed25519 signing key (hex seed, from `audit keygen`).
        #[arg(long)]
        key: Option<PathBuf>,
        /// Also write the checkpoint to this file.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Make an Ed25519 signing key for checkpoints; prints its public key.
    Keygen {
        /// Where to write the key (hex seed, readable by its owner only).
        #[arg(long)]
        out: PathBuf,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

// ---- argument parsers ----

fn parse_kind(s: &str) -> Result<Kind, String> {
    s.parse::<Kind>().map_err(|_| {
        let names: Vec<&str> = Kind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown entry kind `{s}`; one of {}", names.join(", "))
    })
}

fn parse_state(s: &str) -> Result<State, String> {
    State::from_name(s).ok_or_else(|| format!("unknown state `{s}`; one of {}", State::NAMES.join(", ")))
}

fn parse_version(s: &str) -> Result<Version, String> {
    gangway::registry::parse_version(s).ok_or_else(|| format!("`{s}` is not a version (like `1.0.0` or `v1`)"))
}

/// A date, or nothing (an empty value) to clear one.
#[derive(Debug, Clone, Copy)]
struct Clearable(Option<Date>);

fn parse_clearable_date(s: &str) -> Result<Clearable, String> {
    if s.is_empty() {
        Ok(Clearable(None))
    } else {
        parse_date(s).map(|d| Clearable(Some(d)))
    }
}

fn start_of(date: Date) -> Result<Timestamp, String> {
    date.to_zoned(jiff::tz::TimeZone::UTC)
        .map(|z| z.timestamp())
        .map_err(|e| e.to_string())
}

fn parse_time(s: &str, end_of_day: bool) -> Result<Timestamp, String> {
    if let Ok(t) = s.parse::<Timestamp>() {
        return Ok(t);
    }
    let date = gangway::decode::parse_date(s)
        .ok_or_else(|| format!("`{s}` is not a time; write 2026-11-22T10:00:00Z or 2026-11-22"))?;
    if end_of_day {
        start_of(date.tomorrow().map_err(|e| e.to_string())?)
    } else {
        start_of(date)
    }
}

fn parse_since(s: &str) -> Result<Timestamp, String> {
    parse_time(s, false)
}

fn parse_until(s: &str) -> Result<Timestamp, String> {
    parse_time(s, true)
}

// ---- failures ----

/// Why a command stopped.
pub(crate) enum Stop {
    /// Could not run: exit 2.
    Fatal(String),
    /// The store refused the operation because of what it holds: exit 1.
    Refused(Refusal),
}

/// A refusal: its code and message, and for a refused transition every blocker.
pub(crate) struct Refusal {
    code: &'static str,
    message: String,
    transition: Option<Transition>,
}

/// A refused invoice or purchase-order transition.
struct Transition {
    state: &'static str,
    operation: &'static str,
    blockers: Vec<Blocker>,
}

/// A refusal with `code` that is not a refused transition.
pub(crate) fn refused(code: &'static str, message: String) -> Stop {
    Stop::Refused(Refusal {
        code,
        message,
        transition: None,
    })
}

/// The error's message without a leading `code: ` (some errors carry it already).
pub(crate) fn message_of(code: &str, err: &impl std::fmt::Display) -> String {
    let text = err.to_string();
    text.strip_prefix(&format!("{code}: "))
        .map(str::to_owned)
        .unwrap_or(text)
}

impl From<StoreError> for Stop {
    fn from(err: StoreError) -> Stop {
        let code = err.code();
        let message = message_of(code, &err);
        let transition = match &err {
            // The store could not do its work at all, or an input file is invalid: exit 2.
            StoreError::Sqlite(_)
            | StoreError::Version { .. }
            | StoreError::Invalid(_)
            | StoreError::Registry(_)
            | StoreError::Parse(_) => return Stop::Fatal(format!("{code}: {message}")),
            StoreError::InvoiceTransition(t) => Some(Transition {
                state: t.state.as_str(),
                operation: t.operation.as_str(),
                blockers: t.blockers.clone(),
            }),
            StoreError::PoTransition(t) => Some(Transition {
                state: t.state.as_str(),
                operation: t.operation.as_str(),
                blockers: t.blockers.clone(),
            }),
            // Everything else is the store's answer about what it holds: exit 1.
            _ => None,
        };
        Stop::Refused(Refusal {
            code,
            message,
            transition,
        })
    }
}

impl From<Fatal> for Stop {
    fn from(f: Fatal) -> Stop {
        Stop::Fatal(f.0)
    }
}

impl From<Stop> for Fatal {
    /// For commands that only read a store to do something else (`validate --db`): any
    /// failure to read it means the command could not run.
    fn from(stop: Stop) -> Fatal {
        match stop {
            Stop::Fatal(m) => Fatal(m),
            Stop::Refused(r) => Fatal(format!("{}: {}", r.code, r.message)),
        }
    }
}

pub(crate) type Res<T> = Result<T, Stop>;

/// Turns a command's result into its exit code: a refusal is printed (text: on standard
/// error; JSON: `{"error": {code, message, …}}` on standard output) and exits 1.
pub(crate) fn finish(result: Res<ExitCode>, format: PlainFormat) -> Result<ExitCode, Fatal> {
    let refusal = match result {
        Ok(code) => return Ok(code),
        Err(Stop::Fatal(message)) => return Err(Fatal(message)),
        Err(Stop::Refused(r)) => r,
    };
    match format {
        PlainFormat::Json => {
            let mut error = json!({"code": refusal.code, "message": refusal.message});
            if let (Some(t), Json::Object(m)) = (&refusal.transition, &mut error) {
                m.insert("state".to_owned(), json!(t.state));
                m.insert("operation".to_owned(), json!(t.operation));
                let blockers: Vec<Json> = t
                    .blockers
                    .iter()
                    .map(|b| json!({"code": b.code(), "message": b.to_string()}))
                    .collect();
                m.insert("blockers".to_owned(), Json::Array(blockers));
            }
            emit(&gangway::report::canonical_json(&json!({ "error": error })))?;
        }
        PlainFormat::Text => {
            let mut text = format!("gangway: error: {}: {}\n", refusal.code, refusal.message);
            for b in refusal.transition.iter().flat_map(|t| &t.blockers) {
                text.push_str(&format!("  - {}: {b}\n", b.code()));
            }
            eprint!("{text}");
        }
    }
    Ok(ExitCode::from(1))
}

// ---- shared helpers ----

impl StoreOpts {
    fn is_memory(&self) -> bool {
        self.db.as_os_str() == ":memory:"
    }

    /// Opens the store; only `registry init` may create the file.
    pub(crate) fn open(&self, create: bool) -> Res<Store> {
        if self.is_memory() {
            return Ok(Store::open_in_memory()?);
        }
        if !create && !self.db.exists() {
            return Err(Stop::Fatal(format!(
                "no store at {}; create it with `gangway registry init --db {}` (or set GANGWAY_DB)",
                self.db.display(),
                self.db.display()
            )));
        }
        Ok(Store::open(&self.db)?)
    }

    /// Who acts (`--actor`, `GANGWAY_ACTOR`, `$USER`, else `gangway`), now.
    pub(crate) fn origin(&self) -> Origin {
        let actor = self
            .actor
            .clone()
            .filter(|a| !a.trim().is_empty())
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.trim().is_empty()))
            .unwrap_or_else(|| "gangway".to_owned());
        Origin::new(actor, Timestamp::now())
    }

    /// Prints `value` as canonical JSON, or `text` in text mode.
    pub(crate) fn print(&self, value: &Json, text: impl FnOnce() -> String) -> Res<()> {
        let body = match self.format {
            PlainFormat::Json => gangway::report::canonical_json(value),
            PlainFormat::Text => text(),
        };
        Ok(emit(&body)?)
    }
}

/// Opens an existing store file for `validate` and `progress`.
pub(crate) fn open_existing(path: &Path) -> Result<Store, Fatal> {
    let opts = StoreOpts {
        db: path.to_owned(),
        actor: None,
        format: PlainFormat::Text,
    };
    Ok(opts.open(false)?)
}

/// The store's registry, for `validate` and `progress`.
pub(crate) fn registry_of(store: &Store) -> Result<Registry, Fatal> {
    store.registry().map_err(|e| Fatal::from(Stop::from(e)))
}

/// The sign-offs and evidence the store holds for `packet_id` (none when it holds none),
/// for `validate` and `progress`.
pub(crate) fn records_of(store: &Store, packet_id: &str) -> Result<gangway::Records, Fatal> {
    store.records(packet_id).map_err(|e| Fatal::from(Stop::from(e)))
}

/// Opens an existing store file for `scan` and builds a guard snapshot from it.
pub fn snapshot_from_db(path: &Path) -> Result<gangway::guard::Snapshot, Fatal> {
    let opts = StoreOpts {
        db: path.to_owned(),
        actor: None,
        format: PlainFormat::Text,
    };
    let read = || -> Res<gangway::guard::Snapshot> { Ok(opts.open(false)?.snapshot()?) };
    Ok(read()?)
}

fn read_text(path: &Path, what: &str) -> Res<String> {
    std::fs::read_to_string(path).map_err(|e| Stop::Fatal(format!("cannot read {what} {}: {e}", path.display())))
}

fn write_file(path: &Path, body: &str) -> Res<()> {
    std::fs::write(path, body).map_err(|e| Stop::Fatal(format!("cannot write {}: {e}", path.display())))
}

fn entry_ref(arg: &EntryArg) -> EntryRef {
    EntryRef {
        kind: arg.kind,
        key: arg.key.clone(),
        version: arg.version.clone(),
    }
}

/// The entry `arg` names. A usage unit named without `--version` resolves to its only
/// version; with several, the caller must pick one.
fn resolve(store: &Store, arg: &EntryArg) -> Res<EntryRef> {
    let r = entry_ref(arg);
    if r.kind != Kind::UsageUnit || r.version.is_some() {
        return Ok(r);
    }
    let versions: Vec<Entry> = store
        .entries(Some(Kind::UsageUnit))?
        .into_iter()
        .filter(|e| e.key == r.key)
        .collect();
    match versions.as_slice() {
        [only] => Ok(EntryRef::of(only)),
        [] => Err(StoreError::NotFound {
            kind: r.kind,
            key: r.key.clone(),
        }
        .into()),
        many => {
            let labels: Vec<String> = many.iter().map(Entry::label).collect();
            Err(Stop::Fatal(format!(
                "usage unit `{}` has {} versions ({}); pick one with --version",
                r.key,
                many.len(),
                labels.join(", ")
            )))
        }
    }
}

fn get_entry(store: &Store, r: &EntryRef) -> Res<Entry> {
    store.entry(r)?.ok_or_else(|| {
        StoreError::NotFound {
            kind: r.kind,
            key: r.label(),
        }
        .into()
    })
}

fn entry_text(e: &Entry) -> String {
    let mut out = format!("{} {}\n  state: {}\n  owner: {}\n", e.kind, e.label(), e.state, e.owner);
    if let Some(p) = &e.product {
        out.push_str(&format!("  product: {p}\n"));
    }
    if let Some(d) = &e.description {
        out.push_str(&format!("  description: {d}\n"));
    }
    if let Some(s) = e.sunset {
        out.push_str(&format!("  sunset: {s}\n"));
    }
    out
}

fn ref_json(r: &EntryRef) -> Json {
    json!({
        "kind": r.kind.as_str(),
        "key": r.key,
        "version": r.version.as_ref().map(Version::to_string),
    })
}

/// Lines of text in aligned columns, each prefixed by `indent`.
pub(crate) fn table(rows: &[Vec<String>], indent: &str) -> String {
    let mut widths: Vec<usize> = Vec::new();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            match widths.get_mut(i) {
                Some(w) => *w = (*w).max(cell.chars().count()),
                None => widths.push(cell.chars().count()),
            }
        }
    }
    let mut out = String::new();
    for row in rows {
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect();
        out.push_str(indent);
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

// ---- registry ----

/// Runs `gangway registry …`.
pub fn registry(args: RegistryArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_registry(&args.opts, args.command), format)
}

fn run_registry(opts: &StoreOpts, command: RegistryCommand) -> Res<ExitCode> {
    match command {
        RegistryCommand::Init => {
            let store = opts.open(true)?;
            let version = store.schema_version()?;
            let db = opts.db.display().to_string();
            opts.print(&json!({"db": db, "schema_version": version}), || {
                format!("store {db} is at schema version {version}\n")
            })?;
        }
        RegistryCommand::Add {
            entry,
            state,
            owner,
            product,
            description,
            sunset,
        } => {
            let mut store = opts.open(false)?;
            let e = Entry {
                kind: entry.kind,
                key: entry.key,
                version: entry.version,
                state,
                owner,
                product,
                description,
                sunset,
            };
            store.add_entry(&opts.origin(), &e)?;
            opts.print(&e.to_json(), || format!("added {}", entry_text(&e)))?;
        }
        RegistryCommand::Update {
            entry,
            owner,
            product,
            description,
            sunset,
        } => {
            let mut store = opts.open(false)?;
            let r = resolve(&store, &entry)?;
            let mut e = get_entry(&store, &r)?;
            let clear = |v: String| if v.is_empty() { None } else { Some(v) };
            if let Some(o) = owner {
                if o.trim().is_empty() {
                    return Err(Stop::Fatal(
                        "--owner cannot be empty: every entry has an owner".to_owned(),
                    ));
                }
                e.owner = o;
            }
            if let Some(p) = product {
                e.product = clear(p);
            }
            if let Some(d) = description {
                e.description = clear(d);
            }
            if let Some(Clearable(s)) = sunset {
                e.sunset = s;
            }
            let e = store.update_entry(&opts.origin(), &e)?;
            opts.print(&e.to_json(), || format!("updated {}", entry_text(&e)))?;
        }
        RegistryCommand::SetState { entry, state, sunset } => {
            let mut store = opts.open(false)?;
            let r = resolve(&store, &entry)?;
            let before = get_entry(&store, &r)?;
            let after = store.set_state(&opts.origin(), &r, state, sunset)?;
            opts.print(&after.to_json(), || {
                format!("{} {}: {} → {}\n", after.kind, after.label(), before.state, after.state)
            })?;
        }
        RegistryCommand::List { kind, state } => {
            let store = opts.open(false)?;
            let entries: Vec<Entry> = store
                .entries(kind)?
                .into_iter()
                .filter(|e| state.is_none_or(|s| s == e.state))
                .collect();
            let value = Json::Array(entries.iter().map(Entry::to_json).collect());
            opts.print(&value, || {
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        vec![
                            e.kind.to_string(),
                            e.label(),
                            e.state.to_string(),
                            e.owner.clone(),
                            e.sunset.map(|d| format!("sunset {d}")).unwrap_or_default(),
                        ]
                    })
                    .collect();
                if rows.is_empty() {
                    "no entries\n".to_owned()
                } else {
                    table(&rows, "")
                }
            })?;
        }
        RegistryCommand::Show { entry } => {
            let store = opts.open(false)?;
            let r = resolve(&store, &entry)?;
            let e = get_entry(&store, &r)?;
            let target = r.target();
            let history: Vec<Record> = store
                .audit_records(&AuditFilter {
                    target: Some(target.clone()),
                    ..AuditFilter::default()
                })?
                .into_iter()
                .filter(|rec| rec.target == target)
                .collect();
            let mut value = e.to_json();
            if let Json::Object(map) = &mut value {
                map.insert(
                    "history".to_owned(),
                    history
                        .iter()
                        .map(|h| json!({"seq": h.seq, "at": h.at.to_string(), "actor": h.actor, "action": h.action}))
                        .collect(),
                );
            }
            opts.print(&value, || {
                let mut out = entry_text(&e);
                if !history.is_empty() {
                    out.push_str("  history:\n");
                    for h in &history {
                        out.push_str(&format!("    #{} {} {} {}\n", h.seq, h.at, h.actor, h.action));
                    }
                }
                out
            })?;
        }
        RegistryCommand::Import { file } => {
            let text = read_text(&file, "registry")?;
            if let Err(err) = Registry::from_yaml(&text) {
                return Err(Stop::Fatal(registry_problems(&file, &err)));
            }
            let mut store = opts.open(false)?;
            let sum = store.import_registry(&opts.origin(), &text)?;
            let value = serde_json::to_value(&sum).unwrap_or(Json::Null);
            opts.print(&value, || {
                format!(
                    "imported {}: {} added, {} updated, {} moved, {} unchanged\n",
                    file.display(),
                    sum.added,
                    sum.updated,
                    sum.moved,
                    sum.unchanged
                )
            })?;
        }
        RegistryCommand::Export { output } => {
            let store = opts.open(false)?;
            let body = match opts.format {
                PlainFormat::Text => store.export_registry()?,
                PlainFormat::Json => gangway::report::canonical_json(&registry_json(&store.entries(None)?)),
            };
            match output {
                Some(path) => write_file(&path, &body)?,
                None => emit(&body)?,
            }
        }
        RegistryCommand::Impact { entry } => {
            let store = opts.open(false)?;
            let r = entry_ref(&entry);
            let hits = store.impact(&r)?;
            let value = json!({"entry": ref_json(&r), "packets": hits});
            opts.print(&value, || impact_text(&r, &hits))?;
        }
        RegistryCommand::DryRun { change } => return dry_run(opts, change),
    }
    Ok(ExitCode::SUCCESS)
}

/// Every problem of a registry file, one `file:line:column: code: message` per line.
pub fn registry_problems(path: &Path, err: &gangway::RegistryError) -> String {
    let lines: Vec<String> = err
        .problems
        .iter()
        .map(|p| {
            format!(
                "{}:{}:{}: {}: {} (at {})",
                path.display(),
                p.line,
                p.column,
                p.code,
                p.message,
                if p.path.is_empty() { "/" } else { &p.path }
            )
        })
        .collect();
    format!("registry {} is invalid:\n{}", path.display(), lines.join("\n"))
}

/// The registry in the JSON shape of a registry file (which imports back: YAML reads
/// JSON).
fn registry_json(entries: &[Entry]) -> Json {
    let mut lists = serde_json::Map::new();
    for kind in Kind::ALL {
        let rows: Vec<Json> = entries
            .iter()
            .filter(|e| e.kind == *kind)
            .map(|e| {
                let mut row = serde_json::Map::new();
                row.insert("key".to_owned(), json!(e.key));
                if let Some(v) = &e.version {
                    row.insert("version".to_owned(), json!(v.to_string()));
                }
                row.insert("state".to_owned(), json!(e.state.as_str()));
                row.insert("owner".to_owned(), json!(e.owner));
                if let Some(p) = &e.product {
                    row.insert("product".to_owned(), json!(p));
                }
                if let Some(d) = &e.description {
                    row.insert("description".to_owned(), json!(d));
                }
                if let Some(s) = e.sunset {
                    row.insert("sunset".to_owned(), json!(s.to_string()));
                }
                Json::Object(row)
            })
            .collect();
        if !rows.is_empty() {
            lists.insert(kind.plural().to_owned(), Json::Array(rows));
        }
    }
    json!({"registry": lists})
}

fn impact_text(r: &EntryRef, hits: &[ImpactHit]) -> String {
    if hits.is_empty() {
        return format!("no stored packet names {} `{}`\n", r.kind, r.label());
    }
    let mut out = format!(
        "{} `{}` is named by {} stored packet{}:\n",
        r.kind,
        r.label(),
        hits.len(),
        if hits.len() == 1 { "" } else { "s" }
    );
    for h in hits {
        out.push_str(&format!("  {} (version {})\n", h.packet_id, h.version));
        for p in &h.paths {
            out.push_str(&format!("    {p}\n"));
        }
    }
    out
}

fn dry_run(opts: &StoreOpts, change: DryRunChange) -> Res<ExitCode> {
    let store = opts.open(false)?;
    let (change, as_of, change_json, describe) = match change {
        DryRunChange::SetState { entry, state, as_of } => {
            let r = resolve(&store, &entry)?;
            let mut cj = ref_json(&r);
            if let Json::Object(m) = &mut cj {
                m.insert("op".to_owned(), json!("set_state"));
                m.insert("to".to_owned(), json!(state.as_str()));
            }
            let describe = format!("moving {} `{}` to `{state}`", r.kind, r.label());
            (Change::SetState { entry: r, to: state }, as_of, cj, describe)
        }
        DryRunChange::Remove { entry, as_of } => {
            let r = resolve(&store, &entry)?;
            let mut cj = ref_json(&r);
            if let Json::Object(m) = &mut cj {
                m.insert("op".to_owned(), json!("remove"));
            }
            let describe = format!("removing {} `{}`", r.kind, r.label());
            (Change::Remove(r), as_of, cj, describe)
        }
    };
    let as_of = as_of.unwrap_or_else(today);
    let flips = store.dry_run(&change, as_of)?;
    let ok = flips.iter().all(|f| f.ok_after);
    let value = json!({
        "change": change_json,
        "as_of": as_of.to_string(),
        "ok": ok,
        "flips": flips,
    });
    opts.print(&value, || flips_text(&describe, as_of, &flips))?;
    Ok(crate::verdict(ok))
}

fn flips_text(describe: &str, as_of: Date, flips: &[Flip]) -> String {
    if flips.is_empty() {
        return format!("{describe} on {as_of} changes no stored packet's verdict\n");
    }
    let mut out = format!(
        "{describe} on {as_of} flips {} stored packet{}:\n",
        flips.len(),
        if flips.len() == 1 { "" } else { "s" }
    );
    let verdict = |ok: bool| if ok { "ok" } else { "failing" };
    for f in flips {
        out.push_str(&format!(
            "  {} (version {}, stage {}): {} → {}\n",
            f.packet_id,
            f.version,
            f.stage,
            verdict(f.ok_before),
            verdict(f.ok_after)
        ));
        for (sign, list) in [("+", &f.appeared), ("-", &f.resolved)] {
            for finding in list {
                out.push_str(&format!(
                    "    {sign} {} {} at {}: {}\n",
                    finding.severity, finding.code, finding.path, finding.message
                ));
            }
        }
    }
    out
}

// ---- packets ----

/// Runs `gangway packet …`.
pub fn packet(args: PacketArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_packet(&args.opts, args.command), format)
}

fn info_json(info: &PacketInfo) -> Json {
    serde_json::to_value(info).unwrap_or(Json::Null)
}

/// The text of a packet file (`-`: standard input), within the default limits.
fn read_packet_text(file: &Path) -> Res<String> {
    let limits = Limits::default();
    let read = if file.as_os_str() == "-" {
        gangway::packet::read_source(std::io::stdin().lock(), &limits)
    } else {
        let f = std::fs::File::open(file).map_err(|e| Stop::Fatal(format!("cannot read {}: {e}", file.display())))?;
        gangway::packet::read_source(f, &limits)
    };
    read.map_err(|e| Stop::Fatal(format!("cannot read {}: {e}", file.display())))?
        .map_err(|e| Stop::Fatal(format!("{}: {}", file.display(), e)))
}

fn run_packet(opts: &StoreOpts, command: PacketCommand) -> Res<ExitCode> {
    match command {
        PacketCommand::Put { file } => {
            let text = read_packet_text(&file)?;
            let mut store = opts.open(false)?;
            let out = store.put_packet(&opts.origin(), &text, Format::from_path(&file))?;
            let mut value = info_json(&out.info);
            if let Json::Object(m) = &mut value {
                m.insert("created".to_owned(), json!(out.created));
            }
            opts.print(&value, || {
                if out.created {
                    format!(
                        "stored {} version {} (sha256 {})\n",
                        out.info.packet_id, out.info.version, out.info.digest
                    )
                } else {
                    format!(
                        "unchanged: {} version {} already holds this document (sha256 {})\n",
                        out.info.packet_id, out.info.version, out.info.digest
                    )
                }
            })?;
        }
        PacketCommand::List => {
            let store = opts.open(false)?;
            let list = store.packets()?;
            let value = Json::Array(list.iter().map(info_json).collect());
            opts.print(&value, || {
                if list.is_empty() {
                    return "no stored packets\n".to_owned();
                }
                let rows: Vec<Vec<String>> = list
                    .iter()
                    .map(|p| {
                        vec![
                            p.packet_id.clone(),
                            format!("v{}", p.version),
                            p.digest.chars().take(12).collect(),
                            p.stored_at.to_string(),
                            p.stored_by.clone(),
                        ]
                    })
                    .collect();
                table(&rows, "")
            })?;
        }
        PacketCommand::Digest { file } => {
            let text = read_packet_text(&file)?;
            let packet = gangway::Packet::parse(&text, Format::from_path(&file), &Limits::default())
                .map_err(|e| Stop::Fatal(format!("{}: {}", file.display(), e)))?;
            let digest = packet.digest();
            opts.print(&json!({"packet_id": packet.packet_id(), "digest": digest}), || {
                format!("{digest}\n")
            })?;
        }
        PacketCommand::Show { id, version } => {
            let store = opts.open(false)?;
            let stored = store.packet(&id, version)?;
            let history = store.packet_history(&id)?;
            let mut value = info_json(&stored.info);
            if let Json::Object(m) = &mut value {
                let document = stored
                    .parse()
                    .ok()
                    .and_then(|p| serde_json::from_str::<Json>(&p.canonical_json()).ok())
                    .unwrap_or(Json::Null);
                m.insert(
                    "versions".to_owned(),
                    Json::Array(history.iter().map(info_json).collect()),
                );
                m.insert("document".to_owned(), document);
                m.insert("text".to_owned(), json!(stored.text));
            }
            opts.print(&value, || {
                let mut text = stored.text.clone();
                if !text.ends_with('\n') {
                    text.push('\n');
                }
                text
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

// ---- audit ----

/// Runs `gangway audit …`.
pub fn audit(args: AuditArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_audit(&args.opts, args.command), format)
}

fn read_checkpoint(path: &Path) -> Res<Checkpoint> {
    let text = read_text(path, "checkpoint")?;
    serde_json::from_str(&text)
        .map_err(|e| Stop::Fatal(format!("checkpoint {} is not a checkpoint: {e}", path.display())))
}

/// A public key given as hex, or the file holding it.
fn read_public_key(arg: &str) -> Res<String> {
    let is_hex = arg.len() == 64 && arg.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex {
        return Ok(arg.to_ascii_lowercase());
    }
    let text = read_text(Path::new(arg), "public key")?;
    Ok(text.trim().to_ascii_lowercase())
}

fn run_audit(opts: &StoreOpts, command: AuditCommand) -> Res<ExitCode> {
    match command {
        AuditCommand::Verify {
            checkpoint,
            export,
            public_key,
        } => {
            let cp = checkpoint.as_deref().map(read_checkpoint).transpose()?;
            let key = public_key.as_deref().map(read_public_key).transpose()?;
            if key.is_some() && cp.is_none() {
                return Err(Stop::Fatal(
                    "--public-key checks a checkpoint's signer; pass --checkpoint too".to_owned(),
                ));
            }
            let (source, v) = match &export {
                Some(path) => {
                    let text = read_text(path, "exported log")?;
                    (
                        path.display().to_string(),
                        audit::verify_export(&text, cp.as_ref(), key.as_deref()),
                    )
                }
                None => {
                    let store = opts.open(false)?;
                    let v = match &cp {
                        None => store.audit_verify()?,
                        Some(cp) => {
                            let mut buf = Vec::new();
                            store.audit_export(&mut buf)?;
                            let text = String::from_utf8_lossy(&buf);
                            let mut v = audit::verify_export(&text, Some(cp), key.as_deref());
                            // Lines mean nothing for the store's own log.
                            if let Some(b) = &mut v.breach {
                                b.line = None;
                            }
                            v
                        }
                    };
                    (opts.db.display().to_string(), v)
                }
            };
            let value = serde_json::to_value(&v).unwrap_or(Json::Null);
            opts.print(&value, || verification_text(&source, &v, cp.as_ref(), key.as_deref()))?;
            Ok(crate::verdict(v.ok))
        }
        AuditCommand::Query {
            actor,
            action,
            target,
            since,
            until,
        } => {
            let store = opts.open(false)?;
            let records = store.audit_records(&AuditFilter {
                actor,
                action,
                target,
                since,
                until,
            })?;
            let value = serde_json::to_value(&records).unwrap_or(Json::Null);
            opts.print(&value, || {
                if records.is_empty() {
                    return "no matching audit records\n".to_owned();
                }
                let rows: Vec<Vec<String>> = records
                    .iter()
                    .map(|r| {
                        vec![
                            format!("#{}", r.seq),
                            r.at.to_string(),
                            r.actor.clone(),
                            r.action.clone(),
                            r.target.clone(),
                        ]
                    })
                    .collect();
                table(&rows, "")
            })?;
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Export { output } => {
            let store = opts.open(false)?;
            let mut buf = Vec::new();
            let n = store.audit_export(&mut buf)?;
            let body = String::from_utf8_lossy(&buf);
            match output {
                Some(path) => {
                    write_file(&path, &body)?;
                    eprintln!("wrote {n} audit records to {}", path.display());
                }
                None => emit(&body)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Checkpoint { key, output } => {
            let seed = key.as_deref().map(|k| read_text(k, "signing key")).transpose()?;
            let mut store = opts.open(false)?;
            let v = store.audit_verify()?;
            if !v.ok {
                let value = serde_json::to_value(&v).unwrap_or(Json::Null);
                let source = opts.db.display().to_string();
                opts.print(&value, || verification_text(&source, &v, None, None))?;
                eprintln!("gangway: no checkpoint taken: the audit log does not verify");
                return Ok(ExitCode::from(1));
            }
            let cp = store.audit_checkpoint(&opts.origin(), seed.as_deref().map(str::trim))?;
            let body = cp.to_json();
            if let Some(path) = &output {
                write_file(path, &body)?;
            }
            if output.is_some() && opts.format == PlainFormat::Text {
                emit(&format!(
                    "checkpoint of {} records (head {}){} written to {}\n",
                    cp.count,
                    cp.head,
                    cp.public_key
                        .as_deref()
                        .map(|k| format!(", signed by {k}"))
                        .unwrap_or_default(),
                    output
                        .as_deref()
                        .map(Path::display)
                        .map(|d| d.to_string())
                        .unwrap_or_default()
                ))?;
            } else {
                emit(&body)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        AuditCommand::Keygen { out, force } => {
            let (seed, public) = audit::generate_key().map_err(|e| Stop::Fatal(e.0))?;
            write_secret(&out, &format!("{seed}\n"), force)?;
            let file = out.display().to_string();
            opts.print(&json!({"key_file": file, "public_key": public}), || {
                format!("wrote the signing key to {file} (keep it secret)\npublic key: {public}\n")
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn verification_text(source: &str, v: &Verification, cp: Option<&Checkpoint>, key: Option<&str>) -> String {
    match &v.breach {
        None => {
            let mut out = format!("audit log {source} verifies: {} records, head {}\n", v.records, v.head);
            if let Some(cp) = cp {
                let signer = match (&cp.signature, key) {
                    (Some(_), Some(k)) => format!("signed by the trusted key {k}"),
                    (Some(_), None) => format!(
                        "signed by the key it names, {}; pass --public-key to pin the signer",
                        cp.public_key.as_deref().unwrap_or("none")
                    ),
                    (None, _) => "unsigned".to_owned(),
                };
                out.push_str(&format!(
                    "it extends the checkpoint of {} records taken {} unchanged\ncheckpoint: {signer}\n",
                    cp.count, cp.at
                ));
            }
            out
        }
        Some(b) => {
            let seq = b.found_seq.unwrap_or(b.expected_seq);
            let line = b.line.map(|l| format!(", line {l}")).unwrap_or_default();
            format!(
                "audit log {source} does NOT verify: record {seq}{line}: {}\n  {}\n  the first {} records verify (head {})\n",
                b.problem, b.message, v.records, v.head
            )
        }
    }
}

/// Writes a secret readable by its owner only (mode 0600 on Unix).
fn write_secret(path: &Path, body: &str, force: bool) -> Res<()> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true);
    if force {
        options.create(true).truncate(true);
    } else {
        options.create_new(true);
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let fail = |e: std::io::Error| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Stop::Fatal(format!("{} exists; pass --force to overwrite it", path.display()))
        } else {
            Stop::Fatal(format!("cannot write {}: {e}", path.display()))
        }
    };
    let mut file = options.open(path).map_err(fail)?;
    #[cfg(unix)]
    {
        // An existing file keeps its mode on open; tighten it.
        use std::os::unix::fs::PermissionsExt as _;
        file.set_permissions(std::fs::Permissions::from_mode(0o600))
            .map_err(fail)?;
    }
    file.write_all(body.as_bytes()).map_err(fail)
}
