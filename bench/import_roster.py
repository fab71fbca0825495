"""Roster import speed: 100,000 rows into a fresh SQLite database vs one plain csv read pass.

A second region (Kabupaten Kudus) holds registered workers too, so that each batch's look-up
of NIKs active in another region reads real rows.

Also prints what inserting the same rows costs the database alone (no reading, checking or
encrypting), for scale.

Usage: .venv/bin/python -m bench.import_roster [--rows N]
Last line: ratio=<import/read> bar=10 ok=<yes|no>
"""

from __future__ import annotations

import argparse
import csv
import random
import sqlite3
import tempfile
import time
from datetime import date
from pathlib import Path

from sqlalchemy import insert, select

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.reference.seed import DATA_DIR, seed_reference
from portal.regions.services import add_region
from portal.workers.importer import import_roster
from portal.workers.models import Worker
from portal.workers.nik import build_nik

BAR = 10.0
OTHER_REGION, OTHER_WORKERS = "33.19", 20_000
HEADER = [
    "nik",
    "nama",
    "tanggal_lahir",
    "jenis_kelamin",
    "kategori",
    "kode_kelurahan",
    "no_hp",
    "no_kpj",
    "alamat",
    "desil",
]


def write_roster(path: Path, rows: int, seed: int = 7) -> None:
    """A realistic roster: valid NIKs agreeing with birth date and sex, mixed date formats."""
    rng = random.Random(seed)  # noqa: S311 - benchmark data
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        areas = [row["kode_kelurahan"] for row in csv.DictReader(handle)]
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        categories = [row["code"] for row in csv.DictReader(handle)]
    with path.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(HEADER)
        for n in range(rows):
            writer.writerow(_row(n, rng, areas, categories))


def _row(n: int, rng: random.Random, areas: list[str], categories: list[str]) -> list[str]:
    female = rng.random() < 0.45
    born = date(rng.randint(1962, 2005), rng.randint(1, 12), rng.randint(1, 28))
    area = rng.choice(areas)
    nik = build_nik(area.replace(".", "")[:6], born, female, n % 9999 + 1)
    shown = born.strftime("%d/%m/%Y") if n % 2 else born.isoformat()
    return [
        nik,
        f"Pekerja {n}",
        shown,
        "P" if female else "L",
        rng.choice(categories),
        area,
        f"08{rng.randint(100_000_000, 999_999_999)}",
        "",
        f"RT {n % 20:02d}/RW {n % 9:02d}",
        str(rng.randint(1, 10)),
    ]


def plain_read(path: Path) -> float:
    start = time.perf_counter()
    with path.open(newline="", encoding="utf-8") as handle:
        for _row in csv.reader(handle):
            pass
    return time.perf_counter() - start


def _app(database: Path):  # type: ignore[no-untyped-def]
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
    return create_app(settings)


def timed_import(path: Path, workdir: Path) -> tuple[float, dict]:
    app = _app(workdir / "bench.db")
    with app.app_context():
        db.create_all()
        seed_reference()
        _other_region()
        db.session.commit()
        data = path.read_bytes()
        start = time.perf_counter()
        report = import_roster(data, path.name, dry_run=False, update_existing=False, actor_id=None)
        db.session.commit()
        elapsed = time.perf_counter() - start
        db.session.remove()
        db.engine.dispose()
    return elapsed, report.as_json()


def _other_region() -> None:
    """Kabupaten Kudus with registered workers (stand-in NIK columns, none of the roster's)."""
    add_region(OTHER_REGION)
    category_id = db.session.scalars(select(Category.id)).first()
    kelurahan = db.session.scalars(
        select(Kelurahan.code).join(Kecamatan).where(Kecamatan.region_code == OTHER_REGION)
    ).first()
    rows = [
        {
            "nik_hash": f"kudus-{i:058d}",
            "nik_encrypted": f"bench-{i}",
            "nik_masked": f"3319********{i % 10_000:04d}",
            "full_name": f"Pekerja Kudus {i}",
            "birth_date": date(1980, 1, 1),
            "sex": "L",
            "category_id": category_id,
            "kelurahan_code": kelurahan,
            "status": "registered",
            "region_code": OTHER_REGION,
        }
        for i in range(OTHER_WORKERS)
    ]
    db.session.execute(insert(Worker), rows)


def write_floor(workdir: Path) -> float:
    """Seconds to insert, into a second fresh database with the same schema, exactly the rows
    the import wrote (workers and their first history rows), already in stored form, with one
    plain executemany each: what the database alone costs, with no reading or checking."""
    tables = ("worker", "worker_status_change")
    with sqlite3.connect(workdir / "bench.db") as source:
        rows = {t: source.execute(f"SELECT * FROM {t}").fetchall() for t in tables}  # noqa: S608
    app = _app(workdir / "floor.db")
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
        db.engine.dispose()
    with sqlite3.connect(workdir / "floor.db") as target:
        start = time.perf_counter()
        for table in tables:
            marks = ",".join("?" * len(rows[table][0]))
            target.executemany(f"INSERT INTO {table} VALUES ({marks})", rows[table])  # noqa: S608
        target.commit()
        return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        roster = workdir / "roster.csv"
        write_roster(roster, args.rows)
        read = min(plain_read(roster) for _ in range(3))
        elapsed, result = timed_import(roster, workdir)
        floor = write_floor(workdir)
    print(f"rows={result['rows']} created={result['created']} rejected={result['rejected']}")
    print(f"plain_csv_read={read:.3f}s import={elapsed:.3f}s")
    print(f"database_write_alone={floor:.3f}s ({floor / read:.1f}x the read pass)")
    ratio = elapsed / read
    ok = ratio <= BAR and result["rejected"] == 0
    print(f"ratio={ratio:.2f} bar={BAR:g} ok={'yes' if ok else 'no'}")


if __name__ == "__main__":
    main()
