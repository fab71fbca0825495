"""A dropped database connection is replaced and the read runs again; a database that does
not answer gives a 503 with a retry hint, never a traceback."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from config import TestingConfig
from portal import create_app
from portal.extensions import csrf, db

pytestmark = pytest.mark.own_database


def _app(url: str):  # type: ignore[no-untyped-def]
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return create_app(settings)


def _drop_own_connection() -> None:
    """What a database restart or `pg_terminate_backend` does to a request in flight."""
    connection = db.session.connection()
    if connection.dialect.name == "postgresql":
        connection.exec_driver_sql("SELECT pg_terminate_backend(pg_backend_pid())")
    else:
        connection.connection.dbapi_connection.close()  # type: ignore[union-attr]
        connection.exec_driver_sql("SELECT 1")


def test_a_read_whose_connection_drops_is_read_again_on_a_new_one(fresh_database_url):
    app = _app(fresh_database_url)
    calls: list[int] = []

    def flaky():  # type: ignore[no-untyped-def]
        calls.append(1)
        if len(calls) == 1:
            _drop_own_connection()
        return {"answer": db.session.scalar(text("SELECT 42"))}

    app.add_url_rule("/flaky", view_func=flaky)
    app.add_url_rule("/flaky-write", "flaky_write", view_func=csrf.exempt(flaky), methods=["POST"])
    with app.app_context():
        response = app.test_client().get("/flaky")
        assert (response.status_code, response.json, len(calls)) == (200, {"answer": 42}, 2)
        calls.clear()
        written = app.test_client().post("/flaky-write")
        assert written.status_code == 503 and len(calls) == 1  # a write is never repeated
        assert written.headers["Retry-After"] == "5"
        assert app.test_client().get("/flaky").status_code == 200  # the pool recovered
        db.session.remove()
        db.engine.dispose()


def test_a_database_that_does_not_answer_is_a_503_with_a_retry_hint(fresh_database_url, tmp_path):
    down = (
        "postgresql+psycopg://postgres@127.0.0.1:1/nothing"
        if fresh_database_url.startswith("postgresql")
        else f"sqlite:///{tmp_path}/no/such/folder/portal.db"
    )
    app = _app(down)
    with app.app_context():
        page = app.test_client().get("/")
        assert page.status_code == 503 and page.headers["Retry-After"] == "5"
        body = page.get_data(as_text=True)
        assert "<h1" in body  # the portal's error page, in the visitor's language
        assert "Traceback" not in body and "OperationalError" not in body
        api = app.test_client().get("/", headers={"Accept": "application/json"})
        assert api.status_code == 503 and api.json["status"] == 503
        db.engine.dispose()
