"""The audit log, read-only, for auditors and admins: filters, and CSV/XLSX exports."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, render_template, request
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from portal.audit.queries import EXPORT_HEADER, AuditFilters, audit_events_query, export_rows
from portal.audit.services import record_event
from portal.auth.permissions import Permission
from portal.exports import csv_bytes, xlsx_bytes
from portal.extensions import db
from portal.security import require, require_recent_login

bp = Blueprint("audit", __name__)

EXPORT_LIMIT = 100_000  # rows per export; narrow the filters for more
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def filters_from(args: MultiDict[str, str]) -> AuditFilters:
    """Filters from the query string; text is cut to the column widths, bad dates ignored."""
    return AuditFilters(
        action=args.get("action", "")[:64],
        object_type=args.get("object_type", "")[:40],
        object_id=args.get("object_id", "")[:40].strip(),
        actor=args.get("actor", "")[:254],
        start=_day(args.get("start", "")),
        end=_day(args.get("end", "")),
    )


@bp.get("/audit")
@require(Permission.AUDIT_READ)
def events():  # type: ignore[no-untyped-def]
    filters = filters_from(request.args)
    page = db.paginate(audit_events_query(filters), per_page=50, max_per_page=200)
    return render_template("audit/events.html", page=page, filters=filters.as_args())


@bp.get("/audit/export.<fmt>")
@require(Permission.AUDIT_EXPORT)
@require_recent_login
def export(fmt: str):  # type: ignore[no-untyped-def]
    """The filtered log as a file; the export is itself an audited event."""
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = filters_from(request.args)
    rows = list(export_rows(filters, EXPORT_LIMIT))
    if fmt == "csv":
        body = csv_bytes(EXPORT_HEADER, rows)
    else:
        body = xlsx_bytes(EXPORT_HEADER, rows, "Audit log")
    described = {key: value for key, value in filters.as_args().items() if value}
    record_event(
        "audit.export",
        actor=current_user,
        after={"format": fmt, "rows": len(rows), "filters": described},
    )
    db.session.commit()
    return Response(
        body,
        mimetype="text/csv" if fmt == "csv" else XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="audit-log.{fmt}"',
            "Cache-Control": "no-store",
        },
    )
