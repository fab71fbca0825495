"""Releasing a pledge's coverage when its money shrinks, and what its coverage still costs.

Coverage is the pledge's promise to pay; a pledge's open coverage (months not closed) must
always be paid for by its prepaid balance, so that closing a month can never fail for lack of
money. When a refund lowers the balance, the months not started yet are released from the end
of the term until what remains is paid for again.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, delete, func, select, tuple_

from portal.coverage.models import Coverage, MonthClose
from portal.extensions import db
from portal.pledges.pricing import add_months


def first_unstarted_month(today: date | None = None) -> date:
    """Next month: coverage of this month has begun and cannot be taken back."""
    return add_months((today or date.today()).replace(day=1), 1)


def _not_closed() -> ColumnElement[bool]:
    return Coverage.month.not_in(select(MonthClose.month))


def open_cost(pledge_ids: Iterable[int]) -> dict[int, int]:
    """Per pledge, the rupiah of its coverage in months not closed yet (still to be booked)."""
    ids = list(pledge_ids)
    if not ids:
        return {}
    rows = db.session.execute(
        select(Coverage.pledge_id, func.coalesce(func.sum(Coverage.amount), 0))
        .where(Coverage.pledge_id.in_(ids), _not_closed())
        .group_by(Coverage.pledge_id)
    )
    found = dict.fromkeys(ids, 0)
    found.update({int(pledge_id): int(total) for pledge_id, total in rows})
    return found


@dataclass(frozen=True)
class Released:
    """What a release did: rows deleted and their rupiah; `fixed` is what stays open and
    cannot be released (months begun but not closed)."""

    rows: int
    amount: int
    fixed: int


def release_to_fit(pledge_id: int, budget: int, today: date | None = None) -> Released:
    """Release the pledge's unstarted coverage from the end of its term (whole months first,
    then the highest slots of the last month needed) until its open coverage costs at most
    `budget`. The workers released return to the waiting list."""
    first = first_unstarted_month(today)
    rows = db.session.execute(
        select(Coverage.month, Coverage.slot, Coverage.amount)
        .where(Coverage.pledge_id == pledge_id, _not_closed())
        .order_by(Coverage.month.desc(), Coverage.slot.desc())
    ).all()
    total = sum(int(row.amount) for row in rows)
    fixed = sum(int(row.amount) for row in rows if row.month < first)
    doomed: list[tuple[date, int]] = []
    released = 0
    for month, slot, amount in rows:
        if total - released <= budget or month < first:
            break
        doomed.append((month, int(slot)))
        released += int(amount)
    _delete(pledge_id, doomed)
    return Released(len(doomed), released, fixed)


def begun_cost(pledge_id: int, today: date | None = None) -> int:
    """The rupiah of the pledge's coverage in months begun but not closed: it will be booked."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Coverage.amount), 0)).where(
                Coverage.pledge_id == pledge_id,
                Coverage.month < first_unstarted_month(today),
                _not_closed(),
            )
        )
        or 0
    )


def _delete(pledge_id: int, keys: list[tuple[date, int]]) -> None:
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        db.session.execute(
            delete(Coverage).where(
                Coverage.pledge_id == pledge_id, tuple_(Coverage.month, Coverage.slot).in_(chunk)
            ),
            execution_options={"synchronize_session": False},
        )


def future_rows(pledge_id: int, today: date | None = None) -> int:
    """How many coverage rows of the pledge lie in months not started (nor closed) yet."""
    return int(
        db.session.scalar(
            select(func.count(Coverage.id)).where(
                Coverage.pledge_id == pledge_id,
                Coverage.month >= first_unstarted_month(today),
                _not_closed(),
            )
        )
        or 0
    )
