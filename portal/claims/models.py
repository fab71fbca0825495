"""Claim: a JKK or JKM benefit BPJS TK paid to a worker, tied to the month's coverage."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Date,
    ForeignKey,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.coverage.models import Coverage, Funder
from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import RegionOwned
from portal.workers.models import Worker

MAX_STORY = 500


class ClaimKind(enum.StrEnum):
    JKK = "jkk"  # Jaminan Kecelakaan Kerja: work accident
    JKM = "jkm"  # Jaminan Kematian: death


class Claim(RegionOwned, Model):
    """A benefit event of a covered worker.

    The funder and pledge are copied from the coverage row of the event's month, so sponsor
    reports sum claims per pledge without touching coverage or the worker; (worker, kind,
    event_date) refuses the same event twice.
    """

    __tablename__ = "claim"
    __table_args__ = (
        UniqueConstraint("worker_id", "kind", "event_date", name="uq_claim_worker_kind_date"),
        CheckConstraint(enum_check("kind", ClaimKind), name="kind_valid"),
        CheckConstraint(enum_check("funder", Funder), name="funder_valid"),
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("(funder = 'pledge') = (pledge_id IS NOT NULL)", name="pledge_funder"),
        CheckConstraint(f"length(story) <= {MAX_STORY}", name="story_length"),
        CheckConstraint("story_approved_at IS NULL OR story <> ''", name="story_approved_text"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    coverage_id: Mapped[int] = mapped_column(ForeignKey("coverage.id"), index=True)
    funder: Mapped[Funder] = mapped_column(String(8))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"), index=True)
    event_date: Mapped[date] = mapped_column(Date)
    month: Mapped[date] = mapped_column(Date, index=True)
    kind: Mapped[ClaimKind] = mapped_column(String(3))
    amount: Mapped[int] = mapped_column(BigInteger)
    story: Mapped[str] = mapped_column(Text, default="", server_default="")
    # A story reaches sponsors' reports only once staff approved it as anonymised; changing
    # the text takes the approval back.
    story_approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    story_approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    worker: Mapped[Worker] = relationship()
    coverage: Mapped[Coverage] = relationship()

    @property
    def story_approved(self) -> bool:
        return self.story_approved_at is not None
