"""The edges of the money path: one open payment per pledge, every refund path, disputes,
short and long transfers, and events that cannot be read or booked."""

from __future__ import annotations

import io
import json
import re
import time
import urllib.error
import urllib.request

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from portal.certificates.models import Certificate
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage, MonthClose
from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.queries import pledge_balance, sponsor_balance
from portal.matching import services as matching
from portal.messages import shown
from portal.payments import services
from portal.payments.booking import book_refund
from portal.payments.exceptions import NothingToRefund
from portal.payments.models import (
    Document,
    IssueKind,
    IssueStatus,
    Payment,
    PaymentIssue,
    PaymentStatus,
    Refund,
    RefundSource,
)
from portal.payments.refunds import unassigned
from portal.payments.sandbox import sign_payload
from portal.payments.stripe_gateway import to_stripe_amount
from portal.payments.unused import request_return, roll_over
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from tests import factories
from tests.conftest import csrf_token, run_jobs
from tests.matching import builders
from tests.payments.test_payment_flow import WEBHOOK, _checkout, _customer, _pledge


def _start_card(client, pledge: Pledge):  # type: ignore[no-untyped-def]
    token = csrf_token(client, f"/pledges/{pledge.id}")
    return client.post(f"/pledges/{pledge.id}/pay/stripe", data={"csrf_token": token})


def _payments(pledge: Pledge) -> list[Payment]:
    db.session.expire_all()
    return list(
        db.session.scalars(
            select(Payment).where(Payment.pledge_id == pledge.id).order_by(Payment.id)
        )
    )


def _paid_by_card(actors, logged_in, sandbox, workers: int = 3, months: int = 2):  # type: ignore[no-untyped-def]
    pledge = _pledge(actors, workers=workers, months=months)
    payment = _checkout(logged_in(actors.owner), pledge)
    _customer(sandbox, payment, "pay")
    sandbox.flush()
    db.session.expire_all()
    return db.session.get(Pledge, pledge.id), db.session.get(Payment, payment.id)


def _intent(sandbox, payment: Payment) -> str:
    return str(sandbox.sessions[payment.stripe_session_id]["payment_intent"])


def _refund_in_stripe(app, sandbox, payment: Payment, amount: int) -> None:
    """A refund made in the Stripe dashboard: Stripe knows it, the portal has no row for it."""
    app.extensions["stripe_gateway"].refund(
        payment_intent=_intent(sandbox, payment),
        amount=amount,
        idempotency_key=f"dashboard-{payment.id}-{amount}-{time.time_ns()}",
        metadata={},
    )
    sandbox.flush()
    db.session.expire_all()


def _place(actors, month=None) -> int:  # type: ignore[no-untyped-def]
    """Staff propose and approve a run; a worker then does what the approval queued."""
    run = matching.propose_run(month or earliest_start(), actors.staff)
    placed = matching.approve_run(run, actors.staff)
    run_jobs()
    return placed


# -- one open payment per pledge --------------------------------------------------------------


def test_a_second_card_start_expires_the_first_which_can_no_longer_be_paid(
    actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    assert _start_card(client, pledge).status_code == 303
    assert _start_card(client, pledge).status_code == 303
    first, second = _payments(pledge)
    assert (first.status, second.status) == (PaymentStatus.VOID, PaymentStatus.PENDING)
    assert stripe_sandbox.sessions[first.stripe_session_id]["status"] == "expired"
    assert first.checkout_url is None  # expired at Stripe, so not tried again
    _customer_refused(stripe_sandbox, first)
    _customer(stripe_sandbox, second, "pay")
    stripe_sandbox.flush()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID
    assert [p.status for p in _payments(pledge)] == [PaymentStatus.VOID, PaymentStatus.PAID]


def _customer_refused(sandbox, payment: Payment) -> None:  # type: ignore[no-untyped-def]
    """The sponsor presses Pay on an expired session: the sandbox refuses, as Stripe would."""
    url = f"{sandbox.url}/checkout/{payment.stripe_session_id}/pay"
    try:
        urllib.request.urlopen(urllib.request.Request(url, data=b"", method="POST"), timeout=10)  # noqa: S310
    except urllib.error.HTTPError as refused:
        assert refused.code == 409
        refused.close()
    else:
        raise AssertionError("an expired session was paid")


def test_a_race_that_pays_two_sessions_keeps_one_payment_and_refunds_the_other(
    actors, logged_in, stripe_sandbox, outbox
):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    _start_card(client, pledge)
    [first] = _payments(pledge)
    _customer(stripe_sandbox, first, "pay")  # paid in one tab; the event is not delivered yet
    held = list(stripe_sandbox.pending)
    stripe_sandbox.pending.clear()
    _start_card(client, pledge)  # a second tab: the first session is complete, so it stays paid
    second = _payments(pledge)[1]
    _customer(stripe_sandbox, second, "pay")
    stripe_sandbox.pending[:0] = held
    stripe_sandbox.flush()  # both payments arrive; the second's excess is refunded at once
    stripe_sandbox.flush()  # Stripe's charge.refunded for that refund changes nothing more
    first, second = _payments(pledge)
    assert (first.status, second.status) == (PaymentStatus.PAID, PaymentStatus.PAID)
    [refund] = db.session.scalars(select(Refund).where(Refund.pledge_id == pledge.id)).all()
    assert (refund.payment_id, refund.amount, refund.source) == (
        second.id,
        second.amount,
        RefundSource.DUPLICATE,
    )
    assert refund.stripe_refund_id is not None
    charge = stripe_sandbox.charges[_intent(stripe_sandbox, second)]
    assert charge["amount_refunded"] == to_stripe_amount(second.amount)
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID
    assert sponsor_balance(pledge.company_id) == pledge.price_total
    assert any("pengembalian dana" in m.subject for m in outbox)
    assert check_ledger() == []


def test_paying_by_card_voids_the_open_invoice_and_a_transfer_voids_open_card_sessions(
    actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    client.post(f"/pledges/{pledge.id}/pay/transfer", data={"csrf_token": token})
    html = client.get(f"/pledges/{pledge.id}").get_data(as_text=True)
    assert 'id="open-invoice"' in html and 'id="pay-transfer"' not in html
    _start_card(client, pledge)
    invoice, card = _payments(pledge)
    assert (invoice.status, card.status) == (PaymentStatus.VOID, PaymentStatus.PENDING)
    client.post(f"/pledges/{pledge.id}/pay/transfer", data={"csrf_token": token})
    assert [p.status for p in _payments(pledge)] == [
        PaymentStatus.VOID,
        PaymentStatus.VOID,
        PaymentStatus.PENDING,
    ]
    assert stripe_sandbox.sessions[card.stripe_session_id]["status"] == "expired"


def test_a_late_transfer_for_a_void_invoice_is_an_overpayment_refunded_exactly(
    actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    company = db.session.get(factories.Company, pledge.company_id)
    invoice = services.start_bank_transfer(pledge, company, actors.owner)
    db.session.commit()
    _start_card(logged_in(actors.owner), pledge)
    card = _payments(pledge)[1]
    _customer(stripe_sandbox, card, "pay")
    stripe_sandbox.flush()
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/transfers")
    assert invoice.reference in staff.get("/staff/transfers").get_data(as_text=True)
    staff.post(
        f"/staff/transfers/{invoice.id}/confirm",
        data={"csrf_token": token, "amount": str(invoice.amount)},
    )
    [issue] = db.session.scalars(select(PaymentIssue)).all()
    assert (issue.kind, issue.amount, issue.payment_id) == (
        IssueKind.OVERPAYMENT,
        invoice.amount,
        invoice.id,
    )
    page = staff.get("/staff/payment-issues").get_data(as_text=True)
    assert f"Refund exactly Rp{invoice.amount:,}" in page
    # The detail is kept as a message and shown in the reader's words, never as stored data.
    assert shown(issue.detail) == f"{invoice.reference}: the pledge was paid already."
    assert f"{invoice.reference}: the pledge was paid already." in page and "msgid" not in page
    staff.post(
        f"/staff/payment-issues/{issue.id}",
        data={
            "csrf_token": token,
            "action": "refund",
            "note": "sent back",
            "bank_reference": "BCA-123",
        },
    )
    db.session.expire_all()
    assert db.session.get(PaymentIssue, issue.id).status == IssueStatus.RESOLVED
    resolved = staff.get("/staff/payment-issues?status=resolved").get_data(as_text=True)
    assert "Refunded: sent back" in resolved and "msgid" not in resolved
    refund = db.session.scalars(select(Refund).where(Refund.payment_id == invoice.id)).one()
    assert (refund.amount, refund.bank_reference) == (invoice.amount, "BCA-123")
    assert sponsor_balance(pledge.company_id) == pledge.price_total
    owner = logged_in(actors.owner)
    owner_page = owner.get(f"/pledges/{pledge.id}").get_data(as_text=True)
    assert 'data-shown="payment.refunded"' in owner_page
    note = db.session.scalars(select(Document).where(Document.refund_id == refund.id)).one()
    assert note.serial.startswith("RFD/") and note.amount == invoice.amount
    pdf = owner.get(f"/documents/{note.id}.pdf")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert note.serial in text and "BCA-123" in text and f"Rp{invoice.amount:,}" in text
    assert logged_in(actors.other_owner).get(f"/documents/{note.id}.pdf").status_code == 404


# -- transfers short, long and twice ----------------------------------------------------------


def _transfer(actors, pledge: Pledge) -> Payment:  # type: ignore[no-untyped-def]
    company = db.session.get(factories.Company, pledge.company_id)
    payment = services.start_bank_transfer(pledge, company, actors.owner)
    db.session.commit()
    return payment


def _confirm(staff, payment: Payment, amount: int) -> str:  # type: ignore[no-untyped-def]
    token = csrf_token(staff, "/staff/transfers")
    response = staff.post(
        f"/staff/transfers/{payment.id}/confirm", data={"csrf_token": token, "amount": str(amount)}
    )
    return staff.get(response.headers["Location"]).get_data(as_text=True)


def test_a_second_confirmation_of_a_transfer_is_told_nothing_changed(actors, logged_in):
    pledge = _pledge(actors)
    payment = _transfer(actors, pledge)
    staff = logged_in(actors.staff)
    assert "confirmed." in _confirm(staff, payment, payment.amount)
    assert "already confirmed; nothing changed" in _confirm(staff, payment, payment.amount)
    assert sponsor_balance(pledge.company_id) == payment.amount


def test_a_short_transfer_waits_until_staff_accept_it(actors, logged_in):
    builders.rules(city_quotas={})
    for _ in range(3):
        factories.worker()
    pledge = _pledge(actors, workers=3, months=2)
    payment = _transfer(actors, pledge)
    staff = logged_in(actors.staff)
    short = payment.amount - 16_800 * 2 - 100  # less than one slot's two months
    assert "short by" in _confirm(staff, payment, short)
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.AWAITING_PAYMENT
    issue = db.session.scalars(select(PaymentIssue)).one()
    assert (issue.kind, issue.amount) == (IssueKind.UNDERPAYMENT, payment.amount - short)
    token = csrf_token(staff, "/staff/payment-issues")
    staff.post(
        f"/staff/payment-issues/{issue.id}",
        data={"csrf_token": token, "action": "accept", "note": "agreed by phone"},
    )
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID
    assert _place(actors) == 1 * 2  # the money pays for one full slot only, not two
    assert check_ledger() == []


def test_a_short_transfer_topped_up_pays_the_pledge(actors, logged_in, outbox):
    pledge = _pledge(actors)
    payment = _transfer(actors, pledge)
    staff = logged_in(actors.staff)
    _confirm(staff, payment, payment.amount - 20_000)
    issue = db.session.scalars(select(PaymentIssue)).one()
    token = csrf_token(staff, "/staff/payment-issues")
    staff.post(
        f"/staff/payment-issues/{issue.id}",
        data={"csrf_token": token, "action": "top_up", "note": "asked by e-mail"},
    )
    top_up = _payments(pledge)[-1]
    assert (top_up.status, top_up.amount) == (PaymentStatus.PENDING, 20_000)
    assert any("kekurangan" in m.subject for m in outbox)
    _confirm(staff, top_up, 20_000)
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID
    assert db.session.get(PaymentIssue, issue.id).status == IssueStatus.RESOLVED
    assert pledge_balance(pledge.id) == pledge.price_total


# -- every refund path ------------------------------------------------------------------------


def test_a_full_refund_in_stripe_of_a_paid_pledge_ends_it_and_matching_skips_it(
    app, actors, logged_in, stripe_sandbox
):
    builders.rules(city_quotas={})
    factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox)
    _refund_in_stripe(app, stripe_sandbox, payment, payment.amount)
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.REFUNDED
    refund = db.session.scalars(select(Refund)).one()
    assert refund.source == RefundSource.STRIPE_DASHBOARD
    assert _place(actors) == 0
    close_month(earliest_start(), None)  # nothing blocks the close
    assert check_ledger() == []


def test_a_partial_refund_in_stripe_of_a_paid_pledge_shrinks_what_matching_places(
    app, actors, logged_in, stripe_sandbox
):
    builders.rules(city_quotas={})
    for _ in range(5):
        factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox, workers=3, months=2)
    _refund_in_stripe(app, stripe_sandbox, payment, 16_800 * 2)  # one slot's two months
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID
    assert _place(actors) == 2 * 2
    month = earliest_start()
    close_month(month, None)
    close_month(add_months(month, 1), None, today=month)
    run_jobs()
    assert pledge_balance(pledge.id) == 0
    certificate = db.session.scalars(
        select(Certificate).where(
            Certificate.pledge_id == pledge.id, Certificate.revoked_at.is_(None)
        )
    ).first()
    facts = json.loads(certificate.payload)
    assert (facts["worker_months"], facts["amount"]) == (4, 4 * 16_800)
    assert (facts["paid"], facts["refunded"]) == (payment.amount, 2 * 16_800)
    assert check_ledger() == []


def test_a_partial_refund_in_stripe_of_an_active_pledge_releases_months_from_the_end(
    app, actors, logged_in, stripe_sandbox
):
    builders.rules(city_quotas={})
    for _ in range(3):
        factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox, workers=3, months=3)
    assert _place(actors) == 9
    before = db.session.scalars(select(Certificate).where(Certificate.pledge_id == pledge.id)).one()
    _refund_in_stripe(app, stripe_sandbox, payment, 3 * 16_800)  # the last month
    month = earliest_start()
    months = sorted(
        db.session.scalars(select(Coverage.month).where(Coverage.pledge_id == pledge.id).distinct())
    )
    assert months == [month, add_months(month, 1)]
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.ACTIVE
    assert db.session.get(Certificate, before.id).revoked_at is not None
    current = db.session.scalars(
        select(Certificate).where(
            Certificate.pledge_id == pledge.id, Certificate.revoked_at.is_(None)
        )
    ).one()
    assert json.loads(current.payload)["worker_months"] == 6
    close_month(month, None)
    assert check_ledger() == []


def test_a_refund_of_months_already_used_becomes_an_issue_and_is_acknowledged(
    app, actors, logged_in, stripe_sandbox
):
    builders.rules(city_quotas={})
    factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox, workers=1, months=2)
    _place(actors)
    month = earliest_start()
    close_month(month, None)
    db.session.commit()
    _refund_in_stripe(app, stripe_sandbox, payment, payment.amount)  # both months, one used
    refund = db.session.scalars(select(Refund)).one()
    assert refund.amount == 16_800  # the month not started
    issue = db.session.scalars(select(PaymentIssue)).one()
    assert (issue.kind, issue.amount) == (IssueKind.UNBOOKABLE_REFUND, 16_800)
    assert all(200 <= status < 300 for _, status in stripe_sandbox.deliveries)
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.REFUNDED
    _refund_resend_changes_nothing(stripe_sandbox)
    assert check_ledger() == []


def _refund_resend_changes_nothing(sandbox) -> None:  # type: ignore[no-untyped-def]
    refunded = [e["id"] for e in sandbox.events if e["type"] == "charge.refunded"]
    assert sandbox.resend(refunded[-1]) == 200
    assert db.session.scalar(select(func.count(PaymentIssue.id))) == 1
    assert db.session.scalar(select(func.count(Refund.id))) == 1


def test_staff_refund_of_an_active_pledge_then_the_month_closes(
    actors, logged_in, stripe_sandbox, outbox
):
    builders.rules(city_quotas={})
    factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox, workers=1, months=3)
    _place(actors)
    staff = logged_in(actors.staff)
    token = csrf_token(staff, f"/staff/pledges/{pledge.id}")
    page = staff.post(
        f"/staff/pledges/{pledge.id}/refund",
        data={"csrf_token": token, "reason": "sponsor withdrew"},
        follow_redirects=True,
    )
    assert "Refund of Rp50,400 booked" in page.get_data(as_text=True)
    stripe_sandbox.flush()
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.REFUNDED
    refund = db.session.scalars(select(Refund)).one()
    assert refund.stripe_refund_id is not None
    close_month(earliest_start(), None)
    assert sponsor_balance(pledge.company_id) == 0
    assert any("pengembalian dana" in m.subject for m in outbox)


# -- disputes ---------------------------------------------------------------------------------


def _dispute_event(
    client,
    sandbox,
    payment: Payment,
    status: str,
    kind: str,  # type: ignore[no-untyped-def]
    event_id: str,
):
    dispute = {
        "id": "dp_1",
        "object": "dispute",
        "amount": to_stripe_amount(payment.amount),
        "currency": "idr",
        "charge": "ch_1",
        "payment_intent": _intent(sandbox, payment),
        "reason": "fraudulent",
        "status": status,
        "metadata": {},
    }
    event = {
        "id": event_id,
        "object": "event",
        "type": f"charge.dispute.{kind}",
        "data": {"object": dispute},
    }
    body = json.dumps(event).encode()
    return client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, sandbox.webhook_secret)},
    )


def test_a_dispute_holds_the_pledge_and_a_lost_one_returns_the_money(
    app, actors, logged_in, stripe_sandbox
):
    builders.rules(city_quotas={})
    factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox, workers=1, months=2)
    hook = app.test_client()
    opened = _dispute_event(hook, stripe_sandbox, payment, "needs_response", "created", "evt_d1")
    assert opened.get_json()["outcome"] == "dispute_opened"
    assert db.session.get(Pledge, pledge.id).on_hold
    assert _place(actors) == 0  # frozen: no worker placed while the dispute is open
    page = logged_in(actors.owner).get(f"/pledges/{pledge.id}").get_data(as_text=True)
    assert 'id="on-hold"' in page
    closed = _dispute_event(hook, stripe_sandbox, payment, "lost", "closed", "evt_d2")
    assert closed.get_json()["outcome"] == "dispute_lost"
    again = _dispute_event(hook, stripe_sandbox, payment, "lost", "closed", "evt_d3")
    assert again.get_json()["outcome"] == "dispute_known"
    db.session.expire_all()
    assert not db.session.get(Pledge, pledge.id).on_hold
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.REFUNDED
    assert db.session.scalars(select(Refund)).one().source == RefundSource.DISPUTE
    assert check_ledger() == []


def test_a_won_dispute_releases_the_hold_and_moves_no_money(app, actors, logged_in, stripe_sandbox):
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox)
    hook = app.test_client()
    _dispute_event(hook, stripe_sandbox, payment, "needs_response", "created", "evt_w1")
    assert (
        _dispute_event(hook, stripe_sandbox, payment, "won", "closed", "evt_w2").get_json()[
            "outcome"
        ]
        == "dispute_won"
    )
    db.session.expire_all()
    assert not db.session.get(Pledge, pledge.id).on_hold
    assert db.session.scalar(select(func.count(Refund.id))) == 0


# -- events answered by what they mean --------------------------------------------------------


def test_a_signed_but_malformed_event_is_400_and_a_future_signature_is_refused(
    app, stripe_sandbox, client
):
    body = json.dumps(
        {
            "id": "evt_m",
            "object": "event",
            "type": "charge.refunded",
            "data": {"object": {"object": "charge", "amount_refunded": "lots", "metadata": {}}},
        }
    ).encode()
    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, stripe_sandbox.webhook_secret)},
    )
    assert response.status_code == 200  # not ours: ignored, whatever it holds
    broken = json.dumps(
        {"id": "evt_b", "object": "event", "type": "charge.refunded", "data": {}}
    ).encode()
    response = client.post(
        WEBHOOK,
        data=broken,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(broken, stripe_sandbox.webhook_secret)},
    )
    assert response.status_code == 400
    ahead = int(time.time()) + 3600
    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, stripe_sandbox.webhook_secret, ahead)},
    )
    assert response.status_code == 400


def test_a_signed_refund_event_naming_a_transfer_payment_is_not_booked(
    actors, logged_in, stripe_sandbox, client
):
    pledge = _pledge(actors)
    payment = _transfer(actors, pledge)
    _confirm(logged_in(actors.staff), payment, payment.amount)
    charge = {
        "id": "ch_t",
        "object": "charge",
        "payment_intent": "pi_elsewhere",
        "amount": to_stripe_amount(payment.amount),
        "amount_refunded": to_stripe_amount(payment.amount),
        "currency": "idr",
        "metadata": {
            "portal": "pijar-semar",
            "pledge_id": str(pledge.id),
            "payment_id": str(payment.id),
        },
    }
    body = json.dumps(
        {"id": "evt_t", "object": "event", "type": "charge.refunded", "data": {"object": charge}}
    ).encode()
    response = client.post(
        WEBHOOK,
        data=body,
        content_type="application/json",
        headers={"Stripe-Signature": sign_payload(body, stripe_sandbox.webhook_secret)},
    )
    assert response.get_json()["outcome"] == "ignored_mismatch"
    assert db.session.scalar(select(func.count(Refund.id))) == 0


# -- money no slot uses -----------------------------------------------------------------------


def _run_with_empty_slots(actors, logged_in, sandbox, outbox):  # type: ignore[no-untyped-def]
    builders.rules(city_quotas={})
    factories.worker()
    pledge, payment = _paid_by_card(actors, logged_in, sandbox, workers=3, months=2)
    outbox.clear()
    _place(actors)
    db.session.commit()
    return db.session.get(Pledge, pledge.id), payment


def test_a_run_that_leaves_slots_empty_tells_the_sponsor_and_keeps_the_money(
    actors, logged_in, stripe_sandbox, outbox
):
    pledge, _ = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    assert pledge.unused_notice_at is not None
    assert unassigned(pledge.id) == 2 * 2 * 16_800
    [mail] = [m for m in outbox if m.to == [actors.owner.email] and "penempatan" in m.subject]
    [line] = [line for line in mail.body.splitlines() if "Rp67.200" in line]  # in Indonesian
    assert re.search(r"\b2\b\D+\b3\b", line)  # 2 of the 3 slots stayed empty
    client = logged_in(actors.owner)
    page = client.get(f"/pledges/{pledge.id}").get_data(as_text=True)
    assert 'id="unused"' in page and "Rp67,200 is waiting for your decision" in page
    assert 'id="awaiting-decision"' in client.get("/pledges").get_data(as_text=True)
    staff_page = logged_in(actors.staff).get("/dashboard").get_data(as_text=True)
    assert re.search(r'data-figure="awaiting-decision">Rp67,200<', staff_page)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    client.post(f"/pledges/{pledge.id}/unused/wait", data={"csrf_token": token})
    db.session.expire_all()
    assert db.session.get(Pledge, pledge.id).unused_notice_at is None


def test_a_pledge_that_gets_nobody_is_told_so(actors, logged_in, stripe_sandbox, outbox):
    builders.rules(city_quotas={})
    pledge, _ = _paid_by_card(actors, logged_in, stripe_sandbox, workers=2, months=1)
    outbox.clear()
    _place(actors)
    db.session.commit()
    [mail] = [m for m in outbox if m.to == [actors.owner.email]]
    assert "tidak dapat menempatkan" in mail.body  # could not place any worker (Indonesian)
    assert db.session.get(Pledge, pledge.id).unused_notice_at is not None


def test_unused_card_money_is_returned_through_stripe(actors, logged_in, stripe_sandbox, outbox):
    pledge, payment = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    client.post(f"/pledges/{pledge.id}/unused/return", data={"csrf_token": token})
    stripe_sandbox.flush()
    refund = db.session.scalars(select(Refund)).one()
    assert (refund.amount, refund.source) == (2 * 2 * 16_800, RefundSource.UNUSED)
    assert refund.stripe_refund_id is not None
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.ACTIVE
    assert unassigned(pledge.id) == 0
    assert check_ledger() == []


def test_unused_money_rolls_into_a_new_paid_pledge(actors, logged_in, stripe_sandbox, outbox):
    pledge, _ = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    too_big = client.post(
        f"/pledges/{pledge.id}/unused/rollover",
        data={
            "csrf_token": token,
            "workers": "5",
            "months": "2",
            "start_month": earliest_start().isoformat(),
        },
        follow_redirects=True,
    )
    assert "cannot be rolled over" in too_big.get_data(as_text=True)
    client.post(
        f"/pledges/{pledge.id}/unused/rollover",
        data={
            "csrf_token": token,
            "workers": "1",
            "months": "4",
            "start_month": earliest_start().isoformat(),
        },
    )
    new = db.session.scalars(select(Pledge).where(Pledge.id != pledge.id)).one()
    assert (new.status, new.workers, new.months) == (PledgeStatus.PAID, 1, 4)
    assert pledge_balance(new.id) == 4 * 16_800
    assert unassigned(pledge.id) == 0
    assert sponsor_balance(pledge.company_id) == pledge.price_total - 0  # nothing left the city
    assert (
        db.session.scalar(select(func.count(Refund.id)).where(Refund.stripe_refund_id.is_not(None)))
        == 0
    )
    assert check_ledger() == []


def test_widening_the_target_clears_the_notice(actors, logged_in, stripe_sandbox, outbox):
    pledge, _ = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge.id}")
    client.post(
        f"/pledges/{pledge.id}/unused/target",
        data={"csrf_token": token, "categories": ["ojek", "becak"]},
    )
    db.session.expire_all()
    changed = db.session.get(Pledge, pledge.id)
    assert changed.target_categories == ["ojek", "becak"]
    assert changed.unused_notice_at is None


def test_another_companys_unused_money_is_404(actors, logged_in, stripe_sandbox, outbox):
    pledge, _ = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    other = logged_in(actors.other_owner)
    token = csrf_token(other, "/pledges")
    for action in ("wait", "return", "target", "rollover"):
        response = other.post(f"/pledges/{pledge.id}/unused/{action}", data={"csrf_token": token})
        assert response.status_code == 404


# -- honest promises --------------------------------------------------------------------------


def test_a_closed_month_is_never_offered_as_a_start(actors, logged_in):
    month = earliest_start()
    db.session.add(MonthClose(month=month, totals={}))
    db.session.commit()
    html = logged_in(actors.owner).get("/pledges/new").get_data(as_text=True)
    assert f'value="{month.isoformat()}"' not in html
    assert f'value="{add_months(month, 1).isoformat()}"' in html


# -- the command line -------------------------------------------------------------------------


def test_sync_stripe_sends_a_refund_stripe_did_not_take_and_lists_issues(
    app, actors, logged_in, stripe_sandbox
):
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox)
    refund = Refund(
        payment_id=payment.id,
        pledge_id=pledge.id,
        company_id=pledge.company_id,
        amount=16_800,
        worker_months=0,
        reason="left unsent",
        source=RefundSource.UNUSED,
    )
    db.session.add(refund)
    db.session.flush()
    book_refund(refund)
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["payments", "sync-stripe"])
    assert result.exit_code == 0 and "refunds sent: 1" in result.output
    db.session.expire_all()
    assert db.session.get(Refund, refund.id).stripe_refund_id is not None
    again = runner.invoke(args=["payments", "sync-stripe"])
    assert "refunds sent: 0" in again.output
    listed = runner.invoke(args=["payments", "issues"])
    assert "0 open issue(s)" in listed.output


# -- refusals say why and change nothing ------------------------------------------------------


def _flashes(client, response) -> str:  # type: ignore[no-untyped-def]
    return client.get(response.headers["Location"]).get_data(as_text=True)


def test_card_payment_refusals_change_nothing(actors, logged_in, stripe_sandbox):
    client = logged_in(actors.owner)
    pledge, _ = _paid_by_card(actors, logged_in, stripe_sandbox)
    assert "cannot be paid now" in _flashes(client, _start_card(client, pledge))
    small = _pledge(actors, workers=1, months=1)  # Rp16.800 is above Stripe's minimum
    small.price_total = 9_000  # a top-up this small cannot go by card
    db.session.commit()
    assert "cannot be paid by card" in _flashes(client, _start_card(client, small))
    assert _payments(small) == []
    port = int(str(stripe_sandbox.url).rsplit(":", 1)[1])
    stripe_sandbox.stop()  # Stripe unreachable: the attempt stays, a retry repairs it
    try:
        other = _pledge(actors)
        page = _flashes(client, _start_card(client, other))
        assert "could not start" in page
        [attempt] = _payments(other)
        assert (attempt.status, attempt.stripe_session_id) == (PaymentStatus.PENDING, None)
    finally:
        stripe_sandbox.start(port=port)  # where the gateway looks for it


def test_decisions_that_do_not_apply_are_refused_with_a_reason(actors, logged_in, stripe_sandbox):
    pledge, _ = _paid_by_card(actors, logged_in, stripe_sandbox)
    pledge_id = pledge.id
    client = logged_in(actors.owner)
    token = csrf_token(client, f"/pledges/{pledge_id}")
    pledge = db.session.get_one(Pledge, pledge_id)  # requests end the test's session
    pledge.status = PledgeStatus.COMPLETED  # no slot to wait for, no target to change
    db.session.commit()
    wait = client.post(f"/pledges/{pledge_id}/unused/wait", data={"csrf_token": token})
    assert "Nothing is waiting" in _flashes(client, wait)
    target = client.post(f"/pledges/{pledge_id}/unused/target", data={"csrf_token": token})
    assert "cannot change now" in _flashes(client, target)
    rollover = client.post(f"/pledges/{pledge_id}/unused/rollover", data={"csrf_token": token})
    assert "Choose the workers" in _flashes(client, rollover)
    pledge = db.session.get_one(Pledge, pledge_id)
    pledge.on_hold = True
    db.session.commit()
    refused = client.post(f"/pledges/{pledge_id}/unused/return", data={"csrf_token": token})
    assert "No unused money" in _flashes(client, refused)
    assert db.session.scalar(select(func.count(Refund.id))) == 0


def test_issue_actions_are_checked_and_a_settled_issue_stays_settled(
    app, actors, logged_in, stripe_sandbox
):
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox)
    _dispute_event(
        app.test_client(), stripe_sandbox, payment, "needs_response", "created", "evt_i1"
    )
    issue = db.session.scalars(select(PaymentIssue)).one()
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/payment-issues")
    url = f"/staff/payment-issues/{issue.id}"
    assert "Write a note" in _flashes(staff, staff.post(url, data={"csrf_token": token}))
    wrong = staff.post(url, data={"csrf_token": token, "action": "accept", "note": "not so"})
    assert "cannot be settled that way" in _flashes(staff, wrong)
    done = staff.post(
        url, data={"csrf_token": token, "action": "resolve", "note": "the bank settled it"}
    )
    assert "Issue resolved" in _flashes(staff, done)
    db.session.expire_all()
    assert not db.session.get(Pledge, pledge.id).on_hold
    again = staff.post(url, data={"csrf_token": token, "action": "resolve", "note": "twice"})
    assert "cannot be settled that way" in _flashes(staff, again)
    resolved = staff.get("/staff/payment-issues?status=resolved").get_data(as_text=True)
    assert "the bank settled it" in resolved


def test_a_surplus_queued_for_staff_is_neither_returned_nor_rolled_over_twice(actors, logged_in):
    """A transfer 16,800 over the price opens an over-payment issue for it; the same money is
    then not offered again for return or roll-over, and settling the issue never takes a
    placed month with it."""
    builders.rules(city_quotas={})
    factories.worker()
    pledge = _pledge(actors, workers=1, months=2)
    payment = _transfer(actors, pledge)
    _confirm(logged_in(actors.staff), payment, payment.amount + 16_800)
    _place(actors)
    db.session.commit()
    pledge_id = pledge.id
    pledge = db.session.get_one(Pledge, pledge_id)
    company = db.session.get_one(factories.Company, pledge.company_id)
    with pytest.raises(NothingToRefund):
        request_return(pledge, actors.owner)
    with pytest.raises(NothingToRefund):
        roll_over(pledge, company, actors.owner, 1, 1, earliest_start())
    db.session.rollback()
    issue = db.session.scalars(select(PaymentIssue)).one()
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/payment-issues")
    staff.post(
        f"/staff/payment-issues/{issue.id}",
        data={
            "csrf_token": token,
            "action": "refund",
            "note": "sent back",
            "bank_reference": "B-1",
        },
    )
    assert db.session.scalar(select(func.sum(Refund.amount))) == 16_800
    assert (
        db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge_id))
        == 2
    )


def test_money_rolled_over_can_be_returned_by_the_bank(actors, logged_in, stripe_sandbox, outbox):
    """A pledge paid by a roll-over has no card or transfer of its own: its unused money is
    returned by the bank against the roll-over payment, as a request staff settle."""
    pledge, _ = _run_with_empty_slots(actors, logged_in, stripe_sandbox, outbox)
    company = db.session.get_one(factories.Company, pledge.company_id)
    new = roll_over(pledge, company, actors.owner, 1, 2, add_months(earliest_start(), 1))
    db.session.commit()
    returned = request_return(db.session.get_one(Pledge, new.id), actors.owner)
    db.session.commit()
    issue = db.session.scalars(select(PaymentIssue)).one()
    rollover = db.session.get_one(Payment, issue.payment_id)
    assert (issue.kind, issue.amount, returned) == (
        IssueKind.REFUND_REQUEST,
        2 * 16_800,
        2 * 16_800,
    )
    assert rollover.pledge_id == new.id
    staff = logged_in(actors.staff)
    token = csrf_token(staff, "/staff/payment-issues")
    staff.post(
        f"/staff/payment-issues/{issue.id}",
        data={
            "csrf_token": token,
            "action": "refund",
            "note": "paid back",
            "bank_reference": "B-9",
        },
    )
    refund = db.session.scalars(select(Refund).where(Refund.payment_id == rollover.id)).one()
    assert (refund.amount, refund.source, refund.bank_reference) == (
        2 * 16_800,
        RefundSource.UNUSED,
        "B-9",
    )
    assert check_ledger() == []


def test_a_refund_made_in_stripe_is_never_sent_to_stripe_again(
    app, actors, logged_in, stripe_sandbox
):
    """Booked from Stripe's own event, it has no Stripe id of ours; a later sync must not
    take it for a refund waiting to be sent (that would return the money twice)."""
    pledge, payment = _paid_by_card(actors, logged_in, stripe_sandbox)
    _refund_in_stripe(app, stripe_sandbox, payment, 16_800)
    assert db.session.scalars(select(Refund)).one().source == RefundSource.STRIPE_DASHBOARD
    result = app.test_cli_runner().invoke(args=["payments", "sync-stripe"])
    assert "refunds sent: 0" in result.output
    charge = stripe_sandbox.charges[_intent(stripe_sandbox, payment)]
    assert charge["amount_refunded"] == to_stripe_amount(16_800)
    page = logged_in(actors.staff).get("/staff/payment-issues").get_data(as_text=True)
    assert "not taken by Stripe yet" not in page


def test_a_transfer_confirmed_while_a_card_session_is_open_closes_that_session(
    actors, logged_in, stripe_sandbox
):
    pledge = _pledge(actors)
    invoice = _transfer(actors, pledge)
    _start_card(logged_in(actors.owner), pledge)  # the invoice is void now, the session open
    card = _payments(pledge)[1]
    assert stripe_sandbox.sessions[card.stripe_session_id]["status"] == "open"
    _confirm(logged_in(actors.staff), invoice, invoice.amount)  # the transfer came anyway
    assert db.session.get_one(Pledge, pledge.id).status == PledgeStatus.PAID
    assert stripe_sandbox.sessions[card.stripe_session_id]["status"] == "expired"
    assert _payments(pledge)[1].status == PaymentStatus.VOID
