"""The corpus operations that drive the store, billing, the guards and the scanner,
and the case readers every operation shares.

Mirrors ``conformance/src/store_ops.rs`` (``store_ops``, ``audit_verify``),
``conformance/src/billing_ops.rs`` (``billing_ops``) and ``conformance/src/guard.rs``
(``guard``, ``scan``) line by line: the same calls in the
same order, the same output objects with their keys in the same order, the same
fields left out or set to ``null``. Every value in the output comes from the binding;
this module only arranges it.

A malformed case (an unknown field, a missing one, a bad kind, state, version or
date, an input file that does not load during setup) raises an exception, as the
Rust runner returns ``Err``; a refusal by the store (``StoreError``, ``BillingError``)
is part of the output.
"""

from __future__ import annotations

import contextlib
import json
import re
from pathlib import Path
from typing import Any, ClassVar, Literal, Protocol

import gangway
import yaml

# The fixed origin of every write, so the audit log's hashes (and the output) are
# the same on every run.
AT = "2026-11-22T00:00:00Z"
ACTOR = "conformance"

_U64_MAX = 2**64 - 1


class CaseLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML for ``case.yaml``, read the way the Rust runner's typed fields read it:
    every plain scalar is text (``2026-11-22`` and ``1.0`` stay as written) except
    ``null``; a field that wants a number or a boolean parses it itself."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


CaseLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def load_case(text: str) -> Any:
    return yaml.load(text, Loader=CaseLoader)


class TypedLoader(yaml.SafeLoader):  # type: ignore[misc]
    """YAML for the values the Rust runner reads as JSON values or into the core's
    types (``facts``, ``thresholds``, ``assertions``, ``response``, data files that
    are not JSON), typed the way serde-saphyr infers a plain scalar: null (``~``,
    ``null``, empty), a boolean (``true``/``false``/``yes``/``no``/``on``/``off``/``y``/
    ``n``, any case), an integer (decimal without leading zeros, ``0x``, ``0o``; beyond
    64 bits a float), a float (``1.5``, ``1e3``, ``.inf``, ``.nan``), else text. Quoted
    scalars are text; dates stay text."""

    yaml_implicit_resolvers: ClassVar[dict[Any, Any]] = {}


_U64 = 2**64
_I64_MIN = -(2**63)
_DIGITS = list("0123456789")
TypedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)
TypedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?i:y|yes|n|no|true|false|on|off)$"),
    list("yYnNtTfFoO"),
)
TypedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^[-+]?(?:0|[1-9][0-9]*|0x[0-9a-fA-F]+|0o[0-7]+)$"),
    [*_DIGITS, "-", "+"],
)
TypedLoader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    [*_DIGITS, "-", "+", "."],
)


def _typed_bool(loader: TypedLoader, node: yaml.ScalarNode) -> bool:
    return str(loader.construct_scalar(node)).lower() in ("y", "yes", "true", "on")


def _typed_int(loader: TypedLoader, node: yaml.ScalarNode) -> int | float:
    text = str(loader.construct_scalar(node))
    sign, digits = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    base = 16 if digits.startswith("0x") else 8 if digits.startswith("0o") else 10
    value = sign * int(digits[2:] if base != 10 else digits, base)
    return value if _I64_MIN <= value < _U64 else float(value)


def _typed_float(loader: TypedLoader, node: yaml.ScalarNode) -> float:
    text = str(loader.construct_scalar(node)).lower()
    return float(text.replace(".inf", "inf").replace(".nan", "nan"))


TypedLoader.add_constructor("tag:yaml.org,2002:bool", _typed_bool)
TypedLoader.add_constructor("tag:yaml.org,2002:int", _typed_int)
TypedLoader.add_constructor("tag:yaml.org,2002:float", _typed_float)


def load_typed(text: str) -> Any:
    return yaml.load(text, Loader=TypedLoader)


def read(path: Path) -> str:
    # Strict UTF-8 and no newline translation, like Rust's `read_to_string`.
    return path.read_bytes().decode("utf-8")


def canonical(value: Any) -> str:
    """The canonical JSON text (``serde_json::to_string_pretty`` plus a newline)."""
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


class Spec(Protocol):
    """The fields of ``case.yaml`` these operations read."""

    operation: str
    as_of: str
    registry: str | None
    packets: list[str]
    steps: list[Any]
    log: str | None
    checkpoint: str | None
    public_key: str | None
    checks: list[Any]


class Fields:
    """One mapping of ``case.yaml`` read like a serde struct with
    ``deny_unknown_fields``: unknown keys are refused and each value must have the
    field's type."""

    def __init__(self, raw: Any, where: str, known: set[str]) -> None:
        if not isinstance(raw, dict):
            raise ValueError(f"{where}: expected a mapping")
        unknown = set(raw) - known
        if unknown:
            raise ValueError(f"{where}: unknown field(s) {sorted(unknown)}")
        self.raw: dict[str, Any] = raw
        self.where = where

    def value(self, key: str) -> Any:
        """A required field, of any type."""
        if key not in self.raw:
            raise ValueError(f"{self.where}: missing field `{key}`")
        return self.raw[key]

    def text(self, key: str) -> str:
        value = self.value(key)
        if not isinstance(value, str):
            raise ValueError(f"{self.where}: `{key}` must be a string")
        return value

    def optional_text(self, key: str) -> str | None:
        return None if self.raw.get(key) is None else self.text(key)

    def text_or(self, key: str, default: str) -> str:
        """A string field with a default (``#[serde(default = …)]``)."""
        return default if self.raw.get(key) is None else self.text(key)

    def texts(self, key: str) -> list[str]:
        value = self.value(key)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{self.where}: `{key}` must be a list of strings")
        return value

    def values(self, key: str) -> list[Any]:
        """A list field that defaults to empty (``#[serde(default)] Vec<…>``)."""
        value = self.raw.get(key)
        if value is None:
            return []
        if not isinstance(value, list):
            raise ValueError(f"{self.where}: `{key}` must be a list")
        return value

    def flag(self, key: str) -> bool:
        value = self.raw.get(key)
        if value is None:
            return False
        if value in ("true", "True", "TRUE"):
            return True
        if value in ("false", "False", "FALSE"):
            return False
        raise ValueError(f"{self.where}: `{key}` must be true or false")

    def count(self, key: str) -> int:
        value = self.text(key)
        if not value.isascii() or not value.isdigit() or int(value) > _U64_MAX:
            raise ValueError(f"{self.where}: `{key}` must be a whole number (u64)")
        return int(value)


def _tagged(raw: Any, where: str, tag: str, variants: dict[str, set[str]]) -> tuple[str, Fields]:
    """A serde internally tagged enum: the `tag` field picks the variant."""
    if not isinstance(raw, dict) or not isinstance(raw.get(tag), str):
        raise ValueError(f"{where}: expected a mapping with `{tag}`")
    name: str = raw[tag]
    if name not in variants:
        raise ValueError(f"{where}: unknown {tag} `{name}`")
    return name, Fields(raw, f"{where} ({name})", variants[name] | {tag})


# ---- guard and scan (conformance/src/guard.rs) ----

_CHECKS = {
    "is_visible": {"product", "onboarding"},
    "check_scopes": {"scopes"},
    "accept_usage": {
        "product",
        "unit",
        "version",
        "quantity",
        "resource_type",
        "tenant",
        "idempotency_key",
        "at",
    },
    "check_quota_write": {"product", "snapshot_kind", "dimension", "parent_scope", "override_scope"},
}


def _snapshot(case: Path, name: str, spec: Spec) -> gangway.Snapshot | str:
    """The case's snapshot, or the registry's load error as the case output."""
    if spec.registry is None:
        raise ValueError(f"{name}: a {spec.operation} case needs `registry`")
    try:
        registry = gangway.Registry.from_yaml(read(case / spec.registry))
    except gangway.RegistryError as err:
        return err.to_json()
    # The core picks JSON for `.json`; a packet that does not parse fails the case.
    packets = [gangway.Packet.from_path(case / file) for file in spec.packets]
    return gangway.Snapshot(registry, packets)


def _verdict(check: str, rejection: gangway.Rejection | None) -> dict[str, Any]:
    out: dict[str, Any] = {"check": check, "accepted": rejection is None}
    if rejection is not None:
        out["code"] = rejection.code
        out["field"] = rejection.field
        out["reason"] = rejection.reason
        if rejection.state is not None:
            out["state"] = rejection.state
    return out


def _scope_issue(issue: dict[str, Any]) -> dict[str, Any]:
    out = {"scope": issue["scope"], "code": issue["code"], "severity": issue["severity"]}
    if issue["state"] is not None:
        out["state"] = issue["state"]
    if issue["sunset"] is not None:
        out["sunset"] = issue["sunset"].isoformat()
    return out


def run_guard(case: Path, name: str, spec: Spec) -> str:
    snap = _snapshot(case, name, spec)
    if isinstance(snap, str):
        return snap
    if not spec.checks:
        raise ValueError(f"{name}: a guard case needs `checks`")
    midnight = f"{spec.as_of}T00:00:00Z"
    results: list[dict[str, Any]] = []
    for i, raw in enumerate(spec.checks):
        check, f = _tagged(raw, f"{name}: checks[{i}]", "check", _CHECKS)
        if check == "is_visible":
            product, onboarding = f.text("product"), f.flag("onboarding")
            results.append(
                {
                    "check": "is_visible",
                    "product": product,
                    "onboarding": onboarding,
                    "visible": snap.is_visible(product, onboarding_mode=onboarding),
                }
            )
        elif check == "check_scopes":
            issues = [_scope_issue(issue) for issue in snap.check_scopes(f.texts("scopes"))]
            results.append({"check": "check_scopes", "issues": issues})
        elif check == "accept_usage":
            rejection = snap.accept_usage(
                product=f.text("product"),
                unit=f.text("unit"),
                version=f.text("version"),
                quantity=f.count("quantity"),
                resource_type=f.text("resource_type"),
                tenant=f.text("tenant"),
                idempotency_key=f.text("idempotency_key"),
                at=f.text_or("at", midnight),
            )
            results.append(_verdict("accept_usage", rejection))
        else:
            rejection = snap.check_quota_write(
                product=f.text("product"),
                snapshot_kind=f.optional_text("snapshot_kind"),
                dimension=f.optional_text("dimension"),
                parent_scope=f.optional_text("parent_scope"),
                override_scope=f.optional_text("override_scope"),
            )
            results.append(_verdict("check_quota_write", rejection))
    return canonical(results)


def run_scan(case: Path, name: str, spec: Spec) -> str:
    """Scans the case's ``files/`` and lists the findings, with file paths relative to
    the case folder."""
    snap = _snapshot(case, name, spec)
    if isinstance(snap, str):
        return snap
    findings = gangway.scan([case / "files"], snap)
    for finding in findings:
        # A file outside the case folder keeps its path, as with `strip_prefix`.
        with contextlib.suppress(ValueError):
            finding["file"] = Path(finding["file"]).relative_to(case).as_posix()
    return canonical(findings)


# ---- store_ops and audit_verify (conformance/src/store_ops.rs) ----

_ENTRY = {"kind", "key", "version", "state", "owner", "product", "description", "sunset"}
_REF = {"kind", "key", "version"}
_CHANGES = {"set_state": _REF | {"to"}, "add": {"entry"}, "remove": _REF}
_STEPS = {
    "add": {"entry"},
    "update": {"entry"},
    "set_state": _REF | {"to", "sunset"},
    "entry": _REF,
    "impact": _REF,
    "dry_run": {"change", "as_of"},
    "import": {"file"},
    "export": set(),
    "round_trip": set(),
    "put": {"packet"},
}

# What a step returns on success: its fields, in order.
_Outcome = list[tuple[str, Any]]


def _entry(raw: Any, where: str) -> gangway.Entry:
    f = Fields(raw, f"{where}: entry", _ENTRY)
    return gangway.Entry(
        f.text("kind"),
        f.text("key"),
        version=f.optional_text("version"),
        state=f.text_or("state", "draft"),
        owner=f.text("owner"),
        product=f.optional_text("product"),
        description=f.optional_text("description"),
        sunset=f.optional_text("sunset"),
    )


def _entry_json(e: gangway.Entry) -> dict[str, Any]:
    """An entry as JSON (the shape the audit log records)."""
    return {
        "kind": e.kind,
        "key": e.key,
        "version": e.version,
        "state": e.state,
        "owner": e.owner,
        "product": e.product,
        "description": e.description,
        "sunset": None if e.sunset is None else e.sunset.isoformat(),
    }


def _format(path: Path) -> Literal["yaml", "json"]:
    # `Format::from_path`: JSON for a `.json` extension (any case), else YAML.
    return "json" if path.suffix.lower() == ".json" else "yaml"


def _result(op: str, outcome: _Outcome | gangway.StoreError) -> dict[str, Any]:
    """``{"op", "ok": true, …fields}`` or ``{"op", "ok": false, "code", "message"}``."""
    out: dict[str, Any] = {"op": op}
    if isinstance(outcome, gangway.StoreError):
        out["ok"] = False
        out["code"] = outcome.code
        out["message"] = outcome.message
    else:
        out["ok"] = True
        out.update(outcome)
    return out


def _round_trip(store: gangway.Store) -> _Outcome:
    first = store.export_registry()
    fresh = gangway.Store.in_memory()
    fresh.import_registry(first, actor=ACTOR, at=AT)
    second = fresh.export_registry()
    return [("entries", len(store.entries())), ("identical", first == second)]


def _dry_run(store: gangway.Store, raw: Any, where: str, when: str) -> list[dict[str, Any]]:
    change, f = _tagged(raw, f"{where}: change", "op", _CHANGES)
    if change == "set_state":
        return store.dry_run_set_state(
            f.text("kind"), f.text("key"), f.text("to"), version=f.optional_text("version"), as_of=when
        )
    if change == "add":
        return store.dry_run_add(_entry(f.value("entry"), where), as_of=when)
    return store.dry_run_remove(f.text("kind"), f.text("key"), version=f.optional_text("version"), as_of=when)


def _step(store: gangway.Store, case: Path, where: str, op: str, f: Fields, as_of: str) -> _Outcome:
    """Runs one step; a ``StoreError`` is the step's refusal."""
    if op == "add":
        e = _entry(f.value("entry"), where)
        store.add_entry(e, actor=ACTOR, at=AT)
        return [("entry", _entry_json(e))]
    if op == "update":
        e = _entry(f.value("entry"), where)
        return [("entry", _entry_json(store.update_entry(e, actor=ACTOR, at=AT)))]
    if op == "set_state":
        moved = store.set_state(
            f.text("kind"),
            f.text("key"),
            f.text("to"),
            version=f.optional_text("version"),
            sunset=f.optional_text("sunset"),
            actor=ACTOR,
            at=AT,
        )
        return [("entry", _entry_json(moved))]
    if op == "entry":
        found = store.require_entry(f.text("kind"), f.text("key"), f.optional_text("version"))
        return [("entry", _entry_json(found))]
    if op == "impact":
        return [("packets", store.impact(f.text("kind"), f.text("key"), f.optional_text("version")))]
    if op == "dry_run":
        when = f.text_or("as_of", as_of)
        flips = _dry_run(store, f.value("change"), where, when)
        return [
            ("as_of", when),
            ("verdicts_hold", all(flip["ok_after"] for flip in flips)),
            ("flips", flips),
        ]
    if op == "import":
        text = read(case / f.text("file"))
        return [("summary", store.import_registry(text, actor=ACTOR, at=AT))]
    if op == "export":
        return [("yaml", store.export_registry())]
    if op == "round_trip":
        return _round_trip(store)
    path = case / f.text("packet")
    out = store.put_packet(read(path), format=_format(path), actor=ACTOR, at=AT)
    info = out["info"]
    return [
        ("packet_id", info["packet_id"]),
        ("version", info["version"]),
        ("digest", info["digest"]),
        ("created", out["created"]),
    ]


def _setup(case: Path, name: str, spec: Spec) -> tuple[gangway.Store, dict[str, Any]]:
    """A fresh in-memory store with the case's registry imported and packets stored
    (``Setup::load``); returns it with ``{registry, packets, audit_records}``."""
    try:
        store = gangway.Store.in_memory()
        imported = None
        if spec.registry is not None:
            imported = store.import_registry(read(case / spec.registry), actor=ACTOR, at=AT)
        packets = []
        for file in spec.packets:
            path = case / file
            out = store.put_packet(read(path), format=_format(path), actor=ACTOR, at=AT)
            info = out["info"]
            packets.append(
                {"packet_id": info["packet_id"], "version": info["version"], "digest": info["digest"]}
            )
        setup_records = len(store.audit_records())
    except gangway.StoreError as err:
        raise ValueError(f"{name}: setup: {err.code}: {err.message}") from err
    return store, {"registry": imported, "packets": packets, "audit_records": setup_records}


def _finish(store: gangway.Store, name: str, setup: dict[str, Any], results: list[dict[str, Any]]) -> str:
    """``{setup, steps, audit: {written, verification}}``, canonical."""
    try:
        log = store.audit_records()
        verification = store.audit_verify()
    except gangway.StoreError as err:
        raise ValueError(f"{name}: {err.code}: {err.message}") from err
    written = [
        {"seq": r["seq"], "action": r["action"], "target": r["target"]} for r in log[setup["audit_records"] :]
    ]
    return canonical(
        {
            "setup": setup,
            "steps": results,
            "audit": {
                "written": written,
                "verification": verification,
            },
        }
    )


def run_store_ops(case: Path, name: str, spec: Spec) -> str:
    """A registry and packets loaded into a fresh in-memory store, then the steps."""
    store, setup = _setup(case, name, spec)
    results = []
    for i, raw in enumerate(spec.steps):
        where = f"{name}: steps[{i}]"
        op, f = _tagged(raw, where, "op", _STEPS)
        outcome: _Outcome | gangway.StoreError
        try:
            outcome = _step(store, case, where, op, f, spec.as_of)
        except gangway.StoreError as err:
            outcome = err
        results.append(_result(op, outcome))
    return _finish(store, name, setup, results)


# ---- billing_ops (conformance/src/billing_ops.rs) ----

_BILLING_STEPS = {
    "set_rate_card": {"file"},
    "rate_card": {"currency"},
    "ingest": {"file", "batch_size"},
    "ledger": {"tenant", "start", "end"},
    "generate": {"key", "tenant", "company", "start", "end"},
    "issue": {"key", "invoice"},
    "pay": {"key", "invoice", "reference"},
    "cancel": {"key", "invoice", "reason"},
    "invoice": {"invoice"},
    "actions": {"invoice"},
    "invoices": {"tenant"},
    "submit_po": {"id", "tenant", "reference", "amount", "currency"},
    "approve_po": {"id", "by"},
    "reject_po": {"id", "reason"},
    "purchase_orders": {"tenant"},
    "gate": {"tenant", "standard"},
    "money": {"do", "a", "b", "quantity"},
    "price": {"price", "currency", "quantity"},
}


def _refusal(op: str, err: gangway.StoreError | gangway.BillingError) -> dict[str, Any]:
    """``{"op", "ok": false, "code", "message"}``, plus ``blockers`` for a refused
    invoice or purchase-order transition."""
    out: dict[str, Any] = {"op": op, "ok": False, "code": err.code, "message": err.message}
    if isinstance(err, gangway.BillingError) and err.operation is not None:
        out["blockers"] = err.blockers
    return out


def _money(text: str, where: str) -> gangway.Money:
    """``"12.34 USD"``; an operand without a currency is a case error."""
    amount, sep, code = text.rpartition(" ")
    if not sep:
        raise ValueError(f"{where}: money `{text}` must be `<decimal> <CUR>`")
    return gangway.Money.parse(amount, code)


def _money_step(f: Fields, where: str) -> _Outcome:
    operation = f.text("do")
    a = _money(f.text("a"), where)
    b_text = f.optional_text("b")
    quantity = None if f.raw.get("quantity") is None else f.count("quantity")
    # A bad `b` is the outcome of add and sub (it is read before the operation).
    b: gangway.Money | gangway.BillingError | None = None
    if b_text is not None:
        try:
            b = _money(b_text, where)
        except gangway.BillingError as err:
            b = err
    if operation == "parse" and b is None and quantity is None:
        result = a
    elif operation in ("add", "sub") and b is not None and quantity is None:
        if isinstance(b, gangway.BillingError):
            raise b
        result = a + b if operation == "add" else a - b
    elif operation == "mul" and b is None and quantity is not None:
        result = a * quantity
    else:
        raise ValueError(
            f"{where}: money: `do: {operation}` needs a and b (add, sub), a and quantity (mul)"
            " or a alone (parse)"
        )
    return [("result", result.to_dict()), ("text", str(result))]


def _billing_step(billing: gangway.Billing, case: Path, where: str, op: str, f: Fields) -> _Outcome:
    """Runs one billing step; a ``StoreError`` or ``BillingError`` is its refusal."""
    w: dict[str, Any] = {"actor": ACTOR, "at": AT}
    if op == "set_rate_card":
        card = gangway.RateCard.from_yaml(read(case / f.text("file")))
        return [("version", billing.set_rate_card(card, **w))]
    if op == "rate_card":
        found = billing.rate_card(f.optional_text("currency"))
        return [("card", None if found is None else found.to_dict())]
    if op == "ingest":
        # The core reads the file's bytes (a line that is not UTF-8 is a rejection).
        batch_size = 1000 if f.raw.get("batch_size") is None else f.count("batch_size")
        batches: list[int] = []
        summary = billing.ingest_jsonl(
            case / f.text("file"),
            batch_size=batch_size,
            progress=lambda _b, events: batches.append(events),
            **w,
        )
        return [("summary", summary.to_dict()), ("batches", len(batches))]
    if op == "ledger":
        events = billing.ledger(f.text("tenant"), f.text("start"), f.text("end"))
        return [("events", [e.to_dict() for e in events])]
    if op == "generate":
        invoice = billing.generate_invoice(
            f.text("tenant"),
            f.text("start"),
            f.text("end"),
            key=f.text("key"),
            company=f.optional_text("company"),
            **w,
        )
        return [("invoice", invoice.to_dict())]
    if op == "issue":
        return [("invoice", billing.issue_invoice(f.text("invoice"), key=f.text("key"), **w).to_dict())]
    if op == "pay":
        paid = billing.mark_paid(f.text("invoice"), f.text_or("reference", ""), key=f.text("key"), **w)
        return [("invoice", paid.to_dict())]
    if op == "cancel":
        cancelled = billing.cancel_invoice(f.text("invoice"), f.text_or("reason", ""), key=f.text("key"), **w)
        return [("invoice", cancelled.to_dict())]
    if op == "invoice":
        return [("invoice", billing.invoice(f.text("invoice")).to_dict())]
    if op == "actions":
        invoice = billing.invoice(f.text("invoice"))
        actions = [{"operation": o, "to": to} for o, to in invoice.available_actions()]
        return [("state", invoice.state), ("actions", actions)]
    if op == "invoices":
        return [("invoices", [i.to_dict() for i in billing.invoices(f.optional_text("tenant"))])]
    if op == "submit_po":
        amount = gangway.Money.parse(f.text("amount"), f.text("currency"))
        po = billing.submit_po(f.text("id"), f.text("tenant"), f.text("reference"), amount, **w)
        return [("po", po.to_dict())]
    if op == "approve_po":
        return [("po", billing.approve_po(f.text("id"), f.text_or("by", ""), **w).to_dict())]
    if op == "reject_po":
        return [("po", billing.reject_po(f.text("id"), f.text_or("reason", ""), **w).to_dict())]
    if op == "purchase_orders":
        pos = billing.purchase_orders(f.optional_text("tenant"))
        return [("purchase_orders", [p.to_dict() for p in pos])]
    if op == "gate":
        standard = f.text("standard")
        if standard not in gangway.GATE_STANDARDS:
            raise ValueError(f"{where}: gate: unknown standard `{standard}`")
        decision = billing.gate(f.text("tenant"), standard)  # type: ignore[arg-type]
        return [("decision", decision.to_dict())]
    if op == "money":
        return _money_step(f, where)
    price = gangway.Price.parse(f.text("price"), f.text("currency"))
    amount = price.amount_for(f.count("quantity"))
    return [("price", price.to_dict()), ("amount", amount.to_dict())]


def run_billing_ops(case: Path, name: str, spec: Spec) -> str:
    """A registry and packets loaded into a fresh in-memory store, then billing steps."""
    store, setup = _setup(case, name, spec)
    billing = store.billing()
    results = []
    for i, raw in enumerate(spec.steps):
        where = f"{name}: steps[{i}]"
        op, f = _tagged(raw, where, "op", _BILLING_STEPS)
        try:
            fields = _billing_step(billing, case, where, op, f)
        except (gangway.StoreError, gangway.BillingError) as err:
            results.append(_refusal(op, err))
            continue
        results.append({"op": op, "ok": True, **dict(fields)})
    return _finish(store, name, setup, results)


def run_audit_verify(case: Path, name: str, spec: Spec) -> str:
    """An exported log (JSON Lines), checked offline, optionally against a checkpoint
    (JSON) whose signer ``public_key`` (hex) pins."""
    if spec.log is None:
        raise ValueError(f"{name}: audit_verify needs `log`")
    log = read(case / spec.log)
    checkpoint = None if spec.checkpoint is None else read(case / spec.checkpoint)
    return canonical(gangway.verify_audit_export(log, checkpoint, public_key=spec.public_key))
