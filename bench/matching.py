"""Matching speed and optimality: 250,000 workers and 2,000 paid pledges in a fresh SQLite file,
in Kota Semarang or (--regions N) in each of N regions of one installation.

Times propose_run + approve_run + commit against a lower bound measured in the same run:
the proposal's SELECT (worker, category, kecamatan, decile, registration date, lapsing; only
eligible workers not covered from the month on), fully fetched, plus inserting the approval's
coverage rows with core executemany into a copy of the coverage table (same columns, foreign
keys, unique constraints and indexes). The optimum is an independent max-flow (OR-Tools
SimpleMaxFlow, one node per pledge) over the waiting list counted from the generated data.

City quotas are switched off (a rule version with city_quotas {}): the bench measures the
pledge placement; 7,000 APBD-covered workers and 3,000 lapsing ones are in the data anyway.

With --regions N, N kabupaten/kota of Jawa Tengah (Kemendagri codes 33.01, 33.02, ... from the
national table, Kota Semarang aside) are added with add_region, each given the same number of
workers and pledges (companies are national: the same 100 sponsor in every region). Regions
are prepared in --jobs parallel processes, then timed one after another, each in its scope
(the other regions' rows stay in the tables); the ratio is the matching summed over the
regions against the bound summed over the regions.

Usage: .venv/bin/python bench/matching.py [--workers N] [--pledges N] [--regions N [--jobs N]]
[--profile FILE]   (BENCH_DATABASE_URL=<an empty PostgreSQL database> runs it there instead.)
Last line: ratio=<matching/bound> bar=3 optimal=<yes|no> ok=<yes|no>, and with --regions N:
ratio=<matching/bound> bar=2 optimal=<yes|no> regions=N ok=<yes|no>
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import gzip
import multiprocessing
import os
import random
import re
import tempfile
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from flask import Flask
from ortools.graph.python import max_flow
from sqlalchemy import MetaData, Table, event, exists, func, insert, select, text

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.matching import services
from portal.matching.models import MatchPlacement
from portal.matching.rules import change_rules, current_rules
from portal.payments.booking import book_payment
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge
from portal.pledges.services import earliest_start
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.reference.seed import DATA_DIR, seed_reference
from portal.regions.models import SEMARANG
from portal.regions.scope import region_scope
from portal.regions.services import add_region
from portal.regions.wilayah import WILAYAH
from portal.workers.eligibility import eligible_clause
from portal.workers.models import Worker, WorkerStatus

BAR = 3.0
REGIONS_BAR = 2.0
PROVINCE = "33"  # Jawa Tengah
FULL = 250_000
APBD_COVERED = 7_000  # per 250,000 workers: covered last month, this month and next
LAPSING = 3_000  # per 250,000 workers: covered last month only, waiting (R4 continuity first)
COMPANIES = 100
# A few small trades: pledges targeting them compete for few workers, so not every slot can
# be filled and the optimum is a real check, not just the number of slots.
RARE = ("jenazah", "kubur", "marbot", "ngaji")
RARE_SHARE = 0.02
CITY_RATE = 16_800
WRITER_WAIT_MS = 600_000  # preparing processes wait for each other's inserts on SQLite


@dataclass
class Data:
    """What was generated, kept to count the waiting list independently of the portal."""

    cells: Counter  # (category, kecamatan) -> waiting workers
    pledges: list[tuple[int, int, frozenset[str], frozenset[str]]]  # id, slots, cats, kecs


@dataclass(frozen=True)
class Shape:
    """What every region is given: sizes, the month, the national sponsors (user, company)."""

    workers: int
    pledges: int
    month: date
    owners: list[tuple[int, int]]


def _areas() -> dict[str, str]:
    """Kota Semarang's kelurahan -> kecamatan, in the order of the project's own table."""
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        return {row["kode_kelurahan"]: row["kode_kecamatan"] for row in csv.DictReader(handle)}


def _region_areas(code: str) -> dict[str, str]:
    """A region's desa/kelurahan -> kecamatan, as add_region stored them."""
    return dict(
        db.session.execute(
            select(Kelurahan.code, Kelurahan.kecamatan_code)
            .join(Kecamatan, Kecamatan.code == Kelurahan.kecamatan_code)
            .where(Kecamatan.region_code == code)
            .order_by(Kelurahan.code)
        ).all()
    )


def _categories() -> list[str]:
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        return [row["code"] for row in csv.DictReader(handle)]


def region_codes(n: int) -> list[tuple[str, str]]:
    """The first n kabupaten/kota of Jawa Tengah in the national table, Kota Semarang aside
    (the portal's first region, seeded with the reference data)."""
    with gzip.open(WILAYAH / "regencies.csv.gz", "rt", encoding="utf-8", newline="") as raw:
        found = [
            (row["code"], row["name"])
            for row in csv.DictReader(raw)
            if row["code"].startswith(PROVINCE + ".") and row["code"] != SEMARANG
        ]
    if not 1 <= n <= len(found):
        raise SystemExit(f"--regions takes 1 to {len(found)} (kabupaten/kota of Jawa Tengah)")
    return found[:n]


def prepare(workers: int, pledges: int, month: date, rng: random.Random) -> Data:
    """Schema, reference data, rules without city quotas, workers, coverage, paid pledges."""
    db.create_all()
    seed_reference()
    admin = User(email="bench-admin@example.com", full_name="Bench", role=Role.ADMIN)
    db.session.add(admin)
    db.session.flush()
    change_rules({**current_rules().parameters(), "city_quotas": {}}, admin, "bench: no quota")
    shape = Shape(workers, pledges, month, _sponsors())
    data = _fill_region(shape, rng, _areas(), first_id=1, tag="")
    db.session.commit()
    return data


def _fill_region(
    shape: Shape, rng: random.Random, kecamatan_of: dict[str, str], first_id: int, tag: str
) -> Data:
    """Workers, city coverage and paid pledges of the region in scope; the worker ids are
    first_id onwards, `tag` keeps the pledges' payment references unique."""
    categories = _categories()
    category_ids = dict(db.session.execute(select(Category.code, Category.id)).all())
    db.session.commit()
    worker_cells = _insert_workers(
        shape.workers, rng, kecamatan_of, categories, category_ids, first_id
    )
    covered = _insert_city_coverage(shape.workers, shape.month, rng, first_id)
    cells = Counter(
        cell for worker_id, cell in enumerate(worker_cells, first_id) if worker_id not in covered
    )
    kecamatan = sorted(set(kecamatan_of.values()))
    made = _insert_pledges(shape, rng, kecamatan, categories, tag)
    return Data(cells, made)


def _insert_workers(
    n: int,
    rng: random.Random,
    kecamatan_of: dict[str, str],
    categories: list[str],
    category_ids: dict[str, int],
    first_id: int,
) -> list[tuple[str, str]]:
    """Core executemany; NIK columns are cheap unique stand-ins (only matching is timed).
    Each batch commits, so that a region prepared alongside can write in between."""
    kelurahan = list(kecamatan_of)
    area_weights = [rng.lognormvariate(0, 0.8) for _ in kelurahan]
    category_weights = [RARE_SHARE if c in RARE else rng.lognormvariate(0, 0.8) for c in categories]
    areas = rng.choices(kelurahan, area_weights, k=n)
    kinds = rng.choices(categories, category_weights, k=n)
    start = date(2024, 1, 1).toordinal()
    nik_region = kelurahan[0][:5].replace(".", "") if kelurahan else "3374"
    rows, cells = [], []
    for i in range(first_id, first_id + n):
        area, kind = areas[i - first_id], kinds[i - first_id]
        known = rng.random() < 0.4
        rows.append(
            {
                "id": i,
                "nik_hash": f"{i:064x}",
                "nik_encrypted": f"bench-{i}",
                "nik_masked": f"{nik_region}********{i % 10_000:04d}",
                "full_name": f"Pekerja {i}",
                "birth_date": date(rng.randint(1966, 2006), rng.randint(1, 12), rng.randint(1, 28)),
                "sex": "P" if rng.random() < 0.42 else "L",
                "category_id": category_ids[kind],
                "kelurahan_code": area,
                "dtsen_decile": min(int(rng.expovariate(0.35)) + 1, 10) if known else None,
                "registered_on": date.fromordinal(start + rng.randrange(700)),
                "status": WorkerStatus.ELIGIBLE,
                "domicile_flag": False,
            }
        )
        cells.append((kind, kecamatan_of[area]))
    for first in range(0, n, 50_000):
        db.session.execute(insert(Worker), rows[first : first + 50_000])
        db.session.commit()
    return cells


def _insert_city_coverage(n: int, month: date, rng: random.Random, first_id: int) -> set[int]:
    """APBD coverage already there: some workers continue past `month`, some lapse in it
    (7,000 and 3,000 of 250,000, in proportion at other sizes)."""
    continuing, lapse = APBD_COVERED * n // FULL, LAPSING * n // FULL
    chosen = rng.sample(range(first_id, first_id + n), continuing + lapse)
    covered, lapsing = chosen[:continuing], chosen[continuing:]
    previous = add_months(month, -1)
    rows = [
        {
            "worker_id": w,
            "person_key": f"{w:064x}",  # the worker's stand-in nik_hash
            "month": add_months(month, k),
            "funder": Funder.APBD,
            "amount": CITY_RATE,
        }
        for w in covered
        for k in (-1, 0, 1)
    ]
    rows += [
        {
            "worker_id": w,
            "person_key": f"{w:064x}",
            "month": previous,
            "funder": Funder.APBD,
            "amount": CITY_RATE,
        }
        for w in lapsing
    ]
    db.session.execute(insert(Coverage), rows)
    db.session.commit()
    return set(covered)


def _sponsors() -> list[tuple[int, int]]:
    """The national sponsors: (owner's user id, company id) of each company."""
    owners = []
    for c in range(COMPANIES):
        company = Company(
            legal_name=f"PT Bench {c}",
            nib=f"{9_300_000_000_000 + c:013d}",
            npwp=f"{300_000_000_000_000 + c:015d}",
            address="Semarang",
            sector="manufacturing",
            contact_name="CSR",
            contact_phone="0241",
            status=CompanyStatus.VERIFIED,
        )
        db.session.add(company)
        db.session.flush()
        owner = User(
            email=f"csr{c}@bench.example.com",
            full_name=f"CSR {c}",
            role=Role.SPONSOR_OWNER,
            company_id=company.id,
        )
        db.session.add(owner)
        owners.append(owner)
    db.session.flush()
    return [(owner.id, owner.company_id) for owner in owners]


def _insert_pledges(
    shape: Shape, rng: random.Random, kecamatan: list[str], categories: list[str], tag: str
) -> list[tuple[int, int, frozenset[str], frozenset[str]]]:
    """Paid by bank transfer last month or earlier, each booked in the ledger; committed
    every 100 pledges."""
    month, owners = shape.month, shape.owners
    rates: dict[int, list] = {}
    now = datetime.now(UTC)
    made = []
    for i in range(shape.pledges):
        months = rng.choice([3, 6, 12]) if rng.random() < 0.6 else rng.randint(1, 24)
        workers = rng.randint(5, 60)
        shape = rng.random()
        cats = (
            rng.sample(categories, rng.randint(1, 3)) if 0.4 <= shape < 0.6 or shape >= 0.8 else []
        )
        kecs = rng.sample(kecamatan, rng.randint(1, 3)) if shape >= 0.6 else []
        lines = rates.setdefault(months, price_pledge(1, months, month))
        owner_id, company_id = owners[i % len(owners)]
        pledge = Pledge(
            company_id=company_id,
            created_by_id=owner_id,
            status=PledgeStatus.PAID,
            workers=workers,
            months=months,
            start_month=month,
            target_categories=sorted(cats),
            target_kecamatan=sorted(kecs),
            price_breakdown=[
                {**line.as_json(), "workers": workers, "subtotal": line.rate * workers}
                for line in lines
            ],
            price_total=sum(line.rate for line in lines) * workers,
        )
        db.session.add(pledge)
        db.session.flush()
        payment = Payment(
            pledge_id=pledge.id,
            company_id=company_id,
            method=PaymentMethod.BANK_TRANSFER,
            status=PaymentStatus.PAID,
            amount=pledge.price_total,
            received_amount=pledge.price_total,
            reference=f"PJS-BENCH-{tag}{i:06d}",
            idempotency_key=f"bench-match-{tag}{i}",
            paid_at=now - timedelta(days=rng.randint(0, 20)),
        )
        db.session.add(payment)
        db.session.flush()
        book_payment(payment)
        made.append((pledge.id, workers, frozenset(cats), frozenset(kecs)))
        if i % 100 == 99:
            db.session.commit()
    db.session.commit()
    return made


def bound_read(month: date) -> tuple[float, int]:
    """The proposal's SELECT, fully fetched: the least any proposal has to read."""
    previous = add_months(month, -1)
    covered_from = exists().where(Coverage.worker_id == Worker.id, Coverage.month >= month)
    lapsing = exists().where(Coverage.worker_id == Worker.id, Coverage.month == previous)
    stmt = (
        select(
            Worker.id,
            Category.code,
            Kelurahan.kecamatan_code,
            Worker.dtsen_decile,
            Worker.registered_on,
            lapsing,
        )
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(eligible_clause(month), ~covered_from)
    )
    start = time.perf_counter()
    rows = db.session.execute(stmt).all()
    elapsed = time.perf_counter() - start
    db.session.rollback()
    return elapsed, len(rows)


def bound_insert(run_id: int) -> tuple[float, int]:
    """The run's coverage rows again, core executemany into a copy of the coverage table
    (made by _create_scratch)."""
    meta = MetaData()
    source = Table("coverage", meta, autoload_with=db.engine)
    scratch = Table("coverage_scratch", meta, autoload_with=db.engine)
    columns = [c for c in source.c if c.name != "id"]
    rows = [
        dict(row)
        for row in db.session.execute(
            select(*columns).where(source.c.run_id == run_id).order_by(source.c.id)
        ).mappings()
    ]
    db.session.rollback()
    start = time.perf_counter()
    db.session.execute(insert(scratch), rows)
    db.session.commit()
    elapsed = time.perf_counter() - start
    return elapsed, len(rows)


def bound_insert_driver(run_id: int) -> float:
    """For information: the same rows as plain tuples straight to the driver (no per-row
    SQLAlchemy processing), into the emptied scratch table."""
    db.session.execute(text("DELETE FROM coverage_scratch"))
    db.session.commit()
    scratch = Table("coverage_scratch", MetaData(), autoload_with=db.engine)
    columns = [c.name for c in scratch.c if c.name != "id"]
    connection = db.session.connection()
    rows = connection.exec_driver_sql(
        f"SELECT {', '.join(columns)} FROM coverage WHERE run_id = {int(run_id)} "  # noqa: S608
        "ORDER BY id"
    ).all()
    compiled = insert(scratch).compile(
        dialect=connection.dialect, column_keys=columns, for_executemany=True
    )
    params = [
        tuple(row) if compiled.positional else dict(zip(columns, row, strict=True)) for row in rows
    ]
    db.session.rollback()
    start = time.perf_counter()
    db.session.connection().exec_driver_sql(str(compiled), params)
    db.session.commit()
    return time.perf_counter() - start


def _create_scratch() -> None:
    """coverage_scratch: coverage's columns, keys, checks, foreign keys and indexes."""
    connection = db.session.connection()
    if connection.dialect.name == "sqlite":
        schema = connection.exec_driver_sql(
            "SELECT sql FROM sqlite_master WHERE tbl_name = 'coverage' AND sql IS NOT NULL"
        ).all()
        for (sql,) in schema:  # the table and its indexes, renamed
            sql = re.sub(r"\bix_coverage_", "ix_coverage_scratch_", sql)
            connection.exec_driver_sql(re.sub(r"\bcoverage\b", "coverage_scratch", sql))
    else:
        connection.exec_driver_sql("CREATE TABLE coverage_scratch (LIKE coverage INCLUDING ALL)")
        for key in Coverage.__table__.foreign_keys:
            connection.exec_driver_sql(
                f"ALTER TABLE coverage_scratch ADD FOREIGN KEY ({key.parent.name}) "
                f"REFERENCES {key.column.table.name} ({key.column.name})"
            )
    db.session.commit()


def optimum(data: Data) -> int:
    """Plain max-flow: source -> pledge (slots) -> cell it fits (inf) -> sink (waiting)."""
    cells = list(data.cells)
    solver = max_flow.SimpleMaxFlow()
    source, sink = 0, 1
    first_cell = 2 + len(data.pledges)
    for i, (_, slots, cats, kecs) in enumerate(data.pledges):
        solver.add_arc_with_capacity(source, 2 + i, slots)
        for j, (category, kecamatan) in enumerate(cells):
            if (not cats or category in cats) and (not kecs or kecamatan in kecs):
                solver.add_arc_with_capacity(2 + i, first_cell + j, slots)
    for j, cell in enumerate(cells):
        solver.add_arc_with_capacity(first_cell + j, sink, data.cells[cell])
    if solver.solve(source, sink) != solver.OPTIMAL:
        raise RuntimeError("max flow failed")
    return int(solver.optimal_flow())


def timed_matching(
    month: date, profiler: cProfile.Profile | None, tag: str = ""
) -> tuple[float, float, int]:
    """propose_run by one staff member, approve_run + commit by another (of the region in
    scope); returns the seconds of each and the run's id."""
    staff, staff2 = (
        User(email=f"staf{n}{tag}@bench.example.com", full_name=f"Staf {n}", role=Role.STAFF)
        for n in (1, 2)
    )
    db.session.add_all([staff, staff2])
    db.session.commit()
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    run = services.propose_run(month, staff)
    proposed = time.perf_counter()
    services.approve_run(run, staff2)
    run_id = run.id  # read before the commit expires the run
    db.session.commit()
    done = time.perf_counter()
    if profiler:
        profiler.disable()
    return proposed - start, done - proposed, run_id


@dataclass(frozen=True)
class Outcome:
    """One region's run: the bound, the matching, and what was placed against the optimum."""

    read: float
    write: float
    propose: float
    approve: float
    waiting: int
    placed: int
    best: int
    written: int
    expected: int
    generated: int
    run_id: int

    @property
    def optimal(self) -> bool:
        return (
            self.placed == self.best
            and self.written == self.expected
            and self.waiting == self.generated
        )


def measure(month: date, data: Data, profiler: cProfile.Profile | None, tag: str = "") -> Outcome:
    """The bound and the matching of the region in scope, timed, and the result checked."""
    read, waiting = min(bound_read(month) for _ in range(3))
    propose, approve, run_id = timed_matching(month, profiler, tag)
    write, _ = bound_insert(run_id)
    placed = db.session.scalar(
        select(func.count(MatchPlacement.id)).where(
            MatchPlacement.run_id == run_id, MatchPlacement.pledge_id.is_not(None)
        )
    )
    written = db.session.scalar(select(func.count(Coverage.id)).where(Coverage.run_id == run_id))
    expected = db.session.scalar(
        select(func.sum(MatchPlacement.months)).where(MatchPlacement.run_id == run_id)
    )
    db.session.commit()
    return Outcome(
        read,
        write,
        propose,
        approve,
        waiting,
        placed or 0,
        optimum(data),
        written or 0,
        expected or 0,
        sum(data.cells.values()),
        run_id,
    )


def _app(database: str) -> Flask:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = database
    return create_app(settings)


def _drop_scratch() -> None:
    db.session.execute(text("DROP TABLE coverage_scratch"))
    db.session.commit()
    db.session.remove()
    db.engine.dispose()


def one_region(args: argparse.Namespace, database: str) -> None:
    """Kota Semarang alone, as the portal started."""
    rng = random.Random(args.seed)
    month = earliest_start()
    with _app(database).app_context():
        started = time.perf_counter()
        data = prepare(args.workers, args.pledges, month, rng)
        print(
            f"prepared workers={args.workers} pledges={args.pledges} "
            f"month={month:%Y-%m} city_quotas=off in {time.perf_counter() - started:.1f}s"
        )
        profiler = cProfile.Profile() if args.profile else None
        _create_scratch()
        got = measure(month, data, profiler)
        if profiler:
            profiler.dump_stats(args.profile)
        write_driver = bound_insert_driver(got.run_id)
        _drop_scratch()
    slots = sum(p[1] for p in data.pledges)
    print(
        f"waiting={got.waiting} (generated: {got.generated}) slots={slots} "
        f"placed={got.placed} optimum={got.best} coverage_rows={got.written} "
        f"(placements x months: {got.expected})"
    )
    bound = got.read + got.write
    print(
        f"bound: read={got.read:.3f}s insert={got.write:.3f}s ({got.written} rows) "
        f"total={bound:.3f}s"
    )
    matching = got.propose + got.approve
    print(
        f"matching: propose={got.propose:.3f}s approve+commit={got.approve:.3f}s "
        f"total={matching:.3f}s"
    )
    ratio = matching / bound
    print(
        f"for information: with the inserts as plain tuples to the driver "
        f"({write_driver:.3f}s) the bound is {got.read + write_driver:.3f}s and the ratio "
        f"{matching / (got.read + write_driver):.2f}"
    )
    ok = ratio <= BAR and got.optimal
    print(
        f"ratio={ratio:.2f} bar={BAR:g} optimal={'yes' if got.optimal else 'no'} "
        f"ok={'yes' if ok else 'no'}"
    )


def prepare_regions(database: str, codes: list[str], workers: int, pledges: int) -> Shape:
    """Schema, reference data, the national sponsors, and each region added with add_region
    (rules version 1 of an added region has no city quota)."""
    with _app(database).app_context():
        db.create_all()
        seed_reference()
        shape = Shape(workers, pledges, earliest_start(), _sponsors())
        for code in codes:
            add_region(code)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    return shape


def fill_region(job: tuple[str, str, int, Shape, int]) -> Data:
    """A preparing process: the workers, coverage and pledges of one region (ids apart)."""
    database, code, index, shape, seed = job
    app = _app(database)
    with app.app_context(), region_scope(code):
        if db.engine.dialect.name == "sqlite":
            db.engine.dispose()  # connections from now on wait longer
            event.listen(db.engine, "connect", _wait_for_writers)
        rng = random.Random(f"{seed}-{code}")
        first_id = index * shape.workers + 1
        data = _fill_region(shape, rng, _region_areas(code), first_id, tag=code)
        db.session.remove()
        db.engine.dispose()
    return data


def _wait_for_writers(dbapi_connection, connection_record) -> None:  # type: ignore[no-untyped-def]
    """Regions prepared side by side take turns at SQLite's one writer."""
    dbapi_connection.execute(f"PRAGMA busy_timeout={WRITER_WAIT_MS}")


def many_regions(args: argparse.Namespace, database: str) -> None:
    """N added regions, prepared in parallel processes, timed one after another."""
    regions = region_codes(args.regions)
    codes = [code for code, _ in regions]
    started = time.perf_counter()
    shape = prepare_regions(database, codes, args.workers, args.pledges)
    jobs = [(database, code, i, shape, args.seed) for i, code in enumerate(codes)]
    with ProcessPoolExecutor(args.jobs, mp_context=multiprocessing.get_context("spawn")) as pool:
        prepared = list(pool.map(fill_region, jobs))
    ready = time.perf_counter()
    print(
        f"prepared regions={args.regions} ({codes[0]}..{codes[-1]}) x workers={args.workers} "
        f"pledges={args.pledges} month={shape.month:%Y-%m} city_quotas=off jobs={args.jobs} "
        f"in {ready - started:.1f}s"
    )
    profiler = cProfile.Profile() if args.profile else None
    outcomes = []
    with _app(database).app_context():
        _create_scratch()
        for (code, name), data in zip(regions, prepared, strict=True):
            with region_scope(code):
                db.session.expunge_all()
                got = measure(shape.month, data, profiler, tag=f"-{code}")
                db.session.expunge_all()
            outcomes.append(got)
            _print_region(code, name, got)
        _drop_scratch()
    if profiler:
        profiler.dump_stats(args.profile)
    _print_regions(args.regions, outcomes, ready - started, time.perf_counter() - ready)


def _print_region(code: str, name: str, got: Outcome) -> None:
    bound, matching = got.read + got.write, got.propose + got.approve
    print(
        f"{code} {name}: waiting={got.waiting} placed={got.placed} optimum={got.best} "
        f"coverage_rows={got.written} bound={bound:.3f}s (read {got.read:.3f} + insert "
        f"{got.write:.3f}) matching={matching:.3f}s (propose {got.propose:.3f} + approve "
        f"{got.approve:.3f}) ratio={matching / bound:.2f} "
        f"optimal={'yes' if got.optimal else 'no'}",
        flush=True,
    )


def _print_regions(n: int, outcomes: list[Outcome], prepared: float, timed: float) -> None:
    read, write = sum(o.read for o in outcomes), sum(o.write for o in outcomes)
    propose, approve = sum(o.propose for o in outcomes), sum(o.approve for o in outcomes)
    rows = sum(o.written for o in outcomes)
    print(
        f"placed={sum(o.placed for o in outcomes)} optimum={sum(o.best for o in outcomes)} "
        f"coverage_rows={rows}"
    )
    print(f"bound: read={read:.3f}s insert={write:.3f}s total={read + write:.3f}s")
    print(
        f"matching: propose={propose:.3f}s approve+commit={approve:.3f}s "
        f"total={propose + approve:.3f}s"
    )
    print(f"wall: prepare={prepared:.1f}s timed={timed:.1f}s total={prepared + timed:.1f}s")
    ratio = (propose + approve) / (read + write)
    optimal = all(o.optimal for o in outcomes)
    ok = ratio <= REGIONS_BAR and optimal
    print(
        f"ratio={ratio:.2f} bar={REGIONS_BAR:g} optimal={'yes' if optimal else 'no'} "
        f"regions={n} ok={'yes' if ok else 'no'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=FULL, help="per region")
    parser.add_argument("--pledges", type=int, default=2_000, help="per region")
    parser.add_argument("--regions", type=int, help="added regions, each of this size")
    parser.add_argument("--jobs", type=int, default=2, help="processes preparing regions")
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--profile", help="write cProfile stats of the matching to this file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        database = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{Path(tmp) / 'bench.db'}")
        if args.regions is None:
            one_region(args, database)
        else:
            many_regions(args, database)


if __name__ == "__main__":
    main()
