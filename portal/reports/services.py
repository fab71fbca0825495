"""Impact reports and the city dashboard, computed from coverage, claims and the ledger.

Nothing here is typed in by hand: every figure is recomputed from the rows it describes, and
small groups are suppressed before any output sees them (figures.py).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, TypeVar

from flask import current_app
from flask_babel import gettext as _

from portal.claims import queries as claim_queries
from portal.claims.models import ClaimKind
from portal.coverage import queries as coverage_queries
from portal.i18n import current_locale, long_date, month_label
from portal.labels import label
from portal.matching import queries as matching_queries
from portal.matching.estimate import expected_available
from portal.matching.rules import current_rules
from portal.payments.unused import waiting_for_decision
from portal.pledges.models import Pledge, PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import first_open_start
from portal.regions.scope import all_regions, current_region, region_scope
from portal.reports import impact, national, queries
from portal.reports.figures import ImpactReport, Money
from portal.reports.impact import age_band, other_label, pseudonym

__all__ = ["age_band", "other_label", "pseudonym"]  # kept here for the callers that use them

T = TypeVar("T")
CACHE_SECONDS = 600.0  # a safety net; entries go as soon as a newer change is audited
LAPSE_DAYS = 60
TREND_MONTHS = 12


# --- caching: figures are recomputed when an audited change may have moved them ------------


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """compute(), remembered in this process until a newer audited change (or CACHE_SECONDS).

    One query per call when the figures are known: the ids of the latest changes. Entries
    hold plain values only, never ORM objects, so they outlive the session that built them.
    Each region has its own figures, and reads across regions (`all_regions()`) theirs.
    """
    store: dict[str, Any] = current_app.extensions.setdefault("figures_cache", {}).setdefault(
        current_region(), {"stamp": None, "entries": {}}
    )
    stamp = queries.latest_changes()
    if store["stamp"] != stamp:
        store["stamp"], store["entries"] = stamp, {}
    now = datetime.now().timestamp()
    hit = store["entries"].get(key)
    if hit is not None and hit[0] > now:
        return hit[1]  # type: ignore[no-any-return]
    value = compute()
    store["entries"][key] = (now + CACHE_SECONDS, value)
    return value


def in_region(code: str) -> AbstractContextManager[None]:
    """region_scope(code); nothing to switch (no statement to the database) when the scope
    is that region already."""
    return nullcontext() if current_region() == code else region_scope(code)


# --- impact reports -------------------------------------------------------------------------


def pledge_report(pledge: Pledge, company_name: str, today: date | None = None) -> ImpactReport:
    """The impact of one pledge, read in the pledge's region (remembered until something
    changes there)."""
    today = today or date.today()
    with in_region(pledge.region_code):
        return cached(
            ("pledge", pledge.id, today, current_locale()),
            lambda: _pledge_report(pledge, company_name, today),
        )


def _pledge_report(pledge: Pledge, company_name: str, today: date) -> ImpactReport:
    first = pledge.coverage_start or pledge.start_month
    last = pledge.last_month or add_months(first, pledge.months - 1)
    heading = impact.Heading(
        scope="pledge",
        title=_("Impact report, pledge #%(id)s", id=pledge.id),
        company_id=pledge.company_id,
        company_name=company_name,
        pledge_id=pledge.id,
        first=first,
        last=last,
        today=today,
        worker_months_paid=pledge.workers * pledge.months if pledge.status in queries.FUNDED else 0,
        money=_money(queries.pledge_money([pledge.id])),
        renewal=_renewal(pledge, today),
        stories=impact.stories(claim_queries.stories_for_pledge(pledge.id)),
    )
    return impact.build(
        heading,
        impact.tally(queries.covered_months([pledge.id]), today),
        impact.names_in(pledge.region_code),
        claim_queries.claims_for_pledge(pledge.id),
    )


def period_report(
    company_id: int, company_name: str, first: date, last: date, today: date | None = None
) -> ImpactReport:
    """A company's impact across all its pledges in the months first..last (annual CSR), in
    every region it sponsors in: with two regions or more, a section per region and the
    national total (national.py). Read across regions whatever the request's scope."""
    first, last, today = first.replace(day=1), last.replace(day=1), today or date.today()
    with all_regions():
        return cached(
            ("period", company_id, first, last, today, current_locale()),
            lambda: _period_report(company_id, company_name, first, last, today),
        )


def _period_report(
    company_id: int, company_name: str, first: date, last: date, today: date
) -> ImpactReport:
    pledges = queries.company_pledges_in(company_id, first, last)
    ids = [p.id for p in pledges]
    rows = queries.covered_months(ids, first, last)
    money = queries.money_by_region(ids)
    claims = queries.claims_by_region(company_id, first, last)
    codes = sorted({p.region_code for p in pledges} | {r.region_code for r in rows} | set(claims))
    heading = impact.Heading(
        scope="period",
        title=_(
            "Impact report %(first)s to %(last)s", first=month_label(first), last=month_label(last)
        ),
        company_id=company_id,
        company_name=company_name,
        pledge_id=None,
        first=first,
        last=last,
        today=today,
        worker_months_paid=sum(p.workers * _months_within(p, first, last) for p in pledges),
        money=_money(*money.values()),
        renewal=_period_renewal(pledges, today),
        stories=impact.stories(claim_queries.stories_for_company(company_id, first, last)),
    )
    if len(codes) <= 1:
        names = impact.names_in(codes[0] if codes else None)
        totals = claims.get(codes[0], _NO_CLAIMS) if codes else _NO_CLAIMS
        return impact.build(heading, impact.tally(rows, today), names, totals)
    parts = []
    for region in queries.region_names(codes):
        own = [p for p in pledges if p.region_code == region.code]
        section = replace(
            heading,
            worker_months_paid=sum(p.workers * _months_within(p, first, last) for p in own),
            money=_money(money.get(region.code, queries.MoneyTotals())),
            renewal=_period_renewal(own, today),
            stories=(),
        )
        figures = impact.tally([r for r in rows if r.region_code == region.code], today)
        names = impact.names_in(region.code)
        found = claims.get(region.code, _NO_CLAIMS)
        report = impact.build(section, figures, names, found)
        parts.append(national.RegionPart(region, figures, names, found, report))
    return national.national_report(heading, parts)


_NO_CLAIMS = claim_queries.ClaimTotals(
    {kind.value: claim_queries.KindTotal() for kind in ClaimKind}
)


def _money(*totals: queries.MoneyTotals) -> Money:
    return Money(
        paid=sum(t.paid for t in totals),
        used=sum(t.used for t in totals),
        refunded=sum(t.refunded for t in totals),
    )


def _period_renewal(pledges: Sequence[Pledge], today: date) -> str:
    ending = sum(
        1
        for p in pledges
        if p.status == PledgeStatus.ACTIVE
        and p.last_month is not None
        and (coverage_queries.month_end(p.last_month) - today).days <= LAPSE_DAYS
    )
    return _(
        "%(active)s active pledges, %(ending)s ending within %(days)s days",
        active=sum(1 for p in pledges if p.status == PledgeStatus.ACTIVE),
        ending=ending,
        days=LAPSE_DAYS,
    )


def _months_within(pledge: Pledge, first: date, last: date) -> int:
    start = pledge.coverage_start or pledge.start_month
    end = pledge.last_month or add_months(start, pledge.months - 1)
    low, high = max(start, first), min(end, last)
    return matching_queries.months_between(low, high) + 1 if low <= high else 0  # both ends


def _renewal(pledge: Pledge, today: date) -> str:
    if pledge.status == PledgeStatus.ACTIVE and pledge.last_month is not None:
        until = month_label(pledge.last_month)
        if pledge.renewal_offered_at is not None:
            return _(
                "Runs until %(month)s; renewal offered on %(day)s",
                month=until,
                day=long_date(pledge.renewal_offered_at.date()),
            )
        return _(
            "Runs until %(month)s; a renewal offer is sent %(days)s days before the end",
            month=until,
            days=current_rules().renewal_notice_days,
        )
    if pledge.status == PledgeStatus.PAID:
        return _("Paid; workers are placed at the next matching run")
    if pledge.status == PledgeStatus.COMPLETED and pledge.last_month is not None:
        return _("Completed in %(month)s", month=month_label(pledge.last_month))
    return str(label(str(pledge.status)))


# --- the city dashboard ---------------------------------------------------------------------


@dataclass(frozen=True)
class FunderLine:
    funder: str
    label: str
    covered: int
    target: int


@dataclass(frozen=True)
class Count:
    key: str
    label: str
    count: int


@dataclass(frozen=True)
class Lapsing:
    pledge_id: int
    company_name: str
    workers: int
    ends_on: date


@dataclass(frozen=True)
class CityFigures:
    """What staff see at a glance; the landing page shows a few of the same numbers."""

    month: date
    funders: tuple[FunderLine, ...]
    waiting: int
    waiting_by_category: tuple[Count, ...]
    waiting_by_kecamatan: tuple[Count, ...]
    lapsing: tuple[Lapsing, ...]
    unplaced: tuple[queries.UnplacedPledge, ...]
    available_from: date  # the first month a new pledge can start
    available: int  # what an untargeted new pledge can expect (the pledge page's estimate)
    awaiting_decision: int  # rupiah of unused money waiting for sponsors' decisions
    sponsors: int
    trend_months: tuple[date, ...]
    trend: tuple[tuple[str, tuple[int, ...]], ...]  # (funder label, worker-months per month)

    @property
    def covered(self) -> int:
        return sum(line.covered for line in self.funders)

    @property
    def unplaced_months(self) -> int:
        return sum(row.unplaced for row in self.unplaced)

    @property
    def unplaced_amount(self) -> int:
        return sum(row.unplaced_amount for row in self.unplaced)


def city_figures(today: date | None = None) -> CityFigures:
    """The city's figures this month (remembered until something changes)."""
    today = today or date.today()
    return cached(("city", today, current_locale()), lambda: _city_figures(today))


def _city_figures(today: date) -> CityFigures:
    month = today.replace(day=1)
    first = add_months(month, -(TREND_MONTHS - 1))
    by_month = queries.coverage_by_month_and_funder(first, month)
    now = by_month.get(month, {})
    rules = current_rules()
    csr_target = sum(p.workers for p in _active_pledges(month))
    funders = tuple(
        FunderLine(
            funder,
            str(label(funder)),
            now.get(funder, 0),
            csr_target if funder == "pledge" else rules.quota(funder, month),
        )
        for funder in queries.funder_values()
    )
    cells = queries.waiting_by_category_and_kecamatan(month)
    categories, kecamatan = matching_queries.reference_names(current_locale())
    by_category: Counter[str] = Counter()
    by_kecamatan: Counter[str] = Counter()
    for (category, place), n in cells.items():
        by_category[category] += n
        by_kecamatan[place] += n
    months = tuple(impact.month_range(first, month))
    return CityFigures(
        month=month,
        funders=funders,
        waiting=sum(cells.values()),
        waiting_by_category=_counts(by_category, categories),
        waiting_by_kecamatan=_counts(by_kecamatan, kecamatan),
        lapsing=tuple(
            Lapsing(row.pledge.id, row.company_name, row.workers, row.ends_on)
            for row in coverage_queries.ending_pledges(today, LAPSE_DAYS)
        ),
        unplaced=tuple(
            sorted(
                queries.unplaced_pledges(), key=lambda row: (-row.unplaced_amount, row.pledge_id)
            )
        ),
        available_from=first_open_start(today),
        available=expected_available(first_open_start(today)),
        awaiting_decision=sum(w.amount for w in waiting_for_decision()),
        sponsors=queries.verified_sponsors(),
        trend_months=months,
        trend=tuple(
            (str(label(funder)), tuple(by_month.get(m, {}).get(funder, 0) for m in months))
            for funder in queries.funder_values()
        ),
    )


def _active_pledges(month: date) -> list[Pledge]:
    return [
        p
        for p in queries.active_pledges()
        if p.coverage_start is not None
        and p.coverage_start <= month
        and p.last_month is not None
        and month <= p.last_month
    ]


def _counts(counts: Counter[str], names: dict[str, str]) -> tuple[Count, ...]:
    return tuple(
        sorted(
            (Count(key, names.get(key, key), n) for key, n in counts.items()),
            key=lambda c: (-c.count, c.label),
        )
    )
