"""A region's admins set its categories (with risk weights) and its rate schedule on pages;
every change is audited, and another region's rows are neither shown nor touched."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, inspect, select, text, update

from config import TestingConfig
from portal import create_app
from portal.audit.models import AuditEvent
from portal.auth.models import Role, User
from portal.extensions import db
from portal.matching.rules import current_rules
from portal.pledges.pricing import add_months, price_pledge, rate_for, total
from portal.reference.exceptions import RateRefused
from portal.reference.models import Category, RateSchedule
from portal.reference.services import RateValues, create_rate
from portal.regions.models import SEMARANG
from portal.regions.scope import all_regions, region_scope
from portal.regions.services import add_region
from portal.workers.importer import load_lookups
from tests import factories
from tests.conftest import csrf_token

KUDUS = "33.19"
THIS_MONTH = date.today().replace(day=1)
NEXT_MONTH = add_months(THIS_MONTH, 1)
PAGES = (
    "/admin/region/categories",
    "/admin/region/rates",
)
NEW_CATEGORY = {
    "code": "ojol",
    "name_id": "Pengemudi ojek daring",
    "name_en": "Ride-hailing rider",
    "source": "SK Bupati",
    "risk_weight": "4",
}


@pytest.fixture
def kudus_admin(app) -> int:  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    with region_scope(KUDUS):
        admin = factories.user(Role.ADMIN)
    db.session.expunge_all()  # nothing read in Kudus stays in the identity map
    return admin.id


def _post(client, path: str, form_path: str, **data: str):  # type: ignore[no-untyped-def]
    return client.post(path, data={"csrf_token": csrf_token(client, form_path), **data})


def _rate_form(month: date, **values: str) -> dict[str, str]:
    return {
        "effective_from": month.isoformat(),
        "jkk_amount": "12.000",
        "jkm_amount": "Rp7.000",
        "declared_income": "1200000",
        "legal_basis": "Perbup Kudus 5/2026",
        **values,
    }


def _kudus_category(code: str) -> Category:
    with region_scope(KUDUS):
        category = db.session.scalars(select(Category).where(Category.code == code)).one()
    db.session.expunge_all()
    return category


def _semarang_rows() -> tuple[list[tuple[object, ...]], list[tuple[object, ...]]]:
    categories = db.session.execute(
        select(Category.code, Category.name_id, Category.risk_weight, Category.active).order_by(
            Category.code
        )
    )
    rates = db.session.execute(
        select(RateSchedule.effective_from, RateSchedule.effective_to, RateSchedule.jkk_amount)
    )
    return [tuple(r) for r in categories], [tuple(r) for r in rates]


def test_the_admin_reaches_both_pages_from_the_scheme_page_and_the_menu(actors, logged_in):
    client = logged_in(actors.admin)
    scheme = client.get("/admin/region").get_data(as_text=True)
    assert 'href="/admin/region/categories"' in scheme and 'href="/admin/region/rates"' in scheme
    page = client.get("/admin/region/categories")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert 'data-category="ojek"' in html and html.count('data-active="yes"') == 20
    assert 'class="dropdown-item" href="/admin/region/rates"' in html
    rates = client.get("/admin/region/rates")
    assert rates.status_code == 200
    text = rates.get_data(as_text=True)
    assert 'data-amount="16800"' in text and 'data-state="in_force"' in text
    assert f'value="{THIS_MONTH.isoformat()}"' in text  # a rate may start this month


def test_only_the_regions_admins_reach_the_pages(actors, logged_in):
    category = db.session.scalars(select(Category).where(Category.code == "ojek")).one()
    posts = (
        "/admin/region/categories",
        f"/admin/region/categories/{category.id}",
        f"/admin/region/categories/{category.id}/retire",
        f"/admin/region/categories/{category.id}/reactivate",
        "/admin/region/rates",
    )
    for user in (actors.staff, actors.auditor, actors.owner):
        client = logged_in(user)
        token = csrf_token(client, "/")
        for path in (*PAGES, f"/admin/region/categories/{category.id}"):
            assert client.get(path).status_code == 403, (user.role, path)
        for path in posts:
            sent = client.post(path, data={"csrf_token": token, **NEW_CATEGORY})
            assert sent.status_code == 403, (user.role, path)
    assert db.session.get_one(Category, category.id).active is True
    anonymous = logged_in(actors.admin).application.test_client()
    assert anonymous.get(PAGES[0]).status_code == 302


def test_an_admin_adds_edits_retires_and_reactivates_a_category(actors, logged_in):
    client = logged_in(actors.admin)
    version = current_rules().version
    added = _post(client, PAGES[0], PAGES[0], **NEW_CATEGORY)
    assert added.status_code == 302
    category = db.session.scalars(select(Category).where(Category.code == "ojol")).one()
    assert (category.region_code, category.risk_weight, category.active) == (SEMARANG, 4, True)
    assert current_rules().weight("ojol") == 4 and current_rules().version > version

    path = f"/admin/region/categories/{category.id}"
    assert 'value="Ride-hailing rider"' in client.get(path).get_data(as_text=True)
    edited = _post(
        client, path, path, **{**NEW_CATEGORY, "name_en": "Online rider", "risk_weight": "7"}
    )
    assert edited.status_code == 302
    category = db.session.get_one(Category, category.id)
    assert category.name_en == "Online rider" and current_rules().weight("ojol") == 7

    retired = _post(client, f"{path}/retire", PAGES[0])
    assert retired.status_code == 302 and not db.session.get_one(Category, category.id).active
    listing = client.get(PAGES[0]).get_data(as_text=True)
    assert "data-confirm=" in listing and 'data-active="no"' in listing
    _post(client, f"{path}/reactivate", PAGES[0])
    assert db.session.get_one(Category, category.id).active is True

    actions = db.session.scalars(
        select(AuditEvent.action)
        .where(AuditEvent.object_id == str(category.id), AuditEvent.object_type == "category")
        .order_by(AuditEvent.id)
    ).all()
    assert actions == [
        "category.create",
        "category.update",
        "category.retire",
        "category.reactivate",
    ]
    update = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "category.update")
    ).one()
    assert update.before == {"code": "ojol", "name_en": "Ride-hailing rider", "risk_weight": 4}
    assert update.after == {"code": "ojol", "name_en": "Online rider", "risk_weight": 7}
    assert update.actor_id == actors.admin.id


def test_bad_category_input_is_refused_with_the_fields_named_and_nothing_lost(actors, logged_in):
    client = logged_in(actors.admin)
    taken = _post(client, PAGES[0], PAGES[0], **{**NEW_CATEGORY, "code": "Ojek"})
    assert taken.status_code == 400
    html = taken.get_data(as_text=True)
    assert "The category ojek exists already." in html
    assert 'value="Pengemudi ojek daring"' in html and 'value="SK Bupati"' in html
    bad = _post(client, PAGES[0], PAGES[0], **{**NEW_CATEGORY, "code": "a b", "risk_weight": "12"})
    assert bad.status_code == 400
    text = bad.get_data(as_text=True)
    assert "Small letters, digits and dashes" in text and "Give a whole number from 1 to 9." in text
    ojek = db.session.scalars(select(Category).where(Category.code == "ojek")).one()
    path = f"/admin/region/categories/{ojek.id}"
    nameless = _post(client, path, path, **{**NEW_CATEGORY, "name_id": " "})
    assert nameless.status_code == 400 and 'value="Ride-hailing rider"' in nameless.get_data(
        as_text=True
    )
    assert db.session.get_one(Category, ojek.id).name_id == "Pengemudi ojek"
    assert db.session.scalar(select(Category.id).where(Category.code == "ojol")) is None


def test_a_new_rate_ends_the_open_one_the_day_before_and_is_audited(actors, logged_in):
    client = logged_in(actors.admin)
    saved = _post(client, PAGES[1], PAGES[1], **_rate_form(NEXT_MONTH))
    assert saved.status_code == 302
    old, new = db.session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from))
    assert old.effective_to == NEXT_MONTH - timedelta(days=1)
    assert (new.effective_from, new.effective_to, new.monthly_amount) == (NEXT_MONTH, None, 19_000)
    assert (new.declared_income, new.region_code) == (1_200_000, SEMARANG)
    assert rate_for(THIS_MONTH).monthly_amount == 16_800
    assert rate_for(old.effective_to).monthly_amount == 16_800  # its last day is still its own
    assert rate_for(NEXT_MONTH).monthly_amount == 19_000
    assert [line.rate for line in price_pledge(1, 2, THIS_MONTH)] == [16_800, 19_000]
    audit = {
        event.action: event
        for event in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["rate.create", "rate.end"]))
        )
    }
    assert audit["rate.end"].object_id == str(old.id)
    assert audit["rate.end"].after == {"effective_to": old.effective_to.isoformat()}
    assert audit["rate.create"].after["jkk_amount"] == 12_000
    page = client.get(PAGES[1]).get_data(as_text=True)
    assert 'data-state="upcoming"' in page and 'data-amount="19000"' in page


def test_past_rates_are_never_edited(actors, logged_in):
    client = logged_in(actors.admin)
    past = _post(client, PAGES[1], PAGES[1], **_rate_form(add_months(THIS_MONTH, -1)))
    assert past.status_code == 400
    assert "Not a valid choice" in past.get_data(as_text=True)  # not offered on the form
    assert (
        _post(client, PAGES[1], PAGES[1], **_rate_form(add_months(THIS_MONTH, 3))).status_code
        == 302
    )
    earlier = _post(client, PAGES[1], PAGES[1], **_rate_form(NEXT_MONTH))
    assert earlier.status_code == 400
    rates = db.session.scalars(select(RateSchedule).order_by(RateSchedule.effective_from)).all()
    assert len(rates) == 2 and rates[0].effective_to == add_months(THIS_MONTH, 3) - timedelta(1)


def test_the_rate_service_refuses_a_month_that_has_begun_before(actors):
    values = RateValues(add_months(THIS_MONTH, -1), 1_000_000, 1, 1, "x")
    with pytest.raises(RateRefused, match="current month or later"):
        create_rate(values, actors.admin)
    first = db.session.scalars(select(RateSchedule)).one()
    same = RateValues(first.effective_from, 1_000_000, 1, 1, "x")
    with pytest.raises(RateRefused):
        create_rate(same, actors.admin, today=first.effective_from)
    assert first.effective_to is None


def test_bad_rate_input_is_refused_with_the_fields_named_and_nothing_lost(actors, logged_in):
    client = logged_in(actors.admin)
    bad = _post(
        client,
        PAGES[1],
        PAGES[1],
        **_rate_form(NEXT_MONTH, jkk_amount="sepuluh", declared_income="0", legal_basis=""),
    )
    assert bad.status_code == 400
    html = bad.get_data(as_text=True)
    assert "Give an amount in whole rupiah, e.g. 10.000." in html
    assert "Give an amount above Rp0, in whole rupiah." in html
    assert 'value="Rp7.000"' in html and 'value="Perbup Kudus 5/2026"' not in html
    free = _post(
        client, PAGES[1], PAGES[1], **_rate_form(NEXT_MONTH, jkk_amount="0", jkm_amount="0")
    )
    assert free.status_code == 400
    assert "JKK and JKM together must be more than Rp0." in free.get_data(as_text=True)
    assert len(db.session.scalars(select(RateSchedule)).all()) == 1


def test_another_regions_category_is_a_404(actors, logged_in, kudus_admin):
    kudus_ojek = _kudus_category("ojek")
    client = logged_in(actors.admin)
    path = f"/admin/region/categories/{kudus_ojek.id}"
    assert client.get(path).status_code == 404
    token = csrf_token(client, PAGES[0])
    assert client.post(f"{path}/retire", data={"csrf_token": token}).status_code == 404
    assert client.post(path, data={"csrf_token": token, **NEW_CATEGORY}).status_code == 404
    assert _kudus_category("ojek").active is True
    listing = client.get(PAGES[0]).get_data(as_text=True)
    assert f'/admin/region/categories/{kudus_ojek.id}"' not in listing


def test_a_kudus_admins_changes_never_touch_semarangs_rows(actors, logged_in, kudus_admin):
    before = _semarang_rows()
    client = logged_in(db.session.get_one(User, kudus_admin))
    assert "Kabupaten Kudus" in client.get(PAGES[0]).get_data(as_text=True)
    assert _post(client, PAGES[0], PAGES[0], **NEW_CATEGORY).status_code == 302
    ojek = _kudus_category("ojek")
    path = f"/admin/region/categories/{ojek.id}"
    changed = {**NEW_CATEGORY, "name_id": "Ojek Kudus", "risk_weight": "9"}
    assert _post(client, path, path, **changed).status_code == 302
    assert _post(client, f"{path}/retire", PAGES[0]).status_code == 302
    assert _post(client, PAGES[1], PAGES[1], **_rate_form(NEXT_MONTH)).status_code == 302
    db.session.expunge_all()
    assert _semarang_rows() == before
    assert current_rules().weight("ojek") == 3  # Semarang's rules keep their weights
    with region_scope(KUDUS):
        kudus = db.session.scalars(select(Category).where(Category.code == "ojek")).one()
        assert (kudus.name_id, kudus.risk_weight, kudus.active) == ("Ojek Kudus", 9, False)
        assert current_rules().weight("ojek") == 9
        assert db.session.scalar(select(Category.id).where(Category.code == "ojol")) is not None
        assert rate_for(NEXT_MONTH).monthly_amount == 19_000
        kudus_events = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.action.like("category.%"))
        ).all()
    db.session.expunge_all()
    assert sorted(kudus_events) == ["category.create", "category.retire", "category.update"]
    semarang_events = db.session.scalars(
        select(AuditEvent.action).where(AuditEvent.action.like("category.%"))
    ).all()
    assert semarang_events == []


def test_a_new_region_has_its_own_categories_and_rate_at_once(app):
    add_region(KUDUS)
    with region_scope(KUDUS):
        categories = db.session.scalars(select(Category)).all()
        rate = rate_for(date.today())
        weights = current_rules().category_weights
        lookups = load_lookups()  # a roster imported in Kudus names Kudus's categories
    assert len(categories) == 20 and {c.region_code for c in categories} == {KUDUS}
    assert {c.source for c in categories} == {"PIJAR SEMAR default list (from Kota Semarang's)"}
    assert (rate.region_code, rate.jkk_amount, rate.jkm_amount) == (KUDUS, 10_000, 6_800)
    assert "Perwal Semarang" not in rate.legal_basis
    assert weights["ojek"] == 3 and len(weights) == 20
    db.session.expunge_all()
    with all_regions():
        by_region = db.session.execute(
            select(Category.region_code, Category.id).where(Category.code == "ojek")
        ).all()
    assert sorted(code for code, _id in by_region) == [KUDUS, SEMARANG]
    assert len({category_id for _code, category_id in by_region}) == 2
    assert lookups.category_by_code["ojek"] == dict(by_region)[KUDUS]


def test_a_kudus_pledge_is_priced_at_kudus_rate(actors, logged_in, kudus_admin):
    client = logged_in(db.session.get_one(User, kudus_admin))
    assert _post(client, PAGES[1], PAGES[1], **_rate_form(NEXT_MONTH)).status_code == 302
    db.session.expunge_all()
    with region_scope(KUDUS):
        kudus = price_pledge(10, 3, NEXT_MONTH)
    db.session.expunge_all()
    semarang = price_pledge(10, 3, NEXT_MONTH)
    assert total(kudus) == 10 * 3 * 19_000 and {line.jkk for line in kudus} == {12_000}
    assert total(semarang) == 10 * 3 * 16_800


@pytest.mark.own_database
def test_the_downgrade_refuses_while_another_region_has_categories(fresh_database_url):
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = fresh_database_url
    with create_app(settings).app_context():
        try:
            upgrade(revision="6b1d3f5a7c92")  # the categories' migration
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT set_config('pijar.region', '*', true)"))
                conn.execute(
                    text(
                        "INSERT INTO region (code, name, regulation, bank_name,"
                        " bank_account_number, bank_account_name, mail_sender, created_at)"
                        " VALUES ('33.19', 'Kabupaten Kudus', '', '', '', '', '', :now)"
                    ),
                    {"now": datetime.now(UTC)},
                )
                conn.execute(
                    text(
                        "INSERT INTO category (code, name_id, name_en, source, risk_weight,"
                        " active, region_code) VALUES"
                        " ('ojek', 'Ojek', 'Ojek', '', 3, true, '33.74'),"
                        " ('ojek', 'Ojek', 'Ojek', '', 3, true, '33.19')"
                    )
                )
            with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits
                downgrade(revision="7c2e4a6b8d13")
            with db.engine.connect() as conn:
                still = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert still == "6b1d3f5a7c92"
            with db.engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT set_config('pijar.region', '*', true)"))
                conn.execute(text("DELETE FROM category WHERE region_code = '33.19'"))
            downgrade(revision="7c2e4a6b8d13")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("category")}
                codes = conn.execute(text("SELECT code FROM category")).scalars().all()
            assert "region_code" not in columns and codes == ["ojek"]
        finally:
            db.engine.dispose()


def test_two_admins_adding_a_rate_at_once_end_the_open_one_once(actors):
    first = db.session.scalars(select(RateSchedule)).one()  # the open rate, as a page saw it
    # Meanwhile another admin's new rate ended it (and the page still shows it open).
    db.session.execute(
        update(RateSchedule)
        .where(RateSchedule.id == first.id)
        .values(effective_to=add_months(THIS_MONTH, 2) - timedelta(days=1))
        .execution_options(synchronize_session=False)
    )
    assert first.effective_to is None
    with pytest.raises(RateRefused, match="meanwhile"):
        create_rate(RateValues(add_months(THIS_MONTH, 3), 1_000_000, 1, 1, "x"), actors.admin)
    assert db.session.scalar(select(func.count(RateSchedule.id))) == 1
