"""A national company's report: a section per region and the national total, read across
regions whatever the request's scope; the total never lets a region's hidden group be worked
out by subtracting the cells the regions show (the rule in portal/reports/figures.py)."""

from __future__ import annotations

import csv
import io
from collections import Counter
from datetime import date

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select

from portal.claims.models import ClaimKind
from portal.claims.queries import ClaimTotals, KindTotal
from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.pledges.models import Pledge
from portal.reference.models import Kelurahan
from portal.regions.models import SEMARANG, SEMARANG_REGULATION
from portal.regions.scope import all_regions, current_region, region_scope
from portal.regions.services import add_region
from portal.reports import documents, impact, national, services, tjsl, tjsl_documents
from portal.reports.figures import MIN_GROUP, SMALL, ImpactReport, Money, Shown
from portal.reports.queries import RegionName
from tests import factories
from tests.matching import builders

KUDUS = "33.19"
KUDUS_REGULATION = "Peraturan Bupati Kudus Nomor 7 Tahun 2026"
MONTH = date.today().replace(day=1)
SEMARANG_KELURAHAN = "33.74.01.1001"


@pytest.fixture
def company(app, actors):  # type: ignore[no-untyped-def]
    """The actors' company, sponsoring in Kota Semarang and (a region added) Kabupaten Kudus."""
    region = add_region(KUDUS)
    region.regulation = KUDUS_REGULATION
    db.session.flush()
    return actors.owner.company_id


def kelurahan_of(region: str) -> str:
    if region == SEMARANG:
        return SEMARANG_KELURAHAN
    return db.session.scalars(
        select(Kelurahan.code)
        .where(Kelurahan.code.startswith(region + "."))
        .order_by(Kelurahan.code)
    ).first()


def cover(company_id: int, region: str, counts: dict[str, int]) -> int:
    """Workers of each category covered this month by one pledge of the company in a region;
    made in that region, and nothing of it left in the session."""
    with region_scope(region):
        kelurahan = kelurahan_of(region)
        people = [
            factories.worker(kelurahan_code=kelurahan, category_code=category)
            for category, n in counts.items()
            for _ in range(n)
        ]
        company = db.session.get(Company, company_id)
        pledge = builders.paid_pledge(company, workers=len(people), months=1, start=MONTH)
        db.session.add_all(
            Coverage(
                worker_id=worker.id,
                month=MONTH,
                funder=Funder.PLEDGE,
                amount=16_800,
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, worker in enumerate(people, 1)
        )
        db.session.flush()
        pledge_id = pledge.id
    db.session.expunge_all()
    return pledge_id


def report_of(company_id: int) -> ImpactReport:
    return services.period_report(company_id, "PT Nasional", MONTH, MONTH, today=MONTH)


def workers_by_key(report: ImpactReport, name: str) -> dict[str, Shown]:
    return {row.key: row.workers for row in report.breakdown(name).rows}


def section(report: ImpactReport, code: str) -> ImpactReport:
    return next(s.report for s in report.regions if s.code == code)


def test_a_company_in_two_regions_gets_each_region_and_the_total(company):
    cover(company, SEMARANG, {"becak": 8, "nelayan": 6})
    cover(company, KUDUS, {"becak": 6, "nelayan": 5})
    assert current_region() == SEMARANG  # the request's scope; the report reads every region
    report = report_of(company)
    assert [(s.code, s.name, s.regulation) for s in report.regions] == [
        (KUDUS, "Kabupaten Kudus", KUDUS_REGULATION),
        (SEMARANG, "Kota Semarang", SEMARANG_REGULATION),
    ]
    semarang, kudus = section(report, SEMARANG), section(report, KUDUS)
    assert (semarang.workers_covered, kudus.workers_covered, report.workers_covered) == (14, 11, 25)
    assert workers_by_key(semarang, "category") == {"becak": 8, "nelayan": 6}
    assert workers_by_key(kudus, "category") == {"becak": 6, "nelayan": 5}
    assert workers_by_key(report, "category") == {"becak": 14, "nelayan": 11}
    assert set(workers_by_key(kudus, "kecamatan")) == {kelurahan_of(KUDUS)[:8]}
    assert workers_by_key(report, "kecamatan") == {
        SEMARANG_KELURAHAN[:8]: 14,
        kelurahan_of(KUDUS)[:8]: 11,
    }
    assert report.worker_months_paid == semarang.worker_months_paid + kudus.worker_months_paid
    assert report.money.paid == semarang.money.paid + kudus.money.paid > 0
    assert len(report.pseudonyms) == 25 and not report.held_back
    assert [p.workers for p in report.monthly] == [25]


def test_a_company_in_one_region_sees_one_report_without_a_total(company):
    cover(company, SEMARANG, {"becak": 8})
    report = report_of(company)
    assert report.regions == () and not report.national
    assert report.workers_covered == 8
    assert workers_by_key(report, "category") == {"becak": 8}


def test_a_small_region_cannot_be_recovered_from_the_total(company):
    """Differencing: 10 becak drivers in Semarang and 3 in Kudus must not show 13."""
    cover(company, SEMARANG, {"becak": 10})
    cover(company, KUDUS, {"becak": 3})
    report = report_of(company)
    kudus = section(report, KUDUS)
    assert kudus.workers_covered == SMALL and kudus.worker_months_delivered == SMALL
    assert workers_by_key(kudus, "category") == {"_other": SMALL}
    assert workers_by_key(report, "category")["becak"] == 10
    assert 13 not in workers_by_key(report, "category").values()
    assert report.workers_covered == 10 and report.held_back
    assert [p.workers for p in report.monthly] == [10]
    assert len(report.pseudonyms) == 10  # a list of 13 would count Kudus's workers too
    assert kudus.pseudonyms == ()


def test_two_small_regions_together_join_the_total(company):
    """Two hidden regions holding 5 or more (and not 4 each) join the total's "Other"."""
    add_region("33.24")  # Kabupaten Kendal
    cover(company, SEMARANG, {"becak": 10})
    cover(company, KUDUS, {"becak": 3})
    cover(company, "33.24", {"ojek": 2})
    report = report_of(company)
    assert [section(report, code).workers_covered for code in (KUDUS, "33.24")] == [SMALL, SMALL]
    assert report.workers_covered == 15 and not report.held_back
    assert workers_by_key(report, "category") == {"becak": 10, "_other": 5}


def test_the_documents_render_both_regions(company, app):
    cover(company, SEMARANG, {"becak": 8, "nelayan": 6})
    cover(company, KUDUS, {"becak": 3})
    report = report_of(company)
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        pdf = documents.report_pdf(report)
        book = load_workbook(io.BytesIO(documents.report_xlsx(report)), read_only=True)
        rows = list(csv.DictReader(io.StringIO(documents.report_csv(report).decode("utf-8-sig"))))
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "Kabupaten Kudus" in text and "Kota Semarang" in text
    assert KUDUS_REGULATION in text and SEMARANG_REGULATION in text
    regions = [tuple(r) for r in book["Regions"].iter_rows(min_row=2, values_only=True)]
    assert [r[:2] for r in regions] == [
        (KUDUS, "Kabupaten Kudus"),
        (SEMARANG, "Kota Semarang"),
        (None, "All regions"),
    ]
    assert [r[3] for r in regions] == [SMALL, 14, 14]
    codes = {r[0] for r in book["Region breakdowns"].iter_rows(min_row=2, values_only=True)}
    assert codes == {KUDUS, SEMARANG}
    total = {r["key"]: r["workers"] for r in rows if r["section"] == "category" and not r["region"]}
    kudus = {
        r["key"]: r["workers"] for r in rows if r["section"] == "category" and r["region"] == KUDUS
    }
    assert total == {"becak": "8", "nelayan": "6", "_other": SMALL} and kudus == {"_other": SMALL}


def test_the_tjsl_year_shows_each_region(company, app):
    cover(company, SEMARANG, {"becak": 8})
    cover(company, KUDUS, {"becak": 6})
    owner = db.session.get(Company, company)
    with app.test_request_context(headers={"Cookie": "lang=en"}):
        year = tjsl.tjsl_year(owner, MONTH.year, today=MONTH)
        book = load_workbook(io.BytesIO(tjsl_documents.tjsl_xlsx(year)), read_only=True)
        pdf = tjsl_documents.tjsl_pdf(year)
    assert [r.code for r in year.regions] == [KUDUS, SEMARANG]
    assert year.plan == sum(r.plan for r in year.regions) > 0
    assert year.report.workers_covered == 14
    plan = [tuple(r) for r in book["Plan by region"].iter_rows(min_row=2, values_only=True)]
    assert [r[1] for r in plan] == ["Kabupaten Kudus", "Kota Semarang", "All regions"]
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert KUDUS_REGULATION in text and SEMARANG_REGULATION in text


def test_the_sponsor_page_shows_each_region(company, actors, logged_in):
    cover(company, SEMARANG, {"becak": 8})
    cover(company, KUDUS, {"becak": 3})
    page = logged_in(actors.owner).get(f"/reports?from={MONTH:%Y-%m}&to={MONTH:%Y-%m}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert 'id="region-33-19"' in html and 'id="region-33-74"' in html
    assert KUDUS_REGULATION in html
    assert '<tr data-region="33.19">' in html


# --- the rule itself, over random small counts ---------------------------------------------

GROUPS = ("becak", "nelayan", "ojek")
REGIONS = ("33.19", "33.24", "33.74")
counts = st.lists(
    st.tuples(*(st.integers(0, 9) for _ in GROUPS), st.integers(0, 7)), min_size=2, max_size=3
)


def _part(code: str, n: int, row: tuple[int, ...], today: date) -> national.RegionPart:
    """A region's figures made without the database: row = workers per group, then the
    workers with a JKK claim."""
    people: dict[int, impact.Person] = {}
    for group, workers in zip(GROUPS, row, strict=False):
        for _ in range(workers):
            people[len(people) + 1000 * n] = impact.Person(group, f"{code}.01", "L", "25_34")
    figures = impact.Figures(
        workers=people,
        months={worker: [today] for worker in people},
        delivered=len(people),
        per_month=Counter({today: len(people)}),
    )
    names = impact.Names({g: g for g in GROUPS}, {f"{code}.01": code})
    claimants = min(row[-1], len(people))
    claims = ClaimTotals(
        {
            kind.value: KindTotal(claimants, claimants, claimants * 1_000_000)
            if kind == ClaimKind.JKK
            else KindTotal()
            for kind in ClaimKind
        }
    )
    heading = impact.Heading(
        "period", "t", 1, "PT", None, today, today, today, len(people), Money(0, 0, 0), ""
    )
    report = impact.build(heading, figures, names, claims)
    return national.RegionPart(RegionName(code, code, ""), figures, names, claims, report)


def _leftover(total: Shown, shown: list[Shown], hidden: list[int]) -> None:
    """Total minus the regions' shown cells is 0, or hidden cells of two regions or more that
    hold MIN_GROUP workers and not MIN_GROUP - 1 each."""
    if not isinstance(total, int):
        return
    left = total - sum(v for v in shown if isinstance(v, int))
    if left:
        assert len(hidden) >= 2, (total, shown, hidden)
        assert left == sum(hidden) and left >= MIN_GROUP and left != (MIN_GROUP - 1) * len(hidden)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(regions=counts)
def test_no_hidden_cell_is_recoverable_from_the_total(app, regions):
    with app.test_request_context():
        parts = [_part(REGIONS[n], n, row, MONTH) for n, row in enumerate(regions)]
        report = national.national_report(
            impact.Heading(
                "period", "t", 1, "PT", None, MONTH, MONTH, MONTH, 0, Money(0, 0, 0), ""
            ),
            parts,
        )
    own = [p.report for p in parts]
    covered = [p.figures.covered for p in parts]
    hidden = [n for r, n in zip(own, covered, strict=True) if r.workers_covered == SMALL]
    _leftover(report.workers_covered, [r.workers_covered for r in own], hidden)
    _leftover(report.monthly[0].workers, [r.monthly[0].workers for r in own], hidden)
    for row in report.breakdown("category").rows:
        shown = [
            next((x.workers for x in r.breakdown("category").rows if x.key == row.key), 0)
            for r in own
        ]
        if not row.other:
            assert row.workers == sum(shown)  # a group's total is its shown cells only
        else:
            _leftover(row.workers, shown, hidden)
    claimants = [min(row[-1], p.figures.covered) for row, p in zip(regions, parts, strict=True)]
    index = list(ClaimKind).index(ClaimKind.JKK)
    jkk = [r.claims[index] for r in own]
    _leftover(
        report.claims[index].claims,
        [c.claims for c in jkk],
        [n for c, n in zip(jkk, claimants, strict=True) if c.claims == SMALL],
    )
    # and the total is right whenever nothing was held back
    if not report.held_back:
        assert report.workers_covered == sum(covered)


def test_a_pledges_report_is_read_in_the_pledges_region(company):
    pledge_id = cover(company, KUDUS, {"becak": 6})
    with all_regions():
        pledge = db.session.get(Pledge, pledge_id)
    report = services.pledge_report(pledge, "PT Nasional", today=MONTH)
    assert current_region() == SEMARANG
    assert report.workers_covered == 6 and report.regions == ()
    assert set(workers_by_key(report, "kecamatan")) == {kelurahan_of(KUDUS)[:8]}
