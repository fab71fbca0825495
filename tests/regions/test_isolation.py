"""One mechanism keeps every query to the region in scope (portal/regions/scope.py): rows of
another region are neither read, counted, updated nor deleted by code that never names a
region, and a month closes once per region."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import StatementError

from portal.coverage.models import MonthClose
from portal.extensions import db
from portal.matching.queries import closed_months
from portal.regions.scope import ALL, all_regions, current_region, region_scope
from portal.regions.services import add_region
from portal.workers.models import Worker
from tests import factories

KUDUS = "33.19"
MONTH = date(2026, 11, 1)


@pytest.fixture
def kudus(app):  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    with region_scope(KUDUS):
        worker = factories.worker(full_name="Pekerja Kudus")
        db.session.add(MonthClose(month=MONTH, totals={}))
        db.session.flush()
    db.session.expunge_all()  # nothing read in Kudus stays in the identity map
    return worker.id


def _names() -> set[str]:
    return set(db.session.scalars(select(Worker.full_name)))


def test_semarang_code_never_sees_kudus_rows(kudus):
    semarang = factories.worker(full_name="Pekerja Semarang")
    assert current_region() == "33.74"
    assert _names() == {"Pekerja Semarang"}
    assert db.session.scalar(select(func.count()).select_from(Worker)) == 1
    assert db.session.get(Worker, kudus) is None
    assert closed_months() == set()
    db.session.expunge_all()  # a session serves one region: what it holds stays in it
    with region_scope(KUDUS):
        assert _names() == {"Pekerja Kudus"}
        assert closed_months() == {MONTH}
        assert db.session.get(Worker, semarang.id) is None
    with all_regions():
        assert _names() == {"Pekerja Semarang", "Pekerja Kudus"}


def test_updates_and_deletes_keep_to_the_region(kudus):
    factories.worker(full_name="Pekerja Semarang")
    db.session.execute(update(Worker).values(status="registered"))
    db.session.execute(delete(MonthClose))
    db.session.expunge_all()
    with region_scope(KUDUS):
        assert db.session.scalars(select(Worker.status)).all() == ["eligible"]
        assert closed_months() == {MONTH}


def test_a_month_closes_once_in_each_region(kudus):
    db.session.add(MonthClose(month=MONTH, totals={}))
    db.session.flush()
    with all_regions():
        regions = db.session.scalars(
            select(MonthClose.region_code).order_by(MonthClose.region_code)
        )
        assert regions.all() == [KUDUS, "33.74"]


def test_a_row_made_across_all_regions_must_name_its_region(app):
    with all_regions(), pytest.raises(StatementError, match="must name its region_code"):
        db.session.add(MonthClose(month=MONTH, totals={}))
        db.session.flush()
    db.session.rollback()
    assert current_region() != ALL


def test_cached_figures_are_kept_per_region(kudus):
    from portal.reports.services import cached  # noqa: PLC0415

    assert cached(("waiting",), lambda: _names()) == set()
    with region_scope(KUDUS):
        assert cached(("waiting",), lambda: _names()) == {"Pekerja Kudus"}
    assert cached(("waiting",), lambda: {"recomputed"}) == set()  # Semarang's, still cached
