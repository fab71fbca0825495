"""Read-only ledger selects: balances and a sponsor's statement."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from itertools import accumulate

from sqlalchemy import ColumnElement, func, select

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
