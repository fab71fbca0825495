"""Posting to the double-entry ledger: append-only, balanced, each source booked once."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from portal.companies.models import Company
from portal.coverage.models import Funder
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.exceptions import (
    DuplicateEntry,
    InsufficientBalance,
    LedgerError,
    UnbalancedEntry,
)
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.ledger.queries import pledge_balance, sponsor_balance
from portal.messages import _m
from portal.pledges.models import Pledge

SOURCE_KEY_LENGTH = 80
MEMO_LENGTH = 200
CITY_FUNDERS = (Funder.APBD, Funder.DBHCHT)

# Built once: executing a prepared core statement with parameters skips building and
# cache-keying a new statement (and the ORM's bulk path) on every posting.
_INSERT_ENTRY = insert(LedgerEntry.__table__).returning(LedgerEntry.__table__.c.id)
_INSERT_LINES = insert(LedgerLine.__table__)


@dataclass(frozen=True)
class Line:
    """One signed amount to post: debit positive, credit negative, whole rupiah."""

    account: Account
    amount: int
    company_id: int | None = None
    pledge_id: int | None = None
    payment_id: int | None = None
    refund_id: int | None = None


def post_entry(
    kind: EntryKind,
    source_key: str,
    lines: list[Line],
    memo: str = "",
    booked_on: date | None = None,
    *,
    look_first: bool = True,
) -> LedgerEntry:
    """Append one balanced entry; entries are never updated or deleted.

    Raises UnbalancedEntry for fewer than two lines, a zero line or a non-zero sum,
    LedgerError for a non-integer amount or an over-long source key, and DuplicateEntry
    when (kind, source_key) is posted already (the caller's transaction stays usable).
    `look_first=False` skips the look-up when a duplicate is all but impossible: the unique
    key still refuses one, with the same DuplicateEntry.
    """
    _check_lines(lines)
    if look_first:
        _require_new(kind, source_key)
    elif len(source_key) > SOURCE_KEY_LENGTH:
        raise LedgerError(
            _m(
                "source key longer than %(max)s: %(key)s",
                max=SOURCE_KEY_LENGTH,
                key=repr(source_key),
            )
        )
    values = {
        "kind": kind,
        "source_key": source_key,
        "memo": memo[:MEMO_LENGTH],
        "booked_on": booked_on or date.today(),
        "created_at": utcnow(),
    }
    entry_id = _insert(values, lines, kind, source_key)
    return LedgerEntry(id=entry_id, **values)


def record_payment_received(
    *, payment_id: int, company_id: int, pledge_id: int, amount: int, reference: str
) -> LedgerEntry:
    """Book money that arrived for a payment: debit cash, credit the sponsor's prepaid
    balance. The payments domain books a payment once it is paid (payments/booking.py).

    Raises DuplicateEntry if the payment is booked already.
    """
    lines = _pair(
        Account.CASH,
        Account.SPONSOR_PREPAID,
        amount,
        company_id=company_id,
        pledge_id=pledge_id,
        payment_id=payment_id,
    )
    # A payment becomes paid once (a conditional update), so the key alone guards replays.
    return post_entry(
        EntryKind.PAYMENT_RECEIVED,
        f"payment:{payment_id}",
        lines,
        memo=f"Payment {reference}",
        look_first=False,
    )


def record_refund(
    *,
    refund_id: int,
    payment_id: int,
    company_id: int,
    pledge_id: int,
    amount: int,
    reason: str,
) -> LedgerEntry:
    """Book money returned against a booked payment: debit the sponsor's prepaid balance,
    credit cash.

    Raises DuplicateEntry if the refund is booked already, LedgerError if the payment is not
    booked for that company and pledge, and InsufficientBalance if the refunds of the payment
    would exceed what it brought or the pledge's or company's prepaid balance would go below
    zero (all checked against the ledger's own lines).
    """
    lines = _pair(
        Account.SPONSOR_PREPAID,
        Account.CASH,
        amount,
        company_id=company_id,
        pledge_id=pledge_id,
        payment_id=payment_id,
        refund_id=refund_id,
    )
    key = f"refund:{refund_id}"
    _require_new(EntryKind.REFUND, key)
    _lock_company(company_id)
    _require_refundable(refund_id, payment_id, company_id, pledge_id, amount)
    _require_prepaid(company_id, pledge_id, amount)
    return post_entry(EntryKind.REFUND, key, lines, memo=f"Refund: {reason}")


def record_coverage_consumed(
    company_id: int, pledge_id: int, month: date, amount: int
) -> LedgerEntry:
    """Book a pledge's coverage for one month: debit prepaid, credit payable to BPJS TK.

    Raises DuplicateEntry if the pledge-month is booked already, LedgerError if the pledge is
    not the company's, and InsufficientBalance if a prepaid balance would go below zero.
    """
    lines = _pair(
        Account.SPONSOR_PREPAID,
        Account.PAYABLE_BPJS,
        amount,
        company_id=company_id,
        pledge_id=pledge_id,
    )
    key = f"consumed:{pledge_id}:{month:%Y-%m}"
    _require_new(EntryKind.COVERAGE_CONSUMED, key)
    _require_pledge_of(company_id, pledge_id)
    _lock_company(company_id)
    _require_prepaid(company_id, pledge_id, amount)
    return post_entry(
        EntryKind.COVERAGE_CONSUMED, key, lines, memo=f"Coverage {month:%Y-%m}, pledge #{pledge_id}"
    )


def record_city_coverage(funder: str, month: date, amount: int) -> LedgerEntry:
    """Book the city's (APBD or DBHCHT) coverage for a month: debit city funding, credit payable.

    Raises LedgerError for another funder, DuplicateEntry if the funder-month is booked already.
    """
    if funder not in CITY_FUNDERS:
        raise LedgerError(_m("%(funder)s is not a city funder", funder=repr(funder)))
    lines = _pair(Account.CITY_FUNDING, Account.PAYABLE_BPJS, amount)
    return post_entry(
        EntryKind.COVERAGE_CONSUMED,
        f"city:{funder}:{month:%Y-%m}",
        lines,
        memo=f"Coverage {month:%Y-%m}, {funder}",
    )


def record_remittance(month: date, funder: str, amount: int, reference: str) -> LedgerEntry:
    """Book a transfer to BPJS TK for one funder's month: debit payable, credit cash.

    Raises LedgerError for an unknown funder, DuplicateEntry if the funder-month is remitted.
    """
    if funder not in set(Funder):
        raise LedgerError(_m("%(funder)s is not a funder", funder=repr(funder)))
    lines = _pair(Account.PAYABLE_BPJS, Account.CASH, amount)
    return post_entry(
        EntryKind.REMITTANCE,
        f"remit:{funder}:{month:%Y-%m}",
        lines,
        memo=f"Remittance {month:%Y-%m}, {funder}, ref {reference}",
    )


def _check_lines(lines: list[Line]) -> None:
    if len(lines) < 2:
        raise UnbalancedEntry(_m("an entry needs at least two lines"))
    if any(type(line.amount) is not int for line in lines):
        raise LedgerError(_m("amounts are whole rupiah (int)"))
    if any(line.amount == 0 for line in lines):
        raise UnbalancedEntry(_m("a line of 0 moves nothing"))
    total = sum(line.amount for line in lines)
    if total != 0:
        raise UnbalancedEntry(_m("lines sum to %(total)s, not 0", total=total))


def _pair(debit: Account, credit: Account, amount: int, **refs: int | None) -> list[Line]:
    if type(amount) is not int or amount <= 0:
        raise LedgerError(
            _m(
                "amount must be a positive whole number of rupiah, not %(amount)s",
                amount=repr(amount),
            )
        )
    return [Line(debit, amount, **refs), Line(credit, -amount, **refs)]


def _require_new(kind: EntryKind, source_key: str) -> None:
    """Refuse a replay before any other check, so a replay always reads as a duplicate."""
    if len(source_key) > SOURCE_KEY_LENGTH:
        raise LedgerError(
            _m(
                "source key longer than %(max)s: %(key)s",
                max=SOURCE_KEY_LENGTH,
                key=repr(source_key),
            )
        )
    if _entry_exists(kind, source_key):
        raise DuplicateEntry(kind, source_key)


def _entry_exists(kind: EntryKind, source_key: str) -> bool:
    found = db.session.scalar(
        select(LedgerEntry.id).where(LedgerEntry.kind == kind, LedgerEntry.source_key == source_key)
    )
    return found is not None


def _insert(values: dict[str, object], lines: list[Line], kind: EntryKind, source_key: str) -> int:
    """Insert the entry and its lines inside a savepoint: a concurrent twin hits the unique
    key, not the transaction, and nothing half-written stays."""
    try:
        with db.session.begin_nested():
            entry_id = int(db.session.execute(_INSERT_ENTRY, values).scalar_one())
            db.session.execute(
                _INSERT_LINES, [{"entry_id": entry_id, **vars(line)} for line in lines]
            )
            return entry_id
    except IntegrityError:
        if not _entry_exists(kind, source_key):
            raise
        raise DuplicateEntry(kind, source_key) from None


def _lock_company(company_id: int) -> None:
    """Serialise balance checks per company on PostgreSQL (SQLite serialises all writers)."""
    db.session.execute(select(Company.id).where(Company.id == company_id).with_for_update())


def _require_pledge_of(company_id: int, pledge_id: int) -> None:
    owner = db.session.scalar(select(Pledge.company_id).where(Pledge.id == pledge_id))
    if owner != company_id:
        raise LedgerError(
            _m(
                "pledge %(pledge)s does not belong to company %(company)s",
                pledge=pledge_id,
                company=company_id,
            )
        )


def _require_refundable(
    refund_id: int, payment_id: int, company_id: int, pledge_id: int, amount: int
) -> None:
    booked = db.session.execute(
        select(LedgerLine.company_id, LedgerLine.pledge_id, LedgerLine.amount)
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            LedgerEntry.kind == EntryKind.PAYMENT_RECEIVED,
            LedgerLine.payment_id == payment_id,
            LedgerLine.account == Account.CASH,
        )
    ).first()
    if booked is None or (booked.company_id, booked.pledge_id) != (company_id, pledge_id):
        raise LedgerError(
            _m(
                "refund %(refund)s does not match its payment's booked company and pledge",
                refund=refund_id,
            )
        )
    refunded = -int(
        db.session.scalar(
            select(func.coalesce(func.sum(LedgerLine.amount), 0))
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(
                LedgerEntry.kind == EntryKind.REFUND,
                LedgerLine.payment_id == payment_id,
                LedgerLine.account == Account.CASH,
            )
        )
        or 0
    )
    if refunded + amount > booked.amount:
        raise InsufficientBalance(
            f"payment {payment_id} refundable",
            int(booked.amount) - refunded,
            amount,
        )


def _require_prepaid(company_id: int, pledge_id: int, amount: int) -> None:
    for what, available in (
        (f"pledge {pledge_id} prepaid", pledge_balance(pledge_id)),
        (f"company {company_id} prepaid", sponsor_balance(company_id)),
    ):
        if available < amount:
            raise InsufficientBalance(what, available, amount)
