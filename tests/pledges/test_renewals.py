"""Renewal that keeps the workers (rule R7 continuity): "Perpanjang" makes the next term with
the same terms at today's rates; once paid, matching gives it the same workers first, before
the city's quotas; yearly automatic renewal prepares a renewal and an invoice, never a charge."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.auth.models import User
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import services as matching
from portal.payments.models import Payment, PaymentStatus
from portal.payments.services import confirm_payment, start_bank_transfer
from portal.pledges import renewals
from portal.pledges.exceptions import NotRenewable
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start, submit_pledge
from portal.schedule import renew_automatically
from portal.workers.models import InactiveReason, WorkerStatus
from portal.workers.services import change_worker_status
from tests import factories
from tests.conftest import csrf_token
from tests.matching import builders


def _active(actors, workers: int = 2, months: int = 2, company=None, **target):  # type: ignore[no-untyped-def]
    """A pledge of the actors' company placed from next month (workers fitting it added)."""
    month = earliest_start()
    people = [factories.worker(category_code="ojek") for _ in range(workers)]
    pledge = builders.paid_pledge(
        company or db.session.get_one(Company, actors.owner.company_id),
        workers=workers,
        months=months,
        start=month,
        **target,
    )
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    db.session.refresh(pledge)
    assert pledge.status == PledgeStatus.ACTIVE
    return pledge, people


def _pay(renewal: Pledge, owner: User, staff: User) -> None:
    company = db.session.get_one(Company, renewal.company_id)
    submit_pledge(renewal, company, owner)
    invoice = start_bank_transfer(renewal, company, owner)
    confirm_payment(invoice, invoice.amount, staff, "staff")


def _covered_by(pledge_id: int, month: date) -> set[int]:
    return set(
        db.session.scalars(
            select(Coverage.worker_id).where(
                Coverage.pledge_id == pledge_id, Coverage.month == month
            )
        )
    )


def _run(month: date, actors) -> None:  # type: ignore[no-untyped-def]
    today = add_months(month, -1)  # the run happens the month before, as matching does
    matching.approve_run(matching.propose_run(month, actors.staff, today=today), actors.staff)


def test_renewing_makes_the_next_term_with_the_same_terms_at_todays_rates(actors):
    builders.rules(city_quotas={})
    pledge, _ = _active(actors, workers=2, months=3, categories=("ojek",))
    renewal = renewals.renew_pledge(pledge, actors.owner)
    assert renewal.status == PledgeStatus.DRAFT and renewal.renews_pledge_id == pledge.id
    assert (renewal.workers, renewal.months, renewal.target_categories) == (2, 3, ["ojek"])
    assert renewal.start_month == add_months(pledge.last_month, 1)
    assert renewal.price_total == 2 * 3 * 16_800  # the rate schedule in force
    with pytest.raises(NotRenewable):
        renewals.renew_pledge(pledge, actors.owner)  # once
    assert renewals.renewal_of(pledge.id) == renewal


def test_a_draft_or_a_long_finished_pledge_is_not_renewable(actors):
    builders.rules(city_quotas={})
    pledge, _ = _active(actors)
    draft = renewals.renew_pledge(pledge, actors.owner)
    assert not renewals.renewable(draft)
    after_end = add_months(pledge.last_month, 3)  # completed more than 60 days ago
    pledge.status = PledgeStatus.COMPLETED
    assert not renewals.renewable(pledge, today=after_end)


def test_the_renewal_keeps_its_workers_before_the_citys_quota_takes_them(actors):
    builders.rules(city_quotas={})
    pledge, people = _active(actors, workers=2, months=1)
    start = earliest_start()
    builders.rules(  # now the city has room for everyone, and lapsing workers rank first
        city_quotas={str(y): {"apbd": 100, "dbhcht": 0} for y in (start.year, start.year + 1)}
    )
    for _ in range(3):
        factories.worker(category_code="ojek")
    renewal = renewals.renew_pledge(pledge, actors.owner)
    _pay(renewal, actors.owner, actors.staff)
    _run(renewal.start_month, actors)
    assert _covered_by(renewal.id, renewal.start_month) == {w.id for w in people}
    city = db.session.scalar(
        select(func.count()).where(
            Coverage.month == renewal.start_month, Coverage.funder == Funder.APBD
        )
    )
    assert city == 3  # the city took the others, not the renewal's workers


@settings(
    max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    sizes=st.lists(st.integers(min_value=1, max_value=3), min_size=1, max_size=3),
    months=st.integers(min_value=1, max_value=2),
    leaving=st.sets(st.integers(min_value=0, max_value=8), max_size=3),
    quota=st.sampled_from([0, 2, 50]),
)
def test_every_still_eligible_worker_stays_with_the_same_sponsor(
    actors, sizes, months, leaving, quota
):
    """Random pledges, random workers leaving during the term, a city quota or none: after
    the renewals are paid and the next month is matched, every worker of a renewed pledge
    who is still eligible is covered by that pledge's renewal, and nobody is covered twice."""
    with db.session.begin_nested() as example:
        start = earliest_start()
        builders.rules(city_quotas={})
        sponsors = [builders.sponsor(f"PT Uji {n}") for n in range(len(sizes))]
        made = [
            _active(actors, workers=n, months=months, company=c)
            for n, c in zip(sizes, sponsors, strict=True)
        ]
        everyone = [w for _, people in made for w in people]
        for index in sorted(leaving):
            if index < len(everyone):
                change_worker_status(
                    everyone[index],
                    WorkerStatus.INACTIVE,
                    actors.staff,
                    "pindah",
                    reason=InactiveReason.MOVED,
                )
        for _ in range(4):
            factories.worker(category_code="ojek")  # strangers waiting, ranked alike
        years = {str(y): {"apbd": quota, "dbhcht": 0} for y in range(start.year, start.year + 3)}
        builders.rules(city_quotas=years)  # the city may now take lapsing workers first
        owner_of = {
            c.id: db.session.scalar(select(User).where(User.company_id == c.id)) for c in sponsors
        }
        pairs = []
        for pledge, people in made:
            renewal = renewals.renew_pledge(pledge, owner_of[pledge.company_id])
            _pay(renewal, owner_of[pledge.company_id], actors.staff)
            pairs.append((pledge, renewal, people))
        month = pairs[0][1].start_month
        _run(month, actors)
        for _, renewal, people in pairs:
            staying = {w.id for w in people if w.status == WorkerStatus.ELIGIBLE}
            assert staying <= _covered_by(renewal.id, month)
        twice = db.session.scalar(
            select(func.count())
            .select_from(Coverage)
            .where(Coverage.month == month)
            .group_by(Coverage.worker_id)
            .having(func.count() > 1)
        )
        assert twice is None
        example.rollback()


def test_the_pledge_page_renews_with_one_click_and_a_second_click_finds_it(actors, logged_in):
    builders.rules(city_quotas={})
    pledge, _ = _active(actors)
    client = logged_in(actors.owner)
    page = f"/pledges/{pledge.id}"
    html = client.get(page).get_data(as_text=True)
    assert 'id="renew-pledge"' in html
    token = csrf_token(client, page)
    first = client.post(f"{page}/renew", data={"csrf_token": token})
    renewal = renewals.renewal_of(pledge.id)
    assert renewal is not None and first.headers["Location"] == f"/pledges/{renewal.id}"
    draft = client.get(first.headers["Location"]).get_data(as_text=True)
    assert 'data-status="draft"' in draft and 'id="renews"' in draft
    again = client.post(f"{page}/renew", data={"csrf_token": token})
    assert again.headers["Location"] == f"/pledges/{renewal.id}"
    assert db.session.scalar(select(func.count()).where(Pledge.renews_pledge_id == pledge.id)) == 1
    assert 'id="renewed-by"' in client.get(page).get_data(as_text=True)
    member = logged_in(actors.member)  # a member's click finds the same renewal
    clicked = member.post(f"{page}/renew", data={"csrf_token": csrf_token(member, page)})
    assert clicked.headers["Location"] == f"/pledges/{renewal.id}"
    other = logged_in(actors.other_owner)
    assert (
        other.post(f"{page}/renew", data={"csrf_token": csrf_token(other, "/pledges")}).status_code
        == 404
    )


def test_automatic_renewal_prepares_a_renewal_and_an_invoice_never_a_charge(actors, outbox):
    builders.rules(city_quotas={}, renewal_notice_days=400)
    pledge, _ = _active(actors)
    renewals.set_auto_renew(pledge, True, actors.owner)
    assert renew_automatically(date.today()) == 1
    renewal = renewals.renewal_of(pledge.id)
    assert renewal.status == PledgeStatus.AWAITING_PAYMENT and renewal.auto_renew
    payments = db.session.scalars(select(Payment).where(Payment.pledge_id == renewal.id)).all()
    assert [p.status for p in payments] == [PaymentStatus.PENDING]  # an invoice, not a charge
    assert any("perpanjangan otomatis" in m.subject for m in outbox)
    assert renew_automatically(date.today()) == 0  # renewed already


def test_automatic_renewal_can_be_cancelled(actors, logged_in):
    builders.rules(city_quotas={}, renewal_notice_days=400)
    pledge, _ = _active(actors)
    client = logged_in(actors.owner)
    page = f"/pledges/{pledge.id}"
    client.post(
        f"{page}/auto-renew", data={"csrf_token": csrf_token(client, page), "auto_renew": "on"}
    )
    assert db.session.get_one(Pledge, pledge.id, populate_existing=True).auto_renew
    client.post(f"{page}/auto-renew", data={"csrf_token": csrf_token(client, page)})
    assert not db.session.get_one(Pledge, pledge.id, populate_existing=True).auto_renew
    assert renew_automatically(date.today()) == 0
