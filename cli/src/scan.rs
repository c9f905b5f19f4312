//! `gangway scan` (the scope scanner) and `gangway owner` (the boundary guard).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use gangway::Packet;
use gangway::guard::{OwnerMatch, Snapshot, owner_of};
use gangway::scan::{ScanFinding, display_path, scan_files};
use serde_json::json;

use super::{Fatal, PlainFormat, emit, verdict};

/// Where the registry and the packets come from: files, or a store.
#[derive(clap::Args, Debug)]
pub struct Source {
    /// Registry file (YAML, top-level `registry:`).
    #[arg(long, conflicts_with = "db")]
    registry: Option<PathBuf>,
    /// A store file: its registry and the current version of every stored packet.
    #[arg(long, env = "GANGWAY_DB")]
    db: Option<PathBuf>,
    /// A packet (YAML, or JSON when the name ends in .json); repeat for several
    /// products. For the same product the later file wins.
    #[arg(long = "packet", value_name = "FILE")]
    packets: Vec<PathBuf>,
}

#[derive(clap::Args, Debug)]
pub struct ScanArgs {
    /// Files and folders to scan (folders recursively; .git, target, node_modules,
    /// .venv, binary files and files over 4 MiB are skipped).
    #[arg(required = true, value_name = "PATH")]
    paths: Vec<PathBuf>,
    #[command(flatten)]
    source: Source,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
}

#[derive(clap::Args, Debug)]
pub struct OwnerArgs {
    /// The path to classify (relative to the repository root the packets describe).
    #[arg(value_name = "PATH")]
    path: PathBuf,
    /// A packet whose ownership rows to use; repeat for several products.
    #[arg(long = "packet", value_name = "FILE", required = true)]
    packets: Vec<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
    format: PlainFormat,
}

/// Reads packet files; a file that is not a packet at all is a usage error (exit 2).
fn load_packets(paths: &[PathBuf]) -> Result<Vec<Packet>, Fatal> {
    paths
        .iter()
        .map(|path| {
            super::read_packet(path)?
                .parsed
                .map_err(|e| Fatal(format!("packet {} cannot be read: {e}", path.display())))
        })
        .collect()
}

impl Source {
    fn snapshot(&self) -> Result<Snapshot, Fatal> {
        if let (Some(db), None) = (&self.db, &self.registry) {
            let mut snapshot = super::store_cmds::snapshot_from_db(db)?;
            if !self.packets.is_empty() {
                let packets = load_packets(&self.packets)?;
                let refs: Vec<&Packet> = packets.iter().collect();
                snapshot = Snapshot::new(snapshot.registry().clone(), &refs);
            }
            return Ok(snapshot);
        }
        let Some(registry) = &self.registry else {
            return Err(Fatal(
                "a registry is needed to judge scopes; pass --registry FILE or --db FILE".to_owned(),
            ));
        };
        let registry = super::registry_file(registry)?;
        let packets = load_packets(&self.packets)?;
        let refs: Vec<&Packet> = packets.iter().collect();
        Ok(Snapshot::new(registry, &refs))
    }
}

/// `gangway scan PATH… --registry FILE [--packet FILE]…`: exit 1 when a scope is
/// unregistered, draft or retired (a deprecated one is a warning).
pub fn scan(args: ScanArgs) -> Result<ExitCode, Fatal> {
    let snapshot = args.source.snapshot()?;
    let findings = scan_files(&args.paths, &snapshot).map_err(|e| Fatal(e.to_string()))?;
    let errors = findings.iter().filter(|f| f.is_error()).count();
    match args.format {
        PlainFormat::Json => emit(&gangway::scan::to_json(&findings))?,
        PlainFormat::Text => {
            let mut body: String = findings.iter().map(|f| ScanFinding::to_text(f) + "\n").collect();
            if body.is_empty() {
                body = "no unregistered or inactive scopes found\n".to_owned();
            }
            emit(&body)?;
            if !findings.is_empty() {
                let warnings = findings.len() - errors;
                eprintln!(
                    "{errors} error{}, {warnings} warning{}",
                    if errors == 1 { "" } else { "s" },
                    if warnings == 1 { "" } else { "s" }
                );
            }
        }
    }
    Ok(verdict(errors == 0))
}

/// The path as the packets' ownership rows write it: relative to the current folder
/// when it is an absolute path below it.
fn relative(path: &Path) -> PathBuf {
    if path.is_absolute()
        && let Some(rel) = std::env::current_dir()
            .ok()
            .and_then(|cwd| path.strip_prefix(cwd).ok().map(Path::to_path_buf))
    {
        return rel;
    }
    path.to_path_buf()
}

/// `gangway owner PATH --packet FILE…`: exit 1 when no ownership row covers the path.
pub fn owner(args: OwnerArgs) -> Result<ExitCode, Fatal> {
    let packets = load_packets(&args.packets)?;
    let refs: Vec<&Packet> = packets.iter().collect();
    let path = relative(&args.path);
    let found: Option<OwnerMatch> = owner_of(&path, &refs);
    let shown = display_path(&path);
    let body = match (args.format, &found) {
        (PlainFormat::Json, Some(m)) => gangway::report::canonical_json(&json!({
            "path": shown,
            "owner": m.owner.as_str(),
            "packet_id": m.packet_id,
            "product_id": m.product_id,
            "path_prefix": m.path_prefix,
        })),
        (PlainFormat::Json, None) => gangway::report::canonical_json(&json!({"path": shown, "owner": null})),
        (PlainFormat::Text, Some(m)) => format!("{shown}: {m}\n"),
        (PlainFormat::Text, None) => {
            format!("{shown}: unowned; no ownership package row of the given packets covers it\n")
        }
    };
    emit(&body)?;
    Ok(verdict(found.is_some()))
}
