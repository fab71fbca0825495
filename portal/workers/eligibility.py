"""Rule R2 (eligibility) in two forms that must agree: per worker in Python, and as SQL."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from sqlalchemy import ColumnElement, and_, or_

from portal.reference.models import Category
from portal.workers.models import Worker, WorkerStatus

MAX_AGE_MONTHS = 64 * 12 + 11  # at most 64 years 11 months in the coverage month


class Ineligible(enum.StrEnum):
    STATUS = "status"
    DOMICILE = "domicile"
    CATEGORY = "category"
    OVER_AGE = "over_age"
    OTHER_MEMBERSHIP = "other_membership"


@dataclass(frozen=True)
class EligibilityFacts:
    """What R2 needs to know about a worker, independent of storage."""

    status: str
    nik_in_semarang: bool
    domicile_flag: bool
    category_active: bool
    birth_date: date
    other_membership: bool


def age_in_months(birth_date: date, month: date) -> int:
    return (month.year - birth_date.year) * 12 + (month.month - birth_date.month)


def youngest_over_age_birth(month: date) -> date:
    """Workers born before this date are over age in `month` (first day of the month after
    the month MAX_AGE_MONTHS + 1 before)."""
    index = month.year * 12 + (month.month - 1) - MAX_AGE_MONTHS
    return date(index // 12, index % 12 + 1, 1)


def ineligibility_reasons(
    facts: EligibilityFacts, month: date, *, check_status: bool = True
) -> list[Ineligible]:
    """Every reason the worker cannot be funded in `month`; empty means eligible."""
    reasons = []
    if check_status and facts.status != WorkerStatus.ELIGIBLE:
        reasons.append(Ineligible.STATUS)
    if not (facts.nik_in_semarang or facts.domicile_flag):
        reasons.append(Ineligible.DOMICILE)
    if not facts.category_active:
        reasons.append(Ineligible.CATEGORY)
    if age_in_months(facts.birth_date, month) > MAX_AGE_MONTHS:
        reasons.append(Ineligible.OVER_AGE)
    if facts.other_membership:
        reasons.append(Ineligible.OTHER_MEMBERSHIP)
    return reasons


def facts_of(worker: Worker) -> EligibilityFacts:
    return EligibilityFacts(
        status=worker.status,
        nik_in_semarang=worker.nik_in_semarang,
        domicile_flag=worker.domicile_flag,
        category_active=worker.category.active,
        birth_date=worker.birth_date,
        other_membership=worker.other_membership,
    )


def eligible_clause(month: date) -> ColumnElement[bool]:
    """SQL form of R2 for `month`; the query must join Category on Worker.category_id."""
    return and_(
        Worker.status == WorkerStatus.ELIGIBLE,
        or_(Worker.nik_in_semarang.is_(True), Worker.domicile_flag.is_(True)),
        Category.active.is_(True),
        Worker.birth_date >= youngest_over_age_birth(month),
        Worker.other_membership.is_(False),
    )
