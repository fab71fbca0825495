"""Pledge lifecycle: draft, edit, submit for payment, pay, cancel; one transition function."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm.attributes import set_committed_value

from portal.audit.services import record_event
from portal.auth.models import User
from portal.companies.models import Company
from portal.coverage.models import MonthClose
from portal.db import utcnow
from portal.extensions import db
from portal.messages import _m
from portal.pledges.exceptions import CompanyNotVerified, IllegalPledgeTransition, InvalidPledge
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge, total

_PLEDGE = Pledge.__table__
_SET_STATUS = (
    update(_PLEDGE)
    .where(_PLEDGE.c.id == bindparam("pledge_id"))
    .values(status=bindparam("target"), updated_at=bindparam("now"))
)

MAX_WORKERS = 100_000
MAX_MONTHS = 24

_ALLOWED = {
    PledgeStatus.DRAFT: {PledgeStatus.AWAITING_PAYMENT, PledgeStatus.AWAITING_APPROVAL},
    PledgeStatus.AWAITING_APPROVAL: {PledgeStatus.AWAITING_PAYMENT, PledgeStatus.DRAFT},
    PledgeStatus.AWAITING_PAYMENT: {PledgeStatus.PAID, PledgeStatus.CANCELLED},
    PledgeStatus.PAID: {PledgeStatus.ACTIVE, PledgeStatus.REFUNDED},
    PledgeStatus.ACTIVE: {PledgeStatus.COMPLETED, PledgeStatus.REFUNDED},
    PledgeStatus.COMPLETED: set(),
    PledgeStatus.CANCELLED: set(),
    PledgeStatus.REFUNDED: set(),
}


@dataclass(frozen=True)
class PledgeTerms:
    workers: int
    months: int
    start_month: date
    categories: tuple[str, ...] = ()
    kecamatan: tuple[str, ...] = ()


def earliest_start(today: date | None = None) -> date:
    """Coverage starts the month after payment at the earliest (R6)."""
    return add_months((today or date.today()).replace(day=1), 1)


def first_open_start(today: date | None = None) -> date:
    """The earliest start month a sponsor may choose: not before next month, and never a
    month that is closed already (months close up to next month)."""
    first = earliest_start(today)
    closed = set(db.session.scalars(select(MonthClose.month).where(MonthClose.month >= first)))
    while first in closed:
        first = add_months(first, 1)
    return first


def update_target(
    pledge: Pledge, actor: User, categories: tuple[str, ...], kecamatan: tuple[str, ...]
) -> None:
    """Widen or change whom a paid pledge may fund (R1); workers placed keep their months.
    Raises IllegalPledgeTransition."""
    if pledge.status not in (PledgeStatus.PAID, PledgeStatus.ACTIVE):
        raise IllegalPledgeTransition(pledge.status, "change target")
    before = _facts(pledge)
    pledge.target_categories = list(categories)
    pledge.target_kecamatan = list(kecamatan)
    pledge.unused_notice_at = None  # the sponsor decided: the next run tries the new target
    db.session.flush()
    record_event("pledge.target", pledge, actor=actor, before=before, after=_facts(pledge))


def check_terms(terms: PledgeTerms, today: date | None = None) -> None:
    """Raises InvalidPledge with the reason."""
    if not 1 <= terms.workers <= MAX_WORKERS:
        raise InvalidPledge(_m("Workers must be between 1 and %(max)s.", max=MAX_WORKERS))
    if not 1 <= terms.months <= MAX_MONTHS:
        raise InvalidPledge(_m("Months must be between 1 and %(max)s.", max=MAX_MONTHS))
    if terms.start_month.day != 1 or terms.start_month < earliest_start(today):
        raise InvalidPledge(_m("The start month must be next month or later."))
    if terms.start_month < first_open_start(today):
        raise InvalidPledge(_m("The start month is closed already; choose a later month."))


def create_pledge(company: Company, actor: User, terms: PledgeTerms) -> Pledge:
    """A draft pledge, priced from the rate schedule. Raises InvalidPledge, NoRateInForce."""
    check_terms(terms)
    pledge = Pledge(company_id=company.id, created_by_id=actor.id, status=PledgeStatus.DRAFT)
    _apply_terms(pledge, terms)
    db.session.add(pledge)
    db.session.flush()
    record_event("pledge.create", pledge, actor=actor, after=_facts(pledge))
    return pledge


def update_draft(pledge: Pledge, actor: User, terms: PledgeTerms) -> None:
    """Only drafts change. Raises IllegalPledgeTransition, InvalidPledge, NoRateInForce."""
    if pledge.status != PledgeStatus.DRAFT:
        raise IllegalPledgeTransition(pledge.status, "edit")
    check_terms(terms)
    before = _facts(pledge)
    _apply_terms(pledge, terms)
    db.session.flush()
    record_event("pledge.update", pledge, actor=actor, before=before, after=_facts(pledge))


def delete_draft(pledge: Pledge, actor: User) -> None:
    """A draft has no money or coverage attached, so it may go. Raises IllegalPledgeTransition."""
    if pledge.status != PledgeStatus.DRAFT:
        raise IllegalPledgeTransition(pledge.status, "delete")
    record_event("pledge.delete", pledge, actor=actor, before=_facts(pledge))
    db.session.delete(pledge)
    db.session.flush()


def submit_pledge(pledge: Pledge, company: Company, actor: User) -> None:
    """Commit to the pledge: re-priced at today's rates and locked for payment.

    Raises CompanyNotVerified, IllegalPledgeTransition, InvalidPledge, NoRateInForce.
    """
    if not company.can_pay:
        raise CompanyNotVerified(company.legal_name)
    check_terms(_terms_of(pledge))
    _apply_terms(pledge, _terms_of(pledge))
    transition_pledge(pledge, PledgeStatus.AWAITING_PAYMENT, actor)


def lock_pledge(pledge_id: int) -> Pledge:
    """The pledge row, locked until commit and read fresh: every change to a pledge's money,
    status or renewal is serialised (two clicks, two owners, two staff members)."""
    return db.session.scalars(
        select(Pledge)
        .where(Pledge.id == pledge_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


def transition_pledge(
    pledge: Pledge, target: PledgeStatus, actor: User | None, note: str = ""
) -> None:
    """The one place a pledge's status changes. Raises IllegalPledgeTransition."""
    current = PledgeStatus(pledge.status)
    if target not in _ALLOWED[current]:
        raise IllegalPledgeTransition(current, target)
    db.session.flush()  # the pledge's other changes (and anything else pending) first
    now = utcnow()
    # The UPDATE the ORM would emit, without a unit-of-work flush for one column.
    db.session.execute(_SET_STATUS, {"pledge_id": pledge.id, "target": target.value, "now": now})
    set_committed_value(pledge, "status", target)
    set_committed_value(pledge, "updated_at", now)
    record_event(
        f"pledge.{target.value}",
        pledge,
        actor=actor,
        before={"status": current.value},
        after={"status": target.value, "note": note[:200]},
    )


def _apply_terms(pledge: Pledge, terms: PledgeTerms) -> None:
    """Sponsors pay the general CSR rate; sector-specific rates apply to workers' sectors."""
    lines = price_pledge(terms.workers, terms.months, terms.start_month)
    pledge.workers = terms.workers
    pledge.months = terms.months
    pledge.start_month = terms.start_month
    pledge.target_categories = sorted(terms.categories)
    pledge.target_kecamatan = sorted(terms.kecamatan)
    pledge.price_breakdown = [line.as_json() for line in lines]
    pledge.price_total = total(lines)


def _terms_of(pledge: Pledge) -> PledgeTerms:
    return PledgeTerms(
        pledge.workers,
        pledge.months,
        pledge.start_month,
        tuple(pledge.target_categories),
        tuple(pledge.target_kecamatan),
    )


def _facts(pledge: Pledge) -> dict[str, object]:
    return {
        "workers": pledge.workers,
        "months": pledge.months,
        "start_month": pledge.start_month.isoformat(),
        "price_total": pledge.price_total,
        "categories": list(pledge.target_categories),
        "kecamatan": list(pledge.target_kecamatan),
        "status": str(pledge.status),
    }
