"""The national role: the programme's administrator reads every region's counts and adds
regions; it has neither a company nor a region, and never sees a worker, a NIK or a company's
own pages."""

from __future__ import annotations

import re
from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, insert, select, text
from sqlalchemy.exc import IntegrityError

from config import TestingConfig
from portal import create_app
from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.auth.permissions import ROLE_PERMISSIONS, Permission, can
from portal.coverage.models import Coverage, Funder
from portal.extensions import db
from portal.reference.models import Kecamatan
from portal.regions import wilayah
from portal.regions.models import Region
from portal.regions.scope import all_regions, region_scope
from portal.regions.services import add_region
from portal.workers.models import Worker
from portal.workers.pii import current_cipher
from tests import factories
from tests.conftest import csrf_token
from tests.reports.test_reports import placed_pledge

KUDUS, KENDAL = "33.19", "33.24"


@pytest.fixture
def national(app) -> User:  # type: ignore[no-untyped-def]
    return factories.user(Role.NATIONAL)


@pytest.fixture
def two_regions(app):  # type: ignore[no-untyped-def]
    """Kota Semarang with 3 workers (2 covered by the city budget), Kudus with 2 (none
    covered)."""
    month = date.today().replace(day=1)
    semarang = [factories.worker(full_name=f"Pekerja Semarang {n}") for n in range(3)]
    db.session.execute(
        insert(Coverage),
        [
            {"worker_id": w.id, "month": month, "funder": Funder.APBD, "amount": 16800}
            for w in semarang[:2]
        ],
    )
    add_region(KUDUS)
    db.session.expunge_all()
    with region_scope(KUDUS):
        kudus = [factories.worker(full_name=f"Pekerja Kudus {n}") for n in range(2)]
    db.session.expunge_all()
    return semarang, kudus


def _row(html: str, region: str) -> dict[str, str]:
    found = re.search(rf'<tr[^>]*data-region="{re.escape(region)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, f"no row of {region}"
    cells = re.findall(r'data-figure="([a-z]+)">([^<]*)<', found.group(1))
    return dict(cells)


# --- the role ----------------------------------------------------------------------------


def test_a_national_user_has_neither_company_nor_region(national):
    assert (national.role, national.company_id, national.region_code) == ("national", None, None)


@pytest.mark.parametrize(
    ("role", "region"),
    [(Role.NATIONAL, "33.74"), (Role.STAFF, None), (Role.SPONSOR_OWNER, "33.74")],
)
def test_the_database_refuses_a_region_where_the_role_has_none_or_needs_one(app, role, region):
    company = factories.company(verified=True) if role.is_sponsor else None
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(
            insert(User).values(
                email=f"x-{role}@example.com",
                full_name="X",
                role=role,
                company_id=company.id if company else None,
                region_code=region,
            )
        )


def test_the_national_role_reads_across_regions_and_manages_regions_only(national, actors):
    assert ROLE_PERMISSIONS[Role.NATIONAL] == {Permission.NATIONAL_READ, Permission.REGION_MANAGE}
    for refused in (
        Permission.WORKER_READ,
        Permission.WORKER_VIEW_PII,
        Permission.COMPANY_VIEW_OWN,
        Permission.COMPANY_LIST,
        Permission.PAYMENT_READ,
        Permission.LEDGER_READ,
        Permission.PLEDGE_LIST,
        Permission.DASHBOARD_CITY,
        Permission.AUDIT_READ,
    ):
        assert not can(national, refused), refused
    for role in ("sponsor_owner", "sponsor_member", "staff", "admin", "auditor"):
        assert not can(actors.by_role(role), Permission.NATIONAL_READ), role
        assert not can(actors.by_role(role), Permission.REGION_MANAGE), role


def test_users_create_makes_a_national_user_of_no_region(app, outbox):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "program@bpjs.example", "--role", "national"])
    assert result.exit_code == 0, result.output
    assert "National user program@bpjs.example created" in result.output
    user = db.session.scalars(select(User).where(User.email == "program@bpjs.example")).one()
    assert (user.role, user.region_code, user.company_id) == ("national", None, None)
    assert [mail.to for mail in outbox] == [["program@bpjs.example"]]
    with_region = runner.invoke(
        args=["users", "create", "y@example.com", "--role", "national", "--region", "33.74"]
    )
    assert with_region.exit_code == 1 and "has no region" in with_region.output


# --- the pages ----------------------------------------------------------------------------


def test_login_lands_a_national_user_on_the_dashboard(logged_in, national):
    client = logged_in(national)
    home = client.get("/home")
    assert home.status_code == 302 and home.headers["Location"].endswith("/national")
    page = client.get("/national").get_data(as_text=True)
    assert 'href="/national/regions"' in page  # the navbar's national menu


def test_the_dashboard_shows_every_regions_counts_and_the_total(logged_in, national, two_regions):
    semarang, kudus = two_regions
    html = logged_in(national).get("/national").get_data(as_text=True)
    assert _row(html, "33.74") == {
        "registered": "3",
        "waiting": "1",
        "covered": "2",
        "sponsors": "0",
        "received": "Rp0",
        "quota": "7,500 / 1,000",
    }
    assert _row(html, KUDUS) == {
        "registered": "2",
        "waiting": "2",
        "covered": "0",
        "sponsors": "0",
        "received": "Rp0",
        "quota": "0 / 0",
    }
    total = _row(html, "total")
    assert (total["registered"], total["waiting"], total["covered"]) == ("5", "3", "2")


def test_sponsors_and_money_received_are_counted_in_their_region(logged_in, national, actors):
    pledge = placed_pledge(actors, running=True)  # paid today, active, rules without quotas
    add_region(KUDUS)
    html = logged_in(national).get("/national").get_data(as_text=True)
    semarang = _row(html, "33.74")
    assert (semarang["sponsors"], semarang["covered"], semarang["quota"]) == ("1", "9", "0 / 0")
    assert semarang["received"] == f"Rp{pledge.price_total:,}"
    assert _row(html, KUDUS)["received"] == "Rp0"
    assert _row(html, "total")["received"] == f"Rp{pledge.price_total:,}"


def test_national_pages_never_show_a_nik_or_a_worker_name(logged_in, national, two_regions):
    client = logged_in(national)
    with all_regions():
        workers = db.session.scalars(select(Worker)).all()
        assert len(workers) == 5
    for path in ("/national", "/national/regions"):
        html = client.get(path).get_data(as_text=True)
        for worker in workers:
            assert worker.full_name not in html
            assert current_cipher().decrypt(worker.nik_encrypted) not in html
            assert worker.nik_masked not in html
        assert not re.search(r"\b\d{16}\b", html)  # nothing shaped like a NIK


def test_a_national_user_is_refused_workers_companies_and_money(
    logged_in, national, two_regions, actors
):
    semarang, _kudus = two_regions
    client = logged_in(national)
    for path in (
        "/staff/workers",
        f"/staff/workers/{semarang[0].id}",
        "/staff/workers/export.csv",
        "/staff/companies",
        f"/staff/companies/{actors.owner.company_id}",
        "/company",
        "/pledges",
        "/staff/pledges",
        "/staff/transfers",
        "/ledger/",
        "/dashboard",
        "/admin/region",
        "/audit",
    ):
        assert client.get(path).status_code == 403, path


def test_a_staff_member_of_kudus_cannot_reach_the_national_pages(logged_in, app):
    add_region(KUDUS)
    with region_scope(KUDUS):
        staff = factories.user(Role.STAFF)
    assert staff.region_code == KUDUS
    client = logged_in(staff)
    assert client.get("/national").status_code == 403
    assert client.get("/national/regions").status_code == 403
    token = csrf_token(client, "/auth/forgot")
    for path in ("/national/regions/check", "/national/regions"):
        response = client.post(path, data={"csrf_token": token, "code": KENDAL})
        assert response.status_code == 403
    assert db.session.get(Region, KENDAL) is None


def test_a_national_user_logs_out(logged_in, national):
    client = logged_in(national)
    token = csrf_token(client, "/national/regions")
    assert client.post("/auth/logout", data={"csrf_token": token}).status_code == 302
    assert client.get("/national").status_code == 302  # to the login page


# --- adding a region from the page --------------------------------------------------------


def test_a_region_is_added_after_a_confirmation_naming_it(logged_in, national):
    client = logged_in(national)
    token = csrf_token(client, "/national/regions")
    check = client.post("/national/regions/check", data={"csrf_token": token, "code": KENDAL})
    assert check.status_code == 200
    html = check.get_data(as_text=True)
    areas = wilayah.region_areas(KENDAL)
    assert areas is not None
    assert 'data-figure="name">Kabupaten Kendal<' in html
    assert f'data-figure="kecamatan">{len(areas.kecamatan)}<' in html
    assert db.session.get(Region, KENDAL) is None  # nothing is added before the confirmation

    added = client.post("/national/regions", data={"csrf_token": token, "code": KENDAL})
    assert added.status_code == 302 and added.headers["Location"].endswith("/national/regions")
    assert db.session.get_one(Region, KENDAL).name == "Kabupaten Kendal"
    count = select(func.count()).select_from(Kecamatan).where(Kecamatan.region_code == KENDAL)
    assert db.session.scalar(count) == len(areas.kecamatan)
    page = client.get("/national/regions").get_data(as_text=True)
    assert "Kabupaten Kendal (33.24) is added." in page
    assert 'data-region="33.24"' in page
    with all_regions():
        event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "region.add"))
        [added_event] = event.all()
    assert (added_event.region_code, added_event.actor_id) == (KENDAL, national.id)


@pytest.mark.parametrize(
    ("code", "error"),
    [
        ("99.99", "99.99 is not the Kemendagri code of a kabupaten or kota (e.g. 33.19)."),
        ("semarang", "semarang is not the Kemendagri code of a kabupaten or kota"),
        ("33.74", "Region 33.74 exists already."),
    ],
)
def test_an_unknown_or_existing_code_is_refused_clearly(logged_in, national, code, error):
    client = logged_in(national)
    token = csrf_token(client, "/national/regions")
    for path in ("/national/regions/check", "/national/regions"):
        response = client.post(path, data={"csrf_token": token, "code": code})
        assert response.status_code == 400, path
        assert error in response.get_data(as_text=True), path
    assert db.session.scalar(select(func.count()).select_from(Region)) == 1


# --- the migration ------------------------------------------------------------------------


@pytest.mark.own_database
def test_the_downgrade_refuses_while_a_national_user_exists(fresh_database_url):
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = fresh_database_url
    app = create_app(settings)
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO user_account (email, full_name, role, active, created_at) "
                    "VALUES ('n@example.com', 'N', 'national', true, CURRENT_TIMESTAMP)"
                )
            )
        with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits
            downgrade(revision="5a4cf08a92a6")
        with db.engine.connect() as conn:
            version = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            role = conn.execute(text("SELECT role FROM user_account")).scalar()
        assert version != "5a4cf08a92a6" and role == "national"
        with db.engine.begin() as conn:
            conn.execute(text("DELETE FROM user_account"))
        downgrade(revision="5a4cf08a92a6")
        with db.engine.begin() as conn, pytest.raises(IntegrityError):
            conn.execute(
                text(
                    "INSERT INTO user_account (email, full_name, role, active, created_at) "
                    "VALUES ('m@example.com', 'M', 'national', true, CURRENT_TIMESTAMP)"
                )
            )
        db.engine.dispose()
