"""Steps the browser journeys share."""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests import factories


def submit(page: Page) -> None:
    page.locator('main form button[type="submit"]').click()


def log_in(page: Page, email: str, password: str = factories.PASSWORD) -> None:
    """Log in through the form and wait until the logged-in navigation shows."""
    page.goto("/auth/login")
    page.locator("#email").fill(email)
    page.locator("#password").fill(password)
    submit(page)
    expect(page).not_to_have_url(re.compile(r"/auth/login"))
    expect(page.locator('form[action$="/auth/logout"] button')).to_be_visible()
    # The navigation shows while the parser still waits for the page's scripts (Bootstrap's
    # menus among them): a click on a menu before they ran would open nothing.
    page.wait_for_load_state("load")
