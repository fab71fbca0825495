"""The job engine: events written with the change, delivered after commit, retried with
backoff, dead-lettered, handed over again when lost; scheduled jobs once per period."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from typing import ClassVar

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import func, select

from portal.companies.models import Company
from portal.coverage.models import MonthClose
from portal.db import utcnow
from portal.events import (
    HANDLERS,
    Event,
    EventStatus,
    MailRequested,
    OutboxEvent,
    emit,
    handles,
)
from portal.extensions import db
from portal.jobs import (
    MAX_ATTEMPTS,
    clear_progress,
    follow,
    huey,
    progress_of,
    relay,
    run_pending,
    set_progress,
)
from portal.mail import queue_mail
from portal.payments.models import Payment, PaymentStatus
from portal.payments.services import start_bank_transfer
from portal.pledges.pricing import add_months
from portal.pledges.services import PledgeTerms, create_pledge, earliest_start, submit_pledge
from portal.schedule import (
    ScheduledRun,
    delete_roster_files,
    forecast_lapses,
    remind_month_close,
    run_job,
    run_once,
)
from portal.workers.models import ImportJob, ImportState
from tests.conftest import csrf_token
from tests.coverage.helpers import covered_pledge


class Inbox:
    """An SMTP server's handler that keeps what it accepts."""

    def __init__(self) -> None:
        self.messages: list[bytes] = []

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        self.messages.append(envelope.content)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def smtp(app) -> Iterator[dict[str, object]]:  # type: ignore[no-untyped-def]
    """Mail goes to a real SMTP server on loopback (not running until the test starts it)."""
    state = app.extensions["mailman"]
    saved = {
        name: getattr(state, name)
        for name in (
            "backend",
            "server",
            "port",
            "use_tls",
            "use_ssl",
            "timeout",
            "username",
            "password",
        )
    }
    port = _free_port()
    for name, value in {
        "backend": "smtp",
        "server": "127.0.0.1",
        "port": port,
        "use_tls": False,
        "use_ssl": False,
        "timeout": 2,
        "username": None,
        "password": None,
    }.items():
        setattr(state, name, value)
    try:
        yield {"port": port}
    finally:
        for name, value in saved.items():
            setattr(state, name, value)


def _mail(to: str = "csr@example.com") -> int:
    queue_mail(
        db.session,
        to,
        "PIJAR SEMAR: uji",
        "emails/report_ready.txt",
        user={"full_name": "Uji"},
        month=date(2026, 1, 1),
        company_name="PT Uji",
    )
    event_id = db.session.scalar(select(func.max(OutboxEvent.id)))
    db.session.commit()
    return int(event_id or 0)


def _status(event_id: int) -> tuple[str, int]:
    row = db.session.get_one(OutboxEvent, event_id, populate_existing=True)
    return str(row.status), row.attempts


def test_mail_waits_while_the_server_is_down_and_is_sent_once_when_it_is_back(app, smtp):
    event_id = _mail()
    assert run_pending() == 1
    assert _status(event_id) == (EventStatus.RETRYING, 1)  # refused: retried later
    assert huey.scheduled_count() == 1
    inbox = Inbox()
    server = Controller(inbox, hostname="127.0.0.1", port=int(str(smtp["port"])))
    server.start()
    try:
        run_pending(include_scheduled=True)
        run_pending(include_scheduled=True)  # nothing more to do
    finally:
        server.stop()
    assert _status(event_id) == (EventStatus.DONE, 2)
    assert len(inbox.messages) == 1
    assert b"PIJAR SEMAR: uji" in inbox.messages[0]
    assert relay(force=True) == 0  # a done event is never handed over again


def test_a_rolled_back_change_sends_nothing_and_a_committed_one_is_not_lost(
    app, outbox, monkeypatch
):
    emit(db.session, MailRequested(to="x@example.com", subject="rolled back", body="-"))
    db.session.rollback()
    assert huey.pending_count() == 0
    assert db.session.scalar(select(func.count(OutboxEvent.id))) == 0
    # The broker is down at commit time: the event stays in the outbox for the relay.
    monkeypatch.setattr("portal.jobs.deliver_events", _unreachable)
    event_id = _mail("y@example.com")
    assert huey.pending_count() == 0 and _status(event_id) == (EventStatus.PENDING, 0)
    monkeypatch.undo()
    assert relay() == 0  # within the grace a hand-over is surely under way
    assert relay(force=True) == 1
    assert [m.subject for m in outbox] == ["PIJAR SEMAR: uji"]
    assert _status(event_id) == (EventStatus.DONE, 1)


def _unreachable(event_ids: list[int]) -> None:
    raise ConnectionError("broker down")


def test_a_job_that_keeps_failing_is_dead_lettered_and_an_admin_retries_it(app, logged_in, actors):
    calls: list[dict[str, object]] = []

    @handles("test.flaky")
    def flaky(payload: dict[str, object]) -> None:
        calls.append(payload)
        if payload["fail"]:
            raise RuntimeError("downstream refused")

    try:
        row = OutboxEvent(
            kind="test.flaky",
            handler="test_jobs",  # the subscriber's name: the domain (here the module) of it
            payload={"fail": True},
            status=EventStatus.PENDING,
        )
        db.session.add(row)
        db.session.commit()
        relay(force=True)
        for _ in range(MAX_ATTEMPTS + 2):
            run_pending(include_scheduled=True)
        assert _status(row.id) == (EventStatus.FAILED, MAX_ATTEMPTS)
        assert len(calls) == MAX_ATTEMPTS
        admin = logged_in(actors.admin)
        page = admin.get("/admin/jobs").get_data(as_text=True)
        assert "downstream refused" in page and 'data-status="failed"' in page
        assert "<code>test.flaky</code> &rarr; <code>test_jobs</code>" in page  # its subscriber
        row = db.session.get_one(OutboxEvent, row.id)
        row.payload = {"fail": False}  # the cause is fixed
        db.session.commit()
        admin.post(
            f"/admin/jobs/{row.id}/retry", data={"csrf_token": csrf_token(admin, "/admin/jobs")}
        )
        run_pending()
        assert _status(row.id) == (EventStatus.DONE, 1)
    finally:
        HANDLERS.pop("test.flaky", None)


def test_each_subscriber_of_an_event_is_delivered_and_retried_on_its_own(app):
    """One event, two domains: the one that fails is retried alone; the other's effect
    happened once and is not repeated by the retry."""
    effects: list[str] = []

    @handles("test.shared", name="first")
    def first(payload: dict[str, object]) -> None:
        effects.append(f"first:{payload['n']}")

    failing = [True]

    @handles("test.shared", name="second")
    def second(payload: dict[str, object]) -> None:
        if failing[0]:
            raise RuntimeError("second is down")
        effects.append(f"second:{payload['n']}")

    @dataclass(frozen=True)
    class Shared(Event):
        kind: ClassVar[str] = "test.shared"
        n: int

    try:
        rows = emit(db.session, Shared(7), subject="test:7")
        assert sorted(r.handler for r in rows) == ["first", "second"]
        db.session.commit()
        run_pending()
        assert effects == ["first:7"]
        failing[0] = False
        for _ in range(3):
            run_pending(include_scheduled=True)
        assert effects == ["first:7", "second:7"]
        work = follow("test:7")
        assert work.state("test.shared") == "done"
        assert work.done_of("test.shared", "second") == (1, 1)
        assert db.session.scalars(
            select(OutboxEvent.attempts)
            .where(OutboxEvent.subject == "test:7")
            .order_by(OutboxEvent.handler)
        ).all() == [1, 2]
    finally:
        HANDLERS.pop("test.shared", None)


def test_an_event_nobody_subscribes_to_is_kept_and_dead_lettered_not_dropped(app):
    @dataclass(frozen=True)
    class Orphan(Event):
        kind: ClassVar[str] = "test.orphan"

    (row,) = emit(db.session, Orphan(), subject="test:orphan")
    db.session.commit()
    for _ in range(MAX_ATTEMPTS + 1):
        run_pending(include_scheduled=True)
    found = db.session.get_one(OutboxEvent, row.id, populate_existing=True)
    assert found.status == EventStatus.FAILED and "no handler" in found.last_error
    assert follow("test:orphan").state("test.orphan") == "failed"


def test_progress_is_shared_through_the_engine_and_cleared(app):
    assert progress_of("test:progress") is None
    set_progress("test:progress", 3, 8)
    assert progress_of("test:progress") == (3, 8)
    assert follow("test:progress").live == (3, 8)
    clear_progress("test:progress")
    assert progress_of("test:progress") is None


def test_an_event_of_a_worker_that_died_is_handed_over_again_and_done_once(app, outbox):
    event_id = _mail()
    huey.flush()  # the worker took it and died: the row stays running, the queue is empty
    row = db.session.get_one(OutboxEvent, event_id)
    row.status, row.attempts, row.started_at = EventStatus.RUNNING, 1, utcnow()
    db.session.commit()
    assert relay() == 0  # a running delivery is left alone until it is stale
    row = db.session.get_one(OutboxEvent, event_id)
    row.started_at = utcnow() - timedelta(minutes=6)  # its worker was killed back then
    db.session.commit()
    assert relay() == 1
    assert len(outbox) == 1
    assert _status(event_id) == (EventStatus.DONE, 2)
    assert relay(force=True) == 0 and len(outbox) == 1


def test_a_scheduled_job_runs_once_per_period(app, outbox, actors):
    done: list[int] = []
    assert run_once("test-job", "2026-12-04", lambda: done.append(1))
    assert not run_once("test-job", "2026-12-04", lambda: done.append(2))
    assert run_once("test-job", "2026-12-05", lambda: done.append(3))
    assert done == [1, 3]
    with pytest.raises(RuntimeError):
        run_once("test-job", "2026-12-06", _boom)
    assert run_once("test-job", "2026-12-06", lambda: done.append(4))  # a failure frees it
    assert run_job("lapse-forecast") and not run_job("lapse-forecast")
    assert (
        db.session.scalar(
            select(func.count(ScheduledRun.id)).where(ScheduledRun.job == "lapse-forecast")
        )
        == 1
    )


def _boom() -> None:
    raise RuntimeError("failed run")


def test_jobs_cli_burst_and_status(app):
    _mail()
    runner = app.test_cli_runner()
    status = json.loads(runner.invoke(args=["jobs", "status", "--json"]).output)
    assert status["pending"] == 1 and status["queued"] == 1
    assert status["oldest_pending_seconds"] >= 0
    burst = runner.invoke(args=["jobs", "work", "--burst"])
    assert burst.exit_code == 0 and "ran" in burst.output
    after = json.loads(runner.invoke(args=["jobs", "status", "--json"]).output)
    assert after["pending"] == 0 and after["done"] == 1 and after["queued"] == 0


# -- the scheduled jobs, each with something to do --------------------------------------------


def test_an_invoice_unpaid_for_14_days_expires_and_the_company_is_told(app, actors, outbox):
    pledge = _submitted_pledge(actors)
    company = db.session.get_one(Company, pledge.company_id)
    invoice = start_bank_transfer(pledge, company, actors.owner)
    invoice.created_at = utcnow() - timedelta(days=15)
    db.session.commit()
    assert run_job("invoice-expiry")
    assert (
        db.session.get_one(Payment, invoice.id, populate_existing=True).status
        == PaymentStatus.EXPIRED
    )
    [mail] = [m for m in outbox if m.to == [actors.owner.email]]
    assert invoice.reference in mail.body
    assert not run_job("invoice-expiry")  # once a day


def _submitted_pledge(actors):  # type: ignore[no-untyped-def]
    company = db.session.get_one(Company, actors.owner.company_id)
    pledge = create_pledge(company, actors.owner, PledgeTerms(2, 3, earliest_start()))
    submit_pledge(pledge, company, actors.owner)
    return pledge


def test_staff_are_reminded_of_an_open_month_from_the_tenth(app, actors, outbox):
    assert not remind_month_close(date(2026, 12, 9))
    assert remind_month_close(date(2026, 12, 10))
    db.session.commit()
    reminded = sorted(m.to[0] for m in outbox)
    assert reminded == sorted([actors.staff.email, actors.staff2.email, actors.admin.email])
    db.session.add(MonthClose(month=date(2026, 11, 1), totals={}))
    db.session.flush()
    assert not remind_month_close(date(2026, 12, 11))


def test_the_lapse_forecast_lists_pledges_ending_soon(app, actors, outbox):
    start = add_months(date.today().replace(day=1), -1)
    covered_pledge(workers=2, months=2, start=start)
    assert forecast_lapses(date.today()) == 1
    db.session.commit()
    [mail] = [m for m in outbox if m.to == [actors.staff.email]]
    assert "60" in mail.body and "PT" in mail.body


def test_roster_files_go_once_imported_or_after_a_day(app, actors, tmp_path):
    imported, checked, fresh, waiting = (
        tmp_path / name for name in ("a.upload", "b.upload", "c.upload", "d.upload")
    )
    for path in (imported, checked, fresh, waiting):
        path.write_text("nik,nama\n")
    (tmp_path / "a.upload.run.rejected.csv").write_text("x")
    now = utcnow()
    jobs = [
        ImportJob(
            token=f"t{n}",
            filename="r.csv",
            stored_path=str(path),
            dry_run=dry,
            state=state,
            created_by_id=actors.staff.id,
            created_at=created,
        )
        for n, (path, dry, state, created) in enumerate(
            (
                (imported, False, ImportState.DONE, now),
                (checked, True, ImportState.DONE, now - timedelta(hours=25)),
                (fresh, True, ImportState.DONE, now),
                (waiting, True, ImportState.DONE, now - timedelta(hours=25)),
                (waiting, False, ImportState.QUEUED, now),  # imported from an old check
            )
        )
    ]
    db.session.add_all(jobs)
    db.session.flush()
    assert delete_roster_files(now) == 3  # the import's file and its rejected rows, the stale
    assert not imported.exists() and not checked.exists()
    assert fresh.exists() and waiting.exists()
    assert [j.stored_path for j in jobs] == ["", "", str(fresh), str(waiting), str(waiting)]


def test_a_slow_batch_hands_its_rest_back_before_its_claim_goes_stale(app, outbox, monkeypatch):
    for n in range(3):
        queue_mail(
            db.session,
            f"csr{n}@example.com",
            f"batch {n}",
            "emails/report_ready.txt",
            user={"full_name": "Uji"},
            month=date(2026, 1, 1),
            company_name="PT Uji",
        )
    db.session.commit()
    assert huey.pending_count() == 1  # one task for the commit's three events
    monkeypatch.setattr("portal.jobs.STALE_AFTER", timedelta(0))  # every batch is "slow"
    huey.execute(huey.dequeue())
    statuses = sorted(str(s) for s in db.session.scalars(select(OutboxEvent.status)))
    assert statuses == ["done", "pending", "pending"]  # the rest given back, untried
    assert huey.pending_count() == 1
    monkeypatch.undo()
    run_pending()
    assert sorted(m.subject for m in outbox) == ["batch 0", "batch 1", "batch 2"]
    assert {row.attempts for row in db.session.scalars(select(OutboxEvent))} == {1}
