//! Raising the exceptions of `gangway._errors`.
//!
//! The exception classes are plain Python classes (structured fields, typed, with
//! `__repr__`), defined once in `python/gangway/_errors.py`; this module builds
//! instances of them from the core's errors.

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyDict, PyList, PyType};

use crate::report::Finding;

static ERRORS: PyOnceLock<Py<PyModule>> = PyOnceLock::new();

fn class<'py>(py: Python<'py>, name: &str) -> PyResult<Bound<'py, PyType>> {
    let module = ERRORS.get_or_try_init(py, || PyModule::import(py, "gangway._errors").map(Bound::unbind))?;
    Ok(module.bind(py).getattr(name)?.cast_into::<PyType>()?)
}

/// Builds `gangway.<name>(message, **kwargs)` as a `PyErr`; if that fails, the
/// failure itself is returned.
fn raise(py: Python<'_>, name: &str, message: String, kwargs: &Bound<'_, PyDict>) -> PyErr {
    match class(py, name).and_then(|cls| cls.call((message,), Some(kwargs))) {
        Ok(value) => PyErr::from_value(value),
        Err(e) => e,
    }
}

fn kwargs<'py>(
    py: Python<'py>,
    code: &str,
    path: Option<&str>,
    line: Option<u32>,
    column: Option<u32>,
) -> PyResult<Bound<'py, PyDict>> {
    let kw = PyDict::new(py);
    kw.set_item("code", code)?;
    kw.set_item("path", path)?;
    kw.set_item("line", line)?;
    kw.set_item("column", column)?;
    Ok(kw)
}

/// `InvalidInputError`: a bad argument value (`invalid_stage`, `invalid_date`, …).
/// `argument` names the parameter, as `path`.
pub fn invalid_input(py: Python<'_>, code: &str, argument: &str, message: String) -> PyErr {
    match kwargs(py, code, Some(argument), None, None) {
        Ok(kw) => raise(py, "InvalidInputError", message, &kw),
        Err(e) => e,
    }
}

/// `ParseError` (code `packet.parse`) carrying the core error for `unreadable_report`.
pub fn parse_error(py: Python<'_>, err: gangway::ParseError, source_name: Option<&str>) -> PyErr {
    let pos = err.pos();
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(
            py,
            gangway::ParseError::CODE,
            Some(""),
            Some(pos.line),
            Some(pos.column),
        )?;
        kw.set_item("finding", Finding::from(err.finding()).into_pyobject(py)?)?;
        kw.set_item("source_name", source_name)?;
        kw.set_item("native", ParseFailure { inner: err.clone() }.into_pyobject(py)?)?;
        Ok(raise(py, "ParseError", err.0.message.clone(), &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `RegistryError`: every problem, the first one's fields, and the canonical JSON.
pub fn registry_error(py: Python<'_>, err: &gangway::RegistryError, source_name: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let first = err.problems.first();
        let kw = kwargs(
            py,
            err.code(),
            first.map(|p| p.path.as_str()),
            first.map(|p| p.line),
            first.map(|p| p.column),
        )?;
        let problem_cls = class(py, "RegistryProblem")?;
        let problems = PyList::empty(py);
        for p in &err.problems {
            problems.append(problem_cls.call1((p.code, &p.path, p.line, p.column, &p.message))?)?;
        }
        kw.set_item("problems", problems)?;
        kw.set_item("json", err.to_json())?;
        kw.set_item("source_name", source_name)?;
        let message = first.map_or_else(|| err.to_string(), |p| p.message.clone());
        Ok(raise(py, "RegistryError", message, &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `StoreError`: a store operation refused or failed, with its stable code
/// (`registry.illegal_transition`, `registry.exists`, `packet.not_found`, …). A
/// billing refusal (`billing.*`, `idempotency_conflict`) is a `BillingError` instead,
/// and a refused invoice or purchase-order transition carries every blocker.
pub fn store_error(py: Python<'_>, err: &gangway::StoreError) -> PyErr {
    use gangway::StoreError as E;
    match err {
        E::Billing(e) => billing_error(py, e),
        E::InvoiceTransition(t) => transition_error(py, err, t.state.as_str(), t.operation.as_str(), &t.blockers),
        E::PoTransition(t) => transition_error(py, err, t.state.as_str(), t.operation.as_str(), &t.blockers),
        E::Checklist(gangway::checklist::store::RunError::Template(t)) => template_error(py, t, None),
        E::IdempotencyConflict { .. }
        | E::InvoiceNotFound(_)
        | E::PoNotFound(_)
        | E::PoExists(_)
        | E::RateCardMissing => match kwargs(py, err.code(), None, None, None) {
            Ok(kw) => raise(py, "BillingError", err.to_string(), &kw),
            Err(e) => e,
        },
        _ => match kwargs(py, err.code(), None, None, None) {
            Ok(kw) => raise(py, "StoreError", err.to_string(), &kw),
            Err(e) => e,
        },
    }
}

/// `ChecklistError` for a checklist template that does not read: the first
/// problem's code, path, line and column, every problem, and the canonical JSON
/// (`{"error": {"code", "problems"}}`, the same bytes as Rust and the CLI).
pub fn template_error(py: Python<'_>, err: &gangway::checklist::TemplateError, source_name: Option<&str>) -> PyErr {
    let problems: Vec<ProblemRow<'_>> = err
        .problems
        .iter()
        .map(|p| {
            (
                p.code,
                p.path.as_str(),
                Some(p.line),
                Some(p.column),
                p.message.as_str(),
            )
        })
        .collect();
    checklist_problems(py, err.code(), &problems, Some(err.to_json()), source_name)
}

/// One checklist problem: `(code, path, line, column, message)`.
pub type ProblemRow<'a> = (&'a str, &'a str, Option<u32>, Option<u32>, &'a str);

/// `ChecklistError` carrying `problems`; the error's own fields are the first
/// problem's.
pub fn checklist_problems(
    py: Python<'_>,
    code: &str,
    problems: &[ProblemRow<'_>],
    json: Option<String>,
    source_name: Option<&str>,
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let first = problems.first();
        let kw = kwargs(
            py,
            code,
            first.map(|p| p.1),
            first.and_then(|p| p.2),
            first.and_then(|p| p.3),
        )?;
        let problem_cls = class(py, "ChecklistProblem")?;
        let list = PyList::empty(py);
        for (code, path, line, column, message) in problems {
            list.append(problem_cls.call1((*code, *path, *line, *column, *message))?)?;
        }
        kw.set_item("problems", list)?;
        kw.set_item("json", json)?;
        kw.set_item("source_name", source_name)?;
        let message = first.map_or_else(|| "invalid checklist template".to_owned(), |p| p.4.to_owned());
        Ok(raise(py, "ChecklistError", message, &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `ChecklistError` for a probe or flow that cannot start or go on
/// (`checklist.input_missing` with the missing `parameters` and `secrets`,
/// `checklist.not_automatic`, `checklist.flow_finished`).
pub fn checklist_error(py: Python<'_>, err: &gangway::checklist::ChecklistError, path: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(py, err.code(), path, None, None)?;
        if let gangway::checklist::ChecklistError::InputMissing { parameters, secrets } = err {
            kw.set_item("missing_parameters", parameters.clone())?;
            kw.set_item("missing_secrets", secrets.clone())?;
        }
        Ok(raise(py, "ChecklistError", err.to_string(), &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `ChecklistError` with a code and a message only (`checklist.unknown_item`, …);
/// `path` names the argument at fault.
pub fn checklist_refusal(py: Python<'_>, code: &str, path: Option<&str>, message: String) -> PyErr {
    match kwargs(py, code, path, None, None) {
        Ok(kw) => raise(py, "ChecklistError", message, &kw),
        Err(e) => e,
    }
}

/// `ChecklistError` for adoption rows or thresholds the core cannot evaluate
/// (`adoption.duplicate_week`, `adoption.invalid_row`, `adoption.invalid_threshold`).
pub fn adoption_error(py: Python<'_>, err: &gangway::checklist::AdoptionError) -> PyErr {
    checklist_refusal(py, err.code(), None, err.to_string())
}

/// `BillingError`: money, rate-card, period and rating errors with their codes
/// (`billing.overflow`, `billing.rate_card_parse` with its line and column, …).
pub fn billing_error(py: Python<'_>, err: &gangway::billing::BillingError) -> PyErr {
    let (line, column) = match err {
        gangway::billing::BillingError::RateCardParse { line, column, .. } => (
            u32::try_from(*line).ok().filter(|l| *l > 0),
            u32::try_from(*column).ok().filter(|c| *c > 0),
        ),
        _ => (None, None),
    };
    match kwargs(py, err.code(), None, line, column) {
        Ok(kw) => raise(py, "BillingError", err.to_string(), &kw),
        Err(e) => e,
    }
}

/// `BillingError` for a money error (`billing.overflow`, `billing.currency_mismatch`,
/// `billing.unknown_currency`, `billing.invalid_amount`); `argument` names the
/// parameter at fault, when there is one.
pub fn money_error(py: Python<'_>, err: &gangway::billing::MoneyError, argument: Option<&str>) -> PyErr {
    match kwargs(py, err.code(), argument, None, None) {
        Ok(kw) => raise(py, "BillingError", err.to_string(), &kw),
        Err(e) => e,
    }
}

/// A refused invoice or purchase-order transition: `BillingError` with the state,
/// the operation and every blocker as the core serializes it (`{code, detail}`).
fn transition_error(
    py: Python<'_>,
    err: &gangway::StoreError,
    state: &str,
    operation: &str,
    blockers: &[gangway::billing::Blocker],
) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(py, err.code(), None, None, None)?;
        kw.set_item("blockers", crate::convert::to_py(py, &blockers)?)?;
        kw.set_item("state", state)?;
        kw.set_item("operation", operation)?;
        Ok(raise(py, "BillingError", err.to_string(), &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `RecordsError` (an `InvalidInputError`): a records file that does not load, with
/// the core's code (`records.parse`, `review.invalid`, `evidence.invalid`), message,
/// line and column (`None` where the core has 0: unknown).
pub fn records_error(py: Python<'_>, err: &gangway::records::RecordsError, source_name: Option<&str>) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(
            py,
            err.code(),
            None,
            u32::try_from(err.line).ok().filter(|l| *l > 0),
            u32::try_from(err.column).ok().filter(|c| *c > 0),
        )?;
        kw.set_item("source_name", source_name)?;
        Ok(raise(py, "RecordsError", err.message.clone(), &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `RecordsError` for a sign-off or evidence record built from Python whose fields
/// the core refuses (`review.invalid`, `evidence.invalid`); `field` names the field.
pub fn record_invalid(py: Python<'_>, code: &str, field: Option<&str>, message: String) -> PyErr {
    match kwargs(py, code, field, None, None) {
        Ok(kw) => raise(py, "RecordsError", message, &kw),
        Err(e) => e,
    }
}

/// `FileError` (also an `OSError`) for a bundle that could not be written: code
/// `bundle.not_empty` when the directory exists and holds files (a bundle is never
/// merged into other files), else `file.unwritable`.
pub fn bundle_write_error(py: Python<'_>, dir: &std::path::Path, err: &std::io::Error) -> PyErr {
    let code = if err.kind() == std::io::ErrorKind::AlreadyExists {
        "bundle.not_empty"
    } else {
        "file.unwritable"
    };
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(py, code, None, None, None)?;
        kw.set_item("filename", dir.display().to_string())?;
        kw.set_item("errno", err.raw_os_error())?;
        let message = if code == "bundle.not_empty" {
            err.to_string()
        } else {
            format!("cannot write the bundle to {}: {err}", dir.display())
        };
        Ok(raise(py, "FileError", message, &kw))
    };
    build().unwrap_or_else(|e| e)
}

/// `FileError` (also an `OSError`): a file that could not be read.
pub fn file_error(py: Python<'_>, path: &std::path::Path, err: &std::io::Error) -> PyErr {
    let build = || -> PyResult<PyErr> {
        let kw = kwargs(py, "file.unreadable", None, None, None)?;
        kw.set_item("filename", path.display().to_string())?;
        kw.set_item("errno", err.raw_os_error())?;
        Ok(raise(
            py,
            "FileError",
            format!("cannot read {}: {err}", path.display()),
            &kw,
        ))
    };
    build().unwrap_or_else(|e| e)
}

/// The core's parse error, kept inside a Python `ParseError` so that
/// `gangway.unreadable_report` can build the report for it.
#[pyclass(frozen, module = "gangway._gangway", name = "_ParseFailure")]
#[derive(Debug)]
pub struct ParseFailure {
    pub inner: gangway::ParseError,
}

#[pymethods]
impl ParseFailure {
    fn __repr__(&self) -> String {
        format!("<_ParseFailure {}>", self.inner)
    }
}
