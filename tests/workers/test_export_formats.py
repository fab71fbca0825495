"""Files for people and for machines: XLSX keeps NIKs and phone numbers as text, the
rejected rows come back with the upload's own columns and can be uploaded again."""

from __future__ import annotations

import csv
import io
import re
from datetime import date
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.exports import TEXT_FORMAT
from portal.extensions import db
from portal.messages import _m
from portal.workers import jobs
from portal.workers.exports import HEADER, export_register
from portal.workers.importer import import_roster
from portal.workers.models import ImportJob, Worker
from portal.workers.pii import current_cipher
from portal.workers.queries import RegisterFilters
from portal.workers.rejected import HEADER as REJECTED_HEADER
from portal.workers.services import worker_nik
from tests import factories
from tests.conftest import csrf_token

PHONE = "081234567890"
KPJ = "0012345678901"
MISSING_DATE = "3374011203850002"
ROSTER = (
    "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kode_kelurahan;no_hp\n"
    "3374011203850001;Slamet Riyadi;12/03/1985;L;becak;33.74.01.1001;081234567890\n"
    f"{MISSING_DATE};Tanpa Tanggal;;L;becak;33.74.01.1001;081299990000\n"
)


def _sheet(body: bytes):  # type: ignore[no-untyped-def]
    return load_workbook(io.BytesIO(body)).active


def test_register_xlsx_keeps_nik_phone_and_kpj_as_text():
    worker = factories.worker()
    worker.phone_encrypted = current_cipher().encrypt(PHONE)
    worker.kpj = KPJ
    db.session.flush()
    body, count = export_register(RegisterFilters(), date.today().replace(day=1), "xlsx")
    sheet = _sheet(body)
    assert count == 1 and [c.value for c in sheet[1]] == HEADER
    row = {name: sheet.cell(2, index + 1) for index, name in enumerate(HEADER)}
    assert (row["nik"].value, row["no_hp"].value, row["no_kpj"].value) == (
        worker_nik(worker),
        PHONE,
        KPJ,
    )
    for name in ("nik", "no_hp", "no_kpj", "kode_kelurahan"):
        assert row[name].data_type == "s" and row[name].number_format == TEXT_FORMAT, name
    assert row["nama"].number_format != TEXT_FORMAT  # only the columns that need it


def _check(client, roster: bytes, name: str) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/workers/import")
    response = client.post(
        "/staff/workers/import",
        data={"csrf_token": token, "roster": (io.BytesIO(roster), name)},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    return str(client.get(response.headers["Location"]).get_data(as_text=True))


def _link(page: str, element_id: str) -> str:
    found = re.search(rf'id="{element_id}" href="([^"]+)"', page)
    assert found is not None, element_id
    return found.group(1)


def test_rejected_rows_xlsx_has_the_upload_columns_and_the_reason(actors, logged_in):
    client = logged_in(actors.staff)
    page = _check(client, ROSTER.encode(), "roster.csv")
    assert page.index('id="rejected-download"') < page.index('id="rejected-download-csv"')
    sheet = _sheet(client.get(_link(page, "rejected-download")).data)
    rows = [[cell.value for cell in row] for row in sheet.iter_rows()]
    assert rows[0] == REJECTED_HEADER
    assert rows[0][:3] == ["nik", "nama", "tanggal_lahir"] and rows[0][-1] == "alasan"
    assert len(rows) == 2
    found = dict(zip(REJECTED_HEADER, sheet[2], strict=True))
    assert found["nik"].value == MISSING_DATE and found["no_hp"].value == "081299990000"
    assert found["nik"].number_format == TEXT_FORMAT == found["no_hp"].number_format
    # the reason in the reader's language (Indonesian here), with the row number
    client.set_cookie("lang", "id")
    found = dict(
        zip(
            REJECTED_HEADER,
            _sheet(client.get(_link(page, "rejected-download")).data)[2],
            strict=True,
        )
    )
    app = client.application
    with app.app_context(), app.test_request_context():  # Indonesian: no language chosen
        reason = f"tanggal_lahir/birth_date: {_m('Birth date is required.')}"
        expected = str(_m("row %(row)s: %(reasons)s", row=3, reasons=reason))
    assert found["alasan"].value == expected


def test_rejected_rows_xlsx_fixed_is_accepted_again(actors, logged_in):
    client = logged_in(actors.staff)
    page = _check(client, ROSTER.encode(), "roster.csv")
    book = load_workbook(io.BytesIO(client.get(_link(page, "rejected-download")).data))
    book.active.cell(2, REJECTED_HEADER.index("tanggal_lahir") + 1, "12/03/1985")
    fixed = io.BytesIO()
    book.save(fixed)
    report = import_roster(
        fixed.getvalue(), "baris-ditolak.xlsx", dry_run=False, update_existing=False, actor_id=None
    )
    assert (report.created, report.rejected) == (1, 0)
    phone = db.session.scalar(select(Worker.phone_encrypted))
    assert phone is not None and current_cipher().decrypt(phone) == "081299990000"
    assert db.session.scalar(select(func.count(Worker.id))) == 1


def test_rejected_rows_csv_is_for_machines_with_the_same_columns(actors, logged_in):
    client = logged_in(actors.staff)
    page = _check(client, ROSTER.encode(), "roster.csv")
    assert "CSV (for machines)" in page
    response = client.get(_link(page, "rejected-download-csv"))
    assert response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == REJECTED_HEADER and rows[1][0] == MISSING_DATE
    assert rows[1][REJECTED_HEADER.index("no_hp")] == "081299990000"


def test_rejected_rows_in_another_format_are_404(actors, logged_in):
    client = logged_in(actors.staff)
    page = _check(client, ROSTER.encode(), "roster.csv")
    assert client.get(_link(page, "rejected-download").replace(".xlsx", ".ods")).status_code == 404


def test_register_offers_xlsx_for_spreadsheets_before_csv(actors, logged_in):
    page = logged_in(actors.staff).get("/staff/workers").get_data(as_text=True)
    assert page.index('data-download="xlsx"') < page.index('data-download="csv"')
    assert "XLSX (for spreadsheets)" in page and "CSV (for machines)" in page


def test_a_damaged_rejected_rows_file_sends_back_to_the_job(actors, logged_in):
    client = logged_in(actors.staff)
    page = _check(client, ROSTER.encode(), "roster.csv")
    job = db.session.scalar(select(ImportJob).order_by(ImportJob.id.desc()))
    assert job is not None
    path = Path(str(jobs.rejected_path(job)))
    path.write_bytes(path.read_bytes()[:-5])
    response = client.get(_link(page, "rejected-download"))
    assert response.status_code == 302 and response.headers["Location"].endswith(job.token)
