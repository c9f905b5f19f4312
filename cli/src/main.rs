//! `gangway`: validate onboarding packets from the command line.
//!
//! Exit codes: 0 ok, 1 the check found errors, 2 usage or I/O error.

mod billing_cmds;
mod checklist_cmds;
mod records_cmds;
mod scan;
mod store_cmds;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use gangway::{Date, Format, Limits, Packet, Records, Registry, Stage, Store};

#[derive(Parser, Debug)]
#[command(
    name = "gangway",
    version,
    about = "Fail-closed onboarding packets, registry checks and stage gates"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Validate a packet at a stage and print the report.
    Validate {
        /// The packet (YAML, or JSON when the name ends in .json); `-` reads stdin.
        packet: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Stage to validate (default: the one the packet's lifecycle_state selects).
        #[arg(long, value_parser = parse_stage)]
        stage: Option<Stage>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = ReportFormat::Text)]
        format: ReportFormat,
    },
    /// Evaluate all eight stages and name the first blocked one.
    Progress {
        /// The packet (YAML, or JSON when the name ends in .json); `-` reads stdin.
        packet: PathBuf,
        #[command(flatten)]
        common: Common,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
    },
    /// Print the JSON Schema of a packet (for editors).
    Schema {
        /// Write to this file instead of standard output.
        #[arg(long, short)]
        output: Option<PathBuf>,
    },
    /// Write a starter packet with every section and TODO markers.
    Init {
        /// Where to write it.
        #[arg(default_value = "packet.yaml")]
        path: PathBuf,
        /// The product slug (lowercase kebab-case).
        #[arg(long, default_value = "my-product")]
        slug: String,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Keep the registry in the store: add, move, import, export, impact, dry-run.
    Registry(store_cmds::RegistryArgs),
    /// Keep versions of onboarding packets in the store.
    Packet(store_cmds::PacketArgs),
    /// Verify, query, export and checkpoint the store's audit log.
    Audit(store_cmds::AuditArgs),
    /// The review matrix, and sign-offs of stored packets by role.
    Review(records_cmds::ReviewArgs),
    /// Record and list the stage-5 evidence of stored packets.
    Evidence(records_cmds::EvidenceArgs),
    /// Rate cards, usage, invoices, purchase orders and the provisioning gate.
    Billing(billing_cmds::BillingArgs),
    /// Checklist runs: start one from a template, check, waive, record gaps, the
    /// decision record and adoption, run its probes and flows over HTTP, its status.
    Checklist(checklist_cmds::ChecklistArgs),
    /// List the stored packets and checklist runs whose verdict changes between two
    /// dates (a review date, due date, expiry or waiver lapses); exit 1 when any does.
    Forecast(checklist_cmds::ForecastArgs),
    /// Write a packet's release evidence bundle (reports, records, audit, checklist
    /// runs, a SHA-256 manifest) to a new directory.
    Bundle(checklist_cmds::BundleArgs),
    /// Evaluate weekly adoption metrics against their thresholds.
    Adoption(checklist_cmds::AdoptionArgs),
    /// Find scope strings in source files, OpenAPI documents and SDK examples and
    /// report the unregistered or inactive ones.
    Scan(scan::ScanArgs),
    /// Classify a path by the packets' ownership rows (the boundary guard).
    Owner(scan::OwnerArgs),
}

#[derive(clap::Args, Debug)]
struct Common {
    /// Registry file (YAML, top-level `registry:`).
    #[arg(long)]
    registry: Option<PathBuf>,
    /// Read the registry from this store instead of a file, and the packet's review
    /// sign-offs and evidence too (unless --records is given).
    #[arg(long, conflicts_with = "registry")]
    db: Option<PathBuf>,
    /// Records file (YAML, top-level `records:`): the review sign-offs and stage-5
    /// evidence of the packet.
    #[arg(long, value_name = "FILE")]
    records: Option<PathBuf>,
    /// Evaluation date, YYYY-MM-DD (default: today).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
    /// Colour in text output.
    #[arg(long, value_enum, default_value_t = Color::Auto)]
    color: Color,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum ReportFormat {
    Text,
    Json,
    Sarif,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum PlainFormat {
    Text,
    Json,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
enum Color {
    Auto,
    Always,
    Never,
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    s.parse::<Stage>().map_err(|e| e.to_string())
}

fn parse_date(s: &str) -> Result<Date, String> {
    gangway::decode::parse_date(s).ok_or_else(|| format!("`{s}` is not a date; write it as YYYY-MM-DD"))
}

/// A usage or I/O failure: printed on one line, exit 2.
struct Fatal(String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(code) => code,
        Err(Fatal(message)) => {
            eprintln!("gangway: error: {message}");
            ExitCode::from(2)
        }
    }
}

fn run(cli: Cli) -> Result<ExitCode, Fatal> {
    match cli.command {
        Command::Validate {
            packet,
            common,
            stage,
            format,
        } => {
            let as_of = common.as_of.unwrap_or_else(today);
            let sources = Sources::load(&common)?;
            let input = read_packet(&packet)?;
            let report = match &input.parsed {
                Ok(p) => {
                    let records = sources.records_for(p)?;
                    gangway::validate_with(p, sources.registry.as_ref(), records.as_ref(), stage, as_of)
                }
                Err(e) => gangway::validate::unreadable(e, stage, as_of),
            };
            let name = packet.display().to_string();
            let body = match format {
                ReportFormat::Json => report.to_json(),
                ReportFormat::Sarif => gangway::report::canonical_json(&gangway::render::sarif(&report, &name)),
                ReportFormat::Text => gangway::render::text(&report, input.text.as_deref(), &name, color(common.color)),
            };
            emit(&body)?;
            Ok(verdict(report.ok))
        }
        Command::Progress { packet, common, format } => {
            let as_of = common.as_of.unwrap_or_else(today);
            let sources = Sources::load(&common)?;
            let input = read_packet(&packet)?;
            let progress = match &input.parsed {
                Ok(p) => {
                    let records = sources.records_for(p)?;
                    gangway::progress_with(p, sources.registry.as_ref(), records.as_ref(), as_of)
                }
                Err(e) => gangway::validate::unreadable_progress(e, as_of),
            };
            let body = match format {
                PlainFormat::Json => progress.to_json(),
                PlainFormat::Text => gangway::render::progress_text(&progress, color(common.color)),
            };
            emit(&body)?;
            Ok(verdict(progress.first_blocked.is_none()))
        }
        Command::Schema { output } => {
            let body = gangway::report::canonical_json(&gangway::json_schema());
            match output {
                Some(path) => write_new(&path, &body, true)?,
                None => emit(&body)?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Init { path, slug, force } => {
            if !gangway::rules::identity::is_kebab(&slug) {
                return Err(Fatal(format!(
                    "slug `{slug}` is not lowercase kebab-case (like `token-factory`)"
                )));
            }
            write_new(&path, &gangway::starter_packet(&slug), force)?;
            eprintln!(
                "wrote {}; fill in the TODOs, then run `gangway validate {}`",
                path.display(),
                path.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Registry(args) => store_cmds::registry(args),
        Command::Packet(args) => store_cmds::packet(args),
        Command::Audit(args) => store_cmds::audit(args),
        Command::Review(args) => records_cmds::review(args),
        Command::Evidence(args) => records_cmds::evidence(args),
        Command::Billing(args) => billing_cmds::billing(args),
        Command::Checklist(args) => checklist_cmds::checklist(args),
        Command::Forecast(args) => checklist_cmds::forecast(args),
        Command::Bundle(args) => checklist_cmds::bundle(args),
        Command::Adoption(args) => checklist_cmds::adoption(args),
        Command::Scan(args) => scan::scan(args),
        Command::Owner(args) => scan::owner(args),
    }
}

fn verdict(ok: bool) -> ExitCode {
    if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
}

fn today() -> Date {
    jiff::Zoned::now().date()
}

fn color(choice: Color) -> bool {
    match choice {
        Color::Always => true,
        Color::Never => false,
        Color::Auto => std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal(),
    }
}

fn emit(body: &str) -> Result<(), Fatal> {
    let mut out = std::io::stdout().lock();
    match out.write_all(body.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        // A closed pipe (`gangway … | head`) is not an error worth reporting.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Fatal(format!("cannot write output: {e}"))),
    }
}

fn write_new(path: &Path, body: &str, force: bool) -> Result<(), Fatal> {
    if !force && path.exists() {
        return Err(Fatal(format!(
            "{} exists; pass --force to overwrite it",
            path.display()
        )));
    }
    std::fs::write(path, body).map_err(|e| Fatal(format!("cannot write {}: {e}", path.display())))
}

struct Input {
    text: Option<String>,
    parsed: Result<Packet, gangway::ParseError>,
}

fn read_packet(path: &Path) -> Result<Input, Fatal> {
    let limits = Limits::default();
    let read = if path.as_os_str() == "-" {
        gangway::packet::read_source(std::io::stdin().lock(), &limits)
    } else {
        let file = std::fs::File::open(path).map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))?;
        gangway::packet::read_source(file, &limits)
    };
    match read.map_err(|e| Fatal(format!("cannot read {}: {e}", path.display())))? {
        Ok(text) => {
            let parsed = Packet::parse(&text, Format::from_path(path), &limits);
            Ok(Input {
                text: Some(text),
                parsed,
            })
        }
        Err(err) => Ok(Input {
            text: None,
            parsed: Err(err),
        }),
    }
}

/// What `validate` and `progress` check a packet against: a registry and records, from
/// files or a store.
struct Sources {
    registry: Option<Registry>,
    /// The records file and its records, when one is given (it wins over the store's).
    records: Option<(PathBuf, Records)>,
    /// The store, when `--db` is given.
    store: Option<Store>,
}

impl Sources {
    /// Reads the registry and records files, or opens the store; any problem stops the
    /// command (exit 2).
    fn load(common: &Common) -> Result<Sources, Fatal> {
        let store = common.db.as_deref().map(store_cmds::open_existing).transpose()?;
        let registry = match &store {
            Some(s) => Some(store_cmds::registry_of(s)?),
            None => common.registry.as_deref().map(registry_file).transpose()?,
        };
        let records = match &common.records {
            Some(path) => Some((path.clone(), records_file(path)?)),
            None => None,
        };
        Ok(Sources {
            registry,
            records,
            store,
        })
    }

    /// The records for `packet`: the records file's (which must be about this packet),
    /// else the store's for its `packet_id`, else none (`records.unavailable`).
    fn records_for(&self, packet: &Packet) -> Result<Option<Records>, Fatal> {
        if let Some((path, records)) = &self.records {
            if let (Some(theirs), Some(ours)) = (records.packet_id.as_deref(), packet.packet_id())
                && theirs != ours
            {
                return Err(Fatal(format!(
                    "records {} are about packet `{theirs}`, not `{ours}`; give the records of this packet",
                    path.display()
                )));
            }
            return Ok(Some(records.clone()));
        }
        match (&self.store, packet.packet_id()) {
            (Some(store), Some(id)) => store_cmds::records_of(store, id).map(Some),
            _ => Ok(None),
        }
    }
}

/// Reads a records file; a problem in it is reported with its code, line and column
/// (exit 2).
fn records_file(path: &Path) -> Result<Records, Fatal> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Fatal(format!("cannot read records {}: {e}", path.display())))?;
    Records::from_yaml(&text).map_err(|err| {
        Fatal(format!(
            "records {} is invalid:\n{}:{}:{}: {}: {}",
            path.display(),
            path.display(),
            err.line,
            err.column,
            err.code(),
            err.message
        ))
    })
}

/// Reads a registry file; every problem in it is listed, one per line (exit 2).
pub(crate) fn registry_file(path: &Path) -> Result<Registry, Fatal> {
    let text =
        std::fs::read_to_string(path).map_err(|e| Fatal(format!("cannot read registry {}: {e}", path.display())))?;
    Registry::from_yaml(&text).map_err(|err| Fatal(store_cmds::registry_problems(path, &err)))
}
