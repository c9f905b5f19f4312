//! The provisioning gate (seed 002 A3): a tenant may be provisioned when the
//! deployment's configured standard is met — a paid invoice, or an approved purchase
//! order ("choose one standard"; the other kind of document never counts).

use serde::Serialize;

use super::invoice::{Invoice, InvoiceState};
use super::purchase_order::{PoState, PurchaseOrder};

/// Which document satisfies the gate (deployment configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum GateStandard {
    /// A paid invoice for the tenant.
    Paid,
    /// An approved purchase order for the tenant.
    PoApproved,
}

impl GateStandard {
    /// Every standard a deployment can choose.
    pub const ALL: [GateStandard; 2] = [GateStandard::Paid, GateStandard::PoApproved];

    /// The configuration name (`paid`, `po_approved`).
    pub fn as_str(self) -> &'static str {
        match self {
            GateStandard::Paid => "paid",
            GateStandard::PoApproved => "po_approved",
        }
    }

    /// Reads a configuration name.
    pub fn parse(text: &str) -> Option<GateStandard> {
        match text {
            "paid" => Some(GateStandard::Paid),
            "po_approved" => Some(GateStandard::PoApproved),
            _ => None,
        }
    }
}

/// The gate's decision, citing the document that satisfies it or saying what is
/// missing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GateDecision {
    /// The tenant asked about.
    pub tenant: String,
    /// The standard applied.
    pub standard: GateStandard,
    /// True when provisioning may proceed.
    pub satisfied: bool,
    /// `invoice:<id>` or `po:<id>`: the first satisfying document by id.
    pub satisfied_by: Option<String>,
    /// For people: what is missing, when not satisfied.
    pub missing: Option<String>,
}

/// Decides the gate for `tenant` under `standard`. Deterministic: the first
/// satisfying document in id order is cited, whatever the input order.
pub fn gate(tenant: &str, standard: GateStandard, invoices: &[Invoice], pos: &[PurchaseOrder]) -> GateDecision {
    let (found, missing) = match standard {
        GateStandard::Paid => {
            let mine: Vec<&Invoice> = invoices.iter().filter(|i| i.tenant() == tenant).collect();
            let found = mine
                .iter()
                .filter(|i| i.state() == InvoiceState::Paid)
                .map(|i| i.id())
                .min();
            let mut pending: Vec<&str> = mine
                .iter()
                .filter(|i| i.state() == InvoiceState::Issued)
                .map(|i| i.id())
                .collect();
            pending.sort_unstable();
            let missing = if pending.is_empty() {
                format!("no paid invoice for tenant {tenant}")
            } else {
                format!(
                    "no paid invoice for tenant {tenant}; awaiting payment: {}",
                    pending.join(", ")
                )
            };
            (found.map(|id| format!("invoice:{id}")), missing)
        }
        GateStandard::PoApproved => {
            let mine: Vec<&PurchaseOrder> = pos.iter().filter(|p| p.tenant() == tenant).collect();
            let found = mine
                .iter()
                .filter(|p| p.state() == PoState::Approved)
                .map(|p| p.id())
                .min();
            let mut pending: Vec<&str> = mine
                .iter()
                .filter(|p| p.state() == PoState::Submitted)
                .map(|p| p.id())
                .collect();
            pending.sort_unstable();
            let missing = if pending.is_empty() {
                format!("no approved purchase order for tenant {tenant}")
            } else {
                format!(
                    "no approved purchase order for tenant {tenant}; awaiting approval: {}",
                    pending.join(", ")
                )
            };
            (found.map(|id| format!("po:{id}")), missing)
        }
    };
    GateDecision {
        tenant: tenant.to_owned(),
        standard,
        satisfied: found.is_some(),
        missing: if found.is_some() { None } else { Some(missing) },
        satisfied_by: found,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::{Currency, LedgerEvent, Money, RateCard, generate};
    use jiff::civil::Date;
    use semver::Version;

    fn invoice(id: &str, tenant: &str) -> Invoice {
        let card = RateCard::from_yaml(
            "rate_card: {currency: USD, rates: [{unit: gb, version: v1, price: \"1\", effective_from: 2026-01-01}]}",
        )
        .unwrap_or_else(|e| unreachable!("{e}"));
        let event = LedgerEvent {
            tenant: tenant.into(),
            unit: "gb".into(),
            version: Version::new(1, 0, 0),
            quantity: 1,
            at: "2026-11-02T00:00:00Z".parse().unwrap_or_else(|_| unreachable!()),
            idempotency_key: "k".into(),
        };
        let d = |s: &str| s.parse::<Date>().unwrap_or_default();
        generate(id, tenant, None, d("2026-11-01"), d("2026-12-01"), &[event], &card)
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn po(id: &str, tenant: &str) -> PurchaseOrder {
        PurchaseOrder::submit(id, tenant, "REF", Money::new(1, Currency::USD)).unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn paid_standard() {
        let ok = |r: Result<Invoice, _>| r.unwrap_or_else(|e: crate::billing::TransitionError| unreachable!("{e}"));
        let issued = ok(invoice("INV-2", "acme").issue());
        let paid3 = ok(ok(invoice("INV-3", "acme").issue()).mark_paid("w"));
        let paid1 = ok(ok(invoice("INV-1", "acme").issue()).mark_paid("w"));
        let other = ok(ok(invoice("INV-0", "beta").issue()).mark_paid("w"));
        let approved = po("PO-1", "acme").approve("x").unwrap_or_else(|e| unreachable!("{e}"));

        let none = gate(
            "acme",
            GateStandard::Paid,
            &[issued.clone(), other.clone()],
            std::slice::from_ref(&approved),
        );
        assert!(!none.satisfied);
        assert_eq!(none.satisfied_by, None);
        assert_eq!(
            none.missing.as_deref(),
            Some("no paid invoice for tenant acme; awaiting payment: INV-2")
        );

        let yes = gate("acme", GateStandard::Paid, &[paid3, issued, paid1, other], &[]);
        assert_eq!(yes.satisfied_by.as_deref(), Some("invoice:INV-1"));
        assert_eq!(
            serde_json::to_string(&yes).unwrap_or_default(),
            r#"{"tenant":"acme","standard":"paid","satisfied":true,"satisfied_by":"invoice:INV-1","missing":null}"#
        );
    }

    #[test]
    fn po_standard() {
        let approved = po("PO-7", "acme").approve("x").unwrap_or_else(|e| unreachable!("{e}"));
        let rejected = po("PO-1", "acme").reject("no").unwrap_or_else(|e| unreachable!("{e}"));
        let submitted = po("PO-3", "acme");
        let paid_invoice = invoice("INV-1", "acme");
        let d = gate(
            "acme",
            GateStandard::PoApproved,
            std::slice::from_ref(&paid_invoice),
            &[rejected.clone(), submitted.clone()],
        );
        assert_eq!(
            d.missing.as_deref(),
            Some("no approved purchase order for tenant acme; awaiting approval: PO-3")
        );
        let d = gate("acme", GateStandard::PoApproved, &[], &[rejected, approved, submitted]);
        assert_eq!(
            (d.satisfied, d.satisfied_by.as_deref(), d.missing),
            (true, Some("po:PO-7"), None)
        );
        assert_eq!(
            gate("beta", GateStandard::PoApproved, &[], &[]).missing.as_deref(),
            Some("no approved purchase order for tenant beta")
        );
        assert_eq!(GateStandard::parse("po_approved"), Some(GateStandard::PoApproved));
        assert_eq!(GateStandard::parse("x"), None);
    }
}
