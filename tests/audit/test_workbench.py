"""The audit log for auditors: filters by actor, action, object and dates; CSV/XLSX exports
that escape formulas, keep the filters and are audited themselves."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.audit.queries import AuditFilters, audit_events_query
from portal.extensions import db

EVIL = '=HYPERLINK("http://evil.example","klik")'


def _event(action: str, actor: str, object_type: str, object_id: str, day: date, **after):  # type: ignore[no-untyped-def]
    row = AuditEvent(
        created_at=datetime(day.year, day.month, day.day, 12, tzinfo=UTC),
        actor_label=actor,
        action=action,
        object_type=object_type,
        object_id=object_id,
        after=after or None,
    )
    db.session.add(row)
    db.session.flush()
    return row


@pytest.fixture
def log(app):  # type: ignore[no-untyped-def]
    return {
        "verify": _event("company.verify", "ana@kota.go.id", "company", "7", date(2026, 1, 5)),
        "reject": _event("company.reject", "budi@kota.go.id", "company", "8", date(2026, 1, 20)),
        "paid": _event(
            "payment.paid", "ana@kota.go.id", "payment", "7", date(2026, 2, 2), note=EVIL
        ),
        "late": _event("payment.paid", "ana@kota.go.id", "payment", "9", date(2026, 3, 1)),
    }


def _ids(filters: AuditFilters) -> set[int]:
    return {event.id for event in db.session.scalars(audit_events_query(filters))}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AuditFilters(actor="ANA@kota.go.id "), {"verify", "paid", "late"}),
        (AuditFilters(action="company."), {"verify", "reject"}),
        (AuditFilters(object_type="company", object_id="7"), {"verify"}),
        (AuditFilters(object_type="payment", object_id="7"), {"paid"}),
        (AuditFilters(start=date(2026, 1, 20), end=date(2026, 2, 2)), {"reject", "paid"}),
        (AuditFilters(actor="ana@kota.go.id", end=date(2026, 1, 31)), {"verify"}),
    ],
)
def test_filters_pick_the_events(log, filters, expected):
    found = _ids(filters) & {event.id for event in log.values()}
    assert found == {log[name].id for name in expected}


def test_page_filters_by_object_and_dates(actors, logged_in, log):
    page = logged_in(actors.auditor).get(
        "/audit?object_type=payment&start=2026-02-01&end=2026-02-28"
    )
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "object_id=7" in html and "object_id=9" not in html


def _exported(client, fmt: str, query: str) -> list[list[str]]:  # type: ignore[no-untyped-def]
    response = client.get(f"/audit/export.{fmt}?{query}")
    assert response.status_code == 200
    if fmt == "csv":
        return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))
    sheet = load_workbook(io.BytesIO(response.data)).active
    return [["" if c is None else str(c) for c in row] for row in sheet.iter_rows(values_only=True)]


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_export_keeps_filters_escapes_formulas_and_is_audited(actors, logged_in, log, fmt):
    client = logged_in(actors.auditor)
    rows = _exported(client, fmt, "actor=ana@kota.go.id&action=payment.&end=2026-02-28")
    assert rows[0][:4] == ["id", "created_at_utc", "actor", "action"]
    assert [row[0] for row in rows[1:]] == [str(log["paid"].id)]
    after = rows[1][-1]
    assert after.startswith("{") and '"note": "=HYPERLINK' in after
    evil = _event("=cmd|' /C calc'!A0", EVIL, "x", "1", date(2026, 4, 1))
    rows = _exported(client, fmt, "start=2026-04-01&end=2026-04-01")
    assert [row[0] for row in rows[1:]] == [str(evil.id)]
    assert rows[1][2] == "'" + EVIL and rows[1][3] == "'=cmd|' /C calc'!A0"
    exports = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "audit.export").order_by(AuditEvent.id)
    ).all()
    assert [e.actor_id for e in exports] == [actors.auditor.id] * 2
    assert exports[0].after == {
        "format": fmt,
        "rows": 1,
        "filters": {"actor": "ana@kota.go.id", "action": "payment.", "end": "2026-02-28"},
    }


def test_export_is_refused_to_staff_and_sponsors_and_unknown_formats(actors, logged_in):
    for user in (actors.staff, actors.owner, actors.member):
        assert logged_in(user).get("/audit/export.csv").status_code == 403
    assert logged_in(actors.admin).get("/audit/export.pdf").status_code == 404
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "audit.export")) is None
