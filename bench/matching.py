"""Matching speed and optimality: 250,000 workers and 2,000 paid pledges in a fresh SQLite file.

Times propose_run + approve_run + commit against a lower bound measured in the same run:
the proposal's SELECT (worker, category, kecamatan, decile, registration date, lapsing; only
eligible workers not covered from the month on), fully fetched, plus inserting the approval's
coverage rows with core executemany into a copy of the coverage table (same columns, foreign
keys, unique constraints and indexes). The optimum is an independent max-flow (OR-Tools
SimpleMaxFlow, one node per pledge) over the waiting list counted from the generated data.

City quotas are switched off (a rule version with city_quotas {}): the bench measures the
pledge placement; 7,000 APBD-covered workers and 3,000 lapsing ones are in the data anyway.

Usage: .venv/bin/python bench/matching.py [--workers N] [--pledges N] [--profile FILE]
(BENCH_DATABASE_URL=<an empty PostgreSQL database> runs it there instead.)
Last line: ratio=<matching/bound> bar=3 optimal=<yes|no> ok=<yes|no>
"""

from __future__ import annotations

import argparse
import cProfile
import csv
import os
import random
import re
import tempfile
import time
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from ortools.graph.python import max_flow
from sqlalchemy import MetaData, Table, exists, func, insert, select, text

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
from portal.reference.models import Category, Kelurahan
from portal.reference.seed import DATA_DIR, seed_reference
from portal.workers.eligibility import eligible_clause
from portal.workers.models import Worker, WorkerStatus

BAR = 3.0
APBD_COVERED = 7_000  # covered last month, this month and next: not waiting
LAPSING = 3_000  # covered last month only: waiting, continuity first (R4)
COMPANIES = 100
# A few small trades: pledges targeting them compete for few workers, so not every slot can
# be filled and the optimum is a real check, not just the number of slots.
RARE = ("jenazah", "kubur", "marbot", "ngaji")
RARE_SHARE = 0.02
CITY_RATE = 16_800


@dataclass
class Data:
    """What was generated, kept to count the waiting list independently of the portal."""

    cells: Counter  # (category, kecamatan) -> waiting workers
    pledges: list[tuple[int, int, frozenset[str], frozenset[str]]]  # id, slots, cats, kecs


def _areas() -> tuple[list[str], dict[str, str], list[str]]:
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        categories = [row["code"] for row in csv.DictReader(handle)]
    kecamatan_of = {row["kode_kelurahan"]: row["kode_kecamatan"] for row in rows}
    return list(kecamatan_of), kecamatan_of, categories


def prepare(workers: int, pledges: int, month: date, rng: random.Random) -> Data:
    """Schema, reference data, rules without city quotas, workers, coverage, paid pledges."""
    db.create_all()
    seed_reference()
    admin = User(email="bench-admin@example.com", full_name="Bench", role=Role.ADMIN)
    db.session.add(admin)
    db.session.flush()
    change_rules({**current_rules().parameters(), "city_quotas": {}}, admin, "bench: no quota")
    kelurahan, kecamatan_of, categories = _areas()
    category_ids = dict(db.session.execute(select(Category.code, Category.id)).all())
    worker_cells = _insert_workers(workers, rng, kelurahan, kecamatan_of, categories, category_ids)
    covered = _insert_city_coverage(workers, month, rng)
    cells = Counter(
        cell for worker_id, cell in enumerate(worker_cells, 1) if worker_id not in covered
    )
    made = _insert_pledges(pledges, month, rng, sorted(set(kecamatan_of.values())), categories)
    db.session.commit()
    return Data(cells, made)


def _insert_workers(
    n: int,
    rng: random.Random,
    kelurahan: list[str],
    kecamatan_of: dict[str, str],
    categories: list[str],
    category_ids: dict[str, int],
) -> list[tuple[str, str]]:
    """Core executemany; NIK columns are cheap unique stand-ins (only matching is timed)."""
    area_weights = [rng.lognormvariate(0, 0.8) for _ in kelurahan]
    category_weights = [RARE_SHARE if c in RARE else rng.lognormvariate(0, 0.8) for c in categories]
    areas = rng.choices(kelurahan, area_weights, k=n)
    kinds = rng.choices(categories, category_weights, k=n)
    start = date(2024, 1, 1).toordinal()
    rows, cells = [], []
    for i in range(1, n + 1):
        area, kind = areas[i - 1], kinds[i - 1]
        known = rng.random() < 0.4
        rows.append(
            {
                "id": i,
                "nik_hash": f"{i:064x}",
                "nik_encrypted": f"bench-{i}",
                "nik_masked": f"3374********{i % 10_000:04d}",
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
    return cells


def _insert_city_coverage(n: int, month: date, rng: random.Random) -> set[int]:
    """APBD coverage already there: some workers continue past `month`, some lapse in it."""
    chosen = rng.sample(range(1, n + 1), min(n, APBD_COVERED + LAPSING))
    covered, lapsing = chosen[:APBD_COVERED], chosen[APBD_COVERED:]
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
    return set(covered)


def _insert_pledges(
    n: int, month: date, rng: random.Random, kecamatan: list[str], categories: list[str]
) -> list[tuple[int, int, frozenset[str], frozenset[str]]]:
    """Paid by bank transfer last month or earlier, each booked in the ledger."""
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
    rates: dict[int, list] = {}
    now = datetime.now(UTC)
    made = []
    for i in range(n):
        months = rng.choice([3, 6, 12]) if rng.random() < 0.6 else rng.randint(1, 24)
        workers = rng.randint(5, 60)
        shape = rng.random()
        cats = (
            rng.sample(categories, rng.randint(1, 3)) if 0.4 <= shape < 0.6 or shape >= 0.8 else []
        )
        kecs = rng.sample(kecamatan, rng.randint(1, 3)) if shape >= 0.6 else []
        lines = rates.setdefault(months, price_pledge(1, months, month))
        owner = owners[i % COMPANIES]
        pledge = Pledge(
            company_id=owner.company_id,
            created_by_id=owner.id,
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
            company_id=owner.company_id,
            method=PaymentMethod.BANK_TRANSFER,
            status=PaymentStatus.PAID,
            amount=pledge.price_total,
            received_amount=pledge.price_total,
            reference=f"PJS-BENCH-{i:06d}",
            idempotency_key=f"bench-match-{i}",
            paid_at=now - timedelta(days=rng.randint(0, 20)),
        )
        db.session.add(payment)
        db.session.flush()
        book_payment(payment)
        made.append((pledge.id, workers, frozenset(cats), frozenset(kecs)))
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
    """The run's coverage rows again, core executemany into a copy of the coverage table."""
    _create_scratch()
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


def timed_matching(month: date, profile: str | None) -> tuple[float, float, int]:
    staff, staff2 = (
        User(email=f"staf{n}@bench.example.com", full_name=f"Staf {n}", role=Role.STAFF)
        for n in (1, 2)
    )
    db.session.add_all([staff, staff2])
    db.session.commit()
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    start = time.perf_counter()
    run = services.propose_run(month, staff)
    proposed = time.perf_counter()
    services.approve_run(run, staff2)
    db.session.commit()
    done = time.perf_counter()
    if profiler:
        profiler.disable()
        profiler.dump_stats(profile)
    return proposed - start, done - proposed, run.id


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=250_000)
    parser.add_argument("--pledges", type=int, default=2_000)
    parser.add_argument("--seed", type=int, default=2025)
    parser.add_argument("--profile", help="write cProfile stats of the matching to this file")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    month = earliest_start()
    with tempfile.TemporaryDirectory() as tmp:
        settings = TestingConfig()
        database = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{Path(tmp) / 'bench.db'}")
        settings.SQLALCHEMY_DATABASE_URI = database
        app = create_app(settings)
        with app.app_context():
            started = time.perf_counter()
            data = prepare(args.workers, args.pledges, month, rng)
            print(
                f"prepared workers={args.workers} pledges={args.pledges} "
                f"month={month:%Y-%m} city_quotas=off in {time.perf_counter() - started:.1f}s"
            )
            read, waiting = min(bound_read(month) for _ in range(3))
            propose, approve, run_id = timed_matching(month, args.profile)
            write, rows = bound_insert(run_id)
            write_driver = bound_insert_driver(run_id)
            placed = db.session.scalar(
                select(func.count(MatchPlacement.id)).where(
                    MatchPlacement.run_id == run_id, MatchPlacement.pledge_id.is_not(None)
                )
            )
            written = db.session.scalar(
                select(func.count(Coverage.id)).where(Coverage.run_id == run_id)
            )
            expected = db.session.scalar(
                select(func.sum(MatchPlacement.months)).where(MatchPlacement.run_id == run_id)
            )
            best = optimum(data)
            db.session.execute(text("DROP TABLE coverage_scratch"))
            db.session.commit()
            db.session.remove()
            db.engine.dispose()
    slots = sum(p[1] for p in data.pledges)
    print(
        f"waiting={waiting} (generated: {sum(data.cells.values())}) slots={slots} "
        f"placed={placed} optimum={best} coverage_rows={written} (placements x months: "
        f"{expected})"
    )
    print(f"bound: read={read:.3f}s insert={write:.3f}s ({rows} rows) total={read + write:.3f}s")
    matching = propose + approve
    print(f"matching: propose={propose:.3f}s approve+commit={approve:.3f}s total={matching:.3f}s")
    ratio = matching / (read + write)
    print(
        f"for information: with the inserts as plain tuples to the driver "
        f"({write_driver:.3f}s) the bound is {read + write_driver:.3f}s and the ratio "
        f"{matching / (read + write_driver):.2f}"
    )
    optimal = placed == best and written == expected and waiting == sum(data.cells.values())
    ok = ratio <= BAR and optimal
    print(
        f"ratio={ratio:.2f} bar={BAR:g} optimal={'yes' if optimal else 'no'} "
        f"ok={'yes' if ok else 'no'}"
    )


if __name__ == "__main__":
    main()
