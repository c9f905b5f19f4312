"""Notebook views of reports, invoices, review records and checklists: ``_repr_html_`` and ``to_pandas``.

Presentation only: everything shown here is read from the report objects, which
come from the core unchanged.
"""

from __future__ import annotations

import html
import importlib
import json
from typing import TYPE_CHECKING, Any

from ._errors import MissingDependencyError

if TYPE_CHECKING:
    from ._gangway import (
        AdoptionVerdict,
        ChecklistTemplate,
        ChecklistVerdict,
        Finding,
        Invoice,
        Progress,
        Records,
        Report,
        ReviewStatus,
        SignOff,
    )

_COLOURS = {"error": "#b42318", "warning": "#b54708"}
_BACKGROUNDS = {"error": "#fee4e2", "warning": "#fef0c7"}

_STYLE = (
    "<style>"
    ".gangway table{border-collapse:collapse;font-size:13px}"
    ".gangway th,.gangway td{border:1px solid #d0d5dd;padding:3px 8px;text-align:left;vertical-align:top}"
    ".gangway th{background:#f2f4f7}"
    ".gangway code{font-size:12px}"
    ".gangway .sev{font-weight:bold;border-radius:4px;padding:0 5px}"
    ".gangway .blocked{background:#fee4e2;font-weight:bold}"
    "</style>"
)


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _badge(severity: str) -> str:
    colour = _COLOURS.get(severity, "#344054")
    background = _BACKGROUNDS.get(severity, "#f2f4f7")
    return f'<span class="sev" style="color:{colour};background:{background}">{_e(severity)}</span>'


def _verdict(ok: bool) -> str:
    if ok:
        return '<span style="color:#067647;font-weight:bold">ok</span>'
    return '<span style="color:#b42318;font-weight:bold">blocked</span>'


def _suggestion_cell(finding: Finding) -> str:
    s = finding.suggestion
    if s is None:
        return ""
    cell = _e(s.message)
    if s.patch:
        ops = "<br>".join(f"<code>{_e(json.dumps(op))}</code>" for op in s.patch)
        cell += f"<br>{ops}"
    return cell


def _findings_table(findings: list[Finding], with_stage: bool = True) -> str:
    head = (
        ["severity", "code"] + (["stage"] if with_stage else []) + ["path", "line", "message", "suggestion"]
    )
    rows = []
    for f in findings:
        cells = [_badge(f.severity), f"<code>{_e(f.code)}</code>"]
        if with_stage:
            cells.append(_e(f.stage))
        cells += [
            f"<code>{_e(f.path or '(document)')}</code>",
            f"{f.line}:{f.column}",
            _e(f.message),
            _suggestion_cell(f),
        ]
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    header = "<tr>" + "".join(f"<th>{_e(h)}</th>" for h in head) + "</tr>"
    return f"<table><thead>{header}</thead><tbody>{''.join(rows)}</tbody></table>"


def report_html(report: Report) -> str:
    """A summary line and a table of findings (severity coloured)."""
    name = report.packet_id or report.source_name or "(unnamed packet)"
    summary = (
        f"<p>{_verdict(report.ok)}: <b>{_e(name)}</b> at stage <code>{_e(report.stage)}</code> "
        f"as of {_e(report.as_of.isoformat())}: {report.errors} error(s), {report.warnings} warning(s)</p>"
    )
    body = _findings_table(report.findings) if report.findings else "<p>No findings.</p>"
    return f'<div class="gangway">{_STYLE}{summary}{body}</div>'


def progress_html(progress: Progress) -> str:
    """The eight stages, the first blocked one highlighted, with each stage's findings."""
    name = progress.packet_id or "(unnamed packet)"
    head = f"<b>{_e(name)}</b> as of {_e(progress.as_of.isoformat())}"
    if progress.first_blocked is None:
        summary = f"<p>{_verdict(True)}: {head}: every stage passes</p>"
    else:
        summary = (
            f"<p>{_verdict(False)}: {head}: first blocked stage <code>{_e(progress.first_blocked)}</code></p>"
        )
    rows = []
    for s in progress.stages:
        first = s.stage == progress.first_blocked
        attrs = ' class="blocked"' if first else ""
        mark = (
            '<span style="color:#067647">pass</span>' if s.ok else '<span style="color:#b42318">FAIL</span>'
        )
        note = " &larr; first blocked" if first else ""
        codes = ", ".join(sorted({f.code for f in s.findings}))
        rows.append(
            f"<tr{attrs}><td>{s.number}</td><td><code>{_e(s.stage)}</code>{note}</td><td>{mark}</td>"
            f"<td>{s.errors}</td><td>{s.warnings}</td><td>{_e(s.gate)}</td><td>{_e(codes)}</td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>" for h in ["#", "stage", "verdict", "errors", "warnings", "exit gate", "codes"]
    )
    table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="gangway">{_STYLE}{summary}{table}</div>'


_INVOICE_STATES = {"draft": "#344054", "issued": "#b54708", "paid": "#067647", "cancelled": "#b42318"}


def invoice_html(invoice: Invoice) -> str:
    """The invoice's header (id, tenant, period, state) and a table of its lines with the total."""
    colour = _INVOICE_STATES.get(invoice.state, "#344054")
    who = _e(invoice.tenant) + (f" ({_e(invoice.company)})" if invoice.company else "")
    note = ""
    if invoice.payment_reference:
        note = f"; paid with <code>{_e(invoice.payment_reference)}</code>"
    if invoice.cancel_reason:
        note = f"; cancelled: {_e(invoice.cancel_reason)}"
    summary = (
        f'<p><b>{_e(invoice.id)}</b> <span style="color:{colour};font-weight:bold">{_e(invoice.state)}</span>'
        f": {who}, {_e(invoice.period_start.isoformat())} to {_e(invoice.period_end.isoformat())}"
        f" (end exclusive){note}</p>"
    )
    rows = [
        f"<tr><td><code>{_e(line.unit)}</code></td><td>{_e(line.version)}</td>"
        f'<td style="text-align:right">{line.quantity}</td>'
        f'<td style="text-align:right">{_e(line.unit_price)}</td>'
        f'<td style="text-align:right">{_e(line.amount)}</td></tr>'
        for line in invoice.lines
    ]
    rows.append(f'<tr><th colspan="4">total</th><th style="text-align:right">{_e(invoice.total)}</th></tr>')
    header = "".join(f"<th>{h}</th>" for h in ["unit", "version", "quantity", "unit price", "amount"])
    table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="gangway">{_STYLE}{summary}{table}</div>'


_ROLE_STATES = {"approved": "#067647", "rejected": "#b42318", "stale": "#b54708", "missing": "#b42318"}


def _short(digest: str) -> str:
    return f"{digest[:12]}…" if len(digest) > 12 else digest


def _signoff_cells(s: SignOff | None) -> str:
    if s is None:
        return "<td></td><td></td><td></td>"
    reasons = "; ".join(s.reasons)
    return (
        f"<td>{_e(s.reviewer)}</td><td>{_e(s.at.isoformat())}</td>"
        f"<td><code>{_e(_short(s.digest))}</code>{'<br>' + _e(reasons) if reasons else ''}</td>"
    )


def review_status_html(status: ReviewStatus) -> str:
    """Each role of the review matrix: its status (coloured), who signed when, and for
    a role still owed what its reviewer must confirm."""
    approved = sum(1 for r in status.roles if r.status == "approved")
    if status.complete:
        verdict = '<span style="color:#067647;font-weight:bold">complete</span>'
    else:
        verdict = '<span style="color:#b42318;font-weight:bold">incomplete</span>'
    summary = (
        f"<p>{verdict}: <b>{_e(status.packet_id)}</b> version {status.version} "
        f"(digest <code>{_e(_short(status.digest))}</code>): "
        f"{approved} of {len(status.roles)} roles approved</p>"
    )
    rows = []
    for r in status.roles:
        colour = _ROLE_STATES.get(r.status, "#344054")
        owed = "" if r.status == "approved" else _e(r.must_confirm)
        rows.append(
            f"<tr><td>{_e(r.title)}</td>"
            f'<td><span style="color:{colour};font-weight:bold">{_e(r.status)}</span></td>'
            f"{_signoff_cells(r.signoff)}<td>{owed}</td></tr>"
        )
    header = "".join(
        f"<th>{h}</th>" for h in ["role", "status", "reviewer", "at", "digest / reasons", "must confirm"]
    )
    table = f"<table><thead><tr>{header}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="gangway">{_STYLE}{summary}{table}</div>'


def records_html(records: Records) -> str:
    """The sign-offs and the evidence, one table each."""
    name = records.packet_id or records.source_name or "(no packet named)"
    summary = (
        f"<p>Records for <b>{_e(name)}</b>: {len(records.signoffs)} sign-off(s), "
        f"{len(records.evidence)} evidence record(s)</p>"
    )
    signoffs = "".join(
        f"<tr><td>{_e(s.role)}</td><td>{_e(s.decision)}</td>{_signoff_cells(s)}</tr>"
        for s in records.signoffs
    )
    evidence = "".join(
        f"<tr><td><code>{_e(e.kind)}</code></td><td>{_e(e.ref)}</td>"
        f"<td>{_e(e.url or '')}{'<br>' if e.url and e.digest else ''}"
        f"{'<code>' + _e(e.digest) + '</code>' if e.digest else ''}</td>"
        f"<td>{_e(e.recorded_by)}</td><td>{_e(e.at.isoformat())}</td></tr>"
        for e in records.evidence
    )
    head_s = "".join(f"<th>{h}</th>" for h in ["role", "decision", "reviewer", "at", "digest / reasons"])
    head_e = "".join(f"<th>{h}</th>" for h in ["kind", "ref", "artifact", "recorded by", "at"])
    tables = (
        f"<table><thead><tr>{head_s}</tr></thead><tbody>{signoffs}</tbody></table>"
        f"<table><thead><tr>{head_e}</tr></thead><tbody>{evidence}</tbody></table>"
    )
    return f'<div class="gangway">{_STYLE}{summary}{tables}</div>'


_ITEM_STATES = {
    "done": ("#067647", "done"),
    "waived": ("#b54708", "waived"),
    "open": ("#344054", "open"),
    "failed": ("#b42318", "failed"),
    "waiver_lapsed": ("#b42318", "waiver lapsed"),
    "evidence_missing": ("#b54708", "evidence missing"),
}


def _state(status: str) -> str:
    colour, text = _ITEM_STATES.get(status, ("#344054", status))
    return f'<span style="color:{colour};font-weight:bold">{_e(text)}</span>'


def _complete(ok: bool, yes: str = "complete", no: str = "not complete") -> str:
    colour = "#067647" if ok else "#b42318"
    return f'<span style="color:{colour};font-weight:bold">{_e(yes if ok else no)}</span>'


def _blocker(b: dict[str, Any]) -> str:
    kind = b.get("kind")
    if kind == "item":
        return f"<code>{_e(b['key'])}</code> is {_state(b['status'])}"
    if kind == "section":
        return f"section <code>{_e(b['id'])}</code> is incomplete"
    if kind == "decision_record":
        return f"decision record lacks {_e(', '.join(b['missing']))}"
    if kind == "overdue_gap":
        return f"gap &ldquo;{_e(b['text'])}&rdquo; ({_e(b['owner'])}) was due {_e(b['due'])}"
    return _e(json.dumps(b))


def _item_detail(item: dict[str, Any]) -> str:
    parts = []
    if item.get("reason"):
        parts.append(_e(item["reason"]))
    if item.get("waiver_expires"):
        parts.append(f"waiver until {_e(item['waiver_expires'])}")
    if item.get("by"):
        when = f" at {_e(item['at'])}" if item.get("at") else ""
        parts.append(f"by {_e(item['by'])}{when}")
    return "<br>".join(parts)


def checklist_verdict_html(verdict: ChecklistVerdict) -> str:
    """The summary, one table per section (each item's text, kind, status and detail),
    the exit criteria with what blocks them, the decision record, overdue gaps and the
    run's problems."""
    template = verdict.template
    counts = verdict.counts
    run = f" &mdash; <code>{_e(verdict.run_id)}</code>" if verdict.run_id else ""
    tally = ", ".join(
        f"{counts[k]} {k.replace('_', ' ')}"
        for k in ("done", "waived", "open", "failed", "waiver_lapsed", "evidence_missing")
        if counts.get(k)
    )
    summary = (
        f"<p>{_complete(verdict.complete)}: <b>{_e(template.title)}</b> "
        f"(<code>{_e(verdict.template_id)}</code>){run} as of {_e(verdict.as_of.isoformat())}: "
        f"{counts['total']} items: {_e(tally)}</p>"
    )
    items = {i["key"]: i for i in verdict.items}
    sections = {s["id"]: s for s in verdict.sections}
    parts = [summary]
    head = "".join(f"<th>{h}</th>" for h in ["item", "text", "kind", "status", "detail"])
    for section in template.sections:
        state = sections.get(section.id, {})
        parts.append(
            f"<h4>{_e(section.title)} <small>({_complete(bool(state.get('complete')))})</small></h4>"
        )
        rows = []
        for item in section.items:
            v = items.get(item.key, {})
            rows.append(
                f"<tr><td><code>{_e(item.key)}</code></td><td>{_e(item.text)}</td>"
                f"<td>{_e(item.kind)}</td><td>{_state(v.get('status', 'open'))}</td>"
                f"<td>{_item_detail(v)}</td></tr>"
            )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    texts = {c["id"]: c["text"] for c in template.exit_criteria}
    rows = [
        f"<tr><td><code>{_e(c['id'])}</code></td><td>{_e(texts.get(c['id'], ''))}</td>"
        f"<td>{_complete(c['met'], 'met', 'not met')}</td>"
        f"<td>{'<br>'.join(_blocker(b) for b in c['blocking'])}</td></tr>"
        for c in verdict.exit_criteria
    ]
    head = "".join(f"<th>{h}</th>" for h in ["criterion", "text", "verdict", "blocked by"])
    parts.append("<h4>Exit criteria</h4>")
    parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>")
    decision = verdict.decision_record
    lacks = "" if decision["complete"] else f": lacks {_e(', '.join(decision['missing']))}"
    parts.append(f"<p>Decision record: {_complete(decision['complete'])}{lacks}</p>")
    if verdict.overdue_gaps:
        gaps = "".join(
            f"<li>{_e(g['text'])} ({_e(g['owner'])}), due {_e(g['due'])}</li>" for g in verdict.overdue_gaps
        )
        parts.append(f"<p>Overdue gaps:</p><ul>{gaps}</ul>")
    if verdict.problems:
        problems = "".join(
            f"<li><code>{_e(p['code'])}</code>: {_e(p['message'])}</li>" for p in verdict.problems
        )
        parts.append(f"<p>Problems with the run:</p><ul>{problems}</ul>")
    return f'<div class="gangway">{_STYLE}{"".join(parts)}</div>'


def checklist_template_html(template: ChecklistTemplate) -> str:
    """The template's sections and items, and its exit criteria."""
    params = ", ".join(f"<code>{_e(p)}</code>" for p in template.parameters) or "none"
    secrets = ", ".join(f"<code>{_e(s)}</code>" for s in template.secret_names) or "none"
    summary = (
        f"<p><b>{_e(template.title)}</b> (<code>{_e(template.id)}</code>): parameters {params}; "
        f"secrets {secrets}</p>"
    )
    rows = [
        f"<tr><td>{_e(section.title)}</td><td><code>{_e(item.key)}</code></td>"
        f"<td>{_e(item.kind)}</td><td>{_e(item.text)}</td></tr>"
        for section in template.sections
        for item in section.items
    ]
    head = "".join(f"<th>{h}</th>" for h in ["section", "item", "kind", "text"])
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    criteria = "".join(
        f"<li><code>{_e(c['id'])}</code>: {_e(c['text'])}</li>" for c in template.exit_criteria
    )
    return f'<div class="gangway">{_STYLE}{summary}{table}<p>Exit criteria:</p><ul>{criteria}</ul></div>'


def adoption_html(adoption: AdoptionVerdict) -> str:
    """Each week's coverage against its bar, and the permission-error trend."""
    trend = adoption.permission_errors
    summary = (
        f"<p>Thresholds {_complete(adoption.thresholds_met, 'met', 'not met')}; "
        f"{adoption.weeks_as_primary} week(s) as the primary tool "
        f"({_complete(adoption.primary_tool, 'enough', 'not enough')}); permission errors "
        f"{_complete(trend['pass'], 'trend to zero', 'do not trend to zero')}</p>"
    )
    rows = [
        f"<tr><td>{w['week']}</td><td>{w['recorded_percent']}%</td><td>{w['threshold_percent']}%</td>"
        f"<td>{_complete(w['pass'], 'pass', 'fail')}</td><td>{'yes' if w['primary'] else ''}</td>"
        f"<td>{w['permission_errors']}</td><td>{_e('; '.join(w['reasons']))}</td></tr>"
        for w in adoption.weeks
    ]
    head = "".join(
        f"<th>{h}</th>" for h in ["week", "recorded", "bar", "verdict", "primary", "permission errors", "why"]
    )
    table = f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    return f'<div class="gangway">{_STYLE}{summary}{table}</div>'


def _pandas(what: str) -> Any:
    try:
        pandas = importlib.import_module("pandas")
    except ImportError as exc:
        raise MissingDependencyError(
            f"{what}.to_pandas() needs pandas, which is not installed; "
            "install it with `pip install pandas` (or `pip install gangway[pandas]`)",
            name="pandas",
        ) from exc
    return pandas


_REPORT_COLUMNS = ["severity", "code", "stage", "path", "line", "column", "message", "suggestion"]


def _row(f: Finding) -> dict[str, object | None]:
    return {
        "severity": f.severity,
        "code": f.code,
        "stage": f.stage,
        "path": f.path,
        "line": f.line,
        "column": f.column,
        "message": f.message,
        "suggestion": f.suggestion.message if f.suggestion is not None else None,
    }


def report_to_pandas(report: Report) -> Any:
    """One row per finding: severity, code, stage, path, line, column, message, suggestion."""
    pandas = _pandas("Report")
    return pandas.DataFrame([_row(f) for f in report.findings], columns=_REPORT_COLUMNS)


def progress_to_pandas(progress: Progress) -> Any:
    """One row per stage: number, stage, ok, errors, warnings, first_blocked, gate."""
    pandas = _pandas("Progress")
    rows = [
        {
            "number": s.number,
            "stage": s.stage,
            "ok": s.ok,
            "errors": s.errors,
            "warnings": s.warnings,
            "first_blocked": s.stage == progress.first_blocked,
            "gate": s.gate,
        }
        for s in progress.stages
    ]
    return pandas.DataFrame(rows)
