"""Worker register tests, and reference lookups built from the shipped CSVs (no database)."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from portal.workers.rows import Lookups

DATA_DIR = Path(__file__).parents[2] / "portal" / "reference" / "data"


@cache
def reference_lookups() -> Lookups:
    """Lookups as the import would build them; category ids follow the seed order (1, 2, ...)."""
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        areas = [
            (row["kode_kelurahan"], row["nama_kelurahan"], row["nama_kecamatan"])
            for row in csv.DictReader(handle)
        ]
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        categories = [
            (number, row["code"], row["nama"], row["name_en"])
            for number, row in enumerate(csv.DictReader(handle), 1)
        ]
    return Lookups.build(areas, categories)


def category_id(code: str) -> int:
    """The id reference_lookups() gives a category code."""
    return reference_lookups().category_by_code[code]
