"""A certificate: its signed payload exactly as signed, and whether it was revoked."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import RegionOwned


class CertificateKind(enum.StrEnum):
    ACTIVE = "active"  # issued when the pledge's coverage starts
    COMPLETED = "completed"  # issued when its last month is closed


class Certificate(RegionOwned, Model):
    """Never edited: a new fact makes a new certificate; revocation only adds when and why."""

    __tablename__ = "certificate"
    __table_args__ = (CheckConstraint(enum_check("kind", CertificateKind), name="kind_valid"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    serial: Mapped[str] = mapped_column(String(32), unique=True)
    kind: Mapped[CertificateKind] = mapped_column(String(12))
    pledge_id: Mapped[int] = mapped_column(ForeignKey("pledge.id"), index=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("company.id"), index=True)
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON, the exact signed bytes
    signature: Mapped[str] = mapped_column(String(100))  # base64 Ed25519 signature
    key_id: Mapped[str] = mapped_column(String(16))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoke_reason: Mapped[str] = mapped_column(Text, default="", server_default="")
    superseded_by: Mapped[str | None] = mapped_column(String(32))  # the completion's serial
