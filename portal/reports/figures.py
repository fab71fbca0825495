"""The figures of an impact report, with small groups already suppressed.

Every output (page, chart, PDF, CSV, XLSX) renders an ImpactReport and nothing else, so a
group of fewer than MIN_GROUP workers can only ever appear as SMALL ("<5").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

MIN_GROUP = 5
SMALL = "<5"
Shown = int | str  # a count, or SMALL for a group of fewer than MIN_GROUP workers


@dataclass(frozen=True)
class RawGroup:
    """A group before suppression: distinct workers and their worker-months."""

    key: str
    label: str
    workers: int
    worker_months: int


@dataclass(frozen=True)
class Row:
    """One group as shown: both counts are SMALL when the group has fewer than 5 workers."""

    key: str
    label: str
    workers: Shown
    worker_months: Shown

    @property
    def suppressed(self) -> bool:
        return self.workers == SMALL


@dataclass(frozen=True)
class Breakdown:
    """Covered workers split one way (category, kecamatan, sex or age band)."""

    name: Literal["category", "kecamatan", "sex", "age_band"]
    title: str
    rows: tuple[Row, ...]


@dataclass(frozen=True)
class MonthPoint:
    """Workers covered in one month of the period (each is one worker-month)."""

    month: date
    workers: Shown


@dataclass(frozen=True)
class ClaimRow:
    """Benefit claims of one kind (JKK, JKM): count and amount, both hidden for few workers."""

    kind: str
    label: str
    claims: Shown
    amount: int | None  # None when suppressed


@dataclass(frozen=True)
class PseudonymRow:
    """One covered worker, known to the sponsor only by a stable pseudonym."""

    pseudonym: str
    months: int
    first_month: date
    last_month: date


@dataclass(frozen=True)
class Money:
    """Rupiah: paid in, used by closed months, refunded, and still prepaid (paid-used-refunded)."""

    paid: int
    used: int
    refunded: int

    @property
    def remaining(self) -> int:
        return self.paid - self.used - self.refunded


@dataclass(frozen=True)
class ImpactReport:
    """A sponsor's impact for one pledge, or for all its pledges over a period."""

    scope: Literal["pledge", "period"]
    title: str
    company_name: str
    pledge_id: int | None
    first_month: date
    last_month: date
    generated_on: date
    workers_covered: Shown
    worker_months_delivered: Shown
    worker_months_paid: int
    breakdowns: tuple[Breakdown, ...]
    monthly: tuple[MonthPoint, ...]
    claims: tuple[ClaimRow, ...]
    money: Money
    renewal: str
    pseudonyms: tuple[PseudonymRow, ...]  # empty when the report covers fewer than 5 workers

    def breakdown(self, name: str) -> Breakdown:
        return next(b for b in self.breakdowns if b.name == name)


def shown(workers: int) -> Shown:
    """A worker count as it may be shown."""
    return SMALL if 0 < workers < MIN_GROUP else workers


def suppress_groups(groups: Sequence[RawGroup]) -> tuple[Row, ...]:
    """Rows for groups, with every group of 1-4 workers shown as SMALL.

    When exactly one group is hidden and the total is known, subtracting the others would give
    it away; the next smallest group is then hidden too (complementary suppression).
    """
    hidden = {g.key for g in groups if 0 < g.workers < MIN_GROUP}
    if len(hidden) == 1:
        visible = [g for g in groups if g.key not in hidden and g.workers > 0]
        if visible:
            hidden.add(min(visible, key=lambda g: (g.workers, g.key)).key)
    return tuple(
        Row(g.key, g.label, SMALL, SMALL)
        if g.key in hidden
        else Row(g.key, g.label, g.workers, g.worker_months)
        for g in groups
    )


def suppress_months(points: Iterable[tuple[date, int]]) -> tuple[MonthPoint, ...]:
    return tuple(MonthPoint(month, shown(workers)) for month, workers in points)


def suppress_counts(counts: dict[str, int]) -> dict[str, Shown]:
    """Worker counts by name with the same suppression as a report's breakdown."""
    rows = suppress_groups([RawGroup(key, key, n, n) for key, n in counts.items()])
    return {row.key: row.workers for row in rows}


@dataclass(frozen=True)
class Placement:
    """What a sponsor sees of the workers placed in its pledge: counts, never who."""

    workers: Shown
    worker_months: Shown
    by_category: dict[str, Shown]
    by_kecamatan: dict[str, Shown]


def placement(profile: dict[str, dict[str, int]], worker_months: int) -> Placement:
    """A placement profile (name -> workers, by category and by kecamatan), suppressed."""
    workers = sum(profile["category"].values())
    return Placement(
        shown(workers),
        worker_months if shown(workers) == workers else SMALL,
        suppress_counts(profile["category"]),
        suppress_counts(profile["kecamatan"]),
    )
