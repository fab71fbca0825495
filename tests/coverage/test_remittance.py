"""Remittance files per funder of a closed month, and marking a funder's month remitted."""

from __future__ import annotations

import csv
import io
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.coverage.closing import close_month
from portal.coverage.exceptions import (
    AlreadyRemitted,
    InvalidReference,
    MonthNotClosed,
    NothingToRemit,
    UnknownFunder,
)
from portal.coverage.models import Funder, Remittance
from portal.coverage.remittance import (
    HEADER,
    RemittanceRow,
    mark_remitted,
    remittance_file,
    remittance_rows,
)
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import Account
from portal.ledger.queries import account_balances
from portal.workers.services import worker_nik
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
EVIL = '=HYPERLINK("http://evil.example","klik")'


@pytest.fixture
def closed(actors):  # type: ignore[no-untyped-def]
    """This month closed with a two-worker pledge (one formula-like name) and one APBD worker."""
    pledge, people = helpers.covered_pledge(2, 2, MONTH, names=("Ani Lestari", EVIL))
    people[0].kpj = "12345678901"
    apbd = helpers.city_workers(Funder.APBD, MONTH, 1)
    close_month(MONTH, actors.staff)
    return pledge, people, apbd


def test_rows_hold_full_nik_name_kpj_category_and_pledge(closed):
    pledge, people, apbd = closed
    assert remittance_rows(MONTH, "csr") == [
        RemittanceRow(worker_nik(people[1]), EVIL, "", "becak", "csr", pledge.id, 16_800),
        RemittanceRow(
            worker_nik(people[0]), "Ani Lestari", "12345678901", "becak", "csr", pledge.id, 16_800
        ),
    ]
    assert [(r.nik, r.funder, r.pledge_id) for r in remittance_rows(MONTH, "apbd")] == [
        (worker_nik(apbd[0]), "apbd", None)
    ]
    assert remittance_rows(MONTH, "dbhcht") == []


def test_rows_need_a_closed_month_and_a_known_funder(actors):
    helpers.city_workers(Funder.APBD, MONTH, 1)
    with pytest.raises(MonthNotClosed):
        remittance_rows(MONTH, "apbd")
    with pytest.raises(UnknownFunder):
        remittance_rows(MONTH, "pledge")


def test_csv_escapes_formulas_and_keeps_niks_whole(closed):
    pledge, people, _ = closed
    body, count = remittance_file(MONTH, "csr", "csv")
    assert count == 2 and body.startswith("\ufeff".encode())
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0] == HEADER
    assert rows[1][:2] == [worker_nik(people[1]), "'" + EVIL]
    assert rows[1][4:] == ["csr", str(pledge.id), f"{MONTH:%Y-%m}", "16800"]


def test_xlsx_escapes_formulas_and_keeps_niks_as_text(closed):
    _, people, _ = closed
    body, _ = remittance_file(MONTH, "csr", "xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    values = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert values[0] == HEADER
    assert values[1][0] == worker_nik(people[1]) and isinstance(values[1][0], str)
    assert values[1][1] == "'" + EVIL
    assert values[2][7] == 16_800


def test_xlsx_writes_nik_and_kpj_as_text_cells_with_leading_zeros(closed):
    _, people, _ = closed
    people[0].kpj = "0012345678901"
    db.session.flush()
    body, _ = remittance_file(MONTH, "csr", "xlsx")
    sheet = load_workbook(io.BytesIO(body)).active
    cells = {
        row[1].value: dict(zip(HEADER, row, strict=True)) for row in sheet.iter_rows(min_row=2)
    }
    ani = cells["Ani Lestari"]
    assert (ani["nik"].value, ani["no_kpj"].value) == (worker_nik(people[0]), "0012345678901")
    for name in ("nik", "no_kpj"):
        assert ani[name].data_type == "s" and ani[name].number_format == "@", name
    assert ani["iuran"].value == 16_800 and ani["iuran"].number_format != "@"


def test_month_page_offers_xlsx_for_spreadsheets_before_csv(closed, actors, logged_in):
    page = logged_in(actors.staff).get(f"/coverage/months/{MONTH:%Y-%m}").get_data(as_text=True)
    assert page.index('data-download="csr-xlsx"') < page.index('data-download="csr-csv"')
    assert "XLSX (for spreadsheets)" in page and "CSV (for machines)" in page


def test_mark_remitted_books_the_transfer_once(closed, actors):
    remittance = mark_remitted(MONTH, "csr", "  BNI-2026-0001 ", actors.staff)
    assert (remittance.workers, remittance.amount, remittance.reference) == (
        2,
        33_600,
        "BNI-2026-0001",
    )
    assert helpers.booked(f"remit:pledge:{MONTH:%Y-%m}") == 33_600
    with pytest.raises(AlreadyRemitted):
        mark_remitted(MONTH, "csr", "BNI-2026-0002", actors.staff2)
    mark_remitted(MONTH, "apbd", "BPD-JATENG-77", actors.staff)
    assert account_balances()[Account.PAYABLE_BPJS] == 0  # everything owed was transferred
    assert db.session.scalar(select(func.count(Remittance.id))) == 2
    assert check_ledger() == []
    event = db.session.scalar(
        select(AuditEvent).where(
            AuditEvent.action == "coverage.remit", AuditEvent.object_id == str(remittance.id)
        )
    )
    assert event.after == {
        "month": f"{MONTH:%Y-%m}",
        "funder": "csr",
        "workers": 2,
        "amount": 33_600,
        "reference": "BNI-2026-0001",
    }


def test_mark_remitted_refuses_open_empty_and_unreferenced_months(closed, actors):
    with pytest.raises(MonthNotClosed):
        mark_remitted(date(2020, 1, 1), "apbd", "REF", actors.staff)
    with pytest.raises(NothingToRemit):
        mark_remitted(MONTH, "dbhcht", "REF", actors.staff)
    for reference in ("", "   ", "x" * 81):
        with pytest.raises(InvalidReference):
            mark_remitted(MONTH, "apbd", reference, actors.staff)
    assert db.session.scalar(select(func.count(Remittance.id))) == 0
    assert account_balances()[Account.PAYABLE_BPJS] == -(3 * 16_800)
