"""Staff coverage pages: months, a month (close, files, remitted), lapsing, city import."""

from __future__ import annotations

import io
import re
import time
from datetime import date, timedelta

from flask.testing import FlaskClient
from openpyxl import load_workbook
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.coverage import handlers
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage, Funder, MonthClose, Remittance
from portal.coverage.queries import month_end
from portal.coverage.remittance import mark_remitted
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.jobs import MAX_ATTEMPTS, run_pending
from portal.pledges.pricing import add_months
from portal.reference.models import Category
from portal.workers.services import worker_nik
from tests import factories
from tests.conftest import csrf_token
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
KEY = f"{MONTH:%Y-%m}"
PAGE = f"/coverage/months/{KEY}"
SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def _count(model, *where) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def _cell(html: str, funder: str) -> str:
    match = re.search(rf'<tr data-month="{KEY}".*?</tr>', html, re.S)
    assert match, html
    cell = re.search(rf'data-funder="{funder}">(.*?)</td>', match.group(0), re.S)
    assert cell
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", cell.group(1))).strip()


def test_months_page_shows_workers_and_rupiah_per_funder(actors, logged_in):
    helpers.covered_pledge(2, 1, MONTH)
    helpers.city_workers(Funder.APBD, MONTH, 3)
    html = logged_in(actors.auditor).get("/coverage/").get_data(as_text=True)
    assert _cell(html, "apbd") == "3 workers Rp50,400"
    assert _cell(html, "csr") == "2 workers Rp33,600"
    assert _cell(html, "dbhcht") == "0 workers Rp0"
    months = re.findall(r'<tr data-month="([0-9-]+)"', html)
    assert len(months) == 14 and months[0] == f"{add_months(MONTH, 2):%Y-%m}"
    assert months[-1] == f"{add_months(MONTH, -11):%Y-%m}"
    assert f'href="{PAGE}"' in html


def test_months_page_marks_closed_and_remitted_funders(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    helpers.city_workers(Funder.APBD, MONTH, 1)
    close_month(MONTH, actors.staff)
    mark_remitted(MONTH, "apbd", "REF-1", actors.staff)
    html = logged_in(actors.staff).get("/coverage/").get_data(as_text=True)
    row = re.search(rf'<tr data-month="{KEY}".*?</tr>', html, re.S).group(0)
    assert 'data-closed="yes"' in row
    cells = dict(re.findall(r'data-funder="(\w+)">(.*?)</td>', row, re.S))
    assert [re.findall(r'data-remitted="(\w+)"', cells[f]) for f in ("apbd", "dbhcht", "csr")] == [
        ["yes"],
        [],
        ["no"],
    ]


def test_staff_closes_a_month_with_its_form(actors, logged_in):
    pledge, _ = helpers.covered_pledge(1, 1, MONTH)
    client = logged_in(actors.staff)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="close-month"' in html and "data-confirm=" in html
    assert "remittance/csr.csv" not in html  # files only once closed
    response = client.post(f"{PAGE}/close", data={"csrf_token": csrf_token(client, PAGE)})
    assert response.status_code == 302 and response.headers["Location"] == PAGE
    assert _count(MonthClose, MonthClose.month == MONTH) == 1
    assert helpers.booked(f"consumed:{pledge.id}:{KEY}") == 16_800
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="close-month"' not in html and 'data-closed="yes"' in html
    assert f"{PAGE}/remittance/csr.csv" in html and f"{PAGE}/remittance/csr.xlsx" in html
    assert f"{PAGE}/remittance/apbd.csv" not in html  # APBD covered nobody this month


def test_closing_without_csrf_is_refused(actors, logged_in):
    response = logged_in(actors.staff).post(f"{PAGE}/close")
    assert response.status_code == 400
    assert _count(MonthClose) == 0


def test_a_month_too_far_ahead_has_no_close_button_and_is_refused(actors, logged_in):
    client = logged_in(actors.staff)
    later = f"/coverage/months/{add_months(MONTH, 2):%Y-%m}"
    html = client.get(later).get_data(as_text=True)
    assert 'id="close-month"' not in html and "is after next month" in html
    response = client.post(
        f"{later}/close", data={"csrf_token": csrf_token(client, later)}, follow_redirects=True
    )
    assert "was not closed" in response.get_data(as_text=True)
    assert _count(MonthClose) == 0


def test_month_page_says_which_earlier_month_to_close_first(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    html = logged_in(actors.staff).get(f"/coverage/months/{add_months(MONTH, 1):%Y-%m}")
    text = html.get_data(as_text=True)
    assert 'id="close-month"' not in text and f"close {KEY} first" in text


def test_mark_remitted_form_records_the_reference(actors, logged_in):
    helpers.covered_pledge(2, 1, MONTH)
    close_month(MONTH, actors.staff)
    client = logged_in(actors.staff)
    token = csrf_token(client, PAGE)
    missing = client.post(f"{PAGE}/remittance/csr", data={"csrf_token": token, "reference": ""})
    assert missing.status_code == 400 and "is-invalid" in missing.get_data(as_text=True)
    done = client.post(
        f"{PAGE}/remittance/csr",
        data={"csrf_token": token, "reference": "BNI 0099"},
        follow_redirects=True,
    )
    assert "marked as remitted" in done.get_data(as_text=True)
    remittance = db.session.scalar(select(Remittance))
    assert (remittance.funder, remittance.amount, remittance.reference) == (
        "csr",
        33_600,
        "BNI 0099",
    )
    again = client.post(
        f"{PAGE}/remittance/csr",
        data={"csrf_token": token, "reference": "BNI 0100"},
        follow_redirects=True,
    )
    assert "Not marked as remitted" in again.get_data(as_text=True)
    assert _count(Remittance) == 1


def test_staff_downloads_remittance_files_and_each_is_audited(actors, logged_in):
    _, people = helpers.covered_pledge(1, 1, MONTH, names=("@SUM(A1:A9)",))
    close_month(MONTH, actors.staff)
    client = logged_in(actors.staff)
    response = client.get(f"{PAGE}/remittance/csr.csv")
    assert response.status_code == 200 and response.headers["Cache-Control"] == "no-store"
    assert f'filename="remittance-{KEY}-csr.csv"' in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert worker_nik(people[0]) in text and "'@SUM(A1:A9)" in text
    book = load_workbook(io.BytesIO(client.get(f"{PAGE}/remittance/csr.xlsx").data))
    assert book.active["B2"].value == "'@SUM(A1:A9)"
    assert client.get(f"{PAGE}/remittance/pledge.csv").status_code == 404
    assert client.get(f"{PAGE}/remittance/csr.pdf").status_code == 404
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coverage.remittance_export")
    ).all()
    assert [(e.after["funder"], e.after["format"], e.after["rows"]) for e in events] == [
        ("csr", "csv", 1),
        ("csr", "xlsx", 1),
    ]
    assert worker_nik(people[0]) not in str([e.after for e in events])


def test_remittance_file_of_an_open_month_is_not_found(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    assert logged_in(actors.staff).get(f"{PAGE}/remittance/csr.csv").status_code == 404


def test_remittance_download_needs_a_recent_password(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    close_month(MONTH, actors.staff)
    client = logged_in(actors.staff)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 3600
    response = client.get(f"{PAGE}/remittance/csr.csv")
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    assert _count(AuditEvent, AuditEvent.action == "coverage.remittance_export") == 0


def test_auditor_reads_the_month_but_cannot_download_or_change_it(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    close_month(MONTH, actors.staff)
    client = logged_in(actors.auditor)
    html = client.get(PAGE).get_data(as_text=True)
    assert "16,800" in html and "remittance/csr.csv" not in html
    assert SIXTEEN_DIGITS.search(html) is None
    assert client.get(f"{PAGE}/remittance/csr.csv").status_code == 403
    assert client.get(f"{PAGE}/remittance/csr.xlsx").status_code == 403
    token = csrf_token(client, PAGE)
    response = client.post(f"{PAGE}/remittance/csr", data={"csrf_token": token, "reference": "X"})
    assert response.status_code == 403
    assert client.get("/coverage/city-import").status_code == 403
    assert _count(Remittance) == 0


def test_sponsors_see_no_coverage_page(actors, logged_in):
    client = logged_in(actors.owner)
    for path in ("/coverage/", PAGE, "/coverage/lapsing", f"{PAGE}/remittance/csr.csv"):
        assert client.get(path).status_code == 403


def test_unknown_month_in_the_url_is_not_found(actors, logged_in):
    assert logged_in(actors.staff).get("/coverage/months/2026-13").status_code == 404


def test_lapsing_page_lists_pledges_and_sends_offers(actors, logged_in, outbox):
    pledge, _ = helpers.covered_pledge(2, 1, MONTH)
    helpers.covered_pledge(1, 12, MONTH)  # ends far beyond the window
    client = logged_in(actors.staff)
    html = client.get("/coverage/lapsing").get_data(as_text=True)
    assert re.search(r'id="lapsing-count">\s*1\s*<', html)
    assert re.findall(r'<tr data-pledge="(\d+)"', html) == [str(pledge.id)]
    assert 'data-offered="no"' in html and "data-confirm=" in html
    response = client.post(
        "/coverage/lapsing/offer-renewals",
        data={"csrf_token": csrf_token(client, "/coverage/lapsing")},
        follow_redirects=True,
    )
    html = response.get_data(as_text=True)
    assert month_end(MONTH) - date.today() <= timedelta(days=30)  # this month ends within notice
    assert "Renewal offered for 1 pledge(s)." in html and 'data-offered="yes"' in html
    assert len(outbox) == 1


def _upload(client, data: bytes, **fields):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf_token(client, "/coverage/city-import"),
        "funder": "apbd",
        "month": f"{add_months(MONTH, 1):%Y-%m}",
        "months": "2",
        "participants": (io.BytesIO(data), "peserta.csv"),
        **fields,
    }
    return client.post("/coverage/city-import", data=form, content_type="multipart/form-data")


def test_city_import_page_checks_then_imports(actors, logged_in):
    people = [factories.worker() for _ in range(2)]
    data = ("nik\n" + "\n".join(worker_nik(w) for w in people) + "\n").encode()
    client = logged_in(actors.staff)
    page = client.get("/coverage/city-import").get_data(as_text=True)
    assert re.search(r'<input checked [^>]*name="dry_run"', page)  # checking is the default
    assert f'value="{add_months(MONTH, 1):%Y-%m}"' in page
    checked = _upload(client, data, dry_run="y")
    assert checked.status_code == 200
    assert 'id="import-result" data-ok="yes"' in checked.get_data(as_text=True)
    assert _count(Coverage) == 0
    done = _upload(client, data)
    assert done.status_code == 302
    assert done.headers["Location"] == f"/coverage/months/{add_months(MONTH, 1):%Y-%m}"
    assert _count(Coverage, Coverage.funder == Funder.APBD) == 4


def test_city_import_page_lists_every_refused_row_and_keeps_the_form(actors, logged_in):
    good = factories.worker()
    data = f"NIK\n{worker_nik(good)}\n123\n{worker_nik(good)}\n".encode()
    response = _upload(logged_in(actors.staff), data, funder="dbhcht", months="3")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and 'data-ok="no"' in html
    assert re.findall(r'<tr data-reason="(\w+)"><td>(\d+)</td>', html) == [
        ("dbhcht_category", "2"),
        ("invalid_nik", "3"),
        ("duplicate", "4"),
    ]
    assert "The same NIK as row 2." in html
    # the category by its name in the reader's language, never its code
    becak = db.session.scalar(select(Category).where(Category.code == "becak"))
    assert f"DBHCHT does not fund the category {becak.name_en}." in html  # an English page
    assert "DBHCHT does not fund the category becak." not in html
    assert '<option selected value="dbhcht">' in html and 'value="3"' in html
    assert _count(Coverage) == 0


def test_city_import_page_refuses_bad_input(actors, logged_in):
    client = logged_in(actors.staff)
    no_column = _upload(client, b"nama\nBudi\n")
    assert no_column.status_code == 400
    assert "no &#39;nik&#39; column" in no_column.get_data(as_text=True)
    bad_month = _upload(client, b"nik\n1\n", month="2026/12")
    assert bad_month.status_code == 400 and "YYYY-MM" in bad_month.get_data(as_text=True)
    assert _count(Coverage) == 0


def test_a_close_runs_as_a_job_the_page_follows(actors, logged_in):
    helpers.covered_pledge(1, 1, MONTH)
    client = logged_in(actors.staff)
    token = csrf_token(client, PAGE)
    with client.application.app_context():  # the request alone, no worker after it
        response = FlaskClient.open(
            client, f"{PAGE}/close", method="POST", data={"csrf_token": token}
        )
    assert response.status_code == 302 and _count(MonthClose) == 0
    html = FlaskClient.open(client, PAGE).get_data(as_text=True)
    assert 'id="closing"' in html and 'data-refresh="2"' in html
    assert 'id="close-month"' not in html and "is being booked" in html
    html = client.get(PAGE).get_data(as_text=True)  # a worker has run meanwhile
    assert 'data-closed="yes"' in html and 'id="closing"' not in html
    assert _count(MonthClose, MonthClose.month == MONTH) == 1
    # the pledge's term ended with the month: its certificate followed, counted on the page
    assert 'id="certificates" data-done="1" data-due="1"' in html


def test_a_close_job_that_keeps_failing_is_shown_failed_and_the_month_stays_open(
    actors, logged_in, monkeypatch
):
    monkeypatch.setattr(handlers, "close_month", _ledger_down)
    client = logged_in(actors.staff)
    client.post(f"{PAGE}/close", data={"csrf_token": csrf_token(client, PAGE)})
    for _ in range(MAX_ATTEMPTS):
        run_pending(include_scheduled=True)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'id="closing"' in html and 'data-job="failed"' in html
    assert 'data-refresh="2"' not in html
    assert _count(MonthClose) == 0


def _ledger_down(month, actor):  # type: ignore[no-untyped-def]
    raise RuntimeError("ledger down")


def test_a_close_refused_by_the_time_its_job_runs_is_recorded_not_retried(actors, logged_in):
    client = logged_in(actors.staff)
    token = csrf_token(client, PAGE)
    with client.application.app_context():  # queued, not run yet
        FlaskClient.open(client, f"{PAGE}/close", method="POST", data={"csrf_token": token})
    close_month(MONTH, actors.staff2)  # someone closed it from the command line meanwhile
    db.session.commit()
    run_pending()
    refused = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "coverage.close_refused")
    ).one()
    assert "closed already" in refused.after["why"]
    assert refused.after["why"] == f"{MONTH:%Y-%m} is closed already"  # English, for the trail
    assert (
        db.session.scalar(
            select(func.count(OutboxEvent.id)).where(
                OutboxEvent.status == EventStatus.DONE, OutboxEvent.kind == "month.close"
            )
        )
        == 1
    )
