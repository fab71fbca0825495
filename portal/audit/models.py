"""AuditEvent: who did what to which object, with before and after; rows are never changed."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, event
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import UTCDateTime, utcnow
from portal.extensions import Model
from portal.regions.scope import ALL, RegionOwned, current_region


def _region_of_event() -> str | None:
    code = current_region()
    return None if code == ALL else code


class AuditEvent(RegionOwned, Model):
    """One recorded action in a region (its auditors read it); personal identifiers (NIK) are
    never written here. A national action (a sponsor's act on their company, which belongs to
    no region) has no region: only a reader across all regions sees it."""

    __tablename__ = "audit_event"

    region_code: Mapped[str | None] = mapped_column(  # type: ignore[assignment]
        String(5), ForeignKey("region.code"), index=True, default=_region_of_event
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"), index=True)
    actor_label: Mapped[str] = mapped_column(String(254), default="", server_default="")
    action: Mapped[str] = mapped_column(String(64), index=True)
    object_type: Mapped[str] = mapped_column(String(40), default="", server_default="")
    object_id: Mapped[str] = mapped_column(String(40), default="", server_default="")
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    ip_address: Mapped[str] = mapped_column(String(64), default="", server_default="")


class AuditImmutableError(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(AuditEvent, "before_update")
def _refuse_update(mapper, connection, target):  # type: ignore[no-untyped-def]
    raise AuditImmutableError("audit events are append-only")


@event.listens_for(AuditEvent, "before_delete")
def _refuse_delete(mapper, connection, target):  # type: ignore[no-untyped-def]
    raise AuditImmutableError("audit events are append-only")
