"""A company signs up, staff verifies it, the owner logs in and sees the verified status.

Everything happens in a real Chromium against the live server. Selectors are field ids (the
WTForms field names), URLs and data attributes, so the journeys work in either language.
"""

from __future__ import annotations

import re
import secrets
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from portal.companies.identifiers import luhn_digit
from tests import factories
from tests.e2e.steps import log_in, submit

pytestmark = pytest.mark.e2e

OWNER_PASSWORD = "Kapal-Layar-Banjir-Kanal-77"


def _npwp() -> str:
    """A random 15-digit NPWP whose 9th digit is its Luhn check digit."""
    first = f"7{secrets.randbelow(10**7):07d}"
    return f"{first}{luhn_digit(first)}{secrets.randbelow(10**6):06d}"


def _company_details(**overrides: str) -> dict[str, str]:
    """Registration form values; NIB, NPWP and e-mail are unique within the live database."""
    tag = secrets.token_hex(3)
    values = {
        "legal_name": f"PT Jamu Sehat Lestari {tag.upper()}",
        "nib": f"8{secrets.randbelow(10**12):012d}",
        "npwp": _npwp(),
        "address": "Jl. Pemuda No. 150, Sekayu, Semarang Tengah",
        "sector": "manufacturing",
        "contact_name": "Sri Wahyuni",
        "contact_phone": "0812-2555-0199",
        "owner_email": f"sri.{tag}@jamusehat.example",
        "password": OWNER_PASSWORD,
        "confirm": OWNER_PASSWORD,
    }
    return values | overrides


def _fill_registration(page: Page, values: dict[str, str]) -> None:
    for name, value in values.items():
        if name == "sector":
            page.locator("#sector").select_option(value)
        else:
            page.locator(f"#{name}").fill(value)


def _log_out(page: Page) -> None:
    page.locator('form[action$="/auth/logout"] button').click()
    expect(page.locator('nav a[href$="/auth/login"]')).to_be_visible()
    expect(page.locator('form[action$="/auth/logout"]')).to_have_count(0)


def test_company_signs_up_staff_verifies_and_owner_sees_verified_status(
    page: Page, live_db: Any
) -> None:
    company = _company_details()
    with live_db():
        staff_email = factories.user(Role.STAFF).email

    # The visitor lands in Indonesian and switches to English with the navbar form.
    page.goto("/")
    expect(page.locator("html")).to_have_attribute("lang", "id")
    page.locator('nav button[name="lang"][value="en"]').click()
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.locator('main a[href$="/companies/register"]').click()
    expect(page).to_have_url(re.compile(r"/companies/register$"))
    _fill_registration(page, company)
    submit(page)

    expect(page).to_have_url(re.compile(r"/company$"))
    expect(page.locator("h1")).to_contain_text(company["legal_name"])
    expect(page.locator('h1 [data-status="pending"]')).to_be_visible()
    expect(page.locator("#verified-status")).to_have_count(0)
    _log_out(page)

    # Staff finds the new company in the queue and verifies it.
    log_in(page, staff_email)
    page.goto("/staff/companies")
    row = page.locator("#pending tbody tr", has_text=company["legal_name"])
    expect(row).to_have_count(1)
    row.locator('a[href*="/staff/companies/"]').click()
    expect(page.locator("h1")).to_contain_text(company["legal_name"])
    expect(page.locator('h1 [data-status="pending"]')).to_be_visible()
    page.locator("#verify").click()
    expect(page.locator('h1 [data-status="verified"]')).to_be_visible()
    expect(page.locator("#verify")).to_have_count(0)
    _log_out(page)

    # The owner logs in again and lands on the sponsor's home; the company page says verified.
    log_in(page, company["owner_email"], OWNER_PASSWORD)
    expect(page).to_have_url(re.compile(r"/company/home$"))
    page.goto("/company")
    expect(page.locator("#verified-status")).to_be_visible()
    expect(page.locator('h1 [data-status="verified"]')).to_be_visible()


@pytest.mark.parametrize("path", ["/", "/companies/register"])
def test_public_pages_fit_a_phone_screen(new_page: Any, path: str) -> None:
    page = new_page(viewport={"width": 390, "height": 844})
    page.goto(path)

    # The phone layout is active: the navbar collapses behind its toggler, which opens it.
    toggler = page.locator(".navbar-toggler")
    expect(toggler).to_be_visible()
    expect(page.locator('nav a[href$="/auth/login"]')).to_be_hidden()
    toggler.click()
    expect(page.locator('nav a[href$="/auth/login"]')).to_be_visible()

    scroll_width, inner_width = page.evaluate(
        "() => [document.documentElement.scrollWidth, window.innerWidth]"
    )
    assert inner_width == 390
    assert scroll_width <= inner_width, f"{path} is {scroll_width}px wide on a 390px screen"


def test_bad_nib_shows_an_error_and_keeps_what_was_typed(page: Page) -> None:
    company = _company_details(nib="123456789012")  # 12 digits, one short
    page.goto("/companies/register")
    _fill_registration(page, company)
    submit(page)

    expect(page).to_have_url(re.compile(r"/companies/register$"))
    expect(page.locator("main .alert-danger")).to_be_visible()
    expect(page.locator("#nib")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(page.locator("#nib ~ .invalid-feedback")).to_be_visible()
    expect(page.locator("#legal_name")).not_to_have_class(re.compile(r"\bis-invalid\b"))
    for name in (
        "legal_name",
        "nib",
        "npwp",
        "address",
        "sector",
        "contact_name",
        "contact_phone",
        "owner_email",
    ):
        expect(page.locator(f"#{name}")).to_have_value(company[name])
