"""How many waiting workers a new or paid pledge can realistically expect: an estimate.

The waiting workers fitting the target, less those the city's quotas are expected to take
(R3: the city funds first) and those the paid pledges ahead in the queue are expected to
take; both shares are spread over the target in proportion to the waiting workers it holds.
The city dashboard shows the same figure for an untargeted pledge.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import exists, func, select

from portal.coverage.models import Coverage
from portal.extensions import db
from portal.matching import queries
from portal.matching.rules import current_rules
from portal.reference.models import Category, Kelurahan
from portal.workers.eligibility import eligible_clause
from portal.workers.models import Worker

Cells = dict[tuple[str, str], int]  # (category code, kecamatan code) -> waiting workers


def waiting_cells(month: date) -> Cells:
    """Workers eligible in `month` (R2) with no funder from then on, per cell: the waiting
    list a match run for `month` works from."""
    covered = exists().where(Coverage.worker_id == Worker.id, Coverage.month >= month)
    rows = db.session.execute(
        select(Category.code, Kelurahan.kecamatan_code, func.count(Worker.id))
        .join(Category, Category.id == Worker.category_id)
        .join(Kelurahan, Kelurahan.code == Worker.kelurahan_code)
        .where(eligible_clause(month), ~covered)
        .group_by(Category.code, Kelurahan.kecamatan_code)
    )
    return {(category, kecamatan): int(n) for category, kecamatan, n in rows}


def _fitting(cells: Cells, categories: Sequence[str], kecamatan: Sequence[str]) -> Cells:
    return {
        cell: n
        for cell, n in cells.items()
        if (not categories or cell[0] in categories) and (not kecamatan or cell[1] in kecamatan)
    }


def expected_available(
    month: date,
    categories: Sequence[str] = (),
    kecamatan: Sequence[str] = (),
    exclude_pledge: int | None = None,
) -> int:
    """Waiting workers fitting the target that the city and the pledges ahead leave over."""
    cells = waiting_cells(month)
    everyone = sum(cells.values())
    target = _fitting(cells, categories, kecamatan)
    fit = sum(target.values())
    if not fit:
        return 0
    rules, already = current_rules(), queries.city_counts(month)
    city_left = sum(max(rules.quota(f, month) - already.get(f, 0), 0) for f in already)
    taken = min(city_left, everyone) * fit / everyone
    for pledge in queries.open_pledges(month):
        if pledge.pledge_id == exclude_pledge:
            continue
        theirs = _fitting(cells, pledge.categories, pledge.kecamatan)
        total = sum(theirs.values())
        if total:
            shared = sum(n for cell, n in theirs.items() if cell in target)
            taken += min(pledge.workers, total) * shared / total
    return max(int(fit - taken), 0)
