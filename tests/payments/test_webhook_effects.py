"""What one paid Checkout Session does besides the ledger: receipt, audit trail and e-mail."""

from __future__ import annotations

import json
import re
from pathlib import Path
from types import SimpleNamespace

import pytest
from flask import Flask, render_template
from jinja2 import meta
from sqlalchemy import func, insert, select
from sqlalchemy.exc import IntegrityError

from portal.audit.models import AuditEvent
from portal.audit.services import record_event
from portal.auth.models import Role
from portal.db import utcnow
from portal.extensions import db
from portal.mail import _render
from portal.payments import webhooks
from portal.payments.models import Document, DocumentKind, StripeEvent
from portal.payments.sandbox import sign_payload
from tests import factories
from tests.payments.test_payment_flow import WEBHOOK, _checkout, _completed_event, _pledge

EMAILS = Path(__file__).resolve().parents[2] / "templates" / "emails"


def _deliver(stripe, event: dict, secret: str):  # type: ignore[no-untyped-def,type-arg]
    body = json.dumps(event).encode()
    return stripe.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, secret)},
    )


def test_the_company_users_are_mailed_once_after_a_paid_checkout(
    app, actors, logged_in, stripe_sandbox, outbox
):
    company = db.session.get(factories.Company, actors.owner.company_id)
    factories.user(Role.SPONSOR_MEMBER, company=company, active=False)  # told nothing
    pledge = _pledge(actors)  # 3 workers x 2 months
    payment = _checkout(logged_in(actors.owner), pledge)
    stripe = app.test_client()  # Stripe sends no cookie: no language was chosen
    event = _completed_event(payment)
    outbox.clear()
    assert _deliver(stripe, event, stripe_sandbox.webhook_secret).get_json()["outcome"] == "paid"
    assert sorted(m.to for m in outbox) == sorted([[actors.owner.email], [actors.member.email]])
    link = f"{app.config['PUBLIC_BASE_URL']}/pledges/{pledge.id}"
    for message, user in zip(
        sorted(outbox, key=lambda m: m.to),
        sorted([actors.owner, actors.member], key=lambda u: [u.email]),
        strict=True,
    ):
        assert message.subject == "PIJAR SEMAR: pembayaran diterima"
        assert message.body.startswith(f"Yth. Bapak/Ibu {user.full_name},\n")
        assert (
            f"Kami telah menerima pembayaran untuk komitmen pendanaan #{pledge.id} (Rp100.800)."
        ) in message.body
        assert message.body.rstrip().endswith(link)
    assert (
        _deliver(stripe, event, stripe_sandbox.webhook_secret).get_json()["outcome"] == "duplicate"
    )
    assert len(outbox) == 2  # a repeated event mails nobody


def test_a_paid_checkout_leaves_a_receipt_and_an_audit_trail(
    app, actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    before = db.session.scalar(select(func.max(AuditEvent.id))) or 0
    event = _completed_event(payment, event_id="evt_trail")
    assert _deliver(app.test_client(), event, stripe_sandbox.webhook_secret).status_code == 200
    receipt = db.session.scalar(
        select(Document).where(
            Document.payment_id == payment.id, Document.kind == DocumentKind.RECEIPT
        )
    )
    assert re.fullmatch(rf"KWT/20\d\d/{receipt.id:06d}", receipt.serial)
    assert receipt.amount == payment.amount
    stored = db.session.get(StripeEvent, "evt_trail")
    assert (stored.type, stored.object_id, stored.outcome) == (
        "checkout.session.completed",
        payment.stripe_session_id,
        "paid",
    )
    trail = db.session.scalars(
        select(AuditEvent).where(AuditEvent.id > before).order_by(AuditEvent.id)
    ).all()
    assert [(e.action, e.object_type, e.object_id) for e in trail] == [
        ("payment.paid", "payment", str(payment.id)),
        ("pledge.paid", "pledge", str(pledge.id)),
        ("stripe.event", "payment", str(payment.id)),
    ]
    assert {e.company_id for e in trail} == {pledge.company_id}
    assert {e.actor_id for e in trail} == {None}
    assert trail[0].after == {
        "amount": payment.amount,
        "received": payment.amount,
        "source": "stripe",
    }
    assert trail[1].before == {"status": "awaiting_payment"}
    assert trail[2].after == {
        "event": "evt_trail",
        "type": "checkout.session.completed",
        "outcome": "paid",
    }


def test_a_signed_body_that_is_not_an_event_object_is_refused(app, stripe_sandbox):
    body = b"[1, 2, 3]"
    response = app.test_client().post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, stripe_sandbox.webhook_secret)},
    )
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


def test_an_audit_row_is_written_at_once_and_goes_with_a_rollback(app):
    with app.test_request_context("/"):
        kept = record_event("test.kept", after={"n": 1})
        assert kept.id == db.session.scalar(
            select(AuditEvent.id).where(AuditEvent.action == "test.kept")
        )
        savepoint = db.session.begin_nested()
        record_event("test.undone")
        savepoint.rollback()
    actions = set(
        db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("test.%")))
    )
    assert actions == {"test.kept"}


@pytest.mark.parametrize("lang", ["id", "en"])
def test_an_email_renders_as_the_page_renderer_would(app: Flask, lang: str):
    context = {
        "pledge": SimpleNamespace(
            id=7, price_total=1_008_000, region=SimpleNamespace(name="Kota Semarang")
        ),
        "user": SimpleNamespace(full_name="Sri Lestari"),
    }
    with app.test_request_context("/", headers={"Cookie": f"lang={lang}"}):
        assert _render("emails/payment_received.txt", context) == render_template(
            "emails/payment_received.txt", **context
        )


def test_email_templates_use_no_page_context(app: Flask):
    """E-mails are rendered without the page context processors (the requesting user, the
    permission helper, the language menu): an e-mail is about its recipient."""
    with app.test_request_context("/"):
        context: dict[str, object] = {}
        app.update_template_context(context)
        page_only = set(context) - set(app.jinja_env.globals)
    assert {"current_user", "can"} <= page_only
    for path in sorted(EMAILS.glob("*.txt")):
        used = meta.find_undeclared_variables(app.jinja_env.parse(path.read_text()))
        assert not used & page_only, f"{path.name} uses page context: {used & page_only}"


def test_an_integrity_failure_that_is_no_twin_delivery_is_not_acknowledged(
    app, actors, logged_in, stripe_sandbox, monkeypatch
):
    """Only a racing copy of the same event may be answered 200 after a unique-key clash;
    any other clash answers 500 so that Stripe delivers the event again."""
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)

    def clashing(payment, obj):  # type: ignore[no-untyped-def]
        for _ in range(2):  # a real unique-key violation from the database
            db.session.execute(
                insert(StripeEvent).values(
                    id="evt_clash", type="x", object_id="", outcome="", received_at=utcnow()
                )
            )
        return "paid"

    monkeypatch.setitem(webhooks.HANDLERS, "checkout.session.completed", clashing)
    event = _completed_event(payment)
    with pytest.raises(IntegrityError):
        _deliver(app.test_client(), event, stripe_sandbox.webhook_secret)
    assert db.session.get(StripeEvent, event["id"]) is None
    monkeypatch.undo()
    answer = _deliver(app.test_client(), event, stripe_sandbox.webhook_secret).get_json()
    assert answer["outcome"] == "paid"  # delivered again, applied once
