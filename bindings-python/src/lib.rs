//! `gangway._gangway`: the native module under the Python package `gangway`.
//!
//! Thin wrappers around the core's values: every class holds a core value, every
//! function converts its arguments, calls the core with the GIL released, and wraps
//! the result. Behaviour lives in the core (`gangway`), once; the Python idioms
//! (exceptions, notebook views) live in `python/gangway/`.

mod billing;
mod checklist;
mod convert;
mod errors;
mod guard;
mod packet;
mod records;
mod registry;
mod report;
mod store;

use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};

use crate::packet::{Limits, Packet, limits_or_default};
use crate::records::{Records, records_ref};
use crate::registry::{Entry, Registry};
use crate::report::{Finding, Progress, Report, Source, StageStatus, Suggestion};

fn registry_ref<'a>(registry: Option<&'a Bound<'_, Registry>>) -> Option<&'a gangway::Registry> {
    registry.map(|r| &r.get().inner)
}

/// Validates `packet` at `stage` (default: the stage its `lifecycle_state` selects) as
/// of `as_of` (a `datetime.date` or `YYYY-MM-DD`; default today), reporting every
/// requirement of the stages up to it. `records` (sign-offs and evidence) are judged
/// from `uat_evidence` on; without them those stages report `records.unavailable`.
#[pyfunction]
#[pyo3(signature = (packet, registry = None, *, records = None, stage = None, as_of = None))]
fn validate_packet(
    py: Python<'_>,
    packet: &Bound<'_, Packet>,
    registry: Option<&Bound<'_, Registry>>,
    records: Option<&Bound<'_, Records>>,
    stage: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Report> {
    let stage = convert::stage(py, stage)?;
    let as_of = convert::as_of(py, as_of)?;
    let p = packet.get();
    let reg = registry_ref(registry);
    let rec = records_ref(records);
    let inner = py.detach(|| gangway::validate_with(&p.inner, reg, rec, stage, as_of));
    Ok(Report {
        inner,
        source: p.source.clone(),
    })
}

/// Parses `text` as `format` and validates it, like `gangway validate` on a file: a
/// document that cannot be read at all gives the report with its `packet.parse`
/// finding instead of raising.
#[pyfunction]
#[pyo3(signature = (text, registry = None, *, records = None, format = "yaml", stage = None, as_of = None, source_name = None, limits = None))]
#[allow(clippy::too_many_arguments)]
fn validate_source(
    py: Python<'_>,
    text: String,
    registry: Option<&Bound<'_, Registry>>,
    records: Option<&Bound<'_, Records>>,
    format: &str,
    stage: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
    source_name: Option<String>,
    limits: Option<&Bound<'_, Limits>>,
) -> PyResult<Report> {
    let format = convert::format(py, format)?;
    let stage = convert::stage(py, stage)?;
    let as_of = convert::as_of(py, as_of)?;
    let limits = limits_or_default(limits);
    let reg = registry_ref(registry);
    let rec = records_ref(records);
    let text: Arc<str> = Arc::from(text);
    let inner = py.detach(|| match gangway::Packet::parse(&text, format, &limits) {
        Ok(p) => gangway::validate_with(&p, reg, rec, stage, as_of),
        Err(e) => gangway::validate::unreadable(&e, stage, as_of),
    });
    Ok(Report {
        inner,
        source: Source {
            text: Some(text),
            name: source_name.map(Arc::from),
        },
    })
}

/// The report for a document that could not be read at all, from the `ParseError`
/// that `Packet.from_yaml` / `from_json` / `from_path` raised.
#[pyfunction]
#[pyo3(signature = (error, *, stage = None, as_of = None))]
fn unreadable_report(
    py: Python<'_>,
    error: &Bound<'_, PyAny>,
    stage: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Report> {
    let native = parse_failure(py, error)?;
    let stage = convert::stage(py, stage)?;
    let as_of = convert::as_of(py, as_of)?;
    let name: Option<String> = error.getattr("source_name").ok().and_then(|n| n.extract().ok());
    Ok(Report {
        inner: gangway::validate::unreadable(&native.get().inner, stage, as_of),
        source: Source {
            text: None,
            name: name.map(Arc::from),
        },
    })
}

/// The progress of a document that could not be read at all: intake is blocked by its
/// `packet.parse` finding.
#[pyfunction]
#[pyo3(signature = (error, *, as_of = None))]
fn unreadable_progress(
    py: Python<'_>,
    error: &Bound<'_, PyAny>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Progress> {
    let native = parse_failure(py, error)?;
    let as_of = convert::as_of(py, as_of)?;
    Ok(Progress {
        inner: gangway::validate::unreadable_progress(&native.get().inner, as_of),
    })
}

/// The core error inside a `gangway.ParseError`.
fn parse_failure<'py>(py: Python<'py>, error: &Bound<'py, PyAny>) -> PyResult<Bound<'py, errors::ParseFailure>> {
    error
        .getattr("_native")
        .ok()
        .and_then(|n| n.cast_into::<errors::ParseFailure>().ok())
        .ok_or_else(|| {
            errors::invalid_input(
                py,
                "invalid_error",
                "error",
                format!(
                    "error must be a gangway.ParseError raised by this library, not {}",
                    convert::type_name(error)
                ),
            )
        })
}

/// Evaluates all eight stages as of `as_of` and names the first blocked one; `records`
/// as for `validate_packet`.
#[pyfunction]
#[pyo3(signature = (packet, registry = None, *, records = None, as_of = None))]
fn progress(
    py: Python<'_>,
    packet: &Bound<'_, Packet>,
    registry: Option<&Bound<'_, Registry>>,
    records: Option<&Bound<'_, Records>>,
    as_of: Option<&Bound<'_, PyAny>>,
) -> PyResult<Progress> {
    let as_of = convert::as_of(py, as_of)?;
    let p = packet.get();
    let reg = registry_ref(registry);
    let rec = records_ref(records);
    let inner = py.detach(|| gangway::progress_with(&p.inner, reg, rec, as_of));
    Ok(Progress { inner })
}

/// The JSON Schema (draft 2020-12) of a packet document, for editors. It checks
/// structure only; `validate_packet` checks everything.
#[pyfunction]
fn json_schema(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    convert::json_to_py(py, &gangway::json_schema())
}

/// The starter packet for a product slug (lowercase kebab-case): every section, with
/// TODO markers.
#[pyfunction]
fn starter_packet(py: Python<'_>, slug: &str) -> PyResult<String> {
    if !gangway::rules::identity::is_kebab(slug) {
        return Err(errors::invalid_input(
            py,
            "invalid_slug",
            "slug",
            format!("slug `{slug}` is not lowercase kebab-case (like `token-factory`)"),
        ));
    }
    Ok(gangway::starter_packet(slug))
}

/// The number (0 to 7) of a stage id.
#[pyfunction]
fn stage_number(py: Python<'_>, stage: &Bound<'_, PyAny>) -> PyResult<u8> {
    Ok(convert::required_stage(py, stage)?.number())
}

/// What a stage's exit gate checks, for people.
#[pyfunction]
fn stage_gate(py: Python<'_>, stage: &Bound<'_, PyAny>) -> PyResult<&'static str> {
    Ok(convert::required_stage(py, stage)?.gate())
}

/// The rule catalog, in catalog order: `{"code", "stage", "severity", "summary"}` per
/// rule unit (a code may appear at more than one stage).
#[pyfunction]
fn rules(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let list = PyList::empty(py);
    for r in gangway::rules::RULES {
        let d = PyDict::new(py);
        d.set_item("code", r.code)?;
        d.set_item("stage", r.stage.id())?;
        d.set_item("severity", r.severity.as_str())?;
        d.set_item("summary", r.summary)?;
        list.append(d)?;
    }
    Ok(list)
}

/// True when a registry entry may move from state `from_state` to `to_state`
/// (forward only: draft → active → deprecated → retired; nothing leaves retired).
#[pyfunction]
fn can_change_state(py: Python<'_>, from_state: &str, to_state: &str) -> PyResult<bool> {
    Ok(registry::state(py, from_state)?.can_move_to(registry::state(py, to_state)?))
}

/// For the benchmark script only: runs the same work as `validate_packet` (or
/// `Packet.from_yaml`) `iterations` times in a Rust loop and returns the seconds it
/// took, so Python's per-call overhead can be measured against it.
#[pyfunction]
#[pyo3(signature = (operation, packet, registry, stage, as_of, iterations))]
fn _time_in_rust(
    py: Python<'_>,
    operation: &str,
    packet: &Bound<'_, Packet>,
    registry: Option<&Bound<'_, Registry>>,
    stage: Option<&Bound<'_, PyAny>>,
    as_of: Option<&Bound<'_, PyAny>>,
    iterations: u64,
) -> PyResult<f64> {
    use std::hint::black_box;
    let stage = convert::stage(py, stage)?;
    let as_of = convert::as_of(py, as_of)?;
    let p = packet.get();
    let reg = registry_ref(registry);
    let text = p.source.text.clone().unwrap_or_else(|| Arc::from(""));
    let format = p.format;
    match operation {
        "validate" => Ok(py.detach(|| {
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                black_box(gangway::validate(black_box(&p.inner), black_box(reg), stage, as_of));
            }
            start.elapsed().as_secs_f64()
        })),
        "parse" => Ok(py.detach(|| {
            let limits = gangway::Limits::default();
            let start = std::time::Instant::now();
            for _ in 0..iterations {
                let _ = black_box(gangway::Packet::parse(black_box(&text), format, &limits));
            }
            start.elapsed().as_secs_f64()
        })),
        other => Err(errors::invalid_input(
            py,
            "invalid_operation",
            "operation",
            format!("unknown operation `{other}`; expected validate or parse"),
        )),
    }
}

#[pymodule]
fn _gangway(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    let py = m.py();
    m.add("STAGES", PyTuple::new(py, gangway::Stage::ALL.map(gangway::Stage::id))?)?;
    m.add(
        "KINDS",
        PyTuple::new(py, gangway::Kind::ALL.iter().map(|k| k.as_str()))?,
    )?;
    m.add("ENTRY_STATES", PyTuple::new(py, gangway::State::NAMES)?)?;
    m.add("SEVERITIES", PyTuple::new(py, ["error", "warning"])?)?;
    m.add_class::<Packet>()?;
    m.add_class::<Limits>()?;
    m.add_class::<Registry>()?;
    m.add_class::<Entry>()?;
    m.add_class::<Report>()?;
    m.add_class::<Finding>()?;
    m.add_class::<Suggestion>()?;
    m.add_class::<Progress>()?;
    m.add_class::<StageStatus>()?;
    m.add_class::<errors::ParseFailure>()?;
    m.add_function(wrap_pyfunction!(validate_packet, m)?)?;
    m.add_function(wrap_pyfunction!(validate_source, m)?)?;
    m.add_function(wrap_pyfunction!(unreadable_report, m)?)?;
    m.add_function(wrap_pyfunction!(unreadable_progress, m)?)?;
    m.add_function(wrap_pyfunction!(progress, m)?)?;
    m.add_function(wrap_pyfunction!(json_schema, m)?)?;
    m.add_function(wrap_pyfunction!(starter_packet, m)?)?;
    m.add_function(wrap_pyfunction!(stage_number, m)?)?;
    m.add_function(wrap_pyfunction!(stage_gate, m)?)?;
    m.add_function(wrap_pyfunction!(rules, m)?)?;
    m.add_function(wrap_pyfunction!(can_change_state, m)?)?;
    m.add_function(wrap_pyfunction!(_time_in_rust, m)?)?;
    m.add_class::<store::Store>()?;
    m.add_class::<guard::Snapshot>()?;
    m.add_class::<guard::Guards>()?;
    m.add_class::<guard::Rejection>()?;
    m.add_function(wrap_pyfunction!(guard::scan, m)?)?;
    m.add_function(wrap_pyfunction!(guard::owner_of, m)?)?;
    m.add_function(wrap_pyfunction!(store::verify_audit_export, m)?)?;
    m.add_function(wrap_pyfunction!(store::generate_audit_key, m)?)?;
    billing::register(m)?;
    records::register(m)?;
    checklist::register(m)?;
    Ok(())
}
