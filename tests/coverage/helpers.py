"""Pledges with coverage and city-covered workers for coverage tests; they flush, never commit."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.ledger.models import EntryKind, LedgerEntry, LedgerLine
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, term_rates
from portal.pledges.services import transition_pledge
from portal.workers.models import Worker
from tests import factories
from tests.matching import builders


def covered_pledge(
    workers: int,
    months: int,
    start: date,
    company: Company | None = None,
    names: tuple[str, ...] = (),
) -> tuple[Pledge, list[Worker]]:
    """A paid pledge made active from `start`, its slots filled by new workers for the whole
    term (the coverage rows an approved match run writes)."""
    pledge = builders.paid_pledge(company or builders.sponsor(), workers, months, start)
    people = [
        factories.worker(full_name=names[i] if i < len(names) else None) for i in range(workers)
    ]
    rates = term_rates(pledge)
    db.session.add_all(
        [
            Coverage(
                worker_id=worker.id,
                month=add_months(start, k),
                funder=Funder.PLEDGE,
                amount=rates[k],
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, worker in enumerate(people, 1)
            for k in range(months)
        ]
    )
    pledge.coverage_start = start
    transition_pledge(pledge, PledgeStatus.ACTIVE, None, note="test")
    db.session.flush()
    return pledge, people


def city_workers(
    funder: Funder, month: date, count: int, amount: int = 16_800, category_code: str = "becak"
) -> list[Worker]:
    people = [factories.worker(category_code=category_code) for _ in range(count)]
    db.session.add_all(
        [Coverage(worker_id=w.id, month=month, funder=funder, amount=amount) for w in people]
    )
    db.session.flush()
    return people


def booked(source_key: str) -> int | None:
    """The debit of a coverage or remittance entry, None when there is no such entry."""
    return db.session.scalar(
        select(func.sum(LedgerLine.amount))
        .join(LedgerEntry)
        .where(
            LedgerEntry.source_key == source_key,
            LedgerLine.amount > 0,
            LedgerEntry.kind.in_([EntryKind.COVERAGE_CONSUMED, EntryKind.REMITTANCE]),
        )
    )
