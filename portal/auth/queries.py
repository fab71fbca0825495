"""Read-only selects for account pages."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db


def city_accounts() -> list[User]:
    """Staff, admin and auditor accounts (everyone without a company)."""
    return list(
        db.session.scalars(
            select(User).where(User.company_id.is_(None)).order_by(User.role, User.email)
        )
    )
