"""Payments, refunds, received Stripe events and payment documents."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import RegionOwned


class PaymentMethod(enum.StrEnum):
    STRIPE = "stripe"
    BANK_TRANSFER = "bank_transfer"
    ROLLOVER = "rollover"  # paid with another pledge's unused money: no cash moved


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"
    VOID = "void"  # replaced by a newer attempt of the same pledge: one open payment per pledge


# session.info key: this unit of work left something for Stripe (a card refund to send, a
# void attempt's session to expire); outbound.sync_stripe runs after the commit only then.
STRIPE_WORK = "portal_stripe_work"
# Money that arrives for a voided or expired attempt still arrived: it is recorded as paid.
PAYABLE_STATUSES = (PaymentStatus.PENDING, PaymentStatus.VOID, PaymentStatus.EXPIRED)


class Payment(RegionOwned, Model):
    """One attempt to pay a pledge, in whole rupiah. `amount` is what was asked for and
    `received_amount` what arrived (the ledger books what arrived)."""

    __tablename__ = "payment"
    __table_args__ = (
        CheckConstraint(enum_check("method", PaymentMethod), name="method_valid"),
        CheckConstraint(enum_check("status", PaymentStatus), name="status_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    method: Mapped[PaymentMethod] = mapped_column(String(16))
    status: Mapped[PaymentStatus] = mapped_column(String(16), default=PaymentStatus.PENDING)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IDR", server_default="IDR")
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    idempotency_key: Mapped[str] = mapped_column(String(80), unique=True)
    stripe_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    stripe_payment_intent: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    received_amount: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class RefundSource(enum.StrEnum):
    STAFF = "staff"  # staff refunded the months not started
    STRIPE_DASHBOARD = "stripe"  # someone refunded in Stripe's dashboard
    DUPLICATE = "duplicate"  # a second payment of a pledge already paid
    OVERPAYMENT = "overpayment"  # the excess of a transfer above the amount due
    UNUSED = "unused"  # money no slot could use, returned at the sponsor's choice
    DISPUTE = "dispute"  # a card dispute the company won at its bank
    ROLLOVER = "rollover"  # moved into a new pledge of the same company: no cash


# Refunds the portal asks Stripe for itself; the others were made at Stripe (dashboard), by
# the bank (a lost dispute) or move no money (roll-over), and are never sent.
SENT_BY_PORTAL = (
    RefundSource.STAFF,
    RefundSource.DUPLICATE,
    RefundSource.OVERPAYMENT,
    RefundSource.UNUSED,
)


class Refund(Model):
    """Money returned to the company; a separate row, never an edit of a payment."""

    __tablename__ = "refund"
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint(enum_check("source", RefundSource), name="source_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    worker_months: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    source: Mapped[RefundSource] = mapped_column(
        String(16), default=RefundSource.STAFF, server_default=RefundSource.STAFF.value
    )
    bank_reference: Mapped[str] = mapped_column(String(80), default="", server_default="")
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    # Set while one process sends the refund to Stripe, so that no other sends it meanwhile.
    stripe_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(Model):
    """Every Stripe event id once: a second delivery finds the row and changes nothing."""

    __tablename__ = "stripe_event"

    id: Mapped[str] = mapped_column(String(255), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    object_id: Mapped[str] = mapped_column(String(255), default="", server_default="")
    outcome: Mapped[str] = mapped_column(String(40), default="", server_default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DocumentKind(enum.StrEnum):
    INVOICE = "invoice"
    RECEIPT = "receipt"
    REFUND = "refund"  # one per refund row; a payment may have several


class Document(RegionOwned, Model):
    """An invoice, receipt or refund note with a serial number never reused or changed."""

    __tablename__ = "payment_document"
    __table_args__ = (
        # One invoice and one receipt per payment; refund notes are one per refund.
        Index(
            "uq_payment_document_kind_payment",
            "kind",
            "payment_id",
            unique=True,
            sqlite_where=text("refund_id IS NULL"),
            postgresql_where=text("refund_id IS NULL"),
        ),
        CheckConstraint(enum_check("kind", DocumentKind), name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(String(16))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"))
    refund_id: Mapped[int | None] = mapped_column(ForeignKey("refund.id"), unique=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IssueKind(enum.StrEnum):
    OVERPAYMENT = "overpayment"  # more money than the pledge needs: refund the excess
    UNDERPAYMENT = "underpayment"  # a transfer short of the invoice: accept or top up
    UNBOOKABLE_REFUND = "unbookable"  # Stripe returned money the ledger cannot take back
    DISPUTE = "dispute"  # a card payment disputed at the bank
    REFUND_REQUEST = "refund_request"  # a sponsor asked for unused transfer money back


class IssueStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class PaymentIssue(RegionOwned, Model):
    """Something about money that a person must decide; never deleted, resolved with a note."""

    __tablename__ = "payment_issue"
    __table_args__ = (
        CheckConstraint(enum_check("kind", IssueKind), name="kind_valid"),
        CheckConstraint(enum_check("status", IssueStatus), name="status_valid"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[IssueKind] = mapped_column(String(16))
    status: Mapped[IssueStatus] = mapped_column(String(12), default=IssueStatus.OPEN, index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payment.id"))
    amount: Mapped[int] = mapped_column(BigInteger)
    # The Stripe object (dispute, refund) it came from: one issue per object.
    external_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    detail: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    resolution: Mapped[str] = mapped_column(Text, default="", server_default="")


class StatementImport(RegionOwned, Model):
    """What one bank statement import did, kept on the transfers page until someone
    dismisses it: counts by outcome for every line, the first lines in detail."""

    __tablename__ = "statement_import"
    __table_args__ = (CheckConstraint("lines >= 0", name="lines_non_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    filename: Mapped[str] = mapped_column(String(255), default="", server_default="")
    lines: Mapped[int] = mapped_column(Integer)
    counts: Mapped[dict[str, int]] = mapped_column(JSON)  # outcome code -> lines
    results: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # the first MAX_DETAIL
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    dismissed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    dismissed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))


class RefundApprovalStatus(enum.StrEnum):
    WAITING = "waiting"
    APPROVED = "approved"  # the refund was booked by the second staff member
    DECLINED = "declined"


class RefundApproval(RegionOwned, Model):
    """A staff refund above the rules' amount, waiting for a second staff member."""

    __tablename__ = "refund_approval"
    __table_args__ = (
        CheckConstraint(enum_check("status", RefundApprovalStatus), name="status_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)  # what was refundable when asked
    reason: Mapped[str] = mapped_column(Text)
    bank_reference: Mapped[str] = mapped_column(String(100), default="", server_default="")
    status: Mapped[RefundApprovalStatus] = mapped_column(
        String(12), default=RefundApprovalStatus.WAITING, index=True
    )
    requested_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
