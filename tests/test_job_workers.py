"""Workers as separate processes: one killed in the middle of a job (an e-mail, a roster
import, a batch of certificates) leaves it to the next worker and its effect happens once;
two running a scheduled job at the same moment run it once.

The workers are `flask jobs work --burst` processes of the development configuration on
their own database (a SQLite file, or a new PostgreSQL database in CI) and Huey's SQLite
broker; mail goes to a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

import pytest
from aiosmtpd.controller import Controller
from huey import SqliteHuey
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role
from portal.certificates.models import Certificate
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.jobs import huey
from portal.pledges.services import earliest_start
from portal.reference.seed import seed_reference
from portal.schedule import ScheduledRun
from portal.workers.models import ImportJob, ImportState, Worker, WorkerStatusChange
from portal.workers.nik import build_nik
from portal.workers.pii import current_cipher
from portal.workers.sealed import seal_file
from tests import factories
from tests.coverage.helpers import covered_pledge

pytestmark = pytest.mark.own_database
T = TypeVar("T")
ROOT = Path(__file__).resolve().parents[1]


class SlowInbox:
    """Holds the first message until released, then refuses it (its sender is gone by then);
    accepts every later one."""

    def __init__(self) -> None:
        self.accepted: list[bytes] = []
        self.first_arrived = threading.Event()
        self.release = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if not self.first_arrived.is_set():
            self.first_arrived.set()
            while not self.release.is_set():
                await asyncio.sleep(0.05)
            return "451 try again later"
        self.accepted.append(envelope.content)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _schema(url: str) -> None:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        db.session.remove()
        db.engine.dispose()


def _env(tmp_path: Path, url: str, smtp_port: int = 1) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "DATABASE_URL": url,
        "PORTAL_INSTANCE_DIR": str(tmp_path / "instance"),
        "JOBS_BROKER": "sqlite",
        "JOBS_SQLITE_PATH": str(tmp_path / "jobs.db"),
        "JOBS_NAME": "pijar-workers",  # not the suite's own queue name (CI sets one)
        "JOBS_STALE_SECONDS": "1",
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "false",
        "MAIL_TIMEOUT": "5",
        "PYTHONUNBUFFERED": "1",
    }


def _flask(*args: str) -> list[str]:
    return [sys.executable, "-m", "flask", "--app", "portal", *args]


def test_a_worker_killed_while_sending_leaves_the_mail_to_the_next_one_and_it_goes_once(
    tmp_path, fresh_database_url
):
    _schema(fresh_database_url)
    engine = create_engine(fresh_database_url)
    with Session(engine) as session:
        row = OutboxEvent(
            kind="mail.send",
            status=EventStatus.PENDING,
            payload={
                "to": "csr@example.com",
                "subject": "PIJAR SEMAR: sekali",
                "body": "satu kali",
            },
        )
        session.add(row)
        session.commit()
        event_id = row.id
    inbox = SlowInbox()
    port = _free_port()
    server = Controller(inbox, hostname="127.0.0.1", port=port)
    server.start()
    env = _env(tmp_path, fresh_database_url, port)
    try:
        worker = subprocess.Popen(
            _flask("jobs", "work", "--burst"),
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert inbox.first_arrived.wait(60), "the worker never reached the mail server"
        os.kill(worker.pid, signal.SIGKILL)  # in the middle of the SMTP conversation
        worker.wait(10)
        inbox.release.set()
        with Session(engine) as session:
            assert session.get(OutboxEvent, event_id).status == EventStatus.RUNNING
        time.sleep(1.2)  # the killed worker's claim goes stale
        again = subprocess.run(
            _flask("jobs", "work", "--burst"),
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert again.returncode == 0, again.stderr[-2000:]
    finally:
        server.stop()
    assert len(inbox.accepted) == 1 and b"PIJAR SEMAR: sekali" in inbox.accepted[0]
    with Session(engine) as session:
        done = session.get(OutboxEvent, event_id)
        assert (done.status, done.attempts) == (EventStatus.DONE, 2)
    engine.dispose()


def test_two_workers_running_a_scheduled_job_at_once_run_it_once(tmp_path, fresh_database_url):
    _schema(fresh_database_url)
    env = _env(tmp_path, fresh_database_url)
    command = _flask("jobs", "run-scheduled", "lapse-forecast")
    workers = [
        subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    outputs = [worker.communicate(timeout=120) for worker in workers]
    assert [worker.returncode for worker in workers] == [0, 0], [err for _, err in outputs]
    said = sorted(out.strip().splitlines()[-1] for out, _ in outputs)
    assert said == ["already ran this period", "ran"]
    engine = create_engine(fresh_database_url)
    with Session(engine) as session:
        assert session.scalar(select(func.count(ScheduledRun.id))) == 1
    engine.dispose()


def _prepared(url: str, build: Callable[[], T]) -> T:
    """Tables and reference data in the workers' database, and what the test needs there;
    nothing is handed to this process's job engine (the rows are the workers' to deliver)."""
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        seed_reference()
        made = build()
        db.session.commit()
        huey.flush()
        db.session.remove()
        db.engine.dispose()
    return made


def _pending(kind: str, handler: str, payload: dict[str, object]) -> OutboxEvent:
    row = OutboxEvent(kind=kind, handler=handler, status=EventStatus.PENDING, payload=payload)
    db.session.add(row)
    return row


def _roster(path: Path, rows: int) -> None:
    """Valid rows: NIKs that agree with birth date and sex, in Semarang's kelurahan."""
    with path.open("w", encoding="utf-8") as out:
        out.write("nik,nama,tanggal_lahir,jenis_kelamin,kategori,kode_kelurahan\n")
        for n in range(rows):
            born = date(1960 + n % 40, 1 + n % 12, 1 + n % 28)
            nik = build_nik("337401", born, False, n % 9999 + 1)
            out.write(f"{nik},Pekerja {n},{born:%d/%m/%Y},L,becak,33.74.01.{1001 + n // 9999}\n")


def _burst(env: dict[str, str]) -> None:
    again = subprocess.run(
        _flask("jobs", "work", "--burst"),
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert again.returncode == 0, again.stderr[-2000:]


def test_a_worker_killed_in_the_middle_of_an_import_leaves_whole_batches_and_the_next_resumes(
    tmp_path, fresh_database_url
):
    rows = 30_000
    roster = tmp_path / "roster.csv"
    _roster(roster, rows)
    sealed = tmp_path / "roster.upload"

    def build() -> tuple[int, str]:
        seal_file(current_cipher(), [roster.read_bytes()], sealed)  # as an upload is kept
        staff = factories.user(Role.STAFF)
        job = ImportJob(
            token="a" * 32,
            filename="roster.csv",
            stored_path=str(sealed),
            update_existing=False,
            dry_run=False,
            created_by_id=staff.id,
        )
        db.session.add(job)
        db.session.flush()
        _pending("roster.import", "workers", {"job_id": job.id})
        return job.id, job.token

    job_id, token = _prepared(fresh_database_url, build)
    env = {
        **_env(tmp_path, fresh_database_url),
        "NIK_ENCRYPTION_KEYS": str(TestingConfig.NIK_ENCRYPTION_KEYS),
        "NIK_HASH_KEY": str(TestingConfig.NIK_HASH_KEY),
    }
    broker = SqliteHuey(env["JOBS_NAME"], filename=env["JOBS_SQLITE_PATH"])
    worker = subprocess.Popen(
        _flask("jobs", "work", "--burst"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    engine = create_engine(fresh_database_url)
    deadline = time.monotonic() + 120
    done = None
    try:
        while time.monotonic() < deadline and not done:
            done = broker.get(f"import-progress:{token}", peek=True)
            time.sleep(0.02)
    finally:
        os.kill(worker.pid, signal.SIGKILL)  # a batch read and written, not committed
        worker.wait(10)
    assert done and 0 < done < rows, f"never caught the import in the middle ({done})"
    with Session(engine) as session:
        job = session.get_one(ImportJob, job_id)
        written = session.scalar(select(func.count(Worker.id)))
        assert job.state == ImportState.RUNNING
        assert 0 < written == job.rows_done  # whole batches, each with its checkpoint
    time.sleep(1.2)  # the killed worker's claim goes stale
    _burst(env)
    with Session(engine) as session:
        job = session.get_one(ImportJob, job_id)
        assert (job.state, job.rows_done) == (ImportState.DONE, rows), job.message
        assert (job.summary["created"], job.summary["rejected"]) == (rows, 0)
        assert session.scalar(select(func.count(Worker.id))) == rows
        assert session.scalar(select(func.count(WorkerStatusChange.id))) == rows
        event = session.scalars(select(OutboxEvent)).one()
        assert (event.status, event.attempts) == (EventStatus.DONE, 2)
    assert not sealed.exists()  # imported: the upload is gone
    engine.dispose()


def _take_sqlite_write_lock(holder, deadline: float) -> None:  # type: ignore[no-untyped-def]
    """SQLite's lock is not fair: a waiter sleeping in the busy handler can miss every short gap
    between a busy writer's transactions. Asking again at once, without waiting, takes the
    lock in the first gap."""
    raw = holder.connection.dbapi_connection
    raw.execute("PRAGMA busy_timeout=0")
    while True:
        try:
            raw.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError:
            assert time.monotonic() < deadline, "the write lock was never free"
            continue
        return


def test_a_worker_killed_while_issuing_certificates_leaves_each_to_be_issued_once(
    tmp_path, fresh_database_url
):
    pledges = 400

    def build() -> list[int]:
        month = earliest_start()
        made = [covered_pledge(1, 2, month)[0] for _ in range(pledges)]
        for pledge in made:
            _pending("pledge.activated", "certificates", {"pledge_id": pledge.id, "actor_id": None})
        return [pledge.id for pledge in made]

    ids = _prepared(fresh_database_url, build)
    env = _env(tmp_path, fresh_database_url)
    engine = create_engine(fresh_database_url)
    worker = subprocess.Popen(
        _flask("jobs", "work", "--burst"),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    # As soon as the worker has claimed its deliveries, hold the database's write lock for
    # certificates: the worker stops in the middle of a certificate (however fast or slow this
    # machine is), and is killed there.
    with engine.connect() as holder:
        deadline = time.monotonic() + 120
        claimed = 0
        while time.monotonic() < deadline and not claimed:
            claimed = (
                holder.scalar(
                    select(func.count(OutboxEvent.id)).where(
                        OutboxEvent.status == EventStatus.RUNNING
                    )
                )
                or 0
            )
            holder.rollback()
            time.sleep(0.005)
        assert claimed, "the worker never claimed its deliveries"
        if holder.dialect.name == "postgresql":
            holder.exec_driver_sql("LOCK TABLE certificate IN EXCLUSIVE MODE")
        else:
            _take_sqlite_write_lock(holder, deadline)
        time.sleep(0.5)  # the worker now waits on its next certificate
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        if holder.dialect.name == "postgresql":
            holder.rollback()
        else:
            holder.connection.dbapi_connection.execute("ROLLBACK")
    with Session(engine) as session:
        at_kill = session.scalar(select(func.count(Certificate.id))) or 0
        running = session.scalar(
            select(func.count(OutboxEvent.id)).where(OutboxEvent.status == EventStatus.RUNNING)
        )
    assert at_kill < pledges and running, f"killed too late: {at_kill} issued"
    time.sleep(1.2)
    _burst(env)
    with Session(engine) as session:
        per_pledge = dict(
            session.execute(
                select(Certificate.pledge_id, func.count()).group_by(Certificate.pledge_id)
            ).all()
        )
        assert per_pledge == dict.fromkeys(ids, 1)
        statuses = session.execute(
            select(OutboxEvent.status, OutboxEvent.attempts).where(
                OutboxEvent.kind == "pledge.activated"
            )
        ).all()
        assert {status for status, _ in statuses} == {EventStatus.DONE}
        assert any(attempts == 2 for _, attempts in statuses)  # delivered again after the kill
    engine.dispose()
