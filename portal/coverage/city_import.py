"""The city's participants: a file of NIKs becomes city-funded coverage for some months."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date
from typing import IO, Any

from sqlalchemy import insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage import queries
from portal.coverage.exceptions import (
    CoverageClash,
    InvalidCityFile,
    InvalidMonth,
    MonthClosed,
    UnknownFunder,
)
from portal.coverage.models import Coverage, Funder
from portal.coverage.services import check_actor, covered_elsewhere
from portal.csvtext import (
    MAX_DETAIL,
    MAX_ROWS,
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
from portal.matching.rules import current_rules
from portal.messages import _m, message_of
from portal.pledges.pricing import add_months, rate_for
from portal.workers.eligibility import facts_of, ineligibility_reasons
from portal.workers.models import Worker
from portal.workers.nik import NikError, parse_nik
from portal.workers.pii import current_cipher

CITY = (Funder.APBD, Funder.DBHCHT)
MAX_IMPORT_MONTHS = 12
LOOKUP_BATCH = 2_000


class Rejection:
    """Why a row of a participant file was refused (codes; pages and CLI word them)."""

    INVALID_NIK = "invalid_nik"
    DUPLICATE = "duplicate"
    UNKNOWN_NIK = "unknown_nik"
    NOT_ELIGIBLE = "not_eligible"
    DBHCHT_CATEGORY = "dbhcht_category"
    ALREADY_COVERED = "already_covered"
    COVERED_ELSEWHERE = "covered_elsewhere"  # skipped, not refused: see CityImport.skipped


@dataclass(frozen=True)
class RejectedRow:
    """One refused row: the file's row number, the NIK as written, and why; `detail` holds
    the reason's facts (the first row for a duplicate, months covered, R2 reasons...)."""

    row: int
    nik: str
    reason: str
    detail: tuple[str, ...] = ()


@dataclass
class CityImport:
    """The outcome of a participant file: nothing is written unless every row is accepted.

    A worker whose person another region funds in one of the months (registered there before
    moving here) is skipped, not refused: the others are covered, and `skipped` says who
    was left out, with the months (never the other region's funder).
    """

    funder: str
    months: list[date]
    dry_run: bool
    rows: int = 0
    accepted: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)  # the first MAX_DETAIL
    refused: int = 0  # every refused row
    written: int = 0
    amount: int = 0
    skipped: list[RejectedRow] = field(default_factory=list)  # the first MAX_DETAIL
    skipped_count: int = 0  # every worker skipped

    @property
    def ok(self) -> bool:
        return not self.refused

    def refuse(self, row: RejectedRow) -> None:
        self.refused += 1
        if len(self.rejected) < MAX_DETAIL:
            self.rejected.append(row)

    def skip(self, row: RejectedRow) -> None:
        self.skipped_count += 1
        if len(self.skipped) < MAX_DETAIL:
            self.skipped.append(row)


@dataclass(frozen=True)
class _Candidate:
    row: int
    nik: str
    worker: Worker


def import_city_participants(
    stream: IO[bytes] | bytes,
    funder: str,
    month: date,
    months: int,
    actor: User | None,
    *,
    dry_run: bool = False,
) -> CityImport:
    """Cover every worker of the file (a `nik` column) by APBD or DBHCHT for `months` months
    from `month`, or nobody: any refused row means nothing is written. A dry run only reports.
    Workers another region funds in one of the months are skipped (report.skipped).

    Raises NotAllowed, UnknownFunder, InvalidMonth, MonthClosed, InvalidCityFile,
    CoverageClash (another change covered one of the workers meanwhile), and NoRateInForce.
    """
    check_actor(actor)
    covered_months = _import_months(funder, month, months)
    rates = {m: rate_for(m, funding_source="city").monthly_amount for m in covered_months}
    report = CityImport(funder=funder, months=covered_months, dry_run=dry_run)
    candidates = _skip_covered_elsewhere(_check_rows(read_niks(stream), report), report)
    report.accepted = len(candidates)
    report.amount = len(candidates) * sum(rates.values())
    if not report.ok or dry_run:
        report.rejected.sort(key=lambda r: r.row)
        return report
    try:
        report.written = _write_city_coverage(candidates, funder, rates)
    except IntegrityError:
        # Another region may have funded one of the people meanwhile, its rows now committed:
        # they are skipped too, once. Any other clash refuses the file.
        skipped = report.skipped_count
        candidates = _skip_covered_elsewhere(candidates, report)
        if report.skipped_count == skipped:
            raise CoverageClash(CLASH) from None
        report.accepted = len(candidates)
        report.amount = len(candidates) * sum(rates.values())
        try:
            report.written = _write_city_coverage(candidates, funder, rates)
        except IntegrityError:
            raise CoverageClash(CLASH) from None
    record_event(
        "coverage.import_city",
        actor=actor,
        after={
            "funder": funder,
            "first_month": f"{month:%Y-%m}",
            "months": months,
            "workers": report.accepted,
            "rows": report.written,
            "amount": report.amount,
            "skipped_elsewhere": report.skipped_count,
        },
    )
    return report


def _import_months(funder: str, month: date, months: int) -> list[date]:
    if funder not in CITY:
        raise UnknownFunder(_m("%(name)s is not apbd or dbhcht", name=repr(funder)))
    if month.day != 1:
        raise InvalidMonth(_m("%(day)s is not the first day of a month", day=str(month)))
    if not 1 <= months <= MAX_IMPORT_MONTHS:
        raise InvalidMonth(_m("the number of months must be 1-%(max)s", max=MAX_IMPORT_MONTHS))
    covered = [add_months(month, n) for n in range(months)]
    closed = [m for m in covered if queries.month_close(m) is not None]
    if closed:
        raise MonthClosed(
            _m("%(months)s closed already", months=", ".join(f"{m:%Y-%m}" for m in closed))
        )
    return covered


def read_niks(data: Source) -> Iterator[tuple[int, str]]:
    """(row number, NIK cell) of each non-empty row; the header row is row 1.

    One encoding for the whole file (UTF-8, with or without BOM, or Windows-1252;
    portal/csvtext.py); comma, semicolon or tab; the `nik` header in any case; the limits of
    every upload.
    Raises InvalidCityFile.
    """
    try:
        upload = open_csv(data)
        upload.decoding.refuse_bad_lines()
        records = (record for record in upload.records() if filled(record.cells))
        header = next(records, None)
        column = _nik_column(header.cells if header else None)
        for count, (number, cells, _) in enumerate(records, 1):
            if count > MAX_ROWS:
                raise too_many_rows()
            nik = cells[column].strip() if column < len(cells) else ""
            if problem := cell_message_at(nik, number, "nik"):
                raise InvalidCityFile(problem)
            yield number, nik
    except UploadError as error:
        raise InvalidCityFile(message_of(error)) from None


def _nik_column(header: list[str] | None) -> int:
    if header is None:
        raise InvalidCityFile(_m("The file is empty."))
    check_header(list(header))
    names = [cell.strip().strip('"').casefold() for cell in header]
    if "nik" not in names:
        raise InvalidCityFile(_m("The file has no 'nik' column in its first row."))
    return names.index("nik")


def _check_rows(rows: Iterator[tuple[int, str]], report: CityImport) -> list[_Candidate]:
    """Every row's problem into report.rejected; the rows that pass, in file order."""
    cipher = current_cipher()
    first_row: dict[str, int] = {}
    hashed: list[tuple[int, str, str]] = []
    usefulness = Usefulness()
    for number, raw in rows:
        report.rows += 1
        refused = _refusal(number, raw, first_row)
        if refused is None:
            nik = raw.lstrip("'").strip()
            first_row[nik] = number
            hashed.append((number, nik, cipher.lookup_hash(nik)))
        else:
            report.refuse(refused)
        try:
            usefulness.count(refused is not None)
        except UploadError as error:
            raise InvalidCityFile(message_of(error)) from None
    if report.rows == 0:
        raise InvalidCityFile(_m("The file has no rows below its header."))
    workers = _workers_by_hash([h for _, _, h in hashed])
    candidates = []
    for number, nik, key in hashed:
        if key not in workers:
            report.refuse(RejectedRow(number, nik, Rejection.UNKNOWN_NIK))
        else:
            candidates.append(_Candidate(number, nik, workers[key]))
    return _check_workers(candidates, report)


def _refusal(number: int, raw: str, first_row: dict[str, int]) -> RejectedRow | None:
    """Why the row is refused by its NIK alone (not a NIK, or one met before), or None."""
    nik = raw.lstrip("'").strip()
    try:
        parse_nik(nik)
    except NikError:
        return RejectedRow(number, raw, Rejection.INVALID_NIK)
    if nik in first_row:
        return RejectedRow(number, nik, Rejection.DUPLICATE, (str(first_row[nik]),))
    return None


def _workers_by_hash(hashes: list[str]) -> dict[str, Worker]:
    found: dict[str, Worker] = {}
    for start in range(0, len(hashes), LOOKUP_BATCH):
        batch = hashes[start : start + LOOKUP_BATCH]
        found.update(
            (w.nik_hash, w)
            for w in db.session.scalars(
                select(Worker)
                .options(joinedload(Worker.category))
                .where(Worker.nik_hash.in_(batch))
            )
        )
    return found


def _check_workers(candidates: list[_Candidate], report: CityImport) -> list[_Candidate]:
    dbhcht = set(current_rules().dbhcht_categories)
    covered = _covered([c.worker.id for c in candidates], report.months)
    passed = []
    for c in candidates:
        reason, detail = _worker_problem(c.worker, report, dbhcht, covered)
        if reason:
            report.refuse(RejectedRow(c.row, c.nik, reason, detail))
        else:
            passed.append(c)
    return passed


def _worker_problem(
    worker: Worker, report: CityImport, dbhcht: set[str], covered: dict[int, list[str]]
) -> tuple[str, tuple[str, ...]]:
    reasons = sorted(
        {str(r) for m in report.months for r in ineligibility_reasons(facts_of(worker), m)}
    )
    if reasons:
        return Rejection.NOT_ELIGIBLE, tuple(reasons)
    if report.funder == Funder.DBHCHT and worker.category.code not in dbhcht:
        return Rejection.DBHCHT_CATEGORY, (worker.category.code,)
    if worker.id in covered:
        return Rejection.ALREADY_COVERED, tuple(covered[worker.id])
    return "", ()


def _covered(worker_ids: list[int], months: list[date]) -> dict[int, list[str]]:
    """Worker -> ['2026-12 apbd', ...] for the workers already funded in one of the months."""
    found: dict[int, list[str]] = {}
    for start in range(0, len(worker_ids), LOOKUP_BATCH):
        rows = db.session.execute(
            select(Coverage.worker_id, Coverage.month, Coverage.funder)
            .where(
                Coverage.worker_id.in_(worker_ids[start : start + LOOKUP_BATCH]),
                Coverage.month.in_(months),
            )
            .order_by(Coverage.worker_id, Coverage.month)
        )
        for worker_id, month, funder in rows:
            found.setdefault(worker_id, []).append(f"{month:%Y-%m} {funder}")
    return found


def _skip_covered_elsewhere(candidates: list[_Candidate], report: CityImport) -> list[_Candidate]:
    """The candidates but those whose person another region funds in one of the months."""
    months = set(report.months)
    elsewhere = covered_elsewhere(
        report.months[0], report.months[-1], [c.worker.id for c in candidates]
    )
    kept = []
    for c in candidates:
        taken = sorted(elsewhere.get(c.worker.id, set()) & months)
        if taken:
            detail = tuple(f"{m:%Y-%m}" for m in taken)
            report.skip(RejectedRow(c.row, c.nik, Rejection.COVERED_ELSEWHERE, detail))
        else:
            kept.append(c)
    return kept


CLASH = _m("a worker in the file was covered by another change meanwhile; nothing was written")


def _write_city_coverage(candidates: list[_Candidate], funder: str, rates: dict[date, int]) -> int:
    """Raises IntegrityError, with nothing written, when a row clashes with coverage there.

    In (person, month) order, as approvals write theirs: writers racing on PostgreSQL wait
    for each other's rows in the same order and never deadlock.
    """
    version = current_rules().version
    ordered = sorted(candidates, key=lambda c: c.worker.nik_hash)
    rows: list[dict[str, Any]] = [
        {
            "worker_id": c.worker.id,
            "person_key": c.worker.nik_hash,
            "month": month,
            "funder": funder,
            "amount": rate,
            "rule_version": version,
            "pledge_id": None,
            "slot": None,
            "run_id": None,
        }
        for c in ordered
        for month, rate in sorted(rates.items())
    ]
    with db.session.begin_nested():
        for start in range(0, len(rows), 10_000):
            db.session.execute(insert(Coverage), rows[start : start + 10_000])
    return len(rows)
