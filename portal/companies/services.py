"""Company onboarding: registration, review, correction after a rejection, member invitations."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, replace

from flask_babel import force_locale, gettext
from sqlalchemy import or_, select

from portal.audit.services import record_event
from portal.auth.models import Role, User
from portal.auth.services import create_user, send_invitation
from portal.companies import queries
from portal.companies.exceptions import (
    DuplicateCompany,
    IllegalTransition,
    InvalidIdentifier,
    InvitationAccepted,
    NothingToResubmit,
)
from portal.companies.identifiers import (
    normalise_nib,
    normalise_npwp,
    normalise_phone,
    npwp_variants,
)
from portal.companies.models import Company, CompanyStatus
from portal.db import utcnow
from portal.extensions import db
from portal.mail import queue_mail

_ALLOWED = {
    CompanyStatus.PENDING: {CompanyStatus.VERIFIED, CompanyStatus.REJECTED},
    CompanyStatus.REJECTED: {CompanyStatus.PENDING},
    CompanyStatus.VERIFIED: set(),
}
_NORMALISERS: dict[str, Callable[[str | None], str]] = {
    "nib": normalise_nib,
    "npwp": normalise_npwp,
    "contact_phone": normalise_phone,
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

    def normalised(self) -> CompanyDetails:
        """Digits-only NIB and NPWP, the phone in E.164, text trimmed. Raises InvalidIdentifier."""
        return replace(
            self,
            legal_name=self.legal_name.strip(),
            nib=normalise_nib(self.nib),
            npwp=normalise_npwp(self.npwp),
            address=self.address.strip(),
            contact_name=self.contact_name.strip(),
            contact_phone=normalise_phone(self.contact_phone),
        )


def register_company(
    details: CompanyDetails, owner_email: str, owner_name: str, password: str
) -> tuple[Company, User]:
    """Create a pending company with its owner account.

    Raises InvalidIdentifier, DuplicateCompany, DuplicateEmail, WeakPassword.
    """
    details = details.normalised()
    _refuse_duplicates(details.nib, details.npwp)
    company = Company(**asdict(details), status=CompanyStatus.PENDING)
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


def _refuse_duplicates(nib: str, npwp: str, company_id: int | None = None) -> None:
    """Raises DuplicateCompany when another company has the NIB or the NPWP (in either form)."""
    query = select(Company).where(or_(Company.nib == nib, Company.npwp.in_(npwp_variants(npwp))))
    if company_id is not None:
        query = query.where(Company.id != company_id)
    existing = db.session.scalars(query).first()
    if existing is not None:
        raise DuplicateCompany("nib" if existing.nib == nib else "npwp")


def resubmit_company(
    company: Company, details: CompanyDetails, actor: User, note: str = ""
) -> dict[str, tuple[str, str]]:
    """Correct a rejected company and put it back in the review queue; staff are e-mailed.

    Returns the changed fields as {name: (before, after)}. Raises IllegalTransition (the
    company is not rejected), InvalidIdentifier, DuplicateCompany, NothingToResubmit.
    """
    if CompanyStatus(company.status) != CompanyStatus.REJECTED:
        raise IllegalTransition(company.status, CompanyStatus.PENDING)
    details, note = details.normalised(), note.strip()
    changes = {
        name: (getattr(company, name), value)
        for name, value in asdict(details).items()
        if not _same(name, getattr(company, name), value)
    }
    if not changes and not note:
        raise NothingToResubmit()
    _refuse_duplicates(details.nib, details.npwp, company_id=company.id)
    reason = company.rejection_reason
    for name, value in asdict(details).items():
        setattr(company, name, value)
    transition_company(company, CompanyStatus.PENDING, actor)
    record_event(
        "company.resubmit",
        company,
        actor=actor,
        before={"rejection_reason": reason} | {name: old for name, (old, _) in changes.items()},
        after={"note": note} | {name: new for name, (_, new) in changes.items()},
    )
    _tell_staff(company, changes, note)
    return changes


def _same(name: str, stored: str, typed: str) -> bool:
    """Equal, or the stored value written another way (a phone kept as 024... before E.164)."""
    if stored == typed:
        return True
    normalise = _NORMALISERS.get(name)
    try:
        return normalise is not None and normalise(stored) == typed
    except InvalidIdentifier:
        return False


def _tell_staff(company: Company, changes: dict[str, tuple[str, str]], note: str) -> None:
    with force_locale("id"):
        subject = gettext(
            "PIJAR SEMAR: %(company)s corrected its registration", company=company.legal_name
        )
    for user in queries.review_staff():
        queue_mail(
            db.session(),
            user.email,
            subject,
            "emails/company_resubmitted.txt",
            company=company,
            user=user,
            changes=changes,
            note=note,
        )


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
    if target != CompanyStatus.PENDING:  # back to the queue is no review: the last one stays
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
    """Create a member account and e-mail an invitation link to set its password.

    Raises DuplicateEmail.
    """
    member = create_user(email, full_name, Role.SPONSOR_MEMBER, company_id=company.id, actor=actor)
    send_invitation(member, actor)
    return member


def resend_invitation(company: Company, member: User, actor: User) -> None:
    """E-mail a new invitation link; the earlier link stops working.

    Raises InvitationAccepted when the member has set a password already, ValueError for a
    member of another company.
    """
    if member.company_id != company.id:
        raise ValueError("the member belongs to another company")
    if member.password_hash is not None:
        raise InvitationAccepted()
    send_invitation(member, actor)
