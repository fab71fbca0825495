"""Read-only selects for the register: filters, search, pagination and detail pages."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields
from datetime import date
from typing import TypedDict

from sqlalchemy import Select, and_, case, func, select
from sqlalchemy.orm import aliased

from portal.audit.models import AuditEvent
from portal.coverage.models import Coverage
from portal.extensions import db
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.regions.scope import kecamatan_in_region
from portal.workers.eligibility import eligible_clause
from portal.workers.models import ImportJob, Worker, WorkerStatusChange
from portal.workers.pii import current_cipher, mask_nik

_NIK = re.compile(r"[0-9]{16}")
_KPJ = re.compile(r"[0-9]{8,13}")
SORTS = {
    "name": (Worker.full_name, Worker.id),
    "registered": (Worker.registered_on.desc(), Worker.id.desc()),
    "newest": (Worker.id.desc(),),
    "birth": (Worker.birth_date, Worker.id),
}


@dataclass(frozen=True)
class RegisterFilters:
    """The register's filters; unknown values are ignored.

    The search text (a NIK, a KPJ or a name) never travels in a URL as it was typed: the
    search form is posted, and links carry it encrypted with the register's keys (`s`), so
    no NIK reaches a browser's history, a proxy or the access log.
    """

    q: str = ""
    kecamatan: str = ""
    kelurahan: str = ""
    category: str = ""
    status: str = ""
    eligibility: str = ""
    funder: str = ""
    sort: str = "name"

    @classmethod
    def from_form(cls, form: Mapping[str, str]) -> RegisterFilters:
        """From the posted search form, the search text as typed."""
        values = {f.name: (form.get(f.name) or "").strip()[:100] for f in fields(cls)}
        if values["sort"] not in SORTS:
            values["sort"] = "name"
        return cls(**values)

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> RegisterFilters:
        """From a link: the search text only from its encrypted form; a plain `q` is ignored
        (it would already be in the access log, and no page of the portal makes one)."""
        values = {**args, "q": _open_search(args.get(SEARCH_ARG) or "")}
        return cls.from_form(values)

    def as_args(self) -> dict[str, str]:
        found = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
        if self.q:
            found[SEARCH_ARG] = current_cipher().encrypt(found.pop("q"))
        return found

    def described(self) -> dict[str, str]:
        """For the audit trail: the filters with a NIK or KPJ searched for masked."""
        found = {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}
        if _NIK.fullmatch(self.q):
            found["q"] = mask_nik(self.q)
        elif _KPJ.fullmatch(self.q):
            found["q"] = "*" * (len(self.q) - 4) + self.q[-4:]
        return found


SEARCH_ARG = "s"


def _open_search(token: str) -> str:
    if not token:
        return ""
    try:
        return current_cipher().decrypt(token)
    except Exception:  # noqa: BLE001 - a damaged or foreign link searches for nothing
        return ""


def register_select(filters: RegisterFilters, month: date) -> Select:
    """Workers with area, category, eligibility and this month's funder, filtered and sorted."""
    funder = aliased(Coverage)
    eligible = case((eligible_clause(month), True), else_=False).label("eligible")
    stmt = (
        select(
            Worker,
            Kelurahan.name.label("kelurahan_name"),
            Kecamatan.name.label("kecamatan_name"),
            Category,
            eligible,
            funder.funder.label("funder"),
        )
        .join(Kelurahan, Worker.kelurahan_code == Kelurahan.code)
        .join(Kecamatan, Kelurahan.kecamatan_code == Kecamatan.code)
        .join(Category, Worker.category_id == Category.id)
        .outerjoin(funder, and_(funder.worker_id == Worker.id, funder.month == month))
    )
    stmt = _search(stmt, filters.q)
    stmt = _narrow(stmt, filters, month, funder)
    return stmt.order_by(*SORTS[filters.sort])


def _search(stmt: Select, q: str) -> Select:
    """Exact NIK (through its keyed hash), exact KPJ, else a name prefix."""
    if not q:
        return stmt
    if _NIK.fullmatch(q):
        return stmt.where(Worker.nik_hash == current_cipher().lookup_hash(q))
    if _KPJ.fullmatch(q):
        return stmt.where(Worker.kpj == q)
    pattern = q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    return stmt.where(func.lower(Worker.full_name).like(pattern.lower(), escape="\\"))


def _narrow(stmt: Select, filters: RegisterFilters, month: date, funder) -> Select:  # type: ignore[no-untyped-def]
    if filters.kecamatan:
        stmt = stmt.where(Kelurahan.kecamatan_code == filters.kecamatan)
    if filters.kelurahan:
        stmt = stmt.where(Worker.kelurahan_code == filters.kelurahan)
    if filters.category:
        stmt = stmt.where(Category.code == filters.category)
    if filters.status:
        stmt = stmt.where(Worker.status == filters.status)
    if filters.eligibility == "yes":
        stmt = stmt.where(eligible_clause(month))
    elif filters.eligibility == "no":
        stmt = stmt.where(~eligible_clause(month))
    if filters.funder == "none":
        stmt = stmt.where(funder.id.is_(None))
    elif filters.funder:
        stmt = stmt.where(funder.funder == filters.funder)
    return stmt


class FilterChoices(TypedDict):
    kecamatan: Sequence[Kecamatan]
    kelurahan: Sequence[Kelurahan]
    categories: Sequence[Category]


def filter_choices() -> FilterChoices:
    """Areas and categories for the filter menus (small reference tables)."""
    return {
        "kecamatan": db.session.scalars(
            select(Kecamatan).where(kecamatan_in_region()).order_by(Kecamatan.name)
        ).all(),
        "kelurahan": db.session.scalars(
            select(Kelurahan).join(Kecamatan).where(kecamatan_in_region()).order_by(Kelurahan.name)
        ).all(),
        "categories": db.session.scalars(select(Category).order_by(Category.name_id)).all(),
    }


def worker_history(worker_id: int) -> list[WorkerStatusChange]:
    return list(
        db.session.scalars(
            select(WorkerStatusChange)
            .where(WorkerStatusChange.worker_id == worker_id)
            .order_by(WorkerStatusChange.id)
        )
    )


def worker_audit_trail(worker_id: int, limit: int = 100) -> list[AuditEvent]:
    return list(
        db.session.scalars(
            select(AuditEvent)
            .where(AuditEvent.object_type == "worker", AuditEvent.object_id == str(worker_id))
            .order_by(AuditEvent.id.desc())
            .limit(limit)
        )
    )


def worker_coverage(worker_id: int) -> list[Coverage]:
    return list(
        db.session.scalars(
            select(Coverage).where(Coverage.worker_id == worker_id).order_by(Coverage.month)
        )
    )


def import_job(token: str) -> ImportJob | None:
    return db.session.scalar(select(ImportJob).where(ImportJob.token == token))


def recent_import_jobs(limit: int = 10) -> list[ImportJob]:
    return list(db.session.scalars(select(ImportJob).order_by(ImportJob.id.desc()).limit(limit)))
