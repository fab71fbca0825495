"""`flask db upgrade` on an empty database reaches exactly the schema of the models."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from config import TestingConfig
from portal import create_app
from portal.extensions import db


def _migrated_app(url: str):  # type: ignore[no-untyped-def]
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return create_app(settings)


@pytest.mark.own_database
def test_upgrade_reaches_the_models_schema_and_downgrade_empties_it(fresh_database_url):
    app = _migrated_app(fresh_database_url)
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
