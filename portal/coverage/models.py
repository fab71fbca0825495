"""Coverage: one funder per worker-month, enforced by the database."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import db


class Funder(enum.StrEnum):
    APBD = "apbd"
    DBHCHT = "dbhcht"
    PLEDGE = "pledge"


class Coverage(db.Model):
    """A worker-month paid by one funder; the unique key refuses a second funder."""

    __tablename__ = "coverage"
    __table_args__ = (
        UniqueConstraint("worker_id", "month", name="uq_coverage_worker_month"),
        CheckConstraint(enum_check("funder", Funder), name="funder_valid"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    month: Mapped[date] = mapped_column(Date, index=True)
    funder: Mapped[Funder] = mapped_column(String(8), index=True)
    amount: Mapped[int] = mapped_column(Integer)
    rule_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
