"""Approved claim stories reach the sponsor whose pledge covered the worker (page and PDF);
unapproved ones, other companies' and erased workers' never do."""

from __future__ import annotations

from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.audit.services import record_event
from portal.claims import stories
from portal.claims.models import Claim
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.db import utcnow
from portal.extensions import db
from portal.workers.models import InactiveReason, Worker, WorkerStatus
from tests.coverage import helpers
from tests.reports.test_reports import placed_pledge

APPROVED = "A fisher was hurt when her boat capsized; BPJS paid her treatment in full."
PENDING = "A draft nobody has checked yet."
ELSEWHERE = "A gravedigger covered by another company recovered after surgery."


def _workers(pledge_id: int) -> list[Worker]:
    return list(
        db.session.scalars(
            select(Worker)
            .join(Coverage, Coverage.worker_id == Worker.id)
            .where(Coverage.pledge_id == pledge_id)
            .distinct()
            .order_by(Worker.id)
        )
    )


def _claim_with_story(worker, month, text, actors, approve=True):  # type: ignore[no-untyped-def]
    claim = record_claim(worker, month.replace(day=3), "jkk", 1_000_000, "", actors.staff)
    stories.update_story(claim, text, actors.staff)
    if approve:
        stories.approve_story(claim, actors.staff)
    return claim


@pytest.fixture
def told(actors):  # type: ignore[no-untyped-def]
    """The company's running pledge with one approved and one pending story; another company's
    pledge with an approved story of its own."""
    pledge = placed_pledge(actors, running=True)
    first, second = _workers(pledge.id)[:2]
    _claim_with_story(first, pledge.coverage_start, APPROVED, actors)
    _claim_with_story(second, pledge.coverage_start, PENDING, actors, approve=False)
    other = db.session.get(Company, actors.other_owner.company_id)
    _, (stranger,) = helpers.covered_pledge(1, 1, pledge.coverage_start, company=other)
    _claim_with_story(stranger, pledge.coverage_start, ELSEWHERE, actors)
    db.session.commit()  # the claims' audit events move the report cache on
    return pledge


def test_the_pledge_page_shows_approved_stories_only(logged_in, actors, told):
    page = logged_in(actors.owner).get(f"/reports/pledges/{told.id}").get_data(as_text=True)
    section = page.split('id="stories"')[1].split("</section>")[0]
    assert APPROVED in section
    assert PENDING not in page and ELSEWHERE not in page
    assert f"JKK (work accident) · {told.coverage_start.year}" in section
    assert str(told.coverage_start.replace(day=3)) not in section  # no date of the event


def test_the_pdf_carries_the_approved_story(logged_in, actors, told):
    data = logged_in(actors.member).get(f"/reports/pledges/{told.id}.pdf").data
    text = " ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages)
    text = " ".join(text.split())
    assert "Stories from covered workers" in text and APPROVED in text
    assert PENDING not in text and ELSEWHERE not in text


def test_the_sponsor_dashboard_has_its_own_stories_only(logged_in, actors, told):
    month = f"{told.coverage_start:%Y-%m}"
    own = logged_in(actors.owner).get(f"/reports?from={month}&to={month}").get_data(as_text=True)
    assert APPROVED in own and ELSEWHERE not in own and PENDING not in own
    other = logged_in(actors.other_owner)
    theirs = other.get(f"/reports?from={month}&to={month}").get_data(as_text=True)
    assert ELSEWHERE in theirs and APPROVED not in theirs
    xlsx = other.get(f"/reports/period.csv?from={month}&to={month}").get_data(as_text=True)
    assert APPROVED not in xlsx and ELSEWHERE in xlsx


def test_a_withdrawn_or_erased_story_leaves_the_report(logged_in, actors, told):
    client = logged_in(actors.owner)
    worker = _workers(told.id)[0]
    claim = db.session.scalars(select(Claim).where(Claim.worker_id == worker.id)).one()
    stories.withdraw_story(claim, actors.staff)
    db.session.commit()
    assert APPROVED not in client.get(f"/reports/pledges/{told.id}").get_data(as_text=True)
    stories.approve_story(db.session.get_one(Claim, claim.id), actors.staff)
    db.session.commit()
    assert APPROVED in client.get(f"/reports/pledges/{told.id}").get_data(as_text=True)
    worker = db.session.get_one(Worker, worker.id)
    # Erased as the privacy service leaves a worker (its own tests cover the erasure itself).
    worker.status, worker.inactive_reason = WorkerStatus.INACTIVE, InactiveReason.ERASED
    worker.erased_at = utcnow()
    record_event("worker.erase", worker, actor=actors.staff)
    db.session.commit()
    assert APPROVED not in client.get(f"/reports/pledges/{told.id}").get_data(as_text=True)


def test_a_story_of_a_city_funded_claim_reaches_no_sponsor(logged_in, actors):
    month = date.today().replace(day=1)
    (worker,) = helpers.city_workers(Funder.APBD, month, 1)
    _claim_with_story(worker, month, ELSEWHERE, actors)
    db.session.commit()
    page = logged_in(actors.owner).get("/reports").get_data(as_text=True)
    assert ELSEWHERE not in page
