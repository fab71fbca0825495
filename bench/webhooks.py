"""Stripe webhook speed: 1,000 signed events (half of them duplicates) against a trivial POST.

Starts the portal under gunicorn on loopback with its own database (SQLite file, or
BENCH_DATABASE_URL), prepares 500 pledges waiting for card payment, then sends every
`checkout.session.completed` event twice in shuffled order from 4 client threads, and the same
number of POSTs to a do-nothing route on the same server. Checks that every pledge got exactly
one ledger entry and that the ledger check passes.

Usage: .venv/bin/python -m bench.webhooks [--pledges N]
Last line: ratio=<webhook/trivial> bar=5 ok=<yes|no>
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sqlalchemy import func, select

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import EntryKind, LedgerEntry
from portal.payments.models import Payment, PaymentMethod
from portal.payments.sandbox import sign_payload
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import earliest_start
from portal.reference.seed import seed_reference

BAR = 5.0
SECRET = "whsec_bench_" + "0" * 24
CLIENTS = 4


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _environment(workdir: Path, database: str, port: int) -> dict[str, str]:
    return {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_DIR": str(workdir),
        "DATABASE_URL": database,
        "STRIPE_WEBHOOK_SECRET": SECRET,
        "BENCH_ROUTES": "1",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "MAIL_BACKEND": "locmem",
    }


def prepare(pledges: int) -> list[dict]:
    """Schema, reference data and pledges with pending card payments; returns their events."""
    db.create_all()
    seed_reference()
    company = Company(
        legal_name="PT Bench",
        nib="9999999999999",
        npwp="999999999999999",
        address="Semarang",
        sector="other",
        contact_name="B",
        contact_phone="0241",
        status=CompanyStatus.VERIFIED,
    )
    db.session.add(company)
    db.session.flush()
    user = User(
        email="bench@example.com", full_name="Bench", role=Role.SPONSOR_OWNER, company_id=company.id
    )
    db.session.add(user)
    db.session.flush()
    events = [_pledge_event(company, user, n) for n in range(pledges)]
    db.session.commit()
    return events


def _pledge_event(company: Company, user: User, n: int) -> dict:
    pledge = Pledge(
        company_id=company.id,
        created_by_id=user.id,
        status=PledgeStatus.AWAITING_PAYMENT,
        workers=1,
        months=1,
        start_month=earliest_start(),
        price_total=16_800,
        price_breakdown=[],
        target_categories=[],
        target_kecamatan=[],
    )
    db.session.add(pledge)
    db.session.flush()
    payment = Payment(
        pledge_id=pledge.id,
        company_id=company.id,
        method=PaymentMethod.STRIPE,
        amount=16_800,
        reference=f"PJS-BENCH-{n:06d}",
        idempotency_key=f"bench-{n}",
        stripe_session_id=f"cs_test_bench_{n}",
    )
    db.session.add(payment)
    db.session.flush()
    return {
        "id": f"evt_bench_{n}",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": payment.stripe_session_id,
                "object": "checkout.session",
                "payment_status": "paid",
                "currency": "idr",
                "amount_total": 1_680_000,
                "payment_intent": f"pi_bench_{n}",
                "metadata": {
                    "portal": "pijar-semar",
                    "pledge_id": str(pledge.id),
                    "payment_id": str(payment.id),
                },
            }
        },
    }


def _send(port: int, path: str, bodies: list[bytes], signed: bool) -> list[int]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    statuses = []
    for body in bodies:
        headers = {"Content-Type": "application/json"}
        if signed:
            headers["Stripe-Signature"] = sign_payload(body, SECRET)
        connection.request("POST", path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        statuses.append(response.status)
    connection.close()
    return statuses


def timed(port: int, path: str, bodies: list[bytes], signed: bool) -> tuple[float, list[int]]:
    chunks = [bodies[i::CLIENTS] for i in range(CLIENTS)]
    start = time.perf_counter()
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda chunk: _send(port, path, chunk, signed), chunks))
    return time.perf_counter() - start, [s for part in results for s in part]


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    for _ in range(100):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--pledges", type=int, default=500)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        database = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.db'}")
        port = _free_port()
        env = _environment(workdir, database, port)
        settings = TestingConfig()
        settings.SQLALCHEMY_DATABASE_URI = database
        app = create_app(settings)
        with app.app_context():
            events = prepare(args.pledges)
        bodies = [json.dumps(event).encode() for event in events] * 2
        random.Random(5).shuffle(bodies)
        # SQLite has one writer at a time: one single-threaded worker queues requests instead
        # of threads sleeping in the busy handler; PostgreSQL gets one worker per core.
        sqlite = database.startswith("sqlite")
        workers, threads = ("1", "1") if sqlite else ("2", "2")
        server = subprocess.Popen(  # noqa: S603 - our own gunicorn on loopback
            [
                sys.executable,
                "-m",
                "gunicorn",
                "-w",
                workers,
                "--threads",
                threads,
                "-b",
                f"127.0.0.1:{port}",
                "--log-level",
                "warning",
                "portal:create_app()",
            ],
            env=env,
        )
        try:
            _wait_until_up(port, server)
            _send(port, "/bench/trivial", [b"{}"] * 20, signed=False)  # warm up
            trivial, trivial_statuses = timed(port, "/bench/trivial", bodies, signed=False)
            webhook, webhook_statuses = timed(port, "/payments/stripe/webhook", bodies, True)
        finally:
            server.terminate()
            server.wait(timeout=30)
        with app.app_context():
            once = _one_entry_per_payment(args.pledges)
            problems = check_ledger()
            db.session.remove()
            db.engine.dispose()
    failed = sum(s != 200 for s in webhook_statuses + trivial_statuses)
    ratio = webhook / trivial
    print(
        f"events={len(bodies)} unique={args.pledges} non_200={failed} "
        f"one_ledger_entry_per_payment={'yes' if once else 'no'} ledger_check={len(problems)}"
    )
    print(f"trivial={trivial:.3f}s webhook={webhook:.3f}s")
    ok = ratio <= BAR and once and not problems and failed == 0
    print(f"ratio={ratio:.2f} bar={BAR:g} ok={'yes' if ok else 'no'}")


def _one_entry_per_payment(pledges: int) -> bool:
    entries = db.session.scalar(
        select(func.count(LedgerEntry.id)).where(LedgerEntry.kind == EntryKind.PAYMENT_RECEIVED)
    )
    paid = db.session.scalar(
        select(func.count(Pledge.id)).where(Pledge.status == PledgeStatus.PAID)
    )
    return entries == pledges == paid


if __name__ == "__main__":
    main()
