"""Billing from Python: rate card → ingest → generate → issue → pay → gate, idempotency,
refused transitions, money, malformed usage and concurrent ingests.

The data follows core/tests/billing_store.rs: the complete Token Factory example's
registry and packet, whose guard accepts the events below.
"""

from __future__ import annotations

import datetime
import json
import re
import threading
from pathlib import Path
from typing import Any

import gangway
import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPLETE = ROOT / "examples" / "token-factory-complete"
AT = "2026-12-01T09:00:00Z"
ACTOR = "billing-svc"
I64_MAX = 2**63 - 1
I64_MIN = -(2**63)
NOV = (datetime.date(2026, 11, 1), datetime.date(2026, 12, 1))

CARD = """rate_card:
  currency: USD
  rates:
    - {unit: token_input, version: 1.0.0, price: "0.0020", effective_from: 2026-01-01}
    - unit: token_output
      version: 1.0.0
      price: "0.0100"
      effective_from: 2026-01-01
      effective_until: 2026-11-15
    - {unit: token_output, version: 1.0.0, price: "0.0080", effective_from: 2026-11-15}
"""


def usage(
    key: str, unit: str = "token_input", quantity: Any = 1, at: Any = "2026-11-03T10:00:00Z"
) -> dict[str, Any]:
    return {
        "product": "token-factory",
        "unit": unit,
        "version": "1.0.0",
        "quantity": quantity,
        "resource_type": "model_endpoint",
        "tenant": "tenant-acme",
        "idempotency_key": key,
        "at": at,
    }


@pytest.fixture()
def store() -> gangway.Store:
    s = gangway.Store.in_memory()
    s.import_registry((COMPLETE / "registry.yaml").read_text(), actor=ACTOR, at=AT)
    s.put_packet(gangway.Packet.from_path(COMPLETE / "packet.yaml"), actor=ACTOR, at=AT)
    return s


@pytest.fixture()
def billing(store: gangway.Store) -> gangway.Billing:
    b = store.billing()
    b.set_rate_card(gangway.RateCard.from_yaml(CARD), actor=ACTOR, at=AT)
    return b


def ingest_month(b: gangway.Billing) -> gangway.IngestSummary:
    unrated = usage("e-5", "request")
    blank_tenant = usage("e-6")
    blank_tenant["tenant"] = " "
    batch = [
        usage("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        usage("e-2", "token_output", 100, "2026-11-10T10:00:00Z"),
        usage("e-3", "token_output", 100, datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.timezone.utc)),
        usage("e-1", "token_input", 1500, "2026-11-03T10:00:00Z"),
        usage("e-4", "token_input", 999, "2026-12-03T10:00:00Z"),
        unrated,
        blank_tenant,
    ]
    return b.ingest_usage(batch, actor=ACTOR, at=AT)


def billing_actions(store: gangway.Store) -> list[str]:
    return [r["action"] for r in store.audit_records() if r["action"].startswith("billing.")]


def test_full_flow_every_step_audited(store: gangway.Store, billing: gangway.Billing) -> None:
    summary = ingest_month(billing)
    assert (summary.accepted, summary.duplicates, summary.total) == (4, 1, 7)
    assert [(r["index"], r["code"], r["field"]) for r in summary.rejected] == [
        (5, "billing.rate_missing", "unit"),
        (6, "usage.invalid", "tenant"),
    ]
    assert summary.rejected_by_code == {"billing.rate_missing": 1, "usage.invalid": 1}
    assert "line" not in summary.rejected[0]
    # A retried batch writes nothing.
    revision = store.revision()
    again = ingest_month(billing)
    assert (again.accepted, again.duplicates, len(again.rejected)) == (0, 5, 2)
    assert store.revision() == revision

    ledger = billing.ledger("tenant-acme", *NOV)
    assert [e.idempotency_key for e in ledger] == ["e-1", "e-2", "e-3"]
    assert ledger[2].at == datetime.datetime(2026, 11, 20, 10, tzinfo=datetime.timezone.utc)
    assert ledger[0].to_dict()["at"] == "2026-11-03T10:00:00Z"

    draft = billing.generate_invoice("tenant-acme", *NOV, key="gen-1", company="Acme Ltd", actor=ACTOR, at=AT)
    assert (draft.id, draft.state, draft.company) == ("INV-000001", "draft", "Acme Ltd")
    assert (draft.period_start, draft.period_end) == NOV
    # 1500 at 0.0020 = 3.00; 100 at 0.0080 = 0.80; 100 at 0.0100 = 1.00.
    assert [(line.unit, line.quantity, str(line.amount)) for line in draft.lines] == [
        ("token_input", 1500, "3.00 USD"),
        ("token_output", 100, "0.80 USD"),
        ("token_output", 100, "1.00 USD"),
    ]
    total = gangway.Money.zero("USD")
    for line in draft.lines:
        total = total + line.amount
    assert draft.total == total == gangway.Money(480, "USD")
    assert draft.available_actions() == [("issue", "issued"), ("cancel", "cancelled")]
    assert billing.invoice("INV-000001") == draft
    assert not billing.gate("tenant-acme", "paid")

    issued = billing.issue_invoice(draft.id, key="issue-1", actor=ACTOR, at=AT)
    assert issued.state == "issued" and issued.lines == draft.lines
    assert billing.gate("tenant-acme", "paid").missing == (
        "no paid invoice for tenant tenant-acme; awaiting payment: INV-000001"
    )
    paid = billing.mark_paid(draft.id, "wire-2026-118", key="pay-1", actor=ACTOR, at=AT)
    assert (paid.state, paid.payment_reference) == ("paid", "wire-2026-118")
    assert paid.available_actions() == []
    assert billing.invoices("tenant-acme") == [paid]
    assert billing.invoices("nobody") == []

    decision = billing.gate("tenant-acme", "paid")
    assert decision and decision.satisfied and decision.missing is None
    assert decision.satisfied_by == "invoice:INV-000001"
    assert decision.to_dict() == {
        "tenant": "tenant-acme",
        "standard": "paid",
        "satisfied": True,
        "satisfied_by": "invoice:INV-000001",
        "missing": None,
    }
    assert not billing.gate("tenant-acme", "po_approved")

    assert billing_actions(store) == [
        "billing.rate_card.set",
        "billing.usage.ingest",
        "billing.invoice.generate",
        "billing.invoice.issue",
        "billing.invoice.mark_paid",
    ]
    last = store.audit_records()[-1]
    assert (last["actor"], last["target"]) == (ACTOR, "invoice:INV-000001")
    assert (last["before"]["state"], last["after"]["state"]) == ("issued", "paid")
    assert store.audit_verify()["ok"] is True


def test_to_dict_is_the_core_json_form(billing: gangway.Billing) -> None:
    ingest_month(billing)
    inv = billing.generate_invoice("tenant-acme", *NOV, key="gen-1", actor=ACTOR, at=AT)
    d = inv.to_dict()
    assert list(d) == [
        "id",
        "tenant",
        "company",
        "period_start",
        "period_end",
        "currency",
        "lines",
        "total",
        "state",
        "payment_reference",
        "cancel_reason",
    ]
    assert d["total"] == {"amount": "4.80", "currency": "USD", "minor": 480}
    assert d["lines"][0] == {
        "unit": "token_input",
        "version": "1.0.0",
        "quantity": 1500,
        "unit_price": {"amount": "0.002", "currency": "USD"},
        "amount": {"amount": "3.00", "currency": "USD", "minor": 300},
    }
    assert (d["period_start"], d["company"]) == ("2026-11-01", None)
    assert json.loads(json.dumps(d)) == d
    card = billing.rate_card()
    assert card is not None and card == gangway.RateCard.from_yaml(CARD)
    assert card.to_dict()["rates"][0]["price"] == {"amount": "0.002", "currency": "USD"}
    assert billing.rate_card("EUR") is None
    assert billing.rate_card("USD") == card


def test_idempotent_replay_and_conflict(store: gangway.Store, billing: gangway.Billing) -> None:
    ingest_month(billing)
    first = billing.generate_invoice("tenant-acme", *NOV, key="gen-1", actor=ACTOR, at=AT)
    billing.issue_invoice(first.id, key="issue-1", actor=ACTOR, at=AT)
    revision = store.revision()
    # Same key, same parameters: the first result (still the draft), nothing written.
    again = billing.generate_invoice("tenant-acme", *NOV, key="gen-1", actor="someone-else", at=AT)
    assert again == first and again.state == "draft"
    assert billing.issue_invoice(first.id, key="issue-1", actor=ACTOR).state == "issued"
    assert store.revision() == revision
    assert len(billing.invoices()) == 1

    # Same key, other parameters or another operation: a conflict with its code.
    with pytest.raises(gangway.BillingError) as info:
        billing.generate_invoice("tenant-acme", *NOV, key="gen-1", company="Acme", actor=ACTOR, at=AT)
    assert info.value.code == "idempotency_conflict"
    assert info.value.blockers == []
    assert isinstance(info.value, gangway.GangwayError)
    with pytest.raises(gangway.BillingError) as info:
        billing.mark_paid(first.id, "wire", key="issue-1", actor=ACTOR, at=AT)
    assert info.value.code == "idempotency_conflict"
    assert "issue-1" in info.value.message
    assert store.revision() == revision
    assert store.audit_verify()["ok"] is True


def test_refused_transitions_list_every_blocker(store: gangway.Store, billing: gangway.Billing) -> None:
    ingest_month(billing)
    inv = billing.generate_invoice("tenant-acme", *NOV, key="gen-1", actor=ACTOR, at=AT)
    revision = store.revision()
    with pytest.raises(gangway.BillingError) as info:
        billing.mark_paid(inv.id, " ", key="pay-1", actor=ACTOR, at=AT)
    err = info.value
    assert err.code == "billing.illegal_transition"
    assert (err.state, err.operation) == ("draft", "mark_paid")
    assert err.blockers == [
        {"code": "billing.illegal_transition", "detail": {"state": "draft", "operation": "mark_paid"}},
        {"code": "billing.payment_reference_missing"},
    ]
    assert str(err).startswith("billing.illegal_transition: mark_paid refused on draft invoice")
    # A refused call does not consume its key.
    cancelled = billing.cancel_invoice(inv.id, "customer left", key="pay-1", actor=ACTOR, at=AT)
    assert (cancelled.state, cancelled.cancel_reason) == ("cancelled", "customer left")
    with pytest.raises(gangway.BillingError) as info:
        billing.issue_invoice(inv.id, key="issue-1", actor=ACTOR, at=AT)
    assert info.value.code == "billing.illegal_transition"
    assert info.value.blockers == [
        {"code": "billing.illegal_transition", "detail": {"state": "cancelled", "operation": "issue"}}
    ]
    with pytest.raises(gangway.BillingError) as info:
        billing.issue_invoice("INV-9", key="issue-2", actor=ACTOR, at=AT)
    assert info.value.code == "billing.invoice_not_found"
    with pytest.raises(gangway.BillingError) as info:
        billing.invoice("INV-9")
    assert info.value.code == "billing.invoice_not_found"
    assert store.revision() == revision + 1

    # An empty period gives a draft that cannot be issued; a backwards one is refused.
    jan = (datetime.date(2027, 1, 1), datetime.date(2027, 2, 1))
    empty = billing.generate_invoice("tenant-acme", *jan, key="gen-2", actor=ACTOR, at=AT)
    assert empty.lines == [] and empty.total == gangway.Money.zero("USD")
    assert empty.available_actions() == [("cancel", "cancelled")]
    with pytest.raises(gangway.BillingError) as info:
        billing.issue_invoice(empty.id, key="issue-3", actor=ACTOR, at=AT)
    assert info.value.blockers == [{"code": "billing.invoice_empty"}]
    with pytest.raises(gangway.BillingError) as info:
        billing.generate_invoice("tenant-acme", jan[1], jan[0], key="gen-3", actor=ACTOR, at=AT)
    assert info.value.code == "billing.period_empty"
    with pytest.raises(gangway.BillingError) as info:
        billing.generate_invoice("tenant-acme", "2027-01-15", "2027-02-15", key="gen-4", actor=ACTOR, at=AT)
    assert info.value.code == "billing.period_overlap"
    assert store.audit_verify()["ok"] is True


def test_purchase_orders_and_the_po_gate(store: gangway.Store) -> None:
    b = gangway.Billing(store)
    usd = gangway.Money.parse("100.00", "USD")
    po = b.submit_po("PO-1", "tenant-acme", "ACME-4411", usd, actor=ACTOR, at=AT)
    assert (po.state, po.amount, po.available_actions()) == (
        "submitted",
        usd,
        [("approve", "approved"), ("reject", "rejected")],
    )
    with pytest.raises(gangway.BillingError) as info:
        b.submit_po("PO-1", "tenant-acme", "ACME-4411", usd, actor=ACTOR, at=AT)
    assert info.value.code == "billing.po_exists"
    with pytest.raises(gangway.BillingError) as info:
        b.submit_po("PO-0", "tenant-acme", "ACME-0", gangway.Money.zero("USD"), actor=ACTOR, at=AT)
    assert info.value.code == "billing.invalid_amount"
    b.submit_po("PO-2", "tenant-acme", "ACME-4412", gangway.Money(5_000, "USD"), actor=ACTOR, at=AT)
    assert b.gate("tenant-acme", "po_approved").missing == (
        "no approved purchase order for tenant tenant-acme; awaiting approval: PO-1, PO-2"
    )
    rejected = b.reject_po("PO-2", "wrong entity", actor=ACTOR, at=AT)
    assert (rejected.state, rejected.rejection_reason) == ("rejected", "wrong entity")
    with pytest.raises(gangway.BillingError) as info:
        b.approve_po("PO-2", "", actor=ACTOR, at=AT)
    assert info.value.code == "billing.illegal_transition"
    assert (info.value.state, info.value.operation) == ("rejected", "approve")
    assert [blocker["code"] for blocker in info.value.blockers] == [
        "billing.illegal_transition",
        "billing.approver_missing",
    ]
    with pytest.raises(gangway.BillingError) as info:
        b.approve_po("PO-9", "cfo", actor=ACTOR, at=AT)
    assert info.value.code == "billing.po_not_found"
    approved = b.approve_po("PO-1", "cfo@acme", actor=ACTOR, at=AT)
    assert approved.approved_by == "cfo@acme"
    decision = b.gate("tenant-acme", "po_approved")
    assert decision.satisfied_by == "po:PO-1" and bool(decision)
    assert not b.gate("tenant-acme", "paid")
    assert [p.id for p in b.purchase_orders("tenant-acme")] == ["PO-1", "PO-2"]
    assert b.purchase_orders("other") == []
    assert approved.to_dict()["amount"] == {"amount": "100.00", "currency": "USD", "minor": 10_000}
    assert billing_actions(store) == [
        "billing.po.submit",
        "billing.po.submit",
        "billing.po.reject",
        "billing.po.approve",
    ]
    assert store.audit_verify()["ok"] is True


def test_gate_and_generate_refuse_bad_inputs(store: gangway.Store) -> None:
    b = store.billing()
    with pytest.raises(gangway.InvalidInputError) as info:
        b.gate("tenant-acme", "prepaid")  # type: ignore[arg-type]
    assert (info.value.code, info.value.path) == ("invalid_standard", "standard")
    with pytest.raises(gangway.BillingError) as refused:
        b.generate_invoice("tenant-acme", *NOV, key="g", actor=ACTOR, at=AT)
    assert refused.value.code == "billing.rate_card_missing"
    with pytest.raises(gangway.InvalidInputError) as info:
        b.ledger("tenant-acme", "November", "2026-12-01")
    assert (info.value.code, info.value.path) == ("invalid_date", "start")
    with pytest.raises(gangway.InvalidInputError) as info:
        b.generate_invoice("tenant-acme", *NOV, key="g", actor=" ")
    assert info.value.code == "invalid_actor"
    with pytest.raises(gangway.BillingError) as refused:
        b.generate_invoice("tenant-acme", *NOV, key=" ", actor=ACTOR)
    assert refused.value.code == "billing.blank"
    # Without a card nothing can be rated, so nothing is accepted.
    summary = b.ingest_usage([usage("e-1")], actor=ACTOR, at=AT)
    assert summary.accepted == 0 and summary.rejected_by_code == {"billing.rate_missing": 1}


def test_money_arithmetic_edges() -> None:
    zero = gangway.Money.zero("USD")
    one = gangway.Money(1, "USD")
    top = gangway.Money(I64_MAX, "USD")
    bottom = gangway.Money(I64_MIN, "USD")
    assert zero == gangway.Money(0, "USD") == gangway.Money.parse("0", "USD")
    assert zero + zero == zero and zero * 0 == zero and one * 0 == zero and 0 * top == zero
    assert top * 1 == top and top - top == zero
    assert str(top) == "92233720368547758.07 USD"
    assert str(bottom) == "-92233720368547758.08 USD"
    assert gangway.Money.parse("92233720368547758.07", "USD") == top
    assert str(gangway.Money(-5, "USD")) == "-0.05 USD"
    assert str(gangway.Money(1234, "JPY")) == "1234 JPY"
    assert str(gangway.Money(1, "KWD")) == "0.001 KWD"
    assert gangway.Money.parse("12.34", "USD").to_dict() == {
        "amount": "12.34",
        "currency": "USD",
        "minor": 1234,
    }
    assert repr(gangway.Money(1234, "USD")) == "Money.parse('12.34', 'USD')"
    assert eval(repr(top), {"Money": gangway.Money}) == top
    assert len({gangway.Money(1, "USD"), gangway.Money(1, "USD"), gangway.Money(1, "EUR")}) == 2
    assert gangway.Money(1, "USD") != gangway.Money(1, "EUR")
    assert gangway.Money(1, "USD") != 1

    def code(f: Any) -> str:
        with pytest.raises(gangway.BillingError) as info:
            f()
        return info.value.code

    assert code(lambda: top + one) == "billing.overflow"
    assert code(lambda: bottom - one) == "billing.overflow"
    assert code(lambda: top * 2) == "billing.overflow"
    assert code(lambda: one * (2**64 - 1)) == "billing.overflow"
    assert code(lambda: one * 2**70) == "billing.overflow"
    assert code(lambda: gangway.Money(I64_MAX + 1, "USD")) == "billing.overflow"
    assert code(lambda: gangway.Money(2**100, "USD")) == "billing.overflow"
    assert code(lambda: gangway.Money.parse("92233720368547758.08", "USD")) == "billing.overflow"
    assert code(lambda: one + gangway.Money(1, "EUR")) == "billing.currency_mismatch"
    assert code(lambda: zero - gangway.Money(0, "EUR")) == "billing.currency_mismatch"
    assert code(lambda: gangway.Money(1, "usd")) == "billing.unknown_currency"
    assert code(lambda: gangway.Money.zero("XXX")) == "billing.unknown_currency"
    for bad in ["12.345", ".5", "5.", "+1", "1e3", " 1", "1,000", "", "-"]:
        assert code(lambda bad=bad: gangway.Money.parse(bad, "USD")) == "billing.invalid_amount", bad
    assert code(lambda: gangway.Money.parse("1.5", "JPY")) == "billing.invalid_amount"
    with pytest.raises(gangway.InvalidInputError) as info:
        one * -1
    assert info.value.code == "invalid_quantity"
    with pytest.raises(TypeError):
        one * 1.5  # type: ignore[operator]
    with pytest.raises(TypeError):
        one + 1  # type: ignore[operator]


def test_prices_and_rate_cards() -> None:
    price = gangway.Price.parse("0.0020", "USD")
    assert (str(price), price.amount, price.micro_minor) == ("0.002 USD", "0.002", 200_000)
    assert price.amount_for(1000) == gangway.Money(200, "USD")
    assert price.amount_for(3) == gangway.Money(1, "USD")  # 0.6 cent rounds half up
    assert price.amount_for(0) == gangway.Money.zero("USD")
    assert price.to_dict() == {"amount": "0.002", "currency": "USD"}
    assert str(gangway.Price.parse("3", "USD")) == "3.00 USD"
    dollar = gangway.Price.from_money(gangway.Money(100, "USD"))
    with pytest.raises(gangway.BillingError) as info:
        dollar.amount_for(2**64 - 1)
    assert info.value.code == "billing.overflow"
    with pytest.raises(gangway.BillingError):
        gangway.Price.parse("-1", "USD")

    card = gangway.RateCard.from_yaml(CARD)
    assert (card.currency, len(card)) == ("USD", 3)
    assert [r.unit for r in card.rates] == ["token_input", "token_output", "token_output"]
    rate = card.rate_for("token_output", "v1", "2026-11-15")
    assert rate is not None and rate.price == gangway.Price.parse("0.008", "USD")
    assert rate.effective_from == datetime.date(2026, 11, 15) and rate.effective_until is None
    assert card.rate_for("token_output", "2.0.0", "2026-11-15") is None
    assert card.rates[1].applies_on(datetime.date(2026, 11, 14))
    assert not card.rates[1].applies_on("2026-11-15")
    assert gangway.RateCard(card.rates) == card
    assert repr(card) == "RateCard(currency='USD', rates=3)"

    with pytest.raises(gangway.BillingError) as info:
        gangway.RateCard.from_yaml(CARD.replace('"0.0020"', '"0.1.2"'))
    assert (info.value.code, info.value.line) == ("billing.rate_card_parse", 4)
    assert info.value.column is not None
    overlap = gangway.Rate("req", "v1", gangway.Price.parse("1", "USD"), "2026-01-01", "2026-06-02")
    later = gangway.Rate("req", "v1", gangway.Price.parse("2", "USD"), "2026-06-01")
    with pytest.raises(gangway.BillingError) as info:
        gangway.RateCard([overlap, later])
    assert info.value.code == "billing.rate_overlap"
    with pytest.raises(gangway.BillingError) as info:
        gangway.RateCard([])
    assert info.value.code == "billing.rate_card_empty"
    with pytest.raises(gangway.BillingError) as info:
        gangway.RateCard([later, gangway.Rate("gb", "v1", gangway.Price.parse("1", "EUR"), "2026-01-01")])
    assert info.value.code == "billing.currency_mismatch"
    with pytest.raises(gangway.InvalidInputError):
        gangway.Rate("req", "one", gangway.Price.parse("1", "USD"), "2026-01-01")


def test_malformed_events_are_rejections_not_exceptions(
    store: gangway.Store, billing: gangway.Billing
) -> None:
    typo = usage("m-1")
    typo["tenamt"] = typo.pop("tenant")
    missing = usage("m-2")
    del missing["product"]
    wrong_type = usage("m-3")
    wrong_type["unit"] = 7
    negative = usage("m-4", quantity=-3)
    bad_version = usage("m-5")
    bad_version["version"] = "one"
    naive = usage("m-6", at=datetime.datetime(2026, 11, 3, 10))
    not_json = usage("m-7", quantity=object())
    nan = usage("m-8")
    nan["quantity"] = float("nan")
    no_offset = usage("m-9", at="2026-11-03")
    events: list[Any] = [
        typo,
        missing,
        wrong_type,
        negative,
        bad_version,
        naive,
        not_json,
        nan,
        no_offset,
        ["not", "a", "mapping"],
        {1: "non-string key"},
        usage("ok-1"),
        usage("big", quantity=2**64),
    ]
    summary = billing.ingest_usage(events, actor=ACTOR, at=AT)
    assert (summary.accepted, summary.duplicates) == (1, 0)
    assert summary.rejected_by_code == {"usage.malformed": 12}
    fields = [(r["index"], r["field"], r["idempotency_key"]) for r in summary.rejected]
    assert fields == [
        (0, "tenamt", "m-1"),
        (1, "product", "m-2"),
        (2, "unit", "m-3"),
        (3, "quantity", "m-4"),
        (4, "version", "m-5"),
        (5, "at", "m-6"),
        (6, "quantity", "m-7"),
        (7, "quantity", "m-8"),
        (8, "at", "m-9"),
        (9, "", None),
        (10, "", None),
        (12, "quantity", "big"),
    ]
    assert summary.rejected[5]["reason"] == "`at` must be timezone-aware"
    assert summary.rejected[9]["reason"] == "a usage event is a JSON object"
    assert all(r["reason"] for r in summary.rejected)
    assert summary.to_dict() == {
        "accepted": 1,
        "duplicates": 0,
        "rejected": 12,
        "rejected_by_code": {"usage.malformed": 12},
        "rejections": summary.rejected,
    }
    assert repr(summary) == "IngestSummary(accepted=1, duplicates=0, rejected=12)"
    # A generator works too, and nothing at all is fine.
    assert billing.ingest_usage((usage(f"g-{i}") for i in range(3)), actor=ACTOR, at=AT).accepted == 3
    assert billing.ingest_usage([], actor=ACTOR, at=AT).total == 0
    # One event is a list of one: a bare mapping (or text) is a type error.
    with pytest.raises(TypeError, match="iterable of mappings"):
        billing.ingest_usage(usage("lone"), actor=ACTOR, at=AT)  # type: ignore[arg-type]
    assert store.audit_verify()["ok"] is True


def jsonl(*keys: str) -> str:
    return "\n".join(json.dumps(usage(k)) if k else k for k in keys) + "\n"


def test_ingest_jsonl_batches_lines_and_progress(
    tmp_path: Path, store: gangway.Store, billing: gangway.Billing
) -> None:
    text = jsonl("j-1", "", "j-2", "j-1", "j-3", "j-4").replace('"j-3", "at"', '"j-3", "when"')
    text = text.replace("\n\n", "\n\n{not json\n", 1)
    path = tmp_path / "usage.jsonl"
    path.write_text(text)
    seen: list[tuple[int, int]] = []
    summary = billing.ingest_jsonl(
        path, batch_size=2, progress=lambda b, e: seen.append((b, e)), actor=ACTOR, at=AT
    )
    assert (summary.accepted, summary.duplicates) == (3, 1)
    assert [(r["line"], r["code"], r["field"]) for r in summary.rejected] == [
        (3, "usage.malformed", ""),
        (6, "usage.malformed", "when"),
    ]
    assert [e for _, e in seen] == [2, 4, 6]
    assert seen[-1][0] == len(text.encode())
    # Re-running the file (or its text) changes nothing.
    revision = store.revision()
    again = billing.ingest_jsonl_text(text, actor=ACTOR, at=AT)
    assert (again.accepted, again.duplicates, len(again.rejected)) == (0, 4, 2)
    assert store.revision() == revision
    with pytest.raises(gangway.FileError):
        billing.ingest_jsonl(tmp_path / "missing.jsonl", actor=ACTOR)
    # A batch size of 0 counts as 1 (as in the core).
    batches: list[int] = []
    billing.ingest_jsonl_text(
        jsonl("z-1", "z-2"), batch_size=0, progress=lambda b, e: batches.append(e), actor=ACTOR
    )
    assert batches == [1, 2]


def test_a_raising_progress_callback_stops_after_its_batch(billing: gangway.Billing) -> None:
    calls: list[int] = []

    def progress(_bytes: int, events: int) -> None:
        calls.append(events)
        raise KeyError("stop here")

    text = jsonl(*(f"p-{i}" for i in range(10)))
    with pytest.raises(KeyError, match="stop here"):
        billing.ingest_jsonl_text(text, batch_size=3, progress=progress, actor=ACTOR, at=AT)
    assert calls == [3]
    # The first batch was committed; the rest lands on a second run.
    rest = billing.ingest_jsonl_text(text, batch_size=3, actor=ACTOR, at=AT)
    assert (rest.accepted, rest.duplicates) == (7, 3)


def test_a_progress_callback_cannot_reenter_its_store(store: gangway.Store, billing: gangway.Billing) -> None:
    other = gangway.Store.in_memory()

    def progress(_bytes: int, _events: int) -> None:
        assert other.revision() == 0  # another store is fine
        store.revision()  # this one is busy: refused, not a deadlock

    with pytest.raises(gangway.InvalidInputError) as info:
        billing.ingest_jsonl_text(jsonl("r-1", "r-2"), batch_size=1, progress=progress, actor=ACTOR, at=AT)
    assert info.value.code == "store.reentrant"
    # The batch before the callback was committed; the store is usable again.
    assert [e.idempotency_key for e in billing.ledger("tenant-acme", *NOV)] == ["r-1"]


def test_threads_ingesting_overlapping_keys_count_each_event_once(
    store: gangway.Store, billing: gangway.Billing
) -> None:
    threads = 6
    keys = 40
    barrier = threading.Barrier(threads)
    summaries: list[gangway.IngestSummary] = []
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            # Each thread offers an overlapping window of keys, in small batches.
            mine = [usage(f"t-{(n * 7 + i) % keys}") for i in range(keys // 2)]
            barrier.wait()
            for start in range(0, len(mine), 5):
                summaries.append(billing.ingest_usage(mine[start : start + 5], actor=f"worker-{n}", at=AT))
        except BaseException as err:  # pragma: no cover - reported below
            errors.append(err)

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    assert errors == []
    offered = {f"t-{(n * 7 + i) % keys}" for n in range(threads) for i in range(keys // 2)}
    accepted = sum(s.accepted for s in summaries)
    assert accepted == len(offered)
    assert sum(s.duplicates for s in summaries) == threads * (keys // 2) - accepted
    assert all(s.rejected == [] for s in summaries)
    ledger = billing.ledger("tenant-acme", *NOV)
    assert sorted(e.idempotency_key for e in ledger) == sorted(offered)
    assert store.audit_verify()["ok"] is True


def test_reprs_and_notebook_view(billing: gangway.Billing) -> None:
    ingest_month(billing)
    inv = billing.generate_invoice("tenant-acme", *NOV, key="g", company="Acme <Ltd>", actor=ACTOR, at=AT)
    assert (
        repr(inv)
        == "<gangway.Invoice INV-000001 tenant='tenant-acme' 2026-11-01..2026-12-01 draft total=4.80 USD>"
    )
    html = inv._repr_html_()
    assert "INV-000001" in html and "Acme &lt;Ltd&gt;" in html and "4.80 USD" in html
    assert html.count("<tr>") == len(inv.lines) + 2
    assert repr(inv.lines[0]).startswith("InvoiceLine(unit='token_input', version='1.0.0', quantity=1500")
    assert repr(billing).startswith("Billing(Store(")
    assert billing.store.revision() > 0
    assert repr(gangway.Price.parse("0.0020", "USD")) == "Price.parse('0.002', 'USD')"
    assert repr(billing.gate("tenant-acme", "paid")).startswith("GateDecision(tenant='tenant-acme'")
    assert repr(billing.ledger("tenant-acme", *NOV)[0]).startswith("LedgerEvent(tenant='tenant-acme'")
    assert repr(gangway.RateCard.from_yaml(CARD).rates[0]).startswith("Rate(unit='token_input'")
    po = billing.submit_po("PO-1", "t", "R-1", gangway.Money(1, "USD"), actor=ACTOR, at=AT)
    assert (
        repr(po)
        == "PurchaseOrder(id='PO-1', tenant='t', reference='R-1', amount='0.01 USD', state='submitted')"
    )
    assert gangway.GATE_STANDARDS == ("paid", "po_approved")
    assert "USD" in gangway.CURRENCIES and "JPY" in gangway.CURRENCIES


def test_the_docs_example_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    """The "Billing" section of docs/python.md, executed as written."""
    text = (ROOT / "docs" / "python.md").read_text()
    section = text.split("## Billing", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    monkeypatch.chdir(ROOT)
    exec(compile(match.group(1), "docs/python.md#billing", "exec"), {})
