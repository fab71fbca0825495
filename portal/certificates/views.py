"""The certificate PDF for its company and staff, and the public verify pages."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from portal.auth.permissions import Permission, can
from portal.certificates import services, signing
from portal.certificates.models import Certificate
from portal.certificates.pdf import render_certificate
from portal.extensions import db, login_manager
from portal.i18n import current_locale, long_date, month_label

bp = Blueprint("certificates", __name__)


@bp.get("/certificates/<int:certificate_id>.pdf")
def certificate_pdf(certificate_id: int):  # type: ignore[no-untyped-def]
    """The company's own certificates for its users; every certificate for staff."""
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    certificate = db.session.get(Certificate, certificate_id)
    if certificate is None or not (
        can(current_user, Permission.PLEDGE_LIST)
        or can(current_user, Permission.PLEDGE_VIEW, certificate)
    ):
        abort(404)
    body = render_certificate(
        services.json_payload(certificate),
        certificate.payload,
        certificate.signature,
        verify_url(certificate.serial),
    )
    return Response(
        body,
        mimetype="application/pdf",
        headers={
            "Content-Disposition": f'attachment; filename="{certificate.serial}.pdf"',
            "Cache-Control": "no-store",
        },
    )


def verify_url(serial: str) -> str:
    return current_app.config["PUBLIC_BASE_URL"] + url_for("certificates.verify", serial=serial)


@bp.get("/verify")
def verify_form():  # type: ignore[no-untyped-def]
    """A box to type a serial in; the serial is normalised before it is looked up."""
    typed = request.args.get("serial", "")
    if typed.strip():
        return redirect(url_for("certificates.verify", serial=services.normalise_serial(typed)))
    return render_template("certificates/verify_form.html")


@bp.get("/verify/<serial>")
def verify(serial: str):  # type: ignore[no-untyped-def]
    canonical = services.normalise_serial(serial)
    if canonical and canonical != serial:
        return redirect(url_for("certificates.verify", serial=canonical))
    verdict = services.verdict_for(serial)
    status = 404 if verdict.status == "unknown" else 200
    return render_template(
        "certificates/verify.html",
        serial=serial,
        verdict=verdict,
        revoked_because=(
            services.public_revoke_reason(verdict.certificate)
            if verdict.status == "revoked" and verdict.certificate is not None
            else ""
        ),
        period=_period(verdict.facts or {}),
        issued=_issued(verdict.facts or {}),
    ), status


def _issued(facts: dict[str, object]) -> str:
    try:
        return long_date(datetime.fromisoformat(str(facts["issued_at"]).replace("Z", "+00:00")))
    except (KeyError, ValueError):
        return ""


def _period(facts: dict[str, object]) -> str:
    """'2027-01'..'2027-06' -> 'Januari–Juni 2027' (in the page's language)."""
    try:
        start = date.fromisoformat(f"{facts['period_from']}-01")
        end = date.fromisoformat(f"{facts['period_to']}-01")
    except (KeyError, TypeError, ValueError):
        return ""
    if start.year == end.year:
        first = format_date(start, format="LLLL", locale=current_locale())
        return f"{first}–{month_label(end)}" if start != end else month_label(end)
    return f"{month_label(start)} – {month_label(end)}"


@bp.get("/verify/public-key")
def public_key():  # type: ignore[no-untyped-def]
    key = services.public_key()
    body = signing.public_pem(key)
    return Response(
        body,
        mimetype="text/plain",
        headers={
            "Content-Disposition": 'inline; filename="pijar-semar-certificates.pem"',
            "X-Key-Id": signing.key_id(key),
        },
    )
