"""Staff imports a roster, reads the error report, fixes the rejected row and imports it."""

from __future__ import annotations

import csv
import io
import re
import secrets
from datetime import date
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from portal.auth.models import Role
from portal.workers.nik import build_nik
from tests import factories
from tests.e2e.steps import log_in

pytestmark = pytest.mark.e2e


def _upload(page: Page, name: str, text: str) -> None:
    page.goto("/staff/workers/import")
    page.locator("#roster").set_input_files(
        {"name": name, "mimeType": "text/csv", "buffer": text.encode("utf-8")}
    )
    page.locator('main form button[type="submit"]').click()
    expect(page.locator("#summary")).to_be_visible()


def _count(page: Page, key: str) -> Any:
    return expect(page.locator(f'[data-count="{key}"]'))


def test_staff_imports_reads_errors_fixes_and_reimports(page: Page, live_db: Any) -> None:
    with live_db():
        staff_email = factories.user(Role.STAFF).email
    seq = secrets.randbelow(9000) + 1
    good = build_nik("337401", date(1985, 3, 12), False, seq)
    fixable = build_nik("337401", date(1990, 7, 15), True, seq)
    roster = (
        "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kelurahan;kecamatan\n"
        f"{good};Slamet Riyadi;12/03/1985;L;becak;Purwosari;Semarang Utara\n"
        f"{fixable};Sri Wahyuni;;P;pkl;Purwosari;Semarang Utara\n"
    )
    log_in(page, staff_email)
    _upload(page, "roster-kelurahan.csv", roster)
    _count(page, "created").to_have_text("1")
    _count(page, "rejected").to_have_text("1")
    expect(page.locator("#errors")).to_contain_text("3")  # the row number of the bad row
    with page.expect_download() as download_info:
        page.locator("#rejected-download-csv").click()
    rejected = download_info.value.path().read_text(encoding="utf-8-sig")
    page.locator("#confirm-import").click()
    expect(page.locator("#import-done")).to_be_visible()

    rows = list(csv.DictReader(io.StringIO(rejected), delimiter=";"))
    assert [r["nama"] for r in rows] == ["Sri Wahyuni"]
    rows[0]["tanggal_lahir"] = "15/07/1990"
    fixed = io.StringIO()
    writer = csv.DictWriter(fixed, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    _upload(page, "roster-perbaikan.csv", fixed.getvalue())
    _count(page, "created").to_have_text("1")
    _count(page, "rejected").to_have_text("0")
    page.locator("#confirm-import").click()
    expect(page.locator("#import-done")).to_be_visible()

    page.goto("/staff/workers")
    page.fill("#q", "Sri Wahyuni")
    page.locator("form[role=search] button[type=submit]").click()
    expect(page).not_to_have_url(re.compile("Wahyuni"))
    expect(page.locator("#register")).to_contain_text("Sri Wahyuni")
    expect(page.locator("#register")).to_contain_text("Purwosari")
