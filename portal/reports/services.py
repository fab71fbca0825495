"""Impact reports and the city dashboard, computed from coverage, claims and the ledger.

Nothing here is typed in by hand: every figure is recomputed from the rows it describes, and
small groups are suppressed before any output sees them (figures.py).
"""

from __future__ import annotations

import hashlib
import hmac
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
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
from portal.regions.scope import current_region
from portal.reports import queries
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

T = TypeVar("T")
CACHE_SECONDS = 600.0  # a safety net; entries go as soon as a newer change is audited
AGE_BANDS = ((25, "under_25"), (35, "25_34"), (45, "35_44"), (55, "45_54"), (200, "55_plus"))
SEXES = ("L", "P")
LAPSE_DAYS = 60
TREND_MONTHS = 12


# --- caching: figures are recomputed when an audited change may have moved them ------------


def cached(key: tuple[Any, ...], compute: Callable[[], T]) -> T:
    """compute(), remembered in this process until a newer audited change (or CACHE_SECONDS).

    One query per call when the figures are known: the ids of the latest changes. Entries
    hold plain values only, never ORM objects, so they outlive the session that built them.
    Each region has its own figures.
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


# --- pseudonyms -----------------------------------------------------------------------------


def pseudonym(company_id: int, worker_id: int) -> str:
    """A stable pseudonym of a worker as one company sees it (PJS-7F3A-91C2).

    Keyed with a secret and the company, so two sponsors cannot link their lists and nobody
    can work back from the pseudonym to the worker.
    """
    key = ("pseudonym:" + current_app.config["NIK_HASH_KEY"]).encode()
    digest = hmac.new(key, f"{company_id}:{worker_id}".encode(), hashlib.sha256).hexdigest()
    code = digest[:8].upper()
    return f"PJS-{code[:4]}-{code[4:]}"


# --- impact reports -------------------------------------------------------------------------


def pledge_report(pledge: Pledge, company_name: str, today: date | None = None) -> ImpactReport:
    """The impact of one pledge (remembered until something changes)."""
    today = today or date.today()
    return cached(
        ("pledge", pledge.id, today, current_locale()),
        lambda: _pledge_report(pledge, company_name, today),
    )


def _pledge_report(pledge: Pledge, company_name: str, today: date) -> ImpactReport:
    first = pledge.coverage_start or pledge.start_month
    last = pledge.last_month or add_months(first, pledge.months - 1)
    paid = pledge.workers * pledge.months if pledge.status in queries.FUNDED else 0
    claims = claim_queries.claims_for_pledge(pledge.id)
    return _report(
        scope="pledge",
        title=_("Impact report, pledge #%(id)s", id=pledge.id),
        company_id=pledge.company_id,
        company_name=company_name,
        pledge_id=pledge.id,
        first=first,
        last=last,
        today=today,
        rows=queries.covered_months([pledge.id]),
        worker_months_paid=paid,
        claims=claims,
        stories=claim_queries.stories_for_pledge(pledge.id),
        money=queries.pledge_money([pledge.id]),
        renewal=_renewal(pledge, today),
    )


def period_report(
    company_id: int, company_name: str, first: date, last: date, today: date | None = None
) -> ImpactReport:
    """A company's impact across all its pledges in the months first..last (annual CSR)."""
    first, last, today = first.replace(day=1), last.replace(day=1), today or date.today()
    return cached(
        ("period", company_id, first, last, today, current_locale()),
        lambda: _period_report(company_id, company_name, first, last, today),
    )


def _period_report(
    company_id: int, company_name: str, first: date, last: date, today: date
) -> ImpactReport:
    pledges = queries.company_pledges_in(company_id, first, last)
    ids = [p.id for p in pledges]
    paid = sum(p.workers * _months_within(p, first, last) for p in pledges)
    ending = sum(
        1
        for p in pledges
        if p.status == PledgeStatus.ACTIVE
        and p.last_month is not None
        and (coverage_queries.month_end(p.last_month) - today).days <= LAPSE_DAYS
    )
    renewal = _(
        "%(active)s active pledges, %(ending)s ending within %(days)s days",
        active=sum(1 for p in pledges if p.status == PledgeStatus.ACTIVE),
        ending=ending,
        days=LAPSE_DAYS,
    )
    return _report(
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
        rows=queries.covered_months(ids, first, last),
        worker_months_paid=paid,
        claims=claim_queries.claims_for_company(company_id, first, last),
        stories=claim_queries.stories_for_company(company_id, first, last),
        money=queries.pledge_money(ids),
        renewal=renewal,
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


@dataclass(frozen=True)
class _Worker:
    category: str
    kecamatan: str
    sex: str
    age_band: str


def _report(
    *,
    scope: Any,
    title: str,
    company_id: int,
    company_name: str,
    pledge_id: int | None,
    first: date,
    last: date,
    today: date,
    rows: Sequence[queries.CoveredMonth],
    worker_months_paid: int,
    claims: claim_queries.ClaimTotals,
    stories: Sequence[claim_queries.ApprovedStory],
    money: queries.MoneyTotals,
    renewal: str,
) -> ImpactReport:
    this_month = today.replace(day=1)
    delivered = sum(1 for row in rows if row.month <= this_month)  # months begun so far
    workers: dict[int, _Worker] = {}
    months: dict[int, list[date]] = defaultdict(list)
    for row in sorted(rows, key=lambda r: (r.worker_id, r.month)):
        if row.worker_id not in workers:
            workers[row.worker_id] = _Worker(
                row.category_code, row.kecamatan_code, row.sex, age_band(row.birth_date, row.month)
            )
        months[row.worker_id].append(row.month)
    per_month = Counter(row.month for row in rows)
    categories, kecamatan = matching_queries.reference_names(current_locale())
    covered = len(workers)
    pseudonyms: tuple[PseudonymRow, ...] = ()
    if covered >= MIN_GROUP:
        pseudonyms = tuple(
            sorted(
                (
                    PseudonymRow(pseudonym(company_id, worker_id), len(seen), seen[0], seen[-1])
                    for worker_id, seen in months.items()
                ),
                key=lambda p: p.pseudonym,
            )
        )
    return ImpactReport(
        scope=scope,
        title=title,
        company_name=company_name,
        pledge_id=pledge_id,
        first_month=first,
        last_month=last,
        generated_on=today,
        workers_covered=shown(covered),
        worker_months_delivered=delivered if shown(covered) == covered else SMALL,
        worker_months_paid=worker_months_paid,
        breakdowns=(
            _breakdown("category", _("By category"), workers, months, "category", categories),
            _breakdown("kecamatan", _("By kecamatan"), workers, months, "kecamatan", kecamatan),
            _breakdown(
                "sex", _("By sex"), workers, months, "sex", {"L": _("Men"), "P": _("Women")}
            ),
            _breakdown("age_band", _("By age"), workers, months, "age_band", age_labels()),
        ),
        # Exactly the months asked for; months not begun yet show the workers placed for them.
        monthly=suppress_months(
            (month, per_month.get(month, 0)) for month in _month_range(first, last)
        ),
        claims=_claim_rows(claims),
        money=Money(paid=money.paid, used=money.used, refunded=money.refunded),
        renewal=renewal,
        pseudonyms=pseudonyms,
        stories=tuple(
            StoryRow(story.kind, str(label(story.kind)), story.month.year, story.text)
            for story in stories
        ),
    )


def _breakdown(
    name: Any,
    title: str,
    workers: dict[int, _Worker],
    months: dict[int, list[date]],
    attribute: str,
    names: dict[str, str],
) -> Breakdown:
    people: Counter[str] = Counter()
    worker_months: Counter[str] = Counter()
    for worker_id, worker in workers.items():
        key = getattr(worker, attribute)
        people[key] += 1
        worker_months[key] += len(months[worker_id])
    # Every group a reader knows of takes part, the empty ones too: a hidden worker could be
    # in any of them, which is what keeps the merged row from giving a small group away.
    order = list(names) + sorted(set(people) - set(names))
    groups = [RawGroup(key, names.get(key, key), people[key], worker_months[key]) for key in order]
    return Breakdown(name, title, merge_small_groups(groups, other_label()))


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


def _claim_rows(claims: claim_queries.ClaimTotals) -> tuple[ClaimRow, ...]:
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


def _month_range(first: date, last: date) -> Iterable[date]:
    month = first
    while month <= last:
        yield month
        month = add_months(month, 1)


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
    months = tuple(_month_range(first, month))
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
