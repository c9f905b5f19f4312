//! Findings and reports, and their canonical JSON form.

use std::fmt;

use jiff::civil::Date;
use serde::{Serialize, Serializer};

use crate::stage::Stage;
use crate::tree::Pos;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Blocks the stage.
    Error,
    /// Worth attention; does not block.
    Warning,
}

impl Severity {
    /// `error` or `warning`.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One RFC 6902 JSON Patch operation.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum PatchOp {
    /// Add `value` at `path`.
    Add {
        /// Where.
        path: String,
        /// What.
        value: serde_json::Value,
    },
    /// Replace the value at `path`.
    Replace {
        /// Where.
        path: String,
        /// The new value.
        value: serde_json::Value,
    },
    /// Move the value at `from` to `path`.
    Move {
        /// Old location.
        from: String,
        /// New location.
        path: String,
    },
    /// Remove the value at `path`.
    Remove {
        /// Where.
        path: String,
    },
}

/// A mechanical fix: a "did you mean" for people and, where possible, a patch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Suggestion {
    /// For people.
    pub message: String,
    /// A JSON Patch that applies the fix, when one can be written.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub patch: Vec<PatchOp>,
}

/// One problem found in a packet.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// The stable rule code (see `docs/rules.md`).
    pub code: &'static str,
    /// Error or warning.
    pub severity: Severity,
    /// The stage whose gate the finding belongs to.
    pub stage: Stage,
    /// RFC 6901 JSON Pointer of the offending node (or of the place a missing one belongs).
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// Free text for people.
    pub message: String,
    /// A mechanical fix, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub suggestion: Option<Suggestion>,
}

impl Finding {
    /// A finding at `path` / `pos`.
    pub fn new(
        code: &'static str,
        severity: Severity,
        stage: Stage,
        path: impl Into<String>,
        pos: Pos,
        message: impl Into<String>,
    ) -> Finding {
        Finding {
            code,
            severity,
            stage,
            path: path.into(),
            line: pos.line,
            column: pos.column,
            message: message.into(),
            suggestion: None,
        }
    }

    /// Adds a suggestion.
    pub fn with_suggestion(mut self, message: impl Into<String>, patch: Vec<PatchOp>) -> Finding {
        self.suggestion = Some(Suggestion {
            message: message.into(),
            patch,
        });
        self
    }

    /// True for errors.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The position of the finding.
    pub fn pos(&self) -> Pos {
        Pos {
            line: self.line,
            column: self.column,
        }
    }
}

/// Sorts findings into the canonical order (path, then code, then position and message)
/// and drops exact repeats.
pub fn sort_findings(findings: &mut Vec<Finding>) {
    findings.sort_by(|a, b| {
        (a.path.as_str(), a.code, a.line, a.column, a.message.as_str()).cmp(&(
            b.path.as_str(),
            b.code,
            b.line,
            b.column,
            b.message.as_str(),
        ))
    });
    findings.dedup();
}

fn date_str<S: Serializer>(d: &Date, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(d)
}

/// The result of validating a packet at one stage.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// The packet's id, when it could be read.
    pub packet_id: Option<String>,
    /// The stage validated (every requirement of stages `0..=stage`).
    pub stage: Stage,
    /// The evaluation date.
    #[serde(serialize_with = "date_str")]
    pub as_of: Date,
    /// True when there is no error.
    pub ok: bool,
    /// Every finding, sorted.
    pub findings: Vec<Finding>,
}

impl Report {
    /// Builds a report, sorting the findings and computing `ok`.
    pub fn new(packet_id: Option<String>, stage: Stage, as_of: Date, mut findings: Vec<Finding>) -> Report {
        sort_findings(&mut findings);
        let ok = !findings.iter().any(Finding::is_error);
        Report {
            packet_id,
            stage,
            as_of,
            ok,
            findings,
        }
    }

    /// Number of errors.
    pub fn errors(&self) -> usize {
        self.findings.iter().filter(|f| f.is_error()).count()
    }

    /// Number of warnings.
    pub fn warnings(&self) -> usize {
        self.findings.len() - self.errors()
    }

    /// The canonical JSON form: the same input gives the same bytes in every language.
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }
}

/// One stage's verdict in a progress report.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageStatus {
    /// The stage.
    pub stage: Stage,
    /// True when the stage's own requirements have no error.
    pub ok: bool,
    /// Errors that belong to this stage.
    pub errors: usize,
    /// Warnings that belong to this stage.
    pub warnings: usize,
    /// The findings that belong to this stage.
    pub findings: Vec<Finding>,
}

/// Every stage evaluated, and the first one that is blocked.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Progress {
    /// The packet's id, when it could be read.
    pub packet_id: Option<String>,
    /// The evaluation date.
    #[serde(serialize_with = "date_str")]
    pub as_of: Date,
    /// The first stage whose own requirements have an error, if any.
    pub first_blocked: Option<Stage>,
    /// All eight stages, in order.
    pub stages: Vec<StageStatus>,
}

impl Progress {
    /// The canonical JSON form.
    pub fn to_json(&self) -> String {
        canonical_json(self)
    }
}

/// Pretty JSON with two-space indentation and a final newline: the canonical form.
pub fn canonical_json<T: Serialize>(value: &T) -> String {
    let mut out = serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"));
    out.push('\n');
    out
}
