"""Recording one claim: linked to the month's coverage and funder, refused when it cannot be."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.audit.models import AuditEvent
from portal.claims.exceptions import DuplicateClaim, InvalidClaim, NotAllowed, NotCovered
from portal.claims.models import Claim, ClaimKind
from portal.claims.services import record_claim
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.pledges.pricing import add_months
from portal.workers.models import WorkerStatus
from portal.workers.services import worker_nik
from tests import factories
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
LAST_MONTH = add_months(MONTH, -1)


def _claims() -> int:
    return db.session.scalar(select(func.count(Claim.id)))


def test_a_pledge_covered_worker_links_the_pledge_and_its_funder(actors):
    pledge, (worker,) = helpers.covered_pledge(1, 2, LAST_MONTH, names=("Siti Aminah",))
    event = LAST_MONTH + timedelta(days=9)
    claim = record_claim(worker, event, "jkk", 2_750_000, "  Jatuh dari becak.  ", actors.staff)
    coverage = db.session.scalar(
        select(Coverage).where(Coverage.worker_id == worker.id, Coverage.month == LAST_MONTH)
    )
    assert (claim.worker_id, claim.coverage_id, claim.funder, claim.pledge_id) == (
        worker.id,
        coverage.id,
        "pledge",
        pledge.id,
    )
    assert (claim.event_date, claim.month, claim.kind, claim.amount, claim.story) == (
        event,
        LAST_MONTH,
        ClaimKind.JKK,
        2_750_000,
        "Jatuh dari becak.",
    )
    assert claim.recorded_by_id == actors.staff.id
    event_row = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim.record"))
    assert event_row.object_id == str(claim.id) and event_row.company_id == pledge.company_id
    assert event_row.after["pledge_id"] == pledge.id and event_row.after["amount"] == 2_750_000
    assert event_row.after["funder"] == "pledge" and event_row.after["story_chars"] == 17
    recorded = str(event_row.after)
    assert worker_nik(worker) not in recorded and "Siti" not in recorded
    assert "becak" not in recorded


def test_a_city_covered_worker_links_apbd_and_no_pledge(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    claim = record_claim(worker, MONTH, "JKM", 42_000_000, "", actors.admin)
    assert (claim.funder, claim.pledge_id, claim.kind, claim.month) == ("apbd", None, "jkm", MONTH)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "claim.record"))
    assert event.company_id is None


def test_a_death_claim_leaves_the_worker_status_alone(actors):
    (worker,) = helpers.city_workers(Funder.DBHCHT, MONTH, 1)
    record_claim(worker, MONTH, "jkm", 42_000_000, "", actors.staff)
    db.session.refresh(worker)
    assert worker.status == WorkerStatus.ELIGIBLE and worker.inactive_reason is None


def test_a_worker_not_covered_that_month_is_refused(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    with pytest.raises(NotCovered, match=f"not covered in {LAST_MONTH:%Y-%m}"):
        record_claim(worker, LAST_MONTH + timedelta(days=3), "jkk", 500_000, "", actors.staff)
    with pytest.raises(NotCovered):
        record_claim(factories.worker(), MONTH, "jkk", 500_000, "", actors.staff)
    assert _claims() == 0


def test_the_same_worker_type_and_date_twice_is_refused(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    first = record_claim(worker, MONTH, "jkk", 500_000, "", actors.staff)
    with pytest.raises(DuplicateClaim, match=f"claim #{first.id}"):
        record_claim(worker, MONTH, "JKK", 900_000, "", actors.staff)
    other_kind = record_claim(worker, MONTH, "jkm", 42_000_000, "", actors.staff)
    assert other_kind.id != first.id and _claims() == 2


def test_the_database_refuses_a_duplicate_written_around_the_service(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    claim = record_claim(worker, MONTH, "jkk", 500_000, "", actors.staff)
    twin = Claim(
        worker_id=worker.id,
        coverage_id=claim.coverage_id,
        funder="apbd",
        event_date=MONTH,
        month=MONTH,
        kind="jkk",
        amount=1,
    )
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.add(twin)


@pytest.mark.parametrize(
    ("event", "kind", "amount", "story", "field"),
    [
        (date.today() + timedelta(days=1), "jkk", 500_000, "", "event_date"),
        (MONTH, "jkk", 0, "", "amount"),
        (MONTH, "jkk", -5, "", "amount"),
        (MONTH, "jkp", 500_000, "", "kind"),
        (MONTH, "jkk", 500_000, "x" * 501, "story"),
    ],
)
def test_impossible_values_are_refused(actors, event, kind, amount, story, field):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    with pytest.raises(InvalidClaim) as caught:
        record_claim(worker, event, kind, amount, story, actors.staff)
    assert caught.value.field == field
    assert _claims() == 0


def test_a_story_of_exactly_500_characters_is_kept(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    claim = record_claim(worker, MONTH, "jkk", 1, "y" * 500, actors.staff)
    assert len(claim.story) == 500 and claim.amount == 1


def test_only_claim_managers_may_record(actors):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    for user in (actors.auditor, actors.owner):
        with pytest.raises(NotAllowed):
            record_claim(worker, MONTH, "jkk", 500_000, "", user)
    assert record_claim(worker, MONTH, "jkk", 500_000, "", None).recorded_by_id is None
