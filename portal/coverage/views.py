"""Staff pages for coverage: months (close, remittance), lapsing coverage, city participants."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Blueprint, Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import select

from portal.auth.forms import ConfirmForm
from portal.auth.permissions import Permission
from portal.coverage import closing, queries, remittance, services
from portal.coverage.city_import import (
    CityImport,
    RejectedRow,
    Rejection,
    import_city_participants,
)
from portal.coverage.exceptions import CoverageError, InvalidMonth, MonthNotClosed, UnknownFunder
from portal.coverage.forms import CityImportForm, RemittedForm
from portal.coverage.models import Remittance, RemittanceFunder
from portal.extensions import db
from portal.i18n import current_locale, month_label, rupiah
from portal.jobs import follow
from portal.labels import label
from portal.ledger.exceptions import LedgerError
from portal.matching.rules import current_rules
from portal.pledges import renewals
from portal.pledges.exceptions import NoRateInForce
from portal.reference.models import Category
from portal.security import require, require_recent_login

bp = Blueprint("coverage", __name__, url_prefix="/coverage")

FUNDER_LABELS = {
    RemittanceFunder.APBD: _l("City budget (APBD)"),
    RemittanceFunder.DBHCHT: _l("Tobacco excise (DBHCHT)"),
    RemittanceFunder.CSR: _l("Company sponsors (CSR)"),
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True)
class FunderRow:
    """A funder's month on the month page: what it covers and whether it was remitted."""

    code: str
    label: str
    workers: int
    amount: int
    remitted: Remittance | None


def _month(text: str) -> date:
    try:
        return services.parse_month(text)
    except InvalidMonth:
        abort(404)


def _funder_rows(
    totals: dict[str, queries.FunderTotal], remitted: dict[str, Remittance]
) -> list[FunderRow]:
    return [
        FunderRow(
            code.value,
            str(FUNDER_LABELS[code]),
            totals[remittance.COVERAGE_FUNDER[code]].workers,
            totals[remittance.COVERAGE_FUNDER[code]].amount,
            remitted.get(code.value),
        )
        for code in RemittanceFunder
    ]


@bp.get("/")
@require(Permission.COVERAGE_READ)
def months():  # type: ignore[no-untyped-def]
    columns = [
        (remittance.COVERAGE_FUNDER[code].value, code.value, FUNDER_LABELS[code])
        for code in RemittanceFunder
    ]
    return render_template(
        "coverage/months.html",
        summaries=queries.month_summaries(),
        columns=columns,
        this_month=date.today().replace(day=1),
        last_closable=closing.last_closable(),
    )


@bp.get("/months/<month>")
@require(Permission.COVERAGE_READ)
def month(month: str):  # type: ignore[no-untyped-def]
    return _month_page(_month(month))


def _month_page(when: date, form: RemittedForm | None = None, failed: str = "", status: int = 200):  # type: ignore[no-untyped-def]
    closed = queries.month_close(when)
    remitted = {str(r.funder): r for r in queries.remittances(when)}
    return render_template(
        "coverage/month.html",
        month=when,
        closed=closed,
        funders=_funder_rows(queries.coverage_totals(when), remitted),
        pledges=queries.pledge_months(when),
        not_closable=_not_closable(when, closed),
        work=follow(closing.month_subject(when)),
        confirm_form=ConfirmForm(),
        remitted_form=form or RemittedForm(),
        failed=failed,
    ), status


def _not_closable(when: date, closed: object) -> str:
    """Why the month cannot be closed now; empty when it can."""
    if closed is not None:
        return ""
    try:
        closing.check_closable(when)
    except CoverageError as error:
        return str(error)
    return ""


@bp.post("/months/<month>/close")
@require(Permission.COVERAGE_MANAGE)
def close(month: str):  # type: ignore[no-untyped-def]
    """Checked now, booked by a job worker; the month's page follows it."""
    when = _month(month)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        closing.request_close(when, current_user)
    except CoverageError as error:
        db.session.rollback()
        flash(gettext("The month was not closed: %(why)s", why=str(error)), "danger")
    else:
        db.session.commit()
        flash(
            gettext("Closing %(month)s: its coverage is being booked.", month=month_label(when)),
            "info",
        )
    return redirect(url_for("coverage.month", month=f"{when:%Y-%m}"))


@bp.get("/months/<month>/remittance/<funder>.<fmt>")
@require(Permission.COVERAGE_MANAGE)
@require_recent_login
def remittance_file(month: str, funder: str, fmt: str):  # type: ignore[no-untyped-def]
    when = _month(month)
    if fmt not in remittance.FORMATS:
        abort(404)
    try:
        body, rows = remittance.remittance_file(when, funder, fmt)
    except (UnknownFunder, MonthNotClosed):
        abort(404)
    remittance.record_download(when, funder, fmt, rows, current_user)
    db.session.commit()
    return Response(
        body,
        mimetype="text/csv" if fmt == "csv" else XLSX,
        headers={
            "Content-Disposition": _attachment(remittance.file_name(when, funder, fmt)),
            "Cache-Control": "no-store",
        },
    )


@bp.post("/months/<month>/remittance/<funder>")
@require(Permission.COVERAGE_MANAGE)
def mark_remitted(month: str, funder: str):  # type: ignore[no-untyped-def]
    when = _month(month)
    if funder not in set(RemittanceFunder):
        abort(404)
    form = RemittedForm()
    if not form.validate_on_submit():
        return _month_page(when, form, failed=funder, status=400)
    try:
        done = remittance.mark_remitted(when, funder, form.reference.data, current_user)
    except (CoverageError, LedgerError) as error:
        db.session.rollback()
        flash(gettext("Not marked as remitted: %(why)s", why=str(error)), "danger")
    else:
        db.session.commit()
        flash(
            gettext(
                "%(funder)s for %(month)s marked as remitted (%(amount)s).",
                funder=FUNDER_LABELS[RemittanceFunder(funder)],
                month=month_label(when),
                amount=rupiah(done.amount),
            ),
            "success",
        )
    return redirect(url_for("coverage.month", month=f"{when:%Y-%m}"))


@bp.get("/lapsing")
@require(Permission.COVERAGE_READ)
def lapsing():  # type: ignore[no-untyped-def]
    rules = current_rules()
    today = date.today()
    return render_template(
        "coverage/lapsing.html",
        rules=rules,
        horizon=today + timedelta(days=rules.lapse_window_days),
        pledges=queries.ending_pledges(today, rules.lapse_window_days),
        confirm_form=ConfirmForm(),
    )


@bp.post("/lapsing/offer-renewals")
@require(Permission.COVERAGE_MANAGE)
def offer_renewals():  # type: ignore[no-untyped-def]
    if not ConfirmForm().validate_on_submit():
        abort(400)
    offered = renewals.offer_renewals(actor=current_user)
    db.session.commit()
    if offered:
        flash(gettext("Renewal offered for %(n)s pledge(s).", n=len(offered)), "success")
    else:
        flash(gettext("No pledge was due a renewal offer."), "info")
    return redirect(url_for("coverage.lapsing"))


@bp.route("/city-import", methods=["GET", "POST"])
@require(Permission.COVERAGE_MANAGE)
def city_import():  # type: ignore[no-untyped-def]
    form = CityImportForm(month=f"{closing.last_closable():%Y-%m}")
    if form.is_submitted() and not form.validate():
        return _import_page(form, None), 400
    if not form.is_submitted():
        return _import_page(form, None)
    try:
        report = import_city_participants(
            form.participants.data,
            form.funder.data,
            services.parse_month(form.month.data),
            form.months.data,
            current_user,
            dry_run=form.dry_run.data,
        )
    except (CoverageError, NoRateInForce) as error:
        db.session.rollback()
        form.participants.errors = [gettext("Nothing was imported: %(why)s", why=str(error))]
        return _import_page(form, None), 400
    if report.ok and not report.dry_run:
        db.session.commit()
        flash(
            gettext(
                "%(workers)s workers covered by %(funder)s for %(months)s month(s): "
                "%(rows)s coverage rows.",
                workers=report.accepted,
                funder=label(report.funder),
                months=len(report.months),
                rows=report.written,
            ),
            "success",
        )
        return redirect(url_for("coverage.month", month=f"{report.months[0]:%Y-%m}"))
    db.session.rollback()
    return _import_page(form, report)


def _import_page(form: CityImportForm, report: CityImport | None) -> str:
    reasons = [(row, describe_rejection(row)) for row in report.rejected] if report else []
    return render_template(
        "coverage/city_import.html",
        form=form,
        report=report,
        reasons=reasons,
        dbhcht=current_rules().dbhcht_categories,
    )


def describe_rejection(row: RejectedRow) -> str:
    """The reason for a refused row, in the reader's language."""
    if row.reason == Rejection.INVALID_NIK:
        return gettext("Not a valid NIK (16 digits holding a real birth date).")
    if row.reason == Rejection.DUPLICATE:
        return gettext("The same NIK as row %(row)s.", row=row.detail[0])
    if row.reason == Rejection.UNKNOWN_NIK:
        return gettext("No worker with this NIK is on the register.")
    if row.reason == Rejection.NOT_ELIGIBLE:
        why = ", ".join(label(f"ineligible.{code}") for code in row.detail)
        return gettext("Not eligible: %(why)s.", why=why)
    if row.reason == Rejection.DBHCHT_CATEGORY:
        return gettext(
            "DBHCHT does not fund the category %(category)s.", category=_category(row.detail[0])
        )
    covered = ", ".join(_covered_month(detail) for detail in row.detail)
    return gettext("Already covered in one of the months: %(covered)s.", covered=covered)


def _category(code: str) -> str:
    """A category's name in the reader's language (its code when it is not on the register)."""
    category = db.session.scalar(select(Category).where(Category.code == code))
    return category.display_name(current_locale()) if category else code


def _covered_month(detail: str) -> str:
    """'2026-12 apbd' (as city_import keeps it) in words: 'Desember 2026, APBD ...'."""
    month, _, funder = detail.partition(" ")
    try:
        when = date.fromisoformat(f"{month}-01")
    except ValueError:
        return detail
    return f"{month_label(when)}, {label(funder)}" if funder else month_label(when)


def _attachment(name: str) -> str:
    return f'attachment; filename="{name}"'
