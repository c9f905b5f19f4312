//! Checklist templates, read strictly from YAML (the format is documented in
//! `docs/checklists.md`).
//!
//! Reading never stops at the first problem: every unknown key, wrong type, duplicate
//! id, unresolved reference and unknown placeholder is reported, each with a stable
//! code, the JSON Pointer of the offending value and its line and column.

use std::collections::BTreeSet;

use serde::Serialize;

use super::flow::{Capture, CaptureRole, Poll, Step};
use super::placeholder::{self, SECRET_PREFIX};
use super::probe::{Assertion, Headers, Method, Op, RequestTemplate, Subject, check_pointer};
use crate::decode::did_you_mean;
use crate::review::Role;
use crate::stage::Stage;
use crate::tree::{self, Key, Limits, Node, Pos, Value};

/// A checklist template: sections of items, and the exit criteria that say when a
/// run of it is complete.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Template {
    /// The template's id (`assisted-public-launch`).
    pub id: String,
    /// Its title.
    pub title: String,
    /// Where it comes from (a runbook, a spec section).
    pub source: String,
    /// The values a run must supply (`tenant`, `packet_id`), in order.
    pub parameters: Vec<Parameter>,
    /// The sections, in order.
    pub sections: Vec<Section>,
    /// The exit criteria, in order.
    pub exit_criteria: Vec<ExitCriterion>,
}

/// A value a run must supply, used as `${name}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Parameter {
    /// The name.
    pub name: String,
    /// What it is, for people.
    pub description: Option<String>,
}

/// A section of a template.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Section {
    /// Unique within the template.
    pub id: String,
    /// Its title.
    pub title: String,
    /// Its items, in order.
    pub items: Vec<Item>,
}

/// One item of a section.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Item {
    /// Unique within the template.
    pub id: String,
    /// What must be true, for people.
    pub text: String,
    /// How the item is checked.
    #[serde(flatten)]
    pub check: Check,
}

impl Item {
    /// The item's kind.
    pub fn kind(&self) -> ItemKind {
        match self.check {
            Check::Manual { .. } => ItemKind::Manual,
            Check::Probe { .. } => ItemKind::Probe,
            Check::Flow { .. } => ItemKind::Flow,
            Check::Gate { .. } => ItemKind::Gate,
        }
    }
}

/// How an item is checked.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Check {
    /// A person checks it and records evidence.
    Manual {
        /// Whether `done` needs evidence.
        evidence: Evidence,
    },
    /// One request and assertions on its response.
    Probe {
        /// The request.
        request: RequestTemplate,
        /// The assertions.
        expect: Vec<Assertion>,
    },
    /// An ordered chain of requests passing values along.
    Flow {
        /// The steps, in order.
        steps: Vec<Step>,
    },
    /// True when another part of the library says so.
    Gate {
        /// Which gate.
        gate: Gate,
    },
}

/// The kind of an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ItemKind {
    /// `manual`
    Manual,
    /// `probe`
    Probe,
    /// `flow`
    Flow,
    /// `gate`
    Gate,
}

impl ItemKind {
    /// Every kind as written in a template.
    pub const NAMES: [&'static str; 4] = ["manual", "probe", "flow", "gate"];

    /// The kind as written.
    pub fn as_str(self) -> &'static str {
        match self {
            ItemKind::Manual => "manual",
            ItemKind::Probe => "probe",
            ItemKind::Flow => "flow",
            ItemKind::Gate => "gate",
        }
    }

    fn parse(text: &str) -> Option<ItemKind> {
        match text {
            "manual" => Some(ItemKind::Manual),
            "probe" => Some(ItemKind::Probe),
            "flow" => Some(ItemKind::Flow),
            "gate" => Some(ItemKind::Gate),
            _ => None,
        }
    }
}

/// Whether a manual item marked `done` needs evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// At least one evidence reference (the default).
    Required,
    /// None needed.
    Optional,
}

/// A gate: a fact the caller resolves before evaluation (see [`crate::checklist::Facts`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Gate {
    /// The billing provisioning gate of a tenant is satisfied.
    Billing {
        /// The tenant (may hold `${parameter}` placeholders).
        tenant: String,
    },
    /// A packet has passed a stage.
    Stage {
        /// The packet id (may hold `${parameter}` placeholders).
        packet: String,
        /// The stage.
        stage: Stage,
    },
    /// The customer has used the product as its primary tool for enough weeks.
    Adoption {
        /// The least number of consecutive passing weeks.
        min_weeks: u32,
    },
    /// A role of the review matrix approved the packet's latest stored version.
    Review {
        /// The packet id (may hold `${parameter}` placeholders).
        packet: String,
        /// The reviewer role.
        role: Role,
    },
}

impl Gate {
    /// Every gate kind as written in a template.
    pub const KINDS: [&'static str; 4] = ["billing", "stage", "adoption", "review"];
}

/// An exit criterion: every condition it names must hold.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ExitCriterion {
    /// Unique within the template.
    pub id: String,
    /// What must be true, for people.
    pub text: String,
    /// Every section is complete.
    pub all_sections: bool,
    /// These sections are complete.
    pub sections: Vec<String>,
    /// These items (`section.item`) are done or validly waived.
    pub items: Vec<String>,
    /// The run's decision record is complete.
    pub decision_record: bool,
    /// No known gap is overdue.
    pub no_overdue_gaps: bool,
}

/// One problem in a template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// A stable code: `checklist.template_syntax`, `checklist.template_invalid`,
    /// `checklist.duplicate_id`, `checklist.unresolved_reference`,
    /// `checklist.unknown_placeholder`, `checklist.invalid_pointer` or
    /// `checklist.invalid_regex`.
    pub code: &'static str,
    /// JSON Pointer of the offending value in the template.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// For people.
    pub message: String,
}

/// A template that could not be read; lists every problem found, by position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("{}", summary(.problems))]
pub struct TemplateError {
    /// Every problem, ordered by line and column.
    pub problems: Vec<Problem>,
}

fn summary(problems: &[Problem]) -> String {
    let Some(p) = problems.first() else {
        return "invalid checklist template".to_owned();
    };
    let more = match problems.len() {
        0 | 1 => String::new(),
        n => format!(" and {} more", n - 1),
    };
    format!("{}: {} (line {}, column {}){more}", p.code, p.message, p.line, p.column)
}

impl TemplateError {
    /// The code of the first problem.
    pub fn code(&self) -> &'static str {
        self.problems.first().map_or("checklist.template_invalid", |p| p.code)
    }

    /// The canonical JSON form: `{"error": {"code": …, "problems": [{code, path, line, column, message}]}}`.
    pub fn to_json(&self) -> String {
        crate::report::canonical_json(&serde_json::json!({"error": {"code": self.code(), "problems": self.problems}}))
    }
}

/// The key of an item in runs, verdicts and exit criteria: `section.item`.
pub fn item_key(section: &str, item: &str) -> String {
    format!("{section}.{item}")
}

impl Template {
    /// Reads a template from YAML, refusing unknown keys; reports every problem.
    ///
    /// # Errors
    ///
    /// Every problem found, each with its code, path, line and column.
    pub fn from_yaml(text: &str) -> Result<Template, TemplateError> {
        let doc = tree::parse_yaml(text, &Limits::default()).map_err(|e| TemplateError {
            problems: vec![Problem {
                code: "checklist.template_syntax",
                path: String::new(),
                line: e.pos.line,
                column: e.pos.column,
                message: e.message,
            }],
        })?;
        let mut reader = Reader::default();
        let template = reader.template(&doc);
        let mut problems = reader.problems;
        problems.sort_by_key(|p| (p.line, p.column));
        match template {
            Some(t) if problems.is_empty() => Ok(t),
            _ => {
                if problems.is_empty() {
                    problems.push(Problem {
                        code: "checklist.template_invalid",
                        path: String::new(),
                        line: doc.pos.line,
                        column: doc.pos.column,
                        message: "the template could not be read".to_owned(),
                    });
                }
                Err(TemplateError { problems })
            }
        }
    }

    /// Every item with its section, in order.
    pub fn items(&self) -> impl Iterator<Item = (&Section, &Item)> {
        self.sections.iter().flat_map(|s| s.items.iter().map(move |i| (s, i)))
    }

    /// The item with key `section.item`.
    pub fn item(&self, key: &str) -> Option<&Item> {
        let (section, item) = key.split_once('.')?;
        self.section(section)?.items.iter().find(|i| i.id == item)
    }

    /// The section `id`.
    pub fn section(&self, id: &str) -> Option<&Section> {
        self.sections.iter().find(|s| s.id == id)
    }

    /// The declared parameter names, in order.
    pub fn parameter_names(&self) -> impl Iterator<Item = &str> {
        self.parameters.iter().map(|p| p.name.as_str())
    }

    /// The secret names (`${secret.NAME}`) used anywhere, sorted.
    pub fn secret_names(&self) -> Vec<String> {
        let mut out: BTreeSet<String> = BTreeSet::new();
        for (_, item) in self.items() {
            let refs: Vec<String> = match &item.check {
                Check::Probe { request, expect } => {
                    let mut r = request.refs();
                    r.extend(expect.iter().flat_map(Assertion::refs));
                    r
                }
                Check::Flow { steps } => steps.iter().flat_map(Step::refs).collect(),
                Check::Manual { .. } | Check::Gate { .. } => Vec::new(),
            };
            out.extend(
                refs.iter()
                    .filter_map(|r| r.strip_prefix(SECRET_PREFIX))
                    .map(str::to_owned),
            );
        }
        out.into_iter().collect()
    }
}

// ---- reading ----

const TOP: &[&str] = &["id", "title", "source", "parameters", "sections", "exit_criteria"];
const SECTION: &[&str] = &["id", "title", "items"];
const ITEM_COMMON: &[&str] = &["id", "text", "kind"];
const REQUEST: &[&str] = &["method", "path", "headers", "json"];
const STEP: &[&str] = &["id", "text", "request", "expect", "capture", "poll"];
const POLL: &[&str] = &["until", "every_ms", "max_attempts"];
const CAPTURE: &[&str] = &["pointer", "as"];
const CRITERION: &[&str] = &[
    "id",
    "text",
    "all_sections",
    "sections",
    "items",
    "decision_record",
    "no_overdue_gaps",
];
const ASSERTION_KEYS: &[&str] = &[
    "status", "header", "pointer", "eq", "ne", "in", "lt", "gt", "exists", "matches",
];
const STATUS_OPS: &[&str] = &["eq", "ne", "in", "lt", "gt"];

/// The longest id.
const MAX_ID: usize = 64;
/// The longest poll interval (one hour).
const MAX_EVERY_MS: u64 = 3_600_000;
/// The most poll attempts.
const MAX_ATTEMPTS: u64 = 1_000;

/// Which placeholders a text may use.
struct Allowed<'a> {
    params: &'a BTreeSet<String>,
    /// Captures of earlier steps.
    captures: &'a [String],
    /// Captures of this and later steps (for a precise message).
    later: &'a [String],
    secrets: bool,
}

#[derive(Default)]
struct Reader {
    problems: Vec<Problem>,
}

fn get<'n>(entries: &'n [(Key, Node)], key: &str) -> Option<&'n Node> {
    entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v)
}

/// Section ids and their item ids as written (strings only), for references.
fn written_ids(sections: &Node) -> Vec<(String, Vec<String>)> {
    let Value::Seq(list) = &sections.value else {
        return Vec::new();
    };
    list.iter()
        .filter_map(|s| {
            let id = s.get("id")?.as_str()?.to_owned();
            let items = match s.get("items").map(|n| &n.value) {
                Some(Value::Seq(items)) => items
                    .iter()
                    .filter_map(|i| Some(i.get("id")?.as_str()?.to_owned()))
                    .collect(),
                _ => Vec::new(),
            };
            Some((id, items))
        })
        .collect()
}

fn valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    id.len() <= MAX_ID
        && chars
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn valid_header_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~".contains(c))
}

impl Reader {
    fn push(&mut self, code: &'static str, path: &str, pos: Pos, message: String) {
        self.problems.push(Problem {
            code,
            path: path.to_owned(),
            line: pos.line,
            column: pos.column,
            message,
        });
    }

    fn bad(&mut self, path: &str, pos: Pos, message: String) {
        self.push("checklist.template_invalid", path, pos, message);
    }

    fn type_error(&mut self, node: &Node, path: &str, expected: &str) {
        self.bad(
            path,
            node.pos,
            format!("expected {expected}, found {}", node.type_name()),
        );
    }

    /// A mapping whose keys are all `known` and which has every `required` key.
    fn map<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        what: &str,
        known: &[&str],
        required: &[&str],
    ) -> Option<&'n [(Key, Node)]> {
        let Value::Map(entries) = &node.value else {
            self.type_error(node, path, "a mapping");
            return None;
        };
        for (key, _) in entries {
            if known.contains(&key.name.as_str()) {
                continue;
            }
            let hint = match did_you_mean(&key.name, known.iter().copied()) {
                Some(best) => format!("did you mean `{best}`?"),
                None => format!("expected one of {}", known.join(", ")),
            };
            self.bad(
                &tree::join(path, &key.name),
                key.pos,
                format!("unknown field `{}` in {what}; {hint}", key.name),
            );
        }
        for key in required {
            if get(entries, key).is_none() {
                self.bad(&tree::join(path, key), node.pos, format!("{what} needs `{key}`"));
            }
        }
        Some(entries)
    }

    fn list<'n>(&mut self, node: &'n Node, path: &str) -> Option<&'n [Node]> {
        match &node.value {
            Value::Seq(items) => Some(items),
            _ => {
                self.type_error(node, path, "a list");
                None
            }
        }
    }

    /// A non-blank string.
    fn text(&mut self, node: &Node, path: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) if !s.trim().is_empty() => Some(s.clone()),
            Value::Str(_) => {
                self.bad(path, node.pos, "must not be blank".to_owned());
                None
            }
            _ => {
                self.type_error(node, path, "a string");
                None
            }
        }
    }

    /// The `id` of the mapping `e` at `path`, checked, and not among `seen` (a
    /// `checklist.duplicate_id` with `twice(id)` otherwise, clearing `ok`); a valid
    /// id is added to `seen` either way.
    fn unique_id(
        &mut self,
        e: &[(Key, Node)],
        path: &str,
        seen: &mut Vec<String>,
        ok: &mut bool,
        twice: impl FnOnce(&str) -> String,
    ) -> Option<String> {
        let node = get(e, "id")?;
        let id_path = tree::join(path, "id");
        let id = self.id(node, &id_path)?;
        if seen.contains(&id) {
            self.push("checklist.duplicate_id", &id_path, node.pos, twice(&id));
            *ok = false;
        }
        seen.push(id.clone());
        Some(id)
    }

    fn id(&mut self, node: &Node, path: &str) -> Option<String> {
        let id = self.text(node, path)?;
        if valid_id(&id) {
            Some(id)
        } else {
            self.bad(
                path,
                node.pos,
                format!("invalid id `{id}`; use lower-case letters, digits, `_` and `-` (at most {MAX_ID}), starting with a letter or digit"),
            );
            None
        }
    }

    /// A parameter or capture name.
    fn name(&mut self, text: &str, path: &str, pos: Pos) -> bool {
        if !placeholder::valid_name(text) {
            self.bad(
                path,
                pos,
                format!("invalid name `{text}`; use letters, digits and `_`, not starting with a digit"),
            );
            false
        } else if text == "secret" {
            self.bad(path, pos, "`secret` is reserved for `${secret.NAME}`".to_owned());
            false
        } else {
            true
        }
    }

    fn uint(&mut self, node: &Node, path: &str, min: u64, max: u64) -> Option<u64> {
        match node.value {
            Value::Int(i) => match u64::try_from(i) {
                Ok(n) if (min..=max).contains(&n) => Some(n),
                _ => {
                    self.bad(path, node.pos, format!("must be between {min} and {max}"));
                    None
                }
            },
            _ => {
                self.type_error(node, path, "an integer");
                None
            }
        }
    }

    /// A flag that may only be written `true`.
    fn flag(&mut self, node: Option<&Node>, path: &str) -> bool {
        match node.map(|n| &n.value) {
            None => false,
            Some(Value::Bool(true)) => true,
            Some(Value::Bool(false)) => {
                if let Some(n) = node {
                    self.bad(path, n.pos, "write `true` or leave the field out".to_owned());
                }
                false
            }
            Some(_) => {
                if let Some(n) = node {
                    self.type_error(n, path, "`true`");
                }
                false
            }
        }
    }

    /// Checks the placeholders of one text.
    fn refs(&mut self, text: &str, path: &str, pos: Pos, allowed: &Allowed) {
        let names = match placeholder::refs(text) {
            Ok(names) => names,
            Err(e) => {
                self.push("checklist.unknown_placeholder", path, pos, e.message);
                return;
            }
        };
        for name in names {
            let known = if let Some(secret) = name.strip_prefix(SECRET_PREFIX) {
                if allowed.secrets {
                    continue;
                }
                format!("a secret (`{secret}`) cannot be used here; only parameters can")
            } else if allowed.params.contains(&name) || allowed.captures.contains(&name) {
                continue;
            } else if allowed.later.contains(&name) {
                format!("`${{{name}}}` is captured by this or a later step; a step can only use earlier captures")
            } else {
                let declared: Vec<&str> = allowed.params.iter().map(String::as_str).collect();
                let declared = if declared.is_empty() {
                    "none are declared".to_owned()
                } else {
                    format!("declared: {}", declared.join(", "))
                };
                format!(
                    "`${{{name}}}` is not a declared parameter or an earlier capture; add it under `parameters` ({declared})"
                )
            };
            self.push("checklist.unknown_placeholder", path, pos, known);
        }
    }

    /// Checks the placeholders of every string inside a value.
    fn json_refs(&mut self, node: &Node, path: &str, allowed: &Allowed) {
        match &node.value {
            Value::Str(s) => self.refs(s, path, node.pos, allowed),
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.json_refs(item, &tree::join(path, &i.to_string()), allowed);
                }
            }
            Value::Map(entries) => {
                for (k, v) in entries {
                    self.json_refs(v, &tree::join(path, &k.name), allowed);
                }
            }
            _ => {}
        }
    }

    fn template(&mut self, doc: &Node) -> Option<Template> {
        let entries = self.map(
            doc,
            "",
            "a template",
            TOP,
            &["id", "title", "source", "sections", "exit_criteria"],
        )?;
        let id = get(entries, "id").and_then(|n| self.id(n, "/id"));
        let title = get(entries, "title").and_then(|n| self.text(n, "/title"));
        let source = get(entries, "source").and_then(|n| self.text(n, "/source"));
        let parameters = match get(entries, "parameters") {
            Some(n) => self.parameters(n).unwrap_or_default(),
            None => Vec::new(),
        };
        let params: BTreeSet<String> = parameters.iter().map(|p| p.name.clone()).collect();
        let sections = get(entries, "sections").and_then(|n| self.sections(n, &params));
        // References resolve against the ids as written, so that exit criteria are
        // checked even when a section has problems of its own.
        let written = get(entries, "sections").map(written_ids).unwrap_or_default();
        let criteria = get(entries, "exit_criteria").and_then(|n| self.criteria(n, &written));
        Some(Template {
            id: id?,
            title: title?,
            source: source?,
            parameters,
            sections: sections?,
            exit_criteria: criteria?,
        })
    }

    fn parameters(&mut self, node: &Node) -> Option<Vec<Parameter>> {
        let path = "/parameters";
        let items = self.list(node, path)?;
        let mut out: Vec<Parameter> = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let p = tree::join(path, &i.to_string());
            let (name_node, name_path, description) = match &item.value {
                Value::Str(_) => (item, p.clone(), None),
                _ => {
                    let Some(e) = self.map(item, &p, "a parameter", &["name", "description"], &["name"]) else {
                        continue;
                    };
                    let Some(n) = get(e, "name") else { continue };
                    let description = get(e, "description").and_then(|d| self.text(d, &tree::join(&p, "description")));
                    (n, tree::join(&p, "name"), description)
                }
            };
            let Some(name) = self.text(name_node, &name_path) else {
                continue;
            };
            if !self.name(&name, &name_path, name_node.pos) {
                continue;
            }
            if out.iter().any(|q| q.name == name) {
                self.push(
                    "checklist.duplicate_id",
                    &name_path,
                    name_node.pos,
                    format!("parameter `{name}` is declared twice"),
                );
                continue;
            }
            out.push(Parameter { name, description });
        }
        Some(out)
    }

    fn sections(&mut self, node: &Node, params: &BTreeSet<String>) -> Option<Vec<Section>> {
        let path = "/sections";
        let list = self.list(node, path)?;
        if list.is_empty() {
            self.bad(path, node.pos, "a template needs at least one section".to_owned());
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        let mut section_ids: Vec<String> = Vec::new();
        let mut item_ids: Vec<(String, String)> = Vec::new();
        for (i, s) in list.iter().enumerate() {
            let p = tree::join(path, &i.to_string());
            let Some(e) = self.map(s, &p, "a section", SECTION, SECTION) else {
                ok = false;
                continue;
            };
            let id = self.unique_id(e, &p, &mut section_ids, &mut ok, |id| {
                format!("section `{id}` is defined twice")
            });
            let title = get(e, "title").and_then(|n| self.text(n, &tree::join(&p, "title")));
            let items = get(e, "items").and_then(|n| {
                let ip = tree::join(&p, "items");
                let list = self.list(n, &ip)?;
                if list.is_empty() {
                    self.bad(&ip, n.pos, "a section needs at least one item".to_owned());
                    return None;
                }
                let mut items = Vec::new();
                let mut all = true;
                for (j, item) in list.iter().enumerate() {
                    let jp = tree::join(&ip, &j.to_string());
                    match self.item(item, &jp, params) {
                        Some(it) => {
                            let section = id.clone().unwrap_or_default();
                            if let Some((first, _)) = item_ids.iter().find(|(_, other)| *other == it.id) {
                                let at = match &item.value {
                                    Value::Map(_) => item.get("id").map_or(item.pos, |n| n.pos),
                                    _ => item.pos,
                                };
                                self.push(
                                    "checklist.duplicate_id",
                                    &tree::join(&jp, "id"),
                                    at,
                                    format!("item `{}` is already defined in section `{first}`", it.id),
                                );
                                all = false;
                            }
                            item_ids.push((section, it.id.clone()));
                            items.push(it);
                        }
                        None => all = false,
                    }
                }
                all.then_some(items)
            });
            match (id, title, items) {
                (Some(id), Some(title), Some(items)) => out.push(Section { id, title, items }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn item(&mut self, node: &Node, path: &str, params: &BTreeSet<String>) -> Option<Item> {
        let kind_node = node.get("kind");
        let kind = match kind_node {
            None => None,
            Some(n) => {
                let kp = tree::join(path, "kind");
                let text = self.text(n, &kp)?;
                let kind = ItemKind::parse(&text);
                if kind.is_none() {
                    let hint = did_you_mean(&text, ItemKind::NAMES)
                        .map_or_else(String::new, |b| format!("did you mean `{b}`? "));
                    self.bad(
                        &kp,
                        n.pos,
                        format!("unknown item kind `{text}`; {hint}expected one of manual, probe, flow, gate"),
                    );
                    return None;
                }
                kind
            }
        };
        let (extra, required): (&[&str], &[&str]) = match kind {
            Some(ItemKind::Manual) => (&["evidence"], &[]),
            Some(ItemKind::Probe) => (&["request", "expect"], &["request", "expect"]),
            Some(ItemKind::Flow) => (&["steps"], &["steps"]),
            Some(ItemKind::Gate) => (&["gate"], &["gate"]),
            // Without a kind, every kind's keys are known: only `kind` is reported.
            None => (&["evidence", "request", "expect", "steps", "gate"], &[]),
        };
        let known: Vec<&str> = ITEM_COMMON.iter().chain(extra).copied().collect();
        let mut needed: Vec<&str> = ITEM_COMMON.to_vec();
        needed.extend(required);
        let what = kind.map_or_else(|| "an item".to_owned(), |k| format!("a {} item", k.as_str()));
        let e = self.map(node, path, &what, &known, &needed)?;
        let id = get(e, "id").and_then(|n| self.id(n, &tree::join(path, "id")));
        let text = get(e, "text").and_then(|n| self.text(n, &tree::join(path, "text")));
        let allowed = Allowed {
            params,
            captures: &[],
            later: &[],
            secrets: true,
        };
        let check = match kind? {
            ItemKind::Manual => {
                let evidence = match get(e, "evidence") {
                    None => Some(Evidence::Required),
                    Some(n) => {
                        let ep = tree::join(path, "evidence");
                        match self.text(n, &ep).as_deref() {
                            Some("required") => Some(Evidence::Required),
                            Some("optional") => Some(Evidence::Optional),
                            Some(other) => {
                                self.bad(
                                    &ep,
                                    n.pos,
                                    format!("unknown evidence `{other}`; expected required or optional"),
                                );
                                None
                            }
                            None => None,
                        }
                    }
                };
                evidence.map(|evidence| Check::Manual { evidence })
            }
            ItemKind::Probe => {
                let request = get(e, "request").and_then(|n| self.request(n, &tree::join(path, "request"), &allowed));
                let expect = get(e, "expect").and_then(|n| self.assertions(n, &tree::join(path, "expect"), &allowed));
                match (request, expect) {
                    (Some(request), Some(expect)) => Some(Check::Probe { request, expect }),
                    _ => None,
                }
            }
            ItemKind::Flow => get(e, "steps")
                .and_then(|n| self.steps(n, &tree::join(path, "steps"), params))
                .map(|steps| Check::Flow { steps }),
            ItemKind::Gate => get(e, "gate")
                .and_then(|n| self.gate(n, &tree::join(path, "gate"), params))
                .map(|gate| Check::Gate { gate }),
        };
        Some(Item {
            id: id?,
            text: text?,
            check: check?,
        })
    }

    fn request(&mut self, node: &Node, path: &str, allowed: &Allowed) -> Option<RequestTemplate> {
        let e = self.map(node, path, "a request", REQUEST, &["method", "path"])?;
        let method = get(e, "method").and_then(|n| {
            let mp = tree::join(path, "method");
            let text = self.text(n, &mp)?;
            let method = Method::parse(&text);
            if method.is_none() {
                self.bad(
                    &mp,
                    n.pos,
                    format!("unknown method `{text}`; expected one of {}", Method::NAMES.join(", ")),
                );
            }
            method
        });
        let url = get(e, "path").and_then(|n| {
            let pp = tree::join(path, "path");
            let text = self.text(n, &pp)?;
            if !text.starts_with('/') {
                self.bad(&pp, n.pos, format!("path `{text}` must start with `/`"));
                return None;
            }
            if text.chars().any(|c| c.is_whitespace() || c.is_control()) {
                self.bad(
                    &pp,
                    n.pos,
                    "path must not contain spaces or control characters; percent-encode them".to_owned(),
                );
                return None;
            }
            self.refs(&text, &pp, n.pos, allowed);
            Some(text)
        });
        let mut headers_ok = true;
        let mut headers = Headers::new();
        if let Some(n) = get(e, "headers") {
            let hp = tree::join(path, "headers");
            match &n.value {
                Value::Map(entries) => {
                    let mut seen: Vec<String> = Vec::new();
                    for (k, v) in entries {
                        let kp = tree::join(&hp, &k.name);
                        if !valid_header_name(&k.name) {
                            self.bad(&kp, k.pos, format!("invalid header name `{}`", k.name));
                            headers_ok = false;
                            continue;
                        }
                        let lower = k.name.to_ascii_lowercase();
                        if seen.contains(&lower) {
                            self.push(
                                "checklist.duplicate_id",
                                &kp,
                                k.pos,
                                format!("header `{}` is given twice", k.name),
                            );
                            headers_ok = false;
                            continue;
                        }
                        seen.push(lower);
                        match &v.value {
                            Value::Str(s) => {
                                self.refs(s, &kp, v.pos, allowed);
                                headers.push(k.name.clone(), s.clone());
                            }
                            _ => {
                                self.type_error(v, &kp, "a string (quote numbers)");
                                headers_ok = false;
                            }
                        }
                    }
                }
                _ => {
                    self.type_error(n, &hp, "a mapping of header names to values");
                    headers_ok = false;
                }
            }
        }
        let json = get(e, "json").map(|n| {
            self.json_refs(n, &tree::join(path, "json"), allowed);
            n.to_json()
        });
        Some(RequestTemplate {
            method: method?,
            path: url?,
            headers: headers_ok.then_some(headers)?,
            json,
        })
    }

    fn assertions(&mut self, node: &Node, path: &str, allowed: &Allowed) -> Option<Vec<Assertion>> {
        let list = self.list(node, path)?;
        if list.is_empty() {
            self.bad(path, node.pos, "needs at least one assertion".to_owned());
            return None;
        }
        let mut out = Vec::new();
        let mut ok = true;
        for (i, a) in list.iter().enumerate() {
            match self.assertion(a, &tree::join(path, &i.to_string()), allowed) {
                Some(a) => out.push(a),
                None => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn assertion(&mut self, node: &Node, path: &str, allowed: &Allowed) -> Option<Assertion> {
        let e = self.map(node, path, "an assertion", ASSERTION_KEYS, &[])?;
        let subjects: Vec<&(Key, Node)> = e
            .iter()
            .filter(|(k, _)| matches!(k.name.as_str(), "status" | "header" | "pointer"))
            .collect();
        let ops: Vec<&(Key, Node)> = e.iter().filter(|(k, _)| Op::parse(&k.name).is_some()).collect();
        let [(skey, snode)] = subjects.as_slice() else {
            self.bad(
                path,
                node.pos,
                "an assertion needs exactly one of `status`, `header` or `pointer`".to_owned(),
            );
            return None;
        };
        let sp = tree::join(path, &skey.name);
        let (subject, op, op_node, op_path) = if skey.name == "status" {
            if let Some((k, _)) = ops.first() {
                self.bad(
                    &tree::join(path, &k.name),
                    k.pos,
                    format!("with `status`, put the operator inside: `status: {{{}: …}}`", k.name),
                );
                return None;
            }
            match &snode.value {
                Value::Int(_) => (Subject::Status, Op::Eq, snode, sp.clone()),
                Value::Seq(_) => (Subject::Status, Op::In, snode, sp.clone()),
                Value::Map(_) => {
                    let inner_ops = self.map(snode, &sp, "a status assertion", STATUS_OPS, &[])?;
                    let [(k, v)] = inner_ops else {
                        self.bad(
                            &sp,
                            snode.pos,
                            "write exactly one operator: eq, ne, in, lt or gt".to_owned(),
                        );
                        return None;
                    };
                    let op = Op::parse(&k.name)?;
                    (Subject::Status, op, v, tree::join(&sp, &k.name))
                }
                _ => {
                    self.type_error(snode, &sp, "a status, a list of statuses or an operator mapping");
                    return None;
                }
            }
        } else {
            let target = match snode.as_str() {
                // An empty pointer is the whole body.
                Some(p) if skey.name == "pointer" => p.to_owned(),
                _ => self.text(snode, &sp)?,
            };
            let subject = if skey.name == "header" {
                if !valid_header_name(&target) {
                    self.bad(&sp, snode.pos, format!("invalid header name `{target}`"));
                    return None;
                }
                Subject::Header(target)
            } else {
                if let Err(message) = check_pointer(&target) {
                    self.push("checklist.invalid_pointer", &sp, snode.pos, message);
                    return None;
                }
                Subject::Pointer(target)
            };
            let [(k, v)] = ops.as_slice() else {
                self.bad(
                    path,
                    node.pos,
                    format!("an assertion needs exactly one operator: {}", Op::NAMES.join(", ")),
                );
                return None;
            };
            let op = Op::parse(&k.name)?;
            (subject, op, v, tree::join(path, &k.name))
        };
        if op != Op::Matches {
            self.json_refs(op_node, &op_path, allowed);
        }
        match Assertion::new(subject, op, op_node.to_json()) {
            Ok(a) => Some(a),
            Err(e) => {
                self.push(e.code, &op_path, op_node.pos, e.message);
                None
            }
        }
    }

    fn steps(&mut self, node: &Node, path: &str, params: &BTreeSet<String>) -> Option<Vec<Step>> {
        let list = self.list(node, path)?;
        if list.is_empty() {
            self.bad(path, node.pos, "a flow needs at least one step".to_owned());
            return None;
        }
        // Every capture name of every step, in order, for "later step" messages.
        let all: Vec<Vec<String>> = list
            .iter()
            .map(|s| match s.get("capture").map(|c| &c.value) {
                Some(Value::Map(entries)) => entries.iter().map(|(k, _)| k.name.clone()).collect(),
                _ => Vec::new(),
            })
            .collect();
        let mut earlier: Vec<String> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        let mut out = Vec::new();
        let mut ok = true;
        for (i, s) in list.iter().enumerate() {
            let p = tree::join(path, &i.to_string());
            let later: Vec<String> = all.iter().skip(i).flatten().cloned().collect();
            let allowed = Allowed {
                params,
                captures: &earlier,
                later: &later,
                secrets: true,
            };
            let Some(e) = self.map(s, &p, "a step", STEP, &["id", "request", "expect"]) else {
                ok = false;
                continue;
            };
            let id = self.unique_id(e, &p, &mut ids, &mut ok, |id| {
                format!("step `{id}` is defined twice in this flow")
            });
            let text = match get(e, "text") {
                Some(n) => self.text(n, &tree::join(&p, "text")).map(Some),
                None => Some(None),
            };
            let request = get(e, "request").and_then(|n| self.request(n, &tree::join(&p, "request"), &allowed));
            let expect = get(e, "expect").and_then(|n| self.assertions(n, &tree::join(&p, "expect"), &allowed));
            let poll = match get(e, "poll") {
                Some(n) => self.poll(n, &tree::join(&p, "poll"), &allowed).map(Some),
                None => Some(None),
            };
            let capture = match get(e, "capture") {
                Some(n) => self.captures(n, &tree::join(&p, "capture"), params, &earlier),
                None => Some(Vec::new()),
            };
            // Names as written, so one bad capture does not cascade into later steps.
            earlier.extend(all.get(i).into_iter().flatten().cloned());
            match (id, text, request, expect, capture, poll) {
                (Some(id), Some(text), Some(request), Some(expect), Some(capture), Some(poll)) => out.push(Step {
                    id,
                    text,
                    request,
                    expect,
                    capture,
                    poll,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn poll(&mut self, node: &Node, path: &str, allowed: &Allowed) -> Option<Poll> {
        let e = self.map(node, path, "a poll", POLL, POLL)?;
        let until = get(e, "until").and_then(|n| self.assertions(n, &tree::join(path, "until"), allowed));
        let every_ms = get(e, "every_ms").and_then(|n| self.uint(n, &tree::join(path, "every_ms"), 0, MAX_EVERY_MS));
        let max_attempts = get(e, "max_attempts")
            .and_then(|n| self.uint(n, &tree::join(path, "max_attempts"), 1, MAX_ATTEMPTS))
            .and_then(|n| u32::try_from(n).ok());
        Some(Poll {
            until: until?,
            every_ms: every_ms?,
            max_attempts: max_attempts?,
        })
    }

    fn captures(
        &mut self,
        node: &Node,
        path: &str,
        params: &BTreeSet<String>,
        earlier: &[String],
    ) -> Option<Vec<Capture>> {
        let Value::Map(entries) = &node.value else {
            self.type_error(node, path, "a mapping of names to JSON Pointers");
            return None;
        };
        let mut out: Vec<Capture> = Vec::new();
        let mut ok = true;
        for (k, v) in entries {
            let kp = tree::join(path, &k.name);
            if !self.name(&k.name, &kp, k.pos) {
                ok = false;
                continue;
            }
            if params.contains(&k.name) || earlier.contains(&k.name) {
                let what = if params.contains(&k.name) {
                    "a parameter"
                } else {
                    "an earlier capture"
                };
                self.push(
                    "checklist.duplicate_id",
                    &kp,
                    k.pos,
                    format!("capture `{}` has the name of {what}; pick another name", k.name),
                );
                ok = false;
                continue;
            }
            let (pointer_node, pointer_path, role) = match &v.value {
                Value::Str(_) => (v, kp.clone(), Some(CaptureRole::Value)),
                _ => {
                    let Some(e) = self.map(v, &kp, "a capture", CAPTURE, &["pointer"]) else {
                        ok = false;
                        continue;
                    };
                    let role = match get(e, "as") {
                        None => Some(CaptureRole::Value),
                        Some(n) => {
                            let ap = tree::join(&kp, "as");
                            let text = self.text(n, &ap);
                            let role = text.as_deref().and_then(CaptureRole::parse);
                            if let (Some(t), None) = (&text, role) {
                                self.bad(
                                    &ap,
                                    n.pos,
                                    format!("unknown capture role `{t}`; expected one of value, secret, job_id"),
                                );
                            }
                            role
                        }
                    };
                    let Some(pn) = get(e, "pointer") else {
                        ok = false;
                        continue;
                    };
                    (pn, tree::join(&kp, "pointer"), role)
                }
            };
            let pointer = match &pointer_node.value {
                Value::Str(s) => Some(s.clone()),
                _ => {
                    self.type_error(pointer_node, &pointer_path, "a JSON Pointer");
                    None
                }
            };
            if let Some(p) = &pointer
                && let Err(message) = check_pointer(p)
            {
                self.push("checklist.invalid_pointer", &pointer_path, pointer_node.pos, message);
                ok = false;
                continue;
            }
            match (pointer, role) {
                (Some(pointer), Some(role)) => out.push(Capture {
                    name: k.name.clone(),
                    pointer,
                    role,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    fn gate(&mut self, node: &Node, path: &str, params: &BTreeSet<String>) -> Option<Gate> {
        let kp = tree::join(path, "kind");
        let kind = match node.get("kind") {
            Some(n) => self.text(n, &kp),
            None => {
                let every = ["kind", "tenant", "packet", "stage", "min_weeks", "role"];
                self.map(node, path, "a gate", &every, &["kind"]);
                return None;
            }
        }?;
        let allowed = Allowed {
            params,
            captures: &[],
            later: &[],
            secrets: false,
        };
        match kind.as_str() {
            "billing" => {
                let e = self.map(node, path, "a billing gate", &["kind", "tenant"], &["kind", "tenant"])?;
                let n = get(e, "tenant")?;
                let tp = tree::join(path, "tenant");
                let tenant = self.text(n, &tp)?;
                self.refs(&tenant, &tp, n.pos, &allowed);
                Some(Gate::Billing { tenant })
            }
            "stage" => {
                let keys = ["kind", "packet", "stage"];
                let e = self.map(node, path, "a stage gate", &keys, &keys)?;
                let packet = get(e, "packet").and_then(|n| {
                    let pp = tree::join(path, "packet");
                    let packet = self.text(n, &pp)?;
                    self.refs(&packet, &pp, n.pos, &allowed);
                    Some(packet)
                });
                let stage = get(e, "stage").and_then(|n| {
                    let sp = tree::join(path, "stage");
                    let text = match &n.value {
                        Value::Int(i) => i.to_string(),
                        _ => self.text(n, &sp)?,
                    };
                    match text.parse::<Stage>() {
                        Ok(s) => Some(s),
                        Err(e) => {
                            self.bad(&sp, n.pos, e.to_string());
                            None
                        }
                    }
                });
                Some(Gate::Stage {
                    packet: packet?,
                    stage: stage?,
                })
            }
            "adoption" => {
                let keys = ["kind", "min_weeks"];
                let e = self.map(node, path, "an adoption gate", &keys, &keys)?;
                let weeks = get(e, "min_weeks").and_then(|n| self.uint(n, &tree::join(path, "min_weeks"), 1, 104))?;
                Some(Gate::Adoption {
                    min_weeks: u32::try_from(weeks).ok()?,
                })
            }
            "review" => {
                let keys = ["kind", "packet", "role"];
                let e = self.map(node, path, "a review gate", &keys, &keys)?;
                let packet = get(e, "packet").and_then(|n| {
                    let pp = tree::join(path, "packet");
                    let packet = self.text(n, &pp)?;
                    self.refs(&packet, &pp, n.pos, &allowed);
                    Some(packet)
                });
                let role = get(e, "role").and_then(|n| {
                    let rp = tree::join(path, "role");
                    let text = self.text(n, &rp)?;
                    let role = Role::from_name(&text);
                    if role.is_none() {
                        let hint = did_you_mean(&text, Role::NAMES.iter().copied())
                            .map_or_else(String::new, |b| format!("did you mean `{b}`? "));
                        self.bad(
                            &rp,
                            n.pos,
                            format!(
                                "unknown review role `{text}`; {hint}expected one of {}",
                                Role::NAMES.join(", ")
                            ),
                        );
                    }
                    role
                });
                Some(Gate::Review {
                    packet: packet?,
                    role: role?,
                })
            }
            other => {
                let n = node.get("kind").map_or(node.pos, |n| n.pos);
                let hint =
                    did_you_mean(other, Gate::KINDS).map_or_else(String::new, |b| format!("did you mean `{b}`? "));
                self.bad(
                    &kp,
                    n,
                    format!(
                        "unknown gate kind `{other}`; {hint}expected one of {}",
                        Gate::KINDS.join(", ")
                    ),
                );
                None
            }
        }
    }

    fn criteria(&mut self, node: &Node, sections: &[(String, Vec<String>)]) -> Option<Vec<ExitCriterion>> {
        let path = "/exit_criteria";
        let list = self.list(node, path)?;
        if list.is_empty() {
            self.bad(
                path,
                node.pos,
                "a template needs at least one exit criterion".to_owned(),
            );
            return None;
        }
        let mut out: Vec<ExitCriterion> = Vec::new();
        let mut ids: Vec<String> = Vec::new();
        let mut ok = true;
        for (i, c) in list.iter().enumerate() {
            let p = tree::join(path, &i.to_string());
            let Some(e) = self.map(c, &p, "an exit criterion", CRITERION, &["id", "text"]) else {
                ok = false;
                continue;
            };
            let id = self.unique_id(e, &p, &mut ids, &mut ok, |id| {
                format!("exit criterion `{id}` is defined twice")
            });
            let text = get(e, "text").and_then(|n| self.text(n, &tree::join(&p, "text")));
            let all_sections = self.flag(get(e, "all_sections"), &tree::join(&p, "all_sections"));
            let decision_record = self.flag(get(e, "decision_record"), &tree::join(&p, "decision_record"));
            let no_overdue_gaps = self.flag(get(e, "no_overdue_gaps"), &tree::join(&p, "no_overdue_gaps"));
            let section_refs = self.refs_list(e, &p, "sections", |r| sections.iter().any(|(s, _)| s == r));
            let item_refs = self.refs_list(e, &p, "items", |r| {
                r.split_once('.').is_some_and(|(s, i)| {
                    sections
                        .iter()
                        .any(|(sec, items)| sec == s && items.iter().any(|it| it == i))
                })
            });
            let (Some(section_refs), Some(item_refs)) = (section_refs, item_refs) else {
                ok = false;
                continue;
            };
            let conditions = [
                "all_sections",
                "sections",
                "items",
                "decision_record",
                "no_overdue_gaps",
            ];
            if !conditions.iter().any(|k| get(e, k).is_some()) {
                self.bad(
                    &p,
                    c.pos,
                    "an exit criterion needs at least one of all_sections, sections, items, decision_record, no_overdue_gaps"
                        .to_owned(),
                );
                ok = false;
                continue;
            }
            if !all_sections && !decision_record && !no_overdue_gaps && section_refs.is_empty() && item_refs.is_empty()
            {
                // A condition was written but is unusable (reported above).
                ok = false;
                continue;
            }
            match (id, text) {
                (Some(id), Some(text)) => out.push(ExitCriterion {
                    id,
                    text,
                    all_sections,
                    sections: section_refs,
                    items: item_refs,
                    decision_record,
                    no_overdue_gaps,
                }),
                _ => ok = false,
            }
        }
        ok.then_some(out)
    }

    /// A list of references (`sections` or `items`) that must each resolve.
    fn refs_list(
        &mut self,
        entries: &[(Key, Node)],
        path: &str,
        key: &str,
        resolves: impl Fn(&str) -> bool,
    ) -> Option<Vec<String>> {
        let Some(node) = get(entries, key) else {
            return Some(Vec::new());
        };
        let lp = tree::join(path, key);
        let list = self.list(node, &lp)?;
        let mut out: Vec<String> = Vec::new();
        let mut ok = true;
        for (i, r) in list.iter().enumerate() {
            let rp = tree::join(&lp, &i.to_string());
            let Some(text) = self.text(r, &rp) else {
                ok = false;
                continue;
            };
            if out.contains(&text) {
                self.push(
                    "checklist.duplicate_id",
                    &rp,
                    r.pos,
                    format!("`{text}` is listed twice"),
                );
                ok = false;
            } else if !resolves(&text) {
                let what = if key == "items" {
                    "no item `section.item` is"
                } else {
                    "no section is"
                };
                self.push(
                    "checklist.unresolved_reference",
                    &rp,
                    r.pos,
                    format!("{what} named `{text}`"),
                );
                ok = false;
            } else {
                out.push(text);
            }
        }
        ok.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) const SMALL: &str = r#"
id: demo
title: Demo launch
source: docs/runbooks/demo.md
parameters:
  - tenant
  - {name: packet_id, description: The onboarding packet}
sections:
  - id: infra
    title: Infrastructure ready
    items:
      - id: health
        text: GET /health is 200 with no pending migrations
        kind: probe
        request: {method: GET, path: /health}
        expect:
          - status: 200
          - {pointer: /status, in: [ok, degraded]}
          - {pointer: /checks/migrations/pending, eq: 0}
      - id: env
        text: Required env vars are present
        kind: manual
  - id: billing
    title: Billing
    items:
      - id: gate
        text: Payment gate satisfied
        kind: gate
        gate: {kind: billing, tenant: "${tenant}"}
      - id: stage
        text: Packet passed UAT
        kind: gate
        gate: {kind: stage, packet: "${packet_id}", stage: uat_evidence}
      - id: notes
        text: Billing model confirmed
        kind: manual
        evidence: optional
exit_criteria:
  - {id: all, text: All sections checked, all_sections: true}
  - {id: health_ok, text: Health is green, items: [infra.health], sections: [billing], decision_record: true}
"#;

    fn problems(text: &str) -> Vec<(String, String, u32, u32)> {
        match Template::from_yaml(text) {
            Ok(_) => Vec::new(),
            Err(e) => e
                .problems
                .into_iter()
                .map(|p| (p.code.to_owned(), p.path, p.line, p.column))
                .collect(),
        }
    }

    #[test]
    fn reads_a_template() {
        let t = Template::from_yaml(SMALL).unwrap();
        assert_eq!(t.id, "demo");
        assert_eq!(t.parameter_names().collect::<Vec<_>>(), ["tenant", "packet_id"]);
        assert_eq!(t.items().count(), 5);
        assert_eq!(t.item("billing.gate").map(Item::kind), Some(ItemKind::Gate));
        assert_eq!(t.item("infra.gate"), None);
        assert_eq!(t.item("nodot"), None);
        assert_eq!(
            t.item("infra.env").map(|i| &i.check),
            Some(&Check::Manual {
                evidence: Evidence::Required
            })
        );
        assert_eq!(
            t.item("billing.stage").map(|i| &i.check),
            Some(&Check::Gate {
                gate: Gate::Stage {
                    packet: "${packet_id}".into(),
                    stage: Stage::UatEvidence
                }
            })
        );
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json["sections"][0]["items"][0],
            serde_json::json!({
                "id": "health", "text": "GET /health is 200 with no pending migrations", "kind": "probe",
                "request": {"method": "GET", "path": "/health", "headers": {}, "json": null},
                "expect": [{"status": {"eq": 200}}, {"pointer": "/status", "in": ["ok", "degraded"]},
                           {"pointer": "/checks/migrations/pending", "eq": 0}]
            })
        );
        assert_eq!(
            json["sections"][1]["items"][1]["gate"],
            serde_json::json!({"kind": "stage", "packet": "${packet_id}", "stage": "uat_evidence"})
        );
        assert_eq!(
            json["exit_criteria"][1],
            serde_json::json!({"id": "health_ok", "text": "Health is green", "all_sections": false,
                "sections": ["billing"], "items": ["infra.health"], "decision_record": true, "no_overdue_gaps": false})
        );
        assert!(t.secret_names().is_empty());
    }

    #[test]
    fn syntax_errors_have_a_position() {
        let p = problems("id: [unclosed\n");
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].0, "checklist.template_syntax");
        let p = problems("id: a\nid: b\n");
        assert_eq!(p[0].0, "checklist.template_syntax");
        assert_eq!(p[0].2, 2);
        let p = problems("- a\n");
        assert_eq!(p, [("checklist.template_invalid".into(), String::new(), 1, 1)]);
    }

    #[test]
    fn reports_every_structural_problem() {
        let text = r#"id: Demo
title: ""
source: s
colour: red
sections:
  - id: a
    title: A
    items:
      - {id: x, text: X, kind: manul}
      - {id: y, text: Y, kind: manual, evidence: maybe}
      - {id: z, text: Z, kind: probe, request: {method: get, path: health}, expect: [{status: 200, eq: 1}]}
      - {id: w, text: W, kind: manual, steps: []}
exit_criteria:
  - {id: e, text: E, all_sections: false}
"#;
        let p = problems(text);
        let codes: Vec<(&str, &str, u32)> = p
            .iter()
            .map(|(c, path, l, _)| (c.as_str(), path.as_str(), *l))
            .collect();
        assert_eq!(
            codes,
            [
                ("checklist.template_invalid", "/id", 1),
                ("checklist.template_invalid", "/title", 2),
                ("checklist.template_invalid", "/colour", 4),
                ("checklist.template_invalid", "/sections/0/items/0/kind", 9),
                ("checklist.template_invalid", "/sections/0/items/1/evidence", 10),
                ("checklist.template_invalid", "/sections/0/items/2/request/method", 11),
                ("checklist.template_invalid", "/sections/0/items/2/request/path", 11),
                ("checklist.template_invalid", "/sections/0/items/2/expect/0/eq", 11),
                ("checklist.template_invalid", "/sections/0/items/3/steps", 12),
                ("checklist.template_invalid", "/exit_criteria/0/all_sections", 14),
            ],
            "{p:#?}"
        );
        let err = Template::from_yaml(text).err().unwrap();
        assert_eq!(err.code(), "checklist.template_invalid");
        assert!(
            err.to_string()
                .starts_with("checklist.template_invalid: invalid id `Demo`"),
            "{err}"
        );
        assert!(err.to_string().ends_with("and 9 more"), "{err}");
        let msg = &err
            .problems
            .iter()
            .find(|p| p.path == "/sections/0/items/0/kind")
            .unwrap()
            .message;
        assert_eq!(
            msg,
            "unknown item kind `manul`; did you mean `manual`? expected one of manual, probe, flow, gate"
        );
        let msg = &err
            .problems
            .iter()
            .find(|p| p.path == "/sections/0/items/3/steps")
            .unwrap()
            .message;
        assert!(msg.starts_with("unknown field `steps` in a manual item;"), "{msg}");
        let json = err.to_json();
        assert!(
            json.starts_with("{\n  \"error\": {\n    \"code\": \"checklist.template_invalid\""),
            "{json}"
        );
    }

    #[test]
    fn duplicates_references_and_placeholders() {
        let text = r#"id: d
title: D
source: s
parameters: [tenant, tenant]
sections:
  - id: a
    title: A
    items:
      - {id: x, text: X, kind: manual}
      - {id: x, text: X2, kind: manual}
  - id: a
    title: A again
    items:
      - {id: y, text: Y, kind: gate, gate: {kind: billing, tenant: "${tenant_id}"}}
      - {id: s, text: S, kind: gate, gate: {kind: billing, tenant: "${secret.T}"}}
      - {id: p, text: P, kind: probe, request: {method: GET, path: "/x/${nope}", headers: {A: "${", a: "1"}}, expect: [{pointer: x, eq: 1}, {pointer: /y, matches: "("}]}
exit_criteria:
  - {id: e, text: E, items: [a.z, x], sections: [b]}
  - {id: e, text: E2, decision_record: true}
"#;
        let p = problems(text);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("checklist.duplicate_id", "/parameters/1"),
                ("checklist.duplicate_id", "/sections/0/items/1/id"),
                ("checklist.duplicate_id", "/sections/1/id"),
                ("checklist.unknown_placeholder", "/sections/1/items/0/gate/tenant"),
                ("checklist.unknown_placeholder", "/sections/1/items/1/gate/tenant"),
                ("checklist.unknown_placeholder", "/sections/1/items/2/request/path"),
                ("checklist.unknown_placeholder", "/sections/1/items/2/request/headers/A"),
                ("checklist.duplicate_id", "/sections/1/items/2/request/headers/a"),
                ("checklist.invalid_pointer", "/sections/1/items/2/expect/0/pointer"),
                ("checklist.invalid_regex", "/sections/1/items/2/expect/1/matches"),
                ("checklist.unresolved_reference", "/exit_criteria/0/items/0"),
                ("checklist.unresolved_reference", "/exit_criteria/0/items/1"),
                ("checklist.unresolved_reference", "/exit_criteria/0/sections/0"),
                ("checklist.duplicate_id", "/exit_criteria/1/id"),
            ],
            "{p:#?}"
        );
        // References resolve against the sections as written.
        let fixed = r#"id: d
title: D
source: s
sections:
  - id: a
    title: A
    items:
      - {id: x, text: X, kind: manual}
exit_criteria:
  - {id: e, text: E, items: [a.z, x, a.x, a.x], sections: [b]}
  - {id: e, text: E2, decision_record: true}
  - {id: f, text: F}
"#;
        let p = problems(fixed);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("checklist.unresolved_reference", "/exit_criteria/0/items/0"),
                ("checklist.unresolved_reference", "/exit_criteria/0/items/1"),
                ("checklist.duplicate_id", "/exit_criteria/0/items/3"),
                ("checklist.unresolved_reference", "/exit_criteria/0/sections/0"),
                ("checklist.duplicate_id", "/exit_criteria/1/id"),
                ("checklist.template_invalid", "/exit_criteria/2"),
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn flow_captures_are_scoped_to_later_steps() {
        let text = r#"id: f
title: F
source: s
parameters: [tenant]
sections:
  - id: a
    title: A
    items:
      - id: flow
        text: Flow
        kind: flow
        steps:
          - id: one
            request: {method: GET, path: "/a/${job}"}
            expect: [{status: 200}]
            capture: {token: {pointer: /t, as: secret}, tenant: /x, bad: {pointer: y}, odd: {pointer: /z, as: blob}}
          - id: two
            request: {method: GET, path: "/b/${token}", headers: {authorization: "Bearer ${job}"}}
            expect: [{status: [200, 201]}, {header: x-request-id, exists: true}]
            capture: {job: /job/id}
            poll: {until: [{pointer: /state, eq: "${token}"}], every_ms: 100, max_attempts: 0}
          - id: one
            request: {method: GET, path: "/c/${job}"}
            expect: [{status: {eq: 200, ne: 1}}]
exit_criteria:
  - {id: e, text: E, all_sections: true}
"#;
        let p = problems(text);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                (
                    "checklist.unknown_placeholder",
                    "/sections/0/items/0/steps/0/request/path"
                ),
                ("checklist.duplicate_id", "/sections/0/items/0/steps/0/capture/tenant"),
                (
                    "checklist.invalid_pointer",
                    "/sections/0/items/0/steps/0/capture/bad/pointer"
                ),
                (
                    "checklist.template_invalid",
                    "/sections/0/items/0/steps/0/capture/odd/as"
                ),
                (
                    "checklist.unknown_placeholder",
                    "/sections/0/items/0/steps/1/request/headers/authorization"
                ),
                (
                    "checklist.template_invalid",
                    "/sections/0/items/0/steps/1/poll/max_attempts"
                ),
                ("checklist.duplicate_id", "/sections/0/items/0/steps/2/id"),
                (
                    "checklist.template_invalid",
                    "/sections/0/items/0/steps/2/expect/0/status"
                ),
            ],
            "{p:#?}"
        );
        let err = Template::from_yaml(text).err().unwrap();
        let msg = &err.problems[0].message;
        assert_eq!(
            msg,
            "`${job}` is captured by this or a later step; a step can only use earlier captures"
        );
    }

    #[test]
    fn gates_and_assertion_shapes() {
        let base = |items: &str| {
            format!(
                "id: g\ntitle: G\nsource: s\nparameters: [tenant]\nsections:\n  - id: a\n    title: A\n    items:\n{items}exit_criteria:\n  - {{id: e, text: E, all_sections: true}}\n"
            )
        };
        let ok = base(
            "      - {id: s, text: S, kind: gate, gate: {kind: stage, packet: p-1, stage: 5}}\n      - {id: w, text: W, kind: gate, gate: {kind: adoption, min_weeks: 2}}\n      - {id: p, text: P, kind: probe, request: {method: POST, path: /x, json: {a: [\"${tenant}\", 1]}}, expect: [{pointer: \"\", exists: true}, {status: {lt: 500}}, {header: Content-Type, matches: json}]}\n",
        );
        let t = Template::from_yaml(&ok).unwrap();
        assert_eq!(
            t.item("a.s").map(|i| &i.check),
            Some(&Check::Gate {
                gate: Gate::Stage {
                    packet: "p-1".into(),
                    stage: Stage::UatEvidence
                }
            })
        );
        let bad = base(
            "      - {id: s, text: S, kind: gate, gate: {kind: stage, packet: p-1, stage: uat}}\n      - {id: w, text: W, kind: gate, gate: {kind: adoptoin}}\n      - {id: v, text: V, kind: gate, gate: {kind: adoption, min_weeks: 0, tenant: x}}\n      - {id: p, text: P, kind: probe, request: {method: GET, path: /x}, expect: []}\n      - {id: q, text: Q, kind: probe, request: {method: GET, path: /x}, expect: [{pointer: /a, header: b, eq: 1}, {pointer: /a}, {header: \"a b\", exists: true}]}\n",
        );
        let p = problems(&bad);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("checklist.template_invalid", "/sections/0/items/0/gate/stage"),
                ("checklist.template_invalid", "/sections/0/items/1/gate/kind"),
                ("checklist.template_invalid", "/sections/0/items/2/gate/min_weeks"),
                ("checklist.template_invalid", "/sections/0/items/2/gate/tenant"),
                ("checklist.template_invalid", "/sections/0/items/3/expect"),
                ("checklist.template_invalid", "/sections/0/items/4/expect/0"),
                ("checklist.template_invalid", "/sections/0/items/4/expect/1"),
                ("checklist.template_invalid", "/sections/0/items/4/expect/2/header"),
            ],
            "{p:#?}"
        );
    }

    #[test]
    fn review_gates_read_and_validate() {
        let base = |items: &str| {
            format!(
                "id: r\ntitle: R\nsource: s\nparameters: [packet_id]\nsections:\n  - id: reviews\n    title: Reviews\n    items:\n{items}exit_criteria:\n  - {{id: e, text: E, all_sections: true}}\n"
            )
        };
        let ok = base(
            "      - {id: sec, text: S, kind: gate, gate: {kind: review, packet: \"${packet_id}\", role: security}}\n      - {id: gov, text: G, kind: gate, gate: {kind: review, packet: pkt-1, role: governance}}\n",
        );
        let t = Template::from_yaml(&ok).unwrap();
        assert_eq!(
            t.item("reviews.sec").map(|i| &i.check),
            Some(&Check::Gate {
                gate: Gate::Review {
                    packet: "${packet_id}".into(),
                    role: Role::Security
                }
            })
        );
        let json = serde_json::to_value(&t).unwrap();
        assert_eq!(
            json["sections"][0]["items"][1],
            serde_json::json!({"id": "gov", "text": "G", "kind": "gate",
                "gate": {"kind": "review", "packet": "pkt-1", "role": "governance"}})
        );
        // Every role of the matrix reads.
        for role in Role::ALL {
            let text = base(&format!(
                "      - {{id: x, text: X, kind: gate, gate: {{kind: review, packet: p, role: {role}}}}}\n"
            ));
            assert!(Template::from_yaml(&text).is_ok(), "{role}");
        }

        let bad = base(
            "      - {id: a, text: A, kind: gate, gate: {kind: review, packet: p, role: secuirty}}\n      - {id: b, text: B, kind: gate, gate: {kind: review, packet: \"${tenant}\", role: Security}}\n      - {id: c, text: C, kind: gate, gate: {kind: review, role: product, stage: intake}}\n      - {id: d, text: D, kind: gate, gate: {kind: reveiw, packet: p, role: product}}\n      - {id: e, text: E, kind: gate, gate: {kind: review, packet: \"${secret.P}\", role: 3}}\n      - {id: f, text: F, kind: gate, gate: {kind: review, packet: p, role: reviewer}}\n",
        );
        let p = problems(&bad);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("checklist.template_invalid", "/sections/0/items/0/gate/role"),
                ("checklist.unknown_placeholder", "/sections/0/items/1/gate/packet"),
                ("checklist.template_invalid", "/sections/0/items/1/gate/role"),
                ("checklist.template_invalid", "/sections/0/items/2/gate/packet"),
                ("checklist.template_invalid", "/sections/0/items/2/gate/stage"),
                ("checklist.template_invalid", "/sections/0/items/3/gate/kind"),
                ("checklist.unknown_placeholder", "/sections/0/items/4/gate/packet"),
                ("checklist.template_invalid", "/sections/0/items/4/gate/role"),
                ("checklist.template_invalid", "/sections/0/items/5/gate/role"),
            ],
            "{p:#?}"
        );
        let err = Template::from_yaml(&bad).err().unwrap();
        let message = |path: &str| {
            err.problems
                .iter()
                .find(|p| p.path == path)
                .map(|p| (p.message.as_str(), p.line))
                .unwrap()
        };
        let roles = "expected one of product, architecture, backend, frontend, security, operations, governance";
        assert_eq!(
            message("/sections/0/items/0/gate/role"),
            (
                format!("unknown review role `secuirty`; did you mean `security`? {roles}").as_str(),
                9
            )
        );
        assert_eq!(
            message("/sections/0/items/5/gate/role").0,
            format!("unknown review role `reviewer`; {roles}")
        );
        assert_eq!(
            message("/sections/0/items/4/gate/role").0,
            "expected a string, found an integer"
        );
        assert_eq!(
            message("/sections/0/items/2/gate/packet").0,
            "a review gate needs `packet`"
        );
        assert!(
            message("/sections/0/items/2/gate/stage")
                .0
                .starts_with("unknown field `stage` in a review gate;"),
            "{err}"
        );
        assert_eq!(
            message("/sections/0/items/3/gate/kind").0,
            "unknown gate kind `reveiw`; did you mean `review`? expected one of billing, stage, adoption, review"
        );
        assert!(
            message("/sections/0/items/4/gate/packet")
                .0
                .starts_with("a secret (`P`) cannot be used here"),
            "{err}"
        );
    }

    #[test]
    fn the_documented_example_reads() {
        let doc = include_str!("../../../docs/checklists.md");
        let example = doc
            .split("## A complete example")
            .nth(1)
            .and_then(|rest| rest.split("```yaml\n").nth(1))
            .and_then(|block| block.split("```").next())
            .unwrap();
        let t = Template::from_yaml(example).unwrap();
        assert_eq!(t.id, "mini-launch");
        assert_eq!(t.secret_names(), ["INTEGRATION_KEY", "REVOKED_KEY"]);
        assert_eq!(t.parameter_names().collect::<Vec<_>>(), ["tenant", "packet_id"]);
        let kinds: Vec<ItemKind> = t.items().map(|(_, i)| i.kind()).collect();
        use ItemKind::{Flow, Gate, Manual, Probe};
        assert_eq!(kinds, [Probe, Manual, Probe, Flow, Gate, Gate, Manual]);
    }

    #[test]
    fn a_missing_kind_is_one_problem() {
        let text = SMALL.replace("        kind: probe\n", "").replace(
            "gate: {kind: billing, tenant: \"${tenant}\"}",
            "gate: {tenant: \"${tenant}\"}",
        );
        let p = problems(&text);
        let codes: Vec<(&str, &str)> = p.iter().map(|(c, path, _, _)| (c.as_str(), path.as_str())).collect();
        assert_eq!(
            codes,
            [
                ("checklist.template_invalid", "/sections/0/items/0/kind"),
                ("checklist.template_invalid", "/sections/1/items/0/gate/kind"),
            ]
        );
    }

    proptest::proptest! {
        #[test]
        fn reading_never_panics_and_always_locates(
            cut in 0usize..2000,
            len in 0usize..40,
            junk in "[a-z:{}\\[\\], $\\n-]{0,12}",
        ) {
            let mut text = SMALL.to_owned();
            let start = cut.min(text.len());
            let end = (start + len).min(text.len());
            if text.is_char_boundary(start) && text.is_char_boundary(end) {
                text.replace_range(start..end, &junk);
            }
            if let Err(e) = Template::from_yaml(&text) {
                proptest::prop_assert!(!e.problems.is_empty());
                for p in &e.problems {
                    proptest::prop_assert!(p.line >= 1 && p.column >= 1);
                    proptest::prop_assert!(p.code.starts_with("checklist."));
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
            let _ = Template::from_yaml(&text);
        }
    }

    #[test]
    fn secret_names_are_listed() {
        let text = SMALL.replace(
            "request: {method: GET, path: /health}",
            "request: {method: GET, path: /health, headers: {x-key: \"${secret.HEALTH_KEY}\"}}",
        );
        let t = Template::from_yaml(&text).unwrap();
        assert_eq!(t.secret_names(), ["HEALTH_KEY"]);
    }
}
