"""Renewals: the sponsors of pledges whose term ends soon are told (once per pledge), renew
with the same terms priced from the rate schedule in force, or choose yearly automatic
renewal (a new pledge and an invoice each year, never a silent charge). A renewal's pledge
names the one it continues, and matching gives it that pledge's workers first (rule R7), so
nobody's coverage lapses between terms."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.companies.models import Company
from portal.coverage import queries
from portal.coverage.queries import month_end
from portal.coverage.services import check_actor
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail
from portal.matching.rules import current_rules
from portal.pledges.exceptions import (
    CompanyNotVerified,
    InvalidPledge,
    NoRateInForce,
    NotRenewable,
)
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import (
    PledgeTerms,
    create_pledge,
    first_open_start,
    lock_pledge,
    submit_pledge,
)


def offer_renewals(today: date | None = None, actor: User | None = None) -> list[Pledge]:
    """E-mail the sponsors of active pledges whose term ends within the rules' notice, once
    per pledge; returns the pledges offered now. Raises NotAllowed, InvalidRules."""
    check_actor(actor)
    notice = current_rules().renewal_notice_days
    offered = []
    for row in queries.ending_pledges(today or date.today(), notice):
        if row.pledge.renewal_offered_at is not None or not _claim_offer(row.pledge):
            continue
        _mail_offer(row)
        record_event(
            "pledge.renewal_offered",
            row.pledge,
            actor=actor,
            after={
                "last_month": f"{row.last_month:%Y-%m}",
                "ends_on": row.ends_on.isoformat(),
                "workers": row.workers,
            },
        )
        offered.append(row.pledge)
    return offered


def _claim_offer(pledge: Pledge) -> bool:
    """Only one caller marks a pledge offered, so a sponsor is never mailed twice."""
    result = db.session.execute(
        update(Pledge)
        .where(Pledge.id == pledge.id, Pledge.renewal_offered_at.is_(None))
        .values(renewal_offered_at=utcnow()),
        execution_options={"synchronize_session": False},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]  # a CursorResult
        return False
    db.session.refresh(pledge)
    return True


def _mail_offer(row: queries.LapsingPledge) -> None:
    users = db.session.execute(
        select(User.email, User.full_name).where(
            User.company_id == row.pledge.company_id, User.active.is_(True)
        )
    ).all()
    for user in users:
        queue_mail(
            db.session,
            user.email,
            "PIJAR SEMAR: tawaran perpanjangan ikrar",
            "emails/renewal_offer.txt",
            pledge=row.pledge,
            user=user,
            ends_on=row.ends_on,
            last_month=row.last_month,
            workers=row.workers,
        )


# Renewing ---------------------------------------------------------------------------------

RENEWABLE_DAYS_AFTER_END = 60  # a completed pledge can still be renewed this long after


def renewal_of(pledge_id: int) -> Pledge | None:
    """The pledge that continues this one (any but a cancelled one)."""
    return db.session.scalar(
        select(Pledge)
        .where(Pledge.renews_pledge_id == pledge_id, Pledge.status != PledgeStatus.CANCELLED)
        .order_by(Pledge.id.desc())
        .limit(1)
    )


def renewable(pledge: Pledge, today: date | None = None) -> bool:
    """Active, or completed within the last RENEWABLE_DAYS_AFTER_END days, and not renewed."""
    today = today or date.today()
    if pledge.last_month is None or renewal_of(pledge.id) is not None:
        return False
    if pledge.status == PledgeStatus.ACTIVE:
        return True
    ended = month_end(pledge.last_month)
    return pledge.status == PledgeStatus.COMPLETED and (today - ended).days <= (
        RENEWABLE_DAYS_AFTER_END
    )


def renew_pledge(pledge: Pledge, actor: User, today: date | None = None) -> Pledge:
    """A draft with the same workers, months and target, starting the month after the term
    (or the first month open), priced from the rate schedule in force; the sponsor may edit
    it before committing. Raises NotRenewable, InvalidPledge, NoRateInForce."""
    lock_pledge(pledge.id)  # two clicks on "renew" make one renewal
    if not renewable(pledge, today):
        raise NotRenewable(str(pledge.id))
    assert pledge.last_month is not None  # renewable() checked it
    start = max(add_months(pledge.last_month, 1), first_open_start(today))
    company = db.session.get_one(Company, pledge.company_id)
    terms = PledgeTerms(
        pledge.workers,
        pledge.months,
        start,
        tuple(pledge.target_categories),
        tuple(pledge.target_kecamatan),
    )
    renewal = create_pledge(company, actor, terms)
    renewal.renews_pledge_id = pledge.id
    renewal.auto_renew = pledge.auto_renew
    db.session.flush()
    record_event(
        "pledge.renew",
        renewal,
        actor=actor,
        company_id=pledge.company_id,
        after={"renews": pledge.id, "start": f"{start:%Y-%m}"},
    )
    return renewal


def set_auto_renew(pledge: Pledge, on: bool, actor: User) -> None:
    """Choose or cancel yearly automatic renewal. Raises NotRenewable for a pledge that is
    over (cancelled, refunded)."""
    if pledge.status in (PledgeStatus.CANCELLED, PledgeStatus.REFUNDED):
        raise NotRenewable(str(pledge.id))
    if pledge.auto_renew == on:
        return
    pledge.auto_renew = on
    db.session.flush()
    record_event(
        "pledge.auto_renew",
        pledge,
        actor=actor,
        company_id=pledge.company_id,
        after={"auto_renew": on},
    )


def auto_renewals(today: date | None = None) -> list[Pledge]:
    """The scheduled job: every active pledge with automatic renewal whose term ends within
    the rules' notice and is not renewed yet gets its renewal, committed for payment (its
    creator's company then receives an invoice). Returns the renewals made."""
    today = today or date.today()
    notice = current_rules().renewal_notice_days
    made = []
    for row in queries.ending_pledges(today, notice):
        pledge = row.pledge
        if not pledge.auto_renew or not renewable(pledge, today):
            continue
        actor = db.session.get_one(User, pledge.created_by_id)
        company = db.session.get_one(Company, pledge.company_id)
        try:
            with db.session.begin_nested():
                renewal = renew_pledge(pledge, actor, today)
                submit_pledge(renewal, company, actor)
        except (NotRenewable, InvalidPledge, NoRateInForce, CompanyNotVerified):
            continue  # the sponsor still has the offer e-mail and the button
        made.append(renewal)
    return made
