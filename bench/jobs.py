"""E-mail through the job engine: 10,000 e-mails queued by committed events, delivered by two
worker processes to an SMTP sink on loopback, against the same 10,000 messages sent by one
plain loop over one SMTP connection.

The portal runs in its development configuration on its own database (a SQLite file, or
BENCH_DATABASE_URL) with Huey's SQLite broker; the workers are `flask jobs work --burst`
processes. The sink counts every message by its subject, so lost and duplicated e-mails
are seen.

Usage: .venv/bin/python -m bench.jobs [--messages N]
Last line: ratio=<jobs/plain> bar=3 lost=<n> duplicates=<n> ok=<yes|no>
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

from aiosmtpd.controller import Controller

BAR = 3.0
WORKERS = 2
ROOT = Path(__file__).resolve().parents[1]


class Sink:
    """Counts the messages it accepts, by subject."""

    def __init__(self) -> None:
        self.subjects: Counter[str] = Counter()
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        for line in envelope.content.splitlines():
            if line.startswith(b"Subject: "):
                with self.lock:
                    self.subjects[line[9:].decode()] += 1
                break
        return "250 OK"

    def total(self) -> int:
        with self.lock:
            return sum(self.subjects.values())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(workdir: Path, database: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_DIR": str(workdir),
        "DATABASE_URL": database,
        "JOBS_BROKER": "sqlite",
        "JOBS_SQLITE_PATH": str(workdir / "jobs.db"),
        "MAIL_BACKEND": "smtp",
        "MAIL_SERVER": "127.0.0.1",
        "MAIL_PORT": str(smtp_port),
        "MAIL_USE_TLS": "false",
        "MAIL_PRINT": "false",
    }


def _wait_for(sink: Sink, count: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while sink.total() < count and time.monotonic() < deadline:
        time.sleep(0.05)


def plain_loop(count: int, port: int, sink: Sink) -> float:
    """The lower bound: one connection, one message after the other."""
    import smtplib
    from email.message import EmailMessage

    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for n in range(count):
            message = EmailMessage()
            message["From"], message["To"] = "noreply@example.com", "csr@example.com"
            message["Subject"] = f"plain {n}"
            message.set_content("Laporan dampak PIJAR SEMAR.")
            smtp.send_message(message)
    _wait_for(sink, count, 60)
    return time.perf_counter() - started


def queue_events(count: int, env: dict[str, str]) -> None:
    """Commit `count` e-mail events through the portal, in a process of its own."""
    script = (
        "from portal import create_app\n"
        "from portal.extensions import db\n"
        "from portal.mail import queue_mail\n"
        "app = create_app()\n"
        "with app.app_context(), app.test_request_context():\n"
        "    db.create_all()\n"
        f"    for start in range(0, {count}, 500):\n"
        f"        for n in range(start, min(start + 500, {count})):\n"
        "            queue_mail(db.session, 'csr@example.com', f'jobs {n}',\n"
        "                       'emails/report_ready.txt', user={'full_name': 'CSR'},\n"
        "                       month=__import__('datetime').date(2026, 1, 1),\n"
        "                       company_name='PT Bench')\n"
        "        db.session.commit()\n"
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, check=True)  # noqa: S603


def through_jobs(count: int, env: dict[str, str], sink: Sink) -> tuple[float, float]:
    """Queue the events, then let two burst workers deliver them; (queue s, deliver s)."""
    started = time.perf_counter()
    queue_events(count, env)
    queued = time.perf_counter()
    command = [sys.executable, "-m", "flask", "--app", "portal", "jobs", "work", "--burst"]
    workers = [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL)  # noqa: S603
        for _ in range(WORKERS)
    ]
    for worker in workers:
        worker.wait()
    _wait_for(sink, count, 60)
    return queued - started, time.perf_counter() - queued


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    sink = Sink()
    port = _free_port()
    server = Controller(sink, hostname="127.0.0.1", port=port)
    server.start()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            workdir = Path(tmp)
            database = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.db'}")
            plain = plain_loop(args.messages, port, sink)
            queue_s, deliver_s = through_jobs(
                args.messages, _environment(workdir, database, port), sink
            )
    finally:
        server.stop()
    jobs = queue_s + deliver_s
    sent = {s: n for s, n in sink.subjects.items() if s.startswith("jobs ")}
    lost = args.messages - len(sent)
    duplicates = sum(n - 1 for n in sent.values() if n > 1)
    ratio = jobs / plain
    print(
        f"messages={args.messages} workers={WORKERS} plain={plain:.2f}s "
        f"jobs={jobs:.2f}s (queue {queue_s:.2f}s + deliver {deliver_s:.2f}s)"
    )
    ok = ratio <= BAR and lost == 0 and duplicates == 0
    print(
        f"ratio={ratio:.2f} bar={BAR:g} lost={lost} duplicates={duplicates} "
        f"ok={'yes' if ok else 'no'}"
    )


if __name__ == "__main__":
    main()
