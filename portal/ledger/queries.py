"""Read-only ledger selects: balances and a sponsor's statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

from sqlalchemy import ColumnElement, Row, Select, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine


@dataclass(frozen=True)
class StatementRow:
    """One entry as the sponsor sees it: + money paid in, - money used or refunded."""

    entry_id: int
    kind: EntryKind
    booked_on: date
    memo: str
    amount: int
    balance: int


def _prepaid_sum(*conditions: ColumnElement[bool]) -> int:
    total = db.session.scalar(
        select(func.coalesce(func.sum(LedgerLine.amount), 0)).where(
            LedgerLine.account == Account.SPONSOR_PREPAID, *conditions
        )
    )
    return int(total or 0)


def sponsor_balance(company_id: int) -> int:
    """Paid − consumed − refunded for a company: the negated sum of its prepaid lines."""
    return -_prepaid_sum(LedgerLine.company_id == company_id)


def pledge_balance(pledge_id: int) -> int:
    """Paid − consumed − refunded for one pledge."""
    return -_prepaid_sum(LedgerLine.pledge_id == pledge_id)


def pledge_balances(pledge_ids: list[int]) -> dict[int, int]:
    """Paid − consumed − refunded for each of the pledges, in one select."""
    if not pledge_ids:
        return {}
    rows = db.session.execute(
        select(LedgerLine.pledge_id, -func.sum(LedgerLine.amount))
        .where(LedgerLine.account == Account.SPONSOR_PREPAID, LedgerLine.pledge_id.in_(pledge_ids))
        .group_by(LedgerLine.pledge_id)
    )
    found = dict.fromkeys(pledge_ids, 0)
    found.update({int(pledge_id): int(total) for pledge_id, total in rows})
    return found


def account_balances() -> dict[Account, int]:
    """The sum of every account's lines (debit positive); all accounts, zero when unused."""
    rows = db.session.execute(
        select(LedgerLine.account, func.sum(LedgerLine.amount)).group_by(LedgerLine.account)
    ).all()
    balances = dict.fromkeys(Account, 0)
    balances.update({Account(account): int(total) for account, total in rows})
    return balances


def company_statement(company_id: int) -> list[StatementRow]:
    """The company's prepaid movements in posting order, with the running balance."""
    rows = db.session.execute(
        select(
            LedgerEntry.id,
            LedgerEntry.kind,
            LedgerEntry.booked_on,
            LedgerEntry.memo,
            -func.sum(LedgerLine.amount),
        )
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .where(LedgerLine.account == Account.SPONSOR_PREPAID, LedgerLine.company_id == company_id)
        .group_by(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.booked_on, LedgerEntry.memo)
        .order_by(LedgerEntry.id)
    ).all()
    balances = accumulate(int(row[4]) for row in rows)
    return [
        StatementRow(row[0], EntryKind(row[1]), row[2], row[3], int(row[4]), balance)
        for row, balance in zip(rows, balances, strict=True)
    ]


# The workbench: balances at a date, entries with their lines, trial balances per month.


@dataclass(frozen=True)
class TrialRow:
    """One account (optionally of one sponsor or funder) over a month: debit and credit
    movements, and the balances before and after."""

    key: str
    account: Account
    opening: int
    debit: int
    credit: int  # negative, as the lines hold it

    @property
    def closing(self) -> int:
        return self.opening + self.debit + self.credit


# A funder can be read off the entry: city coverage and remittances name it in their key.
FUNDER = case(
    *(
        (
            or_(
                LedgerEntry.source_key.startswith(f"city:{name}:"),
                LedgerEntry.source_key.startswith(f"remit:{name}:"),
            ),
            name,
        )
        for name in ("apbd", "dbhcht")
    ),
    else_="pledge",
)


def month_end(month: date) -> date:
    """The last day of the month that starts on `month`."""
    following = date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return following - timedelta(days=1)


def balances_at(on: date) -> dict[Account, int]:
    """Every account's balance with the entries booked on or before the date (debit positive)."""
    rows = db.session.execute(
        select(LedgerLine.account, func.sum(LedgerLine.amount))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerEntry.booked_on <= on)
        .group_by(LedgerLine.account)
    ).all()
    balances = dict.fromkeys(Account, 0)
    balances.update({Account(account): int(total) for account, total in rows})
    return balances


@dataclass(frozen=True)
class EntryFilters:
    kind: str = ""
    account: str = ""
    company_id: int | None = None
    payment_id: int | None = None
    pledge_id: int | None = None
    start: date | None = None
    end: date | None = None


def entries_query(filters: EntryFilters) -> Select[tuple[LedgerEntry]]:
    """Entries newest first, with their lines loaded; a line filter keeps the whole entry."""
    stmt = select(LedgerEntry).options(selectinload(LedgerEntry.lines))
    if filters.kind:
        stmt = stmt.where(LedgerEntry.kind == filters.kind)
    if filters.start:
        stmt = stmt.where(LedgerEntry.booked_on >= filters.start)
    if filters.end:
        stmt = stmt.where(LedgerEntry.booked_on <= filters.end)
    line_conditions = [
        condition
        for value, condition in (
            (filters.account, LedgerLine.account == filters.account),
            (filters.company_id, LedgerLine.company_id == filters.company_id),
            (filters.payment_id, LedgerLine.payment_id == filters.payment_id),
            (filters.pledge_id, LedgerLine.pledge_id == filters.pledge_id),
        )
        if value
    ]
    if line_conditions:
        stmt = stmt.where(exists().where(LedgerLine.entry_id == LedgerEntry.id, *line_conditions))
    return stmt.order_by(LedgerEntry.booked_on.desc(), LedgerEntry.id.desc())


def _movements(group: Any, start: date, end: date) -> list[Row[Any]]:
    """(group key, account, debit, credit) of lines booked from start to end, and before."""
    booked = LedgerEntry.booked_on
    in_month = and_(booked >= start, booked <= end)
    amount = LedgerLine.amount
    return list(
        db.session.execute(
            select(
                group.label("key"),
                LedgerLine.account,
                func.sum(case((booked < start, amount), else_=0)),
                func.sum(case((and_(in_month, amount > 0), amount), else_=0)),
                func.sum(case((and_(in_month, amount < 0), amount), else_=0)),
            )
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(booked <= end)
            .group_by(group, LedgerLine.account)
            .order_by(group, LedgerLine.account)
        )
    )


def _trial(group: Any, month: date) -> list[TrialRow]:
    rows = _movements(group, month, month_end(month))
    return [
        TrialRow(str(key or ""), Account(account), int(opening), int(debit), int(credit))
        for key, account, opening, debit, credit in rows
    ]


def trial_balance(month: date) -> list[TrialRow]:
    """Per account: opening balance, the month's debits and credits, closing balance."""
    found = {row.account: row for row in _trial(literal("all"), month)}
    return [found.get(account, TrialRow("all", account, 0, 0, 0)) for account in Account]


def trial_balance_by_funder(month: date) -> list[TrialRow]:
    """The same per funder (apbd, dbhcht, pledge): each funder's movements sum to zero."""
    return _trial(FUNDER, month)


def trial_balance_by_company(month: date) -> list[TrialRow]:
    """The same per sponsor, over the lines that name a company (city lines name none)."""
    rows = _trial(LedgerLine.company_id, month)
    return [row for row in rows if row.key]


def entry_months() -> list[date]:
    """First days of the months that have entries, newest first."""
    days = db.session.scalars(select(LedgerEntry.booked_on).distinct())
    return sorted({day.replace(day=1) for day in days}, reverse=True)
