"""The store, impact, dry-run and the audit log from Python."""

from __future__ import annotations

import datetime
import threading
from pathlib import Path

import gangway
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "token-factory-complete"
AT = "2026-11-22T10:00:00Z"
AS_OF = "2026-11-22"


def record_reviews(store: gangway.Store, records: gangway.Records) -> None:
    """Replays a records file into the store: each sign-off by its reviewer, each
    evidence record by whoever recorded it."""
    for s in records.signoffs:
        store.sign_off(
            records.packet_id or "", s.role, s.decision, reasons=s.reasons, actor=s.reviewer, at=s.at
        )
    for e in records.evidence:
        store.add_evidence(
            records.packet_id or "", e.kind, e.ref, digest=e.digest, url=e.url, actor=e.recorded_by, at=e.at
        )


@pytest.fixture()
def store() -> gangway.Store:
    """The complete example stored with its registry, sign-offs and evidence."""
    s = gangway.Store.in_memory()
    s.import_registry((COMPLETE / "registry.yaml").read_text(), actor="alice", at=AT)
    s.put_packet(gangway.Packet.from_path(COMPLETE / "packet.yaml"), actor="alice", at=AT)
    record_reviews(s, gangway.Records.from_path(COMPLETE / "records.yaml"))
    return s


def test_lifecycle_moves_forward_only(store: gangway.Store) -> None:
    entry = gangway.Entry("scope", "token_factory:batch:submit", state="draft", owner="platform-iam")
    store.add_entry(entry, actor="alice", at=AT)
    with pytest.raises(gangway.StoreError) as info:
        store.add_entry(entry, actor="alice", at=AT)
    assert info.value.code == "registry.exists"
    moved = store.set_state("scope", "token_factory:batch:submit", "active", actor="bob", at=AT)
    assert moved.state == "active"
    store.set_state("scope", "token_factory:batch:submit", "retired", actor="bob", at=AT)
    with pytest.raises(gangway.StoreError) as info:
        store.set_state("scope", "token_factory:batch:submit", "active", actor="bob", at=AT)
    assert info.value.code == "registry.illegal_transition"
    assert isinstance(info.value, gangway.GangwayError)
    assert "retired" in str(info.value)
    assert store.audit_verify()["ok"] is True


def test_require_entry(store: gangway.Store) -> None:
    assert store.require_entry("scope", "token_factory:model:invoke").state == "active"
    assert store.entry("scope", "token_factory:model:nope") is None
    with pytest.raises(gangway.StoreError) as info:
        store.require_entry("scope", "token_factory:model:nope")
    assert info.value.code == "registry.not_found"
    assert info.value.message == "scope `token_factory:model:nope` is not in the registry"
    with pytest.raises(gangway.StoreError) as info:
        store.require_entry("usage_unit", "token_input", "v9")
    assert info.value.message == "usage_unit `token_input@9.0.0` is not in the registry"


def test_registry_round_trips_and_validates(store: gangway.Store) -> None:
    exported = store.export_registry()
    other = gangway.Store.in_memory()
    other.import_registry(exported, actor="alice", at=AT)
    assert other.export_registry() == exported
    packet = store.packet("token-factory-onboarding-v1")
    records = store.records("token-factory-onboarding-v1")
    assert gangway.validate_packet(packet, store.registry(), records=records, as_of=AS_OF).ok
    assert records == gangway.Records.from_path(COMPLETE / "records.yaml")


def test_packets_keep_versions(store: gangway.Store) -> None:
    text = (COMPLETE / "packet.yaml").read_text()
    again = store.put_packet(text, actor="alice", at=AT)
    assert again["created"] is False
    edited = text.replace("posture: partner", "posture: external", 1)
    second = store.put_packet(edited, actor="alice", at=AT)
    assert second["created"] is True
    assert second["info"]["version"] == 2
    history = store.packet_history("token-factory-onboarding-v1")
    assert [h["version"] for h in history] == [1, 2]
    assert history[0]["digest"] != history[1]["digest"]
    with pytest.raises(gangway.StoreError) as info:
        store.packet("nope")
    assert info.value.code == "packet.not_found"


def test_impact_and_dry_run(store: gangway.Store) -> None:
    hits = store.impact("scope", "token_factory:model:invoke")
    assert [h["packet_id"] for h in hits] == ["token-factory-onboarding-v1"]
    flips = store.dry_run_set_state("scope", "token_factory:model:invoke", "retired", as_of=AS_OF)
    assert len(flips) == 1
    assert flips[0]["ok_before"] is True and flips[0]["ok_after"] is False
    assert any(f["code"] == "registry.entry_retired" for f in flips[0]["appeared"])
    assert store.entry("scope", "token_factory:model:invoke").state == "active"  # type: ignore[union-attr]
    assert store.dry_run_remove("scope", "token_factory:model:invoke", as_of=AS_OF)[0]["ok_after"] is False


def test_audit_query_export_and_checkpoint(store: gangway.Store, tmp_path: Path) -> None:
    put = store.audit_records(action="packet.put")
    assert [r["target"] for r in put] == ["packet:token-factory-onboarding-v1"]
    assert store.audit_records(target="scope:token_factory:")
    seed, public = gangway.generate_audit_key()
    checkpoint = store.audit_checkpoint(actor="auditor", key=seed, at=AT)
    assert checkpoint["public_key"] == public
    exported = store.audit_export()
    ok = gangway.verify_audit_export(exported, checkpoint, public_key=public)
    assert ok["ok"] is True
    lines = exported.splitlines()
    tampered = "\n".join([lines[0], *lines[2:]]) + "\n"
    bad = gangway.verify_audit_export(tampered, checkpoint)
    assert bad["ok"] is False
    assert bad["breach"]["problem"] == "removed"
    assert bad["breach"]["expected_seq"] == 2


def test_file_store_and_threads(tmp_path: Path) -> None:
    s = gangway.Store.open(tmp_path / "g.db")
    assert repr(s).startswith("Store(path=")

    def add(i: int) -> None:
        e = gangway.Entry("role", f"role_{i}", state="draft", owner="platform-iam")
        s.add_entry(e, actor=f"t{i}", at=datetime.datetime.now(datetime.timezone.utc))

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(s.entries("role")) == 8
    assert s.audit_verify()["records"] >= 8
    reopened = gangway.Store.open(tmp_path / "g.db")
    assert len(reopened.entries("role")) == 8


def test_bad_arguments() -> None:
    s = gangway.Store.in_memory()
    e = gangway.Entry("role", "r", state="draft", owner="o")
    with pytest.raises(gangway.InvalidInputError) as info:
        s.add_entry(e, actor="a", at=datetime.datetime(2026, 1, 1))
    assert info.value.code == "invalid_timestamp"
    with pytest.raises(gangway.InvalidInputError):
        s.add_entry(e, actor=" ")
    with pytest.raises(gangway.InvalidInputError):
        s.set_state("nope", "r", "active", actor="a")
