"""Coverage's jobs: a month close asked for from a page is booked by a worker."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.exceptions import CoverageError
from portal.coverage.services import close_month
from portal.events import MonthCloseRequested, handles
from portal.extensions import db


@handles(MonthCloseRequested.kind)
def close(payload: dict[str, Any]) -> None:
    """Close the month; a refusal (closed meanwhile, an earlier month open) is recorded, not
    retried: running the job again cannot change it."""
    actor_id = payload.get("actor_id")
    actor = db.session.get(User, int(actor_id)) if actor_id else None
    month = date.fromisoformat(str(payload["month"]))
    try:
        with db.session.begin_nested():
            close_month(month, actor)
    except CoverageError as error:
        record_event(
            "coverage.close_refused",
            actor=actor,
            after={"month": f"{month:%Y-%m}", "why": str(error)},
        )
