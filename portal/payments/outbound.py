"""Calls to Stripe, made with no database transaction open.

Stripe (and the sandbox) may deliver a webhook while a call is under way; on SQLite a request
holding the write lock would then make that delivery wait and fail. So these functions read
what they need, end the transaction, call Stripe, and record the answer in a new short
transaction. They are the only money code that commits, which is why they live apart from
the services. What is not done yet is found again from the database the next time (card
refunds without a Stripe id, void attempts whose session is still open), so a failure on
either side is repaired by the next call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import or_, select, update

from portal.db import utcnow
from portal.extensions import db
from portal.messages import Message, _m
from portal.payments.exceptions import GatewayError
from portal.payments.models import Payment, PaymentMethod, PaymentStatus, Refund
from portal.payments.queries import UNSENT_CARD_REFUND
from portal.payments.services import METADATA_MARK
from portal.payments.stripe_gateway import CheckoutSession, gateway

CLAIM_TIMEOUT = timedelta(minutes=5)  # a sender that died is taken over after this


@dataclass(frozen=True)
class _CardRefund:
    refund_id: int
    pledge_id: int
    payment_id: int
    intent: str
    amount: int


@dataclass
class SyncResult:
    refunds_sent: int = 0
    sessions_expired: int = 0
    errors: list[Message] = field(default_factory=list)  # Stripe's own words inside


def sync_stripe(pledge_id: int | None = None) -> SyncResult:
    """Send booked card refunds and expire the sessions of void attempts (of one pledge, or
    all); commits what it reads first, and each answer on its own."""
    refunds, sessions = _card_refunds(pledge_id), _open_void_sessions(pledge_id)
    db.session.commit()
    result = SyncResult()
    for job in refunds:
        _send_refund(job, result)
    for payment_id, session_id in sessions:
        _expire_session(payment_id, session_id, result)
    return result


def _card_refunds(pledge_id: int | None) -> list[_CardRefund]:
    stmt = (
        select(
            Refund.id,
            Refund.pledge_id,
            Refund.payment_id,
            Payment.stripe_payment_intent,
            Refund.amount,
        )
        .join(Payment, Payment.id == Refund.payment_id)
        .where(UNSENT_CARD_REFUND)
        .order_by(Refund.id)
    )
    if pledge_id is not None:
        stmt = stmt.where(Refund.pledge_id == pledge_id)
    return [_CardRefund(*row) for row in db.session.execute(stmt)]


def _open_void_sessions(pledge_id: int | None) -> list[tuple[int, str]]:
    """Attempts no longer wanted whose Checkout Session may still be payable at Stripe."""
    stmt = (
        select(Payment.id, Payment.stripe_session_id)
        .where(
            Payment.method == PaymentMethod.STRIPE,
            Payment.status == PaymentStatus.VOID,
            Payment.stripe_session_id.is_not(None),
            Payment.checkout_url.is_not(None),
        )
        .order_by(Payment.id)
    )
    if pledge_id is not None:
        stmt = stmt.where(Payment.pledge_id == pledge_id)
    return [(int(pid), str(sid)) for pid, sid in db.session.execute(stmt)]


def _claim(refund_id: int) -> bool:
    """Take the refund for sending (committed), unless another process is sending it now."""
    now = utcnow()
    claimed = db.session.execute(
        update(Refund)
        .where(
            Refund.id == refund_id,
            Refund.stripe_refund_id.is_(None),
            or_(Refund.stripe_claimed_at.is_(None), Refund.stripe_claimed_at < now - CLAIM_TIMEOUT),
        )
        .values(stripe_claimed_at=now)
    )
    db.session.commit()
    return bool(claimed.rowcount)  # type: ignore[attr-defined]


def _send_refund(job: _CardRefund, result: SyncResult) -> None:
    if not _claim(job.refund_id):
        return
    metadata = {
        "portal": METADATA_MARK,
        "pledge_id": str(job.pledge_id),
        "payment_id": str(job.payment_id),
        "refund_id": str(job.refund_id),
    }
    try:
        stripe_id = gateway().refund(
            payment_intent=job.intent,
            amount=job.amount,
            idempotency_key=f"refund-{job.refund_id}",
            metadata=metadata,
        )
    except GatewayError as error:
        result.errors.append(_m("Refund #%(id)s: %(why)s", id=job.refund_id, why=str(error)))
        db.session.execute(
            update(Refund).where(Refund.id == job.refund_id).values(stripe_claimed_at=None)
        )
        db.session.commit()
        return
    db.session.execute(
        update(Refund)
        .where(Refund.id == job.refund_id, Refund.stripe_refund_id.is_(None))
        .values(stripe_refund_id=stripe_id)
    )
    db.session.commit()
    result.refunds_sent += 1


def _expire_session(payment_id: int, session_id: str, result: SyncResult) -> None:
    try:
        gateway().expire_checkout_session(session_id)
    except GatewayError as error:
        result.errors.append(
            _m("Checkout session of payment #%(id)s: %(why)s", id=payment_id, why=str(error))
        )
        return
    _forget_url(payment_id)
    result.sessions_expired += 1


def _forget_url(payment_id: int) -> None:
    db.session.execute(update(Payment).where(Payment.id == payment_id).values(checkout_url=None))
    db.session.commit()


def open_checkout(params: dict[str, object]) -> CheckoutSession:
    """Create the Checkout Session of a committed card attempt, outside any transaction.

    Raises AmountNotAllowed, GatewayError; the attempt then stays pending with no session, and
    the sponsor's next start voids it (a repeated call with its idempotency key, say after a
    timeout, gets the same session from Stripe)."""
    db.session.commit()
    return gateway().create_checkout_session(**params)  # type: ignore[arg-type]
