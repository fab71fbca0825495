"""The notice UU 27/2022 Article 46 asks for within 3 x 24 hours of finding a failure: what
personal data, whose (counts only, never the data), when and how (from the audit trail), and
what was done (left for the controller to fill in). Drafted in Indonesian, with English."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.companies.models import Company
from portal.db import utcnow
from portal.extensions import db
from portal.regions.models import SEMARANG, Region
from portal.regions.scope import ALL, current_region
from portal.workers.models import Worker

LOCAL = ZoneInfo("Asia/Jakarta")  # Semarang keeps WIB
NOTICE_HOURS = 72
CONTROLLER = "Pemerintah Kota Semarang (Disnaker) · PIJAR SEMAR"


def controller() -> str:
    """The controller of the personal data (UU 27/2022): the government of the region served."""
    code = current_region()
    region = db.session.get(Region, code) if code != ALL else None
    if region is None or region.code == SEMARANG:
        return CONTROLLER
    return f"Pemerintah {region.name} · PIJAR SEMAR"


# What each kind of personal data is called, in Indonesian and in English.
DATA: dict[str, tuple[str, str]] = {
    "nik": ("NIK", "NIK (identity number)"),
    "name": ("nama", "name"),
    "birth_date": ("tanggal lahir", "birth date"),
    "sex": ("jenis kelamin", "sex"),
    "address": ("alamat", "address"),
    "phone": ("nomor telepon", "phone number"),
    "kpj": ("nomor KPJ", "KPJ membership number"),
    "category": ("kategori pekerjaan", "category of work"),
    "area": ("kelurahan", "kelurahan"),
    "decile": ("desil DTSEN", "DTSEN welfare decile"),
    "coverage": ("riwayat kepesertaan", "coverage history"),
    "claims": ("klaim JKK/JKM", "JKK/JKM claims"),
}
_REGISTER = ("nik", "name", "birth_date", "sex", "address", "phone", "kpj", "category", "area")


@dataclass(frozen=True)
class AccessKind:
    """An audited action that discloses workers' personal data."""

    id: str
    en: str
    data: tuple[str, ...]
    bulk: bool  # a file of many workers, whose audit row counts its rows


ACCESSES: dict[str, AccessKind] = {
    "worker.view_pii": AccessKind(
        "Halaman pekerja dengan NIK dan telepon lengkap dibuka",
        "A worker's page with the full NIK and phone was opened",
        (*_REGISTER, "decile", "coverage"),
        bulk=False,
    ),
    "worker.privacy_export": AccessKind(
        "Seluruh data satu pekerja diunduh (JSON/PDF)",
        "All data of one worker was downloaded (JSON/PDF)",
        (*_REGISTER, "decile", "coverage", "claims"),
        bulk=False,
    ),
    "worker.export": AccessKind(
        "Register pekerja diunduh (CSV/XLSX)",
        "The worker register was downloaded (CSV/XLSX)",
        (*_REGISTER, "decile"),
        bulk=True,
    ),
    "coverage.remittance_export": AccessKind(
        "Berkas iuran untuk BPJS TK diunduh",
        "A remittance file for BPJS TK was downloaded",
        ("nik", "name", "kpj", "category"),
        bulk=True,
    ),
}
# Audited refusals that may show someone trying to get in.
SIGNALS: dict[str, tuple[str, str]] = {
    "auth.login_failed": ("Login gagal", "Failed login"),
    "auth.confirm_failed": ("Konfirmasi kata sandi gagal", "Failed password confirmation"),
    "auth.permission_refused": ("Akses ditolak", "Access refused"),
}


@dataclass(frozen=True)
class Group:
    """Events of one action by one user from one address."""

    action: str
    actor: str  # the account's e-mail; empty for the portal itself
    ip: str
    events: int
    first: datetime
    last: datetime


@dataclass(frozen=True)
class Access:
    action: str
    kind: AccessKind
    events: int
    workers: frozenset[str]  # ids of workers opened one by one
    rows: int  # worker rows in downloaded files


@dataclass(frozen=True)
class Held:
    """What the portal holds: what a leak of the database itself would reveal."""

    workers: int
    erased: int
    companies: int
    sponsor_users: int
    city_users: int


@dataclass(frozen=True)
class BreachNotice:
    since: datetime
    until: datetime
    discovered: datetime
    generated_at: datetime
    accesses: tuple[Access, ...]
    by_user: tuple[Group, ...]
    signals: tuple[Group, ...]
    held: Held

    @property
    def deadline(self) -> datetime:
        return self.discovered + timedelta(hours=NOTICE_HOURS)

    @property
    def workers_opened(self) -> int:
        return len(frozenset().union(*(a.workers for a in self.accesses)))

    @property
    def file_rows(self) -> int:
        return sum(a.rows for a in self.accesses)

    @property
    def at_most(self) -> int:
        return min(self.held.workers, self.workers_opened + self.file_rows)


def breach_notice(
    since: datetime, until: datetime, discovered: datetime | None = None
) -> BreachNotice:
    """The notice's facts for audit rows from `since` up to (not including) `until`."""
    events = list(
        db.session.scalars(
            select(AuditEvent)
            .where(
                AuditEvent.created_at >= since,
                AuditEvent.created_at < until,
                AuditEvent.action.in_([*ACCESSES, *SIGNALS]),
            )
            .order_by(AuditEvent.id)
        )
    )
    accesses = [e for e in events if e.action in ACCESSES]
    return BreachNotice(
        since=since,
        until=until,
        discovered=discovered or utcnow(),
        generated_at=utcnow(),
        accesses=_accesses(accesses),
        by_user=_groups(accesses, with_actor=True),
        signals=_groups([e for e in events if e.action in SIGNALS], with_actor=False),
        held=_held(),
    )


def _accesses(events: list[AuditEvent]) -> tuple[Access, ...]:
    found = []
    for action, kind in ACCESSES.items():
        mine = [e for e in events if e.action == action]
        if not mine:
            continue
        workers = frozenset(e.object_id for e in mine if not kind.bulk and e.object_id)
        rows = sum(int((e.after or {}).get("rows") or 0) for e in mine) if kind.bulk else 0
        found.append(Access(action, kind, len(mine), workers, rows))
    return tuple(found)


def _groups(events: Iterable[AuditEvent], *, with_actor: bool) -> tuple[Group, ...]:
    """Failed logins are grouped by address only: what was typed as the e-mail is not shown."""
    grouped: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    for e in events:
        grouped[(e.action, e.actor_label if with_actor else "", e.ip_address)].append(e.created_at)
    return tuple(
        Group(action, actor, ip, len(times), min(times), max(times))
        for (action, actor, ip), times in sorted(grouped.items())
    )


def _held() -> Held:
    def count(*where: Any, model: Any = Worker) -> int:
        return int(db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0)

    sponsors = (Role.SPONSOR_OWNER, Role.SPONSOR_MEMBER)
    return Held(
        workers=count(),
        erased=count(Worker.erased_at.is_not(None)),
        companies=count(model=Company),
        sponsor_users=count(User.role.in_(sponsors), model=User),
        city_users=count(User.role.not_in(sponsors), model=User),
    )
