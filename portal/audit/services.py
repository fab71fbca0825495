"""record_event: the one way state changes enter the audit trail."""

from __future__ import annotations

from typing import Any

from flask import has_request_context, request
from flask_login import current_user
from sqlalchemy import insert

from portal.audit.models import AuditEvent
from portal.db import utcnow
from portal.extensions import db
from portal.regions.models import SEMARANG
from portal.regions.scope import ALL, current_region

# Built once: a prepared core insert skips the ORM's unit of work for rows that are only
# ever inserted (never updated or deleted, see the model's guards).
_INSERT = insert(AuditEvent.__table__).returning(AuditEvent.__table__.c.id)


def record_event(
    action: str,
    obj: Any = None,
    *,
    actor: Any = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    company_id: int | None = None,
    actor_label: str = "",
) -> AuditEvent:
    """Write an audit row now, in the current transaction (it goes if that rolls back).

    Returns the row written, as an AuditEvent outside the session.
    """
    if actor is None and has_request_context() and current_user.is_authenticated:
        actor = current_user
    values = {
        "created_at": utcnow(),
        "action": action,
        "actor_id": getattr(actor, "id", None),
        "actor_label": actor_label or getattr(actor, "email", "") or "",
        "object_type": _object_type(obj),
        "object_id": str(getattr(obj, "id", "") or "") if obj is not None else "",
        "company_id": company_id if company_id is not None else _company_of(obj),
        "before": before,
        "after": after,
        "ip_address": (request.remote_addr or "") if has_request_context() else "",
    }
    if current_region() == ALL:
        # Recorded while reading every region (a national user signs out): filed, like a
        # sponsor's, in the region served by default.
        values["region_code"] = SEMARANG
    event_id = db.session.execute(_INSERT, values).scalar_one()
    return AuditEvent(id=event_id, **values)


def _object_type(obj: Any) -> str:
    if obj is None:
        return ""
    return getattr(obj, "__tablename__", type(obj).__name__.lower())


def _company_of(obj: Any) -> int | None:
    if obj is None:
        return None
    if getattr(obj, "__tablename__", "") == "company":
        return obj.id
    return getattr(obj, "company_id", None)
