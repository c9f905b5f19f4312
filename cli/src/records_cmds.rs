//! `gangway review …` and `gangway evidence …`: the review matrix, sign-offs of stored
//! packets and their stage-5 evidence, kept in the SQLite store beside the packets (see
//! `docs/user.md`, "Reviews and evidence").
//!
//! A sign-off names the digest of a stored version of the packet (the latest unless
//! `--digest` picks another), so storing an edited packet leaves every earlier sign-off
//! `stale`. The reviewer and the one who records evidence are the actor (`--actor`,
//! `GANGWAY_ACTOR`, `$USER`).
//!
//! Exit codes follow the other store commands: 0 done (and, for `review status`, every
//! role approved the latest version); 1 the store refused the operation — an unknown
//! packet (`packet.not_found`), a sign-off or evidence record it does not accept
//! (`review.invalid`, `evidence.invalid`) — or `review status` found a role that has not
//! approved; 2 the command could not run (bad flags, no store, a SQLite failure).

use std::process::ExitCode;

use clap::{Args, Subcommand};
use gangway::evidence::{EvidenceKind, EvidenceRecord};
use gangway::packet::GapKind;
use gangway::records::store::{ReviewStatus, SignOffRequest};
use gangway::review::{Decision, Role, SignOff};
use gangway::{Date, Store};
use serde_json::{Value as Json, json};

use crate::Fatal;
use crate::store_cmds::{Res, StoreOpts, finish, table};

/// `gangway review …`.
#[derive(Args, Debug)]
pub struct ReviewArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: ReviewCommand,
}

#[derive(Subcommand, Debug)]
enum ReviewCommand {
    /// Print the review matrix: the seven roles and what each must confirm (no store
    /// needed).
    Matrix,
    /// Sign off a stored packet for one role, as the actor: approve, or reject with reasons.
    Sign {
        /// The stored packet's id.
        packet_id: String,
        /// The role signed for: product, architecture, backend, frontend, security,
        /// operations or governance.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        #[command(flatten)]
        verdict: Verdict,
        /// Why (required with --reject; repeat it for several reasons).
        #[arg(long = "reason", value_name = "TEXT")]
        reasons: Vec<String>,
        /// The digest of the stored version signed (default: the latest version's).
        #[arg(long, value_name = "HEX")]
        digest: Option<String>,
    },
    /// Show where each role stands on the latest stored version: approved, rejected,
    /// stale (signed an earlier version) or missing; exit 1 unless all seven approved.
    Status {
        /// The stored packet's id.
        packet_id: String,
    },
}

/// Approve or reject: exactly one.
#[derive(Args, Debug)]
#[group(required = true, multiple = false)]
struct Verdict {
    /// Approve this version of the packet.
    #[arg(long)]
    approve: bool,
    /// Reject this version of the packet (give at least one --reason).
    #[arg(long, requires = "reasons")]
    reject: bool,
}

/// `gangway evidence …`.
#[derive(Args, Debug)]
pub struct EvidenceArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: EvidenceCommand,
}

/// Where the artifact is: a URL, a digest, or both.
#[derive(Args, Debug)]
#[group(required = true, multiple = true)]
struct Anchor {
    /// Where the artifact is (a page, a stored object).
    #[arg(long)]
    url: Option<String>,
    /// SHA-256 of the artifact (hex, optionally `sha256:`-prefixed).
    #[arg(long, value_name = "HEX")]
    digest: Option<String>,
}

#[derive(Subcommand, Debug)]
enum EvidenceCommand {
    /// Record a piece of stage-5 evidence for a stored packet, as the actor.
    Add {
        /// The stored packet's id.
        packet_id: String,
        /// What it shows: launch, connect, decommission, billing_attribution,
        /// audit_query, status_read_model or rollback_proof.
        #[arg(long, value_parser = parse_kind)]
        kind: EvidenceKind,
        /// Where it comes from (a run id, a ticket, a document anchor).
        #[arg(long = "ref", value_name = "REF")]
        reference: String,
        #[command(flatten)]
        anchor: Anchor,
    },
    /// List a stored packet's evidence and the stage-5 kinds still missing.
    List {
        /// The stored packet's id.
        packet_id: String,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_name(s).ok_or_else(|| format!("unknown role `{s}`; one of {}", Role::NAMES.join(", ")))
}

fn parse_kind(s: &str) -> Result<EvidenceKind, String> {
    EvidenceKind::from_name(s)
        .ok_or_else(|| format!("unknown evidence kind `{s}`; one of {}", EvidenceKind::NAMES.join(", ")))
}

/// The first twelve hex digits of a digest, for people.
fn short(digest: &str) -> String {
    format!("{}…", digest.get(..12).unwrap_or(digest))
}

/// Adds `key: value` to a JSON object.
fn with(mut value: Json, key: &str, extra: Json) -> Json {
    if let Json::Object(m) = &mut value {
        m.insert(key.to_owned(), extra);
    }
    value
}

// ---- review ----

/// Runs `gangway review …`.
pub fn review(args: ReviewArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_review(&args.opts, args.command), format)
}

fn run_review(opts: &StoreOpts, command: ReviewCommand) -> Res<ExitCode> {
    match command {
        ReviewCommand::Matrix => {
            opts.print(&gangway::review::matrix(), || {
                Role::ALL
                    .iter()
                    .map(|r| format!("{} ({})\n  {}\n", r.title(), r.as_str(), r.must_confirm()))
                    .collect()
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Sign {
            packet_id,
            role,
            verdict,
            reasons,
            digest,
        } => {
            let mut store = opts.open(false)?;
            let request = SignOffRequest {
                packet_id: &packet_id,
                role,
                decision: if verdict.reject {
                    Decision::Reject
                } else {
                    Decision::Approve
                },
                reasons: &reasons,
                digest: digest.as_deref(),
            };
            let signoff = store.sign_off(&opts.origin(), &request)?;
            let version = version_of(&store, &packet_id, &signoff.digest)?;
            let value = serde_json::to_value(&signoff).unwrap_or(Json::Null);
            let value = with(with(value, "packet_id", json!(packet_id)), "version", json!(version));
            opts.print(&value, || signoff_text(&packet_id, version, &signoff))?;
            Ok(ExitCode::SUCCESS)
        }
        ReviewCommand::Status { packet_id } => {
            let store = opts.open(false)?;
            let status = store.review_status(&packet_id)?;
            let value = serde_json::to_value(&status).unwrap_or(Json::Null);
            opts.print(&value, || status_text(&status))?;
            Ok(crate::verdict(status.complete))
        }
    }
}

/// The latest stored version of `packet_id` whose digest is `digest`.
fn version_of(store: &Store, packet_id: &str, digest: &str) -> Res<Option<u32>> {
    Ok(store
        .packet_history(packet_id)?
        .iter()
        .filter(|p| p.digest == digest)
        .map(|p| p.version)
        .max())
}

fn signoff_text(packet_id: &str, version: Option<u32>, s: &SignOff) -> String {
    let verdict = match s.decision {
        Decision::Approve => "approved",
        Decision::Reject => "rejected",
    };
    let version = version.map(|v| format!(" version {v}")).unwrap_or_default();
    let mut out = format!(
        "{} review {verdict} {packet_id}{version} (digest {}) as {} at {}\n",
        s.role.title(),
        short(&s.digest),
        s.reviewer,
        s.at
    );
    for r in &s.reasons {
        out.push_str(&format!("  reason: {r}\n"));
    }
    out
}

fn status_text(status: &ReviewStatus) -> String {
    let approved = status.roles.iter().filter(|r| r.status == "approved").count();
    let mut out = format!(
        "{} version {} (digest {}): {approved} of {} roles approved\n",
        status.packet_id,
        status.version,
        short(&status.digest),
        status.roles.len()
    );
    let rows: Vec<Vec<String>> = status
        .roles
        .iter()
        .map(|r| {
            let mut row = vec![r.role.as_str().to_owned(), r.status.to_owned()];
            if let Some(s) = &r.signoff {
                row.push(s.reviewer.clone());
                row.push(s.at.to_string());
                row.push(match r.status {
                    "stale" => format!("signed {}, an earlier version", short(&s.digest)),
                    _ => s.reasons.join("; "),
                });
            }
            row
        })
        .collect();
    out.push_str(&table(&rows, "  "));
    if status.complete {
        out.push_str("every role approved this version\n");
    } else {
        out.push_str(&format!(
            "not yet approved by every role; each reviewer signs with `gangway review sign {} --role ROLE --approve`\n",
            status.packet_id
        ));
    }
    out
}

// ---- evidence ----

/// Runs `gangway evidence …`.
pub fn evidence(args: EvidenceArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_evidence(&args.opts, args.command), format)
}

/// A stage-5 evidence kind without a record that a tracked `missing_artifact` gap of
/// the packet stands in for.
struct Tracked {
    kind: EvidenceKind,
    tracking_id: String,
    due_date: Option<Date>,
}

fn run_evidence(opts: &StoreOpts, command: EvidenceCommand) -> Res<ExitCode> {
    match command {
        EvidenceCommand::Add {
            packet_id,
            kind,
            reference,
            anchor,
        } => {
            let mut store = opts.open(false)?;
            let record = store.add_evidence(
                &opts.origin(),
                &packet_id,
                kind,
                &reference,
                anchor.digest.as_deref(),
                anchor.url.as_deref(),
            )?;
            let value = with(
                serde_json::to_value(&record).unwrap_or(Json::Null),
                "packet_id",
                json!(packet_id),
            );
            opts.print(&value, || {
                format!(
                    "recorded {} evidence for {packet_id}: {} ({}) by {} at {}\n",
                    record.kind,
                    record.reference,
                    anchor_text(&record),
                    record.recorded_by,
                    record.at
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        EvidenceCommand::List { packet_id } => {
            let store = opts.open(false)?;
            // The latest stored version: it must exist, and its tracked gaps may stand in
            // for evidence.
            let stored = store.packet(&packet_id, None)?;
            let records = store.records(&packet_id)?;
            let gaps = stored.parse().map(|p| evidence_gaps(&p)).unwrap_or_default();
            let mut missing = Vec::new();
            let mut tracked = Vec::new();
            for kind in EvidenceKind::ALL {
                if records.evidence.iter().any(|e| e.kind == kind) {
                    continue;
                }
                match gaps.iter().find(|g| g.kind == kind) {
                    Some(g) => tracked.push(g),
                    None => missing.push(kind),
                }
            }
            let value = json!({
                "packet_id": packet_id,
                "version": stored.info.version,
                "evidence": records.evidence,
                "missing": missing,
                "tracked": tracked
                    .iter()
                    .map(|t| json!({
                        "kind": t.kind,
                        "tracking_id": t.tracking_id,
                        "due_date": t.due_date.map(|d| d.to_string()),
                    }))
                    .collect::<Vec<Json>>(),
            });
            opts.print(&value, || {
                evidence_text(&packet_id, stored.info.version, &records.evidence, &missing, &tracked)
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// The tracked `missing_artifact` gaps of `packet` that name an evidence kind.
fn evidence_gaps(packet: &gangway::Packet) -> Vec<Tracked> {
    let gaps = packet
        .body()
        .and_then(|b| b.tracked_gaps.value())
        .map_or(&[][..], Vec::as_slice);
    gaps.iter()
        .filter_map(|g| g.value())
        .filter(|g| g.kind.value() == Some(&GapKind::MissingArtifact))
        .filter_map(|g| {
            g.evidence_kind.value().map(|&kind| Tracked {
                kind,
                tracking_id: g.tracking_id.value().cloned().unwrap_or_default(),
                due_date: g.due_date.value().copied(),
            })
        })
        .collect()
}

/// Where the artifact is, for people: the URL and the digest's first digits.
fn anchor_text(e: &EvidenceRecord) -> String {
    let digest = e.digest.as_deref().map(|d| match d.strip_prefix("sha256:") {
        Some(hex) => format!("sha256:{}", short(hex)),
        None => short(d),
    });
    [e.url.clone(), digest]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(", ")
}

fn evidence_text(
    packet_id: &str,
    version: u32,
    evidence: &[EvidenceRecord],
    missing: &[EvidenceKind],
    tracked: &[&Tracked],
) -> String {
    let kinds = EvidenceKind::ALL.len();
    let mut out = format!(
        "{packet_id} (version {version}): {} evidence record{}; {} of {kinds} stage-5 kinds recorded\n",
        evidence.len(),
        if evidence.len() == 1 { "" } else { "s" },
        kinds - missing.len() - tracked.len()
    );
    let rows: Vec<Vec<String>> = evidence
        .iter()
        .map(|e| {
            vec![
                e.kind.to_string(),
                e.reference.clone(),
                anchor_text(e),
                e.recorded_by.clone(),
                e.at.to_string(),
            ]
        })
        .collect();
    out.push_str(&table(&rows, "  "));
    for t in tracked {
        let due = t.due_date.map(|d| format!(", due {d}")).unwrap_or_default();
        out.push_str(&format!("tracked by a gap: {} ({}{due})\n", t.kind, t.tracking_id));
    }
    for kind in missing {
        out.push_str(&format!("missing: {kind} — {}\n", kind.describe()));
    }
    if !missing.is_empty() {
        out.push_str(&format!(
            "record it with `gangway evidence add {packet_id} --kind KIND --ref REF --url URL` (or --digest HEX)\n"
        ));
    }
    out
}
