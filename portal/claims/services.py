"""Claim operations: record one benefit event, or import a file of them (all or nothing)."""

from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import Any, NamedTuple

from sqlalchemy import select, tuple_
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.claims.exceptions import (
    DuplicateClaim,
    InvalidClaim,
    InvalidClaimFile,
    NotAllowed,
    NotCovered,
)
from portal.claims.models import MAX_STORY, Claim, ClaimKind
from portal.coverage.models import Coverage
from portal.csvtext import (
    MAX_CELL_CHARS,
    MAX_DETAIL,
    MAX_ROWS,
    Record,
    Source,
    UploadError,
    Usefulness,
    cell_message_at,
    check_header,
    filled,
    open_csv,
    too_many_rows,
)
from portal.extensions import db
from portal.messages import Message, _m
from portal.pledges.models import Pledge
from portal.workers.models import Worker
from portal.workers.nik import NikError, parse_nik
from portal.workers.pii import current_cipher

MAX_AMOUNT = 1_000_000_000_000  # far above any benefit; keeps typing slips out of BigInteger
LOOKUP_BATCH = 2_000
_DMY = re.compile(r"([0-9]{1,2})([/-])([0-9]{1,2})\2([0-9]{4})")
_ISO = re.compile(r"([0-9]{4})-([0-9]{1,2})-([0-9]{1,2})")
_AMOUNT = re.compile(r"(?:rp\.?\s*)?([0-9]{1,3}(?:\.[0-9]{3})+|[0-9]+)(?:,-|,00)?", re.I)


def parse_event_date(text: str) -> date | None:
    """'05/03/2026', '5-3-2026' or '2026-03-05' -> 5 March 2026; None when not a date."""
    text = (text or "").strip()
    if match := _DMY.fullmatch(text):
        day, month, year = int(match.group(1)), int(match.group(3)), int(match.group(4))
    elif match := _ISO.fullmatch(text):
        year, month, day = (int(part) for part in match.groups())
    else:
        return None
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_amount(text: str) -> int | None:
    """'1500000', 'Rp1.500.000', 'Rp 1.500.000,-' -> 1500000; None unless whole rupiah > 0."""
    match = _AMOUNT.fullmatch((text or "").strip())
    if not match:
        return None
    amount = int(match.group(1).replace(".", ""))
    return amount if 0 < amount <= MAX_AMOUNT else None


def parse_kind(text: str) -> ClaimKind | None:
    """'JKK', ' jkm ' -> the kind; None for anything else."""
    try:
        return ClaimKind((text or "").strip().casefold())
    except ValueError:
        return None


def check_actor(actor: User | None) -> None:
    """Recording claims needs CLAIM_MANAGE; None is the command line. Raises NotAllowed."""
    if actor is not None and not can(actor, Permission.CLAIM_MANAGE):
        raise NotAllowed(_m("%(email)s may not record claims", email=actor.email))


def check_claim(
    event_date: date, kind: str, amount: int, story: str, today: date | None = None
) -> tuple[ClaimKind, str]:
    """The kind and the trimmed story of a claim whose values are sound. Raises InvalidClaim."""
    claim_kind = parse_kind(str(kind))
    if claim_kind is None:
        raise InvalidClaim(_m("the type must be jkk or jkm"), "kind")
    if event_date > (today or date.today()):
        raise InvalidClaim(_m("the event date is in the future"), "event_date")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_AMOUNT:
        raise InvalidClaim(_m("the amount must be whole rupiah above 0"), "amount")
    story = (story or "").strip()
    if len(story) > MAX_STORY:
        raise InvalidClaim(
            _m("the story is longer than %(max)s characters", max=MAX_STORY), "story"
        )
    return claim_kind, story


def coverage_of(worker_id: int, event_date: date) -> Coverage | None:
    """The coverage row of the worker in the month of the event, if any funder paid it."""
    return db.session.scalar(
        select(Coverage).where(
            Coverage.worker_id == worker_id, Coverage.month == event_date.replace(day=1)
        )
    )


def find_claim(worker_id: int, kind: str, event_date: date) -> Claim | None:
    return db.session.scalar(
        select(Claim).where(
            Claim.worker_id == worker_id, Claim.kind == kind, Claim.event_date == event_date
        )
    )


def record_claim(
    worker: Worker,
    event_date: date,
    kind: str,
    amount: int,
    story: str,
    actor: User | None,
    today: date | None = None,
) -> Claim:
    """Record a benefit BPJS TK paid, tied to the coverage of the event's month (and so to
    its funder). The worker's status is left alone, also for a death (JKM).

    Raises NotAllowed, InvalidClaim, NotCovered, DuplicateClaim.
    """
    check_actor(actor)
    claim_kind, story = check_claim(event_date, kind, amount, story, today)
    coverage = coverage_of(worker.id, event_date)
    if coverage is None:
        raise NotCovered(_m("the worker was not covered in %(month)s", month=f"{event_date:%Y-%m}"))
    existing = find_claim(worker.id, claim_kind, event_date)
    if existing is not None:
        raise DuplicateClaim(
            _m(
                "this %(kind)s claim is recorded already (claim #%(id)s)",
                kind=claim_kind.value,
                id=existing.id,
            )
        )
    return _add_claim(worker.id, coverage, event_date, claim_kind, amount, story, actor)


def _add_claim(
    worker_id: int,
    coverage: Coverage,
    event_date: date,
    kind: ClaimKind,
    amount: int,
    story: str,
    actor: User | None,
) -> Claim:
    claim = Claim(
        worker_id=worker_id,
        coverage_id=coverage.id,
        funder=coverage.funder,
        pledge_id=coverage.pledge_id,
        event_date=event_date,
        month=event_date.replace(day=1),
        kind=kind,
        amount=amount,
        story=story,
        recorded_by_id=actor.id if actor else None,
    )
    try:
        with db.session.begin_nested():  # another request may record the same event meanwhile
            db.session.add(claim)
    except IntegrityError:
        raise DuplicateClaim(
            _m("this %(kind)s claim is recorded already", kind=kind.value)
        ) from None
    pledge = db.session.get(Pledge, coverage.pledge_id) if coverage.pledge_id else None
    # No NIK, name or story here: the company's audit trail must not identify the worker.
    record_event(
        "claim.record",
        claim,
        actor=actor,
        company_id=pledge.company_id if pledge else None,
        after={
            "worker_id": worker_id,
            "kind": kind.value,
            "event_date": event_date.isoformat(),
            "amount": amount,
            "funder": str(coverage.funder),
            "pledge_id": coverage.pledge_id,
            "coverage_id": coverage.id,
            "story_chars": len(story),
        },
    )
    return claim


# Claim files ------------------------------------------------------------------------------


class Rejection(enum.StrEnum):
    """Why a row of a claim file was refused (codes; pages and the CLI word them)."""

    INVALID_NIK = "invalid_nik"
    UNKNOWN_NIK = "unknown_nik"
    NOT_COVERED = "not_covered"
    DUPLICATE = "duplicate"
    ALREADY_RECORDED = "already_recorded"
    BAD_DATE = "bad_date"
    FUTURE_DATE = "future_date"
    BAD_AMOUNT = "bad_amount"
    BAD_TYPE = "bad_type"
    STORY_TOO_LONG = "story_too_long"


# Why a cell was refused; `%(detail)s` is the reason's facts (RejectedRow.detail).
MESSAGES = {
    Rejection.INVALID_NIK: _m("Not a valid NIK (16 digits holding a real birth date)."),
    Rejection.UNKNOWN_NIK: _m("No worker with this NIK is on the register."),
    Rejection.NOT_COVERED: _m("The worker was not covered in %(detail)s."),
    Rejection.DUPLICATE: _m("The same worker, type and date as row %(detail)s."),
    Rejection.ALREADY_RECORDED: _m("Recorded already (claim #%(detail)s)."),
    Rejection.BAD_DATE: _m("Not a date: write DD/MM/YYYY, DD-MM-YYYY or YYYY-MM-DD."),
    Rejection.FUTURE_DATE: _m("The date is in the future."),
    Rejection.BAD_AMOUNT: _m("Not an amount in whole rupiah above 0."),
    Rejection.BAD_TYPE: _m("The type must be jkk or jkm."),
    Rejection.STORY_TOO_LONG: _m("The story is longer than %(detail)s characters."),
}

COLUMN_ALIASES = {
    "nik": "nik",
    "tanggal": "date",
    "date": "date",
    "jenis": "kind",
    "type": "kind",
    "jumlah": "amount",
    "amount": "amount",
    "cerita": "story",
    "story": "story",
}
REQUIRED_COLUMNS = ("nik", "date", "kind", "amount")


@dataclass(frozen=True)
class RejectedRow:
    """One refused cell: the file's row number (header = row 1), the column as the file names
    it, why, and the reason's facts (the first row of a duplicate, the month not covered...)."""

    row: int
    column: str
    reason: Rejection
    detail: tuple[str, ...] = ()

    @property
    def message(self) -> Message:
        """The reason: `str()` in the reader's language (English on the command line)."""
        msgid = MESSAGES[self.reason].msgid
        if self.reason == Rejection.STORY_TOO_LONG:
            return Message(msgid, detail=MAX_STORY)
        return Message(msgid, detail=", ".join(self.detail)) if self.detail else Message(msgid)


@dataclass
class ClaimImport:
    """The outcome of a claim file: nothing is written unless every row is accepted.
    `rejected` keeps the first MAX_DETAIL refusals; `rejected_rows` counts every refused row."""

    dry_run: bool
    rows: int = 0
    accepted: int = 0
    amount: int = 0
    recorded: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    refusals: int = 0
    refused_rows: int = 0

    @property
    def ok(self) -> bool:
        return not self.refused_rows

    @property
    def rejected_rows(self) -> int:
        return self.refused_rows

    def refuse(self, refusals: list[RejectedRow]) -> None:
        """One row refused, for one reason or more."""
        self.refused_rows += 1
        self.refusals += len(refusals)
        self.rejected.extend(refusals[: max(0, MAX_DETAIL - len(self.rejected))])

    def as_json(self) -> dict[str, Any]:
        """The outcome for the command line's --json (messages in English)."""
        return {
            "rows": self.rows,
            "recorded": self.recorded,
            "rejected": self.rejected_rows,
            "errors": [
                {"row": r.row, "column": r.column, "message": r.message.english()}
                for r in self.rejected
            ],
        } | ({"errors_total": self.refusals} if self.refusals > len(self.rejected) else {})


class _Row(NamedTuple):
    row: int
    nik: str
    event_date: date
    kind: ClaimKind
    amount: int
    story: str


@dataclass(frozen=True)
class _Candidate:
    row: _Row
    worker: Worker
    coverage: Coverage


def import_claims(
    data: Source, actor: User | None, dry_run: bool = False, today: date | None = None
) -> ClaimImport:
    """Record every claim of a CSV file (nik, tanggal/date, jenis/type, jumlah/amount and an
    optional cerita/story), or none: any refused row means nothing is written. A dry run only
    reports.

    Raises NotAllowed, InvalidClaimFile, DuplicateClaim (another change recorded one of the
    claims meanwhile; the caller rolls back).
    """
    check_actor(actor)
    report = ClaimImport(dry_run=dry_run)
    columns, records = read_claim_rows(data)
    parsed = _parse_rows(records, columns, report, today or date.today())
    if report.rows == 0:
        raise InvalidClaimFile(_m("The file has no rows below its header."))
    candidates = _check_register(parsed, columns, report)
    report.accepted = len(candidates)
    report.amount = sum(c.row.amount for c in candidates)
    report.rejected.sort(key=lambda r: r.row)
    if not report.ok or dry_run:
        return report
    for c in candidates:
        _add_claim(
            c.worker.id, c.coverage, c.row.event_date, c.row.kind, c.row.amount, c.row.story, actor
        )
    report.recorded = len(candidates)
    db.session.flush()
    record_event(
        "claim.import",
        actor=actor,
        after={"rows": report.rows, "recorded": report.recorded, "amount": report.amount},
    )
    return report


def read_claim_rows(
    data: Source,
) -> tuple[dict[str, str], Iterator[tuple[int, dict[str, str]]]]:
    """The file's columns (canonical name -> name in the file) and its non-empty rows as
    (row number, canonical name -> cell). One encoding for the whole file (UTF-8, with or
    without BOM, or Windows-1252; portal/csvtext.py); comma, semicolon or tab; the limits
    of every upload.

    Raises InvalidClaimFile (iterating the rows may raise it too, for broken CSV, a control
    character in a cell, or more than MAX_ROWS rows).
    """
    try:
        upload = open_csv(data)
        upload.decoding.refuse_bad_lines()
    except UploadError as error:
        raise InvalidClaimFile(error.message) from None
    records = _records(upload.records())
    header = next(records, None)
    if header is None:
        raise InvalidClaimFile(_m("The file is empty."))
    positions, columns = _header(header[1])
    return columns, _cells(records, positions, columns)


def _records(records: Iterator[Record]) -> Iterator[tuple[int, list[str]]]:
    """Non-empty records with the line each starts on (a story may span lines)."""
    count = 0
    try:
        for record in records:
            if filled(record.cells):
                count += 1
                if count > MAX_ROWS + 1:  # and the header
                    raise too_many_rows()
                yield record.line, record.cells
    except UploadError as error:
        raise InvalidClaimFile(error.message) from None


def _cells(
    records: Iterator[tuple[int, list[str]]], positions: dict[str, int], columns: dict[str, str]
) -> Iterator[tuple[int, dict[str, str]]]:
    for number, cells in records:
        row = {key: cells[at].strip() if at < len(cells) else "" for key, at in positions.items()}
        for key, cell in row.items():
            # A story may be long (its own check refuses it past MAX_STORY); no other cell is.
            problem = cell_message_at(
                cell, number, columns[key], None if key == "story" else MAX_CELL_CHARS
            )
            if problem:
                raise InvalidClaimFile(problem)
        yield number, row


def _header(cells: list[str]) -> tuple[dict[str, int], dict[str, str]]:
    try:
        check_header(list(cells))
    except UploadError as error:
        raise InvalidClaimFile(error.message) from None
    positions: dict[str, int] = {}
    columns: dict[str, str] = {}
    for at, cell in enumerate(cells):
        name = cell.strip().strip('"').casefold()
        key = COLUMN_ALIASES.get(name)
        if key is None:
            continue
        if key in positions:
            raise InvalidClaimFile(
                _m(
                    "The columns '%(first)s' and '%(second)s' say the same; keep one.",
                    first=columns[key],
                    second=name,
                )
            )
        positions[key], columns[key] = at, name
    missing = [key for key in REQUIRED_COLUMNS if key not in positions]
    if missing:
        names = ", ".join(_LABELS[key] for key in missing)
        raise InvalidClaimFile(_m("The first row lacks the column(s): %(names)s.", names=names))
    return positions, columns


_LABELS = {"nik": "nik", "date": "tanggal/date", "kind": "jenis/type", "amount": "jumlah/amount"}


def _parse_rows(
    records: Iterator[tuple[int, dict[str, str]]],
    columns: dict[str, str],
    report: ClaimImport,
    today: date,
) -> list[_Row]:
    """Each row's own problems into report.rejected; the rows that pass, in file order."""
    first_row: dict[tuple[str, ClaimKind, date], int] = {}
    passed = []
    usefulness = Usefulness()
    for number, cells in records:
        report.rows += 1
        row, problems = _parse_row(number, cells, columns, today)
        if row is not None:
            key = (row.nik, row.kind, row.event_date)
            if key in first_row:
                duplicate = (str(first_row[key]),)
                problems = [RejectedRow(number, columns["nik"], Rejection.DUPLICATE, duplicate)]
            else:
                first_row[key] = number
                passed.append(row)
        if problems:
            report.refuse(problems)
        try:
            usefulness.count(bool(problems))
        except UploadError as error:
            raise InvalidClaimFile(error.message) from None
    return passed


def _parse_row(
    number: int, cells: dict[str, str], columns: dict[str, str], today: date
) -> tuple[_Row | None, list[RejectedRow]]:
    problems = []

    def refuse(key: str, reason: Rejection) -> None:
        problems.append(RejectedRow(number, columns[key], reason))

    nik = cells["nik"].lstrip("'").strip()
    try:
        parse_nik(nik)
    except NikError:
        refuse("nik", Rejection.INVALID_NIK)
    event_date = parse_event_date(cells["date"])
    if event_date is None:
        refuse("date", Rejection.BAD_DATE)
    elif event_date > today:
        refuse("date", Rejection.FUTURE_DATE)
    kind = parse_kind(cells["kind"])
    if kind is None:
        refuse("kind", Rejection.BAD_TYPE)
    amount = parse_amount(cells["amount"])
    if amount is None:
        refuse("amount", Rejection.BAD_AMOUNT)
    story = cells.get("story", "").strip()
    if len(story) > MAX_STORY:
        refuse("story", Rejection.STORY_TOO_LONG)
    if problems:
        return None, problems
    assert event_date is not None and kind is not None and amount is not None
    return _Row(number, nik, event_date, kind, amount, story), []


def _check_register(
    rows: list[_Row], columns: dict[str, str], report: ClaimImport
) -> list[_Candidate]:
    """Rows whose worker is registered, covered in the event's month, and not claimed yet."""
    lookup = current_cipher().lookup_hash
    hashes = {nik: lookup(nik) for nik in {row.nik for row in rows}}
    workers = _workers_by_hash(list(hashes.values()))
    known = []
    for row in rows:
        worker = workers.get(hashes[row.nik])
        if worker is None:
            report.refuse([RejectedRow(row.row, columns["nik"], Rejection.UNKNOWN_NIK)])
        else:
            known.append((row, worker))
    coverage = _coverage({(w.id, r.event_date.replace(day=1)) for r, w in known})
    recorded = _recorded({(w.id, r.kind.value, r.event_date) for r, w in known})
    passed = []
    for row, worker in known:
        month = row.event_date.replace(day=1)
        covered = coverage.get((worker.id, month))
        claim_id = recorded.get((worker.id, row.kind.value, row.event_date))
        if covered is None:
            report.refuse(
                [RejectedRow(row.row, columns["date"], Rejection.NOT_COVERED, (f"{month:%Y-%m}",))]
            )
        elif claim_id is not None:
            report.refuse(
                [RejectedRow(row.row, columns["nik"], Rejection.ALREADY_RECORDED, (str(claim_id),))]
            )
        else:
            passed.append(_Candidate(row, worker, covered))
    return passed


def _batches(items: list[Any]) -> Iterator[list[Any]]:
    for start in range(0, len(items), LOOKUP_BATCH):
        yield items[start : start + LOOKUP_BATCH]


def _workers_by_hash(hashes: list[str]) -> dict[str, Worker]:
    found: dict[str, Worker] = {}
    for batch in _batches(sorted(set(hashes))):
        found.update(
            (w.nik_hash, w)
            for w in db.session.scalars(select(Worker).where(Worker.nik_hash.in_(batch)))
        )
    return found


def _coverage(pairs: set[tuple[int, date]]) -> dict[tuple[int, date], Coverage]:
    found: dict[tuple[int, date], Coverage] = {}
    for batch in _batches(sorted(pairs)):
        found.update(
            ((c.worker_id, c.month), c)
            for c in db.session.scalars(
                select(Coverage).where(tuple_(Coverage.worker_id, Coverage.month).in_(batch))
            )
        )
    return found


def _recorded(keys: set[tuple[int, str, date]]) -> dict[tuple[int, str, date], int]:
    found: dict[tuple[int, str, date], int] = {}
    for batch in _batches(sorted(keys)):
        found.update(
            ((w, str(k), d), i)
            for i, w, k, d in db.session.execute(
                select(Claim.id, Claim.worker_id, Claim.kind, Claim.event_date).where(
                    tuple_(Claim.worker_id, Claim.kind, Claim.event_date).in_(batch)
                )
            )
        )
    return found
