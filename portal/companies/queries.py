"""Read-only selects for company pages."""

from __future__ import annotations

from sqlalchemy import select

from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus
from portal.extensions import db
from portal.regions.scope import all_regions


def pending_companies() -> list[Company]:
    return list(
        db.session.scalars(
            select(Company)
            .where(Company.status == CompanyStatus.PENDING)
            .order_by(Company.created_at)
        )
    )


def company_members(company: Company) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(User.company_id == company.id).order_by(User.role, User.email)
        )
    )


def reviewed_companies(limit: int = 200) -> list[Company]:
    return list(
        db.session.scalars(
            select(Company)
            .where(Company.status != CompanyStatus.PENDING)
            .order_by(Company.reviewed_at.desc())
            .limit(limit)
        )
    )


def company_owners(company: Company) -> list[User]:
    return list(
        db.session.scalars(
            select(User).where(
                User.company_id == company.id,
                User.role == Role.SPONSOR_OWNER,
                User.active.is_(True),
            )
        )
    )


def review_staff() -> list[User]:
    """The active accounts that review companies (staff and admins)."""
    return list(
        db.session.scalars(
            select(User).where(User.role.in_([Role.STAFF, Role.ADMIN]), User.active.is_(True))
        )
    )


def latest_resubmission(company: Company) -> AuditEvent | None:
    """The audit row of the company's latest correction after a rejection: what changed. A
    company is national, and so is this row (it has no region): read across regions."""
    with all_regions():
        return db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.company_id == company.id,
                AuditEvent.action == "company.resubmit",
                AuditEvent.object_type == "company",
                AuditEvent.object_id == str(company.id),
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        ).first()
