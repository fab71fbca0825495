"""The staff queue: one page with everything that waits for a person, each with its page."""

from __future__ import annotations

import time
from typing import Any

from flask import Blueprint, current_app, render_template
from flask_login import current_user

from portal.auth.permissions import Permission, can
from portal.queue.queries import Item, waiting_items
from portal.regions.scope import current_region
from portal.security import require

bp = Blueprint("queue", __name__)


def visible_items() -> list[Item]:
    """What waits, among the pages the signed-in user may open."""
    return [item for item in waiting_items() if can(current_user, item.permission)]


@bp.get("/staff/queue")
@require(Permission.QUEUE_READ)
def index():  # type: ignore[no-untyped-def]
    return render_template("queue/index.html", items=visible_items())


COUNT_SECONDS = 30  # the navbar's count may lag this much; the queue page itself never does


@bp.app_context_processor
def _queue_count() -> dict[str, Any]:
    """The navbar's count, computed only when a page shows it (staff and admins), and kept
    per region and role for half a minute so that every staff page does not pay a dozen
    counts."""

    def count() -> int:
        if not can(current_user, Permission.QUEUE_READ):
            return 0
        cache = current_app.extensions.setdefault("queue_counts", {})
        key = (current_region(), str(current_user.role))
        found = cache.get(key)
        if found is None or time.monotonic() - found[0] > COUNT_SECONDS:
            found = (time.monotonic(), sum(item.count for item in visible_items()))
            cache[key] = found
        return int(found[1])

    return {"queue_count": count}
