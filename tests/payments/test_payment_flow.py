"""Paying pledges through the Stripe sandbox and by transfer; webhooks applied exactly once."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.request

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import func, select

from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import EntryKind, LedgerEntry
from portal.ledger.queries import sponsor_balance
from portal.payments import services
from portal.payments.models import Document, Payment, PaymentStatus, Refund, StripeEvent
from portal.payments.sandbox import sign_payload
from portal.payments.stripe_gateway import from_stripe_amount, to_stripe_amount
from portal.pledges import services as pledge_services
from portal.pledges.models import Pledge
from tests import factories
from tests.conftest import csrf_token

WEBHOOK = "/payments/stripe/webhook"


def test_rupiah_go_to_stripe_in_hundredths_and_back():
    assert to_stripe_amount(16_800) == 1_680_000
    assert from_stripe_amount(1_680_000) == 16_800
    with pytest.raises(ValueError):
        from_stripe_amount(1_680_050)
    with pytest.raises(ValueError):
        to_stripe_amount(-1)


@given(st.integers(min_value=0, max_value=10**13))
def test_conversion_round_trips_every_whole_rupiah(rupiah):
    assert from_stripe_amount(to_stripe_amount(rupiah)) == rupiah


def _pledge(actors, workers: int = 3, months: int = 2) -> Pledge:  # type: ignore[no-untyped-def]
    company = db.session.get(factories.Company, actors.owner.company_id)
    pledge = pledge_services.create_pledge(
        company,
        actors.owner,
        pledge_services.PledgeTerms(workers, months, pledge_services.earliest_start()),
    )
    pledge_services.submit_pledge(pledge, company, actors.owner)
    return pledge


def _checkout(client, pledge: Pledge) -> Payment:  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/pledges/{pledge.id}")
    response = client.post(f"/pledges/{pledge.id}/pay/stripe", data={"csrf_token": token})
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert response.status_code == 303, re.findall(r"alert-[a-z]+\" role=\"alert\">([^<]*)", page)
    assert "/checkout/cs_test_" in response.headers["Location"]
    return db.session.scalar(select(Payment).where(Payment.pledge_id == pledge.id))


def _customer(sandbox, payment: Payment, action: str, query: str = "") -> None:  # type: ignore[no-untyped-def]
    """The sponsor presses a button on the sandbox checkout page."""
    url = f"{sandbox.url}/checkout/{payment.stripe_session_id}/{action}{query}"

    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            return None

    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(urllib.request.Request(url, data=b"", method="POST"), timeout=10)  # noqa: S310
    except urllib.error.HTTPError as redirect:
        assert redirect.code in (302, 303)
        redirect.close()


def _entries(kind: EntryKind) -> int:
    return db.session.scalar(select(func.count()).where(LedgerEntry.kind == kind))


def _state(pledge: Pledge, payment: Payment) -> tuple:  # type: ignore[type-arg]
    db.session.expire_all()
    return (
        db.session.get(Pledge, pledge.id).status,
        db.session.get(Payment, payment.id).status,
        _entries(EntryKind.PAYMENT_RECEIVED),
        _entries(EntryKind.REFUND),
    )


def test_card_payment_pays_the_pledge_once_even_when_events_repeat(
    actors, logged_in, stripe_sandbox, outbox
):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    payment = _checkout(client, pledge)
    assert payment.amount == 3 * 2 * 16_800
    session = stripe_sandbox.sessions[payment.stripe_session_id]
    assert session["amount_total"] == to_stripe_amount(payment.amount)
    assert session["metadata"]["pledge_id"] == str(pledge.id)
    _customer(stripe_sandbox, payment, "pay")
    stripe_sandbox.flush()
    assert _state(pledge, payment) == ("paid", "paid", 1, 0)
    completed = stripe_sandbox.events[-1]["id"]
    for _ in range(5):
        assert stripe_sandbox.resend(completed) == 200
    assert _state(pledge, payment) == ("paid", "paid", 1, 0)
    assert sponsor_balance(pledge.company_id) == payment.amount
    assert (
        db.session.scalar(select(func.count(Document.id)).where(Document.payment_id == payment.id))
        == 1
    )  # the receipt
    assert any("pembayaran diterima" in m.subject for m in outbox)
    assert check_ledger() == []


def _post_event(client, event: dict, secret: str, timestamp: int | None = None):  # type: ignore[no-untyped-def]
    body = json.dumps(event).encode()
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, secret, timestamp)},
    )


def _completed_event(
    payment: Payment, amount: int | None = None, event_id: str = "evt_x", **metadata: str
) -> dict:  # type: ignore[type-arg]
    meta = {
        "portal": "pijar-semar",
        "pledge_id": str(payment.pledge_id),
        "payment_id": str(payment.id),
        **metadata,
    }
    return {
        "id": event_id,
        "object": "event",
        "type": "checkout.session.completed",
        "data": {
            "object": {
                "id": payment.stripe_session_id,
                "object": "checkout.session",
                "payment_status": "paid",
                "currency": "idr",
                "amount_total": to_stripe_amount(amount or payment.amount),
                "payment_intent": "pi_test_manual",
                "metadata": meta,
            }
        },
    }


def test_forged_stale_and_unsigned_webhooks_are_refused(actors, logged_in, stripe_sandbox, client):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    event = _completed_event(payment)
    assert _post_event(client, event, "whsec_wrong").status_code == 400
    stale = int(time.time()) - 301
    assert _post_event(client, event, stripe_sandbox.webhook_secret, stale).status_code == 400
    assert (
        client.post(WEBHOOK, data=json.dumps(event), content_type="application/json").status_code
        == 400
    )
    body = json.dumps(event).encode()
    signature = sign_payload(body, stripe_sandbox.webhook_secret)
    tampered = body.replace(b'"paid"', b'"PAID"', 1)
    assert (
        client.post(
            WEBHOOK,
            data=tampered,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        ).status_code
        == 400
    )
    assert _state(pledge, payment) == ("awaiting_payment", "pending", 0, 0)
    assert db.session.scalar(select(func.count()).select_from(StripeEvent)) == 0


def test_events_that_are_not_ours_are_ignored_with_200(actors, logged_in, stripe_sandbox, client):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    response = _post_event(
        client, _completed_event(payment, portal="another-shop"), stripe_sandbox.webhook_secret
    )
    assert response.status_code == 200 and response.get_json()["outcome"] == "ignored_not_ours"
    assert _state(pledge, payment) == ("awaiting_payment", "pending", 0, 0)


def test_an_amount_that_differs_from_the_pledge_is_not_accepted(
    actors, logged_in, stripe_sandbox, client
):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    response = _post_event(
        client,
        _completed_event(payment, amount=payment.amount - 100),
        stripe_sandbox.webhook_secret,
    )
    assert response.get_json()["outcome"] == "amount_mismatch"
    assert _state(pledge, payment) == ("awaiting_payment", "pending", 0, 0)


def test_two_different_events_about_the_same_payment_have_one_effect(
    actors, logged_in, stripe_sandbox, client
):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    secret = stripe_sandbox.webhook_secret
    assert (
        _post_event(client, _completed_event(payment, event_id="evt_a"), secret).get_json()[
            "outcome"
        ]
        == "paid"
    )
    assert (
        _post_event(client, _completed_event(payment, event_id="evt_b"), secret).get_json()[
            "outcome"
        ]
        == "already_settled"
    )
    assert _state(pledge, payment) == ("paid", "paid", 1, 0)


def test_an_abandoned_checkout_expires_and_a_new_one_can_start(actors, logged_in, stripe_sandbox):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    payment = _checkout(client, pledge)
    _customer(stripe_sandbox, payment, "abandon")
    stripe_sandbox.flush()
    assert _state(pledge, payment) == ("awaiting_payment", "expired", 0, 0)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    response = client.post(f"/pledges/{pledge.id}/pay/stripe", data={"csrf_token": token})
    assert response.status_code == 303
    assert (
        db.session.scalar(select(func.count(Payment.id)).where(Payment.pledge_id == pledge.id)) == 2
    )


def test_a_failed_delayed_payment_leaves_the_pledge_unpaid(actors, logged_in, stripe_sandbox):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    _customer(stripe_sandbox, payment, "fail")
    stripe_sandbox.flush()
    assert _state(pledge, payment) == ("awaiting_payment", "failed", 0, 0)


def test_async_success_before_completion_ends_as_in_order(actors, logged_in, stripe_sandbox):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    _customer(stripe_sandbox, payment, "pay", "?async=1")
    completed, succeeded = stripe_sandbox.pending[-2:]
    stripe_sandbox.pending[-2:] = [succeeded, completed]  # out of order
    stripe_sandbox.flush()
    assert _state(pledge, payment) == ("paid", "paid", 1, 0)


def test_a_refund_arriving_before_its_payment_ends_as_in_order(
    actors, logged_in, stripe_sandbox, app
):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    _customer(stripe_sandbox, payment, "pay")
    held = list(stripe_sandbox.pending)
    stripe_sandbox.pending.clear()
    intent = stripe_sandbox.sessions[payment.stripe_session_id]["payment_intent"]
    gateway = app.extensions["stripe_gateway"]
    gateway.refund(
        payment_intent=intent, amount=payment.amount, idempotency_key="dash-1", metadata={}
    )  # a refund made in the Stripe dashboard
    stripe_sandbox.pending.extend(held)  # charge.refunded first, then completed
    stripe_sandbox.flush()
    # The full refund made in Stripe leaves the pledge nothing to fund: it ends refunded.
    assert _state(pledge, payment) == ("refunded", "paid", 1, 1)
    assert sponsor_balance(pledge.company_id) == 0
    assert check_ledger() == []


def test_staff_refund_returns_the_months_not_started_through_stripe(
    actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    payment = _checkout(logged_in(actors.owner), pledge)
    _customer(stripe_sandbox, payment, "pay")
    stripe_sandbox.flush()
    staff = logged_in(actors.staff)
    token = csrf_token(staff, f"/staff/pledges/{pledge.id}")
    response = staff.post(
        f"/staff/pledges/{pledge.id}/refund",
        data={"csrf_token": token, "reason": "Perusahaan membatalkan"},
    )
    assert response.status_code == 302
    stripe_sandbox.flush()  # charge.refunded for the refund we made
    refund = db.session.scalar(select(Refund))
    assert refund.amount == payment.amount and refund.stripe_refund_id
    assert _state(pledge, payment) == ("refunded", "paid", 1, 1)
    assert sponsor_balance(pledge.company_id) == 0
    assert check_ledger() == []


def test_bank_transfer_gets_an_invoice_and_a_statement_confirms_it(actors, logged_in):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    client.post(f"/pledges/{pledge.id}/pay/transfer", data={"csrf_token": token})
    payment = db.session.scalar(select(Payment).where(Payment.pledge_id == pledge.id))
    invoice = db.session.scalar(select(Document).where(Document.payment_id == payment.id))
    assert invoice.serial.startswith("INV/")
    pdf = client.get(f"/documents/{invoice.id}.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    statement = (
        "tanggal;keterangan;jumlah\n"
        f"01/12/2026;TRF {payment.reference} PT UJI;{payment.amount}\n"
        f"01/12/2026;TRF {payment.reference} lagi;{payment.amount}\n"
        "02/12/2026;TRF PJS-209901-ABCDEF;16800\n"
    )
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/transfers")
    html = staff.post(
        "/staff/transfers/statement",
        data={"csrf_token": token, "statement": (io.BytesIO(statement.encode()), "mutasi.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert 'data-outcome="matched"' in html and 'data-outcome="duplicate"' in html
    assert 'data-outcome="unknown_reference"' in html
    assert _state(pledge, payment) == ("paid", "paid", 1, 0)


def test_a_wrong_transfer_amount_is_flagged_not_applied(actors, logged_in):
    pledge = _pledge(actors)
    company = db.session.get(factories.Company, pledge.company_id)
    payment = services.start_bank_transfer(pledge, company, actors.owner)
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/transfers")
    statement = f"date,description,amount\n2026-12-01,{payment.reference},{payment.amount - 1}\n"
    html = staff.post(
        "/staff/transfers/statement",
        data={"csrf_token": token, "statement": (io.BytesIO(statement.encode()), "s.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    ).get_data(as_text=True)
    assert 'data-outcome="underpaid"' in html
    assert db.session.get(Payment, payment.id).status == PaymentStatus.PENDING


def test_another_companys_document_is_404(actors, logged_in):
    pledge = _pledge(actors)
    company = db.session.get(factories.Company, pledge.company_id)
    payment = services.start_bank_transfer(pledge, company, actors.owner)
    invoice = db.session.scalar(select(Document).where(Document.payment_id == payment.id))
    assert logged_in(actors.other_owner).get(f"/documents/{invoice.id}.pdf").status_code == 404
    assert logged_in(actors.staff).get(f"/documents/{invoice.id}.pdf").status_code == 200


def test_the_staff_pledge_list_names_each_company(actors, logged_in):
    mine = _pledge(actors)
    other_company = db.session.get(factories.Company, actors.other_owner.company_id)
    theirs = pledge_services.create_pledge(
        other_company,
        actors.other_owner,
        pledge_services.PledgeTerms(1, 1, pledge_services.earliest_start()),
    )
    db.session.commit()
    page = logged_in(actors.staff).get("/staff/pledges").get_data(as_text=True)
    rows = dict(re.findall(r'/staff/pledges/(\d+)">#\d+</a></td><td[^>]*>([^<]+)</td>', page))
    assert rows[str(mine.id)] == "PT Uji Coba Sejahtera"
    assert rows[str(theirs.id)] == "PT Lain Sekali"
    filtered = logged_in(actors.staff).get("/staff/pledges?status=draft").get_data(as_text=True)
    assert "PT Lain Sekali" in filtered and "PT Uji Coba Sejahtera" not in filtered
