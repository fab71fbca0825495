"""The region's scheme page for its admins."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from portal.auth.permissions import Permission
from portal.extensions import db
from portal.regions.forms import SchemeForm
from portal.regions.models import Region
from portal.regions.scheme import FIELDS, update_scheme
from portal.regions.scope import current_region
from portal.security import require, require_recent_login

bp = Blueprint("regions", __name__)


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
