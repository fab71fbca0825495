"""Rule versions, match runs (a proposal, then the coverage it created) and their placements."""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, CheckConstraint, Date, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.messages import Message, as_data
from portal.regions.scope import RegionOwned


class RuleVersion(RegionOwned, Model):
    """One version of the rules' parameters; a change adds a row, nothing is edited."""

    __tablename__ = "rule_version"

    id: Mapped[int] = mapped_column(primary_key=True)  # the version number
    parameters: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RunStatus(enum.StrEnum):
    PREPARING = "preparing"  # asked for from a page; a job worker places the waiting list
    PROPOSED = "proposed"
    APPROVED = "approved"
    STALE = "stale"  # approval found that something it relied on had changed
    DISCARDED = "discarded"


class MatchRun(RegionOwned, Model):
    """A proposal for one month; approval turns its placements into coverage rows."""

    __tablename__ = "match_run"
    __table_args__ = (CheckConstraint(enum_check("status", RunStatus), name="status_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date, index=True)
    status: Mapped[RunStatus] = mapped_column(String(12), default=RunStatus.PROPOSED, index=True)
    rule_version: Mapped[int] = mapped_column(ForeignKey("rule_version.id"))
    proposed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    placed: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    coverage_rows: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    summary: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    failure: Mapped[str] = mapped_column(Text, default="", server_default="")  # stale, refused
    # Approval runs as a job (it writes a term of coverage per placement): asked for here.
    approval_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approval_requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))

    placements: Mapped[list[MatchPlacement]] = relationship(
        back_populates="run", order_by="MatchPlacement.id", viewonly=True
    )

    @property
    def failure_reasons(self) -> list[dict[str, Any] | str]:
        """Why the run failed, each reason as kept (see failure_text); the `message` filter
        shows each in the reader's language. Text from before reasons were data is split."""
        text = self.failure or ""
        if text.startswith("["):
            try:
                kept = json.loads(text)
            except ValueError:
                return [text]
            if isinstance(kept, list):
                return kept
        if text.startswith('{"msgid"'):
            return [text]
        return [reason for reason in text.split("; ") if reason]


def failure_text(reasons: Sequence[Message | str]) -> str:
    """What MatchRun.failure keeps for several reasons: a JSON list of messages as data, so a
    job's verdict is read in the reader's language later (failure_reasons reads it back)."""
    return json.dumps([as_data(reason) for reason in reasons], ensure_ascii=False)


class MatchPlacement(Model):
    """One worker placed by a run: with a city funder for the month, or in a pledge's slot
    for the pledge's months from the run's month on."""

    __tablename__ = "match_placement"
    __table_args__ = (
        CheckConstraint("(funder = 'pledge') = (pledge_id IS NOT NULL)", name="pledge_funder"),
        CheckConstraint("months > 0", name="months_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("match_run.id"), index=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    funder: Mapped[str] = mapped_column(String(8))
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"))
    slot: Mapped[int | None] = mapped_column(Integer)
    months: Mapped[int] = mapped_column(Integer, default=1)

    run: Mapped[MatchRun] = relationship(back_populates="placements")
