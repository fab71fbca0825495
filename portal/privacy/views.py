"""Staff pages for a worker's rights: export everything held about them, erase it on request.

Routes carry the worker's register number only: a NIK never appears in a URL.
"""

from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response as Redirect

from portal.auth.permissions import Permission
from portal.extensions import db
from portal.privacy import documents, queries, services
from portal.privacy.exceptions import AlreadyErased
from portal.privacy.forms import EraseForm
from portal.security import load_owned, require, require_recent_login
from portal.workers.models import Worker

bp = Blueprint("privacy", __name__)


def _download(body: bytes, mimetype: str, worker: Worker, extension: str) -> Response:
    """Straight from memory to the response; the file name holds the register number only."""
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": (
                f'attachment; filename="data-pribadi-pekerja-{worker.id}.{extension}"'
            ),
            "Cache-Control": "no-store",
        },
    )


@bp.get("/staff/workers/<int:worker_id>/privacy/export.json")
@require(Permission.WORKER_PRIVACY)
@require_recent_login
def export_json(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_PRIVACY)
    body = documents.record_json(queries.worker_record(worker))
    services.record_export(worker, current_user, "json")
    db.session.commit()
    return _download(body, "application/json", worker, "json")


@bp.get("/staff/workers/<int:worker_id>/privacy/export.pdf")
@require(Permission.WORKER_PRIVACY)
@require_recent_login
def export_pdf(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_PRIVACY)
    body = documents.record_pdf(queries.worker_record(worker))
    services.record_export(worker, current_user, "pdf")
    db.session.commit()
    return _download(body, "application/pdf", worker, "pdf")


@bp.route("/staff/workers/<int:worker_id>/privacy/erase", methods=["GET", "POST"])
@require(Permission.WORKER_PRIVACY)
@require_recent_login
def erase(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_PRIVACY)
    if worker.erased_at is not None:
        return _already_erased(worker_id)
    form = EraseForm()
    if form.validate_on_submit():
        try:
            services.erase_worker(worker, current_user, form.reason.data)
        except AlreadyErased:  # a concurrent erasure got there first
            db.session.rollback()
            return _already_erased(worker_id)
        db.session.commit()  # R7 moves the worker's later coverage on a job worker
        flash(
            gettext(
                "The personal data was erased. The register now shows this worker as %(name)s.",
                name=worker.full_name,
            ),
            "success",
        )
        return redirect(url_for("workers.detail", worker_id=worker.id))
    status = 400 if request.method == "POST" else 200
    return render_template(
        "privacy/erase.html",
        worker=worker,
        form=form,
        unremitted=queries.unremitted_months(worker.id),
        later_months=queries.later_months(worker.id),
    ), status


def _already_erased(worker_id: int) -> Redirect:
    flash(
        gettext("The personal data of this worker was erased already; it cannot be repeated."),
        "info",
    )
    return redirect(url_for("workers.detail", worker_id=worker_id))
