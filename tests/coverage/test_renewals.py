"""Lapsing pledges and renewal offers: every sponsor whose term ends soon is asked once."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.coverage.queries import ending_pledges, month_end
from portal.extensions import db
from portal.pledges.pricing import add_months
from portal.pledges.renewals import offer_renewals
from tests import factories
from tests.coverage import helpers
from tests.matching import builders

THIS_MONTH = date.today().replace(day=1)


def _sponsor_with_team() -> tuple[Company, list[str]]:
    company = builders.sponsor("PT Renew")
    owner = db.session.scalar(select(User).where(User.company_id == company.id))
    member = factories.user(Role.SPONSOR_MEMBER, company=company)
    factories.user(Role.SPONSOR_MEMBER, company=company, active=False)
    return company, sorted([owner.email, member.email])


def test_ending_pledges_lists_terms_ending_within_the_window_soonest_first():
    later, _ = helpers.covered_pledge(3, 2, THIS_MONTH)
    sooner, _ = helpers.covered_pledge(2, 1, THIS_MONTH)
    helpers.covered_pledge(1, 6, THIS_MONTH)  # ends months from now
    today = month_end(add_months(THIS_MONTH, 1)) - timedelta(days=59)
    rows = ending_pledges(today, 60)
    assert [(r.pledge.id, r.workers, r.last_month) for r in rows] == [
        (sooner.id, 2, THIS_MONTH),
        (later.id, 3, add_months(THIS_MONTH, 1)),
    ]
    assert rows[0].ends_on == month_end(THIS_MONTH) and rows[0].company_name.startswith("PT")
    assert [r.pledge.id for r in ending_pledges(today, 58)] == [sooner.id]


def test_renewal_offer_is_mailed_once_to_the_active_team(actors, outbox):
    company, emails = _sponsor_with_team()
    pledge, _ = helpers.covered_pledge(2, 3, add_months(THIS_MONTH, -1), company=company)
    ends = month_end(pledge.last_month)
    offered = offer_renewals(today=ends - timedelta(days=30), actor=actors.staff)
    assert offered == [pledge] and pledge.renewal_offered_at is not None
    db.session.commit()  # mail leaves after the commit
    assert sorted(m.to[0] for m in outbox) == emails
    body = outbox[0].body
    assert f"#{pledge.id}" in body and f"/pledges/{pledge.id}#renew" in body and " 2 " in body
    assert offer_renewals(today=ends - timedelta(days=29), actor=actors.staff) == []
    db.session.commit()
    assert len(outbox) == 2
    assert (
        db.session.scalar(
            select(func.count(AuditEvent.id)).where(AuditEvent.action == "pledge.renewal_offered")
        )
        == 1
    )


def test_no_offer_before_the_notice_period(actors, outbox):
    pledge, _ = helpers.covered_pledge(1, 2, THIS_MONTH)
    ends = month_end(pledge.last_month)
    assert offer_renewals(today=ends - timedelta(days=31)) == []
    assert pledge.renewal_offered_at is None
    db.session.commit()
    assert outbox == []
