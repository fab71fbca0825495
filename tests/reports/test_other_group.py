"""Small groups merged into "Other" (Lainnya): never a group under 5 with its count, and never
one that total minus the shown rows pins down; a 40-worker report stays readable."""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from portal.companies.models import Company
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.pledges.models import PledgeStatus
from portal.pledges.pricing import add_months
from portal.pledges.services import transition_pledge
from portal.reference.models import Kelurahan
from portal.reports import services
from portal.reports.figures import OTHER, SMALL, RawGroup, Row, merge_small_groups
from tests import factories
from tests.matching import builders

MONTHS_EACH = 3  # worker-months per worker in the generated groups


def _groups(sizes: list[int]) -> list[RawGroup]:
    return [
        RawGroup(f"g{n}", f"Group {n}", size, size * MONTHS_EACH) for n, size in enumerate(sizes)
    ]


def _alternative(sizes: list[int], rows: tuple[Row, ...], hidden: int) -> list[int]:
    """Other group sizes giving the same rows, with a different size for group `hidden`.

    When a large group joined "Other", swap the sizes of two groups without a row; otherwise
    those groups hold 0-4 each and their total can be split another way (or, with no row
    shown and 4 in each, be one large group merged with a group of 1)."""
    shown = {row.key for row in rows if not row.other}
    other = next(row for row in rows if row.other)
    assert isinstance(other.workers, int)
    unseen = [n for n in range(len(sizes)) if f"g{n}" not in shown]
    alt = list(sizes)
    if any(sizes[n] >= 5 for n in unseen):
        partner = next(n for n in unseen if sizes[n] != sizes[hidden])
        alt[hidden], alt[partner] = sizes[partner], sizes[hidden]
        return alt
    low = max(0, other.workers - 4 * (len(unseen) - 1))
    targets = [t for t in range(low, min(4, other.workers) + 1) if t != sizes[hidden]]
    if not targets:  # 4 in each and no shown row: as if a large group had joined a group of 1
        assert not shown
        partner = next(n for n in unseen if n != hidden)
        alt = [0] * len(sizes)
        alt[hidden], alt[partner] = other.workers - 1, 1
        return alt
    alt[hidden], left = targets[0], other.workers - targets[0]
    for n in unseen:
        if n != hidden:
            alt[n] = min(4, left)
            left -= alt[n]
    assert left == 0
    return alt


@settings(max_examples=400, deadline=None)
@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=12))
def test_other_never_reveals_a_group_under_five(sizes):
    groups = _groups(sizes)
    rows = merge_small_groups(groups, "Other")
    by_key = {row.key: row for row in rows}
    for group in groups:
        if group.workers < 5:  # a small (or empty) group never has a row of its own
            assert group.key not in by_key
        elif group.key in by_key:
            row = by_key[group.key]
            assert (row.workers, row.worker_months) == (group.workers, group.worker_months)
    total = sum(sizes)
    other = by_key.get(OTHER)
    if other is None:  # nothing small: every group with workers is shown as it is
        assert all(size == 0 or size >= 5 for size in sizes)
        assert [r.key for r in rows] == [g.key for g in groups if g.workers]
        return
    assert rows[-1] is other
    if other.workers == SMALL:  # the whole breakdown is under 5: one hidden row, nothing else
        assert total < 5 and rows == (other,)
        return
    assert isinstance(other.workers, int) and other.workers >= 5  # "Lainnya" itself is >= 5
    assert other.workers == total - sum(r.workers for r in rows if not r.other)  # type: ignore[misc]
    assert other.worker_months == other.workers * MONTHS_EACH
    # Total minus the shown rows never pins a hidden group down: for each one, other sizes
    # with a different count for it give exactly the same rows.
    for n, group in enumerate(groups):
        if group.key not in by_key and len(groups) > 1:
            alt = _alternative(sizes, rows, n)
            assert alt[n] != sizes[n]
            assert merge_small_groups(_groups(alt), "Other") == rows, (sizes, alt)


def test_no_reader_can_work_out_a_small_group_exhaustively():
    """Every split of up to 4 groups of up to 13 workers: a reader who knows the rule and sees
    the rows finds more than one possible count for every group without a row of its own."""
    for size in range(1, 5):
        outputs: dict[tuple[tuple[str, object], ...], list[tuple[int, ...]]] = defaultdict(list)
        for sizes in itertools.product(range(14), repeat=size):
            rows = merge_small_groups(_groups(list(sizes)), "Other")
            outputs[tuple((r.key, r.workers) for r in rows)].append(sizes)
        for seen, inputs in outputs.items():
            shown = {key for key, _ in seen if key != OTHER}
            for sizes in inputs:
                if sum(sizes) > 13:  # its alternatives could lie outside the range tried
                    continue
                for n, value in enumerate(sizes):
                    if 0 < value < 5 and f"g{n}" not in shown:
                        assert len({s[n] for s in inputs}) > 1, (sizes, seen)


def test_other_never_holds_exactly_four_in_each_group_without_a_row():
    """5 shown next to "Other: 8" over the two groups nobody sees would tell that both hold
    exactly 4: the 5 joins them."""
    rows = merge_small_groups(_groups([5, 4, 4]), "Other")
    assert [(r.key, r.workers) for r in rows] == [(OTHER, 13)]


def _cover(actors, people, months: int = 3):  # type: ignore[no-untyped-def]
    """A pledge of the owner's company covering the people since last month."""
    builders.rules(city_quotas={})
    company = db.session.get(Company, actors.owner.company_id)
    start = add_months(date.today().replace(day=1), -1)
    pledge = builders.paid_pledge(company, workers=len(people), months=months, start=start)
    db.session.add_all(
        [
            Coverage(
                worker_id=worker.id,
                month=add_months(start, k),
                funder=Funder.PLEDGE,
                amount=16_800,
                pledge_id=pledge.id,
                slot=slot,
            )
            for slot, worker in enumerate(people, 1)
            for k in range(months)
        ]
    )
    pledge.coverage_start = start
    transition_pledge(pledge, PledgeStatus.ACTIVE, None, note="test")
    return pledge


def forty_workers() -> list:  # type: ignore[type-arg]
    """40 workers as a city assigns them: three large categories and seven of 2 each; three
    kecamatan of 10, 7 and 5 and nine of 2 each; 22 men and 18 women."""
    places = list(
        db.session.scalars(
            select(Kelurahan.code)
            .where(Kelurahan.code.like("33.74.%.1%"))
            .order_by(Kelurahan.kecamatan_code, Kelurahan.code)
        )
    )
    first_of = {}
    for code in places:
        first_of.setdefault(code[:8], code)
    kelurahan = list(first_of.values())
    categories = ["becak"] * 12 + ["ojek"] * 8 + ["pkl"] * 6
    for code in ("nelayan", "petani", "sopir", "parkir", "pemulung", "marbot", "ngaji"):
        categories += [code] * 2
    areas = [kelurahan[0]] * 10 + [kelurahan[1]] * 7 + [kelurahan[2]] * 5
    for k in range(3, 12):
        areas += [kelurahan[k]] * 2
    return [
        factories.worker(
            female=n >= 22,
            category_code=categories[n],
            kelurahan_code=areas[n],
            birth_date=date(1970 + n % 30, 1 + n % 12, 1 + n % 28),
        )
        for n in range(40)
    ]


def test_a_forty_worker_report_shows_real_groups_and_one_other_row(actors, app):
    pledge = _cover(actors, forty_workers())
    company = db.session.get_one(Company, pledge.company_id)
    # Its own app context: the locale cached on `g` by earlier tests must not carry over.
    with app.app_context(), app.test_request_context(headers={"Cookie": "lang=en"}):
        report = services.pledge_report(pledge, company.legal_name)
    categories = {r.key: r.workers for r in report.breakdown("category").rows}
    assert categories == {"becak": 12, "ojek": 8, "pkl": 6, OTHER: 14}
    areas = report.breakdown("kecamatan").rows
    shown = sorted(((r.workers, r.worker_months) for r in areas[:-1]), reverse=True)
    assert shown == [(10, 30), (7, 21), (5, 15)]  # in the order of their names
    assert (areas[-1].key, areas[-1].label, areas[-1].workers) == (OTHER, "Other", 18)
    sexes = {r.key: r.workers for r in report.breakdown("sex").rows}
    assert sexes == {"L": 22, "P": 18}
    for breakdown in report.breakdowns:
        assert SMALL not in [r.workers for r in breakdown.rows]  # no wall of "<5"
        assert sum(r.workers for r in breakdown.rows) == report.workers_covered == 40  # type: ignore[misc]
