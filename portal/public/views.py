"""Landing page, language switch and health check."""

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
from portal.coverage import queries as coverage_queries
from portal.extensions import csrf, db
from portal.security import safe_next

bp = Blueprint("public", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    month = date.today().replace(day=1)
    by_funder = coverage_queries.coverage_by_funder(month)
    return render_template(
        "public/index.html",
        month=month,
        by_funder=by_funder,
        covered_total=sum(by_funder.values()),
        sponsors=coverage_queries.verified_sponsor_count(),
        waiting=coverage_queries.waiting_list_count(month),
    )


@bp.post("/lang")
def set_language():  # type: ignore[no-untyped-def]
    form = LanguageForm()
    target = safe_next(request.form.get("next"))
    if form.validate_on_submit() and form.lang.data in ("id", "en"):
        session["lang"] = form.lang.data
        response = make_response(redirect(target))
        response.set_cookie("lang", form.lang.data, max_age=365 * 86400, samesite="Lax",
                            httponly=True, secure=request.is_secure)
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


@bp.get("/healthz")
def healthz():  # type: ignore[no-untyped-def]
    try:
        db.session.execute(text("SELECT 1"))
        database = "ok"
    except Exception:  # noqa: BLE001 - report, do not raise, from a health check
        database = "unavailable"
    status = 200 if database == "ok" else 503
    return jsonify({"status": "ok" if status == 200 else "degraded", "database": database}), status
