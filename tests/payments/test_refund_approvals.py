"""Two people for a large refund: above the rules' amount a staff refund waits for a second
staff member; smaller ones are booked at once."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from portal.extensions import db
from portal.ledger.queries import pledge_balance
from portal.payments import refund_approvals
from portal.payments.exceptions import RefundWaiting, SameRefundApprover
from portal.payments.models import Refund, RefundApproval, RefundApprovalStatus
from portal.pledges.services import earliest_start
from tests.conftest import csrf_token
from tests.matching import builders


def _refunds() -> int:
    return db.session.scalar(select(func.count(Refund.id))) or 0


@pytest.fixture
def large(actors):  # type: ignore[no-untyped-def]
    """A paid pledge of 10 workers for 3 months (Rp504.000), above a Rp100.000 threshold."""
    builders.rules(refund_second_approver_above=100_000)
    return builders.paid_pledge(builders.sponsor(), workers=10, months=3, start=earliest_start())


def test_a_refund_under_the_amount_is_booked_at_once(actors):
    builders.rules(refund_second_approver_above=1_000_000)
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=3, start=earliest_start())
    booked = refund_approvals.ask_refund(pledge, actors.staff, "sponsor withdrew")
    assert isinstance(booked, list) and sum(r.amount for r in booked) == pledge.price_total


def test_a_large_refund_waits_for_a_different_staff_member(actors, large):
    asked = refund_approvals.ask_refund(large, actors.staff, "sponsor withdrew")
    assert isinstance(asked, RefundApproval) and asked.amount == large.price_total
    assert _refunds() == 0 and pledge_balance(large.id) == large.price_total
    with pytest.raises(RefundWaiting):
        refund_approvals.ask_refund(large, actors.staff2, "again")
    with pytest.raises(SameRefundApprover):
        refund_approvals.approve_refund(asked, actors.staff)
    booked = refund_approvals.approve_refund(asked, actors.staff2)
    assert sum(r.amount for r in booked) == large.price_total
    assert asked.status == RefundApprovalStatus.APPROVED and asked.decided_by_id == actors.staff2.id
    with pytest.raises(RefundWaiting):  # decided once
        refund_approvals.approve_refund(asked, actors.staff2)


def test_a_declined_refund_moves_nothing(actors, large):
    asked = refund_approvals.ask_refund(large, actors.staff, "sponsor withdrew")
    refund_approvals.decline_refund(asked, actors.staff2, "sponsor changed their mind")
    assert asked.status == RefundApprovalStatus.DECLINED and _refunds() == 0
    assert refund_approvals.waiting_for(large.id) is None


def test_the_pages_ask_then_a_second_staff_member_approves(actors, logged_in, large):
    page = f"/staff/pledges/{large.id}"
    first, second = logged_in(actors.staff), logged_in(actors.staff2)
    first.post(
        f"{page}/refund",
        data={"csrf_token": csrf_token(first, page), "reason": "sponsor withdrew"},
    )
    assert _refunds() == 0
    html = first.get(page).get_data(as_text=True)
    assert 'id="refund-waiting"' in html and 'id="approve-refund"' not in html
    html = second.get(page).get_data(as_text=True)
    assert 'id="approve-refund"' in html
    request_id = refund_approvals.waiting_for(large.id).id
    second.post(
        f"/staff/refund-approvals/{request_id}",
        data={"csrf_token": csrf_token(second, page), "action": "approve"},
    )
    assert _refunds() >= 1
    assert db.session.get_one(RefundApproval, request_id, populate_existing=True).status == (
        RefundApprovalStatus.APPROVED
    )
