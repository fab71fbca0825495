"""A region's scheme as its admins set it: the regulation, the account sponsors transfer to
(`payments.documents.BankDetails.of_region`) and the sender of its e-mails. A changed bank
account is the step a fraud would take, so the page asks for a fresh password, the change is
audited with both values and every admin is told by e-mail."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import force_locale, gettext
from sqlalchemy import select

from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.extensions import db
from portal.mail import queue_mail
from portal.regions.models import Region

FIELDS = ("regulation", "bank_name", "bank_account_number", "bank_account_name", "mail_sender")
BANK_FIELDS = ("bank_name", "bank_account_number", "bank_account_name")


def update_scheme(region: Region, values: Mapping[str, str], actor: User) -> dict[str, Any]:
    """Set the scheme's fields; returns what changed ({field: (before, after)}). Nothing
    changed writes nothing."""
    changes = {
        name: (getattr(region, name), values[name].strip())
        for name in FIELDS
        if name in values and values[name].strip() != getattr(region, name)
    }
    if not changes:
        return {}
    for name, (_before, after) in changes.items():
        setattr(region, name, after)
    record_event(
        "region.update",
        region,
        actor=actor,
        before={name: before for name, (before, _after) in changes.items()},
        after={name: after for name, (_before, after) in changes.items()},
    )
    if any(name in changes for name in BANK_FIELDS):
        _tell_admins(region, {n: c for n, c in changes.items() if n in BANK_FIELDS}, actor)
    return changes


def _tell_admins(region: Region, changes: dict[str, tuple[str, str]], actor: User) -> None:
    admins = db.session.scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).order_by(User.id)
    ).all()
    with force_locale("id"):
        subject = gettext(
            "PIJAR SEMAR: the bank account of %(region)s was changed", region=region.name
        )
        for admin in admins:
            queue_mail(
                db.session(),
                admin.email,
                subject,
                "emails/region_bank_changed.txt",
                region=region,
                user=admin,
                actor=actor,
                changes=changes,
            )
