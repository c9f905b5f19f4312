//! Conversions between Python values and the core's: dates, stages, formats, JSON.

use gangway::{Date, Format, Stage};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyDate, PyDateTime, PyDelta, PyDict, PyFloat, PyInt, PyList, PyMapping, PyString, PyTuple, PyTzInfo,
};

use crate::errors;

/// `as_of`: a `datetime.date` (a `datetime.datetime` counts by its date), an ISO
/// `YYYY-MM-DD` string, or `None` for today's local date.
pub fn as_of(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Date> {
    match value {
        None => {
            let today = py.get_type::<PyDate>().call_method0("today")?;
            date_from_py(&today)
        }
        Some(v) if v.is_none() => as_of(py, None),
        Some(v) => {
            if let Ok(s) = v.cast::<PyString>() {
                let text = s.to_cow()?;
                let text = text.as_ref();
                gangway::decode::parse_date(text).ok_or_else(|| {
                    errors::invalid_input(
                        py,
                        "invalid_date",
                        "as_of",
                        format!("`{text}` is not a date; write it as YYYY-MM-DD or pass a datetime.date"),
                    )
                })
            } else if v.is_instance_of::<PyDate>() {
                date_from_py(v)
            } else {
                Err(errors::invalid_input(
                    py,
                    "invalid_date",
                    "as_of",
                    format!(
                        "as_of must be a datetime.date or a YYYY-MM-DD string, not {}",
                        type_name(v)
                    ),
                ))
            }
        }
    }
}

/// An optional date field (an entry's `sunset`).
pub fn optional_date(py: Python<'_>, value: Option<&Bound<'_, PyAny>>, field: &str) -> PyResult<Option<Date>> {
    match value {
        None => Ok(None),
        Some(v) if v.is_none() => Ok(None),
        Some(v) => match as_of(py, Some(v)) {
            Ok(d) => Ok(Some(d)),
            Err(_) => Err(errors::invalid_input(
                py,
                "invalid_date",
                field,
                format!("{field} must be a datetime.date or a YYYY-MM-DD string"),
            )),
        },
    }
}

/// A required date argument (`datetime.date` or `YYYY-MM-DD`); `field` names it in errors.
pub fn required_date(py: Python<'_>, value: &Bound<'_, PyAny>, field: &str) -> PyResult<Date> {
    optional_date(py, Some(value), field)?.ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_date",
            field,
            format!("{field} must be a datetime.date or a YYYY-MM-DD string, not None"),
        )
    })
}

/// A core timestamp as an aware `datetime.datetime` in UTC.
pub fn timestamp_to_py(py: Python<'_>, ts: gangway::Timestamp) -> PyResult<Bound<'_, PyAny>> {
    let utc = PyTzInfo::utc(py)?.to_owned();
    let epoch = PyDateTime::new(py, 1970, 1, 1, 0, 0, 0, 0, Some(&utc))?;
    let seconds = ts.as_second();
    let out_of_range = |_| pyo3::exceptions::PyOverflowError::new_err(format!("timestamp {ts} is out of range"));
    let days = i32::try_from(seconds.div_euclid(86_400)).map_err(out_of_range)?;
    let rest = i32::try_from(seconds.rem_euclid(86_400)).map_err(out_of_range)?;
    let delta = PyDelta::new(py, days, rest, ts.subsec_microsecond(), true)?;
    epoch.call_method1("__add__", (delta,))
}

fn date_from_py(v: &Bound<'_, PyAny>) -> PyResult<Date> {
    let year: i16 = v.getattr("year")?.extract()?;
    let month: i8 = v.getattr("month")?.extract()?;
    let day: i8 = v.getattr("day")?.extract()?;
    Date::new(year, month, day).map_err(|e| {
        errors::invalid_input(
            v.py(),
            "invalid_date",
            "as_of",
            format!("{year:04}-{month:02}-{day:02} is out of range: {e}"),
        )
    })
}

/// A core date as a `datetime.date`.
pub fn date_to_py(py: Python<'_>, d: Date) -> PyResult<Bound<'_, PyDate>> {
    let month = u8::try_from(d.month()).unwrap_or(1);
    let day = u8::try_from(d.day()).unwrap_or(1);
    PyDate::new(py, i32::from(d.year()), month, day)
}

/// `stage`: one of the eight ids (or its number as a string), or `None`.
pub fn stage(py: Python<'_>, value: Option<&Bound<'_, PyAny>>) -> PyResult<Option<Stage>> {
    let Some(v) = value.filter(|v| !v.is_none()) else {
        return Ok(None);
    };
    let Ok(s) = v.cast::<PyString>() else {
        return Err(errors::invalid_input(
            py,
            "invalid_stage",
            "stage",
            format!(
                "stage must be a stage id string such as \"intake\", not {}",
                type_name(v)
            ),
        ));
    };
    s.to_cow()?
        .parse::<Stage>()
        .map(Some)
        .map_err(|e| errors::invalid_input(py, "invalid_stage", "stage", e.to_string()))
}

/// A required stage id.
pub fn required_stage(py: Python<'_>, value: &Bound<'_, PyAny>) -> PyResult<Stage> {
    stage(py, Some(value))?.ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_stage",
            "stage",
            "stage must be a stage id string, not None".to_owned(),
        )
    })
}

/// `format`: `"yaml"` or `"json"`.
pub fn format(py: Python<'_>, value: &str) -> PyResult<Format> {
    Format::from_name(value).ok_or_else(|| {
        errors::invalid_input(
            py,
            "invalid_format",
            "format",
            format!("unknown format `{value}`; expected \"yaml\" or \"json\""),
        )
    })
}

/// A JSON value as plain Python objects (dict, list, str, int, float, bool, None).
pub fn json_to_py<'py>(py: Python<'py>, value: &serde_json::Value) -> PyResult<Bound<'py, PyAny>> {
    use serde_json::Value;
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => b.into_pyobject(py)?.to_owned().into_any(),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                i.into_pyobject(py)?.into_any()
            } else if let Some(u) = n.as_u64() {
                u.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// Any serializable core value as plain Python objects.
pub fn to_py<'py, T: serde::Serialize>(py: Python<'py>, value: &T) -> PyResult<Bound<'py, PyAny>> {
    let json = serde_json::to_value(value)
        .map_err(|e| pyo3::exceptions::PyRuntimeError::new_err(format!("cannot convert to JSON: {e}")))?;
    json_to_py(py, &json)
}

/// How deep `py_to_json` follows nested lists and mappings (a self-referencing list
/// would otherwise never end).
const MAX_JSON_DEPTH: usize = 128;

/// A Python value as JSON, for the core's serde types: `None`, `bool`, `int` (a
/// whole number beyond 64 bits becomes a float, as when serde_json reads it),
/// finite `float`, `str`, lists and tuples, mappings with `str` keys (in order), a
/// `datetime.date` or aware `datetime.datetime` as its ISO text, and any object with
/// a `to_dict()` method (a `FlowArtifact`, …) as that. `Err` says where and why.
pub fn py_to_json(value: &Bound<'_, PyAny>) -> Result<serde_json::Value, String> {
    to_json_at(value, "", 0)
}

fn to_json_at(value: &Bound<'_, PyAny>, at: &str, depth: usize) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    let py_err = |e: PyErr| format!("{}{e}", where_(at));
    if depth > MAX_JSON_DEPTH {
        return Err(format!("{}nested more than {MAX_JSON_DEPTH} levels deep", where_(at)));
    }
    if value.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if value.is_instance_of::<PyInt>() {
        if let Ok(i) = value.extract::<i64>() {
            return Ok(Value::from(i));
        }
        if let Ok(u) = value.extract::<u64>() {
            return Ok(Value::from(u));
        }
        let f: f64 = value.extract().map_err(py_err)?;
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{}{f} is not a finite number", where_(at)));
    }
    if let Ok(f) = value.cast::<PyFloat>() {
        let f = f.value();
        return serde_json::Number::from_f64(f)
            .map(Value::Number)
            .ok_or_else(|| format!("{}{f} is not a finite number", where_(at)));
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(Value::String(s.to_cow().map_err(py_err)?.into_owned()));
    }
    if value.is_instance_of::<PyDate>() {
        if value.is_instance_of::<PyDateTime>() && value.getattr("tzinfo").map_err(py_err)?.is_none() {
            return Err(format!(
                "{}a datetime must be timezone-aware (e.g. datetime.now(timezone.utc))",
                where_(at)
            ));
        }
        let text: String = value
            .call_method0("isoformat")
            .and_then(|t| t.extract())
            .map_err(py_err)?;
        return Ok(Value::String(text));
    }
    if value.is_instance_of::<PyList>() || value.is_instance_of::<PyTuple>() {
        let mut out = Vec::new();
        for (i, item) in value.try_iter().map_err(py_err)?.enumerate() {
            out.push(to_json_at(&item.map_err(py_err)?, &format!("{at}[{i}]"), depth + 1)?);
        }
        return Ok(Value::Array(out));
    }
    if let Ok(map) = value.cast::<PyMapping>() {
        let mut out = serde_json::Map::new();
        for item in map.items().map_err(py_err)?.iter() {
            let (k, v): (Bound<'_, PyAny>, Bound<'_, PyAny>) = item.extract().map_err(py_err)?;
            let Ok(key) = k.cast::<PyString>() else {
                return Err(format!("{}keys must be strings, not {}", where_(at), type_name(&k)));
            };
            let key = key.to_cow().map_err(py_err)?.into_owned();
            let inner = to_json_at(&v, &format!("{at}[{}]", repr_str(value.py(), &key)), depth + 1)?;
            out.insert(key, inner);
        }
        return Ok(Value::Object(out));
    }
    if let Ok(to_dict) = value.getattr("to_dict")
        && to_dict.is_callable()
    {
        let dict = to_dict.call0().map_err(py_err)?;
        return to_json_at(&dict, at, depth + 1);
    }
    Err(format!("{}a {} is not a JSON value", where_(at), type_name(value)))
}

fn where_(at: &str) -> String {
    if at.is_empty() {
        String::new()
    } else {
        format!("{at}: ")
    }
}

/// A core value read from Python objects through its JSON form (the core's serde
/// rules: unknown keys refused, dates as `YYYY-MM-DD`, timestamps as RFC 3339). A
/// value that does not fit raises `InvalidInputError` with `code`, `argument` as its
/// path, and what the core says.
pub fn from_py<T: serde::de::DeserializeOwned>(
    py: Python<'_>,
    value: &Bound<'_, PyAny>,
    code: &str,
    argument: &str,
) -> PyResult<T> {
    let json = py_to_json(value)
        .map_err(|e| errors::invalid_input(py, code, argument, format!("{argument}{}", with_colon(&e))))?;
    serde_json::from_value(json).map_err(|e| errors::invalid_input(py, code, argument, format!("{argument}: {e}")))
}

fn with_colon(detail: &str) -> String {
    if detail.starts_with('[') {
        detail.to_owned()
    } else {
        format!(": {detail}")
    }
}

/// `repr()` of a Python string, for `__repr__` methods.
pub fn repr_str(py: Python<'_>, s: &str) -> String {
    PyString::new(py, s)
        .repr()
        .map(|r| r.to_string())
        .unwrap_or_else(|_| format!("{s:?}"))
}

/// `repr()` of an optional string (`None` when absent).
pub fn repr_opt(py: Python<'_>, s: Option<&str>) -> String {
    s.map_or_else(|| "None".to_owned(), |s| repr_str(py, s))
}

/// The Python type name of a value, for error messages.
pub fn type_name(v: &Bound<'_, PyAny>) -> String {
    v.get_type()
        .name()
        .map(|n| n.to_string())
        .unwrap_or_else(|_| "object".to_owned())
}
