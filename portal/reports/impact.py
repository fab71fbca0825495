"""One impact report from its rows: a pledge, or a company's pledges in one region.

The raw figures (Figures) stay inside the reports package; what leaves it is the ImpactReport
build() makes of them, with small groups suppressed (figures.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from flask import current_app
from flask_babel import gettext as _

from portal.claims.models import ClaimKind
from portal.claims.queries import ClaimTotals
from portal.i18n import current_locale
from portal.labels import label
from portal.matching import queries as matching_queries
from portal.pledges.pricing import add_months
from portal.reports.figures import (
    MIN_GROUP,
    SMALL,
    Breakdown,
    ClaimRow,
    ImpactReport,
    Money,
    PseudonymRow,
    RawGroup,
    StoryRow,
    merge_small_groups,
    shown,
    suppress_months,
)
from portal.reports.queries import CoveredMonth

AGE_BANDS = ((25, "under_25"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (200, "55_plus"))


def pseudonym(company_id: int, worker_id: int) -> str:
    """A stable pseudonym of a worker as one company sees it (PJS-7F3A-91C2).

    Keyed with a secret and the company, so two sponsors cannot link their lists and nobody
    can work back from the pseudonym to the worker.
    """
    key = ("pseudonym:" + current_app.config["NIK_HASH_KEY"]).encode()
    digest = hmac.new(key, f"{company_id}:{worker_id}".encode(), hashlib.sha256).hexdigest()
    code = digest[:8].upper()
    return f"PJS-{code[:4]}-{code[4:]}"


@dataclass(frozen=True)
class Person:
    """What the breakdowns need of a covered worker."""

    category: str
    kecamatan: str
    sex: str
    age_band: str


@dataclass(frozen=True)
class Figures:
    """A scope's figures before suppression."""

    workers: dict[int, Person]
    months: dict[int, list[date]]  # each worker's covered months, in order
    delivered: int  # worker-months begun by `today`
    per_month: Counter[date]

    @property
    def covered(self) -> int:
        return len(self.workers)


def tally(rows: Iterable[CoveredMonth], today: date) -> Figures:
    """The figures of a scope's covered worker-months."""
    this_month = today.replace(day=1)
    workers: dict[int, Person] = {}
    months: dict[int, list[date]] = defaultdict(list)
    ordered = sorted(rows, key=lambda r: (r.worker_id, r.month))
    for row in ordered:
        if row.worker_id not in workers:
            workers[row.worker_id] = Person(
                row.category_code, row.kecamatan_code, row.sex, age_band(row.birth_date, row.month)
            )
        months[row.worker_id].append(row.month)
    return Figures(
        workers=workers,
        months=dict(months),
        delivered=sum(1 for row in ordered if row.month <= this_month),  # months begun so far
        per_month=Counter(row.month for row in ordered),
    )


@dataclass(frozen=True)
class Names:
    """The groups a reader knows of, by breakdown: code -> name."""

    categories: dict[str, str]
    kecamatan: dict[str, str]


def names_in(region_code: str | None) -> Names:
    """Category names, and the kecamatan of a region (every region's when None).

    A kecamatan's Kemendagri code starts with its region's (33.74.01 in 33.74).
    """
    categories, kecamatan = matching_queries.reference_names(current_locale())
    if region_code is not None:
        kecamatan = {k: v for k, v in kecamatan.items() if k.startswith(region_code + ".")}
    return Names(categories, kecamatan)


@dataclass(frozen=True)
class Spec:
    """One breakdown: its name, title, the attribute of Person it splits by, the names."""

    name: Any
    title: str
    attribute: str
    names: dict[str, str]


def specs(names: Names) -> tuple[Spec, ...]:
    return (
        Spec("category", _("By category"), "category", names.categories),
        Spec("kecamatan", _("By kecamatan"), "kecamatan", names.kecamatan),
        Spec("sex", _("By sex"), "sex", {"L": _("Men"), "P": _("Women")}),
        Spec("age_band", _("By age"), "age_band", age_labels()),
    )


def groups(figures: Figures, spec: Spec) -> list[RawGroup]:
    """Every group a reader knows of, the empty ones too: a hidden worker could be in any of
    them, which is what keeps the merged row from giving a small group away."""
    people: Counter[str] = Counter()
    worker_months: Counter[str] = Counter()
    for worker_id, worker in figures.workers.items():
        key = getattr(worker, spec.attribute)
        people[key] += 1
        worker_months[key] += len(figures.months[worker_id])
    order = list(spec.names) + sorted(set(people) - set(spec.names))
    return [
        RawGroup(key, spec.names.get(key, key), people[key], worker_months[key]) for key in order
    ]


def pseudonym_rows(company_id: int, figures: Figures) -> tuple[PseudonymRow, ...]:
    """Every covered worker under its pseudonym (a report shows them from MIN_GROUP on)."""
    return tuple(
        sorted(
            (
                PseudonymRow(pseudonym(company_id, worker_id), len(seen), seen[0], seen[-1])
                for worker_id, seen in figures.months.items()
            ),
            key=lambda p: p.pseudonym,
        )
    )


@dataclass(frozen=True)
class Heading:
    """What a report says besides the figures of its rows."""

    scope: Any
    title: str
    company_id: int
    company_name: str
    pledge_id: int | None
    first: date
    last: date
    today: date
    worker_months_paid: int
    money: Money
    renewal: str
    stories: tuple[StoryRow, ...] = field(default=())


def build(heading: Heading, figures: Figures, names: Names, claims: ClaimTotals) -> ImpactReport:
    """The report of one scope, small groups suppressed."""
    covered = figures.covered
    return ImpactReport(
        scope=heading.scope,
        title=heading.title,
        company_name=heading.company_name,
        pledge_id=heading.pledge_id,
        first_month=heading.first,
        last_month=heading.last,
        generated_on=heading.today,
        workers_covered=shown(covered),
        worker_months_delivered=figures.delivered if shown(covered) == covered else SMALL,
        worker_months_paid=heading.worker_months_paid,
        breakdowns=tuple(
            Breakdown(
                spec.name, spec.title, merge_small_groups(groups(figures, spec), other_label())
            )
            for spec in specs(names)
        ),
        # Exactly the months asked for; months not begun yet show the workers placed for them.
        monthly=suppress_months(
            (month, figures.per_month.get(month, 0))
            for month in month_range(heading.first, heading.last)
        ),
        claims=claim_rows(claims),
        money=heading.money,
        renewal=heading.renewal,
        pseudonyms=pseudonym_rows(heading.company_id, figures) if covered >= MIN_GROUP else (),
        stories=heading.stories,
    )


def claim_rows(claims: ClaimTotals) -> tuple[ClaimRow, ...]:
    rows = []
    for kind in ClaimKind:
        total = claims.by_kind.get(kind.value)
        if total is None or not total.claims:
            rows.append(ClaimRow(kind.value, str(label(kind.value)), 0, 0))
        elif total.workers < MIN_GROUP:
            rows.append(ClaimRow(kind.value, str(label(kind.value)), SMALL, None))
        else:
            rows.append(ClaimRow(kind.value, str(label(kind.value)), total.claims, total.amount))
    return tuple(rows)


def stories(found: Sequence[Any]) -> tuple[StoryRow, ...]:
    """Approved claim stories as a report shows them: the benefit and the year."""
    return tuple(
        StoryRow(story.kind, str(label(story.kind)), story.month.year, story.text)
        for story in found
    )


def other_label() -> str:
    """The merged row of a breakdown ("Lainnya" in Indonesian)."""
    return _("Other")


def age_band(birth_date: date, month: date) -> str:
    """The worker's age band at the start of a month."""
    age = (
        month.year
        - birth_date.year
        - ((month.month, month.day) < (birth_date.month, birth_date.day))
    )
    return next(band for limit, band in AGE_BANDS if age < limit)


def age_labels() -> dict[str, str]:
    return {
        "under_25": _("Under 25"),
        "25_34": "25-34",
        "35_44": "35-44",
        "45_54": "45-54",
        "55_plus": _("55 and over"),
    }


def month_range(first: date, last: date) -> Iterable[date]:
    month = first
    while month <= last:
        yield month
        month = add_months(month, 1)
