//! Purchase orders: `submitted → approved | rejected`; `approved` and `rejected` are
//! final. Transitions are pure and list every blocker at once.

use std::fmt;

use serde::Serialize;

use super::BillingError;
use super::invoice::Blocker;
use super::money::{Money, MoneyError};

/// A purchase order's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoState {
    /// Awaiting a decision.
    Submitted,
    /// Approved (final).
    Approved,
    /// Rejected (final).
    Rejected,
}

impl PoState {
    /// The lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PoState::Submitted => "submitted",
            PoState::Approved => "approved",
            PoState::Rejected => "rejected",
        }
    }

    /// True for `approved` and `rejected`.
    pub fn is_final(self) -> bool {
        self != PoState::Submitted
    }
}

impl fmt::Display for PoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A purchase-order operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PoOperation {
    /// `submitted → approved`, naming the approver.
    Approve,
    /// `submitted → rejected`, with a reason.
    Reject,
}

impl PoOperation {
    /// The snake-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            PoOperation::Approve => "approve",
            PoOperation::Reject => "reject",
        }
    }
}

impl fmt::Display for PoOperation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A refused purchase-order operation with every blocker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{operation} refused on {state} purchase order: {}", .blockers.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
pub struct PoError {
    /// The PO's state when refused.
    pub state: PoState,
    /// The operation asked.
    pub operation: PoOperation,
    /// Every reason, never empty.
    pub blockers: Vec<Blocker>,
}

impl PoError {
    /// The code of the first blocker.
    pub fn code(&self) -> &'static str {
        self.blockers
            .first()
            .map_or("billing.illegal_transition", Blocker::code)
    }
}

/// A purchase order from a tenant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PurchaseOrder {
    id: String,
    tenant: String,
    reference: String,
    amount: Money,
    state: PoState,
    approved_by: Option<String>,
    rejection_reason: Option<String>,
}

impl PurchaseOrder {
    /// A newly submitted PO. Refuses a blank id, tenant or customer reference
    /// (`billing.blank`) and an amount that is not positive (`billing.invalid_amount`).
    pub fn submit(id: &str, tenant: &str, reference: &str, amount: Money) -> Result<PurchaseOrder, BillingError> {
        for (field, value) in [("po_id", id), ("tenant", tenant), ("reference", reference)] {
            if value.trim().is_empty() {
                return Err(BillingError::Blank { field });
            }
        }
        if amount.minor <= 0 {
            return Err(MoneyError::InvalidAmount {
                text: amount.to_string(),
                reason: "a purchase order amount must be positive".to_owned(),
            }
            .into());
        }
        Ok(PurchaseOrder {
            id: id.to_owned(),
            tenant: tenant.to_owned(),
            reference: reference.trim().to_owned(),
            amount,
            state: PoState::Submitted,
            approved_by: None,
            rejection_reason: None,
        })
    }

    /// Rebuilds a stored purchase order (the store's reader).
    pub(crate) fn restore(
        id: String,
        tenant: String,
        reference: String,
        amount: Money,
        state: PoState,
        approved_by: Option<String>,
        rejection_reason: Option<String>,
    ) -> PurchaseOrder {
        PurchaseOrder {
            id,
            tenant,
            reference,
            amount,
            state,
            approved_by,
            rejection_reason,
        }
    }

    /// The PO id.
    pub fn id(&self) -> &str {
        &self.id
    }
    /// The tenant.
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
    /// The customer's PO reference.
    pub fn reference(&self) -> &str {
        &self.reference
    }
    /// The amount authorised.
    pub fn amount(&self) -> Money {
        self.amount
    }
    /// The current state.
    pub fn state(&self) -> PoState {
        self.state
    }
    /// Who approved it.
    pub fn approved_by(&self) -> Option<&str> {
        self.approved_by.as_deref()
    }
    /// Why it was rejected.
    pub fn rejection_reason(&self) -> Option<&str> {
        self.rejection_reason.as_deref()
    }

    /// Every blocker of `operation` with its text argument.
    pub fn blockers(&self, operation: PoOperation, argument: &str) -> Vec<Blocker> {
        let mut blockers = Vec::new();
        if self.state != PoState::Submitted {
            blockers.push(Blocker::IllegalTransition {
                state: self.state.as_str(),
                operation: operation.as_str(),
            });
        }
        if argument.trim().is_empty() {
            blockers.push(match operation {
                PoOperation::Approve => Blocker::ApproverMissing,
                PoOperation::Reject => Blocker::RejectionReasonMissing,
            });
        }
        blockers
    }

    fn apply(&self, operation: PoOperation, argument: &str) -> Result<PurchaseOrder, PoError> {
        let blockers = self.blockers(operation, argument);
        if !blockers.is_empty() {
            return Err(PoError {
                state: self.state,
                operation,
                blockers,
            });
        }
        let mut out = self.clone();
        let text = Some(argument.trim().to_owned());
        match operation {
            PoOperation::Approve => {
                out.state = PoState::Approved;
                out.approved_by = text;
            }
            PoOperation::Reject => {
                out.state = PoState::Rejected;
                out.rejection_reason = text;
            }
        }
        Ok(out)
    }

    /// `submitted → approved`, recording the approver.
    pub fn approve(&self, by: &str) -> Result<PurchaseOrder, PoError> {
        self.apply(PoOperation::Approve, by)
    }

    /// `submitted → rejected`, recording the reason.
    pub fn reject(&self, reason: &str) -> Result<PurchaseOrder, PoError> {
        self.apply(PoOperation::Reject, reason)
    }

    /// The operations legal now, each with the state it leads to.
    pub fn available_actions(&self) -> Vec<(PoOperation, PoState)> {
        if self.state == PoState::Submitted {
            vec![
                (PoOperation::Approve, PoState::Approved),
                (PoOperation::Reject, PoState::Rejected),
            ]
        } else {
            Vec::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::billing::Currency;

    fn po() -> PurchaseOrder {
        PurchaseOrder::submit("PO-7", "acme", "ACME-4411", Money::new(10_000, Currency::USD))
            .unwrap_or_else(|e| unreachable!("{e}"))
    }

    #[test]
    fn submit_validates() {
        let usd = |m| Money::new(m, Currency::USD);
        assert_eq!(
            PurchaseOrder::submit("", "a", "r", usd(1)).map_err(|e| e.code()),
            Err("billing.blank")
        );
        assert_eq!(
            PurchaseOrder::submit("P", "a", " ", usd(1)).map_err(|e| e.code()),
            Err("billing.blank")
        );
        assert_eq!(
            PurchaseOrder::submit("P", "a", "r", usd(0)).map_err(|e| e.code()),
            Err("billing.invalid_amount")
        );
        assert_eq!(po().state(), PoState::Submitted);
    }

    #[test]
    fn transitions() {
        let submitted = po();
        assert_eq!(submitted.available_actions().len(), 2);
        let approved = submitted.approve("dana").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(
            (approved.state(), approved.approved_by()),
            (PoState::Approved, Some("dana"))
        );
        assert!(approved.available_actions().is_empty());
        let again = approved.reject("");
        assert_eq!(
            again.map_err(|e| e.blockers),
            Err(vec![
                Blocker::IllegalTransition {
                    state: "approved",
                    operation: "reject"
                },
                Blocker::RejectionReasonMissing
            ])
        );
        assert_eq!(
            submitted.approve(" ").map_err(|e| e.code()),
            Err("billing.approver_missing")
        );
        let rejected = submitted.reject("over budget").unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(rejected.rejection_reason(), Some("over budget"));
        assert_eq!(
            rejected.approve("dana").map_err(|e| e.code()),
            Err("billing.illegal_transition")
        );
    }
}
