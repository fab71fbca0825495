"""Company: a CSR sponsor, pending until staff verify or reject it."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model

if TYPE_CHECKING:
    from portal.auth.models import User


class CompanyStatus(enum.StrEnum):
    PENDING = "pending"
    VERIFIED = "verified"
    REJECTED = "rejected"


class Company(Model):
    """A registered sponsor. Only verified companies can pay."""

    __tablename__ = "company"
    __table_args__ = (
        CheckConstraint(enum_check("status", CompanyStatus), name="status_valid"),
        CheckConstraint("length(nib) = 13", name="nib_length"),
        CheckConstraint("length(npwp) IN (15, 16)", name="npwp_length"),
        CheckConstraint(
            "status <> 'rejected' OR rejection_reason IS NOT NULL", name="rejection_has_reason"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    legal_name: Mapped[str] = mapped_column(String(200))
    nib: Mapped[str] = mapped_column(String(13), unique=True)
    npwp: Mapped[str] = mapped_column(String(16), unique=True)
    address: Mapped[str] = mapped_column(Text)
    sector: Mapped[str] = mapped_column(String(80))
    contact_name: Mapped[str] = mapped_column(String(120))
    contact_phone: Mapped[str] = mapped_column(String(32))
    status: Mapped[CompanyStatus] = mapped_column(String(16), default=CompanyStatus.PENDING)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reviewed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("user_account.id", use_alter=True)
    )

    users: Mapped[list[User]] = relationship(
        back_populates="company", foreign_keys="User.company_id"
    )

    @property
    def can_pay(self) -> bool:
        return self.status == CompanyStatus.VERIFIED

    @property
    def resubmitted(self) -> bool:
        """Waiting for review again after a rejection (only a review sets reviewed_at)."""
        return self.status == CompanyStatus.PENDING and self.reviewed_at is not None
