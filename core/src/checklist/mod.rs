//! Checklists (SPEC §2.8): templates as YAML data, runs as values, and a pure
//! evaluation. Nothing here reads a clock, a file, a database or the network: dates
//! and timestamps are inputs, gate facts are resolved by the caller, and probes and
//! flows are evaluated over responses handed in (only the CLI speaks HTTP).
//!
//! - [`template`]: [`Template::from_yaml`] reads a template strictly (the format is in
//!   `docs/checklists.md`); every problem has a code, a path, a line and a column.
//! - [`placeholder`]: `${name}` / `${secret.NAME}` substitution, with a real rendering
//!   for sending and a redacted one (secrets as `***`) for recording.
//! - [`probe`]: requests, [`Response`]s and [`Assertion`]s by status, header and JSON
//!   Pointer (`eq`, `ne`, `in`, `lt`, `gt`, `exists`, `matches`).
//! - [`flow`]: [`FlowRun`], the state machine that yields the next request and takes
//!   each response back, ending in an [`Artifact`] (probes run as one-step flows).
//! - [`run`]: [`Run`], the state of one use of a template, and [`evaluate`] →
//!   [`Verdict`]; [`upcoming_changes`] lists the dates a verdict would change on.
//! - [`adoption`]: seed 002 §4 adoption metrics, [`evaluate_adoption`].
//! - [`builtin`]: the built-in templates (seeds 000, 001, 002), embedded YAML by id.

pub mod adoption;
pub mod builtin;
pub mod flow;
pub mod placeholder;
pub mod probe;
pub mod report;
pub mod run;
pub mod store;
pub mod template;

pub use adoption::{
    AdoptionError, AdoptionVerdict, PermissionTrend, Thresholds, WeekRow, WeekVerdict, evaluate_adoption,
};
pub use flow::{
    Artifact, Attempt, Capture, CaptureRole, FlowOutcome, FlowRun, Outgoing, Poll, Recorded, Step, StepOutcome,
    StepRecord,
};
pub use placeholder::Secrets;
pub use probe::{
    Assertion, AssertionError, AssertionResult, Headers, Method, Op, Rendered, Request, RequestTemplate, Response,
    Subject, SubjectKind,
};
pub use run::{
    Blocker, Change, ChangeKind, Counts, CriterionVerdict, DecisionRecord, DecisionVerdict, Facts, GateFact,
    ItemRecord, ItemState, ItemStatus, ItemVerdict, KnownGap, Run, RunProblem, SectionVerdict, Signoff, Verdict,
    Waiver, evaluate, upcoming_changes,
};
pub use template::{
    Check, Evidence, ExitCriterion, Gate, Item, ItemKind, Parameter, Problem, Section, Template, TemplateError,
    item_key,
};

/// A checklist error outside template reading (which reports [`TemplateError`]).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ChecklistError {
    /// Parameters or secrets a probe or flow uses were not supplied.
    #[error("missing inputs: {}", missing_text(.parameters, .secrets))]
    InputMissing {
        /// Missing parameter names, sorted.
        parameters: Vec<String>,
        /// Missing secret names, sorted.
        secrets: Vec<String>,
    },
    /// A `manual` or `gate` item has no request to run.
    #[error("item `{item}` is a {kind} item; only probe and flow items run requests")]
    NotAutomatic {
        /// The item's id.
        item: String,
        /// Its kind.
        kind: &'static str,
    },
    /// A response was handed to a flow that has no pending request.
    #[error("the flow has ended; no request is pending")]
    FlowFinished,
}

fn missing_text(parameters: &[String], secrets: &[String]) -> String {
    let mut parts = Vec::new();
    if !parameters.is_empty() {
        parts.push(format!("parameters {}", parameters.join(", ")));
    }
    if !secrets.is_empty() {
        parts.push(format!("secrets {}", secrets.join(", ")));
    }
    parts.join("; ")
}

impl serde::Serialize for ChecklistError {
    /// `{"code": …, "message": …}`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ChecklistError", 2)?;
        st.serialize_field("code", self.code())?;
        st.serialize_field("message", &self.to_string())?;
        st.end()
    }
}

impl ChecklistError {
    /// The stable error code.
    pub fn code(&self) -> &'static str {
        match self {
            ChecklistError::InputMissing { .. } => "checklist.input_missing",
            ChecklistError::NotAutomatic { .. } => "checklist.not_automatic",
            ChecklistError::FlowFinished => "checklist.flow_finished",
        }
    }
}
