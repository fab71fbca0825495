"""The landing page says what sponsoring costs, from the rate schedule in force."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import delete

from portal.extensions import db
from portal.reference.models import RateSchedule


def _price(html: str) -> str:
    return re.search(r'<p[^>]*id="price"[^>]*>(.*?)</p>', html, re.S).group(1)


def test_the_price_per_worker_and_month_comes_from_the_rate_schedule(app, client):
    assert "Rp16,800 per worker per month" in _price(client.get("/").get_data(as_text=True))
    indonesian = app.test_client().get("/").get_data(as_text=True)
    assert "Rp16.800" in _price(indonesian)  # the rupiah filter in Indonesian


def test_a_new_rate_in_force_changes_the_price(client):
    db.session.add(
        RateSchedule(
            effective_from=date.today().replace(day=1),
            declared_income=1_200_000,
            jkk_amount=12_000,
            jkm_amount=8_000,
        )
    )
    db.session.flush()
    html = client.get("/").get_data(as_text=True)
    assert 'data-price="20000"' in html and "Rp20,000 per worker per month" in _price(html)
    assert "JKK (Rp12,000)" in _price(html) and "JKM (Rp8,000)" in _price(html)


def test_a_rate_that_starts_later_does_not_count_yet(client):
    db.session.add(
        RateSchedule(
            effective_from=date(date.today().year + 1, 1, 1),
            declared_income=1_200_000,
            jkk_amount=12_000,
            jkm_amount=8_000,
        )
    )
    db.session.flush()
    assert 'data-price="16800"' in client.get("/").get_data(as_text=True)


def test_without_a_rate_in_force_the_page_says_no_price(client):
    db.session.execute(delete(RateSchedule))
    html = client.get("/").get_data(as_text=True)
    assert 'id="price"' not in html
    assert 'id="verifikasi"' in html  # the rest of the page stays, certificate box included
