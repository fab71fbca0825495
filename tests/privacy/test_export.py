"""A worker's data on request (UU 27/2022): everything held, as JSON and PDF, for staff and
admins only, after a fresh password, audited without the NIK."""

from __future__ import annotations

import io
import json
import re
import time
from datetime import date

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.coverage.models import Funder
from portal.extensions import db
from portal.pledges.pricing import add_months
from portal.privacy.queries import event_lines
from portal.privacy.services import erase_worker, erased_name
from portal.workers.pii import current_cipher
from portal.workers.services import ERASED_NIK, worker_nik
from tests import factories
from tests.conftest import PASSWORD, csrf_token
from tests.coverage import helpers

MONTH = date.today().replace(day=1)
START = add_months(MONTH, -1)
SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


@pytest.fixture
def covered(actors):  # type: ignore[no-untyped-def]
    """Sri Wahyuni, with phone, KPJ and address, covered by a pledge for 3 months from last
    month beside Slamet Riyadi, with a JKK claim; Slamet's slot was handed over to her."""
    pledge, (worker, other) = helpers.covered_pledge(
        2, 3, START, names=("Sri Wahyuni", "Slamet Riyadi")
    )
    worker.phone_encrypted = current_cipher().encrypt("081234567890")
    worker.kpj = "12345678901"
    worker.address = "Jl. Kenari 5, Semarang"
    record_claim(worker, START.replace(day=3), "jkk", 2_500_000, "Jatuh dari becak", actors.staff)
    record_event(
        "coverage.pass_on",
        pledge,
        actor=None,
        after={"slot": 2, "from_worker_id": other.id, "to_worker_id": worker.id, "months": []},
    )
    record_event("worker.view_pii", other, actor=actors.staff)  # about somebody else
    return pledge, worker, other


def _exports() -> list[AuditEvent]:
    return list(
        db.session.scalars(select(AuditEvent).where(AuditEvent.action == "worker.privacy_export"))
    )


def test_json_holds_the_register_fields_coverage_claims_and_events(actors, logged_in, covered):
    pledge, worker, other = covered
    nik = worker_nik(worker)
    client = logged_in(actors.staff)
    client.get(f"/staff/workers/{worker.id}")  # a look at the NIK, audited
    response = client.get(f"/staff/workers/{worker.id}/privacy/export.json")
    assert response.status_code == 200
    assert response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    disposition = response.headers["Content-Disposition"]
    assert disposition == f'attachment; filename="data-pribadi-pekerja-{worker.id}.json"'
    document = json.loads(response.data)
    held = document["worker"]
    assert (held["id"], held["full_name"], held["nik"]) == (worker.id, "Sri Wahyuni", nik)
    assert (held["phone"], held["kpj"]) == ("081234567890", "12345678901")
    assert held["address"] == "Jl. Kenari 5, Semarang"
    assert held["birth_date"] == worker.birth_date.isoformat()
    assert held["kelurahan"]["code"] == worker.kelurahan_code
    company = db.session.get(Company, pledge.company_id).legal_name
    assert [
        (c["month"], c["funder"], c["pledge_id"], c["company"]) for c in document["coverage"]
    ] == [(f"{add_months(START, k):%Y-%m}", "pledge", pledge.id, company) for k in range(3)]
    assert [(c["kind"], c["amount"], c["story"]) for c in document["claims"]] == [
        ("jkk", 2_500_000, "Jatuh dari becak")
    ]
    actions = [e["action"] for e in document["audit_events"]]
    assert actions == ["claim.record", "coverage.pass_on", "worker.view_pii"]
    handed = document["audit_events"][1]
    assert handed["after"] == {"slot": 2, "months": [], "direction": "to"}
    assert handed["by"] == "system" and document["audit_events"][2]["by"] == "staff"
    assert "Slamet Riyadi" not in response.get_data(as_text=True)
    assert worker_nik(other) not in response.get_data(as_text=True)


def test_each_export_is_audited_by_the_worker_id_without_the_nik(actors, logged_in, covered):
    _, worker, _ = covered
    nik = worker_nik(worker)
    client = logged_in(actors.admin)
    assert client.get(f"/staff/workers/{worker.id}/privacy/export.json").status_code == 200
    assert client.get(f"/staff/workers/{worker.id}/privacy/export.pdf").status_code == 200
    events = _exports()
    assert [(e.object_type, e.object_id, e.after) for e in events] == [
        ("worker", str(worker.id), {"format": "json"}),
        ("worker", str(worker.id), {"format": "pdf"}),
    ]
    assert all(e.actor_id == actors.admin.id for e in events)
    for e in events:
        assert nik not in f"{e.before} {e.after} {e.object_id}"
        assert "Sri Wahyuni" not in f"{e.before} {e.after}"


def test_the_pdf_opens_and_shows_the_name_nik_coverage_and_claim(actors, logged_in, covered):
    _, worker, _ = covered
    response = logged_in(actors.staff).get(f"/staff/workers/{worker.id}/privacy/export.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert "data-pribadi-pekerja-" in response.headers["Content-Disposition"]
    reader = PdfReader(io.BytesIO(response.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Sri Wahyuni" in text
    assert worker_nik(worker) in text
    assert "Jatuh dari becak" in text
    assert "081234567890" in text
    assert "Slamet Riyadi" not in text
    title = str((reader.metadata or {}).get("/Title"))
    assert str(worker.id) in title and "Sri Wahyuni" not in title
    assert SIXTEEN_DIGITS.search(title) is None


def test_a_worker_without_coverage_or_claims_gets_empty_sections(actors, logged_in):
    worker = factories.worker(full_name="Siti Aminah")
    response = logged_in(actors.staff).get(f"/staff/workers/{worker.id}/privacy/export.pdf")
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert "Siti Aminah" in text
    assert "No coverage yet." in text and "No benefit claims." in text


@pytest.mark.parametrize("role", ["auditor", "sponsor_owner", "sponsor_member"])
@pytest.mark.parametrize("fmt", ["json", "pdf"])
def test_auditors_and_sponsors_are_refused(actors, logged_in, covered, role, fmt):
    _, worker, _ = covered
    client = logged_in(actors.by_role(role))
    response = client.get(f"/staff/workers/{worker.id}/privacy/export.{fmt}")
    assert response.status_code == 403
    assert _exports() == []


def test_an_unknown_worker_is_404(actors, logged_in):
    assert (
        logged_in(actors.staff).get("/staff/workers/987654/privacy/export.json").status_code == 404
    )


def test_a_stale_login_is_asked_for_the_password_first(actors, logged_in, covered):
    _, worker, _ = covered
    path = f"/staff/workers/{worker.id}/privacy/export.json"
    client = logged_in(actors.staff)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 3600
    response = client.get(path)
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    assert _exports() == []
    token = csrf_token(client, "/auth/confirm")
    confirmed = client.post(
        f"/auth/confirm?next={path}",
        data={"csrf_token": token, "password": PASSWORD, "next": path},
    )
    assert confirmed.headers["Location"] == path
    assert client.get(path).status_code == 200
    assert len(_exports()) == 1


def test_the_worker_page_offers_export_and_erasure_to_staff_only(actors, logged_in, covered):
    _, worker, _ = covered
    path = f"/staff/workers/{worker.id}"
    staff = logged_in(actors.staff).get(path).get_data(as_text=True)
    assert f"/staff/workers/{worker.id}/privacy/export.pdf" in staff
    assert f"/staff/workers/{worker.id}/privacy/export.json" in staff
    assert f"/staff/workers/{worker.id}/privacy/erase" in staff
    auditor = logged_in(actors.auditor).get(path).get_data(as_text=True)
    assert "/privacy/" not in auditor


def test_events_about_other_workers_are_left_out(actors, covered):
    _, worker, other = covered
    assert [e.action for e in event_lines(other.id)] == ["coverage.pass_on", "worker.view_pii"]
    assert event_lines(other.id)[0].after == {"slot": 2, "months": [], "direction": "from"}
    assert "worker.view_pii" not in [e.action for e in event_lines(worker.id)]


def test_after_an_erasure_the_export_holds_the_pseudonym_only(actors, logged_in):
    (worker,) = helpers.city_workers(Funder.APBD, MONTH, 1)
    worker.full_name = "Siti Aminah"
    nik = worker_nik(worker)
    erase_worker(worker, actors.staff, "Formulir permintaan 7")
    client = logged_in(actors.staff)
    document = json.loads(client.get(f"/staff/workers/{worker.id}/privacy/export.json").data)
    assert document["worker"]["full_name"] == erased_name(worker.id)
    assert (document["worker"]["nik"], document["worker"]["inactive_reason"]) == (
        ERASED_NIK,
        "erased",
    )
    assert [(c["funder"], c["company"]) for c in document["coverage"]] == [("apbd", None)]
    pdf = client.get(f"/staff/workers/{worker.id}/privacy/export.pdf").data
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert erased_name(worker.id) in text and "personal data erased on" in text
    assert "City budget (APBD)" in text
    assert "Siti Aminah" not in text and nik not in text
