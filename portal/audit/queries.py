"""Read-only selects for the audit log page and its exports."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, select

from portal.audit.models import AuditEvent
from portal.extensions import db

EXPORT_HEADER = [
    "id",
    "created_at_utc",
    "actor",
    "action",
    "object_type",
    "object_id",
    "company_id",
    "ip_address",
    "before",
    "after",
]


@dataclass(frozen=True)
class AuditFilters:
    """What the page and the exports filter on; dates are inclusive, in UTC."""

    action: str = ""
    object_type: str = ""
    object_id: str = ""
    actor: str = ""
    start: date | None = None
    end: date | None = None

    def as_args(self) -> dict[str, str]:
        """The filters as query-string values (for links to pages and exports)."""
        return {
            "action": self.action,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "actor": self.actor,
            "start": self.start.isoformat() if self.start else "",
            "end": self.end.isoformat() if self.end else "",
        }


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def audit_events_query(filters: AuditFilters) -> Select[tuple[AuditEvent]]:
    """Newest first, filtered by action prefix, object type and id, actor e-mail and dates."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if filters.action:
        stmt = stmt.where(AuditEvent.action.startswith(filters.action, autoescape=True))
    if filters.object_type:
        stmt = stmt.where(AuditEvent.object_type == filters.object_type)
    if filters.object_id:
        stmt = stmt.where(AuditEvent.object_id == filters.object_id)
    if filters.actor:
        stmt = stmt.where(AuditEvent.actor_label == filters.actor.strip().lower())
    if filters.start:
        stmt = stmt.where(AuditEvent.created_at >= _midnight(filters.start))
    if filters.end:
        stmt = stmt.where(AuditEvent.created_at < _midnight(filters.end + timedelta(days=1)))
    return stmt


def export_rows(filters: AuditFilters, limit: int) -> Iterator[list[Any]]:
    """The filtered events as export cells, oldest first, at most `limit` of them."""
    stmt = audit_events_query(filters).order_by(None).order_by(AuditEvent.id)
    for event in db.session.scalars(stmt.limit(limit).execution_options(yield_per=1_000)):
        yield event_cells(event)


def event_cells(event: AuditEvent) -> list[Any]:
    return [
        event.id,
        event.created_at.strftime("%Y-%m-%d %H:%M:%S"),
        event.actor_label,
        event.action,
        event.object_type,
        event.object_id,
        event.company_id or "",
        event.ip_address,
        _json(event.before),
        _json(event.after),
    ]


def _json(value: dict[str, Any] | None) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False) if value else ""
