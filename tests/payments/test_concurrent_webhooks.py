"""The same Stripe event delivered to several worker processes at once has one effect.

Runs on its own database of the suite's kind (PostgreSQL when TEST_DATABASE_URL is set, else a
SQLite file), with real separate processes, as gunicorn workers would be.
"""

from __future__ import annotations

import json
import multiprocessing

import pytest
from sqlalchemy import func, select

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import EntryKind, LedgerEntry
from portal.payments.models import Payment, PaymentMethod, PaymentStatus, StripeEvent
from portal.payments.sandbox import sign_payload
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import earliest_start
from portal.reference.seed import seed_reference

SECRET = "whsec_concurrency_" + "1" * 20
PROCESSES = 4


def _settings(url: str) -> TestingConfig:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    settings.STRIPE_WEBHOOK_SECRET = SECRET
    return settings


def _prepare() -> dict:  # type: ignore[type-arg]
    db.create_all()
    seed_reference()
    company = Company(
        legal_name="PT Serentak",
        nib="8888888888888",
        npwp="888888888888888",
        address="Semarang",
        sector="other",
        contact_name="S",
        contact_phone="0241",
        status=CompanyStatus.VERIFIED,
    )
    db.session.add(company)
    db.session.flush()
    user = User(
        email="serentak@example.com", full_name="S", role=Role.SPONSOR_OWNER, company_id=company.id
    )
    db.session.add(user)
    db.session.flush()
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
        reference="PJS-202612-C0FFEE",
        idempotency_key="conc-1",
        stripe_session_id="cs_test_concurrent",
    )
    db.session.add(payment)
    db.session.commit()
    return {
        "id": "evt_concurrent",
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": "cs_test_concurrent",
                "object": "checkout.session",
                "payment_status": "paid",
                "currency": "idr",
                "amount_total": 1_680_000,
                "payment_intent": "pi_concurrent",
                "metadata": {
                    "portal": "pijar-semar",
                    "pledge_id": str(pledge.id),
                    "payment_id": str(payment.id),
                },
            }
        },
    }


def deliver_at_once(url: str, body: bytes, barrier, results) -> None:  # type: ignore[no-untyped-def]
    """One worker process: wait for the others, then deliver the event."""
    app = create_app(_settings(url))
    client = app.test_client()
    signature = sign_payload(body, SECRET)
    barrier.wait(timeout=60)
    response = client.post(
        "/payments/stripe/webhook",
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": signature},
    )
    results.put((response.status_code, (response.get_json() or {}).get("outcome")))


@pytest.mark.own_database
def test_one_event_in_four_processes_at_once_has_one_effect(fresh_database_url):
    database_url = fresh_database_url
    app = create_app(_settings(database_url))
    with app.app_context():
        body = json.dumps(_prepare()).encode()
        db.session.remove()
        db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(PROCESSES), context.Queue()
    workers = [
        context.Process(target=deliver_at_once, args=(database_url, body, barrier, results))
        for _ in range(PROCESSES)
    ]
    for worker in workers:
        worker.start()
    answers = [results.get(timeout=120) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    results.close()
    results.join_thread()
    assert [status for status, _ in answers] == [200] * PROCESSES
    assert sorted(outcome for _, outcome in answers).count("paid") == 1
    with app.app_context():
        assert (
            db.session.scalar(
                select(func.count(LedgerEntry.id)).where(
                    LedgerEntry.kind == EntryKind.PAYMENT_RECEIVED
                )
            )
            == 1
        )
        assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 1
        assert db.session.scalar(select(Payment.status)) == PaymentStatus.PAID
        assert check_ledger() == []
        db.session.remove()
        db.engine.dispose()
