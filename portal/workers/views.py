"""Staff pages of the worker register: list, detail, edit, status, export."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.audit.services import record_event
from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission, can
from portal.extensions import db
from portal.labels import label
from portal.pagination import paginate_rows
from portal.security import load_owned, require, require_recent_login
from portal.workers import queries, services
from portal.workers.eligibility import facts_of, ineligibility_reasons
from portal.workers.exceptions import DetailsDisagreeWithNik, IllegalStatusChange
from portal.workers.exports import export_register
from portal.workers.forms import StatusForm, WorkerForm
from portal.workers.models import InactiveReason, Worker, WorkerStatus

bp = Blueprint("workers", __name__)


def _month() -> date:
    return date.today().replace(day=1)


@bp.get("/staff/workers")
@require(Permission.WORKER_READ)
def register():  # type: ignore[no-untyped-def]
    filters = queries.RegisterFilters.from_args(request.args)
    page = paginate_rows(
        queries.register_select(filters, _month()), request.args.get("page", 1, type=int)
    )
    return render_template(
        "workers/register.html",
        page=page,
        filters=filters,
        choices=queries.filter_choices(),
        month=_month(),
    )


@bp.post("/staff/workers")
@require(Permission.WORKER_READ)
def search():  # type: ignore[no-untyped-def]
    """The search form is posted, so the text typed (a NIK) is never in a URL; the result's
    link carries it encrypted."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    filters = queries.RegisterFilters.from_form(request.form)
    return redirect(url_for("workers.register", **filters.as_args()))


@bp.get("/staff/workers/<int:worker_id>")
@require(Permission.WORKER_READ)
def detail(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_READ)
    pii = None
    if can(current_user, Permission.WORKER_VIEW_PII):
        pii = {"nik": services.worker_nik(worker), "phone": services.worker_phone(worker)}
        services.record_pii_view(worker, current_user)
        db.session.commit()
    reasons = ineligibility_reasons(facts_of(worker), _month())
    return render_template(
        "workers/detail.html",
        worker=worker,
        pii=pii,
        reasons=[label(f"ineligible.{r}") for r in reasons],
        history=queries.worker_history(worker.id),
        trail=queries.worker_audit_trail(worker.id),
        coverage=queries.worker_coverage(worker.id),
        status_form=StatusForm(),
    )


@bp.route("/staff/workers/<int:worker_id>/edit", methods=["GET", "POST"])
@require(Permission.WORKER_EDIT)
def edit(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_EDIT)
    if worker.erased_at is not None:
        flash(gettext("The personal data of this worker was erased; nothing can be edited."))
        return redirect(url_for("workers.detail", worker_id=worker.id))
    form = WorkerForm(obj=worker) if request.method == "GET" else WorkerForm()
    _fill_choices(form)
    if request.method == "GET":
        form.phone.data = services.worker_phone(worker)
    elif form.validate_on_submit():
        try:
            services.update_worker(worker, _details(form), actor=current_user)
        except DetailsDisagreeWithNik as error:
            form.birth_date.errors = [str(error)]
        else:
            db.session.commit()
            flash(gettext("The worker's details are saved."), "success")
            return redirect(url_for("workers.detail", worker_id=worker.id))
    status = 400 if request.method == "POST" else 200
    return render_template("workers/edit.html", worker=worker, form=form), status


def _fill_choices(form: WorkerForm) -> None:
    choices = queries.filter_choices()
    form.category_id.choices = [(c.id, c.name_id) for c in choices["categories"]]
    form.kelurahan_code.choices = [
        (k.code, f"{k.name} ({k.kecamatan.name})") for k in choices["kelurahan"]
    ]


def _details(form: WorkerForm) -> services.WorkerDetails:
    return services.WorkerDetails(
        full_name=form.full_name.data.strip(),
        birth_date=form.birth_date.data,
        sex=form.sex.data,
        category_id=form.category_id.data,
        kelurahan_code=form.kelurahan_code.data,
        address=(form.address.data or "").strip(),
        phone=form.phone.data or None,
        kpj=form.kpj.data or None,
        dtsen_decile=form.dtsen_decile.data,
        domicile_flag=form.domicile_flag.data,
        other_membership=form.other_membership.data,
    )


@bp.post("/staff/workers/<int:worker_id>/status")
@require(Permission.WORKER_EDIT)
def change_status(worker_id: int):  # type: ignore[no-untyped-def]
    worker = load_owned(Worker, worker_id, Permission.WORKER_EDIT)
    form = StatusForm()
    if not form.validate_on_submit():
        flash(gettext("Choose a status and write a note of at least 3 characters."), "danger")
        return redirect(url_for("workers.detail", worker_id=worker.id))
    reason = InactiveReason(form.reason.data) if form.reason.data else None
    try:
        services.change_worker_status(
            worker, WorkerStatus(form.status.data), current_user, form.note.data, reason=reason
        )
    except IllegalStatusChange as error:
        details = ", ".join(label(f"ineligible.{r}") for r in error.reasons)
        flash(gettext("The status was not changed: %(why)s", why=details or str(error)), "danger")
        return redirect(url_for("workers.detail", worker_id=worker.id))
    db.session.commit()  # R7 moves the worker's coverage on a job worker (coverage/handlers.py)
    flash(gettext("Status changed to %(status)s.", status=label(worker.status)), "success")
    if worker.status != WorkerStatus.ELIGIBLE:
        flash(
            gettext(
                "In a moment, this worker's coverage from next month on passes to the next "
                "worker on the list (rule R7)."
            ),
            "info",
        )
    return redirect(url_for("workers.detail", worker_id=worker.id))


@bp.get("/staff/workers/export.<fmt>")
@require(Permission.WORKER_EXPORT)
@require_recent_login
def export(fmt: str):  # type: ignore[no-untyped-def]
    if fmt not in ("csv", "xlsx"):
        abort(404)
    filters = queries.RegisterFilters.from_args(request.args)
    body, count = export_register(filters, _month(), fmt)
    record_event(
        "worker.export",
        actor=current_user,
        after={"format": fmt, "rows": count, "filters": filters.described()},
    )
    db.session.commit()
    mimetype = (
        "text/csv"
        if fmt == "csv"
        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": (
                f'attachment; filename="register-pekerja-{_month():%Y-%m}.{fmt}"'
            ),
            "Cache-Control": "no-store",
        },
    )
