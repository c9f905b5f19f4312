"""The corpus's checklist operations, run through Python.

Mirrors ``conformance/src/checklist_ops.rs`` line by line: ``checklist_template``,
``checklist_eval``, ``probe_eval``, ``flow_replay``, ``adoption`` and ``forecast``,
each printing the canonical JSON of the core's own forms as the binding gives them
(``to_json()`` where the output is one core value, the same keys in the same order
otherwise). See ``conformance/README.md``, "Checklist operations".

A malformed case (a missing field, a template that must read and does not, a data
file with an unknown key) raises, as the Rust runner returns ``Err``; a refusal that
is the case's subject (a template's problems, a flow that cannot start, adoption rows
the core refuses) is the output.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path
from typing import Any, Literal, Protocol

import gangway
from conformance_ops import canonical, load_typed, read


class Spec(Protocol):
    """The fields of ``case.yaml`` these operations read."""

    operation: str
    as_of: str
    registry: str | None
    records: str | None
    packets: list[str]
    template: str | None
    run: str | None
    facts: Any
    assertions: list[Any]
    response: Any
    item: str | None
    params: dict[str, str]
    secrets: dict[str, str]
    responses: str | None
    rows: str | None
    thresholds: Any
    from_: str | None
    to: str | None
    packet_records: list[str | None]


def _read_data(case: Path, name: str, file: str) -> Any:
    """A data file as Python values: JSON when its name ends in `.json`, else YAML
    (typed as the Rust runner's YAML reader types it). The binding's types refuse
    unknown keys."""
    text = read(case / file)
    try:
        return json.loads(text) if file.endswith(".json") else load_typed(text)
    except ValueError as err:
        raise ValueError(f"{name}: {file}: {err}") from err


def _run(case: Path, name: str, file: str) -> gangway.ChecklistRun:
    if file.endswith(".json"):
        # The same reader as Rust's (serde_json), byte for byte.
        return gangway.ChecklistRun.from_json(read(case / file))
    return gangway.ChecklistRun.from_dict(_read_data(case, name, file))


def _need(value: str | None, name: str, spec: Spec, field: str) -> str:
    if value is None:
        raise ValueError(f"{name}: a {spec.operation} case needs `{field}`")
    return value


def _date(name: str, text: str) -> datetime.date:
    if len(text) != 10:
        raise ValueError(f"{name}: bad date `{text}`")
    try:
        return datetime.date.fromisoformat(text)
    except ValueError as err:
        raise ValueError(f"{name}: bad date `{text}`") from err


def _template(case: Path, name: str, spec: Spec) -> gangway.ChecklistTemplate | str:
    """The case's template, or its problems (the canonical error JSON) as the output."""
    file = _need(spec.template, name, spec, "template")
    try:
        return gangway.ChecklistTemplate.from_yaml(read(case / file))
    except gangway.ChecklistError as err:
        return err.to_json() or ""


def _valid_template(case: Path, name: str, spec: Spec) -> gangway.ChecklistTemplate:
    """The case's template, which must read (its problems are checklist_template's)."""
    template = _template(case, name, spec)
    if isinstance(template, str):
        raise ValueError(f"{name}: the template does not read: {template}")
    return template


def run_template(case: Path, name: str, spec: Spec) -> str:
    template = _template(case, name, spec)
    return template if isinstance(template, str) else template.to_json()


def run_eval(case: Path, name: str, spec: Spec) -> str:
    template = _valid_template(case, name, spec)
    run = _run(case, name, _need(spec.run, name, spec, "run"))
    return gangway.evaluate_checklist(template, run, spec.facts, as_of=spec.as_of).to_json()


def run_probe(case: Path, name: str, spec: Spec) -> str:
    """The assertions are read as the ``expect`` list of a probe item of a one-item
    template (``check_response`` does that, by the core's template reader)."""
    if spec.response is None:
        raise ValueError(f"{name}: a probe_eval case needs `response`")
    if not spec.assertions:
        raise ValueError(f"{name}: a probe_eval case needs `assertions`")
    results = gangway.check_response(spec.assertions, spec.response)
    return canonical({"pass": all(r["pass"] for r in results), "results": results})


def _pointer(value: Any, pointer: str) -> tuple[bool, Any]:
    """RFC 6901: ``(True, value)`` at ``pointer``, or ``(False, None)``."""
    if pointer == "":
        return True, value
    if not pointer.startswith("/"):
        return False, None
    for token in pointer[1:].split("/"):
        token = token.replace("~1", "/").replace("~0", "~")
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif (
            isinstance(value, list)
            and token.isascii()
            and token.isdigit()
            and (token == "0" or not token.startswith("0"))
            and int(token) < len(value)
        ):
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _secret_pointers(item: gangway.ChecklistItem) -> dict[str, list[str]]:
    """Each flow step's pointers captured ``as: secret``."""
    if item.kind != "flow":
        return {}
    return {
        step["id"]: [c["pointer"] for c in step["capture"] if c["as"] == "secret"]
        for step in item.to_dict()["steps"]
    }


def run_flow(case: Path, name: str, spec: Spec) -> str:
    """Drives the flow over the recorded replies (ask for the next request, hand back
    its reply) and replays them with ``replay_flow``; both must give the same
    artifact. No secret — handed in, or captured ``as: secret`` — may appear in the
    output."""
    template = _valid_template(case, name, spec)
    key = _need(spec.item, name, spec, "item")
    item = template.item(key)
    if item is None:
        raise ValueError(f"{name}: the template has no item `{key}`")
    replies = _read_data(case, name, _need(spec.responses, name, spec, "responses"))
    try:
        flow = gangway.FlowRun(template, key, params=spec.params, secrets=spec.secrets)
    except gangway.ChecklistError as err:
        if err.code not in ("checklist.input_missing", "checklist.not_automatic"):
            raise
        return canonical({"error": {"code": err.code, "message": err.message}})
    # Replayed first: it reads every reply strictly, as the Rust runner does.
    artifact = gangway.replay_flow(template, key, replies, params=spec.params, secrets=spec.secrets)

    forbidden = [v for v in spec.secrets.values() if v]
    secret_pointers = _secret_pointers(item)
    requests: list[dict[str, Any]] = []
    pending = iter(replies)
    while (request := flow.next()) is not None:
        requests.append(request.to_dict())
        reply = next(pending, None)
        if reply is None:
            break
        response = reply.get("response")
        if response is not None:
            body = response.get("body")
            for pointer in secret_pointers.get(request.step, []) if body is not None else []:
                found, value = _pointer(body, pointer)
                # Captured secrets of six characters or more must appear nowhere;
                # shorter or non-text ones are redacted only as whole values (the
                # core's rule), so they are not searched for.
                if found and isinstance(value, str) and len(value) >= 6:
                    forbidden.append(value)
            flow.respond(
                response["status"],
                response.get("headers"),
                response.get("body"),
                elapsed_ms=response.get("elapsed_ms", 0),
                at=reply["at"],
            )
        else:
            error = reply.get("error")
            flow.transport_error("no response" if error is None else error, at=reply["at"])
    if artifact != flow.artifact():
        raise ValueError(f"{name}: the replayed artifact differs from the driven flow's")
    out = canonical({"requests": requests, "artifact": artifact.to_dict()})
    leak = next((s for s in forbidden if s in out), None)
    if leak is not None:
        raise ValueError(f"{name}: the output shows the secret value `{leak}`")
    return out


def run_adoption(case: Path, name: str, spec: Spec) -> str:
    rows = _read_data(case, name, _need(spec.rows, name, spec, "rows"))
    try:
        verdict = gangway.evaluate_adoption(rows, spec.thresholds)
    except gangway.ChecklistError as err:
        return canonical({"error": {"code": err.code, "message": err.message}})
    return verdict.to_json()


def _records(case: Path, file: str) -> gangway.Records:
    return gangway.Records.from_yaml(read(case / file))


def run_forecast(case: Path, name: str, spec: Spec) -> str:
    """The packet forecasts between ``from`` and ``to`` (only the packets whose errors
    change), and, with a ``template`` and a ``run``, the run's upcoming changes after
    ``from`` up to ``to`` and whether it is complete on each date."""
    start = _date(name, _need(spec.from_, name, spec, "from"))
    end = _date(name, _need(spec.to, name, spec, "to"))
    if end < start:
        raise ValueError(f"{name}: `to` is before `from`")
    registry = None
    if spec.registry is not None:
        try:
            registry = gangway.Registry.from_yaml(read(case / spec.registry))
        except gangway.RegistryError as err:
            return err.to_json()
    shared = None if spec.records is None else _records(case, spec.records)
    packets = []
    for i, file in enumerate(spec.packets):
        path = case / file
        # `Format::from_path`: JSON for a `.json` extension (any case), else YAML.
        fmt: Literal["yaml", "json"] = "json" if path.suffix.lower() == ".json" else "yaml"
        packet = gangway.Packet.parse_text(read(path), fmt)
        own_file = spec.packet_records[i] if i < len(spec.packet_records) else None
        own = None if own_file is None else _records(case, own_file)
        found = gangway.forecast_packet(
            packet, registry, records=own if own is not None else shared, from_date=start, to_date=end
        )
        if found is not None:
            packets.append(found)
    run: dict[str, Any] | None = None
    if spec.template is not None and spec.run is not None:
        template = _valid_template(case, name, spec)
        checklist_run = _run(case, name, spec.run)
        on_start = gangway.evaluate_checklist(template, checklist_run, spec.facts, as_of=start)
        on_end = gangway.evaluate_checklist(template, checklist_run, spec.facts, as_of=end)
        changes = [c for c in on_start.upcoming_changes() if _date(name, c["date"]) <= end]
        run = {"complete_on_from": on_start.complete, "complete_on_to": on_end.complete, "changes": changes}
    elif spec.template is not None or spec.run is not None:
        raise ValueError(f"{name}: `template` and `run` go together")
    if not spec.packets and run is None:
        raise ValueError(f"{name}: a forecast case needs `packets` or a `template` and `run`")
    return canonical({"packets": packets, "run": run})
