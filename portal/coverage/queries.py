"""Read-only coverage figures shared by the landing page and dashboards."""

from __future__ import annotations

from datetime import date

from sqlalchemy import exists, func, select

from portal.companies.models import Company, CompanyStatus
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.workers.models import Worker, WorkerStatus


def first_of_month(day: date) -> date:
    return day.replace(day=1)


def coverage_by_funder(month: date) -> dict[Funder, int]:
    """Workers covered in a month, per funder (every funder present, zero when none)."""
    rows = db.session.execute(
        select(Coverage.funder, func.count(Coverage.id))
        .where(Coverage.month == first_of_month(month))
        .group_by(Coverage.funder)
    ).all()
    counts = {funder: 0 for funder in Funder}
    counts.update({Funder(funder): int(n) for funder, n in rows})
    return counts


def waiting_list_count(month: date) -> int:
    """Eligible workers with no funder in the month."""
    covered = exists().where(
        Coverage.worker_id == Worker.id, Coverage.month == first_of_month(month)
    )
    stmt = select(func.count(Worker.id)).where(Worker.status == WorkerStatus.ELIGIBLE, ~covered)
    return int(db.session.scalar(stmt) or 0)


def verified_sponsor_count() -> int:
    stmt = select(func.count(Company.id)).where(Company.status == CompanyStatus.VERIFIED)
    return int(db.session.scalar(stmt) or 0)
