"""Matching's jobs: an approval asked for from a page is written by a worker."""

from __future__ import annotations

from typing import Any

from portal.auth.models import User
from portal.events import MatchApprovalRequested, handles
from portal.extensions import db
from portal.matching.services import approve_requested


@handles(MatchApprovalRequested.kind)
def approve(payload: dict[str, Any]) -> None:
    actor_id = payload.get("actor_id")
    actor = db.session.get(User, int(actor_id)) if actor_id else None
    approve_requested(int(payload["run_id"]), actor)
