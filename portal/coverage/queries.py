"""Read-only coverage figures: the months, closes, remittances, lapsing."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import exists, func, select

from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder, MonthClose, Remittance
from portal.extensions import db
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def month_end(month: date) -> date:
    """The last day of `month`."""
    return add_months(first_of_month(month), 1) - timedelta(days=1)


@dataclass(frozen=True)
class FunderTotal:
    workers: int = 0
    amount: int = 0


@dataclass(frozen=True)
class MonthSummary:
    """A month on the months page: coverage per funder, its close and remittances."""

    month: date
    totals: dict[str, FunderTotal]
    closed: MonthClose | None
    remitted: dict[str, Remittance]

    @property
    def workers(self) -> int:
        return sum(total.workers for total in self.totals.values())

    @property
    def amount(self) -> int:
        return sum(total.amount for total in self.totals.values())


def coverage_totals(month: date) -> dict[str, FunderTotal]:
    """Worker-months and rupiah per funder in one month (every funder present)."""
    return _totals_by_month([first_of_month(month)]).get(first_of_month(month)) or _empty()


def _empty() -> dict[str, FunderTotal]:
    return {funder.value: FunderTotal() for funder in Funder}


def _totals_by_month(months: list[date] | None = None) -> dict[date, dict[str, FunderTotal]]:
    stmt = select(
        Coverage.month,
        Coverage.funder,
        func.count(Coverage.id),
        func.coalesce(func.sum(Coverage.amount), 0),
    ).group_by(Coverage.month, Coverage.funder)
    if months is not None:
        stmt = stmt.where(Coverage.month.in_(months))
    found: dict[date, dict[str, FunderTotal]] = {}
    for month, funder, workers, amount in db.session.execute(stmt):
        found.setdefault(month, _empty())[str(funder)] = FunderTotal(int(workers), int(amount))
    return found


def month_summaries(
    today: date | None = None, back: int = 11, ahead: int = 2
) -> list[MonthSummary]:
    """The last `back` months, this one and `ahead` more, plus every other month that has
    coverage or a close; newest first."""
    this_month = first_of_month(today or date.today())
    totals = _totals_by_month()
    closes = {row.month: row for row in db.session.scalars(select(MonthClose))}
    remitted: dict[date, dict[str, Remittance]] = {}
    for row in db.session.scalars(select(Remittance)):
        remitted.setdefault(row.month, {})[str(row.funder)] = row
    months = {add_months(this_month, n) for n in range(-back, ahead + 1)}
    months |= set(totals) | set(closes)
    return [
        MonthSummary(
            month, totals.get(month) or _empty(), closes.get(month), remitted.get(month, {})
        )
        for month in sorted(months, reverse=True)
    ]


def first_open_month_before(month: date) -> date | None:
    """The earliest month before `month` that has coverage and is not closed."""
    closed = exists().where(MonthClose.month == Coverage.month)
    return db.session.scalar(
        select(func.min(Coverage.month)).where(Coverage.month < month, ~closed)
    )


def month_close(month: date) -> MonthClose | None:
    return db.session.scalar(select(MonthClose).where(MonthClose.month == month))


def remittances(month: date) -> list[Remittance]:
    return list(
        db.session.scalars(
            select(Remittance).where(Remittance.month == month).order_by(Remittance.funder)
        )
    )


@dataclass(frozen=True)
class PledgeMonth:
    """One pledge's coverage in one month."""

    pledge_id: int
    company_id: int
    company_name: str
    workers: int
    amount: int


def pledge_months(month: date) -> list[PledgeMonth]:
    """Every pledge with coverage in the month: its worker count and rupiah, by pledge."""
    rows = db.session.execute(
        select(
            Coverage.pledge_id,
            Pledge.company_id,
            Company.legal_name,
            func.count(Coverage.id),
            func.coalesce(func.sum(Coverage.amount), 0),
        )
        .join(Pledge, Pledge.id == Coverage.pledge_id)
        .join(Company, Company.id == Pledge.company_id)
        .where(Coverage.month == first_of_month(month), Coverage.funder == Funder.PLEDGE)
        .group_by(Coverage.pledge_id, Pledge.company_id, Company.legal_name)
        .order_by(Coverage.pledge_id)
    )
    return [
        PledgeMonth(pledge_id, company_id, name, int(workers), int(amount))
        for pledge_id, company_id, name, workers, amount in rows
    ]


@dataclass(frozen=True)
class LapsingPledge:
    """An active pledge whose term ends soon; city coverage is renewed by each match run."""

    pledge: Pledge
    company_name: str
    workers: int
    last_month: date
    ends_on: date


def ending_pledges(today: date, days: int) -> list[LapsingPledge]:
    """Active pledges whose term's last day is at most `days` days after `today` (also those
    already past their end but not yet completed by a month close), soonest first."""
    horizon = today + timedelta(days=days)
    rows = db.session.execute(
        select(Pledge, Company.legal_name)
        .join(Company, Company.id == Pledge.company_id)
        .where(
            Pledge.status == PledgeStatus.ACTIVE,
            Pledge.coverage_start.is_not(None),
            Pledge.coverage_start <= horizon,
        )
    ).all()
    ending = [
        (pledge, name)
        for pledge, name in rows
        if pledge.last_month is not None and month_end(pledge.last_month) <= horizon
    ]
    workers = _workers_in_last_month([pledge for pledge, _ in ending])
    found = [
        LapsingPledge(
            pledge, name, workers.get(pledge.id, 0), pledge.last_month, month_end(pledge.last_month)
        )
        for pledge, name in ending
        if pledge.last_month is not None
    ]
    return sorted(found, key=lambda row: (row.ends_on, row.pledge.id))


def _workers_in_last_month(pledges: list[Pledge]) -> dict[int, int]:
    if not pledges:
        return {}
    last = {p.id: p.last_month for p in pledges}
    rows = db.session.execute(
        select(Coverage.pledge_id, Coverage.month, func.count(Coverage.id))
        .where(Coverage.pledge_id.in_(list(last)), Coverage.month.in_(set(last.values())))
        .group_by(Coverage.pledge_id, Coverage.month)
    )
    return {pledge_id: int(n) for pledge_id, month, n in rows if last[pledge_id] == month}
