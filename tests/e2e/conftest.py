"""Browser journeys: a live server on its own SQLite file, and Debian's Chromium via Playwright.

The live app is a second Flask app next to the suite's `app`; `portal.extensions.db` is shared,
but engines are per app, so the live server never touches the rolled-back test database.
Tests here must be marked `e2e` so the autouse `_transaction` fixture leaves them alone.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import scoped_session
from werkzeug.serving import make_server

from config import TestingConfig
from portal import create_app
from portal.extensions import db
from portal.jobs import run_pending
from portal.reference.seed import seed_reference
from tests.conftest import one_person_approval
from tests.e2e import pages

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DEFAULT_TIMEOUT_MS = 15_000


class LiveServerConfig(TestingConfig):
    """The testing settings against a SQLite file, with CSRF on, as a browser would meet them."""

    TESTING = False
    WTF_CSRF_ENABLED = True
    SESSION_COOKIE_SECURE = False
    # Every journey logs in from 127.0.0.1, several times each, within a minute or two; the
    # per-IP login limit is tested on its own (tests/auth).
    LOGIN_RATE_LIMIT = "300 per minute"

    def __init__(self, database: Path) -> None:
        self.SQLALCHEMY_DATABASE_URI = f"sqlite:///{database}"
        # Request threads each take a pooled connection; let them cross threads safely.
        self.SQLALCHEMY_ENGINE_OPTIONS = {
            **TestingConfig.SQLALCHEMY_ENGINE_OPTIONS,
            "connect_args": {"check_same_thread": False, "timeout": 15},
        }


@pytest.fixture(scope="session")
def live_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    """A separate app with its own schema and reference data in a throwaway SQLite file."""
    database = tmp_path_factory.mktemp("e2e") / "live.db"
    app = create_app(LiveServerConfig(database))
    with app.app_context():
        db.create_all()
        seed_reference()
        one_person_approval()  # the journeys' staff member proposes and approves alone
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


@pytest.fixture(autouse=True)
def job_worker(live_app: Flask) -> Iterator[None]:
    """A job worker beside the live server, as `make run` starts one: it runs what the
    server's requests queued (e-mails, roster imports) every tenth of a second."""
    stop = threading.Event()

    def work() -> None:
        while not stop.is_set():
            with live_app.app_context():
                try:
                    run_pending()
                finally:
                    db.session.remove()
            stop.wait(0.1)

    thread = threading.Thread(target=work, name="e2e-job-worker", daemon=True)
    thread.start()
    yield
    stop.set()
    thread.join(10)


@pytest.fixture(scope="session")
def live_server(live_app: Flask) -> Iterator[str]:
    """Serve the live app on a free local port in a daemon thread; yields the base URL."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    url = f"http://127.0.0.1:{server.server_port}"
    live_app.config["PUBLIC_BASE_URL"] = url
    thread = threading.Thread(target=server.serve_forever, name="e2e-live-server", daemon=True)
    thread.start()
    try:
        yield url
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def live_db(live_app: Flask) -> Callable[[], AbstractContextManager[scoped_session]]:
    """Write rows straight into the live server's database; commits when the block ends.

    Objects expire on commit, so read what you need inside the block:

        with live_db():
            email = factories.user(Role.STAFF).email
    """

    @contextmanager
    def session() -> Iterator[scoped_session]:
        with live_app.app_context():
            try:
                yield db.session
                db.session.commit()
            except BaseException:
                db.session.rollback()
                raise
            finally:
                db.session.remove()

    return session


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """One headless Debian Chromium for the session (Playwright's own browsers are not used)."""
    executable = shutil.which(CHROMIUM)
    if executable is None:
        message = (
            f"Chromium not found at {CHROMIUM}; install Debian's chromium "
            "(or set CHROMIUM_PATH) to run browser journeys"
        )
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright  # noqa: PLC0415 - only when Chromium exists

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    """Remember each phase's outcome so `page` can keep a screenshot of a failed journey."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


_PAGES_SEEN: set[str] = set()  # a page met again in a later journey is checked once


def check_pages(browser: Any, live_server: str, recorded: list[pages.Page], name: str) -> None:
    """Fail the journey when one of its pages is invalid HTML, inaccessible, too wide for a
    phone, or shows English on an Indonesian page (tests/e2e/pages.py)."""
    missing = pages.tools_missing()
    if missing:
        message = f"page checks need {', '.join(missing)}: run `make test` (npm ci) first"
        if os.environ.get("CI") == "true":
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    context = browser.new_context(base_url=live_server)
    try:
        problems = pages.accessibility_problems(context, recorded, ARTIFACTS / f"{name}-pages")
    finally:
        context.close()
    problems += pages.html_errors(recorded) + pages.language_problems(recorded)
    if problems:
        listing = "\n".join(f"- {problem}" for problem in problems)
        pytest.fail(
            f"{len(problems)} problem(s) on {len(recorded)} page(s):\n{listing}", pytrace=False
        )


@pytest.fixture
def new_page(
    browser: Any, live_server: str, request: pytest.FixtureRequest
) -> Iterator[Callable[..., Any]]:
    """Factory: a page in a fresh browser context (own cookies); options go to new_context()."""
    contexts: list[Any] = []
    recorder = pages.Recorder(seen=_PAGES_SEEN)

    def make(**options: Any) -> Any:
        context = browser.new_context(base_url=live_server, **options)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        recorder.attach(context)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = getattr(request.node, "rep_call", None)
    if failed is not None and failed.passed:
        check_pages(browser, live_server, recorder.pages, request.node.name)
    for n, context in enumerate(contexts):
        if failed is not None and failed.failed:
            ARTIFACTS.mkdir(exist_ok=True)
            for m, page in enumerate(context.pages):
                with suppress(Exception):  # a screenshot must never hide the real failure
                    page.screenshot(
                        path=str(ARTIFACTS / f"{request.node.name}-{n}-{m}.png"), full_page=True
                    )
        context.close()


@pytest.fixture
def page(new_page: Callable[..., Any]) -> Any:
    """A desktop-sized page on the live server; relative URLs resolve against it."""
    return new_page()
