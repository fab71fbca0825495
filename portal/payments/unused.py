"""Money no worker-month will use: the sponsor is told, and decides.

When a match run leaves slots empty, or a term ends with money left, the pledge is marked
(`unused_notice_at`) and its sponsor chooses: wait for the next run, widen the target, roll
the money into a new pledge (more workers or months), or have it returned. Until then the
sponsor's pages and the city dashboard show the amount waiting for a decision.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from portal.audit.services import record_event
from portal.auth.models import User
from portal.companies.models import Company
from portal.coverage.release import open_cost
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.queries import pledge_balances
from portal.messages import _m
from portal.payments.bank_statement import make_transfer_reference
from portal.payments.booking import book_payment, received
from portal.payments.exceptions import NothingToRefund, PledgeOnHold
from portal.payments.issues import earmarked, open_issue
from portal.payments.mailing import tell_company
from portal.payments.models import (
    IssueKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RefundSource,
)
from portal.payments.refunds import lock_pledge, refund_payment, refunded_of, unassigned
from portal.pledges.exceptions import IllegalPledgeTransition
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import PledgeTerms, create_pledge, transition_pledge

# A pledge whose money can still be decided on.
DECIDABLE = (PledgeStatus.PAID, PledgeStatus.ACTIVE, PledgeStatus.COMPLETED, PledgeStatus.REFUNDED)


@dataclass(frozen=True)
class Waiting:
    pledge_id: int
    amount: int


def mark_unused(pledge: Pledge, why: str) -> int:
    """Mark the pledge as waiting for its sponsor's decision; returns the unassigned money
    (nothing is marked when there is none)."""
    money = unassigned(pledge.id) - earmarked(pledge.id)
    if money <= 0:
        return 0
    pledge.unused_notice_at = utcnow()
    db.session.flush()
    record_event(
        "pledge.unused_notice",
        pledge,
        company_id=pledge.company_id,
        after={"amount": money, "why": why},
    )
    return money


def notify_unused(pledge: Pledge, why: str, template: str, subject: str, **context: object) -> int:
    """mark_unused, and tell the sponsor how much waits and why."""
    money = mark_unused(pledge, why)
    if money > 0:
        tell_company(pledge, template, subject, amount=money, **context)
    return money


def waiting_for_decision(company_id: int | None = None) -> list[Waiting]:
    """Pledges marked for a decision, with their unassigned money (of one company, or all)."""
    stmt = select(Pledge.id).where(
        Pledge.unused_notice_at.is_not(None), Pledge.status.in_(DECIDABLE)
    )
    if company_id is not None:
        stmt = stmt.where(Pledge.company_id == company_id)
    ids = list(db.session.scalars(stmt.order_by(Pledge.id)))
    balances, costs = pledge_balances(ids), open_cost(ids)
    found = [Waiting(i, balances[i] - costs[i] - earmarked(i)) for i in ids]
    return [w for w in found if w.amount > 0]


def _check_decidable(pledge: Pledge) -> int:
    """Raises PledgeOnHold, NothingToRefund; returns the unassigned money, pledge locked."""
    lock_pledge(pledge.id)
    if pledge.on_hold:
        raise PledgeOnHold(str(pledge.id))
    if pledge.status not in DECIDABLE:
        raise IllegalPledgeTransition(pledge.status, "decide")
    money = unassigned(pledge.id) - earmarked(pledge.id)
    if money <= 0:
        raise NothingToRefund(str(pledge.id))
    return money


def decide_wait(pledge: Pledge, actor: User) -> None:
    """The sponsor waits for the next run. Raises PledgeOnHold, NothingToRefund."""
    _check_decidable(pledge)
    if pledge.status in (PledgeStatus.COMPLETED, PledgeStatus.REFUNDED):
        raise IllegalPledgeTransition(pledge.status, "wait")
    _decided(pledge, actor, "wait")


def _decided(pledge: Pledge, actor: User, decision: str, **facts: object) -> None:
    pledge.unused_notice_at = None
    db.session.flush()
    record_event(
        "pledge.unused_decision",
        pledge,
        actor=actor,
        company_id=pledge.company_id,
        after={"decision": decision, **facts},
    )


def request_return(pledge: Pledge, actor: User) -> int:
    """Return the unassigned money: card payments at once through Stripe (sent after commit),
    transfers by staff, as a refund request with the exact amount. Returns the amount.
    Raises PledgeOnHold, NothingToRefund, IllegalPledgeTransition."""
    money = _check_decidable(pledge)
    left = money
    for payment in _paid(pledge.id, PaymentMethod.STRIPE):
        part = min(left, received(payment) - refunded_of(payment.id))
        if part > 0:
            result = refund_payment(
                payment,
                part,
                RefundSource.UNUSED,
                actor,
                _m("Unused money returned at the sponsor's request."),
            )
            left -= result.refund.amount if result.refund else 0
    if left > 0:  # transfer money (or money rolled over from another pledge): by the bank
        payments = _paid(pledge.id, PaymentMethod.BANK_TRANSFER) or _paid(pledge.id, None)
        open_issue(
            IssueKind.REFUND_REQUEST,
            pledge,
            payments[0],
            left,
            detail=_m("The sponsor asked for the unused money back."),
        )
    _decided(pledge, actor, "return", amount=money)
    return money


def roll_over(
    pledge: Pledge, company: Company, actor: User, workers: int, months: int, start: date
) -> Pledge:
    """A new pledge paid with this pledge's unassigned money, same target: a refund of this
    pledge and a payment of the new one, both of kind roll-over (no cash moves).
    Raises PledgeOnHold, NothingToRefund, InvalidPledge, NoRateInForce,
    IllegalPledgeTransition (the new pledge costs more than the money)."""
    money = _check_decidable(pledge)
    new = create_pledge(
        company,
        actor,
        PledgeTerms(
            workers, months, start, tuple(pledge.target_categories), tuple(pledge.target_kecamatan)
        ),
    )
    if new.price_total > money:
        raise IllegalPledgeTransition("unused money", "roll over into a larger pledge")
    transition_pledge(new, PledgeStatus.AWAITING_PAYMENT, actor, note=f"from #{pledge.id}")
    left = new.price_total
    for payment in _paid(pledge.id, None):
        part = min(left, received(payment) - refunded_of(payment.id))
        if part > 0:
            refund_payment(
                payment,
                part,
                RefundSource.ROLLOVER,
                actor,
                _m("Rolled over into pledge #%(id)s.", id=new.id),
            )
            left -= part
    _pay_by_rollover(new, pledge, actor)
    _decided(pledge, actor, "roll_over", new_pledge=new.id, amount=new.price_total)
    return new


def _pay_by_rollover(new: Pledge, source: Pledge, actor: User) -> None:
    count = int(
        db.session.scalar(select(func.count(Payment.id)).where(Payment.pledge_id == new.id)) or 0
    )
    payment = Payment(
        pledge_id=new.id,
        company_id=new.company_id,
        method=PaymentMethod.ROLLOVER,
        status=PaymentStatus.PAID,
        amount=new.price_total,
        received_amount=new.price_total,
        paid_at=utcnow(),
        idempotency_key=f"pledge-{new.id}-payment-{count + 1}",
        reference=make_transfer_reference(date.today(), secrets.token_hex(3)),
    )
    db.session.add(payment)
    db.session.flush()
    book_payment(payment)
    transition_pledge(new, PledgeStatus.PAID, actor, note=f"rolled over from #{source.id}")
    record_event(
        "payment.paid",
        payment,
        actor=actor,
        after={"amount": payment.amount, "source": f"rollover from #{source.id}"},
    )


def _paid(pledge_id: int, method: PaymentMethod | None) -> list[Payment]:
    stmt = select(Payment).where(
        Payment.pledge_id == pledge_id, Payment.status == PaymentStatus.PAID
    )
    if method is not None:
        stmt = stmt.where(Payment.method == method)
    return list(db.session.scalars(stmt.order_by(Payment.id.desc())))
