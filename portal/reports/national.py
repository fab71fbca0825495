"""A company's report across regions: each region's own report and the national total.

Each region's report is suppressed as a single report is. The total is added up from what
those reports show, never from the raw rows, by the rule in figures.py: a group's total is
the sum of the regions' shown cells, hidden cells go to the total's "Other" (or, for a figure
without one, stay out of the total) unless two regions' or more together give none away.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from portal.claims.models import ClaimKind
from portal.claims.queries import ClaimTotals, KindTotal
from portal.reports.figures import (
    MIN_GROUP,
    SMALL,
    Breakdown,
    ClaimRow,
    ImpactReport,
    MonthPoint,
    Part,
    PseudonymRow,
    RegionBreakdown,
    RegionSection,
    add_up,
    hidden_joins,
    total_rows,
)
from portal.reports.impact import (
    Figures,
    Heading,
    Names,
    groups,
    other_label,
    pseudonym_rows,
    specs,
)
from portal.reports.queries import RegionName


@dataclass(frozen=True)
class RegionPart:
    """One region's report with the figures and claims it was made from."""

    region: RegionName
    figures: Figures
    names: Names
    claims: ClaimTotals
    report: ImpactReport


def national_report(heading: Heading, parts: Sequence[RegionPart]) -> ImpactReport:
    """The national total of the regions' reports, with a section per region."""
    people = [Part(p.report.workers_covered, p.figures.covered, p.figures.covered) for p in parts]
    workers, held_workers = add_up(people)
    delivered, _ = add_up(
        [
            Part(p.report.worker_months_delivered, p.figures.delivered, p.figures.covered)
            for p in parts
        ]
    )
    breakdowns, held_groups = _breakdowns(parts)
    monthly, held_months = _monthly(parts)
    claims, held_claims = _claims(parts)
    return ImpactReport(
        scope=heading.scope,
        title=heading.title,
        company_name=heading.company_name,
        pledge_id=None,
        first_month=heading.first,
        last_month=heading.last,
        generated_on=heading.today,
        workers_covered=workers,
        worker_months_delivered=delivered,
        worker_months_paid=sum(p.report.worker_months_paid for p in parts),
        breakdowns=breakdowns,
        monthly=monthly,
        claims=claims,
        money=heading.money,
        renewal=heading.renewal,
        pseudonyms=_pseudonyms(heading.company_id, parts, workers, hidden_joins(people)),
        stories=heading.stories,
        regions=tuple(
            RegionSection(p.region.code, p.region.name, p.region.regulation, p.report)
            for p in parts
        ),
        held_back=held_workers or held_groups or held_months or held_claims,
    )


def _breakdowns(parts: Sequence[RegionPart]) -> tuple[tuple[Breakdown, ...], bool]:
    found: list[Breakdown] = []
    held_back = False
    for index, spec in enumerate(specs(parts[0].names)):
        regions = [
            RegionBreakdown(
                p.report.breakdown(spec.name).rows, groups(p.figures, specs(p.names)[index])
            )
            for p in parts
        ]
        rows, held = total_rows(regions, other_label())
        found.append(Breakdown(spec.name, spec.title, rows))
        held_back = held_back or held
    return tuple(found), held_back


def _monthly(parts: Sequence[RegionPart]) -> tuple[tuple[MonthPoint, ...], bool]:
    points: list[MonthPoint] = []
    held_back = False
    for index, point in enumerate(parts[0].report.monthly):
        month = point.month
        total, held = add_up(
            [
                Part(
                    p.report.monthly[index].workers,
                    p.figures.per_month.get(month, 0),
                    p.figures.per_month.get(month, 0),
                )
                for p in parts
            ]
        )
        points.append(MonthPoint(month, total))
        held_back = held_back or held
    return tuple(points), held_back


def _claims(parts: Sequence[RegionPart]) -> tuple[tuple[ClaimRow, ...], bool]:
    rows: list[ClaimRow] = []
    held_back = False
    for index, kind in enumerate(ClaimKind):
        shown = [p.report.claims[index] for p in parts]
        raw = [p.claims.by_kind.get(kind.value, KindTotal()) for p in parts]
        claims, held = add_up(
            [Part(row.claims, n.claims, n.workers) for row, n in zip(shown, raw, strict=True)]
        )
        amount, _ = add_up(
            [
                Part(SMALL if row.amount is None else row.amount, n.amount, n.workers)
                for row, n in zip(shown, raw, strict=True)
            ]
        )
        label = shown[0].label
        if isinstance(claims, int) and isinstance(amount, int):
            rows.append(ClaimRow(kind.value, label, claims, amount))
        else:
            rows.append(ClaimRow(kind.value, label, SMALL, None))
        held_back = held_back or held
    return tuple(rows), held_back


def _pseudonyms(
    company_id: int, parts: Sequence[RegionPart], workers: int | str, hidden_join: bool
) -> tuple[PseudonymRow, ...]:
    """The workers the total counts, under their pseudonyms: a region's list counts its
    workers, so a region shown as SMALL adds its list only when its workers join the total."""
    if not isinstance(workers, int) or workers < MIN_GROUP:
        return ()
    rows = [
        row
        for p in parts
        if isinstance(p.report.workers_covered, int) or hidden_join
        for row in pseudonym_rows(company_id, p.figures)
    ]
    return tuple(sorted(rows, key=lambda row: row.pseudonym))
