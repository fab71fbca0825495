"""Read-only selects of a region's categories and rate schedule for its admins' pages."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.extensions import db
from portal.reference.models import Category, RateSchedule


def categories() -> list[Category]:
    """The region's categories, active first, then by name."""
    stmt = select(Category).order_by(Category.active.desc(), Category.name_id)
    return list(db.session.scalars(stmt))


def rate_schedule() -> list[RateSchedule]:
    """The region's rates, newest first."""
    stmt = select(RateSchedule).order_by(RateSchedule.effective_from.desc(), RateSchedule.id)
    return list(db.session.scalars(stmt))


def latest_general_rate() -> RateSchedule | None:
    """The rate for all sectors and funders that starts last (the one a new rate follows)."""
    stmt = (
        select(RateSchedule)
        .where(RateSchedule.sector.is_(None), RateSchedule.funding_source.is_(None))
        .order_by(RateSchedule.effective_from.desc())
        .limit(1)
    )
    return db.session.scalar(stmt)


def rate_state(rate: RateSchedule, today: date) -> str:
    """`ended`, `in_force` or `upcoming` on `today`."""
    if rate.effective_from > today:
        return "upcoming"
    if rate.effective_to is not None and rate.effective_to < today:
        return "ended"
    return "in_force"
