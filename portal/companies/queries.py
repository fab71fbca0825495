"""Read-only selects for company pages."""

from __future__ import annotations

from sqlalchemy import select

from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus
from portal.extensions import db


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
