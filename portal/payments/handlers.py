"""The money domain follows the pledge's events: a term that ends with money no worker-month
used asks its sponsor for a decision."""

from __future__ import annotations

from typing import Any

from portal.events import PledgeCompleted, handles
from portal.extensions import db
from portal.payments.unused import notify_unused
from portal.pledges.models import Pledge


@handles(PledgeCompleted.kind)
def unused_at_term_end(payload: dict[str, Any]) -> None:
    """Runs once per completion: the notice and the delivery's `done` commit together."""
    pledge = db.session.get_one(Pledge, int(payload["pledge_id"]))
    notify_unused(
        pledge,
        f"term ended with {pledge.last_month:%Y-%m}" if pledge.last_month else "term ended",
        "emails/unused_end.txt",
        "PIJAR SEMAR: dana belum terpakai",
    )
