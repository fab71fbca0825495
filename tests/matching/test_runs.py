"""Propose and approve match runs against the database: what is written, what is refused."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.certificates.services import pledge_certificates, verdict_for
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import services
from portal.matching.exceptions import MonthNotOpen, RunNotOpen, SameApprover, StaleProposal
from portal.matching.models import MatchPlacement, RuleVersion, RunStatus
from portal.matching.rules import current_rules
from portal.messages import _m
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from portal.workers.models import WorkerStatus
from tests import factories
from tests.conftest import run_jobs
from tests.matching import builders


@pytest.fixture
def month():  # type: ignore[no-untyped-def]
    return earliest_start()


@pytest.fixture
def no_city_quota(actors):  # type: ignore[no-untyped-def]
    return builders.rules(city_quotas={})


def _coverage(pledge_id: int) -> list[tuple[int, object, int]]:
    return list(
        db.session.execute(
            select(Coverage.worker_id, Coverage.month, Coverage.slot)
            .where(Coverage.pledge_id == pledge_id)
            .order_by(Coverage.slot, Coverage.month)
        )
    )


def test_propose_writes_placements_only(actors, month, no_city_quota):
    workers = [factories.worker() for _ in range(3)]
    pledge = builders.paid_pledge(builders.sponsor(), workers=2, months=3, start=month)
    run = services.propose_run(month, actors.staff)
    assert run.status == RunStatus.PROPOSED
    assert run.placed == 2 and run.coverage_rows == 6
    assert db.session.scalar(select(func.count(Coverage.id))) == 0
    placed = set(
        db.session.scalars(select(MatchPlacement.worker_id).where(MatchPlacement.run_id == run.id))
    )
    assert placed <= {w.id for w in workers}
    assert run.summary["pledges"][0]["placed"] == 2
    assert pledge.status == PledgeStatus.PAID


def test_approve_covers_the_whole_term_and_activates(actors, month, no_city_quota, outbox):
    for _ in range(3):
        factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=2, months=3, start=month)
    run = services.propose_run(month, actors.staff)
    assert services.approve_run(run, actors.staff2) == 6
    rows = _coverage(pledge.id)
    assert len(rows) == 6
    assert [r[1] for r in rows[:3]] == [month, add_months(month, 1), add_months(month, 2)]
    assert {r[2] for r in rows} == {1, 2}
    assert pledge.status == PledgeStatus.ACTIVE and pledge.coverage_start == month
    assert run.status == RunStatus.APPROVED
    run_jobs()  # the certificate follows the activation event
    [certificate] = pledge_certificates(pledge.id)
    verdict = verdict_for(certificate.serial)
    assert verdict.status == "valid" and verdict.facts["kind"] == "active"
    assert (verdict.facts["workers"], verdict.facts["worker_months"]) == (2, 6)


def test_target_is_honoured_and_unfilled_slots_have_a_reason(actors, month, no_city_quota):
    factories.worker(category_code="becak")
    factories.worker(category_code="ojek")
    pledge = builders.paid_pledge(
        builders.sponsor(), workers=3, months=1, start=month, categories=("ojek",)
    )
    run = services.propose_run(month, actors.staff)
    row = next(p for p in run.summary["pledges"] if p["id"] == pledge.id)
    assert (row["placed"], row["unfilled"], row["reason"]) == (1, 2, services.NO_FIT)


def test_city_quota_is_filled_before_pledges(actors, month):
    builders.rules(city_quotas={str(month.year): {"apbd": 1, "dbhcht": 0}})
    workers = [factories.worker() for _ in range(2)]
    pledge = builders.paid_pledge(builders.sponsor(), workers=2, months=1, start=month)
    run = services.propose_run(month, actors.staff)
    services.approve_run(run, actors.staff)
    funders = dict(
        db.session.execute(
            select(Coverage.worker_id, Coverage.funder).where(
                Coverage.worker_id.in_([w.id for w in workers])
            )
        ).all()
    )
    assert sorted(funders.values()) == [Funder.APBD, Funder.PLEDGE]
    assert len(_coverage(pledge.id)) == 1


def test_second_approval_of_a_run_is_refused(actors, month, no_city_quota):
    factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    run = services.propose_run(month, actors.staff)
    services.approve_run(run, actors.staff)
    with pytest.raises(RunNotOpen):
        services.approve_run(run, actors.staff)


def test_the_seeded_rules_want_two_people_for_an_approval(actors):
    seeded = db.session.scalars(select(RuleVersion).order_by(RuleVersion.id)).first()
    assert seeded is not None and seeded.parameters["require_second_approver"] is True


def test_same_person_cannot_approve_when_rules_require_another(actors, month):
    builders.rules(city_quotas={}, require_second_approver=True)
    factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    run = services.propose_run(month, actors.staff)
    with pytest.raises(SameApprover):
        services.approve_run(run, actors.staff)


def test_approve_fails_cleanly_when_a_worker_was_covered_since(actors, month, no_city_quota):
    worker = factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=2, start=month)
    run = services.propose_run(month, actors.staff)
    builders.city_coverage(worker.id, add_months(month, 1))
    db.session.commit()
    with pytest.raises(StaleProposal, match="covered since"):
        services.approve_run(run, actors.staff)
    db.session.rollback()
    services.mark_stale(run.id, ["covered"], actors.staff)
    db.session.commit()
    assert db.session.get(type(run), run.id).status == RunStatus.STALE
    assert db.session.get(type(run), run.id).failure_reasons == ["covered"]
    assert db.session.get(type(pledge), pledge.id).status == PledgeStatus.PAID
    assert (
        db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge.id))
        == 0
    )


def test_rule_change_between_proposal_and_approval_is_detected(actors, month, no_city_quota):
    factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    run = services.propose_run(month, actors.staff)
    builders.rules(lapse_window_days=45)
    with pytest.raises(StaleProposal, match="rules changed") as info:
        services.approve_run(run, actors.staff)
    # the reasons are messages, translated when shown, not English frozen into text
    (reason,) = info.value.reasons
    assert reason == _m(
        "the rules changed (proposal used version %(used)s, now %(now)s)",
        used=run.rule_version,
        now=current_rules().version,
    )
    assert str(info.value) == reason.english()  # outside a request: English


def test_worker_no_longer_eligible_is_detected(actors, month, no_city_quota):
    worker = factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    run = services.propose_run(month, actors.staff)
    worker.status = WorkerStatus.INACTIVE
    worker.inactive_reason = "deceased"
    db.session.flush()
    with pytest.raises(StaleProposal, match="no longer eligible"):
        services.approve_run(run, actors.staff)


def test_closed_or_far_months_cannot_be_matched(actors, month):
    with pytest.raises(MonthNotOpen):
        services.propose_run(add_months(month, 2), actors.staff)


def test_a_later_run_fills_the_slots_left_empty_for_the_rest_of_the_term(
    actors, month, no_city_quota
):
    first = factories.worker(category_code="ojek")
    pledge = builders.paid_pledge(
        builders.sponsor(), workers=3, months=3, start=month, categories=("ojek",)
    )
    services.approve_run(services.propose_run(month, actors.staff), actors.staff)
    assert {r[0] for r in _coverage(pledge.id)} == {first.id}
    newcomers = [factories.worker(category_code="ojek") for _ in range(3)]
    run = services.propose_run(month, actors.staff)
    row = next(p for p in run.summary["pledges"] if p["id"] == pledge.id)
    assert (row["slots"], row["placed"]) == (2, 2)
    services.approve_run(run, actors.staff)
    rows = _coverage(pledge.id)
    assert len(rows) == 9 and {r[2] for r in rows} == {1, 2, 3}
    assert len({r[0] for r in rows} & {w.id for w in newcomers}) == 2
    assert pledge.coverage_start == month and pledge.status == PledgeStatus.ACTIVE
    run_jobs()
    assert len(pledge_certificates(pledge.id)) == 1


def test_filling_the_same_empty_slots_twice_is_stale(actors, month, no_city_quota):
    factories.worker(category_code="ojek")
    pledge = builders.paid_pledge(
        builders.sponsor(), workers=2, months=1, start=month, categories=("ojek",)
    )
    services.approve_run(services.propose_run(month, actors.staff), actors.staff)
    factories.worker(category_code="ojek")
    factories.worker(category_code="ojek")
    one = services.propose_run(month, actors.staff)
    two = services.propose_run(month, actors.staff)
    services.approve_run(one, actors.staff)
    with pytest.raises(StaleProposal, match="slot"):
        services.approve_run(two, actors.staff)
    assert len(_coverage(pledge.id)) == 2
