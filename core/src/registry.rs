//! The platform registry: every product, scope, usage unit and other shared name a
//! packet may use, with its lifecycle state.
//!
//! A [`Registry`] is an immutable, indexed set of [`Entry`] values. It is filled from
//! the registry YAML file ([`Registry::from_yaml`]) or from entries a store supplies
//! ([`Registry::from_entries`]); rules only query it.

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use semver::Version;

use crate::decode::{Decode, Decoder, Field};
use crate::report::Finding;
use crate::stage::Stage;
use crate::tree::{self, Limits, Pos};
use crate::{record, text_enum};

text_enum! {
    /// An entry's lifecycle state: `draft` → `active` → `deprecated` → `retired`.
    pub enum State { Draft = "draft", Active = "active", Deprecated = "deprecated", Retired = "retired" }
}

impl State {
    /// True when an entry may move from `self` to `to` (forward only; nothing leaves
    /// `retired`).
    pub fn can_move_to(self, to: State) -> bool {
        matches!(
            (self, to),
            (State::Draft, State::Active)
                | (State::Draft, State::Retired)
                | (State::Active, State::Deprecated)
                | (State::Active, State::Retired)
                | (State::Deprecated, State::Retired)
        )
    }
}

macro_rules! kinds {
    ($( $var:ident = $s:literal / $plural:literal ),* $(,)?) => {
        /// The fourteen kinds of registry entry.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Kind { $( #[doc = $s] $var, )* }

        impl Kind {
            /// Every kind, in file order.
            pub const ALL: &'static [Kind] = &[$(Kind::$var),*];

            /// The singular name (`usage_unit`).
            pub fn as_str(self) -> &'static str {
                match self { $( Kind::$var => $s, )* }
            }

            /// The list name in a registry file (`usage_units`).
            pub fn plural(self) -> &'static str {
                match self { $( Kind::$var => $plural, )* }
            }

            fn index(self) -> usize {
                self as usize
            }
        }
    };
}

kinds! {
    Product = "product" / "products",
    Scope = "scope" / "scopes",
    Role = "role" / "roles",
    UsageUnit = "usage_unit" / "usage_units",
    ResourceType = "resource_type" / "resource_types",
    AuditAction = "audit_action" / "audit_actions",
    EvidenceType = "evidence_type" / "evidence_types",
    NotificationTemplate = "notification_template" / "notification_templates",
    ArtifactType = "artifact_type" / "artifact_types",
    StatusComponent = "status_component" / "status_components",
    PolicyKey = "policy_key" / "policy_keys",
    QuotaDimension = "quota_dimension" / "quota_dimensions",
    SnapshotKind = "snapshot_kind" / "snapshot_kinds",
    CredentialPurpose = "credential_purpose" / "credential_purposes",
}

const KIND_COUNT: usize = 14;

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Kind {
    type Err = RegistryError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Kind::ALL
            .iter()
            .copied()
            .find(|k| k.as_str() == s || k.plural() == s)
            .ok_or_else(|| {
                RegistryError::single("registry.invalid", "", Pos::START, format!("unknown entry kind `{s}`"))
            })
    }
}

/// Reads a usage-unit version: semver, or `v1` / `v1.2` shorthand.
pub fn parse_version(s: &str) -> Option<Version> {
    let t = s.strip_prefix('v').unwrap_or(s);
    if let Ok(v) = Version::parse(t) {
        return Some(v);
    }
    let parts: Vec<&str> = t.split('.').collect();
    let num = |p: Option<&&str>| -> Option<u64> {
        match p {
            None => Some(0),
            Some(x) if !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit()) => x.parse().ok(),
            Some(_) => None,
        }
    };
    if parts.is_empty() || parts.len() > 2 {
        return None;
    }
    Some(Version::new(num(parts.first())?, num(parts.get(1))?, 0))
}

/// One registry entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The entry's kind.
    pub kind: Kind,
    /// Its key (a scope string, a unit name, a product id …).
    pub key: String,
    /// The version (usage units only).
    pub version: Option<Version>,
    /// Lifecycle state.
    pub state: State,
    /// Owning team.
    pub owner: String,
    /// The product it belongs to, when product-specific.
    pub product: Option<String>,
    /// What it is.
    pub description: Option<String>,
    /// When a deprecated entry goes away.
    pub sunset: Option<Date>,
}

impl Entry {
    /// The entry as JSON (the shape the audit log records and the CLI prints).
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "kind": self.kind.as_str(),
            "key": self.key,
            "version": self.version.as_ref().map(Version::to_string),
            "state": self.state.as_str(),
            "owner": self.owner,
            "product": self.product,
            "description": self.description,
            "sunset": self.sunset.map(|d| d.to_string()),
        })
    }

    /// The entry's display name: the key, with `@version` for usage units.
    pub fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("{}@{v}", self.key),
            None => self.key.clone(),
        }
    }
}

/// One problem in a registry document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// `registry.parse` or `registry.invalid`.
    pub code: &'static str,
    /// JSON Pointer into the registry document.
    pub path: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
    /// For people.
    pub message: String,
}

/// A registry that could not be loaded; lists every problem found.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}", .problems.first().map(|p| format!("{}: {} (line {}, column {}){}", p.code, p.message, p.line, p.column, if .problems.len() > 1 { format!(" and {} more", .problems.len() - 1) } else { String::new() })).unwrap_or_default())]
pub struct RegistryError {
    /// Every problem, in document order.
    pub problems: Vec<Problem>,
}

impl RegistryError {
    fn single(code: &'static str, path: &str, pos: Pos, message: String) -> RegistryError {
        RegistryError {
            problems: vec![Problem {
                code,
                path: path.to_owned(),
                line: pos.line,
                column: pos.column,
                message,
            }],
        }
    }

    /// The code of the first problem.
    pub fn code(&self) -> &'static str {
        self.problems.first().map_or("registry.invalid", |p| p.code)
    }

    /// The canonical JSON form: `{"error": {"code": …, "problems": [{code, path, line, column, message}]}}`.
    pub fn to_json(&self) -> String {
        let problems: Vec<serde_json::Value> = self
            .problems
            .iter()
            .map(|p| {
                serde_json::json!({"code": p.code, "path": p.path, "line": p.line, "column": p.column, "message": p.message})
            })
            .collect();
        crate::report::canonical_json(&serde_json::json!({"error": {"code": self.code(), "problems": problems}}))
    }
}

/// An immutable, indexed registry.
#[derive(Debug, Clone, Default)]
pub struct Registry {
    entries: Vec<Entry>,
    index: [HashMap<String, Vec<usize>>; KIND_COUNT],
}

impl Registry {
    /// An empty registry.
    pub fn new() -> Registry {
        Registry::default()
    }

    /// Builds a registry from entries; refuses duplicates (same kind, key and version).
    pub fn from_entries(entries: Vec<Entry>) -> Result<Registry, RegistryError> {
        let mut reg = Registry::new();
        let mut problems = Vec::new();
        for entry in entries {
            if reg.find(entry.kind, &entry.key, entry.version.as_ref()).is_some() {
                problems.push(Problem {
                    code: "registry.invalid",
                    path: String::new(),
                    line: 1,
                    column: 1,
                    message: format!("{} `{}` is listed twice", entry.kind, entry.label()),
                });
                continue;
            }
            reg.push(entry);
        }
        if problems.is_empty() {
            Ok(reg)
        } else {
            Err(RegistryError { problems })
        }
    }

    fn push(&mut self, entry: Entry) {
        let i = self.entries.len();
        if let Some(map) = self.index.get_mut(entry.kind.index()) {
            map.entry(entry.key.clone()).or_default().push(i);
        }
        self.entries.push(entry);
    }

    fn find(&self, kind: Kind, key: &str, version: Option<&Version>) -> Option<&Entry> {
        self.index
            .get(kind.index())?
            .get(key)?
            .iter()
            .filter_map(|&i| self.entries.get(i))
            .find(|e| version.is_none() || e.version.as_ref() == version)
    }

    /// The entry of `kind` with `key` (for usage units, any version).
    pub fn get(&self, kind: Kind, key: &str) -> Option<&Entry> {
        self.find(kind, key, None)
    }

    /// The usage unit `key` at exactly `version`.
    pub fn get_version(&self, kind: Kind, key: &str, version: &Version) -> Option<&Entry> {
        self.find(kind, key, Some(version))
    }

    /// Every entry, in the order given.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Every key of `kind` (for did-you-mean suggestions).
    pub fn keys(&self, kind: Kind) -> impl Iterator<Item = &str> {
        self.entries
            .iter()
            .filter(move |e| e.kind == kind)
            .map(|e| e.key.as_str())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when there are no entries.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Loads a registry document (top-level `registry:` with one list per kind).
    pub fn from_yaml(text: &str) -> Result<Registry, RegistryError> {
        let limits = Limits {
            max_bytes: 64 << 20,
            max_nodes: 2_000_000,
            ..Limits::default()
        };
        let doc = tree::parse_yaml(text, &limits)
            .map_err(|e| RegistryError::single("registry.parse", "", e.pos, e.message))?;
        let mut cx = Decoder::default();
        let file = RegistryFile::decode(&doc, "", &mut cx);
        let mut findings: Vec<Finding> = cx.findings;
        if let Some(file) = &file {
            file.check(Stage::Extraction, Stage::Extraction, &mut findings);
        }
        let mut problems: Vec<Problem> = findings.into_iter().map(to_problem).collect();
        let mut entries = Vec::new();
        if let Some(lists) = file.as_ref().and_then(|f| f.registry.value()) {
            for (kind, list) in lists.lists() {
                for item in list {
                    if let Some(row) = item.value() {
                        match row.to_entry(kind, &item.ptr) {
                            Ok(Some(e)) => entries.push((e, item.pos, item.ptr.clone())),
                            Ok(None) => {}
                            Err(p) => problems.push(p),
                        }
                    }
                }
            }
        }
        let mut reg = Registry::new();
        for (entry, pos, ptr) in entries {
            if reg.find(entry.kind, &entry.key, entry.version.as_ref()).is_some() {
                problems.push(Problem {
                    code: "registry.invalid",
                    path: ptr,
                    line: pos.line,
                    column: pos.column,
                    message: format!("{} `{}` is listed twice", entry.kind, entry.label()),
                });
            } else {
                reg.push(entry);
            }
        }
        if problems.is_empty() {
            Ok(reg)
        } else {
            problems.sort_by(|a, b| (a.line, a.column, &a.path).cmp(&(b.line, b.column, &b.path)));
            Err(RegistryError { problems })
        }
    }
}

fn to_problem(f: Finding) -> Problem {
    let message = if f.code == "packet.missing" {
        let key = f.path.rsplit('/').next().unwrap_or_default();
        format!("`{}` is required", crate::tree::unescape(key))
    } else {
        f.message
    };
    Problem {
        code: "registry.invalid",
        line: f.line,
        column: f.column,
        message,
        path: f.path,
    }
}

record! {
    /// A registry document.
    pub struct RegistryFile {
        /// The lists.
        registry: Lists = "registry", req(Intake),
    }
}

record! {
    /// One list per kind.
    pub struct Lists {
        /// Products.
        products: Vec<Field<Row>> = "products", opt(Intake),
        /// Scopes.
        scopes: Vec<Field<Row>> = "scopes", opt(Intake),
        /// Roles.
        roles: Vec<Field<Row>> = "roles", opt(Intake),
        /// Usage units.
        usage_units: Vec<Field<Row>> = "usage_units", opt(Intake),
        /// Resource types.
        resource_types: Vec<Field<Row>> = "resource_types", opt(Intake),
        /// Audit actions.
        audit_actions: Vec<Field<Row>> = "audit_actions", opt(Intake),
        /// Evidence types.
        evidence_types: Vec<Field<Row>> = "evidence_types", opt(Intake),
        /// Notification templates.
        notification_templates: Vec<Field<Row>> = "notification_templates", opt(Intake),
        /// Artifact types.
        artifact_types: Vec<Field<Row>> = "artifact_types", opt(Intake),
        /// Status components.
        status_components: Vec<Field<Row>> = "status_components", opt(Intake),
        /// Policy keys.
        policy_keys: Vec<Field<Row>> = "policy_keys", opt(Intake),
        /// Quota dimensions.
        quota_dimensions: Vec<Field<Row>> = "quota_dimensions", opt(Intake),
        /// Snapshot kinds.
        snapshot_kinds: Vec<Field<Row>> = "snapshot_kinds", opt(Intake),
        /// Credential purposes.
        credential_purposes: Vec<Field<Row>> = "credential_purposes", opt(Intake),
    }
}

impl Lists {
    fn lists(&self) -> impl Iterator<Item = (Kind, &Vec<Field<Row>>)> {
        [
            (Kind::Product, &self.products),
            (Kind::Scope, &self.scopes),
            (Kind::Role, &self.roles),
            (Kind::UsageUnit, &self.usage_units),
            (Kind::ResourceType, &self.resource_types),
            (Kind::AuditAction, &self.audit_actions),
            (Kind::EvidenceType, &self.evidence_types),
            (Kind::NotificationTemplate, &self.notification_templates),
            (Kind::ArtifactType, &self.artifact_types),
            (Kind::StatusComponent, &self.status_components),
            (Kind::PolicyKey, &self.policy_keys),
            (Kind::QuotaDimension, &self.quota_dimensions),
            (Kind::SnapshotKind, &self.snapshot_kinds),
            (Kind::CredentialPurpose, &self.credential_purposes),
        ]
        .into_iter()
        .filter_map(|(k, f)| f.value().map(|v| (k, v)))
    }
}

record! {
    /// One entry as written in a registry file.
    pub struct Row {
        /// Key.
        key: String = "key", req(Intake),
        /// Version (usage units only).
        version: String = "version", opt(Intake),
        /// Lifecycle state.
        state: State = "state", req(Intake),
        /// Owning team.
        owner: String = "owner", req(Intake),
        /// Owning product.
        product: String = "product", opt(Intake),
        /// Description.
        description: String = "description", opt(Intake),
        /// Sunset date of a deprecated entry.
        sunset: Date = "sunset", opt(Intake),
    }
}

impl Row {
    fn to_entry(&self, kind: Kind, ptr: &str) -> Result<Option<Entry>, Problem> {
        let problem = |field: &Field<String>, message: String| Problem {
            code: "registry.invalid",
            path: field.ptr.clone(),
            line: field.pos.line,
            column: field.pos.column,
            message,
        };
        let (Some(key), Some(state), Some(owner)) = (self.key.value(), self.state.value(), self.owner.value()) else {
            return Ok(None);
        };
        let version = match (kind, self.version.value()) {
            (Kind::UsageUnit, Some(v)) => match parse_version(v) {
                Some(v) => Some(v),
                None => {
                    return Err(problem(
                        &self.version,
                        format!("`{v}` is not a version; write `v1` or semver like `1.2.0`"),
                    ));
                }
            },
            (Kind::UsageUnit, None) => {
                return Err(Problem {
                    code: "registry.invalid",
                    path: tree::join(ptr, "version"),
                    line: self.pos.line,
                    column: self.pos.column,
                    message: format!("usage unit `{key}` needs a version"),
                });
            }
            (_, Some(_)) => {
                return Err(problem(
                    &self.version,
                    format!("only usage units have versions; {kind} `{key}` does not"),
                ));
            }
            (_, None) => None,
        };
        Ok(Some(Entry {
            kind,
            key: key.clone(),
            version,
            state: *state,
            owner: owner.clone(),
            product: self.product.value().cloned(),
            description: self.description.value().cloned(),
            sunset: self.sunset.value().copied(),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(parse_version("v1"), Some(Version::new(1, 0, 0)));
        assert_eq!(parse_version("v1.2"), Some(Version::new(1, 2, 0)));
        assert_eq!(parse_version("2.0.1"), Some(Version::new(2, 0, 1)));
        assert_eq!(parse_version("v"), None);
        assert_eq!(parse_version("one"), None);
    }

    #[test]
    fn loads_and_indexes() {
        let reg = Registry::from_yaml(
            "registry:\n  scopes:\n    - {key: a:b:c, state: active, owner: x}\n  usage_units:\n    - {key: req, version: v1, state: draft, owner: y}\n",
        )
        .unwrap();
        assert_eq!(reg.get(Kind::Scope, "a:b:c").unwrap().state, State::Active);
        assert!(
            reg.get_version(Kind::UsageUnit, "req", &Version::new(1, 0, 0))
                .is_some()
        );
        assert!(
            reg.get_version(Kind::UsageUnit, "req", &Version::new(2, 0, 0))
                .is_none()
        );
        assert!(reg.get(Kind::Role, "a:b:c").is_none());
    }

    #[test]
    fn refuses_bad_files_with_every_problem() {
        let err = Registry::from_yaml(
            "registry:\n  scopez:\n    - {key: a, state: active, owner: x}\n  roles:\n    - {key: r, state: live, owner: x}\n    - {key: s, owner: x}\n",
        )
        .unwrap_err();
        assert_eq!(err.problems.len(), 3, "{err:?}");
        assert!(err.problems.iter().all(|p| p.code == "registry.invalid"));
        assert_eq!(Registry::from_yaml("registry: [").unwrap_err().code(), "registry.parse");
    }

    #[test]
    fn lifecycle_moves_forward_only() {
        assert!(State::Draft.can_move_to(State::Active));
        assert!(!State::Retired.can_move_to(State::Active));
        assert!(!State::Active.can_move_to(State::Draft));
    }
}
