"""Load the shipped reference data (areas, categories, rate schedule) into an empty database."""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path

from sqlalchemy import func, select

from portal.extensions import db
from portal.matching.rules import seed_rules
from portal.reference.models import Category, Kecamatan, Kelurahan, RateSchedule
from portal.regions.models import SEMARANG, SEMARANG_REGULATION, Region
from portal.regions.scope import region_scope

DATA_DIR = Path(__file__).with_name("data")

# Categories with higher work-accident risk get a higher weight on the waiting list (R4).
RISK_WEIGHTS = {
    "becak": 3,
    "angkot": 3,
    "ojek": 3,
    "sopir": 3,
    "nelayan": 3,
    "kubur": 2,
    "bhl": 2,
    "parkir": 2,
    "kebersihan": 2,
    "pemulung": 2,
    "petani": 2,
    "tambal": 2,
}


# The contribution every region starts from (PP 44/2015 jo. PP 82/2019): JKK 1% of a declared
# income of Rp1,000,000 plus JKM Rp6,800, Rp16,800 a worker and month, in force since 2025.
NATIONAL_RATE_FROM = date(2025, 1, 1)
NATIONAL_DECLARED_INCOME = 1_000_000
NATIONAL_JKK = 10_000
NATIONAL_JKM = 6_800
NATIONAL_BASIS = "JKK 1% x Rp1.000.000 + JKM Rp6.800 (PP 44/2015 jo. PP 82/2019)"
SEMARANG_BASIS = f"{NATIONAL_BASIS}; Perwal Semarang 26/2025"
DEFAULT_SOURCE = "PIJAR SEMAR default list (from Kota Semarang's)"


def seed_reference() -> dict[str, int]:
    """Insert what is missing; running it twice changes nothing. Returns rows added."""
    areas = _seed_areas()
    with region_scope(SEMARANG):
        return {
            "kecamatan+kelurahan": areas,
            "categories": seed_categories(),
            "rates": seed_rate(SEMARANG_BASIS),
            "rules": seed_rules(),
        }


def _seed_areas() -> int:
    """Kota Semarang, the region the portal started with, and its areas."""
    if db.session.get(Region, SEMARANG) is None:
        db.session.add(Region(code=SEMARANG, name="Kota Semarang", regulation=SEMARANG_REGULATION))
        db.session.flush()
    if db.session.scalar(select(func.count(Kelurahan.code))):
        return 0
    added = 0
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            code = row["kode_kecamatan"]
            if db.session.get(Kecamatan, code) is None:
                db.session.add(
                    Kecamatan(code=code, name=row["nama_kecamatan"], region_code=SEMARANG)
                )
                db.session.flush()
                added += 1
            db.session.add(
                Kelurahan(
                    code=row["kode_kelurahan"], name=row["nama_kelurahan"], kecamatan_code=code
                )
            )
            added += 1
    db.session.flush()
    return added


def seed_categories(source: str | None = None) -> int:
    """The shipped categories with their risk weights, for the region in scope when it has
    none; `source` replaces each row's own source (a new region's copy). Returns rows added."""
    if db.session.scalar(select(func.count(Category.id))):
        return 0
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    for row in rows:
        db.session.add(
            Category(
                code=row["code"],
                name_id=row["nama"],
                name_en=row["name_en"],
                source=source or row["source"],
                risk_weight=RISK_WEIGHTS.get(row["code"], 1),
            )
        )
    db.session.flush()
    return len(rows)


def seed_rate(legal_basis: str = NATIONAL_BASIS) -> int:
    """The national rate, open-ended, for the region in scope when it has no rate. Returns
    rows added."""
    if db.session.scalar(select(func.count(RateSchedule.id))):
        return 0
    db.session.add(
        RateSchedule(
            effective_from=NATIONAL_RATE_FROM,
            declared_income=NATIONAL_DECLARED_INCOME,
            jkk_amount=NATIONAL_JKK,
            jkm_amount=NATIONAL_JKM,
            legal_basis=legal_basis,
        )
    )
    db.session.flush()
    return 1
