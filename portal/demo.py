"""Demo data: companies, one login per role, workers whose totals match Nov 2025 figures,
and pledges ready for the next match run.

6,717 workers funded by APBD and 500 by DBHCHT this month (programme figures, 6 Nov 2025),
plus a waiting list; a pledge running since five months ago, two paid pledges and one
awaiting its bank transfer; the months of this year up to this one closed and remitted;
never loaded in production.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, insert, select

from portal.auth.models import Role, User
from portal.auth.services import create_user
from portal.certificates.models import CertificateKind
from portal.certificates.services import issue_certificate
from portal.claims.services import record_claim
from portal.companies.models import Company
from portal.companies.services import CompanyDetails, register_company, verify_company
from portal.coverage.closing import close_month
from portal.coverage.models import Coverage, Funder
from portal.coverage.remittance import mark_remitted
from portal.db import sync_sequences
from portal.extensions import db
from portal.payments.services import confirm_payment, start_bank_transfer
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months, price_pledge, total
from portal.pledges.services import (
    PledgeTerms,
    create_pledge,
    earliest_start,
    submit_pledge,
    transition_pledge,
)
from portal.reference.models import Category, Kecamatan, Kelurahan, RateSchedule
from portal.regions.scope import kecamatan_in_region, region_scope
from portal.regions.services import add_region
from portal.workers.models import InactiveReason, Worker, WorkerStatus
from portal.workers.nik import build_nik
from portal.workers.pii import current_cipher, mask_nik

DEMO_PASSWORD = "Lumpia-Gang-Lombok-2026"  # noqa: S105 - demo data only, refused in production
APBD_WORKERS = 6_717
DBHCHT_WORKERS = 500
WAITING_WORKERS = 1_800
RUNNING_WORKERS = 40
REGISTERED_WORKERS = 250
INACTIVE_WORKERS = 120
DBHCHT_CATEGORIES = ("petani", "bhl", "serabutan", "kebersihan")

FIRST_NAMES = [
    "Agus",
    "Budi",
    "Siti",
    "Dewi",
    "Slamet",
    "Sri",
    "Joko",
    "Wahyu",
    "Endang",
    "Tri",
    "Rina",
    "Bambang",
    "Yuni",
    "Eko",
    "Sumarni",
    "Hadi",
    "Lestari",
    "Teguh",
    "Wati",
    "Dwi",
]
LAST_NAMES = [
    "Santoso",
    "Wibowo",
    "Rahayu",
    "Susanto",
    "Purnomo",
    "Lestari",
    "Hartono",
    "Setiawan",
    "Kurniawan",
    "Handayani",
    "Prasetyo",
    "Saputra",
    "Wulandari",
    "Nugroho",
    "Utami",
]


@dataclass(frozen=True)
class DemoLogin:
    role: str
    email: str


DEMO_LOGINS = [
    DemoLogin("admin", "admin@demo.pijarsemar.id"),
    DemoLogin("staff", "staf@demo.pijarsemar.id"),
    DemoLogin("staff (second approver)", "staf2@demo.pijarsemar.id"),
    DemoLogin("auditor", "auditor@demo.pijarsemar.id"),
    DemoLogin(
        "national programme administrator (every region's counts)", "nasional@demo.pijarsemar.id"
    ),
    DemoLogin("sponsor owner (verified company)", "csr@sejahtera.example.com"),
    DemoLogin("sponsor member", "anggota@sejahtera.example.com"),
    DemoLogin("sponsor owner (pending company)", "owner@majubersama.example.com"),
    DemoLogin("staff, Kabupaten Kudus (33.19)", "staf@demo.kuduskab.id"),
    DemoLogin("admin, Kabupaten Kudus (33.19)", "admin@demo.kuduskab.id"),
    DemoLogin("staff, Kabupaten Kendal (33.24)", "staf@demo.kendalkab.id"),
    DemoLogin("admin, Kabupaten Kendal (33.24)", "admin@demo.kendalkab.id"),
]
# Two more regions beside Kota Semarang, each with its own rules, staff and workers (a sample
# of their registers), so that each region's staff see only their own.
OTHER_REGIONS = (
    ("33.19", "kuduskab", "Peraturan Bupati Kudus tentang perlindungan pekerja rentan", 240),
    ("33.24", "kendalkab", "Peraturan Bupati Kendal (ASN Peduli)", 260),
)


class DemoRefused(RuntimeError):
    """Demo data is not allowed in this configuration or the database is not empty."""


def seed_demo(today: date | None = None) -> list[DemoLogin]:
    """Add demo companies, users and workers to a database holding only reference data.

    Raises DemoRefused.
    """
    if db.session.scalar(select(func.count(User.id))):
        raise DemoRefused("the database already has accounts")
    today = today or date.today()
    logins = _seed_accounts()
    _seed_workers(today)
    _seed_pledges(today)
    _seed_running_pledge(today)
    _seed_closed_months(today)
    _seed_other_regions(today)
    sync_sequences(db.session.connection())  # the workers were inserted with explicit ids
    return logins


def _seed_accounts() -> list[DemoLogin]:
    admin = create_user(
        "admin@demo.pijarsemar.id", "Admin Program", Role.ADMIN, password=DEMO_PASSWORD
    )
    for email, name, role in (
        ("staf@demo.pijarsemar.id", "Rini Staf Disnaker", Role.STAFF),
        ("staf2@demo.pijarsemar.id", "Yoga Staf Disnaker", Role.STAFF),
        ("auditor@demo.pijarsemar.id", "Inspektorat", Role.AUDITOR),
        ("nasional@demo.pijarsemar.id", "Administrator Program Nasional", Role.NATIONAL),
    ):
        create_user(email, name, role, password=DEMO_PASSWORD)
    verified, _owner = register_company(
        CompanyDetails(
            legal_name="PT Semarang Sejahtera Abadi",
            nib="9120001234567",
            npwp="012345674901000",
            address="Jl. Pemuda No. 150, Sekayu, Semarang Tengah",
            sector="manufacturing",
            contact_name="Ratna Wijaya",
            contact_phone="0248311234",
        ),
        "csr@sejahtera.example.com",
        "Ratna Wijaya",
        DEMO_PASSWORD,
    )
    verify_company(verified, actor=admin)
    create_user(
        "anggota@sejahtera.example.com",
        "Fajar CSR",
        Role.SPONSOR_MEMBER,
        company_id=verified.id,
        password=DEMO_PASSWORD,
    )
    register_company(
        CompanyDetails(
            legal_name="CV Maju Bersama Jaya",
            nib="9120007654321",
            npwp="0987654324098000",
            address="Jl. Majapahit No. 21, Pedurungan",
            sector="trade",
            contact_name="Hendra Gunawan",
            contact_phone="08122334455",
        ),
        "owner@majubersama.example.com",
        "Hendra Gunawan",
        DEMO_PASSWORD,
    )
    return DEMO_LOGINS


def _seed_pledges(today: date) -> None:
    """Two paid pledges waiting for the next match run, and one awaiting its transfer."""
    company = db.session.scalars(select(Company).where(Company.nib == "9120001234567")).one()
    owner = db.session.scalars(select(User).where(User.email == "csr@sejahtera.example.com")).one()
    staff = db.session.scalars(select(User).where(User.email == "staf@demo.pijarsemar.id")).one()
    start = earliest_start(today)
    for terms, paid in (
        (PledgeTerms(60, 12, start), True),
        (PledgeTerms(25, 6, start, categories=("asongan", "pemulung", "pkl")), True),
        (PledgeTerms(10, 3, start, kecamatan=("33.74.01",)), False),
    ):
        pledge = create_pledge(company, owner, terms)
        submit_pledge(pledge, company, owner)
        payment = start_bank_transfer(pledge, company, owner)
        if paid:
            confirm_payment(payment, payment.amount, staff, "demo")


def _seed_running_pledge(today: date) -> None:
    """A pledge that began five months ago, so the company's impact report has something to
    show: 40 workers from the waiting list covered for its 12 months, its certificate, and
    a few work-accident claims; the months closed below consume its money."""
    company = db.session.scalars(select(Company).where(Company.nib == "9120001234567")).one()
    owner = db.session.scalars(select(User).where(User.email == "csr@sejahtera.example.com")).one()
    staff = db.session.scalars(select(User).where(User.email == "staf@demo.pijarsemar.id")).one()
    this_month = today.replace(day=1)
    start = max(add_months(this_month, -5), this_month.replace(month=1))  # this year's months
    lines = price_pledge(RUNNING_WORKERS, 12, start)
    pledge = Pledge(
        company_id=company.id,
        created_by_id=owner.id,
        status=PledgeStatus.AWAITING_PAYMENT,
        workers=RUNNING_WORKERS,
        months=12,
        start_month=start,
        target_categories=[],
        target_kecamatan=[],
        price_breakdown=[line.as_json() for line in lines],
        price_total=total(lines),
    )
    db.session.add(pledge)
    db.session.flush()
    payment = start_bank_transfer(pledge, company, owner)
    confirm_payment(payment, payment.amount, staff, "demo")
    first_waiting = APBD_WORKERS + DBHCHT_WORKERS + 1
    workers = list(range(first_waiting, first_waiting + RUNNING_WORKERS))
    person = dict(
        db.session.execute(select(Worker.id, Worker.nik_hash).where(Worker.id.in_(workers)))
        .tuples()
        .all()
    )
    db.session.execute(
        insert(Coverage),
        [
            {
                "worker_id": worker_id,
                "person_key": person[worker_id],
                "month": add_months(start, k),
                "funder": Funder.PLEDGE,
                "amount": lines[k].rate,
                "pledge_id": pledge.id,
                "slot": slot,
            }
            for slot, worker_id in enumerate(workers, 1)
            for k in range(12)
        ],
    )
    pledge.coverage_start = start
    transition_pledge(pledge, PledgeStatus.ACTIVE, staff, note="demo")
    issue_certificate(pledge, CertificateKind.ACTIVE, staff)
    past = (this_month.year - start.year) * 12 + this_month.month - start.month
    for n, worker_id in enumerate(workers[:6] if past else []):
        event = add_months(start, n % past).replace(day=10 + n)
        record_claim(
            db.session.get_one(Worker, worker_id),
            event,
            "jkk",
            1_250_000 * (n + 1),
            "",
            staff,
            today,
        )


def _seed_closed_months(today: date) -> None:
    """The city's months so far this year are closed and remitted to BPJS TK (contributions
    are paid ahead, so this month too): the next month is the one to match and close."""
    staff = db.session.scalar(select(User).where(User.email == "staf@demo.pijarsemar.id"))
    for number in range(1, today.month + 1):
        month = date(today.year, number, 1)
        close_month(month, staff, today)
        for funder in ("apbd", "dbhcht"):
            mark_remitted(month, funder, f"BPJSTK-{month:%Y%m}-{funder.upper()}", staff)


def _seed_other_regions(today: date) -> None:
    rng = random.Random(33_19)  # noqa: S311 - demo data, not security
    next_id = (db.session.scalar(select(func.max(Worker.id))) or 0) + 1
    for code, domain, regulation, workers in OTHER_REGIONS:
        region = add_region(code)
        region.regulation = regulation
        with region_scope(code):
            categories = {c.code: c.id for c in db.session.scalars(select(Category))}
            create_user(
                f"admin@demo.{domain}.id", "Admin Program", Role.ADMIN, password=DEMO_PASSWORD
            )
            create_user(f"staf@demo.{domain}.id", "Staf Dinas", Role.STAFF, password=DEMO_PASSWORD)
            kelurahan = list(
                db.session.scalars(
                    select(Kelurahan.code)
                    .join(Kecamatan)
                    .where(kecamatan_in_region())
                    .order_by(Kelurahan.code)
                )
            )
            kinds = ["waiting"] * (workers - 20) + ["registered"] * 20
            rows = [
                _worker_row(next_id + i, kind, rng, kelurahan, categories, today)
                for i, kind in enumerate(kinds)
            ]
            db.session.execute(insert(Worker), [{**row, "region_code": code} for row in rows])
            next_id += workers
            if code == OTHER_REGIONS[0][0]:
                _sponsor_in(domain, today)


def _sponsor_in(domain: str, today: date) -> None:
    """The demo company is national: it sponsors in this region too, with a pledge paid by
    transfer (to the region's account) that waits for the region's next match run."""
    company = db.session.scalars(select(Company).where(Company.nib == "9120001234567")).one()
    owner = db.session.scalars(select(User).where(User.email == "csr@sejahtera.example.com")).one()
    staff = db.session.scalars(select(User).where(User.email == f"staf@demo.{domain}.id")).one()
    pledge = create_pledge(company, owner, PledgeTerms(20, 6, earliest_start(today)))
    submit_pledge(pledge, company, owner)
    payment = start_bank_transfer(pledge, company, owner)
    confirm_payment(payment, payment.amount, staff, "demo")


def _seed_workers(today: date) -> None:
    rng = random.Random(26_2025)  # noqa: S311 - demo data, not security
    kelurahan = list(
        db.session.scalars(
            select(Kelurahan.code)
            .join(Kecamatan)
            .where(kecamatan_in_region())
            .order_by(Kelurahan.code)
        )
    )
    categories = {c.code: c.id for c in db.session.scalars(select(Category))}
    plan = (
        ["apbd"] * APBD_WORKERS
        + ["dbhcht"] * DBHCHT_WORKERS
        + ["waiting"] * WAITING_WORKERS
        + ["registered"] * REGISTERED_WORKERS
        + ["inactive"] * INACTIVE_WORKERS
    )
    rows = [
        _worker_row(i, kind, rng, kelurahan, categories, today)
        for i, kind in enumerate(plan, start=1)
    ]
    db.session.execute(insert(Worker), rows)
    _seed_city_coverage(today, plan, [row["nik_hash"] for row in rows])


def _worker_row(
    seq: int,
    kind: str,
    rng: random.Random,
    kelurahan: list[str],
    categories: dict[str, int],
    today: date,
) -> dict:
    female = rng.random() < 0.42
    birth = date(today.year - rng.randint(19, 62), rng.randint(1, 12), rng.randint(1, 28))
    kel = rng.choice(kelurahan)
    nik = build_nik(kel.replace(".", "")[:6], birth, female, seq % 9999 + 1)
    cipher = current_cipher()
    pool = DBHCHT_CATEGORIES if kind == "dbhcht" else tuple(categories)
    status = {"registered": WorkerStatus.REGISTERED, "inactive": WorkerStatus.INACTIVE}.get(
        kind, WorkerStatus.ELIGIBLE
    )
    return {
        "id": seq,
        "nik_hash": cipher.lookup_hash(nik),
        "nik_encrypted": cipher.encrypt(nik),
        "nik_masked": mask_nik(nik),
        "full_name": f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}",
        "birth_date": birth,
        "sex": "P" if female else "L",
        "category_id": categories[rng.choice(pool)],
        "kelurahan_code": kel,
        "address": f"RT {rng.randint(1, 12):02d}/RW {rng.randint(1, 9):02d}",
        "phone_encrypted": cipher.encrypt(f"08{rng.randint(100000000, 999999999)}"),
        "dtsen_decile": rng.choice([None, 1, 2, 3, 4, 5]),
        "registered_on": date(2025, 7, 1),
        "status": status,
        "inactive_reason": InactiveReason.MOVED if kind == "inactive" else None,
        "domicile_flag": False,
    }


def _seed_city_coverage(today: date, plan: list[str], people: list[str]) -> None:
    """APBD and DBHCHT cover their workers for every month of the current year."""
    rate = db.session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from)).first()
    amount = rate.monthly_amount if rate else 16_800
    months = [date(today.year, m, 1) for m in range(1, 13)]
    funders = {"apbd": Funder.APBD, "dbhcht": Funder.DBHCHT}
    rows = [
        {
            "worker_id": worker_id,
            "person_key": person,
            "month": month,
            "funder": funders[kind],
            "amount": amount,
        }
        for worker_id, (kind, person) in enumerate(zip(plan, people, strict=True), start=1)
        if kind in funders
        for month in months
    ]
    for start in range(0, len(rows), 20_000):
        db.session.execute(insert(Coverage), rows[start : start + 20_000])
