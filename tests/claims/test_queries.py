"""Claim figures for reports: counts and sums by kind, per pledge, company and funder."""

from __future__ import annotations

from datetime import date, timedelta

from portal.claims.queries import (
    ClaimFilters,
    KindTotal,
    claims_for_company,
    claims_for_pledge,
    claims_select,
    claims_totals_by_funder,
)
from portal.claims.services import record_claim
from portal.coverage.models import Funder
from portal.extensions import db
from portal.pledges.pricing import add_months
from tests.coverage import helpers
from tests.matching import builders

MONTH = date.today().replace(day=1)
LAST_MONTH = add_months(MONTH, -1)


def test_a_pledge_sums_its_own_claims_by_kind(actors):
    pledge, (first, second) = helpers.covered_pledge(2, 2, LAST_MONTH)
    _, (elsewhere,) = helpers.covered_pledge(1, 1, MONTH)
    (city,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    record_claim(first, LAST_MONTH, "jkk", 1_000_000, "", actors.staff)
    record_claim(first, MONTH, "jkm", 42_000_000, "", actors.staff)
    record_claim(second, MONTH, "jkk", 500_000, "", actors.staff)
    record_claim(elsewhere, MONTH, "jkk", 7_000, "", actors.staff)
    record_claim(city, MONTH, "jkk", 9_000, "", actors.staff)
    totals = claims_for_pledge(pledge.id)
    assert totals.by_kind == {"jkk": KindTotal(2, 2, 1_500_000), "jkm": KindTotal(1, 1, 42_000_000)}
    assert (totals.claims, totals.workers, totals.amount) == (3, 2, 43_500_000)


def test_a_pledge_without_claims_has_zeros_for_every_kind():
    pledge, _ = helpers.covered_pledge(1, 1, MONTH)
    totals = claims_for_pledge(pledge.id)
    assert totals.by_kind == {"jkk": KindTotal(), "jkm": KindTotal()}
    assert (totals.claims, totals.workers, totals.amount) == (0, 0, 0)


def test_a_company_sums_claims_of_all_its_pledges_within_the_months(actors):
    company = builders.sponsor()
    _, (early,) = helpers.covered_pledge(1, 1, add_months(MONTH, -2), company=company)
    _, (late, other) = helpers.covered_pledge(2, 2, LAST_MONTH, company=company)
    _, (stranger,) = helpers.covered_pledge(1, 1, MONTH)
    record_claim(early, add_months(MONTH, -2), "jkk", 100, "", actors.staff)  # before the range
    record_claim(late, LAST_MONTH + timedelta(days=2), "jkk", 2_000, "", actors.staff)
    record_claim(late, MONTH, "jkk", 3_000, "", actors.staff)
    record_claim(other, MONTH, "jkm", 40_000, "", actors.staff)
    record_claim(stranger, MONTH, "jkk", 99_999, "", actors.staff)
    totals = claims_for_company(company.id, LAST_MONTH, MONTH)
    assert totals.by_kind == {"jkk": KindTotal(2, 1, 5_000), "jkm": KindTotal(1, 1, 40_000)}
    assert (totals.claims, totals.workers, totals.amount) == (3, 2, 45_000)
    assert (
        claims_for_company(company.id, add_months(MONTH, -2), add_months(MONTH, -2)).amount == 100
    )


def test_totals_by_funder_cover_every_funder_of_the_month(actors):
    _, (sponsored,) = helpers.covered_pledge(1, 2, LAST_MONTH)
    apbd = helpers.city_workers(Funder.APBD, MONTH, 2)
    record_claim(sponsored, LAST_MONTH, "jkk", 1_000, "", actors.staff)  # another month
    record_claim(sponsored, MONTH, "jkm", 42_000_000, "", actors.staff)
    record_claim(apbd[0], MONTH, "jkk", 300, "", actors.staff)
    record_claim(apbd[1], MONTH, "jkk", 200, "", actors.staff)
    found = claims_totals_by_funder(MONTH)
    assert set(found) == {"apbd", "dbhcht", "pledge"}
    assert found["apbd"].by_kind == {"jkk": KindTotal(2, 2, 500), "jkm": KindTotal()}
    assert found["pledge"].by_kind == {"jkk": KindTotal(), "jkm": KindTotal(1, 1, 42_000_000)}
    assert (found["dbhcht"].claims, found["dbhcht"].amount) == (0, 0)
    assert claims_totals_by_funder(LAST_MONTH)["pledge"].amount == 1_000


def test_the_list_filters_by_month_kind_and_funder_and_hides_names_when_asked(actors):
    _, (sponsored,) = helpers.covered_pledge(1, 2, LAST_MONTH, names=("Budi Santoso",))
    (city,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    old = record_claim(sponsored, LAST_MONTH, "jkk", 1_000, "", actors.staff)
    death = record_claim(sponsored, MONTH, "jkm", 2_000, "", actors.staff)
    city_claim = record_claim(city, MONTH, "jkk", 3_000, "", actors.staff)

    def ids(with_names: bool = True, **args: str) -> list[int]:
        rows = db.session.execute(claims_select(ClaimFilters.from_args(args), with_names))
        return [claim.id for claim, _, _ in rows]

    assert ids() == [city_claim.id, death.id, old.id]
    assert ids(month=f"{MONTH:%Y-%m}") == [city_claim.id, death.id]
    assert ids(kind="jkk") == [city_claim.id, old.id]
    assert ids(funder="pledge", month=f"{MONTH:%Y-%m}") == [death.id]
    assert ids(month="2026-13", kind="jkx", funder="csr") == [city_claim.id, death.id, old.id]
    named = db.session.execute(claims_select(ClaimFilters(kind="jkm"), True)).one()
    hidden = db.session.execute(claims_select(ClaimFilters(kind="jkm"), False)).one()
    assert named[1:] == (sponsored.nik_masked, "Budi Santoso")
    assert hidden[1:] == (sponsored.nik_masked, None)
