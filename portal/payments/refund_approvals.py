"""Two people for a large refund: a staff refund above the rules' amount waits until a
second staff member approves it; smaller ones are booked at once. Every step is audited."""

from __future__ import annotations

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.db import utcnow
from portal.extensions import db
from portal.matching.rules import current_rules
from portal.payments.exceptions import RefundWaiting, SameRefundApprover
from portal.payments.models import Refund, RefundApproval, RefundApprovalStatus
from portal.payments.refunds import lock_pledge, refund_pledge, refundable
from portal.pledges.models import Pledge


def waiting_for(pledge_id: int) -> RefundApproval | None:
    return db.session.scalar(
        select(RefundApproval).where(
            RefundApproval.pledge_id == pledge_id,
            RefundApproval.status == RefundApprovalStatus.WAITING,
        )
    )


def ask_refund(
    pledge: Pledge, actor: User, reason: str, bank_reference: str = ""
) -> list[Refund] | RefundApproval:
    """Refund what the pledge can return now, or, above the rules' amount, ask a second staff
    member. Raises NothingToRefund, RefundWaiting (one request at a time)."""
    lock_pledge(pledge.id)
    above = current_rules().refund_second_approver_above
    amount = refundable(pledge.id)
    if above is None or amount <= above:
        return refund_pledge(pledge, actor, reason, bank_reference)
    if waiting_for(pledge.id) is not None:
        raise RefundWaiting(str(pledge.id))
    request = RefundApproval(
        pledge_id=pledge.id,
        amount=amount,
        reason=reason.strip()[:500],
        bank_reference=bank_reference.strip()[:100],
        requested_by_id=actor.id,
    )
    db.session.add(request)
    db.session.flush()
    record_event(
        "refund.approval_requested",
        pledge,
        actor=actor,
        company_id=pledge.company_id,
        after={"request": request.id, "amount": amount, "above": above},
    )
    return request


def approve_refund(request: RefundApproval, actor: User) -> list[Refund]:
    """The second staff member books the refund (what is refundable now, which may be less
    than when it was asked). Raises SameRefundApprover, RefundWaiting (decided already),
    NothingToRefund."""
    if actor.id == request.requested_by_id:
        raise SameRefundApprover(str(request.id))
    _decide(request, actor, RefundApprovalStatus.APPROVED, "")
    pledge = db.session.get_one(Pledge, request.pledge_id)
    return refund_pledge(pledge, actor, request.reason, request.bank_reference)


def decline_refund(request: RefundApproval, actor: User, note: str) -> None:
    """Raises RefundWaiting when decided already."""
    _decide(request, actor, RefundApprovalStatus.DECLINED, note)


def _decide(request: RefundApproval, actor: User, status: RefundApprovalStatus, note: str) -> None:
    """Only one decision wins (a conditional update), audited."""
    decided = db.session.execute(
        update(RefundApproval)
        .where(
            RefundApproval.id == request.id,
            RefundApproval.status == RefundApprovalStatus.WAITING,
        )
        .values(status=status, decided_by_id=actor.id, decided_at=utcnow(), note=note[:500]),
        execution_options={"synchronize_session": False},
    )
    if decided.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        raise RefundWaiting(str(request.id))
    db.session.refresh(request)
    record_event(
        f"refund.approval_{status.value}",
        db.session.get_one(Pledge, request.pledge_id),
        actor=actor,
        after={"request": request.id, "note": note[:200]},
    )
