//! Billing in the SQLite store (SPEC §2.9, §2.11): rate cards, the usage ledger,
//! invoices with idempotent operations, purchase orders and the provisioning gate.
//!
//! Every mutation runs in one `BEGIN IMMEDIATE` transaction with its audit record
//! (one of [`crate::audit::BILLING_ACTIONS`]), so a change and its record land
//! together or not at all.
//!
//! - **Rate cards** are versioned: [`Store::set_rate_card`] appends a new version and
//!   the latest version is the deployment's *current* card (whatever its currency);
//!   older versions stay for history. Setting a card identical to the current one
//!   changes nothing.
//! - **Usage ledger**: [`Store::ingest_usage`] checks each event with the guard
//!   ([`crate::guard::Snapshot::accept_usage`]) and against the current card (an
//!   event whose unit+version has no rate effective on its UTC date is rejected with
//!   `billing.rate_missing` — the seed's rating posture). Events whose idempotency
//!   key is already in the ledger (or earlier in the batch) are counted as
//!   duplicates, whatever their other fields. Accepted events land in one
//!   transaction with one `billing.usage.ingest` record per batch; a batch that
//!   accepts nothing writes nothing.
//! - **Idempotency** (invoice operations): a key is recorded with its operation, the
//!   SHA-256 of its parameters and the first result, only when the operation
//!   succeeds. The same key with the same operation and parameters returns the
//!   recorded result and changes nothing; anything else is `idempotency_conflict`.
//!   Keys share one namespace across operations.

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use rusqlite::{Connection, OptionalExtension, Transaction, params};
use semver::Version;
use serde::{Deserialize, Serialize};
use serde_json::{Value as Json, json};

use super::invoice::InvoiceParts;
use super::usage::{self, IngestRejection, IngestSummary, UsageRecord};
use super::{
    BillingError, Currency, GateDecision, GateStandard, Invoice, InvoiceState, LedgerEvent, Line, Money, Operation,
    PoState, Price, PurchaseOrder, Rate, RateCard,
};
use crate::audit::Origin;
use crate::guard::{Snapshot, UsageEvent};
use crate::store::{Store, StoreError, append, bad_row, sha256_hex};

type Result<T> = std::result::Result<T, StoreError>;

// ---- stored forms ----

#[derive(Serialize, Deserialize)]
struct StoredRate {
    unit: String,
    version: String,
    price: String,
    effective_from: Date,
    effective_until: Option<Date>,
}

#[derive(Serialize, Deserialize)]
struct StoredLine {
    unit: String,
    version: String,
    quantity: u64,
    unit_price: String,
    amount: i64,
}

#[derive(Serialize, Deserialize)]
struct StoredInvoice {
    id: String,
    tenant: String,
    company: Option<String>,
    period_start: Date,
    period_end: Date,
    currency: String,
    state: String,
    lines: Vec<StoredLine>,
    total: i64,
    payment_reference: Option<String>,
    cancel_reason: Option<String>,
}

fn version_of(text: &str) -> Result<Version> {
    Version::parse(text).map_err(|_| bad_row("version", text))
}

fn currency_of(text: &str) -> Result<Currency> {
    Currency::new(text).map_err(|_| bad_row("currency", text))
}

/// A price's decimal without its currency (`0.0020`), as [`Price::parse`] reads it.
fn price_text(price: Price) -> String {
    let text = price.to_string();
    let suffix = format!(" {}", price.currency());
    text.strip_suffix(&suffix).map_or_else(|| text.clone(), str::to_owned)
}

fn card_to_json(card: &RateCard) -> Result<String> {
    let rates: Vec<StoredRate> = card
        .rates()
        .iter()
        .map(|r| StoredRate {
            unit: r.unit.clone(),
            version: r.version.to_string(),
            price: price_text(r.price),
            effective_from: r.effective_from,
            effective_until: r.effective_until,
        })
        .collect();
    serde_json::to_string(&rates).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn card_from_json(currency: &str, text: &str) -> Result<RateCard> {
    let currency = currency_of(currency)?;
    let stored: Vec<StoredRate> = serde_json::from_str(text).map_err(|_| bad_row("rate card", text))?;
    let mut rates = Vec::with_capacity(stored.len());
    for r in stored {
        rates.push(Rate {
            price: Price::parse(&r.price, currency).map_err(|_| bad_row("price", &r.price))?,
            version: version_of(&r.version)?,
            unit: r.unit,
            effective_from: r.effective_from,
            effective_until: r.effective_until,
        });
    }
    RateCard::new(rates).map_err(|_| bad_row("rate card", text))
}

fn stored_invoice(inv: &Invoice) -> StoredInvoice {
    StoredInvoice {
        id: inv.id().to_owned(),
        tenant: inv.tenant().to_owned(),
        company: inv.company().map(str::to_owned),
        period_start: inv.period_start(),
        period_end: inv.period_end(),
        currency: inv.currency().code().to_owned(),
        state: inv.state().as_str().to_owned(),
        lines: inv
            .lines()
            .iter()
            .map(|l| StoredLine {
                unit: l.unit.clone(),
                version: l.version.to_string(),
                quantity: l.quantity,
                unit_price: price_text(l.unit_price),
                amount: l.amount.minor,
            })
            .collect(),
        total: inv.total().minor,
        payment_reference: inv.payment_reference().map(str::to_owned),
        cancel_reason: inv.cancel_reason().map(str::to_owned),
    }
}

fn invoice_state(text: &str) -> Result<InvoiceState> {
    match text {
        "draft" => Ok(InvoiceState::Draft),
        "issued" => Ok(InvoiceState::Issued),
        "paid" => Ok(InvoiceState::Paid),
        "cancelled" => Ok(InvoiceState::Cancelled),
        _ => Err(bad_row("invoice state", text)),
    }
}

fn po_state(text: &str) -> Result<PoState> {
    match text {
        "submitted" => Ok(PoState::Submitted),
        "approved" => Ok(PoState::Approved),
        "rejected" => Ok(PoState::Rejected),
        _ => Err(bad_row("purchase order state", text)),
    }
}

fn restore_invoice(s: StoredInvoice) -> Result<Invoice> {
    let currency = currency_of(&s.currency)?;
    let mut lines = Vec::with_capacity(s.lines.len());
    for l in s.lines {
        lines.push(Line {
            version: version_of(&l.version)?,
            unit_price: Price::parse(&l.unit_price, currency).map_err(|_| bad_row("price", &l.unit_price))?,
            unit: l.unit,
            quantity: l.quantity,
            amount: Money::new(l.amount, currency),
        });
    }
    let id = s.id.clone();
    Invoice::restore(InvoiceParts {
        id: s.id,
        tenant: s.tenant,
        company: s.company,
        period_start: s.period_start,
        period_end: s.period_end,
        currency,
        lines,
        total: Money::new(s.total, currency),
        state: invoice_state(&s.state)?,
        payment_reference: s.payment_reference,
        cancel_reason: s.cancel_reason,
    })
    .ok_or_else(|| bad_row("invoice", &id))
}

fn invoice_from_json(text: &str) -> Result<Invoice> {
    let stored: StoredInvoice = serde_json::from_str(text).map_err(|_| bad_row("invoice", text))?;
    restore_invoice(stored)
}

fn invoice_to_json(inv: &Invoice) -> Result<String> {
    serde_json::to_string(&stored_invoice(inv)).map_err(|e| StoreError::Invalid(e.to_string()))
}

fn audit_json<T: Serialize>(value: &T) -> Json {
    serde_json::to_value(value).unwrap_or(Json::Null)
}

const INVOICE_COLUMNS: &str =
    "id, tenant, company, period_start, period_end, currency, state, lines, total, payment_reference, cancel_reason";

fn row_to_invoice(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Invoice>> {
    let lines: String = row.get(7)?;
    let start: String = row.get(3)?;
    let end: String = row.get(4)?;
    let parsed = (|| -> Result<Invoice> {
        let lines: Vec<StoredLine> = serde_json::from_str(&lines).map_err(|_| bad_row("invoice lines", &lines))?;
        restore_invoice(StoredInvoice {
            id: row.get(0)?,
            tenant: row.get(1)?,
            company: row.get(2)?,
            period_start: start.parse().map_err(|_| bad_row("date", &start))?,
            period_end: end.parse().map_err(|_| bad_row("date", &end))?,
            currency: row.get(5)?,
            state: row.get(6)?,
            lines,
            total: row.get(8)?,
            payment_reference: row.get(9)?,
            cancel_reason: row.get(10)?,
        })
    })();
    Ok(parsed)
}

const PO_COLUMNS: &str = "id, tenant, reference, amount, currency, state, approved_by, rejection_reason";

fn row_to_po(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<PurchaseOrder>> {
    let currency: String = row.get(4)?;
    let state: String = row.get(5)?;
    let parsed = (|| -> Result<PurchaseOrder> {
        Ok(PurchaseOrder::restore(
            row.get(0)?,
            row.get(1)?,
            row.get(2)?,
            Money::new(row.get(3)?, currency_of(&currency)?),
            po_state(&state)?,
            row.get(6)?,
            row.get(7)?,
        ))
    })();
    Ok(parsed)
}

fn get_invoice(conn: &Connection, id: &str) -> Result<Option<Invoice>> {
    let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE id = ?1");
    conn.query_row(&sql, params![id], row_to_invoice)
        .optional()?
        .transpose()
}

fn get_po(conn: &Connection, id: &str) -> Result<Option<PurchaseOrder>> {
    let sql = format!("SELECT {PO_COLUMNS} FROM purchase_orders WHERE id = ?1");
    conn.query_row(&sql, params![id], row_to_po).optional()?.transpose()
}

fn current_card(conn: &Connection, currency: Option<Currency>) -> Result<Option<RateCard>> {
    let row: Option<(String, String)> = match currency {
        Some(c) => conn
            .query_row(
                "SELECT currency, rates FROM rate_cards WHERE currency = ?1 ORDER BY version DESC LIMIT 1",
                params![c.code()],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
        None => conn
            .query_row(
                "SELECT currency, rates FROM rate_cards ORDER BY version DESC LIMIT 1",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .optional()?,
    };
    row.map(|(c, rates)| card_from_json(&c, &rates)).transpose()
}

/// An idempotency check: the recorded result when `key` was used for the same
/// operation and parameters, a conflict when used otherwise, `None` when new.
fn replayed(tx: &Transaction<'_>, key: &str, operation: &str, digest: &str) -> Result<Option<String>> {
    if key.trim().is_empty() {
        return Err(BillingError::Blank {
            field: "idempotency_key",
        }
        .into());
    }
    let row: Option<(String, String, String)> = tx
        .query_row(
            "SELECT operation, params_digest, result FROM idempotency WHERE key = ?1",
            params![key],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    match row {
        None => Ok(None),
        Some((op, d, result)) if op == operation && d == digest => Ok(Some(result)),
        Some((op, _, _)) => Err(StoreError::IdempotencyConflict {
            key: key.to_owned(),
            operation: op,
        }),
    }
}

fn record_key(tx: &Transaction<'_>, key: &str, operation: &str, digest: &str, result: &str) -> Result<()> {
    tx.execute(
        "INSERT INTO idempotency (key, operation, params_digest, result) VALUES (?1, ?2, ?3, ?4)",
        params![key, operation, digest, result],
    )?;
    Ok(())
}

fn digest(params: &Json) -> String {
    sha256_hex(params.to_string().as_bytes())
}

fn put_invoice_state(tx: &Transaction<'_>, inv: &Invoice, at: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE invoices SET state = ?2, payment_reference = ?3, cancel_reason = ?4, updated_at = ?5 WHERE id = ?1",
        params![
            inv.id(),
            inv.state().as_str(),
            inv.payment_reference(),
            inv.cancel_reason(),
            at.to_string()
        ],
    )?;
    Ok(())
}

fn put_po_state(tx: &Transaction<'_>, po: &PurchaseOrder, at: Timestamp) -> Result<()> {
    tx.execute(
        "UPDATE purchase_orders SET state = ?2, approved_by = ?3, rejection_reason = ?4, updated_at = ?5 WHERE id = ?1",
        params![
            po.id(),
            po.state().as_str(),
            po.approved_by(),
            po.rejection_reason(),
            at.to_string()
        ],
    )?;
    Ok(())
}

impl Store {
    // ---- rate cards ----

    /// Sets `card` as the current rate card (a new version; earlier ones are kept).
    /// Returns the card's version; a card identical to the current one changes
    /// nothing and returns the current version.
    pub fn set_rate_card(&mut self, origin: &Origin, card: &RateCard) -> Result<u64> {
        let text = card_to_json(card)?;
        self.write(|tx| {
            let current: Option<(i64, String, String)> = tx
                .query_row(
                    "SELECT version, currency, rates FROM rate_cards ORDER BY version DESC LIMIT 1",
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .optional()?;
            let before = match &current {
                Some((v, c, rates)) if *c == card.currency().code() && *rates == text => {
                    return Ok(u64::try_from(*v).unwrap_or(0));
                }
                Some((_, c, rates)) => Some(audit_json(&card_from_json(c, rates)?)),
                None => None,
            };
            tx.execute(
                "INSERT INTO rate_cards (currency, rates, set_at, set_by) VALUES (?1, ?2, ?3, ?4)",
                params![card.currency().code(), text, origin.at.to_string(), origin.actor],
            )?;
            let version = tx.last_insert_rowid();
            append(
                tx,
                origin,
                "billing.rate_card.set",
                &format!("rate_card:{}", card.currency()),
                before,
                Some(json!({"version": version, "card": audit_json(card)})),
            )?;
            Ok(u64::try_from(version).unwrap_or(0))
        })
    }

    /// The current rate card (the latest set), or with `currency` the latest card in
    /// that currency.
    pub fn rate_card(&self, currency: Option<Currency>) -> Result<Option<RateCard>> {
        current_card(self.conn(), currency)
    }

    // ---- usage ledger ----

    /// Ingests a batch of usage events into the ledger (see the module docs):
    /// duplicates by idempotency key are counted, events the guard, the current rate
    /// card or a closed period refuses are reported with their codes, and the
    /// accepted ones land in one transaction with one `billing.usage.ingest` audit
    /// record.
    pub fn ingest_usage(
        &mut self,
        origin: &Origin,
        events: &[UsageRecord],
        snapshot: &Snapshot,
    ) -> Result<IngestSummary> {
        let offered: Vec<Offered<'_>> = events
            .iter()
            .enumerate()
            .map(|(index, e)| Offered {
                index,
                line: None,
                event: Ok(e),
            })
            .collect();
        self.write(|tx| ingest_batch(tx, origin, &offered, snapshot))
    }

    /// Ingests usage from JSON Lines (see [`usage`]), committing every `batch_size`
    /// events as one transaction (so a crash loses at most the batch in flight, and
    /// re-running the file counts the committed events as duplicates). Malformed
    /// lines — not JSON, not an event, not UTF-8, or longer than
    /// [`usage::MAX_LINE_BYTES`] (never read into memory whole) — are rejected with
    /// `usage.malformed` and their line number; blank lines are skipped. `progress`
    /// is called after each batch with the bytes and events read so far. An input
    /// that fails to read (an I/O error) stops the ingest with `store.invalid`,
    /// naming the line and how many events were already committed (they stay).
    pub fn ingest_jsonl(
        &mut self,
        origin: &Origin,
        mut input: impl std::io::BufRead,
        snapshot: &Snapshot,
        batch_size: usize,
        mut progress: impl FnMut(IngestProgress),
    ) -> Result<IngestSummary> {
        let batch_size = batch_size.max(1);
        let mut summary = IngestSummary::default();
        let mut parsed: Vec<(usize, u64, std::result::Result<UsageRecord, usage::Malformed>)> =
            Vec::with_capacity(batch_size);
        let mut read = IngestProgress::default();
        let mut line_no: u64 = 0;
        let mut buf = Vec::new();
        let mut done = false;
        while !done {
            parsed.clear();
            while parsed.len() < batch_size {
                let line = usage::read_line(&mut input, &mut buf).map_err(|e| {
                    StoreError::Invalid(format!(
                        "usage input, line {}: {e} ({} events were committed before it)",
                        line_no + 1,
                        summary.accepted
                    ))
                })?;
                let Some(line) = line else {
                    done = true;
                    break;
                };
                line_no += 1;
                read.bytes += line.bytes;
                let event = match line.text(&buf) {
                    Ok(text) if text.trim().is_empty() => continue,
                    Ok(text) => usage::parse_line(text),
                    Err(m) => Err(m),
                };
                parsed.push((read.events, line_no, event));
                read.events += 1;
            }
            if parsed.is_empty() {
                break;
            }
            let offered: Vec<Offered<'_>> = parsed
                .iter()
                .map(|(index, line, event)| Offered {
                    index: *index,
                    line: Some(*line),
                    event: event.as_ref(),
                })
                .collect();
            let batch = self.write(|tx| ingest_batch(tx, origin, &offered, snapshot))?;
            summary.absorb(batch);
            progress(read);
        }
        Ok(summary)
    }

    /// The ledger events of `tenant` whose UTC date is in `start..end`, in ingest order.
    pub fn ledger(&self, tenant: &str, start: Date, end: Date) -> Result<Vec<LedgerEvent>> {
        read_ledger(self.conn(), tenant, start, end)
    }

    // ---- invoices ----

    /// Generates a draft invoice for `tenant` over `period_start..period_end` from the
    /// ledger and the current rate card; ids are `INV-000001`, … in order. Idempotent
    /// per `idempotency_key` (see the module docs).
    pub fn generate_invoice(
        &mut self,
        origin: &Origin,
        idempotency_key: &str,
        tenant: &str,
        company: Option<&str>,
        period_start: Date,
        period_end: Date,
    ) -> Result<Invoice> {
        const OP: &str = "invoice.generate";
        let digest = digest(&json!({
            "tenant": tenant,
            "company": company,
            "period_start": period_start.to_string(),
            "period_end": period_end.to_string(),
        }));
        self.write(|tx| {
            if let Some(result) = replayed(tx, idempotency_key, OP, &digest)? {
                return invoice_from_json(&result);
            }
            if let Some((id, start, end)) = overlapping_invoice(tx, tenant, period_start, period_end)? {
                return Err(BillingError::PeriodOverlap {
                    invoice: id,
                    start,
                    end,
                }
                .into());
            }
            let card = current_card(tx, None)?.ok_or(StoreError::RateCardMissing)?;
            let count: i64 = tx.query_row("SELECT COUNT(*) FROM invoices", [], |r| r.get(0))?;
            let id = format!("INV-{:06}", count.saturating_add(1));
            let usage = daily_usage(tx, tenant, period_start, period_end)?;
            let invoice = super::generate_from_daily(&id, tenant, company, period_start, period_end, &usage, &card)?;
            let stored = stored_invoice(&invoice);
            let lines = serde_json::to_string(&stored.lines).map_err(|e| StoreError::Invalid(e.to_string()))?;
            tx.execute(
                "INSERT INTO invoices (id, tenant, company, period_start, period_end, currency, state, lines, total, payment_reference, cancel_reason, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, NULL, NULL, ?10, ?10)",
                params![
                    invoice.id(),
                    invoice.tenant(),
                    invoice.company(),
                    period_start.to_string(),
                    period_end.to_string(),
                    invoice.currency().code(),
                    invoice.state().as_str(),
                    lines,
                    invoice.total().minor,
                    origin.at.to_string()
                ],
            )?;
            append(
                tx,
                origin,
                "billing.invoice.generate",
                &format!("invoice:{id}"),
                None,
                Some(audit_json(&invoice)),
            )?;
            record_key(tx, idempotency_key, OP, &digest, &invoice_to_json(&invoice)?)?;
            Ok(invoice)
        })
    }

    /// `draft → issued`. Idempotent per `idempotency_key`.
    pub fn issue_invoice(&mut self, origin: &Origin, idempotency_key: &str, invoice_id: &str) -> Result<Invoice> {
        self.move_invoice(origin, idempotency_key, invoice_id, Operation::Issue, None)
    }

    /// `issued → paid`, recording the payment reference. Idempotent per key.
    pub fn mark_paid(
        &mut self,
        origin: &Origin,
        idempotency_key: &str,
        invoice_id: &str,
        reference: &str,
    ) -> Result<Invoice> {
        self.move_invoice(
            origin,
            idempotency_key,
            invoice_id,
            Operation::MarkPaid,
            Some(reference),
        )
    }

    /// `draft | issued → cancelled`, recording the reason. Idempotent per key.
    pub fn cancel_invoice(
        &mut self,
        origin: &Origin,
        idempotency_key: &str,
        invoice_id: &str,
        reason: &str,
    ) -> Result<Invoice> {
        self.move_invoice(origin, idempotency_key, invoice_id, Operation::Cancel, Some(reason))
    }

    fn move_invoice(
        &mut self,
        origin: &Origin,
        key: &str,
        invoice_id: &str,
        operation: Operation,
        argument: Option<&str>,
    ) -> Result<Invoice> {
        let op = format!("invoice.{operation}");
        let digest = digest(&json!({"invoice_id": invoice_id, "argument": argument}));
        self.write(|tx| {
            if let Some(result) = replayed(tx, key, &op, &digest)? {
                return invoice_from_json(&result);
            }
            let before =
                get_invoice(tx, invoice_id)?.ok_or_else(|| StoreError::InvoiceNotFound(invoice_id.to_owned()))?;
            let after = match operation {
                Operation::Issue => before.issue(),
                Operation::MarkPaid => before.mark_paid(argument.unwrap_or_default()),
                Operation::Cancel => before.cancel(argument.unwrap_or_default()),
            }?;
            put_invoice_state(tx, &after, origin.at)?;
            append(
                tx,
                origin,
                &format!("billing.invoice.{operation}"),
                &format!("invoice:{invoice_id}"),
                Some(audit_json(&before)),
                Some(audit_json(&after)),
            )?;
            record_key(tx, key, &op, &digest, &invoice_to_json(&after)?)?;
            Ok(after)
        })
    }

    /// One invoice.
    pub fn invoice(&self, id: &str) -> Result<Invoice> {
        get_invoice(self.conn(), id)?.ok_or_else(|| StoreError::InvoiceNotFound(id.to_owned()))
    }

    /// Every invoice (of `tenant`, when given), by id.
    pub fn invoices(&self, tenant: Option<&str>) -> Result<Vec<Invoice>> {
        let sql = format!("SELECT {INVOICE_COLUMNS} FROM invoices WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id");
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(params![tenant], row_to_invoice)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    // ---- purchase orders ----

    /// Records a submitted purchase order (refused when the id exists).
    pub fn submit_po(
        &mut self,
        origin: &Origin,
        id: &str,
        tenant: &str,
        reference: &str,
        amount: Money,
    ) -> Result<PurchaseOrder> {
        let po = PurchaseOrder::submit(id, tenant, reference, amount)?;
        self.write(|tx| {
            if get_po(tx, id)?.is_some() {
                return Err(StoreError::PoExists(id.to_owned()));
            }
            tx.execute(
                "INSERT INTO purchase_orders (id, tenant, reference, amount, currency, state, approved_by, rejection_reason, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, NULL, ?7, ?7)",
                params![
                    po.id(),
                    po.tenant(),
                    po.reference(),
                    po.amount().minor,
                    po.amount().currency.code(),
                    po.state().as_str(),
                    origin.at.to_string()
                ],
            )?;
            append(
                tx,
                origin,
                "billing.po.submit",
                &format!("po:{id}"),
                None,
                Some(audit_json(&po)),
            )?;
            Ok(po)
        })
    }

    /// `submitted → approved`, naming the approver.
    pub fn approve_po(&mut self, origin: &Origin, id: &str, by: &str) -> Result<PurchaseOrder> {
        self.move_po(origin, id, |po| po.approve(by), "billing.po.approve")
    }

    /// `submitted → rejected`, with a reason.
    pub fn reject_po(&mut self, origin: &Origin, id: &str, reason: &str) -> Result<PurchaseOrder> {
        self.move_po(origin, id, |po| po.reject(reason), "billing.po.reject")
    }

    fn move_po(
        &mut self,
        origin: &Origin,
        id: &str,
        step: impl FnOnce(&PurchaseOrder) -> std::result::Result<PurchaseOrder, super::PoError>,
        action: &str,
    ) -> Result<PurchaseOrder> {
        self.write(|tx| {
            let before = get_po(tx, id)?.ok_or_else(|| StoreError::PoNotFound(id.to_owned()))?;
            let after = step(&before)?;
            put_po_state(tx, &after, origin.at)?;
            append(
                tx,
                origin,
                action,
                &format!("po:{id}"),
                Some(audit_json(&before)),
                Some(audit_json(&after)),
            )?;
            Ok(after)
        })
    }

    /// Every purchase order (of `tenant`, when given), by id.
    pub fn purchase_orders(&self, tenant: Option<&str>) -> Result<Vec<PurchaseOrder>> {
        let sql = format!("SELECT {PO_COLUMNS} FROM purchase_orders WHERE ?1 IS NULL OR tenant = ?1 ORDER BY id");
        let mut stmt = self.conn().prepare(&sql)?;
        let rows = stmt.query_map(params![tenant], row_to_po)?;
        let mut out = Vec::new();
        for row in rows {
            out.push(row??);
        }
        Ok(out)
    }

    // ---- gate ----

    /// The provisioning gate for `tenant` under the deployment's `standard`, over the
    /// stored invoices and purchase orders.
    pub fn provisioning_gate(&self, tenant: &str, standard: GateStandard) -> Result<GateDecision> {
        let invoices = self.invoices(Some(tenant))?;
        let pos = self.purchase_orders(Some(tenant))?;
        Ok(super::gate(tenant, standard, &invoices, &pos))
    }
}

/// The ledger of `tenant` in `start..end`, summed per unit, version and day by
/// SQLite. Quantities are non-negative `i64`s; each is summed in two 32-bit halves so
/// no SQL sum can overflow (a group would need 2^31 rows), and the halves are joined
/// exactly in `u128`.
fn daily_usage(conn: &Connection, tenant: &str, start: Date, end: Date) -> Result<Vec<super::DailyUsage>> {
    let mut stmt = conn.prepare_cached(
        "SELECT unit, version, day, SUM(quantity >> 32), SUM(quantity & 4294967295) FROM ledger \
         WHERE tenant = ?1 AND day >= ?2 AND day < ?3 GROUP BY unit, version, day",
    )?;
    let rows = stmt.query_map(params![tenant, start.to_string(), end.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, i64>(4)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (unit, version, day, high, low) = row?;
        let high = u128::try_from(high).map_err(|_| bad_row("quantity", &high.to_string()))?;
        let low = u128::try_from(low).map_err(|_| bad_row("quantity", &low.to_string()))?;
        out.push(super::DailyUsage {
            unit,
            version: version_of(&version)?,
            day: day.parse().map_err(|_| bad_row("day", &day))?,
            quantity: (high << 32) + low,
        });
    }
    Ok(out)
}

fn read_ledger(conn: &Connection, tenant: &str, start: Date, end: Date) -> Result<Vec<LedgerEvent>> {
    let mut stmt = conn.prepare_cached(
        "SELECT tenant, unit, version, quantity, at, idempotency_key FROM ledger WHERE tenant = ?1 AND day >= ?2 AND day < ?3 ORDER BY seq",
    )?;
    let rows = stmt.query_map(params![tenant, start.to_string(), end.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, String>(2)?,
            r.get::<_, i64>(3)?,
            r.get::<_, String>(4)?,
            r.get::<_, String>(5)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (tenant, unit, version, quantity, at, idempotency_key) = row?;
        out.push(LedgerEvent {
            tenant,
            unit,
            version: version_of(&version)?,
            quantity: u64::try_from(quantity).map_err(|_| bad_row("quantity", &quantity.to_string()))?,
            at: at.parse().map_err(|_| bad_row("timestamp", &at))?,
            idempotency_key,
        });
    }
    Ok(out)
}

/// How far a JSON Lines ingest has read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct IngestProgress {
    /// Bytes read (lines and their newlines).
    pub bytes: u64,
    /// Events read (non-blank lines).
    pub events: usize,
}

/// One event offered to [`ingest_batch`]: its position, its line when read from a
/// file, and the event or why its line was not one.
struct Offered<'a> {
    index: usize,
    line: Option<u64>,
    event: std::result::Result<&'a UsageRecord, &'a usage::Malformed>,
}

/// The periods of every tenant's invoices that are not cancelled: usage dated in
/// one of them would never be billed (or be billed twice), so it is refused.
fn invoiced_periods(conn: &Connection) -> Result<std::collections::HashMap<String, Vec<(Date, Date)>>> {
    let mut stmt =
        conn.prepare_cached("SELECT tenant, period_start, period_end FROM invoices WHERE state != 'cancelled'")?;
    let rows = stmt.query_map([], |r| {
        Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?, r.get::<_, String>(2)?))
    })?;
    let mut out: std::collections::HashMap<String, Vec<(Date, Date)>> = std::collections::HashMap::new();
    for row in rows {
        let (tenant, start, end) = row?;
        let start: Date = start.parse().map_err(|_| bad_row("date", &start))?;
        let end: Date = end.parse().map_err(|_| bad_row("date", &end))?;
        out.entry(tenant).or_default().push((start, end));
    }
    Ok(out)
}

/// Why an event cannot enter the ledger: code, field, reason.
type Refusal = (&'static str, &'static str, String);

/// Checks one event with the guard, the quantity bound, the current rate card and
/// the invoiced periods; on success, its quantity as stored and its UTC day.
fn check_event(
    e: &UsageRecord,
    snapshot: &Snapshot,
    card: Option<&RateCard>,
    periods: &std::collections::HashMap<String, Vec<(Date, Date)>>,
) -> std::result::Result<(i64, Date), Refusal> {
    let event = UsageEvent {
        product: &e.product,
        unit: &e.unit,
        version: &e.version,
        quantity: e.quantity,
        resource_type: &e.resource_type,
        tenant: &e.tenant,
        idempotency_key: &e.idempotency_key,
        at: e.at,
    };
    snapshot
        .accept_usage(&event)
        .map_err(|r| (r.code, r.field, r.message()))?;
    let quantity = i64::try_from(e.quantity).map_err(|_| {
        (
            "usage.invalid",
            "quantity",
            format!("`quantity` must be at most {}", i64::MAX),
        )
    })?;
    let day = e.at.to_zoned(TimeZone::UTC).date();
    if card.and_then(|c| c.rate_for(&e.unit, &e.version, day)).is_none() {
        return Err((
            "billing.rate_missing",
            "unit",
            format!("no rate for {}@{} is effective on {day}", e.unit, e.version),
        ));
    }
    if let Some((start, end)) = periods
        .get(&e.tenant)
        .and_then(|ps| ps.iter().find(|(start, end)| *start <= day && day < *end))
    {
        return Err((
            "billing.period_invoiced",
            "at",
            format!(
                "{day} falls in {}'s invoiced period {start}..{end}; cancel that invoice to bill it again",
                e.tenant
            ),
        ));
    }
    Ok((quantity, day))
}

fn ingest_batch(
    tx: &Transaction<'_>,
    origin: &Origin,
    offered: &[Offered<'_>],
    snapshot: &Snapshot,
) -> Result<IngestSummary> {
    let card = current_card(tx, None)?;
    let periods = invoiced_periods(tx)?;
    let mut summary = IngestSummary::default();
    let mut first: Option<&str> = None;
    let mut last: Option<&str> = None;
    {
        let mut exists = tx.prepare_cached("SELECT 1 FROM ledger WHERE idempotency_key = ?1")?;
        let mut insert = tx.prepare_cached(
            "INSERT INTO ledger (tenant, product, unit, version, quantity, resource_type, at, day, idempotency_key) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9) ON CONFLICT (idempotency_key) DO NOTHING",
        )?;
        for o in offered {
            let mut reject = |key: Option<&str>, code: &'static str, field: &str, reason: String| {
                summary.rejected.push(IngestRejection {
                    index: o.index,
                    line: o.line,
                    idempotency_key: key.map(str::to_owned),
                    code,
                    field: field.to_owned(),
                    reason,
                });
            };
            let e = match o.event {
                Ok(e) => e,
                Err(m) => {
                    reject(
                        m.idempotency_key.as_deref(),
                        usage::MALFORMED,
                        &m.field,
                        m.reason.clone(),
                    );
                    continue;
                }
            };
            let key = e.idempotency_key.as_str();
            let (quantity, day) = match check_event(e, snapshot, card.as_ref(), &periods) {
                Ok(ok) => ok,
                // A key already in the ledger (or earlier in this batch, in this
                // transaction) is a duplicate whatever else is wrong with the event.
                Err(_) if exists.exists(params![key])? => {
                    summary.duplicates += 1;
                    continue;
                }
                Err((code, field, reason)) => {
                    reject(Some(key), code, field, reason);
                    continue;
                }
            };
            let inserted = insert.execute(params![
                e.tenant,
                e.product,
                e.unit,
                e.version.to_string(),
                quantity,
                e.resource_type,
                e.at.to_string(),
                day.to_string(),
                key
            ])?;
            if inserted == 0 {
                summary.duplicates += 1;
                continue;
            }
            first = first.or(Some(key));
            last = Some(key);
            summary.accepted += 1;
        }
    }
    if summary.accepted > 0 {
        append(
            tx,
            origin,
            "billing.usage.ingest",
            "ledger",
            None,
            Some(json!({
                "accepted": summary.accepted,
                "duplicates": summary.duplicates,
                "rejected": summary.rejected.len(),
                "first_key": first,
                "last_key": last,
            })),
        )?;
    }
    Ok(summary)
}

/// The first invoice of `tenant`, not cancelled, whose period overlaps `start..end`.
fn overlapping_invoice(
    conn: &Connection,
    tenant: &str,
    start: Date,
    end: Date,
) -> Result<Option<(String, Date, Date)>> {
    let row: Option<(String, String, String)> = conn
        .query_row(
            "SELECT id, period_start, period_end FROM invoices WHERE tenant = ?1 AND state != 'cancelled' AND period_start < ?3 AND period_end > ?2 ORDER BY id LIMIT 1",
            params![tenant, start.to_string(), end.to_string()],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
        )
        .optional()?;
    row.map(|(id, s, e)| {
        let s: Date = s.parse().map_err(|_| bad_row("date", &s))?;
        let e: Date = e.parse().map_err(|_| bad_row("date", &e))?;
        Ok((id, s, e))
    })
    .transpose()
}
