"""The region's scheme, categories and rate schedule, for its admins."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.extensions import db
from portal.i18n import current_locale, month_label, rupiah
from portal.matching.rules import current_rules
from portal.pledges.pricing import add_months
from portal.reference import queries as reference_queries
from portal.reference import services as reference
from portal.reference.exceptions import ReferenceError
from portal.reference.models import Category
from portal.regions.forms import CategoryForm, NewCategoryForm, RateForm, SchemeForm
from portal.regions.models import Region
from portal.regions.scheme import FIELDS, update_scheme
from portal.regions.scope import current_region
from portal.security import require, require_recent_login

bp = Blueprint("regions", __name__)

RATE_MONTHS_AHEAD = 24  # how far ahead a new rate can be set


@bp.route("/admin/region", methods=["GET", "POST"])
@require(Permission.REGION_EDIT)
@require_recent_login
def scheme():  # type: ignore[no-untyped-def]
    region = db.session.get_one(Region, current_region())
    form = SchemeForm(obj=region if request.method == "GET" else None)
    if form.validate_on_submit():
        changes = update_scheme(
            region, {name: form[name].data or "" for name in FIELDS}, current_user
        )
        db.session.commit()
        if changes:
            flash(gettext("The scheme of %(region)s is saved.", region=region.name), "success")
        else:
            flash(gettext("Nothing was changed."), "info")
        return redirect(url_for("regions.scheme"))
    status = 400 if form.errors else 200
    return render_template("regions/scheme.html", form=form, region=region), status


@bp.get("/admin/region/categories")
@require(Permission.REGION_EDIT)
def categories():  # type: ignore[no-untyped-def]
    return _categories_page(NewCategoryForm(formdata=None, risk_weight=1))


@bp.post("/admin/region/categories")
@require(Permission.REGION_EDIT)
@require_recent_login
def create_category():  # type: ignore[no-untyped-def]
    form = NewCategoryForm()
    if form.validate_on_submit():
        try:
            category = reference.create_category(
                form.code.data, _category_values(form), current_user
            )
        except ReferenceError as error:
            form.code.errors = [str(error)]
        else:
            db.session.commit()
            flash(gettext("Category %(name)s added.", name=category.name_id), "success")
            return redirect(url_for("regions.categories"))
    return _categories_page(form), 400


@bp.route("/admin/region/categories/<int:category_id>", methods=["GET", "POST"])
@require(Permission.REGION_EDIT)
@require_recent_login
def edit_category(category_id: int):  # type: ignore[no-untyped-def]
    category = db.get_or_404(Category, category_id)  # another region's: not found
    form = CategoryForm(obj=category if request.method == "GET" else None)
    if request.method == "GET":
        form.risk_weight.data = current_rules().weight(category.code)
    if form.validate_on_submit():
        changes = reference.update_category(category, _category_values(form), current_user)
        db.session.commit()
        if changes:
            flash(gettext("Category %(name)s saved.", name=category.name_id), "success")
        else:
            flash(gettext("Nothing was changed."), "info")
        return redirect(url_for("regions.categories"))
    status = 400 if form.errors else 200
    return render_template("regions/category.html", form=form, category=category), status


@bp.post("/admin/region/categories/<int:category_id>/retire")
@require(Permission.REGION_EDIT)
@require_recent_login
def retire_category(category_id: int):  # type: ignore[no-untyped-def]
    return _set_active(category_id, active=False)


@bp.post("/admin/region/categories/<int:category_id>/reactivate")
@require(Permission.REGION_EDIT)
@require_recent_login
def reactivate_category(category_id: int):  # type: ignore[no-untyped-def]
    return _set_active(category_id, active=True)


@bp.get("/admin/region/rates")
@require(Permission.REGION_EDIT)
def rates():  # type: ignore[no-untyped-def]
    latest = reference_queries.latest_general_rate()
    form = RateForm(formdata=None, obj=latest)  # the new rate starts from the latest one
    _month_choices(form)
    form.effective_from.data = form.effective_from.choices[0][0]  # type: ignore[index]
    return _rates_page(form)


@bp.post("/admin/region/rates")
@require(Permission.REGION_EDIT)
@require_recent_login
def create_rate():  # type: ignore[no-untyped-def]
    form = RateForm()
    _month_choices(form)
    if form.validate_on_submit():
        values = reference.RateValues(
            effective_from=date.fromisoformat(form.effective_from.data),
            declared_income=form.declared_income.data,
            jkk_amount=form.jkk_amount.data,
            jkm_amount=form.jkm_amount.data,
            legal_basis=form.legal_basis.data.strip(),
        )
        try:
            rate = reference.create_rate(values, current_user)
        except ReferenceError as error:
            form.effective_from.errors = [str(error)]
        else:
            db.session.commit()
            flash(
                gettext(
                    "The rate of %(amount)s from %(month)s is saved.",
                    amount=rupiah(rate.monthly_amount),
                    month=month_label(rate.effective_from),
                ),
                "success",
            )
            return redirect(url_for("regions.rates"))
    return _rates_page(form), 400


def _category_values(form: CategoryForm) -> reference.CategoryValues:
    return reference.CategoryValues(
        name_id=form.name_id.data.strip(),
        name_en=form.name_en.data.strip(),
        source=(form.source.data or "").strip(),
        risk_weight=form.risk_weight.data,
    )


def _categories_page(form: NewCategoryForm) -> str:
    return render_template(
        "regions/categories.html",
        region=db.session.get_one(Region, current_region()),
        categories=reference_queries.categories(),
        workers=reference.workers_by_category(),
        rules=current_rules(),
        locale=current_locale(),
        form=form,
        confirm_form=ConfirmForm(),
    )


def _set_active(category_id: int, *, active: bool):  # type: ignore[no-untyped-def]
    category = db.get_or_404(Category, category_id)  # another region's: not found
    if not ConfirmForm().validate_on_submit():
        flash(gettext("The form has expired; please try again."), "warning")
        return redirect(url_for("regions.categories"))
    if reference.set_category_active(category, active, current_user):
        db.session.commit()
        message = (
            gettext("Category %(name)s is active again.", name=category.name_id)
            if active
            else gettext("Category %(name)s is retired.", name=category.name_id)
        )
        flash(message, "success")
    return redirect(url_for("regions.categories"))


def _month_choices(form: RateForm) -> None:
    """The current month and the next ones, from the month after the latest rate's start."""
    first = date.today().replace(day=1)
    latest = reference_queries.latest_general_rate()
    if latest is not None and latest.effective_from >= first:
        first = add_months(latest.effective_from.replace(day=1), 1)
    months = [add_months(first, n) for n in range(RATE_MONTHS_AHEAD)]
    form.effective_from.choices = [(m.isoformat(), month_label(m)) for m in months]


def _rates_page(form: RateForm) -> str:
    today = date.today()
    schedule = reference_queries.rate_schedule()
    return render_template(
        "regions/rates.html",
        region=db.session.get_one(Region, current_region()),
        schedule=[(rate, reference_queries.rate_state(rate, today)) for rate in schedule],
        form=form,
    )
