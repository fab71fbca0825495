"""Coverage helpers shared by its operations: months as staff type them, who may change coverage.

The operations live beside it: closing.py (month close), city_import.py (the city's
participants), remittance.py (files for BPJS), release.py (months given back by refunds).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Collection
from datetime import date

from sqlalchemy import select

from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.coverage.exceptions import InvalidMonth, NotAllowed
from portal.coverage.models import Coverage
from portal.extensions import db
from portal.messages import _m
from portal.regions.models import Region
from portal.regions.scope import current_region, read_across_regions
from portal.workers.models import Worker

_MONTH = re.compile(r"\s*([0-9]{4})-([0-9]{1,2})\s*")


def parse_month(text: str) -> date:
    """'2026-12' -> 1 December 2026. Raises InvalidMonth."""
    match = _MONTH.fullmatch(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidMonth(_m("%(text)s is not a month written YYYY-MM", text=repr(text)))
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_actor(actor: User | None) -> None:
    """Coverage changes need COVERAGE_MANAGE; None is the command line. Raises NotAllowed."""
    if actor is not None and not can(actor, Permission.COVERAGE_MANAGE):
        raise NotAllowed(_m("%(email)s may not change coverage", email=actor.email))


def covered_elsewhere(
    first: date, last: date | None = None, worker_ids: Collection[int] | None = None
) -> dict[int, set[date]]:
    """The workers of the region in scope (all, or those of `worker_ids`) whose person is
    funded in another region in a month from `first` (to `last`), with those months.

    The one read of coverage across regions (`read_across_regions`).
    """
    region = current_region()
    if db.session.scalar(select(Region.code).where(Region.code != region).limit(1)) is None:
        return {}  # one region: nobody is funded elsewhere
    stmt = (
        select(Worker.id, Coverage.month)
        .join(Coverage, Coverage.person_key == Worker.nik_hash)
        .where(Worker.region_code == region, Coverage.region_code != region)
        .where(Coverage.month >= first)
    )
    if last is not None:
        stmt = stmt.where(Coverage.month <= last)
    found: dict[int, set[date]] = defaultdict(set)
    for worker_id, month in read_across_regions(stmt, Worker.id, worker_ids):
        found[worker_id].add(month)
    return dict(found)
