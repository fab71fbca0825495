"""Month close: book the month's coverage in the ledger, complete the pledges whose term ends.

A close asked for from the month's page runs on a job worker (request_close); its progress and
what follows it (certificates, unused-money notices, e-mails) are filed under month_subject.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage import queries
from portal.coverage.continuity import pass_on_coverage
from portal.coverage.exceptions import (
    EarlierMonthOpen,
    InvalidMonth,
    MonthClosed,
    MonthTooFarAhead,
)
from portal.coverage.models import Coverage, Funder, MonthClose
from portal.coverage.services import check_actor
from portal.events import MonthCloseRequested, PledgeCompleted, emit
from portal.extensions import db
from portal.jobs import set_progress
from portal.ledger.services import record_city_coverage, record_coverage_consumed
from portal.mail import queue_mail
from portal.messages import _m
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import transition_pledge

CITY = (Funder.APBD, Funder.DBHCHT)
MAX_TERM_MONTHS = 24


def last_closable(today: date | None = None) -> date:
    """Next month: informal workers' contributions are paid ahead of the month."""
    return add_months((today or date.today()).replace(day=1), 1)


def check_closable(month: date, today: date | None = None) -> None:
    """Raises InvalidMonth, MonthTooFarAhead, MonthClosed, EarlierMonthOpen.

    Months close in order: a match run is refused once its month is closed, so no approval
    can then write coverage into a later month that is closed already.
    """
    if month.day != 1:
        raise InvalidMonth(_m("%(day)s is not the first day of a month", day=str(month)))
    if month > last_closable(today):
        raise MonthTooFarAhead(_m("%(month)s is after next month", month=f"{month:%Y-%m}"))
    if queries.month_close(month) is not None:
        raise MonthClosed(_m("%(month)s is closed already", month=f"{month:%Y-%m}"))
    earlier = queries.first_open_month_before(month)
    if earlier is not None:
        raise EarlierMonthOpen(
            _m("close %(month)s first: months close in order", month=f"{earlier:%Y-%m}")
        )


def request_close(month: date, actor: User) -> None:
    """Close a month from its page: checked now, booked by a job worker (at full scale the
    close books thousands of pledges). Raises NotAllowed, InvalidMonth, MonthTooFarAhead,
    MonthClosed, EarlierMonthOpen."""
    check_actor(actor)
    check_closable(month)
    record_event("coverage.close_requested", actor=actor, after={"month": f"{month:%Y-%m}"})
    emit(db.session, MonthCloseRequested(month.isoformat(), actor.id), subject=month_subject(month))


def month_subject(month: date) -> str:
    return f"month:{month:%Y-%m}"


CLOSE_STEPS = 4  # pledges locked, R7 passed on, ledger booked, pledges completed


def close_month(month: date, actor: User | None, today: date | None = None) -> MonthClose:
    """Book the month's coverage in the ledger (per pledge, per city funder), record the
    totals, complete the pledges whose term ends with it, and audit.

    Raises NotAllowed, InvalidMonth, MonthTooFarAhead, MonthClosed, EarlierMonthOpen. A
    pledge's coverage is always paid for (approval and refunds keep it so), so the ledger's
    InsufficientBalance would mean a broken invariant, not a sponsor's state.
    """
    check_actor(actor)
    check_closable(month, today)
    subject = month_subject(month)
    close = _claim_close(month, actor)
    _lock_pledges_of(month)
    set_progress(subject, 1, CLOSE_STEPS)
    # R7 before booking: a worker no longer eligible (deceased, moved, over age...) from this
    # month on hands the pledge's months to the next worker; the city's months are released.
    pass_on_coverage(actor, from_month=month)
    set_progress(subject, 2, CLOSE_STEPS)
    totals = queries.coverage_totals(month)
    pledge_rows = queries.pledge_months(month)
    for row in pledge_rows:
        if row.amount:
            record_coverage_consumed(row.company_id, row.pledge_id, month, row.amount)
    for funder in CITY:
        if totals[funder].amount:
            record_city_coverage(funder, month, totals[funder].amount)
    close.totals = {
        funder: {"workers": total.workers, "amount": total.amount}
        for funder, total in totals.items()
    }
    set_progress(subject, 3, CLOSE_STEPS)
    completed = _complete_pledges(month, actor)
    set_progress(subject, 4, CLOSE_STEPS)
    db.session.flush()
    record_event(
        "coverage.close_month",
        close,
        actor=actor,
        after={"month": f"{month:%Y-%m}", "totals": close.totals, "completed_pledges": completed},
    )
    _mail_reports_ready(month, {row.company_id: row.company_name for row in pledge_rows})
    return close


def _lock_pledges_of(month: date) -> None:
    """A refund locks its pledge before it releases months; closing locks the month's pledges
    (in id order) before reading their coverage, so the two never interleave."""
    db.session.execute(
        select(Pledge.id)
        .where(
            Pledge.id.in_(
                select(Coverage.pledge_id).where(
                    Coverage.month == month, Coverage.pledge_id.is_not(None)
                )
            )
        )
        .order_by(Pledge.id)
        .with_for_update()
    )


def _mail_reports_ready(month: date, companies: dict[int, str]) -> None:
    """Each sponsor with coverage in the closed month hears that its report includes it."""
    if not companies:
        return
    users = db.session.execute(
        select(User.email, User.full_name, User.company_id).where(
            User.company_id.in_(list(companies)), User.active.is_(True)
        )
    ).all()
    for user in users:
        queue_mail(
            db.session,
            user.email,
            f"PIJAR SEMAR: laporan dampak {month:%m/%Y}",
            "emails/report_ready.txt",
            user=user,
            month=month,
            company_name=companies[user.company_id],
        )


def _claim_close(month: date, actor: User | None) -> MonthClose:
    """The unique month refuses a concurrent second close before anything is booked."""
    close = MonthClose(month=month, closed_by_id=actor.id if actor else None, totals={})
    try:
        with db.session.begin_nested():
            db.session.add(close)
    except IntegrityError:
        raise MonthClosed(_m("%(month)s is closed already", month=f"{month:%Y-%m}")) from None
    return close


def _complete_pledges(month: date, actor: User | None) -> list[int]:
    candidates = db.session.scalars(
        select(Pledge)
        .where(
            Pledge.status == PledgeStatus.ACTIVE,
            Pledge.coverage_start.between(add_months(month, 1 - MAX_TERM_MONTHS), month),
        )
        .order_by(Pledge.id)
    )
    completed = []
    for pledge in candidates:
        if pledge.last_month == month:
            transition_pledge(
                pledge, PledgeStatus.COMPLETED, actor, note=f"term ended with {month:%Y-%m}"
            )
            emit(
                db.session,
                PledgeCompleted(pledge.id, actor.id if actor else None),
                subject=month_subject(month),
            )
            completed.append(pledge.id)
    return completed
