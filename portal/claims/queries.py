"""Read-only claim selects: the staff list, and totals by kind and approved stories for
reports (no worker identity)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date
from typing import Any

from sqlalchemy import Select, func, null, select

from portal.claims.models import Claim, ClaimKind
from portal.coverage.models import Funder
from portal.extensions import db
from portal.pledges.models import Pledge
from portal.workers.models import Worker
from portal.workers.pii import current_cipher

_MONTH = re.compile(r"([0-9]{4})-(0[1-9]|1[0-2])")
STORY_FILTERS = ("pending", "approved")  # stories waiting for approval, or approved


@dataclass(frozen=True)
class ClaimFilters:
    """The list's filters, read from the query string; values it does not know are dropped."""

    month: str = ""
    kind: str = ""
    funder: str = ""
    story: str = ""

    @classmethod
    def from_args(cls, args: Mapping[str, str]) -> ClaimFilters:
        month = (args.get("month") or "").strip()
        kind = (args.get("kind") or "").strip()
        funder = (args.get("funder") or "").strip()
        story = (args.get("story") or "").strip()
        return cls(
            month=month if _MONTH.fullmatch(month) else "",
            kind=kind if kind in set(ClaimKind) else "",
            funder=funder if funder in set(Funder) else "",
            story=story if story in STORY_FILTERS else "",
        )

    @property
    def first_day(self) -> date | None:
        if not self.month:
            return None
        year, month = self.month.split("-")
        return date(int(year), int(month), 1)

    def as_args(self) -> dict[str, str]:
        return {f.name: getattr(self, f.name) for f in fields(self) if getattr(self, f.name)}


def claims_select(filters: ClaimFilters, with_names: bool) -> Select:
    """(Claim, masked NIK, name or None) rows, newest event first; names only when allowed."""
    name = Worker.full_name if with_names else null()
    stmt = select(Claim, Worker.nik_masked, name.label("full_name")).join(
        Worker, Worker.id == Claim.worker_id
    )
    if filters.first_day is not None:
        stmt = stmt.where(Claim.month == filters.first_day)
    if filters.kind:
        stmt = stmt.where(Claim.kind == filters.kind)
    if filters.funder:
        stmt = stmt.where(Claim.funder == filters.funder)
    if filters.story == "pending":
        stmt = stmt.where(Claim.story != "", Claim.story_approved_at.is_(None))
    elif filters.story == "approved":
        stmt = stmt.where(Claim.story_approved_at.is_not(None))
    return stmt.order_by(Claim.event_date.desc(), Claim.id.desc())


def worker_by_nik(nik: str) -> Worker | None:
    """The registered worker with this NIK, found through its keyed hash."""
    return db.session.scalar(
        select(Worker).where(Worker.nik_hash == current_cipher().lookup_hash(nik))
    )


def worker_claims(worker_id: int) -> list[Claim]:
    return list(
        db.session.scalars(
            select(Claim).where(Claim.worker_id == worker_id).order_by(Claim.event_date, Claim.id)
        )
    )


@dataclass(frozen=True)
class KindTotal:
    claims: int = 0
    workers: int = 0
    amount: int = 0


@dataclass(frozen=True)
class ClaimTotals:
    """Claims per kind (every kind present) and overall; `workers` counts each worker once."""

    by_kind: dict[str, KindTotal]
    workers: int = 0

    @property
    def claims(self) -> int:
        return sum(total.claims for total in self.by_kind.values())

    @property
    def amount(self) -> int:
        return sum(total.amount for total in self.by_kind.values())


def claims_for_pledge(pledge_id: int) -> ClaimTotals:
    """Claims of the workers a pledge covered, in the months it covered them."""
    return _totals([Claim.pledge_id == pledge_id])[None]


def claims_for_company(company_id: int, first_month: date, last_month: date) -> ClaimTotals:
    """Claims of the workers a company's pledges covered, with events in the months given."""
    pledges = select(Pledge.id).where(Pledge.company_id == company_id)
    return _totals(
        [
            Claim.pledge_id.in_(pledges),
            Claim.month.between(first_month.replace(day=1), last_month.replace(day=1)),
        ]
    )[None]


def claims_totals_by_funder(month: date) -> dict[str, ClaimTotals]:
    """Claims with events in a month, per funder (every funder present)."""
    found = _totals([Claim.month == month.replace(day=1)], by=Claim.funder)
    return {funder.value: found.get(funder.value, _empty()) for funder in Funder}


def _totals(where: list[Any], by: Any = None) -> dict[str | None, ClaimTotals]:
    """ClaimTotals per value of `by` (one entry, under None, when `by` is None)."""
    groups = [by] if by is not None else []
    kinds: dict[str | None, dict[str, KindTotal]] = {}
    for *key, kind, claims, workers, amount in db.session.execute(
        select(
            *groups,
            Claim.kind,
            func.count(Claim.id),
            func.count(Claim.worker_id.distinct()),
            func.sum(Claim.amount),
        )
        .where(*where)
        .group_by(*groups, Claim.kind)
    ):
        kinds.setdefault(_key(key), {})[str(kind)] = KindTotal(claims, workers, int(amount or 0))
    people = {
        _key(key): int(n)
        for *key, n in db.session.execute(
            select(*groups, func.count(Claim.worker_id.distinct())).where(*where).group_by(*groups)
        )
    }
    result = {
        key: ClaimTotals(
            {kind.value: found.get(kind.value, KindTotal()) for kind in ClaimKind},
            people.get(key, 0),
        )
        for key, found in kinds.items()
    }
    if by is None:
        result.setdefault(None, _empty())
    return result


def _key(values: list[Any]) -> str | None:
    return str(values[0]) if values else None


def _empty() -> ClaimTotals:
    return ClaimTotals({kind.value: KindTotal() for kind in ClaimKind})


# Stories --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApprovedStory:
    """A story as a sponsor may read it: the text staff approved, with the benefit and month."""

    kind: str
    month: date
    text: str


def stories_for_pledge(pledge_id: int) -> list[ApprovedStory]:
    """Approved stories of claims of the workers a pledge covered, in the months it did."""
    return _stories([Claim.pledge_id == pledge_id])


def stories_for_company(
    company_id: int, first_month: date, last_month: date
) -> list[ApprovedStory]:
    """Approved stories of claims of the workers a company's pledges covered, with events in
    the months given (the same claims as claims_for_company)."""
    pledges = select(Pledge.id).where(Pledge.company_id == company_id)
    return _stories(
        [
            Claim.pledge_id.in_(pledges),
            Claim.month.between(first_month.replace(day=1), last_month.replace(day=1)),
        ]
    )


def _stories(where: list[Any]) -> list[ApprovedStory]:
    # A worker whose personal data was erased takes their story along (UU 27/2022).
    rows = db.session.execute(
        select(Claim.kind, Claim.month, Claim.story)
        .join(Worker, Worker.id == Claim.worker_id)
        .where(
            *where,
            Claim.story_approved_at.is_not(None),
            Claim.story != "",
            Worker.erased_at.is_(None),
        )
        .order_by(Claim.month, Claim.id)
    )
    return [ApprovedStory(str(kind), month, story) for kind, month, story in rows]
