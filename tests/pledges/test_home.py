"""The sponsor's home: what the money did this year and what to do next."""

from __future__ import annotations

from datetime import date

from portal.companies.models import Company
from portal.extensions import db
from portal.matching import services as matching
from portal.matching.queries import reference_names
from portal.payments.unused import mark_unused
from portal.pledges.home import sponsor_home
from portal.pledges.models import PledgeStatus
from portal.pledges.services import PledgeTerms, create_pledge, earliest_start, submit_pledge
from tests import factories
from tests.matching import builders


def test_home_shows_the_years_figures_and_the_next_actions(actors, logged_in):
    builders.rules(city_quotas={}, renewal_notice_days=400)
    company = db.session.get_one(Company, actors.owner.company_id)
    month = earliest_start()
    for _ in range(6):
        factories.worker()
    placed = builders.paid_pledge(company, workers=6, months=2, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    owed = create_pledge(company, actors.owner, PledgeTerms(2, 3, month))
    submit_pledge(owed, company, actors.owner)
    draft = create_pledge(company, actors.member, PledgeTerms(1, 1, month))
    db.session.commit()

    home = sponsor_home(company, actors.owner, today=month)
    assert home.covered_now == 6  # the run's month is "now" here
    assert home.year.money.paid == placed.price_total
    kinds = [(a.kind, a.pledge_id) for a in home.actions]
    assert kinds[:2] == [("pay", owed.id), ("commit", draft.id)]
    assert ("renew", placed.id) in kinds
    assert [e.pledge_id for e in home.ending] == [placed.id]

    html = logged_in(actors.owner).get("/company/home").get_data(as_text=True)
    assert 'data-action="pay"' in html and 'data-action="renew"' in html
    assert f"#{placed.id}" in html and 'id="money"' in html


def test_money_waiting_for_a_decision_is_an_action_with_its_amount(actors, logged_in):
    builders.rules(city_quotas={})
    company = db.session.get_one(Company, actors.owner.company_id)
    factories.worker()
    month = earliest_start()
    pledge = builders.paid_pledge(company, workers=3, months=1, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    assert pledge.status == PledgeStatus.ACTIVE
    waiting = mark_unused(pledge, "test") or 0
    db.session.commit()
    home = sponsor_home(company, actors.member, today=date.today())
    assert home.waiting_decision == waiting > 0
    assert [(a.kind, a.amount) for a in home.actions if a.kind == "decide"] == [("decide", waiting)]


def test_a_small_company_sees_its_covered_workers_suppressed(actors):
    builders.rules(city_quotas={})
    company = db.session.get_one(Company, actors.owner.company_id)
    month = earliest_start()
    factories.worker()
    builders.paid_pledge(company, workers=1, months=1, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    assert sponsor_home(company, actors.owner, today=month).covered_now == "<5"


def test_the_pledge_page_names_its_target_and_tells_its_timeline_in_words(actors, logged_in):
    company = db.session.get_one(Company, actors.owner.company_id)
    pledge = create_pledge(
        company,
        actors.owner,
        PledgeTerms(2, 3, earliest_start(), categories=("ojek",), kecamatan=("33.74.01",)),
    )
    db.session.commit()
    client = logged_in(actors.owner)
    client.set_cookie("lang", "en")
    html = client.get(f"/pledges/{pledge.id}").get_data(as_text=True)
    categories, kecamatan = reference_names("en")
    assert f'id="target">{categories["ojek"]}, {kecamatan["33.74.01"]}<' in html
    assert 'data-action="pledge.create">Pledge drafted<' in html
    assert "<code>pledge.create</code>" not in html
