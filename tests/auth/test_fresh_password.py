"""Sensitive actions need a password given within the last 5 minutes: approving a match run,
refunding, settling a payment issue, returning unused money, changing the rules, exporting
personal data. A form sent on an older login is not acted on."""

from __future__ import annotations

import time

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from portal.coverage.models import Coverage
from portal.extensions import db
from portal.matching import services as matching
from portal.matching.models import MatchRun, RunStatus
from portal.matching.rules import current_rules
from portal.payments.models import Refund
from portal.pledges.services import earliest_start
from tests import factories
from tests.conftest import PASSWORD, csrf_token
from tests.matching import builders


def _stale(client: FlaskClient, minutes: int = 6) -> None:
    with client.session_transaction() as session:
        session["auth_at"] = int(time.time()) - minutes * 60


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def test_a_login_of_four_minutes_is_fresh_enough_and_six_is_not(app, actors, logged_in):
    assert app.config["RECENT_LOGIN_MINUTES"] == 5
    client = logged_in(actors.staff)
    _stale(client, 4)
    assert client.get("/staff/workers/export.csv").status_code == 200
    _stale(client, 6)
    assert "/auth/confirm" in client.get("/staff/workers/export.csv").headers["Location"]


def test_approval_on_a_stale_login_writes_nothing_and_comes_back_to_the_run(actors, logged_in):
    builders.rules(city_quotas={})
    month = earliest_start()
    factories.worker()
    builders.paid_pledge(builders.sponsor(), workers=1, months=2, start=month)
    run = matching.propose_run(month, actors.staff)
    client = logged_in(actors.staff)
    page = f"/matching/runs/{run.id}"
    token = csrf_token(client, page)
    _stale(client)
    response = client.post(
        f"{page}/approve",
        data={"csrf_token": token},
        headers={"Referer": f"http://localhost{page}"},
    )
    assert response.status_code == 302
    assert response.headers["Location"] == f"/auth/confirm?next={page}"
    db.session.expire_all()
    assert db.session.get_one(MatchRun, run.id).approval_requested_at is None
    assert _count(Coverage) == 0
    confirm = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "send the form again" in confirm
    back = client.post(
        response.headers["Location"],
        data={
            "csrf_token": csrf_token(client, "/auth/confirm"),
            "password": PASSWORD,
            "next": page,
        },
    )
    assert back.headers["Location"] == page
    client.post(f"{page}/approve", data={"csrf_token": csrf_token(client, page)})
    db.session.expire_all()
    assert db.session.get_one(MatchRun, run.id).status == RunStatus.APPROVED


def test_a_foreign_referrer_is_never_the_way_back(actors, logged_in):
    client = logged_in(actors.staff)
    token = csrf_token(client, "/matching/")
    _stale(client)
    response = client.post(
        "/matching/runs/1/approve",
        data={"csrf_token": token},
        headers={"Referer": "https://evil.example/phish"},
    )
    assert response.headers["Location"] == "/auth/confirm?next=/home"


@pytest.mark.parametrize(
    "path",
    [
        "/staff/pledges/1/refund",
        "/staff/payment-issues/1",
        "/matching/rules/edit",
        "/admin/region",
    ],
)
def test_money_and_rule_actions_ask_for_the_password_first(actors, logged_in, path):
    client = logged_in(actors.admin)
    token = csrf_token(client, "/auth/confirm")
    _stale(client)
    response = client.post(path, data={"csrf_token": token, "reason": "uji coba refund"})
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    assert _count(Refund) == 0
    version = current_rules().version
    assert client.get("/matching/rules/edit").status_code == 302
    assert current_rules().version == version


def test_a_sponsor_returning_unused_money_confirms_the_password(actors, logged_in):
    client = logged_in(actors.owner)
    token = csrf_token(client, "/auth/confirm")
    _stale(client)
    response = client.post("/pledges/1/unused/return", data={"csrf_token": token})
    assert response.status_code == 302 and "/auth/confirm" in response.headers["Location"]
    assert _count(Refund) == 0
