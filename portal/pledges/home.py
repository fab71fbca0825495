"""The sponsor's home: what the company's money did, and what to do next.

Read-only: it gathers the year's impact report (the same figures as the report pages, with
their small-group rule), the money waiting for a decision, the pledges ending soon and the
actions waiting for the company."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.certificates.models import Certificate
from portal.companies.models import Company
from portal.coverage.models import Coverage
from portal.coverage.queries import month_end
from portal.extensions import db
from portal.matching.rules import current_rules
from portal.payments.unused import Waiting, waiting_for_decision
from portal.pledges import renewals
from portal.pledges.models import Pledge, PledgeStatus
from portal.reports.figures import ImpactReport, Shown, shown
from portal.reports.services import period_report


@dataclass(frozen=True)
class NextAction:
    kind: str  # pay, approve, commit, decide, renew
    pledge_id: int
    amount: int = 0
    when: date | None = None


@dataclass(frozen=True)
class Ending:
    pledge_id: int
    last_month: date
    ends_on: date
    renewal_id: int | None
    renewable: bool


@dataclass(frozen=True)
class SponsorHome:
    covered_now: Shown
    year: ImpactReport
    waiting_decision: int
    ending: tuple[Ending, ...]
    actions: tuple[NextAction, ...]
    latest_certificate: Certificate | None


def sponsor_home(company: Company, user: User, today: date | None = None) -> SponsorHome:
    today = today or date.today()
    year = period_report(
        company.id, company.legal_name, date(today.year, 1, 1), date(today.year, 12, 1), today
    )
    pledges = list(
        db.session.scalars(
            select(Pledge).where(Pledge.company_id == company.id).order_by(Pledge.id.desc())
        )
    )
    waiting = waiting_for_decision(company.id)
    return SponsorHome(
        covered_now=shown(_covered_in(company.id, today.replace(day=1))),
        year=year,
        waiting_decision=sum(w.amount for w in waiting),
        ending=tuple(_ending(pledges, today)),
        actions=tuple(_actions(pledges, waiting, user, today)),
        latest_certificate=db.session.scalar(
            select(Certificate)
            .join(Pledge, Pledge.id == Certificate.pledge_id)
            .where(Pledge.company_id == company.id, Certificate.revoked_at.is_(None))
            .order_by(Certificate.issued_at.desc(), Certificate.id.desc())
            .limit(1)
        ),
    )


def _covered_in(company_id: int, month: date) -> int:
    return int(
        db.session.scalar(
            select(func.count(func.distinct(Coverage.worker_id)))
            .join(Pledge, Pledge.id == Coverage.pledge_id)
            .where(Pledge.company_id == company_id, Coverage.month == month)
        )
        or 0
    )


def _ending(pledges: list[Pledge], today: date) -> list[Ending]:
    found = []
    for pledge in pledges:
        if pledge.status != PledgeStatus.ACTIVE or pledge.last_month is None:
            continue
        renewal = renewals.renewal_of(pledge.id)
        found.append(
            Ending(
                pledge.id,
                pledge.last_month,
                month_end(pledge.last_month),
                renewal.id if renewal else None,
                renewals.renewable(pledge, today),
            )
        )
    return sorted(found, key=lambda e: e.ends_on)


def _actions(
    pledges: list[Pledge], waiting: list[Waiting], user: User, today: date
) -> list[NextAction]:
    """Most urgent first: money owed, approvals, drafts, money to decide on, renewals."""
    owner = Role(user.role) == Role.SPONSOR_OWNER
    notice = current_rules().renewal_notice_days
    actions: list[NextAction] = []
    for pledge in pledges:
        if pledge.status == PledgeStatus.AWAITING_PAYMENT:
            actions.append(NextAction("pay", pledge.id, pledge.price_total))
        elif pledge.status == PledgeStatus.AWAITING_APPROVAL and owner:
            actions.append(NextAction("approve", pledge.id, pledge.price_total))
        elif pledge.status == PledgeStatus.DRAFT:
            actions.append(NextAction("commit", pledge.id, pledge.price_total))
    actions += [NextAction("decide", w.pledge_id, w.amount) for w in waiting]
    for ending in _ending(pledges, today):
        if ending.renewal_id is None and (ending.ends_on - today).days <= notice:
            actions.append(NextAction("renew", ending.pledge_id, when=ending.ends_on))
    order = {"pay": 0, "approve": 1, "commit": 2, "decide": 3, "renew": 4}
    return sorted(actions, key=lambda a: order[a.kind])
