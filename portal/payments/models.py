"""Payments, refunds, received Stripe events and payment documents."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import db


class PaymentMethod(enum.StrEnum):
    STRIPE = "stripe"
    BANK_TRANSFER = "bank_transfer"


class PaymentStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    EXPIRED = "expired"


class Payment(db.Model):
    """One attempt to pay a pledge, in whole rupiah; a pledge is paid by exactly one."""

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


class Refund(db.Model):
    """Money returned for months not yet started; a separate row, never an edit of a payment."""

    __tablename__ = "refund"
    __table_args__ = (CheckConstraint("amount > 0", name="amount_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"), index=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    worker_months: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    stripe_refund_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class StripeEvent(db.Model):
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


class Document(db.Model):
    """An invoice or receipt with a serial number that is never reused or changed."""

    __tablename__ = "payment_document"
    __table_args__ = (
        UniqueConstraint("kind", "payment_id", name="uq_payment_document_kind_payment"),
        CheckConstraint(enum_check("kind", DocumentKind), name="kind_valid"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[DocumentKind] = mapped_column(String(16))
    serial: Mapped[str] = mapped_column(String(40), unique=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payment.id"))
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
