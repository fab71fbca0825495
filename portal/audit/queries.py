"""Read-only selects for the audit log page."""

from __future__ import annotations

from sqlalchemy import Select, select

from portal.audit.models import AuditEvent


def audit_events_query(action: str = "", object_type: str = "", actor: str = "") -> Select:
    """Newest first, filtered by action prefix, object type and actor e-mail."""
    stmt = select(AuditEvent).order_by(AuditEvent.id.desc())
    if action:
        stmt = stmt.where(AuditEvent.action.startswith(action, autoescape=True))
    if object_type:
        stmt = stmt.where(AuditEvent.object_type == object_type)
    if actor:
        stmt = stmt.where(AuditEvent.actor_label == actor.strip().lower())
    return stmt
