"""Login, logout, sessions, passwords and redirects: the security baseline for accounts."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from portal.audit.models import AuditEvent
from portal.auth import passwords
from portal.auth.models import Role, UserSession
from portal.auth.services import make_password_token, set_password
from portal.db import utcnow
from portal.extensions import db
from tests import factories
from tests.conftest import PASSWORD, csrf_token, english, login


def _audit_count(action: str) -> int:
    return db.session.scalar(select(func.count()).where(AuditEvent.action == action))


def test_login_starts_a_server_side_session_and_lands_on_the_role_page(client, actors):
    response = login(client, actors.staff.email)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/home")
    assert client.get("/home").headers["Location"].endswith("/staff/companies")
    live = db.session.scalar(
        select(func.count()).where(
            UserSession.user_id == actors.staff.id, UserSession.revoked_at.is_(None)
        )
    )
    assert live == 1
    assert _audit_count("auth.login") == 1


def test_wrong_password_and_unknown_email_get_the_same_generic_answer(client, actors):
    wrong = login(client, actors.staff.email, "not-the-password").get_data(as_text=True)
    unknown = login(client, "nobody@example.com", "whatever").get_data(as_text=True)
    for html in (wrong, unknown):
        assert "Wrong e-mail or password." in html
    assert _audit_count("auth.login_failed") == 2


def test_disabled_account_cannot_log_in(client):
    user = factories.user(Role.STAFF, active=False)
    response = login(client, user.email)
    assert response.status_code == 200
    assert "Wrong e-mail or password." in response.get_data(as_text=True)


def test_cookie_copied_before_logout_is_refused_after_it(app, actors, logged_in):
    client = logged_in(actors.admin)
    stolen = client.get_cookie("pijar_session").value
    assert client.get("/admin/accounts").status_code == 200
    client.post("/auth/logout", data={"csrf_token": csrf_token(client, "/admin/accounts")})
    replay = english(app.test_client())
    replay.set_cookie("pijar_session", stolen)
    response = replay.get("/admin/accounts")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]


def test_password_change_ends_every_session(app, actors, logged_in):
    client = logged_in(actors.staff)
    set_password(actors.staff, "Tugu-Muda-Lawang-Sewu-Simpang-Lima")
    db.session.commit()
    assert client.get("/staff/companies").status_code == 302


def test_disabling_an_account_ends_its_sessions(app, actors, logged_in):
    staff_client = logged_in(actors.staff)
    admin_client = logged_in(actors.admin)
    token = csrf_token(admin_client, "/admin/accounts")
    response = admin_client.post(
        f"/admin/accounts/{actors.staff.id}/active", data={"csrf_token": token}
    )
    assert response.status_code == 302
    assert staff_client.get("/staff/companies").status_code == 302


def test_idle_session_expires_after_thirty_minutes(app, actors, logged_in):
    client = logged_in(actors.staff)
    db.session.execute(update(UserSession).values(last_seen_at=utcnow() - timedelta(minutes=31)))
    assert client.get("/staff/companies").status_code == 302


def test_session_expires_after_twelve_hours_even_when_active(app, actors, logged_in):
    client = logged_in(actors.staff)
    started = utcnow() - timedelta(hours=12, seconds=1)
    db.session.execute(update(UserSession).values(created_at=started))
    assert client.get("/staff/companies").status_code == 302


def test_login_gives_a_new_session_and_drops_what_was_there(client, actors):
    with client.session_transaction() as session:
        session["planted"] = "by-attacker"
    login(client, actors.staff.email)
    with client.session_transaction() as session:
        assert "planted" not in session


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example",
        "http:evil.example",
        "%2F%2Fevil.example",
        "javascript:alert(1)",
        "/%5Cevil.example",
        "///evil.example",
        "/\t/evil.example",
    ],
)
def test_next_parameter_never_leaves_the_site(client, actors, target):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={
            "email": actors.staff.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": target,
        },
    )
    location = response.headers["Location"]
    assert location.startswith("/") and not location.startswith("//")
    assert "evil" not in location and "javascript" not in location


def test_next_parameter_keeps_a_local_path(client, actors):
    token = csrf_token(client)
    response = client.post(
        "/auth/login",
        data={
            "email": actors.admin.email,
            "password": PASSWORD,
            "csrf_token": token,
            "next": "/audit?action=company.",
        },
    )
    assert response.headers["Location"] == "/audit?action=company."


def test_login_without_csrf_token_is_refused_and_starts_no_session(client, actors):
    response = client.post("/auth/login", data={"email": actors.staff.email, "password": PASSWORD})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count(UserSession.id))) == 0


def test_login_rate_limit_per_account(client, actors):
    for _ in range(5):
        login(client, actors.staff.email, "wrong-password")
    response = login(client, actors.staff.email)
    assert response.status_code == 429


def test_passwords_are_argon2id_with_owasp_parameters():
    stored = passwords.hash_password("Tugu-Muda-Lawang-Sewu-Simpang-Lima")
    assert stored.startswith("$argon2id$")
    params = dict(re.findall(r"([mtp])=(\d+)", stored))
    assert int(params["m"]) >= 19 * 1024 and int(params["t"]) >= 2


@pytest.mark.parametrize(
    "password,problem",
    [
        ("short-pass-1", "too_short"),
        ("passwordpassword", "too_common"),
        ("aaaaaaaaaaaaaaaaaaaa", "too_common"),
        ("x" * 300, "too_long"),
    ],
)
def test_weak_passwords_are_refused(password, problem):
    assert problem in passwords.password_problems(password, 15, ["user@example.com"])


def test_long_passwords_are_accepted_and_not_truncated():
    long_password = "Kali-Garang-" * 20  # 240 characters
    assert passwords.password_problems(long_password, 15, []) == []
    stored = passwords.hash_password(long_password)
    assert passwords.verify_password(stored, long_password)
    assert not passwords.verify_password(stored, long_password[:-1])


def test_password_reset_link_sets_a_password_once(client, actors, outbox):
    client.post(
        "/auth/forgot",
        data={"email": actors.member.email, "csrf_token": csrf_token(client, "/auth/forgot")},
    )
    assert len(outbox) == 1
    path = re.search(r"(/auth/password/\S+)", outbox[0].body).group(1)
    new_password = "Jembatan-Berok-Kota-Lama-88"
    token = csrf_token(client, path)
    response = client.post(
        path, data={"password": new_password, "confirm": new_password, "csrf_token": token}
    )
    assert response.status_code == 302
    assert login(client, actors.member.email, new_password).status_code == 302
    reused = english(client.application.test_client()).get(path)
    assert reused.status_code == 302 and "/auth/forgot" in reused.headers["Location"]


def test_forgot_password_for_unknown_address_sends_nothing_and_says_the_same(client, outbox):
    response = client.post(
        "/auth/forgot",
        data={"email": "nobody@example.com", "csrf_token": csrf_token(client, "/auth/forgot")},
    )
    assert response.status_code == 302
    assert outbox == []


def test_weak_password_on_reset_is_refused_with_a_reason(client, actors):
    path = f"/auth/password/{make_password_token(actors.member)}"
    token = csrf_token(client, path)
    response = client.post(
        path, data={"password": "short", "confirm": "short", "csrf_token": token}
    )
    assert response.status_code == 200
    assert "Use at least 15 characters." in response.get_data(as_text=True)
