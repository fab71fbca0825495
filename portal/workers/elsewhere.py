"""A NIK in several regions: registered in each at most once, active in one at a time."""

from __future__ import annotations

from collections.abc import Collection

from sqlalchemy import select

from portal.extensions import db
from portal.messages import Message, _m
from portal.regions.models import Region
from portal.regions.scope import current_region, read_across_regions
from portal.workers.models import Worker, WorkerStatus


def active_elsewhere(hashes: Collection[str]) -> dict[str, str]:
    """NIK hash -> the name of the other region where that NIK is active (not inactive),
    for those of `hashes` that are; nothing else of the other region is read.

    The one read of workers across regions (`read_across_regions`); a batch of hashes costs
    one query (the unique (region_code, nik_hash) index finds each).
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
    return dict(read_across_regions(stmt, Worker.nik_hash, wanted))


def registered_elsewhere(region_name: str) -> Message:
    """Why a NIK active in another region is refused here (the region's name, nothing more)."""
    return _m(
        "This NIK is registered in another region (%(region)s). That region must first mark "
        "the worker as moved; the worker can then be registered here.",
        region=region_name,
    )
