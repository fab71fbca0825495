"""The public side across regions: the landing page sums every region and lists them; each
region has its own page with its scheme, its live figures and how to sponsor there."""

from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import insert, select

from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.reference.models import RateSchedule
from portal.regions.models import Region
from portal.regions.scope import region_scope
from portal.regions.services import add_region
from tests import factories
from tests.reports.test_reports import placed_pledge

KUDUS = "33.19"


def _cover(workers, funder: Funder) -> None:  # type: ignore[no-untyped-def]
    month = date.today().replace(day=1)
    db.session.execute(
        insert(Coverage),
        [{"worker_id": w.id, "month": month, "funder": funder, "amount": 16800} for w in workers],
    )


@pytest.fixture
def kudus(app):  # type: ignore[no-untyped-def]
    """Kota Semarang: 4 workers, 3 covered by the city budget. Kabupaten Kudus: 5 workers, 1
    covered by the tobacco excise, under its own regulation."""
    _cover([factories.worker() for _ in range(4)][:3], Funder.APBD)
    add_region(KUDUS)
    db.session.get_one(Region, KUDUS).regulation = "Peraturan Bupati Kudus Nomor 7 Tahun 2026"
    db.session.flush()
    db.session.expunge_all()
    with region_scope(KUDUS):
        workers = [factories.worker(full_name=f"Pekerja Kudus {n}") for n in range(5)]
        _cover(workers[:1], Funder.DBHCHT)
    db.session.expunge_all()
    return workers


def _figure(html: str, name: str) -> str:
    found = re.search(rf'data-figure="{name}">([^<]*)<', html)
    assert found, f"no figure {name}"
    return found.group(1)


def test_the_landing_page_sums_every_region(client, kudus):
    html = client.get("/").get_data(as_text=True)
    assert _figure(html, "covered") == "4"
    assert _figure(html, "apbd") == "3" and _figure(html, "dbhcht") == "1"
    assert _figure(html, "pledge") == "0"
    assert _figure(html, "waiting") == "5"  # 1 in Semarang, 4 in Kudus


def test_the_landing_page_lists_the_regions_with_their_pages(client, kudus):
    html = client.get("/").get_data(as_text=True)
    assert 'href="/wilayah/33.74" data-region="33.74"' in html
    assert 'href="/wilayah/33.19" data-region="33.19"' in html
    assert "Kabupaten Kudus" in html and "Kota Semarang" in html


def test_a_regions_page_shows_its_scheme_figures_and_how_to_sponsor(client, kudus):
    response = client.get("/wilayah/33.19")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Protect informal workers in Kabupaten Kudus" in html
    assert "Peraturan Bupati Kudus Nomor 7 Tahun 2026" in html
    assert 'data-price="16800"' in html
    assert _figure(html, "registered") == "5"
    assert _figure(html, "covered") == "1"
    assert _figure(html, "pledge") == "0"
    assert _figure(html, "waiting") == "4"
    assert 'href="/companies/register"' in html and 'href="/auth/login"' in html
    assert "Pekerja Kudus" not in html  # counts only, never a worker


def test_each_regions_page_counts_its_own_workers(client, kudus):
    html = client.get("/wilayah/33.74").get_data(as_text=True)
    assert "Kota Semarang" in html and "Peraturan Wali Kota Semarang Nomor 26 Tahun 2025" in html
    assert (_figure(html, "registered"), _figure(html, "covered")) == ("4", "3")
    assert _figure(html, "waiting") == "1"


def test_a_region_without_a_regulation_says_so(client):
    add_region(KUDUS)
    html = client.get("/wilayah/33.19").get_data(as_text=True)
    assert "The region's regulation is not yet published on this portal." in html
    assert _figure(html, "registered") == "0"


def test_sponsored_workers_of_the_month_are_counted(client, actors):
    placed_pledge(actors, running=True)  # nine workers of an active pledge, this month too
    html = client.get("/wilayah/33.74").get_data(as_text=True)
    assert _figure(html, "pledge") == "9" and _figure(html, "covered") == "9"
    add_region(KUDUS)
    assert _figure(client.get("/wilayah/33.19").get_data(as_text=True), "pledge") == "0"


@pytest.mark.parametrize("code", ["33.24", "99.99", "semarang", "33.74.01"])
def test_an_unknown_region_is_not_found(client, code):
    assert client.get(f"/wilayah/{code}").status_code == 404


def test_a_regions_page_shows_its_own_rate(client, kudus):
    with region_scope(KUDUS):
        [rate] = db.session.scalars(select(RateSchedule)).all()  # the one add_region seeded
        rate.jkm_amount += 1_000
        db.session.flush()
    db.session.expunge_all()
    assert 'data-price="17800"' in client.get("/wilayah/33.19").get_data(as_text=True)
    assert 'data-price="17800"' not in client.get("/wilayah/33.74").get_data(as_text=True)
