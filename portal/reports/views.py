"""Impact reports for sponsors (page, PDF, CSV, XLSX, charts) and the city dashboard."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from markupsafe import Markup

from portal.auth.permissions import Permission, can
from portal.certificates.services import pledge_certificates
from portal.companies.models import Company
from portal.db import read_only
from portal.extensions import db, login_manager
from portal.i18n import current_locale
from portal.pledges import queries as pledge_queries
from portal.pledges.models import Pledge
from portal.regions.scope import all_regions
from portal.reports import charts, documents, queries, services, tjsl, tjsl_documents
from portal.reports.exceptions import NothingRealised
from portal.reports.figures import ImpactReport
from portal.reports.models import TjslStatement
from portal.security import load_owned, require

bp = Blueprint("reports", __name__)

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FORMATS = {
    "pdf": ("application/pdf", documents.report_pdf),
    "csv": ("text/csv; charset=utf-8", documents.report_csv),
    "xlsx": (XLSX, documents.report_xlsx),
}
CHARTS = ("category", "kecamatan", "sex", "age_band", "monthly")


# --- the city ------------------------------------------------------------------------------


@bp.get("/dashboard")
@read_only
@require(Permission.DASHBOARD_CITY)
def city():  # type: ignore[no-untyped-def]
    """The city's figures; the page body is rendered once per change (see services.cached)."""
    body = services.cached(("city-page", date.today(), current_locale()), _city_body)
    return render_template("reports/city.html", body=body)


def _city_body() -> Markup:
    figures = services.city_figures()
    chart = charts.series_chart_svg(
        figures.trend_months, figures.trend, title=_("Workers covered per month, by funder")
    )
    return Markup(  # noqa: S704 - a rendered, autoescaped template
        render_template("reports/_city.html", figures=figures, trend_chart=chart)
    )


# --- sponsors ------------------------------------------------------------------------------


@bp.get("/reports")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def index():  # type: ignore[no-untyped-def]
    """The sponsor dashboard: a period (this year so far) across all pledges, and each
    pledge's report."""
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    first, last = _period()
    with all_regions():  # a company's pledges, figures and changes in every region
        body = services.cached(
            ("period-page", company.id, first, last, date.today(), current_locale()),
            lambda: _sponsor_body(company, first, last),
        )
        years = _tjsl_years(company.id)
    # Outside the remembered body: the statement form carries this session's CSRF token.
    return render_template(
        "reports/sponsor.html",
        body=body,
        tjsl_years=years,
        statements=queries.company_statements(company.id),
    )


def _sponsor_body(company: Company, first: date, last: date) -> Markup:
    report = services.period_report(company.id, company.legal_name, first, last)
    return Markup(  # noqa: S704 - a rendered, autoescaped template
        render_template(
            "reports/_sponsor.html",
            company=company,
            report=report,
            pledges=pledge_queries.company_pledges(company.id),
            charts=_render_charts(report),
            period_args=_period_args(first, last),
        )
    )


@bp.get("/reports/period.<fmt>")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def period_file(fmt: str):  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    first, last = _period()
    report = services.period_report(company.id, company.legal_name, first, last)
    return _download(report, fmt, f"pijar-semar-{first:%Y%m}-{last:%Y%m}")


@bp.get("/reports/period/charts/<name>.svg")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def period_chart(name: str):  # type: ignore[no-untyped-def]
    company = load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)
    first, last = _period()
    return _svg(services.period_report(company.id, company.legal_name, first, last), name)


# --- the year for TJSL and sustainability reports ------------------------------------------


@bp.get("/reports/tjsl/<int:year>.xlsx")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def tjsl_xlsx(year: int):  # type: ignore[no-untyped-def]
    figures = tjsl.tjsl_year(_own_company(), _year(year))
    return _file(tjsl_documents.tjsl_xlsx(figures), XLSX, f"pijar-semar-tjsl-{year}.xlsx")


@bp.get("/reports/tjsl/<int:year>.pdf")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def tjsl_pdf(year: int):  # type: ignore[no-untyped-def]
    figures = tjsl.tjsl_year(_own_company(), _year(year))
    return _file(
        tjsl_documents.tjsl_pdf(figures), "application/pdf", f"pijar-semar-tjsl-{year}.pdf"
    )


@bp.post("/reports/tjsl/<int:year>/statement")
@require(Permission.COMPANY_VIEW_OWN)
def issue_tjsl_statement(year: int):  # type: ignore[no-untyped-def]
    """Issue (or find again) the statement of the year's realised spending."""
    company = _own_company()
    try:
        statement = tjsl.issue_statement(company, _year(year), current_user)
    except NothingRealised:
        db.session.rollback()
        flash(
            _(
                "No month of %(year)s is closed for your pledges yet, so there is no spending "
                "to state.",
                year=year,
            ),
            "warning",
        )
        return redirect(url_for("reports.index", _anchor="tjsl"))
    db.session.commit()
    flash(_("Statement %(serial)s is ready.", serial=statement.serial), "success")
    return redirect(url_for("reports.index", _anchor="tjsl"))


@bp.get("/reports/tjsl/statements/<int:statement_id>.pdf")
@read_only
@require(Permission.COMPANY_VIEW_OWN)
def tjsl_statement_pdf(statement_id: int):  # type: ignore[no-untyped-def]
    statement = load_owned(TjslStatement, statement_id, Permission.COMPANY_VIEW_OWN)
    with all_regions():
        regions = queries.pledge_regions(statement.pledge_ids)
    stem = statement.serial.replace("/", "-")
    body = tjsl_documents.statement_pdf(statement, regions)
    return _file(body, "application/pdf", f"{stem}.pdf")


def _tjsl_years(company_id: int) -> list[int]:
    """This year and every earlier year the company's pledges reach, newest first."""
    years = set(queries.funded_years(company_id)) | {date.today().year}
    return sorted((year for year in years if tjsl.valid_year(year)), reverse=True)


def _own_company() -> Company:
    return load_owned(Company, current_user.company_id, Permission.COMPANY_VIEW_OWN)  # type: ignore[no-any-return]


def _year(year: int) -> int:
    if not tjsl.valid_year(year):
        abort(404)
    return year


def _file(body: bytes, mimetype: str, filename: str) -> Response:
    return Response(
        body,
        mimetype=mimetype,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}"',
            "Cache-Control": "no-store",
        },
    )


@bp.get("/reports/pledges/<int:pledge_id>")
@read_only
def pledge(pledge_id: int):  # type: ignore[no-untyped-def]
    pledge = _pledge(pledge_id)
    with services.in_region(pledge.region_code):  # remembered with its region's figures
        body = services.cached(
            ("pledge-page", pledge.id, date.today(), current_locale()),
            lambda: _pledge_body(pledge),
        )
    return render_template("reports/pledge.html", pledge=pledge, body=body)


def _pledge_body(pledge: Pledge) -> Markup:
    company = db.session.get_one(Company, pledge.company_id)
    report = services.pledge_report(pledge, company.legal_name)
    return Markup(  # noqa: S704 - a rendered, autoescaped template
        render_template(
            "reports/_pledge.html",
            pledge=pledge,
            company=company,
            report=report,
            charts=_render_charts(report),
            certificates=pledge_certificates(pledge.id),
        )
    )


@bp.get("/reports/pledges/<int:pledge_id>.<fmt>")
@read_only
def pledge_file(pledge_id: int, fmt: str):  # type: ignore[no-untyped-def]
    pledge = _pledge(pledge_id)
    report = services.pledge_report(pledge, _company_name(pledge))
    return _download(report, fmt, f"pijar-semar-pledge-{pledge.id}")


@bp.get("/reports/pledges/<int:pledge_id>/charts/<name>.svg")
@read_only
def pledge_chart(pledge_id: int, name: str):  # type: ignore[no-untyped-def]
    pledge = _pledge(pledge_id)
    return _svg(services.pledge_report(pledge, _company_name(pledge)), name)


def _pledge(pledge_id: int) -> Pledge:
    """The pledge for its own company's users and for staff; 404 for anyone else's."""
    if not current_user.is_authenticated:
        abort(login_manager.unauthorized())
    pledge = db.session.get(Pledge, pledge_id)
    if pledge is None or not (
        can(current_user, Permission.PLEDGE_LIST)
        or can(current_user, Permission.PLEDGE_VIEW, pledge)
    ):
        abort(404)
    return pledge


def _company_name(pledge: Pledge) -> str:
    return db.session.get_one(Company, pledge.company_id).legal_name


def _period() -> tuple[date, date]:
    """The months asked for (?from=YYYY-MM&to=YYYY-MM), by default January to this month."""
    this_month = date.today().replace(day=1)
    first = _month_arg("from", this_month.replace(month=1))
    last = _month_arg("to", this_month)
    if last < first:
        first, last = last, first
    if (last.year - first.year) * 12 + last.month - first.month >= 60:
        abort(400)
    return first, last


def _month_arg(name: str, default: date) -> date:
    value = request.args.get(name, "")
    if not value:
        return default
    try:
        return date.fromisoformat(value[:7] + "-01")
    except ValueError:
        abort(400)


def _period_args(first: date, last: date) -> dict[str, str]:
    return {"from": f"{first:%Y-%m}", "to": f"{last:%Y-%m}"}


def _render_charts(report: ImpactReport) -> dict[str, Markup]:
    found: dict[str, Markup] = {
        b.name: charts.bar_chart_svg(b.rows, title=b.title) for b in report.breakdowns
    }
    found["monthly"] = charts.month_chart_svg(report.monthly, title=_("Workers covered per month"))
    return found


def _svg(report: ImpactReport, name: str) -> Response:
    if name not in CHARTS:
        abort(404)
    body = _render_charts(report)[name]
    return Response(str(body), mimetype="image/svg+xml", headers={"Cache-Control": "no-store"})


def _download(report: ImpactReport, fmt: str, stem: str) -> Response:
    if fmt not in FORMATS:
        abort(404)
    mimetype, render = FORMATS[fmt]
    return _file(render(report), mimetype, f"{stem}.{fmt}")
