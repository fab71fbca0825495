"""Each region's figures as counts and sums (no worker, company or payment is ever named):
the national dashboard, the public landing page and a region's public page read them.

Every measure is one query grouped by `region_code`, so the same code gives one region's
figures inside `region_scope(code)` and every region's side by side inside `all_regions()`.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import Select, exists, func, select

from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching.models import RuleVersion
from portal.matching.rules import rules_from
from portal.payments.models import Payment, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.regions.models import Region
from portal.regions.scope import ALL, all_regions, current_region, region_scope
from portal.reports.services import cached
from portal.workers.models import Worker, WorkerStatus

LOCAL_TZ = ZoneInfo("Asia/Jakarta")  # a year of money is the local (WIB) year


@dataclass(frozen=True)
class RegionFigures:
    """A region's counts this month (rupiah received: this year), or their sum over regions."""

    code: str
    name: str
    registered: int = 0  # workers in the register, whatever their status
    waiting: int = 0  # eligible workers with no funder this month
    covered_apbd: int = 0
    covered_dbhcht: int = 0
    covered_pledge: int = 0  # workers sponsored by companies this month
    sponsors: int = 0  # companies with an active pledge
    received: int = 0  # rupiah received this year
    quota_apbd: int = 0  # workers the city budget may cover this year
    quota_dbhcht: int = 0  # workers the tobacco excise may cover this year

    @property
    def covered(self) -> int:
        return self.covered_apbd + self.covered_dbhcht + self.covered_pledge

    @property
    def quota(self) -> int:
        return self.quota_apbd + self.quota_dbhcht


def figures_by_region(today: date | None = None) -> list[RegionFigures]:
    """Every region's figures, by code (remembered until something changes)."""
    today = today or date.today()
    with all_regions():
        return cached(("regions", today), lambda: _figures(today))


def region_figures(code: str, today: date | None = None) -> RegionFigures | None:
    """The figures of one region, read in its own scope; None for a region that is not here."""
    today = today or date.today()
    with region_scope(code):
        found = cached(("regions", today), lambda: _figures(today))
    return next((row for row in found if row.code == code), None)


def national_total(rows: list[RegionFigures]) -> RegionFigures:
    """The sum of the regions' figures."""
    sums = {
        f.name: sum(getattr(row, f.name) for row in rows)
        for f in fields(RegionFigures)
        if f.name not in ("code", "name")
    }
    return RegionFigures(code=ALL, name="", **sums)


def _figures(today: date) -> list[RegionFigures]:
    """One row per region the scope reads (one region, or all of them)."""
    month = today.replace(day=1)
    regions = select(Region.code, Region.name).order_by(Region.code)
    if current_region() != ALL:
        regions = regions.where(Region.code == current_region())
    registered = _counts(select(Worker.region_code, func.count(Worker.id)))
    waiting = _counts(
        select(Worker.region_code, func.count(Worker.id)).where(
            Worker.status == WorkerStatus.ELIGIBLE,
            ~exists().where(Coverage.worker_id == Worker.id, Coverage.month == month),
        )
    )
    covered = {
        funder: _counts(
            select(Coverage.region_code, func.count(Coverage.id)).where(
                Coverage.month == month, Coverage.funder == funder
            )
        )
        for funder in Funder
    }
    sponsors = _counts(
        select(Pledge.region_code, func.count(Pledge.company_id.distinct())).where(
            Pledge.status == PledgeStatus.ACTIVE
        )
    )
    received = _received(today.year)
    quotas = _quotas(month)
    return [
        RegionFigures(
            code=code,
            name=name,
            registered=registered.get(code, 0),
            waiting=waiting.get(code, 0),
            covered_apbd=covered[Funder.APBD].get(code, 0),
            covered_dbhcht=covered[Funder.DBHCHT].get(code, 0),
            covered_pledge=covered[Funder.PLEDGE].get(code, 0),
            sponsors=sponsors.get(code, 0),
            received=received.get(code, 0),
            quota_apbd=quotas.get(code, {}).get(Funder.APBD, 0),
            quota_dbhcht=quotas.get(code, {}).get(Funder.DBHCHT, 0),
        )
        for code, name in db.session.execute(regions).tuples()
    ]


def _counts(stmt: Select[tuple[str, int]]) -> dict[str, int]:
    """{region code: value} of a select whose first column is a region code."""
    grouped = stmt.group_by(stmt.selected_columns[0])
    return {code: int(value or 0) for code, value in db.session.execute(grouped).tuples()}


def _received(year: int) -> dict[str, int]:
    """Rupiah that arrived in the (local) year, per region."""
    first = datetime(year, 1, 1, tzinfo=LOCAL_TZ)
    after = datetime(year + 1, 1, 1, tzinfo=LOCAL_TZ)
    arrived = func.coalesce(Payment.received_amount, Payment.amount)
    return _counts(
        select(Payment.region_code, func.sum(arrived)).where(
            Payment.status == PaymentStatus.PAID,
            Payment.paid_at >= first,
            Payment.paid_at < after,
        )
    )


def _quotas(month: date) -> dict[str, dict[str, int]]:
    """Per region, the workers each city funder may cover in the month's year (its newest
    rules)."""
    newest = select(func.max(RuleVersion.id)).group_by(RuleVersion.region_code)
    # Plain columns, not rows: a region's rules read for a page never stay in the session.
    versions = db.session.execute(
        select(RuleVersion.region_code, RuleVersion.id, RuleVersion.parameters).where(
            RuleVersion.id.in_(newest)
        )
    ).tuples()
    found: dict[str, dict[str, int]] = {}
    for code, version_id, parameters in versions:
        rules = rules_from(RuleVersion(id=version_id, parameters=parameters))
        found[code] = {f: rules.quota(f, month) for f in (Funder.APBD, Funder.DBHCHT)}
    return found
