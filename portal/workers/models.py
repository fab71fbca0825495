"""Worker: a vulnerable informal worker on the city's register."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.reference.models import Category, Kelurahan
from portal.regions.scope import RegionOwned


class WorkerStatus(enum.StrEnum):
    REGISTERED = "registered"
    ELIGIBLE = "eligible"
    INACTIVE = "inactive"


class InactiveReason(enum.StrEnum):
    DECEASED = "deceased"
    MOVED = "moved"
    OVER_AGE = "over_age"
    FORMAL_JOB = "formal_job"
    DUPLICATE = "duplicate"
    ERASED = "erased"  # personal data erased on request (UU 27/2022); set by erasure only


class Sex(enum.StrEnum):
    MALE = "L"
    FEMALE = "P"


ACTIVE_NIK = "status <> 'inactive'"  # the registrations a NIK may have only one of


class Worker(RegionOwned, Model):
    """NIK and phone are stored encrypted; nik_hash (keyed) gives uniqueness and exact search.

    A NIK is registered once per region, and may be registered in several regions over time
    (a worker who moves), but is active (not inactive) in one region at a time.

    An erased worker (erased_at set) keeps its id, sex, category, kelurahan and birth month,
    which coverage, claims and reports count on; the rest is a pseudonym or empty.
    """

    __tablename__ = "worker"
    __table_args__ = (
        UniqueConstraint("region_code", "nik_hash", name="uq_worker_region_nik"),
        # A unique index holds across regions (row-level security does not filter it), so
        # two regions can never both have the NIK active, whatever races between them.
        Index(
            "uq_worker_active_nik",
            "nik_hash",
            unique=True,
            sqlite_where=text(ACTIVE_NIK),
            postgresql_where=text(ACTIVE_NIK),
        ),
        CheckConstraint(enum_check("status", WorkerStatus), name="status_valid"),
        CheckConstraint(enum_check("sex", Sex), name="sex_valid"),
        CheckConstraint(
            "(status = 'inactive') = (inactive_reason IS NOT NULL)", name="inactive_has_reason"
        ),
        CheckConstraint(
            "dtsen_decile IS NULL OR dtsen_decile BETWEEN 1 AND 10", name="decile_range"
        ),
        CheckConstraint("erased_at IS NULL OR status = 'inactive'", name="erased_is_inactive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    nik_hash: Mapped[str] = mapped_column(String(64))
    nik_encrypted: Mapped[str] = mapped_column(String(120))
    nik_masked: Mapped[str] = mapped_column(String(16))
    full_name: Mapped[str] = mapped_column(String(120), index=True)
    birth_date: Mapped[date] = mapped_column(Date)
    sex: Mapped[Sex] = mapped_column(String(1))
    category_id: Mapped[int] = mapped_column(ForeignKey("category.id"), index=True)
    kelurahan_code: Mapped[str] = mapped_column(ForeignKey("kelurahan.code"), index=True)
    address: Mapped[str] = mapped_column(Text, default="", server_default="")
    phone_encrypted: Mapped[str | None] = mapped_column(String(120))
    kpj: Mapped[str | None] = mapped_column(String(20), index=True)
    dtsen_decile: Mapped[int | None] = mapped_column(SmallInteger)
    nik_in_semarang: Mapped[bool] = mapped_column(default=True, server_default="1")
    domicile_flag: Mapped[bool] = mapped_column(default=False, server_default="0")
    other_membership: Mapped[bool] = mapped_column(default=False, server_default="0")
    registered_on: Mapped[date] = mapped_column(Date, default=date.today)
    status: Mapped[WorkerStatus] = mapped_column(
        String(16), default=WorkerStatus.REGISTERED, index=True
    )
    inactive_reason: Mapped[InactiveReason | None] = mapped_column(String(16))
    # Set once when the personal fields were replaced by a pseudonym (portal/privacy).
    erased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, server_default=func.now()
    )

    category: Mapped[Category] = relationship()
    kelurahan: Mapped[Kelurahan] = relationship()
    history: Mapped[list[WorkerStatusChange]] = relationship(
        back_populates="worker", order_by="WorkerStatusChange.id"
    )


class WorkerStatusChange(Model):
    """One step in a worker's status history, with who made it and why."""

    __tablename__ = "worker_status_change"

    id: Mapped[int] = mapped_column(primary_key=True)
    worker_id: Mapped[int] = mapped_column(ForeignKey("worker.id"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    worker: Mapped[Worker] = relationship(back_populates="history")


class ImportState(enum.StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class ImportJob(RegionOwned, Model):
    """A roster upload: first checked (dry run), then imported on request; progress is polled."""

    __tablename__ = "worker_import_job"
    __table_args__ = (CheckConstraint(enum_check("state", ImportState), name="state_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(String(32), unique=True)
    filename: Mapped[str] = mapped_column(String(255))
    stored_path: Mapped[str] = mapped_column(String(500))
    update_existing: Mapped[bool] = mapped_column(default=False, server_default="0")
    dry_run: Mapped[bool] = mapped_column(default=True, server_default="1")
    state: Mapped[ImportState] = mapped_column(String(16), default=ImportState.QUEUED)
    rows_done: Mapped[int] = mapped_column(default=0, server_default="0")
    summary: Mapped[dict | None] = mapped_column(JSON)
    message: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
