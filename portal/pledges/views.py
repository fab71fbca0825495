"""Sponsor pages for pledges: wizard with price preview, detail, edit, delete, commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.certificates.services import pledge_certificates
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import current_locale, month_label
from portal.matching import queries as matching_queries
from portal.matching.estimate import expected_available
from portal.payments import refunds
from portal.payments import services as payment_services
from portal.payments.issues import open_issues_of
from portal.payments.models import PaymentMethod, PaymentStatus
from portal.payments.queries import pledge_documents, pledge_payments, pledge_refunds
from portal.payments.unused import waiting_for_decision
from portal.pledges import approvals, queries, renewals, services
from portal.pledges.exceptions import (
    CompanyNotVerified,
    IllegalPledgeTransition,
    InvalidPledge,
    NoRateInForce,
    NotRenewable,
)
from portal.pledges.forms import (
    ApprovalPolicyForm,
    PledgeForm,
    RolloverForm,
    SendBackForm,
    TargetForm,
)
from portal.pledges.home import sponsor_home
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import MonthPrice, add_months, group_periods, price_pledge, total
from portal.regions import queries as region_queries
from portal.regions.models import Region
from portal.regions.scope import serve_region
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


@bp.get("/company/home")
@require(Permission.PLEDGE_VIEW)
def home():  # type: ignore[no-untyped-def]
    """The sponsor's home: what the company's money did this year, and what to do next."""
    company = _company()
    return render_template(
        "pledges/home.html", company=company, home=sponsor_home(company, current_user)
    )


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
        regions={region.code: region for region in region_queries.regions()},
    )


def _region_of_new_pledge(regions: Sequence[Region]) -> Region | None:
    """The region a new pledge is for (a company sponsors in any region): `?region=CODE`, or
    the only region there is; None when the sponsor has yet to choose. Served from here on."""
    code = request.args.get("region") or (regions[0].code if len(regions) == 1 else None)
    if code is None:
        return None
    region = next((r for r in regions if r.code == code), None)
    if region is None:
        abort(404)
    serve_region(region.code)
    return region


@bp.route("/pledges/new", methods=["GET", "POST"])
@require(Permission.PLEDGE_MANAGE)
def new():  # type: ignore[no-untyped-def]
    company = _company()
    regions = region_queries.regions()
    region = _region_of_new_pledge(regions)
    if region is None:
        chooser = render_template("pledges/choose_region.html", company=company, regions=regions)
        return chooser, 400 if request.method == "POST" else 200  # a form names its region
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
    return render_template(
        "pledges/new.html",
        form=form,
        preview=preview,
        company=company,
        region=region,
        choice=len(regions) > 1,
    ), status


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
        "target": _target_names(pledge),
        "renewable": renewals.renewable(pledge),
        "approvals_needed": approvals.approvals_needed(pledge),
        "approvers": approvals.approvers(pledge.id),
        "send_back_form": SendBackForm(),
        "renewal": renewals.renewal_of(pledge.id),
        "renews": pledge.renews_pledge_id,
        **_money_context(pledge),
    }


def _target_names(pledge: Pledge) -> list[str]:
    """The pledge's target in words: category and kecamatan names, not their codes."""
    categories, kecamatan = matching_queries.reference_names(current_locale())
    return [categories.get(c, c) for c in pledge.target_categories] + [
        kecamatan.get(k, k) for k in pledge.target_kecamatan
    ]


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
        "pledges/new.html",
        form=form,
        preview=preview,
        pledge=pledge,
        company=_company(),
        region=db.session.get(Region, pledge.region_code),
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
            outcome = approvals.commit_pledge(pledge, _company(), current_user)
        except CompanyNotVerified:
            flash(gettext("Your company must be verified before it can commit and pay."), "warning")
        except (IllegalPledgeTransition, InvalidPledge, NoRateInForce) as error:
            flash(gettext("This pledge cannot be committed: %(why)s", why=str(error)), "danger")
        else:
            db.session.commit()
            flash(*_COMMIT_MESSAGES[outcome])
    return redirect(url_for("pledges.detail", pledge_id=pledge_id))


_COMMIT_MESSAGES = {
    "committed": (_l("Pledge committed. Choose how to pay."), "success"),
    "asked": (_l("Your company's owners are asked to approve this pledge."), "info"),
    "approved": (_l("Your approval is recorded; another owner must approve too."), "info"),
}


@bp.post("/pledges/<int:pledge_id>/send-back")
@require(Permission.PLEDGE_MANAGE)
def send_back(pledge_id: int):  # type: ignore[no-untyped-def]
    """Back to draft (an owner declines, or the member who asked takes it back)."""
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    form = SendBackForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        approvals.send_back(pledge, current_user, form.note.data or "")
    except IllegalPledgeTransition:
        db.session.rollback()
        flash(gettext("Only a pledge waiting for approval can be sent back."), "warning")
    else:
        db.session.commit()
        flash(gettext("The pledge is a draft again."), "info")
    return redirect(url_for("pledges.detail", pledge_id=pledge_id))


@bp.route("/pledges/approvals", methods=["GET", "POST"])
@require(Permission.PLEDGE_APPROVE)
def approval_policy():  # type: ignore[no-untyped-def]
    """The owners' rule for committing pledges."""
    policy = approvals.policy_of(current_user.company_id)
    form = ApprovalPolicyForm(obj=policy)
    if form.validate_on_submit():
        approvals.set_policy(
            current_user.company_id,
            current_user,
            bool(form.approval_required.data),
            form.second_approval_above.data,
        )
        db.session.commit()
        flash(gettext("The approval rule is saved."), "success")
        return redirect(url_for("pledges.approval_policy"))
    status = 400 if form.errors else 200
    return render_template("pledges/approvals.html", form=form, policy=policy), status


@bp.post("/pledges/<int:pledge_id>/renew")
@require(Permission.PLEDGE_MANAGE)
def renew(pledge_id: int):  # type: ignore[no-untyped-def]
    """The next term with the same terms as a draft to review, then commit and pay."""
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        renewal = renewals.renew_pledge(pledge, current_user)
    except NotRenewable:
        db.session.rollback()
        existing = renewals.renewal_of(pledge_id)
        if existing is not None:
            return redirect(url_for("pledges.detail", pledge_id=existing.id))
        flash(gettext("This pledge can no longer be renewed; make a new pledge."), "warning")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    except (InvalidPledge, NoRateInForce) as error:
        db.session.rollback()
        flash(gettext("The renewal could not be prepared: %(why)s", why=str(error)), "danger")
        return redirect(url_for("pledges.detail", pledge_id=pledge_id))
    db.session.commit()
    flash(
        gettext(
            "Renewal prepared at today's rates. Check it, then commit and pay: the workers of "
            "pledge #%(id)s keep their coverage first.",
            id=pledge_id,
        ),
        "success",
    )
    return redirect(url_for("pledges.detail", pledge_id=renewal.id))


@bp.post("/pledges/<int:pledge_id>/auto-renew")
@require(Permission.PLEDGE_MANAGE)
def auto_renew(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    on = request.form.get("auto_renew") == "on"
    try:
        renewals.set_auto_renew(pledge, on, current_user)
    except NotRenewable:
        db.session.rollback()
        flash(gettext("This pledge is over; it cannot renew."), "warning")
    else:
        db.session.commit()
        flash(
            gettext(
                "Automatic renewal is on: each year a renewal and an invoice are prepared "
                "before the term ends; nothing is charged by itself."
            )
            if on
            else gettext("Automatic renewal is off."),
            "info",
        )
    return redirect(url_for("pledges.detail", pledge_id=pledge_id) + "#renew")
