//! `${…}` placeholders: one parser and one substitution, shared by probes, flows and
//! gates.
//!
//! A placeholder is `${name}` (a run parameter or, inside a flow, a value captured by an
//! earlier step) or `${secret.NAME}` (a secret handed in at run time). `$${` writes a
//! literal `${`; any other `$` is literal. Names are `[A-Za-z_][A-Za-z0-9_]*`.
//!
//! Every substitution has two renderings: the real one, for sending, and the redacted
//! one, for recording and printing, where every secret value reads `***` (see
//! [`REDACTED`]). The redacted rendering is also scrubbed: any secret value that still
//! occurs in it (because a parameter or a captured value happens to contain it) is
//! replaced by `***` too.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde_json::Value;

/// What a secret value is replaced with in every recorded or printed form.
pub const REDACTED: &str = "***";

/// The prefix of a secret's placeholder name (`${secret.NAME}`).
pub const SECRET_PREFIX: &str = "secret.";

/// One piece of a text with placeholders (JSON: `{"text": "…"}` or `{"ref": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Piece {
    /// Literal text (with `$${` already unescaped to `${`).
    Text(String),
    /// A placeholder's name, as written between `${` and `}` (`tenant`, `secret.KEY`).
    Ref(String),
}

/// A text whose placeholders are malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, serde::Serialize)]
#[error("{message}")]
pub struct PlaceholderError {
    /// For people.
    pub message: String,
}

/// Splits `text` into literal pieces and placeholder names.
///
/// ```
/// use gangway::checklist::placeholder::{Piece, parse};
///
/// let pieces = parse("/api/jobs/${job_id}?t=$${x}")?;
/// assert_eq!(
///     pieces,
///     [
///         Piece::Text("/api/jobs/".into()),
///         Piece::Ref("job_id".into()),
///         Piece::Text("?t=${x}".into()),
///     ]
/// );
/// assert!(parse("${unterminated").is_err());
/// # Ok::<(), gangway::checklist::placeholder::PlaceholderError>(())
/// ```
pub fn parse(text: &str) -> Result<Vec<Piece>, PlaceholderError> {
    let mut pieces = Vec::new();
    let mut literal = String::new();
    let mut rest = text;
    while let Some(i) = rest.find('$') {
        let Some((before, after)) = rest.split_at_checked(i) else {
            break;
        };
        literal.push_str(before);
        if let Some(tail) = after.strip_prefix("$${") {
            literal.push_str("${");
            rest = tail;
        } else if let Some(tail) = after.strip_prefix("${") {
            let Some((name, tail)) = tail.split_once('}') else {
                return Err(PlaceholderError {
                    message: format!("unterminated placeholder `{}`; close it with `}}`", after),
                });
            };
            if !valid_ref(name) {
                return Err(PlaceholderError {
                    message: format!(
                        "invalid placeholder `${{{name}}}`; write `${{name}}` or `${{secret.NAME}}` with letters, digits and `_` (write `$${{` for a literal `${{`)"
                    ),
                });
            }
            if !literal.is_empty() {
                pieces.push(Piece::Text(std::mem::take(&mut literal)));
            }
            pieces.push(Piece::Ref(name.to_owned()));
            rest = tail;
        } else {
            literal.push('$');
            rest = after.get(1..).unwrap_or_default();
        }
    }
    literal.push_str(rest);
    if !literal.is_empty() {
        pieces.push(Piece::Text(literal));
    }
    Ok(pieces)
}

/// The placeholder names in `text`, in order of first appearance, without repeats.
pub fn refs(text: &str) -> Result<Vec<String>, PlaceholderError> {
    let mut out: Vec<String> = Vec::new();
    for piece in parse(text)? {
        if let Piece::Ref(name) = piece
            && !out.contains(&name)
        {
            out.push(name);
        }
    }
    Ok(out)
}

/// True for `[A-Za-z_][A-Za-z0-9_]*`.
pub(crate) fn valid_name(name: &str) -> bool {
    let mut chars = name.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn valid_ref(name: &str) -> bool {
    valid_name(name.strip_prefix(SECRET_PREFIX).unwrap_or(name))
}

/// Substitutes plain values into `text` (no secrets, no captures): the small function
/// for texts such as a gate's `tenant: "${tenant}"`.
///
/// ```
/// use std::collections::BTreeMap;
/// use gangway::checklist::placeholder::substitute;
///
/// let params = BTreeMap::from([("tenant".to_owned(), "acme".to_owned())]);
/// assert_eq!(substitute("tenant ${tenant}", &params).as_deref(), Ok("tenant acme"));
/// assert_eq!(substitute("${other}", &params), Err("other".to_owned()));
/// ```
///
/// # Errors
///
/// The first name that has no value (a malformed text is returned unchanged).
pub fn substitute(text: &str, values: &BTreeMap<String, String>) -> Result<String, String> {
    let Ok(pieces) = parse(text) else {
        return Ok(text.to_owned());
    };
    let mut out = String::with_capacity(text.len());
    for piece in pieces {
        match piece {
            Piece::Text(t) => out.push_str(&t),
            Piece::Ref(name) => out.push_str(values.get(&name).ok_or(name)?),
        }
    }
    Ok(out)
}

/// Secret values handed in at run time, by name (`${secret.NAME}`).
///
/// Never printed: its `Debug` form lists names only, and it has no serialized form.
#[derive(Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(transparent)]
pub struct Secrets(BTreeMap<String, String>);

impl Secrets {
    /// No secrets.
    pub fn new() -> Secrets {
        Secrets::default()
    }

    /// Adds or replaces the secret `name`.
    pub fn insert(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.0.insert(name.into(), value.into());
    }

    /// The value of the secret `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// The names, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }
}

impl fmt::Debug for Secrets {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Secrets")
            .field("names", &self.0.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl<K: Into<String>, V: Into<String>> FromIterator<(K, V)> for Secrets {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Self {
        Secrets(iter.into_iter().map(|(k, v)| (k.into(), v.into())).collect())
    }
}

/// Which rendering to produce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mode {
    /// Real values, for sending.
    Send,
    /// Secrets as `***`, for recording and printing.
    Record,
}

#[derive(Clone)]
struct Bound {
    value: Value,
    secret: bool,
}

/// The values placeholders resolve to: parameters, secrets (`secret.NAME`) and captures.
#[derive(Clone, Default)]
pub(crate) struct Scope {
    bound: BTreeMap<String, Bound>,
}

impl fmt::Debug for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Scope")
            .field("names", &self.bound.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Scope {
    /// A scope of parameters and secrets.
    pub(crate) fn new(params: &BTreeMap<String, String>, secrets: &Secrets) -> Scope {
        let mut scope = Scope::default();
        for (name, value) in params {
            scope.bind(name.clone(), Value::String(value.clone()), false);
        }
        for (name, value) in &secrets.0 {
            scope.bind(format!("{SECRET_PREFIX}{name}"), Value::String(value.clone()), true);
        }
        scope
    }

    /// Binds `name` (a parameter, a capture, or `secret.NAME`).
    pub(crate) fn bind(&mut self, name: String, value: Value, secret: bool) {
        self.bound.insert(name, Bound { value, secret });
    }

    /// Every secret text (non-empty strings of secret bindings, and the text of
    /// non-string ones), longest first so a secret containing another is replaced whole.
    pub(crate) fn secret_texts(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .bound
            .values()
            .filter(|b| b.secret)
            .map(|b| as_text(&b.value))
            .filter(|t| !t.is_empty())
            .collect();
        out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }

    /// The secret texts split for scrubbing: those handed in (`secret.NAME`) and
    /// captured values of at least `min` characters, redacted wherever they occur;
    /// and shorter captured values (or non-text ones), redacted only as whole values.
    pub(crate) fn secret_texts_split(&self, min: usize) -> (Vec<String>, Vec<String>) {
        let mut substring = Vec::new();
        let mut whole = Vec::new();
        for (name, b) in self.bound.iter().filter(|(_, b)| b.secret) {
            let text = as_text(&b.value);
            if text.is_empty() {
                continue;
            }
            if name.starts_with(SECRET_PREFIX) || (b.value.is_string() && text.chars().count() >= min) {
                substring.push(text);
            } else {
                whole.push(text);
            }
        }
        (substring, whole)
    }

    fn get(&self, name: &str) -> Result<&Bound, String> {
        self.bound.get(name).ok_or_else(|| name.to_owned())
    }

    /// Renders a text. With `encode`, substituted values are percent-encoded (for a
    /// URL path); literal text is kept as written.
    pub(crate) fn render_str(&self, text: &str, mode: Mode, encode: bool) -> Result<String, String> {
        let pieces = parse(text).map_err(|e| e.message)?;
        let mut out = String::with_capacity(text.len());
        for piece in pieces {
            match piece {
                Piece::Text(t) => out.push_str(&t),
                Piece::Ref(name) => {
                    let bound = self.get(&name)?;
                    if bound.secret && mode == Mode::Record {
                        out.push_str(REDACTED);
                    } else if encode {
                        out.push_str(&percent_encode(&as_text(&bound.value)));
                    } else {
                        out.push_str(&as_text(&bound.value));
                    }
                }
            }
        }
        if mode == Mode::Record {
            out = scrub_str(&out, &self.secret_texts());
        }
        Ok(out)
    }

    /// Renders a JSON value: every string is rendered; a string that is exactly one
    /// placeholder becomes the bound value itself (a captured number stays a number).
    pub(crate) fn render_json(&self, value: &Value, mode: Mode) -> Result<Value, String> {
        let mut out = self.render_json_inner(value, mode)?;
        if mode == Mode::Record {
            scrub_json(&mut out, &self.secret_texts());
        }
        Ok(out)
    }

    fn render_json_inner(&self, value: &Value, mode: Mode) -> Result<Value, String> {
        Ok(match value {
            Value::String(s) => {
                let pieces = parse(s).map_err(|e| e.message)?;
                match pieces.as_slice() {
                    [Piece::Ref(name)] => {
                        let bound = self.get(name)?;
                        if bound.secret && mode == Mode::Record {
                            Value::String(REDACTED.to_owned())
                        } else {
                            bound.value.clone()
                        }
                    }
                    _ => Value::String(self.render_str(s, mode, false)?),
                }
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .map(|v| self.render_json_inner(v, mode))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, v)| Ok((k.clone(), self.render_json_inner(v, mode)?)))
                    .collect::<Result<_, String>>()?,
            ),
            other => other.clone(),
        })
    }
}

/// A value as text: strings as they are, anything else as compact JSON.
pub(crate) fn as_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// Replaces every occurrence of each secret text (longest first) by `***`.
pub(crate) fn scrub_str(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        if !secret.is_empty() && out.contains(secret.as_str()) {
            out = out.replace(secret.as_str(), REDACTED);
        }
    }
    out
}

/// Scrubs every string (and object key) of a JSON value in place.
pub(crate) fn scrub_json(value: &mut Value, secrets: &[String]) {
    if secrets.is_empty() {
        return;
    }
    match value {
        Value::String(s) => *s = scrub_str(s, secrets),
        Value::Array(items) => items.iter_mut().for_each(|v| scrub_json(v, secrets)),
        Value::Object(map) => {
            let old = std::mem::take(map);
            for (k, mut v) in old {
                scrub_json(&mut v, secrets);
                map.insert(scrub_str(&k, secrets), v);
            }
        }
        Value::Number(n) => {
            let text = n.to_string();
            if secrets.iter().any(|s| text.contains(s.as_str())) {
                *value = Value::String(scrub_str(&text, secrets));
            }
        }
        Value::Null | Value::Bool(_) => {}
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn scope() -> Scope {
        let params = BTreeMap::from([("tenant".to_owned(), "acme co/1".to_owned())]);
        let secrets: Secrets = [("KEY", "s3cr3t-value")].into_iter().collect();
        let mut scope = Scope::new(&params, &secrets);
        scope.bind("job_id".into(), json!(42), false);
        scope.bind("token".into(), json!("tok-abcdef"), true);
        scope
    }

    #[test]
    fn parses_escapes_and_refuses_malformed() {
        assert_eq!(parse("").map(|p| p.len()), Ok(0));
        assert_eq!(parse("a$b$").map(|p| p.len()), Ok(1));
        assert_eq!(
            parse("$${x}${a}$"),
            Ok(vec![
                Piece::Text("${x}".into()),
                Piece::Ref("a".into()),
                Piece::Text("$".into())
            ])
        );
        assert_eq!(
            parse("${secret.API_KEY}"),
            Ok(vec![Piece::Ref("secret.API_KEY".into())])
        );
        for bad in ["${", "${}", "${a b}", "${1a}", "${secret.}", "${secret.x.y}", "${a-b}"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        assert_eq!(refs("${a}${b}${a}"), Ok(vec!["a".to_owned(), "b".to_owned()]));
    }

    #[test]
    fn renders_both_forms() {
        let s = scope();
        let path = "/t/${tenant}/jobs/${job_id}";
        assert_eq!(
            s.render_str(path, Mode::Send, true).as_deref(),
            Ok("/t/acme%20co%2F1/jobs/42")
        );
        let header = "Bearer ${token} ${secret.KEY}";
        assert_eq!(
            s.render_str(header, Mode::Send, false).as_deref(),
            Ok("Bearer tok-abcdef s3cr3t-value")
        );
        assert_eq!(
            s.render_str(header, Mode::Record, false).as_deref(),
            Ok("Bearer *** ***")
        );
        assert_eq!(s.render_str("${nope}", Mode::Send, false), Err("nope".to_owned()));

        let body = json!({"id": "${job_id}", "t": "x-${tenant}", "k": "${secret.KEY}", "n": [1, "${token}"]});
        assert_eq!(
            s.render_json(&body, Mode::Send),
            Ok(json!({"id": 42, "t": "x-acme co/1", "k": "s3cr3t-value", "n": [1, "tok-abcdef"]}))
        );
        assert_eq!(
            s.render_json(&body, Mode::Record),
            Ok(json!({"id": 42, "t": "x-acme co/1", "k": "***", "n": [1, "***"]}))
        );
    }

    #[test]
    fn scrubs_secrets_hidden_in_other_values() {
        let params = BTreeMap::from([("p".to_owned(), "xx-s3cr3t-xx".to_owned())]);
        let secrets: Secrets = [("K", "s3cr3t")].into_iter().collect();
        let s = Scope::new(&params, &secrets);
        assert_eq!(s.render_str("${p}", Mode::Record, false).as_deref(), Ok("xx-***-xx"));
        let mut v = json!({"s3cr3t": ["a s3cr3t", 1]});
        scrub_json(&mut v, &["s3cr3t".to_owned()]);
        assert_eq!(v, json!({"***": ["a ***", 1]}));
        let mut n = json!(123456);
        scrub_json(&mut n, &["345".to_owned()]);
        assert_eq!(n, json!("12***6"));
        assert_eq!(format!("{secrets:?}"), "Secrets { names: [\"K\"] }");
    }

    #[test]
    fn substitute_plain() {
        let values = BTreeMap::from([("a".to_owned(), "1".to_owned())]);
        assert_eq!(substitute("${a}-${a}-$${a}", &values).as_deref(), Ok("1-1-${a}"));
        assert_eq!(substitute("${", &values).as_deref(), Ok("${"));
    }

    proptest! {
        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            let _ = parse(&text);
        }

        #[test]
        fn redacted_rendering_never_shows_a_secret(
            template in "[a-z/ ${}.]{0,30}",
            secret in "[A-Za-z0-9]{4,16}",
            param in "[a-zA-Z0-9 ]{0,20}",
        ) {
            let params = BTreeMap::from([("p".to_owned(), format!("{param}{secret}{param}"))]);
            let secrets: Secrets = [("S", secret.clone())].into_iter().collect();
            let s = Scope::new(&params, &secrets);
            let text = format!("{template}${{secret.S}}-${{p}}{template}");
            if let Ok(out) = s.render_str(&text, Mode::Record, false) {
                prop_assert!(!out.contains(&secret), "{out}");
            }
            let body = json!({"a": text, "b": ["${secret.S}", {"c": "${p}"}]});
            if let Ok(out) = s.render_json(&body, Mode::Record) {
                prop_assert!(!out.to_string().contains(&secret), "{out}");
            }
        }
    }
}
