"""`flask db upgrade` on an empty database reaches exactly the schema of the models."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import make_url

from config import TestingConfig
from portal import create_app
from portal.extensions import db


@pytest.fixture
def empty_database_url(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """A fresh empty database of the kind the suite runs on (SQLite file or PostgreSQL)."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'migrated.db'}"
        return
    name = f"pijar_migrations_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def _migrated_app(url: str):  # type: ignore[no-untyped-def]
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return create_app(settings)


@pytest.mark.own_database
def test_upgrade_reaches_the_models_schema_and_downgrade_empties_it(empty_database_url):
    app = _migrated_app(empty_database_url)
    with app.app_context():
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == [], f"models and migrations differ: {diff}"
        downgrade(revision="base")
        with db.engine.connect() as conn:
            left = set(inspect(conn).get_table_names()) - {"alembic_version"}
        assert left == set()
        db.engine.dispose()
