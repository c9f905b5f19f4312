//! Reports for people (compiler-style text) and for code-scanning tools (SARIF 2.1.0).
//!
//! The canonical JSON form is [`Report::to_json`]; these are views of it.

use std::fmt::Write as _;

use serde_json::{Value as Json, json};

use crate::report::{Finding, Progress, Report, Severity};
use crate::rules;

struct Paint {
    on: bool,
}

impl Paint {
    fn wrap(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    fn severity(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.wrap("1;31", "error"),
            Severity::Warning => self.wrap("1;33", "warning"),
        }
    }
    fn bold(&self, t: &str) -> String {
        self.wrap("1", t)
    }
    fn blue(&self, t: &str) -> String {
        self.wrap("1;34", t)
    }
}

/// Renders a report like a compiler: each finding with the source line under it and
/// a caret at the column. `source` is the packet text (for the excerpts) and `name`
/// the file name to print; `color` adds ANSI colours.
pub fn text(report: &Report, source: Option<&str>, name: &str, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    let lines: Vec<&str> = source.map(|s| s.lines().collect()).unwrap_or_default();
    for f in &report.findings {
        finding_text(&mut out, f, &lines, name, &paint);
    }
    let verdict = if report.ok {
        paint.wrap("1;32", "ok")
    } else {
        paint.wrap("1;31", "blocked")
    };
    let _ = writeln!(
        out,
        "{}: {} at stage {} as of {}: {} error(s), {} warning(s)",
        verdict,
        report.packet_id.as_deref().unwrap_or(name),
        report.stage,
        report.as_of,
        report.errors(),
        report.warnings()
    );
    out
}

fn finding_text(out: &mut String, f: &Finding, lines: &[&str], name: &str, paint: &Paint) {
    let _ = writeln!(
        out,
        "{}{}: {}",
        paint.severity(f.severity),
        paint.bold(&format!("[{}]", f.code)),
        paint.bold(&f.message)
    );
    let line_no = f.line.to_string();
    let gutter = " ".repeat(line_no.len());
    let _ = writeln!(out, "{gutter}{} {name}:{}:{}", paint.blue("-->"), f.line, f.column);
    let idx = usize::try_from(f.line).unwrap_or(usize::MAX).saturating_sub(1);
    if let Some(src) = lines.get(idx) {
        let caret_at = usize::try_from(f.column).unwrap_or(1).saturating_sub(1);
        let pad: String = src
            .chars()
            .take(caret_at)
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        let _ = writeln!(out, "{gutter} {}", paint.blue("|"));
        let _ = writeln!(out, "{} {} {src}", paint.blue(&line_no), paint.blue("|"));
        let _ = writeln!(
            out,
            "{gutter} {} {pad}{}",
            paint.blue("|"),
            paint.severity_caret(f.severity)
        );
    }
    let path = if f.path.is_empty() {
        "(document)"
    } else {
        f.path.as_str()
    };
    let _ = writeln!(out, "{gutter} {} at {path} (stage {})", paint.blue("="), f.stage);
    if let Some(s) = &f.suggestion {
        let _ = writeln!(out, "{gutter} {} help: {}", paint.blue("="), s.message);
    }
    out.push('\n');
}

impl Paint {
    fn severity_caret(&self, s: Severity) -> String {
        match s {
            Severity::Error => self.wrap("1;31", "^"),
            Severity::Warning => self.wrap("1;33", "^"),
        }
    }
}

/// Renders a progress report: the eight stages, the first blocked one marked.
pub fn progress_text(p: &Progress, color: bool) -> String {
    let paint = Paint { on: color };
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} as of {}",
        p.packet_id.as_deref().unwrap_or("(unnamed packet)"),
        p.as_of
    );
    for s in &p.stages {
        let mark = if s.ok {
            paint.wrap("32", "pass")
        } else {
            paint.wrap("31", "FAIL")
        };
        let first = if p.first_blocked == Some(s.stage) {
            paint.bold("  <- first blocked")
        } else {
            String::new()
        };
        let _ = writeln!(
            out,
            "  {} {:<18} {mark}  {} error(s), {} warning(s){first}",
            s.stage.number(),
            s.stage.id(),
            s.errors,
            s.warnings
        );
        for f in &s.findings {
            let _ = writeln!(
                out,
                "      {}[{}] {} ({}:{})",
                f.severity, f.code, f.path, f.line, f.column
            );
        }
    }
    match p.first_blocked {
        Some(s) => {
            let _ = writeln!(out, "first blocked stage: {} ({})", s, s.gate());
        }
        None => {
            let _ = writeln!(out, "every stage passes");
        }
    }
    out
}

/// Renders a packet's progress as Markdown for a portal page: a table of the eight
/// stages, then each blocked stage's findings.
pub fn progress_markdown(p: &Progress) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "# {} — onboarding progress\n\nAs of {}.",
        md(p.packet_id.as_deref().unwrap_or("(unnamed packet)")),
        p.as_of
    );
    let _ = match p.first_blocked {
        Some(s) => writeln!(
            out,
            "First blocked stage: **{} {}** ({}).\n",
            s.number(),
            s.id(),
            s.gate()
        ),
        None => writeln!(out, "Every stage passes.\n"),
    };
    let _ = writeln!(out, "| # | stage | verdict | errors | warnings | exit gate |");
    let _ = writeln!(out, "|---|---|---|---|---|---|");
    for s in &p.stages {
        let _ = writeln!(
            out,
            "| {} | `{}` | {} | {} | {} | {} |",
            s.stage.number(),
            s.stage.id(),
            if s.ok { "pass" } else { "**fail**" },
            s.errors,
            s.warnings,
            s.stage.gate()
        );
    }
    for s in p.stages.iter().filter(|s| !s.findings.is_empty()) {
        let _ = writeln!(out, "\n## {} {}\n", s.stage.number(), s.stage.id());
        for f in &s.findings {
            let _ = writeln!(
                out,
                "- {} `{}` at `{}` (line {}): {}",
                f.severity,
                f.code,
                f.path.replace('`', "'"),
                f.line,
                md(&f.message)
            );
        }
    }
    out
}

/// Escapes the characters Markdown would read as table or emphasis syntax.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '|' | '*' | '_' | '`' | '<' | '>' | '[' | ']') {
            out.push('\\');
        }
        out.push(if c == '\n' { ' ' } else { c });
    }
    out
}

/// Renders a report as SARIF 2.1.0 with `uri` as the artifact location.
pub fn sarif(report: &Report, uri: &str) -> Json {
    let mut used: Vec<&'static str> = report.findings.iter().map(|f| f.code).collect();
    used.sort_unstable();
    used.dedup();
    let rules: Vec<Json> = used
        .iter()
        .map(|code| {
            let summary = rules::rule(code).map_or("", |r| r.summary);
            json!({
                "id": code,
                "shortDescription": {"text": summary},
                "helpUri": format!("https://gangway.dev/docs/rules#{}", code.replace('.', "")),
            })
        })
        .collect();
    let results: Vec<Json> = report
        .findings
        .iter()
        .map(|f| {
            let mut message = f.message.clone();
            if let Some(s) = &f.suggestion {
                message.push_str(&format!(" (help: {})", s.message));
            }
            json!({
                "ruleId": f.code,
                "ruleIndex": used.iter().position(|c| *c == f.code).unwrap_or(0),
                "level": f.severity.as_str(),
                "message": {"text": message},
                "locations": [{
                    "physicalLocation": {
                        "artifactLocation": {"uri": uri},
                        "region": {"startLine": f.line, "startColumn": f.column}
                    },
                    "logicalLocations": [{"fullyQualifiedName": f.path, "kind": "member"}]
                }],
                "properties": {"stage": f.stage.id(), "path": f.path}
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "gangway",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": "https://gangway.dev",
                "rules": rules
            }},
            "results": results,
            "properties": {"stage": report.stage.id(), "as_of": report.as_of.to_string(), "ok": report.ok}
        }]
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Date, Packet, Stage, validate};

    fn seed() -> (String, Report) {
        let text = "product_onboarding_packet:\n  packet_id: x-onboarding-v1\n  product_id: x\n  product_slug: x\n  lifecycle_state: draft\n".to_owned();
        let p = Packet::from_yaml(&text).unwrap();
        let r = validate(&p, None, Some(Stage::Intake), Date::constant(2026, 11, 22));
        (text, r)
    }

    #[test]
    fn text_shows_source_and_caret() {
        let (src, r) = seed();
        let t = text(&r, Some(&src), "p.yaml", false);
        assert!(t.contains("error[packet.missing]"));
        assert!(t.contains("--> p.yaml:2:3"));
        assert!(t.contains("2 |   packet_id: x-onboarding-v1"));
        assert!(t.contains("  |   ^"));
        assert!(t.contains("blocked: x-onboarding-v1 at stage intake"));
        assert!(!t.contains('\x1b'));
        assert!(text(&r, Some(&src), "p.yaml", true).contains('\x1b'));
    }

    #[test]
    fn sarif_has_rules_and_results() {
        let (_, r) = seed();
        let s = sarif(&r, "p.yaml");
        assert_eq!(s["version"], "2.1.0");
        assert_eq!(s["runs"][0]["results"].as_array().unwrap().len(), 3);
        assert_eq!(s["runs"][0]["tool"]["driver"]["rules"][0]["id"], "packet.missing");
        assert_eq!(
            s["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"],
            2
        );
    }
}
