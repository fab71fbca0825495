"""Read-only selects for matching: the waiting list, open pledges, runs, closed months."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from sqlalchemy import and_, exists, func, not_, select

from portal.auth.models import User
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder, MonthClose
from portal.coverage.release import open_cost
from portal.extensions import db
from portal.ledger.queries import pledge_balances
from portal.matching.engine import Candidate, Demand
from portal.matching.models import MatchPlacement, MatchRun
from portal.matching.rules import Rules
from portal.payments.models import Payment, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, slot_cost
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.workers.eligibility import eligible_clause
from portal.workers.models import Worker

CITY = (Funder.APBD, Funder.DBHCHT)


@dataclass(frozen=True)
class OpenPledge:
    """A paid pledge whose coverage can start in the run's month (R6), or an active pledge
    with slots still empty that month (R5: they are filled for the rest of its term)."""

    pledge_id: int
    company_id: int
    company_name: str
    workers: int  # slots to fill
    months: int  # months to cover from the run's month
    categories: tuple[str, ...]
    kecamatan: tuple[str, ...]
    free_slots: tuple[int, ...] = ()  # for an active pledge; a new one fills 1..workers

    def slots(self) -> tuple[int, ...]:
        return self.free_slots or tuple(range(1, self.workers + 1))

    def demand(self) -> Demand:
        return Demand(
            self.pledge_id, self.workers, frozenset(self.categories), frozenset(self.kecamatan)
        )


def waiting_candidates(
    month: date,
    rules: Rules,
    *,
    categories: Iterable[str] = (),
    kecamatan: Iterable[str] = (),
    exclude: Iterable[int] = (),
) -> list[Candidate]:
    """Workers eligible in `month` (R2) with no coverage from `month` on, optionally only
    those fitting a target; each with what R4 orders by."""
    previous = add_months(month, -1)
    covered_from = exists().where(Coverage.worker_id == Worker.id, Coverage.month >= month)
    lapsing = exists().where(Coverage.worker_id == Worker.id, Coverage.month == previous)
    stmt = (
        select(
            Worker.id,
            Category.code,
            Kelurahan.kecamatan_code,
            Worker.dtsen_decile,
            Worker.registered_on,
            lapsing,
        )
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(eligible_clause(month), ~covered_from)
    )
    categories, kecamatan, exclude = list(categories), list(kecamatan), set(exclude)
    if categories:
        stmt = stmt.where(Category.code.in_(categories))
    if kecamatan:
        stmt = stmt.where(Kelurahan.kecamatan_code.in_(kecamatan))
    weights: dict[str, int] = {}
    found = []
    for worker_id, category, kec, decile, registered_on, is_lapsing in db.session.execute(stmt):
        if worker_id in exclude:
            continue
        weight = weights.get(category)
        if weight is None:
            weight = weights[category] = rules.weight(category)
        found.append(
            Candidate(worker_id, category, kec, bool(is_lapsing), weight, decile, registered_on)
        )
    return found


def city_last_month(month: date) -> dict[int, str]:
    """Workers APBD or DBHCHT funded in the month before `month`, and by which."""
    rows = db.session.execute(
        select(Coverage.worker_id, Coverage.funder).where(
            Coverage.month == add_months(month, -1), Coverage.funder.in_(CITY)
        )
    )
    return {worker_id: str(funder) for worker_id, funder in rows}


def city_counts(month: date) -> dict[str, int]:
    rows = db.session.execute(
        select(Coverage.funder, func.count(Coverage.id))
        .where(Coverage.month == month, Coverage.funder.in_(CITY))
        .group_by(Coverage.funder)
    )
    counts = {str(f): 0 for f in CITY}
    counts.update({str(f): int(n) for f, n in rows})
    return counts


def renewal_predecessors(pledge_ids: Iterable[int]) -> dict[int, list[int]]:
    """For each renewal among the pledges: the workers its predecessor covered in its last
    month (slot order), the ones it continues first (R7)."""
    renewals = {
        int(pledge_id): int(earlier)
        for pledge_id, earlier in db.session.execute(
            select(Pledge.id, Pledge.renews_pledge_id).where(
                Pledge.id.in_(list(pledge_ids)), Pledge.renews_pledge_id.is_not(None)
            )
        )
    }
    found: dict[int, list[int]] = {}
    for pledge_id, earlier in renewals.items():
        last = db.session.scalar(
            select(func.max(Coverage.month)).where(Coverage.pledge_id == earlier)
        )
        found[pledge_id] = list(
            db.session.scalars(
                select(Coverage.worker_id)
                .where(Coverage.pledge_id == earlier, Coverage.month == last)
                .order_by(Coverage.slot)
            )
        )
    return found


def open_pledges(month: date) -> list[OpenPledge]:
    """Paid pledges not yet placed whose coverage may start by `month` (the later of the
    pledge's start month and the month after payment, R6), and active pledges with empty
    slots; each offering only the slots its unassigned money pays for, none while on hold."""
    paid = (
        db.session.execute(
            select(Pledge, Company.legal_name, func.max(Payment.paid_at))
            .join(Company, Company.id == Pledge.company_id)
            .join(
                Payment, and_(Payment.pledge_id == Pledge.id, Payment.status == PaymentStatus.PAID)
            )
            .where(
                Pledge.status == PledgeStatus.PAID,
                Pledge.start_month <= month,
                Pledge.on_hold.is_(False),
            )
            .group_by(Pledge.id, Company.legal_name)
            .order_by(Pledge.id)
        )
        .tuples()
        .all()
    )
    rows = [
        (pledge, name)
        for pledge, name, paid_at in paid
        if paid_at is None or add_months(paid_at.date().replace(day=1), 1) <= month
    ]
    free = unassigned_money([pledge.id for pledge, _ in rows])
    found = []
    for pledge, company_name in rows:
        slots = min(pledge.workers, free[pledge.id] // max(slot_cost(pledge), 1))
        if slots > 0:
            found.append(
                OpenPledge(
                    pledge.id,
                    pledge.company_id,
                    company_name,
                    slots,
                    pledge.months,
                    tuple(pledge.target_categories),
                    tuple(pledge.target_kecamatan),
                )
            )
    return found + _active_with_empty_slots(month)


def unassigned_money(pledge_ids: list[int]) -> dict[int, int]:
    """Per pledge, prepaid money no coverage row will use (R5 may place it, no more)."""
    balances, costs = pledge_balances(pledge_ids), open_cost(pledge_ids)
    return {pledge_id: balances[pledge_id] - costs[pledge_id] for pledge_id in pledge_ids}


def _active_with_empty_slots(month: date) -> list[OpenPledge]:
    """Active pledges whose term includes `month` with slots nobody fills that month (too few
    fitting workers when placed, or months released when nobody could take them over), as
    many as their unassigned money pays for the rest of the term."""
    rows = (
        db.session.execute(
            select(Pledge, Company.legal_name)
            .join(Company, Company.id == Pledge.company_id)
            .where(
                Pledge.status == PledgeStatus.ACTIVE,
                Pledge.coverage_start <= month,
                Pledge.on_hold.is_(False),
            )
            .order_by(Pledge.id)
        )
        .tuples()
        .all()
    )
    rows = [(p, name) for p, name in rows if p.last_month is not None and p.last_month >= month]
    if not rows:
        return []
    used: dict[int, set[int]] = {}
    for pledge_id, slot in db.session.execute(
        select(Coverage.pledge_id, Coverage.slot).where(
            Coverage.month == month, Coverage.pledge_id.in_([p.id for p, _ in rows])
        )
    ):
        used.setdefault(pledge_id, set()).add(slot)
    money = unassigned_money([p.id for p, _ in rows])
    found = []
    for pledge, company_name in rows:
        assert pledge.coverage_start is not None and pledge.last_month is not None
        cost = slot_cost(pledge, months_between(pledge.coverage_start, month))
        affordable = money[pledge.id] // max(cost, 1)
        free = tuple(s for s in range(1, pledge.workers + 1) if s not in used.get(pledge.id, ()))[
            : max(affordable, 0)
        ]
        if free:
            remaining = months_between(month, pledge.last_month) + 1
            found.append(
                OpenPledge(
                    pledge.id,
                    pledge.company_id,
                    company_name,
                    len(free),
                    remaining,
                    tuple(pledge.target_categories),
                    tuple(pledge.target_kecamatan),
                    free,
                )
            )
    return found


def months_between(first: date, last: date) -> int:
    return (last.year - first.year) * 12 + last.month - first.month


def placements_in_filled_slots(run: MatchRun) -> int:
    """Placements whose pledge slot got coverage since the proposal (from the run's month)."""
    taken = exists().where(
        Coverage.pledge_id == MatchPlacement.pledge_id,
        Coverage.slot == MatchPlacement.slot,
        Coverage.month >= run.month,
    )
    return int(
        db.session.scalar(
            select(func.count(MatchPlacement.id)).where(
                MatchPlacement.run_id == run.id, MatchPlacement.pledge_id.is_not(None), taken
            )
        )
        or 0
    )


def is_closed(month: date) -> bool:
    return db.session.scalar(select(MonthClose.id).where(MonthClose.month == month)) is not None


def closed_months() -> set[date]:
    return set(db.session.scalars(select(MonthClose.month)))


def recent_runs(limit: int = 50) -> list[MatchRun]:
    return list(db.session.scalars(select(MatchRun).order_by(MatchRun.id.desc()).limit(limit)))


def placements_already_covered(run: MatchRun) -> int:
    """Placements of the run whose worker got coverage since (in any month it would fill)."""
    clash = exists().where(
        Coverage.worker_id == MatchPlacement.worker_id, Coverage.month >= run.month
    )
    return int(
        db.session.scalar(
            select(func.count(MatchPlacement.id)).where(MatchPlacement.run_id == run.id, clash)
        )
        or 0
    )


def placements_not_eligible(run: MatchRun) -> int:
    """Placements whose worker no longer meets R2 in the run's month."""
    # A join on the worker's key, not NOT IN / NOT EXISTS over the eligible list: PostgreSQL
    # may scan that whole list once per placement (no statistics yet, or too big to hash).
    # Every column R2 reads is NOT NULL, so NOT(eligible) is exactly "not eligible".
    return int(
        db.session.scalar(
            select(func.count(MatchPlacement.id))
            .join(Worker, Worker.id == MatchPlacement.worker_id)
            .join(Category, Category.id == Worker.category_id)
            .where(MatchPlacement.run_id == run.id, not_(eligible_clause(run.month)))
        )
        or 0
    )


def placement_profile(pledge_id: int) -> dict[str, dict[str, int]]:
    """How many workers a pledge covers, by category and by kecamatan name (never who)."""
    first = select(func.min(Coverage.month)).where(Coverage.pledge_id == pledge_id)
    base = (
        select(Coverage.worker_id)
        .where(Coverage.pledge_id == pledge_id, Coverage.month == first.scalar_subquery())
        .subquery()
    )
    by_category = db.session.execute(
        select(Category.name_id, func.count())
        .select_from(base)
        .join(Worker, Worker.id == base.c.worker_id)
        .join(Category, Category.id == Worker.category_id)
        .group_by(Category.name_id)
    )
    by_kecamatan = db.session.execute(
        select(Kecamatan.name, func.count())
        .select_from(base)
        .join(Worker, Worker.id == base.c.worker_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .join(Kecamatan, Kecamatan.code == Kelurahan.kecamatan_code)
        .group_by(Kecamatan.name)
    )
    return {
        "category": {name: int(n) for name, n in by_category},
        "kecamatan": {name: int(n) for name, n in by_kecamatan},
    }


def run_placement_profiles(run_id: int) -> dict[int, dict[str, dict[str, int]]]:
    """placement_profile of each pledge the run placed workers in, in two queries: a run's
    pledges are paid and not yet covered, so their first month is the run's and the workers
    covered in it are the run's placements."""
    profiles: dict[int, dict[str, dict[str, int]]] = {}
    for key, name, joins in (
        ("category", Category.name_id, ((Category, Category.id == Worker.category_id),)),
        (
            "kecamatan",
            Kecamatan.name,
            (
                (Kelurahan, Kelurahan.code == Worker.kelurahan_code),
                (Kecamatan, Kecamatan.code == Kelurahan.kecamatan_code),
            ),
        ),
    ):
        stmt = (
            select(MatchPlacement.pledge_id, name, func.count())
            .join(Worker, Worker.id == MatchPlacement.worker_id)
            .where(MatchPlacement.run_id == run_id, MatchPlacement.pledge_id.is_not(None))
        )
        for table, on in joins:
            stmt = stmt.join(table, on)
        for pledge_id, label, n in db.session.execute(
            stmt.group_by(MatchPlacement.pledge_id, name)
        ):
            profile = profiles.setdefault(pledge_id, {"category": {}, "kecamatan": {}})
            profile[key][label] = int(n)
    return profiles


def covered_slot_months(pledge_id: int) -> int:
    return int(
        db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge_id))
        or 0
    )


def people(ids: Iterable[int | None]) -> dict[int, str]:
    """User id -> full name, for "proposed by" and "approved by"."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = db.session.execute(select(User.id, User.full_name).where(User.id.in_(wanted)))
    return dict(rows.tuples().all())


def reference_names(locale: str) -> tuple[dict[str, str], dict[str, str]]:
    """Category code -> name in the page's language (sorted by name), kecamatan code -> name."""
    names = [(c.code, c.display_name(locale)) for c in db.session.scalars(select(Category))]
    categories = dict(sorted(names, key=lambda item: item[1].casefold()))
    kecamatan = dict(
        db.session.execute(select(Kecamatan.code, Kecamatan.name).order_by(Kecamatan.name))
        .tuples()
        .all()
    )
    return categories, kecamatan
