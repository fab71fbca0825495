"""Staff proposes next month's run, reviews and approves it, closes the month and marks it
remitted; the sponsor sees the placement and the certificate a visitor can verify."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.auth.models import Role
from portal.pledges.services import earliest_start
from tests import factories
from tests.e2e.steps import log_in
from tests.matching import builders

pytestmark = pytest.mark.e2e

# Enough fishers that this pledge fills even when other journeys left paid pledges waiting.
FISHERS = 8


def _seed_paid_pledge(live_db: Any) -> dict[str, Any]:
    """A staff member, and a verified company whose pledge for 2 fishers x 3 months is paid;
    city quotas off so the waiting workers go to pledges."""
    with live_db():
        builders.rules(city_quotas={})
        for _ in range(FISHERS):
            factories.worker(category_code="nelayan", kelurahan_code="33.74.02.1001")
        company = builders.sponsor("PT Bandeng Juwana Elrina")
        pledge = builders.paid_pledge(
            company, workers=2, months=3, start=earliest_start(), categories=("nelayan",)
        )
        return {
            "staff": factories.user(Role.STAFF).email,
            "pledge": pledge.id,
            "owner": factories.user(Role.SPONSOR_OWNER, company=company).email,
        }


def _log_out(page: Page) -> None:
    page.locator('form[action$="/auth/logout"] button').click()
    expect(page.locator('nav a[href$="/auth/login"]')).to_be_visible()


def test_staff_proposes_and_approves_and_the_sponsor_sees_counts(page: Page, live_db: Any) -> None:
    seeded = _seed_paid_pledge(live_db)
    pledge_row = f'#pledges tr[data-pledge="{seeded["pledge"]}"]'

    log_in(page, seeded["staff"])
    page.goto("/matching/")
    expect(page.locator("#month")).to_have_value(earliest_start().isoformat())
    page.locator("#propose").click()
    expect(page).to_have_url(re.compile(r"/matching/runs/\d+$"))
    expect(page.locator('h1 [data-status="proposed"]')).to_be_visible()
    expect(page.locator(f'{pledge_row} [data-count="placed"]')).to_have_text("2")
    expect(page.locator(f'{pledge_row} [data-count="unfilled"]')).to_have_text("0")
    expect(page.locator(pledge_row)).to_contain_text("PT Bandeng Juwana Elrina")

    dialogs: list[str] = []

    def accept(dialog: Any) -> None:
        dialogs.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    page.locator("#approve").click()
    # Approval runs as a job: the page refreshes itself until the worker wrote the coverage.
    expect(page.locator('h1 [data-status="approved"]')).to_be_visible(timeout=15_000)
    expect(page.locator("#approve")).to_have_count(0)
    assert len(dialogs) == 1

    # The month is closed and the sponsors' share remitted to BPJS TK, from the browser.
    page.goto(f"/coverage/months/{earliest_start():%Y-%m}")
    page.once("dialog", accept)
    page.locator("#close-month").click()
    expect(page.locator("#month-status")).to_have_attribute("data-closed", "yes")
    page.locator("#reference-csr").fill("TRF-CSR-0001")
    page.once("dialog", accept)
    page.locator('form[action$="/remittance/csr"] button').click()
    expect(page.locator("#remittances")).to_contain_text("TRF-CSR-0001")
    assert len(dialogs) == 3
    _log_out(page)

    log_in(page, seeded["owner"])
    page.goto(f"/pledges/{seeded['pledge']}")
    expect(page.locator('h1 [data-status="active"]')).to_be_visible()
    expect(page.locator('[data-count="workers-placed"]')).to_have_text("<5")  # a small group
    expect(page.locator('[data-count="paid-months"]')).to_have_text("6")
    expect(page.locator("#placed-by-category")).to_contain_text("Nelayan")
    expect(page.locator("#placed-by-kecamatan")).to_contain_text("Semarang Utara")
    expect(page.locator("main")).not_to_contain_text("Pekerja Uji")  # workers' names never show

    # The certificate issued at approval: the sponsor downloads it, and a stranger who scans
    # its QR code (the verify link) sees that it is valid.
    certificate = page.locator("#certificates a[data-serial]").first
    serial = certificate.get_attribute("data-serial")
    with page.expect_download() as download:
        certificate.click()
    assert download.value.suggested_filename == f"{serial}.pdf"
    verify_url = page.locator("#certificates a[href*='/verify/']").first.get_attribute("href")

    # The impact report: two workers are a small group, so the page and the PDF say "<5".
    page.locator("#impact-report").click()
    expect(page.locator('[data-figure="workers"]')).to_have_text("<5")
    expect(page.locator("#breakdown-sex svg")).to_be_visible()
    with page.expect_download() as report:
        page.locator("#report-pdf").click()
    assert report.value.suggested_filename == f"pijar-semar-pledge-{seeded['pledge']}.pdf"
    text = "".join(p.extract_text() for p in PdfReader(report.value.path()).pages)
    assert "PT Bandeng Juwana Elrina" in text and "<5" in text
    _log_out(page)
    page.goto(verify_url)
    expect(page.locator("#verdict")).to_have_attribute("data-status", "valid")
    expect(page.locator("main")).to_contain_text("PT Bandeng Juwana Elrina")
