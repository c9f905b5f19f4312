"""The run-time guards and the scope scanner from Python."""

from __future__ import annotations

import threading
from pathlib import Path

import gangway
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "token-factory-complete"


@pytest.fixture(scope="module")
def snapshot() -> gangway.Snapshot:
    registry = gangway.Registry.from_path(COMPLETE / "registry.yaml")
    return gangway.Snapshot(registry, [gangway.Packet.from_path(COMPLETE / "packet.yaml")])


EVENT = {
    "product": "token-factory",
    "unit": "token_input",
    "version": "v1",
    "quantity": 1200,
    "resource_type": "model_endpoint",
    "tenant": "acme",
    "idempotency_key": "req-1",
}


def test_accepts_and_rejects_usage(snapshot: gangway.Snapshot) -> None:
    assert snapshot.accept_usage(**EVENT) is None  # type: ignore[arg-type]
    rejected = snapshot.accept_usage(**{**EVENT, "version": "v9"})  # type: ignore[arg-type]
    assert rejected is not None
    assert rejected.code == "billing.usage_unit_unregistered"
    assert rejected.field == "version"
    assert rejected.message
    assert "Rejection(code=" in repr(rejected)
    zero = snapshot.accept_usage(**{**EVENT, "quantity": 0})  # type: ignore[arg-type]
    assert zero is not None and zero.code == "usage.invalid"


def test_visibility_scopes_and_quota(snapshot: gangway.Snapshot) -> None:
    assert snapshot.is_visible("token-factory")
    assert not snapshot.is_visible("nope", onboarding_mode=True)
    issues = snapshot.check_scopes(["token_factory:model:invoke", "token_factory:nope:do"])
    assert [i["code"] for i in issues] == ["iam.scope_unregistered"]
    assert snapshot.check_quota_write(product="token-factory") is not None


def test_guards_swap_atomically(snapshot: gangway.Snapshot) -> None:
    guards = gangway.Guards(snapshot)
    assert guards.accept_usage(**EVENT) is None  # type: ignore[arg-type]
    empty = gangway.Snapshot(gangway.Registry())
    results: list[bool] = []

    def hammer() -> None:
        for _ in range(500):
            results.append(guards.accept_usage(**EVENT) is None)  # type: ignore[arg-type]

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    guards.swap(empty)
    for t in threads:
        t.join()
    assert len(results) == 2000
    rejected = guards.accept_usage(**EVENT)  # type: ignore[arg-type]
    assert rejected is not None and rejected.code == "registry.product_missing"


def test_store_snapshot_and_scan(tmp_path: Path) -> None:
    store = gangway.Store.in_memory()
    store.import_registry((COMPLETE / "registry.yaml").read_text(), actor="a", at="2026-11-22T00:00:00Z")
    store.put_packet((COMPLETE / "packet.yaml").read_text(), actor="a", at="2026-11-22T00:00:00Z")
    snap = store.snapshot()
    assert snap.accept_usage(**EVENT) is None  # type: ignore[arg-type]
    guards = gangway.Guards(snap)
    seen = store.revision()
    assert store.refresh_guards(guards, seen) == seen
    at = "2026-11-22T00:00:00Z"
    store.set_state("usage_unit", "token_input", "retired", version="v1", actor="a", at=at)
    # Not refreshed yet: the old snapshot still accepts.
    assert guards.accept_usage(**EVENT) is None  # type: ignore[arg-type]
    seen = store.refresh_guards(guards, seen)
    refused = guards.accept_usage(**EVENT)  # type: ignore[arg-type]
    assert refused is not None and refused.code == "registry.entry_retired"
    assert store.refresh_guards(guards, seen) == seen
    src = tmp_path / "client.ts"
    src.write_text('const scopes = ["token_factory:model:invoke", "token_factory:batch:submit"];\n')
    found = gangway.scan([tmp_path], snap)
    assert [(f["scope"], f["line"], f["code"]) for f in found] == [
        ("token_factory:batch:submit", 1, "iam.scope_unregistered")
    ]
    packet = gangway.Packet.from_path(COMPLETE / "packet.yaml")
    owner = gangway.owner_of("products/token-factory/api/handlers/keys.go", [packet])
    assert owner is not None and owner["packet_id"] == "token-factory-onboarding-v1"
    assert gangway.owner_of("elsewhere/x.go", [packet]) is None
