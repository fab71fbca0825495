"""`flask privacy breach-notice`: the Article 46 notice drafted from the audit trail, with the
accesses of the window only and counts of people, never their data."""

from __future__ import annotations

import json
import re
from datetime import datetime

import pytest
from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.privacy.breach import LOCAL
from portal.workers.services import worker_nik
from tests import factories

SINCE, UNTIL = "2026-03-01T08:00", "2026-03-02"  # WIB; the whole of 2 March is inside
SIXTEEN_DIGITS = re.compile(r"(?<![0-9])[0-9]{16}(?![0-9])")


def _event(at: datetime, action: str, actor=None, obj=None, ip: str = "", **after):  # type: ignore[no-untyped-def]
    db.session.add(
        AuditEvent(
            created_at=at.replace(tzinfo=LOCAL),
            action=action,
            actor_id=actor.id if actor else None,
            actor_label=actor.email if actor else "",
            object_type="worker" if obj is not None else "",
            object_id=str(obj.id) if obj is not None else "",
            after=after or None,
            ip_address=ip,
        )
    )


@pytest.fixture
def trail(actors):  # type: ignore[no-untyped-def]
    """Inside the window: staff opened two workers (one twice) from 10.0.0.1, the admin
    exported 120 register rows from 10.0.0.2, and a login failed from 10.9.9.9. Outside it:
    staff2 opened a third worker, and a remittance file of 50 rows was downloaded."""
    first = factories.worker(full_name="Sri Wahyuni")
    second = factories.worker(full_name="Slamet Riyadi")
    third = factories.worker(full_name="Siti Aminah")
    staff, admin = actors.staff, actors.admin
    _event(datetime(2026, 3, 1, 9, 0), "worker.view_pii", staff, first, "10.0.0.1")
    _event(datetime(2026, 3, 1, 9, 5), "worker.view_pii", staff, first, "10.0.0.1")
    _event(datetime(2026, 3, 2, 23, 50), "worker.view_pii", staff, second, "10.0.0.1")
    _event(datetime(2026, 3, 1, 10, 0), "worker.export", admin, None, "10.0.0.2", rows=120)
    _event(datetime(2026, 3, 1, 11, 0), "auth.login_failed", None, None, "10.9.9.9")
    _event(datetime(2026, 3, 1, 7, 59), "worker.view_pii", actors.staff2, third, "10.0.0.3")
    _event(
        datetime(2026, 3, 3, 0, 0), "coverage.remittance_export", admin, None, "10.0.0.4", rows=50
    )
    return first, second, third


def _run(app, *args: str):  # type: ignore[no-untyped-def]
    db.session.commit()
    return app.test_cli_runner().invoke(args=["privacy", "breach-notice", *args])


def test_json_lists_the_window_s_accesses_and_counts_only(app, actors, trail):
    result = _run(
        app, "--since", SINCE, "--until", UNTIL, "--discovered", "2026-03-03T10:00", "--json"
    )
    assert result.exit_code == 0, result.output
    notice = json.loads(result.output)
    assert notice["window"] == {
        "since": "2026-03-01T08:00:00+07:00",
        "until": "2026-03-03T00:00:00+07:00",
    }
    assert notice["notice_due_by"] == "2026-03-06T10:00:00+07:00"
    accesses = {
        a["action"]: (a["events"], a["workers"], a["file_rows"]) for a in notice["accesses"]
    }
    assert accesses == {"worker.view_pii": (3, 2, 0), "worker.export": (1, 0, 120)}
    assert notice["data_subjects"] == {
        "workers_opened_one_by_one": 2,
        "worker_rows_in_files": 120,
        "workers_at_most": 3,  # the register holds three
    }
    assert notice["held"]["workers"] == 3 and notice["held"]["workers_erased"] == 0
    by_user = {(g["action"], g["user"], g["ip"], g["events"]) for g in notice["accesses_by_user"]}
    assert by_user == {
        ("worker.view_pii", actors.staff.email, "10.0.0.1", 3),
        ("worker.export", actors.admin.email, "10.0.0.2", 1),
    }
    assert [(g["action"], g["user"], g["ip"]) for g in notice["signals"]] == [
        ("auth.login_failed", "", "10.9.9.9")
    ]
    assert notice["handling"] is None


def test_markdown_is_indonesian_first_and_names_nobody_but_the_accessing_users(app, actors, trail):
    result = _run(app, "--since", SINCE, "--until", UNTIL, "--discovered", "2026-03-03T10:00")
    assert result.exit_code == 0, result.output
    text = result.output
    assert text.startswith("# Draf pemberitahuan kegagalan pelindungan data pribadi")
    assert text.index("Data pribadi yang terungkap") < text.index("Kapan dan bagaimana")
    assert "Personal data revealed" in text and "Handling and recovery" in text
    assert "2026-03-06 10:00 WIB" in text  # 3 x 24 hours after the discovery
    assert actors.staff.email in text and "10.0.0.1" in text and "10.9.9.9" in text
    assert actors.staff2.email not in text and "10.0.0.3" not in text and "10.0.0.4" not in text
    assert "`worker.view_pii`" in text and "`coverage.remittance_export`" not in text
    for worker in trail:
        assert worker.full_name not in text and worker_nik(worker) not in text
    assert SIXTEEN_DIGITS.search(text) is None
    assert "diisi pengendali / to be filled in by the controller" in text


def test_a_quiet_window_says_nothing_was_reached(app, trail):
    result = _run(app, "--since", "2026-01-01", "--until", "2026-01-31T12:00")
    assert result.exit_code == 0, result.output
    assert "Tidak ada akses data pribadi yang tercatat" in result.output
    assert "Tidak ada. / None." in result.output


def test_each_draft_is_audited(app, trail):
    _run(app, "--since", SINCE, "--until", UNTIL)
    drafted = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "privacy.breach_notice")
    ).all()
    assert [e.after for e in drafted] == [
        {"since": "2026-03-01T08:00:00+07:00", "until": "2026-03-03T00:00:00+07:00"}
    ]


def test_without_until_the_window_runs_to_now(app, trail):
    result = _run(app, "--since", "2026-03-02T12:00", "--json")
    assert result.exit_code == 0, result.output
    notice = json.loads(result.output)
    actions = {a["action"]: a["events"] for a in notice["accesses"]}
    assert actions == {"worker.view_pii": 1, "coverage.remittance_export": 1}


@pytest.mark.parametrize(
    "args",
    [
        ("--since", "kemarin"),
        ("--since", "2026-03-02", "--until", "2026-03-01"),
        ("--since", "2026-03-01", "--until", "2026-13-01"),
    ],
)
def test_a_bad_window_is_refused(app, args):
    result = _run(app, *args)
    assert result.exit_code == 2
    assert (
        db.session.scalar(select(func.count()).where(AuditEvent.action == "privacy.breach_notice"))
        == 0
    )
