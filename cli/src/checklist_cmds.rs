//! `gangway checklist …` (runs of checklist templates kept in the store, probes and
//! flows executed over HTTP), `gangway forecast`, `gangway bundle` and `gangway
//! adoption evaluate` (see `docs/user.md`, "Checklists").
//!
//! Exit codes follow the other store commands: 0 done (and, for `status`, the run is
//! complete; for `run`, every item passed); 1 the check found problems (`status`: not
//! complete; `run`: an item failed; `forecast`: something fails on the later date) or
//! the store refused the operation (a typed error with its code: an unknown run or
//! item, an item of the wrong kind, an invalid waiver); 2 the command could not run
//! (bad flags, an unreadable template or rows file, a missing secret, no store).
//!
//! Secrets never reach standard output, standard error, the store or the audit log:
//! requests are rendered twice by the core (real values to send, redacted values to
//! record and print), and every recorded artifact is scrubbed of the secrets' values
//! once more before it is stored.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand, ValueEnum};
use gangway::Date;
use gangway::billing::GateStandard;
use gangway::checklist::store::{DecisionUpdate, RunVerdict, STANDARD_NOT_CONFIGURED, StoredRun};
use gangway::checklist::{
    AdoptionVerdict, Artifact, AssertionResult, Check, FlowOutcome, FlowRun, Gate, ItemKind, ItemState, KnownGap,
    Method, Request, Response, Secrets, StepOutcome, SubjectKind, Template, Thresholds, Verdict, Waiver, WeekRow,
    builtin, evaluate_adoption, report,
};
use gangway::forecast::Forecast;
use jiff::Timestamp;
use serde_json::{Value as Json, json};

use crate::store_cmds::{Res, Stop, StoreOpts, finish, message_of, refused, table};
use crate::{Fatal, PlainFormat, emit, parse_date, today};

/// How `checklist` commands print.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ChecklistFormat {
    /// For people.
    Text,
    /// Canonical JSON.
    Json,
    /// Markdown (`show` and `status`: the run's report).
    Markdown,
}

/// Where the store is, who acts and how to print, for `checklist` commands (like the
/// other store commands, with a Markdown format for reports).
#[derive(Args, Debug)]
pub(crate) struct ChecklistOpts {
    /// The store file (`:memory:` for a throwaway store).
    #[arg(long, env = "GANGWAY_DB", default_value = "gangway.db", global = true)]
    db: PathBuf,
    /// Who makes the change, for the audit log (default: `$USER`, else `gangway`).
    #[arg(long, env = "GANGWAY_ACTOR", global = true)]
    actor: Option<String>,
    /// Output format (`markdown` for `show` and `status`).
    #[arg(long, value_enum, default_value_t = ChecklistFormat::Text, global = true)]
    format: ChecklistFormat,
}

impl ChecklistOpts {
    fn store(&self) -> StoreOpts {
        StoreOpts {
            db: self.db.clone(),
            actor: self.actor.clone(),
            format: match self.format {
                ChecklistFormat::Json => PlainFormat::Json,
                ChecklistFormat::Text | ChecklistFormat::Markdown => PlainFormat::Text,
            },
        }
    }
}

/// `gangway checklist …`.
#[derive(Args, Debug)]
pub struct ChecklistArgs {
    #[command(flatten)]
    opts: ChecklistOpts,
    #[command(subcommand)]
    command: ChecklistCommand,
}

/// The deployment's billing gate standard, for billing gate items.
#[derive(Args, Debug)]
struct StandardArg {
    /// What satisfies a billing gate item: a paid invoice or an approved purchase order.
    /// There is no default: without it (or GANGWAY_GATE_STANDARD) billing gate items are
    /// not satisfied.
    #[arg(long, env = "GANGWAY_GATE_STANDARD", value_parser = parse_standard)]
    standard: Option<GateStandard>,
}

/// Adoption thresholds (per customer; unset ones keep their value, the seed's by default).
#[derive(Args, Debug, Default)]
struct ThresholdArgs {
    /// Week 1's least share of shifts recorded, in percent (default 60).
    #[arg(long)]
    week1_min_percent: Option<u32>,
    /// The least share of week 2 and later, and of a primary-tool week (default 85).
    #[arg(long)]
    later_min_percent: Option<u32>,
    /// The most permission errors the latest week may have (default 0).
    #[arg(long)]
    permission_errors_near_zero: Option<u32>,
    /// The longest a spot-checked workflow may take, in minutes (default: not checked).
    #[arg(long)]
    spot_check_max_minutes: Option<u32>,
    /// Weeks as the primary tool the definition of done needs (default 2).
    #[arg(long)]
    min_weeks: Option<u32>,
}

impl ThresholdArgs {
    fn any(&self) -> bool {
        self.week1_min_percent.is_some()
            || self.later_min_percent.is_some()
            || self.permission_errors_near_zero.is_some()
            || self.spot_check_max_minutes.is_some()
            || self.min_weeks.is_some()
    }

    fn apply(&self, mut t: Thresholds) -> Thresholds {
        if let Some(v) = self.week1_min_percent {
            t.week1_min_percent = v;
        }
        if let Some(v) = self.later_min_percent {
            t.later_min_percent = v;
        }
        if let Some(v) = self.permission_errors_near_zero {
            t.permission_errors_near_zero = v;
        }
        if let Some(v) = self.spot_check_max_minutes {
            t.spot_check_max_minutes = Some(v);
        }
        if let Some(v) = self.min_weeks {
            t.min_weeks = v;
        }
        t
    }
}

/// One week's adoption figures on the command line.
#[derive(Args, Debug)]
struct WeekArgs {
    /// Week number since go-live, from 1.
    #[arg(long)]
    week: Option<u32>,
    /// Shifts in the pilot/go-live scope this week.
    #[arg(long, requires = "week")]
    shifts_in_scope: Option<u32>,
    /// Of those, shifts recorded in the product.
    #[arg(long, requires = "week")]
    shifts_recorded: Option<u32>,
    /// Active staff users by role, `ROLE=N` (repeat).
    #[arg(long = "active-staff", value_name = "ROLE=N", value_parser = parse_count, requires = "week")]
    active_staff: Vec<(String, u32)>,
    /// Visit/session entries this week.
    #[arg(long, requires = "week")]
    entries: Option<u32>,
    /// Tables/areas in scope (with --areas-using).
    #[arg(long, requires = "areas_using")]
    areas_in_scope: Option<u32>,
    /// Tables/areas using the product (with --areas-in-scope).
    #[arg(long, requires = "areas_in_scope")]
    areas_using: Option<u32>,
    /// Exceptions (failed writes, permission errors included).
    #[arg(long, requires = "week")]
    exceptions: Option<u32>,
    /// Permission/denial errors.
    #[arg(long, requires = "week")]
    permission_errors: Option<u32>,
    /// Minutes a spot-checked key workflow took (repeat).
    #[arg(long = "spot-check-minutes", requires = "week")]
    spot_check_minutes: Vec<u32>,
}

#[derive(Subcommand, Debug)]
enum ChecklistCommand {
    /// List the built-in templates; `--show ID` prints one's YAML.
    Templates {
        /// Print this built-in template's YAML.
        #[arg(long, value_name = "ID")]
        show: Option<String>,
    },
    /// Start a run of a built-in template or a template file; prints the run's id.
    New {
        /// A built-in template's id (see `gangway checklist templates`).
        #[arg(long, value_name = "ID", required_unless_present = "file", conflicts_with = "file")]
        template: Option<String>,
        /// A template file (YAML; see docs/checklists.md).
        #[arg(long)]
        file: Option<PathBuf>,
        /// A value of a parameter the template declares, `NAME=VALUE` (repeat).
        #[arg(long = "param", value_name = "NAME=VALUE", value_parser = parse_pair)]
        params: Vec<(String, String)>,
    },
    /// List the stored runs.
    List,
    /// Print a run: every item with its status, evidence and result, the exit criteria,
    /// known gaps and the decision record (`--format markdown`: the report).
    Show {
        /// The run's id (`RUN-000001`).
        run: String,
        /// Evaluation date, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        #[command(flatten)]
        standard: StandardArg,
    },
    /// Check a manual item done or failed, with evidence.
    Check {
        /// The run's id.
        run: String,
        /// The item's key (`section.item`).
        item: String,
        /// The item is done.
        #[arg(long, required_unless_present = "failed", conflicts_with = "failed")]
        done: bool,
        /// The item was checked and is not true.
        #[arg(long)]
        failed: bool,
        /// An evidence reference: an evidence id, a URL, a ticket (repeat).
        #[arg(long = "evidence", value_name = "REF")]
        evidence: Vec<String>,
        /// A note, for people.
        #[arg(long)]
        note: Option<String>,
    },
    /// Waive an item until a date: it counts as settled through that day.
    Waive {
        /// The run's id.
        run: String,
        /// The item's key (`section.item`).
        item: String,
        /// Who owns the decision.
        #[arg(long)]
        owner: String,
        /// Why.
        #[arg(long)]
        reason: String,
        /// The last day the waiver holds (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        expires: Date,
    },
    /// Add a known gap with its owner and due date.
    Gap {
        /// The run's id.
        run: String,
        /// What is missing.
        #[arg(long)]
        text: String,
        /// Who owns closing it.
        #[arg(long)]
        owner: String,
        /// The last day it may stay open (YYYY-MM-DD).
        #[arg(long, value_parser = parse_date)]
        due: Date,
    },
    /// Set fields of the launch decision record.
    Decision {
        /// The run's id.
        run: String,
        /// The named technical owner signing off readiness (dated now).
        #[arg(long)]
        technical_owner: Option<String>,
        /// Who may decide a rollback.
        #[arg(long)]
        rollback_authority: Option<String>,
        /// The customer-facing support channel.
        #[arg(long)]
        support_channel: Option<String>,
        /// The support response SLA.
        #[arg(long)]
        support_sla: Option<String>,
    },
    /// Record weekly adoption figures (one week by flags, or rows from a file) and the
    /// customer's thresholds; prints the adoption verdict.
    Adoption {
        /// The run's id.
        run: String,
        #[command(flatten)]
        week: WeekArgs,
        /// Rows from a file: a JSON array, JSON Lines, or CSV (`.csv`, with a header).
        #[arg(long, value_name = "FILE", conflicts_with = "week")]
        rows: Option<PathBuf>,
        #[command(flatten)]
        thresholds: ThresholdArgs,
    },
    /// Run the run's probe and flow items over HTTP and record each result; exit 1 when
    /// one fails.
    Run {
        /// The run's id.
        run: String,
        /// The service's base URL; each request's path is joined to it.
        #[arg(long, value_name = "URL")]
        base_url: String,
        /// A secret, `NAME=VALUE` (repeat). Discouraged: the value lands in your shell
        /// history and the process list; prefer --secret-env.
        #[arg(long = "secret", value_name = "NAME=VALUE", value_parser = parse_pair)]
        secrets: Vec<(String, String)>,
        /// A secret read from an environment variable, `NAME=ENVVAR` (repeat).
        #[arg(long = "secret-env", value_name = "NAME=ENVVAR", value_parser = parse_pair)]
        secret_env: Vec<(String, String)>,
        /// Only this item (`section.item`; repeat). Default: every probe and flow item.
        #[arg(long = "item", value_name = "ITEM")]
        items: Vec<String>,
        /// The most one request may take, connecting included, in milliseconds.
        #[arg(long, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=600_000))]
        timeout_ms: u64,
    },
    /// The run's verdict: exit 0 when complete, 1 otherwise.
    Status {
        /// The run's id.
        run: String,
        /// Evaluation date, YYYY-MM-DD (default: today).
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        #[command(flatten)]
        standard: StandardArg,
    },
}

/// `gangway forecast`.
#[derive(Args, Debug)]
pub struct ForecastArgs {
    #[command(flatten)]
    opts: StoreOpts,
    /// The later date: what fails on it (YYYY-MM-DD).
    #[arg(long, value_parser = parse_date)]
    as_of: Date,
    /// The earlier date (default: today).
    #[arg(long, value_parser = parse_date)]
    from: Option<Date>,
    #[command(flatten)]
    standard: StandardArg,
}

/// `gangway bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    #[command(flatten)]
    opts: StoreOpts,
    /// The stored packet's id.
    packet_id: String,
    /// The directory to write (must not exist, or be empty).
    out: PathBuf,
    /// Evaluation date, YYYY-MM-DD (default: today).
    #[arg(long, value_parser = parse_date)]
    as_of: Option<Date>,
    #[command(flatten)]
    standard: StandardArg,
}

/// `gangway adoption …`.
#[derive(Args, Debug)]
pub struct AdoptionArgs {
    #[command(subcommand)]
    command: AdoptionCommand,
}

#[derive(Subcommand, Debug)]
enum AdoptionCommand {
    /// Evaluate weekly adoption rows (JSON array, JSON Lines, or CSV) against the
    /// thresholds; exit 0 when every week passes and permission errors trend to zero.
    Evaluate {
        /// The rows file; `-` reads standard input (JSON or JSON Lines).
        file: PathBuf,
        #[command(flatten)]
        thresholds: ThresholdArgs,
        /// Output format.
        #[arg(long, value_enum, default_value_t = PlainFormat::Text)]
        format: PlainFormat,
    },
}

// ---- argument parsers ----

fn parse_standard(s: &str) -> Result<GateStandard, String> {
    GateStandard::parse(s).ok_or_else(|| format!("unknown gate standard `{s}`; one of paid, po_approved"))
}

fn parse_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.trim().is_empty() => Ok((k.trim().to_owned(), v.to_owned())),
        _ => Err("write it as NAME=VALUE".to_owned()),
    }
}

fn parse_count(s: &str) -> Result<(String, u32), String> {
    let (k, v) = parse_pair(s)?;
    let n = v
        .trim()
        .parse::<u32>()
        .map_err(|_| format!("`{v}` is not a count; write ROLE=N"))?;
    Ok((k, n))
}

// ---- entry points ----

/// Runs `gangway checklist …`.
pub fn checklist(args: ChecklistArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.store().format;
    finish(run(&args.opts, args.command), format)
}

/// Runs `gangway forecast`.
pub fn forecast(args: ForecastArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_forecast(&args), format)
}

/// Runs `gangway bundle`.
pub fn bundle(args: BundleArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run_bundle(&args), format)
}

/// Runs `gangway adoption …`.
pub fn adoption(args: AdoptionArgs) -> Result<ExitCode, Fatal> {
    match args.command {
        AdoptionCommand::Evaluate {
            file,
            thresholds,
            format,
        } => {
            let rows = read_rows(&file).map_err(Fatal::from)?;
            let t = thresholds.apply(Thresholds::default());
            let verdict = match evaluate_adoption(&rows, &t) {
                Ok(v) => v,
                Err(e) => {
                    let stop = refused(e.code(), message_of(e.code(), &e));
                    return finish(Err(stop), format);
                }
            };
            let body = match format {
                PlainFormat::Json => gangway::report::canonical_json(&verdict),
                PlainFormat::Text => adoption_text(&verdict),
            };
            emit(&body)?;
            Ok(crate::verdict(verdict.thresholds_met))
        }
    }
}

fn run(opts: &ChecklistOpts, command: ChecklistCommand) -> Res<ExitCode> {
    let store_opts = opts.store();
    let markdown_only = |what: &str| -> Res<()> {
        if opts.format == ChecklistFormat::Markdown {
            return Err(Stop::Fatal(format!(
                "--format markdown is for `checklist show` and `checklist status`, not `checklist {what}`"
            )));
        }
        Ok(())
    };
    match command {
        ChecklistCommand::Templates { show } => {
            markdown_only("templates")?;
            templates(&store_opts, show.as_deref())
        }
        ChecklistCommand::New { template, file, params } => {
            markdown_only("new")?;
            new_run(&store_opts, template.as_deref(), file.as_deref(), params)
        }
        ChecklistCommand::List => {
            markdown_only("list")?;
            list(&store_opts)
        }
        ChecklistCommand::Show { run, as_of, standard } => show(opts, &run, as_of, standard.standard, false),
        ChecklistCommand::Status { run, as_of, standard } => show(opts, &run, as_of, standard.standard, true),
        ChecklistCommand::Check {
            run,
            item,
            done,
            failed,
            evidence,
            note,
        } => {
            markdown_only("check")?;
            let state = if done && !failed {
                ItemState::Done
            } else {
                ItemState::Failed
            };
            let mut store = store_opts.open(false)?;
            let record = store.check_item(&store_opts.origin(), &run, &item, state, &evidence, note.as_deref())?;
            store_opts.print(&json!({"run": run, "item": item, "record": record}), || {
                let ev = if record.evidence.is_empty() {
                    String::new()
                } else {
                    format!(" (evidence: {})", record.evidence.join(", "))
                };
                format!("{run} {item}: {}{ev}\n", if done { "done" } else { "failed" })
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ChecklistCommand::Waive {
            run,
            item,
            owner,
            reason,
            expires,
        } => {
            markdown_only("waive")?;
            let mut store = store_opts.open(false)?;
            let waiver = Waiver { owner, reason, expires };
            let record = store.waive_item(&store_opts.origin(), &run, &item, &waiver)?;
            store_opts.print(&json!({"run": run, "item": item, "record": record}), || {
                format!(
                    "{run} {item}: waived by {} until {} (counts as open from the day after)\n",
                    waiver.owner, waiver.expires
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ChecklistCommand::Gap { run, text, owner, due } => {
            markdown_only("gap")?;
            let mut store = store_opts.open(false)?;
            let gap = store.add_gap(&store_opts.origin(), &run, &KnownGap { text, owner, due })?;
            store_opts.print(&json!({"run": run, "gap": gap}), || {
                format!(
                    "{run}: known gap \"{}\" owned by {}, due {} (overdue from the day after)\n",
                    gap.text, gap.owner, gap.due
                )
            })?;
            Ok(ExitCode::SUCCESS)
        }
        ChecklistCommand::Decision {
            run,
            technical_owner,
            rollback_authority,
            support_channel,
            support_sla,
        } => {
            markdown_only("decision")?;
            let mut store = store_opts.open(false)?;
            let update = DecisionUpdate {
                technical_owner,
                rollback_authority,
                support_channel,
                support_sla,
            };
            let record = store.set_decision(&store_opts.origin(), &run, &update)?;
            let missing = record.missing();
            store_opts.print(
                &json!({"run": run, "decision_record": record, "missing": missing}),
                || {
                    if missing.is_empty() {
                        format!("{run}: the decision record is complete\n")
                    } else {
                        format!("{run}: decision record set; still missing {}\n", missing.join(", "))
                    }
                },
            )?;
            Ok(ExitCode::SUCCESS)
        }
        ChecklistCommand::Adoption {
            run,
            week,
            rows,
            thresholds,
        } => {
            markdown_only("adoption")?;
            adoption_cmd(&store_opts, &run, &week, rows.as_deref(), &thresholds)
        }
        ChecklistCommand::Run {
            run,
            base_url,
            secrets,
            secret_env,
            items,
            timeout_ms,
        } => {
            markdown_only("run")?;
            run_http(&store_opts, &run, &base_url, secrets, secret_env, &items, timeout_ms)
        }
    }
}

// ---- templates and runs ----

fn templates(opts: &StoreOpts, show: Option<&str>) -> Res<ExitCode> {
    if let Some(id) = show {
        let Some(text) = builtin::source(id) else {
            return Err(refused(
                "checklist.unknown_template",
                format!(
                    "no built-in template `{id}`; the built-ins are {}",
                    builtin::ids().join(", ")
                ),
            ));
        };
        opts.print(&json!({"id": id, "yaml": text}), || text.to_owned())?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut rows = Vec::new();
    let mut list = Vec::new();
    for id in builtin::ids() {
        let Some(t) = builtin::template(id) else { continue };
        let params: Vec<&str> = t.parameter_names().collect();
        let secrets = t.secret_names();
        let items = t.items().count();
        rows.push(vec![
            (*id).to_owned(),
            format!("{items} items"),
            format!(
                "parameters: {}",
                if params.is_empty() {
                    "-".to_owned()
                } else {
                    params.join(", ")
                }
            ),
            format!(
                "secrets: {}",
                if secrets.is_empty() {
                    "-".to_owned()
                } else {
                    secrets.join(", ")
                }
            ),
        ]);
        list.push(json!({"id": id, "title": t.title, "items": items, "parameters": params, "secrets": secrets}));
    }
    opts.print(&Json::Array(list), || table(&rows, ""))?;
    Ok(ExitCode::SUCCESS)
}

fn new_run(
    opts: &StoreOpts,
    template: Option<&str>,
    file: Option<&Path>,
    params: Vec<(String, String)>,
) -> Res<ExitCode> {
    let text = match (template, file) {
        (Some(id), _) => builtin::source(id)
            .ok_or_else(|| {
                refused(
                    "checklist.unknown_template",
                    format!(
                        "no built-in template `{id}`; the built-ins are {} (or pass --file)",
                        builtin::ids().join(", ")
                    ),
                )
            })?
            .to_owned(),
        (None, Some(path)) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Stop::Fatal(format!("cannot read template {}: {e}", path.display())))?;
            if let Err(err) = Template::from_yaml(&text) {
                let mut msg = format!("template {} is invalid:", path.display());
                for p in &err.problems {
                    msg.push_str(&format!(
                        "\n{}:{}:{}: {}: {}",
                        path.display(),
                        p.line,
                        p.column,
                        p.code,
                        p.message
                    ));
                }
                return Err(Stop::Fatal(msg));
            }
            text
        }
        (None, None) => return Err(Stop::Fatal("give --template ID or --file FILE".to_owned())),
    };
    let mut parameters = BTreeMap::new();
    for (k, v) in params {
        if parameters.insert(k.clone(), v).is_some() {
            return Err(Stop::Fatal(format!("parameter `{k}` is given twice")));
        }
    }
    let mut store = opts.open(false)?;
    let stored = store.new_checklist_run(&opts.origin(), &text, &parameters)?;
    let template = stored
        .template()
        .map_err(|e| Stop::Fatal(format!("{}: {e}", e.code())))?;
    let secrets = template.secret_names();
    opts.print(&json!({"run": stored}), || {
        let mut out = format!(
            "{} started from template {} ({} items)\n",
            stored.id,
            stored.template_id,
            template.items().count()
        );
        if !secrets.is_empty() {
            out.push_str(&format!(
                "its probes and flows need the secrets {}: pass them to `gangway checklist run {} --secret-env NAME=ENVVAR`\n",
                secrets.join(", "),
                stored.id
            ));
        }
        out
    })?;
    Ok(ExitCode::SUCCESS)
}

fn list(opts: &StoreOpts) -> Res<ExitCode> {
    let store = opts.open(false)?;
    let runs = store.checklist_runs()?;
    let rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            vec![
                r.id.clone(),
                r.template_id.clone(),
                params_text(r),
                format!("updated {}", r.updated_at),
            ]
        })
        .collect();
    opts.print(&json!(runs), || {
        if rows.is_empty() {
            "no checklist runs; start one with `gangway checklist new --template ID`\n".to_owned()
        } else {
            table(&rows, "")
        }
    })?;
    Ok(ExitCode::SUCCESS)
}

fn params_text(r: &StoredRun) -> String {
    let p: Vec<String> = r.run.parameters.iter().map(|(k, v)| format!("{k}={v}")).collect();
    p.join(" ")
}

fn template_of(stored: &StoredRun) -> Res<Template> {
    stored.template().map_err(|e| {
        refused(
            e.code(),
            format!("the stored template of {} no longer reads: {e}", stored.id),
        )
    })
}

fn has_billing_gate(template: &Template) -> bool {
    template.items().any(|(_, i)| {
        matches!(
            &i.check,
            Check::Gate {
                gate: Gate::Billing { .. }
            }
        )
    })
}

fn show(
    opts: &ChecklistOpts,
    run_id: &str,
    as_of: Option<Date>,
    standard: Option<GateStandard>,
    status_only: bool,
) -> Res<ExitCode> {
    let store_opts = opts.store();
    let as_of = as_of.unwrap_or_else(today);
    let store = store_opts.open(false)?;
    let stored = store.checklist_run(run_id)?;
    let template = template_of(&stored)?;
    let v = store.verdict_of(&stored, &template, as_of, standard)?;
    let note = (standard.is_none() && has_billing_gate(&template)).then_some(
        "note: the billing gate standard is not configured (pass --standard paid|po_approved or set \
         GANGWAY_GATE_STANDARD): billing gate items are not satisfied\n",
    );
    let body = match opts.format {
        ChecklistFormat::Json => {
            if status_only {
                gangway::report::canonical_json(&v)
            } else {
                gangway::report::canonical_json(&json!({"run": stored, "verdict": v}))
            }
        }
        ChecklistFormat::Markdown => report::markdown(&template, Some(&stored.id), &stored.run, &v.verdict),
        ChecklistFormat::Text => {
            let mut out = if status_only {
                status_text(&stored, &template, &v)
            } else {
                show_text(&stored, &template, &v)
            };
            if let Some(n) = note {
                out.push_str(n);
            }
            out
        }
    };
    emit(&body)?;
    if status_only {
        Ok(crate::verdict(v.verdict.complete))
    } else {
        Ok(ExitCode::SUCCESS)
    }
}

fn headline(stored: &StoredRun, v: &Verdict) -> String {
    let params = params_text(stored);
    format!(
        "{} ({}{}) on {}: {}\n",
        stored.id,
        stored.template_id,
        if params.is_empty() {
            String::new()
        } else {
            format!(", {params}")
        },
        v.as_of,
        if v.complete { "complete" } else { "NOT complete" }
    )
}

fn counts_text(v: &Verdict) -> String {
    let c = &v.counts;
    format!(
        "items: {} — {} done, {} waived, {} open, {} failed, {} waiver lapsed, {} evidence missing\n",
        c.total, c.done, c.waived, c.open, c.failed, c.waiver_lapsed, c.evidence_missing
    )
}

fn criteria_text(template: &Template, v: &Verdict) -> String {
    let mut out = String::from("exit criteria:\n");
    for (c, def) in v.exit_criteria.iter().zip(&template.exit_criteria) {
        out.push_str(&format!(
            "  [{}] {}: {}\n",
            if c.met { "met" } else { "NOT met" },
            c.id,
            one_line(&def.text)
        ));
        for b in &c.blocking {
            out.push_str(&format!("      - {}\n", report::blocker_text(b)));
        }
    }
    out
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn status_text(stored: &StoredRun, template: &Template, rv: &RunVerdict) -> String {
    let v = &rv.verdict;
    let mut out = headline(stored, v);
    out.push_str(&counts_text(v));
    out.push_str(&criteria_text(template, v));
    let unsettled: Vec<&gangway::checklist::ItemVerdict> = v.items.iter().filter(|i| !i.status.settled()).collect();
    if !unsettled.is_empty() {
        out.push_str("not done:\n");
        for i in unsettled {
            out.push_str(&format!(
                "  [{}] {}{}\n",
                report::status_text(i.status),
                i.key,
                i.reason
                    .as_deref()
                    .map(|r| format!(": {}", one_line(r)))
                    .unwrap_or_default()
            ));
        }
    }
    for p in &v.problems {
        out.push_str(&format!("problem: {}: {}\n", p.code, p.message));
    }
    out
}

fn show_text(stored: &StoredRun, template: &Template, rv: &RunVerdict) -> String {
    let v = &rv.verdict;
    let mut out = headline(stored, v);
    out.push_str(&format!(
        "started {} by {}; template digest {}\n",
        stored.created_at,
        stored.created_by,
        stored.template_digest.get(..12).unwrap_or(&stored.template_digest)
    ));
    for section in &template.sections {
        let sv = v.sections.iter().find(|s| s.id == section.id);
        out.push_str(&format!(
            "\n{} [{}] ({})\n",
            section.id,
            if sv.is_some_and(|s| s.complete) {
                "complete"
            } else {
                "incomplete"
            },
            one_line(&section.title)
        ));
        let prefix = format!("{}.", section.id);
        let mut rows = Vec::new();
        for item in v.items.iter().filter(|i| i.key.starts_with(&prefix)) {
            let record = stored.run.items.get(&item.key);
            let mut detail = Vec::new();
            if let Some(r) = &item.reason {
                detail.push(one_line(r));
            }
            if let Some(e) = item.waiver_expires {
                detail.push(format!("waiver until {e}"));
            }
            if let Some(r) = record {
                if !r.evidence.is_empty() {
                    detail.push(format!("evidence {}", r.evidence.join(", ")));
                }
                if let Some(a) = &r.result
                    && !a.job_ids.is_empty()
                {
                    detail.push(format!("jobs {}", a.job_ids.join(", ")));
                }
            }
            if let Some(by) = &item.by {
                detail.push(format!("by {by}"));
            }
            rows.push(vec![
                format!("[{}]", report::status_text(item.status)),
                item.key.clone(),
                item.kind.as_str().to_owned(),
                detail.join("; "),
            ]);
        }
        out.push_str(&table(&rows, "  "));
    }
    out.push('\n');
    out.push_str(&criteria_text(template, v));
    if stored.run.known_gaps.is_empty() {
        out.push_str("known gaps: none\n");
    } else {
        out.push_str("known gaps:\n");
        for g in &stored.run.known_gaps {
            out.push_str(&format!(
                "  {} (owner {}, due {}){}\n",
                g.text,
                g.owner,
                g.due,
                if g.due < v.as_of { " OVERDUE" } else { "" }
            ));
        }
    }
    let d = &stored.run.decision_record;
    let f = |x: &Option<String>| x.clone().unwrap_or_else(|| "(missing)".to_owned());
    out.push_str(&format!(
        "decision record:\n  technical owner sign-off: {}\n  rollback authority: {}\n  support channel: {}\n  support SLA: {}\n",
        d.technical_owner_signoff
            .as_ref()
            .map_or_else(|| "(missing)".to_owned(), |s| format!("{} at {}", s.by, s.at)),
        f(&d.rollback_authority),
        f(&d.support_channel),
        f(&d.support_sla)
    ));
    if let Some(a) = &rv.adoption {
        out.push_str(&format!(
            "adoption: {} weeks as the primary tool; thresholds {}\n",
            a.weeks_as_primary,
            if a.thresholds_met { "met" } else { "NOT met" }
        ));
    }
    out.push_str(&counts_text(v));
    for p in &v.problems {
        out.push_str(&format!("problem: {}: {}\n", p.code, p.message));
    }
    out
}

// ---- adoption ----

fn adoption_cmd(
    opts: &StoreOpts,
    run_id: &str,
    week: &WeekArgs,
    rows: Option<&Path>,
    thresholds: &ThresholdArgs,
) -> Res<ExitCode> {
    let mut new_rows: Vec<WeekRow> = match rows {
        Some(path) => read_rows(path)?,
        None => Vec::new(),
    };
    if let Some(n) = week.week {
        let (Some(in_scope), Some(recorded)) = (week.shifts_in_scope, week.shifts_recorded) else {
            return Err(Stop::Fatal(
                "a week needs --shifts-in-scope and --shifts-recorded".to_owned(),
            ));
        };
        new_rows.push(WeekRow {
            week: n,
            active_staff: week.active_staff.iter().cloned().collect(),
            entries: week.entries,
            shifts_in_scope: in_scope,
            shifts_recorded: recorded,
            areas_in_scope: week.areas_in_scope,
            areas_using: week.areas_using,
            exceptions: week.exceptions.unwrap_or(0),
            permission_errors: week.permission_errors.unwrap_or(0),
            spot_check_minutes: week.spot_check_minutes.clone(),
        });
    }
    let mut store = opts.open(false)?;
    let origin = opts.origin();
    let stored = store.checklist_run(run_id)?;
    if thresholds.any() {
        store.set_adoption_thresholds(&origin, run_id, &thresholds.apply(stored.adoption_thresholds))?;
    }
    for row in &new_rows {
        store.record_adoption_week(&origin, run_id, row)?;
    }
    let stored = store.checklist_run(run_id)?;
    let verdict = evaluate_adoption(&stored.adoption_weeks, &stored.adoption_thresholds).map_err(|e| {
        let code = e.code();
        refused(code, message_of(code, &e))
    })?;
    opts.print(&json!({"run": run_id, "adoption": verdict}), || {
        format!(
            "{run_id}: {} week(s) recorded\n{}",
            stored.adoption_weeks.len(),
            adoption_text(&verdict)
        )
    })?;
    Ok(ExitCode::SUCCESS)
}

fn adoption_text(v: &AdoptionVerdict) -> String {
    let mut rows = vec![vec![
        "week".to_owned(),
        "recorded".to_owned(),
        "bar".to_owned(),
        "pass".to_owned(),
        "primary".to_owned(),
        "permission errors".to_owned(),
        "why".to_owned(),
    ]];
    let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
    for w in &v.weeks {
        rows.push(vec![
            w.week.to_string(),
            format!("{:.2}%", w.recorded_percent),
            format!("{}%", w.threshold_percent),
            yes(w.pass),
            yes(w.primary),
            w.permission_errors.to_string(),
            w.reasons.join("; "),
        ]);
    }
    let mut out = table(&rows, "  ");
    out.push_str(&format!(
        "permission errors trend to near zero after week 1: {}{}\n",
        yes(v.permission_errors.pass),
        v.permission_errors
            .reason
            .as_deref()
            .map(|r| format!(" ({r})"))
            .unwrap_or_default()
    ));
    out.push_str(&format!(
        "thresholds met: {}; weeks as the primary tool: {} of {} needed{}\n",
        yes(v.thresholds_met),
        v.weeks_as_primary,
        v.thresholds.min_weeks,
        if v.primary_tool { " (primary tool)" } else { "" }
    ));
    out
}

/// Reads adoption rows: a JSON array, JSON Lines, or CSV (by the `.csv` extension).
fn read_rows(path: &Path) -> Res<Vec<WeekRow>> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    read.map_err(|e| Stop::Fatal(format!("cannot read rows {}: {e}", path.display())))?;
    let bad = |line: usize, e: String| Stop::Fatal(format!("{}:{line}: {e}", path.display()));
    if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv")) {
        return csv_rows(&text).map_err(|(line, e)| bad(line, e));
    }
    if text.trim_start().starts_with('[') {
        return serde_json::from_str(&text).map_err(|e| bad(e.line(), e.to_string()));
    }
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        out.push(serde_json::from_str(line).map_err(|e| bad(i + 1, e.to_string()))?);
    }
    Ok(out)
}

/// CSV rows with a header naming the fields (`week,shifts_in_scope,shifts_recorded,…`);
/// `active_staff` is `role=n;role=n`, `spot_check_minutes` is `n;n`. No quoting.
fn csv_rows(text: &str) -> Result<Vec<WeekRow>, (usize, String)> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty());
    let Some((_, header)) = lines.next() else {
        return Ok(Vec::new());
    };
    let names: Vec<String> = header.split(',').map(|h| h.trim().to_owned()).collect();
    let mut out = Vec::new();
    for (i, line) in lines {
        let n = i + 1;
        if line.contains('"') {
            return Err((n, "quoted CSV fields are not supported".to_owned()));
        }
        let cells: Vec<&str> = line.split(',').map(str::trim).collect();
        if cells.len() != names.len() {
            return Err((n, format!("{} fields, the header has {}", cells.len(), names.len())));
        }
        let mut obj = serde_json::Map::new();
        for (name, cell) in names.iter().zip(cells) {
            if cell.is_empty() {
                continue;
            }
            let num = |c: &str| -> Result<Json, (usize, String)> {
                c.parse::<u32>()
                    .map(Json::from)
                    .map_err(|_| (n, format!("`{name}`: `{c}` is not a whole number")))
            };
            let value = match name.as_str() {
                "active_staff" => {
                    let mut m = serde_json::Map::new();
                    for part in cell.split(';').filter(|p| !p.trim().is_empty()) {
                        let (role, count) = parse_count(part).map_err(|e| (n, format!("`active_staff`: {e}")))?;
                        m.insert(role, Json::from(count));
                    }
                    Json::Object(m)
                }
                "spot_check_minutes" => Json::Array(
                    cell.split(';')
                        .filter(|p| !p.trim().is_empty())
                        .map(|p| num(p.trim()))
                        .collect::<Result<_, _>>()?,
                ),
                _ => num(cell)?,
            };
            obj.insert(name.clone(), value);
        }
        out.push(serde_json::from_value(Json::Object(obj)).map_err(|e| (n, e.to_string()))?);
    }
    Ok(out)
}

// ---- running probes and flows over HTTP ----

/// The secrets handed in, from flags and environment variables.
fn collect_secrets(secrets: Vec<(String, String)>, secret_env: Vec<(String, String)>) -> Res<Secrets> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    if !secrets.is_empty() {
        eprintln!(
            "gangway: note: --secret puts the value in your shell history and the process list; prefer --secret-env NAME=ENVVAR"
        );
    }
    for (name, value) in secrets {
        if value.is_empty() {
            return Err(Stop::Fatal(format!("secret `{name}` is empty")));
        }
        if out.insert(name.clone(), value).is_some() {
            return Err(Stop::Fatal(format!("secret `{name}` is given twice")));
        }
    }
    for (name, var) in secret_env {
        let value = std::env::var(&var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
            Stop::Fatal(format!(
                "secret `{name}`: environment variable `{var}` is not set or empty"
            ))
        })?;
        if out.insert(name.clone(), value).is_some() {
            return Err(Stop::Fatal(format!("secret `{name}` is given twice")));
        }
    }
    Ok(out.into_iter().collect())
}

/// Replaces every secret value in every string of `value` by `***` (the core already
/// redacts artifacts; this is a second net before anything is stored or printed).
fn scrub(value: &mut Json, secrets: &[String]) {
    match value {
        Json::String(s) => {
            for secret in secrets {
                if s.contains(secret.as_str()) {
                    *s = s.replace(secret.as_str(), "***");
                }
            }
        }
        Json::Array(items) => items.iter_mut().for_each(|v| scrub(v, secrets)),
        Json::Object(map) => map.values_mut().for_each(|v| scrub(v, secrets)),
        _ => {}
    }
}

fn scrubbed(artifact: Artifact, secrets: &[String]) -> Artifact {
    let Ok(mut value) = serde_json::to_value(&artifact) else {
        return artifact;
    };
    scrub(&mut value, secrets);
    serde_json::from_value(value).unwrap_or(artifact)
}

/// The most of a response body that is read (a larger body is cut off and not JSON).
const BODY_LIMIT: u64 = 10 * 1024 * 1024;

fn http_agent(timeout: Duration) -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_global(Some(timeout))
        .http_status_as_error(false)
        .max_redirects(0)
        .user_agent(format!("gangway/{}", env!("CARGO_PKG_VERSION")))
        .build()
        .into()
}

fn method(m: Method) -> ureq::http::Method {
    match m {
        Method::Get => ureq::http::Method::GET,
        Method::Post => ureq::http::Method::POST,
        Method::Put => ureq::http::Method::PUT,
        Method::Patch => ureq::http::Method::PATCH,
        Method::Delete => ureq::http::Method::DELETE,
        Method::Head => ureq::http::Method::HEAD,
        Method::Options => ureq::http::Method::OPTIONS,
    }
}

/// Sends one request; `Err` is the transport error for people.
fn send(agent: &ureq::Agent, base: &str, req: &Request, timeout_ms: u64) -> Result<Response, String> {
    let url = format!("{base}{}", req.path);
    let mut builder = ureq::http::Request::builder()
        .method(method(req.method))
        .uri(url.as_str());
    let mut has_type = false;
    for (name, value) in req.headers.iter() {
        has_type |= name.eq_ignore_ascii_case("content-type");
        builder = builder.header(name, value);
    }
    let started = Instant::now();
    let sent = match &req.json {
        Some(body) => {
            if !has_type {
                builder = builder.header("content-type", "application/json");
            }
            let bytes = serde_json::to_vec(body).map_err(|e| e.to_string())?;
            let request = builder
                .body(bytes)
                .map_err(|e| format!("cannot build the request: {e}"))?;
            agent.run(request)
        }
        None => {
            let request = builder.body(()).map_err(|e| format!("cannot build the request: {e}"))?;
            agent.run(request)
        }
    };
    let mut response = sent.map_err(|e| transport_text(&e, timeout_ms))?;
    let status = response.status().as_u16();
    let headers: gangway::checklist::Headers = response
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let bytes = response
        .body_mut()
        .with_config()
        .limit(BODY_LIMIT)
        .read_to_vec()
        .map_err(|e| transport_text(&e, timeout_ms))?;
    let elapsed_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    Ok(Response {
        status,
        headers,
        body: serde_json::from_slice(&bytes).ok(),
        elapsed_ms,
    })
}

fn transport_text(e: &ureq::Error, timeout_ms: u64) -> String {
    match e {
        ureq::Error::Timeout(_) => format!("timed out after {timeout_ms} ms"),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => "connection refused".to_owned(),
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::TimedOut => format!("timed out after {timeout_ms} ms"),
        ureq::Error::HostNotFound => "host not found".to_owned(),
        ureq::Error::ConnectionFailed => "connection failed".to_owned(),
        other => other.to_string(),
    }
}

/// The failed assertions of an artifact's failed step (its last attempt), one per line.
fn failures(artifact: &Artifact) -> Vec<String> {
    let mut out = Vec::new();
    for step in artifact.steps.iter().filter(|s| s.outcome == StepOutcome::Failed) {
        let Some(last) = step.attempts.last() else { continue };
        if let Some(e) = &last.error {
            out.push(format!("step `{}`: no response: {e}", step.step));
        }
        for r in last.expect.iter().chain(&last.until).filter(|r| !r.pass) {
            out.push(format!("step `{}`: {}", step.step, assertion_text(r)));
        }
        if last.error.is_none() && last.expect.iter().chain(&last.until).all(|r| r.pass) {
            out.push(
                step.reason
                    .clone()
                    .unwrap_or_else(|| format!("step `{}` failed", step.step)),
            );
        }
    }
    out
}

fn assertion_text(r: &AssertionResult) -> String {
    let subject = match (r.subject, &r.target) {
        (SubjectKind::Status, _) => "status".to_owned(),
        (SubjectKind::Header, Some(t)) => format!("header `{t}`"),
        (SubjectKind::Pointer, Some(t)) => format!("`{t}`"),
        (_, None) => "?".to_owned(),
    };
    format!(
        "{subject} {}: {}",
        r.op.as_str(),
        r.reason.as_deref().unwrap_or("failed")
    )
}

fn run_http(
    opts: &StoreOpts,
    run_id: &str,
    base_url: &str,
    secrets: Vec<(String, String)>,
    secret_env: Vec<(String, String)>,
    only: &[String],
    timeout_ms: u64,
) -> Res<ExitCode> {
    let base = base_url.trim_end_matches('/');
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() <= "https://".len() {
        return Err(Stop::Fatal(format!(
            "--base-url `{base_url}` is not an http:// or https:// URL"
        )));
    }
    let secrets = collect_secrets(secrets, secret_env)?;
    let secret_values: Vec<String> = {
        let mut v: Vec<String> = secrets
            .names()
            .filter_map(|n| secrets.get(n))
            .map(str::to_owned)
            .collect();
        v.sort_by_key(|s| std::cmp::Reverse(s.len()));
        v
    };
    let mut store = opts.open(false)?;
    let stored = store.checklist_run(run_id)?;
    let template = template_of(&stored)?;

    // The items to run, in template order.
    let mut chosen: Vec<(String, &gangway::checklist::Item)> = Vec::new();
    for key in only {
        let Some(item) = template.item(key) else {
            let keys: Vec<String> = template
                .items()
                .map(|(s, i)| gangway::checklist::item_key(&s.id, &i.id))
                .collect();
            let hint = gangway::decode::did_you_mean(key, keys.iter().map(String::as_str))
                .map(|s| format!("; did you mean `{s}`?"))
                .unwrap_or_default();
            return Err(refused(
                "checklist.unknown_item",
                format!("the template of run `{run_id}` has no item `{key}`{hint}"),
            ));
        };
        if !matches!(item.kind(), ItemKind::Probe | ItemKind::Flow) {
            return Err(refused(
                "checklist.not_automatic",
                format!(
                    "item `{key}` is a {} item; only probe and flow items run requests",
                    item.kind().as_str()
                ),
            ));
        }
    }
    for (section, item) in template.items() {
        let key = gangway::checklist::item_key(&section.id, &item.id);
        let wanted = if only.is_empty() {
            matches!(item.kind(), ItemKind::Probe | ItemKind::Flow)
        } else {
            only.contains(&key)
        };
        if wanted {
            chosen.push((key, item));
        }
    }
    if chosen.is_empty() {
        opts.print(&json!({"run": run_id, "items": []}), || {
            format!("{run_id}: the template has no probe or flow items to run\n")
        })?;
        return Ok(ExitCode::SUCCESS);
    }

    // Every input is checked before the first request goes out.
    let mut missing_params: Vec<String> = Vec::new();
    let mut missing_secrets: Vec<String> = Vec::new();
    for (_, item) in &chosen {
        if let Err(gangway::checklist::ChecklistError::InputMissing { parameters, secrets }) =
            FlowRun::for_item(item, &stored.run.parameters, &secrets)
        {
            missing_params.extend(parameters);
            missing_secrets.extend(secrets);
        }
    }
    missing_params.sort();
    missing_params.dedup();
    missing_secrets.sort();
    missing_secrets.dedup();
    if !missing_secrets.is_empty() || !missing_params.is_empty() {
        let mut msg = String::from("nothing was sent:");
        if !missing_secrets.is_empty() {
            msg.push_str(&format!(
                " missing secrets {} (pass each with --secret-env NAME=ENVVAR)",
                missing_secrets.join(", ")
            ));
        }
        if !missing_params.is_empty() {
            msg.push_str(&format!(" missing parameters {}", missing_params.join(", ")));
        }
        return Err(Stop::Fatal(msg));
    }

    let agent = http_agent(Duration::from_millis(timeout_ms));
    let origin = opts.origin();
    let mut results = Vec::new();
    let mut all_passed = true;
    let mut text = String::new();
    for (key, item) in &chosen {
        let mut flow = FlowRun::for_item(item, &stored.run.parameters, &secrets)
            .map_err(|e| refused(e.code(), message_of(e.code(), &e)))?;
        while let Some(next) = flow.next() {
            if next.wait_ms > 0 {
                std::thread::sleep(Duration::from_millis(next.wait_ms));
            }
            let reply = send(&agent, base, &next.request, timeout_ms);
            let at = Timestamp::now();
            let handed = match reply {
                Ok(response) => flow.respond(&response, at),
                Err(message) => flow.transport_error(&message, at),
            };
            handed.map_err(|e| refused(e.code(), message_of(e.code(), &e)))?;
        }
        let artifact = scrubbed(flow.artifact(), &secret_values);
        store.record_result(&origin, run_id, key, &artifact)?;
        let passed = artifact.outcome == FlowOutcome::Passed;
        all_passed &= passed;
        let requests: usize = artifact.steps.iter().map(|s| s.attempts.len()).sum();
        let mut fails = if passed { Vec::new() } else { failures(&artifact) };
        // A transport error is the whole story: not repeated under the headline.
        fails.retain(|f| !(f.contains(": no response: ") && Some(f.as_str()) == artifact.reason.as_deref()));
        if passed {
            let ids = if artifact.request_ids.is_empty() {
                String::new()
            } else {
                format!("; request ids {}", artifact.request_ids.join(", "))
            };
            let jobs = if artifact.job_ids.is_empty() {
                String::new()
            } else {
                format!("; job ids {}", artifact.job_ids.join(", "))
            };
            text.push_str(&format!("PASS  {key}  ({requests} request(s){ids}{jobs})\n"));
        } else {
            text.push_str(&format!(
                "FAIL  {key}: {}\n",
                artifact.reason.as_deref().unwrap_or("did not finish")
            ));
            for f in &fails {
                text.push_str(&format!("        - {f}\n"));
            }
        }
        results.push(json!({
            "item": key,
            "outcome": artifact.outcome,
            "reason": artifact.reason,
            "failures": fails,
            "request_ids": artifact.request_ids,
            "job_ids": artifact.job_ids,
            "started_at": artifact.started_at,
            "finished_at": artifact.finished_at,
        }));
    }
    let passed = results.iter().filter(|r| r["outcome"] == "passed").count();
    text.push_str(&format!(
        "{run_id}: {passed} of {} item(s) passed; results recorded\n",
        results.len()
    ));
    let mut value = json!({"run": run_id, "base_url": base, "items": results});
    scrub(&mut value, &secret_values);
    let mut scrubbed_text = Json::String(text);
    scrub(&mut scrubbed_text, &secret_values);
    opts.print(&value, || scrubbed_text.as_str().unwrap_or_default().to_owned())?;
    Ok(crate::verdict(all_passed))
}

// ---- forecast and bundle ----

fn run_forecast(args: &ForecastArgs) -> Res<ExitCode> {
    let from = args.from.unwrap_or_else(today);
    let to = args.as_of;
    if to < from {
        return Err(Stop::Fatal(format!(
            "--as-of {to} is before --from {from}; a forecast looks forward"
        )));
    }
    let store = args.opts.open(false)?;
    let f = store.forecast_all(from, to, args.standard.standard)?;
    let worse = f.packets.iter().any(|p| !p.appear.is_empty()) || f.runs.iter().any(|r| !r.changes.is_empty());
    args.opts
        .print(&serde_json::to_value(&f).unwrap_or(Json::Null), || forecast_text(&f))?;
    Ok(crate::verdict(!worse))
}

fn forecast_text(f: &Forecast) -> String {
    if f.packets.is_empty() && f.runs.is_empty() {
        return format!("nothing changes between {} and {}\n", f.from, f.to);
    }
    let verdict = |ok: bool| if ok { "ok" } else { "FAILS" };
    let mut out = format!("forecast from {} to {}\n", f.from, f.to);
    if !f.packets.is_empty() {
        out.push_str("packets:\n");
        for p in &f.packets {
            out.push_str(&format!(
                "  {} (stage {}): {} on {} → {} on {}\n",
                p.packet_id.as_deref().unwrap_or("(no packet_id)"),
                p.stage,
                verdict(p.ok_on_from),
                f.from,
                verdict(p.ok_on_to),
                f.to
            ));
            for x in &p.appear {
                out.push_str(&format!("    + {} {}: {}\n", x.code, x.path, x.message));
            }
            for x in &p.clear {
                out.push_str(&format!("    - {} {}\n", x.code, x.path));
            }
            if !p.lapses.is_empty() {
                let dates: Vec<String> = p.lapses.iter().map(Date::to_string).collect();
                out.push_str(&format!("    lapsing: {}\n", dates.join(", ")));
            }
        }
    }
    if !f.runs.is_empty() {
        out.push_str("checklist runs:\n");
        let done = |c: bool| if c { "complete" } else { "NOT complete" };
        for r in &f.runs {
            out.push_str(&format!(
                "  {} ({}{}): {} on {} → {} on {}\n",
                r.run_id,
                r.template_id,
                r.packet_id
                    .as_deref()
                    .map(|p| format!(", packet {p}"))
                    .unwrap_or_default(),
                done(r.complete_on_from),
                f.from,
                done(r.complete_on_to),
                f.to
            ));
            for c in &r.changes {
                let what = match c.change {
                    gangway::checklist::ChangeKind::WaiverLapses => "waiver lapses",
                    gangway::checklist::ChangeKind::GapOverdue => "gap overdue",
                };
                out.push_str(&format!("    {}  {what}: {} (owner {})\n", c.date, c.subject, c.owner));
            }
        }
    }
    out
}

fn run_bundle(args: &BundleArgs) -> Res<ExitCode> {
    let as_of = args.as_of.unwrap_or_else(today);
    if args.out.exists() {
        let empty = std::fs::read_dir(&args.out)
            .map(|mut d| d.next().is_none())
            .unwrap_or(false);
        if !empty {
            return Err(Stop::Fatal(format!(
                "{} exists and is not an empty directory; choose a new directory",
                args.out.display()
            )));
        }
    }
    let store = args.opts.open(false)?;
    let bundle = store.bundle_with(&args.packet_id, as_of, args.standard.standard)?;
    let written = bundle
        .write_to(&args.out)
        .map_err(|e| Stop::Fatal(format!("cannot write the bundle to {}: {e}", args.out.display())))?;
    let manifest: Json = bundle
        .files
        .get("manifest.json")
        .and_then(|b| serde_json::from_slice(b).ok())
        .unwrap_or(Json::Null);
    let out = args.out.display().to_string();
    let field = |name: &str| manifest.get(name).cloned().unwrap_or(Json::Null);
    let checklists: Vec<Json> = field("checklists").as_array().cloned().unwrap_or_default();
    args.opts
        .print(&json!({"out": out, "files": written, "manifest": manifest}), || {
            let mut text = format!(
                "wrote {written} files to {out}: packet {} version {}, {}{}\n",
                args.packet_id,
                field("version"),
                field("verdict").as_str().unwrap_or("?"),
                field("first_blocked")
                    .as_str()
                    .map(|s| format!(" (first blocked: {s})"))
                    .unwrap_or_default()
            );
            for c in &checklists {
                let get = |k: &str| c.get(k).and_then(Json::as_str).unwrap_or("?").to_owned();
                let complete = c.get("complete").and_then(Json::as_bool).unwrap_or(false);
                text.push_str(&format!(
                    "  checklist {} ({}): {}\n",
                    get("run_id"),
                    get("template"),
                    if complete { "complete" } else { "NOT complete" }
                ));
            }
            if args.standard.standard.is_none() && !checklists.is_empty() {
                text.push_str(&format!("  note: {STANDARD_NOT_CONFIGURED}\n"));
            }
            text
        })?;
    Ok(ExitCode::SUCCESS)
}
