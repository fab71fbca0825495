"""R7 continuity: when a covered worker stops being eligible, the months left of a pledge's
slot pass to the next worker on the list within the pledge's target, so the sponsor's money is
never wasted; the city's months of that worker are released for the next run to fill."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import delete, not_, select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.models import Coverage, Funder, MonthClose
from portal.coverage.services import covered_elsewhere
from portal.extensions import db
from portal.matching import engine, queries
from portal.matching.rules import current_rules
from portal.pledges.models import Pledge
from portal.pledges.pricing import add_months
from portal.reference.models import Category
from portal.workers.eligibility import eligible_clause
from portal.workers.models import Worker

# (id, worker id, month, funder, pledge id, slot) of a coverage row
CoverageRow = tuple[int, int, date, Funder, int | None, int | None]


@dataclass
class ContinuityResult:
    passed_on: list[tuple[int, int, int, int]] = field(default_factory=list)
    """(pledge id, slot, from worker, to worker) for each slot handed over."""
    released: int = 0
    """Coverage rows removed because nobody fitting was waiting (or the funder is the city)."""
    months_moved: int = 0


def first_open_month(today: date | None = None) -> date:
    """Months from here on may still change: next month, after the last closed month."""
    start = add_months((today or date.today()).replace(day=1), 1)
    closed = db.session.scalar(
        select(MonthClose.month)
        .where(MonthClose.month >= start)
        .order_by(MonthClose.month.desc())
        .limit(1)
    )
    return add_months(closed, 1) if closed else start


def pass_on_coverage(
    actor: User | None, *, from_month: date | None = None, worker_ids: Iterable[int] | None = None
) -> ContinuityResult:
    """Hand over or release every coverage row from `from_month` (default: the first open
    month) whose worker does not meet R2 in that month. Closed months never move, and
    neither do months that have started (their contribution is due; claims may point at them).
    """
    start = max(from_month or first_open_month(), add_months(date.today().replace(day=1), 1))
    closed = queries.closed_months()
    rows = _ineligible_rows(start, closed, None if worker_ids is None else list(worker_ids))
    result = ContinuityResult()
    slots: dict[tuple[int, int], list[tuple[int, date]]] = defaultdict(list)
    for row_id, worker_id, month, funder, pledge_id, slot in rows:
        if funder == Funder.PLEDGE:
            assert pledge_id is not None and slot is not None  # check constraint pledge_funder
            slots[(pledge_id, slot)].append((worker_id, month))
        else:
            db.session.execute(delete(Coverage).where(Coverage.id == row_id))
            result.released += 1
            record_event(
                "coverage.release",
                None,
                actor=actor,
                after={"worker_id": worker_id, "month": f"{month:%Y-%m}", "funder": str(funder)},
            )
    chosen: set[int] = set()
    for (pledge_id, slot), found in sorted(slots.items()):
        _hand_over(pledge_id, slot, found, closed, chosen, actor, result)
    db.session.flush()
    return result


def _ineligible_rows(
    start: date, closed: set[date], worker_ids: list[int] | None
) -> list[CoverageRow]:
    months = [
        m
        for m in db.session.scalars(
            select(Coverage.month).where(Coverage.month >= start).distinct()
        )
        if m not in closed
    ]
    found: list[CoverageRow] = []
    for month in sorted(months):
        # A join with NOT(eligible), not NOT IN over the eligible list (see
        # queries.placements_not_eligible): every column R2 reads is NOT NULL.
        stmt = (
            select(
                Coverage.id,
                Coverage.worker_id,
                Coverage.month,
                Coverage.funder,
                Coverage.pledge_id,
                Coverage.slot,
            )
            .join(Worker, Worker.id == Coverage.worker_id)
            .join(Category, Category.id == Worker.category_id)
            .where(Coverage.month == month, not_(eligible_clause(month)))
        )
        if worker_ids is not None:
            stmt = stmt.where(Coverage.worker_id.in_(worker_ids))
        found.extend(db.session.execute(stmt).tuples().all())
    return found


def _hand_over(
    pledge_id: int,
    slot: int,
    found: list[tuple[int, date]],
    closed: set[date],
    chosen: set[int],
    actor: User | None,
    result: ContinuityResult,
) -> None:
    """The slot's months from the first ineligible one go to the best worker waiting."""
    leaving, first = min(found, key=lambda item: item[1])
    months = [
        m
        for m in db.session.scalars(
            select(Coverage.month).where(
                Coverage.pledge_id == pledge_id,
                Coverage.slot == slot,
                Coverage.month >= first,
                Coverage.worker_id == leaving,
            )
        )
        if m not in closed
    ]
    pledge = db.session.get(Pledge, pledge_id)
    assert pledge is not None  # the coverage rows' foreign key
    successor = _first_free(
        engine.by_priority(
            queries.waiting_candidates(
                first,
                current_rules(),
                categories=pledge.target_categories,
                kecamatan=pledge.target_kecamatan,
                exclude=chosen,
            )
        ),
        months,
    )
    where = (
        Coverage.pledge_id == pledge_id,
        Coverage.slot == slot,
        Coverage.worker_id == leaving,
        Coverage.month.in_(months),
    )
    if successor is None:
        db.session.execute(delete(Coverage).where(*where))
        result.released += len(months)
        record_event(
            "coverage.release",
            pledge,
            actor=actor,
            after={
                "slot": slot,
                "worker_id": leaving,
                "months": [f"{m:%Y-%m}" for m in months],
                "reason": "no eligible worker waiting fits the target",
            },
        )
        return
    chosen.add(successor)
    person = db.session.scalar(select(Worker.nik_hash).where(Worker.id == successor))
    db.session.execute(
        update(Coverage).where(*where).values(worker_id=successor, person_key=person),
        execution_options={"synchronize_session": False},
    )
    result.passed_on.append((pledge_id, slot, leaving, successor))
    result.months_moved += len(months)
    record_event(
        "coverage.pass_on",
        pledge,
        actor=actor,
        after={
            "slot": slot,
            "from_worker_id": leaving,
            "to_worker_id": successor,
            "months": [f"{m:%Y-%m}" for m in months],
        },
    )


FREE_CHECK = 100  # candidates checked at a time; the first is nearly always free


def _first_free(candidates: list[engine.Candidate], months: list[date]) -> int | None:
    """The first candidate (a worker id) whose person no other region funds in `months`."""
    wanted = set(months)
    for start in range(0, len(candidates), FREE_CHECK):
        chunk = [c.worker_id for c in candidates[start : start + FREE_CHECK]]
        elsewhere = covered_elsewhere(min(wanted), max(wanted), chunk) if wanted else {}
        for worker_id in chunk:
            if not elsewhere.get(worker_id, set()) & wanted:
                return worker_id
    return None
