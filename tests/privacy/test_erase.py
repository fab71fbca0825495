"""Erasure on request (UU 27/2022): the personal fields become a pseudonym, once and for good,
while coverage, claims, remittances, the ledger and every report keep their numbers."""

from __future__ import annotations

import dataclasses
import time
from datetime import date

import pytest
from sqlalchemy import func, select, update

from portal.audit.models import AuditEvent
from portal.claims.models import Claim
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage, Funder, Remittance
from portal.coverage.remittance import mark_remitted, remittance_rows
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.queries import account_balances
from portal.matching import services as matching
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start, transition_pledge
from portal.privacy.exceptions import AlreadyErased, InvalidReason, NotAllowed
from portal.privacy.services import erase_worker, erased_name
from portal.reports import services as reports
from portal.workers.exceptions import IllegalStatusChange, WorkerErased
from portal.workers.models import InactiveReason, Worker, WorkerStatus, WorkerStatusChange
from portal.workers.pii import current_cipher
from portal.workers.queries import RegisterFilters, register_select
from portal.workers.services import (
    ERASED_NIK,
    WorkerDetails,
    change_worker_status,
    update_worker,
    worker_nik,
)
from tests import factories
from tests.conftest import csrf_token, run_jobs
from tests.matching import builders

MONTH = date.today().replace(day=1)
START = add_months(MONTH, -2)  # three months: two past, this one
REASON = "Surat permintaan no. 12/2026"


def _running_pledge(actors):  # type: ignore[no-untyped-def]
    """Ten workers covered from START through this month: five turn 35 on the 20th of START's
    month (34 on its first day), five are 45. Sri Wahyuni is one of the five about to turn 35."""
    builders.rules(city_quotas={})
    born = [date(START.year - 35, START.month, 20 if n < 5 else 10 + n) for n in range(5)]
    born += [date(START.year - 45, 6, 1 + n) for n in range(5)]
    people = [
        factories.worker(birth_date=b, full_name="Sri Wahyuni" if n == 0 else None)
        for n, b in enumerate(born)
    ]
    company = db.session.get(Company, actors.owner.company_id)
    pledge = builders.paid_pledge(company, workers=10, months=3, start=START)
    db.session.add_all(
        [
            Coverage(
                worker_id=w.id,
                month=add_months(START, k),
                funder=Funder.PLEDGE,
                amount=16_800,
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, w in enumerate(people, 1)
            for k in range(3)
        ]
    )
    pledge.coverage_start = START
    transition_pledge(pledge, PledgeStatus.ACTIVE, None, note="test")
    return pledge, people


@pytest.fixture
def running(actors):  # type: ignore[no-untyped-def]
    """The pledge above, START closed and remitted, and a JKK claim of Sri Wahyuni's."""
    pledge, people = _running_pledge(actors)
    sri = people[0]
    sri.phone_encrypted = current_cipher().encrypt("081234567890")
    sri.kpj = "12345678901"
    sri.address = "Jl. Kenari 5, Semarang"
    sri.dtsen_decile = 2
    close_month(START, actors.staff)
    mark_remitted(START, "csr", "BANK-REF-1", actors.staff)
    record_claim(sri, START.replace(day=3), "jkk", 2_500_000, "", actors.staff)
    return pledge, people


def _figures(app, pledge):  # type: ignore[no-untyped-def]
    """What the reports, the remittances and the ledger say, recomputed from scratch."""
    app.extensions.pop("figures_cache", None)
    company = db.session.get(Company, pledge.company_id)
    with app.test_request_context():
        report = reports.pledge_report(pledge, company.legal_name)
        city = reports.city_figures()
    rows = remittance_rows(START, "csr")
    return {
        "report": report,
        # An erased worker leaves the pool available to new pledges: that figure may move.
        "city": dataclasses.replace(city, available=0),
        "remittance_file": (len(rows), sum(r.amount for r in rows)),
        "remitted": db.session.execute(
            select(Remittance.month, Remittance.funder, Remittance.workers, Remittance.amount)
        ).all(),
        "coverage": db.session.execute(
            select(Coverage.worker_id, Coverage.month, Coverage.amount).order_by(Coverage.id)
        ).all(),
        "claims": db.session.execute(select(Claim.worker_id, Claim.amount)).all(),
        "balances": account_balances(),
    }


def test_erasure_keeps_every_figure_the_ledger_and_the_reports(app, actors, running):
    pledge, people = running
    before = _figures(app, pledge)
    assert check_ledger() == []
    erase_worker(people[0], actors.staff, REASON)
    run_jobs()  # rule R7 finds nothing after this month to move
    assert check_ledger() == []
    after = _figures(app, pledge)
    assert after == before
    ages = {row.key: row.workers for row in after["report"].breakdown("age_band").rows}
    assert ages == {"25_34": 5, "45_54": 5}  # still 34 on the first of START's month


def test_the_remittance_file_keeps_the_row_under_the_pseudonym(actors, running):
    _, people = running
    erase_worker(people[0], actors.staff, REASON)
    rows = [r for r in remittance_rows(START, "csr") if r.name == erased_name(people[0].id)]
    assert [(r.nik, r.kpj, r.amount) for r in rows] == [(ERASED_NIK, "", 16_800)]


def test_name_nik_phone_and_address_are_nowhere_in_the_register(actors, running):
    _, people = running
    sri = people[0]
    nik = worker_nik(sri)
    change_worker_status(sri, WorkerStatus.REGISTERED, actors.staff, "Sri Wahyuni pindah KK")
    erase_worker(sri, actors.staff, REASON)
    db.session.expire_all()
    for worker in db.session.scalars(select(Worker)):
        stored = " ".join(str(getattr(worker, c.key)) for c in Worker.__table__.columns)
        assert "Sri Wahyuni" not in stored and nik not in stored
        assert "Kenari" not in stored and "12345678901" not in stored
        assert current_cipher().decrypt(worker.nik_encrypted) != nik
        if worker.phone_encrypted:
            assert current_cipher().decrypt(worker.phone_encrypted) != "081234567890"
    assert (
        db.session.scalar(
            select(func.count()).where(Worker.nik_hash == current_cipher().lookup_hash(nik))
        )
        == 0
    )
    notes = db.session.scalars(
        select(WorkerStatusChange.note).where(WorkerStatusChange.worker_id == sri.id)
    ).all()
    assert "Sri Wahyuni pindah KK" not in notes and REASON in notes


def test_the_register_search_no_longer_finds_the_worker(actors, running):
    _, people = running
    sri = people[0]
    nik = worker_nik(sri)

    def found(q: str) -> set[int]:
        rows = db.session.execute(register_select(RegisterFilters(q=q), MONTH)).all()
        return {row[0].id for row in rows}

    assert sri.id in found("Sri Wah") and found(nik) == {sri.id}
    erase_worker(sri, actors.staff, REASON)
    assert sri.id not in found("Sri Wah")
    assert found(nik) == set()
    assert found("12345678901") == set()
    assert found("Dihapus PJS-") == {sri.id}


def test_the_erased_worker_is_inactive_with_a_pseudonym_and_birth_month(actors, running):
    _, people = running
    sri = people[0]
    born = sri.birth_date
    erase_worker(sri, actors.staff, REASON)
    assert (sri.status, sri.inactive_reason) == (WorkerStatus.INACTIVE, InactiveReason.ERASED)
    assert sri.full_name == erased_name(sri.id)
    assert sri.full_name.startswith("Dihapus PJS-") and len(sri.full_name) == 21
    assert (sri.nik_masked, sri.phone_encrypted, sri.kpj, sri.address) == (
        ERASED_NIK,
        None,
        None,
        "",
    )
    assert sri.dtsen_decile is None and sri.erased_at is not None
    assert sri.birth_date == born.replace(day=15)
    assert (sri.sex, sri.category_id, sri.kelurahan_code) == (
        "L",
        people[1].category_id,
        "33.74.01.1001",
    )


def test_a_birthday_on_the_first_stays_on_the_first(actors):
    worker = factories.worker(birth_date=date(1980, 3, 1))
    erase_worker(worker, actors.staff, REASON)
    assert worker.birth_date == date(1980, 3, 1)


def test_an_erased_worker_never_changes_again(actors):
    worker = factories.worker()
    erase_worker(worker, actors.staff, REASON)
    with pytest.raises(AlreadyErased):
        erase_worker(worker, actors.staff, REASON)
    with pytest.raises(IllegalStatusChange):
        change_worker_status(worker, WorkerStatus.REGISTERED, actors.staff, "kembali")
    details = WorkerDetails(
        "Nama Baru",
        worker.birth_date,
        "L",
        worker.category_id,
        worker.kelurahan_code,
        "",
        None,
        None,
        None,
        False,
        False,
    )
    with pytest.raises(WorkerErased):
        update_worker(worker, details, actors.staff)
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "worker.erase")) == 1


def test_an_erasure_that_lost_a_race_is_refused(actors):
    worker = factories.worker()
    db.session.execute(  # another request erased the worker meanwhile
        update(Worker)
        .where(Worker.id == worker.id)
        .values(status="inactive", inactive_reason="erased", erased_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    with pytest.raises(AlreadyErased):
        erase_worker(worker, actors.staff, REASON)


def test_an_inactive_worker_keeps_its_reason_when_erased(actors):
    worker = factories.worker(status="inactive")
    erase_worker(worker, actors.staff, REASON)
    assert (worker.inactive_reason, worker.erased_at is not None) == ("moved", True)


@pytest.mark.parametrize("reason", ["", "  x ", "y" * 201])
def test_a_reason_is_needed(actors, reason):
    worker = factories.worker()
    with pytest.raises(InvalidReason):
        erase_worker(worker, actors.staff, reason)
    assert worker.erased_at is None


def test_auditors_may_not_erase(actors):
    worker = factories.worker()
    with pytest.raises(NotAllowed):
        erase_worker(worker, actors.auditor, REASON)
    assert worker.erased_at is None and worker.status == WorkerStatus.ELIGIBLE


def test_the_erased_worker_s_later_months_pass_to_the_next_worker(actors, logged_in):
    builders.rules(city_quotas={})
    month = earliest_start()
    first = factories.worker(category_code="ojek")
    builders.paid_pledge(builders.sponsor(), workers=1, months=3, start=month, categories=("ojek",))
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    later = factories.worker(category_code="ojek")
    client = logged_in(actors.staff)
    path = f"/staff/workers/{first.id}/privacy/erase"
    page = client.get(path).get_data(as_text=True)
    assert "Coverage months after this month (3) pass to the next worker" in page
    client.post(
        path, data={"csrf_token": csrf_token(client, path), "reason": REASON, "confirm": "y"}
    )
    months = db.session.execute(
        select(Coverage.worker_id, func.count()).group_by(Coverage.worker_id)
    ).all()
    assert dict(months) == {later.id: 3}


# --- the page -------------------------------------------------------------------------------


def test_the_page_confirms_then_erases_and_audits_without_personal_data(actors, logged_in, running):
    _, people = running
    sri = people[0]
    nik = worker_nik(sri)
    path = f"/staff/workers/{sri.id}/privacy/erase"
    client = logged_in(actors.staff)
    page = client.get(path)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Sri Wahyuni" in html and sri.nik_masked in html
    assert "Not yet remitted to BPJS TK" in html  # the two months since START
    token = csrf_token(client, path)
    unticked = client.post(path, data={"csrf_token": token, "reason": REASON})
    assert unticked.status_code == 400
    assert db.session.get(Worker, sri.id).erased_at is None
    done = client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    assert done.status_code == 302
    assert done.headers["Location"] == f"/staff/workers/{sri.id}"
    detail = client.get(f"/staff/workers/{sri.id}").get_data(as_text=True)
    assert erased_name(sri.id) in detail and "Personal data erased on" in detail
    assert "Sri Wahyuni" not in detail and nik not in detail
    assert "/privacy/erase" not in detail and f"/staff/workers/{sri.id}/edit" not in detail
    typed = client.get(f"/staff/workers/{sri.id}/edit")  # the edit page, typed by hand
    assert typed.status_code == 302 and typed.headers["Location"] == f"/staff/workers/{sri.id}"
    written = db.session.scalars(
        select(AuditEvent)
        .where(AuditEvent.action.in_(["worker.erase", "worker.status"]))
        .order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.object_id) for e in written] == [
        ("worker.status", str(sri.id)),
        ("worker.erase", str(sri.id)),
    ]
    assert written[1].after == {"reason": REASON}
    for event in written:
        text = f"{event.before} {event.after}"
        assert "Sri Wahyuni" not in text and nik not in text and "Kenari" not in text


def test_a_second_erasure_is_refused_cleanly(actors, logged_in):
    worker = factories.worker()
    client = logged_in(actors.staff)
    path = f"/staff/workers/{worker.id}/privacy/erase"
    token = csrf_token(client, path)
    client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    again = client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    assert again.status_code == 302
    assert again.headers["Location"] == f"/staff/workers/{worker.id}"
    assert client.get(path).status_code == 302
    flashed = client.get(f"/staff/workers/{worker.id}").get_data(as_text=True)
    assert "erased already" in flashed
    assert db.session.scalar(select(func.count()).where(AuditEvent.action == "worker.erase")) == 1


def test_a_race_lost_on_the_page_is_refused_cleanly(actors, logged_in, monkeypatch):
    worker = factories.worker()
    client = logged_in(actors.staff)
    path = f"/staff/workers/{worker.id}/privacy/erase"
    token = csrf_token(client, path)

    def lost(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AlreadyErased("erased by another request")

    monkeypatch.setattr("portal.privacy.services.erase_worker", lost)
    response = client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    assert response.status_code == 302
    assert "erased already" in client.get(response.headers["Location"]).get_data(as_text=True)


def test_a_stale_login_is_asked_for_the_password_before_erasing(actors, logged_in):
    worker = factories.worker()
    client = logged_in(actors.staff)
    path = f"/staff/workers/{worker.id}/privacy/erase"
    token = csrf_token(client, path)
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - 3600
    assert "/auth/confirm" in client.get(path).headers["Location"]
    sent = client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    assert sent.status_code == 302 and "/auth/confirm" in sent.headers["Location"]
    assert db.session.get(Worker, worker.id).erased_at is None


@pytest.mark.parametrize("role", ["auditor", "sponsor_owner"])
def test_auditors_and_sponsors_cannot_reach_the_page(actors, logged_in, role):
    worker = factories.worker()
    client = logged_in(actors.by_role(role))
    path = f"/staff/workers/{worker.id}/privacy/erase"
    assert client.get(path).status_code == 403
    token = csrf_token(client, "/auth/forgot")
    sent = client.post(path, data={"csrf_token": token, "reason": REASON, "confirm": "y"})
    assert sent.status_code == 403
    assert db.session.get(Worker, worker.id).erased_at is None
