"""Workers as separate processes: one killed in the middle of sending an e-mail (the e-mail
still goes out once), and two running a scheduled job at the same moment (it runs once).

The workers are `flask jobs work --burst` processes of the development configuration on
their own database (a SQLite file, or a new PostgreSQL database in CI) and Huey's SQLite
broker; mail goes to a real SMTP server on loopback.
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import create_engine, func, select
from sqlalchemy.orm import Session

from config import TestingConfig
from portal import create_app
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.schedule import ScheduledRun

pytestmark = pytest.mark.own_database
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
