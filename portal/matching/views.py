"""Staff pages for matching: runs, proposals, approval, and the Rules page."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.extensions import db
from portal.i18n import current_locale, month_label
from portal.jobs import follow
from portal.matching import queries, services
from portal.matching.exceptions import (
    InvalidRules,
    MonthNotOpen,
    RunNotOpen,
    SameApprover,
)
from portal.matching.forms import WEIGHT_PREFIX, ProposeForm, RulesForm, rules_form
from portal.matching.models import MatchRun
from portal.matching.rules import Rules, change_rules, current_rules, rule_history
from portal.security import require, require_recent_login
from portal.workers.eligibility import MAX_AGE_MONTHS

bp = Blueprint("matching", __name__, url_prefix="/matching")

RUN_STATUS = {
    "preparing": _l("Being prepared"),
    "proposed": _l("Proposed"),
    "approved": _l("Approved"),
    "stale": _l("Stale"),
    "discarded": _l("Discarded"),
}


@bp.context_processor
def _matching_helpers() -> dict[str, Any]:
    return {"run_status": lambda status: str(RUN_STATUS.get(str(status), status))}


# Runs -------------------------------------------------------------------------------------


def _propose_form() -> ProposeForm:
    form = ProposeForm()
    months = services.matchable_months()
    form.month.choices = [(m.isoformat(), month_label(m)) for m in months]
    if request.method == "GET":
        form.month.data = months[-1].isoformat()  # next month: contributions are paid ahead
    return form


def _index_page(form: ProposeForm, status: int = 200):  # type: ignore[no-untyped-def]
    runs = queries.recent_runs()
    people = queries.people([r.proposed_by_id for r in runs] + [r.approved_by_id for r in runs])
    return render_template("matching/index.html", runs=runs, people=people, form=form), status


@bp.get("/")
@require(Permission.MATCH_READ)
def index():  # type: ignore[no-untyped-def]
    return _index_page(_propose_form())


@bp.post("/runs")
@require(Permission.MATCH_RUN)
def propose():  # type: ignore[no-untyped-def]
    form = _propose_form()
    if not form.validate_on_submit():
        return _index_page(form, 400)
    try:
        run = services.request_proposal(date.fromisoformat(form.month.data), current_user)
    except (MonthNotOpen, InvalidRules) as error:
        db.session.rollback()
        flash(gettext("No run was proposed: %(why)s", why=str(error)), "danger")
        return _index_page(form)
    db.session.commit()
    flash(
        gettext("The proposal is being prepared. This page follows it; then review it."),
        "info",
    )
    return redirect(url_for("matching.run", run_id=run.id))


@bp.get("/runs/<int:run_id>")
@require(Permission.MATCH_READ)
def run(run_id: int):  # type: ignore[no-untyped-def]
    match_run = db.get_or_404(MatchRun, run_id)
    categories, kecamatan = queries.reference_names(current_locale())
    rules = current_rules()
    return render_template(
        "matching/run.html",
        run=match_run,
        work=follow(services.run_subject(run_id)),
        summary=match_run.summary or {},
        people=queries.people([match_run.proposed_by_id, match_run.approved_by_id]),
        categories=categories,
        kecamatan=kecamatan,
        no_fit=services.NO_FIT,
        second_approver=rules.require_second_approver,
        confirm_form=ConfirmForm(),
    )


@bp.post("/runs/<int:run_id>/approve")
@require(Permission.MATCH_RUN)
@require_recent_login
def approve(run_id: int):  # type: ignore[no-untyped-def]
    """Checked now, written by a job worker; the run's page follows it."""
    match_run = db.get_or_404(MatchRun, run_id)
    try:
        services.request_approval(match_run, current_user)
    except (SameApprover, RunNotOpen) as error:
        db.session.rollback()
        flash(gettext("The run was not approved: %(why)s", why=str(error)), "warning")
    else:
        db.session.commit()
        flash(
            gettext("Approval started: the coverage is being written. This page follows it."),
            "info",
        )
    return redirect(url_for("matching.run", run_id=run_id))


@bp.post("/runs/<int:run_id>/discard")
@require(Permission.MATCH_RUN)
def discard(run_id: int):  # type: ignore[no-untyped-def]
    match_run = db.get_or_404(MatchRun, run_id)
    try:
        services.discard_run(match_run, current_user)
    except RunNotOpen as error:
        db.session.rollback()
        flash(gettext("The run was not discarded: %(why)s", why=str(error)), "warning")
    else:
        db.session.commit()
        flash(gettext("Run discarded; nothing was written."), "info")
    return redirect(url_for("matching.run", run_id=run_id))


# Rules ------------------------------------------------------------------------------------


@bp.get("/rules")
@require(Permission.RULES_READ)
def rules():  # type: ignore[no-untyped-def]
    history = rule_history()
    categories, _ = queries.reference_names(current_locale())
    return render_template(
        "matching/rules.html",
        rules=current_rules(),
        history=history,
        people=queries.people(v.created_by_id for v in history),
        categories=categories,
        max_age=divmod(MAX_AGE_MONTHS, 12),
    )


@bp.route("/rules/edit", methods=["GET", "POST"])
@require(Permission.RULES_EDIT)
@require_recent_login
def edit_rules():  # type: ignore[no-untyped-def]
    current = current_rules()
    categories, _ = queries.reference_names(current_locale())
    form = rules_form(categories)
    form.dbhcht_categories.choices = list(categories.items())
    this_year = date.today().year
    _label_years(form, this_year)
    if request.method == "GET":
        _fill(form, current, this_year)
    elif form.validate_on_submit():
        try:
            version = _change(form, current, this_year)
        except InvalidRules as error:
            db.session.rollback()
            flash(gettext("The rules were not changed: %(why)s", why=str(error)), "danger")
        else:
            db.session.commit()
            flash(gettext("Rules version %(v)s is in force.", v=version), "success")
            return redirect(url_for("matching.rules"))
    status = 400 if form.errors else 200
    weights = [(form[WEIGHT_PREFIX + code], name) for code, name in categories.items()]
    return render_template(
        "matching/edit_rules.html", form=form, weights=weights, rules=current
    ), status


def _label_years(form: RulesForm, year: int) -> None:
    for funder, name in (("apbd", "APBD"), ("dbhcht", "DBHCHT")):
        form[f"{funder}_this"].label.text = gettext(
            "%(funder)s quota %(year)s", funder=name, year=year
        )
        form[f"{funder}_next"].label.text = gettext(
            "%(funder)s quota %(year)s", funder=name, year=year + 1
        )


def _fill(form: RulesForm, rules: Rules, year: int) -> None:
    for funder in ("apbd", "dbhcht"):
        form[f"{funder}_this"].data = rules.quota(funder, date(year, 1, 1))
        form[f"{funder}_next"].data = rules.quota(funder, date(year + 1, 1, 1))
    form.dbhcht_categories.data = list(rules.dbhcht_categories)
    form.require_second_approver.data = rules.require_second_approver
    form.refund_second_approver_above.data = rules.refund_second_approver_above
    form.renewal_notice_days.data = rules.renewal_notice_days
    form.lapse_window_days.data = rules.lapse_window_days
    for name in form.data:
        if name.startswith(WEIGHT_PREFIX):
            form[name].data = rules.weight(name.removeprefix(WEIGHT_PREFIX))


def _change(form: RulesForm, rules: Rules, year: int) -> int:
    """Raises InvalidRules. Quotas of other years and weights of categories not on the
    form are kept as they are."""
    quotas = {y: dict(q) for y, q in rules.city_quotas.items()}
    quotas[str(year)] = {"apbd": form.apbd_this.data, "dbhcht": form.dbhcht_this.data}
    quotas[str(year + 1)] = {"apbd": form.apbd_next.data, "dbhcht": form.dbhcht_next.data}
    weights = dict(rules.category_weights)
    weights.update(
        {
            name.removeprefix(WEIGHT_PREFIX): value
            for name, value in form.data.items()
            if name.startswith(WEIGHT_PREFIX)
        }
    )
    parameters = {
        **rules.parameters(),
        "city_quotas": quotas,
        "dbhcht_categories": sorted(form.dbhcht_categories.data or []),
        "category_weights": weights,
        "require_second_approver": bool(form.require_second_approver.data),
        "refund_second_approver_above": form.refund_second_approver_above.data,
        "renewal_notice_days": form.renewal_notice_days.data,
        "lapse_window_days": form.lapse_window_days.data,
    }
    return change_rules(parameters, current_user, form.note.data).id
