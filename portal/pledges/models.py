"""Pledge: N workers for M months from a start month, optionally targeted; priced from rates."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.models import Region
from portal.regions.scope import RegionOwned


class PledgeStatus(enum.StrEnum):
    DRAFT = "draft"
    AWAITING_APPROVAL = "awaiting_approval"  # the company's owners approve before it commits
    AWAITING_PAYMENT = "awaiting_payment"
    PAID = "paid"
    ACTIVE = "active"
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class Pledge(RegionOwned, Model):
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
    status: Mapped[PledgeStatus] = mapped_column(String(20), default=PledgeStatus.DRAFT, index=True)
    workers: Mapped[int] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer)
    start_month: Mapped[date] = mapped_column(Date)
    target_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    target_kecamatan: Mapped[list[str]] = mapped_column(JSON, default=list)
    price_total: Mapped[int] = mapped_column(BigInteger)
    price_breakdown: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # Set when a match run is approved: the term runs `months` months from here (R6).
    coverage_start: Mapped[date | None] = mapped_column(Date)
    renewal_offered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Set while a card dispute is open: no worker is placed and no money moves by choice.
    on_hold: Mapped[bool] = mapped_column(default=False, server_default="0")
    # Set when a run or the term's end leaves money unused; cleared by the sponsor's decision.
    unused_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A renewal continues an earlier pledge: matching gives it that pledge's workers first.
    renews_pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"), index=True)
    # Yearly automatic renewal: a new pledge and invoice before the term ends, never a charge.
    auto_renew: Mapped[bool] = mapped_column(default=False, server_default="0")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # The region whose rules, rates and account the pledge follows (a company is national).
    region: Mapped[Region] = relationship(viewonly=True)

    @property
    def worker_months(self) -> int:
        return self.workers * self.months

    @property
    def last_month(self) -> date | None:
        """The term's last covered month, once coverage has started."""
        if self.coverage_start is None:
            return None
        index = self.coverage_start.year * 12 + self.coverage_start.month - 1 + self.months - 1
        return date(index // 12, index % 12 + 1, 1)


class PledgePolicy(Model):
    """A company's rule for committing pledges: whether an owner must approve, and above
    which amount a second owner must approve too. No row: anyone may commit."""

    __tablename__ = "pledge_policy"
    __table_args__ = (
        CheckConstraint(
            "second_approval_above IS NULL OR second_approval_above >= 0", name="above"
        ),
    )

    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), primary_key=True)
    approval_required: Mapped[bool] = mapped_column(default=False, server_default="0")
    second_approval_above: Mapped[int | None] = mapped_column(BigInteger)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)


class PledgeApproval(Model):
    """An owner's approval of a pledge waiting for approval (one per owner and pledge)."""

    __tablename__ = "pledge_approval"
    __table_args__ = (UniqueConstraint("pledge_id", "approver_id", name="once_per_owner"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    approver_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
