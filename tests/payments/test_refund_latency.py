"""A staff card refund on the embedded default answers at once.

The portal and its Stripe sandbox both serve on loopback, on a SQLite file, and the sandbox
delivers `charge.refunded` to the portal's webhook while the refund request is still being
answered, as Stripe may. The refund must not hold SQLite's write lock while it calls Stripe,
or that delivery waits on the lock, fails, and the request hangs until the retries give up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from werkzeug.serving import make_server

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role
from portal.extensions import db
from portal.payments import outbound, services
from portal.payments.models import Payment, Refund
from portal.payments.stripe_gateway import gateway
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import PledgeTerms, create_pledge, earliest_start, submit_pledge
from portal.reference.seed import seed_reference
from tests import factories
from tests.conftest import csrf_token, login

pytestmark = pytest.mark.own_database


class FileConfig(TestingConfig):
    """The testing settings on a SQLite file shared by request threads, as `make run` has."""

    def __init__(self, database: Path) -> None:
        self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            **TestingConfig.SQLALCHEMY_ENGINE_OPTIONS,
            "connect_args": {"check_same_thread": False, "timeout": 15},
        }


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Flask]:
    """The portal on its own port; its sandbox (started on first use) posts to it."""
    app = create_app(FileConfig(tmp_path / "portal.db"))
    server = make_server("127.0.0.1", 0, app, threaded=True)
    app.config["PUBLIC_BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
    try:
        yield app
    finally:
        server.shutdown()
        with app.app_context():
            sandbox = app.extensions.get("stripe_sandbox")
            if sandbox is not None:
                sandbox.stop()
            db.session.remove()
            db.engine.dispose()


def _paid_by_card(app: Flask) -> tuple[int, str]:
    """A pledge paid through the sandbox's checkout page, the webhook delivered over HTTP."""
    with app.app_context():
        company = factories.company(verified=True)
        owner = factories.user(Role.SPONSOR_OWNER, company=company)
        staff = factories.user(Role.STAFF)
        pledge = create_pledge(company, owner, PledgeTerms(2, 3, earliest_start()))
        submit_pledge(pledge, company, owner)
        payment = services.prepare_card_payment(pledge, company, owner, allowed=True)
        params = {
            "amount": payment.amount,
            "quantity": 6,
            "name": "PIJAR SEMAR test",
            "metadata": {
                "portal": services.METADATA_MARK,
                "pledge_id": str(pledge.id),
                "payment_id": str(payment.id),
            },
            "success_url": "http://127.0.0.1/ok",
            "cancel_url": "http://127.0.0.1/no",
            "idempotency_key": payment.idempotency_key,
            "reference": payment.reference,
        }
        session = outbound.open_checkout(params)
        services.record_checkout_session(
            db.session.get_one(Payment, payment.id), session.id, session.url
        )
        pledge_id, email = pledge.id, staff.email
        db.session.commit()  # and no transaction after it: the sandbox delivers right away
        gateway()  # the sandbox is this app's
        app.extensions["stripe_sandbox"].complete_checkout(session.id, "pay")
        db.session.remove()
    return pledge_id, email


def test_a_staff_card_refund_answers_within_a_second_and_every_delivery_lands(served):
    pledge_id, staff_email = _paid_by_card(served)
    sandbox = served.extensions["stripe_sandbox"]
    client = served.test_client()
    login(client, staff_email)
    token = csrf_token(client, f"/staff/pledges/{pledge_id}")
    started = time.perf_counter()
    response = client.post(
        f"/staff/pledges/{pledge_id}/refund",
        data={"csrf_token": token, "reason": "sponsor withdrew"},
    )
    elapsed = time.perf_counter() - started
    assert response.status_code == 302
    print(f"staff card refund answered in {elapsed * 1000:.0f} ms")
    assert elapsed < 1.0, f"the refund took {elapsed:.2f} s"
    refunded = [
        status
        for event_id, status in sandbox.deliveries
        if any(e["id"] == event_id and e["type"] == "charge.refunded" for e in sandbox.events)
    ]
    assert refunded == [200]  # delivered once, answered at once: no retry on a locked database
    with served.app_context():
        assert db.session.get_one(Pledge, pledge_id).status == PledgeStatus.REFUNDED
        refund = db.session.scalars(select(Refund)).one()
        assert refund.stripe_refund_id is not None
        db.session.remove()
