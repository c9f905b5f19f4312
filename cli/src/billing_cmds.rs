//! `gangway billing …`: rate cards, the usage ledger, invoices, purchase orders and the
//! provisioning gate, kept in the SQLite store (see `docs/user.md`, "Billing").
//!
//! Exit codes follow the other store commands: 0 done; 1 the store or billing refused
//! the operation (a typed error with its code; a refused transition lists every
//! blocker), an ingest rejected at least one event, or the gate is not satisfied; 2 the
//! command could not run (bad flags, an unreadable or invalid input file, no store, no
//! gate standard configured, a SQLite failure).
//!
//! JSON output is the library's serde form of each value (`Invoice`, `PurchaseOrder`,
//! `RateCard`, `LedgerEvent`, `GateDecision`, `IngestSummary::to_json`), so the command
//! line, the library and the bindings print the same document.

use std::io::{BufRead, IsTerminal as _, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::{Args, Subcommand};
use gangway::Date;
use gangway::billing::store::IngestProgress;
use gangway::billing::usage::IngestSummary;
use gangway::billing::{
    Currency, GateDecision, GateStandard, Invoice, LedgerEvent, Money, Operation, PurchaseOrder, RateCard,
};
use serde_json::{Value as Json, json};

use crate::store_cmds::{Res, Stop, StoreOpts, finish, message_of, refused, table};
use crate::{Fatal, parse_date};

/// `gangway billing …`.
#[derive(Args, Debug)]
pub struct BillingArgs {
    #[command(flatten)]
    opts: StoreOpts,
    #[command(subcommand)]
    command: BillingCommand,
}

#[derive(Subcommand, Debug)]
enum BillingCommand {
    /// Set or show the rate card (a price per usage unit and version).
    #[command(subcommand)]
    RateCard(RateCardCommand),
    /// Ingest usage events (JSON Lines) into the ledger, or list the ledger.
    #[command(subcommand)]
    Usage(UsageCommand),
    /// Generate invoices from the ledger and move them: issue, pay, cancel.
    #[command(subcommand)]
    Invoice(InvoiceCommand),
    /// Record purchase orders and approve or reject them.
    #[command(subcommand)]
    Po(PoCommand),
    /// Decide whether a tenant may be provisioned; exit 1 when not.
    Gate {
        /// The tenant.
        tenant: String,
        /// What satisfies the gate: a paid invoice or an approved purchase order. There
        /// is no default: without it (or GANGWAY_GATE_STANDARD) the command exits 2.
        #[arg(long, env = "GANGWAY_GATE_STANDARD", value_parser = parse_standard)]
        standard: Option<GateStandard>,
    },
}

#[derive(Subcommand, Debug)]
enum RateCardCommand {
    /// Make a rate card (YAML, top-level `rate_card:`) the current one; prints its version.
    Set {
        /// The rate card file; `-` reads standard input.
        file: PathBuf,
    },
    /// Print the current rate card (or the latest one in a currency).
    Show {
        /// The latest card in this currency instead of the current one.
        #[arg(long, value_parser = parse_currency)]
        currency: Option<Currency>,
    },
}

#[derive(Subcommand, Debug)]
enum UsageCommand {
    /// Ingest a JSON Lines file of usage events; exit 1 when any event is rejected.
    Ingest {
        /// The JSON Lines file; `-` reads standard input.
        file: PathBuf,
        /// Events committed per transaction.
        #[arg(long, default_value_t = 1000, value_parser = parse_batch_size)]
        batch_size: usize,
        /// Show progress on standard error even when it is not a terminal.
        #[arg(long)]
        progress: bool,
    },
    /// List a tenant's ledger events dated in `--from..--until` (UTC; end exclusive).
    List {
        #[command(flatten)]
        period: Period,
    },
}

/// A tenant and a period of UTC dates, the end exclusive.
#[derive(Args, Debug)]
struct Period {
    /// The tenant.
    #[arg(long)]
    tenant: String,
    /// First day (YYYY-MM-DD, UTC, inclusive).
    #[arg(long, value_parser = parse_date)]
    from: Date,
    /// Day after the last (YYYY-MM-DD, UTC, exclusive): November is
    /// `--from 2026-11-01 --until 2026-12-01`.
    #[arg(long, value_parser = parse_date)]
    until: Date,
}

/// An idempotency key. Without one a random key is made and printed on standard error.
#[derive(Args, Debug)]
struct Key {
    /// Idempotency key: repeating a call with the same key and arguments returns the first
    /// result and changes nothing. Scripts that may retry should always pass one.
    #[arg(long)]
    key: Option<String>,
}

#[derive(Subcommand, Debug)]
enum InvoiceCommand {
    /// Generate a draft invoice from the ledger and the current rate card.
    Generate {
        #[command(flatten)]
        period: Period,
        /// The company's billing identity, printed on the invoice.
        #[arg(long)]
        company: Option<String>,
        #[command(flatten)]
        key: Key,
    },
    /// Issue a draft invoice (draft → issued).
    Issue {
        /// The invoice id (`INV-000001`).
        id: String,
        #[command(flatten)]
        key: Key,
    },
    /// Record an issued invoice's payment (issued → paid).
    Pay {
        /// The invoice id.
        id: String,
        /// The payment reference (wire id, receipt).
        #[arg(long)]
        reference: String,
        #[command(flatten)]
        key: Key,
    },
    /// Cancel a draft or issued invoice (→ cancelled).
    Cancel {
        /// The invoice id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
        #[command(flatten)]
        key: Key,
    },
    /// Print one invoice.
    Show {
        /// The invoice id.
        id: String,
    },
    /// List invoices.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// List the operations legal now on an invoice and the state each leads to.
    Actions {
        /// The invoice id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum PoCommand {
    /// Record a submitted purchase order.
    Submit {
        /// The purchase order's id.
        #[arg(long)]
        id: String,
        /// The tenant.
        #[arg(long)]
        tenant: String,
        /// The customer's PO reference.
        #[arg(long)]
        reference: String,
        /// The amount authorised, an exact decimal (`1000.00`).
        #[arg(long)]
        amount: String,
        /// The amount's currency (ISO 4217, `USD`).
        #[arg(long, value_parser = parse_currency)]
        currency: Currency,
    },
    /// Approve a submitted purchase order (submitted → approved).
    Approve {
        /// The purchase order's id.
        id: String,
        /// Who approves it.
        #[arg(long)]
        by: String,
    },
    /// Reject a submitted purchase order (submitted → rejected).
    Reject {
        /// The purchase order's id.
        id: String,
        /// Why.
        #[arg(long)]
        reason: String,
    },
    /// List purchase orders.
    List {
        /// Only this tenant's.
        #[arg(long)]
        tenant: Option<String>,
    },
}

// ---- argument parsers ----

fn parse_standard(s: &str) -> Result<GateStandard, String> {
    GateStandard::parse(s).ok_or_else(|| format!("unknown gate standard `{s}`; one of paid, po_approved"))
}

fn parse_currency(s: &str) -> Result<Currency, String> {
    Currency::new(s).map_err(|e| e.to_string())
}

fn parse_batch_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("`{s}` is not a batch size (a whole number ≥ 1)")),
    }
}

/// The key given, or a new random one (printed on standard error before the call runs,
/// so a retry can reuse it even if this process dies mid-way).
fn key_or_new(key: Key) -> Res<String> {
    if let Some(k) = key.key {
        return Ok(k);
    }
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Stop::Fatal(format!("cannot make an idempotency key: {e}")))?;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    let k = format!("gw-{hex}");
    eprintln!("gangway: no --key given; using idempotency key {k} (to retry this call safely, pass --key {k})");
    Ok(k)
}

fn read_input(path: &Path, what: &str) -> Res<String> {
    let mut text = String::new();
    let read = if path.as_os_str() == "-" {
        std::io::stdin().lock().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text).map(|_| ()))
    };
    read.map_err(|e| Stop::Fatal(format!("cannot read {what} {}: {e}", path.display())))?;
    Ok(text)
}

// ---- the commands ----

/// Runs `gangway billing …`.
pub fn billing(args: BillingArgs) -> Result<ExitCode, Fatal> {
    let format = args.opts.format;
    finish(run(&args.opts, args.command), format)
}

fn run(opts: &StoreOpts, command: BillingCommand) -> Res<ExitCode> {
    match command {
        BillingCommand::RateCard(c) => rate_card(opts, c),
        BillingCommand::Usage(c) => usage(opts, c),
        BillingCommand::Invoice(c) => invoice(opts, c),
        BillingCommand::Po(c) => po(opts, c),
        BillingCommand::Gate { tenant, standard } => gate(opts, &tenant, standard),
    }
}

// ---- rate cards ----

fn rate_card(opts: &StoreOpts, command: RateCardCommand) -> Res<ExitCode> {
    match command {
        RateCardCommand::Set { file } => {
            let text = read_input(&file, "rate card")?;
            let card = RateCard::from_yaml(&text).map_err(|e| {
                Stop::Fatal(format!(
                    "{}: {}: {}",
                    file.display(),
                    e.code(),
                    message_of(e.code(), &e)
                ))
            })?;
            let mut store = opts.open(false)?;
            let changed = store.rate_card(None)?.as_ref() != Some(&card);
            let version = store.set_rate_card(&opts.origin(), &card)?;
            let value = json!({"version": version, "changed": changed, "rate_card": card});
            opts.print(&value, || {
                let what = if changed {
                    "is now current"
                } else {
                    "unchanged: already current"
                };
                format!(
                    "rate card version {version} ({}, {} rate{}) {what}\n",
                    card.currency(),
                    card.rates().len(),
                    if card.rates().len() == 1 { "" } else { "s" }
                )
            })?;
        }
        RateCardCommand::Show { currency } => {
            let store = opts.open(false)?;
            let Some(card) = store.rate_card(currency)? else {
                let message = match currency {
                    Some(c) => format!("no rate card in {c} is set"),
                    None => "no rate card is set; set one with `gangway billing rate-card set FILE`".to_owned(),
                };
                return Err(refused("billing.rate_card_missing", message));
            };
            opts.print(&serde_json::to_value(&card).unwrap_or(Json::Null), || {
                rate_card_text(&card)
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn rate_card_text(card: &RateCard) -> String {
    let rows: Vec<Vec<String>> = card
        .rates()
        .iter()
        .map(|r| {
            let until = r.effective_until.map(|d| d.to_string()).unwrap_or_default();
            vec![
                r.unit.clone(),
                r.version.to_string(),
                r.price.to_string(),
                format!("{}..{until}", r.effective_from),
            ]
        })
        .collect();
    format!("rate card in {}\n{}", card.currency(), table(&rows, "  "))
}

// ---- usage ----

fn usage(opts: &StoreOpts, command: UsageCommand) -> Res<ExitCode> {
    match command {
        UsageCommand::Ingest {
            file,
            batch_size,
            progress,
        } => {
            let (input, size): (Box<dyn BufRead>, Option<u64>) = if file.as_os_str() == "-" {
                (Box::new(std::io::stdin().lock()), None)
            } else {
                let f = std::fs::File::open(&file)
                    .map_err(|e| Stop::Fatal(format!("cannot read usage {}: {e}", file.display())))?;
                let size = f.metadata().ok().map(|m| m.len());
                (Box::new(std::io::BufReader::new(f)), size)
            };
            let mut store = opts.open(false)?;
            let snapshot = store.snapshot()?;
            let mut meter = Meter::new(progress, size);
            let summary = store.ingest_jsonl(&opts.origin(), input, &snapshot, batch_size, |p| meter.update(p));
            meter.finish();
            let summary = summary?;
            opts.print(&summary.to_json(), || ingest_text(&summary))?;
            Ok(crate::verdict(summary.rejected.is_empty()))
        }
        UsageCommand::List { period } => {
            if period.until <= period.from {
                return Err(refused(
                    "billing.period_empty",
                    format!("period {}..{} is empty", period.from, period.until),
                ));
            }
            let store = opts.open(false)?;
            let events = store.ledger(&period.tenant, period.from, period.until)?;
            opts.print(&serde_json::to_value(&events).unwrap_or(Json::Null), || {
                ledger_text(&period, &events)
            })?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn ingest_text(s: &IngestSummary) -> String {
    let mut out = format!(
        "accepted {}, duplicates {}, rejected {}\n",
        s.accepted,
        s.duplicates,
        s.rejected.len()
    );
    if s.rejected.is_empty() {
        return out;
    }
    out.push_str("rejected by code:\n");
    let rows: Vec<Vec<String>> = s
        .rejected_by_code()
        .into_iter()
        .map(|(code, n)| vec![code.to_owned(), n.to_string()])
        .collect();
    out.push_str(&table(&rows, "  "));
    out.push_str("rejections:\n");
    for r in &s.rejected {
        let place = match r.line {
            Some(line) => format!("line {line}"),
            None => format!("event {}", r.index),
        };
        let field = if r.field.is_empty() {
            String::new()
        } else {
            format!(" (field {})", r.field)
        };
        let key = r
            .idempotency_key
            .as_deref()
            .map(|k| format!(" [key {k}]"))
            .unwrap_or_default();
        out.push_str(&format!("  {place}: {}{field}: {}{key}\n", r.code, r.reason));
    }
    out
}

fn ledger_text(period: &Period, events: &[LedgerEvent]) -> String {
    let span = format!("{}..{}", period.from, period.until);
    if events.is_empty() {
        return format!("no usage for {} in {span}\n", period.tenant);
    }
    let rows: Vec<Vec<String>> = events
        .iter()
        .map(|e| {
            vec![
                e.at.to_string(),
                e.unit.clone(),
                e.version.to_string(),
                e.quantity.to_string(),
                e.idempotency_key.clone(),
            ]
        })
        .collect();
    format!(
        "{} event{} for {} in {span}:\n{}",
        events.len(),
        if events.len() == 1 { "" } else { "s" },
        period.tenant,
        table(&rows, "  ")
    )
}

/// Progress of an ingest on standard error: redrawn in place on a terminal, one line
/// at a time (at most once a second) otherwise; never on standard output.
struct Meter {
    on: bool,
    terminal: bool,
    size: Option<u64>,
    last_drawn: Option<Instant>,
    /// The latest progress not yet drawn (updates come faster than they are drawn).
    pending: Option<IngestProgress>,
    drawn_any: bool,
}

impl Meter {
    fn new(forced: bool, size: Option<u64>) -> Meter {
        let terminal = std::io::stderr().is_terminal();
        Meter {
            on: forced || terminal,
            terminal,
            size,
            last_drawn: None,
            pending: None,
            drawn_any: false,
        }
    }

    fn update(&mut self, p: IngestProgress) {
        if !self.on {
            return;
        }
        self.pending = Some(p);
        let every = if self.terminal {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(1)
        };
        if self.last_drawn.is_none_or(|t| t.elapsed() >= every) {
            self.draw(p);
        }
    }

    fn draw(&mut self, p: IngestProgress) {
        let read = match self.size {
            Some(size) if size > 0 => {
                let percent = (p.bytes.min(size) as f64) * 100.0 / (size as f64);
                format!("{} of {} ({percent:.0}%)", bytes(p.bytes.min(size)), bytes(size))
            }
            _ => bytes(p.bytes),
        };
        let line = format!("ingest: read {read}, {} events", p.events);
        let mut err = std::io::stderr().lock();
        // Progress is best effort: a closed standard error must not stop the ingest.
        let _ = if self.terminal {
            write!(err, "\r{line}\x1b[K")
        } else {
            writeln!(err, "{line}")
        };
        let _ = err.flush();
        self.last_drawn = Some(Instant::now());
        self.pending = None;
        self.drawn_any = true;
    }

    fn finish(&mut self) {
        if !self.on {
            return;
        }
        if let Some(p) = self.pending {
            self.draw(p);
        }
        if self.terminal && self.drawn_any {
            eprintln!();
        }
    }
}

fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = "KiB";
    for next in UNITS.iter().skip(1) {
        if value < 1024.0 {
            break;
        }
        value /= 1024.0;
        unit = next;
    }
    format!("{value:.1} {unit}")
}

// ---- invoices ----

fn invoice(opts: &StoreOpts, command: InvoiceCommand) -> Res<ExitCode> {
    match command {
        InvoiceCommand::Generate { period, company, key } => {
            let key = key_or_new(key)?;
            let mut store = opts.open(false)?;
            let inv = store.generate_invoice(
                &opts.origin(),
                &key,
                &period.tenant,
                company.as_deref(),
                period.from,
                period.until,
            )?;
            opts.print(&serde_json::to_value(&inv).unwrap_or(Json::Null), || invoice_text(&inv))?;
        }
        InvoiceCommand::Issue { id, key } => {
            let key = key_or_new(key)?;
            let mut store = opts.open(false)?;
            let inv = store.issue_invoice(&opts.origin(), &key, &id)?;
            opts.print(&serde_json::to_value(&inv).unwrap_or(Json::Null), || invoice_text(&inv))?;
        }
        InvoiceCommand::Pay { id, reference, key } => {
            let key = key_or_new(key)?;
            let mut store = opts.open(false)?;
            let inv = store.mark_paid(&opts.origin(), &key, &id, &reference)?;
            opts.print(&serde_json::to_value(&inv).unwrap_or(Json::Null), || invoice_text(&inv))?;
        }
        InvoiceCommand::Cancel { id, reason, key } => {
            let key = key_or_new(key)?;
            let mut store = opts.open(false)?;
            let inv = store.cancel_invoice(&opts.origin(), &key, &id, &reason)?;
            opts.print(&serde_json::to_value(&inv).unwrap_or(Json::Null), || invoice_text(&inv))?;
        }
        InvoiceCommand::Show { id } => {
            let store = opts.open(false)?;
            let inv = store.invoice(&id)?;
            opts.print(&serde_json::to_value(&inv).unwrap_or(Json::Null), || invoice_text(&inv))?;
        }
        InvoiceCommand::List { tenant } => {
            let store = opts.open(false)?;
            let list = store.invoices(tenant.as_deref())?;
            opts.print(&serde_json::to_value(&list).unwrap_or(Json::Null), || {
                invoices_text(&list)
            })?;
        }
        InvoiceCommand::Actions { id } => {
            let store = opts.open(false)?;
            let inv = store.invoice(&id)?;
            let actions = inv.available_actions();
            let value = json!({
                "invoice": inv.id(),
                "state": inv.state(),
                "actions": actions
                    .iter()
                    .map(|(op, to)| json!({"operation": op, "to": to}))
                    .collect::<Vec<_>>(),
            });
            opts.print(&value, || {
                if actions.is_empty() {
                    return format!("{} is {}; no operation applies\n", inv.id(), inv.state());
                }
                let rows: Vec<Vec<String>> = actions
                    .iter()
                    .map(|(op, to)| {
                        vec![
                            op.to_string(),
                            format!("→ {to}"),
                            format!("gangway billing invoice {}", command_for(*op, inv.id())),
                        ]
                    })
                    .collect();
                format!(
                    "{} is {}; legal next operations:\n{}",
                    inv.id(),
                    inv.state(),
                    table(&rows, "  ")
                )
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The `gangway billing invoice …` words that perform `op` on invoice `id`.
fn command_for(op: Operation, id: &str) -> String {
    match op {
        Operation::Issue => format!("issue {id}"),
        Operation::MarkPaid => format!("pay {id} --reference REF"),
        Operation::Cancel => format!("cancel {id} --reason TEXT"),
    }
}

fn invoice_text(inv: &Invoice) -> String {
    let company = inv.company().map(|c| format!(" ({c})")).unwrap_or_default();
    let mut out = format!(
        "invoice {} [{}]\n  tenant: {}{company}\n  period: {}..{} (UTC, end exclusive)\n",
        inv.id(),
        inv.state(),
        inv.tenant(),
        inv.period_start(),
        inv.period_end()
    );
    if inv.lines().is_empty() {
        out.push_str("  no usage in the period\n");
    } else {
        let rows: Vec<Vec<String>> = inv
            .lines()
            .iter()
            .map(|l| {
                vec![
                    l.unit.clone(),
                    l.version.to_string(),
                    l.quantity.to_string(),
                    format!("× {}", l.unit_price),
                    format!("= {}", l.amount),
                ]
            })
            .collect();
        out.push_str(&table(&rows, "    "));
    }
    out.push_str(&format!("  total: {}\n", inv.total()));
    if let Some(r) = inv.payment_reference() {
        out.push_str(&format!("  payment reference: {r}\n"));
    }
    if let Some(r) = inv.cancel_reason() {
        out.push_str(&format!("  cancel reason: {r}\n"));
    }
    out
}

fn invoices_text(list: &[Invoice]) -> String {
    if list.is_empty() {
        return "no invoices\n".to_owned();
    }
    let rows: Vec<Vec<String>> = list
        .iter()
        .map(|i| {
            vec![
                i.id().to_owned(),
                i.tenant().to_owned(),
                i.state().to_string(),
                format!("{}..{}", i.period_start(), i.period_end()),
                i.total().to_string(),
            ]
        })
        .collect();
    table(&rows, "")
}

// ---- purchase orders ----

fn po(opts: &StoreOpts, command: PoCommand) -> Res<ExitCode> {
    match command {
        PoCommand::Submit {
            id,
            tenant,
            reference,
            amount,
            currency,
        } => {
            let amount = Money::parse(&amount, currency)
                .map_err(|e| Stop::Fatal(format!("--amount: {}: {}", e.code(), message_of(e.code(), &e))))?;
            let mut store = opts.open(false)?;
            let po = store.submit_po(&opts.origin(), &id, &tenant, &reference, amount)?;
            opts.print(&serde_json::to_value(&po).unwrap_or(Json::Null), || po_text(&po))?;
        }
        PoCommand::Approve { id, by } => {
            let mut store = opts.open(false)?;
            let po = store.approve_po(&opts.origin(), &id, &by)?;
            opts.print(&serde_json::to_value(&po).unwrap_or(Json::Null), || po_text(&po))?;
        }
        PoCommand::Reject { id, reason } => {
            let mut store = opts.open(false)?;
            let po = store.reject_po(&opts.origin(), &id, &reason)?;
            opts.print(&serde_json::to_value(&po).unwrap_or(Json::Null), || po_text(&po))?;
        }
        PoCommand::List { tenant } => {
            let store = opts.open(false)?;
            let list = store.purchase_orders(tenant.as_deref())?;
            opts.print(&serde_json::to_value(&list).unwrap_or(Json::Null), || {
                if list.is_empty() {
                    return "no purchase orders\n".to_owned();
                }
                let rows: Vec<Vec<String>> = list.iter().map(po_row).collect();
                table(&rows, "")
            })?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn po_row(po: &PurchaseOrder) -> Vec<String> {
    let detail = match (po.approved_by(), po.rejection_reason()) {
        (Some(by), _) => format!("approved by {by}"),
        (None, Some(reason)) => format!("rejected: {reason}"),
        (None, None) => String::new(),
    };
    vec![
        po.id().to_owned(),
        po.tenant().to_owned(),
        po.reference().to_owned(),
        po.amount().to_string(),
        po.state().to_string(),
        detail,
    ]
}

fn po_text(po: &PurchaseOrder) -> String {
    table(&[po_row(po)], "")
}

// ---- the gate ----

fn gate(opts: &StoreOpts, tenant: &str, standard: Option<GateStandard>) -> Res<ExitCode> {
    let Some(standard) = standard else {
        return Err(Stop::Fatal(
            "no gate standard: pass --standard paid|po_approved or set GANGWAY_GATE_STANDARD \
             (there is no default; the gate fails closed)"
                .to_owned(),
        ));
    };
    let store = opts.open(false)?;
    let decision = store.provisioning_gate(tenant, standard)?;
    opts.print(&serde_json::to_value(&decision).unwrap_or(Json::Null), || {
        gate_text(&decision)
    })?;
    Ok(crate::verdict(decision.satisfied))
}

fn gate_text(d: &GateDecision) -> String {
    let head = format!("gate for {} (standard {})", d.tenant, d.standard.as_str());
    match (&d.satisfied_by, &d.missing) {
        (Some(by), _) if d.satisfied => format!("{head}: satisfied by {by}\n"),
        (_, Some(missing)) => format!("{head}: NOT satisfied: {missing}\n"),
        _ => format!("{head}: NOT satisfied\n"),
    }
}
