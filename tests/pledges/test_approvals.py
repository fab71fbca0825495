"""Approvals inside a company: a member drafts and asks, an owner approves (a second owner
above the amount the company sets) before the pledge is committed for payment; recorded in
the audit trail and shown on the pledge."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import Role
from portal.companies.models import Company
from portal.extensions import db
from portal.pledges import approvals
from portal.pledges.exceptions import IllegalPledgeTransition, NotAnOwner
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.services import PledgeTerms, create_pledge, earliest_start
from tests import factories
from tests.conftest import csrf_token


def _company(actors) -> Company:  # type: ignore[no-untyped-def]
    return db.session.get_one(Company, actors.owner.company_id)


def _draft(actors, workers: int = 2, by=None) -> Pledge:  # type: ignore[no-untyped-def]
    return create_pledge(
        _company(actors), by or actors.member, PledgeTerms(workers, 3, earliest_start())
    )


def _actions(pledge_id: int) -> list[str]:
    return list(
        db.session.scalars(
            select(AuditEvent.action)
            .where(AuditEvent.object_type == "pledge", AuditEvent.object_id == str(pledge_id))
            .order_by(AuditEvent.id)
        )
    )


def test_without_a_rule_anyone_commits(actors):
    pledge = _draft(actors)
    assert approvals.commit_pledge(pledge, _company(actors), actors.member) == "committed"
    assert pledge.status == PledgeStatus.AWAITING_PAYMENT


def test_a_member_cannot_commit_a_pledge_that_needs_approval(actors, outbox):
    approvals.set_policy(actors.owner.company_id, actors.owner, True, None)
    pledge = _draft(actors)
    assert approvals.commit_pledge(pledge, _company(actors), actors.member) == "asked"
    assert pledge.status == PledgeStatus.AWAITING_APPROVAL
    with pytest.raises(IllegalPledgeTransition):  # asking again, or committing, does nothing
        approvals.commit_pledge(pledge, _company(actors), actors.member)
    assert pledge.status == PledgeStatus.AWAITING_APPROVAL
    db.session.commit()
    assert [m.to[0] for m in outbox] == [actors.owner.email]
    assert approvals.commit_pledge(pledge, _company(actors), actors.owner) == "committed"
    assert pledge.status == PledgeStatus.AWAITING_PAYMENT
    assert [name for name, _ in approvals.approvers(pledge.id)] == [actors.owner.full_name]
    assert "pledge.approve" in _actions(pledge.id)


def test_above_the_amount_two_different_owners_must_approve(actors):
    second = factories.user(Role.SPONSOR_OWNER, company=_company(actors))
    approvals.set_policy(actors.owner.company_id, actors.owner, True, 100_000)
    small, large = _draft(actors, workers=1), _draft(actors, workers=5)
    assert small.price_total <= 100_000 < large.price_total
    assert approvals.commit_pledge(small, _company(actors), actors.owner) == "committed"
    assert approvals.commit_pledge(large, _company(actors), actors.owner) == "approved"
    assert large.status == PledgeStatus.AWAITING_APPROVAL
    assert approvals.commit_pledge(large, _company(actors), actors.owner) == "approved"  # again
    assert large.status == PledgeStatus.AWAITING_APPROVAL  # the same owner twice is one
    assert approvals.commit_pledge(large, _company(actors), second) == "committed"
    assert large.status == PledgeStatus.AWAITING_PAYMENT


def test_sending_back_drops_the_approvals(actors):
    second = factories.user(Role.SPONSOR_OWNER, company=_company(actors))
    approvals.set_policy(actors.owner.company_id, actors.owner, True, 0)
    pledge = _draft(actors)
    approvals.commit_pledge(pledge, _company(actors), actors.owner)
    approvals.send_back(pledge, second, "kurangi jumlah pekerja")
    assert pledge.status == PledgeStatus.DRAFT and approvals.approvers(pledge.id) == []
    with pytest.raises(IllegalPledgeTransition):
        approvals.send_back(pledge, second, "")


def test_only_owners_set_the_rule(actors):
    with pytest.raises(NotAnOwner):
        approvals.set_policy(actors.owner.company_id, actors.member, True, None)
    with pytest.raises(NotAnOwner):
        approvals.set_policy(actors.owner.company_id, actors.other_owner, True, None)


def test_the_pages_member_asks_owner_sets_the_rule_and_approves(actors, logged_in):
    owner, member = logged_in(actors.owner), logged_in(actors.member)
    rule = owner.post(
        "/pledges/approvals",
        data={"csrf_token": csrf_token(owner, "/pledges/approvals"), "approval_required": "y"},
    )
    assert rule.status_code == 302
    assert member.get("/pledges/approvals").status_code == 403
    pledge = _draft(actors)
    db.session.commit()
    page = f"/pledges/{pledge.id}"
    html = member.get(page).get_data(as_text=True)
    assert "Ask an owner to approve" in html
    member.post(f"{page}/submit", data={"csrf_token": csrf_token(member, page)})
    html = member.get(page).get_data(as_text=True)
    assert 'id="awaiting-approval"' in html and 'id="approve-pledge"' not in html
    html = owner.get(page).get_data(as_text=True)
    assert 'id="approve-pledge"' in html
    owner.post(f"{page}/submit", data={"csrf_token": csrf_token(owner, page)})
    db.session.expire_all()
    assert db.session.get_one(Pledge, pledge.id).status == PledgeStatus.AWAITING_PAYMENT
    assert actors.owner.full_name in owner.get(page).get_data(as_text=True)
    assert _actions(pledge.id)[-3:] == [
        "pledge.awaiting_approval",
        "pledge.approve",
        "pledge.awaiting_payment",
    ]


def test_another_company_cannot_approve_or_send_back(actors, logged_in):
    approvals.set_policy(actors.owner.company_id, actors.owner, True, None)
    pledge = _draft(actors)
    approvals.commit_pledge(pledge, _company(actors), actors.member)
    db.session.commit()
    other = logged_in(actors.other_owner)
    token = csrf_token(other, "/pledges")
    assert other.post(f"/pledges/{pledge.id}/submit", data={"csrf_token": token}).status_code == 404
    assert (
        other.post(f"/pledges/{pledge.id}/send-back", data={"csrf_token": token}).status_code == 404
    )
    assert db.session.get_one(Pledge, pledge.id).status == PledgeStatus.AWAITING_APPROVAL
