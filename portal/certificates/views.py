"""The certificate PDF for its company and staff, and the public verify pages."""

from __future__ import annotations

from flask import Blueprint, Response, abort, current_app, render_template, url_for
from flask_login import current_user

from portal.auth.permissions import Permission, can
from portal.certificates import services, signing
from portal.certificates.models import Certificate
from portal.certificates.pdf import render_certificate
from portal.extensions import db, login_manager

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


@bp.get("/verify/<serial>")
def verify(serial: str):  # type: ignore[no-untyped-def]
    verdict = services.verdict_for(serial)
    status = 404 if verdict.status == "unknown" else 200
    return render_template("certificates/verify.html", serial=serial, verdict=verdict), status


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
