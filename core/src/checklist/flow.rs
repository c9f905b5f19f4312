//! Flows: an ordered chain of requests passing values along (token → enqueue → poll →
//! results), evaluated as a pure state machine over the responses handed back.
//!
//! The driver loop is the same for the CLI (over HTTP) and for tests and the corpus
//! (over recorded responses):
//!
//! ```
//! use std::collections::BTreeMap;
//! use gangway::checklist::{FlowOutcome, FlowRun, Response, Secrets, Template};
//! use serde_json::json;
//!
//! let template = Template::from_yaml(r#"
//! id: demo
//! title: Demo
//! source: an example
//! sections:
//!   - id: api
//!     title: API
//!     items:
//!       - id: token
//!         text: The integration key exchanges for a bearer token
//!         kind: flow
//!         steps:
//!           - id: token
//!             request:
//!               method: POST
//!               path: /api/auth/token/integration
//!               headers: {x-api-key: "${secret.KEY}"}
//!             expect: [{status: 200}]
//!             capture: {token: {pointer: /token, as: secret}}
//!           - id: me
//!             request:
//!               method: GET
//!               path: /api/me
//!               headers: {authorization: "Bearer ${token}"}
//!             expect: [{status: 200}]
//! exit_criteria:
//!   - {id: done, text: Everything is checked, all_sections: true}
//! "#)?;
//! let item = template.item("api.token").ok_or("no item")?;
//! let secrets: Secrets = [("KEY", "k-123")].into_iter().collect();
//! let mut flow = FlowRun::for_item(item, &BTreeMap::new(), &secrets)?;
//! let at: gangway::Timestamp = "2026-03-01T10:00:00Z".parse()?;
//! while let Some(next) = flow.next() {
//!     // The CLI sends `next.request` (real values) after waiting `next.wait_ms`.
//!     let response = match next.step.as_str() {
//!         "token" => Response::status(200).with_body(json!({"token": "tok-xyz"})),
//!         _ => Response::status(200).with_header("x-request-id", "r-2"),
//!     };
//!     flow.respond(&response, at)?;
//! }
//! let artifact = flow.artifact();
//! assert_eq!(artifact.outcome, FlowOutcome::Passed);
//! assert_eq!(artifact.request_ids, ["r-2"]);
//! let text = serde_json::to_string(&artifact)?;
//! assert!(!text.contains("tok-xyz") && !text.contains("k-123"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::BTreeMap;
use std::fmt;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::ChecklistError;
use super::placeholder::{Mode, REDACTED, SECRET_PREFIX, Scope, Secrets, as_text, scrub_json, scrub_str};
use super::probe::{Assertion, AssertionResult, Request, RequestTemplate, Response, SubjectKind};
use super::template::{Check, Item};

/// The response header whose value is recorded as the request id.
pub const REQUEST_ID_HEADER: &str = "x-request-id";

/// One step of a flow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Step {
    /// Unique within the flow.
    pub id: String,
    /// What the step does, for people.
    pub text: Option<String>,
    /// The request.
    pub request: RequestTemplate,
    /// Assertions that must hold on every attempt.
    pub expect: Vec<Assertion>,
    /// Values taken from the final response's body for later steps.
    pub capture: Vec<Capture>,
    /// Repeat the request until `until` holds.
    pub poll: Option<Poll>,
}

impl Step {
    /// Placeholder names used by the request, `expect` and `poll.until`.
    pub fn refs(&self) -> Vec<String> {
        let mut out = self.request.refs();
        let until = self.poll.iter().flat_map(|p| p.until.iter());
        for name in self.expect.iter().chain(until).flat_map(Assertion::refs) {
            if !out.contains(&name) {
                out.push(name);
            }
        }
        out
    }
}

/// A value captured from a response body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capture {
    /// The name later steps use (`${name}`).
    pub name: String,
    /// JSON Pointer into the body.
    pub pointer: String,
    /// How the value is recorded.
    #[serde(rename = "as")]
    pub role: CaptureRole,
}

/// How a captured value is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaptureRole {
    /// Recorded as is.
    Value,
    /// A credential (a bearer token): recorded as `***` everywhere.
    Secret,
    /// A job id: recorded, and listed in the artifact's `job_ids`.
    JobId,
}

impl CaptureRole {
    /// Every role as written in a template.
    pub const NAMES: [&'static str; 3] = ["value", "secret", "job_id"];

    /// Reads a role name.
    pub fn parse(text: &str) -> Option<CaptureRole> {
        match text {
            "value" => Some(CaptureRole::Value),
            "secret" => Some(CaptureRole::Secret),
            "job_id" => Some(CaptureRole::JobId),
            _ => None,
        }
    }
}

/// Polling: repeat a step until `until` holds, at most `max_attempts` times; the
/// caller waits `every_ms` between attempts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Poll {
    /// Assertions that end the polling when they all hold.
    pub until: Vec<Assertion>,
    /// The wait between attempts, in milliseconds.
    pub every_ms: u64,
    /// The most attempts, the first included.
    pub max_attempts: u32,
}

/// The next request to send.
#[derive(Clone, PartialEq)]
pub struct Outgoing {
    /// The step's id.
    pub step: String,
    /// 1 for the first attempt; more when polling.
    pub attempt: u32,
    /// How long to wait before sending (0 on a first attempt).
    pub wait_ms: u64,
    /// The request with real values, to send. Never print or store it.
    pub request: Request,
    /// The same request with every secret as `***`, to print or store.
    pub redacted: Request,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("step", &self.step)
            .field("attempt", &self.attempt)
            .field("wait_ms", &self.wait_ms)
            .field("redacted", &serde_json::to_string(&self.redacted).unwrap_or_default())
            .finish_non_exhaustive()
    }
}

/// How a flow ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowOutcome {
    /// Every step passed.
    Passed,
    /// A step failed; later steps did not run.
    Failed,
    /// Still waiting for a response.
    Incomplete,
}

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepOutcome {
    /// Its assertions held and its values were captured.
    Passed,
    /// An assertion failed, polling gave up, a capture was missing or no response came.
    Failed,
    /// Sent, waiting for a response (or polling).
    Pending,
    /// Not reached.
    NotRun,
}

/// One request sent and what came back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Attempt {
    /// 1-based.
    pub attempt: u32,
    /// When the response (or the transport error) came, as the caller says.
    pub at: Timestamp,
    /// HTTP status (`null` on a transport error).
    pub status: Option<u16>,
    /// Elapsed time the caller measured.
    pub elapsed_ms: Option<u64>,
    /// The `x-request-id` response header, if present.
    pub request_id: Option<String>,
    /// Results of the step's `expect` assertions.
    pub expect: Vec<AssertionResult>,
    /// Results of the step's `poll.until` assertions.
    pub until: Vec<AssertionResult>,
    /// The transport error, if no response came.
    pub error: Option<String>,
}

/// One step in the artifact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepRecord {
    /// The step's id.
    pub step: String,
    /// How it ended.
    pub outcome: StepOutcome,
    /// Why it failed.
    pub reason: Option<String>,
    /// The redacted request (`null` when not run).
    pub request: Option<Request>,
    /// Every attempt, in order.
    pub attempts: Vec<Attempt>,
    /// Values captured (secrets as `***`), by name.
    pub captured: BTreeMap<String, Value>,
}

/// The end-to-end artifact of a flow (or a probe, a flow of one step): each step's
/// redacted request, statuses, captured values, request ids and timestamps.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Artifact {
    /// How the flow ended.
    pub outcome: FlowOutcome,
    /// The first failure, for people.
    pub reason: Option<String>,
    /// The first attempt's timestamp.
    pub started_at: Option<Timestamp>,
    /// The last attempt's timestamp.
    pub finished_at: Option<Timestamp>,
    /// Every step, in order (`not_run` ones included).
    pub steps: Vec<StepRecord>,
    /// Every `x-request-id` seen, in order.
    pub request_ids: Vec<String>,
    /// Values captured `as: job_id`, in order.
    pub job_ids: Vec<String>,
    /// Every captured value (secrets as `***`), by name.
    pub captures: BTreeMap<String, Value>,
}

impl Artifact {
    /// True when the flow passed.
    pub fn passed(&self) -> bool {
        self.outcome == FlowOutcome::Passed
    }
}

/// A recorded reply, for replaying a flow: a response, or a transport error.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Recorded {
    /// When it came.
    pub at: Timestamp,
    /// The response, if one came.
    #[serde(default)]
    pub response: Option<Response>,
    /// The transport error when no response came.
    #[serde(default)]
    pub error: Option<String>,
}

/// A flow being run: it says which request to send next ([`FlowRun::next`]) and takes
/// each response back ([`FlowRun::respond`]). Holds secrets, so it has no serialized
/// form and its `Debug` form shows none; [`FlowRun::artifact`] is the recordable part.
#[derive(Clone)]
pub struct FlowRun {
    steps: Vec<Step>,
    scope: Scope,
    index: usize,
    attempt: u32,
    records: Vec<StepRecord>,
    pending: Option<Outgoing>,
    outcome: FlowOutcome,
    reason: Option<String>,
    /// Secret captures seen in responses of steps that failed before capturing.
    hidden: Vec<String>,
}

impl fmt::Debug for FlowRun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlowRun")
            .field("step", &self.steps.get(self.index).map(|s| s.id.as_str()))
            .field("attempt", &self.attempt)
            .field("outcome", &self.outcome)
            .finish_non_exhaustive()
    }
}

impl FlowRun {
    /// Starts a flow over `steps`.
    ///
    /// # Errors
    ///
    /// `checklist.input_missing` naming every parameter and secret the steps use but
    /// `params`/`secrets` lack (a capture of an earlier step needs no input).
    pub fn new(
        steps: Vec<Step>,
        params: &BTreeMap<String, String>,
        secrets: &Secrets,
    ) -> Result<FlowRun, ChecklistError> {
        let mut missing_params: Vec<String> = Vec::new();
        let mut missing_secrets: Vec<String> = Vec::new();
        let mut captured: Vec<&str> = Vec::new();
        for step in &steps {
            for name in step.refs() {
                if let Some(secret) = name.strip_prefix(SECRET_PREFIX) {
                    if secrets.get(secret).is_none() {
                        missing_secrets.push(secret.to_owned());
                    }
                } else if !captured.contains(&name.as_str()) && !params.contains_key(&name) {
                    missing_params.push(name);
                }
            }
            captured.extend(step.capture.iter().map(|c| c.name.as_str()));
        }
        if !missing_params.is_empty() || !missing_secrets.is_empty() {
            for list in [&mut missing_params, &mut missing_secrets] {
                list.sort();
                list.dedup();
            }
            return Err(ChecklistError::InputMissing {
                parameters: missing_params,
                secrets: missing_secrets,
            });
        }
        let mut run = FlowRun {
            steps,
            scope: Scope::new(params, secrets),
            index: 0,
            attempt: 0,
            records: Vec::new(),
            pending: None,
            outcome: FlowOutcome::Incomplete,
            reason: None,
            hidden: Vec::new(),
        };
        run.prepare();
        Ok(run)
    }

    /// Starts the flow of a `probe` item (one step named after the item, no captures)
    /// or a `flow` item.
    ///
    /// # Errors
    ///
    /// `checklist.not_automatic` for `manual` and `gate` items; `checklist.input_missing`
    /// as for [`FlowRun::new`].
    pub fn for_item(
        item: &Item,
        params: &BTreeMap<String, String>,
        secrets: &Secrets,
    ) -> Result<FlowRun, ChecklistError> {
        let steps = match &item.check {
            Check::Probe { request, expect } => vec![Step {
                id: item.id.clone(),
                text: None,
                request: request.clone(),
                expect: expect.clone(),
                capture: Vec::new(),
                poll: None,
            }],
            Check::Flow { steps } => steps.clone(),
            Check::Manual { .. } | Check::Gate { .. } => {
                return Err(ChecklistError::NotAutomatic {
                    item: item.id.clone(),
                    kind: item.kind().as_str(),
                });
            }
        };
        FlowRun::new(steps, params, secrets)
    }

    /// The request to send next, or `None` when the flow has ended.
    pub fn next(&self) -> Option<&Outgoing> {
        self.pending.as_ref()
    }

    /// True when the flow has ended (passed or failed).
    pub fn is_finished(&self) -> bool {
        self.pending.is_none()
    }

    /// Hands back the response to [`FlowRun::next`]'s request, received at `at`.
    ///
    /// # Errors
    ///
    /// `checklist.flow_finished` when no request is pending.
    pub fn respond(&mut self, response: &Response, at: Timestamp) -> Result<(), ChecklistError> {
        let Some((step, _)) = self.current() else {
            return Err(ChecklistError::FlowFinished);
        };
        for c in &step.capture {
            if c.role == CaptureRole::Secret
                && let Some(v) = response.body.as_ref().and_then(|b| b.pointer(&c.pointer))
            {
                self.hidden.push(as_text(v));
            }
        }
        let expect: Vec<AssertionResult> = step.expect.iter().map(|a| a.check_in(response, &self.scope)).collect();
        let until: Vec<AssertionResult> = step
            .poll
            .iter()
            .flat_map(|p| p.until.iter())
            .map(|a| a.check_in(response, &self.scope))
            .collect();
        self.attempt = self.attempt.saturating_add(1);
        let attempt = Attempt {
            attempt: self.attempt,
            at,
            status: Some(response.status),
            elapsed_ms: Some(response.elapsed_ms),
            request_id: response.headers.get(REQUEST_ID_HEADER).map(str::to_owned),
            expect,
            until,
            error: None,
        };
        let failed_expect = attempt.expect.iter().find(|r| !r.pass).map(describe);
        let failed_until = attempt.until.iter().find(|r| !r.pass).map(describe);
        self.record_attempt(attempt);
        if let Some(why) = failed_expect {
            self.fail_step(format!("step `{}`: {why}", step.id));
            return Ok(());
        }
        if let (Some(poll), Some(why)) = (&step.poll, failed_until) {
            if self.attempt >= poll.max_attempts {
                self.fail_step(format!(
                    "step `{}`: still not done after {} attempts: {why}",
                    step.id, self.attempt
                ));
            } else {
                self.prepare();
            }
            return Ok(());
        }
        let mut captured = BTreeMap::new();
        for c in &step.capture {
            let Some(value) = response.body.as_ref().and_then(|b| b.pointer(&c.pointer)) else {
                let why = if response.body.is_none() {
                    "the response has no JSON body".to_owned()
                } else {
                    format!("no value at `{}`", c.pointer)
                };
                self.fail_step(format!("step `{}`: capture `{}`: {why}", step.id, c.name));
                return Ok(());
            };
            let secret = c.role == CaptureRole::Secret;
            captured.insert(
                c.name.clone(),
                if secret {
                    Value::String(REDACTED.to_owned())
                } else {
                    value.clone()
                },
            );
            self.scope.bind(c.name.clone(), value.clone(), secret);
        }
        if let Some(record) = self.records.last_mut() {
            record.outcome = StepOutcome::Passed;
            record.captured = captured;
        }
        self.index += 1;
        self.attempt = 0;
        self.prepare();
        Ok(())
    }

    /// Records that no response came for the pending request (connection refused,
    /// timeout…): the step and the flow fail.
    ///
    /// # Errors
    ///
    /// `checklist.flow_finished` when no request is pending.
    pub fn transport_error(&mut self, message: &str, at: Timestamp) -> Result<(), ChecklistError> {
        let Some((step, _)) = self.current() else {
            return Err(ChecklistError::FlowFinished);
        };
        self.attempt = self.attempt.saturating_add(1);
        self.record_attempt(Attempt {
            attempt: self.attempt,
            at,
            status: None,
            elapsed_ms: None,
            request_id: None,
            expect: Vec::new(),
            until: Vec::new(),
            error: Some(message.to_owned()),
        });
        self.fail_step(format!("step `{}`: no response: {message}", step.id));
        Ok(())
    }

    /// The artifact so far (outcome `incomplete` while a request is pending). Every
    /// secret value — handed in or captured `as: secret` — reads `***`.
    pub fn artifact(&self) -> Artifact {
        let mut steps = self.records.clone();
        for step in self.steps.iter().skip(steps.len()) {
            steps.push(StepRecord {
                step: step.id.clone(),
                outcome: StepOutcome::NotRun,
                reason: None,
                request: None,
                attempts: Vec::new(),
                captured: BTreeMap::new(),
            });
        }
        let attempts = || steps.iter().flat_map(|s| s.attempts.iter());
        let started_at = attempts().next().map(|a| a.at);
        let finished_at = attempts().last().map(|a| a.at);
        let request_ids = attempts().filter_map(|a| a.request_id.clone()).collect();
        let mut job_ids = Vec::new();
        let mut captures = BTreeMap::new();
        for (def, rec) in self.steps.iter().zip(&steps) {
            for c in &def.capture {
                if let Some(v) = rec.captured.get(&c.name) {
                    if c.role == CaptureRole::JobId {
                        job_ids.push(as_text(v));
                    }
                    captures.insert(c.name.clone(), v.clone());
                }
            }
        }
        let mut artifact = Artifact {
            outcome: self.outcome,
            reason: self.reason.clone(),
            started_at,
            finished_at,
            steps,
            request_ids,
            job_ids,
            captures,
        };
        self.scrub(&mut artifact);
        artifact
    }

    /// Replaces every secret text in the artifact by `***`, through its JSON form.
    fn scrub(&self, artifact: &mut Artifact) {
        // Secrets handed in are real credentials: every occurrence goes. A value a
        // flow captured `as: secret` that is short (or not text at all) would match
        // unrelated data (a captured `1` inside `req-10`), so it is redacted only
        // where it is a whole value.
        let (mut secrets, mut whole) = self.scope.secret_texts_split(MIN_SUBSTRING_SECRET);
        for h in self.hidden.iter().filter(|h| !h.is_empty()) {
            if h.chars().count() >= MIN_SUBSTRING_SECRET {
                secrets.push(h.clone());
            } else {
                whole.push(h.clone());
            }
        }
        secrets.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        secrets.dedup();
        if !whole.is_empty() {
            scrub_whole_values(artifact, &whole);
        }
        if secrets.is_empty() {
            return;
        }
        artifact.reason = artifact.reason.as_deref().map(|r| scrub_str(r, &secrets));
        artifact.job_ids = artifact.job_ids.iter().map(|j| scrub_str(j, &secrets)).collect();
        artifact.request_ids = artifact.request_ids.iter().map(|j| scrub_str(j, &secrets)).collect();
        for v in artifact.captures.values_mut() {
            scrub_json(v, &secrets);
        }
        for step in &mut artifact.steps {
            step.reason = step.reason.as_deref().map(|r| scrub_str(r, &secrets));
            for v in step.captured.values_mut() {
                scrub_json(v, &secrets);
            }
            if let Some(req) = &mut step.request {
                req.path = scrub_str(&req.path, &secrets);
                req.headers = req.headers.iter().map(|(n, v)| (n, scrub_str(v, &secrets))).collect();
                if let Some(j) = &mut req.json {
                    scrub_json(j, &secrets);
                }
            }
            for a in &mut step.attempts {
                a.request_id = a.request_id.as_deref().map(|r| scrub_str(r, &secrets));
                a.error = a.error.as_deref().map(|r| scrub_str(r, &secrets));
                for r in a.expect.iter_mut().chain(a.until.iter_mut()) {
                    scrub_json(&mut r.expected, &secrets);
                    if let Some(v) = &mut r.actual {
                        scrub_json(v, &secrets);
                    }
                    r.reason = r.reason.as_deref().map(|x| scrub_str(x, &secrets));
                }
            }
        }
    }

    /// Drives the flow over recorded replies, in order, and returns the artifact
    /// (`incomplete` if the replies run out first; extra replies are ignored).
    pub fn replay(mut self, replies: &[Recorded]) -> Artifact {
        for reply in replies {
            if self.is_finished() {
                break;
            }
            let done = match &reply.response {
                Some(r) => self.respond(r, reply.at),
                None => self.transport_error(reply.error.as_deref().unwrap_or("no response"), reply.at),
            };
            if done.is_err() {
                break;
            }
        }
        self.artifact()
    }

    fn current(&self) -> Option<(Step, &Outgoing)> {
        let pending = self.pending.as_ref()?;
        Some((self.steps.get(self.index)?.clone(), pending))
    }

    fn record_attempt(&mut self, attempt: Attempt) {
        if self.records.len() <= self.index {
            let step = self.steps.get(self.index).map(|s| s.id.clone()).unwrap_or_default();
            let request = self.pending.as_ref().map(|p| p.redacted.clone());
            self.records.push(StepRecord {
                step,
                outcome: StepOutcome::Pending,
                reason: None,
                request,
                attempts: Vec::new(),
                captured: BTreeMap::new(),
            });
        }
        if let Some(record) = self.records.last_mut() {
            record.attempts.push(attempt);
        }
    }

    fn fail_step(&mut self, reason: String) {
        if self.records.len() <= self.index {
            let step = self.steps.get(self.index).map(|s| s.id.clone()).unwrap_or_default();
            self.records.push(StepRecord {
                step,
                outcome: StepOutcome::Failed,
                reason: None,
                request: None,
                attempts: Vec::new(),
                captured: BTreeMap::new(),
            });
        }
        if let Some(record) = self.records.last_mut() {
            record.outcome = StepOutcome::Failed;
            record.reason = Some(reason.clone());
        }
        self.outcome = FlowOutcome::Failed;
        self.reason = Some(reason);
        self.pending = None;
    }

    /// Renders the request of the current step (or ends the flow).
    fn prepare(&mut self) {
        self.pending = None;
        let Some(step) = self.steps.get(self.index) else {
            if self.steps.is_empty() {
                self.outcome = FlowOutcome::Failed;
                self.reason = Some("the flow has no steps".to_owned());
            } else {
                self.outcome = FlowOutcome::Passed;
            }
            return;
        };
        let real = step.request.render_in(&self.scope, Mode::Send);
        let shown = step.request.render_in(&self.scope, Mode::Record);
        match (real, shown) {
            (Ok(request), Ok(redacted)) => {
                let wait_ms = match &step.poll {
                    Some(p) if self.attempt > 0 => p.every_ms,
                    _ => 0,
                };
                self.pending = Some(Outgoing {
                    step: step.id.clone(),
                    attempt: self.attempt.saturating_add(1),
                    wait_ms,
                    request,
                    redacted,
                });
            }
            (Err(name), _) | (_, Err(name)) => {
                let id = step.id.clone();
                self.fail_step(format!("step `{id}`: placeholder `${{{name}}}` has no value"));
            }
        }
    }
}

/// `status: expected 200, found 401`.
fn describe(r: &AssertionResult) -> String {
    let subject = match (r.subject, &r.target) {
        (SubjectKind::Status, _) => "status".to_owned(),
        (SubjectKind::Header, Some(t)) => format!("header `{t}`"),
        (SubjectKind::Pointer, Some(t)) => format!("`{t}`"),
        (_, None) => "?".to_owned(),
    };
    format!(
        "{subject} {}: {}",
        r.op.as_str(),
        r.reason.as_deref().unwrap_or("failed")
    )
}

/// Captured secrets shorter than this are redacted only where they are a whole value.
const MIN_SUBSTRING_SECRET: usize = 6;

/// Redacts every string or number of the artifact that is exactly one of `whole`.
fn scrub_whole_values(artifact: &mut Artifact, whole: &[String]) {
    let hit = |s: &str| whole.iter().any(|w| w == s);
    let text = |s: &mut String| {
        if hit(s) {
            *s = REDACTED.to_owned();
        }
    };
    fn json(v: &mut serde_json::Value, hit: &dyn Fn(&str) -> bool) {
        match v {
            serde_json::Value::String(s) if hit(s) => *s = REDACTED.to_owned(),
            serde_json::Value::Number(n) if hit(&n.to_string()) => *v = serde_json::Value::String(REDACTED.to_owned()),
            serde_json::Value::Bool(b) if hit(&b.to_string()) => *v = serde_json::Value::String(REDACTED.to_owned()),
            serde_json::Value::Array(items) => items.iter_mut().for_each(|x| json(x, hit)),
            serde_json::Value::Object(map) => map.values_mut().for_each(|x| json(x, hit)),
            _ => {}
        }
    }
    artifact.job_ids.iter_mut().for_each(text);
    artifact.request_ids.iter_mut().for_each(text);
    for v in artifact.captures.values_mut() {
        json(v, &hit);
    }
    for step in &mut artifact.steps {
        for v in step.captured.values_mut() {
            json(v, &hit);
        }
        if let Some(req) = &mut step.request {
            req.headers = req
                .headers
                .iter()
                .map(|(n, v)| (n, if hit(v) { REDACTED } else { v }))
                .collect();
            if let Some(j) = &mut req.json {
                json(j, &hit);
            }
        }
        for a in &mut step.attempts {
            if let Some(r) = &mut a.request_id {
                text(r);
            }
            for r in a.expect.iter_mut().chain(a.until.iter_mut()) {
                json(&mut r.expected, &hit);
                if let Some(v) = &mut r.actual {
                    json(v, &hit);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::Template;
    use proptest::prelude::*;
    use serde_json::json;

    const FLOW: &str = r#"
id: first-value
title: First value
source: seed 001 section 4
parameters: [tenant]
sections:
  - id: first_value
    title: First-value API flow validated
    items:
      - id: end_to_end
        text: token -> enqueue -> poll -> results
        kind: flow
        steps:
          - id: token
            request:
              method: POST
              path: /api/auth/token/integration
              headers: {x-api-key: "${secret.INTEGRATION_KEY}"}
            expect:
              - status: 200
              - {pointer: /token, exists: true}
            capture:
              token: {pointer: /token, as: secret}
          - id: enqueue
            request:
              method: POST
              path: /api/upload
              headers: {authorization: "Bearer ${token}"}
              json: {tenant: "${tenant}", rows: [1, 2]}
            expect: [{status: [200, 202]}]
            capture:
              job_id: {pointer: /job/id, as: job_id}
          - id: poll
            request:
              method: GET
              path: /api/jobs/${job_id}
              headers: {authorization: "Bearer ${token}"}
            expect: [{status: 200}]
            poll:
              until: [{pointer: /state, in: [succeeded, failed]}]
              every_ms: 2000
              max_attempts: 3
          - id: results
            request:
              method: GET
              path: /api/sima/results?job=${job_id}
              headers: {authorization: "Bearer ${token}"}
            expect:
              - status: 200
              - {pointer: /items, exists: true}
exit_criteria:
  - {id: done, text: done, items: [first_value.end_to_end]}
"#;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|_| unreachable!())
    }

    fn start() -> FlowRun {
        let template = Template::from_yaml(FLOW).unwrap_or_else(|e| unreachable!("{e}"));
        let item = template
            .item("first_value.end_to_end")
            .unwrap_or_else(|| unreachable!());
        let params = BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]);
        let secrets: Secrets = [("INTEGRATION_KEY", "ik_live_123456")].into_iter().collect();
        FlowRun::for_item(item, &params, &secrets).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn ok(r: Result<(), ChecklistError>) {
        r.unwrap_or_else(|e| unreachable!("{e}"));
    }

    #[test]
    fn a_short_captured_secret_is_redacted_only_as_a_whole_value() {
        let mut flow = start();
        ok(flow.respond(
            &Response::status(200)
                .with_header("x-request-id", "req-1")
                .with_body(json!({"token": 1})),
            t("2026-03-01T10:00:00Z"),
        ));
        let next = flow.next().cloned().unwrap_or_else(|| unreachable!());
        assert_eq!(next.redacted.headers.get("authorization"), Some("Bearer ***"));
        ok(flow.respond(
            &Response::status(202)
                .with_header("x-request-id", "req-10")
                .with_body(json!({"job": {"id": 10}})),
            t("2026-03-01T10:00:01Z"),
        ));
        let artifact = flow.artifact();
        // `1` is not scrubbed out of `req-1`, `req-10` or the job id 10; the whole
        // captured value is.
        assert_eq!(artifact.request_ids, ["req-1", "req-10"]);
        assert_eq!(artifact.job_ids, ["10"]);
        assert!(
            artifact.captures.get("token").is_none_or(|v| v == "***"),
            "{:?}",
            artifact.captures
        );
        let text = serde_json::to_string(&artifact).unwrap_or_default();
        assert!(!text.contains("\"token\":1"), "{text}");
    }

    #[test]
    fn token_enqueue_poll_results() {
        let mut flow = start();
        let next = flow.next().cloned().unwrap_or_else(|| unreachable!());
        assert_eq!((next.step.as_str(), next.attempt, next.wait_ms), ("token", 1, 0));
        assert_eq!(next.request.headers.get("x-api-key"), Some("ik_live_123456"));
        assert_eq!(next.redacted.headers.get("x-api-key"), Some("***"));
        assert!(!format!("{next:?}").contains("ik_live"));
        ok(flow.respond(
            &Response::status(200)
                .with_header("X-Request-Id", "r1")
                .with_body(json!({"token": "eyJtoken.abc"})),
            t("2026-03-01T10:00:00Z"),
        ));

        let next = flow.next().cloned().unwrap_or_else(|| unreachable!());
        assert_eq!(next.step, "enqueue");
        assert_eq!(next.request.headers.get("authorization"), Some("Bearer eyJtoken.abc"));
        assert_eq!(next.redacted.headers.get("authorization"), Some("Bearer ***"));
        assert_eq!(next.request.json, Some(json!({"tenant": "acme", "rows": [1, 2]})));
        ok(flow.respond(
            &Response::status(202)
                .with_header("x-request-id", "r2")
                .with_body(json!({"job": {"id": 981}})),
            t("2026-03-01T10:00:01Z"),
        ));

        for (i, state) in ["queued", "running", "succeeded"].iter().enumerate() {
            let next = flow.next().cloned().unwrap_or_else(|| unreachable!());
            assert_eq!(next.step, "poll");
            assert_eq!(next.request.path, "/api/jobs/981");
            assert_eq!(next.attempt as usize, i + 1);
            assert_eq!(next.wait_ms, if i == 0 { 0 } else { 2000 });
            ok(flow.respond(
                &Response::status(200).with_body(json!({"state": state})),
                t("2026-03-01T10:00:05Z"),
            ));
        }
        let next = flow.next().cloned().unwrap_or_else(|| unreachable!());
        assert_eq!(next.request.path, "/api/sima/results?job=981");
        ok(flow.respond(
            &Response::status(200)
                .with_header("x-request-id", "r9")
                .with_body(json!({"items": []})),
            t("2026-03-01T10:00:09Z"),
        ));
        assert!(flow.is_finished());
        assert_eq!(
            flow.respond(&Response::status(200), t("2026-03-01T10:00:10Z"))
                .map_err(|e| e.code()),
            Err("checklist.flow_finished")
        );
        let artifact = flow.artifact();
        assert_eq!(artifact.outcome, FlowOutcome::Passed);
        assert_eq!(artifact.request_ids, ["r1", "r2", "r9"]);
        assert_eq!(artifact.job_ids, ["981"]);
        assert_eq!(artifact.captures.get("token"), Some(&json!("***")));
        assert_eq!(artifact.captures.get("job_id"), Some(&json!(981)));
        assert_eq!(artifact.started_at, Some(t("2026-03-01T10:00:00Z")));
        assert_eq!(artifact.finished_at, Some(t("2026-03-01T10:00:09Z")));
        assert_eq!(artifact.steps.get(2).map(|s| s.attempts.len()), Some(3));
        let text = serde_json::to_string(&artifact).unwrap_or_default();
        assert!(!text.contains("eyJtoken") && !text.contains("ik_live"), "{text}");
        let back: Artifact = serde_json::from_str(&text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(back, artifact);
    }

    #[test]
    fn failures_stop_the_flow() {
        let mut flow = start();
        ok(flow.respond(&Response::status(401), t("2026-03-01T10:00:00Z")));
        let a = flow.artifact();
        assert_eq!(a.outcome, FlowOutcome::Failed);
        assert_eq!(
            a.reason.as_deref(),
            Some("step `token`: status eq: expected 200, found 401")
        );
        let outcomes: Vec<StepOutcome> = a.steps.iter().map(|s| s.outcome).collect();
        assert_eq!(
            outcomes,
            [
                StepOutcome::Failed,
                StepOutcome::NotRun,
                StepOutcome::NotRun,
                StepOutcome::NotRun
            ]
        );

        // Polling gives up after max_attempts.
        let mut flow = start();
        ok(flow.respond(
            &Response::status(200).with_body(json!({"token": "tttt"})),
            t("2026-03-01T10:00:00Z"),
        ));
        ok(flow.respond(
            &Response::status(200).with_body(json!({"job": {"id": "j1"}})),
            t("2026-03-01T10:00:00Z"),
        ));
        for _ in 0..3 {
            ok(flow.respond(
                &Response::status(200).with_body(json!({"state": "queued"})),
                t("2026-03-01T10:00:00Z"),
            ));
        }
        let a = flow.artifact();
        assert_eq!(
            a.reason.as_deref(),
            Some(
                "step `poll`: still not done after 3 attempts: `/state` in: expected one of [\"succeeded\",\"failed\"], found \"queued\""
            )
        );
        assert_eq!(a.job_ids, ["j1"]);

        // A missing capture fails the step; a secret seen there is still redacted.
        let mut flow = start();
        ok(flow.respond(
            &Response::status(200).with_body(json!({"token": "zzzz"})),
            t("2026-03-01T10:00:00Z"),
        ));
        ok(flow.respond(
            &Response::status(202).with_body(json!({"job": {}})),
            t("2026-03-01T10:00:00Z"),
        ));
        let a = flow.artifact();
        assert_eq!(
            a.reason.as_deref(),
            Some("step `enqueue`: capture `job_id`: no value at `/job/id`")
        );

        // A transport error.
        let mut flow = start();
        ok(flow.transport_error("connection refused", t("2026-03-01T10:00:00Z")));
        let a = flow.artifact();
        assert_eq!(
            a.reason.as_deref(),
            Some("step `token`: no response: connection refused")
        );
        assert_eq!(
            a.steps.first().and_then(|s| s.attempts.first()).and_then(|x| x.status),
            None
        );
    }

    #[test]
    fn a_token_in_a_failed_step_is_still_redacted() {
        let mut flow = start();
        // The token comes back but the status is wrong: the step fails before capturing.
        ok(flow.respond(
            &Response::status(201).with_body(json!({"token": "leaky-token-1"})),
            t("2026-03-01T10:00:00Z"),
        ));
        let text = serde_json::to_string(&flow.artifact()).unwrap_or_default();
        assert!(!text.contains("leaky-token-1"), "{text}");
    }

    #[test]
    fn inputs_are_checked_up_front_and_replay_works() {
        let template = Template::from_yaml(FLOW).unwrap_or_else(|e| unreachable!("{e}"));
        let item = template
            .item("first_value.end_to_end")
            .unwrap_or_else(|| unreachable!());
        let err = FlowRun::for_item(item, &BTreeMap::new(), &Secrets::new()).err();
        assert_eq!(err.as_ref().map(ChecklistError::code), Some("checklist.input_missing"));
        assert_eq!(
            err.map(|e| e.to_string()).unwrap_or_default(),
            "missing inputs: parameters tenant; secrets INTEGRATION_KEY"
        );
        let replies: Vec<Recorded> = serde_json::from_value(json!([
            {"at": "2026-03-01T10:00:00Z", "response": {"status": 200, "body": {"token": "abcd"}}},
            {"at": "2026-03-01T10:00:01Z", "error": "timed out"},
        ]))
        .unwrap_or_else(|e| unreachable!("{e}"));
        let a = start().replay(&replies);
        assert_eq!(a.outcome, FlowOutcome::Failed);
        assert_eq!(a.reason.as_deref(), Some("step `enqueue`: no response: timed out"));
        let a = start().replay(replies.get(..1).unwrap_or_default());
        assert_eq!(a.outcome, FlowOutcome::Incomplete);
        let empty = FlowRun::new(Vec::new(), &BTreeMap::new(), &Secrets::new()).map(|f| f.artifact().outcome);
        assert_eq!(empty.ok(), Some(FlowOutcome::Failed));
    }

    proptest! {
        #[test]
        fn any_replies_never_panic_and_never_leak(
            statuses in prop::collection::vec(prop_oneof![Just(200u16), Just(202), Just(401), Just(500)], 0..10),
            states in prop::collection::vec(prop_oneof![Just("queued"), Just("succeeded")], 0..10),
            with_token in any::<bool>(),
        ) {
            let mut flow = start();
            for (i, status) in statuses.iter().enumerate() {
                let state = states.get(i).copied().unwrap_or("queued");
                let mut body = json!({"state": state, "job": {"id": i}, "items": []});
                if with_token {
                    body["token"] = json!("secret-token-value");
                }
                if flow.respond(&Response::status(*status).with_body(body), t("2026-03-01T10:00:00Z")).is_err() {
                    prop_assert!(flow.is_finished());
                }
            }
            let text = serde_json::to_string(&flow.artifact()).unwrap_or_default();
            prop_assert!(!text.contains("secret-token-value"));
            prop_assert!(!text.contains("ik_live_123456"));
        }
    }
}
