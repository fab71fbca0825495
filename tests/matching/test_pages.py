"""The matching pages, the Rules page and what a sponsor sees of a placement."""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal import messages
from portal.audit.models import AuditEvent
from portal.coverage.models import Coverage, MonthClose
from portal.extensions import db
from portal.jobs import MAX_ATTEMPTS, progress_of, run_pending, set_progress
from portal.matching import services
from portal.matching.models import MatchRun, RuleVersion, RunStatus
from portal.matching.rules import current_rules
from portal.messages import _m
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from portal.reference.models import Category
from portal.workers.pii import current_cipher
from tests import factories
from tests.conftest import csrf_token, run_jobs
from tests.matching import builders


@pytest.fixture
def month():  # type: ignore[no-untyped-def]
    return earliest_start()


@pytest.fixture
def no_city_quota(actors):  # type: ignore[no-untyped-def]
    return builders.rules(city_quotas={})


def _post(client, path: str, **data):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, "/matching/"), **data})


def _text(response) -> str:  # type: ignore[no-untyped-def]
    return response.get_data(as_text=True)


def _coverage_rows(pledge_id: int) -> int:
    return db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge_id))


def _proposal(
    actors, month, workers: int = 2, slots: int = 2, months: int = 3, company=None, **target
):  # type: ignore[no-untyped-def]
    for _ in range(workers):
        factories.worker()
    pledge = builders.paid_pledge(
        company or builders.sponsor(), workers=slots, months=months, start=month, **target
    )
    return pledge, services.propose_run(month, actors.staff)


# Runs -------------------------------------------------------------------------------------


def test_index_lists_runs_newest_first_with_a_propose_form(actors, logged_in, month, no_city_quota):
    _, first = _proposal(actors, month)
    services.discard_run(first, actors.staff)
    second = services.propose_run(month, actors.staff)
    html = _text(logged_in(actors.staff).get("/matching/"))
    rows = re.findall(r'data-run="(\d+)"', html)
    assert rows[:2] == [str(second.id), str(first.id)]
    assert 'data-status="discarded"' in html and 'data-status="proposed"' in html
    assert actors.staff.full_name in html
    assert f'<option selected value="{month.isoformat()}"' in html  # next month preselected


def test_propose_creates_a_run_and_redirects_to_it(actors, logged_in, month, no_city_quota):
    factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=2, start=month)
    client = logged_in(actors.staff)
    response = _post(client, "/matching/runs", month=month.isoformat())
    assert response.status_code == 302
    run = db.session.scalar(select(MatchRun).order_by(MatchRun.id.desc()))
    assert response.headers["Location"].endswith(f"/matching/runs/{run.id}")
    assert (run.status, run.month, run.placed, run.proposed_by_id) == (
        RunStatus.PROPOSED,
        month,
        1,
        actors.staff.id,
    )
    assert _coverage_rows(pledge.id) == 0


def test_a_proposal_is_prepared_by_a_job_the_page_follows(actors, logged_in, month, no_city_quota):
    factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=2, start=month)
    client = logged_in(actors.staff)
    token = csrf_token(client, "/matching/")
    with client.application.app_context():  # the request alone, no worker after it
        response = FlaskClient.open(
            client, "/matching/runs", method="POST", data={"csrf_token": token, "month": month}
        )
    assert response.status_code == 302
    run = db.session.scalar(select(MatchRun).order_by(MatchRun.id.desc()))
    assert run.status == RunStatus.PREPARING and run.placed == 0
    set_progress(services.run_subject(run.id), 2, services.PLACE_STEPS)  # as the job reports
    html = _text(FlaskClient.open(client, f"/matching/runs/{run.id}"))
    assert 'id="preparing"' in html and 'data-job="busy"' in html
    assert 'data-refresh="2"' in html and "2 / 4" in html
    assert 'id="approve"' not in html and 'id="discard"' not in html
    assert "being prepared" in html
    run_jobs()
    html = _text(client.get(f"/matching/runs/{run.id}"))
    db.session.expire_all()
    assert db.session.get_one(MatchRun, run.id).status == RunStatus.PROPOSED
    assert 'id="approve"' in html and 'data-refresh="2"' not in html
    assert 'data-count="placed">1<' in html
    assert progress_of(services.run_subject(run.id)) is None


def test_a_proposal_job_that_keeps_failing_shows_failed_not_in_progress(
    actors, logged_in, month, no_city_quota, monkeypatch
):
    factories.worker()
    admin, staff = logged_in(actors.admin), logged_in(actors.staff)
    monkeypatch.setattr(services.engine, "by_priority", _broken)
    _post(staff, "/matching/runs", month=month.isoformat())
    for _ in range(MAX_ATTEMPTS):
        run_pending(include_scheduled=True)
    run = db.session.scalar(select(MatchRun).order_by(MatchRun.id.desc()))
    html = _text(staff.get(f"/matching/runs/{run.id}"))
    assert 'data-job="failed"' in html and 'data-refresh="2"' not in html
    assert "an administrator can see why" in html.lower()
    assert db.session.get_one(MatchRun, run.id).status == RunStatus.PREPARING
    assert "engine down" in _text(admin.get("/admin/jobs"))
    assert 'href="/admin/jobs"' in _text(admin.get(f"/matching/runs/{run.id}"))


def _broken(candidates):  # type: ignore[no-untyped-def]
    raise RuntimeError("engine down")


def test_a_month_closed_before_the_job_runs_ends_the_proposal_with_the_reason(
    actors, logged_in, month, no_city_quota
):
    client = logged_in(actors.staff)
    token = csrf_token(client, "/matching/")
    with client.application.app_context():
        FlaskClient.open(
            client, "/matching/runs", method="POST", data={"csrf_token": token, "month": month}
        )
    db.session.add(MonthClose(month=month))
    run_jobs()
    run = db.session.scalar(select(MatchRun).order_by(MatchRun.id.desc()))
    assert run.status == RunStatus.DISCARDED and "is closed" in run.failure
    # kept as data: the page words it in its reader's language, not the job's
    assert json.loads(run.failure) == _m("%(month)s is closed", month=f"{month:%Y-%m}").as_data()
    html = _text(client.get(f"/matching/runs/{run.id}"))
    assert 'id="failure"' in html and "is closed" in html and 'id="approve"' not in html


def test_propose_for_a_closed_month_shows_why_and_keeps_the_choice(actors, logged_in, month):
    db.session.add(MonthClose(month=month))
    db.session.flush()
    response = _post(logged_in(actors.staff), "/matching/runs", month=month.isoformat())
    html = _text(response)
    assert response.status_code == 200
    assert f"{month:%Y-%m} is closed" in html
    assert f'<option selected value="{month.isoformat()}"' in html
    assert db.session.scalar(select(func.count(MatchRun.id))) == 0


def test_propose_without_a_month_is_a_bad_request(actors, logged_in):
    response = _post(logged_in(actors.staff), "/matching/runs")
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(MatchRun.id))) == 0


def test_run_page_shows_per_pledge_numbers_and_why_slots_are_unfilled(
    actors, logged_in, month, no_city_quota
):
    workers = [
        factories.worker(category_code="ojek", full_name="Bambang Sutrisno"),
        factories.worker(category_code="becak", full_name="Siti Aminah"),
    ]
    pledge = builders.paid_pledge(
        builders.sponsor(),
        workers=3,
        months=2,
        start=month,
        categories=("ojek",),
        kecamatan=("33.74.01",),
    )
    run = services.propose_run(month, actors.staff)
    html = _text(logged_in(actors.staff).get(f"/matching/runs/{run.id}"))
    row = re.search(rf'<tr data-pledge="{pledge.id}">(.*?)</tr>', html, re.S).group(1)
    assert re.search(r'data-count="placed">1<', row)
    assert re.search(r'data-count="unfilled">2<', row)
    assert re.search(r'data-count="fitting">1<', row)
    assert "no eligible worker waiting fits the target" in row
    assert "Motorcycle-taxi rider" in row and "Semarang Tengah" in row  # names, not codes
    assert 'id="approve"' in html and 'id="discard"' in html
    assert html.count("data-confirm=") >= 2
    by_category = re.search(r'id="by-category">(.*?)</table>', html, re.S).group(1)
    assert "Motorcycle-taxi rider" in by_category and "ojek" not in by_category
    for worker in workers:  # counts only: never who
        assert worker.full_name not in html
        assert worker.nik_masked not in html
        assert current_cipher().decrypt(worker.nik_encrypted) not in html


def test_unknown_run_is_404(actors, logged_in):
    assert logged_in(actors.staff).get("/matching/runs/999999").status_code == 404


def test_approve_writes_coverage_and_activates_the_pledge(
    actors, logged_in, month, no_city_quota, outbox
):
    pledge, run = _proposal(actors, month, workers=2, slots=2, months=3)
    response = _post(logged_in(actors.staff2), f"/matching/runs/{run.id}/approve")
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/matching/runs/{run.id}")
    page = _text(logged_in(actors.staff2).get(f"/matching/runs/{run.id}"))
    db.session.expire_all()
    assert db.session.get(MatchRun, run.id).status == RunStatus.APPROVED
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.ACTIVE
    assert _coverage_rows(pledge.id) == 6
    assert actors.staff2.full_name in page and 'id="approve"' not in page


def test_approval_runs_as_a_job_the_page_follows(actors, logged_in, month, no_city_quota):
    _, run = _proposal(actors, month, workers=1, slots=1, months=2)
    client = logged_in(actors.staff)
    token = csrf_token(client, "/matching/")
    with client.application.app_context():  # the request alone, no worker after it
        response = FlaskClient.open(
            client, f"/matching/runs/{run.id}/approve", method="POST", data={"csrf_token": token}
        )
    assert response.status_code == 302
    waiting = db.session.get_one(MatchRun, run.id, populate_existing=True)
    assert waiting.status == RunStatus.PROPOSED and waiting.approval_requested_at is not None
    html = _text(FlaskClient.open(client, f"/matching/runs/{run.id}"))
    assert 'id="approving"' in html and 'data-refresh="2"' in html
    assert "Approval started" in html
    assert 'id="approve"' not in html
    again = _post(client, f"/matching/runs/{run.id}/approve")  # a second click changes nothing
    html = _text(client.get(again.headers["Location"]))
    assert 'data-status="approved"' in html and 'data-count="coverage-rows">2<' in html
    # the certificates that follow the approval are counted on the page
    assert 'id="certificates" data-done="1" data-due="1"' in html


def test_stale_approval_shows_the_reasons_and_writes_nothing(
    actors, logged_in, month, no_city_quota
):
    pledge, run = _proposal(actors, month)
    builders.rules(city_quotas={}, lapse_window_days=45)
    client = logged_in(actors.staff)
    response = client.post(
        f"/matching/runs/{run.id}/approve",
        follow_redirects=True,
        data={"csrf_token": csrf_token(client, "/matching/")},
    )
    html = _text(response)
    assert "the rules changed" in html
    assert 'class="alert alert-danger"' in html and 'id="failure"' in html
    db.session.expire_all()
    stale = db.session.get(MatchRun, run.id)
    assert stale.status == RunStatus.STALE and "rules changed" in stale.failure
    assert _coverage_rows(pledge.id) == 0
    assert db.session.get(Pledge, pledge.id).status == PledgeStatus.PAID


RULES_CHANGED = "the rules changed (proposal used version %(used)s, now %(now)s)"


def test_stale_reasons_written_by_the_job_are_kept_as_data_and_shown_translated(
    actors, logged_in, month, no_city_quota, monkeypatch
):
    _, run = _proposal(actors, month)
    used = run.rule_version
    builders.rules(city_quotas={}, lapse_window_days=45)
    now = current_rules().version
    client = logged_in(actors.staff)
    _post(client, f"/matching/runs/{run.id}/approve")
    run_jobs()  # the approval job, outside any request, finds the proposal stale
    db.session.expire_all()
    stale = db.session.get(MatchRun, run.id)
    assert stale.status == RunStatus.STALE
    # the job kept the message and its values, not English text
    assert stale.failure_reasons == [{"msgid": RULES_CHANGED, "params": {"used": used, "now": now}}]
    stored = json.loads(stale.failure)
    assert stored == [_m(RULES_CHANGED, used=used, now=now).as_data()]
    # the audit trail keeps English
    event = db.session.scalar(
        select(AuditEvent)
        .where(AuditEvent.action == "match.stale", AuditEvent.object_id == str(run.id))
        .order_by(AuditEvent.id.desc())
    )
    assert event is not None
    assert event.after["reasons"] == [
        f"the rules changed (proposal used version {used}, now {now})"
    ]
    # the page translates it when it is read: through the `message` filter, in the reader's
    # language (a catalogue with this message translated stands in for the real one)
    indonesian = {RULES_CHANGED: "aturan berubah (usulan memakai versi %(used)s, kini %(now)s)"}
    english = messages.flask_babel.gettext

    def gettext(msgid: str, **params: object) -> str:
        return indonesian[msgid] % params if msgid in indonesian else english(msgid, **params)

    monkeypatch.setattr(messages.flask_babel, "gettext", gettext)
    html = _text(client.get(f"/matching/runs/{run.id}"))
    assert 'id="failure"' in html
    assert f"aturan berubah (usulan memakai versi {used}, kini {now})" in html
    assert "the rules changed" not in html
    with client.application.test_request_context():
        filtered = client.application.jinja_env.filters["message"]
        assert (
            filtered(stale.failure_reasons[0])
            == f"aturan berubah (usulan memakai versi {used}, kini {now})"
        )


def test_reasons_kept_as_text_before_they_were_data_are_still_shown(actors, logged_in, month):
    run = MatchRun(
        month=month,
        status=RunStatus.STALE,
        rule_version=current_rules().version,
        failure="pledge #1 is on hold (a card dispute); 2 placed worker(s) are no longer eligible",
    )
    db.session.add(run)
    db.session.flush()
    assert run.failure_reasons == [
        "pledge #1 is on hold (a card dispute)",
        "2 placed worker(s) are no longer eligible",
    ]
    html = _text(logged_in(actors.staff).get(f"/matching/runs/{run.id}"))
    assert "<li>pledge #1 is on hold (a card dispute)</li>" in html
    assert "<li>2 placed worker(s) are no longer eligible</li>" in html


def test_same_approver_is_refused_and_the_run_stays_open(actors, logged_in, month):
    builders.rules(city_quotas={}, require_second_approver=True)
    pledge, run = _proposal(actors, month)
    client = logged_in(actors.staff)
    response = client.post(
        f"/matching/runs/{run.id}/approve",
        follow_redirects=True,
        data={"csrf_token": csrf_token(client, "/matching/")},
    )
    assert "different staff member" in _text(response)
    db.session.expire_all()
    assert db.session.get(MatchRun, run.id).status == RunStatus.PROPOSED
    assert _coverage_rows(pledge.id) == 0


def test_discard_closes_the_run_and_it_cannot_be_approved(actors, logged_in, month, no_city_quota):
    pledge, run = _proposal(actors, month)
    client = logged_in(actors.staff)
    assert _post(client, f"/matching/runs/{run.id}/discard").status_code == 302
    db.session.expire_all()
    assert db.session.get(MatchRun, run.id).status == RunStatus.DISCARDED
    response = client.post(
        f"/matching/runs/{run.id}/approve",
        follow_redirects=True,
        data={"csrf_token": csrf_token(client, "/matching/")},
    )
    assert "not approved" in _text(response)
    assert _coverage_rows(pledge.id) == 0


def test_auditors_see_runs_but_cannot_act(actors, logged_in, month, no_city_quota):
    _, run = _proposal(actors, month)
    client = logged_in(actors.auditor)
    index = _text(client.get("/matching/"))
    assert f'data-run="{run.id}"' in index and 'id="propose"' not in index
    page = client.get(f"/matching/runs/{run.id}")
    assert page.status_code == 200 and 'id="approve"' not in _text(page)
    token = csrf_token(client, "/matching/")
    for path in (
        "/matching/runs",
        f"/matching/runs/{run.id}/approve",
        f"/matching/runs/{run.id}/discard",
    ):
        assert (
            client.post(path, data={"csrf_token": token, "month": month.isoformat()}).status_code
            == 403
        )
    db.session.expire_all()
    assert db.session.get(MatchRun, run.id).status == RunStatus.PROPOSED


def test_sponsors_cannot_see_matching_or_rules(actors, logged_in, month, no_city_quota):
    _, run = _proposal(actors, month)
    client = logged_in(actors.owner)
    for path in (
        "/matching/",
        f"/matching/runs/{run.id}",
        "/matching/rules",
        "/matching/rules/edit",
    ):
        assert client.get(path).status_code == 403


# Rules ------------------------------------------------------------------------------------


def test_rules_page_shows_the_parameters_and_history(actors, logged_in):
    builders.rules(
        actors.admin,
        city_quotas={"2026": {"apbd": 7_500, "dbhcht": 1_000}},
        dbhcht_categories=["petani"],
        category_weights={"becak": 7},
    )
    html = _text(logged_in(actors.auditor).get("/matching/rules"))
    quota = re.search(r'<tr data-year="2026">(.*?)</tr>', html, re.S).group(1)
    assert "7,500" in quota and "1,000" in quota
    assert re.search(r'id="dbhcht-categories">.*Farmer</p>', html, re.S)
    becak = re.search(r'<tr data-category="becak">(.*?)</tr>', html, re.S).group(1)
    assert "Pedicab driver" in becak and ">7<" in becak
    assert "64 years 11 months" in html
    assert actors.admin.full_name in html  # who made the newest version
    assert 'id="edit-rules"' not in html


def test_admin_changes_the_rules_and_sees_the_new_version(actors, logged_in):
    year = date.today().year
    builders.rules(city_quotas={"2020": {"apbd": 11, "dbhcht": 2}})
    before = current_rules().version
    client = logged_in(actors.admin)
    form = client.get("/matching/rules/edit")
    assert form.status_code == 200
    data = _rules_input(
        apbd_this="8000", dbhcht_next="1200", weight_becak="9", note="Anggaran perubahan 2026"
    )
    response = client.post(
        "/matching/rules/edit",
        data={"csrf_token": csrf_token(client, "/matching/rules/edit"), **data},
    )
    assert response.status_code == 302
    rules = current_rules()
    assert rules.version == before + 1
    assert rules.city_quotas[str(year)] == {"apbd": 8_000, "dbhcht": 0}
    assert rules.city_quotas[str(year + 1)] == {"apbd": 0, "dbhcht": 1_200}
    assert rules.city_quotas["2020"] == {"apbd": 11, "dbhcht": 2}  # other years kept
    assert rules.weight("becak") == 9 and rules.dbhcht_categories == ("petani",)
    assert rules.require_second_approver is True and rules.renewal_notice_days == 21
    page = _text(client.get("/matching/rules"))
    assert "8,000" in page and "Anggaran perubahan 2026" in page
    assert actors.admin.full_name in page


def _rules_input(**overrides: str) -> dict[str, object]:
    """A complete edit form: no quota, DBHCHT for farmers, weight 1 everywhere, a note."""
    data: dict[str, object] = {
        "apbd_this": "0",
        "dbhcht_this": "0",
        "apbd_next": "0",
        "dbhcht_next": "0",
        "dbhcht_categories": ["petani"],
        "require_second_approver": "y",
        "renewal_notice_days": "21",
        "lapse_window_days": "60",
        "note": "Perubahan uji",
    }
    data |= {f"weight_{code}": "1" for code in db.session.scalars(select(Category.code))}
    return data | overrides


def test_staff_cannot_change_the_rules(actors, logged_in):
    client = logged_in(actors.staff)
    assert client.get("/matching/rules").status_code == 200
    assert client.get("/matching/rules/edit").status_code == 403
    before = current_rules().version
    response = client.post(
        "/matching/rules/edit",
        data={"csrf_token": csrf_token(client, "/matching/"), **_rules_input()},
    )
    assert response.status_code == 403
    assert current_rules().version == before


def test_invalid_rules_input_keeps_the_form_with_an_error(actors, logged_in):
    before = current_rules().version
    client = logged_in(actors.admin)
    response = client.post(
        "/matching/rules/edit",
        data={
            "csrf_token": csrf_token(client, "/matching/rules/edit"),
            **_rules_input(weight_becak="12", apbd_this="4321", note="Salah ketik bobot"),
        },
    )
    html = _text(response)
    assert response.status_code == 400
    assert re.search(r'id="weight_becak"[^>]*is-invalid|is-invalid[^>]*id="weight_becak"', html)
    assert 'value="4321"' in html and "Salah ketik bobot" in html
    assert current_rules().version == before


def test_rules_the_service_refuses_are_reported_and_the_input_kept(actors, logged_in):
    builders.rules(city_quotas={"1999": {"apbd": 5, "dbhcht": 0}})  # stored before the check
    before = current_rules().version
    client = logged_in(actors.admin)
    response = client.post(
        "/matching/rules/edit",
        data={
            "csrf_token": csrf_token(client, "/matching/rules/edit"),
            **_rules_input(apbd_next="777", note="Kuota tahun depan"),
        },
    )
    html = _text(response)
    assert response.status_code == 200
    assert "The rules were not changed" in html and "is not a year" in html
    assert 'value="777"' in html and "Kuota tahun depan" in html
    assert db.session.scalar(select(func.max(RuleVersion.id))) == before


# What the sponsor sees --------------------------------------------------------------------


def test_sponsor_sees_placement_counts_never_who(actors, logged_in, month, no_city_quota, outbox):
    company = db.session.get(factories.Company, actors.owner.company_id)
    workers = [
        factories.worker(category_code="ojek", full_name="Joko Susilo"),
        factories.worker(
            category_code="pkl", full_name="Sri Rahayu", kelurahan_code="33.74.02.1001"
        ),
    ]
    pledge = builders.paid_pledge(company, workers=2, months=3, start=month)
    owner = logged_in(actors.owner)
    before = _text(owner.get(f"/pledges/{pledge.id}"))
    assert 'id="placement-pending"' in before and 'id="placement"' not in before

    run = services.propose_run(month, actors.staff)
    services.approve_run(run, actors.staff2)
    html = _text(owner.get(f"/pledges/{pledge.id}"))
    # Two workers are a small group: the sponsor sees "<5", never the exact count.
    assert 'data-count="workers-placed">&lt;5<' in html
    assert 'data-count="placed-months">&lt;5<' in html and 'data-count="paid-months">6<' in html
    period = re.search(r'id="coverage-period">(.*?)</dd>', html).group(1)
    last = add_months(month, 2)
    assert f"{month:%B %Y}" in period and f"{last:%B %Y}" in period
    by_category = re.search(r'id="placed-by-category">(.*?)</table>', html, re.S).group(1)
    assert "Pengemudi ojek" in by_category and "Pedagang kaki lima" in by_category
    by_kecamatan = re.search(r'id="placed-by-kecamatan">(.*?)</table>', html, re.S).group(1)
    assert "Semarang Tengah" in by_kecamatan and "Semarang Utara" in by_kecamatan
    for worker in workers:
        assert worker.full_name not in html
        assert worker.nik_masked not in html
        assert current_cipher().decrypt(worker.nik_encrypted) not in html

    staff_page = _text(logged_in(actors.staff).get(f"/staff/pledges/{pledge.id}"))
    assert 'data-count="workers-placed">&lt;5<' in staff_page
    assert "Joko Susilo" not in staff_page
