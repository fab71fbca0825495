"""The admin's view of background work: counts by state and failed jobs with a retry."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import select
from werkzeug.wrappers import Response

from portal.audit.services import record_event
from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.jobs import event_counts, huey, relay, retry_failed
from portal.regions.scope import current_region
from portal.security import require

bp = Blueprint("jobs", __name__)


@bp.get("/admin/jobs")
@require(Permission.JOBS_MANAGE)
def index():  # type: ignore[no-untyped-def]
    counts = event_counts()
    failed = db.session.scalars(
        select(OutboxEvent)
        .where(
            OutboxEvent.status.in_([EventStatus.FAILED, EventStatus.RETRYING]),
            OutboxEvent.region_code == current_region(),  # an admin sees their region's jobs
        )
        .order_by(OutboxEvent.id.desc())
        .limit(200)
    ).all()
    return render_template(
        "jobs/index.html",
        counts=counts,
        failed=failed,
        queued=huey.pending_count(),
        form=ConfirmForm(),
    )


@bp.post("/admin/jobs/<int:event_id>/retry")
@require(Permission.JOBS_MANAGE)
def retry(event_id: int) -> Response:
    event = db.get_or_404(OutboxEvent, event_id)
    if event.region_code != current_region():
        abort(404)  # another region's job
    if ConfirmForm().validate_on_submit() and retry_failed(event_id):
        record_event("jobs.retry", db.session.get_one(OutboxEvent, event_id), actor=current_user)
        db.session.commit()
        relay(force=True)
        flash(gettext("The job is queued again."), "success")
    else:
        flash(gettext("Only a failed job can be retried."), "warning")
    return redirect(url_for("jobs.index"))
