"""Verify for people: a serial box on the landing page and at /verify, serials typed the way
people type them, a public reason for a revocation and periods in words."""

from __future__ import annotations

from datetime import date

import pytest
from babel.dates import format_date

from portal.certificates import services
from portal.certificates.models import CertificateKind
from portal.extensions import db
from portal.matching import services as matching
from portal.pledges.models import Pledge
from portal.pledges.services import earliest_start
from tests import factories
from tests.matching import builders


@pytest.fixture
def certificate(actors):  # type: ignore[no-untyped-def]
    builders.rules(city_quotas={})
    month = earliest_start()
    factories.worker()
    pledge = builders.paid_pledge(builders.sponsor(), workers=1, months=6, start=month)
    matching.approve_run(matching.propose_run(month, actors.staff), actors.staff)
    issued = services.issue_certificate(pledge, CertificateKind.ACTIVE, actors.staff)
    db.session.commit()
    return issued


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("PJS-2026-AB12CD34EF", "PJS-2026-AB12CD34EF"),
        ("pjs-2026-ab12cd34ef", "PJS-2026-AB12CD34EF"),
        ("  PJS 2026 AB12 CD34 EF ", "PJS-2026-AB12CD34EF"),
        ("PJS\u20132026\u2014ab12cd34ef", "PJS-2026-AB12CD34EF"),
        ("pjs2026ab12cd34ef", "PJS-2026-AB12CD34EF"),
        ("PJS-2026-AB12", "PJS2026AB12"),
        ("", ""),
    ],
)
def test_serials_are_normalised_before_the_lookup(typed, expected):
    assert services.normalise_serial(typed) == expected


def test_a_serial_typed_in_lower_case_with_spaces_is_found(client, certificate):
    typed = " " + certificate.serial.lower().replace("-", " ") + " "
    response = client.get("/verify", query_string={"serial": typed})
    assert response.status_code == 302
    assert response.headers["Location"] == f"/verify/{certificate.serial}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'data-status="valid"' in page
    same = client.get(f"/verify/{certificate.serial.lower()}")
    assert same.headers["Location"] == f"/verify/{certificate.serial}"


def test_verify_has_a_serial_box_and_so_has_the_landing_page(client):
    box = client.get("/verify")
    assert box.status_code == 200 and 'name="serial"' in box.get_data(as_text=True)
    assert 'action="/verify"' in client.get("/").get_data(as_text=True)


def test_a_revocation_shows_a_public_reason_never_the_staff_note(client, certificate, actors):
    pledge = db.session.get_one(Pledge, certificate.pledge_id)
    services.revoke_certificates(
        pledge, "refund: salah transfer, dirut minta kembali", actors.staff
    )
    db.session.commit()
    page = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert 'data-status="revoked"' in page
    assert "dirut" not in page and "salah transfer" not in page
    assert "money was returned to the sponsor" in page


def test_the_period_and_the_issue_date_are_in_words(client, certificate):
    facts = services.json_payload(certificate)
    start = date.fromisoformat(f"{facts['period_from']}-01")
    end = date.fromisoformat(f"{facts['period_to']}-01")
    last = format_date(end, "MMMM y", locale="id")
    if start.year == end.year:
        words = f"{format_date(start, 'LLLL', locale='id')}–{last}"
    else:
        words = f"{format_date(start, 'MMMM y', locale='id')} – {last}"
    client.set_cookie("lang", "id")
    html = client.get(f"/verify/{certificate.serial}").get_data(as_text=True)
    assert f'id="period">{words}<' in html
    issued = format_date(certificate.issued_at, "long", locale="id")
    assert f'id="issued">{issued}<' in html
