"""Staff pages for coverage: months (close, remittance), lapsing coverage, city participants."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.auth.permissions import Permission
from portal.security import require

bp = Blueprint("coverage", __name__, url_prefix="/coverage")


@bp.get("/")
@require(Permission.COVERAGE_READ)
def months():  # type: ignore[no-untyped-def]
    return render_template("coverage/months.html")
