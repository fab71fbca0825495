"""Read-only pages read without the write lock; a session's activity is still recorded."""

from __future__ import annotations

import threading
import time

import pytest
from flask import g, session

from config import TestingConfig
from portal import create_app
from portal.db import SESSION_TOUCH_SECONDS, start_request
from portal.extensions import db
from portal.reference.seed import seed_reference
from portal.reports.views import city
from portal.workers.views import register


def _decide(app, view, method: str = "GET", **cookie) -> bool:  # type: ignore[no-untyped-def]
    with app.test_request_context(method=method):
        session.update(cookie)
        start_request(view, method)
        return bool(g.read_only)


def test_only_a_read_only_views_gets_read_without_the_write_lock(app):
    now = time.time()
    signed_in = {"_user_id": "token", "seen_at": now}
    assert _decide(app, city, **signed_in)
    assert _decide(app, city)  # nobody signed in: nothing to record
    assert not _decide(app, city, "POST", **signed_in)
    assert not _decide(app, register, **signed_in)  # not marked read-only
    # The session's activity is due to be written: this request writes after all.
    assert not _decide(app, city, _user_id="token", seen_at=now - SESSION_TOUCH_SECONDS - 1)
    assert not _decide(app, city, _user_id="token")


@pytest.mark.own_database
def test_a_read_only_page_does_not_wait_for_a_writer(fresh_database_url):
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = fresh_database_url
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        seed_reference()
        db.session.commit()
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:  # a long write transaction, as a big match approval is
        with app.app_context(), db.engine.connect() as connection, connection.begin():
            connection.exec_driver_sql("UPDATE category SET risk_weight = risk_weight")
            holding.set()
            release.wait(30)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(10)
        started = time.perf_counter()
        response = app.test_client().get("/")
        assert response.status_code == 200
        assert time.perf_counter() - started < 5  # a write-locked request would wait 15 s
    finally:
        release.set()
        thread.join()
        with app.app_context():
            db.drop_all()
            db.engine.dispose()


def test_the_session_cookie_mirrors_the_recorded_activity(logged_in, actors):
    client = logged_in(actors.staff)
    assert client.get("/dashboard").status_code == 200
    with client.session_transaction() as cookie:
        seen = cookie["seen_at"]
    assert abs(seen - time.time()) < 120  # so the next read-only request needs no write
    with client.application.test_request_context():
        session.update({"_user_id": "token", "seen_at": seen})
        start_request(city, "GET")
        assert g.read_only
