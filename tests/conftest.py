"""App, database, per-test rollback, login helpers and one fixture per role."""

from __future__ import annotations

import logging
import os
import re
import traceback
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from flask import Flask, g
from flask.testing import EnvironBuilder, FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import scoped_session, sessionmaker

os.environ["PORTAL_ENV"] = "testing"

from portal import create_app  # noqa: E402
from portal.auth.models import Role, User  # noqa: E402
from portal.demo import FIRST_NAMES, LAST_NAMES  # noqa: E402
from portal.extensions import db, limiter  # noqa: E402
from portal.jobs import huey, run_pending  # noqa: E402
from portal.ledger.checks import check_ledger  # noqa: E402
from portal.matching.models import RuleVersion  # noqa: E402
from portal.matching.rules import current_rules  # noqa: E402
from portal.payments.stripe_gateway import gateway  # noqa: E402
from portal.reference.seed import seed_reference  # noqa: E402
from tests import factories  # noqa: E402

PASSWORD = factories.PASSWORD


class RequestClient(FlaskClient):
    """A test client whose every request runs in its own app context, as in production.

    Data the test prepared is committed first (inside the test's outer transaction), so the
    request sees it the way a real request sees committed rows; `g` never leaks between
    requests. The jobs a request queued run right after it, as an idle worker would.
    """

    def open(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        db.session.commit()
        run_pending()  # (also between a redirect's POST and its GET)
        with self.application.app_context():
            response = super().open(*args, **kwargs)
        run_pending()  # a job worker at hand: what the request queued is done before the next
        return response


@pytest.fixture(scope="session")
def app() -> Iterator[Flask]:
    """One app and one schema per test session; reference data committed once."""
    app = create_app("testing")
    app.test_client_class = RequestClient
    with app.app_context():
        db.drop_all()
        db.create_all()
        seed_reference()
        # The seeded rules want a second staff member to approve a match run; most tests are
        # about other things and let one staff member propose and approve. Tests of the
        # two-person rule switch it back on (tests/matching).
        one_person_approval()
        db.session.commit()
        db.session.remove()
        yield app
        sandbox = app.extensions.get("stripe_sandbox")
        if sandbox is not None:
            sandbox.stop()
        db.session.remove()
        db.drop_all()
        db.engine.dispose()


# Personal data that must never reach a log line: a NIK, or a name as the demo and the tests
# give workers.
_NAMES = "|".join(f"{first} {last}" for first in FIRST_NAMES for last in LAST_NAMES)
PERSONAL_DATA = re.compile(
    rf"(?<![0-9])[0-9]{{16}}(?![0-9])|{_NAMES}|Slamet Riyadi|Siti Aminah|Sri Wahyuni"
)


class _PersonalDataGuard(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage() + "\n" + (record.exc_text or "")
        if record.exc_info and record.exc_info[0] is not None:
            text += "".join(traceback.format_exception(*record.exc_info))
        if PERSONAL_DATA.search(text):
            self.leaks.append(f"{record.name}: {text[:500]}")


def one_person_approval() -> None:
    parameters = {**current_rules().parameters(), "require_second_approver": False}
    db.session.add(RuleVersion(parameters=parameters, note="tests: one staff member approves"))
    db.session.flush()


@pytest.fixture(autouse=True)
def _no_personal_data_in_logs() -> Iterator[_PersonalDataGuard]:
    """Every test runs with a log handler that fails it on a NIK or a worker's name in any
    log record (at INFO and above, tracebacks included)."""
    guard = _PersonalDataGuard()
    root = logging.getLogger()
    level = root.level
    root.addHandler(guard)
    root.setLevel(min(level, logging.INFO))
    try:
        yield guard
    finally:
        root.removeHandler(guard)
        root.setLevel(level)
    assert guard.leaks == [], f"personal data in the log: {guard.leaks}"


@pytest.fixture(autouse=True)
def _transaction(request: pytest.FixtureRequest) -> Iterator[None]:
    """Each test runs inside a transaction rolled back at the end; commits become savepoints.

    Browser tests (marked e2e) and tests marked own_database bring their own database.
    """
    if request.node.get_closest_marker("e2e") or request.node.get_closest_marker("own_database"):
        yield
        return
    request.getfixturevalue("app")
    connection = db.engine.connect()
    outer = connection.begin()
    session = scoped_session(
        sessionmaker(
            bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
        )
    )
    original = db.session
    db.session = session  # type: ignore[assignment]
    limiter.reset()
    g.pop("_login_user", None)  # the suite's app context outlives tests: no user carries over
    huey.flush()  # jobs queued by an earlier test name rows its rollback removed
    request.getfixturevalue("app").extensions.pop("figures_cache", None)  # ids repeat per test
    request.getfixturevalue("app").extensions.pop("queue_counts", None)
    try:
        yield
        problems = check_ledger()
        assert problems == [], f"ledger invariants broken after the test: {problems}"
    finally:
        session.remove()
        outer.rollback()
        connection.close()
        db.session = original  # type: ignore[assignment]


@pytest.fixture
def fresh_database_url(tmp_path) -> Iterator[str]:  # type: ignore[no-untyped-def]
    """An empty database of the kind the suite runs on: a SQLite file, or a new PostgreSQL
    database next to TEST_DATABASE_URL (dropped afterwards). For tests marked own_database."""
    base = os.environ.get("TEST_DATABASE_URL")
    if not base:
        yield f"sqlite:///{tmp_path / 'fresh.db'}"
        return
    name = f"pijar_fresh_{uuid.uuid4().hex[:8]}"
    admin = create_engine(make_url(base).set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def post_oversized(client: FlaskClient, path: str, **builder_args):  # type: ignore[no-untyped-def]
    """POST a body over the size limit, closing the temporary file the test client makes."""
    builder = EnvironBuilder(client.application, path=path, method="POST", **builder_args)
    environ = builder.get_environ()
    try:
        return client.open(environ)
    finally:
        environ["wsgi.input"].close()
        builder.close()


@pytest.fixture
def stripe_sandbox(app: Flask):  # type: ignore[no-untyped-def]
    """The portal's Stripe sandbox; events wait until the test calls flush(), which delivers
    them to the webhook through a test client on the test's own thread."""
    gateway()
    sandbox = app.extensions["stripe_sandbox"]
    hook = app.test_client()
    sandbox.reset()  # the database rolls back after each test; so does the sandbox
    sandbox.auto_deliver = False
    sandbox.deliver = lambda body, signature: (
        hook.post(
            "/payments/stripe/webhook",
            data=body,
            content_type="application/json",
            headers={"Stripe-Signature": signature},
        ).status_code
    )
    return sandbox


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    """An anonymous visitor who chose English (messages are asserted in English)."""
    return english(app.test_client())


def english(client: FlaskClient) -> FlaskClient:
    client.set_cookie("lang", "en")
    return client


class SentMail(list):  # type: ignore[type-arg]
    """The mail sent during a test. E-mail goes through the job engine after commit, so
    reading this list first runs the jobs waiting in the broker, as a worker would."""

    _draining = False

    def _drain(self) -> None:
        if not SentMail._draining:
            SentMail._draining = True
            try:
                run_pending()
            finally:
                SentMail._draining = False

    def __iter__(self):  # type: ignore[no-untyped-def]
        self._drain()
        return super().__iter__()

    def __len__(self) -> int:
        self._drain()
        return super().__len__()

    def __getitem__(self, index):  # type: ignore[no-untyped-def]
        self._drain()
        return super().__getitem__(index)

    def __bool__(self) -> bool:
        return len(self) > 0

    def clear(self) -> None:  # forget what was sent so far, queued jobs included
        self._drain()
        super().clear()

    def __eq__(self, other: object) -> bool:
        self._drain()
        return super().__eq__(other)

    __hash__ = None  # type: ignore[assignment]


@pytest.fixture
def outbox(app: Flask) -> list:  # type: ignore[type-arg]
    """Mail sent during the test (Flask-Mailman's in-memory backend, fed by the jobs)."""
    state = app.extensions["mailman"]
    state.outbox = SentMail()
    return state.outbox


def run_jobs() -> None:
    """Commit the test's unit of work and run what it queued, as a worker would."""
    db.session.commit()
    run_pending()


def csrf_token(client: FlaskClient, path: str = "/auth/login") -> str:
    """Read a CSRF token the way a browser would: from a rendered form."""
    html = client.get(path).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html) or re.search(
        r'name="csrf_token" value="([^"]+)"', html
    )
    assert match, f"no CSRF token on {path}"
    return match.group(1)


def login(client: FlaskClient, email: str, password: str = PASSWORD):  # type: ignore[no-untyped-def]
    token = csrf_token(client)
    return client.post(
        "/auth/login", data={"email": email, "password": password, "csrf_token": token}
    )


@dataclass
class Actors:
    """One user per role, plus a second company's owner for cross-company checks."""

    owner: User
    member: User
    staff: User
    staff2: User
    admin: User
    auditor: User
    other_owner: User

    def by_role(self, role: str) -> User:
        return {
            "sponsor_owner": self.owner,
            "sponsor_member": self.member,
            "staff": self.staff,
            "admin": self.admin,
            "auditor": self.auditor,
        }[role]


@pytest.fixture
def actors(app: Flask) -> Actors:
    company = factories.company(verified=True)
    other = factories.company(legal_name="PT Lain Sekali", verified=True)
    return Actors(
        owner=factories.user(Role.SPONSOR_OWNER, company=company),
        member=factories.user(Role.SPONSOR_MEMBER, company=company),
        staff=factories.user(Role.STAFF),
        staff2=factories.user(Role.STAFF),
        admin=factories.user(Role.ADMIN),
        auditor=factories.user(Role.AUDITOR),
        other_owner=factories.user(Role.SPONSOR_OWNER, company=other),
    )


@pytest.fixture
def logged_in(app: Flask):  # type: ignore[no-untyped-def]
    """Factory: a fresh client logged in as the given user."""

    def make(user: User) -> FlaskClient:
        client = english(app.test_client())
        response = login(client, user.email)
        messages = re.findall(r"<p>(.*?)</p>", response.get_data(as_text=True))
        assert response.status_code == 302, messages
        return client

    return make
