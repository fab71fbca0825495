"""Headers, cookies, request size, error pages, production settings and language."""

from __future__ import annotations

import pytest

from config import ProductionConfig, TestingConfig, load_config
from portal import create_app
from portal.i18n import rupiah
from tests.conftest import csrf_token, post_oversized


def test_security_headers_on_every_page(client):
    for path in ("/", "/auth/login", "/healthz", "/no-such-page"):
        headers = client.get(path).headers
        csp = headers["Content-Security-Policy"]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "default-src 'self'" in csp
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_of_logged_in_users_are_not_cached(actors, logged_in):
    client = logged_in(actors.staff)
    assert client.get("/staff/companies").headers["Cache-Control"] == "no-store"


def test_session_cookie_is_httponly_and_samesite(client, actors):
    token = csrf_token(client)
    response = client.post(
        "/auth/login", data={"email": actors.staff.email, "password": "x", "csrf_token": token}
    )
    cookie = response.headers.get("Set-Cookie") or client.get("/").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_production_requires_its_secrets(monkeypatch):
    for name in ProductionConfig.REQUIRED:
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(RuntimeError, match="SECRET_KEY"):
        load_config("production")


def test_production_cookies_are_secure_and_demo_data_is_refused(monkeypatch):
    for name in ProductionConfig.REQUIRED:
        monkeypatch.setenv(name, "set")
    settings = load_config("production")
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.FORCE_HTTPS is True
    assert settings.DEMO_DATA_ALLOWED is False
    assert settings.REMEMBER_COOKIE_DURATION == 0


def test_oversized_request_is_refused_with_413(client, app):
    body = b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = post_oversized(
        client, "/companies/register", data=body, content_type="application/octet-stream"
    )
    assert response.status_code == 413


@pytest.mark.own_database
def test_unexpected_error_shows_a_plain_500_page_without_a_trace():
    settings = TestingConfig()
    settings.TESTING = False
    settings.SQLALCHEMY_DATABASE_URI = "sqlite://"
    app = create_app(settings)

    @app.get("/__boom")
    def boom():  # type: ignore[no-untyped-def]
        raise RuntimeError("secret internals")

    response = app.test_client().get("/__boom")
    html = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in html and "Traceback" not in html


def test_interface_is_indonesian_by_default_and_english_on_request(app):
    client = app.test_client()
    assert '<html lang="id">' in client.get("/").get_data(as_text=True)
    token = csrf_token(client, "/")
    response = client.post("/lang", data={"lang": "en", "next": "/auth/login", "csrf_token": token})
    assert response.headers["Location"] == "/auth/login"
    assert '<html lang="en">' in client.get("/").get_data(as_text=True)


def test_rupiah_is_written_the_indonesian_way(app):
    assert rupiah(16_800, "id") == "Rp16.800"
    assert rupiah(1_354_147_200, "id") == "Rp1.354.147.200"
    assert rupiah(16_800, "en") == "Rp16,800"
