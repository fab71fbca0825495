"""An admin opens the region's scheme from the grouped menu and sets the transfer account."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from tests import factories
from tests.e2e.steps import log_in, submit

pytestmark = pytest.mark.e2e


def test_admin_sets_the_regions_bank_account_from_the_menu(page: Page, live_db: Any) -> None:
    with live_db():
        admin_email = factories.user(Role.ADMIN).email
    log_in(page, admin_email)
    page.locator("#nav-admin").click()
    page.locator('.dropdown-menu a[href$="/admin/region"]').click()
    expect(page.locator("h1")).to_contain_text("Kota Semarang")
    page.locator("#bank_name").fill("Bank Jateng")
    page.locator("#bank_account_number").fill("2-077-00001-3")
    submit(page)
    expect(page.locator("main .alert-danger, main .invalid-feedback").first).to_be_visible()
    page.locator("#bank_account_name").fill("RKUD Kota Semarang")
    submit(page)
    expect(page.locator("main .alert-success")).to_be_visible()
    expect(page.locator("#bank_account_number")).to_have_value("2-077-00001-3")
