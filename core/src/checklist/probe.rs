//! Probes: an HTTP request template and assertions over the response handed back.
//!
//! The core never speaks HTTP. A caller renders a [`RequestTemplate`] (through a
//! [`crate::checklist::FlowRun`], which treats a probe as a flow of one step), sends
//! it, and hands the [`Response`] back; assertions are evaluated here. Every assertion
//! yields an [`AssertionResult`] with the expected and the actual value; a missing
//! pointer, a missing body or a type mismatch is a failed assertion with a reason,
//! never a panic.

use std::cmp::Ordering;
use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::Value;

use std::collections::BTreeMap;

use super::placeholder::{Mode, Scope, Secrets};

/// An HTTP method.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `PATCH`
    Patch,
    /// `DELETE`
    Delete,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
}

impl Method {
    /// Every method as written in a template.
    pub const NAMES: [&'static str; 7] = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"];

    /// The method as written (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
        }
    }

    /// Reads an upper-case method name.
    pub fn parse(text: &str) -> Option<Method> {
        match text {
            "GET" => Some(Method::Get),
            "POST" => Some(Method::Post),
            "PUT" => Some(Method::Put),
            "PATCH" => Some(Method::Patch),
            "DELETE" => Some(Method::Delete),
            "HEAD" => Some(Method::Head),
            "OPTIONS" => Some(Method::Options),
            _ => None,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// HTTP headers in order; names compare case-insensitively. The JSON form is an
/// object (`{"x-request-id": "r-1"}`); when a name repeats, lookups see the first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Headers(Vec<(String, String)>);

impl Headers {
    /// No headers.
    pub fn new() -> Headers {
        Headers::default()
    }

    /// Appends a header.
    pub fn push(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.push((name.into(), value.into()));
    }

    /// The first value of `name`, compared case-insensitively.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every header, in order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    /// Number of headers.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Headers {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Headers(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

impl Serialize for Headers {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, value) in &self.0 {
            map.serialize_entry(name, value)?;
        }
        map.end()
    }
}

impl<'de> Deserialize<'de> for Headers {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct HeadersVisitor;
        impl<'de> Visitor<'de> for HeadersVisitor {
            type Value = Headers;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of header names to string values")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Headers, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = a.next_entry::<String, String>()? {
                    out.push((k, v));
                }
                Ok(Headers(out))
            }
        }
        d.deserialize_map(HeadersVisitor)
    }
}

/// A request as written in a template: `path`, header values and JSON strings may
/// hold `${…}` placeholders. The path is joined to a base URL by whoever sends it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RequestTemplate {
    /// The method.
    pub method: Method,
    /// The path (and query), starting with `/`.
    pub path: String,
    /// Headers, in order.
    pub headers: Headers,
    /// The JSON body, if any.
    pub json: Option<Value>,
}

impl RequestTemplate {
    /// Every placeholder name in the path, header values and JSON strings, in order,
    /// without repeats (malformed texts are skipped: templates are validated on load).
    pub fn refs(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut add = |text: &str| {
            for name in super::placeholder::refs(text).unwrap_or_default() {
                if !out.contains(&name) {
                    out.push(name);
                }
            }
        };
        add(&self.path);
        for (_, v) in self.headers.iter() {
            add(v);
        }
        if let Some(json) = &self.json {
            json_strings(json, &mut add);
        }
        out
    }

    /// Renders the request twice: with real values, to send, and redacted (every
    /// secret as `***`), to print or store. Captures are not known here: use a
    /// [`crate::checklist::FlowRun`] for flow steps.
    ///
    /// # Errors
    ///
    /// `checklist.input_missing` naming every parameter and secret used but not given.
    pub fn render(
        &self,
        params: &BTreeMap<String, String>,
        secrets: &Secrets,
    ) -> Result<Rendered, crate::checklist::ChecklistError> {
        let mut parameters = Vec::new();
        let mut missing_secrets = Vec::new();
        for name in self.refs() {
            match name.strip_prefix(super::placeholder::SECRET_PREFIX) {
                Some(secret) if secrets.get(secret).is_none() => missing_secrets.push(secret.to_owned()),
                Some(_) => {}
                None if !params.contains_key(&name) => parameters.push(name),
                None => {}
            }
        }
        if !parameters.is_empty() || !missing_secrets.is_empty() {
            parameters.sort();
            missing_secrets.sort();
            return Err(crate::checklist::ChecklistError::InputMissing {
                parameters,
                secrets: missing_secrets,
            });
        }
        let scope = Scope::new(params, secrets);
        let unbound = |name: String| crate::checklist::ChecklistError::InputMissing {
            parameters: vec![name],
            secrets: Vec::new(),
        };
        Ok(Rendered {
            send: self.render_in(&scope, Mode::Send).map_err(unbound)?,
            record: self.render_in(&scope, Mode::Record).map_err(unbound)?,
        })
    }

    pub(crate) fn render_in(&self, scope: &Scope, mode: Mode) -> Result<Request, String> {
        let mut headers = Headers::new();
        for (name, value) in self.headers.iter() {
            headers.push(name, scope.render_str(value, mode, false)?);
        }
        Ok(Request {
            method: self.method,
            path: scope.render_str(&self.path, mode, true)?,
            headers,
            json: self.json.as_ref().map(|j| scope.render_json(j, mode)).transpose()?,
        })
    }
}

/// A request rendered for sending and for recording.
#[derive(Clone, PartialEq)]
pub struct Rendered {
    /// Real values, to send. Never print or store it.
    pub send: Request,
    /// Every secret as `***`, to print or store.
    pub record: Request,
}

impl fmt::Debug for Rendered {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Rendered")
            .field("record", &serde_json::to_string(&self.record).unwrap_or_default())
            .finish_non_exhaustive()
    }
}

/// Calls `f` on every string inside a JSON value.
pub(crate) fn json_strings(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(items) => items.iter().for_each(|v| json_strings(v, f)),
        Value::Object(map) => map.values().for_each(|v| json_strings(v, f)),
        _ => {}
    }
}

/// A rendered request: real values (for sending) or redacted (for recording).
#[derive(Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Request {
    /// The method.
    pub method: Method,
    /// The path (and query); substituted values are percent-encoded.
    pub path: String,
    /// Headers, in order.
    pub headers: Headers,
    /// The JSON body, if any.
    pub json: Option<Value>,
}

impl fmt::Debug for Request {
    /// Shows the method and the number of headers only: a request for sending may
    /// carry secrets in its path, headers or body.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("headers", &self.headers.len())
            .finish_non_exhaustive()
    }
}

/// A response handed to the core: the status, headers (names compare
/// case-insensitively), the body when it is JSON, and how long it took.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    #[serde(default)]
    pub headers: Headers,
    /// The body, when it parsed as JSON.
    #[serde(default)]
    pub body: Option<Value>,
    /// Time from sending the request to receiving the response.
    #[serde(default)]
    pub elapsed_ms: u64,
}

impl Response {
    /// A response with a status and nothing else.
    pub fn status(status: u16) -> Response {
        Response {
            status,
            headers: Headers::new(),
            body: None,
            elapsed_ms: 0,
        }
    }

    /// The response with `body`.
    pub fn with_body(mut self, body: Value) -> Response {
        self.body = Some(body);
        self
    }

    /// The response with one more header.
    pub fn with_header(mut self, name: &str, value: &str) -> Response {
        self.headers.push(name, value);
        self
    }
}

/// What an assertion looks at (JSON: `"status"`, `{"header": "…"}`, `{"pointer": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Subject {
    /// The HTTP status.
    Status,
    /// A response header (name compared case-insensitively).
    Header(String),
    /// A JSON Pointer (RFC 6901) into the body; `""` is the whole body.
    Pointer(String),
}

/// The kind of subject, in results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SubjectKind {
    /// The HTTP status.
    Status,
    /// A response header.
    Header,
    /// A JSON Pointer into the body.
    Pointer,
}

/// An assertion operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Op {
    /// Equal (numbers compare by value: `0` equals `0.0`).
    Eq,
    /// Not equal.
    Ne,
    /// Equal to one of a list.
    In,
    /// A number less than.
    Lt,
    /// A number greater than.
    Gt,
    /// Present (`true`) or absent (`false`).
    Exists,
    /// A string matching a regular expression (unanchored; use `^…$`).
    Matches,
}

impl Op {
    /// Every operator as written in a template.
    pub const NAMES: [&'static str; 7] = ["eq", "ne", "in", "lt", "gt", "exists", "matches"];

    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::In => "in",
            Op::Lt => "lt",
            Op::Gt => "gt",
            Op::Exists => "exists",
            Op::Matches => "matches",
        }
    }

    /// Reads an operator name.
    pub fn parse(text: &str) -> Option<Op> {
        Op::NAMES.iter().position(|n| *n == text).and_then(|i| {
            [Op::Eq, Op::Ne, Op::In, Op::Lt, Op::Gt, Op::Exists, Op::Matches]
                .get(i)
                .copied()
        })
    }
}

/// A compiled `matches` pattern; compares by its text.
#[derive(Debug, Clone)]
struct Pattern(regex::Regex);

impl PartialEq for Pattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

/// One assertion: a subject, an operator and the expected value.
#[derive(Debug, Clone, PartialEq)]
pub struct Assertion {
    subject: Subject,
    op: Op,
    expected: Value,
    pattern: Option<Pattern>,
}

/// The largest compiled size of a `matches` pattern.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

impl Assertion {
    /// Builds an assertion, checking that the operator suits the subject and that the
    /// expected value has the operator's type:
    ///
    /// | op | expected | status | header | pointer |
    /// |---|---|---|---|---|
    /// | `eq`, `ne` | any value | integer | string | any |
    /// | `in` | non-empty list | integers | strings | any |
    /// | `lt`, `gt` | number | integer | — | number |
    /// | `exists` | boolean | — | yes | yes |
    /// | `matches` | regular expression | — | yes | yes |
    ///
    /// # Errors
    ///
    /// `checklist.invalid_pointer`, `checklist.invalid_regex` or
    /// `checklist.template_invalid`, with a message for people.
    pub fn new(subject: Subject, op: Op, expected: Value) -> Result<Assertion, AssertionError> {
        Assertion::build(subject, op, expected).map_err(|message| {
            let code = if message.starts_with("invalid JSON Pointer") {
                "checklist.invalid_pointer"
            } else if message.starts_with("invalid regular expression") {
                "checklist.invalid_regex"
            } else {
                "checklist.template_invalid"
            };
            AssertionError { code, message }
        })
    }

    fn build(subject: Subject, op: Op, expected: Value) -> Result<Assertion, String> {
        let on = match &subject {
            Subject::Status => "`status`",
            Subject::Header(_) => "a header",
            Subject::Pointer(p) => {
                check_pointer(p)?;
                "a pointer"
            }
        };
        let each_ok = |v: &Value| match subject {
            Subject::Status => v.as_u64().is_some_and(|n| (100..=999).contains(&n)),
            Subject::Header(_) => v.is_string(),
            Subject::Pointer(_) => true,
        };
        let kind = match subject {
            Subject::Status => "an HTTP status (100 to 999)",
            Subject::Header(_) => "a string",
            Subject::Pointer(_) => "a value",
        };
        let mut pattern = None;
        match op {
            Op::Eq | Op::Ne => {
                if !each_ok(&expected) {
                    return Err(format!("`{op}` on {on} expects {kind}", op = op.as_str()));
                }
            }
            Op::In => match &expected {
                Value::Array(items) if !items.is_empty() => {
                    if !items.iter().all(each_ok) {
                        return Err(format!("`in` on {on} expects a list of {kind}s"));
                    }
                }
                _ => return Err("`in` expects a non-empty list".to_owned()),
            },
            Op::Lt | Op::Gt => {
                if matches!(subject, Subject::Header(_)) {
                    return Err(format!("`{}` does not apply to a header", op.as_str()));
                }
                if !expected.is_number() {
                    return Err(format!("`{}` expects a number", op.as_str()));
                }
                if subject == Subject::Status && !each_ok(&expected) {
                    return Err(format!("`{}` on `status` expects {kind}", op.as_str()));
                }
            }
            Op::Exists => {
                if subject == Subject::Status {
                    return Err("`exists` does not apply to `status`".to_owned());
                }
                if !expected.is_boolean() {
                    return Err("`exists` expects true or false".to_owned());
                }
            }
            Op::Matches => {
                if subject == Subject::Status {
                    return Err("`matches` does not apply to `status`; use `in`".to_owned());
                }
                let Value::String(text) = &expected else {
                    return Err("`matches` expects a regular expression as a string".to_owned());
                };
                let re = regex::RegexBuilder::new(text)
                    .size_limit(REGEX_SIZE_LIMIT)
                    .build()
                    .map_err(|e| format!("invalid regular expression: {}", one_line(&e.to_string())))?;
                pattern = Some(Pattern(re));
            }
        }
        Ok(Assertion {
            subject,
            op,
            expected,
            pattern,
        })
    }

    /// What the assertion looks at.
    pub fn subject(&self) -> &Subject {
        &self.subject
    }

    /// The operator.
    pub fn op(&self) -> Op {
        self.op
    }

    /// The expected value as written (placeholders not substituted).
    pub fn expected(&self) -> &Value {
        &self.expected
    }

    /// Placeholder names in the expected value (`matches` patterns hold none).
    pub fn refs(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        if self.op != Op::Matches {
            json_strings(&self.expected, &mut |s| {
                for name in super::placeholder::refs(s).unwrap_or_default() {
                    if !out.contains(&name) {
                        out.push(name);
                    }
                }
            });
        }
        out
    }

    /// Checks the assertion against `response`, taking the expected value literally.
    pub fn check(&self, response: &Response) -> AssertionResult {
        self.evaluate(response, &self.expected, self.expected.clone())
    }

    /// Checks with placeholders substituted; the recorded expected value is redacted.
    pub(crate) fn check_in(&self, response: &Response, scope: &Scope) -> AssertionResult {
        if self.op == Op::Matches {
            return self.check(response);
        }
        let real = scope.render_json(&self.expected, Mode::Send);
        let shown = scope.render_json(&self.expected, Mode::Record);
        match (real, shown) {
            (Ok(real), Ok(shown)) => self.evaluate(response, &real, shown),
            (Err(name), _) | (_, Err(name)) => self.result(
                self.expected.clone(),
                None,
                false,
                Some(format!("placeholder `${{{name}}}` has no value")),
            ),
        }
    }

    fn result(&self, expected: Value, actual: Option<Value>, pass: bool, reason: Option<String>) -> AssertionResult {
        let (subject, target) = match &self.subject {
            Subject::Status => (SubjectKind::Status, None),
            Subject::Header(n) => (SubjectKind::Header, Some(n.clone())),
            Subject::Pointer(p) => (SubjectKind::Pointer, Some(p.clone())),
        };
        AssertionResult {
            subject,
            target,
            op: self.op,
            expected,
            actual,
            pass,
            reason,
        }
    }

    fn evaluate(&self, response: &Response, expected: &Value, shown: Value) -> AssertionResult {
        let (actual, missing): (Option<Value>, String) = match &self.subject {
            Subject::Status => (Some(Value::from(response.status)), String::new()),
            Subject::Header(name) => (
                response.headers.get(name).map(|v| Value::String(v.to_owned())),
                format!("no header `{name}`"),
            ),
            Subject::Pointer(p) => match &response.body {
                None => (None, "the response has no JSON body".to_owned()),
                Some(body) => (body.pointer(p).cloned(), format!("no value at `{p}`")),
            },
        };
        if self.op == Op::Exists {
            let want = expected.as_bool().unwrap_or(true);
            let present = actual.is_some();
            let reason = match (want, present) {
                (true, false) => Some(missing),
                (false, true) => Some(format!("{} is present", self.subject_text())),
                _ => None,
            };
            return self.result(shown, Some(Value::Bool(present)), want == present, reason);
        }
        let Some(actual) = actual else {
            return self.result(shown, None, false, Some(missing));
        };
        let failure = match self.op {
            Op::Eq => (!json_eq(&actual, expected)).then(|| format!("expected {expected}, found {actual}")),
            Op::Ne => json_eq(&actual, expected).then(|| format!("expected anything but {expected}")),
            Op::In => {
                let list = expected.as_array().map(Vec::as_slice).unwrap_or_default();
                (!list.iter().any(|e| json_eq(&actual, e)))
                    .then(|| format!("expected one of {expected}, found {actual}"))
            }
            Op::Lt | Op::Gt => match num_cmp(&actual, expected) {
                None => Some(format!("expected a number, found {}", type_name(&actual))),
                Some(ord) => {
                    let ok = if self.op == Op::Lt {
                        ord == Ordering::Less
                    } else {
                        ord == Ordering::Greater
                    };
                    let word = if self.op == Op::Lt { "less" } else { "greater" };
                    (!ok).then(|| format!("expected a number {word} than {expected}, found {actual}"))
                }
            },
            Op::Matches => match (&actual, &self.pattern) {
                (Value::String(s), Some(re)) => {
                    (!re.0.is_match(s)).then(|| format!("{actual} does not match `{}`", re.0.as_str()))
                }
                (Value::String(_), None) => Some("the pattern is missing".to_owned()),
                _ => Some(format!("expected a string, found {}", type_name(&actual))),
            },
            Op::Exists => None,
        };
        let pass = failure.is_none();
        self.result(shown, Some(actual), pass, failure)
    }

    fn subject_text(&self) -> String {
        match &self.subject {
            Subject::Status => "the status".to_owned(),
            Subject::Header(n) => format!("header `{n}`"),
            Subject::Pointer(p) => format!("`{p}`"),
        }
    }
}

impl Serialize for Assertion {
    /// The template form: `{"status": {"eq": 200}}`, `{"header": "x", "exists": true}`,
    /// `{"pointer": "/status", "in": ["ok"]}`.
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        match &self.subject {
            Subject::Status => {
                let inner = serde_json::Map::from_iter([(self.op.as_str().to_owned(), self.expected.clone())]);
                map.serialize_entry("status", &inner)?;
            }
            Subject::Header(name) => {
                map.serialize_entry("header", name)?;
                map.serialize_entry(self.op.as_str(), &self.expected)?;
            }
            Subject::Pointer(p) => {
                map.serialize_entry("pointer", p)?;
                map.serialize_entry(self.op.as_str(), &self.expected)?;
            }
        }
        map.end()
    }
}

/// An assertion that cannot be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{message}")]
pub struct AssertionError {
    /// `checklist.invalid_pointer`, `checklist.invalid_regex` or `checklist.template_invalid`.
    pub code: &'static str,
    /// For people.
    pub message: String,
}

/// The outcome of one assertion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AssertionResult {
    /// What was looked at.
    pub subject: SubjectKind,
    /// The header name or the pointer (`null` for the status).
    pub target: Option<String>,
    /// The operator.
    pub op: Op,
    /// The expected value (placeholders substituted, secrets as `***`).
    pub expected: Value,
    /// The actual value (`null` when absent; for `exists`, whether it is present).
    pub actual: Option<Value>,
    /// True when the assertion holds.
    pub pass: bool,
    /// Why it failed, for people.
    pub reason: Option<String>,
}

/// Checks a JSON Pointer's syntax: empty, or `/`-separated tokens with `~` only in
/// `~0` and `~1`.
pub fn check_pointer(pointer: &str) -> Result<(), String> {
    if !pointer.is_empty() && !pointer.starts_with('/') {
        return Err(format!(
            "invalid JSON Pointer `{pointer}`; it must start with `/` (or be empty)"
        ));
    }
    let mut chars = pointer.chars();
    while let Some(c) = chars.next() {
        if c == '~' && !matches!(chars.next(), Some('0' | '1')) {
            return Err(format!(
                "invalid JSON Pointer `{pointer}`; `~` must be followed by 0 or 1"
            ));
        }
    }
    Ok(())
}

/// JSON equality where numbers compare by value (`0 == 0.0`).
pub(crate) fn json_eq(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num_cmp(a, b) == Some(Ordering::Equal),
        (Value::Array(x), Value::Array(y)) => x.len() == y.len() && x.iter().zip(y).all(|(p, q)| json_eq(p, q)),
        (Value::Object(x), Value::Object(y)) => {
            x.len() == y.len() && x.iter().all(|(k, v)| y.get(k).is_some_and(|w| json_eq(v, w)))
        }
        _ => a == b,
    }
}

/// Compares two numbers by value, exactly: integers as integers; an integer and a
/// float by comparing the integer with the float's floor and fraction (so
/// `9007199254740993` is not equal to `9007199254740992.0`, which `f64` would say);
/// two floats as floats.
fn num_cmp(a: &Value, b: &Value) -> Option<Ordering> {
    let int = |v: &Value| v.as_i64().map(i128::from).or_else(|| v.as_u64().map(i128::from));
    match (int(a), int(b)) {
        (Some(x), Some(y)) => Some(x.cmp(&y)),
        (Some(x), None) => int_float_cmp(x, b.as_f64()?),
        (None, Some(y)) => int_float_cmp(y, a.as_f64()?).map(Ordering::reverse),
        (None, None) => a.as_f64()?.partial_cmp(&b.as_f64()?),
    }
}

/// `x` against `f`, exactly. Every integral `f64` within ±2^127 is an exact `i128`.
fn int_float_cmp(x: i128, f: f64) -> Option<Ordering> {
    if f.is_nan() {
        return None;
    }
    const LIMIT: f64 = 1.7e38; // below 2^127
    if f >= LIMIT {
        return Some(Ordering::Less);
    }
    if f <= -LIMIT {
        return Some(Ordering::Greater);
    }
    let floor = f.floor();
    #[allow(clippy::cast_possible_truncation)]
    let whole = floor as i128; // exact: |floor| < 2^127 and integral
    match x.cmp(&whole) {
        Ordering::Equal if f > floor => Some(Ordering::Less),
        other => Some(other),
    }
}

#[cfg(test)]
mod exact_numbers {
    use super::*;

    #[test]
    fn integers_and_floats_compare_exactly() {
        let n = |t: &str| serde_json::from_str::<Value>(t).unwrap();
        assert!(!json_eq(&n("9007199254740993"), &n("9007199254740992.0")));
        assert!(json_eq(&n("9007199254740992"), &n("9007199254740992.0")));
        assert!(!json_eq(&n("18446744073709551615"), &n("18446744073709551616.0")));
        assert!(json_eq(&n("0"), &n("0.0")));
        assert_eq!(num_cmp(&n("3"), &n("3.5")), Some(Ordering::Less));
        assert_eq!(num_cmp(&n("4"), &n("3.5")), Some(Ordering::Greater));
        assert_eq!(num_cmp(&n("-4"), &n("-3.5")), Some(Ordering::Less));
        assert_eq!(num_cmp(&n("3.5"), &n("3")), Some(Ordering::Greater));
        assert_eq!(num_cmp(&n("1"), &n("1e300")), Some(Ordering::Less));
        assert_eq!(num_cmp(&n("1"), &n("-1e300")), Some(Ordering::Greater));
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checklist::placeholder::Secrets;
    use proptest::prelude::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn a(subject: Subject, op: Op, expected: Value) -> Assertion {
        Assertion::new(subject, op, expected).unwrap_or_else(|e| unreachable!("{e}"))
    }

    fn ptr(p: &str) -> Subject {
        Subject::Pointer(p.to_owned())
    }

    fn health() -> Response {
        Response::status(200).with_header("X-Request-Id", "req-1").with_body(
            json!({"status": "degraded", "checks": {"migrations": {"pending": 0}}, "n": 2.5, "list": [1, 2]}),
        )
    }

    #[test]
    fn the_seed_health_probe_passes() {
        let r = health();
        let checks = [
            a(Subject::Status, Op::Eq, json!(200)),
            a(ptr("/status"), Op::In, json!(["ok", "degraded"])),
            a(ptr("/checks/migrations/pending"), Op::Eq, json!(0.0)),
            a(Subject::Header("x-request-id".into()), Op::Matches, json!("^req-\\d+$")),
            a(Subject::Header("retry-after".into()), Op::Exists, json!(false)),
            a(ptr("/n"), Op::Gt, json!(2)),
            a(ptr("/n"), Op::Lt, json!(3)),
            a(ptr("/list"), Op::Eq, json!([1.0, 2])),
            a(ptr("/status"), Op::Ne, json!("ok")),
            a(Subject::Status, Op::In, json!([200, 204])),
        ];
        for c in &checks {
            let res = c.check(&r);
            assert!(res.pass, "{c:?}: {res:?}");
            assert_eq!(res.reason, None);
        }
    }

    #[test]
    fn failures_say_why_and_never_panic() {
        let r = health();
        let reason = |c: Assertion| {
            let res = c.check(&r);
            assert!(!res.pass);
            (res.actual, res.reason.unwrap_or_default())
        };
        assert_eq!(
            reason(a(Subject::Status, Op::Eq, json!(401))),
            (Some(json!(200)), "expected 401, found 200".to_owned())
        );
        assert_eq!(
            reason(a(ptr("/checks/migrations/missing"), Op::Eq, json!(0))),
            (None, "no value at `/checks/migrations/missing`".to_owned())
        );
        assert_eq!(
            reason(a(ptr("/status"), Op::Lt, json!(1))),
            (Some(json!("degraded")), "expected a number, found a string".to_owned())
        );
        assert_eq!(
            reason(a(ptr("/n"), Op::Matches, json!("x"))),
            (Some(json!(2.5)), "expected a string, found a number".to_owned())
        );
        assert_eq!(
            reason(a(ptr("/status"), Op::In, json!(["ok"]))),
            (
                Some(json!("degraded")),
                "expected one of [\"ok\"], found \"degraded\"".to_owned()
            )
        );
        assert_eq!(
            reason(a(ptr("/status"), Op::Exists, json!(false))),
            (Some(json!(true)), "`/status` is present".to_owned())
        );
        assert_eq!(
            reason(a(Subject::Header("x-missing".into()), Op::Exists, json!(true))),
            (Some(json!(false)), "no header `x-missing`".to_owned())
        );
        assert_eq!(
            reason(a(ptr("/status"), Op::Matches, json!("^ok$"))),
            (Some(json!("degraded")), "\"degraded\" does not match `^ok$`".to_owned())
        );
        let no_body = Response::status(204);
        let res = a(ptr("/x"), Op::Eq, json!(1)).check(&no_body);
        assert_eq!(res.reason.as_deref(), Some("the response has no JSON body"));
        assert_eq!(
            serde_json::to_string(&res).unwrap_or_default(),
            r#"{"subject":"pointer","target":"/x","op":"eq","expected":1,"actual":null,"pass":false,"reason":"the response has no JSON body"}"#
        );
    }

    #[test]
    fn refuses_ill_typed_assertions() {
        let err = |s: Subject, op: Op, v: Value| Assertion::new(s, op, v).err().map(|e| e.message).unwrap_or_default();
        assert_eq!(
            err(Subject::Status, Op::Eq, json!("200")),
            "`eq` on `status` expects an HTTP status (100 to 999)"
        );
        assert_eq!(
            err(Subject::Status, Op::Exists, json!(true)),
            "`exists` does not apply to `status`"
        );
        assert_eq!(
            err(Subject::Status, Op::Matches, json!("2..")),
            "`matches` does not apply to `status`; use `in`"
        );
        assert_eq!(
            err(Subject::Header("a".into()), Op::Lt, json!(1)),
            "`lt` does not apply to a header"
        );
        assert_eq!(
            err(Subject::Header("a".into()), Op::In, json!(["a", 1])),
            "`in` on a header expects a list of a strings"
        );
        assert_eq!(err(ptr("/a"), Op::In, json!([])), "`in` expects a non-empty list");
        assert_eq!(err(ptr("/a"), Op::Gt, json!("1")), "`gt` expects a number");
        assert_eq!(
            err(Subject::Status, Op::Lt, json!(499.5)),
            "`lt` on `status` expects an HTTP status (100 to 999)"
        );
        assert_eq!(
            err(ptr("/a"), Op::Exists, json!("yes")),
            "`exists` expects true or false"
        );
        assert!(err(ptr("/a"), Op::Matches, json!("(")).starts_with("invalid regular expression"));
        assert!(err(ptr("a"), Op::Eq, json!(1)).contains("must start with `/`"));
        assert!(err(ptr("/a~2"), Op::Eq, json!(1)).contains("`~` must be followed"));
        assert!(Assertion::new(ptr(""), Op::Exists, json!(true)).is_ok());
        let code = |s: Subject, op: Op, v: Value| Assertion::new(s, op, v).err().map(|e| e.code);
        assert_eq!(code(ptr("x"), Op::Eq, json!(1)), Some("checklist.invalid_pointer"));
        assert_eq!(
            code(ptr("/x"), Op::Matches, json!("[")),
            Some("checklist.invalid_regex")
        );
        assert_eq!(code(ptr("/x"), Op::Lt, json!("1")), Some("checklist.template_invalid"));
    }

    #[test]
    fn template_form_and_placeholders() {
        let c = a(Subject::Status, Op::In, json!([200, 201]));
        assert_eq!(
            serde_json::to_string(&c).unwrap_or_default(),
            r#"{"status":{"in":[200,201]}}"#
        );
        let c = a(ptr("/tenant"), Op::Eq, json!("${tenant}-${secret.K}"));
        assert_eq!(
            serde_json::to_string(&c).unwrap_or_default(),
            r#"{"pointer":"/tenant","eq":"${tenant}-${secret.K}"}"#
        );
        assert_eq!(c.refs(), ["tenant", "secret.K"]);
        let params = BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]);
        let secrets: Secrets = [("K", "hunter22")].into_iter().collect();
        let scope = Scope::new(&params, &secrets);
        let r = Response::status(200).with_body(json!({"tenant": "acme-hunter22"}));
        let res = c.check_in(&r, &scope);
        assert!(res.pass);
        assert_eq!(res.expected, json!("acme-***"));
        let res = c.check_in(&r, &Scope::default());
        assert_eq!(res.reason.as_deref(), Some("placeholder `${tenant}` has no value"));
    }

    #[test]
    fn renders_for_sending_and_for_recording() {
        let template = RequestTemplate {
            method: Method::Post,
            path: "/t/${tenant}".into(),
            headers: [("x-api-key", "${secret.K}")].into_iter().collect(),
            json: Some(json!({"k": "${secret.K}", "t": "${tenant}"})),
        };
        assert_eq!(template.refs(), ["tenant", "secret.K"]);
        let params = BTreeMap::from([("tenant".to_owned(), "a b".to_owned())]);
        let secrets: Secrets = [("K", "key-123")].into_iter().collect();
        let r = template.render(&params, &secrets).unwrap();
        assert_eq!(r.send.path, "/t/a%20b");
        assert_eq!(r.send.headers.get("X-API-KEY"), Some("key-123"));
        assert_eq!(
            serde_json::to_string(&r.record).unwrap(),
            r#"{"method":"POST","path":"/t/a%20b","headers":{"x-api-key":"***"},"json":{"k":"***","t":"a b"}}"#
        );
        assert!(!format!("{r:?}").contains("key-123"));
        let err = template.render(&BTreeMap::new(), &Secrets::new()).unwrap_err();
        assert_eq!(err.to_string(), "missing inputs: parameters tenant; secrets K");
        assert_eq!(
            serde_json::to_string(&Subject::Header("a".into())).unwrap(),
            r#"{"header":"a"}"#
        );
        assert_eq!(serde_json::to_string(&Subject::Status).unwrap(), r#""status""#);
    }

    #[test]
    fn headers_and_responses_round_trip() {
        let text = r#"{"status":200,"headers":{"Content-Type":"application/json"},"body":{"a":1},"elapsed_ms":12}"#;
        let r: Response = serde_json::from_str(text).unwrap_or_else(|e| unreachable!("{e}"));
        assert_eq!(r.headers.get("content-type"), Some("application/json"));
        assert_eq!(serde_json::to_string(&r).unwrap_or_default(), text);
        assert!(serde_json::from_str::<Response>(r#"{"status":200,"colour":1}"#).is_err());
        assert_eq!(Method::parse("PATCH"), Some(Method::Patch));
        assert_eq!(Method::parse("get"), None);
        assert_eq!(Op::parse("matches"), Some(Op::Matches));
        assert_eq!(Op::parse("like"), None);
    }

    fn arb_json() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<f64>().prop_map(Value::from),
            "[a-z]{0,4}".prop_map(Value::String),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::btree_map("[a-z]{1,2}", inner, 0..4)
                    .prop_map(|m| Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn evaluation_never_panics(
            body in proptest::option::of(arb_json()),
            expected in arb_json(),
            p in "(/[a-z0-9~]{0,3}){0,3}",
            op in 0usize..7,
        ) {
            let op = [Op::Eq, Op::Ne, Op::In, Op::Lt, Op::Gt, Op::Exists, Op::Matches][op];
            let r = Response { status: 200, headers: Headers::new(), body, elapsed_ms: 0 };
            if let Ok(c) = Assertion::new(Subject::Pointer(p), op, expected) {
                let res = c.check(&r);
                prop_assert_eq!(res.pass, res.reason.is_none());
            }
        }
    }
}
