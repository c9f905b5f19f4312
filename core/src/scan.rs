//! The scope scanner: finds scope strings (`<ns>:<resource>:<verb>`) in source files,
//! OpenAPI documents and SDK examples, and reports the ones the registry does not
//! have, or has in a state code must not rely on.
//!
//! ```
//! use gangway::scan::find_scopes;
//!
//! let text = "const scopes = ['token_factory:model:invoke'];\n// not: https://x:y, 12:30:45\n";
//! let hits = find_scopes(text, &["token_factory"]);
//! assert_eq!(hits.len(), 1);
//! assert_eq!((hits[0].scope.as_str(), hits[0].line, hits[0].column), ("token_factory:model:invoke", 1, 18));
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde_json::{Value as Json, json};

use crate::guard::Snapshot;
use crate::registry::Kind;
use crate::report::Severity;

/// One scope string found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeHit {
    /// The scope as written.
    pub scope: String,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
}

/// True for the characters that continue a token around a scope: letters, digits,
/// `_`, `-`, `:`, `/`, `@`, `$`, `%`, `+` and `~`. A scope must not touch one, so
/// `a:b:c:d`, `x/ns:r:v` and URLs are not read as scopes.
fn joins(c: u8) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b':' | b'/' | b'@' | b'$' | b'%' | b'+' | b'~')
}

/// The length of a lowercase snake segment (`[a-z][a-z0-9_]*`) at the start of `b`.
fn segment_len(b: &[u8]) -> usize {
    match b.first() {
        Some(c) if c.is_ascii_lowercase() => b
            .iter()
            .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || **c == b'_')
            .count(),
        _ => 0,
    }
}

/// The byte length of a `<resource>:<verb>` tail at the start of `b`, when it is one
/// and ends at a token boundary. A `.` may follow (end of a sentence, a property
/// access) but not a `.` that continues a name (`ns:r:v.x`).
fn tail_len(b: &[u8]) -> Option<usize> {
    let r = segment_len(b);
    if r == 0 || b.get(r) != Some(&b':') {
        return None;
    }
    let rest = b.get(r + 1..)?;
    let v = segment_len(rest);
    if v == 0 {
        return None;
    }
    let end = r + 1 + v;
    match b.get(end) {
        // A mapping key (`ns:r:v: description` in an OpenAPI scopes map).
        Some(b':') if b.get(end + 1).is_none_or(|c| c.is_ascii_whitespace()) => Some(end),
        Some(&c) if joins(c) => None,
        Some(b'.') if b.get(end + 1).is_some_and(|&c| joins(c) || c == b'.') => None,
        _ => Some(end),
    }
}

/// Every `<ns>:<resource>:<verb>` in `text` whose `ns` is one of `namespaces`, with
/// lowercase snake resource and verb, standing alone (not inside a longer token such
/// as `a:b:c:d`, a URL or a path). In text order; one pass over the text, whatever the
/// number of namespaces.
pub fn find_scopes(text: &str, namespaces: &[&str]) -> Vec<ScopeHit> {
    let known: HashSet<&str> = namespaces.iter().copied().filter(|n| !n.is_empty()).collect();
    let bytes = text.as_bytes();
    let mut hits = Vec::new();
    let (mut line, mut line_start) = (1u32, 0usize);
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c == b'\n' {
            line += 1;
            line_start = i + 1;
            i += 1;
            continue;
        }
        let boundary = i
            .checked_sub(1)
            .and_then(|p| bytes.get(p))
            .is_none_or(|&p| !(joins(p) || p == b'.'));
        let n = if boundary {
            bytes.get(i..).map_or(0, segment_len)
        } else {
            0
        };
        if n == 0 {
            i += 1;
            continue;
        }
        let is_ns = bytes.get(i + n) == Some(&b':') && text.get(i..i + n).is_some_and(|ns| known.contains(ns));
        let tail = if is_ns {
            bytes.get(i + n + 1..).and_then(tail_len)
        } else {
            None
        };
        let Some(tail) = tail else {
            // Nothing inside a segment starts a scope: skip past it.
            i += n;
            continue;
        };
        let end = i + n + 1 + tail;
        if let Some(scope) = text.get(i..end) {
            let column = text.get(line_start..i).map_or(0, |s| s.chars().count()) + 1;
            hits.push(ScopeHit {
                scope: scope.to_owned(),
                line,
                column: u32::try_from(column).unwrap_or(u32::MAX),
            });
        }
        i = end;
    }
    hits
}

/// A scope in a file that the registry does not have, or has in a state code must
/// not rely on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanFinding {
    /// The file, as reached from the path given.
    pub file: PathBuf,
    /// 1-based line.
    pub line: u32,
    /// 1-based column, in characters.
    pub column: u32,
    /// The scope as written.
    pub scope: String,
    /// The code, as [`Snapshot::check_scopes`] gives it.
    pub code: &'static str,
    /// Error, or warning for a deprecated scope.
    pub severity: Severity,
    /// For people.
    pub message: String,
}

impl ScanFinding {
    /// True for an error (anything but a deprecated scope).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// `file:line:column: code: message`, with `/` separators.
    pub fn to_text(&self) -> String {
        format!(
            "{}:{}:{}: {}: {}",
            display_path(&self.file),
            self.line,
            self.column,
            self.code,
            self.message
        )
    }

    /// The JSON form: `{file, line, column, scope, code, severity, message}`.
    pub fn to_json_value(&self) -> Json {
        json!({
            "file": display_path(&self.file),
            "line": self.line,
            "column": self.column,
            "scope": self.scope,
            "code": self.code,
            "severity": self.severity.as_str(),
            "message": self.message,
        })
    }
}

/// The canonical JSON of a scan: a list of findings.
pub fn to_json(findings: &[ScanFinding]) -> String {
    crate::report::canonical_json(&Json::Array(findings.iter().map(ScanFinding::to_json_value).collect()))
}

/// A path with `/` separators (the same text on every platform).
pub fn display_path(path: &Path) -> String {
    let s = path.to_string_lossy();
    if std::path::MAIN_SEPARATOR == '/' {
        s.into_owned()
    } else {
        s.replace(std::path::MAIN_SEPARATOR, "/")
    }
}

/// A file or folder that could not be read.
#[derive(Debug, thiserror::Error)]
#[error("cannot read {}: {source}", display_path(.path))]
pub struct ScanError {
    /// The path.
    pub path: PathBuf,
    /// Why.
    #[source]
    pub source: std::io::Error,
}

/// Folders a scan does not enter (they hold generated, vendored or tool files).
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules", ".venv"];

/// Files larger than this are skipped.
pub const MAX_FILE_BYTES: u64 = 4 << 20;

/// Scans files and folders (recursively, entries in name order, skipping
/// [`SKIPPED_DIRS`], symbolic links to folders, files over [`MAX_FILE_BYTES`] and
/// binary files) and returns every scope of a known namespace that is unregistered,
/// `draft`, retired or deprecated, in file order then text order. The paths given
/// are scanned as given, in the order given.
pub fn scan_files<P: AsRef<Path>>(paths: &[P], snapshot: &Snapshot) -> Result<Vec<ScanFinding>, ScanError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p.as_ref(), true, &mut files)?;
    }
    let namespaces: Vec<&str> = snapshot.namespaces().iter().map(String::as_str).collect();
    let mut out = Vec::new();
    for file in files {
        let Some(text) = read_text(&file)? else { continue };
        out.extend(scan_text(&text, &namespaces, snapshot, &file));
    }
    Ok(out)
}

/// The findings of one text (as [`scan_files`] reports them for `file`).
pub fn scan_text(text: &str, namespaces: &[&str], snapshot: &Snapshot, file: &Path) -> Vec<ScanFinding> {
    let mut out = Vec::new();
    for hit in find_scopes(text, namespaces) {
        let Some(issue) = snapshot.check_scope(&hit.scope) else {
            continue;
        };
        let mut message = issue.message();
        if issue.state.is_none() {
            let keys = snapshot.registry().keys(Kind::Scope);
            if let Some(best) = crate::decode::did_you_mean(&hit.scope, keys) {
                message.push_str(&format!(" (did you mean `{best}`?)"));
            }
        }
        out.push(ScanFinding {
            file: file.to_path_buf(),
            line: hit.line,
            column: hit.column,
            scope: hit.scope,
            code: issue.code,
            severity: issue.severity,
            message,
        });
    }
    out
}

fn collect(path: &Path, named: bool, out: &mut Vec<PathBuf>) -> Result<(), ScanError> {
    let err = |source| ScanError {
        path: path.to_path_buf(),
        source,
    };
    let meta = if named {
        std::fs::metadata(path).map_err(err)?
    } else {
        std::fs::symlink_metadata(path).map_err(err)?
    };
    if meta.is_file() {
        if meta.len() <= MAX_FILE_BYTES {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    if meta.file_type().is_symlink() {
        // Found while walking: follow links to files, never to folders (no cycles).
        if std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.len() <= MAX_FILE_BYTES) {
            out.push(path.to_path_buf());
        }
        return Ok(());
    }
    if !meta.is_dir() {
        return Ok(());
    }
    if !named
        && path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| SKIPPED_DIRS.contains(&n))
    {
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(err)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()
        .map_err(err)?;
    entries.sort();
    for entry in entries {
        collect(&entry, false, out)?;
    }
    Ok(())
}

/// The file's text, or `None` for a binary file (a NUL byte in its first 8 KiB).
/// Bytes that are not UTF-8 are read as U+FFFD.
fn read_text(path: &Path) -> Result<Option<String>, ScanError> {
    let bytes = std::fs::read(path).map_err(|source| ScanError {
        path: path.to_path_buf(),
        source,
    })?;
    if bytes.iter().take(8192).any(|&b| b == 0) {
        return Ok(None);
    }
    Ok(Some(match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Registry;

    fn scopes(text: &str) -> Vec<(String, u32, u32)> {
        find_scopes(text, &["tf", "token_factory"])
            .into_iter()
            .map(|h| (h.scope, h.line, h.column))
            .collect()
    }

    #[test]
    fn finds_standalone_scopes() {
        assert_eq!(
            scopes("x = \"tf:model:invoke\"\n  - token_factory:key:manage.\n"),
            [
                ("tf:model:invoke".to_owned(), 1, 6),
                ("token_factory:key:manage".to_owned(), 2, 5)
            ]
        );
        assert_eq!(scopes("é tf:a:b"), [("tf:a:b".to_owned(), 1, 3)]);
        assert_eq!(scopes("[tf:a_1:b2]"), [("tf:a_1:b2".to_owned(), 1, 2)]);
        assert_eq!(
            scopes("  tf:a:b: text\ntf:c:d:"),
            [("tf:a:b".to_owned(), 1, 3), ("tf:c:d".to_owned(), 2, 1)]
        );
    }

    #[test]
    fn skips_near_misses() {
        for text in [
            "tf:a:b:c",
            "x:tf:a:b",
            "https://tf:a:b",
            "tf:a:b@host",
            "tf:A:b",
            "tf:a",
            "tf:a:",
            "12:30:45",
            "atf:a:b",
            "tf_x:a:b",
            "tf:a:b.c",
            "tf:a:b-c",
            "other:a:b",
            "path/tf:a:b",
            "obj.tf:a:b",
            "tf:1a:b",
        ] {
            assert_eq!(scopes(text), [], "{text}");
        }
    }

    proptest::proptest! {
        /// Any text: no panic, and every hit is where it says, standing alone.
        #[test]
        fn hits_are_where_they_say(text in "([tf:_a-z0-9./@ \n\u{e9}\u{201c}-]|tf:|:a:b){0,60}") {
            for hit in find_scopes(&text, &["tf", "a"]) {
                let line = text.split('\n').nth(hit.line as usize - 1).unwrap();
                let at: String = line.chars().skip(hit.column as usize - 1).take(hit.scope.chars().count()).collect();
                proptest::prop_assert_eq!(&at, &hit.scope);
                proptest::prop_assert_eq!(hit.scope.split(':').count(), 3);
            }
        }
    }

    #[test]
    fn scans_folders_in_order_and_skips_what_it_should() {
        let dir = std::env::temp_dir().join(format!("gangway-scan-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("b/node_modules")).unwrap();
        std::fs::create_dir_all(dir.join("target")).unwrap();
        std::fs::write(dir.join("b/z.py"), "S = 'tf:model:nope'\n").unwrap();
        std::fs::write(dir.join("a.ts"), "const s = 'tf:model:gone'; // tf:model:invoke\n").unwrap();
        std::fs::write(dir.join("b/node_modules/x.js"), "tf:model:nope").unwrap();
        std::fs::write(dir.join("target/x.rs"), "tf:model:nope").unwrap();
        std::fs::write(dir.join("bin.dat"), b"tf:model:nope\0").unwrap();
        std::fs::write(
            dir.join("big.txt"),
            " ".repeat((MAX_FILE_BYTES + 1) as usize) + "tf:model:nope",
        )
        .unwrap();
        let reg = Registry::from_yaml(
            "registry:\n  scopes:\n    - {key: tf:model:invoke, state: active, owner: i}\n    - {key: tf:model:gone, state: retired, owner: i}\n",
        )
        .unwrap();
        let snap = Snapshot::new(reg, &[]);
        let found = scan_files(&[&dir], &snap).unwrap();
        let got: Vec<(String, &str)> = found
            .iter()
            .map(|f| (display_path(f.file.strip_prefix(&dir).unwrap()), f.code))
            .collect();
        assert_eq!(
            got,
            [
                ("a.ts".to_owned(), "registry.entry_retired"),
                ("b/z.py".to_owned(), "iam.scope_unregistered")
            ]
        );
        assert!(
            found[1].message.contains("did you mean `tf:model:gone`"),
            "{}",
            found[1].message
        );
        assert!(scan_files(&[dir.join("missing")], &snap).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
