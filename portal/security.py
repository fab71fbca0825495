"""Safe redirects, security headers and the permission decorator views share."""

from __future__ import annotations

import io
import time
from collections.abc import Callable
from functools import wraps
from typing import IO, Any, TypeVar
from urllib.parse import unquote, urlsplit

from flask import Request, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.permissions import Permission, can
from portal.extensions import db, login_manager
from portal.regions.scope import ALL, current_region, serve_region

F = TypeVar("F", bound=Callable[..., Any])


class PortalRequest(Request):
    """Uploads (rosters, claims, bank statements) hold personal data: their bytes stay in
    memory (bounded by MAX_CONTENT_LENGTH) and are never spooled to an unencrypted temporary
    file on disk, as Werkzeug does for large ones by default."""

    def _get_file_stream(  # type: ignore[override]
        self,
        total_content_length: int | None,
        content_type: str | None,
        filename: str | None = None,
        content_length: int | None = None,
    ) -> IO[bytes]:
        return io.BytesIO()


def safe_next(target: str | None, fallback: str = "public.index") -> str:
    """A local path to go to after login; anything that could leave the site is dropped."""
    if not target:
        return url_for(fallback)
    decoded = unquote(target)
    if any(ch in decoded for ch in ("\\", "\r", "\n", "\t")) or not decoded.startswith("/"):
        return url_for(fallback)
    if decoded.startswith("//"):
        return url_for(fallback)
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return url_for(fallback)
    return target


def require(permission: Permission) -> Callable[[F], F]:
    """Login required, then the role must grant the permission (403 otherwise)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if not can(current_user, permission):
                abort(403)
            return view(*args, **kwargs)

        wrapped.required_permission = permission  # type: ignore[attr-defined]
        return wrapped  # type: ignore[return-value]

    return decorator


def require_recent_login(view: F) -> F:
    """The password must have been given within RECENT_LOGIN_MINUTES (sensitive actions:
    exports of personal data, approvals, refunds, rule changes). A form sent on a stale login
    is not acted on: the user confirms the password and is brought back to the page the form
    was on, to send it again."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        limit = current_app.config["RECENT_LOGIN_MINUTES"] * 60
        if time.time() - session.get("auth_at", 0) > limit:
            if request.method in ("GET", "HEAD"):
                back = request.full_path
            else:
                back = _referring_path()
                flash(_l("Confirm your password, then send the form again."), "warning")
            return redirect(url_for("auth.confirm_password", next=back))
        return view(*args, **kwargs)

    return wrapped  # type: ignore[return-value]


def _referring_path() -> str:
    """The path of the page a form was sent from, when it is this site's; else the home."""
    referrer = urlsplit(request.referrer or "")
    if referrer.netloc and referrer.netloc != request.host:
        return url_for("auth.home")
    path = referrer.path + (f"?{referrer.query}" if referrer.query else "")
    return safe_next(path, fallback="auth.home")


def load_owned(model: type, object_id: Any, permission: Permission) -> Any:
    """Fetch an object and check it in one call: 404 for missing and for other companies'."""
    obj = db.session.get(model, object_id)
    if obj is None or not can(current_user, permission, obj):
        abort(404)
    region = getattr(obj, "region_code", None)
    if region is not None and current_region() == ALL:
        serve_region(region)  # a sponsor acting on a pledge acts in the pledge's region
    return obj
