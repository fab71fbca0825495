"""Staff pages for matching: runs, proposals, approval, and the Rules page."""

from __future__ import annotations

from flask import Blueprint, render_template

from portal.auth.permissions import Permission
from portal.security import require

bp = Blueprint("matching", __name__, url_prefix="/matching")


@bp.get("/")
@require(Permission.MATCH_READ)
def index():  # type: ignore[no-untyped-def]
    return render_template("matching/index.html")
