//! The `billing_ops` case operation: a registry and packets loaded into a fresh
//! in-memory store, then billing steps (rate cards, usage ingest, invoices, purchase
//! orders, the gate, money arithmetic), each giving `{op, ok, …}`.
//!
//! Every write uses the fixed origin of [`crate::store_ops`], so the audit log's
//! hashes — and the output — are the same on every run.

use gangway::billing::{Currency, GateStandard, Money, MoneyError, Price, RateCard};
use gangway::{Date, Store, StoreError};
use serde::Deserialize;
use serde_json::{Value as Json, json};

use crate::store_ops::{Outcome, Setup, bad, date, outcome, render, report, to_json};
use crate::{Case, CaseSpec, read};

/// One step of a `billing_ops` case.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Step {
    /// `set_rate_card` from a YAML file (relative to the case).
    SetRateCard { file: String },
    /// The current rate card (or the latest in `currency`).
    RateCard {
        #[serde(default)]
        currency: Option<String>,
    },
    /// `ingest_jsonl` of a JSON Lines file (relative to the case).
    Ingest {
        file: String,
        #[serde(default = "default_batch")]
        batch_size: usize,
    },
    /// The ledger of `tenant` over `start..end`.
    Ledger { tenant: String, start: String, end: String },
    /// `generate_invoice`.
    Generate {
        key: String,
        tenant: String,
        #[serde(default)]
        company: Option<String>,
        start: String,
        end: String,
    },
    /// `issue_invoice`.
    Issue { key: String, invoice: String },
    /// `mark_paid`.
    Pay {
        key: String,
        invoice: String,
        #[serde(default)]
        reference: String,
    },
    /// `cancel_invoice`.
    Cancel {
        key: String,
        invoice: String,
        #[serde(default)]
        reason: String,
    },
    /// One invoice.
    Invoice { invoice: String },
    /// An invoice's legal next operations and the state each leads to.
    Actions { invoice: String },
    /// Every invoice (of `tenant`).
    Invoices {
        #[serde(default)]
        tenant: Option<String>,
    },
    /// `submit_po`; `amount` is a decimal in `currency`.
    SubmitPo {
        id: String,
        tenant: String,
        reference: String,
        amount: String,
        currency: String,
    },
    /// `approve_po`.
    ApprovePo {
        id: String,
        #[serde(default)]
        by: String,
    },
    /// `reject_po`.
    RejectPo {
        id: String,
        #[serde(default)]
        reason: String,
    },
    /// Every purchase order (of `tenant`).
    PurchaseOrders {
        #[serde(default)]
        tenant: Option<String>,
    },
    /// `provisioning_gate` under `standard` (`paid` or `po_approved`).
    Gate { tenant: String, standard: String },
    /// Money arithmetic: `a` and `b` are `"<decimal> <CUR>"`; `do` is `add`, `sub`,
    /// `mul` (by `quantity`) or `parse` (`a` only).
    Money {
        #[serde(rename = "do")]
        operation: String,
        a: String,
        #[serde(default)]
        b: Option<String>,
        #[serde(default)]
        quantity: Option<u64>,
    },
    /// A per-unit price times a quantity, rounded once, half up.
    Price {
        price: String,
        currency: String,
        quantity: u64,
    },
}

fn default_batch() -> usize {
    1000
}

impl Step {
    fn name(&self) -> &'static str {
        match self {
            Step::SetRateCard { .. } => "set_rate_card",
            Step::RateCard { .. } => "rate_card",
            Step::Ingest { .. } => "ingest",
            Step::Ledger { .. } => "ledger",
            Step::Generate { .. } => "generate",
            Step::Issue { .. } => "issue",
            Step::Pay { .. } => "pay",
            Step::Cancel { .. } => "cancel",
            Step::Invoice { .. } => "invoice",
            Step::Actions { .. } => "actions",
            Step::Invoices { .. } => "invoices",
            Step::SubmitPo { .. } => "submit_po",
            Step::ApprovePo { .. } => "approve_po",
            Step::RejectPo { .. } => "reject_po",
            Step::PurchaseOrders { .. } => "purchase_orders",
            Step::Gate { .. } => "gate",
            Step::Money { .. } => "money",
            Step::Price { .. } => "price",
        }
    }
}

impl From<MoneyError> for Outcome {
    fn from(e: MoneyError) -> Outcome {
        Outcome::Err {
            code: e.code().to_owned(),
            message: e.to_string(),
            blockers: None,
        }
    }
}

/// `"12.34 USD"` → money; a malformed operand is a case error, not an outcome.
fn money(case: &Case, text: &str) -> Result<Result<Money, MoneyError>, String> {
    let (amount, code) = text
        .rsplit_once(' ')
        .ok_or_else(|| bad(case, format!("money `{text}` must be `<decimal> <CUR>`")))?;
    Ok(Currency::new(code).and_then(|c| Money::parse(amount, c)))
}

fn money_step(
    case: &Case,
    operation: &str,
    a: &str,
    b: Option<&str>,
    quantity: Option<u64>,
) -> Result<Outcome, String> {
    let a = match money(case, a)? {
        Ok(m) => m,
        Err(e) => return Ok(e.into()),
    };
    let b = b.map(|b| money(case, b)).transpose()?;
    let result = match (operation, b, quantity) {
        ("parse", None, None) => Ok(a),
        ("add", Some(b), None) => b.and_then(|b| a.checked_add(b)),
        ("sub", Some(b), None) => b.and_then(|b| a.checked_sub(b)),
        ("mul", None, Some(q)) => a.checked_mul(q),
        _ => {
            return Err(bad(
                case,
                format!("money: `do: {operation}` needs a and b (add, sub), a and quantity (mul) or a alone (parse)"),
            ));
        }
    };
    Ok(result.map_or_else(Outcome::from, |m| {
        Outcome::Ok(vec![("result", to_json(&m)), ("text", json!(m.to_string()))])
    }))
}

fn price_step(price: &str, currency: &str, quantity: u64) -> Outcome {
    let result = Currency::new(currency)
        .and_then(|c| Price::parse(price, c))
        .and_then(|p| p.amount_for(quantity).map(|m| (p, m)));
    match result {
        Ok((p, m)) => Outcome::Ok(vec![("price", to_json(&p)), ("amount", to_json(&m))]),
        Err(e) => e.into(),
    }
}

fn run_step(case: &Case, store: &mut Store, setup: &Setup, step: &Step) -> Result<Outcome, String> {
    let origin = &setup.origin;
    Ok(match step {
        Step::SetRateCard { file } => match RateCard::from_yaml(&read(&case.dir.join(file))?) {
            Ok(card) => outcome(store.set_rate_card(origin, &card), |v| vec![("version", json!(v))]),
            Err(e) => Outcome::from(StoreError::from(e)),
        },
        Step::RateCard { currency } => {
            let currency = match currency.as_deref().map(Currency::new).transpose() {
                Ok(c) => c,
                Err(e) => return Ok(e.into()),
            };
            outcome(store.rate_card(currency), |c| vec![("card", to_json(&c))])
        }
        Step::Ingest { file, batch_size } => {
            let path = case.dir.join(file);
            let text = std::fs::read(&path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            let snapshot = match store.snapshot() {
                Ok(s) => s,
                Err(e) => return Ok(e.into()),
            };
            let mut batches = 0_usize;
            let r = store.ingest_jsonl(origin, text.as_slice(), &snapshot, *batch_size, |_| batches += 1);
            outcome(r, |s| vec![("summary", s.to_json()), ("batches", json!(batches))])
        }
        Step::Ledger { tenant, start, end } => {
            outcome(store.ledger(tenant, date(case, start)?, date(case, end)?), |events| {
                vec![("events", to_json(&events))]
            })
        }
        Step::Generate {
            key,
            tenant,
            company,
            start,
            end,
        } => outcome(
            store.generate_invoice(
                origin,
                key,
                tenant,
                company.as_deref(),
                date(case, start)?,
                date(case, end)?,
            ),
            |i| vec![("invoice", to_json(&i))],
        ),
        Step::Issue { key, invoice } => outcome(store.issue_invoice(origin, key, invoice), |i| {
            vec![("invoice", to_json(&i))]
        }),
        Step::Pay {
            key,
            invoice,
            reference,
        } => outcome(store.mark_paid(origin, key, invoice, reference), |i| {
            vec![("invoice", to_json(&i))]
        }),
        Step::Cancel { key, invoice, reason } => outcome(store.cancel_invoice(origin, key, invoice, reason), |i| {
            vec![("invoice", to_json(&i))]
        }),
        Step::Invoice { invoice } => outcome(store.invoice(invoice), |i| vec![("invoice", to_json(&i))]),
        Step::Actions { invoice } => outcome(store.invoice(invoice), |i| {
            let actions: Vec<Json> = i
                .available_actions()
                .into_iter()
                .map(|(op, to)| json!({"operation": op, "to": to}))
                .collect();
            vec![("state", to_json(&i.state())), ("actions", json!(actions))]
        }),
        Step::Invoices { tenant } => outcome(store.invoices(tenant.as_deref()), |list| {
            vec![("invoices", to_json(&list))]
        }),
        Step::SubmitPo {
            id,
            tenant,
            reference,
            amount,
            currency,
        } => {
            let amount = match Currency::new(currency).and_then(|c| Money::parse(amount, c)) {
                Ok(m) => m,
                Err(e) => return Ok(e.into()),
            };
            outcome(store.submit_po(origin, id, tenant, reference, amount), |po| {
                vec![("po", to_json(&po))]
            })
        }
        Step::ApprovePo { id, by } => outcome(store.approve_po(origin, id, by), |po| vec![("po", to_json(&po))]),
        Step::RejectPo { id, reason } => outcome(store.reject_po(origin, id, reason), |po| vec![("po", to_json(&po))]),
        Step::PurchaseOrders { tenant } => outcome(store.purchase_orders(tenant.as_deref()), |list| {
            vec![("purchase_orders", to_json(&list))]
        }),
        Step::Gate { tenant, standard } => {
            let standard = GateStandard::parse(standard)
                .ok_or_else(|| bad(case, format!("gate: unknown standard `{standard}`")))?;
            outcome(store.provisioning_gate(tenant, standard), |d| {
                vec![("decision", to_json(&d))]
            })
        }
        Step::Money {
            operation,
            a,
            b,
            quantity,
        } => money_step(case, operation, a, b.as_deref(), *quantity)?,
        Step::Price {
            price,
            currency,
            quantity,
        } => price_step(price, currency, *quantity),
    })
}

/// Runs a `billing_ops` case.
pub(crate) fn run_billing_ops(case: &Case, spec: &CaseSpec, _as_of: Date) -> Result<String, String> {
    let (mut store, setup) = Setup::load(case, spec)?;
    let mut results = Vec::new();
    for (index, raw) in spec.steps.iter().enumerate() {
        let step: Step = serde_json::from_value(raw.clone()).map_err(|e| bad(case, format!("step {index}: {e}")))?;
        let outcome = run_step(case, &mut store, &setup, &step)?;
        results.push(render(step.name(), outcome));
    }
    report(case, &store, &setup, results)
}
