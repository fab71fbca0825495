"""Coverage: one funder per person-month in every region, enforced by the database; month
closes and remittances to BPJS TK."""

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
    Index,
    Integer,
    String,
    UniqueConstraint,
    select,
)
from sqlalchemy.engine.interfaces import ExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import RegionOwned
from portal.workers.models import Worker


class Funder(enum.StrEnum):
    APBD = "apbd"
    DBHCHT = "dbhcht"
    PLEDGE = "pledge"


def worker_person_key(context: ExecutionContext) -> str:
    """A row written without its person key copies its worker's NIK hash. One query a row:
    the services that write many rows give the key themselves."""
    worker = Worker.__table__
    worker_id = context.get_current_parameters()["worker_id"]  # type: ignore[attr-defined]
    key: str = context.connection.execute(  # type: ignore[attr-defined]
        select(worker.c.nik_hash).where(worker.c.id == worker_id)
    ).scalar_one()
    return key


class Coverage(RegionOwned, Model):
    """A worker-month paid by one funder.

    (person_key, month) refuses a second funder for a person's month in any region: the key
    is the worker's NIK hash, copied when the row is written, and a unique index holds across
    regions (row-level security does not filter it), so a worker registered in two regions
    over time is never funded twice for a month. (worker_id, month) says the same within a
    region; (pledge_id, slot, month) refuses a second worker for a pledge's slot-month, so a
    pledge can never hold more worker-months than its slots times its months.
    """

    __tablename__ = "coverage"
    __table_args__ = (
        UniqueConstraint("person_key", "month", name="uq_coverage_person_month"),
        UniqueConstraint("worker_id", "month", name="uq_coverage_worker_month"),
        UniqueConstraint("pledge_id", "slot", "month", name="uq_coverage_pledge_slot_month"),
        # Counts per month and funder (closing, remittance, dashboards) read this index alone.
        Index("ix_coverage_month_funder", "month", "funder"),
        CheckConstraint(enum_check("funder", Funder), name="funder_valid"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
        CheckConstraint(
            "(funder = 'pledge') = (pledge_id IS NOT NULL AND slot IS NOT NULL)",
            name="pledge_funder",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"))
    person_key: Mapped[str] = mapped_column(String(64), default=worker_person_key)
    month: Mapped[date] = mapped_column(Date)
    funder: Mapped[Funder] = mapped_column(String(8))
    amount: Mapped[int] = mapped_column(Integer)
    rule_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    pledge_id: Mapped[int | None] = mapped_column(ForeignKey("pledge.id"), index=True)
    slot: Mapped[int | None] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("match_run.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MonthClose(RegionOwned, Model):
    """A closed month of a region: its consumption is in the ledger and its coverage no longer
    moves."""

    __tablename__ = "month_close"
    __table_args__ = (UniqueConstraint("region_code", "month", name="uq_month_close_region_month"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    closed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    totals: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class RemittanceFunder(enum.StrEnum):
    """Remittance files are per funder; all pledges together are the CSR file."""

    APBD = "apbd"
    DBHCHT = "dbhcht"
    CSR = "csr"


class Remittance(RegionOwned, Model):
    """A funder's month transferred to BPJS TK, with the bank reference; once per funder-month."""

    __tablename__ = "remittance"
    __table_args__ = (
        UniqueConstraint(
            "region_code", "month", "funder", name="uq_remittance_region_month_funder"
        ),
        CheckConstraint(enum_check("funder", RemittanceFunder), name="funder_valid"),
        CheckConstraint("amount >= 0", name="amount_non_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[date] = mapped_column(Date)
    funder: Mapped[RemittanceFunder] = mapped_column(String(8))
    workers: Mapped[int] = mapped_column(Integer)
    amount: Mapped[int] = mapped_column(BigInteger)
    reference: Mapped[str] = mapped_column(String(80))
    remitted_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    remitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
