"""Pledge pricing, the wizard, the lifecycle and its permissions."""

from __future__ import annotations

import re
from datetime import date

import flask_babel
import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.matching.estimate import expected_available
from portal.messages import _m
from portal.pledges import services
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition, InvalidPledge
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge, total
from portal.reference.models import RateSchedule
from tests import factories
from tests.conftest import csrf_token
from tests.matching import builders

NEXT = services.earliest_start()


def _terms(workers: int = 10, months: int = 6, start: date = NEXT, **target):  # type: ignore[no-untyped-def]
    return services.PledgeTerms(
        workers,
        months,
        start,
        tuple(target.get("categories", ())),
        tuple(target.get("kecamatan", ())),
    )


def test_price_is_workers_times_months_times_the_rate():
    lines = price_pledge(10, 12, NEXT)
    assert total(lines) == 10 * 12 * 16_800 == 2_016_000
    assert {line.jkk for line in lines} == {10_000} and {line.jkm for line in lines} == {6_800}


def test_a_rate_change_inside_the_term_is_priced_month_by_month():
    current = db.session.scalar(select(RateSchedule))
    change = add_months(NEXT, 3)
    current.effective_to = change
    db.session.add(
        RateSchedule(
            effective_from=change,
            declared_income=1_000_000,
            jkk_amount=5_000,
            jkm_amount=3_400,
            legal_basis="PP 50/2025",
        )
    )
    db.session.flush()
    lines = price_pledge(2, 6, NEXT)
    assert [line.rate for line in lines] == [16_800] * 3 + [8_400] * 3
    assert total(lines) == 2 * (3 * 16_800 + 3 * 8_400)


def test_a_csr_specific_rate_wins_over_the_general_one():
    db.session.add(
        RateSchedule(
            effective_from=date(2025, 1, 1),
            funding_source="csr",
            declared_income=1_000_000,
            jkk_amount=10_000,
            jkm_amount=6_800,
            legal_basis="CSR",
        )
    )
    db.session.add(
        RateSchedule(
            effective_from=date(2025, 1, 1),
            funding_source="apbd",
            declared_income=1_000_000,
            jkk_amount=1,
            jkm_amount=1,
            legal_basis="APBD only",
        )
    )
    db.session.flush()
    assert total(price_pledge(1, 1, NEXT)) == 16_800


@pytest.mark.parametrize(
    "workers,months,start",
    [
        (0, 6, NEXT),
        (10, 0, NEXT),
        (10, 25, NEXT),
        (10, 6, add_months(NEXT, -1)),
    ],
)
def test_terms_outside_the_programme_are_refused(workers, months, start):
    with pytest.raises(InvalidPledge):
        services.check_terms(_terms(workers, months, start))


def test_a_refusal_is_a_message_shown_in_the_readers_language(monkeypatch):
    with pytest.raises(InvalidPledge) as refused:
        services.check_terms(_terms(10, 25, NEXT))
    assert refused.value.args[0] == _m("Months must be between 1 and %(max)s.", max=24)
    assert str(refused.value) == "Months must be between 1 and 24."  # English outside a request
    catalogue = {"Months must be between 1 and %(max)s.": "Jumlah bulan harus 1 sampai %(max)s."}
    monkeypatch.setattr(flask_babel, "gettext", lambda msgid, **values: catalogue[msgid] % values)
    assert str(refused.value) == "Jumlah bulan harus 1 sampai 24."  # what a flash shows


def test_lifecycle_moves_only_along_allowed_steps(actors):
    company = db.session.get(factories.Company, actors.owner.company_id)
    pledge = services.create_pledge(company, actors.owner, _terms())
    with pytest.raises(IllegalPledgeTransition):
        services.transition_pledge(pledge, PledgeStatus.PAID, actors.owner)
    services.submit_pledge(pledge, company, actors.owner)
    assert pledge.status == PledgeStatus.AWAITING_PAYMENT
    with pytest.raises(IllegalPledgeTransition):
        services.update_draft(pledge, actors.owner, _terms(workers=99))
    with pytest.raises(IllegalPledgeTransition):
        services.delete_draft(pledge, actors.owner)


def test_an_unverified_company_can_draft_but_not_commit(actors):
    company = factories.company()
    owner = factories.user(factories.Role.SPONSOR_OWNER, company=company)
    pledge = services.create_pledge(company, owner, _terms())
    with pytest.raises(CompanyNotVerified):
        services.submit_pledge(pledge, company, owner)


def _wizard(client, **values):  # type: ignore[no-untyped-def]
    data = {
        "csrf_token": csrf_token(client, "/pledges/new"),
        "workers": "5",
        "months": "6",
        "start_month": NEXT.isoformat(),
        **values,
    }
    return client.post("/pledges/new", data=data)


def test_wizard_shows_the_price_and_waiting_workers_before_saving(actors, logged_in):
    builders.rules(city_quotas={})  # no city quota to take them first
    factories.worker(category_code="ojek")
    client = logged_in(actors.owner)
    html = _wizard(client, preview="1", categories="ojek").get_data(as_text=True)
    assert 'id="total">Rp504,000<' in html  # 5 x 6 x 16,800
    assert 'id="waiting-warning"' in html and "About 1 eligible" in html
    assert db.session.scalar(select(func.count(Pledge.id))) == 0


def test_the_estimate_leaves_out_what_the_city_and_paid_pledges_ahead_take(actors, logged_in):
    """10 waiting (6 ojek, 4 becak); the city's quota takes 2 of them, spread over the cells,
    and a paid pledge ahead for 3 ojek takes 3 ojek: an ojek pledge can expect 6 - 1.2 - 3."""
    builders.rules(city_quotas={str(NEXT.year): {"apbd": 2, "dbhcht": 0}})
    for n in range(10):
        factories.worker(category_code="ojek" if n < 6 else "becak")
    builders.paid_pledge(builders.sponsor(), workers=3, months=2, start=NEXT, categories=("ojek",))
    assert expected_available(NEXT, ("ojek",)) == 1
    assert expected_available(NEXT) == 10 - 2 - 3
    client = logged_in(actors.owner)
    html = _wizard(client, preview="1").get_data(as_text=True)
    assert "About 5 eligible" in html
    staff_html = logged_in(actors.staff).get("/dashboard").get_data(as_text=True)
    assert re.search(r'data-figure="available">5<', staff_html)


def test_wizard_saves_a_draft_that_can_be_edited_and_deleted(actors, logged_in):
    client = logged_in(actors.member)
    response = _wizard(client, save="1")
    assert response.status_code == 302
    pledge_id = int(re.search(r"/pledges/(\d+)", response.headers["Location"]).group(1))
    edit = f"/pledges/{pledge_id}/edit"
    client.post(
        edit,
        data={
            "csrf_token": csrf_token(client, edit),
            "workers": "7",
            "months": "3",
            "start_month": NEXT.isoformat(),
            "save": "1",
        },
    )
    assert db.session.get(Pledge, pledge_id).price_total == 7 * 3 * 16_800
    token = csrf_token(client, f"/pledges/{pledge_id}")
    client.post(f"/pledges/{pledge_id}/delete", data={"csrf_token": token})
    assert db.session.get(Pledge, pledge_id) is None


def test_wizard_refuses_bad_numbers_with_a_message(actors, logged_in):
    client = logged_in(actors.owner)
    response = _wizard(client, workers="0", months="30", save="1")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(Pledge.id))) == 0


def test_another_companys_pledge_is_404_everywhere(actors, logged_in):
    other = db.session.get(factories.Company, actors.other_owner.company_id)
    pledge = services.create_pledge(other, actors.other_owner, _terms())
    client = logged_in(actors.owner)
    token = csrf_token(client, "/pledges")
    for method, path in [
        ("get", f"/pledges/{pledge.id}"),
        ("get", f"/pledges/{pledge.id}/edit"),
        ("post", f"/pledges/{pledge.id}/submit"),
        ("post", f"/pledges/{pledge.id}/delete"),
        ("post", f"/pledges/{pledge.id}/pay/stripe"),
        ("post", f"/pledges/{pledge.id}/pay/transfer"),
        ("get", f"/pledges/{pledge.id}/paid"),
    ]:
        response = getattr(client, method)(path, data={"csrf_token": token})
        assert response.status_code == 404, path
