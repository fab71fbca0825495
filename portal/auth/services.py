"""Account operations: create, authenticate, start and revoke sessions, reset passwords."""

from __future__ import annotations

import hashlib
import secrets
from datetime import UTC, datetime, timedelta

from flask import current_app
from flask_babel import force_locale, gettext
from itsdangerous import BadData, BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select, update

from portal.audit.services import record_event
from portal.auth import passwords
from portal.auth.exceptions import (
    DuplicateEmail,
    InvalidCredentials,
    InvalidToken,
    InvitationExpired,
    InvitationReplaced,
    InvitationUsed,
    WeakPassword,
)
from portal.auth.models import Role, User, UserSession
from portal.db import SESSION_TOUCH_SECONDS, reading_only, session_seen, utcnow
from portal.extensions import db
from portal.mail import queue_mail

_TOKEN_SALT = "password-set"  # noqa: S105 - a signing salt, not a password
_INVITATION_SALT = "invitation"


def normalise_email(email: str) -> str:
    return email.strip().lower()


def find_user_by_email(email: str) -> User | None:
    return db.session.scalar(select(User).where(User.email == normalise_email(email)))


def create_user(
    email: str,
    full_name: str,
    role: Role,
    *,
    company_id: int | None = None,
    password: str | None = None,
    actor: User | None = None,
) -> User:
    """Create an account; without a password it waits for its invitation link.

    Raises DuplicateEmail, WeakPassword.
    """
    email = normalise_email(email)
    if find_user_by_email(email) is not None:
        raise DuplicateEmail(email)
    user = User(email=email, full_name=full_name.strip(), role=role, company_id=company_id)
    if password is not None:
        check_password_rules(password, [email, full_name])
        user.password_hash = passwords.hash_password(password)
        user.password_changed_at = utcnow()
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create",
        user,
        actor=actor,
        after={"email": email, "role": str(role)},
        company_id=company_id,
    )
    return user


def check_password_rules(password: str, user_inputs: list[str]) -> None:
    """Raises WeakPassword listing every rule the password breaks."""
    problems = passwords.password_problems(
        password, current_app.config["PASSWORD_MIN_LENGTH"], user_inputs
    )
    if problems:
        raise WeakPassword(problems)


def authenticate(email: str, password: str) -> User:
    """Return the user for valid credentials. Raises InvalidCredentials (always the same)."""
    user = find_user_by_email(email)
    valid = passwords.verify_password(user.password_hash if user else None, password)
    if user is None or not valid or not user.active:
        record_event("auth.login_failed", user, actor_label=normalise_email(email)[:254])
        raise InvalidCredentials()
    if passwords.needs_rehash(user.password_hash or ""):
        user.password_hash = passwords.hash_password(password)
    return user


def confirm_password(user: User, password: str) -> bool:
    """Re-check the password of a logged-in user; a failure is audited."""
    if passwords.verify_password(user.password_hash, password):
        return True
    record_event("auth.confirm_failed", user, actor=user, company_id=user.company_id)
    return False


def start_session(user: User, ip_address: str, user_agent: str) -> str:
    """Create a server-side session and return its token (only the hash is stored)."""
    token = secrets.token_urlsafe(32)
    db.session.add(
        UserSession(
            token_hash=_hash_token(token),
            user_id=user.id,
            ip_address=ip_address[:64],
            user_agent=user_agent[:200],
        )
    )
    user.last_login_at = utcnow()
    user.session_token = token
    db.session.flush()
    record_event("auth.login", user, actor=user)
    return token


def load_session_user(token: str) -> User | None:
    """The user behind a live session token, or None when revoked, expired or disabled."""
    row = db.session.scalar(
        select(UserSession).where(
            UserSession.token_hash == _hash_token(token), UserSession.revoked_at.is_(None)
        )
    )
    if row is None or not row.user.active or _expired(row, utcnow()):
        return None
    if (
        utcnow() - row.last_seen_at > timedelta(seconds=SESSION_TOUCH_SECONDS)
        and not reading_only()
    ):  # a read-only request leaves it to the next one
        row.last_seen_at = utcnow()
    session_seen(row.last_seen_at)
    row.user.session_token = token
    return row.user


def _expired(row: UserSession, now: datetime) -> bool:
    config = current_app.config
    idle = timedelta(minutes=config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=config["SESSION_ABSOLUTE_HOURS"])
    return now - row.last_seen_at > idle or now - row.created_at > absolute


def revoke_session(token: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _hash_token(token), UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )


def end_session(user: User) -> None:
    """Logout: the session row is revoked, so a copied cookie stops working too."""
    revoke_session(user.session_token or "")
    record_event("auth.logout", user, actor=user, company_id=user.company_id)


def revoke_all_sessions(user: User) -> int:
    result = db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]  # a CursorResult at run time


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_password_token(user: User) -> str:
    """A signed link token bound to the current password, so it works once."""
    return _serializer().dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def user_for_password_token(token: str) -> User:
    """Raises InvalidToken when the token is forged, expired, or already used."""
    max_age = current_app.config["PASSWORD_RESET_MAX_AGE"]
    try:
        data = _serializer().loads(token, max_age=max_age)
    except (SignatureExpired, BadSignature) as exc:
        raise InvalidToken() from exc
    user = db.session.get(User, data.get("uid"))
    if user is None or not user.active or data.get("fp") != _password_fingerprint(user):
        raise InvalidToken()
    return user


def set_password(user: User, password: str) -> None:
    """Set a new password and end every session of the user. Raises WeakPassword."""
    check_password_rules(password, [user.email, user.full_name])
    user.password_hash = passwords.hash_password(password)
    user.password_changed_at = utcnow()
    revoke_all_sessions(user)
    db.session.flush()
    record_event("user.password_set", user, actor=user, company_id=user.company_id)


def set_user_active(user: User, active: bool, actor: User) -> None:
    """Enable or disable an account; disabling ends its sessions at once."""
    before = {"active": user.active}
    user.active = active
    if not active:
        revoke_all_sessions(user)
    db.session.flush()
    record_event(
        "user.set_active",
        user,
        actor=actor,
        before=before,
        after={"active": active},
        company_id=user.company_id,
    )


def _password_fingerprint(user: User) -> str:
    """Changes when the password is set or a new invitation is sent, so older links fail."""
    seed = f"{user.password_hash or ''}|{user.password_changed_at or ''}|{user.email}"
    if user.invited_at is not None:  # absent before the first invitation: older links stay
        seed += f"|{user.invited_at.astimezone(UTC).isoformat()}"
    return hashlib.sha256(seed.encode()).hexdigest()[:16]


def _serializer(salt: str = _TOKEN_SALT) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=salt)


def send_password_link(user: User, template: str, **context: object) -> None:
    """Queue an e-mail carrying a one-time set-password link."""
    token = make_password_token(user)
    with force_locale("id"):
        subject = gettext("PIJAR SEMAR: set your password")
    queue_mail(db.session(), user.email, subject, template, user=user, token=token, **context)


def invitation_days() -> int:
    return int(current_app.config.get("INVITATION_DAYS", 7))


def invitation_expires_at(user: User) -> datetime | None:
    """When the user's latest invitation link stops working (None: no dated invitation)."""
    if user.invited_at is None:
        return None
    return user.invited_at + timedelta(days=invitation_days())


def make_invitation_token(user: User) -> str:
    """A signed invitation token, valid INVITATION_DAYS, until used or replaced."""
    return _serializer(_INVITATION_SALT).dumps({"uid": user.id, "fp": _password_fingerprint(user)})


def user_for_invitation_token(token: str) -> User:
    """The invited user. Raises InvitationUsed, InvitationReplaced, InvitationExpired, and
    InvalidToken for a link that was never valid (or names a disabled account)."""
    serializer = _serializer(_INVITATION_SALT)
    try:
        data = serializer.loads(token, max_age=invitation_days() * 86400)
    except SignatureExpired as exc:
        data = _decoded(serializer, exc.payload)
        user = _active_user(data)
        if user is not None and data.get("fp") != _password_fingerprint(user):
            raise _spent(user) from exc
        raise InvitationExpired() from exc
    except BadSignature as exc:
        raise InvalidToken() from exc
    user = _active_user(data)
    if user is None:
        raise InvalidToken()
    if data.get("fp") != _password_fingerprint(user):
        raise _spent(user)
    return user


def _spent(user: User) -> InvalidToken:
    """Why a well-signed invitation link no longer fits its account."""
    return InvitationUsed() if user.password_hash else InvitationReplaced()


def _decoded(serializer: URLSafeTimedSerializer, payload: object) -> dict[str, object]:
    """An expired token's payload, which itsdangerous hands over still encoded."""
    try:
        data = serializer.load_payload(payload) if isinstance(payload, bytes) else payload
    except BadData:
        return {}
    return data if isinstance(data, dict) else {}


def _active_user(data: dict[str, object]) -> User | None:
    uid = data.get("uid")
    user = db.session.get(User, uid) if isinstance(uid, int) else None
    return user if user is not None and user.active else None


def send_invitation(user: User, actor: User | None) -> None:
    """Queue an invitation e-mail for an account without a password; the link works for
    INVITATION_DAYS and any earlier invitation link of the account stops working."""
    before = {"invited_at": _isoformat(user.invited_at)}
    user.invited_at = utcnow()
    db.session.flush()
    record_event(
        "user.invite" if before["invited_at"] is None else "user.invite_again",
        user,
        actor=actor,
        before=before,
        after={"invited_at": _isoformat(user.invited_at)},
        company_id=user.company_id,
    )
    with force_locale("id"):
        subject = gettext("PIJAR SEMAR: you are invited to the Partner Portal")
    queue_mail(
        db.session(),
        user.email,
        subject,
        "emails/account_invitation.txt",
        user=user,
        inviter=actor,
        token=make_invitation_token(user),
        days=invitation_days(),
    )


def _isoformat(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None
