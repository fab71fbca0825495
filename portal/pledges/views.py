"""Sponsor pages for pledges: wizard with price preview, detail, edit, delete, commit."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.certificates.services import pledge_certificates
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import month_label
from portal.matching import queries as matching_queries
from portal.matching.estimate import expected_available
from portal.payments import refunds
from portal.payments import services as payment_services
from portal.payments.issues import open_issues_of
from portal.payments.models import PaymentMethod, PaymentStatus
from portal.payments.queries import pledge_documents, pledge_payments, pledge_refunds
from portal.payments.unused import waiting_for_decision
from portal.pledges import queries, services
from portal.pledges.exceptions import (
    CompanyNotVerified,
    IllegalPledgeTransition,
    InvalidPledge,
    NoRateInForce,
)
from portal.pledges.forms import PledgeForm, RolloverForm, TargetForm
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import MonthPrice, add_months, group_periods, price_pledge, total
from portal.reports.figures import placement as sponsor_placement
from portal.security import load_owned, require

bp = Blueprint("pledges", __name__)


def _company() -> Company:
    return load_owned(Company, current_user.company_id, Permission.PLEDGE_VIEW)


def _form(obj: Pledge | None = None) -> PledgeForm:
    form = PledgeForm()
    first = services.first_open_start()
    months = [add_months(first, n) for n in range(12)]
    form.start_month.choices = [(m.isoformat(), month_label(m)) for m in months]
    categories, kecamatan = queries.target_choices()
    form.categories.choices = [(c.code, c.name_id) for c in categories]
    form.kecamatan.choices = [(k.code, k.name) for k in kecamatan]
    if obj is not None and request.method == "GET":
        form.workers.data, form.months.data = obj.workers, obj.months
        form.start_month.data = obj.start_month.isoformat()
        form.categories.data = list(obj.target_categories)
        form.kecamatan.data = list(obj.target_kecamatan)
    return form


def target_form(pledge: Pledge | None = None) -> TargetForm:
    form = TargetForm()
    categories, kecamatan = queries.target_choices()
    form.categories.choices = [(c.code, c.name_id) for c in categories]
    form.kecamatan.choices = [(k.code, k.name) for k in kecamatan]
    if pledge is not None and not form.is_submitted():
        form.categories.data = list(pledge.target_categories)
        form.kecamatan.data = list(pledge.target_kecamatan)
    return form


def rollover_form() -> RolloverForm:
    form = RolloverForm()
    first = services.first_open_start()
    form.start_month.choices = [
        (m.isoformat(), month_label(m)) for m in (add_months(first, n) for n in range(12))
    ]
    return form


def _terms(form: PledgeForm) -> services.PledgeTerms:
    return services.PledgeTerms(
        form.workers.data,
        form.months.data,
        date.fromisoformat(form.start_month.data),
        tuple(form.categories.data or ()),
        tuple(form.kecamatan.data or ()),
    )


def _preview(form: PledgeForm) -> dict[str, object]:
    terms = _terms(form)
    lines: list[MonthPrice] = price_pledge(terms.workers, terms.months, terms.start_month)
    waiting = expected_available(terms.start_month, terms.categories, terms.kecamatan)
    return {
        "periods": group_periods([line.as_json() for line in lines]),
        "total": total(lines),
        "waiting": waiting,
        "workers": terms.workers,
    }


@bp.get("/pledges")
@require(Permission.PLEDGE_VIEW)
def index():  # type: ignore[no-untyped-def]
    company = _company()
    waiting = {w.pledge_id: w.amount for w in waiting_for_decision(company.id)}
    return render_template(
        "pledges/index.html",
        company=company,
        waiting=waiting,
        pledges=queries.company_pledges(company.id),
    )


@bp.route("/pledges/new", methods=["GET", "POST"])
@require(Permission.PLEDGE_MANAGE)
def new():  # type: ignore[no-untyped-def]
    company = _company()
    form = _form()
    preview = None
    if form.validate_on_submit():
        try:
            if "save" in request.form:
                pledge = services.create_pledge(company, current_user, _terms(form))
                db.session.commit()
                flash(gettext("Draft saved. Check it, then commit to pay."), "success")
                return redirect(url_for("pledges.detail", pledge_id=pledge.id))
            preview = _preview(form)
        except (InvalidPledge, NoRateInForce) as error:
            flash(gettext("This pledge cannot be made: %(why)s", why=str(error)), "danger")
    status = 400 if request.method == "POST" and form.errors else 200
    return render_template("pledges/new.html", form=form, preview=preview, company=company), status


@bp.get("/pledges/<int:pledge_id>")
@require(Permission.PLEDGE_VIEW)
def detail(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_VIEW)
    return render_template("pledges/detail.html", **_detail_context(pledge))


def _detail_context(pledge: Pledge) -> dict[str, object]:
    placement = None
    if pledge.coverage_start is not None:  # counts of the workers placed, never who
        placement = sponsor_placement(
            matching_queries.placement_profile(pledge.id),
            matching_queries.covered_slot_months(pledge.id),
        )
    return {
        "pledge": pledge,
        "company": db.session.get(Company, pledge.company_id),
        "periods": group_periods(pledge.price_breakdown),
        "confirm_form": ConfirmForm(),
        "payments": pledge_payments(pledge.id),
        "documents": pledge_documents(pledge.id),
        "refunds": pledge_refunds(pledge.id),
        "timeline": queries.pledge_timeline(pledge.id),
        "waiting": expected_available(
            max(pledge.start_month, services.first_open_start()),
            pledge.target_categories,
            pledge.target_kecamatan,
            exclude_pledge=pledge.id,
        ),
        "placement": placement,
        "certificates": pledge_certificates(pledge.id),
        **_money_context(pledge),
    }


def _money_context(pledge: Pledge) -> dict[str, object]:
    """What is open, owed or unused on the pledge, and the sponsor's choices for unused money."""
    payments = pledge_payments(pledge.id)
    awaiting = pledge.status == PledgeStatus.AWAITING_PAYMENT
    return {
        "open_transfer": next(
            (
                p
                for p in payments
                if p.status == PaymentStatus.PENDING and p.method == PaymentMethod.BANK_TRANSFER
            ),
            None,
        ),
        "outstanding": payment_services.outstanding(pledge) if awaiting else 0,
        "issues": open_issues_of(pledge.id),
        "unassigned": refunds.unassigned(pledge.id),
        "target_form": target_form(pledge),
        "rollover_form": rollover_form(),
    }


@bp.route("/pledges/<int:pledge_id>/edit", methods=["GET", "POST"])
@require(Permission.PLEDGE_MANAGE)
def edit(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    form = _form(pledge)
    preview = None
    if form.validate_on_submit():
        try:
            if "save" in request.form:
                services.update_draft(pledge, current_user, _terms(form))
                db.session.commit()
                return redirect(url_for("pledges.detail", pledge_id=pledge.id))
            preview = _preview(form)
        except (InvalidPledge, NoRateInForce, IllegalPledgeTransition) as error:
            flash(gettext("This pledge cannot be changed: %(why)s", why=str(error)), "danger")
    return render_template(
        "pledges/new.html", form=form, preview=preview, pledge=pledge, company=_company()
    )


@bp.post("/pledges/<int:pledge_id>/delete")
@require(Permission.PLEDGE_MANAGE)
def delete(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if ConfirmForm().validate_on_submit():
        try:
            services.delete_draft(pledge, current_user)
        except IllegalPledgeTransition:
            flash(gettext("Only drafts can be deleted."), "warning")
            return redirect(url_for("pledges.detail", pledge_id=pledge_id))
        db.session.commit()
        flash(gettext("Draft deleted."), "info")
    return redirect(url_for("pledges.index"))


@bp.post("/pledges/<int:pledge_id>/submit")
@require(Permission.PLEDGE_MANAGE)
def submit(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if ConfirmForm().validate_on_submit():
        try:
            services.submit_pledge(pledge, _company(), current_user)
        except CompanyNotVerified:
            flash(gettext("Your company must be verified before it can commit and pay."), "warning")
        except (IllegalPledgeTransition, InvalidPledge, NoRateInForce) as error:
            flash(gettext("This pledge cannot be committed: %(why)s", why=str(error)), "danger")
        else:
            db.session.commit()
            flash(gettext("Pledge committed. Choose how to pay."), "success")
    return redirect(url_for("pledges.detail", pledge_id=pledge_id))
