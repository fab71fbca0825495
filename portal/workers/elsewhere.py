"""A NIK in several regions: registered in each at most once, active in one at a time."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from portal.extensions import db
from portal.messages import Message, _m
from portal.regions.models import Region
from portal.regions.scope import all_regions, current_region
from portal.workers.models import Worker, WorkerStatus

LOOKUP_BATCH = 2_000


def active_elsewhere(hashes: Collection[str]) -> dict[str, str]:
    """NIK hash -> the name of the other region where that NIK is active (not inactive),
    for those of `hashes` that are; nothing else of the other region is read.

    The one read of workers across regions: the scope widens for its select alone, so that
    row-level security on PostgreSQL lets it see the other regions' rows too. A batch of
    hashes costs one query (the unique (region_code, nik_hash) index finds each).
    """
    region = current_region()
    others = list(db.session.scalars(select(Region.code).where(Region.code != region)))
    wanted = list(hashes)
    if not others or not wanted:
        return {}
    stmt = (
        select(Worker.nik_hash, Region.name)
        .join(Region, Region.code == Worker.region_code)
        .where(Worker.region_code.in_(others), Worker.status != WorkerStatus.INACTIVE)
    )
    found: dict[str, str] = {}
    db.session.flush()  # rows made in this region take its code before the scope widens
    with all_regions():
        for start in range(0, len(wanted), LOOKUP_BATCH):
            batch = wanted[start : start + LOOKUP_BATCH]
            found.update(db.session.execute(stmt.where(Worker.nik_hash.in_(batch))).tuples().all())
    return found


def registered_elsewhere(region_name: str) -> Message:
    """Why a NIK active in another region is refused here (the region's name, nothing more)."""
    return _m(
        "This NIK is registered in another region (%(region)s). That region must first mark "
        "the worker as moved; the worker can then be registered here.",
        region=region_name,
    )
