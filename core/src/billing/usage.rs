//! Usage events as the ledger receives them: [`UsageRecord`], read strictly from
//! JSON Lines by [`parse_line`], and what an ingest did with them
//! ([`IngestSummary`], every event accepted, a duplicate or rejected with a code).
//!
//! One line is one JSON object with exactly these keys:
//!
//! ```json
//! {"product": "token-factory", "unit": "token_input", "version": "v1", "quantity": 1200,
//!  "resource_type": "model_endpoint", "tenant": "acme", "idempotency_key": "evt-1",
//!  "at": "2026-11-03T10:00:00Z"}
//! ```
//!
//! A line that is not such an object is rejected with `usage.malformed`, naming the
//! field at fault (an unknown key, a missing key, a wrong type); blank lines are
//! skipped.

use std::collections::BTreeMap;

use jiff::Timestamp;
use semver::Version;
use serde::Serialize;
use serde_json::Value as Json;

use crate::registry::parse_version;

/// The code of a usage line that is not a well-formed event.
pub const MALFORMED: &str = "usage.malformed";

/// The longest usage line read (64 KiB); a longer one is rejected without being
/// held in memory.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// One line read by [`read_line`]: how many bytes it took from the input (with its
/// line ending) and whether it fit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawLine {
    /// Bytes consumed, the line ending included.
    pub bytes: u64,
    /// False when the line was longer than [`MAX_LINE_BYTES`] (its start is kept).
    pub fits: bool,
}

impl RawLine {
    /// The line's text (without `\n` or `\r\n`), or why it is not one.
    pub fn text<'a>(&self, buf: &'a [u8]) -> Result<&'a str, Malformed> {
        if !self.fits {
            return Err(Malformed {
                field: String::new(),
                reason: format!("the line is longer than {MAX_LINE_BYTES} bytes"),
                idempotency_key: None,
            });
        }
        let line = buf.strip_suffix(b"\n").unwrap_or(buf);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        std::str::from_utf8(line).map_err(|e| Malformed {
            field: String::new(),
            reason: format!("not UTF-8 (byte {} of the line)", e.valid_up_to() + 1),
            idempotency_key: None,
        })
    }
}

/// Reads the next line of `input` into `buf` (cleared first), keeping at most
/// [`MAX_LINE_BYTES`] of it and skipping the rest; `None` at the end of input.
pub fn read_line(input: &mut impl std::io::BufRead, buf: &mut Vec<u8>) -> std::io::Result<Option<RawLine>> {
    buf.clear();
    let mut line = RawLine { bytes: 0, fits: true };
    loop {
        let chunk = input.fill_buf()?;
        if chunk.is_empty() {
            return Ok((line.bytes > 0).then_some(line));
        }
        let (take, end) = match chunk.iter().position(|&b| b == b'\n') {
            Some(i) => (i + 1, true),
            None => (chunk.len(), false),
        };
        let room = (MAX_LINE_BYTES + 2).saturating_sub(buf.len());
        buf.extend_from_slice(chunk.get(..take.min(room)).unwrap_or_default());
        if take > room {
            line.fits = false;
        }
        input.consume(take);
        line.bytes += take as u64;
        if end {
            let content = buf.len() - usize::from(buf.ends_with(b"\n")) - usize::from(buf.ends_with(b"\r\n"));
            if content > MAX_LINE_BYTES {
                line.fits = false;
            }
            return Ok(Some(line));
        }
    }
}

/// One usage event offered to the ledger (the owned form of
/// [`crate::guard::UsageEvent`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UsageRecord {
    /// The product id.
    pub product: String,
    /// The usage unit key.
    pub unit: String,
    /// The usage unit version.
    #[serde(serialize_with = "super::ser_version")]
    pub version: Version,
    /// How many units (positive, at most `i64::MAX`).
    pub quantity: u64,
    /// The resource type the usage is attributed to.
    pub resource_type: String,
    /// The tenant billed.
    pub tenant: String,
    /// The ledger's deduplication key.
    pub idempotency_key: String,
    /// When the usage happened; its UTC date selects the rate.
    pub at: Timestamp,
}

/// One event of an ingest that was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IngestRejection {
    /// Its position in the input (from 0): the batch index, or for JSON Lines the
    /// index of the event among the non-blank lines.
    pub index: usize,
    /// For JSON Lines, its 1-based line number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// Its idempotency key, when it could be read.
    pub idempotency_key: Option<String>,
    /// The rule code (`billing.rate_missing`, `usage.unit_unregistered`, `usage.malformed`, …).
    pub code: &'static str,
    /// The field at fault.
    pub field: String,
    /// Why, for people.
    pub reason: String,
}

/// What an ingest did: every event is accepted, a duplicate or rejected (never
/// dropped silently).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IngestSummary {
    /// Events added to the ledger.
    pub accepted: usize,
    /// Events whose idempotency key was already in the ledger or earlier in the input.
    pub duplicates: usize,
    /// Events refused, in input order.
    pub rejected: Vec<IngestRejection>,
}

impl IngestSummary {
    /// How many events were rejected under each code, by code.
    pub fn rejected_by_code(&self) -> BTreeMap<&'static str, usize> {
        let mut out = BTreeMap::new();
        for r in &self.rejected {
            *out.entry(r.code).or_insert(0) += 1;
        }
        out
    }

    /// Every event seen: accepted + duplicates + rejected.
    pub fn total(&self) -> usize {
        self.accepted + self.duplicates + self.rejected.len()
    }

    /// Adds `other` (a later batch) to this summary.
    pub fn absorb(&mut self, other: IngestSummary) {
        self.accepted += other.accepted;
        self.duplicates += other.duplicates;
        self.rejected.extend(other.rejected);
    }

    /// The summary as JSON: `{accepted, duplicates, rejected, rejected_by_code,
    /// rejections}` — the one form the CLI, the bindings and the corpus print.
    pub fn to_json(&self) -> Json {
        serde_json::json!({
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": self.rejected.len(),
            "rejected_by_code": self.rejected_by_code(),
            "rejections": self.rejected,
        })
    }
}

/// A line that is not a well-formed usage event: the field at fault and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    /// The key at fault (empty when the line is not an object at all).
    pub field: String,
    /// Why, for people.
    pub reason: String,
    /// The idempotency key, when the line had a readable one.
    pub idempotency_key: Option<String>,
}

const KEYS: [&str; 8] = [
    "product",
    "unit",
    "version",
    "quantity",
    "resource_type",
    "tenant",
    "idempotency_key",
    "at",
];

/// Reads one JSON Lines usage event (see the module docs). Every key is required,
/// unknown keys are refused, `quantity` is a non-negative integer, `version` is
/// semver or `v1`, `at` is an RFC 3339 timestamp with an offset.
pub fn parse_line(text: &str) -> Result<UsageRecord, Malformed> {
    // Fast path: a well-formed line reads straight into borrowed fields. Anything
    // else takes the slow path below, which names the field at fault.
    let fast = serde_json::from_str::<FastLine<'_>>(text);
    if let Err(e) = &fast
        && let Some(key) = e
            .to_string()
            .strip_prefix("duplicate field `")
            .and_then(|r| r.split('`').next())
    {
        // A tree would keep the last value silently; a key given twice is malformed.
        return Err(Malformed {
            field: key.to_owned(),
            reason: format!("`{key}` appears more than once"),
            idempotency_key: None,
        });
    }
    if let Ok(raw) = fast
        && let Some(version) = parse_version(&raw.version)
        && let Ok(at) = raw.at.parse::<Timestamp>()
    {
        return Ok(UsageRecord {
            product: raw.product.into_owned(),
            unit: raw.unit.into_owned(),
            version,
            quantity: raw.quantity,
            resource_type: raw.resource_type.into_owned(),
            tenant: raw.tenant.into_owned(),
            idempotency_key: raw.idempotency_key.into_owned(),
            at,
        });
    }
    parse_line_slow(text)
}

/// A usage line read without building a JSON tree (strings borrowed unless escaped).
#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct FastLine<'a> {
    #[serde(borrow)]
    product: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    unit: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    version: std::borrow::Cow<'a, str>,
    quantity: u64,
    #[serde(borrow)]
    resource_type: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    tenant: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    idempotency_key: std::borrow::Cow<'a, str>,
    #[serde(borrow)]
    at: std::borrow::Cow<'a, str>,
}

fn parse_line_slow(text: &str) -> Result<UsageRecord, Malformed> {
    let value: Json = serde_json::from_str(text).map_err(|e| Malformed {
        field: String::new(),
        reason: format!("not JSON: {e}"),
        idempotency_key: None,
    })?;
    let Json::Object(map) = value else {
        return Err(Malformed {
            field: String::new(),
            reason: "a usage event is a JSON object".to_owned(),
            idempotency_key: None,
        });
    };
    let key = map.get("idempotency_key").and_then(Json::as_str).map(str::to_owned);
    let fail = |field: &str, reason: String| Malformed {
        field: field.to_owned(),
        reason,
        idempotency_key: key.clone(),
    };
    if let Some(unknown) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(fail(unknown, format!("unknown key `{unknown}`")));
    }
    let text_of = |field: &str| -> Result<String, Malformed> {
        match map.get(field) {
            None => Err(fail(field, format!("`{field}` is required"))),
            Some(Json::String(s)) => Ok(s.clone()),
            Some(_) => Err(fail(field, format!("`{field}` must be a string"))),
        }
    };
    let product = text_of("product")?;
    let unit = text_of("unit")?;
    let version_text = text_of("version")?;
    let version = parse_version(&version_text).ok_or_else(|| {
        fail(
            "version",
            format!("invalid version `{version_text}` (expected semver or v1)"),
        )
    })?;
    let quantity = match map.get("quantity") {
        None => return Err(fail("quantity", "`quantity` is required".to_owned())),
        Some(q) => q
            .as_u64()
            .ok_or_else(|| fail("quantity", format!("`quantity` must be a whole number ≥ 0, not {q}")))?,
    };
    let resource_type = text_of("resource_type")?;
    let tenant = text_of("tenant")?;
    let idempotency_key = text_of("idempotency_key")?;
    let at_text = text_of("at")?;
    let at = at_text.parse::<Timestamp>().map_err(|_| {
        fail(
            "at",
            format!("invalid timestamp `{at_text}` (expected RFC 3339 with an offset)"),
        )
    })?;
    Ok(UsageRecord {
        product,
        unit,
        version,
        quantity,
        resource_type,
        tenant,
        idempotency_key,
        at,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"{"product":"p","unit":"u","version":"v1","quantity":3,"resource_type":"r","tenant":"t","idempotency_key":"k","at":"2026-11-03T10:00:00Z"}"#;

    #[test]
    fn reads_lines_with_a_bound() {
        let long = "x".repeat(MAX_LINE_BYTES + 10);
        let mut text = b"a\r\n\nb\xff\n".to_vec();
        text.extend_from_slice(format!("{long}\nlast").as_bytes());
        let mut input = std::io::BufReader::with_capacity(7, text.as_slice());
        let mut buf = Vec::new();
        let mut seen = Vec::new();
        while let Some(line) = read_line(&mut input, &mut buf).unwrap() {
            seen.push((line.bytes, line.text(&buf).map(str::to_owned).map_err(|m| m.reason)));
            assert!(buf.len() <= MAX_LINE_BYTES + 2);
        }
        assert_eq!(seen.len(), 5);
        assert_eq!(seen[0], (3, Ok("a".to_owned())));
        assert_eq!(seen[1], (1, Ok(String::new())));
        assert!(seen[2].1.as_ref().is_err_and(|r| r.contains("not UTF-8")));
        assert_eq!(seen[3].0, MAX_LINE_BYTES as u64 + 11);
        assert!(seen[3].1.as_ref().is_err_and(|r| r.contains("longer than")));
        assert_eq!(seen[4], (4, Ok("last".to_owned())));
        let total: u64 = seen.iter().map(|s| s.0).sum();
        assert_eq!(total, text.len() as u64);
        // A line of exactly the limit fits.
        let exact = "y".repeat(MAX_LINE_BYTES);
        let mut input = std::io::BufReader::with_capacity(5, exact.as_bytes());
        let line = read_line(&mut input, &mut buf).unwrap().unwrap();
        assert!(line.fits && line.text(&buf).is_ok());
    }

    #[test]
    fn reads_a_good_line() {
        let r = parse_line(GOOD).unwrap();
        assert_eq!(r.version, Version::new(1, 0, 0));
        assert_eq!(r.quantity, 3);
        assert_eq!(r.idempotency_key, "k");
    }

    #[test]
    fn names_the_field_at_fault() {
        let cases = [
            ("[1]", ""),
            ("{", ""),
            (&GOOD.replace("\"tenant\"", "\"tenamt\"") as &str, "tenamt"),
            (&GOOD.replace("\"quantity\":3", "\"quantity\":-3"), "quantity"),
            (&GOOD.replace("\"quantity\":3", "\"quantity\":1.5"), "quantity"),
            (&GOOD.replace("\"v1\"", "\"one\""), "version"),
            (&GOOD.replace("2026-11-03T10:00:00Z", "2026-11-03"), "at"),
            (&GOOD.replace("\"product\":\"p\",", ""), "product"),
            (&GOOD.replace("\"unit\":\"u\"", "\"unit\":7"), "unit"),
        ];
        for (line, field) in cases {
            let e = parse_line(line).unwrap_err();
            assert_eq!(e.field, field, "{line}: {}", e.reason);
        }
        assert_eq!(parse_line(GOOD), parse_line_slow(GOOD));
        let twice = GOOD.replace("\"tenant\":\"t\"", "\"tenant\":\"t\",\"tenant\":\"u\"");
        assert_eq!(parse_line(&twice).unwrap_err().field, "tenant");
        let escaped = GOOD.replace("\"tenant\":\"t\"", "\"tenant\":\"t\\u00e9\"");
        assert_eq!(parse_line(&escaped).unwrap().tenant, "t\u{e9}");
        let e = parse_line(&GOOD.replace("\"at\":\"2026-11-03T10:00:00Z\"", "\"at\":1")).unwrap_err();
        assert_eq!(e.idempotency_key.as_deref(), Some("k"));
    }
}
