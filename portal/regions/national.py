"""The programme administrator's pages: every region's counts side by side, and the regions
of the installation with a form to add one from the national table of areas."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length

from portal.auth.permissions import Permission
from portal.db import read_only
from portal.extensions import db
from portal.messages import message_of
from portal.regions import services
from portal.regions.exceptions import RegionError
from portal.regions.figures import figures_by_region, national_total
from portal.regions.scope import region_scope
from portal.security import require, require_recent_login

bp = Blueprint("national", __name__)


class RegionCodeForm(FlaskForm):
    code = StringField(
        _l("Kemendagri code of the kabupaten or kota"),
        validators=[DataRequired(), Length(max=20)],
    )


@bp.get("/national")
@read_only
@require(Permission.NATIONAL_READ)
def dashboard():  # type: ignore[no-untyped-def]
    today = date.today()
    rows = figures_by_region(today)
    return render_template(
        "regions/national_dashboard.html", rows=rows, total=national_total(rows), today=today
    )


@bp.get("/national/regions")
@read_only
@require(Permission.REGION_MANAGE)
def regions():  # type: ignore[no-untyped-def]
    return _regions_page(RegionCodeForm())


@bp.post("/national/regions/check")
@require(Permission.REGION_MANAGE)
def check_region():  # type: ignore[no-untyped-def]
    """The region a code names, from the national table, to confirm before it is added."""
    form = RegionCodeForm()
    if not form.validate_on_submit():
        return _regions_page(form, 400)
    code = form.code.data.strip()
    try:
        areas = services.areas_to_add(code)
    except RegionError as error:
        form.code.errors = [str(message_of(error))]
        return _regions_page(form, 400)
    return render_template("regions/national_confirm.html", form=form, areas=areas)


@bp.post("/national/regions")
@require(Permission.REGION_MANAGE)
@require_recent_login
def add_region():  # type: ignore[no-untyped-def]
    form = RegionCodeForm()
    if not form.validate_on_submit():
        return _regions_page(form, 400)
    code = form.code.data.strip()
    try:
        with region_scope(code):  # its audit event is the new region's first
            region = services.add_region(code, actor=current_user)
    except RegionError as error:
        db.session.rollback()
        form.code.errors = [str(message_of(error))]
        return _regions_page(form, 400)
    db.session.commit()
    flash(gettext("%(region)s (%(code)s) is added.", region=region.name, code=code), "success")
    return redirect(url_for("national.regions"))


def _regions_page(form: RegionCodeForm, status: int = 200):  # type: ignore[no-untyped-def]
    page = render_template(
        "regions/national_regions.html", form=form, summaries=services.summaries()
    )
    return page, status
