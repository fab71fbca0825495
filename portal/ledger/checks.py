"""Ledger invariants recomputed with aggregate SQL; each broken one becomes a readable message.

The checks hold in the region in scope (lines and refunds, which carry no region, are read
through their entry and payment) and, inside `all_regions()`, across the installation, where
a line naming another region's pledge or payment shows up too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Select, and_, case, distinct, exists, func, or_, select

from portal.coverage.models import Coverage, Funder, MonthClose
from portal.extensions import db
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.payments.models import Payment, PaymentStatus, Refund
from portal.pledges.models import Pledge

LIMIT = 20  # messages per check; a ledger broken everywhere still gives a readable report
PREPAID = Account.SPONSOR_PREPAID
RECEIVED = func.coalesce(Payment.received_amount, Payment.amount)  # the ledger books arrivals
OF_ENTRY = LedgerEntry.id == LedgerLine.entry_id  # a line is in the region of its entry


def check_ledger() -> list[str]:
    """Every broken ledger invariant of the region in scope (of them all inside
    `all_regions()`) as a message; an empty list means the ledger is sound."""
    return [message for check in CHECKS for message in check()]


def ledger_size() -> tuple[int, int]:
    """The entries and lines of the region in scope."""
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    lines = db.session.scalar(select(func.count(LedgerLine.id)).join(LedgerEntry, OF_ENTRY))
    return int(entries or 0), int(lines or 0)


def _report(stmt: Select[Any], describe: Callable[..., str]) -> list[str]:
    rows = db.session.execute(stmt.limit(LIMIT + 1)).all()
    messages = [describe(*row) for row in rows[:LIMIT]]
    if len(rows) > LIMIT:
        messages.append(f"... and more problems like: {messages[-1]}")
    return messages


def _unbalanced_entries() -> list[str]:
    total = func.sum(LedgerLine.amount)
    stmt = (
        select(LedgerLine.entry_id, func.count(), total)
        .join(LedgerEntry, OF_ENTRY)
        .group_by(LedgerLine.entry_id)
        .having(or_(total != 0, func.count() < 2))
        .order_by(LedgerLine.entry_id)
    )
    return _report(
        stmt,
        lambda entry, lines, amount: (
            f"entry {entry}: {lines} line(s) summing to {int(amount)}; "
            "an entry needs two or more lines summing to 0"
        ),
    )


def _zero_lines() -> list[str]:
    stmt = (
        select(LedgerLine.id, LedgerLine.entry_id)
        .join(LedgerEntry, OF_ENTRY)
        .where(LedgerLine.amount == 0)
    )
    return _report(
        stmt.order_by(LedgerLine.id),
        lambda line, entry: f"line {line} of entry {entry} has amount 0",
    )


def _negative_balances(column: Any, noun: str) -> list[str]:
    total = func.sum(LedgerLine.amount)
    stmt = (
        select(column, -total)
        .join(LedgerEntry, OF_ENTRY)
        .where(LedgerLine.account == PREPAID, column.is_not(None))
        .group_by(column)
        .having(total > 0)
        .order_by(column)
    )
    return _report(
        stmt,
        lambda key, balance: (
            f"{noun} {key}: prepaid balance {int(balance)} is below 0 "
            "(consumed and refunded more than paid)"
        ),
    )


def _negative_company_balances() -> list[str]:
    return _negative_balances(LedgerLine.company_id, "company")


def _negative_pledge_balances() -> list[str]:
    return _negative_balances(LedgerLine.pledge_id, "pledge")


def _booked(kind: EntryKind, column: Any, sign: int) -> Any:
    """Per source row: how many entries of the kind name it, and their prepaid amount."""
    prepaid = func.sum(case((LedgerLine.account == PREPAID, sign * LedgerLine.amount), else_=0))
    return (
        select(
            column.label("source_id"),
            func.count(distinct(LedgerLine.entry_id)).label("entries"),
            prepaid.label("amount"),
        )
        .join(LedgerEntry, OF_ENTRY)
        .where(LedgerEntry.kind == kind, column.is_not(None))
        .group_by(column)
        .subquery()
    )


def _booking_problem(
    noun: str, kind: EntryKind, row_id: int, amount: int, entries: int | None, booked: int | None
) -> str:
    if entries is None:
        return f"{noun} {row_id} of {amount} has no {kind} entry"
    if entries != 1:
        return f"{noun} {row_id} has {entries} {kind} entries instead of 1"
    return f"{noun} {row_id} of {amount} is booked as {int(booked or 0)}"


def _describe_payment(
    row_id: int, status: str, amount: int, entries: int | None, booked: int | None
) -> str:
    if status != PaymentStatus.PAID:
        return f"payment {row_id} is {status} but has a {EntryKind.PAYMENT_RECEIVED} entry"
    return _booking_problem("payment", EntryKind.PAYMENT_RECEIVED, row_id, amount, entries, booked)


def _payments_booked() -> list[str]:
    booked = _booked(EntryKind.PAYMENT_RECEIVED, LedgerLine.payment_id, -1)
    wrong = or_(booked.c.entries.is_(None), booked.c.entries != 1, booked.c.amount != RECEIVED)
    stmt = (
        select(Payment.id, Payment.status, RECEIVED, booked.c.entries, booked.c.amount)
        .outerjoin(booked, booked.c.source_id == Payment.id)
        .where(
            or_(
                and_(Payment.status == PaymentStatus.PAID, wrong),
                and_(Payment.status != PaymentStatus.PAID, booked.c.entries.is_not(None)),
            )
        )
        .order_by(Payment.id)
    )
    return _report(stmt, _describe_payment)


def _refunds_booked() -> list[str]:
    booked = _booked(EntryKind.REFUND, LedgerLine.refund_id, 1)
    stmt = (
        select(Refund.id, Refund.amount, booked.c.entries, booked.c.amount)
        .join(Payment, Payment.id == Refund.payment_id)  # a refund is in its payment's region
        .outerjoin(booked, booked.c.source_id == Refund.id)
        .where(
            or_(booked.c.entries.is_(None), booked.c.entries != 1, booked.c.amount != Refund.amount)
        )
        .order_by(Refund.id)
    )
    return _report(stmt, lambda *row: _booking_problem("refund", EntryKind.REFUND, *row))


def _unlinked_entries() -> list[str]:
    """Payment and refund entries must each name exactly one source row."""
    messages = []
    for kind, column in (
        (EntryKind.PAYMENT_RECEIVED, LedgerLine.payment_id),
        (EntryKind.REFUND, LedgerLine.refund_id),
    ):
        stmt = (
            select(LedgerEntry.id, func.count(distinct(column)))
            .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
            .where(LedgerEntry.kind == kind)
            .group_by(LedgerEntry.id)
            .having(func.count(distinct(column)) != 1)
            .order_by(LedgerEntry.id)
        )
        messages += _report(
            stmt,
            lambda entry, n, kind=kind, column=column: (
                f"{kind} entry {entry} names {n} {column.key} values instead of 1"
            ),
        )
    return messages


def _orphan_entries() -> list[str]:
    stmt = (
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.source_key)
        .where(~exists().where(LedgerLine.entry_id == LedgerEntry.id))
        .order_by(LedgerEntry.id)
    )
    return _report(stmt, lambda entry, kind, key: f"entry {entry} ({kind} {key}) has no lines")


def _prepaid_without_company() -> list[str]:
    stmt = (
        select(LedgerLine.id, LedgerLine.entry_id)
        .join(LedgerEntry, OF_ENTRY)
        .where(LedgerLine.account == PREPAID, LedgerLine.company_id.is_(None))
        .order_by(LedgerLine.id)
    )
    return _report(
        stmt,
        lambda line, entry: (
            f"line {line} of entry {entry} is sponsor prepaid money without a company"
        ),
    )


def _company_mismatches() -> list[str]:
    messages = []
    for model, column in (
        (Payment, LedgerLine.payment_id),
        (Refund, LedgerLine.refund_id),
        (Pledge, LedgerLine.pledge_id),
    ):
        stmt = (
            select(LedgerLine.id, LedgerLine.company_id, model.id, model.company_id)
            .join(LedgerEntry, OF_ENTRY)
            .join(model, model.id == column)
            .where(LedgerLine.company_id.is_distinct_from(model.company_id))
            .order_by(LedgerLine.id)
        )
        noun = model.__tablename__
        messages += _report(
            stmt,
            lambda line, company, row, owner, noun=noun: (
                f"line {line} names company {company} but {noun} {row} belongs to company {owner}"
            ),
        )
    return messages


def _refunds_within_payments() -> list[str]:
    refunded = func.sum(Refund.amount)
    stmt = (
        select(Payment.id, RECEIVED, refunded)
        .join(Refund, Refund.payment_id == Payment.id)
        .group_by(Payment.id, Payment.amount, Payment.received_amount)
        .having(refunded > RECEIVED)
        .order_by(Payment.id)
    )
    return _report(
        stmt,
        lambda payment, amount, total: (
            f"payment {payment} of {amount} has refunds totalling {int(total)}"
        ),
    )


def _coverage_key(funder: str, pledge_id: int | None, month: Any) -> str:
    if funder == Funder.PLEDGE:
        return f"consumed:{pledge_id}:{month:%Y-%m}"
    return f"city:{funder}:{month:%Y-%m}"


def _closed_months_booked() -> list[str]:
    """In a closed month, each pledge's and city funder's consumption entry equals the sum of
    its coverage rows (and no entry exists without coverage). A month closes per region, so
    each region's coverage and entries are compared with its own closes."""
    closed = {
        (region, f"{month:%Y-%m}")
        for region, month in db.session.execute(select(MonthClose.region_code, MonthClose.month))
    }
    if not closed:
        return []
    covered = db.session.execute(
        select(
            Coverage.region_code,
            Coverage.funder,
            Coverage.pledge_id,
            Coverage.month,
            func.sum(Coverage.amount),
        )
        .join(
            MonthClose,
            and_(
                MonthClose.month == Coverage.month,
                MonthClose.region_code == Coverage.region_code,
            ),
        )
        .group_by(Coverage.region_code, Coverage.funder, Coverage.pledge_id, Coverage.month)
    )
    expected = {(r, _coverage_key(str(f), p, m)): int(total) for r, f, p, m, total in covered}
    debit = func.sum(case((LedgerLine.amount > 0, LedgerLine.amount), else_=0))
    entries = db.session.execute(
        select(LedgerEntry.region_code, LedgerEntry.source_key, debit)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .where(LedgerEntry.kind == EntryKind.COVERAGE_CONSUMED)
        .group_by(LedgerEntry.region_code, LedgerEntry.source_key)
    )
    booked = {
        (region, key): int(total) for region, key, total in entries if (region, key[-7:]) in closed
    }
    messages = [
        _coverage_problem(key, expected.get((region, key), 0), booked.get((region, key)))
        for region, key in sorted(set(expected) | set(booked))
    ]
    messages = [m for m in messages if m]
    if len(messages) > LIMIT:
        messages = messages[:LIMIT] + [f"... and more problems like: {messages[LIMIT - 1]}"]
    return messages


def _coverage_problem(key: str, expected: int, booked: int | None) -> str:
    """The key names the pledge or city funder and the month; one entry per key (unique)."""
    if booked is None:
        return f"closed {key}: coverage of {expected} has no consumption entry" if expected else ""
    if booked != expected:
        return f"closed {key}: coverage of {expected} is booked as {booked}"
    return ""


def _lines_of_another_region() -> list[str]:
    """A line names the pledge, payment or refund of its own entry's region only (seen across
    all regions; inside one region the other region's rows are out of sight)."""

    def named(model: type[Pledge] | type[Payment], column: Any) -> Select[Any]:
        return (
            select(LedgerLine.id, LedgerEntry.region_code, model.id, model.region_code)
            .join(LedgerEntry, OF_ENTRY)
            .join(model, model.id == column)
        )

    refund_region = (
        select(LedgerLine.id, LedgerEntry.region_code, Refund.id, Payment.region_code)
        .join(LedgerEntry, OF_ENTRY)
        .join(Refund, Refund.id == LedgerLine.refund_id)
        .join(Payment, Payment.id == Refund.payment_id)
    )
    messages = []
    for noun, stmt in (
        ("pledge", named(Pledge, LedgerLine.pledge_id)),
        ("payment", named(Payment, LedgerLine.payment_id)),
        ("refund", refund_region),
    ):
        theirs = stmt.selected_columns[3]
        messages += _report(
            stmt.where(LedgerEntry.region_code != theirs).order_by(LedgerLine.id),
            lambda line, mine, row, other, noun=noun: (
                f"line {line} of region {mine} names {noun} {row} of region {other}"
            ),
        )
    return messages


CHECKS: tuple[Callable[[], list[str]], ...] = (
    _unbalanced_entries,
    _zero_lines,
    _negative_company_balances,
    _negative_pledge_balances,
    _payments_booked,
    _refunds_booked,
    _unlinked_entries,
    _orphan_entries,
    _prepaid_without_company,
    _company_mismatches,
    _refunds_within_payments,
    _closed_months_booked,
    _lines_of_another_region,
)
