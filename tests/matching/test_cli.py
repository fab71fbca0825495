"""`flask match propose / approve / discard / list`."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select

from portal.coverage.models import Coverage
from portal.extensions import db
from portal.matching.models import MatchRun, RunStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import earliest_start
from tests import factories
from tests.matching import builders


@pytest.fixture
def month():  # type: ignore[no-untyped-def]
    return earliest_start()


@pytest.fixture
def match(app):  # type: ignore[no-untyped-def]
    runner = app.test_cli_runner()
    return lambda *args: runner.invoke(args=["match", *map(str, args)])


@pytest.fixture
def paid(actors, month):  # type: ignore[no-untyped-def]
    """Three waiting workers, a pledge for two of them for three months, no city quota."""
    builders.rules(city_quotas={})
    for _ in range(3):
        factories.worker()
    return builders.paid_pledge(
        builders.sponsor("PT Lumpia Gang Lombok"), workers=2, months=3, start=month
    )


def _coverage(pledge_id: int) -> int:
    return db.session.scalar(select(func.count(Coverage.id)).where(Coverage.pledge_id == pledge_id))


def test_propose_json_has_the_run_and_its_summary(actors, month, paid, match):
    result = match("propose", "--month", f"{month:%Y-%m}", "--json", "--by", actors.staff.email)
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert set(out) == {
        "run_id",
        "month",
        "status",
        "rule_version",
        "placed",
        "coverage_rows",
        "summary",
    }
    run = db.session.get(MatchRun, out["run_id"])
    assert (out["month"], out["status"], out["placed"], out["coverage_rows"]) == (
        f"{month:%Y-%m}",
        "proposed",
        2,
        6,
    )
    assert out["rule_version"] == run.rule_version and run.proposed_by_id == actors.staff.id
    pledge_row = out["summary"]["pledges"][0]
    assert (pledge_row["id"], pledge_row["placed"], pledge_row["unfilled"]) == (paid.id, 2, 0)
    assert out["summary"]["waiting_before"] == 3 and out["summary"]["waiting_after"] == 1
    assert _coverage(paid.id) == 0


def test_propose_prints_a_summary_per_pledge(actors, month, paid, match):
    result = match("propose", "--month", f"{month:%Y-%m}")
    assert result.exit_code == 0, result.output
    assert f"pledge #{paid.id} (PT Lumpia Gang Lombok" in result.output
    assert "2 of 2 placed" in result.output
    run = db.session.scalar(select(MatchRun).order_by(MatchRun.id.desc()))
    assert run.proposed_by_id is None  # the CLI operator


def test_approve_writes_the_coverage(actors, month, paid, match, outbox):
    run_id = json.loads(match("propose", "--month", f"{month:%Y-%m}", "--json").output)["run_id"]
    result = match("approve", run_id, "--by", actors.staff2.email)
    assert result.exit_code == 0, result.output
    assert "6 coverage rows written" in result.output
    assert _coverage(paid.id) == 6
    db.session.expire_all()
    run = db.session.get(MatchRun, run_id)
    assert run.status == RunStatus.APPROVED and run.approved_by_id == actors.staff2.id
    assert db.session.get(Pledge, paid.id).status == PledgeStatus.ACTIVE
    assert "approved" in match("list").output


def test_approving_a_stale_run_exits_1_and_marks_it_stale(actors, month, paid, match):
    run_id = json.loads(match("propose", "--month", f"{month:%Y-%m}", "--json").output)["run_id"]
    worker_id = db.session.scalar(select(factories.Worker.id).order_by(factories.Worker.id))
    builders.city_coverage(worker_id, add_months(month, 1))  # two changes since the proposal
    builders.rules(city_quotas={}, renewal_notice_days=14)
    result = match("approve", run_id)
    assert result.exit_code == 1
    assert "rules changed" in result.output and "covered since the proposal" in result.output
    db.session.expire_all()
    run = db.session.get(MatchRun, run_id)
    assert run.status == RunStatus.STALE and "rules changed" in run.failure
    assert _coverage(paid.id) == 0
    assert db.session.get(Pledge, paid.id).status == PledgeStatus.PAID


def test_discard_closes_the_run(month, paid, match):
    run_id = json.loads(match("propose", "--month", f"{month:%Y-%m}", "--json").output)["run_id"]
    assert match("discard", run_id).exit_code == 0
    again = match("approve", run_id)
    assert again.exit_code != 0 and "not a proposal" in again.output
    assert _coverage(paid.id) == 0


@pytest.mark.parametrize(
    "args, message",
    [
        (("propose", "--month", "2026-13"), "not a month"),
        (("propose", "--month", "2001-01"), "not this month or next month"),
        (("approve", "999999"), "does not exist"),
    ],
)
def test_errors_exit_non_zero_with_a_message(actors, match, args, message):
    result = match(*args)
    assert result.exit_code != 0
    assert message in result.output


def test_by_must_name_staff_or_admin(actors, month, match):
    for email in (actors.owner.email, actors.auditor.email, "nobody@example.com"):
        result = match("propose", "--month", f"{month:%Y-%m}", "--by", email)
        assert result.exit_code != 0 and "no active staff or admin account" in result.output
    assert db.session.scalar(select(func.count(MatchRun.id))) == 0
