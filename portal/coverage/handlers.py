"""Coverage's jobs: a month close asked for from a page is booked by a worker; a worker's
status change moves their coverage by rule R7."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.audit.services import record_event
from portal.auth.models import User
from portal.coverage.closing import close_month, month_subject
from portal.coverage.continuity import pass_on_coverage
from portal.coverage.exceptions import CoverageError
from portal.events import MonthCloseRequested, WorkerStatusChanged, handles
from portal.extensions import db
from portal.jobs import clear_progress
from portal.messages import english, message_of


def _actor(payload: dict[str, Any]) -> User | None:
    actor_id = payload.get("actor_id")
    return db.session.get(User, int(actor_id)) if actor_id else None


@handles(WorkerStatusChanged.kind)
def follow_worker_status(payload: dict[str, Any]) -> None:
    """R7: the worker's coverage from the first open month on passes to the next worker on
    the list (or is released). Running it again finds nothing left to move."""
    pass_on_coverage(_actor(payload), worker_ids=[int(payload["worker_id"])])


@handles(MonthCloseRequested.kind)
def close(payload: dict[str, Any]) -> None:
    """Close the month; a refusal (closed meanwhile, an earlier month open) is recorded, not
    retried: running the job again cannot change it."""
    actor = _actor(payload)
    month = date.fromisoformat(str(payload["month"]))
    try:
        with db.session.begin_nested():
            close_month(month, actor)
    except CoverageError as error:
        record_event(
            "coverage.close_refused",
            actor=actor,
            after={"month": f"{month:%Y-%m}", "why": english(message_of(error))},
        )
    finally:
        clear_progress(month_subject(month))
