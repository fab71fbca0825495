"""Paying pledges: start a Stripe Checkout or a bank transfer, confirm payments, refund."""

from __future__ import annotations

import secrets
from datetime import date

from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.audit.services import record_event
from portal.auth.models import User
from portal.certificates.services import revoke_certificates
from portal.companies.models import Company
from portal.coverage.models import Coverage, MonthClose
from portal.db import utcnow
from portal.extensions import db
from portal.ledger.services import record_payment_received, record_refund
from portal.mail import queue_mail
from portal.payments.bank_statement import make_transfer_reference
from portal.payments.documents import issue_document
from portal.payments.exceptions import NothingToRefund
from portal.payments.models import (
    DocumentKind,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)
from portal.payments.stripe_gateway import gateway
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import transition_pledge

METADATA_MARK = "pijar-semar"

_PAYMENT = Payment.__table__
# Pending to paid, only from pending: the one guard against confirming a payment twice.
_MARK_PAID = (update(_PAYMENT)
              .where(_PAYMENT.c.id == bindparam("payment_id"),
                     _PAYMENT.c.status == PaymentStatus.PENDING.value)
              .values(status=PaymentStatus.PAID.value, paid_at=bindparam("paid_at"),
                      received_amount=bindparam("received")))
_MARK_PAID_WITH_INTENT = _MARK_PAID.values(stripe_payment_intent=bindparam("intent"))
_USER = User.__table__
_COMPANY_USERS = select(_USER.c.email, _USER.c.full_name).where(
    _USER.c.company_id == bindparam("company_id"), _USER.c.active.is_(True))


def _new_payment(pledge: Pledge, method: PaymentMethod) -> Payment:
    attempt = 1 + int(db.session.scalar(
        select(func.count(Payment.id)).where(Payment.pledge_id == pledge.id)) or 0)
    payment = Payment(
        pledge_id=pledge.id, company_id=pledge.company_id, method=method,
        amount=pledge.price_total, idempotency_key=f"pledge-{pledge.id}-payment-{attempt}",
        reference=make_transfer_reference(date.today(), secrets.token_hex(3)),
    )
    db.session.add(payment)
    db.session.flush()
    return payment


def _check_payable(pledge: Pledge, company: Company) -> None:
    if not company.can_pay:
        raise CompanyNotVerified(company.legal_name)
    if pledge.status != PledgeStatus.AWAITING_PAYMENT:
        raise IllegalPledgeTransition(pledge.status, "pay")


def start_stripe_payment(pledge: Pledge, company: Company, actor: User, success_url: str,
                         cancel_url: str) -> Payment:
    """A Checkout Session for the exact pledge total.

    Raises CompanyNotVerified, IllegalPledgeTransition, AmountNotAllowed, GatewayError.
    """
    _check_payable(pledge, company)
    payment = _new_payment(pledge, PaymentMethod.STRIPE)
    session = gateway().create_checkout_session(
        amount=payment.amount, quantity=pledge.worker_months,
        name=(f"PIJAR SEMAR: {pledge.workers} pekerja x {pledge.months} bulan "
              f"(komitmen #{pledge.id})"),
        metadata={"portal": METADATA_MARK, "pledge_id": str(pledge.id),
                  "payment_id": str(payment.id)},
        success_url=success_url, cancel_url=cancel_url,
        idempotency_key=payment.idempotency_key, reference=payment.reference,
    )
    payment.stripe_session_id = session.id
    payment.checkout_url = session.url
    db.session.flush()
    record_event("payment.start", payment, actor=actor, after={
        "method": "stripe", "amount": payment.amount, "pledge_id": pledge.id})
    return payment


def start_bank_transfer(pledge: Pledge, company: Company, actor: User) -> Payment:
    """An invoice with a unique transfer reference. Raises CompanyNotVerified,
    IllegalPledgeTransition."""
    _check_payable(pledge, company)
    existing = db.session.scalar(select(Payment).where(
        Payment.pledge_id == pledge.id, Payment.method == PaymentMethod.BANK_TRANSFER,
        Payment.status == PaymentStatus.PENDING))
    if existing is not None:
        return existing
    payment = _new_payment(pledge, PaymentMethod.BANK_TRANSFER)
    issue_document(DocumentKind.INVOICE, payment)
    record_event("payment.start", payment, actor=actor, after={
        "method": "bank_transfer", "amount": payment.amount, "reference": payment.reference})
    return payment


def confirm_payment(payment: Payment, received: int, actor: User | None, source: str,
                    payment_intent: str | None = None) -> bool:
    """Mark a pending payment paid exactly once: ledger entry, receipt, pledge paid, e-mail.

    Returns False (and changes nothing) when the payment was already settled.
    """
    paid_at = utcnow()
    values: dict[str, object] = {"status": PaymentStatus.PAID, "paid_at": paid_at,
                                 "received_amount": received}
    params = {"payment_id": payment.id, "paid_at": paid_at, "received": received}
    statement = _MARK_PAID
    if payment_intent and not payment.stripe_payment_intent:
        values["stripe_payment_intent"] = params["intent"] = payment_intent
        statement = _MARK_PAID_WITH_INTENT
    db.session.flush()  # pending changes first, as the ORM's autoflush would
    if db.session.execute(statement, params).rowcount != 1:
        return False
    for name, value in values.items():
        set_committed_value(payment, name, value)
    record_payment_received(payment)
    issue_document(DocumentKind.RECEIPT, payment)
    pledge = db.session.get(Pledge, payment.pledge_id)
    if pledge.status == PledgeStatus.AWAITING_PAYMENT:
        transition_pledge(pledge, PledgeStatus.PAID, actor, note=f"{source} {payment.reference}")
    else:
        record_event("payment.needs_attention", payment, actor=actor,
                     after={"reason": f"pledge is {pledge.status}; refund this payment"})
    record_event("payment.paid", payment, actor=actor,
                 after={"amount": payment.amount, "source": source})
    _tell_company(pledge, "emails/payment_received.txt", "PIJAR SEMAR: pembayaran diterima")
    return True


def settle_payment(payment: Payment, status: PaymentStatus, source: str) -> bool:
    """Pending to failed or expired, once; a paid payment never goes back."""
    result = db.session.execute(
        update(Payment).where(Payment.id == payment.id, Payment.status == PaymentStatus.PENDING)
        .values(status=status))
    if result.rowcount == 1:
        record_event(f"payment.{status.value}", payment, after={"source": source})
    return result.rowcount == 1


def refundable_amount(pledge: Pledge, today: date | None = None) -> tuple[int, int]:
    """Rupiah and worker-months of the months not started yet (from next month on) and not
    closed; all of it while the city has not placed workers in the pledge."""
    lines = [line for month, line in _term_lines(pledge) if month in _open_months(pledge, today)]
    already = int(db.session.scalar(
        select(func.coalesce(func.sum(Refund.amount), 0)).where(Refund.pledge_id == pledge.id)))
    amount = sum(int(line["subtotal"]) for line in lines) - already
    return max(amount, 0), sum(int(line["workers"]) for line in lines)


def _term_lines(pledge: Pledge) -> list[tuple[date, dict]]:  # type: ignore[type-arg]
    """Each priced month with the month it covers: from coverage_start once placed (R6)."""
    if pledge.coverage_start is None:
        return [(date.fromisoformat(str(line["month"])), line) for line in pledge.price_breakdown]
    return [(add_months(pledge.coverage_start, k), line)
            for k, line in enumerate(pledge.price_breakdown)]


def _open_months(pledge: Pledge, today: date | None) -> set[date]:
    months = {month for month, _ in _term_lines(pledge)}
    if pledge.coverage_start is None:
        return months
    first_open = add_months((today or date.today()).replace(day=1), 1)
    closed = set(db.session.scalars(select(MonthClose.month)))
    return {m for m in months if m >= first_open and m not in closed}


def refund_pledge(pledge: Pledge, actor: User, reason: str, bank_reference: str = "") -> Refund:
    """Cancel a paid pledge and book the return of the months not started.

    For card payments the caller commits, then calls send_stripe_refund(): the refund row is
    visible before Stripe's charge.refunded event can arrive, so it is never counted twice.
    Raises NothingToRefund, IllegalPledgeTransition, InsufficientBalance.
    """
    payment = db.session.scalar(select(Payment).where(
        Payment.pledge_id == pledge.id, Payment.status == PaymentStatus.PAID))
    amount, worker_months = refundable_amount(pledge)
    if payment is None or amount <= 0:
        raise NothingToRefund(str(pledge.id))
    released = _release_coverage(pledge, _open_months(pledge, None))
    transition_pledge(pledge, PledgeStatus.REFUNDED, actor, note=reason)
    revoke_certificates(pledge, f"refund: {reason.strip()}", actor)
    refund = Refund(payment_id=payment.id, pledge_id=pledge.id, company_id=pledge.company_id,
                    amount=amount, worker_months=worker_months, reason=reason.strip(),
                    created_by_id=actor.id)
    db.session.add(refund)
    db.session.flush()
    record_refund(refund)
    record_event("payment.refund", refund, actor=actor, company_id=pledge.company_id, after={
        "amount": amount, "worker_months": worker_months, "bank_reference": bank_reference,
        "coverage_rows_released": released})
    _tell_company(pledge, "emails/refund.txt", "PIJAR SEMAR: pengembalian dana")
    return refund


def _release_coverage(pledge: Pledge, months: set[date]) -> int:
    """The refunded months' coverage goes: those workers return to the waiting list."""
    if not months:
        return 0
    result = db.session.execute(delete(Coverage).where(
        Coverage.pledge_id == pledge.id, Coverage.month.in_(months)))
    return int(result.rowcount or 0)


def send_stripe_refund(refund: Refund) -> None:
    """Ask Stripe to return the money of a booked refund (idempotent per refund).

    Raises GatewayError; the refund stays booked and can be sent again.
    """
    if refund.stripe_refund_id:
        return
    payment = db.session.get(Payment, refund.payment_id)
    refund.stripe_refund_id = gateway().refund(
        payment_intent=payment.stripe_payment_intent or "", amount=refund.amount,
        idempotency_key=f"refund-{refund.id}",
        metadata={"portal": METADATA_MARK, "pledge_id": str(refund.pledge_id),
                  "payment_id": str(payment.id), "refund_id": str(refund.id)})
    db.session.flush()


def _tell_company(pledge: Pledge, template: str, subject: str) -> None:
    owners = db.session.execute(_COMPANY_USERS, {"company_id": pledge.company_id}).all()
    for owner in owners:
        queue_mail(db.session, owner.email, subject, template, pledge=pledge, user=owner)
