"""Read-only selects for account pages."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth.models import User
from portal.extensions import db
from portal.regions.scope import current_region


def city_accounts() -> list[User]:
    """The region's staff, admin and auditor accounts."""
    return list(
        db.session.scalars(
            select(User)
            .where(User.company_id.is_(None), User.region_code == current_region())
            .order_by(User.role, User.email)
        )
    )
