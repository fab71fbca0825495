"""Read-only selects for payment pages."""

from __future__ import annotations

from sqlalchemy import and_, select

from portal.companies.models import Company
from portal.extensions import db
from portal.payments.models import (
    SENT_BY_PORTAL,
    Document,
    IssueStatus,
    Payment,
    PaymentIssue,
    PaymentMethod,
    PaymentStatus,
    Refund,
)


def pledge_payments(pledge_id: int) -> list[Payment]:
    return list(
        db.session.scalars(
            select(Payment).where(Payment.pledge_id == pledge_id).order_by(Payment.id)
        )
    )


def pledge_refunds(pledge_id: int) -> list[Refund]:
    return list(
        db.session.scalars(select(Refund).where(Refund.pledge_id == pledge_id).order_by(Refund.id))
    )


def pledge_documents(pledge_id: int) -> list[Document]:
    return list(
        db.session.scalars(
            select(Document)
            .join(Payment, Document.payment_id == Payment.id)
            .where(Payment.pledge_id == pledge_id)
            .order_by(Document.id)
        )
    )


def pending_transfers() -> list[Payment]:
    """Invoices awaiting money; void ones too, since a late transfer can still arrive."""
    return list(
        db.session.scalars(
            select(Payment)
            .where(
                Payment.method == PaymentMethod.BANK_TRANSFER,
                Payment.status.in_([PaymentStatus.PENDING, PaymentStatus.VOID]),
            )
            .order_by(Payment.status, Payment.created_at)
        )
    )


def company_names(company_ids: set[int]) -> dict[int, str]:
    """Company id -> legal name, in one query, for lists that show many companies' rows."""
    if not company_ids:
        return {}
    rows = db.session.execute(
        select(Company.id, Company.legal_name).where(Company.id.in_(company_ids))
    )
    return {int(company_id): str(name) for company_id, name in rows}


def pending_transfer_amounts() -> dict[str, int]:
    """Transfer reference -> amount due, for matching a bank statement."""
    return {p.reference: p.amount for p in pending_transfers()}


def payment_by_reference(reference: str) -> Payment | None:
    return db.session.scalar(select(Payment).where(Payment.reference == reference))


def payment_issues(status: str) -> list[tuple[PaymentIssue, str, Payment | None]]:
    """Issues in a status (all when unknown) with the company name and the payment."""
    stmt = (
        select(PaymentIssue, Company.legal_name, Payment)
        .join(Company, Company.id == PaymentIssue.company_id)
        .outerjoin(Payment, Payment.id == PaymentIssue.payment_id)
        .order_by(PaymentIssue.id.desc())
        .limit(500)
    )
    if status in set(IssueStatus):
        stmt = stmt.where(PaymentIssue.status == status)
    return [(issue, name, payment) for issue, name, payment in db.session.execute(stmt)]


def unsent_card_refunds() -> list[Refund]:
    """Card refunds booked but not taken by Stripe yet (Stripe refused, or was unreachable)."""
    return list(
        db.session.scalars(
            select(Refund)
            .join(Payment, Payment.id == Refund.payment_id)
            .where(UNSENT_CARD_REFUND)
            .order_by(Refund.id)
        )
    )


# A card refund of the portal's own that Stripe has no id for yet (with Payment joined).
UNSENT_CARD_REFUND = and_(
    Refund.stripe_refund_id.is_(None),
    Refund.source.in_([source.value for source in SENT_BY_PORTAL]),
    Payment.method == PaymentMethod.STRIPE,
    Payment.stripe_payment_intent.is_not(None),
)
