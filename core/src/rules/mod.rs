//! The rule catalog. Each rule is a small unit: a code, the stage it belongs to, a
//! severity and a check. Rules live in a module named for the first part of their
//! code (`billing.ledger_owner` is in `rules/billing.rs`).

use jiff::civil::Date;
use semver::Version;

use crate::packet::{Body, Gap, GapKind, Packet};
use crate::registry::{Kind, Registry};
use crate::report::{Finding, PatchOp, Severity};
use crate::stage::Stage;
use crate::tree::Pos;

pub mod artifacts;
pub mod audit;
pub mod billing;
pub mod evidence;
pub mod extraction;
pub mod iam;
pub mod identity;
pub mod notify;
pub mod ownership;
pub mod packet;
pub mod portal;
pub mod quota;
pub mod records;
pub mod registry;
pub mod review;
pub mod secrets;
pub mod status;
pub mod uat;

/// How a rule is evaluated.
#[derive(Clone, Copy)]
pub enum Check {
    /// Emitted while reading the document (parse, unknown field, type, unjustified
    /// marker) or by the schema's required-field walk (missing, duplicate).
    Structure,
    /// A check over the packet alone.
    Packet(fn(&Ctx<'_>, &mut Out<'_>)),
    /// A check that needs the registry; skipped (with `registry.unavailable`) without one.
    Registry(fn(&Ctx<'_>, &Registry, &mut Out<'_>)),
    /// A check over the records kept beside the packet (sign-offs, evidence);
    /// skipped (with `records.unavailable`) without them.
    Records(fn(&Ctx<'_>, &crate::Records, &mut Out<'_>)),
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Check::Structure => "Structure",
            Check::Packet(_) => "Packet",
            Check::Registry(_) => "Registry",
            Check::Records(_) => "Records",
        })
    }
}

/// One rule.
#[derive(Debug, Clone, Copy)]
pub struct Rule {
    /// Stable code.
    pub code: &'static str,
    /// The stage whose gate the rule belongs to (for structural rules: the earliest).
    pub stage: Stage,
    /// Error or warning.
    pub severity: Severity,
    /// One line for people.
    pub summary: &'static str,
    /// How it is evaluated.
    pub check: Check,
}

/// Every rule unit, in catalog order. A code may have more than one unit (for
/// example `uat.tests_missing` at `contracts` for contract tests and at
/// `uat_evidence` for smoke tests).
pub static RULES: &[&Rule] = &[
    &packet::PARSE,
    &packet::SCHEMA_VERSION,
    &packet::UNKNOWN_FIELD,
    &packet::TYPE,
    &packet::REFS,
    &packet::MISSING,
    &packet::DUPLICATE,
    &packet::NA_UNJUSTIFIED,
    &packet::NA_EXPIRED,
    &packet::GAP_OVERDUE,
    &identity::SLUG,
    &ownership::PATH_CONFLICT,
    &registry::UNAVAILABLE,
    &records::UNAVAILABLE,
    &registry::STATE_MISMATCH,
    &registry::PRODUCT_MISSING,
    &registry::PRODUCT_INACTIVE,
    &registry::ENTRY_INACTIVE,
    &registry::ENTRY_RETIRED,
    &registry::ENTRY_DEPRECATED,
    &registry::ENTRY_UNREGISTERED,
    &iam::SCOPE_UNREGISTERED,
    &iam::SCOPE_NAMESPACE,
    &billing::USAGE_UNIT_UNREGISTERED,
    &billing::RATING_RULE_REQUIRED,
    &billing::LEDGER_OWNER,
    &billing::RESOURCE_TYPE_UNREGISTERED,
    &audit::ACTION_UNREGISTERED,
    &audit::PRIVILEGED_UNAUDITED,
    &notify::TEMPLATE_UNREGISTERED,
    &evidence::TYPE_UNREGISTERED,
    &status::COMPONENT_MISSING,
    &quota::INCOMPLETE,
    &quota::UNREGISTERED,
    &secrets::PRODUCT_CUSTODY,
    &artifacts::TRUST_INCOMPLETE,
    &artifacts::REGISTRY_ENTRY,
    &artifacts::TYPE_UNREGISTERED,
    &portal::PAGE_MISSING,
    &uat::CONTRACT_TESTS_MISSING,
    &uat::SMOKE_TESTS_MISSING,
    &uat::ROLLBACK_MISSING,
    &evidence::MISSING,
    &extraction::NOT_READY,
    &review::MISSING,
];

/// Every distinct rule code, in catalog order.
pub fn codes() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for r in RULES {
        if !out.contains(&r.code) {
            out.push(r.code);
        }
    }
    out
}

/// True when an approved exception may cover findings of `code`. Findings that keep
/// validation itself honest cannot be excepted: the packet's shape (`packet.*`), its
/// own markers and gaps (`na.*`, `gap.*`), and a missing registry.
pub fn exceptable(code: &str) -> bool {
    !(code.starts_with("packet.")
        || code.starts_with("na.")
        || code.starts_with("gap.")
        || code == "registry.unavailable"
        || code == "records.unavailable"
        || code == "review.missing")
}

/// The first rule unit with `code`.
pub fn rule(code: &str) -> Option<&'static Rule> {
    RULES.iter().copied().find(|r| r.code == code)
}

/// A name the packet uses that must exist in the registry.
#[derive(Debug, Clone)]
pub struct Named<'a> {
    /// Which kind of entry.
    pub kind: Kind,
    /// The key as written.
    pub key: &'a str,
    /// The version (usage units).
    pub version: Option<Version>,
    /// Pointer of the value.
    pub ptr: &'a str,
    /// Where the value is.
    pub pos: Pos,
}

/// What a rule sees.
#[derive(Debug)]
pub struct Ctx<'a> {
    /// The packet.
    pub packet: &'a Packet,
    /// Its body.
    pub body: &'a Body,
    /// The evaluation date.
    pub as_of: Date,
    /// The stage asked for.
    pub target: Stage,
    /// Every registry name the packet uses.
    pub named: Vec<Named<'a>>,
    /// The registry, when one was given (rules that need it use `Check::Registry`;
    /// others may use it for suggestions).
    pub registry: Option<&'a Registry>,
}

impl<'a> Ctx<'a> {
    /// Builds the context for one validation.
    pub fn new(
        packet: &'a Packet,
        body: &'a Body,
        registry: Option<&'a Registry>,
        as_of: Date,
        target: Stage,
    ) -> Ctx<'a> {
        Ctx {
            packet,
            body,
            as_of,
            target,
            named: registry::named(body),
            registry,
        }
    }

    /// Every tracked gap that is present and well-formed enough to have a kind and ref.
    pub fn gaps(&self) -> impl Iterator<Item = &'a Gap> {
        let list: &'a [crate::decode::Field<Gap>] = self.body.tracked_gaps.value().map_or(&[], Vec::as_slice);
        list.iter().filter_map(|g| g.value())
    }

    /// True when a tracked gap of `kind` stands in for `ptr` (its ref is `ptr` or an
    /// ancestor of it).
    pub fn covered(&self, kind: GapKind, ptr: &str) -> bool {
        self.gaps().any(|g| {
            g.kind.value() == Some(&kind)
                && g.r#ref.value().is_some_and(|r| {
                    ptr == r || (ptr.starts_with(r.as_str()) && ptr.as_bytes().get(r.len()) == Some(&b'/'))
                })
        })
    }
}

/// Where a rule writes its findings.
#[derive(Debug)]
pub struct Out<'a> {
    rule: &'static Rule,
    findings: &'a mut Vec<Finding>,
}

impl<'a> Out<'a> {
    pub(crate) fn new(rule: &'static Rule, findings: &'a mut Vec<Finding>) -> Out<'a> {
        Out { rule, findings }
    }

    /// Reports a finding with the rule's code, severity and stage.
    pub fn report(&mut self, ptr: &str, pos: Pos, message: impl Into<String>) {
        self.push(Finding::new(
            self.rule.code,
            self.rule.severity,
            self.rule.stage,
            ptr,
            pos,
            message,
        ));
    }

    /// Reports a finding with a suggestion.
    pub fn suggest(
        &mut self,
        ptr: &str,
        pos: Pos,
        message: impl Into<String>,
        hint: impl Into<String>,
        patch: Vec<PatchOp>,
    ) {
        self.push(
            Finding::new(self.rule.code, self.rule.severity, self.rule.stage, ptr, pos, message)
                .with_suggestion(hint, patch),
        );
    }

    /// Reports a finding that belongs to another stage than the rule's own.
    pub fn report_at(&mut self, stage: Stage, ptr: &str, pos: Pos, message: impl Into<String>) {
        self.push(Finding::new(
            self.rule.code,
            self.rule.severity,
            stage,
            ptr,
            pos,
            message,
        ));
    }

    /// Pushes a finding as built.
    pub fn push(&mut self, finding: Finding) {
        self.findings.push(finding);
    }
}

/// Reports every named entry of `kind` that the registry lacks, under the running
/// rule's code, with a did-you-mean when one registered key is close.
pub(crate) fn unregistered(
    ctx: &Ctx<'_>,
    reg: &Registry,
    out: &mut Out<'_>,
    kind: Kind,
    skip: impl Fn(&Named<'_>) -> bool,
) {
    for n in ctx.named.iter().filter(|n| n.kind == kind) {
        let found = match &n.version {
            Some(v) => reg.get_version(kind, n.key, v).is_some(),
            None => reg.get(kind, n.key).is_some(),
        };
        if found || skip(n) {
            continue;
        }
        let what = match &n.version {
            Some(v) => format!("{} `{}` version {v}", kind, n.key),
            None => format!("{kind} `{}`", n.key),
        };
        let message = format!("{what} is not in the registry; register it before the packet names it");
        if n.version.is_some() && reg.get(kind, n.key).is_some() {
            out.report(n.ptr, n.pos, format!("{message} (other versions are registered)"));
            continue;
        }
        match crate::decode::did_you_mean(n.key, reg.keys(kind)) {
            Some(best) => out.suggest(
                n.ptr,
                n.pos,
                message,
                format!("did you mean `{best}`?"),
                vec![PatchOp::Replace {
                    path: n.ptr.to_owned(),
                    value: serde_json::Value::String(best.to_owned()),
                }],
            ),
            None => out.report(n.ptr, n.pos, message),
        }
    }
}
