"""The money domain's postings: a paid payment and a refund are booked in the ledger, which
takes amounts and ids (it never reads the payments' tables)."""

from __future__ import annotations

from portal.extensions import db
from portal.ledger.exceptions import LedgerError
from portal.ledger.models import LedgerEntry
from portal.ledger.services import record_payment_received, record_refund
from portal.messages import english as english_text
from portal.payments.models import Payment, PaymentStatus, Refund


def received(payment: Payment) -> int:
    """What arrived for a payment: the amount received, else the amount asked for."""
    return payment.amount if payment.received_amount is None else payment.received_amount


def book_payment(payment: Payment) -> LedgerEntry:
    """Book what arrived for a paid payment. Raises LedgerError if it is not paid,
    DuplicateEntry if it is booked already."""
    if payment.status != PaymentStatus.PAID:
        raise LedgerError(f"payment {payment.id} is {payment.status}, not paid")
    return record_payment_received(
        payment_id=payment.id,
        company_id=payment.company_id,
        pledge_id=payment.pledge_id,
        amount=received(payment),
        reference=payment.reference,
    )


def book_refund(refund: Refund) -> LedgerEntry:
    """Book a refund row (flushed first, for its id). Raises what record_refund raises."""
    if refund.id is None:
        db.session.flush()
    if refund.id is None:
        raise LedgerError("the refund must be added to the session before it is booked")
    return record_refund(
        refund_id=refund.id,
        payment_id=refund.payment_id,
        company_id=refund.company_id,
        pledge_id=refund.pledge_id,
        amount=refund.amount,
        reason=english_text(refund.reason),
    )
