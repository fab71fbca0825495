"""Remittance to BPJS TK: each funder's file of a closed month (full NIKs), and marking the
transfer made, once per funder-month, in the ledger."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage import queries
from portal.coverage.exceptions import (
    AlreadyRemitted,
    InvalidReference,
    MonthNotClosed,
    NothingToRemit,
    UnknownFunder,
)
from portal.coverage.models import Coverage, Funder, Remittance, RemittanceFunder
from portal.coverage.services import check_actor
from portal.exports import csv_bytes, xlsx_bytes
from portal.extensions import db
from portal.ledger.exceptions import DuplicateEntry
from portal.ledger.services import record_remittance
from portal.messages import _m
from portal.reference.models import Category
from portal.workers.models import Worker
from portal.workers.pii import current_cipher

HEADER = ["nik", "nama", "no_kpj", "kategori", "pendana", "no_ikrar", "bulan", "iuran"]
TEXT_COLUMNS = ("nik", "no_kpj")  # never numbers in a spreadsheet (digits, leading zeros)
FORMATS = ("csv", "xlsx")
MAX_REFERENCE = 80
# Remittance files are per funder; every pledge together is the CSR file.
COVERAGE_FUNDER = {
    RemittanceFunder.APBD: Funder.APBD,
    RemittanceFunder.DBHCHT: Funder.DBHCHT,
    RemittanceFunder.CSR: Funder.PLEDGE,
}


@dataclass(frozen=True)
class RemittanceRow:
    """One covered worker-month as BPJS TK receives it."""

    nik: str
    name: str
    kpj: str
    category: str
    funder: str
    pledge_id: int | None
    amount: int


def remittance_funder(name: str) -> RemittanceFunder:
    """Raises UnknownFunder."""
    try:
        return RemittanceFunder(name)
    except ValueError:
        raise UnknownFunder(_m("%(name)s is not apbd, dbhcht or csr", name=repr(name))) from None


def _closed(month: date) -> None:
    if queries.month_close(month) is None:
        raise MonthNotClosed(_m("%(month)s is not closed; close it first", month=f"{month:%Y-%m}"))


def remittance_rows(month: date, funder: str) -> list[RemittanceRow]:
    """Every worker the funder covers in a closed month, NIK decrypted, by pledge then name.

    Raises UnknownFunder, MonthNotClosed.
    """
    which = remittance_funder(funder)
    _closed(month)
    cipher = current_cipher()
    result = db.session.execute(
        select(
            Worker.nik_encrypted,
            Worker.full_name,
            Worker.kpj,
            Category.code,
            Coverage.pledge_id,
            Coverage.amount,
        )
        .join(Worker, Worker.id == Coverage.worker_id)
        .join(Category, Category.id == Worker.category_id)
        .where(Coverage.month == month, Coverage.funder == COVERAGE_FUNDER[which])
        .order_by(Coverage.pledge_id, Worker.full_name, Worker.id)
        .execution_options(yield_per=2_000)
    )
    return [
        RemittanceRow(
            cipher.decrypt(nik), name, kpj or "", category, which.value, pledge_id, int(amount)
        )
        for nik, name, kpj, category, pledge_id, amount in result
    ]


def remittance_file(month: date, funder: str, fmt: str) -> tuple[bytes, int]:
    """The funder's file as CSV or XLSX, formulas escaped; returns it and its row count.

    Raises UnknownFunder, MonthNotClosed, ValueError for another format.
    """
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not csv or xlsx")
    rows = remittance_rows(month, funder)
    cells = [
        [r.nik, r.name, r.kpj, r.category, r.funder, r.pledge_id or "", f"{month:%Y-%m}", r.amount]
        for r in rows
    ]
    if fmt == "csv":
        return csv_bytes(HEADER, cells), len(rows)
    title = f"Iuran {month:%Y-%m} {funder}"
    return xlsx_bytes(HEADER, cells, title, TEXT_COLUMNS), len(rows)


def file_name(month: date, funder: str, fmt: str) -> str:
    return f"remittance-{month:%Y-%m}-{funder}.{fmt}"


def record_download(month: date, funder: str, fmt: str, rows: int, actor: User | None) -> None:
    """A remittance file holds full NIKs: every download is audited (without them)."""
    record_event(
        "coverage.remittance_export",
        actor=actor,
        after={"month": f"{month:%Y-%m}", "funder": funder, "format": fmt, "rows": rows},
    )


def mark_remitted(month: date, funder: str, reference: str, actor: User | None) -> Remittance:
    """Record the funder's transfer to BPJS TK for a closed month and book it (debit payable,
    credit cash), once per funder-month.

    Raises NotAllowed, UnknownFunder, InvalidReference, MonthNotClosed, AlreadyRemitted,
    NothingToRemit.
    """
    check_actor(actor)
    which = remittance_funder(funder)
    reference = _checked_reference(reference)
    _closed(month)
    if _remitted(month, which):
        raise AlreadyRemitted(
            _m("%(which)s %(month)s was remitted already", which=str(which), month=f"{month:%Y-%m}")
        )
    workers, amount = _due(month, which)
    if amount <= 0:
        raise NothingToRemit(
            _m("%(which)s covered nobody in %(month)s", which=str(which), month=f"{month:%Y-%m}")
        )
    remittance = _claim(month, which, workers, amount, reference, actor)
    try:
        record_remittance(month, COVERAGE_FUNDER[which].value, amount, reference)
    except DuplicateEntry:
        raise AlreadyRemitted(
            _m(
                "%(which)s %(month)s is booked as remitted already",
                which=str(which),
                month=f"{month:%Y-%m}",
            )
        ) from None
    record_event(
        "coverage.remit",
        remittance,
        actor=actor,
        after={
            "month": f"{month:%Y-%m}",
            "funder": which.value,
            "workers": workers,
            "amount": amount,
            "reference": reference,
        },
    )
    return remittance


def _checked_reference(reference: str) -> str:
    cleaned = (reference or "").strip()
    if not 1 <= len(cleaned) <= MAX_REFERENCE:
        raise InvalidReference(
            _m("the bank reference must be 1-%(max)s characters", max=MAX_REFERENCE)
        )
    return cleaned


def _remitted(month: date, funder: RemittanceFunder) -> bool:
    return (
        db.session.scalar(
            select(Remittance.id).where(Remittance.month == month, Remittance.funder == funder)
        )
        is not None
    )


def _due(month: date, funder: RemittanceFunder) -> tuple[int, int]:
    workers, amount = db.session.execute(
        select(func.count(Coverage.id), func.coalesce(func.sum(Coverage.amount), 0)).where(
            Coverage.month == month, Coverage.funder == COVERAGE_FUNDER[funder]
        )
    ).one()
    return int(workers), int(amount)


def _claim(
    month: date,
    funder: RemittanceFunder,
    workers: int,
    amount: int,
    reference: str,
    actor: User | None,
) -> Remittance:
    """The unique funder-month refuses a concurrent second marking before the ledger moves."""
    remittance = Remittance(
        month=month,
        funder=funder,
        workers=workers,
        amount=amount,
        reference=reference,
        remitted_by_id=actor.id if actor else None,
    )
    try:
        with db.session.begin_nested():
            db.session.add(remittance)
    except IntegrityError:
        raise AlreadyRemitted(
            _m(
                "%(which)s %(month)s was remitted already",
                which=str(funder),
                month=f"{month:%Y-%m}",
            )
        ) from None
    return remittance
