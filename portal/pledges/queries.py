"""Read-only selects for pledge pages: a company's pledges, waiting workers for a target."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.companies.models import Company
from portal.extensions import db
from portal.pledges.models import Pledge, PledgeStatus
from portal.reference.models import Category, Kecamatan
from portal.regions.scope import kecamatan_in_region


def company_pledges(company_id: int) -> list[Pledge]:
    return list(
        db.session.scalars(
            select(Pledge).where(Pledge.company_id == company_id).order_by(Pledge.id.desc())
        )
    )


def all_pledges(status: str = "", limit: int = 500) -> list[tuple[Pledge, str]]:
    """The latest pledges with their company's name (one query, for the staff list)."""
    stmt = (
        select(Pledge, Company.legal_name)
        .join(Company, Company.id == Pledge.company_id)
        .order_by(Pledge.id.desc())
        .limit(limit)
    )
    if status in set(PledgeStatus):
        stmt = stmt.where(Pledge.status == status)
    return [(pledge, str(name)) for pledge, name in db.session.execute(stmt)]


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
    """Active categories and the region's kecamatan, for a pledge's target."""
    categories = db.session.scalars(
        select(Category).where(Category.active.is_(True)).order_by(Category.name_id)
    ).all()
    kecamatan = db.session.scalars(
        select(Kecamatan).where(kecamatan_in_region()).order_by(Kecamatan.name)
    ).all()
    return list(categories), list(kecamatan)
