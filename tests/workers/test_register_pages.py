"""Staff register pages: search, filters, detail, edit, status, export, browser import."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, insert, select

from portal.audit.models import AuditEvent
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.workers.models import Worker, WorkerStatus
from portal.workers.services import worker_nik
from tests import factories
from tests.conftest import PASSWORD, csrf_token, post_oversized

SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def _actions(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def test_staff_sees_the_full_nik_and_the_look_is_audited(actors, logged_in):
    worker = factories.worker(full_name="Siti Rahayu")
    nik = worker_nik(worker)
    html = logged_in(actors.staff).get(f"/staff/workers/{worker.id}").get_data(as_text=True)
    assert nik in html
    assert _actions("worker.view_pii") == 1
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "worker.view_pii"))
    assert nik not in str(event.before) + str(event.after) + event.object_id


@pytest.mark.parametrize("path", ["/staff/workers", "/staff/workers/{id}"])
def test_auditor_never_receives_a_full_nik_or_phone(actors, logged_in, path):
    worker = factories.worker()
    html = logged_in(actors.auditor).get(path.format(id=worker.id)).get_data(as_text=True)
    assert SIXTEEN_DIGITS.search(html) is None
    assert worker.nik_masked in html


def test_register_lists_masked_niks_only(actors, logged_in):
    worker = factories.worker()
    html = logged_in(actors.staff).get("/staff/workers").get_data(as_text=True)
    assert worker.nik_masked in html
    assert SIXTEEN_DIGITS.search(html) is None


def test_search_by_exact_nik_name_prefix_and_kpj(actors, logged_in):
    siti = factories.worker(full_name="Siti Aminah", female=True)
    budi = factories.worker(full_name="Budi Santoso")
    budi.kpj = "12345678901"
    client = logged_in(actors.staff)

    token = csrf_token(client, "/staff/workers")

    def found(q: str) -> set[str]:
        posted = client.post("/staff/workers", data={"csrf_token": token, "q": q})
        assert posted.status_code == 302 and (len(q) < 3 or q not in posted.headers["Location"])
        html = client.get(posted.headers["Location"]).get_data(as_text=True)
        return {name for name in ("Siti Aminah", "Budi Santoso") if name in html}

    assert found(worker_nik(siti)) == {"Siti Aminah"}
    assert found("budi") == {"Budi Santoso"}
    assert found("12345678901") == {"Budi Santoso"}
    assert found("3374000000000000") == set()
    assert found("%") == set()  # wildcards are searched literally


def test_a_nik_searched_for_is_in_no_url_link_or_audit_row(actors, logged_in, app):
    siti = factories.worker(full_name="Siti Aminah", female=True)
    for n in range(55):
        factories.worker(full_name=f"Siti {n:03d}")
    nik = worker_nik(siti)
    client = logged_in(actors.staff)
    token = csrf_token(client, "/staff/workers")
    posted = client.post("/staff/workers", data={"csrf_token": token, "q": nik})
    assert nik not in posted.headers["Location"]
    html = client.get(posted.headers["Location"]).get_data(as_text=True)
    assert "Siti Aminah" in html and "Siti 000" not in html
    links = re.findall(r'href="([^"]+)"', html)
    assert links and not [link for link in links if nik in link]
    export = next(link for link in links if "export.csv" in link).replace("&amp;", "&")
    assert nik in client.get(export).get_data(as_text=True)  # the file itself has it: staff
    row = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.export")).one()
    assert nik not in json.dumps(row.after) and row.after["filters"]["q"] == siti.nik_masked
    # a plain ?q= (not made by any page) searches for nothing
    plain = client.get("/staff/workers", query_string={"q": nik}).get_data(as_text=True)
    assert "Siti 000" in plain
    # names page through with the search kept, encrypted
    posted = client.post("/staff/workers", data={"csrf_token": token, "q": "siti"})
    first = client.get(posted.headers["Location"]).get_data(as_text=True)
    following = re.search(r'href="(/staff/workers\?[^"]*page=2[^"]*)"', first)
    assert following and "siti" not in following.group(1).lower()
    second = client.get(following.group(1).replace("&amp;", "&")).get_data(as_text=True)
    assert "Siti 054" in second or "Siti Aminah" in second


def test_filters_by_area_category_status_eligibility_and_funder(actors, logged_in):
    month = date.today().replace(day=1)
    covered = factories.worker(full_name="Dana Apbd", category_code="ojek")
    factories.worker(full_name="Menunggu Dana", kelurahan_code="33.74.02.1004")
    factories.worker(full_name="Belum Layak", status="registered")
    factories.worker(full_name="Terlalu Tua", birth_date=date(month.year - 70, 1, 1))
    db.session.execute(
        insert(Coverage),
        [{"worker_id": covered.id, "month": month, "funder": Funder.APBD, "amount": 16_800}],
    )
    client = logged_in(actors.staff)

    def names(**query: str) -> set[str]:
        html = client.get("/staff/workers", query_string=query).get_data(as_text=True)
        return set(re.findall(r'/staff/workers/\d+">([^<]+)<', html))

    assert names(funder="apbd") == {"Dana Apbd"}
    assert names(funder="none", eligibility="yes") == {"Menunggu Dana"}
    assert names(kecamatan="33.74.02") == {"Menunggu Dana"}
    assert names(kelurahan="33.74.02.1004") == {"Menunggu Dana"}
    assert names(category="ojek") == {"Dana Apbd"}
    assert names(status="registered") == {"Belum Layak"}
    assert names(eligibility="no") == {"Belum Layak", "Terlalu Tua"}


def test_register_pages_through_results(actors, logged_in):
    for n in range(55):
        factories.worker(full_name=f"Pekerja {n:03d}")
    client = logged_in(actors.staff)
    first = client.get("/staff/workers").get_data(as_text=True)
    second = client.get("/staff/workers?page=2").get_data(as_text=True)
    assert "Pekerja 000" in first and "Pekerja 054" not in first
    assert "Pekerja 054" in second and "55" in second


def test_edit_refuses_a_birth_date_that_disagrees_with_the_nik(actors, logged_in):
    worker = factories.worker(birth_date=date(1980, 5, 17))
    client = logged_in(actors.staff)
    path = f"/staff/workers/{worker.id}/edit"
    data = {
        "csrf_token": csrf_token(client, path),
        "full_name": "Nama Baru",
        "birth_date": "1981-05-17",
        "sex": "L",
        "category_id": str(worker.category_id),
        "kelurahan_code": worker.kelurahan_code,
    }
    response = client.post(path, data=data)
    assert response.status_code == 400
    assert "does not match" in response.get_data(as_text=True)
    assert db.session.get(Worker, worker.id).full_name != "Nama Baru"
    data["birth_date"] = "1980-05-17"
    data["phone"] = "081234567890"
    assert client.post(path, data=data).status_code == 302
    changed = db.session.get(Worker, worker.id)
    assert changed.full_name == "Nama Baru"
    assert "081234567890" not in (changed.phone_encrypted or "")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "worker.update"))
    assert event.after["full_name"] == "(changed)"  # the append-only trail keeps no name
    assert "Nama Baru" not in json.dumps([event.before, event.after])


def test_status_change_needs_a_reason_to_go_inactive_and_keeps_history(actors, logged_in):
    worker = factories.worker()
    client = logged_in(actors.staff)
    path = f"/staff/workers/{worker.id}/status"
    token = csrf_token(client, f"/staff/workers/{worker.id}")
    client.post(path, data={"csrf_token": token, "status": "inactive", "note": "meninggal"})
    assert db.session.get(Worker, worker.id).status == WorkerStatus.ELIGIBLE
    client.post(
        path,
        data={
            "csrf_token": token,
            "status": "inactive",
            "reason": "deceased",
            "note": "Meninggal dunia 3 Nov",
        },
    )
    changed = db.session.get(Worker, worker.id)
    assert (changed.status, changed.inactive_reason) == ("inactive", "deceased")
    html = client.get(f"/staff/workers/{worker.id}").get_data(as_text=True)
    assert "Meninggal dunia 3 Nov" in html


def test_an_over_age_worker_cannot_be_made_eligible(actors, logged_in):
    worker = factories.worker(status="registered", birth_date=date(1950, 1, 1))
    client = logged_in(actors.staff)
    token = csrf_token(client, f"/staff/workers/{worker.id}")
    response = client.post(
        f"/staff/workers/{worker.id}/status",
        data={"csrf_token": token, "status": "eligible", "note": "cek ulang"},
        follow_redirects=True,
    )
    assert "older than 64 years 11 months" in response.get_data(as_text=True)
    assert db.session.get(Worker, worker.id).status == WorkerStatus.REGISTERED


def test_export_needs_a_recent_password_and_escapes_formulas(actors, logged_in):
    worker = factories.worker(full_name='=HYPERLINK("http://evil.example")')
    client = logged_in(actors.staff)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 3600
    response = client.get("/staff/workers/export.csv")
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    token = csrf_token(client, "/auth/confirm")
    confirmed = client.post(
        "/auth/confirm?next=/staff/workers/export.csv",
        data={"csrf_token": token, "password": PASSWORD, "next": "/staff/workers/export.csv"},
    )
    assert confirmed.headers["Location"] == "/staff/workers/export.csv"
    text = client.get("/staff/workers/export.csv").get_data(as_text=True)
    assert worker_nik(worker) in text
    assert "'=HYPERLINK" in text and ",=HYPERLINK" not in text
    book = load_workbook(io.BytesIO(client.get("/staff/workers/export.xlsx").data))
    rows = list(book.active.iter_rows(values_only=True))
    assert rows[1][0] == worker_nik(worker) and isinstance(rows[1][0], str)
    assert rows[1][1].startswith("'=")
    assert _actions("worker.export") == 2


def test_wrong_password_on_confirm_is_refused_and_audited(actors, logged_in):
    client = logged_in(actors.staff)
    token = csrf_token(client, "/auth/confirm")
    response = client.post("/auth/confirm", data={"csrf_token": token, "password": "nope"})
    assert "Wrong password." in response.get_data(as_text=True)
    assert _actions("auth.confirm_failed") == 1


ROSTER = (
    "nik;nama;tanggal_lahir;jenis_kelamin;kategori;kode_kelurahan\n"
    "3374011203850001;Slamet Riyadi;12/03/1985;L;becak;33.74.01.1001\n"
    "3374011203850002;Tanpa Tanggal;;L;becak;33.74.01.1001\n"
)


def _upload(client, data: bytes, name: str):  # type: ignore[no-untyped-def]
    token = csrf_token(client, "/staff/workers/import")
    return client.post(
        "/staff/workers/import",
        data={"csrf_token": token, "roster": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def test_browser_import_checks_first_then_imports_on_confirmation(actors, logged_in):
    client = logged_in(actors.staff)
    response = _upload(client, ROSTER.encode(), "roster.csv")
    assert response.status_code == 302
    check = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-count="created">1<' in check and 'data-count="rejected">1<' in check
    assert db.session.scalar(select(func.count(Worker.id))) == 0
    rejected_url = re.search(r'id="rejected-download" href="([^"]+)"', check).group(1)
    sheet = load_workbook(io.BytesIO(client.get(rejected_url).data)).active
    rejected = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert any("Tanpa Tanggal" in row for row in rejected)
    assert not any("Slamet Riyadi" in row for row in rejected)
    run_url = re.search(r'action="([^"]+/run)"', check).group(1)
    token = csrf_token(client, response.headers["Location"])
    done = client.post(run_url, data={"csrf_token": token})
    result = client.get(done.headers["Location"]).get_data(as_text=True)
    assert 'id="import-done"' in result
    assert db.session.scalar(select(func.count(Worker.id))) == 1


def test_a_file_that_is_not_a_roster_fails_with_a_reason(actors, logged_in):
    client = logged_in(actors.staff)
    response = _upload(client, b"<html><body>hello</body></html>", "roster.xlsx")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="import-failed"' in page


def test_an_oversized_upload_is_refused_before_parsing(app, actors, logged_in):
    client = logged_in(actors.staff)
    token = csrf_token(client, "/staff/workers/import")
    big = io.BytesIO(b"x" * (app.config["MAX_CONTENT_LENGTH"] + 10))
    response = post_oversized(
        client,
        "/staff/workers/import",
        data={"csrf_token": token, "roster": (big, "big.csv")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413
