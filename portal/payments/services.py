"""Paying pledges: one open payment per pledge (card or transfer), confirming what arrived.

Nothing here calls Stripe: the views start a payment in one transaction, call Stripe with no
transaction open (payments/outbound.py), then record what Stripe answered in another.
"""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.audit.services import record_event
from portal.auth.models import User
from portal.companies.models import Company
from portal.db import utcnow
from portal.extensions import db
from portal.i18n import rupiah
from portal.ledger.queries import pledge_balance
from portal.messages import Message, _m
from portal.payments.bank_statement import make_transfer_reference
from portal.payments.booking import book_payment
from portal.payments.documents import issue_document
from portal.payments.exceptions import AmountNotAllowed
from portal.payments.issues import open_issue, open_issues_of, resolve_issue
from portal.payments.mailing import tell_company
from portal.payments.models import (
    PAYABLE_STATUSES,
    STRIPE_WORK,
    DocumentKind,
    IssueKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    RefundSource,
)
from portal.payments.refunds import lock_pledge, refund_payment
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import transition_pledge

METADATA_MARK = "pijar-semar"

_PAYMENT = Payment.__table__
# To paid only from a payable state: the one guard against confirming a payment twice. A
# voided or expired attempt can still be paid (the money arrived): it is then an excess.
_MARK_PAID = (
    update(_PAYMENT)
    .where(
        _PAYMENT.c.id == bindparam("payment_id"),
        _PAYMENT.c.status.in_([s.value for s in PAYABLE_STATUSES]),
    )
    .values(
        status=PaymentStatus.PAID.value,
        paid_at=bindparam("paid_at"),
        received_amount=bindparam("received"),
        checkout_url=None,
    )
)
_MARK_PAID_WITH_INTENT = _MARK_PAID.values(stripe_payment_intent=bindparam("intent"))


def outstanding(pledge: Pledge) -> int:
    """What is still to pay on a pledge awaiting payment (all of it, or the top-up)."""
    return max(pledge.price_total - pledge_balance(pledge.id), 0)


def _new_payment(pledge: Pledge, method: PaymentMethod, amount: int) -> Payment:
    attempt = 1 + int(
        db.session.scalar(select(func.count(Payment.id)).where(Payment.pledge_id == pledge.id)) or 0
    )
    payment = Payment(
        pledge_id=pledge.id,
        company_id=pledge.company_id,
        method=method,
        amount=amount,
        idempotency_key=f"pledge-{pledge.id}-payment-{attempt}",
        reference=make_transfer_reference(date.today(), secrets.token_hex(3)),
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def check_payable(pledge: Pledge, company: Company) -> None:
    """Raises CompanyNotVerified, IllegalPledgeTransition."""
    if not company.can_pay:
        raise CompanyNotVerified(company.legal_name)
    if pledge.status != PledgeStatus.AWAITING_PAYMENT or outstanding(pledge) <= 0:
        raise IllegalPledgeTransition(pledge.status, "pay")


def void_open_payments(pledge: Pledge, actor: User | None, keep: int | None = None) -> int:
    """Every other pending attempt of the pledge becomes void: one open payment per pledge.

    Its Checkout Session is expired at Stripe after commit (outbound.sync_stripe)."""
    stmt = (
        update(Payment)
        .where(Payment.pledge_id == pledge.id, Payment.status == PaymentStatus.PENDING)
        .values(status=PaymentStatus.VOID)
        .returning(Payment.id)
    )
    if keep is not None:
        stmt = stmt.where(Payment.id != keep)
    voided = list(db.session.scalars(stmt, execution_options={"synchronize_session": False}))
    if voided:
        db.session.info[STRIPE_WORK] = True
    for payment_id in voided:
        record_event(
            "payment.void",
            db.session.get(Payment, payment_id),
            actor=actor,
            company_id=pledge.company_id,
            after={"pledge_id": pledge.id},
        )
    return len(voided)


def prepare_card_payment(pledge: Pledge, company: Company, actor: User, allowed: bool) -> Payment:
    """A new card attempt for what is outstanding; the pledge's other attempts are voided.

    `allowed` says whether the card gateway takes the amount (checked before anything is
    voided). Raises CompanyNotVerified, IllegalPledgeTransition, AmountNotAllowed."""
    lock_pledge(pledge.id)
    check_payable(pledge, company)
    if not allowed:
        raise AmountNotAllowed(str(outstanding(pledge)))
    void_open_payments(pledge, actor)
    payment = _new_payment(pledge, PaymentMethod.STRIPE, outstanding(pledge))
    record_event(
        "payment.start",
        payment,
        actor=actor,
        after={"method": "stripe", "amount": payment.amount, "pledge_id": pledge.id},
    )
    return payment


def record_checkout_session(payment: Payment, session_id: str, url: str) -> bool:
    """Keep the session Stripe made for an attempt; False when the attempt was voided
    meanwhile (another tab started a payment): outbound.sync_stripe then expires it."""
    db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.stripe_session_id.is_(None))
        .values(stripe_session_id=session_id, checkout_url=url),
        execution_options={"synchronize_session": False},
    )
    db.session.refresh(payment)
    return payment.status == PaymentStatus.PENDING


def start_bank_transfer(pledge: Pledge, company: Company, actor: User) -> Payment:
    """An invoice with a unique transfer reference for what is outstanding; open card
    attempts are voided. Raises CompanyNotVerified, IllegalPledgeTransition."""
    lock_pledge(pledge.id)
    check_payable(pledge, company)
    existing = db.session.scalar(
        select(Payment).where(
            Payment.pledge_id == pledge.id,
            Payment.method == PaymentMethod.BANK_TRANSFER,
            Payment.status == PaymentStatus.PENDING,
        )
    )
    if existing is not None:
        return existing
    void_open_payments(pledge, actor)
    payment = _new_payment(pledge, PaymentMethod.BANK_TRANSFER, outstanding(pledge))
    issue_document(DocumentKind.INVOICE, payment)
    record_event(
        "payment.start",
        payment,
        actor=actor,
        after={"method": "bank_transfer", "amount": payment.amount, "reference": payment.reference},
    )
    return payment


def confirm_payment(
    payment: Payment,
    received: int,
    actor: User | None,
    source: str,
    payment_intent: str | None = None,
) -> bool:
    """Record money that arrived, exactly once: ledger entry, receipt, then the pledge.

    A pledge fully paid becomes paid; a short transfer opens an under-payment issue; money
    beyond what the pledge needs is returned (card) or queued for staff (transfer).
    Returns False (and changes nothing) when the payment was already settled.
    """
    pledge = lock_pledge(payment.pledge_id)
    paid_at = utcnow()
    values: dict[str, object] = {
        "status": PaymentStatus.PAID,
        "paid_at": paid_at,
        "received_amount": received,
        "checkout_url": None,
    }
    params = {"payment_id": payment.id, "paid_at": paid_at, "received": received}
    statement = _MARK_PAID
    if payment_intent and not payment.stripe_payment_intent:
        values["stripe_payment_intent"] = params["intent"] = payment_intent
        statement = _MARK_PAID_WITH_INTENT
    db.session.flush()  # pending changes first, as the ORM's autoflush would
    if db.session.execute(statement, params).rowcount != 1:  # type: ignore[attr-defined]
        return False
    for name, value in values.items():
        set_committed_value(payment, name, value)
    book_payment(payment)
    issue_document(DocumentKind.RECEIPT, payment)
    record_event(
        "payment.paid",
        payment,
        actor=actor,
        after={"amount": payment.amount, "received": received, "source": source},
    )
    if pledge.status == PledgeStatus.AWAITING_PAYMENT:
        _apply_to_awaiting(pledge, payment, actor, source)
    else:
        _return_excess(pledge, payment, received, actor, _paid_already(pledge.status, payment))
    return True


def _apply_to_awaiting(pledge: Pledge, payment: Payment, actor: User | None, source: str) -> None:
    balance = pledge_balance(pledge.id)
    if balance < pledge.price_total:
        open_issue(
            IssueKind.UNDERPAYMENT,
            pledge,
            payment,
            pledge.price_total - balance,
            detail=_m(
                "%(reference)s: received %(received)s of %(amount)s.",
                reference=payment.reference,
                received=rupiah(payment.received_amount or 0, "id"),
                amount=rupiah(payment.amount, "id"),
            ),
        )
        return
    transition_pledge(pledge, PledgeStatus.PAID, actor, note=f"{source} {payment.reference}")
    void_open_payments(pledge, actor)
    for issue in open_issues_of(pledge.id, IssueKind.UNDERPAYMENT):
        resolve_issue(issue, actor, _m("Topped up by %(reference)s.", reference=payment.reference))
    tell_company(pledge, "emails/payment_received.txt", "PIJAR SEMAR: pembayaran diterima")
    if balance > pledge.price_total:
        _return_excess(
            pledge,
            payment,
            balance - pledge.price_total,
            actor,
            _m("%(reference)s: more than the amount due.", reference=payment.reference),
        )


def _paid_already(status: str, payment: Payment) -> Message:
    """Why money for a pledge that is not awaiting payment goes back."""
    reference = payment.reference
    if status == PledgeStatus.CANCELLED:
        return _m("%(reference)s: the pledge was cancelled.", reference=reference)
    if status == PledgeStatus.REFUNDED:
        return _m("%(reference)s: the pledge was refunded.", reference=reference)
    return _m("%(reference)s: the pledge was paid already.", reference=reference)


def _return_excess(
    pledge: Pledge, payment: Payment, excess: int, actor: User | None, why: Message
) -> None:
    """A card excess goes back at once (sent to Stripe after commit); a transfer excess waits
    for staff to transfer it back, as an over-payment issue with the exact amount."""
    if payment.method == PaymentMethod.STRIPE:
        refund_payment(
            payment,
            excess,
            RefundSource.DUPLICATE,
            actor,
            why,
        )
        return
    open_issue(IssueKind.OVERPAYMENT, pledge, payment, excess, detail=why)


def accept_underpayment(pledge: Pledge, actor: User, note: str) -> None:
    """Staff accept a short transfer: the pledge goes ahead with the money received (matching
    places only the slots it pays for). Raises IllegalPledgeTransition."""
    lock_pledge(pledge.id)
    issues = open_issues_of(pledge.id, IssueKind.UNDERPAYMENT)
    if pledge.status != PledgeStatus.AWAITING_PAYMENT or not issues:
        raise IllegalPledgeTransition(pledge.status, "accept")
    transition_pledge(pledge, PledgeStatus.PAID, actor, note=f"accepted short: {note}")
    void_open_payments(pledge, actor)
    for issue in issues:
        resolve_issue(issue, actor, _m("Accepted: %(note)s", note=note.strip()[:1000]))


def settle_payment(payment: Payment, status: PaymentStatus, source: str) -> bool:
    """Pending to failed or expired, once; a paid payment never goes back."""
    result = db.session.execute(
        update(Payment)
        .where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING)
        .values(status=status, checkout_url=None)
    )
    if result.rowcount == 1:  # type: ignore[attr-defined]
        record_event(f"payment.{status.value}", payment, after={"source": source})
    return result.rowcount == 1  # type: ignore[attr-defined]


def ask_top_up(pledge: Pledge, invoice: Payment) -> None:
    """E-mail the company the invoice for what is still to pay."""
    record_event(
        "payment.top_up",
        invoice,
        company_id=pledge.company_id,
        after={"amount": invoice.amount, "reference": invoice.reference},
    )
    tell_company(pledge, "emails/top_up.txt", "PIJAR SEMAR: kekurangan pembayaran", invoice=invoice)


def release_hold(pledge: Pledge, actor: User | None) -> None:
    """The pledge's money moves again (a dispute was settled)."""
    if pledge.on_hold:
        pledge.on_hold = False
        db.session.flush()
        record_event("pledge.release_hold", pledge, actor=actor)
