"""Reviews, evidence, the forecast and the release bundle from Python (issue 6).

The data is the complete Token Factory example (examples/token-factory-complete/):
its packet, registry and records file (the seven sign-offs of this packet's digest
and the seven stage-5 evidence kinds). Each test states the behaviour it pins; the
rules themselves are the core's and are covered byte for byte by the corpus.
"""

from __future__ import annotations

import concurrent.futures
import datetime
import hashlib
import json
from pathlib import Path

import gangway
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "token-factory-complete"
PACKET_ID = "token-factory-onboarding-v1"
AS_OF = datetime.date(2026, 11, 22)
AT = "2026-11-20T10:00:00Z"
UTC = datetime.timezone.utc
URL = "https://evidence.example/"
# An edit that changes the packet (and so its digest) and nothing a rule reads.
EDIT = ("rollback_posture: Redeploy", "rollback_posture: Re-deploy")


@pytest.fixture(scope="module")
def packet() -> gangway.Packet:
    return gangway.Packet.from_path(COMPLETE / "packet.yaml")


@pytest.fixture(scope="module")
def registry() -> gangway.Registry:
    return gangway.Registry.from_path(COMPLETE / "registry.yaml")


@pytest.fixture(scope="module")
def records() -> gangway.Records:
    return gangway.Records.from_path(COMPLETE / "records.yaml")


def new_store() -> gangway.Store:
    store = gangway.Store.in_memory()
    store.import_registry((COMPLETE / "registry.yaml").read_text(), actor="platform", at=AT)
    store.put_packet(gangway.Packet.from_path(COMPLETE / "packet.yaml"), actor="pm@example.com", at=AT)
    return store


def sign_all(store: gangway.Store, *, at: str = AT) -> None:
    for role in gangway.REVIEW_ROLES:
        store.sign_off(PACKET_ID, role, "approve", actor=f"{role}@review.example", at=at)


def record_all_evidence(store: gangway.Store, *, omit: tuple[str, ...] = ()) -> None:
    for i, kind in enumerate(gangway.EVIDENCE_KINDS):
        if kind not in omit:
            store.add_evidence(PACKET_ID, kind, f"UAT-{i}", url=URL + kind, actor="ops@example.com", at=AT)


@pytest.fixture()
def store() -> gangway.Store:
    """The complete example stored, every role approving it and every kind recorded."""
    s = new_store()
    sign_all(s)
    record_all_evidence(s)
    return s


def signed(packet: gangway.Packet, *, omit: tuple[str, ...] = ()) -> gangway.Records:
    """Records built in Python: every role approving `packet`'s digest, every evidence
    kind but `omit` recorded."""
    signoffs = [
        gangway.SignOff(role, f"{role}@review.example", "approve", digest=packet.digest(), at=AT)
        for role in gangway.REVIEW_ROLES
    ]
    evidence = [
        gangway.EvidenceRecord(kind, f"UAT-{kind}", url=URL + kind, recorded_by="ops@example.com", at=AT)
        for kind in gangway.EVIDENCE_KINDS
        if kind not in omit
    ]
    return gangway.Records(signoffs, evidence, packet_id=packet.packet_id)


def codes(report: gangway.Report) -> list[str]:
    return [f.code for f in report.findings]


# --- the review matrix and the records values ---------------------------------------


def test_roles_kinds_and_the_matrix() -> None:
    assert gangway.REVIEW_ROLES == (
        "product",
        "architecture",
        "backend",
        "frontend",
        "security",
        "operations",
        "governance",
    )
    assert gangway.EVIDENCE_KINDS == (
        "launch",
        "connect",
        "decommission",
        "billing_attribution",
        "audit_query",
        "status_read_model",
        "rollback_proof",
    )
    matrix = gangway.review_matrix()
    assert [m["role"] for m in matrix] == list(gangway.REVIEW_ROLES)
    assert matrix[0]["title"] == "Product"
    assert all(m["must_confirm"].endswith(".") for m in matrix)


def test_records_file_reads(packet: gangway.Packet, records: gangway.Records) -> None:
    assert records.packet_id == PACKET_ID
    assert (len(records.signoffs), len(records.evidence)) == (7, 7)
    first = records.signoffs[0]
    assert (first.role, first.reviewer, first.decision, first.reasons) == (
        "product",
        "pm@tokenfactory.example",
        "approve",
        [],
    )
    assert first.at == datetime.datetime(2026, 11, 18, 10, tzinfo=UTC)
    # Every sign-off names the digest of this very packet.
    assert {s.digest for s in records.signoffs} == {packet.digest()}
    assert len(packet.digest()) == 64
    billing = records.evidence[3]
    assert (billing.kind, billing.ref, billing.url) == ("billing_attribution", "UAT-TF-104", None)
    assert billing.digest is not None and billing.digest.startswith("sha256:")
    assert [e.kind for e in records.evidence] == list(gangway.EVIDENCE_KINDS)

    as_dict = records.to_dict()
    assert list(as_dict) == ["packet_id", "signoffs", "evidence"]
    assert as_dict["signoffs"][0]["at"] == "2026-11-18T10:00:00Z"
    assert as_dict["evidence"][0]["ref"] == "UAT-TF-101"
    assert first.to_dict() == as_dict["signoffs"][0]
    assert records.evidence[0].to_dict() == as_dict["evidence"][0]

    assert records.source_name == str(COMPLETE / "records.yaml")
    again = gangway.Records.from_yaml((COMPLETE / "records.yaml").read_text(), source_name="r.yaml")
    assert again == records and again.source_name == "r.yaml"
    assert (
        repr(again)
        == "Records(packet_id='token-factory-onboarding-v1', signoffs=7, evidence=7, source='r.yaml')"
    )
    assert repr(first).startswith(
        "SignOff(role='product', reviewer='pm@tokenfactory.example', decision='approve'"
    )
    assert repr(billing).startswith("EvidenceRecord(kind='billing_attribution', ref='UAT-TF-104'")
    html = records._repr_html_()
    assert "UAT-TF-107" in html and "pm@tokenfactory.example" in html


def test_records_built_in_python(packet: gangway.Packet) -> None:
    empty = gangway.Records()
    assert (empty.packet_id, empty.signoffs, empty.evidence) == (None, [], [])
    assert repr(empty) == "Records(packet_id=None, signoffs=0, evidence=0)"
    built = signed(packet)
    assert built.to_dict()["signoffs"][0]["digest"] == packet.digest()
    assert built == signed(packet) and built != empty
    s = gangway.SignOff(
        "security", "sec@example.com", "reject", digest=packet.digest(), at=AT, reasons=["custody unclear"]
    )
    assert (s.decision, s.reasons) == ("reject", ["custody unclear"])
    e = gangway.EvidenceRecord("launch", "run-1", digest="ab" * 32, recorded_by="ops", at=AT)
    assert (e.digest, e.url) == ("ab" * 32, None)
    with pytest.raises(gangway.InvalidInputError) as info:
        gangway.Records([e])  # type: ignore[list-item]
    assert (info.value.code, info.value.path) == ("invalid_record", "signoffs")


@pytest.mark.parametrize(
    ("build", "code", "path"),
    [
        (lambda d: gangway.SignOff("product", " ", "approve", digest=d), "review.invalid", "reviewer"),
        (
            lambda d: gangway.SignOff("product", "pm", "reject", digest=d, reasons=[" "]),
            "review.invalid",
            "reasons",
        ),
        (lambda d: gangway.SignOff("product", "pm", "approve", digest=d.upper()), "review.invalid", "digest"),
        (lambda d: gangway.SignOff("legal", "pm", "approve", digest=d), "invalid_role", "role"),
        (lambda d: gangway.SignOff("product", "pm", "maybe", digest=d), "invalid_decision", "decision"),  # type: ignore[arg-type]
        (lambda d: gangway.EvidenceRecord("launch", "r", recorded_by="ops"), "evidence.invalid", None),
        (
            lambda d: gangway.EvidenceRecord("launch", "", url=URL, recorded_by="ops"),
            "evidence.invalid",
            "ref",
        ),
        (
            lambda d: gangway.EvidenceRecord("launch", "r", digest="sha256:xyz", recorded_by="ops"),
            "evidence.invalid",
            "digest",
        ),
        (
            lambda d: gangway.EvidenceRecord("smoke", "r", url=URL, recorded_by="ops"),
            "invalid_evidence_kind",
            "kind",
        ),
    ],
)
def test_values_check_their_fields(
    packet: gangway.Packet, build: object, code: str, path: str | None
) -> None:
    with pytest.raises(gangway.InvalidInputError) as info:
        build(packet.digest())  # type: ignore[operator]
    assert (info.value.code, info.value.path) == (code, path)
    if code.endswith(".invalid"):
        assert isinstance(info.value, gangway.RecordsError)


# --- records files that do not load ----------------------------------------------------


def _line_of(text: str, needle: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


@pytest.mark.parametrize(
    ("old", "new", "code", "message"),
    [
        ("role: security", "role: legal", "records.parse", "unknown role `legal`"),
        (
            "role: security, reviewer: security@platform.example, decision: approve",
            "role: security, reviewer: security@platform.example, decision: reject",
            "review.invalid",
            "a rejection needs at least one reason",
        ),
        (
            'ref: UAT-TF-105, url: "https://evidence.platform.example/token-factory/audit-query", ',
            "ref: UAT-TF-105, ",
            "evidence.invalid",
            "evidence needs a `digest` or a `url`",
        ),
        ("kind: connect", "kind: smoke", "records.parse", "unknown evidence kind `smoke`"),
        ('at: "2026-11-19T10:00:00Z"', 'at: "yesterday"', "records.parse", "invalid timestamp `yesterday`"),
        ("role: backend,", "role: backend, comment: hi,", "records.parse", "comment"),
    ],
)
def test_records_file_errors_carry_code_line_and_column(
    tmp_path: Path, old: str, new: str, code: str, message: str
) -> None:
    text = (COMPLETE / "records.yaml").read_text()
    assert old in text
    bad = text.replace(old, new, 1)
    path = tmp_path / "records.yaml"
    path.write_text(bad)
    with pytest.raises(gangway.RecordsError) as info:
        gangway.Records.from_path(path)
    err = info.value
    assert isinstance(err, gangway.InvalidInputError) and isinstance(err, ValueError)
    assert err.code == code
    assert message in err.message
    assert err.line == _line_of(bad, new.split(",")[0])
    assert err.column is not None and err.column >= 1
    assert str(err).startswith(f"{path}: {code}: ")
    assert f"(line {err.line}, column {err.column})" in str(err)
    assert err.source_name == str(path)


def test_records_file_error_columns_and_other_failures(tmp_path: Path) -> None:
    text = (COMPLETE / "records.yaml").read_text().replace("role: security", "role: legal", 1)
    with pytest.raises(gangway.RecordsError) as info:
        gangway.Records.from_yaml(text)
    line = text.splitlines()[info.value.line - 1]  # type: ignore[operator]
    assert info.value.column == line.index("legal") + 1
    assert info.value.source_name is None

    with pytest.raises(gangway.RecordsError) as info:
        gangway.Records.from_yaml("records:\n  signoffs: [\n")
    assert info.value.code == "records.parse" and info.value.line is not None

    with pytest.raises(gangway.RecordsError) as info:
        gangway.Records.from_yaml("signoffs: []\n")
    assert info.value.code == "records.parse"

    with pytest.raises(gangway.FileError) as file_info:
        gangway.Records.from_path(tmp_path / "missing.yaml")
    assert file_info.value.code == "file.unreadable"
    assert isinstance(file_info.value, OSError)


# --- validation with records ------------------------------------------------------------


def test_empty_records_owe_every_role_and_kind(packet: gangway.Packet, registry: gangway.Registry) -> None:
    report = gangway.validate_packet(packet, registry, records=gangway.Records(), as_of=AS_OF)
    assert sorted(set(codes(report))) == ["evidence.missing", "review.missing"]
    assert codes(report).count("review.missing") == 7
    assert codes(report).count("evidence.missing") == 7
    assert all(f.stage == "uat_evidence" for f in report.findings)
    missing = [f.message for f in report.findings if f.code == "review.missing"]
    assert any(m.startswith("no Product sign-off for this version") for m in missing)
    assert all(packet.digest()[:12] in m for m in missing)
    # Records only matter from uat_evidence on.
    before = gangway.validate_packet(
        packet, registry, records=gangway.Records(), stage="platform_services", as_of=AS_OF
    )
    assert before.ok


def test_signoffs_are_bound_to_the_digest(
    packet: gangway.Packet, registry: gangway.Registry, records: gangway.Records
) -> None:
    assert gangway.validate_packet(packet, registry, records=records, as_of=AS_OF).ok
    edited = gangway.Packet.from_yaml(packet.text.replace(*EDIT))
    assert edited.digest() != packet.digest()
    report = gangway.validate_packet(edited, registry, records=records, as_of=AS_OF)
    assert codes(report) == ["review.missing"] * 7
    titles = ["Product", "Architecture", "Backend", "Frontend", "Security", "Operations", "Governance"]
    messages = sorted(f.message for f in report.findings)
    for title, message in zip(sorted(titles), messages):
        assert message.startswith(f"{title} review signed an earlier version")
        assert "must be signed again" in message
    # Whitespace and comments do not change the canonical JSON, so not the digest.
    assert gangway.Packet.from_yaml("# a comment\n" + packet.text).digest() == packet.digest()


def test_rejection_and_the_latest_signoff_decide(packet: gangway.Packet, registry: gangway.Registry) -> None:
    base = signed(packet)
    reject = gangway.SignOff(
        "security",
        "sec@example.com",
        "reject",
        digest=packet.digest(),
        at="2026-11-21T00:00:00Z",
        reasons=["credential custody unclear"],
    )
    rejected = gangway.Records([*base.signoffs, reject], base.evidence)
    report = gangway.validate_packet(packet, registry, records=rejected, as_of=AS_OF)
    assert codes(report) == ["review.missing"]
    assert report.findings[0].message.startswith("Security review rejected this version (sec@example.com")
    assert "credential custody unclear" in report.findings[0].message
    approve_again = gangway.SignOff(
        "security", "sec@example.com", "approve", digest=packet.digest(), at="2026-11-22T00:00:00Z"
    )
    fixed = gangway.Records([*rejected.signoffs, approve_again], base.evidence)
    assert gangway.validate_packet(packet, registry, records=fixed, as_of=AS_OF).ok


def test_a_tracked_missing_artifact_gap_stands_in_for_evidence(registry: gangway.Registry) -> None:
    text = (COMPLETE / "packet.yaml").read_text() + (
        "    - kind: missing_artifact\n"
        "      ref: /product_onboarding_packet/uat_and_release/release_evidence_bundle\n"
        "      evidence_kind: decommission\n"
        "      owner: token-factory-ops\n"
        "      tracking_id: PSSM-TF-OPS-3\n"
        "      due_date: 2027-01-31\n"
    )
    with_gap = gangway.Packet.from_yaml(text)
    records = signed(with_gap, omit=("decommission", "connect"))
    report = gangway.validate_packet(with_gap, registry, records=records, as_of=AS_OF)
    # decommission is tracked by the gap; connect has neither evidence nor a gap.
    assert codes(report) == ["evidence.missing"]
    assert "`connect`" in report.findings[0].message
    assert report.findings[0].path == "/product_onboarding_packet/uat_and_release/release_evidence_bundle"
    # Past its due date the gap is overdue (an error of its own) and still names the kind.
    late = gangway.validate_packet(with_gap, registry, records=records, as_of="2027-02-01")
    assert sorted(codes(late)) == ["evidence.missing", "gap.overdue"]
    # Recording the evidence clears the rest.
    done = signed(with_gap, omit=("decommission",))
    assert gangway.validate_packet(with_gap, registry, records=done, as_of=AS_OF).ok


def test_progress_with_records_and_markdown(
    packet: gangway.Packet, registry: gangway.Registry, records: gangway.Records
) -> None:
    ready = gangway.progress(packet, registry, records=records, as_of=AS_OF)
    assert ready.ok
    assert "Every stage passes." in ready.to_markdown()
    blocked = gangway.progress(packet, registry, as_of=AS_OF)
    md = blocked.to_markdown()
    assert md.startswith("# token-factory-onboarding-v1 — onboarding progress")
    assert "| 5 | `uat_evidence` | **fail** | 1 | 0 |" in md
    assert "`records.unavailable`" in md


# --- the store: sign-offs, evidence, review status --------------------------------------


def test_store_signoffs_follow_the_stored_version(registry: gangway.Registry) -> None:
    store = new_store()
    put = store.packets()[0]
    so = store.sign_off(PACKET_ID, "product", "approve", actor="pm@example.com", at=AT)
    assert (so.role, so.reviewer, so.decision, so.digest) == (
        "product",
        "pm@example.com",
        "approve",
        put["digest"],
    )
    assert so.at == datetime.datetime(2026, 11, 20, 10, tzinfo=UTC)
    status = store.review_status(PACKET_ID)
    assert [r.status for r in status.roles] == ["approved"] + ["missing"] * 6
    assert not status.complete

    sign_all(store)
    record_all_evidence(store)
    status = store.review_status(PACKET_ID)
    assert status.complete and status.version == 1 and status.digest == put["digest"]
    current = store.packet(PACKET_ID)
    assert current.digest() == put["digest"]
    records = store.records(PACKET_ID)
    assert (len(records.signoffs), len(records.evidence)) == (8, 7)
    assert gangway.validate_packet(current, registry, records=records, as_of=AS_OF).ok

    # Storing an edited version leaves every sign-off on the old digest: stale.
    store.put_packet(current.text.replace(*EDIT), actor="pm@example.com", at=AT)
    status = store.review_status(PACKET_ID)
    assert status.version == 2 and status.digest != put["digest"]
    assert {r.status for r in status.roles} == {"stale"}
    assert all(r.signoff is not None and r.signoff.digest == put["digest"] for r in status.roles)
    edited = store.packet(PACKET_ID)
    report = gangway.validate_packet(edited, registry, records=store.records(PACKET_ID), as_of=AS_OF)
    assert codes(report) == ["review.missing"] * 7

    # A sign-off may still name the earlier stored version explicitly; it stays stale.
    store.sign_off(PACKET_ID, "backend", "approve", digest=put["digest"], actor="be@example.com", at=AT)
    assert store.review_status(PACKET_ID).roles[2].status == "stale"
    store.sign_off(PACKET_ID, "backend", "approve", actor="be@example.com", at=AT)
    assert store.review_status(PACKET_ID).roles[2].status == "approved"

    actions = [r["action"] for r in store.audit_records(target=f"packet:{PACKET_ID}")]
    assert actions.count("review.sign") == 10 and actions.count("evidence.add") == 7
    assert store.audit_verify()["ok"] is True


def test_store_refusals_carry_codes() -> None:
    store = new_store()
    digest = store.packets()[0]["digest"]

    def refused(call: object) -> gangway.GangwayError:
        with pytest.raises(gangway.GangwayError) as info:
            call()  # type: ignore[operator]
        return info.value

    e = refused(lambda: store.sign_off("nope", "product", "approve", actor="a"))
    assert isinstance(e, gangway.StoreError) and e.code == "packet.not_found"
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "reject", actor="a"))
    assert isinstance(e, gangway.StoreError) and e.code == "review.invalid"
    assert e.message == "a rejection needs at least one reason"
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "reject", reasons=["  "], actor="a"))
    assert e.code == "review.invalid"
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "approve", digest="0" * 64, actor="a"))
    assert e.code == "review.invalid" and "is not the digest of a stored version" in e.message
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "approve", digest="nothex", actor="a"))
    assert e.code == "review.invalid"
    e = refused(lambda: store.sign_off(PACKET_ID, "legal", "approve", actor="a"))
    assert isinstance(e, gangway.InvalidInputError) and (e.code, e.path) == ("invalid_role", "role")
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "yes", actor="a"))  # type: ignore[arg-type]
    assert (e.code, e.path) == ("invalid_decision", "decision")
    e = refused(lambda: store.sign_off(PACKET_ID, "product", "approve", actor=" "))
    assert e.code == "invalid_actor"
    e = refused(
        lambda: store.sign_off(PACKET_ID, "product", "approve", actor="a", at=datetime.datetime(2026, 11, 20))
    )
    assert e.code == "invalid_timestamp"

    e = refused(lambda: store.add_evidence("nope", "launch", "r", url=URL, actor="a"))
    assert e.code == "packet.not_found"
    e = refused(lambda: store.add_evidence(PACKET_ID, "launch", "r", actor="a"))
    assert isinstance(e, gangway.StoreError) and e.code == "evidence.invalid"
    e = refused(lambda: store.add_evidence(PACKET_ID, "launch", " ", url=URL, actor="a"))
    assert e.code == "evidence.invalid"
    e = refused(lambda: store.add_evidence(PACKET_ID, "launch", "r", digest="sha256:xyz", actor="a"))
    assert e.code == "evidence.invalid"
    e = refused(lambda: store.add_evidence(PACKET_ID, "smoke", "r", url=URL, actor="a"))
    assert (e.code, e.path) == ("invalid_evidence_kind", "kind")
    e = refused(lambda: store.review_status("nope"))
    assert e.code == "packet.not_found"

    # Nothing refused was written.
    assert store.records(PACKET_ID) == gangway.Records(packet_id=PACKET_ID)
    # Accepted: a reason is trimmed, a blank one dropped; a bare or prefixed hex digest,
    # stored in lower case (as a records file's is).
    so = store.sign_off(PACKET_ID, "product", "reject", reasons=[" scope unclear ", " "], actor="a", at=AT)
    assert (so.reasons, so.digest) == (["scope unclear"], digest)
    bare = store.add_evidence(PACKET_ID, "launch", "r1", digest="AB" * 32, actor="a", at=AT)
    prefixed = store.add_evidence(PACKET_ID, "launch", "r2", digest="sha256:" + "ab" * 32, actor="a", at=AT)
    assert (bare.digest, prefixed.digest) == ("ab" * 32, "sha256:" + "ab" * 32)


def test_review_status_value(store: gangway.Store) -> None:
    store.sign_off(
        PACKET_ID, "governance", "reject", reasons=["risk <unowned>"], actor="gov@example.com", at=AT
    )
    status = store.review_status(PACKET_ID)
    assert not status.complete
    gov = status.roles[-1]
    assert (gov.role, gov.title, gov.status) == ("governance", "Governance", "rejected")
    assert gov.must_confirm.startswith("Fairway tasks")
    assert gov.signoff is not None and gov.signoff.reasons == ["risk <unowned>"]
    as_dict = status.to_dict()
    assert list(as_dict) == ["packet_id", "version", "digest", "roles", "complete"]
    assert as_dict["roles"][-1] == gov.to_dict()
    assert as_dict["roles"][0]["status"] == "approved"
    assert repr(status).startswith(
        "ReviewStatus(packet_id='token-factory-onboarding-v1', version=1, digest='"
    )
    assert repr(status).endswith("approved=6/7, complete=False)")
    assert repr(gov) == "RoleStatus(role='governance', status='rejected', reviewer='gov@example.com')"
    html = status._repr_html_()
    assert "<th>role</th>" in html and "incomplete" in html and "Governance" in html
    assert "risk &lt;unowned&gt;" in html and "<unowned>" not in html
    assert status == store.review_status(PACKET_ID)


# --- forecast ---------------------------------------------------------------------------


def test_forecast_names_the_gap_falling_due(
    store: gangway.Store, packet: gangway.Packet, registry: gangway.Registry, records: gangway.Records
) -> None:
    # The example's doc gap is due 2027-03-31: nothing changes up to that day ...
    assert store.forecast(AS_OF, "2027-03-31") == []
    # ... and it is overdue the day after.
    [f] = store.forecast(AS_OF, datetime.date(2027, 4, 1))
    assert (f["packet_id"], f["stage"], f["ok_on_from"], f["ok_on_to"]) == (
        PACKET_ID,
        "extraction",
        True,
        False,
    )
    assert [x["code"] for x in f["appear"]] == ["gap.overdue"]
    assert f["appear"][0]["path"] == "/product_onboarding_packet/tracked_gaps/0/due_date"
    assert (f["clear"], f["lapses"]) == ([], ["2027-03-31"])

    # The same for one packet and a records file, without a store.
    assert (
        gangway.forecast_packet(packet, registry, records=records, from_date=AS_OF, to_date="2027-03-31")
        is None
    )
    one = gangway.forecast_packet(packet, registry, records=records, from_date=AS_OF, to_date="2027-04-01")
    assert one == f

    with pytest.raises(gangway.InvalidInputError) as info:
        store.forecast("2026-13-01", AS_OF)
    assert (info.value.code, info.value.path) == ("invalid_date", "from_date")


# --- the release bundle ------------------------------------------------------------------


def test_bundle_manifest_lists_every_file_with_its_sha256(
    store: gangway.Store, packet: gangway.Packet, registry: gangway.Registry, tmp_path: Path
) -> None:
    bundle = store.bundle(PACKET_ID, as_of=AS_OF)
    assert all(isinstance(k, str) and isinstance(v, bytes) for k, v in bundle.items())
    manifest = json.loads(bundle["manifest.json"])
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(listed) == set(bundle) - {"manifest.json"}
    assert len(listed) == 15
    for name, body in bundle.items():
        if name != "manifest.json":
            assert listed[name]["sha256"] == hashlib.sha256(body).hexdigest(), name
            assert listed[name]["bytes"] == len(body)
    assert (manifest["packet_id"], manifest["version"], manifest["digest"]) == (PACKET_ID, 1, packet.digest())
    assert (manifest["as_of"], manifest["verdict"], manifest["first_blocked"]) == (
        "2026-11-22",
        "ready",
        None,
    )

    records = store.records(PACKET_ID)
    progress = gangway.progress(packet, registry, records=records, as_of=AS_OF)
    assert bundle["packet.yaml"] == packet.text.encode()
    assert bundle["progress.json"] == progress.to_json().encode()
    assert bundle["progress.md"] == progress.to_markdown().encode()
    uat = gangway.validate_packet(packet, registry, records=records, stage="uat_evidence", as_of=AS_OF)
    assert bundle["reports/5-uat_evidence.json"] == uat.to_json().encode()
    assert json.loads(bundle["review-status.json"]) == store.review_status(PACKET_ID).to_dict()
    assert json.loads(bundle["signoffs.json"]) == records.to_dict()["signoffs"]
    assert json.loads(bundle["evidence.json"]) == records.to_dict()["evidence"]
    audit = [json.loads(line) for line in bundle["audit.jsonl"].decode().splitlines()]
    assert [r["action"] for r in audit] == ["packet.put"] + ["review.sign"] * 7 + ["evidence.add"] * 7
    # Deterministic: the same store and date give the same bytes.
    assert store.bundle(PACKET_ID, as_of="2026-11-22") == bundle

    # Without evidence the bundle says why it is blocked.
    blocked = new_store()
    sign_all(blocked)
    m = json.loads(blocked.bundle(PACKET_ID, as_of=AS_OF)["manifest.json"])
    assert (m["verdict"], m["first_blocked"]) == ("blocked", "uat_evidence")

    with pytest.raises(gangway.StoreError) as info:
        store.bundle("nope", as_of=AS_OF)
    assert info.value.code == "packet.not_found"


def test_write_bundle_never_merges_into_files(store: gangway.Store, tmp_path: Path) -> None:
    bundle = store.bundle(PACKET_ID, as_of=AS_OF)
    out = tmp_path / "bundle"
    assert store.write_bundle(PACKET_ID, out, as_of=AS_OF) == len(bundle)
    on_disk = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}
    assert on_disk == bundle
    with pytest.raises(gangway.FileError) as info:
        store.write_bundle(PACKET_ID, out, as_of=AS_OF)
    assert info.value.code == "bundle.not_empty"
    assert isinstance(info.value, OSError) and info.value.filename == str(out)
    assert "not empty" in info.value.message
    # An empty directory is fine; a str path too.
    empty = tmp_path / "empty"
    empty.mkdir()
    assert store.write_bundle(PACKET_ID, str(empty), as_of=AS_OF) == len(bundle)
    # A path that cannot be a directory is an OSError too.
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(gangway.FileError) as info:
        store.write_bundle(PACKET_ID, blocker / "sub", as_of=AS_OF)
    assert info.value.code == "file.unwritable"


# --- threads ----------------------------------------------------------------------------


def test_sign_off_from_many_threads(tmp_path: Path) -> None:
    store = gangway.Store.open(tmp_path / "g.db")
    store.import_registry((COMPLETE / "registry.yaml").read_text(), actor="platform", at=AT)
    store.put_packet(gangway.Packet.from_path(COMPLETE / "packet.yaml"), actor="pm@example.com", at=AT)
    jobs = [(role, i) for role in gangway.REVIEW_ROLES for i in range(4)]

    def sign(job: tuple[str, int]) -> gangway.SignOff:
        role, i = job
        now = datetime.datetime.now(UTC)
        if i == 0:
            store.add_evidence(
                PACKET_ID,
                gangway.EVIDENCE_KINDS[gangway.REVIEW_ROLES.index(role)],
                f"r-{role}",
                url=URL,
                actor="ops",
                at=now,
            )
        return store.sign_off(PACKET_ID, role, "approve", actor=f"{role}-{i}@example.com", at=now)

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        done = list(pool.map(sign, jobs))
    assert len(done) == 28 and {s.digest for s in done} == {store.packets()[0]["digest"]}
    records = store.records(PACKET_ID)
    assert (len(records.signoffs), len(records.evidence)) == (28, 7)
    assert store.review_status(PACKET_ID).complete
    assert len(store.audit_records(action="review.sign")) == 28
    assert store.audit_verify()["ok"] is True
    reopened = gangway.Store.open(tmp_path / "g.db")
    assert reopened.records(PACKET_ID) == records


# --- the documentation ------------------------------------------------------------------


def test_the_documented_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """docs/python.md, "Reviews, evidence and the release bundle": its example runs as
    written from the repository root."""
    doc = (ROOT / "docs" / "python.md").read_text()
    section = doc[doc.index("## Reviews, evidence and the release bundle") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("```", start)]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "docs/python.md", "exec"), {"__name__": "docs_example"})


def test_forecast_with_runs_and_bundle_with_standard() -> None:
    """`runs=True` adds the checklist runs beside the packets; bundles take the standard."""
    store = gangway.Store.in_memory()
    store.import_registry((COMPLETE / "registry.yaml").read_text(), actor="t")
    store.put_packet((COMPLETE / "packet.yaml").read_text(), actor="t")
    template = gangway.ChecklistTemplate.builtin("product-onboarding")
    store.new_checklist_run(template, parameters={"packet_id": PACKET_ID}, actor="t")
    both = store.forecast(datetime.date(2026, 11, 22), datetime.date(2027, 4, 1), runs=True, standard="paid")
    assert set(both) == {"from", "to", "packets", "runs"}
    assert [p["packet_id"] for p in both["packets"]] == [PACKET_ID]
    files = store.bundle(PACKET_ID, datetime.date(2026, 11, 22), standard="po_approved")
    assert any(name.startswith("checklists/") for name in files)
    with pytest.raises(gangway.GangwayError):
        store.bundle(PACKET_ID, standard="cash")
