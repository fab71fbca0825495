"""Read-only selects for pledge pages: a company's pledges, waiting workers for a target."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.extensions import db
from portal.pledges.models import Pledge, PledgeStatus
from portal.reference.models import Category, Kecamatan


def company_pledges(company_id: int) -> list[Pledge]:
    return list(
        db.session.scalars(
            select(Pledge).where(Pledge.company_id == company_id).order_by(Pledge.id.desc())
        )
    )


def all_pledges(status: str = "", limit: int = 500) -> list[Pledge]:
    stmt = select(Pledge).order_by(Pledge.id.desc()).limit(limit)
    if status in set(PledgeStatus):
        stmt = stmt.where(Pledge.status == status)
    return list(db.session.scalars(stmt))


def pledge_timeline(pledge_id: int) -> list[AuditEvent]:
    """Every recorded step of a pledge, oldest first."""
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "pledge", AuditEvent.object_id == str(pledge_id))
            .order_by(AuditEvent.id)
        )
    )


def target_choices() -> tuple[list[Category], list[Kecamatan]]:
    """Active categories and every kecamatan, for a pledge's target."""
    categories = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.name_id)
    ).all()
    kecamatan = db.session.scalars(select(Kecamatan).order_by(Kecamatan.name)).all()
    return list(categories), list(kecamatan)
