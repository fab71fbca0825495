"""A verified sponsor pledges, pays on the sandbox checkout page and downloads the receipt."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from portal.auth.models import Role
from tests import factories
from tests.e2e.steps import log_in

pytestmark = pytest.mark.e2e


def test_sponsor_pledges_pays_by_card_and_downloads_the_receipt(
    page: Page, live_db: Any, tmp_path: Any
) -> None:
    with live_db():
        company = factories.company(legal_name="PT Bandeng Presto Juwana", verified=True)
        owner_email = factories.user(Role.SPONSOR_OWNER, company=company).email
    log_in(page, owner_email)
    page.goto("/pledges/new")
    page.locator("#workers").fill("4")
    page.locator("#months").fill("3")
    page.locator("#preview").click()
    expect(page.locator("#price-preview #total")).to_contain_text("201")  # 4 x 3 x 16.800
    page.locator("#save").click()
    page.locator("#submit-pledge").click()
    expect(page.locator('[data-status="awaiting_payment"]')).to_be_visible()

    page.locator("#pay-card").click()
    expect(page.get_by_text("SANDBOX").first).to_be_visible()
    expect(page.locator("body")).to_contain_text("Rp201.600")
    page.locator("#pay").click()
    expect(page.locator("#payment-confirmed")).to_be_visible()

    page.locator("main a.btn-primary").click()
    expect(page.locator('[data-status="paid"]')).to_be_visible()
    with page.expect_download() as download_info:
        page.locator('#documents a[data-kind="receipt"]').click()
    path = tmp_path / "receipt.pdf"
    download_info.value.save_as(path)
    text = "".join(p.extract_text() for p in PdfReader(path).pages)
    assert "LUNAS" in text and "PT Bandeng Presto Juwana" in text
    assert "201.600" in text
