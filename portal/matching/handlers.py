"""Matching's jobs: a proposal and an approval asked for from a page run on a worker."""

from __future__ import annotations

from typing import Any

from portal.auth.models import User
from portal.events import MatchApprovalRequested, MatchProposalRequested, handles
from portal.extensions import db
from portal.jobs import clear_progress
from portal.matching.services import approve_requested, prepare_requested, run_subject


def _actor(payload: dict[str, Any]) -> User | None:
    actor_id = payload.get("actor_id")
    return db.session.get(User, int(actor_id)) if actor_id else None


@handles(MatchProposalRequested.kind)
def propose(payload: dict[str, Any]) -> None:
    prepare_requested(int(payload["run_id"]), _actor(payload))
    clear_progress(run_subject(int(payload["run_id"])))


@handles(MatchApprovalRequested.kind)
def approve(payload: dict[str, Any]) -> None:
    approve_requested(int(payload["run_id"]), _actor(payload))
    clear_progress(run_subject(int(payload["run_id"])))
