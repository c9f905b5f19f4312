"""The shared conformance corpus, run through Python.

Follows ``conformance/src/lib.rs`` exactly: one test per folder
``conformance/cases/<area>/<NNN-name>/`` holding ``case.yaml``; the output is compared
byte for byte with ``expected.json``. Adding a case needs no code here.
"""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import checklist_ops
import conformance_ops
import gangway
import pytest
from conformance_ops import read

CASES = Path(__file__).resolve().parents[2] / "conformance" / "cases"

# Cases this runner cannot pass yet, with the reason: {"area/NNN-name": "why"}.
XFAIL: dict[str, str] = {}

_FIELDS = {
    "description",
    "operation",
    "stage",
    "as_of",
    "packet",
    "registry",
    # validate and progress: the records file, and the generator's markers (ignored)
    "records",
    "signed_records",
    "signed_records_omit",
    # store_ops, billing_ops and audit_verify
    "packets",
    "steps",
    "log",
    "checkpoint",
    "public_key",
    # guard and scan
    "checks",
    # the checklist operations (checklist_ops.py)
    "template",
    "run",
    "facts",
    "assertions",
    "response",
    "item",
    "params",
    "secrets",
    "responses",
    "rows",
    "thresholds",
    "from",
    "to",
    "packet_records",
}

# The operations that drive the store, billing, the guards and the scanner
# (conformance_ops.py) and the checklist engine (checklist_ops.py).
_OPERATIONS: dict[str, Callable[[Path, str, CaseSpec], str]] = {
    "store_ops": conformance_ops.run_store_ops,
    "billing_ops": conformance_ops.run_billing_ops,
    "audit_verify": conformance_ops.run_audit_verify,
    "guard": conformance_ops.run_guard,
    "scan": conformance_ops.run_scan,
    "checklist_template": checklist_ops.run_template,
    "checklist_eval": checklist_ops.run_eval,
    "probe_eval": checklist_ops.run_probe,
    "flow_replay": checklist_ops.run_flow,
    "adoption": checklist_ops.run_adoption,
    "forecast": checklist_ops.run_forecast,
}


def discover(root: Path) -> list[Path]:
    """Every case folder under ``root``, sorted by ``<area>/<case>`` name."""
    cases = [
        case
        for area in root.iterdir()
        if area.is_dir()
        for case in area.iterdir()
        if (case / "case.yaml").is_file()
    ]
    return sorted(cases, key=lambda c: f"{c.parent.name}/{c.name}")


def _text_map(f: conformance_ops.Fields, key: str) -> dict[str, str]:
    """A ``BTreeMap<String, String>`` field (default empty)."""
    value = f.raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise ValueError(f"{f.where}: `{key}` must map names to strings")
    return value


class CaseSpec:
    """What ``case.yaml`` says (unknown fields are refused, as in the Rust runner).
    ``typed`` is the same document read with JSON types, for the fields the Rust
    runner reads as JSON values or into the core's types."""

    def __init__(self, raw: Any, name: str, typed: Any = None) -> None:
        f = conformance_ops.Fields(raw, f"{name}: case.yaml", _FIELDS)
        self.description: str = f.text("description")
        self.operation: str = f.text_or("operation", "validate")
        self.stage: str | None = f.optional_text("stage")
        self.as_of: str = f.text("as_of")
        self.packet: str | None = f.optional_text("packet")
        self.registry: str | None = f.optional_text("registry")
        self.records: str | None = f.optional_text("records")
        # Only `regen` reads these (it writes records.yaml); runners just check their types.
        self.signed_records: bool = f.flag("signed_records")
        self.signed_records_omit: list[str] = (
            f.texts("signed_records_omit") if f.raw.get("signed_records_omit") is not None else []
        )
        self.packets: list[str] = f.texts("packets") if f.raw.get("packets") is not None else []
        self.steps: list[Any] = f.values("steps")
        self.log: str | None = f.optional_text("log")
        self.checkpoint: str | None = f.optional_text("checkpoint")
        self.public_key: str | None = f.optional_text("public_key")
        self.checks: list[Any] = f.values("checks")
        # The checklist operations (conformance/src/checklist_ops.rs).
        typed = typed if isinstance(typed, dict) else {}
        self.template: str | None = f.optional_text("template")
        self.run: str | None = f.optional_text("run")
        self.facts: Any = typed.get("facts")
        self.assertions: list[Any] = typed.get("assertions") or []
        self.response: Any = typed.get("response")
        self.item: str | None = f.optional_text("item")
        self.params: dict[str, str] = _text_map(f, "params")
        self.secrets: dict[str, str] = _text_map(f, "secrets")
        self.responses: str | None = f.optional_text("responses")
        self.rows: str | None = f.optional_text("rows")
        self.thresholds: Any = typed.get("thresholds")
        self.from_: str | None = f.optional_text("from")
        self.to: str | None = f.optional_text("to")
        self.packet_records: list[str | None] = f.values("packet_records")


def run(case: Path) -> str:
    """Runs a case and returns its canonical output (what ``expected.json`` must hold)."""
    name = f"{case.parent.name}/{case.name}"
    text = read(case / "case.yaml")
    spec = CaseSpec(conformance_ops.load_case(text), name, conformance_ops.load_typed(text))
    # As the Rust runner does, refuse a malformed date before anything else.
    if len(spec.as_of) != 10:
        raise ValueError(f"{name}: bad as_of `{spec.as_of}`")
    datetime.date.fromisoformat(spec.as_of)
    operation = _OPERATIONS.get(spec.operation)
    if operation is not None:
        return operation(case, name, spec)
    if spec.stage is not None:
        gangway.stage_number(spec.stage)
    if spec.packet is not None:
        packet_file = spec.packet
    elif (case / "packet.json").is_file():
        packet_file = "packet.json"
    else:
        packet_file = "packet.yaml"
    registry = None
    if spec.registry is not None:
        try:
            registry = gangway.Registry.from_yaml(read(case / spec.registry))
        except gangway.RegistryError as err:
            return err.to_json()
    records = None
    if spec.records is not None:
        try:
            records = gangway.Records.from_yaml(read(case / spec.records))
        except gangway.RecordsError as err:
            error = {
                "code": err.code,
                "message": err.message,
                "line": err.line or 0,
                "column": err.column or 0,
            }
            return conformance_ops.canonical({"error": error})
    try:
        # The core reads the file (size budget, UTF-8) and picks JSON for `.json`.
        packet = gangway.Packet.from_path(case / packet_file)
    except gangway.ParseError as err:
        if spec.operation == "validate":
            return gangway.unreadable_report(err, stage=spec.stage, as_of=spec.as_of).to_json()
        if spec.operation == "progress":
            return gangway.unreadable_progress(err, as_of=spec.as_of).to_json()
        raise ValueError(f"{name}: unknown operation `{spec.operation}`") from err
    if spec.operation == "validate":
        report = gangway.validate_packet(
            packet, registry, records=records, stage=spec.stage, as_of=spec.as_of
        )
        return report.to_json()
    if spec.operation == "progress":
        return gangway.progress(packet, registry, records=records, as_of=spec.as_of).to_json()
    raise ValueError(f"{name}: unknown operation `{spec.operation}`")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "case" in metafunc.fixturenames:
        cases = discover(CASES)
        params = [
            pytest.param(
                c,
                id=f"{c.parent.name}/{c.name}",
                marks=[pytest.mark.xfail(reason=XFAIL[k], strict=True)]
                if (k := f"{c.parent.name}/{c.name}") in XFAIL
                else [],
            )
            for c in cases
        ]
        metafunc.parametrize("case", params)


def test_case(case: Path) -> None:
    actual = run(case).encode("utf-8")
    expected_path = case / "expected.json"
    assert expected_path.is_file(), f"no expected.json in {case}; run `make regen`"
    expected = expected_path.read_bytes()
    if actual != expected:
        pytest.fail(
            "output differs from expected.json\n--- expected\n"
            + expected.decode("utf-8", "replace")
            + "\n+++ actual\n"
            + actual.decode("utf-8")
        )


def test_corpus_is_not_empty() -> None:
    assert len(discover(CASES)) > 0
