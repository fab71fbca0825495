"""Everything that waits for a person, from every domain, counted for the staff queue.

Read-only: each item names what waits, how many, and the page where it is acted on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from portal.auth.permissions import Permission
from portal.claims.models import Claim
from portal.companies.models import Company, CompanyStatus
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.matching.models import MatchRun, RunStatus
from portal.matching.queries import closed_months
from portal.payments.models import (
    IssueKind,
    IssueStatus,
    PaymentIssue,
    RefundApproval,
    RefundApprovalStatus,
)
from portal.payments.queries import unsent_card_refunds
from portal.payments.unused import waiting_for_decision
from portal.pledges.pricing import add_months


@dataclass(frozen=True)
class Item:
    key: str  # what waits (a label key)
    count: int
    endpoint: str  # where it is acted on
    args: tuple[tuple[str, str], ...] = ()
    amount: int | None = None  # rupiah, where money waits
    permission: Permission = Permission.QUEUE_READ  # what opening that page needs


CLOSE_REMINDER_DAY = 10  # last month should be closed by the 10th (as the reminder says)


def waiting_items(today: date | None = None) -> list[Item]:
    """The items with something waiting, in the order a person should look at them."""
    today = today or date.today()
    issues = {
        str(kind): int(count)
        for kind, count in db.session.execute(
            select(PaymentIssue.kind, func.count())
            .where(PaymentIssue.status == IssueStatus.OPEN)
            .group_by(PaymentIssue.kind)
        )
    }
    decisions = waiting_for_decision()
    last_month = add_months(today.replace(day=1), -1)
    items = [
        Item("queue.dispute", issues.get(IssueKind.DISPUTE, 0), "payments.issues"),
        Item("queue.overpayment", issues.get(IssueKind.OVERPAYMENT, 0), "payments.issues"),
        Item("queue.underpayment", issues.get(IssueKind.UNDERPAYMENT, 0), "payments.issues"),
        Item("queue.refund_request", issues.get(IssueKind.REFUND_REQUEST, 0), "payments.issues"),
        Item("queue.unbookable", issues.get(IssueKind.UNBOOKABLE_REFUND, 0), "payments.issues"),
        Item("queue.unsent_refunds", len(unsent_card_refunds()), "payments.issues"),
        Item(
            "queue.refund_approvals",
            _count(RefundApproval.status == RefundApprovalStatus.WAITING, model=RefundApproval),
            "payments.staff_pledges",
        ),
        Item(
            "queue.unused_money",
            len(decisions),
            "payments.staff_pledges",
            amount=sum(w.amount for w in decisions),
        ),
        Item(
            "queue.companies",
            _count(Company.status == CompanyStatus.PENDING),
            "companies.review_queue",
            permission=Permission.COMPANY_REVIEW,
        ),
        Item("queue.proposals", _proposals_waiting(), "matching.index"),
        Item(
            "queue.month_open",
            int(last_month not in closed_months() and today.day >= CLOSE_REMINDER_DAY),
            "coverage.months",
        ),
        Item(
            "queue.stories",
            _count(Claim.story != "", Claim.story_approved_at.is_(None), model=Claim),
            "claims.index",
            (("story", "pending"),),
        ),
        Item(
            "queue.failed_jobs",
            _count(OutboxEvent.status == EventStatus.FAILED, model=OutboxEvent),
            "jobs.index",
            permission=Permission.JOBS_MANAGE,
        ),
    ]
    return [item for item in items if item.count]


def total_waiting(today: date | None = None) -> int:
    return sum(item.count for item in waiting_items(today))


def _count(*where: object, model: type = Company) -> int:
    return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)  # type: ignore[arg-type]


def _proposals_waiting() -> int:
    return int(
        db.session.scalar(
            select(func.count(MatchRun.id)).where(
                MatchRun.status == RunStatus.PROPOSED, MatchRun.approval_requested_at.is_(None)
            )
        )
        or 0
    )
