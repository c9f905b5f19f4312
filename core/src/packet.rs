//! The product onboarding packet of seed 000, as typed Rust.
//!
//! Every field of the seed's "Required Packet Shape" is here, plus the SPEC's
//! additions (`schema_version`, `tracked_gaps`, `docs_and_portal.sources`,
//! `exceptions`). Each field names the stage from which it is required (`req`) or
//! says that only a specific rule looks at it (`opt`).

use crate::evidence::EvidenceKind;
use jiff::civil::Date;
use serde_json::Value as Json;

use crate::decode::{Decode, Decoder, Field, FieldInfo, NaRecord};
use crate::report::Finding;
use crate::stage::Stage;
use crate::tree::{self, Limits, Node, Pos, SyntaxError};
use crate::{record, text_enum};

text_enum! {
    /// Where the product is in its life.
    pub enum Lifecycle { Draft = "draft", Onboarding = "onboarding", Active = "active", Deprecated = "deprecated", Retired = "retired" }
}
text_enum! {
    /// Who the product serves.
    pub enum Persona { User = "user", Operator = "operator", Developer = "developer", Product = "product", Security = "security" }
}
text_enum! {
    /// Who can reach the product.
    pub enum Posture { Internal = "internal", Partner = "partner", External = "external" }
}
text_enum! {
    /// How far public documentation goes.
    pub enum DocsTrack { None = "none", Internal = "internal", Partner = "partner", Public = "public" }
}
text_enum! {
    /// Who owns a package.
    pub enum PackageOwner { Product = "product", Platform = "platform", Shared = "shared" }
}
text_enum! {
    /// A route family.
    pub enum RouteFamily { Public = "public", Admin = "admin", Internal = "internal", ReadModel = "read_model" }
}
text_enum! {
    /// A scope's declared registry state.
    pub enum ScopeState { Draft = "draft", Active = "active" }
}
text_enum! {
    /// `required` or `optional` (or a `not_applicable` marker).
    pub enum RequiredOptional { Required = "required", Optional = "optional" }
}
text_enum! {
    /// `required` (or a `not_applicable` marker).
    pub enum Required { Required = "required" }
}
text_enum! {
    /// `required` or `not_ready` (or a `not_applicable` marker).
    pub enum Readiness { Required = "required", NotReady = "not_ready" }
}
text_enum! {
    /// The product's billing posture.
    pub enum BillingPosture { Billable = "billable", NonBillable = "non_billable", Deferred = "deferred" }
}
text_enum! {
    /// A supply-chain trust requirement.
    pub enum Trust { DigestPinned = "digest_pinned", Provenance = "provenance", Sbom = "sbom" }
}
text_enum! {
    /// Keep, split or extract.
    pub enum ExtractionPosture { Keep = "keep", Split = "split", Extract = "extract" }
}
text_enum! {
    /// What a tracked gap stands in for.
    pub enum GapKind { MissingArtifact = "missing_artifact", DocGap = "doc_gap", Blocker = "blocker" }
}

/// A usage-unit version as written (`v1`, `1.2.0`) and as read (`v1` is `1.0.0`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitVersion {
    /// As written.
    pub raw: String,
    /// As read.
    pub version: semver::Version,
}

impl Decode for UnitVersion {
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self> {
        let raw = cx.string(node, ptr)?;
        match crate::registry::parse_version(&raw) {
            Some(version) => Some(UnitVersion { raw, version }),
            None => {
                cx.invalid(
                    node,
                    ptr,
                    format!("`{raw}` is not a version; write `v1` or semver like `1.2.0`"),
                );
                None
            }
        }
    }
    fn schema() -> Json {
        serde_json::json!({"type": "string", "pattern": "^v?[0-9]+(\\.[0-9]+){0,2}([-+].*)?$"})
    }
    fn ident(&self) -> Option<String> {
        Some(self.version.to_string())
    }
}

/// A semver `schema_version`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SchemaVersion(pub semver::Version);

impl Decode for SchemaVersion {
    fn decode(node: &Node, ptr: &str, cx: &mut Decoder) -> Option<Self> {
        let raw = cx.string(node, ptr)?;
        match semver::Version::parse(&raw) {
            Ok(v) => Some(SchemaVersion(v)),
            Err(_) => {
                cx.invalid(
                    node,
                    ptr,
                    format!("schema_version `{raw}` is not semver; write it like `1.0.0`"),
                );
                None
            }
        }
    }
    fn schema() -> Json {
        serde_json::json!({"type": "string", "pattern": "^[0-9]+\\.[0-9]+\\.[0-9]+"})
    }
}

/// A list whose entries are decoded like fields.
pub type List<T> = Vec<Field<T>>;

record! {
    /// The whole document: one top-level key.
    pub struct Root {
        /// The packet.
        packet: Body = "product_onboarding_packet", must(Intake),
    }
}

record! {
    /// The packet's body.
    pub struct Body {
        /// Semver of the packet format (default `1.0.0`).
        schema_version: SchemaVersion = "schema_version", opt(Intake),
        /// Stable id of this packet.
        packet_id: String = "packet_id", must(Intake),
        /// Stable id of the product.
        product_id: String = "product_id", must(Intake),
        /// Lowercase kebab-case slug.
        product_slug: String = "product_slug", must(Intake),
        /// Lifecycle state; selects the default stage.
        lifecycle_state: Lifecycle = "lifecycle_state", must(Intake),
        /// The four owners.
        owner: Owner = "owner", req(Intake),
        /// Who the product serves.
        personas: List<Persona> = "personas", req(Intake),
        /// Exposure posture and docs track.
        exposure: Exposure = "exposure", req(Intake),
        /// Ownership rows.
        ownership: Ownership = "ownership", req(Ownership),
        /// Shared-service contracts.
        shared_services: SharedServices = "shared_services", req(PlatformServices),
        /// Portal pages.
        docs_and_portal: DocsAndPortal = "docs_and_portal", req(Portal),
        /// Tests, release evidence and rollback.
        uat_and_release: UatAndRelease = "uat_and_release", req(UatEvidence),
        /// Keep/split/extract posture.
        extraction: Extraction = "extraction", req(Extraction),
        /// Tracked missing artifacts, doc gaps and blockers.
        tracked_gaps: List<Gap> = "tracked_gaps", opt(Intake),
        /// Approved exceptions to one rule at one place.
        exceptions: List<Exception> = "exceptions", opt(Intake),
    }
}

record! {
    /// The four owners.
    pub struct Owner {
        /// Product owner.
        product: String = "product", req(Intake),
        /// Engineering owner.
        engineering: String = "engineering", req(Intake),
        /// Operations owner.
        operations: String = "operations", req(Intake),
        /// Security owner.
        security: String = "security", req(Intake),
    }
}

record! {
    /// Exposure.
    pub struct Exposure {
        /// internal, partner or external.
        posture: Posture = "posture", req(Intake),
        /// none, internal, partner or public.
        public_docs_track: DocsTrack = "public_docs_track", req(Intake),
    }
}

record! {
    /// Ownership rows, so a boundary guard can classify new paths.
    pub struct Ownership {
        /// Package paths.
        packages: List<PackageRow> = "packages", req(Ownership),
        /// Route prefixes.
        routes: List<RouteRow> = "routes", req(Ownership),
        /// Tables and views.
        schemas: List<SchemaRow> = "schemas", req(Ownership),
        /// Event subjects.
        events: List<EventRow> = "events", req(Ownership),
        /// Frontend page families.
        frontend_surfaces: List<SurfaceRow> = "frontend_surfaces", req(Ownership),
    }
}

record! {
    /// A package path and its owner.
    pub struct PackageRow identity [path] {
        /// Package path.
        path: String = "path", req(Ownership),
        /// product, platform or shared.
        owner: PackageOwner = "owner", req(Ownership),
    }
}

record! {
    /// A route prefix and its owner.
    pub struct RouteRow identity [family, prefix] {
        /// public, admin, internal or read_model.
        family: RouteFamily = "family", req(Ownership),
        /// Route prefix.
        prefix: String = "prefix", req(Ownership),
        /// Owning team.
        owner: String = "owner", req(Ownership),
    }
}

record! {
    /// A table or view and its owner.
    pub struct SchemaRow identity [table_or_view] {
        /// Table or view.
        table_or_view: String = "table_or_view", req(Ownership),
        /// Owning team.
        owner: String = "owner", req(Ownership),
    }
}

record! {
    /// An event subject, its producer and consumers.
    pub struct EventRow identity [subject] {
        /// Event subject.
        subject: String = "subject", req(Ownership),
        /// Producing service.
        producer: String = "producer", req(Contracts),
        /// Consuming services.
        consumers: List<String> = "consumers", req(Contracts),
    }
}

record! {
    /// A frontend page family and its owner.
    pub struct SurfaceRow identity [page_family] {
        /// Page family.
        page_family: String = "page_family", req(Ownership),
        /// Owning team.
        owner: String = "owner", req(Ownership),
    }
}

record! {
    /// The shared-service contracts.
    pub struct SharedServices {
        /// IAM.
        iam: Iam = "iam", req(PlatformServices),
        /// Billing.
        billing: Billing = "billing", req(PlatformServices),
        /// Audit.
        audit: Audit = "audit", req(PlatformServices),
        /// Notifications.
        notifications: Notifications = "notifications", req(PlatformServices),
        /// Evidence and status.
        evidence_status: EvidenceStatus = "evidence_status", req(PlatformServices),
        /// Policy and quota.
        policy_quota: PolicyQuota = "policy_quota", req(PlatformServices),
        /// Registry and artifacts.
        registry_artifacts: RegistryArtifacts = "registry_artifacts", req(PlatformServices),
        /// Secrets and PKI.
        secrets_pki: SecretsPki = "secrets_pki", req(PlatformServices),
    }
}

record! {
    /// IAM contract.
    pub struct Iam {
        /// Scope strings.
        scopes: List<ScopeRow> = "scopes", req(PlatformServices),
        /// Role names.
        roles: List<String> = "roles", req(PlatformServices),
        /// required or optional.
        service_accounts: RequiredOptional = "service_accounts", req(PlatformServices),
        /// required.
        entitlement_rows: Required = "entitlement_rows", req(PlatformServices),
    }
}

record! {
    /// A scope and its declared registry state.
    pub struct ScopeRow identity [scope] {
        /// `<product>:<resource>:<verb>`.
        scope: String = "scope", req(PlatformServices),
        /// draft or active.
        registry_state: ScopeState = "registry_state", req(PlatformServices),
    }
}

record! {
    /// Billing contract.
    pub struct Billing {
        /// billable, non_billable or deferred.
        posture: BillingPosture = "posture", req(PlatformServices),
        /// Usage units with versions (required when billable).
        usage_units: List<UsageUnitRow> = "usage_units", opt(PlatformServices),
        /// Resource types.
        resource_types: List<String> = "resource_types", opt(PlatformServices),
        /// required when billable.
        rating_rule: Required = "rating_rule", opt(PlatformServices),
        /// Always `platform_billing`.
        ledger_write_owner: String = "ledger_write_owner", req(PlatformServices),
    }
}

record! {
    /// A usage unit and its version.
    pub struct UsageUnitRow identity [unit, version] {
        /// Unit key.
        unit: String = "unit", req(PlatformServices),
        /// Version (`v1` reads as `1.0.0`).
        version: UnitVersion = "version", req(PlatformServices),
    }
}

record! {
    /// Audit contract.
    pub struct Audit {
        /// Audit actions.
        actions: List<ActionRow> = "actions", opt(PlatformServices),
        /// Privileged mutations that must be audited.
        privileged_mutations: List<MutationRow> = "privileged_mutations", opt(PlatformServices),
        /// required.
        query_surface: Required = "query_surface", req(PlatformServices),
    }
}

record! {
    /// An audit action.
    pub struct ActionRow identity [action] {
        /// Registered audit action.
        action: String = "action", req(PlatformServices),
    }
}

record! {
    /// A privileged mutation.
    pub struct MutationRow identity [route_or_command] {
        /// Route or command.
        route_or_command: String = "route_or_command", req(PlatformServices),
    }
}

record! {
    /// Notifications contract.
    pub struct Notifications {
        /// Platform templates.
        templates: List<TemplateRow> = "templates", req(PlatformServices),
        /// Delivery intents.
        delivery_intents: List<String> = "delivery_intents", req(PlatformServices),
        /// required.
        escalation: Required = "escalation", req(PlatformServices),
    }
}

record! {
    /// A notification template.
    pub struct TemplateRow identity [template_key] {
        /// Template key in the platform template registry.
        template_key: String = "template_key", req(PlatformServices),
    }
}

record! {
    /// Evidence and status contract.
    pub struct EvidenceStatus {
        /// Platform evidence types.
        evidence_types: List<TypeRow> = "evidence_types", opt(PlatformServices),
        /// Invariants.
        invariants: List<InvariantRow> = "invariants", req(PlatformServices),
        /// Status/Ops component ids.
        status_components: List<ComponentRow> = "status_components", opt(PlatformServices),
        /// required.
        slo_posture: Required = "slo_posture", req(PlatformServices),
    }
}

record! {
    /// A typed row (`- type: …`).
    pub struct TypeRow identity [r#type] {
        /// The type key.
        r#type: String = "type", req(PlatformServices),
    }
}

record! {
    /// An invariant.
    pub struct InvariantRow identity [invariant_id] {
        /// Invariant id.
        invariant_id: String = "invariant_id", req(PlatformServices),
    }
}

record! {
    /// A status component.
    pub struct ComponentRow identity [component_id] {
        /// Component id.
        component_id: String = "component_id", req(PlatformServices),
    }
}

record! {
    /// Policy and quota contract.
    pub struct PolicyQuota {
        /// Policy keys.
        policy_keys: List<PolicyKeyRow> = "policy_keys", req(PlatformServices),
        /// Quota dimensions (a plain string is shorthand for `dimension:`).
        quota_dimensions: List<DimensionRow> = "quota_dimensions", opt(PlatformServices),
        /// Snapshot kinds (a plain string is shorthand for `kind:`).
        snapshot_kinds: List<SnapshotRow> = "snapshot_kinds", opt(PlatformServices),
    }
}

record! {
    /// A policy key.
    pub struct PolicyKeyRow identity [key] {
        /// Policy key.
        key: String = "key", req(PlatformServices),
    }
}

record! {
    /// A quota dimension.
    pub struct DimensionRow shorthand dimension identity [dimension] {
        /// Quota dimension.
        dimension: String = "dimension", req(PlatformServices),
    }
}

record! {
    /// A snapshot kind.
    pub struct SnapshotRow shorthand kind identity [kind] {
        /// Snapshot kind.
        kind: String = "kind", req(PlatformServices),
    }
}

record! {
    /// Registry and artifacts contract.
    pub struct RegistryArtifacts {
        /// Must be `required`.
        product_registry_entry: String = "product_registry_entry", req(PlatformServices),
        /// Artifact types.
        artifact_types: List<TypeRow> = "artifact_types", req(PlatformServices),
        /// digest_pinned, provenance and sbom.
        trust_requirements: List<Trust> = "trust_requirements", opt(PlatformServices),
    }
}

record! {
    /// Secrets and PKI contract.
    pub struct SecretsPki {
        /// Credential purposes.
        credential_purposes: List<PurposeRow> = "credential_purposes", req(PlatformServices),
        /// vault, step_ca or platform_metadata.
        custody_tier: String = "custody_tier", req(PlatformServices),
        /// Who rotates credentials.
        rotation_owner: String = "rotation_owner", req(PlatformServices),
    }
}

record! {
    /// A credential purpose.
    pub struct PurposeRow identity [purpose] {
        /// Credential purpose.
        purpose: String = "purpose", req(PlatformServices),
    }
}

record! {
    /// Portal pages and where they live.
    pub struct DocsAndPortal {
        /// User page.
        user_page: Required = "user_page", req(Portal),
        /// Developer page.
        developer_page: Required = "developer_page", req(Portal),
        /// Operator page.
        operator_page: Required = "operator_page", req(Portal),
        /// Security page.
        security_page: Required = "security_page", req(Portal),
        /// Product page.
        product_page: Required = "product_page", req(Portal),
        /// Architecture page.
        architecture_page: Required = "architecture_page", req(Portal),
        /// Where each required page lives and who keeps it fresh.
        sources: List<SourceRow> = "sources", opt(Portal),
    }
}

impl DocsAndPortal {
    /// Every page field with its key.
    pub fn pages(&self) -> [(&'static str, &Field<Required>); 6] {
        [
            ("user_page", &self.user_page),
            ("developer_page", &self.developer_page),
            ("operator_page", &self.operator_page),
            ("security_page", &self.security_page),
            ("product_page", &self.product_page),
            ("architecture_page", &self.architecture_page),
        ]
    }
}

record! {
    /// A page's source and freshness owner.
    pub struct SourceRow identity [page] {
        /// The page field name (`user_page`, …).
        page: String = "page", req(Portal),
        /// Path or URL.
        source: String = "source", req(Portal),
        /// Who keeps it fresh.
        freshness_owner: String = "freshness_owner", req(Portal),
    }
}

record! {
    /// UAT and release.
    pub struct UatAndRelease {
        /// Contract test commands.
        contract_tests: List<ContractTestRow> = "contract_tests", opt(Contracts),
        /// Smoke test commands.
        smoke_tests: List<SmokeTestRow> = "smoke_tests", opt(UatEvidence),
        /// Must be `required`.
        release_evidence_bundle: Required = "release_evidence_bundle", req(UatEvidence),
        /// How the product rolls back.
        rollback_posture: String = "rollback_posture", opt(UatEvidence),
    }
}

record! {
    /// A contract test command.
    pub struct ContractTestRow identity [command] {
        /// The command.
        command: String = "command", req(Contracts),
    }
}

record! {
    /// A smoke test command.
    pub struct SmokeTestRow identity [command] {
        /// The command.
        command: String = "command", req(UatEvidence),
    }
}

record! {
    /// Extraction posture.
    pub struct Extraction {
        /// keep, split or extract.
        posture: ExtractionPosture = "posture", req(Extraction),
        /// required or not_ready.
        service_auth_packet: Readiness = "service_auth_packet", req(Extraction),
        /// required or not_ready.
        degradation_contract: Readiness = "degradation_contract", req(Extraction),
    }
}

record! {
    /// A tracked missing artifact, doc gap or blocker.
    pub struct Gap {
        /// missing_artifact, doc_gap or blocker.
        kind: GapKind = "kind", req(Intake),
        /// JSON Pointer of what the gap stands in for.
        r#ref: String = "ref", req(Intake),
        /// Who closes it.
        owner: String = "owner", req(Intake),
        /// Ticket id.
        tracking_id: String = "tracking_id", req(Intake),
        /// When it must be closed.
        due_date: Date = "due_date", req(Intake),
        /// For a missing artifact standing in for stage-5 evidence: which kind.
        evidence_kind: EvidenceKind = "evidence_kind", opt(Intake),
    }
}

record! {
    /// An approved exception to one rule at one place.
    pub struct Exception {
        /// The rule code.
        rule: String = "rule", req(Intake),
        /// JSON Pointer of the place.
        r#ref: String = "ref", req(Intake),
        /// Who approved it.
        approved_by: String = "approved_by", req(Intake),
        /// Why.
        reason: String = "reason", req(Intake),
        /// When it lapses.
        expires: Date = "expires", req(Intake),
    }
}

/// How a packet document is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// YAML (the default).
    Yaml,
    /// Strict JSON.
    Json,
}

impl Format {
    /// JSON for names ending in `.json` (any case), YAML otherwise.
    pub fn from_path(path: &std::path::Path) -> Format {
        if path.extension().is_some_and(|e| e.eq_ignore_ascii_case("json")) {
            Format::Json
        } else {
            Format::Yaml
        }
    }

    /// `yaml` (or `yml`) and `json`.
    pub fn from_name(name: &str) -> Option<Format> {
        match name {
            "yaml" | "yml" => Some(Format::Yaml),
            "json" => Some(Format::Json),
            _ => None,
        }
    }

    /// `yaml` or `json`.
    pub fn name(self) -> &'static str {
        match self {
            Format::Yaml => "yaml",
            Format::Json => "json",
        }
    }
}

/// Reads packet text from `reader`, at most `limits.max_bytes + 1` bytes, so an
/// oversized document is refused by the parser's size budget without being read
/// whole. `Ok(Err(_))` is a document that is not UTF-8 (`packet.parse`); `Err(_)` an
/// I/O failure.
pub fn read_source(reader: impl std::io::Read, limits: &Limits) -> std::io::Result<Result<String, ParseError>> {
    use std::io::Read as _;
    let cap = u64::try_from(limits.max_bytes).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    reader.take(cap).read_to_end(&mut bytes)?;
    Ok(String::from_utf8(bytes).map_err(|e| {
        ParseError(SyntaxError {
            message: format!(
                "document is not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
            pos: Pos::START,
        })
    }))
}

/// A packet that could not be read at all (code `packet.parse`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("packet.parse: {}", .0)]
pub struct ParseError(#[from] pub SyntaxError);

impl ParseError {
    /// The rule code: always `packet.parse`.
    pub const CODE: &'static str = "packet.parse";

    /// Where reading failed.
    pub fn pos(&self) -> Pos {
        self.0.pos
    }

    /// The finding that stands for this error in a report.
    pub fn finding(&self) -> Finding {
        Finding::new(
            Self::CODE,
            crate::report::Severity::Error,
            Stage::Intake,
            "",
            self.0.pos,
            self.0.message.clone(),
        )
    }
}

/// A parsed onboarding packet: the document, its typed form, and the structural
/// findings decoding produced.
#[derive(Debug, Clone)]
pub struct Packet {
    doc: Node,
    root: Option<Root>,
    structural: Vec<Finding>,
    nas: Vec<NaRecord>,
    renamed: Vec<String>,
}

/// The pointer of the packet body.
pub const ROOT_PTR: &str = "/product_onboarding_packet";

impl Packet {
    /// Parses a YAML packet with the default [`Limits`].
    pub fn from_yaml(text: &str) -> Result<Packet, ParseError> {
        Packet::parse(text, Format::Yaml, &Limits::default())
    }

    /// Parses a strict-JSON packet with the default [`Limits`].
    pub fn from_json(text: &str) -> Result<Packet, ParseError> {
        Packet::parse(text, Format::Json, &Limits::default())
    }

    /// Parses a packet. Only an unreadable document is an error; every other problem
    /// becomes a finding in the reports.
    pub fn parse(text: &str, format: Format, limits: &Limits) -> Result<Packet, ParseError> {
        let doc = match format {
            Format::Yaml => tree::parse_yaml(text, limits)?,
            Format::Json => tree::parse_json(text, limits)?,
        };
        Ok(Packet::from_node(doc))
    }

    /// Decodes an already-parsed document.
    pub fn from_node(doc: Node) -> Packet {
        let mut cx = Decoder::default();
        let root = Root::decode(&doc, "", &mut cx);
        Packet {
            doc,
            root,
            structural: cx.findings,
            nas: cx.nas,
            renamed: cx.renamed,
        }
    }

    /// The typed body, when the document has one.
    pub fn body(&self) -> Option<&Body> {
        self.root.as_ref()?.packet.value()
    }

    /// The document tree.
    pub fn document(&self) -> &Node {
        &self.doc
    }

    /// The packet id, when present.
    pub fn packet_id(&self) -> Option<&str> {
        self.body()?.packet_id.value().map(String::as_str)
    }

    /// Findings from decoding: unknown fields, wrong types, unjustified markers.
    pub fn structural_findings(&self) -> &[Finding] {
        &self.structural
    }

    /// Every `not_applicable` marker.
    pub fn not_applicable_markers(&self) -> &[NaRecord] {
        &self.nas
    }

    /// Missing required fields and duplicate entries for stages up to `target`. A
    /// field that a misspelt key was suggested to become is not reported missing: the
    /// `packet.unknown_field` finding already covers it.
    pub fn check_required(&self, target: Stage, out: &mut Vec<Finding>) {
        let mut found = Vec::new();
        if let Some(root) = &self.root {
            root.check(Stage::Intake, target, &mut found);
        }
        found.retain(|f| !(f.code == "packet.missing" && self.renamed.contains(&f.path)));
        out.extend(found);
    }

    /// The canonical JSON of the document: compact, object keys sorted, so two
    /// documents that mean the same (YAML or JSON, any key order) are the same bytes.
    pub fn canonical_json(&self) -> String {
        serde_json::to_string(&sorted(self.doc.to_json())).unwrap_or_default()
    }

    /// SHA-256 (hex) of [`Packet::canonical_json`]: what a review signs off.
    pub fn digest(&self) -> String {
        crate::store::sha256_hex(self.canonical_json().as_bytes())
    }

    /// The stage and requiredness of the field at `pointer`, if the schema has one.
    pub fn field_info(pointer: &str) -> Option<FieldInfo> {
        let rest = pointer.strip_prefix('/')?;
        let tokens: Vec<String> = rest.split('/').map(tree::unescape).collect();
        let refs: Vec<&str> = tokens.iter().map(String::as_str).collect();
        Root::info_at(
            &refs,
            FieldInfo {
                stage: Stage::Intake,
                required: true,
            },
        )
    }
}

fn sorted(v: Json) -> Json {
    match v {
        Json::Object(map) => {
            let mut entries: Vec<(String, Json)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Json::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Json::Array(items) => Json::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The JSON Schema (draft 2020-12) of a packet document, generated from the types.
pub fn json_schema() -> Json {
    let mut schema = Root::schema();
    if let Json::Object(map) = &mut schema {
        map.insert(
            "$schema".to_owned(),
            Json::String("https://json-schema.org/draft/2020-12/schema".to_owned()),
        );
        map.insert(
            "$id".to_owned(),
            Json::String("https://gangway.dev/schema/packet-1.json".to_owned()),
        );
        map.insert(
            "title".to_owned(),
            Json::String("Gangway product onboarding packet".to_owned()),
        );
    }
    schema
}
