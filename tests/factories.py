"""Builders that flush, never commit."""

from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select

from portal.auth import passwords
from portal.auth.models import Role, User
from portal.companies.models import Company, CompanyStatus  # noqa: F401 - re-exported for tests
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.reference.models import Category
from portal.workers.models import Worker
from portal.workers.nik import build_nik, parse_nik
from portal.workers.pii import current_cipher, mask_nik

PASSWORD = "Semangat-Pagi-Tugu-Muda-1945"  # noqa: S105 - test fixture
_HASH = passwords.hash_password(PASSWORD)
_seq = itertools.count(1)


def company(legal_name: str = "PT Uji Coba Sejahtera", verified: bool = False) -> Company:
    n = next(_seq)
    row = Company(
        legal_name=legal_name,
        nib=f"{9100000000000 + n:013d}",
        npwp=f"{100000000000000 + n:015d}",
        address="Jl. Pandanaran No. 1, Semarang",
        sector="manufacturing",
        contact_name="Kontak Uji",
        contact_phone="0241234567",
        status=CompanyStatus.VERIFIED if verified else CompanyStatus.PENDING,
    )
    db.session.add(row)
    db.session.flush()
    return row


def user(
    role: Role, company: Company | None = None, email: str | None = None, active: bool = True
) -> User:
    n = next(_seq)
    row = User(
        email=email or f"{role.value}{n}@example.com",
        full_name=f"Pengguna {n}",
        role=role,
        company_id=company.id if company else None,
        password_hash=_HASH,
        active=active,
    )
    db.session.add(row)
    db.session.flush()
    return row


def worker(
    status: str = "eligible",
    female: bool = False,
    birth_date: date | None = None,
    kelurahan_code: str = "33.74.01.1001",
    category_code: str = "becak",
    full_name: str | None = None,
    nik: str | None = None,
) -> Worker:
    """A worker with a valid Semarang NIK whose birth date and sex agree with the record
    (or with `nik`, whose birth date and sex it then takes)."""
    n = next(_seq)
    if nik is not None:
        facts = parse_nik(nik)
        birth_date, female = facts.birth_date, facts.female
    born = birth_date or date(1980, 1 + n % 12, 1 + n % 28)
    nik = nik or build_nik(kelurahan_code.replace(".", "")[:6], born, female, n % 9999 + 1)
    cipher = current_cipher()
    category = db.session.scalar(select(Category).where(Category.code == category_code))
    row = Worker(
        nik_hash=cipher.lookup_hash(nik),
        nik_encrypted=cipher.encrypt(nik),
        nik_masked=mask_nik(nik),
        full_name=full_name or f"Pekerja Uji {n}",
        birth_date=born,
        sex="P" if female else "L",
        category_id=category.id,
        kelurahan_code=kelurahan_code,
        status=status,
        inactive_reason="moved" if status == "inactive" else None,
    )
    db.session.add(row)
    db.session.flush()
    return row


def coverage(
    worker: Worker, month: date, funder: Funder = Funder.APBD, amount: int = 16_800
) -> Coverage:
    """A city-funded worker-month in the worker's region, keyed by the worker's person."""
    row = Coverage(
        worker_id=worker.id,
        person_key=worker.nik_hash,
        month=month,
        funder=funder,
        amount=amount,
        region_code=worker.region_code,
    )
    db.session.add(row)
    db.session.flush()
    return row
