"""Company onboarding: registration, verification, rejection and member invitations."""

from __future__ import annotations

import re
from dataclasses import dataclass

from flask_babel import force_locale, gettext
from sqlalchemy import or_, select

from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.auth.services import create_user, send_password_link
from portal.companies import queries
from portal.companies.exceptions import DuplicateCompany, IllegalTransition
from portal.companies.models import Company, CompanyStatus
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail

_ALLOWED = {
    CompanyStatus.PENDING: {CompanyStatus.VERIFIED, CompanyStatus.REJECTED},
    CompanyStatus.REJECTED: {CompanyStatus.PENDING},
    CompanyStatus.VERIFIED: set(),
}


@dataclass(frozen=True)
class CompanyDetails:
    legal_name: str
    nib: str
    npwp: str
    address: str
    sector: str
    contact_name: str
    contact_phone: str


def digits_only(value: str) -> str:
    """NIB/NPWP as typed ('01.234.567.8-901.000') reduced to their digits."""
    return re.sub(r"[\s.\-]", "", value or "")


def register_company(
    details: CompanyDetails, owner_email: str, owner_name: str, password: str
) -> tuple[Company, User]:
    """Create a pending company with its owner account.

    Raises DuplicateCompany, DuplicateEmail, WeakPassword.
    """
    _refuse_duplicates(details.nib, details.npwp)
    company = Company(**details.__dict__, status=CompanyStatus.PENDING)
    db.session.add(company)
    db.session.flush()
    owner = create_user(
        owner_email, owner_name, Role.SPONSOR_OWNER, company_id=company.id, password=password
    )
    record_event(
        "company.register",
        company,
        actor=owner,
        after={"legal_name": company.legal_name, "status": company.status},
    )
    return company, owner


def _refuse_duplicates(nib: str, npwp: str) -> None:
    existing = db.session.scalars(
        select(Company).where(or_(Company.nib == nib, Company.npwp == npwp))
    ).first()
    if existing is not None:
        raise DuplicateCompany("nib" if existing.nib == nib else "npwp")


def transition_company(
    company: Company, target: CompanyStatus, actor: User, reason: str | None = None
) -> None:
    """The one place a company's status changes. Raises IllegalTransition."""
    current = CompanyStatus(company.status)
    if target not in _ALLOWED[current]:
        raise IllegalTransition(current, target)
    before = {"status": current.value, "rejection_reason": company.rejection_reason}
    company.status = target
    company.rejection_reason = reason if target == CompanyStatus.REJECTED else None
    company.reviewed_at = utcnow()
    company.reviewed_by_id = actor.id
    db.session.flush()
    record_event(
        f"company.{target.value}",
        company,
        actor=actor,
        before=before,
        after={"status": target.value, "rejection_reason": company.rejection_reason},
    )


def verify_company(company: Company, actor: User) -> None:
    """Approve a pending company and tell its owners. Raises IllegalTransition."""
    transition_company(company, CompanyStatus.VERIFIED, actor)
    with force_locale("id"):
        subject = gettext("PIJAR SEMAR: your company is verified")
    _tell_owners(company, subject, "emails/company_verified.txt")


def reject_company(company: Company, actor: User, reason: str) -> None:
    """Reject with a reason the owner reads. Raises IllegalTransition."""
    transition_company(company, CompanyStatus.REJECTED, actor, reason=reason.strip())
    with force_locale("id"):
        subject = gettext("PIJAR SEMAR: your company registration was not approved")
    _tell_owners(company, subject, "emails/company_rejected.txt")


def _tell_owners(company: Company, subject: str, template: str) -> None:
    for owner in queries.company_owners(company):
        queue_mail(db.session(), owner.email, subject, template, company=company, user=owner)


def invite_member(company: Company, email: str, full_name: str, actor: User) -> User:
    """Create a member account and e-mail a link to set its password.

    Raises DuplicateEmail.
    """
    member = create_user(email, full_name, Role.SPONSOR_MEMBER, company_id=company.id, actor=actor)
    send_password_link(member, "emails/invitation.txt", inviter=actor)
    return member
