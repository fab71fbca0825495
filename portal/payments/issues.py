"""Money matters a person must decide: over- and under-payments, refunds the ledger cannot
book, card disputes and requests to return transfer money. Opened by the services that meet
them, resolved by staff with a note; never deleted."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.db import utcnow
from portal.extensions import db
from portal.messages import Message, as_text
from portal.payments.exceptions import IssueClosed
from portal.payments.models import IssueKind, IssueStatus, Payment, PaymentIssue
from portal.pledges.models import Pledge


def open_issue(
    kind: IssueKind,
    pledge: Pledge,
    payment: Payment | None,
    amount: int,
    external_id: str | None = None,
    detail: Message | str = "",
) -> PaymentIssue:
    """Record an issue; one per Stripe object (a repeated dispute event finds the first).
    The detail is kept as a message (`as_text`) and shown with the `message` filter."""
    if external_id is not None:
        found = db.session.scalar(
            select(PaymentIssue).where(PaymentIssue.external_id == external_id)
        )
        if found is not None:
            return found
    issue = PaymentIssue(
        kind=kind,
        pledge_id=pledge.id,
        company_id=pledge.company_id,
        payment_id=payment.id if payment else None,
        amount=max(amount, 0),
        external_id=external_id,
        detail=_kept(detail),
    )
    try:
        with db.session.begin_nested():
            db.session.add(issue)
    except IntegrityError:  # the same Stripe object, recorded at the same moment elsewhere
        return db.session.scalars(
            select(PaymentIssue).where(PaymentIssue.external_id == external_id)
        ).one()
    record_event(
        "payment.issue_open",
        issue,
        company_id=pledge.company_id,
        after={"kind": str(kind), "amount": issue.amount, "pledge_id": pledge.id},
    )
    return issue


def resolve_issue(issue: PaymentIssue, actor: User | None, resolution: Message | str) -> None:
    """Mark an issue resolved once. Raises IssueClosed when it is resolved already. A staff
    member's note is kept as written; the portal's own words as a message (`as_text`)."""
    if issue.status != IssueStatus.OPEN:
        raise IssueClosed(str(issue.id))
    issue.status = IssueStatus.RESOLVED
    issue.resolved_at = utcnow()
    issue.resolved_by_id = actor.id if actor else None
    issue.resolution = _kept(resolution)
    db.session.flush()
    english = resolution.english() if isinstance(resolution, Message) else resolution
    record_event(
        "payment.issue_resolve",
        issue,
        actor=actor,
        company_id=issue.company_id,
        after={"kind": str(issue.kind), "resolution": english.strip()[:2000]},
    )


def _kept(text: Message | str) -> str:
    """What goes in a text column: a message as JSON (never cut), plain text cut to fit."""
    if isinstance(text, Message):
        return as_text(text)
    return text.strip()[:2000]


def open_issues_of(pledge_id: int, kind: IssueKind | None = None) -> list[PaymentIssue]:
    stmt = select(PaymentIssue).where(
        PaymentIssue.pledge_id == pledge_id, PaymentIssue.status == IssueStatus.OPEN
    )
    if kind is not None:
        stmt = stmt.where(PaymentIssue.kind == kind)
    return list(db.session.scalars(stmt.order_by(PaymentIssue.id)))


def earmarked(pledge_id: int) -> int:
    """Unassigned money of the pledge already promised back: open over-payment and return
    request issues (so it is never rolled over or returned a second time)."""
    return int(
        db.session.scalar(
            select(func.coalesce(func.sum(PaymentIssue.amount), 0)).where(
                PaymentIssue.pledge_id == pledge_id,
                PaymentIssue.status == IssueStatus.OPEN,
                PaymentIssue.kind.in_([IssueKind.OVERPAYMENT, IssueKind.REFUND_REQUEST]),
            )
        )
        or 0
    )
