"""Read-only selects behind the impact reports and the city dashboard.

Everything here returns raw counts; suppression of small groups happens in services.py. A
company's report reads every region at once (inside `all_regions()`): the selects group or
tag rows by region, so a report costs the same statements in one region as in ten.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, exists, func, select

from portal.audit.models import AuditEvent
from portal.certificates.models import Certificate
from portal.claims.models import Claim, ClaimKind
from portal.claims.queries import ClaimTotals, KindTotal
from portal.companies.models import Company, CompanyStatus
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.payments.models import Document, DocumentKind, Payment
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.reference.models import Category, Kelurahan
from portal.regions.models import Region
from portal.reports.models import TjslStatement
from portal.workers.models import Worker, WorkerStatus

# Actions that read or sign in and change no figure; every other audited action may.
READ_ONLY_ACTIONS = (
    "auth.login",
    "auth.logout",
    "auth.login_failed",
    "auth.confirm_failed",
    "auth.permission_refused",
    "worker.view_pii",
    "worker.export",
    "coverage.remittance_export",
    "report.tjsl_statement",  # records what the figures were; the list is drawn uncached
)
FUNDED = (PledgeStatus.PAID, PledgeStatus.ACTIVE, PledgeStatus.COMPLETED)


CHANGE_WINDOW = 64  # the newest audit ids a change can still commit under (see below)


def latest_changes() -> tuple[int, ...]:
    """The ids, among the newest CHANGE_WINDOW audit events, of those that may have changed a
    figure.

    Every service that writes coverage, workers, pledges, payments or claims records an audit
    event in the same transaction, so this moves whenever a figure can have moved. Ids are
    handed out before commit, so a transaction may commit under an id lower than one already
    seen; listing the window's ids (not only the newest) notices that too.
    """
    newest = select(func.max(AuditEvent.id)).scalar_subquery()
    stmt = (
        select(AuditEvent.id)
        .where(AuditEvent.id > newest - CHANGE_WINDOW, AuditEvent.action.not_in(READ_ONLY_ACTIONS))
        .order_by(AuditEvent.id)
    )
    return tuple(db.session.scalars(stmt))


@dataclass(frozen=True)
class CoveredMonth:
    """One worker-month of a report's scope, with what the breakdowns need of the worker."""

    worker_id: int
    month: date
    category_code: str
    kecamatan_code: str
    sex: str
    birth_date: date
    region_code: str


def covered_months(
    pledge_ids: Sequence[int], first: date | None = None, last: date | None = None
) -> list[CoveredMonth]:
    """The worker-months the pledges paid for, optionally within [first, last]."""
    if not pledge_ids:
        return []
    stmt = (
        select(
            Coverage.worker_id,
            Coverage.month,
            Category.code,
            Kelurahan.kecamatan_code,
            Worker.sex,
            Worker.birth_date,
            Coverage.region_code,
        )
        .join(Worker, Worker.id == Coverage.worker_id)
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(Coverage.pledge_id.in_(list(pledge_ids)))
    )
    if first is not None:
        stmt = stmt.where(Coverage.month >= first)
    if last is not None:
        stmt = stmt.where(Coverage.month <= last)
    return [CoveredMonth(*row) for row in db.session.execute(stmt)]


def company_pledges_in(company_id: int, first: date, last: date) -> list[Pledge]:
    """The company's funded pledges whose term overlaps [first, last]."""
    pledges = db.session.scalars(
        select(Pledge)
        .where(Pledge.company_id == company_id, Pledge.status.in_(FUNDED))
        .order_by(Pledge.id)
    )
    return [
        p for p in pledges if _term_start(p) <= last and (p.last_month or _term_start(p)) >= first
    ]


def _term_start(pledge: Pledge) -> date:
    return pledge.coverage_start or pledge.start_month


@dataclass(frozen=True)
class MoneyTotals:
    paid: int = 0
    used: int = 0
    refunded: int = 0


def pledge_money(pledge_ids: Sequence[int]) -> MoneyTotals:
    """Paid in, used by closed months and refunded, from the pledges' prepaid ledger lines."""
    if not pledge_ids:
        return MoneyTotals()
    rows = db.session.execute(
        select(LedgerEntry.kind, func.sum(LedgerLine.amount))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            LedgerLine.account == Account.SPONSOR_PREPAID,
            LedgerLine.pledge_id.in_(list(pledge_ids)),
        )
        .group_by(LedgerEntry.kind)
    )
    sums = {str(kind): int(total or 0) for kind, total in rows}
    return _money_totals(sums)


def money_by_region(pledge_ids: Sequence[int]) -> dict[str, MoneyTotals]:
    """pledge_money for each region the pledges' ledger entries belong to, in one select."""
    if not pledge_ids:
        return {}
    rows = db.session.execute(
        select(LedgerEntry.region_code, LedgerEntry.kind, func.sum(LedgerLine.amount))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            LedgerLine.account == Account.SPONSOR_PREPAID,
            LedgerLine.pledge_id.in_(list(pledge_ids)),
        )
        .group_by(LedgerEntry.region_code, LedgerEntry.kind)
    )
    sums: dict[str, dict[str, int]] = {}
    for region, kind, total in rows:
        sums.setdefault(str(region), {})[str(kind)] = int(total or 0)
    return {region: _money_totals(found) for region, found in sums.items()}


def _money_totals(sums: dict[str, int]) -> MoneyTotals:
    return MoneyTotals(
        paid=-sums.get(EntryKind.PAYMENT_RECEIVED.value, 0),
        used=sums.get(EntryKind.COVERAGE_CONSUMED.value, 0),
        refunded=sums.get(EntryKind.REFUND.value, 0),
    )


def claims_by_region(company_id: int, first: date, last: date) -> dict[str, ClaimTotals]:
    """claims_for_company (portal/claims/queries.py) for each region, in one select: claims,
    distinct workers and amount per region and kind (every kind present)."""
    pledges = select(Pledge.id).where(Pledge.company_id == company_id)
    rows = db.session.execute(
        select(
            Claim.region_code,
            Claim.kind,
            func.count(Claim.id),
            func.count(Claim.worker_id.distinct()),
            func.sum(Claim.amount),
        )
        .where(
            Claim.pledge_id.in_(pledges),
            Claim.month.between(first.replace(day=1), last.replace(day=1)),
        )
        .group_by(Claim.region_code, Claim.kind)
    )
    kinds: dict[str, dict[str, KindTotal]] = {}
    for region, kind, claims, workers, amount in rows:
        kinds.setdefault(str(region), {})[str(kind)] = KindTotal(
            int(claims), int(workers), int(amount or 0)
        )
    return {
        region: ClaimTotals({kind.value: found.get(kind.value, KindTotal()) for kind in ClaimKind})
        for region, found in kinds.items()
    }


@dataclass(frozen=True)
class RegionName:
    code: str
    name: str
    regulation: str


def region_names(codes: Sequence[str]) -> list[RegionName]:
    """The regions of the codes, by name."""
    if not codes:
        return []
    rows = db.session.execute(
        select(Region.code, Region.name, Region.regulation)
        .where(Region.code.in_(list(codes)))
        .order_by(Region.name)
    )
    return [RegionName(*row) for row in rows]


# --- TJSL: a year's realised spending and what documents it --------------------------------


def consumed_by_month(company_id: int, year: int) -> dict[str, dict[date, int]]:
    """Rupiah of the company's prepaid money used by each closed month of the year, for each
    region whose months they are.

    Read from the ledger's coverage-consumed entries, one per pledge and month, whose source
    key ends in the month (consumed:<pledge>:<YYYY-MM>, ledger/services.py), so a December
    closed in January still counts for its own year.
    """
    rows = db.session.execute(
        select(LedgerEntry.region_code, LedgerEntry.source_key, func.sum(LedgerLine.amount))
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(
            LedgerEntry.kind == EntryKind.COVERAGE_CONSUMED,
            LedgerEntry.source_key.like(f"consumed:%:{year:04d}-%"),
            LedgerLine.account == Account.SPONSOR_PREPAID,
            LedgerLine.company_id == company_id,
        )
        .group_by(LedgerEntry.region_code, LedgerEntry.source_key)
    )
    found: dict[str, dict[date, int]] = {}
    for region, key, amount in rows:
        month = date.fromisoformat(str(key).rsplit(":", 1)[1] + "-01")
        months = found.setdefault(str(region), {})
        months[month] = months.get(month, 0) + int(amount or 0)
    return {region: dict(sorted(months.items())) for region, months in found.items()}


def pledge_regions(pledge_ids: Sequence[int]) -> list[RegionName]:
    """The regions of the pledges, by name."""
    if not pledge_ids:
        return []
    codes = select(Pledge.region_code).where(Pledge.id.in_(list(pledge_ids)))
    rows = db.session.execute(
        select(Region.code, Region.name, Region.regulation)
        .where(Region.code.in_(codes))
        .order_by(Region.name)
    )
    return [RegionName(*row) for row in rows]


def pledge_certificates(pledge_ids: Sequence[int]) -> list[Certificate]:
    """The certificates of the pledges, oldest first."""
    if not pledge_ids:
        return []
    return list(
        db.session.scalars(
            select(Certificate)
            .where(Certificate.pledge_id.in_(list(pledge_ids)))
            .order_by(Certificate.issued_at, Certificate.id)
        )
    )


def receipt_serials(pledge_ids: Sequence[int]) -> list[str]:
    """The serials of the receipts of the pledges' payments, in issue order."""
    if not pledge_ids:
        return []
    return list(
        db.session.scalars(
            select(Document.serial)
            .join(Payment, Payment.id == Document.payment_id)
            .where(Document.kind == DocumentKind.RECEIPT, Payment.pledge_id.in_(list(pledge_ids)))
            .order_by(Document.id)
        )
    )


def company_statements(company_id: int) -> list[TjslStatement]:
    """The company's TJSL statements, newest first."""
    return list(
        db.session.scalars(
            select(TjslStatement)
            .where(TjslStatement.company_id == company_id)
            .order_by(TjslStatement.id.desc())
        )
    )


def statement_with_figures(
    company_id: int, year: int, plan: int, realised: int
) -> TjslStatement | None:
    return db.session.scalar(
        select(TjslStatement).where(
            TjslStatement.company_id == company_id,
            TjslStatement.year == year,
            TjslStatement.plan_amount == plan,
            TjslStatement.realised_amount == realised,
        )
    )


def funded_years(company_id: int) -> list[int]:
    """The years any month of the company's funded pledges falls in, oldest first."""
    years: set[int] = set()
    for pledge in db.session.scalars(
        select(Pledge).where(Pledge.company_id == company_id, Pledge.status.in_(FUNDED))
    ):
        start = _term_start(pledge)
        end = pledge.last_month or add_months(start, pledge.months - 1)
        years.update(range(start.year, end.year + 1))
    return sorted(years)


# --- the city ------------------------------------------------------------------------------


def coverage_by_month_and_funder(first: date, last: date) -> dict[date, dict[str, int]]:
    """Worker-months per month and funder in [first, last]."""
    rows = db.session.execute(
        select(Coverage.month, Coverage.funder, func.count(Coverage.id))
        .where(Coverage.month.between(first, last))
        .group_by(Coverage.month, Coverage.funder)
    )
    found: dict[date, dict[str, int]] = {}
    for month, funder, n in rows:
        found.setdefault(month, {})[str(funder)] = int(n)
    return found


def _waiting(month: date) -> Select:
    covered = exists().where(Coverage.worker_id == Worker.id, Coverage.month == month)
    return select(Worker).where(Worker.status == WorkerStatus.ELIGIBLE, ~covered)


def waiting_by_category_and_kecamatan(month: date) -> dict[tuple[str, str], int]:
    """Eligible workers with no funder in the month, per (category code, kecamatan code)."""
    waiting = _waiting(month).subquery()
    rows = db.session.execute(
        select(Category.code, Kelurahan.kecamatan_code, func.count(waiting.c.id))
        .join(Category, Category.id == waiting.c.category_id)
        .join(Kelurahan, Kelurahan.code == waiting.c.kelurahan_code)
        .group_by(Category.code, Kelurahan.kecamatan_code)
    )
    return {(code, kecamatan): int(n) for code, kecamatan, n in rows}


@dataclass(frozen=True)
class UnplacedPledge:
    """A funded pledge with paid worker-months that have no worker yet."""

    pledge_id: int
    company_name: str
    status: str
    slot_months: int
    placed: int
    price_total: int

    @property
    def unplaced(self) -> int:
        return max(self.slot_months - self.placed, 0)

    @property
    def unplaced_amount(self) -> int:
        """The pledge's price for its unplaced worker-months, pro rata."""
        if not self.slot_months:
            return 0
        return self.price_total * self.unplaced // self.slot_months


def unplaced_pledges() -> list[UnplacedPledge]:
    """Paid and active pledges with fewer placed worker-months than they paid for."""
    placed = (
        select(Coverage.pledge_id, func.count(Coverage.id).label("n"))
        .where(Coverage.pledge_id.is_not(None))
        .group_by(Coverage.pledge_id)
        .subquery()
    )
    rows = db.session.execute(
        select(
            Pledge.id,
            Company.legal_name,
            Pledge.status,
            Pledge.workers * Pledge.months,
            func.coalesce(placed.c.n, 0),
            Pledge.price_total,
        )
        .join(Company, Company.id == Pledge.company_id)
        .outerjoin(placed, placed.c.pledge_id == Pledge.id)
        .where(Pledge.status.in_((PledgeStatus.PAID, PledgeStatus.ACTIVE)))
        .order_by(Pledge.id)
    )
    found = [
        UnplacedPledge(pledge_id, name, str(status), int(slots), int(n), int(price))
        for pledge_id, name, status, slots, n, price in rows
    ]
    return [row for row in found if row.unplaced]


def active_pledges() -> list[Pledge]:
    return list(db.session.scalars(select(Pledge).where(Pledge.status == PledgeStatus.ACTIVE)))


def verified_sponsors() -> int:
    stmt = select(func.count(Company.id)).where(Company.status == CompanyStatus.VERIFIED)
    return int(db.session.scalar(stmt) or 0)


def funder_values() -> list[str]:
    return [funder.value for funder in Funder]
