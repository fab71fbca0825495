"""The staff queue: what waits for a person, counted, each with the page where it is done."""

from __future__ import annotations

from datetime import date

from portal.claims import stories
from portal.claims.services import record_claim
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.matching import services as matching
from portal.payments.models import IssueKind, IssueStatus, PaymentIssue
from portal.pledges.services import earliest_start
from portal.queue.queries import waiting_items
from tests import factories
from tests.coverage import helpers
from tests.matching import builders


def _keys(today: date | None = None) -> dict[str, int]:
    return {item.key: item.count for item in waiting_items(today)}


def test_an_empty_portal_has_nothing_waiting_but_an_open_month(actors):
    assert _keys(date(2026, 12, 2)) == {}
    late = _keys(date(2026, 12, 11))  # November still open after the 10th
    assert late == {"queue.month_open": 1}


def test_each_kind_of_waiting_work_is_counted(actors):
    builders.rules(city_quotas={})
    factories.company(legal_name="PT Menunggu Verifikasi")  # pending
    month = earliest_start()
    factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=1, start=month)
    matching.propose_run(month, actors.staff)  # a proposal waiting for approval
    db.session.add(
        PaymentIssue(
            kind=IssueKind.UNDERPAYMENT,
            status=IssueStatus.OPEN,
            pledge_id=pledge.id,
            company_id=pledge.company_id,
            amount=1_000,
            detail="short",
        )
    )
    db.session.add(OutboxEvent(kind="mail.send", payload={}, status=EventStatus.FAILED))
    this_month = date.today().replace(day=1)
    _, (worker,) = helpers.covered_pledge(1, 1, this_month)
    claim = record_claim(worker, this_month, "jkk", 1_500_000, "", actors.staff)
    stories.update_story(claim, "Kecelakaan saat bekerja, kini pulih.", actors.staff)
    db.session.flush()
    found = _keys(date(2026, 12, 2))
    assert found["queue.companies"] >= 1
    assert found["queue.proposals"] == 1
    assert found["queue.underpayment"] == 1
    assert found["queue.failed_jobs"] == 1
    assert found["queue.stories"] == 1


def test_staff_see_the_queue_and_its_count_admins_see_failed_jobs_too(actors, logged_in):
    db.session.add(OutboxEvent(kind="mail.send", payload={}, status=EventStatus.FAILED))
    factories.company(legal_name="PT Menunggu Verifikasi")
    db.session.commit()
    staff = logged_in(actors.staff).get("/staff/queue").get_data(as_text=True)
    assert 'data-item="queue.companies"' in staff
    assert 'data-item="queue.failed_jobs"' not in staff  # staff cannot open the jobs page
    admin = logged_in(actors.admin).get("/staff/queue").get_data(as_text=True)
    assert 'data-item="queue.failed_jobs"' in admin and 'id="nav-queue"' in admin
    assert logged_in(actors.owner).get("/staff/queue").status_code == 403
