"""Adding a region (data, not code) and what each region holds."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Select, func, select

from portal.audit.services import record_event
from portal.extensions import db
from portal.matching.rules import seed_rules
from portal.messages import _m
from portal.reference.models import Kecamatan, Kelurahan
from portal.reference.seed import DEFAULT_SOURCE, seed_categories, seed_rate
from portal.regions import wilayah
from portal.regions.exceptions import RegionError
from portal.regions.models import Region
from portal.regions.scope import all_regions, region_scope
from portal.workers.models import Worker


@dataclass(frozen=True)
class RegionSummary:
    code: str
    name: str
    kecamatan: int
    villages: int
    workers: int

    def as_json(self) -> dict[str, str | int]:
        return {
            "code": self.code,
            "name": self.name,
            "kecamatan": self.kecamatan,
            "desa_kelurahan": self.villages,
            "workers": self.workers,
        }


def areas_to_add(code: str) -> wilayah.RegionAreas:
    """The areas of the region a code names, from the national table, for a region not here
    yet. Raises RegionError for a region that exists or a code of no kabupaten or kota."""
    if db.session.get(Region, code) is not None:
        raise RegionError(_m("Region %(code)s exists already.", code=code))
    areas = wilayah.region_areas(code)
    if areas is None:
        raise RegionError(
            _m(
                "%(code)s is not the Kemendagri code of a kabupaten or kota (e.g. 33.19).",
                code=code,
            )
        )
    return areas


def add_region(code: str, actor: object = None) -> Region:
    """A kabupaten or kota with its kecamatan and desa/kelurahan from the shipped national
    table, rules version 1, and the default categories and national rate. Raises RegionError
    for an unknown code, a region that exists, or an area code another region holds already."""
    code = code.strip()
    areas = areas_to_add(code)
    kecamatan_codes = [area.code for area in areas.kecamatan]
    taken = db.session.scalar(
        select(func.count()).select_from(Kecamatan).where(Kecamatan.code.in_(kecamatan_codes))
    )
    if taken:
        raise RegionError(_m("The kecamatan of %(code)s are held by another region.", code=code))
    region = Region(code=code, name=areas.name)
    db.session.add(region)
    db.session.flush()
    db.session.execute(
        Kecamatan.__table__.insert(),
        [{"code": a.code, "name": a.name, "region_code": code} for a in areas.kecamatan],
    )
    db.session.execute(
        Kelurahan.__table__.insert(),
        [{"code": a.code, "name": a.name, "kecamatan_code": a.parent} for a in areas.villages],
    )
    with region_scope(code):
        # The national defaults, so the region prices pledges and imports rosters at once;
        # its admins then set their own. Categories first: rules version 1 takes their weights.
        categories = seed_categories(source=DEFAULT_SOURCE)
        seed_rate()
        seed_rules(city_quotas={}, note=f"{areas.name}: no city quota until its admins set one")
    record_event(
        "region.add",
        region,
        actor=actor,
        after={
            "kecamatan": len(areas.kecamatan),
            "desa_kelurahan": len(areas.villages),
            "categories": categories,
        },
    )
    return region


def summaries() -> list[RegionSummary]:
    """Every region with its kecamatan, desa/kelurahan and registered workers, by code."""
    kecamatan = _counts(select(Kecamatan.region_code, func.count()).group_by(Kecamatan.region_code))
    villages = _counts(
        select(Kecamatan.region_code, func.count(Kelurahan.code))
        .join(Kelurahan, Kelurahan.kecamatan_code == Kecamatan.code)
        .group_by(Kecamatan.region_code)
    )
    with all_regions():  # the national view: each region's own count
        workers = _counts(
            select(Worker.region_code, func.count(Worker.id)).group_by(Worker.region_code)
        )
    return [
        RegionSummary(
            region.code,
            region.name,
            kecamatan.get(region.code, 0),
            villages.get(region.code, 0),
            workers.get(region.code, 0),
        )
        for region in db.session.scalars(select(Region).order_by(Region.code))
    ]


def _counts(stmt: Select[tuple[str, int]]) -> dict[str, int]:
    return {code: count for code, count in db.session.execute(stmt).tuples()}
