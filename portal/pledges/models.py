"""Pledge: N workers for M months from a start month, optionally targeted; priced from rates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, CheckConstraint, Date, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import db


class PledgeStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Pledge(db.Model):
    """The price is fixed when the pledge leaves draft; the breakdown shows how it was made."""

    __tablename__ = "pledge"
    __table_args__ = (
        CheckConstraint(enum_check("status", PledgeStatus), name="status_valid"),
        CheckConstraint("workers > 0", name="workers_positive"),
        CheckConstraint("months BETWEEN 1 AND 24", name="months_range"),
        CheckConstraint("price_total >= 0", name="price_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    status: Mapped[PledgeStatus] = mapped_column(String(20), default=PledgeStatus.DRAFT,
                                                 index=True)
    workers: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    start_month: Mapped[date] = mapped_column(Date)
    target_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_kecamatan: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_total: Mapped[int] = mapped_column(BigInteger)
    price_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def worker_months(self) -> int:
        return self.workers * self.months
