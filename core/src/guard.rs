//! Run-time guards (SPEC §2.6): the checks product services make on their request
//! paths, against an immutable registry [`Snapshot`].
//!
//! A [`Snapshot`] is the registry plus the per-product facts the guards need from the
//! products' packets (billing posture, rating rule, the usage units and resource types
//! the product declares). It never changes; [`Guards`] holds the current one behind an
//! atomic pointer, so request threads read it without locks while a store swaps in a
//! new one when the registry changes.
//!
//! ```
//! use gangway::guard::{Guards, Snapshot, UsageEvent};
//! use gangway::{Packet, Registry};
//!
//! let registry = Registry::from_yaml(
//!     "registry:
//!   products: [{key: demo, state: active, owner: platform}]
//!   usage_units: [{key: request, version: v1, state: active, owner: billing}]
//!   resource_types: [{key: endpoint, state: active, owner: platform}]
//! ",
//! )?;
//! let packet = Packet::from_yaml(
//!     "product_onboarding_packet:
//!   product_id: demo
//!   shared_services:
//!     billing:
//!       posture: billable
//!       rating_rule: required
//!       usage_units: [{unit: request, version: v1}]
//! ",
//! )
//! .map_err(|e| e.to_string())?;
//! let guards = Guards::new(Snapshot::new(registry, &[&packet]));
//!
//! let v1 = semver::Version::new(1, 0, 0);
//! let event = UsageEvent {
//!     product: "demo",
//!     unit: "request",
//!     version: &v1,
//!     quantity: 3,
//!     resource_type: "endpoint",
//!     tenant: "acme",
//!     idempotency_key: "req-7f3a",
//!     at: "2026-11-22T10:00:00Z".parse()?,
//! };
//! let snapshot = guards.snapshot();
//! assert!(snapshot.is_visible("demo", false));
//! assert_eq!(snapshot.accept_usage(&event), Ok(()));
//!
//! let rejected = snapshot.accept_usage(&UsageEvent { quantity: 0, ..event }).unwrap_err();
//! assert_eq!((rejected.code, rejected.field), ("usage.invalid", "quantity"));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::collections::HashMap;
use std::fmt;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Component, Path};
use std::sync::Arc;

use arc_swap::ArcSwap;
use jiff::civil::Date;
use semver::Version;

use crate::decode::Field;
use crate::packet::{BillingPosture, Lifecycle, PackageOwner, Packet, Posture, Required};
use crate::registry::{Kind, Registry, State};
use crate::report::Severity;
use crate::rules::ownership;

/// What the guards know about one product from its (latest) packet.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct ProductFacts {
    /// The packet the facts come from.
    pub packet_id: Option<String>,
    /// `shared_services.billing.posture`, when present and valid.
    pub posture: Option<BillingPosture>,
    /// True when the packet says `rating_rule: required`.
    pub rating_rule_required: bool,
    /// The usage units (key and version) the packet lists.
    pub usage_units: Vec<(String, Version)>,
    /// The resource types the packet lists.
    pub resource_types: Vec<String>,
    /// The quota dimensions the packet lists.
    pub quota_dimensions: Vec<String>,
    /// The snapshot kinds the packet lists.
    pub snapshot_kinds: Vec<String>,
    /// `exposure.posture`, when present and valid.
    pub exposure: Option<Posture>,
    /// `lifecycle_state`, when present and valid.
    pub lifecycle: Option<Lifecycle>,
}

impl ProductFacts {
    /// The facts of one packet; `None` when it has no body or no `product_id`.
    pub fn from_packet(packet: &Packet) -> Option<(String, ProductFacts)> {
        let body = packet.body()?;
        let product = body.product_id.value()?.clone();
        fn values<T: Clone>(list: Option<&Vec<Field<T>>>) -> Vec<T> {
            list.into_iter().flatten().filter_map(Field::value).cloned().collect()
        }
        let mut facts = ProductFacts {
            packet_id: body.packet_id.value().cloned(),
            exposure: body.exposure.value().and_then(|e| e.posture.value()).copied(),
            lifecycle: body.lifecycle_state.value().copied(),
            ..ProductFacts::default()
        };
        let ss = body.shared_services.value();
        if let Some(bl) = ss.and_then(|s| s.billing.value()) {
            facts.posture = bl.posture.value().copied();
            facts.rating_rule_required = bl.rating_rule.value() == Some(&Required::Required);
            facts.usage_units = bl
                .usage_units
                .value()
                .into_iter()
                .flatten()
                .filter_map(Field::value)
                .filter_map(|u| Some((u.unit.value()?.clone(), u.version.value()?.version.clone())))
                .collect();
            facts.resource_types = values(bl.resource_types.value());
        }
        if let Some(pq) = ss.and_then(|s| s.policy_quota.value()) {
            facts.quota_dimensions = pq
                .quota_dimensions
                .value()
                .into_iter()
                .flatten()
                .filter_map(Field::value)
                .filter_map(|d| d.dimension.value().cloned())
                .collect();
            facts.snapshot_kinds = pq
                .snapshot_kinds
                .value()
                .into_iter()
                .flatten()
                .filter_map(Field::value)
                .filter_map(|k| k.kind.value().cloned())
                .collect();
        }
        Some((product, facts))
    }
}

/// One scope of a [`Snapshot::check_scopes`] call that is not fine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopeIssue {
    /// The scope string as given.
    pub scope: String,
    /// `iam.scope_unregistered`, `registry.entry_inactive`, `registry.entry_retired`
    /// or `registry.entry_deprecated`.
    pub code: &'static str,
    /// Error, or warning for a deprecated scope.
    pub severity: Severity,
    /// The registry state, when the scope is registered.
    pub state: Option<State>,
    /// The sunset date of a deprecated scope.
    pub sunset: Option<Date>,
}

impl ScopeIssue {
    /// A sentence for people.
    pub fn message(&self) -> String {
        let scope = &self.scope;
        match self.state {
            None => format!("scope `{scope}` is not in the registry; register it before code uses it"),
            Some(State::Retired) => format!("scope `{scope}` is retired; use its replacement"),
            Some(State::Deprecated) => {
                let when = self
                    .sunset
                    .map_or_else(|| "no sunset date is set".to_owned(), |d| format!("sunset {d}"));
                format!("scope `{scope}` is deprecated ({when}); plan the move to its replacement")
            }
            Some(state) => {
                format!("scope `{scope}` is `{state}` in the registry; activate it before code relies on it")
            }
        }
    }
}

/// A usage event offered to [`Snapshot::accept_usage`]. Borrowed, so building one
/// allocates nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageEvent<'a> {
    /// The product id (its registry key).
    pub product: &'a str,
    /// The usage unit key.
    pub unit: &'a str,
    /// The usage unit version (`v1` is `1.0.0`; see [`crate::registry::parse_version`]).
    pub version: &'a Version,
    /// How many units; must be positive.
    pub quantity: u64,
    /// The resource type the usage is attributed to.
    pub resource_type: &'a str,
    /// The tenant billed; must not be blank.
    pub tenant: &'a str,
    /// Deduplicates retries in the ledger; must not be blank.
    pub idempotency_key: &'a str,
    /// When the usage happened (recorded by the ledger; the decision does not use it).
    pub at: jiff::Timestamp,
}

/// A quota-changing write offered to [`Snapshot::check_quota_write`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QuotaChange<'a> {
    /// The product id.
    pub product: &'a str,
    /// The snapshot kind the write records.
    pub snapshot_kind: Option<&'a str>,
    /// The quota dimension it changes.
    pub dimension: Option<&'a str>,
    /// The scope the quota is inherited from.
    pub parent_scope: Option<&'a str>,
    /// The scope that allows overriding it.
    pub override_scope: Option<&'a str>,
}

/// Why a guard refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum RejectReason {
    /// The value is absent or blank.
    Missing,
    /// The quantity is zero.
    ZeroQuantity,
    /// The registry has no entry of this kind with this key.
    Unregistered(Kind),
    /// The usage unit is registered, but not at this version.
    VersionUnregistered,
    /// The entry of this kind is registered, but in a state the guard does not accept.
    Inactive(Kind, State),
    /// No packet describes the product, so its billing posture is unknown.
    NoPacket,
    /// The product's packet has no valid billing posture.
    PostureUnknown,
    /// The product's packet posture is not `billable`.
    NotBillable(BillingPosture),
    /// The product is billable but its packet lacks `rating_rule: required`.
    RatingRuleMissing,
    /// The registry has the entry, but the product's packet does not list it.
    NotListed(Kind),
}

impl RejectReason {
    /// A stable snake_case name (`inactive`, `not_listed`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Missing => "missing",
            RejectReason::ZeroQuantity => "zero_quantity",
            RejectReason::Unregistered(_) => "unregistered",
            RejectReason::VersionUnregistered => "version_unregistered",
            RejectReason::Inactive(..) => "inactive",
            RejectReason::NoPacket => "no_packet",
            RejectReason::PostureUnknown => "posture_unknown",
            RejectReason::NotBillable(_) => "not_billable",
            RejectReason::RatingRuleMissing => "rating_rule_missing",
            RejectReason::NotListed(_) => "not_listed",
        }
    }

    /// The registry state behind an `inactive` reason.
    pub fn state(self) -> Option<State> {
        match self {
            RejectReason::Inactive(_, s) => Some(s),
            _ => None,
        }
    }
}

/// A guard's refusal: the rule code, the field of the request at fault and why.
/// Building one allocates nothing; [`Rejection::message`] builds text when asked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {}", self.message())]
pub struct Rejection {
    /// The rule code (`billing.usage_unit_unregistered`, `quota.incomplete`, …).
    pub code: &'static str,
    /// The request field at fault (`unit`, `version`, `dimension`, …).
    pub field: &'static str,
    /// Why.
    pub reason: RejectReason,
}

impl Rejection {
    const fn new(code: &'static str, field: &'static str, reason: RejectReason) -> Rejection {
        Rejection { code, field, reason }
    }

    /// A sentence for people (the field and the reason; the request's values are the
    /// caller's to add).
    pub fn message(&self) -> String {
        let field = self.field;
        match self.reason {
            RejectReason::Missing => format!("`{field}` is required and must not be blank"),
            RejectReason::ZeroQuantity => "`quantity` must be positive".to_owned(),
            RejectReason::Unregistered(kind) => format!("`{field}` names no registered {kind}"),
            RejectReason::VersionUnregistered => "the usage unit is registered, but not at this `version`".to_owned(),
            RejectReason::Inactive(kind, state) => {
                format!("`{field}` names a {kind} that is `{state}` in the registry")
            }
            RejectReason::NoPacket => {
                "no onboarding packet describes the product, so its billing posture is unknown".to_owned()
            }
            RejectReason::PostureUnknown => "the product's packet has no valid billing posture".to_owned(),
            RejectReason::NotBillable(posture) => {
                format!("the product's billing posture is `{posture}`, not `billable`")
            }
            RejectReason::RatingRuleMissing => {
                "the product is billable but its packet lacks `rating_rule: required`".to_owned()
            }
            RejectReason::NotListed(kind) => {
                format!("`{field}` names a registered {kind} that the product's packet does not list")
            }
        }
    }
}

/// An immutable view of the registry and the products' packet facts, for the guards.
///
/// Besides the [`Registry`] it keeps its own lookup tables, built once: one map from a
/// product id to its registry state and packet facts, one from each key to its state,
/// and one from a usage unit to its versions, each hashed with a fast key hasher.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    registry: Registry,
    products: KeyMap<ProductSlot>,
    entries: Vec<KeyMap<EntrySlot>>,
    units: KeyMap<Vec<(Version, State)>>,
    namespaces: Vec<String>,
}

#[derive(Debug, Clone, Default)]
struct ProductSlot {
    state: Option<State>,
    facts: Option<ProductFacts>,
    /// The usage units the packet lists that the registry has in a usable state.
    ready_units: Vec<(Box<str>, Version)>,
    /// The resource types the packet lists that the registry has in a usable state;
    /// `None` when the packet lists none (then any usable one is accepted).
    ready_resources: Option<Vec<Box<str>>>,
}

#[derive(Debug, Clone, Copy)]
struct EntrySlot {
    state: State,
    sunset: Option<Date>,
}

type KeyMap<V> = HashMap<Box<str>, V, BuildHasherDefault<KeyHasher>>;

/// The hasher of the snapshot's lookup tables: a multiply-rotate hash over 8-byte
/// words (the FxHash scheme), several times faster than the standard library's SipHash
/// on short keys. It does not resist chosen collisions, which is fine here: the tables
/// hold registry keys, which the platform writes; requests only look keys up.
#[derive(Debug, Clone, Copy, Default)]
struct KeyHasher(u64);

impl KeyHasher {
    const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

    #[inline]
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(Self::SEED);
    }
}

impl Hasher for KeyHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            for (w, b) in word.iter_mut().zip(rest) {
                *w = *b;
            }
            self.add(u64::from_le_bytes(word));
        }
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    #[inline]
    fn finish(&self) -> u64 {
        // The multiply leaves the low bits weakest; the table indexes by them.
        self.0.rotate_left(26)
    }
}

/// States a guard accepts for the entries a request names: `active`, and
/// `deprecated` (a deprecated entry keeps working until it is retired).
fn usable(state: State) -> bool {
    matches!(state, State::Active | State::Deprecated)
}

/// The rule code for an entry in an unusable state.
fn state_code(state: State) -> &'static str {
    if state == State::Retired {
        "registry.entry_retired"
    } else {
        "registry.entry_inactive"
    }
}

/// Empty or whitespace only (stops at the first other character).
fn blank(s: &str) -> bool {
    s.chars().all(char::is_whitespace)
}

fn is_segment(s: &str) -> bool {
    s.bytes().next().is_some_and(|b| b.is_ascii_lowercase())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Snapshot {
    /// Builds a snapshot from a registry and the products' packets. When several
    /// packets name the same product, the later one in `packets` wins (pass the latest
    /// version of each).
    pub fn new(registry: Registry, packets: &[&Packet]) -> Snapshot {
        let mut products: KeyMap<ProductSlot> = KeyMap::default();
        let mut entries: Vec<KeyMap<EntrySlot>> = Kind::ALL.iter().map(|_| KeyMap::default()).collect();
        let mut units: KeyMap<Vec<(Version, State)>> = KeyMap::default();
        let mut namespaces: Vec<String> = Vec::new();
        for e in registry.entries() {
            match (e.kind, &e.version) {
                (Kind::UsageUnit, Some(v)) => units
                    .entry(e.key.as_str().into())
                    .or_default()
                    .push((v.clone(), e.state)),
                (Kind::UsageUnit, None) => {}
                (kind, _) => {
                    if let Some(map) = entries.get_mut(kind as usize) {
                        map.insert(
                            e.key.as_str().into(),
                            EntrySlot {
                                state: e.state,
                                sunset: e.sunset,
                            },
                        );
                    }
                }
            }
            match e.kind {
                Kind::Product => {
                    products.entry(e.key.as_str().into()).or_default().state = Some(e.state);
                    namespaces.push(crate::rules::iam::namespace(&e.key));
                }
                Kind::Scope => namespaces.extend(e.key.split_once(':').map(|(ns, _)| ns.to_owned())),
                _ => {}
            }
        }
        for packet in packets {
            if let Some(slug) = packet.body().and_then(|b| b.product_slug.value()) {
                namespaces.push(crate::rules::iam::namespace(slug));
            }
            if let Some((product, facts)) = ProductFacts::from_packet(packet) {
                products.entry(product.into_boxed_str()).or_default().facts = Some(facts);
            }
        }
        namespaces.retain(|ns| is_segment(ns));
        namespaces.sort();
        namespaces.dedup();
        let mut snapshot = Snapshot {
            registry,
            products: KeyMap::default(),
            entries,
            units,
            namespaces,
        };
        for slot in products.values_mut() {
            let Some(facts) = &slot.facts else { continue };
            slot.ready_units = facts
                .usage_units
                .iter()
                .filter(|(u, v)| {
                    snapshot
                        .units
                        .get(u.as_str())
                        .is_some_and(|vs| vs.iter().any(|(rv, s)| rv == v && usable(*s)))
                })
                .map(|(u, v)| (u.as_str().into(), v.clone()))
                .collect();
            slot.ready_resources = (!facts.resource_types.is_empty()).then(|| {
                facts
                    .resource_types
                    .iter()
                    .filter(|r| snapshot.entry(Kind::ResourceType, r).is_some_and(|e| usable(e.state)))
                    .map(|r| r.as_str().into())
                    .collect()
            });
        }
        snapshot.products = products;
        snapshot
    }

    fn entry(&self, kind: Kind, key: &str) -> Option<EntrySlot> {
        self.entries.get(kind as usize)?.get(key).copied()
    }

    /// The registry.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// The packet facts of `product`, when a packet for it was given.
    pub fn product(&self, product: &str) -> Option<&ProductFacts> {
        self.products.get(product)?.facts.as_ref()
    }

    /// The scope namespaces known to this snapshot, sorted: every registered product
    /// key and every given packet's slug with `-` as `_`, and the first segment of
    /// every registered scope.
    pub fn namespaces(&self) -> &[String] {
        &self.namespaces
    }

    /// True when the product's registry entry is `active`; in onboarding mode also
    /// when it is `draft`. Never for a retired, deprecated or unknown product.
    pub fn is_visible(&self, product: &str, onboarding_mode: bool) -> bool {
        match self.products.get(product).and_then(|p| p.state) {
            Some(State::Active) => true,
            Some(State::Draft) => onboarding_mode,
            _ => false,
        }
    }

    /// The scope's issue, if it has one.
    pub fn check_scope(&self, scope: &str) -> Option<ScopeIssue> {
        let issue = |code, severity, state, sunset| {
            Some(ScopeIssue {
                scope: scope.to_owned(),
                code,
                severity,
                state,
                sunset,
            })
        };
        match self.entry(Kind::Scope, scope) {
            None => issue("iam.scope_unregistered", Severity::Error, None, None),
            Some(e) => match e.state {
                State::Active => None,
                State::Deprecated => issue("registry.entry_deprecated", Severity::Warning, Some(e.state), e.sunset),
                s => issue(state_code(s), Severity::Error, Some(s), None),
            },
        }
    }

    /// Every scope that is unregistered (`iam.scope_unregistered`), `draft`
    /// (`registry.entry_inactive`), retired (`registry.entry_retired`) or deprecated
    /// (`registry.entry_deprecated`, a warning with the sunset date), each once, in
    /// the order given. Empty when every scope is registered and active.
    pub fn check_scopes(&self, scopes: &[&str]) -> Vec<ScopeIssue> {
        let mut out = Vec::new();
        for (i, scope) in scopes.iter().enumerate() {
            if scopes.iter().take(i).any(|s| s == scope) {
                continue;
            }
            out.extend(self.check_scope(scope));
        }
        out
    }

    /// Accepts a usage event, or says why not. Checks in order: the event's own
    /// fields (`usage.invalid`), the product entry (`registry.product_missing`,
    /// `registry.product_inactive`), its packet's billing posture
    /// (`billing.rating_rule_required`), the usage unit and version
    /// (`billing.usage_unit_unregistered`, `registry.entry_inactive`,
    /// `registry.entry_retired`) and the resource type
    /// (`billing.resource_type_unregistered`, `registry.entry_inactive`,
    /// `registry.entry_retired`). Allocates nothing.
    pub fn accept_usage(&self, event: &UsageEvent<'_>) -> Result<(), Rejection> {
        use RejectReason as R;
        const INVALID: &str = "usage.invalid";
        for (field, value) in [
            ("product", event.product),
            ("unit", event.unit),
            ("resource_type", event.resource_type),
            ("tenant", event.tenant),
            ("idempotency_key", event.idempotency_key),
        ] {
            if blank(value) {
                return Err(Rejection::new(INVALID, field, R::Missing));
            }
        }
        if event.quantity == 0 {
            return Err(Rejection::new(INVALID, "quantity", R::ZeroQuantity));
        }

        let slot = self.products.get(event.product);
        match slot.and_then(|p| p.state) {
            None => {
                return Err(Rejection::new(
                    "registry.product_missing",
                    "product",
                    R::Unregistered(Kind::Product),
                ));
            }
            Some(State::Active) => {}
            Some(s) => {
                return Err(Rejection::new(
                    "registry.product_inactive",
                    "product",
                    R::Inactive(Kind::Product, s),
                ));
            }
        }

        const RATING: &str = "billing.rating_rule_required";
        let Some(facts) = slot.and_then(|p| p.facts.as_ref()) else {
            return Err(Rejection::new(RATING, "product", R::NoPacket));
        };
        match facts.posture {
            None => return Err(Rejection::new(RATING, "product", R::PostureUnknown)),
            Some(BillingPosture::Billable) => {}
            Some(p) => return Err(Rejection::new(RATING, "product", R::NotBillable(p))),
        }
        if !facts.rating_rule_required {
            return Err(Rejection::new(RATING, "product", R::RatingRuleMissing));
        }

        // Fast path: the units and resource types the packet lists that the registry
        // has in a usable state were found when the snapshot was built.
        if !slot.is_some_and(|p| {
            p.ready_units
                .iter()
                .any(|(u, v)| **u == *event.unit && v == event.version)
        }) {
            return Err(self.unit_rejection(event.unit, event.version));
        }
        let resource_ok = match slot.and_then(|p| p.ready_resources.as_ref()) {
            Some(ready) => ready.iter().any(|r| **r == *event.resource_type),
            None => self
                .entry(Kind::ResourceType, event.resource_type)
                .is_some_and(|e| usable(e.state)),
        };
        if !resource_ok {
            return Err(self.resource_rejection(event.resource_type));
        }
        Ok(())
    }

    /// Why a usage unit at a version is refused: not registered, registered in an
    /// unusable state, or not listed by the product's packet.
    fn unit_rejection(&self, unit: &str, version: &Version) -> Rejection {
        use RejectReason as R;
        const UNIT: &str = "billing.usage_unit_unregistered";
        let Some(versions) = self.units.get(unit) else {
            return Rejection::new(UNIT, "unit", R::Unregistered(Kind::UsageUnit));
        };
        match versions.iter().find(|(v, _)| v == version).map(|(_, s)| *s) {
            None => Rejection::new(UNIT, "version", R::VersionUnregistered),
            Some(s) if !usable(s) => Rejection::new(state_code(s), "version", R::Inactive(Kind::UsageUnit, s)),
            // Registered and usable but not on the fast path: the packet does not list it.
            Some(_) => Rejection::new(UNIT, "unit", R::NotListed(Kind::UsageUnit)),
        }
    }

    /// Why a resource type is refused: not registered, registered in an unusable
    /// state, or not among those the product's packet lists.
    fn resource_rejection(&self, resource_type: &str) -> Rejection {
        use RejectReason as R;
        const RESOURCE: &str = "billing.resource_type_unregistered";
        match self.entry(Kind::ResourceType, resource_type) {
            None => Rejection::new(RESOURCE, "resource_type", R::Unregistered(Kind::ResourceType)),
            Some(e) if !usable(e.state) => Rejection::new(
                state_code(e.state),
                "resource_type",
                R::Inactive(Kind::ResourceType, e.state),
            ),
            Some(_) => Rejection::new(RESOURCE, "resource_type", R::NotListed(Kind::ResourceType)),
        }
    }

    /// Checks a quota-changing write: the product is registered, and snapshot kind,
    /// dimension, parent scope and override scope are all present and name usable
    /// registry entries; the snapshot kind and dimension are also among those the
    /// product's packet lists, when it lists any. Every refusal is `quota.incomplete`
    /// (but an unknown product, `registry.product_missing`); `field` says which part.
    pub fn check_quota_write(&self, change: &QuotaChange<'_>) -> Result<(), Rejection> {
        use RejectReason as R;
        const QUOTA: &str = "quota.incomplete";
        if blank(change.product) {
            return Err(Rejection::new(QUOTA, "product", R::Missing));
        }
        let parts = [
            ("snapshot_kind", change.snapshot_kind, Kind::SnapshotKind),
            ("dimension", change.dimension, Kind::QuotaDimension),
            ("parent_scope", change.parent_scope, Kind::Scope),
            ("override_scope", change.override_scope, Kind::Scope),
        ];
        for (field, value, _) in parts {
            if value.is_none_or(blank) {
                return Err(Rejection::new(QUOTA, field, R::Missing));
            }
        }
        let Some(slot) = self.products.get(change.product).filter(|p| p.state.is_some()) else {
            return Err(Rejection::new(
                "registry.product_missing",
                "product",
                R::Unregistered(Kind::Product),
            ));
        };
        let facts = slot.facts.as_ref();
        for (field, value, kind) in parts {
            let Some(key) = value else { continue };
            match self.entry(kind, key) {
                None => return Err(Rejection::new(QUOTA, field, R::Unregistered(kind))),
                Some(e) if !usable(e.state) => return Err(Rejection::new(QUOTA, field, R::Inactive(kind, e.state))),
                Some(_) => {}
            }
            let listed = match (kind, facts) {
                (Kind::SnapshotKind, Some(f)) => &f.snapshot_kinds,
                (Kind::QuotaDimension, Some(f)) => &f.quota_dimensions,
                _ => continue,
            };
            if !listed.is_empty() && !listed.iter().any(|l| l == key) {
                return Err(Rejection::new(QUOTA, field, R::NotListed(kind)));
            }
        }
        Ok(())
    }
}

/// The current [`Snapshot`], shared by request threads and swapped atomically when the
/// registry changes. Reads take no lock.
#[derive(Debug)]
pub struct Guards {
    current: ArcSwap<Snapshot>,
}

impl Guards {
    /// Guards over `snapshot`.
    pub fn new(snapshot: Snapshot) -> Guards {
        Guards {
            current: ArcSwap::from_pointee(snapshot),
        }
    }

    /// Guards over a snapshot that is already shared.
    pub fn from_shared(snapshot: Arc<Snapshot>) -> Guards {
        Guards {
            current: ArcSwap::new(snapshot),
        }
    }

    /// Replaces the snapshot; requests that already hold the old one finish with it.
    pub fn swap(&self, snapshot: Snapshot) {
        self.current.store(Arc::new(snapshot));
    }

    /// Replaces the snapshot with one that is already shared.
    pub fn swap_shared(&self, snapshot: Arc<Snapshot>) {
        self.current.store(snapshot);
    }

    /// The current snapshot, for one request (a reference-count increment).
    pub fn snapshot(&self) -> Arc<Snapshot> {
        self.current.load_full()
    }

    /// [`Snapshot::is_visible`] on the current snapshot.
    pub fn is_visible(&self, product: &str, onboarding_mode: bool) -> bool {
        self.current.load().is_visible(product, onboarding_mode)
    }

    /// [`Snapshot::check_scopes`] on the current snapshot.
    pub fn check_scopes(&self, scopes: &[&str]) -> Vec<ScopeIssue> {
        self.current.load().check_scopes(scopes)
    }

    /// [`Snapshot::accept_usage`] on the current snapshot.
    pub fn accept_usage(&self, event: &UsageEvent<'_>) -> Result<(), Rejection> {
        self.current.load().accept_usage(event)
    }

    /// [`Snapshot::check_quota_write`] on the current snapshot.
    pub fn check_quota_write(&self, change: &QuotaChange<'_>) -> Result<(), Rejection> {
        self.current.load().check_quota_write(change)
    }
}

/// Who owns a path, by a packet's ownership package rows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OwnerMatch {
    /// The packet whose row matched.
    pub packet_id: Option<String>,
    /// The product of that packet.
    pub product_id: Option<String>,
    /// The row's package path, as written.
    pub path_prefix: String,
    /// `product`, `platform` or `shared`.
    pub owner: PackageOwner,
}

impl fmt::Display for OwnerMatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (package `{}` of packet `{}`)",
            self.owner,
            self.path_prefix,
            self.packet_id.as_deref().unwrap_or("?")
        )
    }
}

/// A path as `/`-separated segments, without `.` segments or a leading `./`.
fn slash_path(path: &Path) -> String {
    let mut out = String::new();
    for c in path.components() {
        let part = match c {
            Component::CurDir => continue,
            Component::RootDir => {
                out.push('/');
                continue;
            }
            Component::Prefix(p) => p.as_os_str().to_string_lossy(),
            Component::ParentDir => "..".into(),
            Component::Normal(s) => s.to_string_lossy(),
        };
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        out.push_str(&part);
    }
    out
}

/// The boundary guard: the owner of `path` by the packets' ownership package rows —
/// the row with the longest package path that equals or contains `path`, segment-wise
/// (`apps/api` contains `apps/api/v1/x.rs`, not `apps/apix`). On a tie the earlier
/// packet and row win. `None` when no row covers the path.
pub fn owner_of(path: &Path, packets: &[&Packet]) -> Option<OwnerMatch> {
    let target = slash_path(path);
    let mut best: Option<(usize, OwnerMatch)> = None;
    for packet in packets {
        let Some(body) = packet.body() else { continue };
        let rows = body.ownership.value().and_then(|o| o.packages.value());
        for row in rows.into_iter().flatten().filter_map(Field::value) {
            let (Some(prefix), Some(owner)) = (row.path.value(), row.owner.value()) else {
                continue;
            };
            let norm = ownership::normalize(prefix);
            let norm = norm.strip_prefix("./").unwrap_or(norm);
            let covers = norm.len() <= target.len() && ownership::overlaps(norm, &target);
            if covers && best.as_ref().is_none_or(|(len, _)| norm.len() > *len) {
                best = Some((
                    norm.len(),
                    OwnerMatch {
                        packet_id: body.packet_id.value().cloned(),
                        product_id: body.product_id.value().cloned(),
                        path_prefix: prefix.clone(),
                        owner: *owner,
                    },
                ));
            }
        }
    }
    best.map(|(_, m)| m)
}

#[cfg(test)]
mod tests {
    use super::*;

    const REGISTRY: &str = "registry:
  products:
    - {key: tf, state: active, owner: p}
    - {key: draft-one, state: draft, owner: p}
    - {key: old, state: retired, owner: p}
    - {key: fading, state: deprecated, owner: p}
  scopes:
    - {key: tf:model:invoke, state: active, owner: iam}
    - {key: tf:model:legacy, state: deprecated, owner: iam, sunset: 2027-06-30}
    - {key: tf:model:gone, state: retired, owner: iam}
    - {key: tf:model:soon, state: draft, owner: iam}
  usage_units:
    - {key: token, version: v1, state: active, owner: b}
    - {key: token, version: v2, state: draft, owner: b}
    - {key: token, version: v3, state: retired, owner: b}
    - {key: other, version: v1, state: active, owner: b}
  resource_types:
    - {key: endpoint, state: active, owner: p}
    - {key: key, state: active, owner: p}
  quota_dimensions:
    - {key: rpm, state: active, owner: q}
  snapshot_kinds:
    - {key: product_quota, state: active, owner: q}
    - {key: old_kind, state: retired, owner: q}
";

    const PACKET: &str = "product_onboarding_packet:
  packet_id: tf-onboarding-v1
  product_id: tf
  product_slug: tf
  ownership:
    packages:
      - {path: products/tf, owner: product}
      - {path: products/tf/billing/**, owner: platform}
  shared_services:
    billing:
      posture: billable
      rating_rule: required
      usage_units: [{unit: token, version: v1}, {unit: token, version: v2}, {unit: token, version: v3}]
      resource_types: [endpoint]
    policy_quota:
      quota_dimensions: [rpm]
";

    fn snapshot() -> Snapshot {
        let packet = Packet::from_yaml(PACKET).unwrap();
        Snapshot::new(Registry::from_yaml(REGISTRY).unwrap(), &[&packet])
    }

    fn v(major: u64) -> Version {
        Version::new(major, 0, 0)
    }

    fn event<'a>(version: &'a Version) -> UsageEvent<'a> {
        UsageEvent {
            product: "tf",
            unit: "token",
            version,
            quantity: 1,
            resource_type: "endpoint",
            tenant: "acme",
            idempotency_key: "k1",
            at: jiff::Timestamp::UNIX_EPOCH,
        }
    }

    #[test]
    fn accepts_and_rejects_usage() {
        let s = snapshot();
        let v1 = v(1);
        let ok = event(&v1);
        assert_eq!(s.accept_usage(&ok), Ok(()));
        let reject = |e: UsageEvent<'_>| s.accept_usage(&e).map_err(|r| (r.code, r.field, r.reason));
        assert_eq!(
            reject(UsageEvent { tenant: " ", ..ok }),
            Err(("usage.invalid", "tenant", RejectReason::Missing))
        );
        assert_eq!(
            reject(UsageEvent { quantity: 0, ..ok }),
            Err(("usage.invalid", "quantity", RejectReason::ZeroQuantity))
        );
        assert_eq!(
            reject(UsageEvent { product: "nope", ..ok }).map_err(|r| r.0),
            Err("registry.product_missing")
        );
        assert_eq!(
            reject(UsageEvent {
                product: "fading",
                ..ok
            }),
            Err((
                "registry.product_inactive",
                "product",
                RejectReason::Inactive(Kind::Product, State::Deprecated)
            ))
        );
        let v2 = v(2);
        let v3 = v(3);
        let v9 = v(9);
        assert_eq!(
            reject(UsageEvent { version: &v2, ..ok }).map_err(|r| r.0),
            Err("registry.entry_inactive")
        );
        assert_eq!(
            reject(UsageEvent { version: &v3, ..ok }).map_err(|r| r.0),
            Err("registry.entry_retired")
        );
        assert_eq!(
            reject(UsageEvent { version: &v9, ..ok }),
            Err((
                "billing.usage_unit_unregistered",
                "version",
                RejectReason::VersionUnregistered
            ))
        );
        assert_eq!(
            reject(UsageEvent { unit: "other", ..ok }),
            Err((
                "billing.usage_unit_unregistered",
                "unit",
                RejectReason::NotListed(Kind::UsageUnit)
            ))
        );
        assert_eq!(
            reject(UsageEvent {
                resource_type: "key",
                ..ok
            }),
            Err((
                "billing.resource_type_unregistered",
                "resource_type",
                RejectReason::NotListed(Kind::ResourceType)
            ))
        );
        assert_eq!(
            reject(UsageEvent {
                resource_type: "nah",
                ..ok
            })
            .map_err(|r| r.2),
            Err(RejectReason::Unregistered(Kind::ResourceType))
        );
    }

    #[test]
    fn posture_comes_from_the_latest_packet() {
        let reg = Registry::from_yaml(REGISTRY).unwrap();
        let first = Packet::from_yaml(PACKET).unwrap();
        let later = Packet::from_yaml(&PACKET.replace("posture: billable", "posture: deferred")).unwrap();
        let s = Snapshot::new(reg.clone(), &[&first, &later]);
        let v1 = v(1);
        let err = s.accept_usage(&event(&v1)).unwrap_err();
        assert_eq!(err.code, "billing.rating_rule_required");
        assert_eq!(err.reason, RejectReason::NotBillable(BillingPosture::Deferred));
        assert!(err.message().contains("`deferred`"), "{}", err.message());
        let none = Snapshot::new(reg, &[]);
        assert_eq!(
            none.accept_usage(&event(&v1)).unwrap_err().reason,
            RejectReason::NoPacket
        );
    }

    #[test]
    fn visibility() {
        let s = snapshot();
        assert!(s.is_visible("tf", false));
        assert!(!s.is_visible("draft-one", false));
        assert!(s.is_visible("draft-one", true));
        assert!(!s.is_visible("old", true));
        assert!(!s.is_visible("fading", false));
        assert!(!s.is_visible("unknown", true));
    }

    #[test]
    fn scopes_are_reported_once_each() {
        let s = snapshot();
        let issues = s.check_scopes(&[
            "tf:model:invoke",
            "tf:model:nope",
            "tf:model:legacy",
            "tf:model:gone",
            "tf:model:soon",
            "tf:model:nope",
        ]);
        let codes: Vec<(&str, &str)> = issues.iter().map(|i| (i.scope.as_str(), i.code)).collect();
        assert_eq!(
            codes,
            [
                ("tf:model:nope", "iam.scope_unregistered"),
                ("tf:model:legacy", "registry.entry_deprecated"),
                ("tf:model:gone", "registry.entry_retired"),
                ("tf:model:soon", "registry.entry_inactive"),
            ]
        );
        assert_eq!(issues[1].severity, Severity::Warning);
        assert!(issues[1].message().contains("sunset 2027-06-30"));
        assert!(s.check_scopes(&["tf:model:invoke"]).is_empty());
    }

    #[test]
    fn quota_writes() {
        let s = snapshot();
        let full = QuotaChange {
            product: "tf",
            snapshot_kind: Some("product_quota"),
            dimension: Some("rpm"),
            parent_scope: Some("tf:model:invoke"),
            override_scope: Some("tf:model:legacy"),
        };
        assert_eq!(s.check_quota_write(&full), Ok(()));
        let field = |c: QuotaChange<'_>| s.check_quota_write(&c).map_err(|r| (r.code, r.field, r.reason));
        assert_eq!(
            field(QuotaChange {
                dimension: None,
                ..full
            }),
            Err(("quota.incomplete", "dimension", RejectReason::Missing))
        );
        assert_eq!(
            field(QuotaChange {
                snapshot_kind: Some("old_kind"),
                ..full
            }),
            Err((
                "quota.incomplete",
                "snapshot_kind",
                RejectReason::Inactive(Kind::SnapshotKind, State::Retired)
            ))
        );
        assert_eq!(
            field(QuotaChange {
                override_scope: Some("tf:model:nope"),
                ..full
            }),
            Err((
                "quota.incomplete",
                "override_scope",
                RejectReason::Unregistered(Kind::Scope)
            ))
        );
    }

    #[test]
    fn guards_swap() {
        let guards = Guards::new(Snapshot::default());
        assert!(!guards.is_visible("tf", false));
        let held = guards.snapshot();
        guards.swap(snapshot());
        assert!(guards.is_visible("tf", false));
        assert!(!held.is_visible("tf", false), "a held snapshot does not change");
    }

    #[test]
    fn owners() {
        let packet = Packet::from_yaml(PACKET).unwrap();
        let owner = |p: &str| owner_of(Path::new(p), &[&packet]).map(|m| (m.owner, m.path_prefix));
        assert_eq!(
            owner("products/tf/api/main.rs"),
            Some((PackageOwner::Product, "products/tf".to_owned()))
        );
        assert_eq!(
            owner("./products/tf/billing/x.rs"),
            Some((PackageOwner::Platform, "products/tf/billing/**".to_owned()))
        );
        assert_eq!(
            owner("products/tf"),
            Some((PackageOwner::Product, "products/tf".to_owned()))
        );
        assert_eq!(owner("products/tfx/a.rs"), None);
        assert_eq!(owner("products"), None);
    }

    #[test]
    fn namespaces() {
        let s = snapshot();
        assert_eq!(s.namespaces(), ["draft_one", "fading", "old", "tf"]);
    }
}
