"""Invitation links: valid INVITATION_DAYS, one at a time, resent by the company's owner."""

from __future__ import annotations

import re
import time

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.auth.services import make_invitation_token, make_password_token, send_invitation
from portal.extensions import db
from portal.regions.scope import all_regions
from tests import factories
from tests.conftest import Actors, csrf_token, english, login

PASSWORD = "Pisang-Plenet-Wingko-Babat-21"
DAY = 86400


@pytest.fixture
def invited(actors: Actors) -> User:
    """A member of the owner's company who was invited and has not set a password."""
    member = User(
        email="baru@sejahtera.example.com",
        full_name="Anggota Baru",
        role=Role.SPONSOR_MEMBER,
        company_id=actors.owner.company_id,
    )
    db.session.add(member)
    db.session.flush()
    send_invitation(member, actor=actors.owner)
    return member


def _token_signed_ago(monkeypatch, user: User, seconds: int) -> str:  # type: ignore[no-untyped-def]
    with monkeypatch.context() as m:
        m.setattr(TimestampSigner, "get_timestamp", lambda self: int(time.time()) - seconds)
        return make_invitation_token(user)


def _accept(client, token: str):  # type: ignore[no-untyped-def]
    path = f"/auth/invitation/{token}"
    data = {"csrf_token": csrf_token(client, path), "password": PASSWORD, "confirm": PASSWORD}
    return client.post(path, data=data)


def _link(mail) -> str:  # type: ignore[no-untyped-def]
    return re.search(r"/auth/invitation/(\S+)", mail.body).group(1)


def test_a_link_six_days_old_still_works(app, invited, monkeypatch):
    client = english(app.test_client())
    response = _accept(client, _token_signed_ago(monkeypatch, invited, 6 * DAY))
    assert response.status_code == 302
    assert login(client, invited.email, PASSWORD).status_code == 302


def test_an_invitation_older_than_seven_days_is_refused_with_a_clear_page(
    app, invited, monkeypatch
):
    client = english(app.test_client())
    token = _token_signed_ago(monkeypatch, invited, 7 * DAY + 60)
    response = client.get(f"/auth/invitation/{token}")
    html = response.get_data(as_text=True)
    assert response.status_code == 410
    assert 'data-reason="expired"' in html
    assert "This invitation has expired: invitation links work for 7 days." in html
    assert "Ask the person who invited you for a new invitation." in html
    assert 'name="password"' not in html
    assert _accept(client, token).status_code == 410
    assert db.session.get(User, invited.id).password_hash is None


def test_the_number_of_days_is_a_setting(app, invited, monkeypatch):
    monkeypatch.setitem(app.config, "INVITATION_DAYS", 2)
    client = english(app.test_client())
    token = _token_signed_ago(monkeypatch, invited, 3 * DAY)
    response = client.get(f"/auth/invitation/{token}")
    assert response.status_code == 410
    assert "invitation links work for 2 days" in response.get_data(as_text=True)


def test_resending_makes_the_old_link_fail_and_the_new_one_work(
    app, actors, invited, logged_in, outbox
):
    owner = logged_in(actors.owner)
    first = _link(outbox[0])
    outbox.clear()
    page = owner.get("/company/members").get_data(as_text=True)
    assert f"/company/members/{invited.id}/invitation" in page
    assert 'data-invitation="open"' in page
    response = owner.post(
        f"/company/members/{invited.id}/invitation",
        data={"csrf_token": csrf_token(owner, "/company/members")},
    )
    assert response.status_code == 302
    assert [m.to for m in outbox] == [[invited.email]]
    second = _link(outbox[0])
    assert second != first

    visitor = english(app.test_client())
    old = visitor.get(f"/auth/invitation/{first}")
    assert old.status_code == 410 and 'data-reason="replaced"' in old.get_data(as_text=True)
    assert _accept(visitor, first).status_code == 410
    assert _accept(visitor, second).status_code == 302
    assert login(visitor, invited.email, PASSWORD).status_code == 302
    used = english(app.test_client()).get(f"/auth/invitation/{second}")
    assert used.status_code == 410 and 'data-reason="used"' in used.get_data(as_text=True)

    with all_regions():  # an owner's act on the company is national: it has no region
        events = db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.object_type == "user_account", AuditEvent.object_id == str(invited.id)
            )
            .where(AuditEvent.action.in_(["user.invite", "user.invite_again"]))
            .order_by(AuditEvent.id)
        ).all()
    assert [e.action for e in events] == ["user.invite", "user.invite_again"]
    assert events[1].actor_id == actors.owner.id
    assert events[1].before == events[0].after and events[1].company_id == invited.company_id


def test_an_expired_invitation_shows_on_the_members_page(actors, invited, logged_in):
    invited.invited_at = invited.invited_at.replace(year=invited.invited_at.year - 1)
    page = logged_in(actors.owner).get("/company/members").get_data(as_text=True)
    assert 'data-invitation="expired"' in page and "The invitation link has expired." in page


def test_a_member_cannot_resend_an_invitation(actors, invited, logged_in, outbox):
    member = logged_in(actors.member)
    outbox.clear()
    response = member.post(
        f"/company/members/{invited.id}/invitation",
        data={"csrf_token": csrf_token(member, "/company/members")},
    )
    assert response.status_code == 403
    assert outbox == []


def test_another_companys_member_cannot_be_reinvited(actors, logged_in, outbox):
    stranger = factories.user(Role.SPONSOR_MEMBER, company=factories.company())
    stranger.password_hash = None
    owner = logged_in(actors.owner)
    outbox.clear()
    response = owner.post(
        f"/company/members/{stranger.id}/invitation",
        data={"csrf_token": csrf_token(owner, "/company/members")},
    )
    assert response.status_code == 404
    assert outbox == []


def test_a_member_with_a_password_gets_no_new_invitation(actors, logged_in, outbox):
    owner = logged_in(actors.owner)
    outbox.clear()
    response = owner.post(
        f"/company/members/{actors.member.id}/invitation",
        data={"csrf_token": csrf_token(owner, "/company/members")},
        follow_redirects=True,
    )
    assert "has accepted the invitation already" in response.get_data(as_text=True)
    assert outbox == []


def test_a_forged_link_is_not_found(client):
    response = client.get("/auth/invitation/not-a-valid-token")
    assert response.status_code == 404
    assert 'data-reason="invalid"' in response.get_data(as_text=True)


def test_a_password_reset_token_is_no_invitation(client, invited):
    response = client.get(f"/auth/invitation/{make_password_token(invited)}")
    assert response.status_code == 404


def test_staff_accounts_created_by_an_admin_get_a_seven_day_invitation(
    app, actors, logged_in, outbox
):
    admin = logged_in(actors.admin)
    outbox.clear()
    admin.post(
        "/admin/accounts",
        data={
            "csrf_token": csrf_token(admin, "/admin/accounts"),
            "email": "staf.baru@semarangkota.go.id",
            "full_name": "Staf Baru",
            "role": "staff",
        },
    )
    assert "valid for 7 days" in outbox[0].body
    token = _link(outbox[0])
    assert _accept(english(app.test_client()), token).status_code == 302
