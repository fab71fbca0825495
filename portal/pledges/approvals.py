"""Approvals inside a company: owners set whether pledges need an owner's approval (and a
second owner's above an amount); a member drafts and asks, owners approve, and the pledge is
committed for payment only once enough owners have. Every step is audited and shown on the
pledge."""

from __future__ import annotations

from sqlalchemy import delete, func, select

from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.extensions import db
from portal.mail import queue_mail
from portal.pledges.exceptions import IllegalPledgeTransition, NotAnOwner
from portal.pledges.models import Pledge, PledgeApproval, PledgePolicy, PledgeStatus
from portal.pledges.services import lock_pledge, submit_pledge, transition_pledge


def policy_of(company_id: int) -> PledgePolicy | None:
    return db.session.get(PledgePolicy, company_id)


def set_policy(
    company_id: int, actor: User, required: bool, second_above: int | None
) -> PledgePolicy:
    """Raises NotAnOwner."""
    _check_owner(actor, company_id)
    policy = policy_of(company_id) or PledgePolicy(company_id=company_id)
    before = {
        "approval_required": bool(policy.approval_required),
        "second_approval_above": policy.second_approval_above,
    }
    policy.approval_required = required
    policy.second_approval_above = second_above if required else None
    policy.updated_by_id = actor.id
    db.session.add(policy)
    db.session.flush()
    record_event(
        "pledge.policy",
        actor=actor,
        company_id=company_id,
        before=before,
        after={"approval_required": required, "second_approval_above": second_above},
    )
    return policy


def approvals_needed(pledge: Pledge) -> int:
    """0 when the company commits without approval; else 1, or 2 above its amount."""
    policy = policy_of(pledge.company_id)
    if policy is None or not policy.approval_required:
        return 0
    above = policy.second_approval_above
    return 2 if above is not None and pledge.price_total > above else 1


def approvers(pledge_id: int) -> list[tuple[str, object]]:
    """(name, when) of the owners who approved, in order."""
    return [
        (str(name), when)
        for name, when in db.session.execute(
            select(User.full_name, PledgeApproval.approved_at)
            .join(User, User.id == PledgeApproval.approver_id)
            .where(PledgeApproval.pledge_id == pledge_id)
            .order_by(PledgeApproval.approved_at, PledgeApproval.id)
        )
    ]


def commit_pledge(pledge: Pledge, company: Company, actor: User) -> str:
    """Commit a draft, or approve one waiting, under the company's rule. Returns what
    happened: "committed" (awaiting payment), "asked" (a member asked the owners),
    "approved" (an owner approved; another owner must too).
    Raises CompanyNotVerified, IllegalPledgeTransition, InvalidPledge, NoRateInForce."""
    lock_pledge(pledge.id)  # two owners approving at once: the second sees the first
    needed = approvals_needed(pledge)
    if needed == 0:
        submit_pledge(pledge, company, actor)
        return "committed"
    if not _is_owner(actor, pledge.company_id):
        if pledge.status != PledgeStatus.DRAFT:
            raise IllegalPledgeTransition(pledge.status, "ask for approval")
        transition_pledge(pledge, PledgeStatus.AWAITING_APPROVAL, actor, note="asked owners")
        _tell_owners(pledge, actor)
        return "asked"
    if pledge.status not in (PledgeStatus.DRAFT, PledgeStatus.AWAITING_APPROVAL):
        raise IllegalPledgeTransition(pledge.status, "approve")
    if not _approved_by(pledge.id, actor.id):
        db.session.add(PledgeApproval(pledge_id=pledge.id, approver_id=actor.id))
        db.session.flush()
        record_event("pledge.approve", pledge, actor=actor, company_id=pledge.company_id)
    if _approval_count(pledge.id) >= needed:
        submit_pledge(pledge, company, actor)
        return "committed"
    if pledge.status == PledgeStatus.DRAFT:
        transition_pledge(pledge, PledgeStatus.AWAITING_APPROVAL, actor, note="second owner")
        _tell_owners(pledge, actor)
    return "approved"


def send_back(pledge: Pledge, actor: User, note: str) -> None:
    """An owner (or the member who asked) returns a waiting pledge to draft; its approvals
    are dropped, since the draft may change. Raises IllegalPledgeTransition."""
    lock_pledge(pledge.id)
    if pledge.status != PledgeStatus.AWAITING_APPROVAL:
        raise IllegalPledgeTransition(pledge.status, "send back")
    db.session.execute(delete(PledgeApproval).where(PledgeApproval.pledge_id == pledge.id))
    transition_pledge(pledge, PledgeStatus.DRAFT, actor, note=note or "sent back")


def _approved_by(pledge_id: int, user_id: int) -> bool:
    return (
        db.session.scalar(
            select(PledgeApproval.id).where(
                PledgeApproval.pledge_id == pledge_id, PledgeApproval.approver_id == user_id
            )
        )
        is not None
    )


def _approval_count(pledge_id: int) -> int:
    return int(
        db.session.scalar(
            select(func.count(func.distinct(PledgeApproval.approver_id))).where(
                PledgeApproval.pledge_id == pledge_id
            )
        )
        or 0
    )


def _is_owner(user: User, company_id: int) -> bool:
    return user.company_id == company_id and Role(user.role) == Role.SPONSOR_OWNER


def _check_owner(user: User, company_id: int) -> None:
    if not _is_owner(user, company_id):
        raise NotAnOwner(user.email)


def _tell_owners(pledge: Pledge, actor: User) -> None:
    owners = db.session.scalars(
        select(User).where(
            User.company_id == pledge.company_id,
            User.role == Role.SPONSOR_OWNER,
            User.active.is_(True),
            User.id != actor.id,
        )
    )
    for owner in owners:
        queue_mail(
            db.session,
            owner.email,
            "PIJAR SEMAR: ikrar menunggu persetujuan",
            "emails/pledge_approval.txt",
            pledge=pledge,
            user=owner,
            asked_by=actor.full_name,
        )
