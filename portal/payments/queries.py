"""Read-only selects for payment pages."""

from __future__ import annotations

from sqlalchemy import select

from portal.extensions import db
from portal.payments.models import (
    Document,
    Payment,
    PaymentMethod,
    PaymentStatus,
    Refund,
)


def pledge_payments(pledge_id: int) -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.pledge_id == pledge_id).order_by(Payment.id)))


def pledge_refunds(pledge_id: int) -> list[Refund]:
    return list(db.session.scalars(
        select(Refund).where(Refund.pledge_id == pledge_id).order_by(Refund.id)))


def pledge_documents(pledge_id: int) -> list[Document]:
    return list(db.session.scalars(
        select(Document).join(Payment, Document.payment_id == Payment.id)
        .where(Payment.pledge_id == pledge_id).order_by(Document.id)))


def pending_transfers() -> list[Payment]:
    return list(db.session.scalars(
        select(Payment).where(Payment.method == PaymentMethod.BANK_TRANSFER,
                              Payment.status == PaymentStatus.PENDING)
        .order_by(Payment.created_at)))


def pending_transfer_amounts() -> dict[str, int]:
    """Transfer reference -> amount due, for matching a bank statement."""
    return {p.reference: p.amount for p in pending_transfers()}


def payment_by_reference(reference: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.reference == reference))
