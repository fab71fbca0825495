"""Impact figures: recomputed straight from coverage rows, small groups hidden, pseudonyms."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, func, select

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import services as matching
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start, transition_pledge
from portal.reference.models import Category, Kelurahan
from portal.reports import services
from portal.reports.figures import OTHER, SMALL, RawGroup, suppress_groups
from portal.workers.models import Worker
from tests import factories
from tests.matching import builders

KELURAHAN_A, KELURAHAN_B = "33.74.01.1001", "33.74.02.1001"


def placed_pledge(
    actors,
    men: int = 7,
    women: int = 2,
    months: int = 3,  # type: ignore[no-untyped-def]
    running: bool = False,
):
    """Men in one kecamatan and women (nelayan) in another, placed in one pledge: by a match
    run from next month, or (running) covered since last month as an approved run leaves it."""
    builders.rules(city_quotas={})
    people = [
        factories.worker(kelurahan_code=KELURAHAN_A, birth_date=date(1990, 1, 1 + n))
        for n in range(men)
    ]
    people += [
        factories.worker(
            female=True,
            kelurahan_code=KELURAHAN_B,
            category_code="nelayan",
            birth_date=date(1965, 2, 1 + n),
        )
        for n in range(women)
    ]
    company = db.session.get(Company, actors.owner.company_id)
    if not running:
        month = earliest_start()
        pledge = builders.paid_pledge(company, workers=men + women, months=months, start=month)
        matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
        return pledge
    start = add_months(date.today().replace(day=1), -1)
    pledge = builders.paid_pledge(company, workers=men + women, months=months, start=start)
    db.session.add_all(
        [
            Coverage(
                worker_id=worker.id,
                month=add_months(start, k),
                funder=Funder.PLEDGE,
                amount=16_800,
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, worker in enumerate(people, 1)
            for k in range(months)
        ]
    )
    pledge.coverage_start = start
    transition_pledge(pledge, PledgeStatus.ACTIVE, None, note="test")
    return pledge


@pytest.fixture
def placed(actors):  # type: ignore[no-untyped-def]
    """Nine workers for three months: the 2 women and their kecamatan are groups to hide."""
    return placed_pledge(actors)


def _report(pledge):  # type: ignore[no-untyped-def]
    company = db.session.get(Company, pledge.company_id)
    return services.pledge_report(pledge, company.legal_name, today=pledge.last_month)


def test_report_figures_equal_a_recount_of_the_coverage_rows(app, placed):
    with app.test_request_context():
        report = _report(placed)
    rows = db.session.execute(
        select(Coverage.worker_id, Category.code, Kelurahan.kecamatan_code, Worker.sex)
        .join(Worker, Worker.id == Coverage.worker_id)
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(Coverage.pledge_id == placed.id)
    ).all()
    assert report.workers_covered == len({r.worker_id for r in rows}) == 9
    assert report.worker_months_delivered == len(rows) == 27
    assert report.worker_months_paid == 27
    assert Counter(r.kecamatan_code for r in rows) == Counter({"33.74.01": 21, "33.74.02": 6})
    assert report.money.paid == placed.price_total
    assert report.money.remaining == placed.price_total
    assert [p.workers for p in report.monthly] == [9, 9, 9]


def test_only_months_begun_so_far_count_as_delivered(app, placed):
    company = db.session.get(Company, placed.company_id)
    with app.test_request_context():
        report = services.pledge_report(placed, company.legal_name, today=placed.coverage_start)
    assert (report.worker_months_delivered, report.worker_months_paid) == (9, 27)
    assert [p.workers for p in report.monthly] == [9, 9, 9]  # the term: placed for every month
    assert report.workers_covered == 9  # placed for the whole term
    assert all(p.months == 3 for p in report.pseudonyms)


def test_a_large_group_shows_its_recount(actors, app):
    pledge = placed_pledge(actors, men=6, women=5, months=2)
    with app.test_request_context():
        report = _report(pledge)
    sexes = {row.key: (row.workers, row.worker_months) for row in report.breakdown("sex").rows}
    assert sexes == {"L": (6, 12), "P": (5, 10)}
    bands = {row.key: row.workers for row in report.breakdown("age_band").rows}
    assert bands == {"35_44": 6, "55_plus": 5}  # men born in 1990, women in 1965


def test_groups_under_five_workers_never_show_their_count(app, placed):
    with app.test_request_context():
        report = _report(placed)
    for breakdown in report.breakdowns:
        for row in breakdown.rows:
            assert row.workers == SMALL or row.workers >= 5
            assert (row.worker_months == SMALL) == (row.workers == SMALL)
    # The 2 women go into "Other", and so do the 7 men: 9 - 7 would give the women away. The
    # same split runs through every breakdown (kecamatan, category, age band).
    for breakdown in report.breakdowns:
        assert [(r.key, r.workers, r.worker_months) for r in breakdown.rows] == [(OTHER, 9, 27)], (
            breakdown.name
        )


def test_pseudonyms_are_stable_per_company_and_unlinkable_across_companies(app, placed):
    with app.test_request_context():
        report = _report(placed)
        worker_id = db.session.scalar(
            select(Coverage.worker_id).where(Coverage.pledge_id == placed.id).limit(1)
        )
        again = services.pseudonym(placed.company_id, worker_id)
        elsewhere = services.pseudonym(placed.company_id + 1, worker_id)
    names = [p.pseudonym for p in report.pseudonyms]
    assert len(names) == len(set(names)) == 9
    assert again in names and elsewhere not in names
    assert all(p.months == 3 for p in report.pseudonyms)
    assert all(name.startswith("PJS-") and len(name) == 13 for name in names)


def test_a_report_of_fewer_than_five_workers_hides_totals_and_list(actors, app):
    pledge = placed_pledge(actors, men=3, women=0, months=2)
    with app.test_request_context():
        report = _report(pledge)
    assert report.workers_covered == SMALL and report.worker_months_delivered == SMALL
    assert report.pseudonyms == ()
    assert [point.workers for point in report.monthly] == [SMALL, SMALL]


def test_claims_of_few_workers_are_hidden_with_their_amount(actors, app, placed):
    worker = db.session.scalar(
        select(Worker)
        .join(Coverage, Coverage.worker_id == Worker.id)
        .where(Coverage.pledge_id == placed.id)
        .limit(1)
    )
    record_claim(
        worker,
        placed.coverage_start.replace(day=3),
        "jkk",
        2_500_000,
        "",
        actors.staff,
        today=placed.coverage_start.replace(day=20),
    )
    with app.test_request_context():
        report = _report(placed)
    jkk = next(row for row in report.claims if row.kind == "jkk")
    assert (jkk.claims, jkk.amount) == (SMALL, None)
    jkm = next(row for row in report.claims if row.kind == "jkm")
    assert (jkm.claims, jkm.amount) == (0, 0)


def test_figures_are_recomputed_after_an_audited_change(actors, app, placed):
    with app.test_request_context():
        before = services.city_figures(placed.coverage_start)
        factories.worker()  # written without an audit event: the figures stay as they were
        assert services.city_figures(placed.coverage_start) is before
        matching.propose_run(placed.coverage_start, actors.staff)  # an audited step
        after = services.city_figures(placed.coverage_start)
    assert after is not before
    assert after.waiting == before.waiting + 1


def test_city_figures_compare_coverage_with_the_targets(app, placed):
    with app.test_request_context():
        figures = services.city_figures(placed.coverage_start)
    line = next(line for line in figures.funders if line.funder == "pledge")
    assert (line.covered, line.target) == (9, 9)
    assert figures.trend_months[-1] == placed.coverage_start
    assert dict(figures.trend)[line.label][-1] == 9
    assert figures.unplaced == ()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8))
def test_suppression_leaves_no_hidden_group_recoverable_from_the_total(sizes):
    groups = [RawGroup(str(n), str(n), size, size * 2) for n, size in enumerate(sizes)]
    rows = suppress_groups(groups)
    for group, row in zip(groups, rows, strict=True):
        if 0 < group.workers < 5:
            assert (row.workers, row.worker_months) == (SMALL, SMALL)
        elif row.workers != SMALL:
            assert (row.workers, row.worker_months) == (group.workers, group.worker_months)
    hidden = sum(1 for row in rows if row.workers == SMALL)
    visible = sum(
        1 for row, g in zip(rows, groups, strict=True) if row.workers != SMALL and g.workers > 0
    )
    assert hidden != 1 or visible == 0  # one hidden group next to shown ones = total minus rest


def test_a_change_committed_under_a_lower_id_is_still_noticed(actors, app):
    """Ids are handed out before commit: a slower transaction can commit under a lower id
    than one already read. The cache must still see it."""
    record_event("claim.record", actor=actors.staff)
    record_event("claim.record", actor=actors.staff)
    db.session.flush()
    late_id = db.session.scalar(select(func.max(AuditEvent.id))) - 1
    # Not committed yet, as far as readers can tell:
    db.session.execute(delete(AuditEvent).where(AuditEvent.id == late_id))
    computed = []
    with app.test_request_context():
        services.cached(("probe",), lambda: computed.append(1))
        services.cached(("probe",), lambda: computed.append(1))
        assert computed == [1]
        db.session.add(AuditEvent(id=late_id, action="claim.record", actor_label="late"))
        db.session.flush()
        services.cached(("probe",), lambda: computed.append(1))
    assert computed == [1, 1]


# The pledge is only read: one for every example is what the health check warns about, and
# what this test means.
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    first=st.dates(min_value=date(2024, 1, 1), max_value=date(2029, 12, 1)),
    length=st.integers(min_value=1, max_value=30),
)
def test_a_period_report_covers_exactly_the_months_asked(app, placed, first, length):
    """Across year boundaries and into the future: no month more, none less, in order."""
    first = first.replace(day=1)
    last = add_months(first, length - 1)
    company = db.session.get_one(Company, placed.company_id)
    with app.test_request_context():
        report = services.period_report(company.id, company.legal_name, first, last)
    assert [p.month for p in report.monthly] == [add_months(first, k) for k in range(length)]
    assert (report.first_month, report.last_month) == (first, last)
    covered = {add_months(placed.coverage_start, k) for k in range(placed.months)}
    for point in report.monthly:
        assert point.workers == (9 if point.month in covered else 0)


def test_january_to_june_next_year_is_reported_as_asked(actors, logged_in, placed):
    """The sponsor's period selector, end to end: the chart and the CSV name the months
    asked for, not the half year before them."""
    year = date.today().year + 1
    client = logged_in(actors.owner)
    query = {"from": f"{year}-01", "to": f"{year}-06"}
    csv_text = client.get("/reports/period.csv", query_string=query).get_data(as_text=True)
    months = [line.split(",")[1] for line in csv_text.splitlines() if line.startswith("monthly,")]
    assert months == [f"{year}-{m:02d}" for m in range(1, 7)]
    svg = client.get("/reports/period/charts/monthly.svg", query_string=query).get_data(
        as_text=True
    )
    assert f"{year}" in svg and f"{year - 1}" not in svg
