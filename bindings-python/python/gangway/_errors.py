"""The exceptions gangway raises.

``GangwayError`` is the base of every one of them, so ``except gangway.GangwayError``
catches everything the library raises. Each carries a stable ``code`` and, where it
has one, the place it is about (``path``, ``line``, ``column``). The native module
builds these from the core's errors; they are plain Python classes so they can be
subclassed, pickled, typed and caught like any other exception.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from ._gangway import Finding

__all__ = [
    "BillingError",
    "ChecklistError",
    "ChecklistProblem",
    "FileError",
    "GangwayError",
    "InvalidInputError",
    "MissingDependencyError",
    "ParseError",
    "RecordsError",
    "RegistryError",
    "RegistryProblem",
    "StoreError",
]


class GangwayError(Exception):
    """Base of every exception the library raises."""

    code: str
    """Stable error code (``packet.parse``, ``registry.invalid``, ``invalid_stage``, …)."""
    message: str
    """What went wrong, for people."""
    path: str | None
    """JSON Pointer into the document, or the name of the argument at fault."""
    line: int | None
    """1-based line in the document, when known."""
    column: int | None
    """1-based column in the document, when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "gangway.error",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.path = path
        self.line = line
        self.column = column

    def __str__(self) -> str:
        where = ""
        if self.line is not None and self.column is not None:
            where = f" (line {self.line}, column {self.column})"
        return f"{self.code}: {self.message}{where}"

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"path={self.path!r}, line={self.line!r}, column={self.column!r})"
        )


class ParseError(GangwayError, ValueError):
    """A packet document that cannot be read at all (code ``packet.parse``): not
    YAML/JSON, too large, too deep, or an alias bomb. ``path`` is ``""`` (the
    document); ``finding`` is the finding that stands for the error in a report, and
    ``gangway.unreadable_report(error)`` builds that report."""

    finding: Finding | None
    """The ``packet.parse`` finding that stands for this error in a report."""
    source_name: str | None
    """The file name or label of the document, when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "packet.parse",
        path: str | None = "",
        line: int | None = None,
        column: int | None = None,
        finding: Finding | None = None,
        source_name: str | None = None,
        native: Any = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.finding = finding
        self.source_name = source_name
        self._native = native

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.source_name}: {text}" if self.source_name else text


class RegistryProblem(NamedTuple):
    """One problem in a registry document."""

    code: str
    """``registry.parse`` or ``registry.invalid``."""
    path: str
    """JSON Pointer into the registry document."""
    line: int
    """1-based line."""
    column: int
    """1-based column."""
    message: str
    """For people."""


class StoreError(GangwayError):
    """A store operation that was refused or failed. ``code`` says which:
    ``registry.illegal_transition`` (a lifecycle move backwards or out of retired),
    ``registry.exists``, ``registry.not_found``, ``packet.not_found``, ``packet.parse``,
    ``review.invalid`` (a sign-off refused: a rejection without reasons, a digest that
    is no stored version of the packet), ``evidence.invalid`` (evidence refused: a
    blank ``ref``, neither ``digest`` nor ``url``), a checklist run refused
    (``checklist.run_not_found``, ``checklist.unknown_item``, ``checklist.wrong_kind``,
    ``checklist.evidence_missing``, ``checklist.waiver_invalid``,
    ``checklist.parameter_missing``, ``checklist.unknown_parameter``,
    ``checklist.invalid``, ``adoption.*``; a template that does not read is a
    ``ChecklistError``), ``store.invalid``, ``store.version``, ``store.sqlite``."""


class BillingError(GangwayError):
    """A billing operation that was refused or failed. ``code`` says which:
    ``idempotency_conflict`` (a key reused with other parameters), a refused
    transition (``billing.illegal_transition``, ``billing.payment_reference_missing``,
    ``billing.cancel_reason_missing``, ``billing.invoice_empty``,
    ``billing.approver_missing``, ``billing.rejection_reason_missing``: the first
    blocker's code, with every blocker in ``blockers``), ``billing.invoice_not_found``,
    ``billing.po_not_found``, ``billing.po_exists``, ``billing.rate_card_missing``,
    ``billing.rate_missing``, ``billing.period_empty``, ``billing.period_overlap``,
    ``billing.blank``, a rate-card problem (``billing.rate_card_parse`` with ``line``
    and ``column``, ``billing.rate_overlap``, ``billing.rate_range``,
    ``billing.rate_card_empty``) or a money error (``billing.overflow``,
    ``billing.currency_mismatch``, ``billing.unknown_currency``,
    ``billing.invalid_amount``)."""

    blockers: list[dict[str, Any]]
    """For a refused invoice or purchase-order transition, every reason in the core's
    JSON form: ``{"code": …}`` plus ``"detail"`` where the blocker has one
    (``{"code": "billing.illegal_transition", "detail": {"state": "draft",
    "operation": "mark_paid"}}``). Empty otherwise."""
    state: str | None
    """For a refused transition: the invoice's or purchase order's state."""
    operation: str | None
    """For a refused transition: the operation asked (``issue``, ``mark_paid``,
    ``cancel``, ``approve``, ``reject``)."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "billing.error",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        blockers: list[dict[str, Any]] | None = None,
        state: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.blockers = list(blockers or [])
        self.state = state
        self.operation = operation


class RegistryError(GangwayError, ValueError):
    """A registry that could not be loaded. ``code``, ``path``, ``line`` and ``column``
    are the first problem's; ``problems`` lists every one, and ``to_json()`` gives the
    canonical JSON form (the same bytes as the Rust library and the CLI)."""

    problems: list[RegistryProblem]
    """Every problem, in document order."""
    source_name: str | None
    """The file name or label of the registry, when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "registry.invalid",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        problems: list[RegistryProblem] | None = None,
        json: str = "",
        source_name: str | None = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.problems = list(problems or [])
        self.source_name = source_name
        self._json = json

    def to_json(self) -> str:
        """The canonical JSON form: ``{"error": {"code": …, "problems": [...]}}``."""
        return self._json

    def __str__(self) -> str:
        text = super().__str__()
        if len(self.problems) > 1:
            text += f"; and {len(self.problems) - 1} more problem(s)"
        return f"{self.source_name}: {text}" if self.source_name else text


class ChecklistProblem(NamedTuple):
    """One problem in a checklist template (or in the assertions given to
    ``check_response``)."""

    code: str
    """``checklist.template_syntax``, ``checklist.template_invalid``,
    ``checklist.duplicate_id``, ``checklist.unresolved_reference``,
    ``checklist.unknown_placeholder``, ``checklist.invalid_pointer`` or
    ``checklist.invalid_regex``."""
    path: str
    """JSON Pointer into the template (into the assertions list for
    ``check_response``)."""
    line: int | None
    """1-based line in the template (``None`` for ``check_response``)."""
    column: int | None
    """1-based column in the template (``None`` for ``check_response``)."""
    message: str
    """For people."""


class ChecklistError(GangwayError, ValueError):
    """A checklist that cannot be used. A template that does not read carries every
    problem in ``problems`` (``code``, ``path``, ``line`` and ``column`` are the first
    one's) and ``to_json()`` gives the canonical error JSON, the same bytes as Rust and
    the CLI. A probe or flow that cannot start or go on has an empty ``problems``:
    ``checklist.unknown_item``, ``checklist.not_automatic`` (a manual or gate item),
    ``checklist.input_missing`` (every parameter and secret missing, in
    ``missing_parameters`` and ``missing_secrets``), ``checklist.flow_finished``.
    Adoption rows and thresholds the core cannot evaluate are ``adoption.duplicate_week``,
    ``adoption.invalid_row``, ``adoption.invalid_threshold``."""

    problems: list[ChecklistProblem]
    """Every problem of a template, by line and column."""
    missing_parameters: list[str]
    """For ``checklist.input_missing``: the parameters not supplied, sorted."""
    missing_secrets: list[str]
    """For ``checklist.input_missing``: the secrets not supplied, sorted."""
    source_name: str | None
    """The file name or label of the template, when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "checklist.template_invalid",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        problems: list[ChecklistProblem] | None = None,
        missing_parameters: list[str] | None = None,
        missing_secrets: list[str] | None = None,
        json: str | None = None,
        source_name: str | None = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.problems = list(problems or [])
        self.missing_parameters = list(missing_parameters or [])
        self.missing_secrets = list(missing_secrets or [])
        self.source_name = source_name
        self._json = json

    def to_json(self) -> str | None:
        """For a template that does not read, the canonical JSON form:
        ``{"error": {"code": …, "problems": [...]}}``; otherwise ``None``."""
        return self._json

    def __str__(self) -> str:
        text = super().__str__()
        if len(self.problems) > 1:
            text += f"; and {len(self.problems) - 1} more problem(s)"
        return f"{self.source_name}: {text}" if self.source_name else text


class InvalidInputError(GangwayError, ValueError):
    """An argument with a value the library cannot use. ``code`` says which kind
    (``invalid_stage``, ``invalid_date``, ``invalid_format``, ``invalid_kind``,
    ``invalid_state``, ``invalid_version``, ``invalid_slug``, …) and ``path`` names the
    argument."""


class RecordsError(InvalidInputError):
    """Records (review sign-offs and stage-5 evidence) that cannot be used: a records
    file that does not load (``records.parse``: not YAML, an unknown key, role, decision
    or evidence kind, a bad timestamp), or a sign-off or evidence record whose fields
    are refused (``review.invalid``: a blank reviewer, a digest that is not 64
    lower-case hex digits, a rejection without reasons; ``evidence.invalid``: a blank
    ``ref``, neither ``digest`` nor ``url``, a digest that is not SHA-256 hex).
    ``line`` and ``column`` say where in the file, when known; for a record built in
    Python, ``path`` names the field at fault."""

    source_name: str | None
    """The file name or label of the records file, when known."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "records.parse",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        source_name: str | None = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.source_name = source_name

    def __str__(self) -> str:
        text = super().__str__()
        return f"{self.source_name}: {text}" if self.source_name else text


class FileError(GangwayError, OSError):
    """A file that could not be read (code ``file.unreadable``) or written
    (``file.unwritable``; ``bundle.not_empty`` for a release bundle asked to go into a
    directory that already holds files). Also an ``OSError``, with ``errno`` and
    ``filename`` set."""

    def __init__(
        self,
        message: str,
        *,
        code: str = "file.unreadable",
        path: str | None = None,
        line: int | None = None,
        column: int | None = None,
        filename: str | None = None,
        errno: int | None = None,
    ) -> None:
        super().__init__(message, code=code, path=path, line=line, column=column)
        self.errno = errno
        self.filename = filename
        self.strerror = message


class MissingDependencyError(GangwayError, ImportError):
    """An optional dependency (pandas) is not installed (code ``missing_dependency``)."""

    def __init__(self, message: str, *, code: str = "missing_dependency", name: str | None = None) -> None:
        super().__init__(message, code=code)
        self.name = name
