"""The figures of an impact report, with small groups already suppressed.

Every output (page, chart, PDF, CSV, XLSX) renders an ImpactReport and nothing else, so a
group of fewer than MIN_GROUP workers never appears with its own count: in a breakdown it is
merged into one OTHER row ("Lainnya"), elsewhere it is shown as SMALL ("<5").

A company sponsoring in several regions gets one report with a section per region and the
national total. Each region's figures are suppressed as a single report's are (a region with
fewer than MIN_GROUP workers shows SMALL throughout). The total must not let anyone recover a
region's hidden cell by subtracting the cells the regions show, so it is added up from what
the regions show, never from the raw rows:

1. a group's total (a category, a kecamatan, a sex, an age band) is the sum of the regions'
   shown cells of that group only; a region's cells merged into its "Other" go to the total's
   "Other" (the suppressed bucket), never to the group, so total minus the shown cells is 0;
2. the same holds for every other figure (workers and worker-months covered, each month,
   each kind of claim and its amount): the total is the sum of the regions' shown values;
3. a region's SMALL cells (a hidden "Other", a small month, a small claim kind) join that
   bucket only when together they cannot give one away: they come from two regions or more
   and hold at least MIN_GROUP workers, and not MIN_GROUP - 1 in each (the test of
   merge_small_groups). Otherwise they stay out of the total: the figure is the sum of the
   shown cells, or SMALL when no region shows one, and the report says some figures were held
   back (`ImpactReport.held_back`);
4. the total's own small groups are then suppressed as a single report's are
   (merge_small_groups). Sums of shown cells are 0 or at least MIN_GROUP, so this merges
   nothing, and no shown group is ever pulled into the bucket: its regions' cells are public,
   and subtracting them would lay the bucket bare.

Total minus the regions' shown cells is therefore 0, or a sum of hidden cells of two or more
regions that merge_small_groups would show as an "Other" of its own. A company sponsoring in
one region sees that region's report alone, with no total.
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
    # With two regions or more, the figures above are the national total and each region's
    # own report is here; empty for a pledge and for a company in one region.
    regions: tuple[RegionSection, ...] = ()
    held_back: bool = False  # a region's hidden figure is left out of this total (rule 3)

    def breakdown(self, name: str) -> Breakdown:
        return next(b for b in self.breakdowns if b.name == name)

    @property
    def national(self) -> bool:
        return bool(self.regions)


@dataclass(frozen=True)
class RegionSection:
    """One region's part of a company's report: the region and its own suppressed report."""

    code: str
    name: str
    regulation: str
    report: ImpactReport


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


# --- totals across regions (the rule in this module's docstring) ------------------------------


@dataclass(frozen=True)
class Part:
    """One region's figure as shown, with what lies behind it: the value and the workers the
    suppression judged (a hidden part is added to a total only when that is safe)."""

    shown: Shown
    value: int
    workers: int

    @property
    def hidden(self) -> bool:
        return not isinstance(self.shown, int)


def hidden_joins(parts: Sequence[Part]) -> bool:
    """Whether the regions' hidden parts may join a total: two regions or more whose workers
    together make a group merge_small_groups would show (rule 3)."""
    hidden = [p for p in parts if p.hidden]
    return len(hidden) >= 2 and not _revealing(sum(p.workers for p in hidden), len(hidden))


def add_up(parts: Sequence[Part]) -> tuple[Shown, bool]:
    """The total of the regions' figures, and whether a hidden part was held back."""
    visible = sum(p.shown for p in parts if isinstance(p.shown, int))
    hidden = [p for p in parts if p.hidden]
    if not hidden:
        return visible, False
    if hidden_joins(parts):
        return visible + sum(p.value for p in hidden), False
    return (visible if visible else SMALL), True


@dataclass(frozen=True)
class RegionBreakdown:
    """A region's breakdown as shown, with the raw groups it was made from."""

    rows: tuple[Row, ...]
    groups: Sequence[RawGroup]


def total_rows(
    regions: Sequence[RegionBreakdown], other_label: str
) -> tuple[tuple[Row, ...], bool]:
    """A breakdown's total rows across regions, and whether a hidden part was held back.

    A group's total is the sum of the rows the regions show for it; the groups each region
    merged go to the total's OTHER row, which is then the sum of the regions' OTHER rows.
    """
    sums: dict[str, RawGroup] = {}
    workers_parts: list[Part] = []
    months_parts: list[Part] = []
    for region in regions:
        own = {row.key for row in region.rows if not row.other}
        for row in region.rows:
            if row.other:
                continue
            seen = sums.get(row.key, RawGroup(row.key, row.label, 0, 0))
            sums[row.key] = RawGroup(
                row.key,
                seen.label,
                seen.workers + int(row.workers),
                seen.worker_months + int(row.worker_months),
            )
        other = next((row for row in region.rows if row.other), None)
        if other is not None:
            merged = [g for g in region.groups if g.key not in own]
            people = sum(g.workers for g in merged)
            workers_parts.append(Part(other.workers, people, people))
            months_parts.append(
                Part(other.worker_months, sum(g.worker_months for g in merged), people)
            )
    workers, held_back = add_up(workers_parts)
    months, _ = add_up(months_parts)
    rows = list(merge_small_groups(list(sums.values()), other_label))
    if isinstance(workers, int) and isinstance(months, int):
        if workers:
            rows.append(Row(OTHER, other_label, workers, months))
    else:
        rows.append(Row(OTHER, other_label, SMALL, SMALL))
    return tuple(rows), held_back


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
