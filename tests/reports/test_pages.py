"""Report and dashboard pages: who reaches what, downloads in every format, the landing page."""

from __future__ import annotations

from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from portal.companies.models import Company
from portal.extensions import db
from tests.reports.test_reports import placed_pledge

REPORT_URLS = (
    "/reports/pledges/{id}",
    "/reports/pledges/{id}.pdf",
    "/reports/pledges/{id}.csv",
    "/reports/pledges/{id}.xlsx",
    "/reports/pledges/{id}/charts/sex.svg",
    "/reports/pledges/{id}/charts/monthly.svg",
)


@pytest.fixture
def placed(actors):  # type: ignore[no-untyped-def]
    """Nine workers covered since last month, for three months."""
    return placed_pledge(actors, running=True)


@pytest.mark.parametrize("url", REPORT_URLS)
def test_another_companys_report_is_not_found(logged_in, actors, placed, url):
    client = logged_in(actors.other_owner)
    assert client.get(url.format(id=placed.id)).status_code == 404


@pytest.mark.parametrize("url", REPORT_URLS)
def test_the_company_and_staff_reach_the_report(logged_in, actors, placed, url):
    for user in (actors.member, actors.staff, actors.auditor):
        assert logged_in(user).get(url.format(id=placed.id)).status_code == 200, user.role


def test_report_page_shows_figures_and_hides_small_groups(logged_in, actors, placed):
    page = logged_in(actors.owner).get(f"/reports/pledges/{placed.id}").get_data(as_text=True)
    assert 'data-figure="workers">9<' in page
    assert 'data-figure="worker-months">18 / 27<' in page  # last month and this one
    assert "<svg" in page and "PJS-" in page
    # 7 men and 2 women: one "Other" row of 9 in each breakdown, never a row of 2 or 7.
    for name in ("category", "kecamatan", "sex", "age_band"):
        section = page.split(f'id="breakdown-{name}"')[1].split("</section>")[0]
        rows = section.split("<tbody>")[1]
        assert rows.count("<tr") == 1 and 'data-other="1"' in rows, name
        assert '<td class="text-end">9</td>' in rows
    note = page.split('id="small-groups-note">')[1].split("</p>")[0]
    assert '"Other"' in note and "&#34;&lt;5&#34;" in note  # "<5" escaped, not raw markup


def test_downloads_carry_the_suppressed_figures(logged_in, actors, placed):
    client = logged_in(actors.owner)
    company = db.session.get(Company, placed.company_id)
    pdf = client.get(f"/reports/pledges/{placed.id}.pdf")
    assert pdf.mimetype == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(pdf.data)).pages)
    assert company.legal_name in text and "<5" in text
    csv = client.get(f"/reports/pledges/{placed.id}.csv").data.decode("utf-8-sig")
    assert "<5" in csv and company.legal_name in csv
    book = load_workbook(BytesIO(client.get(f"/reports/pledges/{placed.id}.xlsx").data))
    rows = list(book["Breakdowns"].iter_rows(values_only=True))
    assert not [row for row in rows if row[1] in ("L", "P")]
    assert [row[1:] for row in rows if row[0] == "By sex"] == [("_other", "Other", 9, 27)]
    cells = {cell for row in rows for cell in row}
    assert not cells & {2, 6, 7, 21}  # the 2 women, their 6 months, the 7 men, their 21


def test_unknown_format_or_chart_is_not_found(logged_in, actors, placed):
    client = logged_in(actors.owner)
    assert client.get(f"/reports/pledges/{placed.id}.doc").status_code == 404
    assert client.get(f"/reports/pledges/{placed.id}/charts/nik.svg").status_code == 404


def test_sponsor_dashboard_and_period_downloads(logged_in, actors, placed):
    client = logged_in(actors.owner)
    month = f"{placed.coverage_start:%Y-%m}"
    page = client.get(f"/reports?from={month}&to={month}")
    assert page.status_code == 200
    assert f'href="/reports/pledges/{placed.id}"' in page.get_data(as_text=True)
    for fmt in ("pdf", "csv", "xlsx"):
        assert client.get(f"/reports/period.{fmt}?from={month}&to={month}").status_code == 200
    assert client.get("/reports?from=2026-13").status_code == 400


def test_staff_dashboard_is_for_city_roles_only(logged_in, actors, placed):
    for user in (actors.staff, actors.admin, actors.auditor):
        page = logged_in(user).get("/dashboard")
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert 'data-funder="pledge">9 <span class="fs-6 text-muted">/ 9<' in text
        assert "Waiting list: 0 eligible workers with no funder" in text
        assert "<svg" in text
    assert logged_in(actors.owner).get("/dashboard").status_code == 403
    assert logged_in(actors.staff).get("/reports").status_code == 403


def test_landing_page_shows_the_dashboards_figures(client, actors, placed):
    page = client.get("/").get_data(as_text=True)
    assert 'data-figure="covered">9<' in page and 'data-figure="pledge">9<' in page
    assert 'data-figure="sponsors">' in page
