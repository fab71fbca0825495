"""Staff work in their region: another region's worker is a 404, lists hold only their own
region's rows, and work done for them later (events, scheduled jobs) runs in their region."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import ClassVar

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.events import HANDLERS, Event, EventStatus, OutboxEvent, emit, handles
from portal.extensions import db
from portal.jobs import relay, run_pending
from portal.regions.scope import current_region, region_scope
from portal.regions.services import add_region
from portal.schedule import run_once
from portal.workers.models import Worker
from tests import factories
from tests.conftest import csrf_token

KUDUS = "33.19"


@pytest.fixture
def kudus(app):  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    with region_scope(KUDUS):
        staff = factories.user(Role.STAFF)
        worker = factories.worker(full_name="Sutini Kudus")
        db.session.flush()
    db.session.expunge_all()
    return staff, worker.id


def test_a_staff_member_works_in_the_region_in_scope_and_sponsors_in_none(actors, kudus):
    staff, _ = kudus
    assert staff.region_code == KUDUS
    assert actors.staff.region_code == "33.74"
    assert actors.owner.region_code is None


def test_another_regions_worker_is_a_404_and_never_listed(actors, kudus, logged_in):
    kudus_staff, kudus_worker = kudus
    semarang_worker = factories.worker(full_name="Slamet Semarang").id
    db.session.commit()
    semarang = logged_in(actors.staff)
    kudus_client = logged_in(db.session.get_one(User, kudus_staff.id))
    assert semarang.get(f"/staff/workers/{kudus_worker}").status_code == 404
    assert kudus_client.get(f"/staff/workers/{semarang_worker}").status_code == 404
    assert kudus_client.get(f"/staff/workers/{kudus_worker}").status_code == 200
    kudus_list = kudus_client.get("/staff/workers").get_data(as_text=True)
    assert "Sutini Kudus" in kudus_list and "Slamet Semarang" not in kudus_list
    semarang_list = semarang.get("/staff/workers").get_data(as_text=True)
    assert "Slamet Semarang" in semarang_list and "Sutini Kudus" not in semarang_list


@dataclass(frozen=True)
class Seen(Event):
    kind: ClassVar[str] = "test.region"
    note: str


def test_an_event_is_handled_in_the_region_it_happened_in(app, kudus):
    regions: list[tuple[str, str]] = []

    @handles("test.region")
    def record(payload: dict[str, object]) -> None:
        names = db.session.scalars(select(Worker.full_name)).all()
        regions.append((current_region(), ",".join(names)))

    try:
        with region_scope(KUDUS):
            [kudus_row] = emit(db.session, Seen(note="kudus"))
        [semarang_row] = emit(db.session, Seen(note="semarang"))
        assert (kudus_row.region_code, semarang_row.region_code) == (KUDUS, "33.74")
        db.session.commit()
        relay(force=True)
        run_pending()
        assert sorted(regions) == [("33.19", "Sutini Kudus"), ("33.74", "")]
        statuses = db.session.scalars(
            select(OutboxEvent.status).where(OutboxEvent.kind == "test.region")
        ).all()
        assert statuses == [EventStatus.DONE, EventStatus.DONE]
    finally:
        HANDLERS.pop("test.region", None)


def test_a_scheduled_job_visits_every_region_once(app, kudus):
    visited: list[tuple[str, int]] = []

    def work() -> None:
        count = len(db.session.scalars(select(Worker.id)).all())
        visited.append((current_region(), count))

    assert run_once("test-visit", f"{date.today():%Y-%m-%d}", work)
    assert visited == [(KUDUS, 1), ("33.74", 0)]
    assert not run_once("test-visit", f"{date.today():%Y-%m-%d}", work)
    assert len(visited) == 2


def test_users_create_makes_a_staff_member_of_a_region_and_mails_the_link(app, outbox):
    runner = app.test_cli_runner()
    assert runner.invoke(args=["regions", "add", KUDUS]).exit_code == 0
    result = runner.invoke(
        args=["users", "create", "petugas@kuduskab.go.id", "--role", "staff", "--region", KUDUS]
    )
    assert result.exit_code == 0, result.output
    assert "Staff petugas@kuduskab.go.id of 33.19 created" in result.output
    user = db.session.scalars(select(User).where(User.email == "petugas@kuduskab.go.id")).one()
    assert (user.role, user.region_code, user.password_hash) == ("staff", KUDUS, None)
    assert [mail.to for mail in outbox] == [["petugas@kuduskab.go.id"]]
    unknown = runner.invoke(
        args=["users", "create", "x@example.com", "--role", "auditor", "--region", "33.24"]
    )
    assert unknown.exit_code == 1 and "no region 33.24" in unknown.output
    again = runner.invoke(args=["users", "create", "petugas@kuduskab.go.id", "--role", "admin"])
    assert again.exit_code == 1 and "exists already" in again.output


def test_an_admin_manages_the_accounts_of_their_own_region_only(actors, kudus, logged_in):
    kudus_staff, _ = kudus
    admin = logged_in(actors.admin)
    page = admin.get("/admin/accounts").get_data(as_text=True)
    assert actors.staff.email in page and kudus_staff.email not in page
    token = csrf_token(admin, "/admin/accounts")
    other = admin.post(f"/admin/accounts/{kudus_staff.id}/active", data={"csrf_token": token})
    assert other.status_code == 404
    sponsor = admin.post(f"/admin/accounts/{actors.owner.id}/active", data={"csrf_token": token})
    assert sponsor.status_code == 404
    assert db.session.get_one(User, kudus_staff.id).active


def test_auditors_read_their_regions_audit_trail_and_admins_their_jobs(actors, kudus, logged_in):
    kudus_staff, kudus_worker = kudus
    with region_scope(KUDUS):
        auditor = factories.user(Role.AUDITOR)
        admin = factories.user(Role.ADMIN)
        record_event("worker.update", db.session.get_one(Worker, kudus_worker), actor=kudus_staff)
        [kudus_job] = emit(db.session, Seen(note="kudus"))
        kudus_job.status = EventStatus.FAILED
    semarang_worker = factories.worker()
    record_event("worker.update", semarang_worker, actor=actors.staff)
    [semarang_job] = emit(db.session, Seen(note="semarang"))
    semarang_job.status = EventStatus.FAILED
    db.session.commit()
    kudus_trail = (
        logged_in(db.session.get_one(User, auditor.id)).get("/audit").get_data(as_text=True)
    )
    semarang_trail = logged_in(actors.auditor).get("/audit").get_data(as_text=True)
    assert f"/staff/workers/{kudus_worker}" not in semarang_trail
    assert kudus_trail.count("worker.update") + kudus_trail.count("Data pekerja") >= 0
    with region_scope(KUDUS):
        assert {e.actor_id for e in db.session.scalars(select(AuditEvent))} == {kudus_staff.id}
    assert kudus_staff.id not in {e.actor_id for e in db.session.scalars(select(AuditEvent))}
    kudus_admin = logged_in(db.session.get_one(User, admin.id))
    jobs = kudus_admin.get("/admin/jobs").get_data(as_text=True)
    assert f"/admin/jobs/{kudus_job.id}/retry" in jobs
    assert f"/admin/jobs/{semarang_job.id}/retry" not in jobs
    token = csrf_token(kudus_admin, "/admin/jobs")
    other = kudus_admin.post(f"/admin/jobs/{semarang_job.id}/retry", data={"csrf_token": token})
    assert other.status_code == 404
