"""Checklists from Python: templates (built-in and read), runs evaluated directly and
in the store, probes and flows driven through ``FlowRun`` over a fake transport,
adoption metrics, the notebook view, and secrets kept out of everything recorded.

The main scenario runs the built-in ``assisted-public-launch`` template end to end: a
canned seed-001 API answers every probe and the first-value flow, manual items are
checked with evidence (two waived until a date), the decision record is filled in and
the billing gate is satisfied by a paid invoice (rate card → usage → invoice → paid).
"""

from __future__ import annotations

import datetime
import html
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gangway
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "token-factory-complete"
LAUNCH = ROOT / "conformance" / "fixtures" / "checklist" / "launch.yaml"
ACTOR = "ops@platform.example"
AT = "2026-12-02T09:00:00Z"
TENANT = "tenant-acme"

# The secrets handed to the flows, and the bearer token the fake API issues: none of
# them may appear in anything recorded or shown.
SECRETS = {
    "INTEGRATION_KEY": "ik_live_5f2c9a71",
    "REVOKED_KEY": "ik_revoked_77d1",
    "INVALID_KEY": "ik_never_issued_0b3e",
}
TOKEN = "tok_9c41e7f0aa"
JOB = "job-981"

CARD = """rate_card:
  currency: USD
  rates:
    - {unit: token_input, version: 1.0.0, price: "0.0020", effective_from: 2026-01-01}
"""

# ---- a fake seed-001 API: canned responses by (method, path) ----

Reply = tuple[int, dict[str, str], Any]


class FakeApi:
    """The seed-001 API as a dict of canned responses (see docs/checklists.md, "The
    seed-001 API the built-in template expects"); a job is `running` on its first poll
    and `done` after. Every request it receives is kept, with its real values."""

    def __init__(self) -> None:
        self.polls = 0
        self.received: list[tuple[str, str, dict[str, str], Any]] = []
        self.routes: dict[tuple[str, str], Callable[[dict[str, str], Any], Reply]] = {
            ("GET", "/health"): lambda h, b: (
                200,
                {},
                {"status": "ok", "checks": {"migrations": {"pending": 0}}},
            ),
            ("POST", "/api/auth/token/integration"): self.token,
            ("POST", "/api/upload"): self.bearer(lambda: (202, {"job": {"id": JOB, "status": "queued"}})),
            ("GET", f"/api/jobs/{JOB}"): self.bearer(self.poll),
            ("GET", "/api/jobs/route-auth-check"): self.bearer(lambda: (404, None)),
            ("GET", "/api/sima/results"): self.bearer(lambda: (200, {"job_id": JOB, "results": [{"ok": 1}]})),
            ("POST", "/api/catalog/upload"): self.bearer(lambda: (202, None)),
            ("POST", "/api/ship/upload"): self.bearer(lambda: (202, None)),
            ("POST", "/api/orders/upload"): self.bearer(lambda: (202, None)),
        }

    def token(self, headers: dict[str, str], body: Any) -> Reply:
        if isinstance(body, dict) and body.get("key") == SECRETS["INTEGRATION_KEY"]:
            return 200, {}, {"token": TOKEN, "token_type": "Bearer"}
        return 401, {}, {"error": "invalid_api_key"}

    def bearer(self, answer: Callable[[], tuple[int, Any]]) -> Callable[[dict[str, str], Any], Reply]:
        def handler(headers: dict[str, str], body: Any) -> Reply:
            if headers.get("authorization") != f"Bearer {TOKEN}":
                return 401, {}, {"error": "unauthorized"}
            status, reply = answer()
            return status, {}, reply

        return handler

    def poll(self) -> tuple[int, Any]:
        self.polls += 1
        return 200, {"id": JOB, "status": "running" if self.polls == 1 else "done"}

    def send(self, request: gangway.FlowRequest) -> Reply:
        headers = {name.lower(): value for name, value in request.headers}
        self.received.append((request.method, request.path, headers, request.json))
        route = self.routes.get((request.method, request.path.split("?")[0]))
        if route is None:
            return 404, {}, None
        status, reply_headers, body = route(headers, request.json)
        return status, {"X-Request-Id": f"req-{len(self.received)}", **reply_headers}, body


def clock(start: datetime.datetime) -> Iterator[datetime.datetime]:
    now = start
    while True:
        yield now
        now += datetime.timedelta(seconds=1)


def drive(flow: gangway.FlowRun, api: FakeApi, ticks: Iterator[datetime.datetime]) -> gangway.FlowArtifact:
    """The runner loop: ask for the next request, "wait", send it, hand the reply back."""
    while (request := flow.next()) is not None:
        assert request.wait_ms in (0, 2000)
        status, headers, body = api.send(request)
        flow.respond(status, headers, body, elapsed_ms=12, at=next(ticks))
    return flow.artifact()


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in [*SECRETS.values(), TOKEN]:
            assert secret not in text


# ---- templates ----


def test_builtins_load() -> None:
    assert gangway.BUILTIN_TEMPLATES == (
        "assisted-public-launch",
        "customer-onboarding",
        "product-onboarding",
    )
    shapes = {}
    for template_id in gangway.BUILTIN_TEMPLATES:
        t = gangway.ChecklistTemplate.builtin(template_id)
        assert t.id == template_id and t.source_name == f"builtin:{template_id}"
        kinds: dict[str, int] = {}
        for section in t.sections:
            for item in section.items:
                assert item.key == f"{section.id}.{item.id}" and item.section == section.id
                kinds[item.kind] = kinds.get(item.kind, 0) + 1
        shapes[template_id] = (len(t.sections), kinds, len(t.exit_criteria), t.parameters)
        # The text round-trips: reading it again gives the same template.
        assert gangway.ChecklistTemplate.from_yaml(t.text) == t
    assert shapes == {
        "assisted-public-launch": (7, {"manual": 37, "probe": 11, "flow": 1, "gate": 1}, 3, ["tenant"]),
        "customer-onboarding": (6, {"manual": 58, "gate": 2}, 8, ["tenant"]),
        "product-onboarding": (2, {"gate": 15}, 2, ["packet_id"]),
    }
    launch = gangway.ChecklistTemplate.builtin("assisted-public-launch")
    assert launch.secret_names == ["INTEGRATION_KEY", "INVALID_KEY", "REVOKED_KEY"]
    assert (
        repr(launch)
        == "ChecklistTemplate(id='assisted-public-launch', sections=7, items=50, exit_criteria=3)"
    )
    health = launch.item("infrastructure.health")
    assert health is not None and health.kind == "probe"
    assert health.to_dict()["expect"][0] == {"status": {"eq": 200}}
    assert launch.item("infrastructure.nope") is None and launch.item("nodot") is None
    assert [c["id"] for c in launch.exit_criteria] == ["all_sections", "decision_record", "first_value"]
    assert len(launch.item_keys()) == 50
    assert json.loads(launch.to_json()) == launch.to_dict()
    assert "Exit criteria" in launch._repr_html_()

    with pytest.raises(gangway.InvalidInputError) as info:
        gangway.ChecklistTemplate.builtin("self-serve")
    assert (info.value.code, info.value.path) == ("invalid_template", "id")
    assert "assisted-public-launch" in info.value.message


def test_template_errors_carry_every_problem(tmp_path: Path) -> None:
    bad = """id: Bad Id
title: " "
source: a test
sections:
  - id: ops
    title: Ops
    items:
      - {id: a, text: a thing, kind: manul}
exit_criteria:
  - {id: all, text: all, all_sections: true}
"""
    path = tmp_path / "bad.yaml"
    path.write_text(bad)
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.ChecklistTemplate.from_path(path)
    err = info.value
    assert isinstance(err, gangway.GangwayError) and isinstance(err, ValueError)
    assert len(err.problems) == 3
    assert [(p.code, p.path, p.line) for p in err.problems] == [
        ("checklist.template_invalid", "/id", 1),
        ("checklist.template_invalid", "/title", 2),
        ("checklist.template_invalid", "/sections/0/items/0/kind", 8),
    ]
    first = err.problems[0]
    assert (err.code, err.path, err.line, err.column) == (first.code, first.path, first.line, first.column)
    assert err.source_name == str(path) and str(err).startswith(f"{path}: checklist.template_invalid")
    assert "and 2 more problem(s)" in str(err)
    error_json = err.to_json()
    assert error_json is not None and error_json.endswith("\n")
    assert json.loads(error_json)["error"]["problems"][2]["message"] == err.problems[2].message

    with pytest.raises(gangway.ChecklistError) as info:
        gangway.ChecklistTemplate.from_yaml("id: [", source_name="inline")
    assert info.value.code == "checklist.template_syntax" and info.value.line == 1
    with pytest.raises(gangway.FileError) as missing:
        gangway.ChecklistTemplate.from_path(tmp_path / "missing.yaml")
    assert missing.value.code == "file.unreadable"


# ---- runs evaluated directly ----


def test_evaluate_a_run_directly() -> None:
    template = gangway.ChecklistTemplate.from_path(LAUNCH)
    run = gangway.ChecklistRun(
        template,
        parameters={"tenant": "acme", "packet_id": "pkt-acme"},
        items={
            "infrastructure.env_vars": {"state": "done", "evidence": ["ev-1"], "by": "ana", "at": AT},
            "security.revoked_key": {
                "state": "waived",
                "waiver": {"owner": "sec-lead", "reason": "key rotation next week", "expires": "2026-03-31"},
            },
        },
        known_gaps=[{"text": "alert routing", "owner": "ops", "due": datetime.date(2026, 3, 20)}],
        decision_record={"rollback_authority": "CTO"},
    )
    assert run.template == "mini-launch" and run.parameters == {"tenant": "acme", "packet_id": "pkt-acme"}
    assert run.item("infrastructure.env_vars") is not None and run.item("first_value.end_to_end") is None
    assert run.known_gaps == [{"text": "alert routing", "owner": "ops", "due": "2026-03-20"}]
    assert gangway.ChecklistRun.from_dict(run.to_dict()) == run
    assert gangway.ChecklistRun.from_json(run.to_json()) == run
    assert repr(run) == (
        "ChecklistRun(template='mini-launch', parameters={'packet_id': 'pkt-acme', 'tenant': 'acme'}, "
        "items=2, known_gaps=1)"
    )

    facts = {"billing": {"acme": {"satisfied": True, "detail": "invoice:INV-1"}}, "adoption_weeks": 1}
    before = gangway.evaluate_checklist(template, run, facts, as_of="2026-03-31")
    after = gangway.evaluate_checklist(template, run, facts, as_of=datetime.date(2026, 4, 1))
    status = {i["key"]: i["status"] for i in before.items}
    assert status["security.revoked_key"] == "waived" and status["infrastructure.env_vars"] == "done"
    assert status["billing.payment_gate"] == "done"
    assert {i["key"]: i["status"] for i in after.items}["security.revoked_key"] == "waiver_lapsed"
    assert not before.complete and before.as_of == datetime.date(2026, 3, 31)
    assert before.overdue_gaps == [{"text": "alert routing", "owner": "ops", "due": "2026-03-20"}]
    assert before.decision_record["missing"] == ["technical_owner_signoff", "support_channel", "support_sla"]
    assert before.upcoming_changes() == [
        {
            "date": "2026-04-01",
            "change": "waiver_lapses",
            "subject": "security.revoked_key",
            "owner": "sec-lead",
        }
    ]
    assert before.run_id is None and before.standard is None and before.adoption is None
    assert before.facts["adoption_weeks"] == 1 and before.run == run and before.template == template
    assert json.loads(before.to_json()) == before.to_dict()
    markdown = before.to_markdown()
    assert markdown.startswith("# ") and "`security.revoked_key`" in markdown
    assert "complete=False" in repr(before)

    # Every problem with the run itself is in the verdict, not an exception.
    other = gangway.ChecklistRun("another", parameters={"region": "eu"}, items={"ops.nope": {}})
    codes = [p["code"] for p in gangway.evaluate_checklist(template, other, as_of="2026-03-01").problems]
    assert codes == [
        "checklist.parameter_missing",
        "checklist.parameter_missing",
        "checklist.template_mismatch",
        "checklist.unknown_item",
        "checklist.unknown_parameter",
    ]


def test_run_values_that_do_not_fit_are_refused() -> None:
    def refused(call: Callable[[], object]) -> gangway.GangwayError:
        with pytest.raises(gangway.GangwayError) as info:
            call()
        return info.value

    e = refused(lambda: gangway.ChecklistRun("t", items={"a.b": {"stat": "done"}}))
    assert isinstance(e, gangway.InvalidInputError) and e.code == "invalid_run"
    assert e.path == "items['a.b']" and "unknown field `stat`" in e.message
    e = refused(lambda: gangway.ChecklistRun("t", items={"a.b": {"at": datetime.datetime(2026, 1, 1)}}))
    assert "timezone-aware" in e.message
    e = refused(lambda: gangway.ChecklistRun("t", known_gaps=[{"text": "x", "owner": "y", "due": "soon"}]))
    assert e.path == "known_gaps"
    e = refused(lambda: gangway.ChecklistRun.from_json("{}"))
    assert e.code == "invalid_run" and "template" in e.message
    e = refused(lambda: gangway.ChecklistRun(3))  # type: ignore[arg-type]
    assert e.code == "invalid_template"
    template = gangway.ChecklistTemplate.from_path(LAUNCH)
    run = gangway.ChecklistRun(template)
    e = refused(lambda: gangway.evaluate_checklist(template, run, {"billing": {"acme": True}}))
    assert (e.code, e.path) == ("invalid_facts", "facts")
    looped: list[Any] = []
    looped.append(looped)
    e = refused(lambda: gangway.ChecklistRun("t", items={"a.b": {"evidence": looped}}))
    assert "nested more than" in e.message


# ---- probes and flows ----


def test_check_response() -> None:
    results = gangway.check_response(
        [
            {"status": 200},
            {"pointer": "/status", "in": ["ok", "degraded"]},
            {"header": "x-id", "exists": True},
        ],
        {"status": 200, "headers": {"X-Id": "r-1"}, "body": {"status": "down"}},
    )
    assert [r["pass"] for r in results] == [True, False, True]
    assert results[1]["reason"] == 'expected one of ["ok","degraded"], found "down"'
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.check_response(
            [{"status": 200}, {"pointer": "nope", "eq": 1}, {"status": "ok"}], {"status": 200}
        )
    assert [(p.code, p.path, p.line) for p in info.value.problems] == [
        ("checklist.invalid_pointer", "/1/pointer", None),
        ("checklist.template_invalid", "/2/status", None),
    ]
    with pytest.raises(gangway.InvalidInputError) as bad:
        gangway.check_response([{"status": 200}], {"status": 200, "extra": 1})
    assert (bad.value.code, bad.value.path) == ("invalid_response", "response")


def test_flow_errors() -> None:
    template = gangway.ChecklistTemplate.builtin("assisted-public-launch")
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.FlowRun(template, "first_value.trade_end_to_end", secrets={"REVOKED_KEY": "x"})
    err = info.value
    assert err.code == "checklist.input_missing" and err.problems == []
    assert (err.missing_parameters, err.missing_secrets) == ([], ["INTEGRATION_KEY"])
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.FlowRun(template, "infrastructure.env_node_env")
    assert info.value.code == "checklist.not_automatic"
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.FlowRun(template, "infrastructure.helth")
    assert info.value.code == "checklist.unknown_item" and "did you mean `infrastructure.health`" in str(
        info.value
    )

    flow = gangway.FlowRun(template, "infrastructure.health")
    request = flow.next()
    assert request is not None and (request.step, request.attempt, request.method) == ("health", 1, "GET")
    assert request.url("https://api.example/") == "https://api.example/health"
    flow.transport_error("connection refused", at=AT)
    assert flow.finished and flow.next() is None
    artifact = flow.artifact()
    assert (
        artifact.outcome == "failed" and artifact.reason == "step `health`: no response: connection refused"
    )
    with pytest.raises(gangway.ChecklistError) as info:
        flow.respond(200)
    assert info.value.code == "checklist.flow_finished"
    with pytest.raises(gangway.InvalidInputError):
        gangway.FlowRun(template, "infrastructure.health").respond(200, {"x": 1})  # type: ignore[arg-type]


def test_flow_driven_and_replayed_agree() -> None:
    template = gangway.ChecklistTemplate.builtin("assisted-public-launch")
    key = "first_value.trade_end_to_end"
    api = FakeApi()
    flow = gangway.FlowRun(template, key, params={"tenant": TENANT}, secrets=SECRETS)
    assert (
        repr(flow)
        == "FlowRun(item='first_value.trade_end_to_end', step='token', attempt=1, outcome='incomplete')"
    )
    first = flow.next()
    assert first is not None and first.json == {"key": SECRETS["INTEGRATION_KEY"]}
    assert first.redacted["json"] == {"key": "***"} and first.to_dict()["request"]["json"] == {"key": "***"}
    assert_no_secret(repr(first), json.dumps(first.to_dict()))

    replies: list[dict[str, Any]] = []
    ticks = clock(datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.timezone.utc))
    while (request := flow.next()) is not None:
        status, headers, body = api.send(request)
        at = next(ticks)
        replies.append(
            {"at": at.isoformat(), "response": {"status": status, "headers": headers, "body": body}}
        )
        flow.respond(status, list(headers.items()), body, at=at)
    artifact = flow.artifact()
    assert artifact.passed and artifact.outcome == "passed"
    assert [s["step"] for s in artifact.steps] == ["token", "enqueue", "poll", "results"]
    assert [len(s["attempts"]) for s in artifact.steps] == [1, 1, 2, 1]
    assert artifact.job_ids == [JOB] and artifact.request_ids == ["req-1", "req-2", "req-3", "req-4", "req-5"]
    assert artifact.captures == {"job_id": JOB, "token": "***"}
    assert artifact.started_at == datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.timezone.utc)
    # The real token went to the API; the artifact shows none of it.
    assert api.received[1][2]["authorization"] == f"Bearer {TOKEN}"
    assert_no_secret(artifact.to_json(), repr(artifact), repr(flow))

    replayed = gangway.replay_flow(template, key, replies, params={"tenant": TENANT}, secrets=SECRETS)
    assert replayed == artifact
    assert gangway.FlowArtifact.from_dict(artifact.to_dict()) == artifact
    short = gangway.replay_flow(template, key, replies[:3], params={"tenant": TENANT}, secrets=SECRETS)
    assert short.outcome == "incomplete" and short.steps[2]["outcome"] == "pending"


# ---- adoption ----


def test_adoption() -> None:
    rows = [
        {"week": 1, "shifts_in_scope": 20, "shifts_recorded": 13, "permission_errors": 4},
        {"week": 2, "shifts_in_scope": 20, "shifts_recorded": 18, "permission_errors": 1},
        {"week": 3, "shifts_in_scope": 20, "shifts_recorded": 19, "permission_errors": 0},
    ]
    verdict = gangway.evaluate_adoption(rows)
    assert verdict.thresholds_met and verdict.primary_tool and verdict.weeks_as_primary == 2
    assert [w["recorded_percent"] for w in verdict.weeks] == [65.0, 90.0, 95.0]
    assert verdict.thresholds["min_weeks"] == 2 and verdict.permission_errors["pass"]
    assert (
        repr(verdict)
        == "AdoptionVerdict(weeks=3, thresholds_met=True, weeks_as_primary=2, primary_tool=True)"
    )
    assert "week" in verdict._repr_html_()
    stricter = gangway.evaluate_adoption(rows, {"min_weeks": 3})
    assert not stricter.primary_tool
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.evaluate_adoption([*rows, rows[0]])
    assert info.value.code == "adoption.duplicate_week"
    with pytest.raises(gangway.ChecklistError) as info:
        gangway.evaluate_adoption(rows, {"later_min_percent": 101})
    assert info.value.code == "adoption.invalid_threshold"
    with pytest.raises(gangway.InvalidInputError) as bad:
        gangway.evaluate_adoption([{"week": 1}])
    assert (bad.value.code, bad.value.path) == ("invalid_rows", "rows")


# ---- the assisted public launch, end to end in a store ----


@pytest.fixture()
def store(tmp_path: Path) -> gangway.Store:
    """A store file with the complete Token Factory example and a paid invoice for
    the tenant: rate card → usage → invoice generated, issued, paid."""
    s = gangway.Store.open(tmp_path / "gangway.db")
    s.import_registry((COMPLETE / "registry.yaml").read_text(), actor=ACTOR, at=AT)
    s.put_packet(gangway.Packet.from_path(COMPLETE / "packet.yaml"), actor=ACTOR, at=AT)
    return s


def pay_an_invoice(store: gangway.Store) -> gangway.Invoice:
    billing = store.billing()
    billing.set_rate_card(gangway.RateCard.from_yaml(CARD), actor="finance", at=AT)
    event = {
        "product": "token-factory",
        "unit": "token_input",
        "version": "1.0.0",
        "quantity": 1500,
        "resource_type": "model_endpoint",
        "tenant": TENANT,
        "idempotency_key": "e-1",
        "at": "2026-11-03T10:00:00Z",
    }
    assert billing.ingest_usage([event], actor="metering", at=AT).accepted == 1
    draft = billing.generate_invoice(
        TENANT, datetime.date(2026, 11, 1), datetime.date(2026, 12, 1), key="gen", actor="billing", at=AT
    )
    billing.issue_invoice(draft.id, key="issue", actor="billing", at=AT)
    paid = billing.mark_paid(draft.id, "wire-118", key="pay", actor="billing", at=AT)
    assert billing.gate(TENANT, "paid")
    return paid


WAIVED = {
    "guardrails.nightly_validation": "2026-12-15",
    "first_value.orders_variant": "2026-12-31",
}


def test_assisted_public_launch_end_to_end(store: gangway.Store, tmp_path: Path) -> None:
    template = gangway.ChecklistTemplate.builtin("assisted-public-launch")
    stored = store.new_checklist_run(template, parameters={"tenant": TENANT}, actor=ACTOR, at=AT)
    run_id = stored.id
    assert run_id == "RUN-000001" and stored.template_id == "assisted-public-launch"
    assert stored.template == template and stored.created_by == ACTOR
    assert stored.run.parameters == {"tenant": TENANT} and stored.packet_id is None

    # Every probe and the flow, over the fake API; each artifact recorded.
    api = FakeApi()
    ticks = clock(datetime.datetime(2026, 12, 2, 10, tzinfo=datetime.timezone.utc))
    automatic = [i for s in template.sections for i in s.items if i.kind in ("probe", "flow")]
    assert len(automatic) == 12
    for item in automatic:
        flow = gangway.FlowRun(template, item.key, params=stored.run.parameters, secrets=SECRETS)
        artifact = drive(flow, api, ticks)
        assert artifact.passed, (item.key, artifact.reason)
        record = store.record_result(run_id, item.key, artifact, actor=ACTOR, at=AT)
        assert record["state"] == "done" and record["result"]["outcome"] == "passed"

    # Manual items: checked done with evidence, two waived until a date.
    for section in template.sections:
        for item in section.items:
            if item.kind != "manual":
                continue
            if item.key in WAIVED:
                store.waive_item(
                    run_id,
                    item.key,
                    owner="ops-lead",
                    reason="lands after launch",
                    expires=WAIVED[item.key],
                    actor=ACTOR,
                    at=AT,
                )
            else:
                store.check_item(run_id, item.key, "done", evidence=[f"EV-{item.id}"], actor=ACTOR, at=AT)

    # Without the decision record and the billing standard, not complete.
    early = store.checklist_verdict(run_id, as_of="2026-12-10")
    assert not early.complete
    unmet = {c["id"]: c["blocking"] for c in early.exit_criteria if not c["met"]}
    assert unmet["decision_record"] == [
        {
            "kind": "decision_record",
            "missing": ["technical_owner_signoff", "rollback_authority", "support_channel", "support_sla"],
        }
    ]
    gate = next(i for i in early.items if i["key"] == "billing.payment_gate")
    assert gate["status"] == "open" and "not configured" in gate["reason"]

    decision = store.set_decision(
        run_id,
        technical_owner="cto@acme.example",
        rollback_authority="CTO",
        support_channel="#acme-launch",
        support_sla="4 business hours",
        actor=ACTOR,
        at="2026-12-09T12:00:00Z",
    )
    assert decision["technical_owner_signoff"] == {"by": "cto@acme.example", "at": "2026-12-09T12:00:00Z"}
    store.add_known_gap(
        run_id, "alert routing for nightly", owner="ops", due="2026-12-20", actor=ACTOR, at=AT
    )

    # The billing gate is satisfied by the paid invoice, under the `paid` standard.
    paid = pay_an_invoice(store)
    verdict = store.checklist_verdict(run_id, as_of=datetime.date(2026, 12, 10), standard="paid")
    assert verdict.complete, verdict.exit_criteria
    assert verdict.run_id == run_id and verdict.standard == "paid"
    assert verdict.facts["billing"] == {TENANT: {"satisfied": True, "detail": f"invoice:{paid.id}"}}
    gate = next(i for i in verdict.items if i["key"] == "billing.payment_gate")
    assert (gate["status"], gate["reason"]) == ("done", f"invoice:{paid.id}")
    assert verdict.counts == {
        "total": 50,
        "done": 48,
        "waived": 2,
        "open": 0,
        "failed": 0,
        "waiver_lapsed": 0,
        "evidence_missing": 0,
    }
    assert verdict.decision_record == {"complete": True, "missing": []}
    assert verdict.upcoming_changes() == [
        {
            "date": "2026-12-16",
            "change": "waiver_lapses",
            "subject": "guardrails.nightly_validation",
            "owner": "ops-lead",
        },
        {
            "date": "2026-12-21",
            "change": "gap_overdue",
            "subject": "alert routing for nightly",
            "owner": "ops",
        },
        {
            "date": "2027-01-01",
            "change": "waiver_lapses",
            "subject": "first_value.orders_variant",
            "owner": "ops-lead",
        },
    ]

    # The waiver lapses the day after it expires: the guardrails section reopens.
    lapsed = store.checklist_verdict(run_id, as_of="2026-12-16", standard="paid")
    assert not lapsed.complete
    status = {i["key"]: i for i in lapsed.items}
    assert status["guardrails.nightly_validation"]["status"] == "waiver_lapsed"
    assert status["first_value.orders_variant"]["status"] == "waived"
    criteria = {c["id"]: c for c in lapsed.exit_criteria}
    assert criteria["all_sections"]["blocking"] == [{"kind": "section", "id": "guardrails"}]
    assert criteria["decision_record"]["met"] and criteria["first_value"]["met"]

    # The notebook view shows every section and exit criterion.
    view = verdict._repr_html_()
    for section in template.sections:
        assert html.escape(section.title) in view
    for criterion in template.exit_criteria:
        assert html.escape(criterion["text"]) in view
    assert "complete" in view and run_id in view
    assert "waiver lapsed" in lapsed._repr_html_()
    assert "section <code>guardrails</code> is incomplete" in lapsed._repr_html_()

    # The store keeps it all, audited; no secret anywhere.
    again = store.checklist_run(run_id)
    assert again.run.item("first_value.trade_end_to_end")["result"]["job_ids"] == [JOB]  # type: ignore[index]
    assert [r.id for r in store.checklist_runs()] == [run_id]
    actions = {r["action"] for r in store.audit_records(target=f"checklist:{run_id}")}
    assert actions == {
        "checklist.run.new",
        "checklist.item.result",
        "checklist.item.check",
        "checklist.item.waive",
        "checklist.decision.set",
        "checklist.gap.add",
    }
    assert store.audit_verify()["ok"]
    assert_no_secret(
        json.dumps(again.to_dict()),
        repr(again),
        verdict.to_json(),
        verdict.to_markdown(),
        view,
        repr(verdict),
        store.audit_export(),
    )
    del store
    raw = (tmp_path / "gangway.db").read_bytes()
    for secret in [*SECRETS.values(), TOKEN]:
        assert secret.encode() not in raw


def test_store_refusals_carry_codes(store: gangway.Store) -> None:
    template = gangway.ChecklistTemplate.from_path(LAUNCH)
    params = {"tenant": TENANT, "packet_id": "token-factory-onboarding-v1"}

    def refused(call: Callable[[], object]) -> gangway.GangwayError:
        with pytest.raises(gangway.GangwayError) as info:
            call()
        return info.value

    e = refused(lambda: store.new_checklist_run(template, parameters={"tenant": "x"}, actor=ACTOR, at=AT))
    assert isinstance(e, gangway.StoreError) and e.code == "checklist.parameter_missing"
    e = refused(
        lambda: store.new_checklist_run(template, parameters={**params, "x": "1"}, actor=ACTOR, at=AT)
    )
    assert e.code == "checklist.unknown_parameter"
    run_id = store.new_checklist_run(template, parameters=params, actor=ACTOR, at=AT).id
    e = refused(lambda: store.checklist_run("RUN-000009"))
    assert e.code == "checklist.run_not_found"
    e = refused(lambda: store.check_item(run_id, "infrastructure.health", "done", actor=ACTOR, at=AT))
    assert e.code == "checklist.wrong_kind"
    e = refused(lambda: store.check_item(run_id, "infrastructure.env_vars", "done", actor=ACTOR, at=AT))
    assert e.code == "checklist.evidence_missing"
    e = refused(
        lambda: store.check_item(run_id, "infrastructure.env_var", "done", evidence=["e"], actor=ACTOR)
    )
    assert e.code == "checklist.unknown_item" and "did you mean `infrastructure.env_vars`" in e.message
    e = refused(lambda: store.check_item(run_id, "infrastructure.env_vars", "finished", actor=ACTOR))  # type: ignore[arg-type]
    assert (e.code, e.path) == ("invalid_item_state", "state")
    e = refused(
        lambda: store.waive_item(
            run_id, "infrastructure.env_vars", owner="o", reason="r", expires="2026-12-01", actor=ACTOR, at=AT
        )
    )
    assert e.code == "checklist.waiver_invalid"
    e = refused(lambda: store.set_decision(run_id, actor=ACTOR, at=AT))
    assert e.code == "checklist.invalid"
    e = refused(lambda: store.add_known_gap(run_id, " ", owner="o", due="2027-01-01", actor=ACTOR, at=AT))
    assert e.code == "checklist.invalid"
    artifact = gangway.replay_flow(template, "infrastructure.health", [])
    e = refused(lambda: store.record_result(run_id, "infrastructure.env_vars", artifact, actor=ACTOR, at=AT))
    assert e.code == "checklist.wrong_kind"
    e = refused(lambda: store.checklist_verdict(run_id, standard="cash"))  # type: ignore[arg-type]
    assert isinstance(e, gangway.InvalidInputError) and e.code == "invalid_standard"
    row = {"week": 1, "shifts_in_scope": 10, "shifts_recorded": 11}
    e = refused(lambda: store.record_adoption_week(run_id, row, actor=ACTOR, at=AT))
    assert e.code == "adoption.invalid_row"
    # Nothing refused was written: only the run's creation is audited.
    assert [r["action"] for r in store.audit_records(target=f"checklist:{run_id}")] == ["checklist.run.new"]


def test_stage_and_adoption_gates_from_the_store(store: gangway.Store) -> None:
    template = gangway.ChecklistTemplate.from_path(LAUNCH)
    packet_id = "token-factory-onboarding-v1"
    run_id = store.new_checklist_run(
        template, parameters={"tenant": TENANT, "packet_id": packet_id}, actor=ACTOR, at=AT
    ).id
    assert [r.id for r in store.checklist_runs(packet_id=packet_id)] == [run_id]
    assert store.checklist_runs(packet_id="other") == []
    for week, recorded in [(1, 13), (2, 18), (3, 19)]:
        adoption = store.record_adoption_week(
            run_id, {"week": week, "shifts_in_scope": 20, "shifts_recorded": recorded}, actor=ACTOR, at=AT
        )
    assert adoption.weeks_as_primary == 2
    assert store.set_adoption_thresholds(run_id, {"min_weeks": 3}, actor=ACTOR, at=AT).primary_tool is False
    stored = store.checklist_run(run_id)
    assert stored.adoption_thresholds["min_weeks"] == 3 and len(stored.adoption_weeks) == 3
    verdict = store.checklist_verdict(run_id, as_of="2026-12-10")
    assert verdict.adoption is not None and verdict.adoption.weeks_as_primary == 2
    assert verdict.facts["adoption_weeks"] == 2
    items = {i["key"]: i for i in verdict.items}
    # Stage 5 needs the review sign-offs and evidence, which this store lacks.
    assert items["billing.packet_uat"]["status"] == "open"
    assert "blocked at stage `uat_evidence`" in items["billing.packet_uat"]["reason"]
    assert items["adoption.primary_tool"]["status"] == "done"


def test_the_docs_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Checklists" section of docs/python.md, executed as written."""
    doc = (ROOT / "docs" / "python.md").read_text()
    section = doc[doc.index("## Checklists") :]
    start = section.index("```python\n") + len("```python\n")
    code = section[start : section.index("```", start)]
    monkeypatch.chdir(ROOT)
    exec(compile(code, "docs/python.md#checklists", "exec"), {"__name__": "docs_example"})
