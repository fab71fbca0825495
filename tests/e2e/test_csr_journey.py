"""A CSR manager's journey: a member drafts a pledge, the owner approves it and pays by card, the
month is matched, and the sponsor finds it on the home page, downloads the TJSL export and
renews. (It runs before the matching journey, which closes the month it matches.)"""

from __future__ import annotations

import re
from typing import Any

import pytest
from openpyxl import load_workbook
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from portal.pledges.services import earliest_start
from tests import factories
from tests.e2e.steps import log_in
from tests.matching import builders

pytestmark = pytest.mark.e2e

COMPANY = "PT Lumpia Gang Lombok Elrina"


def _seed(live_db: Any) -> dict[str, str]:
    with live_db():
        builders.rules(city_quotas={})
        for _ in range(6):
            factories.worker(category_code="pkl", kelurahan_code="33.74.01.1001")
        company = factories.company(legal_name=COMPANY, verified=True)
        return {
            "owner": factories.user(Role.SPONSOR_OWNER, company=company).email,
            "member": factories.user(Role.SPONSOR_MEMBER, company=company).email,
            "staff": factories.user(Role.STAFF).email,
        }


def _log_out(page: Page) -> None:
    page.locator('form[action$="/auth/logout"] button').click()
    expect(page.locator('nav a[href$="/auth/login"]')).to_be_visible()


def test_member_drafts_owner_approves_and_pays_then_downloads_tjsl_and_renews(
    page: Page, live_db: Any, tmp_path: Any
) -> None:
    people = _seed(live_db)
    accept = lambda dialog: dialog.accept()  # noqa: E731 - the confirm() of destructive steps

    # The owner turns the approval rule on.
    log_in(page, people["owner"])
    expect(page).to_have_url(re.compile(r"/company/home$"))  # sponsors land on their home
    page.goto("/pledges/approvals")
    page.locator("#approval_required").check()
    page.locator("#save-policy").click()
    _log_out(page)

    # A member drafts 2 workers for 1 month and asks the owners.
    log_in(page, people["member"])
    page.goto("/pledges/new")
    page.locator("#workers").fill("2")
    page.locator("#months").fill("1")
    page.locator("#save").click()
    expect(page.locator("#submit-pledge")).to_have_attribute("data-step", "ask")
    page.locator("#submit-pledge").click()
    expect(page.locator('[data-status="awaiting_approval"]')).to_be_visible()
    pledge_url = page.url
    _log_out(page)

    # The owner sees it as the next action, approves it and pays by card.
    log_in(page, people["owner"])
    page.locator('#next-actions [data-action="approve"]').click()
    page.locator("#approve-pledge").click()
    expect(page.locator('[data-status="awaiting_payment"]')).to_be_visible()
    expect(page.locator("#approved-by")).to_be_visible()
    page.locator("#pay-card").click()
    page.locator("#pay").click()
    expect(page.locator("#payment-confirmed")).to_be_visible()
    _log_out(page)

    # Staff match the month the pledge starts.
    log_in(page, people["staff"])
    page.goto("/matching/")
    expect(page.locator("#month")).to_have_value(earliest_start().isoformat())
    page.locator("#propose").click()
    expect(page.locator('h1 [data-status="proposed"]')).to_be_visible(timeout=15_000)
    page.once("dialog", accept)
    page.locator("#approve").click()
    expect(page.locator('h1 [data-status="approved"]')).to_be_visible(timeout=15_000)
    _log_out(page)

    # The owner: home shows the covered pledge; the TJSL export of this year opens; renew.
    log_in(page, people["owner"])
    expect(page.locator("#ending")).to_contain_text("#")
    page.goto("/reports")
    with page.expect_download() as download:
        page.locator('#tjsl-years a[href$=".xlsx"]').first.click()
    saved = tmp_path / "tjsl.xlsx"
    download.value.save_as(saved)
    book = load_workbook(saved, read_only=True)
    text = " ".join(
        str(cell) for sheet in book for row in sheet.iter_rows(values_only=True) for cell in row
    )
    assert COMPANY in text and "8.8" in text
    page.goto(pledge_url)
    expect(page.locator('[data-status="active"]')).to_be_visible()
    page.locator("#renew-pledge").click()
    expect(page.locator('[data-status="draft"]')).to_be_visible()
    expect(page.locator("#renews")).to_contain_text("#")
    assert page.url != pledge_url
