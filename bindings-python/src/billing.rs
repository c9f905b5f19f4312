//! Billing (SPEC §2.9): the value classes (`Money`, `Price`, `Rate`, `RateCard`,
//! `Invoice`, `InvoiceLine`, `PurchaseOrder`, `GateDecision`, `IngestSummary`,
//! `LedgerEvent`) and `Billing`, the billing operations on a `Store`. Thin: every
//! rule, state machine and sum is the core's (`gangway::billing`); `to_dict()` is
//! the core's JSON form.

use std::io::{BufRead, Read};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use gangway::billing::store::IngestProgress;
use gangway::billing::usage::{self, IngestSummary as CoreSummary};
use gangway::billing::{self as core, Currency, GateStandard};
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDateTime, PyDict, PyInt, PyMapping, PyString, PyTuple};

use crate::convert::{self, repr_opt, repr_str, required_date as date, timestamp_to_py};
use crate::errors;
use crate::guard::Snapshot;
use crate::registry;
use crate::store::{Store, origin};

static DISPLAY: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

/// Calls `gangway._display.<name>(obj)` (the notebook views are written in Python).
fn display<'py>(py: Python<'py>, name: &str, obj: Bound<'py, PyAny>) -> PyResult<Bound<'py, PyAny>> {
    let module = DISPLAY.get_or_try_init(py, || PyModule::import(py, "gangway._display").map(Bound::unbind))?;
    module.bind(py).getattr(name)?.call1((obj,))
}

fn currency(py: Python<'_>, code: &str) -> PyResult<Currency> {
    Currency::new(code).map_err(|e| errors::money_error(py, &e, Some("currency")))
}

fn pairs<A: AsRef<str>, B: AsRef<str>>(items: impl IntoIterator<Item = (A, B)>) -> Vec<(String, String)> {
    items
        .into_iter()
        .map(|(a, b)| (a.as_ref().to_owned(), b.as_ref().to_owned()))
        .collect()
}

// ---- Money and Price ----

/// An amount of money: integer minor units (cents for USD) and an ISO 4217
/// currency. Arithmetic is exact and checked: `+` and `-` refuse mixed currencies
/// (`billing.currency_mismatch`) and every operation refuses overflow
/// (`billing.overflow`), raising `BillingError`.
#[pyclass(frozen, eq, hash, module = "gangway", name = "Money")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Money {
    pub inner: core::Money,
}

impl Money {
    fn checked(py: Python<'_>, r: Result<core::Money, core::MoneyError>) -> PyResult<Money> {
        r.map(|inner| Money { inner })
            .map_err(|e| errors::money_error(py, &e, None))
    }
}

#[pymethods]
impl Money {
    /// `minor` units (an int that fits a signed 64-bit integer) of `currency` (a
    /// three-letter ISO 4217 code such as `"USD"`).
    #[new]
    fn new(py: Python<'_>, minor: &Bound<'_, PyInt>, currency: &str) -> PyResult<Money> {
        let currency = self::currency(py, currency)?;
        let minor: i64 = minor
            .extract()
            .map_err(|_| errors::money_error(py, &core::MoneyError::Overflow, Some("minor")))?;
        Ok(Money {
            inner: core::Money::new(minor, currency),
        })
    }

    /// Parses an exact decimal (`"12.34"`, `"-0.50"`, `"7"`); more decimals than the
    /// currency has, exponents, separators and blanks are refused
    /// (`billing.invalid_amount`).
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str, currency: &str) -> PyResult<Money> {
        let currency = self::currency(py, currency)?;
        core::Money::parse(text, currency)
            .map(|inner| Money { inner })
            .map_err(|e| errors::money_error(py, &e, Some("text")))
    }

    /// Zero in `currency`.
    #[staticmethod]
    fn zero(py: Python<'_>, currency: &str) -> PyResult<Money> {
        Ok(Money {
            inner: core::Money::zero(self::currency(py, currency)?),
        })
    }

    /// The amount in minor units.
    #[getter]
    fn minor(&self) -> i64 {
        self.inner.minor
    }

    /// The three-letter currency code.
    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency.code()
    }

    /// The exact decimal, without the currency (`"12.34"`).
    #[getter]
    fn amount(&self) -> String {
        let text = self.inner.to_string();
        let code = self.inner.currency.code();
        text.strip_suffix(code).map_or(text.as_str(), str::trim_end).to_owned()
    }

    fn __add__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<Money>() {
            Ok(o) => Ok(Money::checked(py, self.inner.checked_add(o.get().inner))?
                .into_pyobject(py)?
                .into_any()
                .unbind()),
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    fn __sub__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        match other.cast::<Money>() {
            Ok(o) => Ok(Money::checked(py, self.inner.checked_sub(o.get().inner))?
                .into_pyobject(py)?
                .into_any()
                .unbind()),
            Err(_) => Ok(py.NotImplemented()),
        }
    }

    /// `money * n` for a whole number `n ≥ 0` (a quantity).
    fn __mul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let Ok(n) = other.cast::<PyInt>() else {
            return Ok(py.NotImplemented());
        };
        if n.lt(0)? {
            return Err(errors::invalid_input(
                py,
                "invalid_quantity",
                "quantity",
                format!("money can be multiplied by a whole number ≥ 0, not {n}"),
            ));
        }
        let Ok(quantity) = n.extract::<u64>() else {
            return Err(errors::money_error(py, &core::MoneyError::Overflow, None));
        };
        Ok(Money::checked(py, self.inner.checked_mul(quantity))?
            .into_pyobject(py)?
            .into_any()
            .unbind())
    }

    fn __rmul__(&self, py: Python<'_>, other: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        self.__mul__(py, other)
    }

    /// The core's JSON form: `{"amount": "12.34", "currency": "USD", "minor": 1234}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Money.parse({}, {})",
            repr_str(py, &self.amount()),
            repr_str(py, self.inner.currency.code())
        )
    }
}

/// A per-unit price: exact, with up to six more decimals than the currency's minor
/// unit (`0.0020 USD` a request).
#[pyclass(frozen, eq, hash, module = "gangway", name = "Price")]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Price {
    pub inner: core::Price,
}

impl Price {
    /// The decimal of the JSON form (`"0.002"`, `"3.00"`).
    fn decimal(&self) -> String {
        let text = self.inner.to_string();
        let code = self.inner.currency().code();
        text.strip_suffix(code).map_or(text.as_str(), str::trim_end).to_owned()
    }
}

#[pymethods]
impl Price {
    /// Parses an exact, non-negative decimal price (`"0.0020"`).
    #[staticmethod]
    fn parse(py: Python<'_>, text: &str, currency: &str) -> PyResult<Price> {
        let currency = self::currency(py, currency)?;
        core::Price::parse(text, currency)
            .map(|inner| Price { inner })
            .map_err(|e| errors::money_error(py, &e, Some("text")))
    }

    /// A price of exactly `money` per unit (not negative).
    #[staticmethod]
    fn from_money(py: Python<'_>, money: &Bound<'_, Money>) -> PyResult<Price> {
        core::Price::from_money(money.get().inner)
            .map(|inner| Price { inner })
            .map_err(|e| errors::money_error(py, &e, Some("money")))
    }

    /// The three-letter currency code.
    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency().code()
    }

    /// The exact decimal, without the currency (`"0.002"`).
    #[getter]
    fn amount(&self) -> String {
        self.decimal()
    }

    /// The price in millionths of a minor unit.
    #[getter]
    fn micro_minor(&self) -> i64 {
        self.inner.micro_minor()
    }

    /// `quantity × price`, rounded once, half up, to minor units.
    fn amount_for(&self, py: Python<'_>, quantity: &Bound<'_, PyInt>) -> PyResult<Money> {
        if quantity.lt(0)? {
            return Err(errors::invalid_input(
                py,
                "invalid_quantity",
                "quantity",
                format!("quantity must be a whole number ≥ 0, not {quantity}"),
            ));
        }
        let Ok(q) = quantity.extract::<u64>() else {
            return Err(errors::money_error(py, &core::MoneyError::Overflow, Some("quantity")));
        };
        Money::checked(py, self.inner.amount_for(q))
    }

    /// The core's JSON form: `{"amount": "0.002", "currency": "USD"}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Price.parse({}, {})",
            repr_str(py, &self.decimal()),
            repr_str(py, self.inner.currency().code())
        )
    }
}

// ---- rate cards ----

/// One rate: the price of a usage `unit` at `version`, from `effective_from`
/// (inclusive) until `effective_until` (exclusive; open-ended when `None`).
#[pyclass(frozen, eq, module = "gangway", name = "Rate")]
#[derive(Debug, Clone, PartialEq)]
pub struct Rate {
    pub inner: core::Rate,
}

#[pymethods]
impl Rate {
    /// `version` is semver or `v1`; the dates are `datetime.date` or `YYYY-MM-DD`.
    #[new]
    #[pyo3(signature = (unit, version, price, effective_from, effective_until = None))]
    fn new(
        py: Python<'_>,
        unit: String,
        version: &str,
        price: &Bound<'_, Price>,
        effective_from: &Bound<'_, PyAny>,
        effective_until: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Rate> {
        let version = registry::version(py, Some(version))?.unwrap_or_else(|| gangway::Version::new(0, 0, 0));
        Ok(Rate {
            inner: core::Rate {
                unit,
                version,
                price: price.get().inner,
                effective_from: date(py, effective_from, "effective_from")?,
                effective_until: convert::optional_date(py, effective_until, "effective_until")?,
            },
        })
    }

    /// The usage unit key.
    #[getter]
    fn unit(&self) -> &str {
        &self.inner.unit
    }

    /// The usage unit version (`"1.0.0"`).
    #[getter]
    fn version(&self) -> String {
        self.inner.version.to_string()
    }

    /// The price per unit.
    #[getter]
    fn price(&self) -> Price {
        Price {
            inner: self.inner.price,
        }
    }

    /// The first day the rate applies (UTC).
    #[getter]
    fn effective_from<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::date_to_py(py, self.inner.effective_from)?.into_any())
    }

    /// The first day the rate no longer applies (UTC), or `None`.
    #[getter]
    fn effective_until<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        self.inner
            .effective_until
            .map(|d| convert::date_to_py(py, d).map(Bound::into_any))
            .transpose()
    }

    /// True when the rate applies on `date`.
    fn applies_on(&self, py: Python<'_>, date: &Bound<'_, PyAny>) -> PyResult<bool> {
        Ok(self.inner.applies_on(self::date(py, date, "date")?))
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "Rate(unit={}, version={}, price={}, effective_from={}, effective_until={})",
            repr_str(py, &self.inner.unit),
            repr_str(py, &self.inner.version.to_string()),
            repr_str(py, &self.inner.price.to_string()),
            repr_str(py, &self.inner.effective_from.to_string()),
            repr_opt(py, self.inner.effective_until.map(|d| d.to_string()).as_deref()),
        )
    }
}

/// A validated set of rates in one currency: no two ranges of the same
/// unit+version overlap. Immutable; `Billing.set_rate_card` makes it current.
#[pyclass(frozen, eq, module = "gangway", name = "RateCard")]
#[derive(Debug, Clone, PartialEq)]
pub struct RateCard {
    pub inner: core::RateCard,
}

#[pymethods]
impl RateCard {
    /// A card from `Rate`s (at least one, all in one currency, no overlaps).
    #[new]
    fn new(py: Python<'_>, rates: Vec<Bound<'_, Rate>>) -> PyResult<RateCard> {
        let rates = rates.iter().map(|r| r.get().inner.clone()).collect();
        core::RateCard::new(rates)
            .map(|inner| RateCard { inner })
            .map_err(|e| errors::billing_error(py, &e))
    }

    /// Reads a rate card document (`rate_card: {currency, rates: [...]}`); a problem
    /// raises `BillingError` with code `billing.rate_card_parse` and its line and
    /// column, or the validation code (`billing.rate_overlap`, …).
    #[staticmethod]
    fn from_yaml(py: Python<'_>, text: String) -> PyResult<RateCard> {
        py.detach(|| core::RateCard::from_yaml(&text))
            .map(|inner| RateCard { inner })
            .map_err(|e| errors::billing_error(py, &e))
    }

    /// Reads a rate card file (see `from_yaml`).
    #[staticmethod]
    fn from_path(py: Python<'_>, path: PathBuf) -> PyResult<RateCard> {
        let text = std::fs::read_to_string(&path).map_err(|e| errors::file_error(py, &path, &e))?;
        Self::from_yaml(py, text)
    }

    /// The card's currency code.
    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency().code()
    }

    /// Every rate, sorted by unit, version and start.
    #[getter]
    fn rates(&self) -> Vec<Rate> {
        self.inner.rates().iter().map(|r| Rate { inner: r.clone() }).collect()
    }

    /// The rate for `unit` at `version` effective on `date`, or `None`.
    fn rate_for(&self, py: Python<'_>, unit: &str, version: &str, date: &Bound<'_, PyAny>) -> PyResult<Option<Rate>> {
        let version = registry::version(py, Some(version))?.unwrap_or_else(|| gangway::Version::new(0, 0, 0));
        let on = self::date(py, date, "date")?;
        Ok(self
            .inner
            .rate_for(unit, &version, on)
            .map(|r| Rate { inner: r.clone() }))
    }

    /// The core's JSON form: `{"currency", "rates": [...]}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __len__(&self) -> usize {
        self.inner.rates().len()
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "RateCard(currency={}, rates={})",
            repr_str(py, self.inner.currency().code()),
            self.inner.rates().len()
        )
    }
}

// ---- invoices, purchase orders, the gate ----

/// One invoice line: the usage of one unit+version at one price.
#[pyclass(frozen, eq, module = "gangway", name = "InvoiceLine")]
#[derive(Debug, Clone, PartialEq)]
pub struct InvoiceLine {
    inner: core::Line,
}

#[pymethods]
impl InvoiceLine {
    /// The usage unit key.
    #[getter]
    fn unit(&self) -> &str {
        &self.inner.unit
    }

    /// The usage unit version (`"1.0.0"`).
    #[getter]
    fn version(&self) -> String {
        self.inner.version.to_string()
    }

    /// Total units in the period at this price.
    #[getter]
    fn quantity(&self) -> u64 {
        self.inner.quantity
    }

    /// The price per unit.
    #[getter]
    fn unit_price(&self) -> Price {
        Price {
            inner: self.inner.unit_price,
        }
    }

    /// `quantity × unit_price`, rounded half up to minor units.
    #[getter]
    fn amount(&self) -> Money {
        Money {
            inner: self.inner.amount,
        }
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "InvoiceLine(unit={}, version={}, quantity={}, unit_price={}, amount={})",
            repr_str(py, &self.inner.unit),
            repr_str(py, &self.inner.version.to_string()),
            self.inner.quantity,
            repr_str(py, &self.inner.unit_price.to_string()),
            repr_str(py, &self.inner.amount.to_string()),
        )
    }
}

/// An invoice for one tenant and period: `draft → issued → paid`, `draft | issued →
/// cancelled`. Immutable: the `Billing` operations return the moved invoice.
#[pyclass(frozen, eq, module = "gangway", name = "Invoice")]
#[derive(Debug, Clone, PartialEq)]
pub struct Invoice {
    pub inner: core::Invoice,
}

#[pymethods]
impl Invoice {
    /// The invoice id (`INV-000001`).
    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    /// The tenant billed.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant()
    }

    /// The company's billing identity, if given.
    #[getter]
    fn company(&self) -> Option<&str> {
        self.inner.company()
    }

    /// The period's first day (inclusive, UTC).
    #[getter]
    fn period_start<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::date_to_py(py, self.inner.period_start())?.into_any())
    }

    /// The day after the period (exclusive, UTC).
    #[getter]
    fn period_end<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        Ok(convert::date_to_py(py, self.inner.period_end())?.into_any())
    }

    /// The currency code of every line and the total.
    #[getter]
    fn currency(&self) -> &'static str {
        self.inner.currency().code()
    }

    /// The lines, sorted by unit, version and price.
    #[getter]
    fn lines(&self) -> Vec<InvoiceLine> {
        self.inner
            .lines()
            .iter()
            .map(|l| InvoiceLine { inner: l.clone() })
            .collect()
    }

    /// The checked sum of the lines' amounts.
    #[getter]
    fn total(&self) -> Money {
        Money {
            inner: self.inner.total(),
        }
    }

    /// `"draft"`, `"issued"`, `"paid"` or `"cancelled"`.
    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().as_str()
    }

    /// The payment reference (set by `mark_paid`).
    #[getter]
    fn payment_reference(&self) -> Option<&str> {
        self.inner.payment_reference()
    }

    /// The cancel reason (set by `cancel_invoice`).
    #[getter]
    fn cancel_reason(&self) -> Option<&str> {
        self.inner.cancel_reason()
    }

    /// The operations legal now, each with the state it leads to:
    /// `[("issue", "issued"), ("cancel", "cancelled")]` for a draft with lines.
    fn available_actions(&self) -> Vec<(String, String)> {
        pairs(
            self.inner
                .available_actions()
                .into_iter()
                .map(|(op, to)| (op.as_str(), to.as_str())),
        )
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    /// The notebook view: the header and a table of lines with the total.
    fn _repr_html_<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        display(slf.py(), "invoice_html", slf.into_any())
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "<gangway.Invoice {} tenant={} {}..{} {} total={}>",
            self.inner.id(),
            repr_str(py, self.inner.tenant()),
            self.inner.period_start(),
            self.inner.period_end(),
            self.inner.state(),
            self.inner.total()
        )
    }
}

/// A purchase order from a tenant: `submitted → approved | rejected`.
#[pyclass(frozen, eq, module = "gangway", name = "PurchaseOrder")]
#[derive(Debug, Clone, PartialEq)]
pub struct PurchaseOrder {
    inner: core::PurchaseOrder,
}

#[pymethods]
impl PurchaseOrder {
    /// The PO id.
    #[getter]
    fn id(&self) -> &str {
        self.inner.id()
    }

    /// The tenant.
    #[getter]
    fn tenant(&self) -> &str {
        self.inner.tenant()
    }

    /// The customer's PO reference.
    #[getter]
    fn reference(&self) -> &str {
        self.inner.reference()
    }

    /// The amount authorised.
    #[getter]
    fn amount(&self) -> Money {
        Money {
            inner: self.inner.amount(),
        }
    }

    /// `"submitted"`, `"approved"` or `"rejected"`.
    #[getter]
    fn state(&self) -> &'static str {
        self.inner.state().as_str()
    }

    /// Who approved it.
    #[getter]
    fn approved_by(&self) -> Option<&str> {
        self.inner.approved_by()
    }

    /// Why it was rejected.
    #[getter]
    fn rejection_reason(&self) -> Option<&str> {
        self.inner.rejection_reason()
    }

    /// The operations legal now, each with the state it leads to.
    fn available_actions(&self) -> Vec<(String, String)> {
        pairs(
            self.inner
                .available_actions()
                .into_iter()
                .map(|(op, to)| (op.as_str(), to.as_str())),
        )
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "PurchaseOrder(id={}, tenant={}, reference={}, amount={}, state={})",
            repr_str(py, self.inner.id()),
            repr_str(py, self.inner.tenant()),
            repr_str(py, self.inner.reference()),
            repr_str(py, &self.inner.amount().to_string()),
            repr_str(py, self.inner.state().as_str()),
        )
    }
}

/// The provisioning gate's decision: true (`bool(decision)`) when the tenant may be
/// provisioned, citing the document (`invoice:<id>`, `po:<id>`), else what is missing.
#[pyclass(frozen, eq, module = "gangway", name = "GateDecision")]
#[derive(Debug, Clone, PartialEq)]
pub struct GateDecision {
    inner: core::GateDecision,
}

#[pymethods]
impl GateDecision {
    /// The tenant asked about.
    #[getter]
    fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// `"paid"` or `"po_approved"`.
    #[getter]
    fn standard(&self) -> &'static str {
        self.inner.standard.as_str()
    }

    /// True when provisioning may proceed.
    #[getter]
    fn satisfied(&self) -> bool {
        self.inner.satisfied
    }

    /// The first satisfying document by id (`"invoice:INV-000001"`, `"po:PO-1"`).
    #[getter]
    fn satisfied_by(&self) -> Option<&str> {
        self.inner.satisfied_by.as_deref()
    }

    /// For people: what is missing, when not satisfied.
    #[getter]
    fn missing(&self) -> Option<&str> {
        self.inner.missing.as_deref()
    }

    fn __bool__(&self) -> bool {
        self.inner.satisfied
    }

    /// The core's JSON form.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "GateDecision(tenant={}, standard={}, satisfied={}, satisfied_by={}, missing={})",
            repr_str(py, &self.inner.tenant),
            repr_str(py, self.inner.standard.as_str()),
            if self.inner.satisfied { "True" } else { "False" },
            repr_opt(py, self.inner.satisfied_by.as_deref()),
            repr_opt(py, self.inner.missing.as_deref()),
        )
    }
}

// ---- the usage ledger ----

/// One accepted usage event in the ledger.
#[pyclass(frozen, eq, module = "gangway", name = "LedgerEvent")]
#[derive(Debug, Clone, PartialEq)]
pub struct LedgerEvent {
    inner: core::LedgerEvent,
}

#[pymethods]
impl LedgerEvent {
    /// The tenant billed.
    #[getter]
    fn tenant(&self) -> &str {
        &self.inner.tenant
    }

    /// The usage unit key.
    #[getter]
    fn unit(&self) -> &str {
        &self.inner.unit
    }

    /// The usage unit version (`"1.0.0"`).
    #[getter]
    fn version(&self) -> String {
        self.inner.version.to_string()
    }

    /// How many units.
    #[getter]
    fn quantity(&self) -> u64 {
        self.inner.quantity
    }

    /// When the usage happened, an aware `datetime` in UTC.
    #[getter]
    fn at<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        timestamp_to_py(py, self.inner.at)
    }

    /// The ledger's deduplication key.
    #[getter]
    fn idempotency_key(&self) -> &str {
        &self.inner.idempotency_key
    }

    /// The core's JSON form (`at` as RFC 3339 text).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner)
    }

    fn __repr__(&self, py: Python<'_>) -> String {
        format!(
            "LedgerEvent(tenant={}, unit={}, version={}, quantity={}, at={}, idempotency_key={})",
            repr_str(py, &self.inner.tenant),
            repr_str(py, &self.inner.unit),
            repr_str(py, &self.inner.version.to_string()),
            self.inner.quantity,
            repr_str(py, &self.inner.at.to_string()),
            repr_str(py, &self.inner.idempotency_key),
        )
    }
}

/// What an ingest did: every event accepted, a duplicate (its idempotency key was
/// already in the ledger or earlier in the input) or rejected with a code — never
/// dropped silently.
#[pyclass(frozen, eq, module = "gangway", name = "IngestSummary")]
#[derive(Debug, Clone, PartialEq)]
pub struct IngestSummary {
    inner: CoreSummary,
}

#[pymethods]
impl IngestSummary {
    /// Events added to the ledger.
    #[getter]
    fn accepted(&self) -> usize {
        self.inner.accepted
    }

    /// Events whose idempotency key was already seen.
    #[getter]
    fn duplicates(&self) -> usize {
        self.inner.duplicates
    }

    /// The events refused, in input order: `{index, line (JSON Lines only),
    /// idempotency_key, code, field, reason}`.
    #[getter]
    fn rejected<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.rejected)
    }

    /// How many events were rejected under each code, by code.
    #[getter]
    fn rejected_by_code<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::to_py(py, &self.inner.rejected_by_code())
    }

    /// Every event seen: accepted + duplicates + rejected.
    #[getter]
    fn total(&self) -> usize {
        self.inner.total()
    }

    /// The one JSON form the CLI, the bindings and the corpus print: `{accepted,
    /// duplicates, rejected, rejected_by_code, rejections}`.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        convert::json_to_py(py, &self.inner.to_json())
    }

    fn __repr__(&self) -> String {
        format!(
            "IngestSummary(accepted={}, duplicates={}, rejected={})",
            self.inner.accepted,
            self.inner.duplicates,
            self.inner.rejected.len()
        )
    }
}

// ---- ingest inputs ----

/// An event that cannot be written as a JSON Lines line: the field and why.
struct Unusable {
    index: usize,
    field: String,
    reason: String,
    key: Option<String>,
}

/// One usage event (a mapping with the JSON Lines keys) as its JSON Lines line, so
/// the core reads it exactly as it reads a file; or why it cannot be one. An aware
/// `datetime` is accepted for `at`.
fn event_line(
    json: &Bound<'_, PyModule>,
    index: usize,
    event: &Bound<'_, PyAny>,
) -> PyResult<Result<String, Unusable>> {
    let py = json.py();
    let options = PyDict::new(py);
    options.set_item("ensure_ascii", false)?;
    options.set_item("allow_nan", false)?;
    let dumps =
        |v: &Bound<'_, PyAny>| -> PyResult<String> { json.call_method("dumps", (v,), Some(&options))?.extract() };
    let Ok(map) = event.cast::<PyMapping>() else {
        // Not a mapping: the core says why ("a usage event is a JSON object").
        return Ok(dumps(event).map_err(|_| Unusable {
            index,
            field: String::new(),
            reason: format!("a usage event is a mapping, not {}", convert::type_name(event)),
            key: None,
        }));
    };
    let key: Option<String> = map.get_item("idempotency_key").ok().and_then(|k| k.extract().ok());
    let unusable = |field: &str, reason: String| {
        Ok(Err(Unusable {
            index,
            field: field.to_owned(),
            reason,
            key: key.clone(),
        }))
    };
    let mut line = String::from("{");
    for (i, item) in map.items()?.iter().enumerate() {
        let (name, value): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract()?;
        let Ok(name) = name.cast::<PyString>() else {
            return unusable("", format!("keys must be strings, not {}", convert::type_name(&name)));
        };
        let field = name.to_cow()?.into_owned();
        let value = if value.is_instance_of::<PyDateTime>() {
            if value.getattr("tzinfo")?.is_none() {
                return unusable(&field, format!("`{field}` must be timezone-aware"));
            }
            value.call_method0("isoformat")?
        } else {
            value
        };
        let Ok(text) = dumps(&value) else {
            return unusable(
                &field,
                format!("`{field}` is not a JSON value ({})", convert::type_name(&value)),
            );
        };
        if i > 0 {
            line.push(',');
        }
        line.push_str(&dumps(name.as_any())?);
        line.push(':');
        line.push_str(&text);
    }
    line.push('}');
    Ok(Ok(line))
}

/// A reader that fails (so the core's JSON Lines ingest stops after the batch in
/// flight) once `stop` is set: the `progress` callback raised.
struct Stoppable<'a, R> {
    inner: R,
    stop: &'a AtomicBool,
}

impl<R> Stoppable<'_, R> {
    fn check(&self) -> std::io::Result<()> {
        if self.stop.load(Ordering::Relaxed) {
            Err(std::io::Error::other("stopped: the progress callback raised"))
        } else {
            Ok(())
        }
    }
}

impl<R: Read> Read for Stoppable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.check()?;
        self.inner.read(buf)
    }
}

impl<R: BufRead> BufRead for Stoppable<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.check()?;
        self.inner.fill_buf()
    }

    fn consume(&mut self, amount: usize) {
        self.inner.consume(amount);
    }
}

/// Where JSON Lines come from.
enum Source {
    Path(PathBuf),
    Text(String),
}

// ---- Billing ----

/// Billing on a `Store`: rate cards, the usage ledger, invoices (idempotent
/// operations keyed by `key`), purchase orders and the provisioning gate. Every
/// change takes `actor` (and optionally `at` and `request_id`) and is audited in the
/// same transaction; the store work runs with the GIL released.
#[pyclass(frozen, module = "gangway", name = "Billing")]
#[derive(Debug)]
pub struct Billing {
    store: Py<Store>,
}

impl Billing {
    /// Billing on `store`.
    pub fn of(store: Bound<'_, Store>) -> Billing {
        Billing { store: store.unbind() }
    }

    fn with<T: Send>(
        &self,
        py: Python<'_>,
        f: impl FnOnce(&mut gangway::Store) -> Result<T, gangway::StoreError> + Send,
    ) -> PyResult<T> {
        let store = self.store.bind(py).try_borrow()?;
        store.with(py, f)
    }

    fn snapshot(snapshot: Option<&Bound<'_, Snapshot>>) -> Option<Arc<gangway::Snapshot>> {
        snapshot.map(|s| Arc::clone(&s.get().inner))
    }

    #[allow(clippy::too_many_arguments)]
    fn ingest_lines(
        &self,
        py: Python<'_>,
        source: Source,
        batch_size: usize,
        progress: Option<Py<PyAny>>,
        snapshot: Option<&Bound<'_, Snapshot>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<IngestSummary> {
        let o = origin(py, actor, at, request_id)?;
        let given = Self::snapshot(snapshot);
        let input: Box<dyn BufRead + Send> = match source {
            Source::Path(path) => Box::new(std::io::BufReader::new(
                std::fs::File::open(&path).map_err(|e| errors::file_error(py, &path, &e))?,
            )),
            Source::Text(text) => Box::new(std::io::Cursor::new(text.into_bytes())),
        };
        let stop = AtomicBool::new(false);
        let raised: Mutex<Option<PyErr>> = Mutex::new(None);
        let result = self.with(py, |s| {
            let snap = match given {
                Some(snap) => snap,
                None => Arc::new(s.snapshot()?),
            };
            let report = |p: IngestProgress| {
                let Some(callback) = &progress else { return };
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                if let Err(e) = Python::attach(|py| callback.call1(py, (p.bytes, p.events)).map(drop)) {
                    if let Ok(mut slot) = raised.lock() {
                        *slot = Some(e);
                    }
                    stop.store(true, Ordering::Relaxed);
                }
            };
            let input = Stoppable {
                inner: input,
                stop: &stop,
            };
            s.ingest_jsonl(&o, input, &snap, batch_size, report)
        });
        if let Some(err) = raised.lock().ok().and_then(|mut slot| slot.take()) {
            return Err(err);
        }
        Ok(IngestSummary { inner: result? })
    }
}

pub(crate) fn standard(py: Python<'_>, text: &str) -> PyResult<GateStandard> {
    GateStandard::parse(text).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_standard",
            "standard",
            format!("unknown gate standard `{text}`; expected \"paid\" or \"po_approved\""),
        )
    })
}

#[pymethods]
impl Billing {
    /// Billing on `store` (the same as `store.billing()`).
    #[new]
    fn new(store: Bound<'_, Store>) -> Billing {
        Billing::of(store)
    }

    /// The store.
    #[getter]
    fn store(&self, py: Python<'_>) -> Py<Store> {
        self.store.clone_ref(py)
    }

    /// Makes `card` the current rate card (a new version; earlier ones are kept) and
    /// returns its version. A card identical to the current one changes nothing.
    #[pyo3(signature = (card, *, actor, at = None, request_id = None))]
    fn set_rate_card(
        &self,
        py: Python<'_>,
        card: &Bound<'_, RateCard>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<u64> {
        let o = origin(py, actor, at, request_id)?;
        let card = card.get().inner.clone();
        self.with(py, move |s| s.set_rate_card(&o, &card))
    }

    /// The current rate card (the latest set), or the latest in `currency`; `None`
    /// when there is none.
    #[pyo3(signature = (currency = None))]
    fn rate_card(&self, py: Python<'_>, currency: Option<&str>) -> PyResult<Option<RateCard>> {
        let currency = currency.map(|c| self::currency(py, c)).transpose()?;
        Ok(self
            .with(py, move |s| s.rate_card(currency))?
            .map(|inner| RateCard { inner }))
    }

    /// Ingests usage events into the ledger in one transaction. Each event is a
    /// mapping with exactly the JSON Lines keys (`product`, `unit`, `version`,
    /// `quantity`, `resource_type`, `tenant`, `idempotency_key`, `at`); one that is
    /// not is rejected with `usage.malformed`, like a bad line in a file. The guard
    /// checks each event against `snapshot` (default: the store's registry and
    /// packets now) and the current rate card must price it.
    #[pyo3(signature = (events, *, snapshot = None, actor, at = None, request_id = None))]
    fn ingest_usage(
        &self,
        py: Python<'_>,
        events: &Bound<'_, PyAny>,
        snapshot: Option<&Bound<'_, Snapshot>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<IngestSummary> {
        if events.cast::<PyMapping>().is_ok() || events.is_instance_of::<PyString>() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "events must be an iterable of mappings (one event is a list of one), not {}",
                convert::type_name(events)
            )));
        }
        let json = PyModule::import(py, "json")?;
        let mut lines = Vec::new();
        let mut unusable = Vec::new();
        for (index, event) in events.try_iter()?.enumerate() {
            match event_line(&json, index, &event?)? {
                Ok(line) => lines.push(line),
                Err(u) => {
                    // A line the core rejects as malformed; its field and reason are
                    // set from `u` below.
                    lines.push("null".to_owned());
                    unusable.push(u);
                }
            }
        }
        let batch = lines.len().max(1);
        let mut summary = self.ingest_lines(
            py,
            Source::Text(lines.join("\n")),
            batch,
            None,
            snapshot,
            actor,
            at,
            request_id,
        )?;
        for r in &mut summary.inner.rejected {
            // Events are numbered by `index`; lines are the JSON Lines reader's.
            r.line = None;
            if let Some(u) = unusable
                .iter()
                .find(|u| u.index == r.index && r.code == usage::MALFORMED)
            {
                r.field.clone_from(&u.field);
                r.reason.clone_from(&u.reason);
                r.idempotency_key.clone_from(&u.key);
            }
        }
        Ok(summary)
    }

    /// Ingests a JSON Lines file of usage events, committing every `batch_size`
    /// events (0 counts as 1; a crash loses at most the batch in flight; re-running the file counts
    /// committed events as duplicates). Malformed lines are rejected with
    /// `usage.malformed` and their `line`. `progress(bytes_read, events_read)` is
    /// called after each batch; if it raises, the ingest stops after that batch and
    /// the exception propagates; calling this store from it raises `store.reentrant`.
    #[pyo3(signature = (path, *, batch_size = 1000, progress = None, snapshot = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn ingest_jsonl(
        &self,
        py: Python<'_>,
        path: PathBuf,
        batch_size: usize,
        progress: Option<Py<PyAny>>,
        snapshot: Option<&Bound<'_, Snapshot>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<IngestSummary> {
        self.ingest_lines(
            py,
            Source::Path(path),
            batch_size,
            progress,
            snapshot,
            actor,
            at,
            request_id,
        )
    }

    /// `ingest_jsonl` on JSON Lines text instead of a file.
    #[pyo3(signature = (text, *, batch_size = 1000, progress = None, snapshot = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn ingest_jsonl_text(
        &self,
        py: Python<'_>,
        text: String,
        batch_size: usize,
        progress: Option<Py<PyAny>>,
        snapshot: Option<&Bound<'_, Snapshot>>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<IngestSummary> {
        self.ingest_lines(
            py,
            Source::Text(text),
            batch_size,
            progress,
            snapshot,
            actor,
            at,
            request_id,
        )
    }

    /// The ledger events of `tenant` whose UTC date is in `start..end` (end
    /// exclusive), in ingest order.
    fn ledger(
        &self,
        py: Python<'_>,
        tenant: String,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
    ) -> PyResult<Vec<LedgerEvent>> {
        let (start, end) = (date(py, start, "start")?, date(py, end, "end")?);
        Ok(self
            .with(py, move |s| s.ledger(&tenant, start, end))?
            .into_iter()
            .map(|inner| LedgerEvent { inner })
            .collect())
    }

    /// Generates the draft invoice of `tenant` for `start..end` (UTC dates, end
    /// exclusive) from the ledger and the current rate card. Idempotent per `key`:
    /// the same key and parameters return the first result and change nothing; the
    /// key with anything else raises `BillingError` (`idempotency_conflict`).
    #[pyo3(signature = (tenant, start, end, *, key, company = None, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn generate_invoice(
        &self,
        py: Python<'_>,
        tenant: String,
        start: &Bound<'_, PyAny>,
        end: &Bound<'_, PyAny>,
        key: String,
        company: Option<String>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Invoice> {
        let (start, end) = (date(py, start, "start")?, date(py, end, "end")?);
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| {
            s.generate_invoice(&o, &key, &tenant, company.as_deref(), start, end)
        })?;
        Ok(Invoice { inner })
    }

    /// `draft → issued`. A refused move raises `BillingError` with every blocker.
    /// Idempotent per `key`.
    #[pyo3(signature = (invoice_id, *, key, actor, at = None, request_id = None))]
    fn issue_invoice(
        &self,
        py: Python<'_>,
        invoice_id: String,
        key: String,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Invoice> {
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| s.issue_invoice(&o, &key, &invoice_id))?;
        Ok(Invoice { inner })
    }

    /// `issued → paid`, recording the payment `reference`. Idempotent per `key`.
    #[pyo3(signature = (invoice_id, reference, *, key, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn mark_paid(
        &self,
        py: Python<'_>,
        invoice_id: String,
        reference: String,
        key: String,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Invoice> {
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| s.mark_paid(&o, &key, &invoice_id, &reference))?;
        Ok(Invoice { inner })
    }

    /// `draft | issued → cancelled`, recording the `reason`. Idempotent per `key`.
    #[pyo3(signature = (invoice_id, reason, *, key, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn cancel_invoice(
        &self,
        py: Python<'_>,
        invoice_id: String,
        reason: String,
        key: String,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<Invoice> {
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| s.cancel_invoice(&o, &key, &invoice_id, &reason))?;
        Ok(Invoice { inner })
    }

    /// One invoice; a missing one raises `BillingError` (`billing.invoice_not_found`).
    fn invoice(&self, py: Python<'_>, invoice_id: String) -> PyResult<Invoice> {
        let inner = self.with(py, move |s| s.invoice(&invoice_id))?;
        Ok(Invoice { inner })
    }

    /// Every invoice (of `tenant`, when given), by id.
    #[pyo3(signature = (tenant = None))]
    fn invoices(&self, py: Python<'_>, tenant: Option<String>) -> PyResult<Vec<Invoice>> {
        Ok(self
            .with(py, move |s| s.invoices(tenant.as_deref()))?
            .into_iter()
            .map(|inner| Invoice { inner })
            .collect())
    }

    /// Records a submitted purchase order (`billing.po_exists` when the id is taken;
    /// the amount must be positive).
    #[pyo3(signature = (po_id, tenant, reference, amount, *, actor, at = None, request_id = None))]
    #[allow(clippy::too_many_arguments)]
    fn submit_po(
        &self,
        py: Python<'_>,
        po_id: String,
        tenant: String,
        reference: String,
        amount: &Bound<'_, Money>,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<PurchaseOrder> {
        let o = origin(py, actor, at, request_id)?;
        let amount = amount.get().inner;
        let inner = self.with(py, move |s| s.submit_po(&o, &po_id, &tenant, &reference, amount))?;
        Ok(PurchaseOrder { inner })
    }

    /// `submitted → approved`, naming the approver `by`.
    #[pyo3(signature = (po_id, by, *, actor, at = None, request_id = None))]
    fn approve_po(
        &self,
        py: Python<'_>,
        po_id: String,
        by: String,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<PurchaseOrder> {
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| s.approve_po(&o, &po_id, &by))?;
        Ok(PurchaseOrder { inner })
    }

    /// `submitted → rejected`, with a `reason`.
    #[pyo3(signature = (po_id, reason, *, actor, at = None, request_id = None))]
    fn reject_po(
        &self,
        py: Python<'_>,
        po_id: String,
        reason: String,
        actor: String,
        at: Option<&Bound<'_, PyAny>>,
        request_id: Option<String>,
    ) -> PyResult<PurchaseOrder> {
        let o = origin(py, actor, at, request_id)?;
        let inner = self.with(py, move |s| s.reject_po(&o, &po_id, &reason))?;
        Ok(PurchaseOrder { inner })
    }

    /// Every purchase order (of `tenant`, when given), by id.
    #[pyo3(signature = (tenant = None))]
    fn purchase_orders(&self, py: Python<'_>, tenant: Option<String>) -> PyResult<Vec<PurchaseOrder>> {
        Ok(self
            .with(py, move |s| s.purchase_orders(tenant.as_deref()))?
            .into_iter()
            .map(|inner| PurchaseOrder { inner })
            .collect())
    }

    /// The provisioning gate of `tenant` under `standard` (`"paid"`: a paid invoice;
    /// `"po_approved"`: an approved purchase order). An unknown standard raises
    /// `InvalidInputError` (`invalid_standard`).
    fn gate(&self, py: Python<'_>, tenant: String, standard: &str) -> PyResult<GateDecision> {
        let standard = self::standard(py, standard)?;
        let inner = self.with(py, move |s| s.provisioning_gate(&tenant, standard))?;
        Ok(GateDecision { inner })
    }

    fn __repr__(&self, py: Python<'_>) -> PyResult<String> {
        Ok(format!("Billing({})", self.store.bind(py).repr()?))
    }
}

/// Adds the billing classes and `GATE_STANDARDS`, `CURRENCIES` to the module.
pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    let standards = [GateStandard::Paid, GateStandard::PoApproved].map(GateStandard::as_str);
    m.add("GATE_STANDARDS", PyTuple::new(py, standards)?)?;
    m.add(
        "CURRENCIES",
        PyTuple::new(py, Currency::all().map(Currency::code).collect::<Vec<_>>())?,
    )?;
    m.add_class::<Money>()?;
    m.add_class::<Price>()?;
    m.add_class::<Rate>()?;
    m.add_class::<RateCard>()?;
    m.add_class::<InvoiceLine>()?;
    m.add_class::<Invoice>()?;
    m.add_class::<PurchaseOrder>()?;
    m.add_class::<GateDecision>()?;
    m.add_class::<LedgerEvent>()?;
    m.add_class::<IngestSummary>()?;
    m.add_class::<Billing>()?;
    Ok(())
}
