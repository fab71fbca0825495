"""Renewal offers: the sponsors of pledges whose term ends soon are told, once per pledge."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage import queries
from portal.coverage.services import check_actor
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail
from portal.matching.rules import current_rules
from portal.pledges.models import Pledge


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
