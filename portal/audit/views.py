"""The audit log, read-only, for auditors and admins."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from portal.audit.queries import audit_events_query
from portal.auth.permissions import Permission
from portal.extensions import db
from portal.security import require

bp = Blueprint("audit", __name__)


@bp.get("/audit")
@require(Permission.AUDIT_READ)
def events():  # type: ignore[no-untyped-def]
    filters = {key: request.args.get(key, "")[:64] for key in ("action", "object_type", "actor")}
    page = db.paginate(audit_events_query(**filters), per_page=50, max_per_page=200)
    return render_template("audit/events.html", page=page, filters=filters)
