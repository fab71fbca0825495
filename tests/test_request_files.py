"""Uploads never reach the disk unencrypted while a request reads them, and the health check
answers while another writer holds SQLite's write lock."""

from __future__ import annotations

import io
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from flask.testing import EnvironBuilder
from werkzeug.datastructures import FileStorage

from config import TestingConfig
from portal import create_app
from portal.extensions import db

NIK = b"3374011203850001"


def test_a_large_upload_stays_in_memory_not_in_a_temporary_file(app):
    """Werkzeug spools a file part over 500 KB to a temporary file by default (unlinked, but
    on disk in plain text while the request runs); the portal keeps it in memory."""
    body = b"nik,nama\n" + (NIK + b",Slamet Riyadi\n") * 80_000  # 2.4 MB
    builder = EnvironBuilder(
        app, "/", method="POST", data={"file": (io.BytesIO(body), "roster.csv")}
    )
    environ = builder.get_environ()
    try:
        with app.request_context(environ) as context:
            upload = context.request.files["file"]
            assert isinstance(upload, FileStorage)
            assert type(upload.stream) is io.BytesIO
            assert upload.read() == body
    finally:
        environ["wsgi.input"].close()
        builder.close()


@pytest.mark.own_database
def test_the_health_check_answers_while_another_writer_holds_the_lock(fresh_database_url):
    if not fresh_database_url.startswith("sqlite"):
        # PostgreSQL readers never wait for writers; the check below is SQLite's.
        fresh_database_url = "sqlite:///" + str(Path(tempfile.mkdtemp()) / "portal.db")
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = fresh_database_url
    app = create_app(settings)
    with app.app_context():
        db.create_all()
        db.session.remove()
        writer = sqlite3.connect(fresh_database_url.removeprefix("sqlite:///"), timeout=1)
        writer.execute("BEGIN IMMEDIATE")  # an import or a close in the middle of a batch
        try:
            started = time.monotonic()
            answer = app.test_client().get("/healthz")
            assert answer.status_code == 200 and answer.json["database"] == "ok"
            assert time.monotonic() - started < 2
        finally:
            writer.rollback()
            writer.close()
            db.engine.dispose()
