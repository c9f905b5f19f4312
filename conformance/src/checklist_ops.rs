//! The checklist operations (SPEC §2.8): pure, file-driven, each printing the
//! canonical JSON of the core's serde forms so that every language can match it byte
//! for byte.
//!
//! - `checklist_template` — `template: FILE` → the template, or `{"error": …}` with
//!   every problem.
//! - `checklist_eval` — `template`, `run: FILE`, `facts`, `as_of` → the verdict.
//! - `probe_eval` — `assertions` (a probe's `expect` list) and `response` → each
//!   assertion's result.
//! - `flow_replay` — `template`, `item`, `params`, `secrets`, `responses: FILE` → the
//!   requests the flow asked for (redacted) and its artifact.
//! - `adoption` — `rows: FILE`, `thresholds` → the adoption verdict.
//! - `forecast` — `packets` (with `registry` and records), and/or `template` + `run`,
//!   between `from` and `to`.
//!
//! See `conformance/README.md`, "Checklist operations", for an example of each.

use std::collections::BTreeMap;

use gangway::checklist::{
    Check, FlowRun, Recorded, Run, Secrets, Template, WeekRow, evaluate, evaluate_adoption, upcoming_changes,
};
use gangway::report::canonical_json;
use gangway::{Date, Format, Limits, Packet, Records, Registry};
use serde::de::DeserializeOwned;
use serde_json::{Value as Json, json};

use crate::{Case, CaseSpec, read};

/// Reads a data file: JSON when its name ends in `.json`, else YAML; unknown keys are
/// refused by the core's types.
fn read_data<T: DeserializeOwned>(case: &Case, file: &str) -> Result<T, String> {
    let path = case.dir.join(file);
    let text = read(&path)?;
    let parsed = if file.ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_saphyr::from_str(&text).map_err(|e| e.to_string())
    };
    parsed.map_err(|e| format!("{}: {file}: {e}", case.name))
}

fn need<'a>(case: &Case, spec: &CaseSpec, field: &'a Option<String>, name: &str) -> Result<&'a str, String> {
    field
        .as_deref()
        .ok_or_else(|| format!("{}: a {} case needs `{name}`", case.name, spec.operation))
}

fn date(case: &Case, text: &str) -> Result<Date, String> {
    gangway::decode::parse_date(text).ok_or_else(|| format!("{}: bad date `{text}`", case.name))
}

/// The case's template, or its problems as the case's output.
fn template(case: &Case, spec: &CaseSpec) -> Result<Result<Template, String>, String> {
    let file = need(case, spec, &spec.template, "template")?;
    Ok(Template::from_yaml(&read(&case.dir.join(file))?).map_err(|e| e.to_json()))
}

/// The case's template, which must read (its problems are `checklist_template`'s).
fn valid_template(case: &Case, spec: &CaseSpec) -> Result<Template, String> {
    template(case, spec)?.map_err(|e| format!("{}: the template does not read: {e}", case.name))
}

/// Runs a `checklist_template` case.
pub fn run_template(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    Ok(match template(case, spec)? {
        Ok(t) => canonical_json(&t),
        Err(output) => output,
    })
}

/// Runs a `checklist_eval` case.
pub fn run_eval(case: &Case, spec: &CaseSpec, as_of: Date) -> Result<String, String> {
    let template = valid_template(case, spec)?;
    let run: Run = read_data(case, need(case, spec, &spec.run, "run")?)?;
    Ok(canonical_json(&evaluate(&template, &run, &spec.facts, as_of)))
}

/// Runs a `probe_eval` case. The assertions are read as the `expect` list of a probe
/// item of a one-item template, by the core's template reader: the same shapes and
/// checks as in a template file.
pub fn run_probe(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let response = spec
        .response
        .as_ref()
        .ok_or_else(|| format!("{}: a probe_eval case needs `response`", case.name))?;
    if spec.assertions.is_empty() {
        return Err(format!("{}: a probe_eval case needs `assertions`", case.name));
    }
    let doc = json!({
        "id": "probe-eval",
        "title": "probe_eval",
        "source": "conformance",
        "sections": [{"id": "probe", "title": "probe", "items": [{
            "id": "probe", "text": "probe", "kind": "probe",
            "request": {"method": "GET", "path": "/"},
            "expect": spec.assertions,
        }]}],
        "exit_criteria": [{"id": "done", "text": "done", "all_sections": true}],
    });
    let text = serde_json::to_string(&doc).map_err(|e| e.to_string())?;
    let template = Template::from_yaml(&text).map_err(|e| format!("{}: bad assertions: {}", case.name, e.to_json()))?;
    let Some(Check::Probe { expect, .. }) = template.item("probe.probe").map(|i| &i.check) else {
        return Err(format!("{}: the assertions did not read as a probe", case.name));
    };
    let results: Vec<_> = expect.iter().map(|a| a.check(response)).collect();
    let pass = results.iter().all(|r| r.pass);
    Ok(canonical_json(&json!({"pass": pass, "results": results})))
}

/// Runs a `flow_replay` case: the flow is driven over the recorded replies (the same
/// loop as the CLI's: ask for the next request, hand back its reply) and replayed with
/// [`FlowRun::replay`]; both must give the same artifact. The output lists every
/// request the flow asked for, redacted, and the artifact. No secret — handed in, or
/// captured `as: secret` — may appear in it.
pub fn run_flow(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let template = valid_template(case, spec)?;
    let key = need(case, spec, &spec.item, "item")?;
    let item = template
        .item(key)
        .ok_or_else(|| format!("{}: the template has no item `{key}`", case.name))?;
    let replies: Vec<Recorded> = read_data(case, need(case, spec, &spec.responses, "responses")?)?;
    let secrets: Secrets = spec.secrets.iter().map(|(k, v)| (k.clone(), v.clone())).collect();
    let flow = match FlowRun::for_item(item, &spec.params, &secrets) {
        Ok(f) => f,
        Err(e) => return Ok(canonical_json(&json!({"error": e}))),
    };
    // Values that must never be printed: the secrets handed in, and every value a
    // step captures `as: secret`, from the replies that step got.
    let mut forbidden: Vec<String> = spec.secrets.values().filter(|v| !v.is_empty()).cloned().collect();
    let secret_pointers: BTreeMap<String, Vec<String>> = match &item.check {
        Check::Flow { steps } => steps
            .iter()
            .map(|s| {
                let pointers = s
                    .capture
                    .iter()
                    .filter(|c| c.role == gangway::checklist::CaptureRole::Secret)
                    .map(|c| c.pointer.clone())
                    .collect();
                (s.id.clone(), pointers)
            })
            .collect(),
        _ => BTreeMap::new(),
    };

    let mut driven = flow.clone();
    let mut requests = Vec::new();
    let mut pending = replies.iter();
    while let Some(next) = driven.next() {
        requests.push(json!({
            "step": next.step,
            "attempt": next.attempt,
            "wait_ms": next.wait_ms,
            "request": next.redacted,
        }));
        let step = next.step.clone();
        let Some(reply) = pending.next() else {
            break;
        };
        let done = match &reply.response {
            Some(r) => {
                for p in secret_pointers.get(&step).into_iter().flatten() {
                    match r.body.as_ref().and_then(|b| b.pointer(p)) {
                        // Captured secrets of six characters or more must appear
                        // nowhere; shorter or non-text ones are redacted only as whole
                        // values (the core's rule), so they are not searched for.
                        Some(Json::String(s)) if s.chars().count() >= 6 => forbidden.push(s.clone()),
                        _ => {}
                    }
                }
                driven.respond(r, reply.at)
            }
            None => driven.transport_error(reply.error.as_deref().unwrap_or("no response"), reply.at),
        };
        done.map_err(|e| format!("{}: {e}", case.name))?;
    }
    let artifact = flow.replay(&replies);
    if artifact != driven.artifact() {
        return Err(format!(
            "{}: the replayed artifact differs from the driven flow's",
            case.name
        ));
    }
    let out = canonical_json(&json!({"requests": requests, "artifact": artifact}));
    if let Some(leak) = forbidden.iter().find(|s| out.contains(s.as_str())) {
        return Err(format!("{}: the output shows the secret value `{leak}`", case.name));
    }
    Ok(out)
}

/// Runs an `adoption` case.
pub fn run_adoption(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let rows: Vec<WeekRow> = read_data(case, need(case, spec, &spec.rows, "rows")?)?;
    let thresholds = spec.thresholds.unwrap_or_default();
    Ok(match evaluate_adoption(&rows, &thresholds) {
        Ok(v) => canonical_json(&v),
        Err(e) => canonical_json(&json!({"error": e})),
    })
}

fn records(case: &Case, file: &str) -> Result<Records, String> {
    Records::from_yaml(&read(&case.dir.join(file))?).map_err(|e| format!("{}: {file}: {e}", case.name))
}

/// Runs a `forecast` case: the packet forecasts between `from` and `to` (only the
/// packets whose errors change), and, with a `template` and a `run`, the run's
/// upcoming changes after `from` up to `to` and whether it is complete on each date.
pub fn run_forecast(case: &Case, spec: &CaseSpec) -> Result<String, String> {
    let from = date(case, need(case, spec, &spec.from, "from")?)?;
    let to = date(case, need(case, spec, &spec.to, "to")?)?;
    if to < from {
        return Err(format!("{}: `to` is before `from`", case.name));
    }
    let registry = match &spec.registry {
        Some(file) => match Registry::from_yaml(&read(&case.dir.join(file))?) {
            Ok(r) => Some(r),
            Err(e) => return Ok(e.to_json()),
        },
        None => None,
    };
    let shared = spec.records.as_deref().map(|f| records(case, f)).transpose()?;
    let mut packets = Vec::new();
    for (i, file) in spec.packets.iter().enumerate() {
        let path = case.dir.join(file);
        let packet = Packet::parse(&read(&path)?, Format::from_path(&path), &Limits::default())
            .map_err(|e| format!("{}: packet {file}: {e}", case.name))?;
        let own = match spec.packet_records.get(i) {
            Some(Some(f)) => Some(records(case, f)?),
            _ => None,
        };
        let recs = own.as_ref().or(shared.as_ref());
        if let Some(f) = gangway::forecast::packet(&packet, registry.as_ref(), recs, from, to) {
            packets.push(f);
        }
    }
    let run = match (&spec.template, &spec.run) {
        (None, None) => Json::Null,
        (Some(_), Some(run_file)) => {
            let template = valid_template(case, spec)?;
            let run: Run = read_data(case, run_file)?;
            let changes: Vec<_> = upcoming_changes(&template, &run, &spec.facts, from)
                .into_iter()
                .filter(|c| c.date <= to)
                .collect();
            json!({
                "complete_on_from": evaluate(&template, &run, &spec.facts, from).complete,
                "complete_on_to": evaluate(&template, &run, &spec.facts, to).complete,
                "changes": changes,
            })
        }
        _ => return Err(format!("{}: `template` and `run` go together", case.name)),
    };
    if spec.packets.is_empty() && run.is_null() {
        return Err(format!(
            "{}: a forecast case needs `packets` or a `template` and `run`",
            case.name
        ));
    }
    Ok(canonical_json(&json!({"packets": packets, "run": run})))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn data_files_are_json_or_yaml() {
        let dir = std::env::temp_dir().join(format!("gangway-checklist-ops-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("run.json"),
            r#"{"template": "t", "parameters": {"tenant": "acme"}}"#,
        )
        .unwrap();
        std::fs::write(dir.join("run.yaml"), "template: t\nparameters: {tenant: acme}\n").unwrap();
        std::fs::write(dir.join("bad.json"), r#"{"template": "t", "extra": 1}"#).unwrap();
        let case = Case {
            name: "t".into(),
            dir: dir.clone(),
        };
        let a: Run = read_data(&case, "run.json").unwrap();
        let b: Run = read_data(&case, "run.yaml").unwrap();
        assert_eq!(a, b);
        assert!(read_data::<Run>(&case, "bad.json").is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn dates_must_be_strict() {
        let case = Case {
            name: "t".into(),
            dir: Path::new(".").to_path_buf(),
        };
        assert!(date(&case, "2026-02-30").is_err());
        assert!(date(&case, "2026-02-28").is_ok());
    }
}
