//! The parsed document: a tree of nodes that remembers where each one came from.
//!
//! YAML and JSON both parse into [`Node`]. Every node keeps its 1-based line and
//! column, so a finding's JSON Pointer can always be mapped back to the source.

use std::fmt;

use serde::de::{Deserialize, Deserializer, Error as _, MapAccess, SeqAccess, Visitor};
use serde_saphyr::Spanned;

/// A 1-based line and column in the source document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    /// 1-based line.
    pub line: u32,
    /// 1-based column.
    pub column: u32,
}

impl Pos {
    /// The start of the document.
    pub const START: Pos = Pos { line: 1, column: 1 };

    fn from_u64(line: u64, column: u64) -> Pos {
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX).max(1),
            column: u32::try_from(column).unwrap_or(u32::MAX).max(1),
        }
    }

    fn from_spanned<T>(s: &Spanned<T>) -> Pos {
        let loc = s.referenced;
        Pos::from_u64(loc.line(), loc.column())
    }
}

/// A mapping key with its position.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    /// The key as written (non-string scalar keys are rendered as text).
    pub name: String,
    /// Where the key starts.
    pub pos: Pos,
}

/// One value in the document tree.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// `null`, `~` or an empty value.
    Null,
    /// `true` / `false`.
    Bool(bool),
    /// An integer.
    Int(i64),
    /// A floating-point number.
    Float(f64),
    /// A string scalar.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in document order.
    Map(Vec<(Key, Node)>),
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// The value.
    pub value: Value,
    /// Where the value starts.
    pub pos: Pos,
}

impl Node {
    /// The node's string, when it is a string scalar.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The value of `key`, when this node is a mapping holding it.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|(k, _)| k.name == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The node at an RFC 6901 JSON Pointer, if any.
    pub fn pointer(&self, pointer: &str) -> Option<&Node> {
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        let mut node = self;
        for raw in rest.split('/') {
            let token = unescape(raw);
            node = match &node.value {
                Value::Map(entries) => entries.iter().find(|(k, _)| k.name == token).map(|(_, v)| v)?,
                Value::Seq(items) => items.get(token.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(node)
    }

    /// The position of the deepest existing node along `pointer`: the node itself
    /// when it exists, otherwise the closest ancestor that does.
    pub fn pos_of(&self, pointer: &str) -> Pos {
        let mut best = self.pos;
        let Some(rest) = pointer.strip_prefix('/') else {
            return best;
        };
        let mut node = self;
        for raw in rest.split('/') {
            let token = unescape(raw);
            let next = match &node.value {
                Value::Map(entries) => entries.iter().find(|(k, _)| k.name == token).map(|(_, v)| v),
                Value::Seq(items) => token.parse::<usize>().ok().and_then(|i| items.get(i)),
                _ => None,
            };
            match next {
                Some(n) => {
                    node = n;
                    best = n.pos;
                }
                None => break,
            }
        }
        best
    }

    /// The node as JSON (used for canonical digests and round-trips).
    pub fn to_json(&self) -> serde_json::Value {
        use serde_json::Value as J;
        match &self.value {
            Value::Null => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(J::Null, J::Number),
            Value::Str(s) => J::String(s.clone()),
            Value::Seq(items) => J::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => J::Object(entries.iter().map(|(k, v)| (k.name.clone(), v.to_json())).collect()),
        }
    }

    /// A short name for the node's type, for messages.
    pub fn type_name(&self) -> &'static str {
        match self.value {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Int(_) => "an integer",
            Value::Float(_) => "a number",
            Value::Str(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Escapes one JSON Pointer reference token (RFC 6901).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// Unescapes one JSON Pointer reference token (RFC 6901).
pub fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// Joins a pointer and a child token.
pub fn join(pointer: &str, token: &str) -> String {
    let mut out = String::with_capacity(pointer.len() + token.len() + 1);
    out.push_str(pointer);
    out.push('/');
    out.push_str(&escape(token));
    out
}

// ---- deserialization from serde-saphyr, keeping spans ----

/// Serde shape used only while reading: a value whose children carry spans.
struct Raw(Value);

impl Raw {
    fn into_node(s: Spanned<Raw>) -> Node {
        Node {
            pos: Pos::from_spanned(&s),
            value: s.value.0,
        }
    }
}

impl<'de> Deserialize<'de> for Raw {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = Raw;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any YAML value")
    }
    fn visit_unit<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_none<E>(self) -> Result<Raw, E> {
        Ok(Raw(Value::Null))
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Raw, D::Error> {
        Raw::deserialize(d)
    }
    fn visit_bool<E>(self, v: bool) -> Result<Raw, E> {
        Ok(Raw(Value::Bool(v)))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Raw, E> {
        Ok(Raw(Value::Int(v)))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Raw, E> {
        i64::try_from(v)
            .map(|i| Raw(Value::Int(i)))
            .map_err(|_| E::custom("integer is too large"))
    }
    fn visit_i128<E: serde::de::Error>(self, _: i128) -> Result<Raw, E> {
        Err(E::custom("integer is too large"))
    }
    fn visit_u128<E: serde::de::Error>(self, _: u128) -> Result<Raw, E> {
        Err(E::custom("integer is too large"))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Raw, E> {
        Ok(Raw(Value::Float(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v.to_owned())))
    }
    fn visit_string<E>(self, v: String) -> Result<Raw, E> {
        Ok(Raw(Value::Str(v)))
    }
    fn visit_bytes<E: serde::de::Error>(self, _: &[u8]) -> Result<Raw, E> {
        Err(E::custom("binary values are not supported"))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut items = Vec::new();
        while let Some(x) = a.next_element::<Spanned<Raw>>()? {
            items.push(Raw::into_node(x));
        }
        Ok(Raw(Value::Seq(items)))
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Raw, A::Error> {
        let mut entries: Vec<(Key, Node)> = Vec::new();
        while let Some((k, v)) = a.next_entry::<Spanned<Raw>, Spanned<Raw>>()? {
            let pos = Pos::from_spanned(&k);
            let name = match k.value.0 {
                Value::Str(s) => s,
                Value::Int(i) => i.to_string(),
                Value::Bool(b) => b.to_string(),
                Value::Float(f) => f.to_string(),
                Value::Null => "null".to_owned(),
                Value::Seq(_) | Value::Map(_) => {
                    return Err(A::Error::custom(format!(
                        "complex mapping keys are not supported (line {}, column {})",
                        pos.line, pos.column
                    )));
                }
            };
            if entries.iter().any(|(e, _)| e.name == name) {
                return Err(A::Error::custom(format!(
                    "duplicate mapping key `{name}` at line {}, column {}",
                    pos.line, pos.column
                )));
            }
            entries.push((Key { name, pos }, Raw::into_node(v)));
        }
        Ok(Raw(Value::Map(entries)))
    }
}

/// Budgets that bound the work and memory a document may cost to parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest accepted document, in bytes (default 1 MiB).
    pub max_bytes: usize,
    /// Deepest nesting of collections (default 32).
    pub max_depth: usize,
    /// Most alias (`*name`) uses (default 64).
    pub max_aliases: usize,
    /// Most nodes, counting alias expansions (default 100,000).
    pub max_nodes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bytes: 1 << 20,
            max_depth: 32,
            max_aliases: 64,
            max_nodes: 100_000,
        }
    }
}

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message} (line {}, column {})", pos.line, pos.column)]
pub struct SyntaxError {
    /// What went wrong, for people.
    pub message: String,
    /// Where it went wrong.
    pub pos: Pos,
}

/// Parses YAML (or JSON, which YAML 1.2 contains) into a positioned tree.
pub fn parse_yaml(text: &str, limits: &Limits) -> Result<Node, SyntaxError> {
    if text.len() > limits.max_bytes {
        return Err(SyntaxError {
            message: format!("document is larger than the limit of {} bytes", limits.max_bytes),
            pos: Pos::START,
        });
    }
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    options.strict_booleans = true;
    options.reject_unsupported_tags = true;
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_depth = limits.max_depth;
    budget.max_aliases = limits.max_aliases;
    budget.max_nodes = limits.max_nodes;
    budget.max_events = limits.max_nodes.saturating_mul(4);
    budget.max_documents = 1;
    options.budget = Some(budget);
    options.alias_limits.max_total_replayed_events = limits.max_nodes;
    match serde_saphyr::from_str_with_options::<Option<Spanned<Raw>>>(text, options) {
        Ok(Some(node)) => Ok(Raw::into_node(node)),
        Ok(None) => Err(SyntaxError {
            message: "document is empty".to_owned(),
            pos: Pos::START,
        }),
        Err(err) => {
            let pos = err
                .location()
                .map_or(Pos::START, |l| Pos::from_u64(l.line(), l.column()));
            Err(SyntaxError {
                message: explain(&clean_message(&err.to_string()), limits),
                pos,
            })
        }
    }
}

/// Parses strict JSON (rejecting YAML-only syntax), then reads it with positions.
pub fn parse_json(text: &str, limits: &Limits) -> Result<Node, SyntaxError> {
    if text.len() > limits.max_bytes {
        return parse_yaml(text, limits);
    }
    // serde_json refuses nesting past 128 on its own; our depth budget applies below.
    if let Err(err) = serde_json::from_str::<serde::de::IgnoredAny>(text) {
        return Err(SyntaxError {
            message: format!("invalid JSON: {}", clean_message(&err.to_string())),
            pos: Pos {
                line: u32::try_from(err.line()).unwrap_or(u32::MAX).max(1),
                column: u32::try_from(err.column()).unwrap_or(u32::MAX).max(1),
            },
        });
    }
    parse_yaml(&escape_unprintable(text), limits)
}

/// True for characters JSON strings may hold raw but YAML may not (C0 controls other
/// than tab and line breaks, DEL, C1 controls other than NEL, U+FFFE and U+FFFF).
fn yaml_unprintable(c: char) -> bool {
    matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{7f}'..='\u{84}' | '\u{86}'..='\u{9f}' | '\u{fffe}' | '\u{ffff}')
}

/// Rewrites such characters as `\uXXXX` escapes. In valid JSON they can only stand
/// inside strings, where the escape means the same character to the YAML reader.
fn escape_unprintable(text: &str) -> std::borrow::Cow<'_, str> {
    if !text.chars().any(yaml_unprintable) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if yaml_unprintable(c) {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// Says in plain words what a parser budget or policy message means.
fn explain(message: &str, limits: &Limits) -> String {
    let depth = || {
        format!(
            "the document nests deeper than the limit of {} levels",
            limits.max_depth
        )
    };
    if let Some(rest) = message.strip_prefix("duplicate mapping key: ") {
        let key = rest.split(',').next().unwrap_or(rest).trim();
        return format!("duplicate key `{key}`; each key may appear once in a mapping");
    }
    if message.starts_with("recursion limit exceeded") {
        return depth();
    }
    if message.starts_with("alias replay limit exceeded") {
        return format!("aliases expand past the limit of {} nodes", limits.max_nodes);
    }
    if let Some(what) = message.strip_prefix("budget breached: ") {
        let kind = what.split([' ', '{']).next().unwrap_or(what);
        return match kind {
            "Depth" => depth(),
            "Aliases" => format!("the document uses more than {} aliases", limits.max_aliases),
            "Nodes" | "Events" => format!(
                "the document has more than {} nodes (counting alias expansions)",
                limits.max_nodes
            ),
            "Documents" => "the file holds more than one YAML document".to_owned(),
            _ => format!("the document exceeds a parser budget ({})", what.trim()),
        };
    }
    message.to_owned()
}

/// Keeps the first line of a parser message and drops the location suffix we report
/// separately.
fn clean_message(raw: &str) -> String {
    let first = raw.lines().next().unwrap_or(raw).trim();
    let cut = first
        .find(" at line ")
        .map_or(first, |i| first.get(..i).unwrap_or(first));
    cut.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn yaml(text: &str) -> Result<Node, SyntaxError> {
        parse_yaml(text, &Limits::default())
    }

    #[test]
    fn keeps_positions() {
        let n = yaml("a:\n  b: [1, x]\n").unwrap();
        assert_eq!(n.pointer("/a/b/1").unwrap().pos, Pos { line: 2, column: 10 });
        assert_eq!(n.pointer("/a/b/1").unwrap().as_str(), Some("x"));
        assert_eq!(n.pos_of("/a/missing"), Pos { line: 2, column: 3 });
    }

    #[test]
    fn refuses_duplicates_depth_and_bombs() {
        assert!(yaml("a: 1\na: 2\n").unwrap_err().message.contains("duplicate"));
        let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
        assert!(yaml(&deep).is_err());
        let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            bomb.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        assert!(yaml(&bomb).is_err());
        assert!(yaml("").is_err());
    }

    #[test]
    fn json_and_pointers() {
        let n = parse_json("{\n\t\"a/b\": {\"~x\": [true]}\n}", &Limits::default()).unwrap();
        assert_eq!(n.pointer("/a~1b/~0x/0").unwrap().value, Value::Bool(true));
        assert!(parse_json("{a: 1}", &Limits::default()).is_err());
        assert_eq!(join("/a", "b/c"), "/a/b~1c");
        let raw = parse_json("{\"a\": \"x\u{7f}y\u{85}\u{9f}\"}", &Limits::default()).unwrap();
        assert_eq!(raw.pointer("/a").unwrap().as_str(), Some("x\u{7f}y\u{85}\u{9f}"));
    }
}
