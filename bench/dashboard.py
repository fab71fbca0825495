"""Staff dashboard and sponsor report speed with 250,000 workers and 3 million worker-months.

Builds two databases of the same shape, one with --workers workers and one with 1,000 (SQLite
files in a temp dir; with BENCH_DATABASE_URL, an empty PostgreSQL database, the small one is
created next to it and dropped afterwards). Each worker-month of the 12 months ending with this
month is funded by APBD (~7,500 workers a month at 250,000), DBHCHT (~1,000) or one of ~2,000
active 12-month pledges of 50 companies (nearly everybody else); some workers lapsed last month
or were never covered (waiting), some are not verified yet. Claims are tied to coverage rows;
the ledger holds each pledge's payment, the 11 closed months' consumption and the remittances.

On the big database under gunicorn on loopback (2 sync workers, which close each connection
after its response), 4 client threads GET each route for --seconds, in two interleaved rounds:
a trivial route (GET /bench/trivial, or /healthz when the portal has no such GET route), the
staff dashboard (GET /dashboard, logged in as staff) and a sponsor report (GET
/reports/pledges/<id>, logged in as the owner of a typical pledge). Every response must be 200
and contain its page's markers; a page's first request on the fresh server is timed on its own
(cold). SQL statements per page are counted in-process on both databases (cold: first request;
warm: the second); the warm counts must be the same at 1,000 workers as at --workers.

Usage: .venv/bin/python -m bench.dashboard [--workers N] [--seconds S]
Last line: ratio=<min(dashboard, report) req/s / trivial req/s> bar=0.15
           queries_constant=<yes|no> ok=<yes|no>
"""

from __future__ import annotations

import argparse
import csv
import http.client
import os
import random
import re
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import Table, create_engine, event, insert, select, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.auth.passwords import hash_password
from portal.claims.models import Claim, ClaimKind
from portal.companies.models import Company, CompanyStatus
from portal.coverage.models import Coverage, Funder, MonthClose, Remittance, RemittanceFunder
from portal.extensions import db
from portal.ledger.models import Account, EntryKind, LedgerEntry, LedgerLine
from portal.payments.models import Payment, PaymentMethod, PaymentStatus
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge
from portal.reference.models import Category
from portal.reference.seed import DATA_DIR, seed_reference
from portal.regions.scope import current_region
from portal.workers.models import InactiveReason, Worker, WorkerStatus

ROOT = Path(__file__).resolve().parents[1]
BAR = 0.15
CLIENTS = 4
ROUNDS = 2  # each route is timed for --seconds in all, split over interleaved rounds
SMALL = 1_000
MONTHS = 12
RATE = 16_800
# Group sizes per 250,000 workers, scaled with --workers; pledges share everybody else.
SCALE = 250_000
APBD = 7_500  # covered all 12 months by the city budget
DBHCHT = 1_000  # covered all 12 months by the tobacco excise fund
LAPSED = 1_250  # APBD until last month: waiting this month
NEVER = 1_250  # eligible, never covered: waiting
REGISTERED = 500  # registered, not verified yet
PLEDGES = 2_000
PLEDGES_PER_COMPANY = 40
MAX_COMPANIES = 50
CLAIMS = 1_500  # about one in 2,000 worker-months; a tenth are deaths this month
JKM_AMOUNT = 42_000_000
PASSWORD = "Bench-Dashboard-Tugu-Muda-1945"  # noqa: S105 - a throwaway bench account
STAFF_EMAIL = "staf@bench.example.com"
SPONSOR_EMAIL = "csr0@bench.example.com"
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
Markers = tuple[bytes, ...]  # what a good response contains


@dataclass(frozen=True)
class Page:
    """A page under test; its path and markers may name the report's pledge as {pledge_id}."""

    name: str
    path: str
    markers: tuple[str, ...]  # HTML every response must contain, in any language
    email: str  # who requests it

    def url(self, pledge_id: int) -> str:
        return self.path.format(pledge_id=pledge_id)

    def expected(self, pledge_id: int) -> Markers:
        return tuple(m.format(pledge_id=pledge_id).encode() for m in self.markers)


PAGES = (
    Page("dashboard", "/dashboard", ('id="funders"', 'id="waiting"'), STAFF_EMAIL),
    Page(
        "report",
        "/reports/pledges/{pledge_id}",
        ('href="/reports/pledges/{pledge_id}.pdf"', 'data-figure="workers"'),
        SPONSOR_EMAIL,
    ),
)


# Data ------------------------------------------------------------------------------------


@dataclass
class Built:
    """What a database holds, and the pledge the sponsor's report is measured on."""

    workers: int
    worker_months: int
    pledges: int
    companies: int
    claims: int
    pledge_id: int = 0
    pledge_workers: int = 0
    seconds: float = 0.0
    coverage_seconds: float = 0.0


@dataclass
class Plan:
    """Who funds whom: per worker (index = worker id) the funder, pledge, slot and months."""

    funder: list[str | None]
    pledge: list[int | None]
    slot: list[int | None]
    months: list[int]  # covered months, counted from the first of the 12
    pledge_sizes: dict[int, int] = field(default_factory=dict)
    pledge_company: dict[int, int] = field(default_factory=dict)
    registered: set[int] = field(default_factory=set)


class Values:
    """Values as the driver wants them: SQLite keeps dates and datetimes as text."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def day(self, value: date) -> Any:
        return value.isoformat() if self.sqlite else value

    def stamp(self, value: datetime) -> Any:
        return value.strftime("%Y-%m-%d %H:%M:%S.%f") if self.sqlite else value


def scaled(count: int, workers: int) -> int:
    return round(count * workers / SCALE)


def this_month() -> date:
    return date.today().replace(day=1)


def months_shown() -> list[date]:
    """The 12 months ending with this month, oldest first."""
    return [add_months(this_month(), k - MONTHS + 1) for k in range(MONTHS)]


def at(day: date, hour: int = 9) -> datetime:
    return datetime.combine(day, clock(hour), tzinfo=UTC)


def build(app: Flask, workers: int, seed: int) -> Built:
    """Schema, reference data and the whole population, committed once."""
    with app.app_context():
        started = time.perf_counter()
        built = prepare(workers, random.Random(seed))
        built.seconds = time.perf_counter() - started
        db.session.remove()
        db.engine.dispose()
    return built


def prepare(workers: int, rng: random.Random) -> Built:
    db.create_all()
    seed_reference()
    values = Values(db.session.connection().dialect.name)
    pledge_count = max(1, scaled(PLEDGES, workers))
    companies = max(
        1, min(pledge_count, MAX_COMPANIES, max(2, round(pledge_count / PLEDGES_PER_COMPANY)))
    )
    staff, owners = _people(companies)
    plan = _plan(workers, pledge_count, companies, rng)
    _insert_pledges(plan, owners)
    rows = _coverage_rows(plan, values)
    claims, deceased = _claims(rows, workers, values, staff, rng)
    _insert_workers(workers, rng, values, plan.registered, deceased)
    started = time.perf_counter()
    _bulk(Coverage.__table__, COVERAGE_COLUMNS, rows)
    coverage_seconds = time.perf_counter() - started
    db.session.execute(insert(Claim), claims)
    _insert_money(plan, staff)
    _settle_postgresql(("worker", "coverage", "pledge", "payment", "ledger_entry", "ledger_line"))
    db.session.commit()
    built = Built(
        workers, len(rows), pledge_count, companies, len(claims), coverage_seconds=coverage_seconds
    )
    built.pledge_id, built.pledge_workers = _typical_pledge(plan, owners[0].company_id)
    return built


def _people(companies: int) -> tuple[User, list[User]]:
    """A staff user and one owner per verified company; the first owner can log in."""
    password = hash_password(PASSWORD)
    staff = User(email=STAFF_EMAIL, full_name="Staf Bench", role=Role.STAFF, password_hash=password)
    db.session.add(staff)
    owners = []
    for c in range(companies):
        company = Company(
            legal_name=f"PT Bench Sponsor {c}",
            nib=f"{9_400_000_000_000 + c:013d}",
            npwp=f"{400_000_000_000_000 + c:015d}",
            address="Semarang",
            sector="manufacturing",
            contact_name=f"CSR {c}",
            contact_phone="0241234567",
            status=CompanyStatus.VERIFIED,
        )
        db.session.add(company)
        db.session.flush()
        owner = User(
            email=f"csr{c}@bench.example.com",
            full_name=f"CSR {c}",
            role=Role.SPONSOR_OWNER,
            company_id=company.id,
            password_hash=password if c == 0 else None,
        )
        db.session.add(owner)
        owners.append(owner)
    db.session.flush()
    return staff, owners


def _plan(workers: int, pledge_count: int, companies: int, rng: random.Random) -> Plan:
    """Shuffle the workers into the city groups, the waiting ones and the pledges' slots."""
    ids = list(range(1, workers + 1))
    rng.shuffle(ids)
    plan = Plan(
        [None] * (workers + 1), [None] * (workers + 1), [None] * (workers + 1), [0] * (workers + 1)
    )
    groups = {}
    start = 0
    for name, size in (
        ("apbd", APBD),
        ("dbhcht", DBHCHT),
        ("lapsed", LAPSED),
        ("never", NEVER),
        ("registered", REGISTERED),
    ):
        groups[name] = ids[start : start + scaled(size, workers)]
        start += len(groups[name])
    for worker in groups["apbd"]:
        plan.funder[worker], plan.months[worker] = Funder.APBD, MONTHS
    for worker in groups["lapsed"]:
        plan.funder[worker], plan.months[worker] = Funder.APBD, MONTHS - 1
    for worker in groups["dbhcht"]:
        plan.funder[worker], plan.months[worker] = Funder.DBHCHT, MONTHS
    plan.registered = set(groups["registered"])
    sponsored = ids[start:]
    for pledge_id, size in enumerate(_pledge_sizes(len(sponsored), pledge_count, rng), 1):
        plan.pledge_sizes[pledge_id] = size
        plan.pledge_company[pledge_id] = (pledge_id - 1) % companies
        for slot in range(size):
            worker = sponsored.pop()
            plan.funder[worker], plan.pledge[worker] = Funder.PLEDGE, pledge_id
            plan.slot[worker], plan.months[worker] = slot, MONTHS
    return plan


def _pledge_sizes(workers: int, pledges: int, rng: random.Random) -> list[int]:
    """Skewed pledge sizes (a few large, many small) adding up to `workers`, each at least 1."""
    if workers < pledges:
        raise ValueError(f"{workers} workers cannot fill {pledges} pledges")
    weights = [rng.lognormvariate(0, 0.8) for _ in range(pledges)]
    spare = workers - pledges
    shares = [spare * w / sum(weights) for w in weights]
    sizes = [1 + int(share) for share in shares]
    by_remainder = sorted(range(pledges), key=lambda i: int(shares[i]) - shares[i])
    for i in by_remainder[: workers - sum(sizes)]:
        sizes[i] += 1
    return sizes


def _insert_pledges(plan: Plan, owners: list[User]) -> None:
    """Active 12-month pledges, started with the first month shown, paid before it."""
    first = months_shown()[0]
    lines = price_pledge(1, MONTHS, first)
    created = at(first - timedelta(days=20))
    rows = []
    for pledge_id, size in plan.pledge_sizes.items():
        owner = owners[plan.pledge_company[pledge_id]]
        rows.append(
            {
                "id": pledge_id,
                "company_id": owner.company_id,
                "created_by_id": owner.id,
                "status": PledgeStatus.ACTIVE,
                "workers": size,
                "months": MONTHS,
                "start_month": first,
                "target_categories": [],
                "target_kecamatan": [],
                "price_total": sum(line.rate for line in lines) * size,
                "price_breakdown": [
                    {**line.as_json(), "workers": size, "subtotal": line.rate * size}
                    for line in lines
                ],
                "coverage_start": first,
                "created_at": created,
                "updated_at": created,
            }
        )
    db.session.execute(insert(Pledge), rows)


COVERAGE_COLUMNS = [
    "id",
    "worker_id",
    "month",
    "funder",
    "amount",
    "rule_version",
    "pledge_id",
    "slot",
    "created_at",
    "person_key",
]


def _coverage_rows(plan: Plan, values: Values) -> list[tuple]:
    """One row per worker-month, in worker order; ids are given so claims can point at them."""
    months = [values.day(month) for month in months_shown()]
    created = values.stamp(at(months_shown()[0] - timedelta(days=5)))
    rows: list[tuple] = []
    for worker in range(1, len(plan.funder)):
        funder = plan.funder[worker]
        if funder is None:
            continue
        pledge, slot = plan.pledge[worker], plan.slot[worker]
        for month in months[: plan.months[worker]]:
            rows.append(
                (
                    len(rows) + 1,
                    worker,
                    month,
                    str(funder),
                    RATE,
                    1,
                    pledge,
                    slot,
                    created,
                    f"{worker:064x}",  # the worker's stand-in nik_hash
                )
            )
    return rows


def _claims(
    rows: list[tuple], workers: int, values: Values, staff: User, rng: random.Random
) -> tuple[list[dict[str, Any]], set[int]]:
    """Accidents (JKK) in any month and deaths (JKM) this month, each on a coverage row."""
    month_of = {values.day(month): month for month in months_shown()}
    current = values.day(this_month())
    count = max(5, scaled(CLAIMS, workers))
    deaths = max(1, count // 10)
    this_months = [row for row in rows if row[2] == current]
    picked = [(ClaimKind.JKM, row) for row in rng.sample(this_months, deaths)]
    picked += [(ClaimKind.JKK, row) for row in rng.sample(rows, count - deaths)]
    claims, deceased, seen = [], set(), set()
    for kind, row in picked:
        coverage_id, worker, month_value, funder, pledge = row[0], row[1], row[2], row[3], row[6]
        if (worker, month_value) in seen:
            continue
        seen.add((worker, month_value))
        month = month_of[month_value]
        event_day = min(month + timedelta(days=rng.randrange(28)), date.today())
        recorded = min(event_day + timedelta(days=rng.randint(1, 10)), date.today())
        if kind == ClaimKind.JKM:
            deceased.add(worker)
        claims.append(
            {
                "worker_id": worker,
                "coverage_id": coverage_id,
                "funder": funder,
                "pledge_id": pledge,
                "event_date": event_day,
                "month": month,
                "kind": kind,
                "amount": JKM_AMOUNT if kind == ClaimKind.JKM else rng.randint(2, 120) * 250_000,
                "story": "",
                "recorded_by_id": staff.id,
                "created_at": at(recorded),
            }
        )
    return claims, deceased


def _areas() -> tuple[list[str], list[str]]:
    with (DATA_DIR / "semarang_wilayah.csv").open(encoding="utf-8") as handle:
        kelurahan = [row["kode_kelurahan"] for row in csv.DictReader(handle)]
    with (DATA_DIR / "categories.csv").open(encoding="utf-8") as handle:
        categories = [row["code"] for row in csv.DictReader(handle)]
    return kelurahan, categories


WORKER_COLUMNS = [
    "id",
    "nik_hash",
    "nik_encrypted",
    "nik_masked",
    "full_name",
    "birth_date",
    "sex",
    "category_id",
    "kelurahan_code",
    "dtsen_decile",
    "registered_on",
    "status",
    "inactive_reason",
    "domicile_flag",
    "created_at",
    "updated_at",
]


def _insert_workers(
    n: int, rng: random.Random, values: Values, registered: set[int], deceased: set[int]
) -> None:
    """Realistic spread over kelurahan, trades, ages, sexes and deciles; NIK columns are cheap
    unique stand-ins."""
    kelurahan, categories = _areas()
    category_ids = dict(db.session.execute(select(Category.code, Category.id)).all())
    areas = rng.choices(kelurahan, [rng.lognormvariate(0, 0.8) for _ in kelurahan], k=n)
    kinds = rng.choices(categories, [rng.lognormvariate(0, 0.8) for _ in categories], k=n)
    first = date(2023, 6, 1).toordinal()
    rows = []
    for i in range(1, n + 1):
        status, reason = WorkerStatus.ELIGIBLE, None
        if i in registered:
            status = WorkerStatus.REGISTERED
        elif i in deceased:
            status, reason = WorkerStatus.INACTIVE, InactiveReason.DECEASED
        born = date(rng.randint(1966, 2006), rng.randint(1, 12), rng.randint(1, 28))
        decile = min(int(rng.expovariate(0.35)) + 1, 10) if rng.random() < 0.4 else None
        registered_on = date.fromordinal(first + rng.randrange(900))
        stamp = values.stamp(at(registered_on))
        rows.append(
            (
                i,
                f"{i:064x}",
                f"bench-{i}",
                f"3374********{i % 10_000:04d}",
                f"Pekerja {i}",
                values.day(born),
                "P" if rng.random() < 0.42 else "L",
                category_ids[kinds[i - 1]],
                areas[i - 1],
                decile,
                values.day(registered_on),
                str(status),
                reason and str(reason),
                False,
                stamp,
                stamp,
            )
        )
    _bulk(Worker.__table__, WORKER_COLUMNS, rows)


def _bulk(table: Table, columns: list[str], rows: list[tuple], chunk: int = 100_000) -> None:
    """Plain executemany straight to the driver (COPY on PostgreSQL): values must already be in
    the driver's types, and columns left out get their server defaults; a region's table
    gets the region in scope."""
    if "region_code" in table.c and "region_code" not in columns:
        columns = [*columns, "region_code"]
        rows = [(*row, current_region()) for row in rows]
    connection = db.session.connection()
    names = ", ".join(columns)
    if connection.dialect.name == "postgresql":
        cursor = connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if connection.dialect.paramstyle == "qmark" else "%s"
    marks = ", ".join([mark] * len(columns))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - our names
    for start in range(0, len(rows), chunk):
        connection.exec_driver_sql(sql, rows[start : start + chunk])


class Ledger:
    """Balanced two-line entries collected in memory, inserted with ids in one go."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []
        self.lines: list[dict[str, Any]] = []

    def post(
        self,
        kind: EntryKind,
        key: str,
        memo: str,
        when: datetime,
        debit: Account,
        credit: Account,
        amount: int,
        **refs: int | None,
    ) -> None:
        entry_id = len(self.entries) + 1
        self.entries.append(
            {
                "id": entry_id,
                "kind": kind,
                "source_key": key,
                "memo": memo,
                "booked_on": when.date(),
                "created_at": when,
            }
        )
        refs = {
            "company_id": None,
            "pledge_id": None,
            "payment_id": None,
            "refund_id": None,
            **refs,
        }
        for account, signed in ((debit, amount), (credit, -amount)):
            self.lines.append(
                {
                    "id": len(self.lines) + 1,
                    "entry_id": entry_id,
                    "account": account,
                    "amount": signed,
                    **refs,
                }
            )

    def insert(self) -> None:
        db.session.execute(insert(LedgerEntry), self.entries)
        db.session.execute(insert(LedgerLine), self.lines)


def _insert_money(plan: Plan, staff: User) -> None:
    """Each pledge paid by transfer before its first month; the 11 past months closed and
    booked; all but the last of them remitted to BPJS TK."""
    months = months_shown()
    ledger = Ledger()
    companies = dict(db.session.execute(select(Pledge.id, Pledge.company_id)).all())
    paid = at(months[0] - timedelta(days=12))
    payments = []
    for pledge_id, size in plan.pledge_sizes.items():
        amount = size * MONTHS * RATE
        payments.append(
            {
                "id": pledge_id,
                "pledge_id": pledge_id,
                "company_id": companies[pledge_id],
                "method": PaymentMethod.BANK_TRANSFER,
                "status": PaymentStatus.PAID,
                "amount": amount,
                "reference": f"PJS-BENCH-{pledge_id:06d}",
                "idempotency_key": f"bench-dashboard-{pledge_id}",
                "received_amount": amount,
                "created_at": paid - timedelta(days=3),
                "paid_at": paid,
            }
        )
        ledger.post(
            EntryKind.PAYMENT_RECEIVED,
            f"payment:{pledge_id}",
            f"Payment PJS-BENCH-{pledge_id:06d}",
            paid,
            Account.CASH,
            Account.SPONSOR_PREPAID,
            amount,
            company_id=companies[pledge_id],
            pledge_id=pledge_id,
            payment_id=pledge_id,
        )
    db.session.execute(insert(Payment), payments)
    closes, remittances = [], []
    for k, month in enumerate(months[:-1]):
        closed = at(add_months(month, 1) + timedelta(days=1))
        totals = _month_totals(plan, k)
        closes.append(
            {
                "month": month,
                "closed_by_id": staff.id,
                "closed_at": closed,
                "totals": {f: {"workers": w, "amount": w * RATE} for f, w in totals.items()},
            }
        )
        for pledge_id, size in plan.pledge_sizes.items():
            ledger.post(
                EntryKind.COVERAGE_CONSUMED,
                f"consumed:{pledge_id}:{month:%Y-%m}",
                f"Coverage {month:%Y-%m}, pledge #{pledge_id}",
                closed,
                Account.SPONSOR_PREPAID,
                Account.PAYABLE_BPJS,
                size * RATE,
                company_id=companies[pledge_id],
                pledge_id=pledge_id,
            )
        for funder in (Funder.APBD, Funder.DBHCHT):
            if totals[funder]:
                ledger.post(
                    EntryKind.COVERAGE_CONSUMED,
                    f"city:{funder}:{month:%Y-%m}",
                    f"Coverage {month:%Y-%m}, {funder}",
                    closed,
                    Account.CITY_FUNDING,
                    Account.PAYABLE_BPJS,
                    totals[funder] * RATE,
                )
        if k < len(months) - 2:
            remittances += _remit(ledger, month, totals, closed + timedelta(days=6), staff)
    ledger.insert()
    db.session.execute(insert(MonthClose), closes)
    db.session.execute(insert(Remittance), remittances)


def _month_totals(plan: Plan, k: int) -> dict[str, int]:
    """Workers covered in month k per funder."""
    counts = Counter(
        str(f)
        for f, months in zip(plan.funder, plan.months, strict=True)
        if f is not None and months > k
    )
    return {str(funder): counts[funder] for funder in Funder}


def _remit(
    ledger: Ledger, month: date, totals: dict[str, int], when: datetime, staff: User
) -> list[dict[str, Any]]:
    rows = []
    for which, funder in (
        (RemittanceFunder.APBD, Funder.APBD),
        (RemittanceFunder.DBHCHT, Funder.DBHCHT),
        (RemittanceFunder.CSR, Funder.PLEDGE),
    ):
        workers = totals[funder]
        if not workers:
            continue
        reference = f"BJTG-{month:%Y%m}-{which}"
        ledger.post(
            EntryKind.REMITTANCE,
            f"remit:{funder}:{month:%Y-%m}",
            f"Remittance {month:%Y-%m}, {funder}, ref {reference}",
            when,
            Account.PAYABLE_BPJS,
            Account.CASH,
            workers * RATE,
        )
        rows.append(
            {
                "month": month,
                "funder": which,
                "workers": workers,
                "amount": workers * RATE,
                "reference": reference,
                "remitted_by_id": staff.id,
                "remitted_at": when,
            }
        )
    return rows


def _settle_postgresql(tables: Sequence[str]) -> None:
    """PostgreSQL: move the id sequences past the ids given, and gather the planner's
    statistics now rather than whenever autovacuum gets to it."""
    connection = db.session.connection()
    if connection.dialect.name != "postgresql":
        return
    for table in tables:
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
            f"(SELECT max(id) FROM {table}))"
        )
    connection.exec_driver_sql("ANALYZE")


def _typical_pledge(plan: Plan, company_id: int) -> tuple[int, int]:
    """The sponsor's pledge of median size."""
    mine = db.session.scalars(select(Pledge.id).where(Pledge.company_id == company_id)).all()
    ranked = sorted(mine, key=lambda pledge_id: (plan.pledge_sizes[pledge_id], pledge_id))
    chosen = ranked[len(ranked) // 2]
    return chosen, plan.pledge_sizes[chosen]


# Databases -------------------------------------------------------------------------------


def make_app(database: str) -> Flask:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = database
    return create_app(settings)


@contextmanager
def small_database(large: str, workdir: Path) -> Iterator[str]:
    """A SQLite file next to the big one, or a new PostgreSQL database dropped afterwards."""
    if large.startswith("sqlite"):
        yield f"sqlite:///{workdir / 'small.db'}"
        return
    url = make_url(large)
    name = f"{url.database}_small_{uuid.uuid4().hex[:6]}"
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# Query counts ----------------------------------------------------------------------------


def count_queries(app: Flask, pages: Sequence[Page], pledge_id: int) -> dict[str, list[int]]:
    """SQL statements of each page's first (cold) and second (warm) request, in-process."""
    with app.app_context():
        engine = db.engine
    statements: list[str] = []

    def record(*args: Any) -> None:  # (conn, cursor, statement, parameters, ...)
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", record)
    counts = {}
    try:
        for page in pages:
            client = app.test_client()
            client.set_cookie("lang", "en")
            _test_login(client, page.email)
            counts[page.name] = []
            for _ in range(2):
                statements.clear()
                response = client.get(page.url(pledge_id))
                problem = _check(response.status_code, response.data, page.expected(pledge_id))
                if problem:
                    raise RuntimeError(f"GET {page.url(pledge_id)}: {problem}")
                counts[page.name].append(len(statements))
    finally:
        event.remove(engine, "before_cursor_execute", record)
        engine.dispose()
    return counts


def _test_login(client: FlaskClient, email: str) -> None:
    found = CSRF.search(client.get("/auth/login").get_data(as_text=True))
    if not found:
        raise RuntimeError("no CSRF token on /auth/login")
    response = client.post(
        "/auth/login", data={"email": email, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {email} failed: {response.status_code}")


# HTTP ------------------------------------------------------------------------------------


class Browser:
    """One keep-alive connection that keeps its cookies, in English."""

    def __init__(self, port: int, cookies: dict[str, str] | None = None) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.cookies = dict(cookies or {"lang": "en"})

    def request(
        self, method: str, path: str, form: dict[str, str] | None = None
    ) -> tuple[int, bytes]:
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items())}
        body = None
        if form is not None:
            body = urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        self.connection.request(method, path, body=body, headers=headers)
        response = self.connection.getresponse()
        data = response.read()
        for header in response.headers.get_all("Set-Cookie") or ():
            cookie: SimpleCookie = SimpleCookie()
            cookie.load(header)
            for name, morsel in cookie.items():
                self.cookies[name] = morsel.value
        return response.status, data

    def close(self) -> None:
        self.connection.close()


def login(port: int, email: str) -> dict[str, str]:
    """Log in once over HTTP (the login is rate limited); returns the session's cookies."""
    browser = Browser(port)
    _, page = browser.request("GET", "/auth/login")
    found = CSRF.search(page.decode())
    if not found:
        raise RuntimeError("no CSRF token on /auth/login")
    status, _ = browser.request(
        "POST", "/auth/login", {"email": email, "password": PASSWORD, "csrf_token": found.group(1)}
    )
    browser.close()
    if status != 302:
        raise RuntimeError(f"login as {email} failed: {status}")
    return browser.cookies


@dataclass
class Measured:
    """Requests answered in a timed window; the failures counted by what was wrong."""

    path: str
    requests: int = 0
    seconds: float = 0.0
    failures: Counter = field(default_factory=Counter)
    cold: float | None = None  # the server's first request of the page, in seconds

    def describe(self) -> str:
        cold = "" if self.cold is None else f"cold first request {self.cold * 1000:.0f}ms, "
        return (
            f"{self.rate:.1f} req/s (GET {self.path}, {cold}{self.requests} requests in "
            f"{self.seconds:.1f}s, failed={sum(self.failures.values())})"
        )

    @property
    def rate(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def add(self, other: Measured) -> None:
        self.requests += other.requests
        self.seconds += other.seconds
        self.failures.update(other.failures)


def _check(status: int, body: bytes, markers: Markers) -> str | None:
    """Why a response is wrong, or None."""
    if status != 200:
        return f"status {status}"
    missing = [m.decode() for m in markers if m not in body]
    return f"without {', '.join(missing)}" if missing else None


def _get(browser: Browser, path: str, markers: Markers) -> str | None:
    """GET and check; a broken connection is a failure too (the next request reconnects)."""
    try:
        return _check(*browser.request("GET", path), markers)
    except (OSError, http.client.HTTPException) as error:
        browser.close()
        return f"{type(error).__name__}: {error}"


def _hammer(
    port: int,
    path: str,
    cookies: dict[str, str],
    markers: Markers,
    seconds: float,
    barrier: threading.Barrier,
) -> tuple[int, float, float, Counter]:
    browser = Browser(port, cookies)
    failures: Counter = Counter()
    done = 0
    barrier.wait()
    start = time.perf_counter()
    while time.perf_counter() - start < seconds:
        problem = _get(browser, path, markers)
        if problem:
            failures[problem] += 1
        done += 1
    end = time.perf_counter()
    browser.close()
    return done, start, end, failures


def measure(
    port: int, path: str, cookies: dict[str, str], markers: Markers, seconds: float
) -> Measured:
    """GET `path` from CLIENTS threads for `seconds`; every response is checked."""
    barrier = threading.Barrier(CLIENTS)
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(
            pool.map(
                lambda _: _hammer(port, path, cookies, markers, seconds, barrier), range(CLIENTS)
            )
        )
    measured = Measured(
        path, sum(r[0] for r in results), max(r[2] for r in results) - min(r[1] for r in results)
    )
    for result in results:
        measured.failures.update(result[3])
    return measured


def first_request(
    port: int, path: str, cookies: dict[str, str], markers: Markers
) -> tuple[float, str | None]:
    """The cold first request's time, then a warm-up from CLIENTS threads at once, so that
    every gunicorn worker has served the page before the timing; the first problem seen."""
    browser = Browser(port, cookies)
    start = time.perf_counter()
    problem = _get(browser, path, markers)
    cold = time.perf_counter() - start
    browser.close()

    def warm(_: int) -> str | None:
        client = Browser(port, cookies)
        found = _get(client, path, markers) or _get(client, path, markers)
        client.close()
        return found

    with ThreadPoolExecutor(CLIENTS) as pool:
        problems = [found for found in pool.map(warm, range(CLIENTS)) if found]
    return cold, problem or next(iter(problems), None)


def trivial_route(port: int) -> tuple[str, Markers]:
    """GET /bench/trivial, or /healthz (one SELECT 1) on a portal without it."""
    browser = Browser(port)
    status, _ = browser.request("GET", "/bench/trivial")
    browser.close()
    if status in (404, 405):
        return "/healthz", (b'"ok"',)
    return "/bench/trivial", (b"ok",)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, server: subprocess.Popen) -> None:
    """Until a worker answers /healthz (the master listens before its workers have booted)."""
    for _ in range(300):
        if server.poll() is not None:
            raise RuntimeError("gunicorn exited")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            connection.request("GET", "/healthz")
            if connection.getresponse().status == 200:
                connection.close()
                return
        except OSError:
            pass
        time.sleep(0.1)
    raise RuntimeError("gunicorn did not start")


@contextmanager
def gunicorn(workdir: Path, database: str) -> Iterator[int]:
    """The portal under gunicorn on loopback: 2 sync workers for every route measured."""
    port = _free_port()
    env = {
        **os.environ,
        "PORTAL_ENV": "development",
        "PORTAL_INSTANCE_DIR": str(workdir),
        "DATABASE_URL": database,
        "BENCH_ROUTES": "1",
        "MAIL_BACKEND": "locmem",
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
    }
    # Development secrets are generated into the instance folder on first use: do it once
    # here, or both workers write the file at the same time (and sign cookies differently).
    subprocess.run(
        [sys.executable, "-c", "import config; config.load_config()"],  # noqa: S603
        env=env,
        cwd=ROOT,
        check=True,
    )
    server = subprocess.Popen(  # noqa: S603 - our own gunicorn on loopback
        [
            sys.executable,
            "-m",
            "gunicorn",
            "--workers",
            "2",
            "--threads",
            "1",
            "--timeout",
            "120",
            "-b",
            f"127.0.0.1:{port}",
            "--log-level",
            "warning",
            "portal:create_app()",
        ],
        env=env,
        cwd=ROOT,
    )
    try:
        _wait_until_up(port, server)
        yield port
    finally:
        server.terminate()
        server.wait(timeout=30)


def serve_and_measure(
    workdir: Path, database: str, pages: Sequence[Page], pledge_id: int, seconds: float
) -> dict[str, Measured]:
    """req/s of the trivial route and each page on one server, timed in ROUNDS interleaved
    rounds (so a passing load on the machine weighs on all of them alike)."""
    with gunicorn(workdir, database) as port:
        path, markers = trivial_route(port)
        first_request(port, path, {}, markers)
        routes = {"trivial": ({}, path, markers)}
        results = {"trivial": Measured(path)}
        for page in pages:
            cookies = login(port, page.email)
            url, expected = page.url(pledge_id), page.expected(pledge_id)
            cold, problem = first_request(port, url, cookies, expected)
            results[page.name] = Measured(url, cold=cold)
            if problem:  # not worth timing
                results[page.name].failures[problem] += 1
            else:
                routes[page.name] = (cookies, url, expected)
        for _ in range(ROUNDS):
            for name, (cookies, url, expected) in routes.items():
                results[name].add(measure(port, url, cookies, expected, seconds / ROUNDS))
    return results


# Main ------------------------------------------------------------------------------------


def _describe(built: Built) -> str:
    return (
        f"data: workers={built.workers} worker_months={built.worker_months} "
        f"pledges={built.pledges} companies={built.companies} claims={built.claims} "
        f"loaded in {built.seconds:.1f}s (coverage rows {built.coverage_seconds:.1f}s); "
        f"report pledge #{built.pledge_id} ({built.pledge_workers} workers)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--workers", type=int, default=SCALE)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=2026)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        large = os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'large.db'}")
        with small_database(large, workdir) as small:
            apps = {SMALL: make_app(small), args.workers: make_app(large)}
            built = {size: build(app, size, args.seed) for size, app in apps.items()}
            for size in apps:
                print(_describe(built[size]), flush=True)
            queries = {
                size: count_queries(app, PAGES, built[size].pledge_id) for size, app in apps.items()
            }
            print(
                f"server: gunicorn, 2 sync workers on loopback, {args.workers} workers' data; "
                f"clients: {CLIENTS} threads, {args.seconds:g}s per route",
                flush=True,
            )
            results = serve_and_measure(
                workdir, large, PAGES, built[args.workers].pledge_id, args.seconds
            )
    report(results, queries, PAGES, args.workers)


def report(
    results: dict[str, Measured],
    queries: dict[int, dict[str, list[int]]],
    pages: Sequence[Page],
    workers: int,
) -> None:
    for name, measured in results.items():
        print(f"{name}={measured.describe()}")
    for page in pages:
        cold = " ".join(f"{size}={counts[page.name][0]}" for size, counts in queries.items())
        warm = " ".join(f"{size}={counts[page.name][1]}" for size, counts in queries.items())
        print(f"queries {page.name} {warm} (cold first request: {cold})")
    failed = {name: m.failures for name, m in results.items() if m.failures}
    if failed:
        print(
            f"FAILED responses (not 200, or without the page's markers): {failed}", file=sys.stderr
        )
    constant = all(queries[SMALL][p.name][1] == queries[workers][p.name][1] for p in pages)
    ratio = min(results[p.name].rate for p in pages) / max(results["trivial"].rate, 1e-9)
    ok = ratio >= BAR and constant and not failed
    print(
        f"ratio={ratio:.2f} bar={BAR:g} queries_constant={'yes' if constant else 'no'} "
        f"ok={'yes' if ok else 'no'}"
    )
    if failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
