"""Staff pages for claims: the list, one claim, record a claim, import a claim file."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.permissions import Permission, can
from portal.claims import queries, services
from portal.claims.exceptions import (
    ClaimError,
    DuplicateClaim,
    InvalidClaim,
    InvalidClaimFile,
    NotCovered,
)
from portal.claims.forms import ClaimForm, ClaimUploadForm
from portal.claims.models import Claim, ClaimKind
from portal.claims.services import ClaimImport, RejectedRow, Rejection
from portal.coverage.models import Funder
from portal.extensions import db
from portal.i18n import long_date, month_label
from portal.pagination import paginate_rows
from portal.pledges.models import Pledge
from portal.security import require
from portal.workers.models import InactiveReason, WorkerStatus

bp = Blueprint("claims", __name__, url_prefix="/claims")

REASONS = {
    Rejection.INVALID_NIK: _l("Not a valid NIK (16 digits holding a real birth date)."),
    Rejection.UNKNOWN_NIK: _l("No worker with this NIK is on the register."),
    Rejection.NOT_COVERED: _l("The worker was not covered in %(detail)s."),
    Rejection.DUPLICATE: _l("The same worker, type and date as row %(detail)s."),
    Rejection.ALREADY_RECORDED: _l("Recorded already (claim #%(detail)s)."),
    Rejection.BAD_DATE: _l("Not a date: write DD/MM/YYYY, DD-MM-YYYY or YYYY-MM-DD."),
    Rejection.FUTURE_DATE: _l("The date is in the future."),
    Rejection.BAD_AMOUNT: _l("Not an amount in whole rupiah above 0."),
    Rejection.BAD_TYPE: _l("The type must be jkk or jkm."),
    Rejection.STORY_TOO_LONG: _l("The story is longer than 500 characters."),
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
    worker = claim.worker
    deceased = (
        worker.status == WorkerStatus.INACTIVE and worker.inactive_reason == InactiveReason.DECEASED
    )
    pledge = db.session.get(Pledge, claim.pledge_id) if claim.pledge_id else None
    return render_template(
        "claims/detail.html",
        claim=claim,
        worker=worker,
        pledge=pledge,
        with_names=can(current_user, Permission.CLAIM_MANAGE),
        death_hint=claim.kind == ClaimKind.JKM and not deceased,
    )


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
    return str(REASONS[row.reason]) % {"detail": ", ".join(row.detail)}
