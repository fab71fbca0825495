"""On PostgreSQL, row-level security keeps each region's rows apart even for SQL that names no
region: run as a role without BYPASSRLS, with the session's `pijar.region` set, a query sees
and writes only that region's rows. The test always runs on the machine's PostgreSQL (a new
database, migrated to head), whatever database the suite itself runs on."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.regions.scope import RegionOwned

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
ROLE = "pijar_rls_test"


@pytest.fixture
def migrated() -> Iterator[str]:
    base = make_url(os.environ.get("TEST_DATABASE_URL") or SERVER)
    if base.get_backend_name() != "postgresql":
        base = make_url(SERVER)
    name = f"pijar_rls_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = base.set(database=name).render_as_string(hide_password=False)
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    app = create_app(settings)
    try:
        with app.app_context():
            upgrade()
            db.engine.dispose()
        yield url
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.mark.own_database
def test_a_query_without_a_region_filter_sees_only_its_regions_rows(migrated):
    engine = create_engine(migrated)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO region (code, name, regulation, bank_name, bank_account_number,"
                    " bank_account_name, mail_sender, created_at) VALUES"
                    " ('33.19', 'Kabupaten Kudus', '', '', '', '', '', now())"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO month_close (month, closed_at, totals, region_code) VALUES"
                    " ('2026-10-01', now(), '{}', '33.74'), ('2026-11-01', now(), '{}', '33.74'),"
                    " ('2026-11-01', now(), '{}', '33.19')"
                )
            )
            conn.execute(text(f"DROP ROLE IF EXISTS {ROLE}"))
            conn.execute(text(f"CREATE ROLE {ROLE} NOLOGIN NOBYPASSRLS"))
            conn.execute(
                text(
                    f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {ROLE}"
                )
            )
            conn.execute(text(f"GRANT USAGE ON ALL SEQUENCES IN SCHEMA public TO {ROLE}"))

        def as_region(code: str, sql: str) -> list[tuple[object, ...]]:
            with engine.begin() as conn:
                conn.execute(text(f"SET LOCAL ROLE {ROLE}"))
                conn.execute(text("SELECT set_config('pijar.region', :c, true)"), {"c": code})
                return [tuple(row) for row in conn.execute(text(sql))]

        count = "SELECT region_code, count(*) FROM month_close GROUP BY region_code ORDER BY 1"
        assert as_region("33.19", count) == [("33.19", 1)]
        assert as_region("33.74", count) == [("33.74", 2)]
        assert as_region("*", count) == [("33.19", 1), ("33.74", 2)]
        assert as_region("", count) == []  # no region set: nothing
        # Writes: another region's rows are out of reach, and a row for it is refused.
        assert as_region("33.19", "DELETE FROM month_close RETURNING region_code") == [("33.19",)]
        assert as_region("33.74", count) == [("33.74", 2)]
        with pytest.raises(DBAPIError, match="row-level security"):
            as_region(
                "33.19",
                "INSERT INTO month_close (month, closed_at, totals, region_code)"
                " VALUES ('2026-12-01', now(), '{}', '33.74') RETURNING id",
            )
        # Every table of a region-owned model has the policy, forced on its owner too.
        with engine.begin() as conn:
            guarded = {
                row[0]
                for row in conn.execute(
                    text(
                        "SELECT c.relname FROM pg_class c JOIN pg_policies p"
                        " ON p.tablename = c.relname AND p.policyname = 'region_isolation'"
                        " WHERE c.relrowsecurity AND c.relforcerowsecurity"
                    )
                )
            }
        owned = {cls.__table__.name for cls in RegionOwned.__subclasses__()}  # type: ignore[attr-defined]
        assert owned and owned == guarded
        with engine.begin() as conn:
            conn.execute(text(f"REASSIGN OWNED BY {ROLE} TO postgres"))
            conn.execute(text(f"DROP OWNED BY {ROLE}"))
            conn.execute(text(f"DROP ROLE {ROLE}"))
    finally:
        engine.dispose()


@pytest.mark.own_database
def test_the_downgrade_refuses_to_mix_another_regions_rows(migrated):
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = migrated
    app = create_app(settings)
    with app.app_context():
        try:
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO region (code, name, regulation, bank_name,"
                        " bank_account_number, bank_account_name, mail_sender, created_at)"
                        " VALUES ('33.24', 'Kabupaten Kendal', '', '', '', '', '', now())"
                    )
                )
                conn.execute(
                    text(
                        "INSERT INTO month_close (month, closed_at, totals, region_code)"
                        " VALUES ('2026-11-01', now(), '{}', '33.24')"
                    )
                )
            with pytest.raises(SystemExit):  # Flask-Migrate logs the migration's error and exits
                downgrade(revision="4d2c9a7e1b35")
            with db.engine.connect() as conn:
                still = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
            assert still != "4d2c9a7e1b35"  # the refused step did not run
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM month_close WHERE region_code = '33.24'"))
            downgrade(revision="4d2c9a7e1b35")
            with db.engine.connect() as conn:
                columns = conn.execute(
                    text(
                        "SELECT count(*) FROM information_schema.columns"
                        " WHERE table_name = 'worker' AND column_name = 'region_code'"
                    )
                ).scalar()
            assert columns == 0
        finally:
            db.engine.dispose()
