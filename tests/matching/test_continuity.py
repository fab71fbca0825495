"""R7: a covered worker who stops being eligible hands the months left to the next worker."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.coverage.closing import close_month
from portal.coverage.continuity import pass_on_coverage
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import services
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from portal.workers.eligibility import youngest_over_age_birth
from portal.workers.models import InactiveReason, WorkerStatus
from portal.workers.services import change_worker_status
from tests import factories
from tests.conftest import csrf_token, run_jobs
from tests.matching import builders


def _months_of(worker_id: int) -> list:  # type: ignore[type-arg]
    return list(
        db.session.scalars(
            select(Coverage.month).where(Coverage.worker_id == worker_id).order_by(Coverage.month)
        )
    )


def _approved_single_slot(actors, months: int = 6):  # type: ignore[no-untyped-def]
    builders.rules(city_quotas={})
    month = earliest_start()
    first = factories.worker(category_code="ojek")
    pledge = builders.paid_pledge(
        builders.sponsor(), workers=1, months=months, start=month, categories=("ojek",)
    )
    run = services.propose_run(month, actors.staff)
    services.approve_run(run, actors.staff)
    return month, first, pledge


def test_death_mid_term_hands_exactly_the_remaining_months_to_the_next_worker(actors):
    month, first, pledge = _approved_single_slot(actors)
    later = factories.worker(category_code="ojek")
    factories.worker(category_code="becak")  # outside the target: never chosen
    change_worker_status(
        first,
        WorkerStatus.INACTIVE,
        actors.staff,
        "meninggal dunia",
        reason=InactiveReason.DECEASED,
    )
    died_in = add_months(month, 1)  # the worker keeps the months up to and including this one
    result = pass_on_coverage(actors.staff, from_month=add_months(died_in, 1))
    term = [add_months(month, k) for k in range(6)]
    assert _months_of(first.id) == term[:2]
    assert _months_of(later.id) == term[2:]
    assert result.passed_on == [(pledge.id, 1, first.id, later.id)]
    assert result.months_moved == 4 and result.released == 0
    slots = db.session.execute(
        select(Coverage.slot, Coverage.month).where(Coverage.pledge_id == pledge.id)
    ).all()
    assert len(slots) == 6 and {s for s, _ in slots} == {1}


def test_without_a_fitting_worker_the_months_are_released(actors):
    month, first, pledge = _approved_single_slot(actors, months=3)
    factories.worker(category_code="becak")  # waiting, but outside the target
    change_worker_status(
        first, WorkerStatus.INACTIVE, actors.staff, "pindah", reason=InactiveReason.MOVED
    )
    result = pass_on_coverage(actors.staff, from_month=add_months(month, 1))
    assert _months_of(first.id) == [month]
    assert result.released == 2 and result.passed_on == []


def test_eligible_workers_keep_their_coverage(actors):
    month, first, _ = _approved_single_slot(actors, months=3)
    factories.worker(category_code="ojek")
    result = pass_on_coverage(actors.staff, from_month=month)
    assert result.passed_on == [] and result.released == 0
    assert len(_months_of(first.id)) == 3


def test_city_months_of_an_inactive_worker_are_released(actors):
    month = earliest_start()
    worker = factories.worker()
    for k in range(3):
        builders.city_coverage(worker.id, add_months(month, k), Funder.DBHCHT)
    change_worker_status(
        worker,
        WorkerStatus.INACTIVE,
        actors.staff,
        "pekerjaan formal",
        reason=InactiveReason.FORMAL_JOB,
    )
    result = pass_on_coverage(actors.staff, from_month=add_months(month, 1))
    assert result.released == 2
    assert _months_of(worker.id) == [month]


def test_status_page_passes_coverage_on(actors, logged_in):
    month, first, pledge = _approved_single_slot(actors, months=2)
    later = factories.worker(category_code="ojek")
    db.session.commit()
    client = logged_in(actors.staff)
    path = f"/staff/workers/{first.id}"
    response = client.post(
        f"{path}/status",
        data={
            "csrf_token": csrf_token(client, path),
            "status": "inactive",
            "reason": "deceased",
            "note": "meninggal dunia",
        },
        follow_redirects=True,
    )
    assert response.status_code == 200
    assert "passes to the next worker on the list" in response.get_data(as_text=True)
    # a job worker moved it (the client runs queued jobs after each request, as a worker would);
    # next month is the first month that may move: the term started next month, so all of it
    assert _months_of(later.id) == [month, add_months(month, 1)]
    assert _months_of(first.id) == []


def test_a_status_change_moves_coverage_through_its_event_and_once(actors):
    month, first, pledge = _approved_single_slot(actors, months=2)
    later = factories.worker(category_code="ojek")
    change_worker_status(
        first, WorkerStatus.INACTIVE, actors.staff, "pindah", reason=InactiveReason.MOVED
    )
    assert _months_of(first.id) == [month, add_months(month, 1)]  # nothing moved in the change
    run_jobs()
    run_jobs()
    assert _months_of(first.id) == []
    assert _months_of(later.id) == [month, add_months(month, 1)]
    moves = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coverage.pass_on")
    ).all()
    assert len(moves) == 1 and moves[0].after["to_worker_id"] == later.id


def test_closing_a_month_hands_on_the_months_of_a_worker_who_turned_too_old(actors):
    builders.rules(city_quotas={})
    month = earliest_start()
    ageing = factories.worker(category_code="ojek", birth_date=youngest_over_age_birth(month))
    pledge = builders.paid_pledge(
        builders.sponsor(), workers=1, months=3, start=month, categories=("ojek",)
    )
    services.approve_run(services.propose_run(month, actors.staff), actors.staff)
    younger = factories.worker(category_code="ojek")
    close_month(date.today().replace(day=1), actors.staff)
    close_month(month, actors.staff)  # the sweep runs from the month being closed
    assert _months_of(ageing.id) == [month]
    assert _months_of(younger.id) == [add_months(month, 1), add_months(month, 2)]
    assert (
        len(db.session.scalars(select(Coverage.id).where(Coverage.pledge_id == pledge.id)).all())
        == 3
    )
