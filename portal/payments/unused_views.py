"""The sponsor's decision on money no worker-month uses: wait, widen the target, roll it into
a new pledge, or have it returned."""

from __future__ import annotations

from datetime import date

from flask import abort, flash, redirect, url_for
from flask_babel import gettext
from flask_login import current_user
from werkzeug.wrappers import Response

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.companies.models import Company
from portal.extensions import db
from portal.i18n import rupiah
from portal.payments import outbound, unused
from portal.payments.exceptions import NothingToRefund, PledgeOnHold
from portal.payments.views import bp
from portal.pledges.exceptions import IllegalPledgeTransition, InvalidPledge, NoRateInForce
from portal.pledges.models import Pledge
from portal.pledges.services import update_target
from portal.pledges.views import rollover_form, target_form
from portal.security import load_owned, require, require_recent_login

_REFUSED = (PledgeOnHold, NothingToRefund, IllegalPledgeTransition)


def _back(pledge_id: int) -> Response:
    return redirect(url_for("pledges.detail", pledge_id=pledge_id) + "#unused")


@bp.post("/pledges/<int:pledge_id>/unused/wait")
@require(Permission.PLEDGE_MANAGE)
def unused_wait(pledge_id: int) -> Response:
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        unused.decide_wait(pledge, current_user)
    except _REFUSED:
        db.session.rollback()
        flash(gettext("Nothing is waiting for a decision on this pledge."), "warning")
        return _back(pledge_id)
    db.session.commit()
    flash(gettext("The money stays on the pledge; the next match run tries again."), "success")
    return _back(pledge_id)


@bp.post("/pledges/<int:pledge_id>/unused/return")
@require(Permission.PLEDGE_MANAGE)
@require_recent_login
def unused_return(pledge_id: int) -> Response:
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        amount = unused.request_return(pledge, current_user)
    except _REFUSED:
        db.session.rollback()
        flash(gettext("No unused money can be returned now."), "warning")
        return _back(pledge_id)
    outbound.sync_stripe(pledge_id)  # commits, then card refunds go to Stripe
    flash(
        gettext(
            "%(amount)s will be returned: card payments to the card, transfers by the city's bank.",
            amount=rupiah(amount),
        ),
        "success",
    )
    return _back(pledge_id)


@bp.post("/pledges/<int:pledge_id>/unused/target")
@require(Permission.PLEDGE_MANAGE)
def unused_target(pledge_id: int) -> Response:
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    form = target_form()
    if not form.validate_on_submit():
        abort(400)
    try:
        update_target(
            pledge,
            current_user,
            tuple(form.categories.data or ()),
            tuple(form.kecamatan.data or ()),
        )
    except IllegalPledgeTransition:
        db.session.rollback()
        flash(gettext("The target of this pledge cannot change now."), "warning")
        return _back(pledge_id)
    db.session.commit()
    flash(gettext("Target changed; the next match run uses it."), "success")
    return _back(pledge_id)


@bp.post("/pledges/<int:pledge_id>/unused/rollover")
@require(Permission.PLEDGE_MANAGE)
def unused_rollover(pledge_id: int) -> Response:
    pledge = load_owned(Pledge, pledge_id, Permission.PLEDGE_MANAGE)
    form = rollover_form()
    if not form.validate_on_submit():
        flash(gettext("Choose the workers, months and start month of the new pledge."), "danger")
        return _back(pledge_id)
    company = db.session.get_one(Company, pledge.company_id)
    try:
        new = unused.roll_over(
            pledge,
            company,
            current_user,
            form.workers.data,
            form.months.data,
            date.fromisoformat(form.start_month.data),
        )
    except (*_REFUSED, InvalidPledge, NoRateInForce) as error:
        db.session.rollback()
        flash(
            gettext("The money cannot be rolled over that way: %(why)s", why=str(error)), "warning"
        )
        return _back(pledge_id)
    db.session.commit()
    flash(gettext("Pledge #%(id)s is paid with the unused money.", id=new.id), "success")
    return redirect(url_for("pledges.detail", pledge_id=new.id))
