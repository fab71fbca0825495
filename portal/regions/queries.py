"""Read-only selects of regions, for pages that let a national company choose one."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from portal.extensions import db
from portal.regions.models import Region


def regions() -> Sequence[Region]:
    """Every region of the installation, by name."""
    return db.session.scalars(select(Region).order_by(Region.name)).all()
