"""Login, logout, password links, and admin management of staff and auditor accounts."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user, login_user, logout_user

from portal.auth import queries, services
from portal.auth.exceptions import (
    DuplicateEmail,
    InvalidCredentials,
    InvalidToken,
    InvitationExpired,
    InvitationReplaced,
    InvitationUsed,
    WeakPassword,
)
from portal.auth.forms import (
    ConfirmForm,
    ConfirmPasswordForm,
    ForgotPasswordForm,
    LoginForm,
    SetPasswordForm,
    StaffAccountForm,
)
from portal.auth.models import Role, User
from portal.auth.permissions import Permission
from portal.companies.models import Company
from portal.extensions import db, limiter
from portal.messages import Message, _m
from portal.regions.scope import current_region
from portal.security import require, safe_next

bp = Blueprint("auth", __name__)

# Each password rule broken, in words (`_m` with literal text, so the catalogue has them).
PASSWORD_MESSAGES: dict[str, Callable[[int], Message]] = {
    "too_short": lambda n: _m("Use at least %(n)s characters.", n=n),
    "too_long": lambda n: _m("Use at most 256 characters."),
    "too_common": lambda n: _m(
        "This password is too easy to guess; use a longer phrase of unrelated words."
    ),
}


def password_errors(error: WeakPassword) -> list[str]:
    n = current_app.config["PASSWORD_MIN_LENGTH"]
    return [str(PASSWORD_MESSAGES[p](n)) for p in error.problems]


def _login_limit() -> str:
    return str(current_app.config["LOGIN_RATE_LIMIT"])


def _account_limit() -> str:
    return str(current_app.config["LOGIN_ACCOUNT_RATE_LIMIT"])


def _account_key() -> str:
    return "login-account:" + services.normalise_email(request.form.get("email", ""))


@bp.route("/auth/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
@limiter.limit(_account_limit, methods=["POST"], key_func=_account_key)
def login():  # type: ignore[no-untyped-def]
    form = LoginForm(next=request.args.get("next", ""))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form)
    try:
        user = services.authenticate(form.email.data, form.password.data)
    except InvalidCredentials:
        db.session.commit()
        flash(gettext("Wrong e-mail or password."), "danger")
        return render_template("auth/login.html", form=form), 200
    sign_in(user)
    return redirect(safe_next(form.next.data, fallback="auth.home"))


def sign_in(user: User) -> None:
    """A fresh session: nothing from before login carries over; commits the unit of work."""
    session.clear()
    services.start_session(user, request.remote_addr or "", request.user_agent.string)
    db.session.commit()
    login_user(user)
    session["auth_at"] = int(time.time())


@bp.route("/auth/confirm", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def confirm_password():  # type: ignore[no-untyped-def]
    """Ask for the password again before a sensitive action (exporting personal data)."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    form = ConfirmPasswordForm(next=request.args.get("next", ""))
    if form.validate_on_submit():
        if services.confirm_password(current_user, form.password.data):
            session["auth_at"] = int(time.time())
            return redirect(safe_next(form.next.data, fallback="auth.home"))
        db.session.commit()
        form.password.errors = [gettext("Wrong password.")]
    return render_template("auth/confirm.html", form=form)


@bp.get("/home")
def home():  # type: ignore[no-untyped-def]
    """Where a login lands: the start page of the user's role."""
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    role = Role(current_user.role)
    if role.is_sponsor:
        company = db.session.get(Company, current_user.company_id)
        # Until the company is verified its own page (status, what is missing) comes first.
        verified = company is not None and company.can_pay
        return redirect(url_for("pledges.home" if verified else "companies.mine"))
    if role == Role.AUDITOR:
        return redirect(url_for("audit.events"))
    if role == Role.NATIONAL:
        return redirect(url_for("national.dashboard"))
    return redirect(url_for("companies.review_queue"))


@bp.post("/auth/logout")
def logout():  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        services.end_session(current_user)
        db.session.commit()
        logout_user()
    session.clear()
    flash(gettext("You are logged out."), "info")
    return redirect(url_for("public.index"))


@bp.route("/auth/forgot", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def forgot_password():  # type: ignore[no-untyped-def]
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        user = services.find_user_by_email(form.email.data)
        if user is not None and user.active:
            services.send_password_link(user, "emails/password_reset.txt")
            db.session.commit()
        flash(
            gettext(
                "If the address has an account, a link to set a new password is on its "
                "way. It works for one hour."
            ),
            "info",
        )
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot.html", form=form)


@bp.route("/auth/password/<token>", methods=["GET", "POST"])
def set_password(token: str):  # type: ignore[no-untyped-def]
    try:
        user = services.user_for_password_token(token)
    except InvalidToken:
        flash(gettext("This link is not valid any more. Ask for a new one."), "danger")
        return redirect(url_for("auth.forgot_password"))
    return _password_form(user)


@bp.route("/auth/invitation/<token>", methods=["GET", "POST"])
def accept_invitation(token: str):  # type: ignore[no-untyped-def]
    """An invited account sets its first password; a stale link gets a page saying why."""
    try:
        user = services.user_for_invitation_token(token)
    except InvalidToken as error:
        return _invitation_refused(error)
    return _password_form(user)


def _password_form(user: User):  # type: ignore[no-untyped-def]
    """The set-password form of a reset or an invitation link, and its submission."""
    form = SetPasswordForm()
    if form.validate_on_submit():
        try:
            services.set_password(user, form.password.data)
        except WeakPassword as error:
            form.password.errors = password_errors(error)
        else:
            db.session.commit()
            flash(gettext("Your password is set. Log in with it now."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/set_password.html", form=form, user=user)


_INVITATION_REFUSALS: dict[type[InvalidToken], tuple[str, int]] = {
    InvitationExpired: ("expired", 410),
    InvitationReplaced: ("replaced", 410),
    InvitationUsed: ("used", 410),
}


def _invitation_refused(error: InvalidToken):  # type: ignore[no-untyped-def]
    reason, status = _INVITATION_REFUSALS.get(type(error), ("invalid", 404))
    return render_template(
        "auth/invitation_refused.html", reason=reason, days=services.invitation_days()
    ), status


@bp.get("/admin/accounts")
@require(Permission.STAFF_MANAGE)
def accounts():  # type: ignore[no-untyped-def]
    users = queries.city_accounts()
    return render_template(
        "auth/accounts.html", users=users, form=StaffAccountForm(), toggle_form=ConfirmForm()
    )


@bp.post("/admin/accounts")
@require(Permission.STAFF_MANAGE)
def create_account():  # type: ignore[no-untyped-def]
    form = StaffAccountForm()
    if form.validate_on_submit():
        try:
            user = services.create_user(
                form.email.data, form.full_name.data, Role(form.role.data), actor=current_user
            )
        except DuplicateEmail:
            form.email.errors = [gettext("An account with this e-mail exists already.")]
        else:
            services.send_invitation(user, actor=current_user)
            db.session.commit()
            flash(
                gettext(
                    "Account created; an e-mail with a link to set the password "
                    "was sent to %(email)s.",
                    email=user.email,
                ),
                "success",
            )
            return redirect(url_for("auth.accounts"))
    users = queries.city_accounts()
    return render_template(
        "auth/accounts.html", users=users, form=form, toggle_form=ConfirmForm()
    ), 400


@bp.post("/admin/accounts/<int:user_id>/active")
@require(Permission.STAFF_MANAGE)
def toggle_account(user_id: int):  # type: ignore[no-untyped-def]
    form = ConfirmForm()
    user = db.get_or_404(User, user_id)
    if user.region_code != current_region():
        abort(404)  # another region's account, or a sponsor's
    if user.id == current_user.id or not form.validate_on_submit():
        flash(gettext("This account cannot be changed here."), "warning")
        return redirect(url_for("auth.accounts"))
    services.set_user_active(user, not user.active, actor=current_user)
    db.session.commit()
    return redirect(url_for("auth.accounts"))
