"""User accounts with one role each, and server-side login sessions that logout revokes."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model
from portal.regions.scope import region_for_new_row

if TYPE_CHECKING:
    from portal.companies.models import Company


class Role(enum.StrEnum):
    SPONSOR_OWNER = "sponsor_owner"
    SPONSOR_MEMBER = "sponsor_member"
    STAFF = "staff"
    ADMIN = "admin"
    AUDITOR = "auditor"
    NATIONAL = "national"  # the programme's administrator: every region's figures, no region

    @property
    def is_sponsor(self) -> bool:
        return self in (Role.SPONSOR_OWNER, Role.SPONSOR_MEMBER)

    @property
    def works_in_a_region(self) -> bool:
        return self in (Role.STAFF, Role.ADMIN, Role.AUDITOR)


def _region_of_new_user(context: Any) -> str | None:
    """A new staff member, admin or auditor works in the region in scope."""
    if not Role(context.get_current_parameters()["role"]).works_in_a_region:
        return None
    return region_for_new_row()


class User(Model):
    """A person who logs in; sponsor users belong to exactly one company, others to none;
    staff, admins and auditors to one region, sponsors and national users to none."""

    __tablename__ = "user_account"
    __table_args__ = (
        CheckConstraint(enum_check("role", Role), name="role_valid"),
        CheckConstraint(
            "(role IN ('sponsor_owner', 'sponsor_member')) = (company_id IS NOT NULL)",
            name="sponsor_has_company",
        ),
        CheckConstraint(
            "(role IN ('staff', 'admin', 'auditor')) = (region_code IS NOT NULL)",
            name="staff_have_a_region",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    full_name: Mapped[str] = mapped_column(String(120))
    role: Mapped[Role] = mapped_column(String(20))
    company_id: Mapped[int | None] = mapped_column(ForeignKey("company.id"), index=True)
    # Staff, admins and auditors work in one region; sponsors (their company) and the
    # national role (every region) in none.
    region_code: Mapped[str | None] = mapped_column(
        ForeignKey("region.code"), index=True, default=_region_of_new_user
    )
    password_hash: Mapped[str | None] = mapped_column(String(255))
    active: Mapped[bool] = mapped_column(default=True, server_default="1")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    password_changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the latest invitation link was sent; a new one makes the older links fail.
    invited_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    company: Mapped[Company | None] = relationship(
        back_populates="users", foreign_keys=[company_id]
    )

    # Flask-Login interface. The id Flask-Login stores in the cookie is the server-side
    # session token, not the user id, so that revoking the session row logs the cookie out.
    if TYPE_CHECKING:  # typed here only: an annotation in the class would make it a column
        session_token: str | None
    session_token = None  # set per request by the session loader
    is_anonymous = False

    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def role_enum(self) -> Role:
        return Role(self.role)


class UserSession(Model):
    """A login; the cookie holds a random token whose hash is stored here."""

    __tablename__ = "user_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ip_address: Mapped[str] = mapped_column(String(64), default="", server_default="")
    user_agent: Mapped[str] = mapped_column(String(200), default="", server_default="")

    user: Mapped[User] = relationship()
