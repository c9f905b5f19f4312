#!/usr/bin/env python3
"""Benchmark of the Python binding: per-call overhead against Rust, and peers.

Run it with `make bench-python` (builds the extension in release mode into .venv/
first), or `.venv/bin/python scripts/bench_python.py [--quick] [--json FILE]` after a
release build.

It measures, in one process and one run:

1. Per-call cost of parsing (`Packet.from_yaml`) and of `validate_packet` from
   Python, against the same work done in a Rust loop inside the same extension
   (`gangway._gangway._time_in_rust`: the same compiled core, the same inputs, no
   Python in between). The difference is the binding's per-call overhead.
2. Side by side, JSON Schema validation of the same packet document with the Python
   `jsonschema` and `fastjsonschema` packages against the schema `gangway schema`
   prints. JSON Schema checks structure only (types, enums, unknown keys); Gangway
   checks structure and every stage rule against the registry, so the peers do less
   work for the same document.

The inputs follow `core/benches/validate.rs`: the two Token Factory examples, each
against its example registry filled up to 10,000 entries spread over all fourteen
kinds, on 2026-11-22.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import platform
import sys
import timeit
from functools import partial
from pathlib import Path
from typing import Any, Callable, Literal

import gangway
from gangway import _gangway

ROOT = Path(__file__).resolve().parents[1]
AS_OF = datetime.date(2026, 11, 22)
REGISTRY_SIZE = 10_000


def big_registry(example: Path) -> gangway.Registry:
    """The example registry's entries plus filler entries, round-robin over the kinds,
    up to REGISTRY_SIZE entries (as core/benches/validate.rs builds it)."""
    entries = gangway.Registry.from_path(example).entries()
    states = itertools.cycle(["active", "active", "draft", "deprecated", "retired"])
    kinds = itertools.cycle(gangway.KINDS)
    n = 0
    while len(entries) < REGISTRY_SIZE:
        kind, state = next(kinds), next(states)
        if kind == "product":
            key = f"filler-product-{n}"
        elif kind == "scope":
            key = f"filler_{n % 97}:resource_{n}:read"
        elif kind == "role":
            key = f"filler_role_{n}"
        else:
            key = f"filler.{kind}.{n}"
        entries.append(
            gangway.Entry(
                kind,
                key,
                state=state,
                owner=f"platform-team-{n % 23}",
                version=f"v{n % 3 + 1}" if kind == "usage_unit" else None,
                product=f"filler-product-{n % 50}" if n % 2 == 0 else None,
                description=f"filler {kind} number {n}",
                sunset="2027-06-30" if state == "deprecated" else None,
            )
        )
        n += 1
    return gangway.Registry.from_entries(entries)


# A timed loop: given a number of calls, runs them and returns the seconds taken.
Loop = Callable[[int], float]


def python_loop(fn: Callable[[], object]) -> Loop:
    return timeit.Timer(fn).timeit


def rust_loop(
    operation: Literal["validate", "parse"],
    packet: gangway.Packet,
    registry: gangway.Registry | None,
    stage: str | None,
) -> Loop:
    """The same work as the Python call, in a Rust loop inside the extension."""
    return partial(_gangway._time_in_rust, operation, packet, registry, stage, AS_OF)


def calibrate(loop: Loop, budget: float) -> int:
    """A number of calls that takes about `budget` seconds."""
    number = 1
    while True:
        elapsed = loop(number)
        if elapsed >= budget / 10 or number >= 1 << 24:
            return max(1, int(number * budget / max(elapsed, 1e-9)))
        number *= 4


def interleaved(loops: dict[str, Loop], repeat: int, budget: float) -> dict[str, float]:
    """Best per-call seconds of each loop over `repeat` rounds. The loops take turns
    within each round, so a machine whose speed drifts (other load, frequency
    changes) affects the compared measurements alike."""
    numbers = {name: calibrate(loop, budget) for name, loop in loops.items()}
    best = dict.fromkeys(loops, float("inf"))
    for _ in range(repeat):
        for name, loop in loops.items():
            best[name] = min(best[name], loop(numbers[name]) / numbers[name])
    return best


def all_errors(validator: Any, doc: Any) -> list[Any]:
    """Every JSON Schema error (Gangway also reports every finding)."""
    return list(validator.iter_errors(doc))


def all_errors_from_text(validator: Any, text: str) -> list[Any]:
    return list(validator.iter_errors(json.loads(text)))


def first_error_from_text(validate: Callable[[Any], Any], text: str) -> Any:
    return validate(json.loads(text))


def fmt_time(seconds: float) -> str:
    size = abs(seconds)
    if size < 1e-6:
        return f"{seconds * 1e9:.0f} ns"
    if size < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    return f"{seconds * 1e3:.2f} ms"


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers)]
    line = "| " + " | ".join(h.ljust(w) for h, w in zip(headers, widths)) + " |"
    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    body = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths)) + " |" for r in rows]
    return "\n".join([line, rule, *body])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quick", action="store_true", help="fewer and shorter rounds (noisier)")
    parser.add_argument("--json", type=Path, help="also write the results as JSON to this file")
    args = parser.parse_args(argv)
    repeat, budget = (3, 0.05) if args.quick else (9, 0.1)

    try:
        import fastjsonschema
        import jsonschema
    except ImportError as exc:  # pragma: no cover - the make target installs them
        print(f"bench_python: {exc}; run `make python` first", file=sys.stderr)
        return 2

    examples = ROOT / "examples"
    cases = {
        "seed": (
            gangway.Packet.from_path(examples / "token-factory" / "packet.yaml"),
            big_registry(examples / "token-factory" / "registry.yaml"),
            "registry",
        ),
        "complete": (
            gangway.Packet.from_path(examples / "token-factory-complete" / "packet.yaml"),
            big_registry(examples / "token-factory-complete" / "registry.yaml"),
            "extraction",
        ),
    }

    results: dict[str, Any] = {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "gangway": gangway.__version__,
        "registry_entries": REGISTRY_SIZE,
        "overhead": [],
        "peers": [],
    }

    # 1. Python against Rust, the same work.
    rows = []
    for name, (packet, registry, stage) in cases.items():
        pairs = {
            f"parse {name}": (
                rust_loop("parse", packet, None, None),
                python_loop(partial(gangway.Packet.from_yaml, packet.text)),
            ),
            f"validate {name}@{stage}": (
                rust_loop("validate", packet, registry, stage),
                python_loop(partial(gangway.validate_packet, packet, registry, stage=stage, as_of=AS_OF)),
            ),
        }
        for label, (rust_fn, py_fn) in pairs.items():
            timed = interleaved({"rust": rust_fn, "python": py_fn}, repeat, budget)
            rust, py = timed["rust"], timed["python"]
            rows.append([label, fmt_time(rust), fmt_time(py), fmt_time(py - rust), f"{py / rust:.2f}x"])
            results["overhead"].append(
                {
                    "operation": label,
                    "rust_s": rust,
                    "python_s": py,
                    "overhead_s": py - rust,
                    "ratio": py / rust,
                }
            )
    print(f"# Python binding benchmark (Python {results['python']}, {results['machine']})\n")
    print("## Per call: Python against the same work in Rust\n")
    print(table(["operation", "Rust", "Python", "overhead", "Python / Rust"], rows))

    # 2. Peers: JSON Schema validation of the same document (structure only).
    schema = gangway.json_schema()
    draft7 = dict(schema, **{"$schema": "http://json-schema.org/draft-07/schema#"})
    js_validator = jsonschema.Draft202012Validator(schema)
    fast_validate = fastjsonschema.compile(draft7)
    rows = []
    for name, (packet, registry, stage) in cases.items():
        doc = packet.to_dict()
        json_text = json.dumps(doc)
        assert not all_errors(js_validator, doc), f"{name}: the document does not match the schema"
        fast_validate(doc)
        pre = interleaved(
            {
                "gangway validate_packet (all rules)": python_loop(
                    partial(gangway.validate_packet, packet, registry, stage=stage, as_of=AS_OF)
                ),
                "jsonschema (structure only)": python_loop(partial(all_errors, js_validator, doc)),
                "fastjsonschema (structure only)": python_loop(partial(fast_validate, doc)),
            },
            repeat,
            budget,
        )
        from_text = interleaved(
            {
                "gangway validate_source (JSON text, all rules)": python_loop(
                    partial(
                        gangway.validate_source, json_text, registry, format="json", stage=stage, as_of=AS_OF
                    )
                ),
                "json.loads + jsonschema": python_loop(
                    partial(all_errors_from_text, js_validator, json_text)
                ),
                "json.loads + fastjsonschema": python_loop(
                    partial(first_error_from_text, fast_validate, json_text)
                ),
            },
            repeat,
            budget,
        )
        for group, timings in (("parsed document", pre), ("from JSON text", from_text)):
            base = next(iter(timings.values()))
            for label, t in timings.items():
                rows.append([f"{name}: {group}", label, fmt_time(t), f"{t / base:.2f}x"])
                results["peers"].append(
                    {
                        "packet": name,
                        "input": group,
                        "validator": label,
                        "seconds": t,
                        "relative_to_gangway": t / base,
                    }
                )
    print("\n## Side by side: the same packet, JSON Schema peers (time relative to Gangway)\n")
    print(table(["packet", "validator", "per call", "vs gangway"], rows))
    print(
        "\nGangway runs every stage rule against the 10,000-entry registry; the JSON Schema "
        "validators check structure only. fastjsonschema stops at the first error, the "
        "others report all of them (both documents are schema-valid here)."
    )

    # 3. The run-time guards from Python (the Rust figures are in `make bench`).
    complete_packet, complete_registry, _ = cases["complete"]
    guards = gangway.Guards(gangway.Snapshot(complete_registry, [complete_packet]))
    event: dict[str, Any] = {
        "product": "token-factory",
        "unit": "token_input",
        "version": "v1",
        "quantity": 1200,
        "resource_type": "model_endpoint",
        "tenant": "acme",
        "idempotency_key": "req-1",
        "at": "2026-11-22T00:00:00Z",
    }
    rejected: dict[str, Any] = {**event, "unit": "token_unknown"}
    guard_loops: dict[str, Loop] = {
        "is_visible": python_loop(partial(guards.is_visible, "token-factory")),
        "accept_usage (accepted)": python_loop(partial(guards.accept_usage, **event)),
        "accept_usage (rejected)": python_loop(partial(guards.accept_usage, **rejected)),
        "check_scopes (3 scopes)": python_loop(
            partial(
                guards.check_scopes,
                ["token_factory:model:invoke", "token_factory:key:manage", "token_factory:usage:read"],
            )
        ),
    }
    timed = interleaved(guard_loops, repeat, budget)
    guard_rows = [[label, fmt_time(seconds)] for label, seconds in timed.items()]
    results["guards"] = [{"operation": k, "python_s": v} for k, v in timed.items()]
    print("\n## Run-time guards from Python (10,000-entry registry)\n")
    print(table(["guard", "per call"], guard_rows))

    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
