"""flask seed-reference, seed-demo and create-admin."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import func, select

from portal.auth.models import Role, User
from portal.coverage.models import Coverage, Funder
from portal.demo import RUNNING_WORKERS
from portal.extensions import db
from portal.matching.rules import current_rules
from portal.pledges.models import Pledge, PledgeStatus
from portal.reference.models import Category, Kecamatan, Kelurahan, RateSchedule
from portal.regions.scope import region_scope
from portal.reports.queries import coverage_by_month_and_funder, waiting_by_category_and_kecamatan
from portal.workers.importer import import_roster
from portal.workers.models import Worker
from tests import factories


def _count(model) -> int:  # type: ignore[no-untyped-def]
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_reference_loads_areas_categories_and_rates_once(app):
    result = app.test_cli_runner().invoke(args=["seed-reference"])
    assert result.exit_code == 0, result.output
    assert "0 added" in result.output  # the session fixture loaded it already: nothing twice
    assert _count(Kecamatan) == 16
    assert _count(Kelurahan) == 177
    assert _count(Category) == 20
    rate = db.session.scalar(select(RateSchedule))
    assert (rate.jkk_amount, rate.jkm_amount, rate.monthly_amount) == (10_000, 6_800, 16_800)
    assert rate.jkk_amount == rate.declared_income // 100  # JKK is 1% of declared income


def test_duplicate_kelurahan_names_are_kept_apart_by_code(app):
    purwosari = db.session.scalars(select(Kelurahan).where(Kelurahan.name == "Purwosari")).all()
    mangunharjo = db.session.scalars(select(Kelurahan).where(Kelurahan.name == "Mangunharjo")).all()
    assert len({k.kecamatan_code for k in purwosari}) == 2
    assert len({k.kecamatan_code for k in mangunharjo}) == 2


def test_seed_demo_reproduces_the_programme_figures(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    for role in ("admin", "staff", "auditor", "sponsor owner", "sponsor member"):
        assert role in result.output
    month = date.today().replace(day=1)
    by_funder = coverage_by_month_and_funder(month, month)[month]
    assert by_funder["apbd"] == 6_717
    assert by_funder["dbhcht"] == 500
    assert by_funder["pledge"] == RUNNING_WORKERS
    assert sum(waiting_by_category_and_kecamatan(month).values()) > 0
    apbd_year = db.session.scalar(
        select(func.sum(Coverage.amount)).where(
            Coverage.funder == Funder.APBD,
            Coverage.month.between(date(month.year, 1, 1), date(month.year, 12, 1)),
        )
    )
    assert apbd_year == 6_717 * 16_800 * 12 == 1_354_147_200
    statuses = sorted(db.session.scalars(select(Pledge.status)))
    assert statuses == [
        PledgeStatus.ACTIVE,
        PledgeStatus.AWAITING_PAYMENT,
        PledgeStatus.PAID,
        PledgeStatus.PAID,
    ]
    again = app.test_cli_runner().invoke(args=["seed-demo", "--if-empty"])
    assert again.exit_code == 0 and "already present" in again.output


def test_seed_demo_runs_three_regions_each_with_its_own_staff_rules_and_workers(app):
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    assert "staf@demo.kuduskab.id" in result.output and "staf@demo.kendalkab.id" in result.output
    listed = app.test_cli_runner().invoke(args=["regions", "list", "--json"])
    workers = {r["code"]: r["workers"] for r in json.loads(listed.output)}
    assert workers == {"33.19": 240, "33.24": 260, "33.74": _count(Worker)}
    for code, count, domain in (("33.19", 240, "kuduskab"), ("33.24", 260, "kendalkab")):
        staff = db.session.scalars(select(User).where(User.email == f"staf@demo.{domain}.id")).one()
        assert staff.region_code == code
        with region_scope(code):
            assert _count(Worker) == count
            assert current_rules().city_quotas == {}
            eligible = db.session.scalar(
                select(func.count()).select_from(Worker).where(Worker.nik_in_semarang.is_(True))
            )
            assert eligible == count  # NIKs issued in the region: domicile by rule R2
    assert current_rules().city_quotas != {}  # Kota Semarang keeps its own


def test_a_roster_imports_after_seed_demo(app):
    """The demo inserts workers with explicit ids; on PostgreSQL their sequence is moved past
    them, so the next import does not collide with the demo's ids."""
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    before = _count(Worker)
    roster = (
        b"nik,nama,tanggal_lahir,jenis_kelamin,kategori,kode_kelurahan\n"
        b"3374011203850001,Slamet Riyadi,12/03/1985,L,becak,33.74.01.1001\n"
    )
    report = import_roster(
        roster, "roster.csv", dry_run=False, update_existing=False, actor_id=None
    )
    assert (report.created, report.rejected) == (1, 0), report.errors
    assert _count(Worker) == before + 1
    assert factories.worker().id > before  # and the ORM's inserts too


def test_seed_demo_is_refused_in_production_settings(app):
    app.config["DEMO_DATA_ALLOWED"] = False
    try:
        result = app.test_cli_runner().invoke(args=["seed-demo"])
    finally:
        app.config["DEMO_DATA_ALLOWED"] = True
    assert result.exit_code != 0
    assert _count(User) == 0


def test_create_admin_makes_an_admin_and_mails_a_link(app, outbox):
    result = app.test_cli_runner().invoke(args=["create-admin", "kepala@semarangkota.go.id"])
    assert result.exit_code == 0, result.output
    admin = db.session.scalar(select(User).where(User.email == "kepala@semarangkota.go.id"))
    assert admin.role == Role.ADMIN and admin.password_hash is None
    assert "/auth/password/" in outbox[0].body
    assert outbox[0].body.count("http://127.0.0.1:5000/auth/password/") == 1
    duplicate = app.test_cli_runner().invoke(args=["create-admin", "kepala@semarangkota.go.id"])
    assert duplicate.exit_code != 0 and "exists already" in duplicate.output
