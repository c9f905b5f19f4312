"""Gangway: fail-closed product onboarding packets, platform registry and stage gates.

The Python binding of the Rust library: the same rules, the same canonical JSON
reports, byte for byte. ::

    import gangway

    packet = gangway.Packet.from_path("examples/token-factory/packet.yaml")
    registry = gangway.Registry.from_path("examples/token-factory/registry.yaml")
    report = gangway.validate_packet(packet, registry, as_of="2026-11-22")
    report.ok, report.findings, report.to_json()

Every exception the library raises is a ``gangway.GangwayError``.
"""

from __future__ import annotations

from ._errors import (
    FileError,
    GangwayError,
    InvalidInputError,
    MissingDependencyError,
    ParseError,
    RegistryError,
    RegistryProblem,
    StoreError,
)
from ._gangway import (
    ENTRY_STATES,
    KINDS,
    SEVERITIES,
    STAGES,
    Entry,
    Finding,
    Guards,
    Limits,
    Packet,
    Progress,
    Registry,
    Rejection,
    Report,
    Snapshot,
    StageStatus,
    Store,
    Suggestion,
    __version__,
    can_change_state,
    generate_audit_key,
    json_schema,
    owner_of,
    progress,
    rules,
    scan,
    stage_gate,
    stage_number,
    starter_packet,
    unreadable_progress,
    unreadable_report,
    validate_packet,
    validate_source,
    verify_audit_export,
)

__all__ = [
    "ENTRY_STATES",
    "KINDS",
    "SEVERITIES",
    "STAGES",
    "Entry",
    "FileError",
    "Finding",
    "GangwayError",
    "Guards",
    "InvalidInputError",
    "Limits",
    "MissingDependencyError",
    "Packet",
    "ParseError",
    "Progress",
    "Registry",
    "RegistryError",
    "RegistryProblem",
    "Rejection",
    "Report",
    "Snapshot",
    "StageStatus",
    "Store",
    "StoreError",
    "Suggestion",
    "__version__",
    "can_change_state",
    "generate_audit_key",
    "json_schema",
    "owner_of",
    "progress",
    "rules",
    "scan",
    "stage_gate",
    "stage_number",
    "starter_packet",
    "unreadable_progress",
    "unreadable_report",
    "validate_packet",
    "validate_source",
    "verify_audit_export",
]
