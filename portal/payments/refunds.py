"""The one refund path: staff refunds, refunds made in Stripe, duplicate and excess payments,
unused money and lost disputes all go through refund_payment().

It decides which months are released, books the ledger, moves the pledge, revokes or
re-issues its certificates and tells the sponsor. Money that Stripe already returned but the
ledger cannot take back (months already consumed) becomes an issue for staff, never an error
that blocks anything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.release import (
    begun_cost,
    first_unstarted_month,
    future_rows,
    open_cost,
    release_to_fit,
)
from portal.events import PledgeCoverageCut, emit
from portal.extensions import db
from portal.ledger.queries import pledge_balance
from portal.messages import Message, as_text
from portal.messages import english as english_text
from portal.payments.booking import book_refund, received
from portal.payments.documents import issue_document
from portal.payments.exceptions import NothingToRefund
from portal.payments.issues import open_issue
from portal.payments.mailing import tell_company
from portal.payments.models import (
    SENT_BY_PORTAL,
    STRIPE_WORK,
    DocumentKind,
    IssueKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
    RefundSource,
)
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import slot_cost
from portal.pledges.services import lock_pledge, transition_pledge

# Sources where the money has already left (Stripe or the bank did it): what the ledger
# cannot book is recorded as an issue instead of being refused.
ALREADY_RETURNED = (RefundSource.STRIPE_DASHBOARD, RefundSource.DISPUTE)


@dataclass(frozen=True)
class RefundResult:
    refund: Refund | None
    released_rows: int
    unbooked: int  # rupiah returned outside the portal that the ledger could not book


def refunded_of(payment_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.payment_id == payment_id)
        )
        or 0
    )


def unassigned(pledge_id: int) -> int:
    """Prepaid money of the pledge that no coverage row will use (free to place or return)."""
    return pledge_balance(pledge_id) - open_cost([pledge_id])[pledge_id]


def refundable(pledge_id: int, today: date | None = None) -> int:
    """What a refund can return now: the balance less the coverage of months begun."""
    return max(0, pledge_balance(pledge_id) - begun_cost(pledge_id, today))


def refund_payment(
    payment: Payment,
    amount: int,
    source: RefundSource,
    actor: User | None,
    reason: Message | str,
    *,
    stripe_refund_id: str | None = None,
    bank_reference: str = "",
    today: date | None = None,
) -> RefundResult:
    """Return `amount` rupiah of a paid payment, releasing unstarted months as needed.

    Raises NothingToRefund when nothing can be booked for a refund the portal starts itself;
    for money already returned (Stripe dashboard, lost dispute) what cannot be booked becomes
    an UNBOOKABLE_REFUND issue. A reason the portal gives is a Message (kept with `as_text`,
    shown translated); a staff member's reason is kept as written.
    """
    pledge = lock_pledge(payment.pledge_id)
    if payment.status != PaymentStatus.PAID:
        raise NothingToRefund(f"payment {payment.id} is {payment.status}")
    wanted = min(amount, received(payment) - refunded_of(payment.id))
    balance = pledge_balance(pledge.id)
    released = release_to_fit(pledge.id, max(balance - wanted, 0), today)
    cost_left = open_cost([pledge.id])[pledge.id]
    bookable = max(0, min(wanted, balance - cost_left))
    unbooked = amount - bookable
    if bookable <= 0 and source not in ALREADY_RETURNED:
        raise NothingToRefund(f"pledge {pledge.id}: nothing left to refund")
    refund = None
    if bookable > 0:
        refund = _book(payment, bookable, source, actor, reason, stripe_refund_id, bank_reference)
    if unbooked > 0 and source in ALREADY_RETURNED:
        open_issue(
            IssueKind.UNBOOKABLE_REFUND,
            pledge,
            payment,
            unbooked,
            stripe_refund_id,
            reason if isinstance(reason, Message) else reason[:500],
        )
    _settle_pledge(pledge, released.rows, actor, english_text(reason), today)
    record_event(
        "payment.refund",
        refund or payment,
        actor=actor,
        company_id=pledge.company_id,
        after={
            "amount": bookable,
            "unbooked": unbooked,
            "source": str(source),
            "bank_reference": bank_reference,
            "coverage_rows_released": released.rows,
        },
    )
    if refund is not None and source != RefundSource.ROLLOVER:
        tell_company(
            pledge,
            "emails/refund.txt",
            "PIJAR SEMAR: pengembalian dana",
            refund=refund,
            unbooked=unbooked,
        )
    return RefundResult(refund, released.rows, unbooked)


def _book(
    payment: Payment,
    amount: int,
    source: RefundSource,
    actor: User | None,
    reason: Message | str,
    stripe_refund_id: str | None,
    bank_reference: str,
) -> Refund:
    refund = Refund(
        payment_id=payment.id,
        pledge_id=payment.pledge_id,
        company_id=payment.company_id,
        amount=amount,
        worker_months=0,
        reason=(
            as_text(reason) if isinstance(reason, Message) else reason.strip()[:2000] or str(source)
        ),
        source=source,
        stripe_refund_id=stripe_refund_id,
        bank_reference=bank_reference[:80],
        created_by_id=actor.id if actor else None,
    )
    db.session.add(refund)
    db.session.flush()
    book_refund(refund)
    if payment.method == PaymentMethod.STRIPE and source in SENT_BY_PORTAL:
        db.session.info[STRIPE_WORK] = True  # to send to Stripe after the commit
    if source != RefundSource.ROLLOVER:  # no money leaves: nothing to note
        issue_document(DocumentKind.REFUND, payment, refund)
    return refund


def _settle_pledge(
    pledge: Pledge, released_rows: int, actor: User | None, reason: str, today: date | None
) -> None:
    """A pledge left unable to fund anything more ends as refunded (its certificates revoked);
    one that lost months keeps going with a certificate for what it now covers."""
    if pledge.status not in (PledgeStatus.PAID, PledgeStatus.ACTIVE):
        return
    if pledge.status == PledgeStatus.PAID:
        if affordable_slots(pledge) == 0:
            transition_pledge(pledge, PledgeStatus.REFUNDED, actor, note=reason)
        return
    ended = _exhausted(pledge, today)
    if ended:
        transition_pledge(pledge, PledgeStatus.REFUNDED, actor, note=reason)
    if ended or released_rows:  # the certificates follow (certificates/handlers.py)
        cut = PledgeCoverageCut(pledge.id, actor.id if actor else None, reason.strip(), ended)
        emit(db.session, cut)


def _exhausted(pledge: Pledge, today: date | None) -> bool:
    """An active pledge whose term goes on but which holds no unstarted month and has no
    money to fill one: nothing is left for it to do."""
    first = first_unstarted_month(today)
    if pledge.last_month is None or pledge.coverage_start is None or pledge.last_month < first:
        return False
    if future_rows(pledge.id, today):
        return False
    offset = max(
        0,
        (first.year - pledge.coverage_start.year) * 12 + first.month - pledge.coverage_start.month,
    )
    cost = slot_cost(pledge, offset)
    return cost == 0 or unassigned(pledge.id) < cost


def affordable_slots(pledge: Pledge) -> int:
    """How many slots of a pledge not placed yet its unassigned money pays for."""
    cost = slot_cost(pledge)
    return min(pledge.workers, unassigned(pledge.id) // cost) if cost else 0


def refund_pledge(
    pledge: Pledge, actor: User, reason: str, bank_reference: str = ""
) -> list[Refund]:
    """Staff return everything not tied to months begun, newest payment first.

    Card refunds are booked here and sent to Stripe after commit (send_card_refunds), so the
    refund row exists before Stripe's charge.refunded event can arrive.
    Raises NothingToRefund.
    """
    lock_pledge(pledge.id)
    amount = refundable(pledge.id)
    if amount <= 0:
        raise NothingToRefund(str(pledge.id))
    refunds = []
    for payment in _paid_payments(pledge.id):
        if amount <= 0:
            break
        part = min(amount, received(payment) - refunded_of(payment.id))
        if part <= 0:
            continue
        reference = bank_reference if payment.method == PaymentMethod.BANK_TRANSFER else ""
        result = refund_payment(
            payment, part, RefundSource.STAFF, actor, reason, bank_reference=reference
        )
        if result.refund is not None:
            refunds.append(result.refund)
            amount -= result.refund.amount
    return refunds


def _paid_payments(pledge_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment)
            .where(Payment.pledge_id == pledge_id, Payment.status == PaymentStatus.PAID)
            .order_by(Payment.id.desc())
        )
    )
