"""E-mails from the money domain to a company's active users (queued, sent after commit)."""

from __future__ import annotations

from sqlalchemy import bindparam, select

from portal.auth.models import User
from portal.extensions import db
from portal.mail import queue_mail
from portal.pledges.models import Pledge

_USER = User.__table__
_COMPANY_USERS = select(_USER.c.email, _USER.c.full_name).where(
    _USER.c.company_id == bindparam("company_id"), _USER.c.active.is_(True)
)


def tell_company(pledge: Pledge, template: str, subject: str, **context: object) -> None:
    """Queue one e-mail per active user of the pledge's company."""
    owners = db.session.execute(_COMPANY_USERS, {"company_id": pledge.company_id}).all()
    for owner in owners:
        queue_mail(db.session, owner.email, subject, template, pledge=pledge, user=owner, **context)
