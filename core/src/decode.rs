//! Fail-closed decoding of a document tree into typed records.
//!
//! Decoding never stops at the first problem: every unknown key, wrong type and
//! unjustified `not_applicable` becomes a finding, and decoding carries on with the
//! rest of the document. Which fields are *required* depends on the stage asked, so
//! requiredness is checked later by [`Decode::check`], not while decoding.
//!
//! Records are declared once with the [`record!`](crate::record) macro, which produces
//! the Rust type, its decoder, its required-field check, its JSON Schema and its
//! pointer-to-stage lookup from one list of fields.

use jiff::civil::Date;
use serde_json::{Value as Json, json};

use crate::report::{Finding, PatchOp, Severity, Suggestion};
use crate::stage::Stage;
use crate::tree::{Node, Pos, Value, join};

/// A field's slot: absent, present, not applicable, or present but unusable.
#[derive(Debug, Clone, PartialEq)]
pub enum Slot<T> {
    /// Not in the document (or `null`).
    Absent,
    /// Present but of the wrong type; a finding was already reported.
    Invalid,
    /// Replaced by a `not_applicable` marker.
    NotApplicable(NaMarker),
    /// Present and well-typed.
    Value(T),
}

/// A field of a record: where it is, and what it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct Field<T> {
    /// JSON Pointer of the field (also when it is absent).
    pub ptr: String,
    /// Where the value starts, or where the enclosing mapping starts when absent.
    pub pos: Pos,
    /// What the field holds.
    pub slot: Slot<T>,
}

impl<T> Field<T> {
    /// The value, when present and well-typed.
    pub fn value(&self) -> Option<&T> {
        match &self.slot {
            Slot::Value(v) => Some(v),
            _ => None,
        }
    }

    /// True when the field is not in the document.
    pub fn is_absent(&self) -> bool {
        matches!(self.slot, Slot::Absent)
    }

    /// True when the field is present but unusable (a `packet.type` finding was reported).
    pub fn is_invalid(&self) -> bool {
        matches!(self.slot, Slot::Invalid)
    }

    /// True when the value or any list entry is unusable; rules skip such fields so
    /// one problem is one finding.
    pub fn has_invalid(&self) -> bool
    where
        T: Decode,
    {
        self.is_invalid() || self.value().is_some_and(Decode::has_invalid)
    }

    /// True when the field is marked `not_applicable` (justified or not).
    pub fn is_not_applicable(&self) -> bool {
        matches!(self.slot, Slot::NotApplicable(_))
    }
}

/// A `not_applicable` marker.
#[derive(Debug, Clone, PartialEq)]
pub struct NaMarker {
    /// Who owns the decision.
    pub owner: Option<String>,
    /// Why the field does not apply.
    pub reason: Option<String>,
    /// When the decision must be reviewed again.
    pub review_date: Option<Date>,
    /// True when owner, reason and review_date are all present.
    pub justified: bool,
}

/// A `not_applicable` marker found while decoding, for the expiry rule.
#[derive(Debug, Clone, PartialEq)]
pub struct NaRecord {
    /// Pointer of the field the marker replaces.
    pub ptr: String,
    /// Where the marker's review_date is (or the marker, if it has none).
    pub pos: Pos,
    /// The stage of the field the marker replaces.
    pub stage: Stage,
    /// The review date, if any.
    pub review_date: Option<Date>,
}

/// Where a field sits in the schema: the stage that needs it and whether the
/// generic check requires it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FieldInfo {
    /// The stage the field belongs to.
    pub stage: Stage,
    /// True when the field must be present (or marked not applicable) from that stage on.
    pub required: bool,
}

/// Collects what decoding finds.
#[derive(Debug, Default)]
pub struct Decoder {
    /// Structural findings (unknown keys, wrong types, unjustified markers).
    pub findings: Vec<Finding>,
    /// Every `not_applicable` marker.
    pub nas: Vec<NaRecord>,
    /// Pointers an unknown key was suggested to be renamed to (a misspelt key is one
    /// problem: it is not also reported missing).
    pub renamed: Vec<String>,
    stage: Option<Stage>,
}

const NA_KEY: &str = "not_applicable";

impl Decoder {
    fn structural(&mut self, code: &'static str, ptr: &str, pos: Pos, message: String, suggestion: Option<Suggestion>) {
        let mut f = Finding::new(code, Severity::Error, Stage::Intake, ptr, pos, message);
        f.suggestion = suggestion;
        self.findings.push(f);
    }

    /// Reports a value that has the right type but cannot be read (`packet.type`).
    pub fn invalid(&mut self, node: &Node, ptr: &str, message: String) {
        self.structural("packet.type", ptr, node.pos, message, None);
    }

    /// Reports a wrong type.
    pub fn type_error(&mut self, node: &Node, ptr: &str, expected: &str) {
        let found = node.type_name();
        self.structural(
            "packet.type",
            ptr,
            node.pos,
            format!("expected {expected}, found {found}"),
            None,
        );
    }

    /// Checks that `node` is a mapping whose keys are all in `known`; reports every
    /// unknown key with a did-you-mean. Returns false (after reporting) when `node`
    /// is not a mapping.
    pub fn expect_map(&mut self, node: &Node, ptr: &str, known: &[&str]) -> bool {
        let Value::Map(entries) = &node.value else {
            self.type_error(node, ptr, "a mapping");
            return false;
        };
        for (key, _) in entries {
            if known.contains(&key.name.as_str()) {
                continue;
            }
            let key_ptr = join(ptr, &key.name);
            let mut message = format!("unknown field `{}`", key.name);
            let best = did_you_mean(&key.name, known.iter().copied());
            match best {
                Some(best) => {
                    message.push_str(&format!("; did you mean `{best}`?"));
                    let taken = entries.iter().any(|(k, _)| k.name == best);
                    if !taken {
                        self.renamed.push(join(ptr, best));
                    }
                    let patch = if taken {
                        Vec::new()
                    } else {
                        vec![PatchOp::Move {
                            from: key_ptr.clone(),
                            path: join(ptr, best),
                        }]
                    };
                    let suggestion = Suggestion {
                        message: format!("rename `{}` to `{best}`", key.name),
                        patch,
                    };
                    self.structural("packet.unknown_field", &key_ptr, key.pos, message, Some(suggestion));
                }
                None => {
                    message.push_str(&format!("; expected one of {}", known.join(", ")));
                    self.structural("packet.unknown_field", &key_ptr, key.pos, message, None);
                }
            }
        }
        true
    }

    /// Reads a non-empty-or-empty string scalar.
    pub fn string(&mut self, node: &Node, ptr: &str) -> Option<String> {
        match &node.value {
            Value::Str(s) => Some(s.clone()),
            _ => {
                self.type_error(node, ptr, "a string");
                None
            }
        }
    }

    /// Reads one of `allowed`; reports others with a did-you-mean.
    pub fn choice(&mut self, node: &Node, ptr: &str, allowed: &[&str]) -> Option<usize> {
        let s = self.string(node, ptr)?;
        if let Some(i) = allowed.iter().position(|a| *a == s) {
            return Some(i);
        }
        let message = format!("`{s}` is not one of {}", allowed.join(", "));
        let best = did_you_mean(&s, allowed.iter().copied());
        let suggestion = best.map(|best| Suggestion {
            message: format!("did you mean `{best}`?"),
            patch: vec![PatchOp::Replace {
                path: ptr.to_owned(),
                value: Json::String(best.to_owned()),
            }],
        });
        self.structural("packet.type", ptr, node.pos, message, suggestion);
        None
    }

    /// Reads a `YYYY-MM-DD` date.
    pub fn date(&mut self, node: &Node, ptr: &str) -> Option<Date> {
        let s = self.string(node, ptr)?;
        match parse_date(&s) {
            Some(d) => Some(d),
            None => {
                self.structural(
                    "packet.type",
                    ptr,
                    node.pos,
                    format!("`{s}` is not a date; write it as YYYY-MM-DD"),
                    None,
                );
                None
            }
        }
    }

    fn not_applicable(&mut self, node: &Node, ptr: &str) -> NaMarker {
        let marker_ptr = join(ptr, NA_KEY);
        let inner = node.get(NA_KEY);
        let mut marker = NaMarker {
            owner: None,
            reason: None,
            review_date: None,
            justified: false,
        };
        let mut review_pos = node.pos;
        if let Some(inner) = inner.filter(|n| !matches!(n.value, Value::Null))
            && self.expect_map(inner, &marker_ptr, &["owner", "reason", "review_date"])
        {
            let text = |cx: &mut Self, key: &str| {
                inner
                    .get(key)
                    .filter(|n| !matches!(n.value, Value::Null))
                    .and_then(|n| cx.string(n, &join(&marker_ptr, key)))
                    .filter(|s| !s.trim().is_empty())
            };
            marker.owner = text(self, "owner");
            marker.reason = text(self, "reason");
            if let Some(d) = inner.get("review_date").filter(|n| !matches!(n.value, Value::Null)) {
                review_pos = d.pos;
                marker.review_date = self.date(d, &join(&marker_ptr, "review_date"));
            }
        }
        marker.justified = marker.owner.is_some() && marker.reason.is_some() && marker.review_date.is_some();
        // Lacking means absent or blank. A value of the wrong form, or a misspelt key
        // with a did-you-mean, is already reported and not reported again.
        let lacking: Vec<&str> = ["owner", "reason", "review_date"]
            .into_iter()
            .filter(|key| {
                let value = inner.and_then(|n| n.get(key));
                let absent = match value.map(|v| &v.value) {
                    None | Some(Value::Null) => true,
                    Some(Value::Str(s)) => s.trim().is_empty(),
                    Some(_) => false,
                };
                absent && !self.renamed.contains(&join(&marker_ptr, key))
            })
            .collect();
        if !lacking.is_empty() {
            self.structural(
                "na.unjustified",
                ptr,
                node.pos,
                format!(
                    "not_applicable lacks {}; a field may be skipped only with an owner, a reason and a review date",
                    lacking.join(", ")
                ),
                None,
            );
        }
        self.nas.push(NaRecord {
            ptr: ptr.to_owned(),
            pos: review_pos,
            stage: self.stage.unwrap_or(Stage::Intake),
            review_date: marker.review_date,
        });
        marker
    }

    fn bare_not_applicable(&mut self, node: &Node, ptr: &str) -> NaMarker {
        let suggestion = Suggestion {
            message: "replace the bare marker with the mapping form and fill in owner, reason and review_date"
                .to_owned(),
            patch: vec![PatchOp::Replace {
                path: ptr.to_owned(),
                value: json!({NA_KEY: {"owner": "<owner>", "reason": "<reason>", "review_date": "<YYYY-MM-DD>"}}),
            }],
        };
        self.structural(
            "na.unjustified",
            ptr,
            node.pos,
            "bare `not_applicable` is not accepted; write `not_applicable: {owner: …, reason: …, review_date: YYYY-MM-DD}`".to_owned(),
            Some(suggestion),
        );
        NaMarker {
            owner: None,
            reason: None,
            review_date: None,
            justified: false,
        }
    }
}

/// Parses `YYYY-MM-DD` strictly.
pub fn parse_date(s: &str) -> Option<Date> {
    let b = s.as_bytes();
    if b.len() != 10 || b.get(4) != Some(&b'-') || b.get(7) != Some(&b'-') {
        return None;
    }
    s.parse::<Date>().ok()
}

/// The closest of `candidates` to `input`, if one is close enough to be a typo: at
/// most two edits (a transposition counts as one), and few relative to its length, so
/// names that merely share a long prefix (`token_factory:key:create` and
/// `token_factory:key:delete`) are not offered for each other.
pub fn did_you_mean<'a>(input: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let mut best: Option<(&str, usize)> = None;
    for c in candidates {
        let d = strsim::damerau_levenshtein(input, c);
        let short = input.chars().count().min(c.chars().count());
        let close = d > 0 && d <= 2 && d * 3 <= short;
        if close && best.is_none_or(|(_, b)| d < b) {
            best = Some((c, d));
        }
    }
    best.map(|(c, _)| c)
}

/// A type the packet schema is built from.
pub trait Decode: Sized {
    /// Decodes `node` (at `ptr`), reporting problems to `cx`. `None` when the value
    /// cannot be used (a finding has been reported).
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self>;

    /// The JSON Schema of the type.
    fn schema() -> Json;

    /// Reports missing required fields and duplicate list entries inside the value,
    /// for every field whose stage is at most `target`. `field_stage` is the stage of
    /// the field holding this value.
    fn check(&self, _field_stage: Stage, _target: Stage, _out: &mut Vec<Finding>) {}

    /// The stage and requiredness of the field at `path` below this type.
    fn info_at(path: &[&str], here: FieldInfo) -> Option<FieldInfo> {
        path.is_empty().then_some(here)
    }

    /// True when the value is present but says nothing (an empty string or list).
    fn is_blank(&self) -> bool {
        false
    }

    /// True when a list holds an unusable entry.
    fn has_invalid(&self) -> bool {
        false
    }

    /// A text identity used to find duplicate list entries.
    fn ident(&self) -> Option<String> {
        None
    }

    /// The names of a record's required fields, for "add …" hints (empty for other types).
    fn required_names() -> &'static [&'static str] {
        &[]
    }
}

impl<T: Decode> Field<T> {
    /// Decodes the field `key` of the mapping `parent`.
    /// `na` says whether a `not_applicable` marker may stand in for the value.
    pub fn decode(parent: &Node, key: &str, parent_ptr: &str, stage: Stage, na: bool, cx: &mut Decoder) -> Field<T> {
        let ptr = join(parent_ptr, key);
        match parent.get(key) {
            None => Field {
                ptr,
                pos: parent.pos,
                slot: Slot::Absent,
            },
            Some(node) if matches!(node.value, Value::Null) => Field {
                ptr,
                pos: node.pos,
                slot: Slot::Absent,
            },
            Some(node) => {
                let outer = cx.stage.replace(stage);
                let f = Field::decode_node(node, ptr, na, cx);
                cx.stage = outer;
                f
            }
        }
    }

    /// Decodes a present node, recognising both `not_applicable` forms (refused with
    /// `packet.type` where `na` is false: identity fields and list entries).
    pub fn decode_node(node: &Node, ptr: String, na: bool, cx: &mut Decoder) -> Field<T> {
        let marker = match &node.value {
            Value::Map(entries) => entries.len() == 1 && node.get(NA_KEY).is_some(),
            Value::Str(s) => s == NA_KEY,
            _ => false,
        };
        let slot = match &node.value {
            _ if marker && !na => {
                let what = if ptr.rsplit('/').next().is_some_and(|t| t.parse::<usize>().is_ok()) {
                    "a list entry".to_owned()
                } else {
                    format!("`{}`", dotted(&ptr))
                };
                cx.structural(
                    "packet.type",
                    &ptr,
                    node.pos,
                    format!("{what} cannot be marked not_applicable; give its value"),
                    None,
                );
                Slot::Invalid
            }
            Value::Map(_) if marker => Slot::NotApplicable(cx.not_applicable(node, &ptr)),
            Value::Str(_) if marker => Slot::NotApplicable(cx.bare_not_applicable(node, &ptr)),
            _ => T::decode(node, &ptr, cx).map_or(Slot::Invalid, Slot::Value),
        };
        Field {
            ptr,
            pos: node.pos,
            slot,
        }
    }

    /// Reports this field missing (or blank) when `required` and its stage is due,
    /// and checks inside its value.
    pub fn check_field(&self, info: FieldInfo, target: Stage, hint_names: &[&str], out: &mut Vec<Finding>) {
        let due = info.required && info.stage <= target;
        match &self.slot {
            Slot::Absent if due => out.push(missing(&self.ptr, self.pos, info.stage, hint_names, false)),
            Slot::Value(v) => {
                if due && v.is_blank() {
                    out.push(missing(&self.ptr, self.pos, info.stage, hint_names, true));
                }
                // Inner fields may be due earlier than their section (contract tests
                // inside `uat_and_release`), so always look inside.
                v.check(info.stage, target, out);
            }
            _ => {}
        }
    }
}

/// The readable dotted name of a packet pointer (`shared_services.iam.scopes`).
pub fn dotted(ptr: &str) -> String {
    let short = ptr.strip_prefix("/product_onboarding_packet/").unwrap_or(ptr);
    short.trim_start_matches('/').replace('/', ".")
}

fn missing(ptr: &str, pos: Pos, stage: Stage, names: &[&str], blank: bool) -> Finding {
    let name = dotted(ptr);
    let what = if blank { "is empty but" } else { "is" };
    let hint = if names.iter().all(|n| n.is_empty()) {
        "add it".to_owned()
    } else {
        let list: Vec<String> = names
            .iter()
            .filter(|n| !n.is_empty())
            .map(|n| format!("{name}.{n}"))
            .collect();
        format!("add {}", list.join(", "))
    };
    Finding::new(
        "packet.missing",
        Severity::Error,
        stage,
        ptr,
        pos,
        format!(
            "{name} {what} required for stage {stage}; {hint} or mark it not_applicable with owner, reason and review_date"
        ),
    )
}

/// Schema of a field: the type, or a `not_applicable` marker.
pub fn field_schema(inner: Json, doc: &str, info: FieldInfo, na: bool) -> Json {
    let mut description = doc.trim().to_owned();
    if info.required {
        if !description.is_empty() {
            description.push_str("\n\n");
        }
        description.push_str(&format!("Required from stage `{}`.", info.stage));
    }
    if !na {
        let mut inner = inner;
        if let Json::Object(map) = &mut inner {
            map.insert("description".to_owned(), Json::String(description));
        }
        return inner;
    }
    json!({
        "description": description,
        "anyOf": [inner, na_schema()]
    })
}

/// The schema of the `not_applicable` marker.
pub fn na_schema() -> Json {
    json!({
        "type": "object",
        "description": "Marks the field as not applicable; owner, reason and review_date are all required.",
        "additionalProperties": false,
        "required": [NA_KEY],
        "properties": {
            NA_KEY: {
                "type": "object",
                "additionalProperties": false,
                "required": ["owner", "reason", "review_date"],
                "properties": {
                    "owner": {"type": "string", "minLength": 1},
                    "reason": {"type": "string", "minLength": 1},
                    "review_date": {"type": "string", "format": "date"}
                }
            }
        }
    })
}

/// A list of entries (each entry decoded like a field).
impl<T: Decode> Decode for Vec<Field<T>> {
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self> {
        let Value::Seq(items) = &node.value else {
            cx.type_error(node, ptr, "a list");
            return None;
        };
        Some(
            items
                .iter()
                .enumerate()
                .map(|(i, item)| Field::decode_node(item, join(ptr, &i.to_string()), false, cx))
                .collect(),
        )
    }

    fn schema() -> Json {
        json!({"type": "array", "items": T::schema()})
    }

    fn check(&self, field_stage: Stage, target: Stage, out: &mut Vec<Finding>) {
        let mut seen: Vec<(String, &str)> = Vec::new();
        for item in self {
            let Some(v) = item.value() else { continue };
            v.check(field_stage, target, out);
            let Some(id) = v.ident() else { continue };
            if let Some((_, first)) = seen.iter().find(|(s, _)| *s == id) {
                out.push(
                    Finding::new(
                        "packet.duplicate",
                        Severity::Error,
                        field_stage,
                        &item.ptr,
                        item.pos,
                        format!("`{id}` is listed twice (first at {first}); remove one"),
                    )
                    .with_suggestion(
                        format!("remove the repeated `{id}`"),
                        vec![PatchOp::Remove { path: item.ptr.clone() }],
                    ),
                );
            } else {
                seen.push((id, &item.ptr));
            }
        }
    }

    fn info_at(path: &[&str], here: FieldInfo) -> Option<FieldInfo> {
        match path.split_first() {
            None => Some(here),
            Some((first, rest)) if first.parse::<usize>().is_ok() => T::info_at(rest, here),
            Some(_) => None,
        }
    }

    fn is_blank(&self) -> bool {
        self.is_empty()
    }

    fn has_invalid(&self) -> bool {
        self.iter().any(Field::is_invalid)
    }
}

/// Free text.
impl Decode for String {
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self> {
        cx.string(node, ptr)
    }
    fn schema() -> Json {
        json!({"type": "string", "minLength": 1})
    }
    fn is_blank(&self) -> bool {
        self.trim().is_empty()
    }
    fn ident(&self) -> Option<String> {
        Some(self.clone())
    }
}

/// A calendar date (`YYYY-MM-DD`).
impl Decode for Date {
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self> {
        cx.date(node, ptr)
    }
    fn schema() -> Json {
        json!({"type": "string", "format": "date"})
    }
}

/// Declares a string enum that decodes fail-closed.
#[macro_export]
#[doc(hidden)]
macro_rules! text_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident { $( $(#[doc = $doc:literal])* $var:ident = $s:literal ),* $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $( $(#[doc = $doc])* #[doc = concat!("`", $s, "`")] $var, )* }

        impl $name {
            /// Every value as written in a packet.
            pub const NAMES: &'static [&'static str] = &[$($s),*];
            const VARIANTS: &'static [$name] = &[$($name::$var),*];

            /// The value as written in a packet.
            pub fn as_str(self) -> &'static str {
                match self { $( $name::$var => $s, )* }
            }

            /// The value written `name`, if it is one.
            pub fn from_name(name: &str) -> Option<Self> {
                Self::NAMES.iter().position(|n| *n == name).and_then(|i| Self::VARIANTS.get(i).copied())
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl $crate::decode::Decode for $name {
            fn decode(node: &$crate::tree::Node, ptr: &str, cx: &mut $crate::decode::Decoder) -> Option<Self> {
                cx.choice(node, ptr, Self::NAMES).and_then(|i| Self::VARIANTS.get(i).copied())
            }
            fn schema() -> ::serde_json::Value {
                ::serde_json::json!({"type": "string", "enum": Self::NAMES})
            }
            fn ident(&self) -> Option<String> {
                Some(self.as_str().to_owned())
            }
        }
    };
}

/// Declares a record: its type, decoder, check, schema and stage lookup at once.
///
/// Each field is `name: Type = "key", req(Stage)` (required from that stage),
/// `must(Stage)` (required, and never `not_applicable`: identity fields) or
/// `opt(Stage)` (checked only by specific rules). `shorthand field` lets a plain
/// string stand for the one-key mapping; `identity [a, b]` names the fields that make
/// two list entries duplicates.
#[macro_export]
#[doc(hidden)]
macro_rules! record {
    (
        $(#[$meta:meta])*
        pub struct $name:ident
            $( shorthand $short:ident )?
            $( identity [$($idf:ident),+] )?
        {
            $(
                $(#[doc = $doc:literal])*
                $field:ident : $ty:ty = $key:literal, $req:ident($stage:ident)
            ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq)]
        pub struct $name {
            /// Where the record starts.
            pub pos: $crate::tree::Pos,
            $(
                $(#[doc = $doc])*
                pub $field: $crate::decode::Field<$ty>,
            )*
        }

        impl $name {
            const KEYS: &'static [&'static str] = &[$($key),*];
            const REQUIRED: &'static [&'static str] = &[$($crate::record!(@name $req $key)),*];
        }

        impl $crate::decode::Decode for $name {
            fn decode(node: &$crate::tree::Node, ptr: &str, cx: &mut $crate::decode::Decoder) -> Option<Self> {
                $(
                    if let $crate::tree::Value::Str(_) = &node.value {
                        let wrapped = $crate::tree::Node {
                            pos: node.pos,
                            value: $crate::tree::Value::Map(vec![(
                                $crate::tree::Key { name: stringify!($short).to_owned(), pos: node.pos },
                                node.clone(),
                            )]),
                        };
                        // The string itself is the value: point at it, not at a key the
                        // document does not have.
                        let mut record = Self::decode(&wrapped, ptr, cx)?;
                        record.$short.ptr = ptr.to_owned();
                        return Some(record);
                    }
                )?
                if !cx.expect_map(node, ptr, Self::KEYS) {
                    return None;
                }
                Some($name {
                    pos: node.pos,
                    $(
                        $field: $crate::decode::Field::decode(
                            node, $key, ptr, $crate::stage::Stage::$stage, $crate::record!(@na $req), cx,
                        ),
                    )*
                })
            }

            fn schema() -> ::serde_json::Value {
                let mut props = ::serde_json::Map::new();
                $(
                    props.insert(
                        $key.to_owned(),
                        $crate::decode::field_schema(
                            <$ty as $crate::decode::Decode>::schema(),
                            concat!($($doc, "\n",)* ""),
                            $crate::record!(@info $req $stage),
                            $crate::record!(@na $req),
                        ),
                    );
                )*
                let object = ::serde_json::json!({
                    "type": "object",
                    "additionalProperties": false,
                    "properties": props,
                });
                $(
                    let _ = stringify!($short);
                    return ::serde_json::json!({"anyOf": [{"type": "string", "minLength": 1}, object]});
                )?
                #[allow(unreachable_code)]
                object
            }

            fn check(&self, _field_stage: $crate::stage::Stage, target: $crate::stage::Stage, out: &mut Vec<$crate::report::Finding>) {
                $(
                    self.$field.check_field(
                        $crate::record!(@info $req $stage),
                        target,
                        <$ty as $crate::decode::Decode>::required_names(),
                        out,
                    );
                )*
            }

            fn info_at(path: &[&str], here: $crate::decode::FieldInfo) -> Option<$crate::decode::FieldInfo> {
                let Some((first, rest)) = path.split_first() else { return Some(here) };
                match *first {
                    $( $key => <$ty as $crate::decode::Decode>::info_at(rest, $crate::record!(@info $req $stage)), )*
                    _ => None,
                }
            }

            $(
                fn ident(&self) -> Option<String> {
                    let parts: Vec<String> = vec![$(self.$idf.value()?.ident()?),+];
                    Some(parts.join("@"))
                }
            )?

            fn required_names() -> &'static [&'static str] {
                Self::REQUIRED
            }
        }
    };
    (@na must) => { false };
    (@na $other:ident) => { true };
    (@name must $key:literal) => { $key };
    (@name req $key:literal) => { $key };
    (@name opt $key:literal) => { "" };
    (@info must $stage:ident) => {
        $crate::decode::FieldInfo { stage: $crate::stage::Stage::$stage, required: true }
    };
    (@info req $stage:ident) => {
        $crate::decode::FieldInfo { stage: $crate::stage::Stage::$stage, required: true }
    };
    (@info opt $stage:ident) => {
        $crate::decode::FieldInfo { stage: $crate::stage::Stage::$stage, required: false }
    };
}
