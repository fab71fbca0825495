"""The national table of areas (Kemendagri codes) the portal ships, read without a database.

`portal/reference/data/wilayah/` holds the kabupaten/kota, kecamatan and desa/kelurahan of
Indonesia from the npm package `idn-area-data` 4.0.1 (Open Database License, see SOURCE.md
there), as gzipped CSV: `code,parent_code,name`. Kota Semarang's rows equal the project's own
`semarang_wilayah.csv` (a test checks it).
"""

from __future__ import annotations

import csv
import gzip
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

WILAYAH = Path(__file__).resolve().parents[1] / "reference" / "data" / "wilayah"
REGION_CODE = re.compile(r"^\d{2}\.\d{2}$")


@dataclass(frozen=True)
class Area:
    code: str
    name: str
    parent: str


@dataclass(frozen=True)
class RegionAreas:
    code: str
    name: str
    kecamatan: list[Area]
    villages: list[Area]  # desa and kelurahan


def _rows(name: str) -> Iterator[dict[str, str]]:
    with gzip.open(WILAYAH / f"{name}.csv.gz", "rb") as raw:
        yield from csv.DictReader(io.TextIOWrapper(raw, encoding="utf-8", newline=""))


def region_name(code: str) -> str | None:
    """ "Kabupaten Kudus" for 33.19; None for a code that is not a kabupaten or kota."""
    for row in _rows("regencies"):
        if row["code"] == code:
            return row["name"]
    return None


def region_areas(code: str) -> RegionAreas | None:
    """A kabupaten or kota with its kecamatan and desa/kelurahan, or None when unknown."""
    if not REGION_CODE.match(code):
        return None
    name = region_name(code)
    if name is None:
        return None
    prefix = code + "."
    kecamatan = [
        Area(row["code"], row["name"], code)
        for row in _rows("districts")
        if row["regency_code"] == code
    ]
    villages = [
        Area(row["code"], row["name"], row["district_code"])
        for row in _rows("villages")
        if row["code"].startswith(prefix)
    ]
    return RegionAreas(code, name, kecamatan, villages)
