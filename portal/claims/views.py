"""Staff pages for claims: the list, one claim, record a claim, import a claim file, and a
claim's story for sponsors' reports (write, approve, withdraw)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.claims import queries, services, stories
from portal.claims.exceptions import (
    ClaimError,
    DuplicateClaim,
    InvalidClaim,
    InvalidClaimFile,
    NotCovered,
    StoryNotAnonymous,
)
from portal.claims.forms import ClaimForm, ClaimUploadForm, StoryForm
from portal.claims.models import Claim, ClaimKind
from portal.claims.services import ClaimImport, RejectedRow
from portal.coverage.models import Funder
from portal.extensions import db
from portal.i18n import long_date, month_label
from portal.pagination import paginate_rows
from portal.pledges.models import Pledge
from portal.security import require
from portal.workers.models import InactiveReason, WorkerStatus

bp = Blueprint("claims", __name__, url_prefix="/claims")

IDENTIFYING = {
    "name": _l("the worker's name"),
    "number": _l("a long number (NIK, KPJ or phone)"),
    "email": _l("an e-mail address"),
}


@bp.get("/")
@require(Permission.CLAIM_READ)
def index():  # type: ignore[no-untyped-def]
    filters = queries.ClaimFilters.from_args(request.args)
    with_names = can(current_user, Permission.CLAIM_MANAGE)
    page = paginate_rows(
        queries.claims_select(filters, with_names), request.args.get("page", 1, type=int)
    )
    return render_template(
        "claims/index.html",
        page=page,
        filters=filters,
        with_names=with_names,
        kinds=list(ClaimKind),
        funders=list(Funder),
    )


@bp.get("/<int:claim_id>")
@require(Permission.CLAIM_READ)
def detail(claim_id: int):  # type: ignore[no-untyped-def]
    claim = db.get_or_404(Claim, claim_id)
    return _detail_page(claim, StoryForm(story=claim.story))


def _detail_page(claim: Claim, story_form: StoryForm) -> str:
    worker = claim.worker
    deceased = (
        worker.status == WorkerStatus.INACTIVE and worker.inactive_reason == InactiveReason.DECEASED
    )
    pledge = db.session.get(Pledge, claim.pledge_id) if claim.pledge_id else None
    approver = db.session.get(User, claim.story_approved_by_id) if claim.story_approved else None
    return render_template(
        "claims/detail.html",
        claim=claim,
        worker=worker,
        pledge=pledge,
        with_names=can(current_user, Permission.CLAIM_MANAGE),
        death_hint=claim.kind == ClaimKind.JKM and not deceased,
        story_form=story_form,
        approver=approver,
    )


@bp.post("/<int:claim_id>/story")
@require(Permission.CLAIM_MANAGE)
def story(claim_id: int):  # type: ignore[no-untyped-def]
    """Save a claim's story, and approve it for sponsors when that button was pressed."""
    claim = db.get_or_404(Claim, claim_id)
    form = StoryForm()
    if not form.validate():
        return _detail_page(claim, form), 400
    try:
        changed = stories.update_story(claim, form.story.data or "", current_user)
        if form.approve.data:
            stories.approve_story(claim, current_user)
    except ClaimError as error:
        db.session.rollback()
        form.story.errors.append(_story_error(error, form.story.data or ""))
        return _detail_page(db.get_or_404(Claim, claim_id), form), 400
    db.session.commit()
    if form.approve.data:
        flash(gettext("The story is approved: sponsors see it in their reports."), "success")
    elif changed:
        flash(gettext("Story saved. Sponsors see it once it is approved."), "success")
    return redirect(url_for("claims.detail", claim_id=claim.id))


@bp.post("/<int:claim_id>/story/withdraw")
@require(Permission.CLAIM_MANAGE)
def withdraw_story(claim_id: int):  # type: ignore[no-untyped-def]
    claim = db.get_or_404(Claim, claim_id)
    stories.withdraw_story(claim, current_user)
    db.session.commit()
    flash(gettext("The approval is withdrawn: sponsors no longer see the story."), "success")
    return redirect(url_for("claims.detail", claim_id=claim.id))


def _story_error(error: ClaimError, text: str) -> str:
    """Why a story was refused, worded for the reader."""
    if isinstance(error, StoryNotAnonymous):
        found = ", ".join(str(IDENTIFYING[part]) for part in error.found)
        return gettext(
            "Not approved: the story may identify the worker (%(found)s). Remove it and try again.",
            found=found,
        )
    if not text.strip():
        return gettext("Write a story before approving it.")
    return gettext("The story is longer than 500 characters.")


@bp.route("/new", methods=["GET", "POST"])
@require(Permission.CLAIM_MANAGE)
def new():  # type: ignore[no-untyped-def]
    form = ClaimForm()
    if not form.is_submitted():
        return _form_page(form)
    if not form.validate():
        return _form_page(form), 400
    worker = queries.worker_by_nik(form.nik.data)
    if worker is None:
        form.nik.errors.append(gettext("No worker with this NIK is on the register."))
        return _form_page(form), 400
    try:
        claim = services.record_claim(
            worker,
            form.event_date.data,
            form.kind.data,
            services.parse_amount(form.amount.data) or 0,
            form.story.data or "",
            current_user,
        )
    except ClaimError as error:
        db.session.rollback()
        _field_error(form, error)
        return _form_page(form), 400
    db.session.commit()
    flash(gettext("Claim #%(id)s recorded.", id=claim.id), "success")
    return redirect(url_for("claims.detail", claim_id=claim.id))


def _form_page(form: ClaimForm) -> str:
    return render_template("claims/new.html", form=form)


def _field_error(form: ClaimForm, error: ClaimError) -> None:
    """The service's refusal, worded for the reader, under the field it concerns."""
    when = form.event_date.data
    if isinstance(error, NotCovered):
        form.event_date.errors.append(
            gettext(
                "This worker was not covered in %(month)s: no funder paid that month, so no "
                "claim can be recorded for it.",
                month=month_label(when),
            )
        )
    elif isinstance(error, DuplicateClaim):
        form.event_date.errors.append(
            gettext(
                "A %(kind)s claim for this worker on %(date)s is recorded already.",
                kind=form.kind.data.upper(),
                date=long_date(when),
            )
        )
    elif isinstance(error, InvalidClaim) and error.field in form:
        form[error.field].errors.append(str(error))
    else:
        form.nik.errors.append(str(error))


@bp.route("/import", methods=["GET", "POST"])
@require(Permission.CLAIM_MANAGE)
def upload():  # type: ignore[no-untyped-def]
    form = ClaimUploadForm()
    if not form.is_submitted():
        return _upload_page(form, None)
    if not form.validate():
        return _upload_page(form, None), 400
    try:
        report = services.import_claims(
            form.claims.data.read(), current_user, dry_run=form.dry_run.data
        )
    except (InvalidClaimFile, DuplicateClaim) as error:
        db.session.rollback()
        form.claims.errors.append(gettext("Nothing was imported: %(why)s", why=str(error)))
        return _upload_page(form, None), 400
    if report.ok and not report.dry_run:
        db.session.commit()
        flash(gettext("%(n)s claims recorded.", n=report.recorded), "success")
        return redirect(url_for("claims.index"))
    db.session.rollback()
    return _upload_page(form, report)


def _upload_page(form: ClaimUploadForm, report: ClaimImport | None) -> str:
    reasons = [(row, describe_rejection(row)) for row in report.rejected] if report else []
    return render_template("claims/upload.html", form=form, report=report, reasons=reasons)


def describe_rejection(row: RejectedRow) -> str:
    """The reason for a refused cell, in the reader's language."""
    return str(row.message)
