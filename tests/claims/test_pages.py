"""Staff claim pages: list, detail (with the JKM hint), the form, the file upload, access."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from portal.claims.models import Claim
from portal.claims.services import record_claim
from portal.coverage.models import Funder
from portal.extensions import db
from portal.pledges.pricing import add_months
from portal.workers.models import InactiveReason, Worker, WorkerStatus
from portal.workers.services import change_worker_status, worker_nik
from tests import factories
from tests.claims.files import claim_csv
from tests.conftest import csrf_token
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
LAST_MONTH = add_months(MONTH, -1)
SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def _claims() -> int:
    return db.session.scalar(select(func.count(Claim.id)))


def _text(html: str, element_id: str) -> str:
    match = re.search(rf'id="{element_id}"[^>]*>(.*?)</', html, re.S)
    assert match, f"no #{element_id}"
    return re.sub(r"\s+", " ", match.group(1)).strip()


def test_staff_list_shows_masked_nik_name_funder_pledge_and_amount(actors, logged_in):
    pledge, (worker,) = helpers.covered_pledge(1, 1, MONTH, names=("Siti Aminah",))
    claim = record_claim(worker, MONTH, "jkk", 1_500_000, "", actors.staff)
    html = logged_in(actors.staff).get("/claims/").get_data(as_text=True)
    row = re.search(rf'<tr data-claim="{claim.id}".*?</tr>', html, re.S).group(0)
    assert worker.nik_masked in row and "Siti Aminah" in row
    assert f"#{pledge.id}" in row and "Company sponsor (CSR)" in row
    assert "Rp1,500,000" in row and ">JKK<" in row
    assert not SIXTEEN_DIGITS.search(html)
    assert 'href="/claims/"' in html  # the nav item


def test_the_list_filters_by_kind(actors, logged_in):
    workers = helpers.city_workers(Funder.APBD, MONTH, 2)
    jkk = record_claim(workers[0], MONTH, "jkk", 1_000, "", actors.staff)
    jkm = record_claim(workers[1], MONTH, "jkm", 2_000, "", actors.staff)
    html = logged_in(actors.admin).get("/claims/?kind=jkm").get_data(as_text=True)
    assert re.findall(r'<tr data-claim="(\d+)"', html) == [str(jkm.id)]
    assert f'data-claim="{jkk.id}"' not in html
    assert _text(html, "result-count") == "1 claims found"


def test_auditors_see_masked_niks_and_no_names_and_cannot_record(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    worker.full_name = "Rahasia Sekali"
    claim = record_claim(worker, MONTH, "jkm", 42_000_000, "", actors.staff)
    client = logged_in(actors.auditor)
    listing = client.get("/claims/").get_data(as_text=True)
    detail = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    for html in (listing, detail):
        assert worker.nik_masked in html and "Rahasia Sekali" not in html
        assert not SIXTEEN_DIGITS.search(html)
        assert 'href="/claims/new"' not in html
    assert 'id="death-hint"' not in detail
    assert client.get("/claims/new").status_code == 403
    token = csrf_token(client, "/claims/")
    response = client.post(
        "/claims/new",
        data={
            "csrf_token": token,
            "nik": worker_nik(worker),
            "event_date": f"{MONTH:%Y-%m-%d}",
            "kind": "jkk",
            "amount": "1000",
        },
    )
    assert response.status_code == 403 and _claims() == 1
    assert client.post("/claims/import", data={"csrf_token": token}).status_code == 403


@pytest.mark.parametrize("path", ["/claims/", "/claims/new", "/claims/import", "/claims/1"])
def test_sponsors_are_refused_every_claim_page(actors, logged_in, path):
    for user in (actors.owner, actors.member):
        assert logged_in(user).get(path).status_code == 403


def test_staff_records_a_claim_with_the_form_and_sees_the_death_hint(actors, logged_in):
    pledge, (worker,) = helpers.covered_pledge(1, 1, MONTH)
    client = logged_in(actors.staff)
    html = client.get("/claims/new").get_data(as_text=True)
    assert 'id="claim-form"' in html and "do not write the worker" in html
    response = client.post(
        "/claims/new",
        data={
            "csrf_token": csrf_token(client, "/claims/new"),
            "nik": worker_nik(worker),
            "event_date": f"{MONTH:%Y-%m-%d}",
            "kind": "jkm",
            "amount": "Rp42.000.000",
            "story": "Meninggal saat bekerja.",
        },
    )
    claim = db.session.scalar(select(Claim))
    assert response.status_code == 302
    assert response.headers["Location"] == f"/claims/{claim.id}"
    assert (claim.worker_id, claim.kind, claim.amount, claim.pledge_id, claim.recorded_by_id) == (
        worker.id,
        "jkm",
        42_000_000,
        pledge.id,
        actors.staff.id,
    )
    detail = client.get(f"/claims/{claim.id}").get_data(as_text=True)
    assert f"Claim #{claim.id} recorded." in detail
    assert _text(detail, "amount") == "Rp42,000,000"
    assert _text(detail, "story") == "Meninggal saat bekerja."
    hint = re.search(r'id="death-hint".*?</div>', detail, re.S).group(0)
    assert f'href="/staff/workers/{worker.id}"' in hint
    assert db.session.get(Worker, worker.id).status == WorkerStatus.ELIGIBLE


def test_the_death_hint_goes_once_the_worker_is_marked_deceased(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    jkm = record_claim(worker, MONTH, "jkm", 42_000_000, "", actors.staff)
    (other,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    jkk = record_claim(other, MONTH, "jkk", 1_000, "", actors.staff)
    client = logged_in(actors.staff)
    assert 'id="death-hint"' not in client.get(f"/claims/{jkk.id}").get_data(as_text=True)
    assert 'id="death-hint"' in client.get(f"/claims/{jkm.id}").get_data(as_text=True)
    worker = db.session.get(Worker, worker.id)  # the request ended the test's session
    change_worker_status(
        worker, WorkerStatus.INACTIVE, actors.staff, "JKM claim", InactiveReason.DECEASED
    )
    assert 'id="death-hint"' not in client.get(f"/claims/{jkm.id}").get_data(as_text=True)


def test_a_worker_not_covered_is_refused_with_a_message_and_the_input_kept(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    client = logged_in(actors.staff)
    event = LAST_MONTH + timedelta(days=4)
    response = client.post(
        "/claims/new",
        data={
            "csrf_token": csrf_token(client, "/claims/new"),
            "nik": worker_nik(worker),
            "event_date": f"{event:%Y-%m-%d}",
            "kind": "jkk",
            "amount": "1.250.000",
            "story": "Kaki terkilir.",
        },
    )
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _claims() == 0
    assert f"This worker was not covered in {LAST_MONTH:%B %Y}" in html
    assert f'value="{worker_nik(worker)}"' in html and 'value="1.250.000"' in html
    assert f'value="{event:%Y-%m-%d}"' in html and "Kaki terkilir." in html


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"nik": "3374010101800000"}, "nik", "Not a valid NIK"),
        ({"nik": "33740101018"}, "nik", "NIK is exactly 16 digits."),
        ({"amount": "0"}, "amount", "Write the amount in whole rupiah above 0"),
        (
            {"event_date": f"{date.today() + timedelta(days=1):%Y-%m-%d}"},
            "event_date",
            "cannot be in the future",
        ),
        ({"story": "z" * 501}, "story", "500"),
    ],
)
def test_field_errors_are_shown_under_their_field(actors, logged_in, change, field, message):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    client = logged_in(actors.staff)
    data = {
        "csrf_token": csrf_token(client, "/claims/new"),
        "nik": worker_nik(worker),
        "event_date": f"{MONTH:%Y-%m-%d}",
        "kind": "jkk",
        "amount": "1000",
        **change,
    }
    response = client.post("/claims/new", data=data)
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and _claims() == 0
    assert re.search(rf'id="{field}"[^>]*is-invalid|is-invalid[^>]*id="{field}"', html)
    assert message in html


def test_an_unknown_nik_and_a_duplicate_are_refused(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    record_claim(worker, MONTH, "jkk", 1_000, "", actors.staff)
    stranger = factories.worker()
    nik = worker_nik(stranger)
    db.session.delete(stranger)
    client = logged_in(actors.staff)
    token = csrf_token(client, "/claims/new")
    base = {"csrf_token": token, "event_date": f"{MONTH:%Y-%m-%d}", "kind": "jkk", "amount": "1000"}
    unknown = client.post("/claims/new", data={**base, "nik": nik})
    assert unknown.status_code == 400
    assert "No worker with this NIK is on the register." in unknown.get_data(as_text=True)
    twice = client.post("/claims/new", data={**base, "nik": worker_nik(worker)})
    assert twice.status_code == 400
    assert (
        f"A JKK claim for this worker on {MONTH:%B} {MONTH.day}, {MONTH.year} is recorded already."
    ) in twice.get_data(as_text=True)
    assert _claims() == 1


def test_an_unknown_claim_is_404(actors, logged_in):
    assert logged_in(actors.staff).get("/claims/987654").status_code == 404


def _upload(client, data: bytes, dry_run: bool):  # type: ignore[no-untyped-def]
    form = {
        "csrf_token": csrf_token(client, "/claims/import"),
        "claims": (io.BytesIO(data), "klaim.csv"),
    }
    if dry_run:
        form["dry_run"] = "y"
    return client.post("/claims/import", data=form, content_type="multipart/form-data")


def test_upload_dry_run_lists_refused_rows_then_an_import_records(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    client = logged_in(actors.staff)
    assert 'id="claim-import-form"' in client.get("/claims/import").get_data(as_text=True)
    day = f"{MONTH:%d/%m/%Y}"
    bad = claim_csv(
        (worker_nik(worker), day, "jkk", "Rp1.500.000", ""),
        (worker_nik(worker), day, "JKK", "900", ""),
        (worker_nik(worker), day, "jkx", "900", ""),
    )
    html = _upload(client, bad, dry_run=True).get_data(as_text=True)
    assert 'data-ok="no"' in html
    rows = re.findall(
        r'<tr data-row="(\d+)" data-reason="(\w+)"><td>\d+</td>'
        r'<td class="font-monospace">(\w+)</td><td>(.*?)</td>',
        html,
    )
    assert rows == [
        ("3", "duplicate", "nik", "The same worker, type and date as row 2."),
        ("4", "bad_type", "jenis", "The type must be jkk or jkm."),
    ]
    assert "2 of 3 rows were refused" in html
    good = claim_csv((worker_nik(worker), day, "jkk", "Rp1.500.000", ""))
    checked = _upload(client, good, dry_run=True).get_data(as_text=True)
    assert 'data-ok="yes"' in checked and "1 of 1 rows would be recorded (Rp1,500,000)" in checked
    assert _claims() == 0
    done = _upload(client, good, dry_run=False)
    assert done.status_code == 302 and done.headers["Location"] == "/claims/"
    assert db.session.scalar(select(Claim.amount)) == 1_500_000


def test_an_unreadable_upload_is_refused_with_its_reason(actors, logged_in):
    client = logged_in(actors.staff)
    response = _upload(client, b"nik;tanggal\r\n", dry_run=True)
    assert response.status_code == 400
    assert (
        "Nothing was imported: The first row lacks the column(s): jenis/type, "
        "jumlah/amount." in response.get_data(as_text=True)
    )


ROLES = ["anonymous", "sponsor_owner", "sponsor_member", "staff", "admin", "auditor"]
LOGIN, OK, FORBIDDEN, BAD, MISSING = 302, 200, 403, 400, 404
EXPECTED = {
    ("GET", "/claims/"): (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, OK),
    ("GET", "/claims/new"): (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "/claims/new"): (LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
    ("GET", "/claims/987654"): (LOGIN, FORBIDDEN, FORBIDDEN, MISSING, MISSING, MISSING),
    ("GET", "/claims/import"): (LOGIN, FORBIDDEN, FORBIDDEN, OK, OK, FORBIDDEN),
    ("POST", "/claims/import"): (LOGIN, FORBIDDEN, FORBIDDEN, BAD, BAD, FORBIDDEN),
}


@pytest.mark.parametrize("role", ROLES)
def test_access_by_role_matches_the_rows_for_the_access_table(app, actors, logged_in, role):
    client = app.test_client() if role == "anonymous" else logged_in(actors.by_role(role))
    found = {}
    for method, path in EXPECTED:
        if method == "GET":
            found[(method, path)] = client.get(path).status_code
        else:
            token = csrf_token(client, "/auth/forgot")
            found[(method, path)] = client.post(path, data={"csrf_token": token}).status_code
    assert found == {key: codes[ROLES.index(role)] for key, codes in EXPECTED.items()}
