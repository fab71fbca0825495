"""Staff pages for roster imports: upload, check, progress, error report, import."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    flash,
    jsonify,
    redirect,
    render_template,
    url_for,
)
from flask_babel import gettext
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.csvtext import MAX_ROWS
from portal.extensions import db
from portal.security import require
from portal.workers import jobs, queries
from portal.workers.forms import RosterUploadForm
from portal.workers.models import ImportJob, ImportState
from portal.workers.sealed import SealedFileError
from portal.workers.views import bp


def _job(token: str) -> ImportJob:
    job = queries.import_job(token)
    if job is None:
        abort(404)
    return job


@bp.get("/staff/workers/import")
@require(Permission.WORKER_IMPORT)
def import_start():  # type: ignore[no-untyped-def]
    return render_template(
        "workers/import.html",
        form=RosterUploadForm(),
        recent=queries.recent_import_jobs(),
        max_rows=MAX_ROWS,
    )


@bp.post("/staff/workers/import")
@require(Permission.WORKER_IMPORT)
def import_upload():  # type: ignore[no-untyped-def]
    form = RosterUploadForm()
    if not form.validate_on_submit():
        return render_template(
            "workers/import.html",
            form=form,
            recent=queries.recent_import_jobs(),
            max_rows=MAX_ROWS,
        ), 400
    upload = form.roster.data
    job = jobs.create_import_job(
        upload.stream, upload.filename or "roster", form.update_existing.data, current_user.id
    )
    db.session.commit()  # a job worker checks it; this request only stored it, sealed
    return redirect(url_for("workers.import_job", token=job.token))


@bp.get("/staff/workers/import/<token>")
@require(Permission.WORKER_IMPORT)
def import_job(token: str):  # type: ignore[no-untyped-def]
    job = _job(token)
    return render_template(
        "workers/import_job.html",
        job=job,
        progress=jobs.job_progress(job),
        confirm_form=ConfirmForm(),
    )


@bp.get("/staff/workers/import/<token>/status.json")
@require(Permission.WORKER_IMPORT)
def import_status(token: str):  # type: ignore[no-untyped-def]
    return jsonify(jobs.job_progress(_job(token)))


REJECTED_TYPES = {
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "csv": "text/csv",
}


@bp.get("/staff/workers/import/<token>/rejected.<fmt>")
@require(Permission.WORKER_IMPORT)
def import_rejected(token: str, fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in REJECTED_TYPES:
        abort(404)
    try:
        body = jobs.rejected_download(_job(token), fmt)
    except SealedFileError:
        flash(gettext("The rejected rows could not be read back; check the file again."), "danger")
        return redirect(url_for("workers.import_job", token=token))
    if body is None:
        abort(404)
    return Response(
        body,
        mimetype=REJECTED_TYPES[fmt],
        headers={
            "Content-Disposition": f'attachment; filename="baris-ditolak-{token[:8]}.{fmt}"',
            "Cache-Control": "no-store",
        },
    )


@bp.post("/staff/workers/import/<token>/run")
@require(Permission.WORKER_IMPORT)
def import_run(token: str):  # type: ignore[no-untyped-def]
    checked = _job(token)
    if (
        not ConfirmForm().validate_on_submit()
        or not checked.dry_run
        or checked.state != ImportState.DONE
    ):
        flash(gettext("This file cannot be imported from here; upload it again."), "warning")
        return redirect(url_for("workers.import_job", token=token))
    started = jobs.import_of(checked)
    if started is not None:  # a second click, or another tab
        return redirect(url_for("workers.import_job", token=started.token))
    job = jobs.create_import_job(
        b"",
        checked.filename,
        checked.update_existing,
        current_user.id,
        dry_run=False,
        stored_path=checked.stored_path,
    )
    db.session.commit()  # a job worker runs it now
    return redirect(url_for("workers.import_job", token=job.token))
