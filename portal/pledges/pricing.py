"""Pledge prices from the rate schedule, month by month (a rate change inside a term counts)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select

from portal.extensions import db
from portal.pledges.exceptions import NoRateInForce
from portal.pledges.models import Pledge
from portal.reference.models import RateSchedule

CSR_FUNDING = "csr"


@dataclass(frozen=True)
class MonthPrice:
    month: date
    jkk: int
    jkm: int
    rate: int
    workers: int
    subtotal: int

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["month"] = self.month.isoformat()
        return data


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def term_months(start: date, months: int) -> list[date]:
    return [add_months(start.replace(day=1), n) for n in range(months)]


def rate_for(
    month: date, sector: str | None = None, funding_source: str = CSR_FUNDING
) -> RateSchedule:
    """The rate in force on the first day of `month`; specific rows win over general ones.

    Raises NoRateInForce.
    """
    rows = db.session.scalars(
        select(RateSchedule).where(
            RateSchedule.effective_from <= month,
            or_(RateSchedule.effective_to.is_(None), RateSchedule.effective_to >= month),
            or_(RateSchedule.sector.is_(None), RateSchedule.sector == sector),
            or_(
                RateSchedule.funding_source.is_(None), RateSchedule.funding_source == funding_source
            ),
        )
    ).all()
    if not rows:
        raise NoRateInForce(month)
    return max(
        rows, key=lambda r: (r.funding_source is not None, r.sector is not None, r.effective_from)
    )


def price_pledge(
    workers: int, months: int, start: date, sector: str | None = None
) -> list[MonthPrice]:
    """One line per month of the term. Raises NoRateInForce."""
    lines = []
    for month in term_months(start, months):
        rate = rate_for(month, sector)
        lines.append(
            MonthPrice(
                month,
                rate.jkk_amount,
                rate.jkm_amount,
                rate.monthly_amount,
                workers,
                rate.monthly_amount * workers,
            )
        )
    return lines


def total(lines: list[MonthPrice]) -> int:
    return sum(line.subtotal for line in lines)


@dataclass(frozen=True)
class RatePeriod:
    """Consecutive months at the same rate, for showing the breakdown."""

    first: date
    last: date
    months: int
    jkk: int
    jkm: int
    rate: int
    workers: int
    subtotal: int


def group_periods(breakdown: list[dict[str, Any]]) -> list[RatePeriod]:
    """Stored breakdown (JSON lines) grouped into periods of equal rate."""
    periods: list[RatePeriod] = []
    for line in breakdown:
        month = date.fromisoformat(str(line["month"]))
        last = periods[-1] if periods else None
        if last and last.rate == line["rate"] and add_months(last.last, 1) == month:
            periods[-1] = RatePeriod(
                last.first,
                month,
                last.months + 1,
                last.jkk,
                last.jkm,
                last.rate,
                last.workers,
                last.subtotal + int(line["subtotal"]),
            )
        else:
            periods.append(
                RatePeriod(
                    month,
                    month,
                    1,
                    int(line["jkk"]),
                    int(line["jkm"]),
                    int(line["rate"]),
                    int(line["workers"]),
                    int(line["subtotal"]),
                )
            )
    return periods


def term_rates(pledge: Pledge) -> list[int]:
    """The per-worker price of each month of the term, as the sponsor paid it."""
    rates = [int(line["rate"]) for line in pledge.price_breakdown or []]
    if len(rates) == pledge.months:
        return rates
    return [pledge.price_total // (pledge.workers * pledge.months)] * pledge.months


def slot_cost(pledge: Pledge, offset: int = 0) -> int:
    """What one slot costs from the term's `offset`-th month on, at the rates paid."""
    return sum(term_rates(pledge)[offset:])
