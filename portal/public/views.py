"""Landing page, each region's public page, language switch and health check."""

from __future__ import annotations

from datetime import date

from flask import (
    Blueprint,
    abort,
    current_app,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
)
from sqlalchemy import text

from portal.auth.forms import LanguageForm
from portal.db import read_only
from portal.extensions import csrf, db
from portal.pledges.exceptions import NoRateInForce
from portal.pledges.pricing import rate_for
from portal.reference.models import RateSchedule
from portal.regions.figures import figures_by_region, national_total, region_figures
from portal.regions.models import Region
from portal.regions.scope import region_scope
from portal.regions.wilayah import REGION_CODE
from portal.reports.queries import verified_sponsors
from portal.security import safe_next

bp = Blueprint("public", __name__)


@bp.get("/")
@read_only
def index():  # type: ignore[no-untyped-def]
    today = date.today()
    regions = figures_by_region(today)  # remembered until something changes
    total = national_total(regions)
    return render_template(
        "public/index.html",
        month=today.replace(day=1),
        by_funder={
            "apbd": total.covered_apbd,
            "dbhcht": total.covered_dbhcht,
            "pledge": total.covered_pledge,
        },
        covered_total=total.covered,
        sponsors=verified_sponsors(),
        waiting=total.waiting,
        rate=_rate_today(),
        regions=regions,
    )


@bp.get("/wilayah/<code>")
@read_only
def region(code: str):  # type: ignore[no-untyped-def]
    """A region's own page: its scheme, its live figures and how to sponsor there."""
    found = db.session.get(Region, code) if REGION_CODE.match(code) else None
    figures = region_figures(code) if found is not None else None
    if found is None or figures is None:
        abort(404)
    with region_scope(code):  # each region has its own rate schedule
        rate = _rate_today()
    return render_template(
        "public/region.html",
        region=found,
        figures=figures,
        month=date.today().replace(day=1),
        rate=rate,
    )


def _rate_today() -> RateSchedule | None:
    """What a company pays per worker and month today: the general rate in force for sponsors
    (the one a pledge without a sector is priced at)."""
    try:
        return rate_for(date.today())
    except NoRateInForce:
        return None


@bp.post("/lang")
def set_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    target = safe_next(request.form.get("next"))
    if form.validate_on_submit() and form.lang.data in ("id", "en"):
        session["lang"] = form.lang.data
        response = make_response(redirect(target))
        response.set_cookie(
            "lang",
            form.lang.data,
            max_age=365 * 86400,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
        return response
    return redirect(target)


@bp.post("/bench/trivial")
@csrf.exempt
def bench_trivial():  # type: ignore[no-untyped-def]
    """The lower bound of the webhook benchmark: a POST that reads its body and does nothing."""
    if not current_app.config["BENCH_ROUTES"]:
        abort(404)
    request.get_data()
    return jsonify({"received": True})


@bp.get("/bench/trivial")
@read_only
def bench_trivial_page():  # type: ignore[no-untyped-def]
    """The lower bound of the dashboard benchmark: a GET that does nothing."""
    if not current_app.config["BENCH_ROUTES"]:
        abort(404)
    return "ok"


@bp.get("/healthz")
@read_only  # answers while an import or a close holds SQLite's write lock
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - report, do not raise, from a health check
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status
