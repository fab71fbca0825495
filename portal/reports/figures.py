"""The figures of an impact report, with small groups already suppressed.

Every output (page, chart, PDF, CSV, XLSX) renders an ImpactReport and nothing else, so a
group of fewer than MIN_GROUP workers never appears with its own count: in a breakdown it is
merged into one OTHER row ("Lainnya"), elsewhere it is shown as SMALL ("<5").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Literal

MIN_GROUP = 5
SMALL = "<5"
OTHER = "_other"  # the key of a breakdown's merged row; no category or area code starts with _
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

    @property
    def other(self) -> bool:
        """The merged row of the groups too small to show on their own."""
        return self.key == OTHER


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
class StoryRow:
    """An anonymised claim story staff approved for sponsors: the benefit and year, no more."""

    kind: str
    label: str
    year: int
    text: str


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
    stories: tuple[StoryRow, ...] = ()  # approved by staff; no names, NIKs or dates

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


def merge_small_groups(groups: Sequence[RawGroup], other_label: str) -> tuple[Row, ...]:
    """Rows for the groups of at least MIN_GROUP workers, then one OTHER row for the rest.

    `groups` is every group a reader knows could exist (zeros included: they are never shown,
    but they are places a hidden worker could be). The rule:

    1. a group of 1-4 workers is never shown; it goes into OTHER;
    2. when OTHER would then hold 1-4 workers, or 4 in every group without a row of its own
       (each of them would be known to hold 4), the smallest shown groups (all of that size)
       join it too: complementary suppression;
    3. OTHER is shown with its counts, or as SMALL when all the groups together hold fewer
       than MIN_GROUP workers (the report's total is SMALL then too); without small groups
       there is no OTHER row.

    Why total minus the shown rows then gives no group away: the rule looks at sizes, never
    at names, so any reshuffle of the sizes among the groups without a row gives the same
    rows. After step 2 those sizes mix small and large, so each group could hold either.
    Without step 2 they are 0-4 each and sum to 5 or more but less than 4 per group, which
    can be split between them in more than one way.
    """
    shown = [g for g in groups if g.workers >= MIN_GROUP]
    merged = [g for g in groups if 0 < g.workers < MIN_GROUP]
    unseen = len(groups) - len(shown)
    if merged and shown and _revealing(sum(g.workers for g in merged), unseen):
        least = min(g.workers for g in shown)
        merged += [g for g in shown if g.workers == least]
        shown = [g for g in shown if g.workers != least]
    visible = {g.key for g in shown}
    rows = [Row(g.key, g.label, g.workers, g.worker_months) for g in groups if g.key in visible]
    if merged:
        workers = sum(g.workers for g in merged)
        months = sum(g.worker_months for g in merged)
        if workers < MIN_GROUP:
            rows.append(Row(OTHER, other_label, SMALL, SMALL))
        else:
            rows.append(Row(OTHER, other_label, workers, months))
    return tuple(rows)


def _revealing(small: int, unseen: int) -> bool:
    """Whether the small groups alone, over `unseen` groups without a row, give one away."""
    return small < MIN_GROUP or small == (MIN_GROUP - 1) * unseen


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
