"""Stripe events: recorded once by id, checked against our payment, then applied once.

Every event is answered by what it means: money that arrived is recorded, refunds and lost
disputes go through the one refund path (what the ledger cannot book becomes an issue for
staff, never an error that makes Stripe retry for days), a dispute puts the pledge on hold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import bindparam, func, insert, or_, select

from portal.audit.services import record_event
from portal.db import utcnow
from portal.extensions import db
from portal.messages import Message, _m
from portal.payments.issues import open_issue, open_issues_of, resolve_issue
from portal.payments.models import (
    PAYABLE_STATUSES,
    IssueKind,
    IssueStatus,
    Payment,
    PaymentIssue,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundSource,
    StripeEvent,
)
from portal.payments.refunds import lock_pledge, refund_payment
from portal.payments.services import METADATA_MARK, confirm_payment, settle_payment
from portal.payments.stripe_gateway import from_stripe_amount
from portal.pledges.models import Pledge
from portal.regions.scope import all_regions, current_region, region_scope

Handler = Callable[[Payment, dict[str, Any]], str]

_EVENT = StripeEvent.__table__
_SEEN = select(_EVENT.c.id).where(_EVENT.c.id == bindparam("event_id"))
_STORE = insert(_EVENT)
_PAYMENT_AND_PLEDGE = (
    select(Payment, Pledge)
    .join(Pledge, Pledge.id == Payment.pledge_id)
    .where(Payment.id == bindparam("payment_id"))
)


@dataclass(frozen=True)
class Handled:
    outcome: str
    pledge_id: int | None
    region_code: str | None = None  # the region of the payment, whose work follows


def handle_stripe_event(event: dict[str, Any]) -> Handled:
    """Apply a verified event; returns what happened. A repeated event id changes nothing.

    Stripe speaks to one endpoint for every region: the payment is looked up across regions,
    and the event is applied in the payment's region (its ledger, audit trail and events).
    Two copies racing each other: the payment moves only by a conditional update, so the
    loser changes nothing, and its event row then collides on the key and rolls back.
    Raises KeyError, TypeError or ValueError for a malformed event (answered 400).
    """
    if event_recorded(event["id"]):
        return Handled("duplicate", None)
    obj = event["data"]["object"]
    # The pledge is held here so that it stays in the session (whose identity map keeps
    # unchanged objects only while they are referenced) for the handler that needs it.
    with all_regions():
        if event["type"].startswith("charge.dispute."):
            payment, _pledge = _payment_by_intent(obj.get("payment_intent"))
        else:
            payment, _pledge = _our_payment(obj)
    with region_scope(payment.region_code if payment else current_region()):
        handler = HANDLERS.get(event["type"])
        if payment is None:
            outcome = "ignored_not_ours"
        elif handler is None:
            outcome = "ignored_type"
        else:
            outcome = handler(payment, obj)
        db.session.execute(
            _STORE,
            {
                "id": event["id"],
                "type": event["type"],
                "object_id": str(obj.get("id", "")),
                "outcome": outcome,
                "received_at": utcnow(),
            },
        )
        record_event(
            "stripe.event",
            payment,
            after={"event": event["id"], "type": event["type"], "outcome": outcome},
            company_id=payment.company_id if payment else None,
        )
    if payment is None:
        return Handled(outcome, None)
    return Handled(outcome, payment.pledge_id, payment.region_code)


def event_recorded(event_id: str) -> bool:
    """Whether an event with this id is stored (by this transaction or a committed one)."""
    return db.session.execute(_SEEN, {"event_id": event_id}).first() is not None


def _our_payment(obj: dict[str, Any]) -> tuple[Payment | None, Pledge | None]:
    """The payment an object belongs to (with its pledge, loaded in the same statement), only
    when its metadata says it is ours and agrees; else (None, None)."""
    metadata = obj.get("metadata") or {}
    if metadata.get("portal") != METADATA_MARK or not str(metadata.get("payment_id", "")).isdigit():
        return None, None
    found = db.session.execute(
        _PAYMENT_AND_PLEDGE, {"payment_id": int(metadata["payment_id"])}
    ).first()
    if found is None:
        return None, None
    payment, pledge = found
    if str(payment.pledge_id) != str(metadata.get("pledge_id")):
        return None, None
    session_id = obj.get("id") if obj.get("object") == "checkout.session" else None
    if session_id and payment.stripe_session_id != session_id:
        return None, None
    return payment, pledge


def _payment_by_intent(intent: Any) -> tuple[Payment | None, Pledge | None]:
    """Disputes carry no metadata of ours: the card payment is found by its payment intent."""
    if not isinstance(intent, str) or not intent:
        return None, None
    found = db.session.execute(
        select(Payment, Pledge)
        .join(Pledge, Pledge.id == Payment.pledge_id)
        .where(Payment.stripe_payment_intent == intent, Payment.method == PaymentMethod.STRIPE)
    ).first()
    return (found[0], found[1]) if found else (None, None)


def _amount_ok(payment: Payment, hundredths: Any, currency: Any) -> bool:
    try:
        rupiah = from_stripe_amount(int(hundredths))
    except (TypeError, ValueError):
        return False
    return str(currency).lower() == "idr" and rupiah == payment.amount


def _paid(payment: Payment, hundredths: Any, currency: Any, intent: Any, source: str) -> str:
    if not _amount_ok(payment, hundredths, currency):
        record_event(
            "payment.amount_mismatch",
            payment,
            after={"expected": payment.amount, "stripe_amount": hundredths, "currency": currency},
        )
        return "amount_mismatch"
    done = confirm_payment(
        payment,
        payment.amount,
        actor=None,
        source=source,
        payment_intent=str(intent) if intent else None,
    )
    return "paid" if done else "already_settled"


def _completed(payment: Payment, session: dict[str, Any]) -> str:
    if session.get("payment_status") != "paid":
        if session.get("payment_intent") and not payment.stripe_payment_intent:
            payment.stripe_payment_intent = str(session["payment_intent"])
        return "awaiting_async_payment"
    return _paid(
        payment,
        session.get("amount_total"),
        session.get("currency"),
        session.get("payment_intent"),
        "stripe",
    )


def _async_succeeded(payment: Payment, session: dict[str, Any]) -> str:
    return _paid(
        payment,
        session.get("amount_total"),
        session.get("currency"),
        session.get("payment_intent"),
        "stripe-async",
    )


def _async_failed(payment: Payment, session: dict[str, Any]) -> str:
    return "failed" if settle_payment(payment, PaymentStatus.FAILED, "stripe") else "ignored_state"


def _expired(payment: Payment, session: dict[str, Any]) -> str:
    settled = settle_payment(payment, PaymentStatus.EXPIRED, "stripe")
    return "expired" if settled else "ignored_state"


def _charge_refunded(payment: Payment, charge: dict[str, Any]) -> str:
    """Refunds made in Stripe itself go through the refund path; ours are already there. A
    refund that arrives before its payment first settles the payment (the charge evidently
    succeeded)."""
    if not _is_this_charge(payment, charge):
        record_event(
            "payment.refund_mismatch",
            payment,
            after={"method": str(payment.method), "payment_intent": charge.get("payment_intent")},
        )
        return "ignored_mismatch"
    if payment.status in PAYABLE_STATUSES:
        _paid(
            payment,
            charge.get("amount"),
            charge.get("currency"),
            charge.get("payment_intent"),
            "stripe-charge",
        )
    if payment.status != PaymentStatus.PAID:
        return "ignored_state"
    lock_pledge(payment.pledge_id)
    refunded = from_stripe_amount(int(charge.get("amount_refunded") or 0))
    known = _known_to_stripe(payment.id) + _unbooked_of(payment.id)
    if refunded <= known:
        return "refund_known"
    result = refund_payment(
        payment, refunded - known, RefundSource.STRIPE_DASHBOARD, None, _m("Refunded in Stripe.")
    )
    return "refund_unbookable" if result.unbooked else "refund_recorded"


def _is_this_charge(payment: Payment, charge: dict[str, Any]) -> bool:
    if payment.method != PaymentMethod.STRIPE:
        return False
    intent = charge.get("payment_intent")
    return not payment.stripe_payment_intent or intent == payment.stripe_payment_intent


def _known_to_stripe(payment_id: int) -> int:
    """Booked refunds Stripe's `amount_refunded` can include: sent (or being sent) by us, or
    made in Stripe. A refund booked but not sent yet is not in Stripe's total; counting it
    would hide a refund made in the dashboard meanwhile."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(
                Refund.payment_id == payment_id,
                Refund.source != RefundSource.DISPUTE,
                or_(
                    Refund.stripe_refund_id.is_not(None),
                    Refund.stripe_claimed_at.is_not(None),
                    Refund.source == RefundSource.STRIPE_DASHBOARD,
                ),
            )
        )
        or 0
    )


def _unbooked_of(payment_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(PaymentIssue.amount), 0)).where(
                PaymentIssue.payment_id == payment_id,
                PaymentIssue.kind == IssueKind.UNBOOKABLE_REFUND,
            )
        )
        or 0
    )


def _dispute_created(payment: Payment, dispute: dict[str, Any]) -> str:
    """The pledge goes on hold (no placement, no refund or roll-over by choice) until the
    dispute closes or staff resolve it."""
    pledge = lock_pledge(payment.pledge_id)
    pledge.on_hold = True
    open_issue(
        IssueKind.DISPUTE,
        pledge,
        payment,
        from_stripe_amount(int(dispute["amount"])),
        external_id=str(dispute["id"]),
        detail=_m("Reason given by the bank: %(reason)s", reason=str(dispute.get("reason"))),
    )
    record_event("pledge.hold", pledge, after={"dispute": dispute["id"]})
    return "dispute_opened"


def _dispute_end(status: str) -> Message:
    if status == "lost":
        return _m("Dispute lost: the bank took the money back.")
    if status == "won":
        return _m("Dispute won: the money stays.")
    return _m("Dispute closed (%(status)s).", status=status)


def _dispute_closed(payment: Payment, dispute: dict[str, Any]) -> str:
    """Lost: the bank took the money back, booked through the refund path. Won: nothing
    moved. Either way the hold ends once no other dispute of the pledge is open."""
    pledge = lock_pledge(payment.pledge_id)
    amount = from_stripe_amount(int(dispute["amount"]))
    issue = open_issue(IssueKind.DISPUTE, pledge, payment, amount, external_id=str(dispute["id"]))
    if issue.status != IssueStatus.OPEN:
        return "dispute_known"
    lost = dispute.get("status") == "lost"
    if lost:
        refund_payment(payment, amount, RefundSource.DISPUTE, None, _m("Card dispute lost."))
    resolve_issue(issue, None, _dispute_end(str(dispute.get("status"))))
    if not open_issues_of(pledge.id, IssueKind.DISPUTE):
        pledge.on_hold = False
        record_event("pledge.release_hold", pledge, after={"dispute": dispute["id"]})
    return "dispute_lost" if lost else "dispute_won"


HANDLERS: dict[str, Handler] = {
    "checkout.session.completed": _completed,
    "checkout.session.async_payment_succeeded": _async_succeeded,
    "checkout.session.async_payment_failed": _async_failed,
    "checkout.session.expired": _expired,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
    "charge.dispute.closed": _dispute_closed,
}
