"""Two approvals of overlapping proposals at the same moment: one wins, the other goes stale.

Runs on its own database of the suite's kind (PostgreSQL when TEST_DATABASE_URL is set, else a
SQLite file, where writers take turns), with real separate processes, as two staff members
pressing "approve" on two gunicorn workers would. Both proposals place the same workers.
"""

from __future__ import annotations

import multiprocessing

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.coverage.models import Coverage
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.matching import services
from portal.matching.exceptions import StaleProposal
from portal.matching.models import MatchRun, RunStatus
from portal.pledges.models import Pledge
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from portal.reference.seed import seed_reference
from tests import factories
from tests.matching import builders

WORKERS = 6


def _settings(url: str) -> TestingConfig:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return settings


def _prepare(crossed: bool) -> list[tuple[int, int]]:
    """Workers, two paid pledges and two proposals that place the same workers, committed.

    Both proposals fill both pledges, or (crossed) the first fills only the first pledge and
    the second only the second, so that only the database's (worker, month) constraint stands
    between the two approvals. Returns (run id, approver id) for each proposal.
    """
    db.create_all()
    seed_reference()
    staff = [factories.user(Role.STAFF) for _ in range(3)]
    builders.rules(city_quotas={})
    month = earliest_start()
    for n in range(WORKERS):
        factories.worker(category_code=("becak", "ojek")[n % 2])
    sponsor = builders.sponsor()
    size = WORKERS if crossed else WORKERS // 2
    pledges = [
        builders.paid_pledge(sponsor, workers=size, months=months, start=month) for months in (2, 3)
    ]
    runs = []
    for pledge in pledges:
        others = [p for p in pledges if p is not pledge] if crossed else []
        for other in others:  # not open this month: this proposal cannot use it
            other.start_month = add_months(month, 1)
        runs.append(services.propose_run(month, staff[0]))
        for other in others:
            other.start_month = month
    db.session.commit()
    assert all(run.placed == WORKERS for run in runs)
    return [(run.id, approver.id) for run, approver in zip(runs, staff[1:], strict=True)]


def approve_at_once(url: str, run_id: int, actor_id: int, barrier, results) -> None:  # type: ignore[no-untyped-def]
    """One process: wait for the other, then approve; on a stale proposal, record why."""
    app = create_app(_settings(url))
    with app.app_context():
        db.session.execute(select(1))  # connected before the start, not after
        db.session.rollback()
        barrier.wait(timeout=60)
        run = db.session.get(MatchRun, run_id)
        actor = db.session.get(User, actor_id)
        try:
            services.approve_run(run, actor)
            db.session.commit()
            results.put((run_id, "approved"))
        except StaleProposal as error:
            db.session.rollback()
            services.mark_stale(run_id, error.reasons, actor)
            db.session.commit()
            results.put((run_id, "stale"))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.own_database
@pytest.mark.parametrize("crossed", [False, True], ids=["same-pledges", "crossed-pledges"])
def test_two_approvals_at_once_cover_each_worker_month_once(fresh_database_url, crossed):
    database_url = fresh_database_url
    app = create_app(_settings(database_url))
    with app.app_context():
        runs = _prepare(crossed)
        db.session.remove()
        db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(len(runs)), context.Queue()
    workers = [
        context.Process(
            target=approve_at_once, args=(database_url, run_id, actor_id, barrier, results)
        )
        for run_id, actor_id in runs
    ]
    for worker in workers:
        worker.start()
    outcomes = dict(results.get(timeout=120) for _ in workers)
    for worker in workers:
        worker.join(timeout=60)
    results.close()
    results.join_thread()

    assert sorted(outcomes.values()) == ["approved", "stale"]
    winner = next(run_id for run_id, outcome in outcomes.items() if outcome == "approved")
    with app.app_context():
        statuses = {run.id: run for run in db.session.scalars(select(MatchRun))}
        for run_id, outcome in outcomes.items():
            assert statuses[run_id].status == (
                RunStatus.APPROVED if outcome == "approved" else RunStatus.STALE
            )
        loser = next(run for run in statuses.values() if run.status == RunStatus.STALE)
        assert loser.failure, "a stale run says why"
        assert (
            db.session.execute(
                select(Coverage.worker_id, Coverage.month)
                .group_by(Coverage.worker_id, Coverage.month)
                .having(func.count() > 1)
            ).all()
            == []
        )
        for pledge in db.session.scalars(select(Pledge)):
            covered = db.session.scalar(
                select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge.id)
            )
            assert covered <= pledge.workers * pledge.months
        assert set(db.session.scalars(select(Coverage.run_id).distinct())) == {winner}
        assert db.session.scalar(select(func.count(Coverage.id))) == statuses[winner].coverage_rows
        assert check_ledger() == []
        db.session.remove()
        db.engine.dispose()
