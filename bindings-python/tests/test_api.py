"""The Python idioms: types, exceptions and their fields, reprs, HTML, dates, paths,
bad arguments and use from threads."""

from __future__ import annotations

import concurrent.futures
import datetime
import json
import sys
from pathlib import Path
from typing import Any, Callable

import gangway
import pytest

AS_OF = datetime.date(2026, 11, 22)

# The seed packet with `exposure` misspelt: an unknown field with a did-you-mean
# suggestion and a JSON Patch that renames it.
TYPO = """\
product_onboarding_packet:
  packet_id: demo-onboarding-v1
  product_id: demo
  product_slug: demo
  lifecycle_state: draft
  owner:
    product: demo-product
    engineering: demo-eng
    operations: demo-ops
    security: demo-sec
  personas: [user]
  exposur:
    posture: internal
    public_docs_track: none
"""


@pytest.fixture
def seed(seed_packet_path: Path) -> gangway.Packet:
    return gangway.Packet.from_path(seed_packet_path)


@pytest.fixture
def registry(seed_registry_path: Path) -> gangway.Registry:
    return gangway.Registry.from_path(seed_registry_path)


# --- the done-when line -------------------------------------------------------------


def test_readme_one_liner(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(root)
    report = gangway.validate_packet(gangway.Packet.from_path("examples/token-factory/packet.yaml"))
    assert report.ok is False
    assert [f.code for f in report.findings] == ["packet.missing"] * 3


# --- packets and paths --------------------------------------------------------------


def test_from_path_takes_str_and_pathlib(seed_packet_path: Path) -> None:
    a = gangway.Packet.from_path(seed_packet_path)
    b = gangway.Packet.from_path(str(seed_packet_path))
    assert a.packet_id == b.packet_id == "token-factory-onboarding-v1"
    assert a.source_name == str(seed_packet_path)
    assert a.format == "yaml"
    assert a.text == seed_packet_path.read_text(encoding="utf-8")


def test_from_path_picks_json_for_json(tmp_path: Path, seed: gangway.Packet) -> None:
    path = tmp_path / "packet.JSON"
    path.write_text(json.dumps(seed.to_dict()), encoding="utf-8")
    packet = gangway.Packet.from_path(path)
    assert packet.format == "json"
    assert packet.to_dict() == seed.to_dict()
    # The same text parsed as YAML is also fine (JSON is YAML), but strict JSON is
    # chosen by the name; a YAML document named .json is refused.
    yaml_named_json = tmp_path / "p.json"
    yaml_named_json.write_text(seed.text, encoding="utf-8")
    with pytest.raises(gangway.ParseError):
        gangway.Packet.from_path(yaml_named_json)
    assert gangway.Packet.from_path(yaml_named_json, format="yaml").packet_id == seed.packet_id


def test_from_yaml_json_and_parse_text(seed: gangway.Packet) -> None:
    as_json = json.dumps(seed.to_dict())
    assert gangway.Packet.from_json(as_json).to_dict() == seed.to_dict()
    assert gangway.Packet.parse_text(as_json, "json").format == "json"
    assert gangway.Packet.from_yaml(seed.text).source_name is None
    named = gangway.Packet.from_yaml(seed.text, source_name="tf.yaml")
    assert named.source_name == "tf.yaml"
    assert "tf.yaml" in repr(named)


def test_packet_accessors(seed: gangway.Packet) -> None:
    assert seed.default_stage == "intake"
    assert seed.structural_findings == []
    assert seed.to_dict()["product_onboarding_packet"]["product_slug"] == "token-factory"
    assert json.loads(seed.canonical_json()) == seed.to_dict()
    assert gangway.Packet.field_info("/product_onboarding_packet/owner") == {
        "stage": "intake",
        "required": True,
    }
    assert gangway.Packet.field_info("/nope") is None


def test_not_applicable_markers() -> None:
    text = TYPO.replace(
        "  exposur:\n    posture: internal\n    public_docs_track: none\n",
        "  exposure:\n    not_applicable:\n      owner: a\n      reason: b\n      review_date: 2027-01-31\n",
    )
    markers = gangway.Packet.from_yaml(text).not_applicable
    assert len(markers) == 1
    assert markers[0]["path"] == "/product_onboarding_packet/exposure"
    assert markers[0]["review_date"] == datetime.date(2027, 1, 31)


# --- reports ------------------------------------------------------------------------


def test_report_fields(seed: gangway.Packet, registry: gangway.Registry) -> None:
    report = gangway.validate_packet(seed, registry, as_of=AS_OF)
    assert report.ok is False
    assert report.packet_id == "token-factory-onboarding-v1"
    assert report.stage == "intake"
    assert report.as_of == AS_OF
    assert (report.errors, report.warnings) == (3, 0)
    f = report.findings[0]
    assert isinstance(f, gangway.Finding)
    assert (f.code, f.severity, f.stage) == ("packet.missing", "error", "intake")
    assert f.path == "/product_onboarding_packet/exposure"
    assert (f.line, f.column) == (2, 3)
    assert "exposure is required" in f.message
    assert f.suggestion is None
    assert f.is_error


def test_canonical_json_and_dict(seed: gangway.Packet) -> None:
    report = gangway.validate_packet(seed, as_of=AS_OF)
    text = report.to_json()
    assert text.endswith("}\n") and text.startswith('{\n  "packet_id"')
    assert report.to_dict() == json.loads(text)
    assert list(report.to_dict()) == ["packet_id", "stage", "as_of", "ok", "findings"]
    assert [f.to_dict() for f in report.findings] == report.to_dict()["findings"]


def test_suggestion_and_patch() -> None:
    report = gangway.validate_packet(gangway.Packet.from_yaml(TYPO), as_of=AS_OF)
    unknown = [f for f in report.findings if f.code == "packet.unknown_field"]
    assert len(unknown) == 1
    s = unknown[0].suggestion
    assert isinstance(s, gangway.Suggestion)
    assert "exposure" in s.message
    assert isinstance(s.patch, list) and s.patch
    assert {"op", "path"} <= set(s.patch[0])
    assert s.to_dict() == unknown[0].to_dict()["suggestion"]
    assert "Suggestion(message=" in repr(s)


def test_stage_and_default_stage(seed: gangway.Packet, registry: gangway.Registry) -> None:
    assert gangway.validate_packet(seed, registry, stage="registry", as_of=AS_OF).stage == "registry"
    assert gangway.validate_packet(seed, registry, stage="2", as_of=AS_OF).stage == "registry"
    no_registry = gangway.validate_packet(seed, stage="registry", as_of=AS_OF)
    assert "registry.unavailable" in {f.code for f in no_registry.findings}
    assert gangway.STAGES == (
        "intake",
        "ownership",
        "registry",
        "contracts",
        "platform_services",
        "uat_evidence",
        "portal",
        "extraction",
    )
    assert [gangway.stage_number(s) for s in gangway.STAGES] == list(range(8))
    assert "registry" in gangway.stage_gate("registry")


def test_to_text_uses_the_source(seed: gangway.Packet) -> None:
    report = gangway.validate_packet(seed, as_of=AS_OF)
    text = report.to_text()
    assert f"--> {seed.source_name}:2:3" in text
    assert "2 |   packet_id: token-factory-onboarding-v1" in text
    assert "\x1b[" not in text
    assert "\x1b[" in report.to_text(color=True)
    assert str(report) == text


def test_sarif(seed: gangway.Packet) -> None:
    sarif = gangway.validate_packet(seed, as_of=AS_OF).to_sarif()
    assert sarif["version"] == "2.1.0"
    run = sarif["runs"][0]
    assert len(run["results"]) == 3
    location = run["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == seed.source_name
    assert (
        gangway.validate_packet(seed, as_of=AS_OF).to_sarif(uri="x.yaml")["runs"][0]["results"][0][
            "locations"
        ][0]["physicalLocation"]["artifactLocation"]["uri"]
        == "x.yaml"
    )


def test_reports_compare_by_value(seed: gangway.Packet) -> None:
    a = gangway.validate_packet(seed, as_of=AS_OF)
    b = gangway.validate_packet(seed, as_of="2026-11-22")
    assert a == b
    assert a.findings == b.findings
    assert a != gangway.validate_packet(seed, as_of="2026-11-23")


def test_progress(seed: gangway.Packet, registry: gangway.Registry) -> None:
    p = gangway.progress(seed, registry, as_of=AS_OF)
    assert p.first_blocked == "intake"
    assert p.ok is False
    assert [s.stage for s in p.stages] == list(gangway.STAGES)
    assert p.stages[0].errors == 3 and not p.stages[0].ok
    assert p.stages[0].number == 0 and p.stages[0].gate
    assert p.to_dict() == json.loads(p.to_json())
    assert "<- first blocked" in p.to_text()
    assert p == gangway.progress(seed, registry, as_of=AS_OF)


def test_complete_example_passes(
    complete_packet_path: Path, complete_registry_path: Path, complete_records_path: Path
) -> None:
    packet = gangway.Packet.from_path(complete_packet_path)
    registry = gangway.Registry.from_path(complete_registry_path)
    records = gangway.Records.from_path(complete_records_path)
    report = gangway.validate_packet(packet, registry, records=records, as_of=AS_OF)
    assert report.ok, report.to_text()
    assert report.stage == "extraction"
    progress = gangway.progress(packet, registry, records=records, as_of=AS_OF)
    assert progress.ok and progress.first_blocked is None
    text = packet.text
    assert gangway.validate_source(text, registry, records=records, as_of=AS_OF) == report


def test_complete_example_without_records_fails_closed(
    complete_packet_path: Path, complete_registry_path: Path
) -> None:
    packet = gangway.Packet.from_path(complete_packet_path)
    registry = gangway.Registry.from_path(complete_registry_path)
    report = gangway.validate_packet(packet, registry, as_of=AS_OF)
    assert not report.ok
    assert [(f.code, f.stage, f.severity, f.path) for f in report.findings] == [
        ("records.unavailable", "uat_evidence", "error", "/product_onboarding_packet")
    ]
    # Reported once, at the first stage that needs records; the stages before pass.
    progress = gangway.progress(packet, registry, as_of=AS_OF)
    assert progress.first_blocked == "uat_evidence"
    assert [s.stage for s in progress.stages if not s.ok] == ["uat_evidence"]
    assert gangway.validate_packet(packet, registry, stage="platform_services", as_of=AS_OF).ok


def test_validate_source_reports_unreadable_documents(registry: gangway.Registry) -> None:
    report = gangway.validate_source("a: [", registry, stage="ownership", as_of=AS_OF)
    assert report.ok is False
    assert report.packet_id is None
    assert report.stage == "ownership"
    assert [f.code for f in report.findings] == ["packet.parse"]
    with pytest.raises(gangway.ParseError) as info:
        gangway.Packet.from_yaml("a: [")
    assert gangway.unreadable_report(info.value, stage="ownership", as_of=AS_OF) == report
    ok = gangway.validate_source(TYPO, format="yaml", as_of=AS_OF, source_name="t.yaml")
    assert ok.source_name == "t.yaml" and "t.yaml:12:3" in ok.to_text()


# --- dates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "as_of",
    [AS_OF, "2026-11-22", datetime.datetime(2026, 11, 22, 23, 59)],
    ids=["date", "iso-string", "datetime"],
)
def test_as_of_forms(seed: gangway.Packet, as_of: Any) -> None:
    assert gangway.validate_packet(seed, as_of=as_of).as_of == AS_OF


def test_as_of_defaults_to_today(seed: gangway.Packet) -> None:
    before = datetime.date.today()
    got = gangway.validate_packet(seed).as_of
    assert before <= got <= datetime.date.today()


@pytest.mark.parametrize("bad", ["2026-13-01", "22/11/2026", "2026-11-22T00:00", "", 20261122, 3.5])
def test_bad_as_of(seed: gangway.Packet, bad: Any) -> None:
    with pytest.raises(gangway.InvalidInputError) as info:
        gangway.validate_packet(seed, as_of=bad)
    err = info.value
    assert err.code == "invalid_date"
    assert err.path == "as_of"
    assert isinstance(err, gangway.GangwayError) and isinstance(err, ValueError)


# --- exceptions ---------------------------------------------------------------------


@pytest.mark.parametrize("bad", ["launch", "8", "", 3, ["intake"]])
def test_bad_stage(seed: gangway.Packet, bad: Any) -> None:
    with pytest.raises(gangway.InvalidInputError) as info:
        gangway.validate_packet(seed, stage=bad)
    assert info.value.code == "invalid_stage"
    assert info.value.path == "stage"
    assert info.value.line is None and info.value.column is None


def test_parse_error_fields() -> None:
    text = "product_onboarding_packet:\n  packet_id: x\n  product_id: [\n"
    with pytest.raises(gangway.ParseError) as info:
        gangway.Packet.from_yaml(text, source_name="broken.yaml")
    err = info.value
    assert isinstance(err, gangway.GangwayError) and isinstance(err, ValueError)
    assert err.code == "packet.parse"
    assert err.path == ""
    assert isinstance(err.line, int) and isinstance(err.column, int) and err.line >= 3
    assert err.source_name == "broken.yaml"
    assert err.finding is not None
    assert (err.finding.code, err.finding.line, err.finding.column) == ("packet.parse", err.line, err.column)
    assert str(err).startswith("broken.yaml: packet.parse: ")
    assert repr(err).startswith("ParseError(code='packet.parse'")


def test_parse_error_for_limits() -> None:
    deep = "a: " + "[" * 20 + "]" * 20
    gangway.Packet.from_yaml(deep)
    with pytest.raises(gangway.ParseError, match=r"deep|depth|nest"):
        gangway.Packet.from_yaml(deep, limits=gangway.Limits(max_depth=5))
    with pytest.raises(gangway.ParseError):
        gangway.Packet.from_yaml("a: 1\n" * 100, limits=gangway.Limits(max_bytes=50))
    assert gangway.Limits() == gangway.Limits(max_bytes=1 << 20)
    assert repr(gangway.Limits(max_depth=5)).startswith("Limits(max_bytes=1048576, max_depth=5")


def test_parse_error_for_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"product_onboarding_packet:\n  packet_id: caf\xe9\n")
    with pytest.raises(gangway.ParseError, match="not UTF-8") as info:
        gangway.Packet.from_path(path)
    assert (info.value.line, info.value.column) == (1, 1)


def test_registry_error_fields() -> None:
    text = "registry:\n  scopes: 3\n  products:\n    - key: x\n"
    with pytest.raises(gangway.RegistryError) as info:
        gangway.Registry.from_yaml(text, source_name="reg.yaml")
    err = info.value
    assert isinstance(err, gangway.GangwayError)
    assert err.code == "registry.invalid"
    assert len(err.problems) >= 2
    first = err.problems[0]
    assert isinstance(first, gangway.RegistryProblem)
    assert (err.path, err.line, err.column) == (first.path, first.line, first.column)
    assert err.path == "/registry/scopes" and (err.line, err.column) == (2, 11)
    body = json.loads(err.to_json())
    assert body["error"]["code"] == "registry.invalid"
    assert [p["path"] for p in body["error"]["problems"]] == [p.path for p in err.problems]
    assert err.to_json().endswith("}\n")
    assert str(err).startswith("reg.yaml: registry.invalid: ")
    assert "more problem" in str(err)


def test_registry_parse_error() -> None:
    with pytest.raises(gangway.RegistryError) as info:
        gangway.Registry.from_yaml("registry: [")
    assert info.value.code == "registry.parse"


def test_file_error(tmp_path: Path) -> None:
    missing = tmp_path / "missing.yaml"
    for load in (gangway.Packet.from_path, gangway.Registry.from_path):
        with pytest.raises(gangway.FileError) as info:
            load(missing)
        err = info.value
        assert isinstance(err, gangway.GangwayError) and isinstance(err, OSError)
        assert err.code == "file.unreadable"
        assert err.filename == str(missing)
        assert err.errno == 2


def test_everything_raised_is_a_gangway_error(seed: gangway.Packet) -> None:
    calls: list[Callable[[], object]] = [
        lambda: gangway.Packet.from_yaml("a: ["),
        lambda: gangway.Packet.from_path("/nonexistent/packet.yaml"),
        lambda: gangway.Packet.parse_text("{}", "toml"),  # type: ignore[arg-type]
        lambda: gangway.Registry.from_yaml("registry: 1"),
        lambda: gangway.validate_packet(seed, stage="nope"),
        lambda: gangway.validate_packet(seed, as_of="yesterday"),
        lambda: gangway.progress(seed, as_of="2026-02-30"),
        lambda: gangway.starter_packet("Not A Slug"),
        lambda: gangway.stage_gate("nope"),
        lambda: gangway.Entry("widget", "x", state="active", owner="o"),
        lambda: gangway.Entry("scope", "x", state="gone", owner="o"),
        lambda: gangway.Entry("usage_unit", "x", state="active", owner="o", version="one"),
        lambda: gangway.Registry.from_entries(["not an entry"]),  # type: ignore[list-item]
        lambda: gangway.unreadable_report(ValueError("x")),  # type: ignore[arg-type]
    ]
    for call in calls:
        with pytest.raises(gangway.GangwayError) as info:
            call()
        assert info.value.code


def test_wrong_argument_types_are_type_errors() -> None:
    with pytest.raises(TypeError):
        gangway.validate_packet("packet.yaml")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        gangway.Packet.from_yaml(b"bytes")  # type: ignore[arg-type]


# --- registry and entries -----------------------------------------------------------


def test_registry_queries(registry: gangway.Registry) -> None:
    assert len(registry) == len(registry.entries()) > 0
    product = registry.get("product", "token-factory")
    assert product is not None and product.kind == "product"
    assert registry.get("products", "token-factory") == product
    assert registry.get("product", "nope") is None
    assert "token-factory" in registry.keys("product")
    unit = next(e for e in registry.entries() if e.kind == "usage_unit")
    assert unit.version is not None
    assert registry.get("usage_unit", unit.key, unit.version) == unit
    assert registry.get("usage_unit", unit.key, "v99") is None
    assert registry.source_name is not None and registry.source_name.endswith("registry.yaml")


def test_registry_from_entries(seed: gangway.Packet) -> None:
    entries = [
        gangway.Entry("product", "token-factory", state="active", owner="t"),
        gangway.Entry(
            "usage_unit", "request", state="deprecated", owner="b", version="v1", sunset="2027-06-30"
        ),
    ]
    reg = gangway.Registry.from_entries(entries)
    assert reg.entries() == entries
    assert entries[1].version == "1.0.0" and entries[1].label == "request@1.0.0"
    assert entries[1].sunset == datetime.date(2027, 6, 30)
    with pytest.raises(gangway.RegistryError, match="listed twice"):
        gangway.Registry.from_entries(entries + entries[:1])
    assert len(gangway.Registry()) == 0
    report = gangway.validate_packet(seed, reg, stage="registry", as_of=AS_OF)
    assert "registry.unavailable" not in {f.code for f in report.findings}


def test_constants() -> None:
    assert len(gangway.KINDS) == 14 and "usage_unit" in gangway.KINDS
    assert gangway.ENTRY_STATES == ("draft", "active", "deprecated", "retired")
    assert gangway.SEVERITIES == ("error", "warning")
    assert gangway.__version__


def test_rule_catalog_and_state_changes() -> None:
    catalog = gangway.rules()
    codes = {r["code"] for r in catalog}
    assert {"packet.missing", "iam.scope_unregistered", "gap.overdue"} <= codes
    assert all(r["stage"] in gangway.STAGES and r["severity"] in gangway.SEVERITIES for r in catalog)
    assert all(r["summary"] for r in catalog)
    assert gangway.can_change_state("draft", "active")
    assert not gangway.can_change_state("retired", "active")
    with pytest.raises(gangway.InvalidInputError):
        gangway.can_change_state("draft", "live")


def test_schema_and_starter() -> None:
    schema = gangway.json_schema()
    assert schema["$schema"].endswith("2020-12/schema")
    assert "product_onboarding_packet" in schema["properties"]
    starter = gangway.Packet.from_yaml(gangway.starter_packet("demo-product"))
    assert starter.packet_id is None or "demo-product" in starter.packet_id
    report = gangway.validate_packet(starter, as_of=AS_OF)
    assert not report.ok and {f.code for f in report.findings} == {"packet.missing"}


# --- REPL and notebook ----------------------------------------------------------------


def test_reprs(seed: gangway.Packet, registry: gangway.Registry) -> None:
    report = gangway.validate_packet(seed, registry, as_of=AS_OF)
    progress = gangway.progress(seed, registry, as_of=AS_OF)
    entry = registry.entries()[0]
    reprs = {
        "Packet": repr(seed),
        "Registry": repr(registry),
        "Report": repr(report),
        "Finding": repr(report.findings[0]),
        "Progress": repr(progress),
        "StageStatus": repr(progress.stages[0]),
        "Entry": repr(entry),
        "Limits": repr(gangway.Limits()),
    }
    assert reprs["Packet"].startswith("<gangway.Packet packet_id='token-factory-onboarding-v1' format=yaml")
    assert reprs["Registry"].startswith(f"<gangway.Registry entries={len(registry)} ")
    assert reprs["Report"] == (
        "<gangway.Report packet_id='token-factory-onboarding-v1' stage='intake' as_of=2026-11-22 "
        "blocked: 3 error(s), 0 warning(s)>"
    )
    assert reprs["Finding"].startswith("Finding(code='packet.missing', severity='error', stage='intake', ")
    assert reprs["Progress"] == (
        "<gangway.Progress packet_id='token-factory-onboarding-v1' as_of=2026-11-22 first_blocked='intake'>"
    )
    assert reprs["StageStatus"] == "StageStatus(stage='intake', ok=False, errors=3, warnings=0)"
    assert reprs["Entry"].startswith(f"Entry(kind={entry.kind!r}, key={entry.key!r}")
    for cls in (gangway.Packet, gangway.Registry, gangway.Report, gangway.Finding, gangway.Progress):
        assert cls.__module__ == "gangway"


def test_report_html() -> None:
    report = gangway.validate_packet(
        gangway.Packet.from_yaml(TYPO.replace("demo-eng", "<b>x</b>")), as_of=AS_OF
    )
    html = report._repr_html_()
    assert "<table>" in html
    for column in ("severity", "code", "path", "line", "message", "suggestion"):
        assert f"<th>{column}</th>" in html
    assert "packet.unknown_field" in html and "/product_onboarding_packet/exposur" in html
    assert "#b42318" in html  # errors in red
    assert "did you mean" in html.lower() or "exposure" in html
    assert "blocked" in html and "as of 2026-11-22" in html


def test_report_html_escapes_user_text() -> None:
    text = TYPO.replace("  exposur:", "  <script>x</script>:")
    html = gangway.validate_packet(gangway.Packet.from_yaml(text), as_of=AS_OF)._repr_html_()
    assert "<script>" not in html
    assert "&lt;script&gt;" in html


def test_progress_html(seed: gangway.Packet, registry: gangway.Registry) -> None:
    html = gangway.progress(seed, registry, as_of=AS_OF)._repr_html_()
    assert html.count("<tr") == 9  # header and the eight stages
    assert html.count('class="blocked"') == 1
    assert "first blocked" in html
    for stage in gangway.STAGES:
        assert f"<code>{stage}</code>" in html


def test_to_pandas(seed: gangway.Packet, registry: gangway.Registry) -> None:
    pandas = pytest.importorskip("pandas")
    frame = gangway.validate_packet(seed, registry, as_of=AS_OF).to_pandas()
    assert isinstance(frame, pandas.DataFrame)
    assert list(frame.columns) == [
        "severity",
        "code",
        "stage",
        "path",
        "line",
        "column",
        "message",
        "suggestion",
    ]
    assert len(frame) == 3 and set(frame["code"]) == {"packet.missing"}
    stages = gangway.progress(seed, registry, as_of=AS_OF).to_pandas()
    assert len(stages) == 8 and stages["first_blocked"].sum() == 1


def test_to_pandas_without_pandas(seed: gangway.Packet, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pandas", None)  # makes `import pandas` fail
    report = gangway.validate_packet(seed, as_of=AS_OF)
    with pytest.raises(gangway.MissingDependencyError, match="pip install pandas") as info:
        report.to_pandas()
    assert isinstance(info.value, ImportError) and isinstance(info.value, gangway.GangwayError)
    assert info.value.code == "missing_dependency"


# --- threads ------------------------------------------------------------------------


def test_concurrent_use_from_threads(
    seed: gangway.Packet,
    registry: gangway.Registry,
    complete_packet_path: Path,
    complete_registry_path: Path,
    complete_records_path: Path,
) -> None:
    complete = gangway.Packet.from_path(complete_packet_path)
    complete_registry = gangway.Registry.from_path(complete_registry_path)
    records = gangway.Records.from_path(complete_records_path)

    def complete_report() -> str:
        return gangway.validate_packet(complete, complete_registry, records=records, as_of=AS_OF).to_json()

    expected = {
        "seed": gangway.validate_packet(seed, registry, stage="extraction", as_of=AS_OF).to_json(),
        "complete": complete_report(),
        "progress": gangway.progress(complete, complete_registry, records=records, as_of=AS_OF).to_json(),
        "parse": complete.canonical_json(),
    }
    assert json.loads(expected["complete"])["ok"] is True

    def work(i: int) -> dict[str, str]:
        out = {}
        for _ in range(20):
            out["seed"] = gangway.validate_packet(seed, registry, stage="extraction", as_of=AS_OF).to_json()
            out["complete"] = complete_report()
            out["progress"] = gangway.progress(
                complete, complete_registry, records=records, as_of=AS_OF
            ).to_json()
            out["parse"] = gangway.Packet.from_yaml(complete.text).canonical_json()
        return out

    with concurrent.futures.ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(work, range(16)))
    assert all(r == expected for r in results)
