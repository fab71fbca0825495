"""Landing page figures and the health check."""

from datetime import date

from sqlalchemy import insert

from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from tests import factories


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_landing_page_shows_live_figures_from_the_database(client):
    month = date.today().replace(day=1)
    workers = [factories.worker(status="eligible") for _ in range(5)]
    db.session.execute(
        insert(Coverage),
        [
            {"worker_id": workers[0].id, "month": month, "funder": Funder.APBD, "amount": 16800},
            {"worker_id": workers[1].id, "month": month, "funder": Funder.APBD, "amount": 16800},
            {"worker_id": workers[2].id, "month": month, "funder": Funder.DBHCHT, "amount": 16800},
        ],
    )
    factories.company(verified=True)
    html = client.get("/").get_data(as_text=True)
    assert 'data-figure="apbd">2<' in html
    assert 'data-figure="dbhcht">1<' in html
    assert 'data-figure="covered">3<' in html
    assert 'data-figure="waiting">2<' in html
    assert 'data-figure="sponsors">1<' in html
