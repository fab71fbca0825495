"""The TJSL / sustainability export of a year (XLSX, PDF) and the statement of CSR spending:
the period report's figures, plan against realised by year, no tax claim, serials, access."""

from __future__ import annotations

import re
from datetime import date
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.certificates.models import CertificateKind
from portal.certificates.services import issue_certificate
from portal.claims import stories
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.payments.documents import issue_document
from portal.payments.models import DocumentKind, Payment
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, term_rates
from portal.pledges.services import transition_pledge
from portal.reports import services, tjsl
from portal.reports.figures import OTHER, SMALL
from portal.reports.models import TjslStatement
from tests import factories
from tests.conftest import csrf_token
from tests.coverage import helpers
from tests.matching import builders

YEAR = date.today().year - 1
START = date(YEAR, 10, 1)  # October to January: three months this year, one the next
STORY = "A fisher's family received the death benefit within two weeks."
EVIL = '=HYPERLINK("http://x","y")'
NO_TAX_CLAIM = re.compile(r"\btax|pajak|deduct|pengurang", re.I)
XLSX_SHEETS = [
    "Summary",
    "Realised by month",
    "Beneficiaries",
    "Claims",
    "SDGs",
    "Certificates",
    "Stories",
    "Method",
]


@pytest.fixture
def filed(actors):  # type: ignore[no-untyped-def]
    """Six men and two women covered October-January, October and November closed, a
    certificate and a receipt, five JKK claims and one JKM with an approved story."""
    company = db.session.get_one(Company, actors.owner.company_id)
    pledge = builders.paid_pledge(company, workers=8, months=4, start=START)
    men = [factories.worker(birth_date=date(1980, 1, 1 + n)) for n in range(6)]
    women = [
        factories.worker(
            female=True,
            kelurahan_code="33.74.02.1001",
            category_code="nelayan",
            birth_date=date(1965, 2, 1 + n),
        )
        for n in range(2)
    ]
    rates = term_rates(pledge)
    db.session.add_all(
        [
            Coverage(
                worker_id=worker.id,
                month=add_months(START, k),
                funder=Funder.PLEDGE,
                amount=rates[k],
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, worker in enumerate(men + women, 1)
            for k in range(4)
        ]
    )
    pledge.coverage_start = START
    transition_pledge(pledge, PledgeStatus.ACTIVE, None, note="test")
    db.session.flush()
    payment = db.session.scalars(select(Payment).where(Payment.pledge_id == pledge.id)).one()
    issue_document(DocumentKind.RECEIPT, payment)
    issue_certificate(pledge, CertificateKind.ACTIVE, actors.staff)
    for n, man in enumerate(men[:5]):
        record_claim(man, date(YEAR, 11, 2 + n), "jkk", 1_000_000 * (n + 1), "", actors.staff)
    death = record_claim(women[0], date(YEAR, 12, 5), "jkm", 42_000_000, "", actors.staff)
    stories.update_story(death, STORY, actors.staff)
    stories.approve_story(death, actors.staff)
    for month in (START, add_months(START, 1)):
        close_month(month, actors.staff)
    db.session.commit()
    return pledge


def _rates_in(pledge: Pledge, year: int) -> int:
    return sum(r for k, r in enumerate(term_rates(pledge)) if add_months(START, k).year == year)


def _sheet(book, name):  # type: ignore[no-untyped-def]
    return list(book[name].iter_rows(values_only=True))


def _pdf_text(data: bytes) -> str:
    return " ".join(" ".join(p.extract_text() for p in PdfReader(BytesIO(data)).pages).split())


def test_plan_and_realised_are_split_by_year(app, actors, filed):
    company = db.session.get_one(Company, filed.company_id)
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        year = tjsl.tjsl_year(company, YEAR)
        next_year = tjsl.tjsl_year(company, YEAR + 1)
    assert year.plan == 8 * _rates_in(filed, YEAR)
    closed = db.session.scalar(
        select(func.sum(Coverage.amount)).where(
            Coverage.pledge_id == filed.id, Coverage.month < add_months(START, 2)
        )
    )
    assert year.realised == closed == 8 * sum(term_rates(filed)[:2])  # October and November
    assert year.realised_by_month == (
        (START, 8 * term_rates(filed)[0]),
        (add_months(START, 1), 8 * term_rates(filed)[1]),
    )
    assert year.realised_through == add_months(START, 1)
    assert year.not_realised == year.plan - year.realised > 0
    assert year.report.worker_months_paid == 24 and next_year.report.worker_months_paid == 8
    assert (next_year.plan, next_year.realised) == (8 * _rates_in(filed, YEAR + 1), 0)
    assert year.receipts and year.receipts[0].startswith("KWT/")
    assert [c.pledge_id for c in year.certificates] == [filed.id]


def test_the_export_shows_the_period_reports_figures(logged_in, actors, filed):
    client = logged_in(actors.owner)
    book = load_workbook(BytesIO(client.get(f"/reports/tjsl/{YEAR}.xlsx").data))
    period = load_workbook(
        BytesIO(client.get(f"/reports/period.xlsx?from={YEAR}-01&to={YEAR}-12").data)
    )
    assert _sheet(book, "Beneficiaries")[1:] == _sheet(period, "Breakdowns")[1:]
    assert _sheet(book, "Claims")[1:3] == _sheet(period, "Claims")[1:3]
    ours = {row[0]: row[2] for row in _sheet(book, "Summary")}
    theirs = {row[0]: row[2] for row in _sheet(period, "Summary")}
    for key in ("workers_covered", "worker_months_delivered", "worker_months_paid"):
        assert ours[key] == theirs[key], key
    assert (ours["workers_covered"], ours["worker_months_paid"]) == (8, 24)


def test_the_workbook_has_every_section(logged_in, actors, filed):
    company = db.session.get_one(Company, filed.company_id)
    company.legal_name = EVIL
    db.session.commit()
    book = load_workbook(BytesIO(logged_in(actors.member).get(f"/reports/tjsl/{YEAR}.xlsx").data))
    assert book.sheetnames == XLSX_SHEETS
    summary = {row[0]: row[2] for row in _sheet(book, "Summary")}
    assert summary["company"] == "'" + EVIL
    assert summary["regulation"] == "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025"
    assert summary["year"] == YEAR
    assert summary["plan"] == 8 * _rates_in(filed, YEAR)
    assert summary["realised"] == 8 * sum(term_rates(filed)[:2])
    assert summary["realised_through"] == f"{YEAR}-11"
    assert summary["receipts"].startswith("KWT/") and summary["pledges"] == f"#{filed.id}"
    months = _sheet(book, "Realised by month")[1:]
    assert [row[0] for row in months] == [f"{YEAR}-10", f"{YEAR}-11"]
    beneficiaries = _sheet(book, "Beneficiaries")[1:]
    by_sex = [row[1:] for row in beneficiaries if row[0] == "By sex"]
    assert by_sex == [(OTHER, "Other", 8, 24)]  # 6 men and 2 women: never 2 on its own
    assert not {2, 6} & {cell for row in beneficiaries for cell in row[3:]}
    claims = {row[0]: row for row in _sheet(book, "Claims")}
    assert claims["jkk"][2:] == (5, 15_000_000)
    assert claims["jkm"][2:] == (SMALL, "—")  # one death: hidden with its amount
    assert "Rp42,000,000" in claims["note"][1]
    assert [row[0] for row in _sheet(book, "SDGs")[1:]] == ["1.3", "8.8"]
    certificates = _sheet(book, "Certificates")[1:]
    assert len(certificates) == 1 and certificates[0][0].startswith("PJS-")
    assert _sheet(book, "Stories")[1][3] == STORY
    method = {row[0] for row in _sheet(book, "Method")[1:]}
    assert {"source", "plan", "realised", "beneficiaries", "small_groups"} <= method
    assert all(
        cell.data_type != "f"
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
    )


def test_the_pdf_opens_with_every_section(logged_in, actors, filed):
    response = logged_in(actors.owner).get(f"/reports/tjsl/{YEAR}.pdf")
    assert response.mimetype == "application/pdf"
    assert f'filename="pijar-semar-tjsl-{YEAR}.pdf"' in response.headers["Content-Disposition"]
    text = _pdf_text(response.data)
    for heading in (
        f"TJSL and sustainability report {YEAR}",
        "Legal basis and programme",
        "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025",
        "Plan and realisation",
        "Beneficiaries",
        "Claims and benefits paid",
        "Rp42,000,000",
        "Sustainable Development Goals served",
        "SDG target 1.3",
        "SDG target 8.8",
        "Certificates",
        "Stories from covered workers",
        STORY,
        "Method",
    ):
        assert heading in text, heading
    assert db.session.get_one(Company, filed.company_id).legal_name in text


def _issue(client, year: int = YEAR):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/reports")
    return client.post(f"/reports/tjsl/{year}/statement", data={"csrf_token": token})


def _statements() -> list[TjslStatement]:
    return list(db.session.scalars(select(TjslStatement).order_by(TjslStatement.id)))


def test_a_statement_has_a_unique_serial_and_keeps_its_figures(logged_in, actors, filed):
    owner = logged_in(actors.owner)
    assert _issue(owner).status_code == 302
    assert _issue(logged_in(actors.member)).status_code == 302  # same figures: same statement
    (first,) = _statements()
    assert re.fullmatch(rf"TJSL/{YEAR}/\d{{6}}", first.serial)
    assert first.realised_amount == 8 * sum(term_rates(filed)[:2])
    close_month(add_months(START, 2), actors.staff)  # December: the year's figures move
    db.session.commit()
    _issue(owner)
    old, new = _statements()
    assert old.serial == first.serial and new.serial != old.serial
    assert new.realised_amount == 8 * sum(term_rates(filed)[:3]) > old.realised_amount
    pdf = owner.get(f"/reports/tjsl/statements/{old.id}.pdf")
    assert pdf.mimetype == "application/pdf"
    text = _pdf_text(pdf.data)
    assert "BUKTI REALISASI TJSL" in text and old.serial in text
    assert old.company_name in text and "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025" in text
    assert f"Rp{old.realised_amount:,}".replace(",", ".") in text  # the figures of its day
    page = owner.get("/reports").get_data(as_text=True)
    assert old.serial in page and new.serial in page and 'id="tjsl"' in page


def test_no_statement_without_a_closed_month(logged_in, actors, filed):
    client = logged_in(actors.owner)
    response = _issue(client, YEAR + 1)  # January is not closed
    assert response.status_code == 302
    assert _statements() == []
    page = client.get("/reports").get_data(as_text=True)
    assert f"No month of {YEAR + 1} is closed" in page


def test_nothing_calls_the_contribution_tax_deductible(logged_in, actors, filed):
    client = logged_in(actors.owner)
    _issue(client)
    (statement,) = _statements()
    book = load_workbook(BytesIO(client.get(f"/reports/tjsl/{YEAR}.xlsx").data))
    cells = " ".join(
        str(cell)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for cell in row
    )
    assert "TJSL" in cells and not NO_TAX_CLAIM.search(cells)
    assert not NO_TAX_CLAIM.search(_pdf_text(client.get(f"/reports/tjsl/{YEAR}.pdf").data))
    statement_text = _pdf_text(client.get(f"/reports/tjsl/statements/{statement.id}.pdf").data)
    assert "Realisasi" in statement_text and not NO_TAX_CLAIM.search(statement_text)
    section = client.get("/reports").get_data(as_text=True).split('id="tjsl"')[1]
    assert not NO_TAX_CLAIM.search(section)


def test_another_company_sees_none_of_it(logged_in, actors, filed):
    _issue(logged_in(actors.owner))
    (statement,) = _statements()
    other = logged_in(actors.other_owner)
    assert other.get(f"/reports/tjsl/statements/{statement.id}.pdf").status_code == 404
    book = load_workbook(BytesIO(other.get(f"/reports/tjsl/{YEAR}.xlsx").data))
    summary = {row[0]: row[2] for row in _sheet(book, "Summary")}
    assert summary["company"] == "PT Lain Sekali"
    assert (summary["plan"], summary["realised"], summary["workers_covered"]) == (0, 0, 0)
    assert _sheet(book, "Stories")[1:] == [] and _sheet(book, "Certificates")[1:] == []
    text = _pdf_text(other.get(f"/reports/tjsl/{YEAR}.pdf").data)
    assert STORY not in text and statement.serial not in text
    assert _issue(other).status_code == 302 and len(_statements()) == 1  # nothing to state
    for user in (actors.staff, actors.auditor):
        assert logged_in(user).get(f"/reports/tjsl/{YEAR}.xlsx").status_code == 403


def test_years_outside_the_reach_are_not_found(logged_in, actors):
    client = logged_in(actors.owner)
    assert client.get(f"/reports/tjsl/{date.today().year + 1}.pdf").status_code == 404
    assert client.get("/reports/tjsl/1999.xlsx").status_code == 404
    assert client.get(f"/reports/tjsl/{date.today().year}.xlsx").status_code == 200


def test_a_period_report_counts_the_paid_months_at_both_ends(app, actors):
    month = date.today().replace(day=1)
    pledge, _ = helpers.covered_pledge(
        3, 2, month, company=db.session.get(Company, actors.owner.company_id)
    )
    with app.test_request_context():
        one = services.period_report(pledge.company_id, "x", month, month)
        both = services.period_report(pledge.company_id, "x", month, add_months(month, 1))
    assert (one.worker_months_paid, both.worker_months_paid) == (3, 6)


def test_the_page_offers_this_year_and_the_years_pledges_reached(logged_in, actors):
    company = db.session.get_one(Company, actors.owner.company_id)
    this_month = date.today().replace(day=1)
    helpers.covered_pledge(1, 3, add_months(this_month, -13), company=company)
    helpers.covered_pledge(1, 3, this_month, company=company)  # runs into next year
    db.session.commit()
    page = logged_in(actors.owner).get("/reports").get_data(as_text=True)
    years = re.findall(r'<tr data-year="(\d{4})">', page)
    today = date.today().year
    assert years == [str(today), str(add_months(this_month, -13).year)]
    assert f"/reports/tjsl/{today}.xlsx" in page and f"/reports/tjsl/{today + 1}" not in page
