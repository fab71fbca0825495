"""A NIK in two regions: registered in each at most once, active in one at a time, and a
person's month funded once across every region, which the database itself enforces."""

from __future__ import annotations

import multiprocessing
import os
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date

import pytest
from flask_migrate import downgrade, upgrade
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, func, insert, inspect, make_url, select, text
from sqlalchemy.exc import IntegrityError

from config import TestingConfig
from portal import create_app
from portal.auth.models import Role, User
from portal.coverage.city_import import Rejection, import_city_participants
from portal.coverage.models import Coverage
from portal.coverage.services import covered_elsewhere
from portal.extensions import db
from portal.matching import services as matching
from portal.matching.exceptions import StaleProposal
from portal.matching.models import MatchRun, RunStatus
from portal.privacy.services import erase_worker
from portal.reference.models import Category, Kecamatan, Kelurahan
from portal.reference.seed import seed_reference
from portal.regions.scope import all_regions, region_scope
from portal.regions.services import add_region
from portal.workers.elsewhere import active_elsewhere
from portal.workers.exceptions import IllegalStatusChange, RegisteredElsewhere
from portal.workers.importer import import_roster
from portal.workers.models import InactiveReason, Worker, WorkerStatus
from portal.workers.pii import current_cipher
from portal.workers.services import WorkerDetails, change_worker_status, register_worker
from tests import factories
from tests.matching import builders

SEMARANG, KUDUS = "33.74", "33.19"
NIK = "3374011203850001"  # Slamet, born 12 March 1985
OTHER_NIK = "3374045507900002"  # Sri, born 15 July 1990
NIKS = {NIK: (date(1985, 3, 12), "L"), OTHER_NIK: (date(1990, 7, 15), "P")}
MONTH = date(2026, 11, 1)
ROSTER_HEADER = "nik,nama,tanggal_lahir,jenis_kelamin,kategori,kode_kelurahan\n"


@contextmanager
def serving(code: str) -> Iterator[None]:
    """Serve `code`; a session holds one region's rows at a time."""
    db.session.flush()
    db.session.expunge_all()
    with region_scope(code):
        yield
        db.session.flush()
    db.session.expunge_all()


@pytest.fixture
def kudus(app):  # type: ignore[no-untyped-def]
    add_region(KUDUS)
    db.session.flush()
    return KUDUS


@pytest.fixture
def staff(app) -> int:  # type: ignore[no-untyped-def]
    return factories.user(Role.STAFF).id


def _kelurahan(code: str) -> str:
    return db.session.scalars(
        select(Kelurahan.code)
        .join(Kecamatan)
        .where(Kecamatan.region_code == code)
        .order_by(Kelurahan.code)
    ).first()


def _details(nik: str, kelurahan: str) -> WorkerDetails:
    born, sex = NIKS[nik]
    category = db.session.scalar(select(Category.id).where(Category.code == "becak"))
    return WorkerDetails(
        full_name="Pekerja Pindahan",
        birth_date=born,
        sex=sex,
        category_id=category,
        kelurahan_code=kelurahan,
        address="",
        phone=None,
        kpj=None,
        dtsen_decile=None,
        domicile_flag=True,  # lives here now, whatever region issued the NIK
        other_membership=False,
    )


def _register(nik: str, staff: int) -> Worker:
    actor = db.session.get(User, staff)
    return register_worker(nik, _details(nik, _kelurahan(KUDUS)), actor)


def _roster(nik: str) -> bytes:
    born, sex = NIKS[nik]
    line = f"{nik},Pekerja Pindahan,{born:%d/%m/%Y},{sex},becak,{_kelurahan(KUDUS)}\n"
    return (ROSTER_HEADER + line).encode()


def _import(nik: str):  # type: ignore[no-untyped-def]
    return import_roster(
        _roster(nik),
        "roster.csv",
        dry_run=False,
        update_existing=False,
        actor_id=None,
        today=date(2026, 11, 21),
    )


def _move(worker_id: int, staff: int) -> None:
    worker = db.session.get(Worker, worker_id)
    actor = db.session.get(User, staff)
    change_worker_status(worker, WorkerStatus.INACTIVE, actor, "pindah", InactiveReason.MOVED)


def _hash(nik: str) -> str:
    return current_cipher().lookup_hash(nik)


# ------------------------------------------------------------------ registration


def test_kudus_cannot_add_a_nik_active_in_semarang(kudus, staff):
    factories.worker(nik=NIK, full_name="Slamet Riyadi")
    with serving(KUDUS), pytest.raises(RegisteredElsewhere) as refused:
        _register(NIK, staff)
    message = str(refused.value)
    assert "another region (Kota Semarang)" in message
    assert "mark the worker as moved" in message
    assert NIK not in message and "Slamet" not in message
    with all_regions():
        assert db.session.scalar(select(func.count()).select_from(Worker)) == 1


def test_a_kudus_roster_row_of_a_nik_active_in_semarang_is_refused(kudus):
    factories.worker(nik=NIK, status="registered")
    with serving(KUDUS):
        report = _import(NIK)
        assert (report.created, report.rejected) == (0, 1)
        [error] = report.errors
        assert error.column == "nik"
        assert "another region (Kota Semarang)" in error.message.english()
        assert db.session.scalar(select(func.count()).select_from(Worker)) == 0


def test_once_semarang_marks_the_worker_moved_kudus_may_register_the_nik(kudus, staff):
    slamet = factories.worker(nik=NIK)
    sri = factories.worker(nik=OTHER_NIK)
    _move(slamet.id, staff)
    _move(sri.id, staff)
    with serving(KUDUS):
        added = _register(NIK, staff)
        assert added.status == WorkerStatus.REGISTERED and added.region_code == KUDUS
        report = _import(OTHER_NIK)
        assert (report.created, report.rejected) == (1, 0)
    with all_regions():
        regions = db.session.execute(
            select(Worker.region_code, Worker.status).where(Worker.nik_hash == _hash(NIK))
        )
        assert sorted(regions.tuples()) == [(KUDUS, "registered"), (SEMARANG, "inactive")]


def test_semarang_cannot_reactivate_a_worker_now_active_in_kudus(kudus, staff):
    slamet = factories.worker(nik=NIK)
    _move(slamet.id, staff)
    with serving(KUDUS):
        _register(NIK, staff)
    worker = db.session.get(Worker, slamet.id)
    with pytest.raises(IllegalStatusChange, match=r"another region \(Kabupaten Kudus\)"):
        change_worker_status(worker, WorkerStatus.REGISTERED, db.session.get(User, staff), "back")


def test_the_database_keeps_a_nik_active_in_one_region_even_for_raw_rows(kudus):
    slamet = factories.worker(nik=NIK)
    row = {
        c: getattr(slamet, c)
        for c in ("nik_hash", "nik_encrypted", "nik_masked", "full_name", "birth_date", "sex")
    }
    row |= {"category_id": slamet.category_id, "status": "registered", "region_code": KUDUS}
    row["kelurahan_code"] = _kelurahan(KUDUS)
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Worker.__table__).values(row))


# ------------------------------------------------------------------ coverage


def _moved_to_kudus(staff: int) -> tuple[int, int]:
    """Slamet covered in Semarang in MONTH, then moved to Kudus: (Semarang id, Kudus id)."""
    slamet = factories.worker(nik=NIK)
    factories.coverage(slamet, MONTH)
    _move(slamet.id, staff)
    with serving(KUDUS):
        kudus_id = _register(NIK, staff).id
    return slamet.id, kudus_id


def test_the_database_refuses_a_second_region_funding_a_persons_month(kudus, staff):
    _, kudus_id = _moved_to_kudus(staff)
    raw = text(
        "INSERT INTO coverage (worker_id, person_key, month, funder, amount, rule_version,"
        " created_at, region_code) VALUES (:worker, :person, :month, 'apbd', 16800, 1,"
        " CURRENT_TIMESTAMP, :region)"
    )
    with serving(KUDUS):
        with pytest.raises(IntegrityError, match="person"), db.session.begin_nested():
            db.session.execute(
                raw, {"worker": kudus_id, "person": _hash(NIK), "month": MONTH, "region": KUDUS}
            )
        with pytest.raises(IntegrityError), db.session.begin_nested():  # the key is copied
            db.session.add(Coverage(worker_id=kudus_id, month=MONTH, funder="apbd", amount=1))
            db.session.flush()
        db.session.add(
            Coverage(worker_id=kudus_id, month=date(2026, 12, 1), funder="apbd", amount=16_800)
        )
        db.session.flush()
    with all_regions():
        keys = db.session.execute(select(Coverage.person_key, Coverage.month, Coverage.region_code))
        assert sorted(keys.tuples()) == [
            (_hash(NIK), MONTH, SEMARANG),
            (_hash(NIK), date(2026, 12, 1), KUDUS),
        ]


def _eligible_in_kudus(staff: int, *niks: str) -> list[int]:
    actor = db.session.get(User, staff)
    ids = []
    for nik in niks:
        worker = _register(nik, staff)
        change_worker_status(worker, WorkerStatus.ELIGIBLE, actor, "cek")
        ids.append(worker.id)
    return ids


def _kudus_rules(month: date) -> None:
    """An APBD quota for the month; one staff member may approve (as in the suite's region)."""
    builders.rules(city_quotas={str(month.year): {"apbd": 10}}, require_second_approver=False)


def test_matching_in_kudus_skips_a_person_funded_that_month_in_semarang(kudus, staff):
    month = matching.matchable_months()[0]
    slamet = factories.worker(nik=NIK)
    factories.coverage(slamet, month)
    _move(slamet.id, staff)
    with serving(KUDUS):
        _kudus_rules(month)
        slamet_here, sri_here = _eligible_in_kudus(staff, NIK, OTHER_NIK)
        run = matching.propose_run(month, db.session.get(User, staff))
        assert run.summary["covered_elsewhere"] == 1
        assert matching.approve_run(run, None) == 1
        assert run.summary["skipped_elsewhere"] == 0
        assert db.session.scalars(select(Coverage.worker_id)).all() == [sri_here]
        assert slamet_here != sri_here


def test_an_approval_skips_a_person_another_region_funded_since_the_proposal(kudus, staff):
    month = matching.matchable_months()[0]
    slamet = factories.worker(nik=NIK)
    _move(slamet.id, staff)
    with serving(KUDUS):
        _kudus_rules(month)
        _, sri_here = _eligible_in_kudus(staff, NIK, OTHER_NIK)
        run_id = matching.propose_run(month, db.session.get(User, staff)).id
        assert db.session.get(MatchRun, run_id).placed == 2
    factories.coverage(db.session.get(Worker, slamet.id), month)  # Semarang, meanwhile
    with serving(KUDUS):
        run = db.session.get(MatchRun, run_id)
        assert matching.approve_run(run, None) == 1
        assert run.status == RunStatus.APPROVED
        assert run.summary["skipped_elsewhere"] == 1
        assert run.coverage_rows == 1
        assert db.session.scalars(select(Coverage.worker_id)).all() == [sri_here]


def test_a_kudus_city_import_skips_a_person_funded_that_month_in_semarang(kudus, staff):
    slamet = factories.worker(nik=NIK)
    factories.coverage(slamet, MONTH)
    _move(slamet.id, staff)
    with serving(KUDUS):
        _, sri_here = _eligible_in_kudus(staff, NIK, OTHER_NIK)
        data = f"nik\n{NIK}\n{OTHER_NIK}\n".encode()
        report = import_city_participants(data, "apbd", MONTH, 2, None)
        assert report.ok and report.accepted == 1 and report.written == 2
        assert report.skipped_count == 1
        [skipped] = report.skipped
        assert (skipped.row, skipped.reason, skipped.detail) == (
            2,
            Rejection.COVERED_ELSEWHERE,
            ("2026-11",),
        )
        assert set(db.session.scalars(select(Coverage.worker_id))) == {sri_here}


def test_an_erasure_replaces_the_persons_key_on_coverage_too(app):
    slamet = factories.worker(nik=NIK)
    factories.coverage(slamet, MONTH)
    admin = factories.user(Role.ADMIN)
    erase_worker(slamet, admin, "surat permintaan 12/2026")
    key = db.session.scalar(select(Coverage.person_key))
    assert key == slamet.nik_hash != _hash(NIK)


# ------------------------------------------------------------------ property


actions = st.lists(
    st.tuples(
        st.sampled_from(["register", "import", "move", "reactivate", "cover", "raw_cover"]),
        st.sampled_from([SEMARANG, KUDUS]),
        st.sampled_from(sorted(NIKS)),
        st.sampled_from([date(2026, 11, 1), date(2026, 12, 1)]),
    ),
    min_size=1,
    max_size=12,
)


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=actions)
def test_any_sequence_keeps_one_active_nik_and_one_funder_per_person_month(kudus, staff, steps):
    savepoint = db.session.begin_nested()
    try:
        for step in steps:
            _act(staff, *step)
            _check_invariants()
    finally:
        db.session.expunge_all()
        savepoint.rollback()


def _act(staff: int, action: str, code: str, nik: str, month: date) -> None:
    with serving(code):
        worker = db.session.scalar(select(Worker).where(Worker.nik_hash == _hash(nik)))
        actor = db.session.get(User, staff)
        try:
            with db.session.begin_nested():
                _step(action, worker, actor, nik, code, month)
        except (RegisteredElsewhere, IllegalStatusChange, IntegrityError):
            pass  # refused: the invariants must hold all the same


def _step(action: str, worker: Worker | None, actor: User, nik: str, code: str, month: date):  # type: ignore[no-untyped-def]
    if action == "register" and worker is None:
        registered = register_worker(nik, _details(nik, _kelurahan(code)), actor)
        change_worker_status(registered, WorkerStatus.ELIGIBLE, actor, "cek")
    elif action == "import" and worker is None:
        born, sex = NIKS[nik]
        line = f"{nik},Pekerja,{born:%d/%m/%Y},{sex},becak,{_kelurahan(code)}\n"
        import_roster(
            (ROSTER_HEADER + line).encode(),
            "r.csv",
            dry_run=False,
            update_existing=False,
            actor_id=None,
            today=date(2026, 11, 21),
        )
    elif action == "move" and worker is not None and worker.status != WorkerStatus.INACTIVE:
        change_worker_status(worker, WorkerStatus.INACTIVE, actor, "pindah", InactiveReason.MOVED)
    elif action == "reactivate" and worker is not None and worker.status == "inactive":
        change_worker_status(worker, WorkerStatus.REGISTERED, actor, "kembali")
    elif action == "cover":
        import_city_participants(f"nik\n{nik}\n".encode(), "apbd", month, 1, None)
    elif action == "raw_cover" and worker is not None:  # a writer that checks nothing
        db.session.add(Coverage(worker_id=worker.id, month=month, funder="apbd", amount=1))
        db.session.flush()


def _check_invariants() -> None:
    with all_regions():
        funded_twice = db.session.execute(
            select(Coverage.person_key, Coverage.month)
            .group_by(Coverage.person_key, Coverage.month)
            .having(func.count() > 1)
        ).all()
        active_twice = db.session.execute(
            select(Worker.nik_hash)
            .where(Worker.status != WorkerStatus.INACTIVE)
            .group_by(Worker.nik_hash)
            .having(func.count() > 1)
        ).all()
        unkeyed = db.session.scalar(
            select(func.count())
            .select_from(Coverage)
            .join(Worker, Worker.id == Coverage.worker_id)
            .where(Coverage.person_key != Worker.nik_hash)
        )
    assert funded_twice == [] and active_twice == [] and unkeyed == 0


# ------------------------------------------------------------------ concurrency


def _settings(url: str) -> TestingConfig:
    settings = TestingConfig()
    settings.SQLALCHEMY_DATABASE_URI = url
    return settings


# Semarang's write stands for any of its writers that read the worker before the move (an
# approval of an older proposal); without the skip Kudus's approval would go stale.
def _prepare_race() -> tuple[int, int]:
    """Slamet moved from Semarang to Kudus, and a Kudus proposal placing him and Sri this
    month, committed. Returns (Semarang's worker id, the Kudus run id)."""
    db.create_all()
    seed_reference()
    add_region(KUDUS)
    staff = factories.user(Role.STAFF).id
    month = matching.matchable_months()[0]
    slamet = factories.worker(nik=NIK)
    _move(slamet.id, staff)
    with serving(KUDUS):
        _kudus_rules(month)
        _eligible_in_kudus(staff, NIK, OTHER_NIK)
        run = matching.propose_run(month, db.session.get(User, staff))
        assert run.placed == 2
        run_id = run.id
    db.session.commit()
    return slamet.id, run_id


def cover_in_semarang(url: str, worker_id: int, written, results) -> None:  # type: ignore[no-untyped-def]
    """One process: Semarang writes the person's month and holds it uncommitted a moment."""
    app = create_app(_settings(url))
    with app.app_context():
        month = matching.matchable_months()[0]
        db.session.get(Worker, worker_id)  # connected and mapped before the race
        db.session.rollback()
        try:
            db.session.add(Coverage(worker_id=worker_id, month=month, funder="apbd", amount=1))
            db.session.flush()
            written.set()
            time.sleep(1.5)  # Kudus's approval runs into the uncommitted row meanwhile
            db.session.commit()
            results.put(("semarang", "covered"))
        except IntegrityError:
            db.session.rollback()
            results.put(("semarang", "refused"))
        finally:
            written.set()
            db.session.remove()
            db.engine.dispose()


def approve_in_kudus(url: str, run_id: int, written, results) -> None:  # type: ignore[no-untyped-def]
    """The other: Kudus approves its proposal while Semarang's row is not yet committed."""
    app = create_app(_settings(url))
    with app.app_context(), region_scope(KUDUS):
        db.session.get(MatchRun, run_id)  # connected and mapped before the race
        db.session.rollback()
        written.wait(timeout=60)
        try:
            rows = matching.approve_run(db.session.get(MatchRun, run_id), None)
            db.session.commit()
            results.put(("kudus", rows))
        except StaleProposal:
            db.session.rollback()
            results.put(("kudus", "stale"))
        finally:
            db.session.remove()
            db.engine.dispose()


@pytest.mark.own_database
def test_two_regions_funding_one_person_month_at_once_one_wins(fresh_database_url):
    url = fresh_database_url
    app = create_app(_settings(url))
    with app.app_context():
        semarang_worker, run_id = _prepare_race()
        db.session.remove()
        db.engine.dispose()
    context = multiprocessing.get_context("spawn")
    written, results = context.Event(), context.Queue()
    processes = [
        context.Process(target=cover_in_semarang, args=(url, semarang_worker, written, results)),
        context.Process(target=approve_in_kudus, args=(url, run_id, written, results)),
    ]
    for process in processes:
        process.start()
    outcomes = dict(results.get(timeout=120) for _ in processes)
    for process in processes:
        process.join(timeout=60)
    results.close()
    results.join_thread()

    assert outcomes == {"semarang": "covered", "kudus": 1}
    with app.app_context(), all_regions():
        month = matching.matchable_months()[0]
        rows = db.session.execute(
            select(Coverage.region_code, Coverage.person_key).where(Coverage.month == month)
        ).all()
        assert sorted(rows) == sorted(
            [
                (SEMARANG, current_cipher().lookup_hash(NIK)),
                (KUDUS, current_cipher().lookup_hash(OTHER_NIK)),
            ]
        )
        run = db.session.get(MatchRun, run_id)
        assert run.status == RunStatus.APPROVED and run.summary["skipped_elsewhere"] == 1
        db.session.remove()
        db.engine.dispose()


# ------------------------------------------------------------------ row-level security

SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.fixture
def postgresql() -> Iterator[str]:
    """A new, empty database on the machine's PostgreSQL, whatever database the suite runs
    on (on SQLite, batch migrations cannot copy tables that other rows point at)."""
    base = make_url(os.environ.get("TEST_DATABASE_URL") or SERVER)
    if base.get_backend_name() != "postgresql":
        base = make_url(SERVER)
    name = f"pijar_nik_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield base.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture
def postgresql_with_role(postgresql: str) -> Iterator[tuple[str, str]]:
    """That database migrated to head, and a login role without BYPASSRLS: (owner's URL,
    role's URL)."""
    role = f"pijar_nik_{uuid.uuid4().hex[:8]}"
    app = create_app(_settings(postgresql))
    with app.app_context():
        upgrade()
        with db.engine.begin() as conn:
            conn.execute(text(f"CREATE ROLE {role} LOGIN NOBYPASSRLS"))
            conn.execute(text(f"GRANT ALL ON ALL TABLES IN SCHEMA public TO {role}"))
            conn.execute(text(f"GRANT ALL ON ALL SEQUENCES IN SCHEMA public TO {role}"))
        db.engine.dispose()
    try:
        yield (
            postgresql,
            make_url(postgresql).set(username=role).render_as_string(hide_password=False),
        )
    finally:
        admin = create_engine(make_url(postgresql), isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f"DROP OWNED BY {role}"))
            conn.execute(text(f"DROP ROLE {role}"))
        admin.dispose()


@pytest.mark.own_database
def test_the_checks_read_other_regions_through_row_level_security(postgresql_with_role):
    owner, restricted = postgresql_with_role
    app = create_app(_settings(owner))
    with app.app_context():
        seed_reference()
        add_region(KUDUS)
        staff = factories.user(Role.STAFF).id
        slamet = factories.worker(nik=NIK)
        factories.coverage(slamet, MONTH)
        factories.worker(nik=OTHER_NIK)
        _move(slamet.id, staff)
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    app = create_app(_settings(restricted))  # row-level security applies to this role
    with app.app_context(), region_scope(KUDUS):
        try:
            narrow = select(Worker.id).execution_options(all_regions=True)
            assert db.session.scalars(narrow).all() == []  # the database hides Semarang
            assert active_elsewhere([_hash(NIK), _hash(OTHER_NIK)]) == {
                _hash(OTHER_NIK): "Kota Semarang"
            }
            kudus_id = _register(NIK, staff).id
            assert covered_elsewhere(MONTH) == {kudus_id: {MONTH}}
            db.session.commit()
        finally:
            db.session.remove()
            db.engine.dispose()


# ------------------------------------------------------------------ migration


@pytest.mark.own_database
def test_the_migration_keys_existing_coverage_by_its_worker_and_downgrades(postgresql):
    app = create_app(_settings(postgresql))
    with app.app_context():
        try:
            upgrade(revision="6b1d3f5a7c92")
            seed_reference()
            db.session.commit()
            worker = (
                "INSERT INTO worker (id, nik_hash, nik_encrypted, nik_masked, full_name,"
                " birth_date, sex, category_id, kelurahan_code, registered_on, status,"
                " created_at, region_code) SELECT :id, :hash, 'x', 'x', 'Uji', '1985-03-12',"
                " 'L', min(id), '33.74.01.1001', '2026-01-01', :status, CURRENT_TIMESTAMP,"
                " :region FROM category"
            )
            with db.engine.begin() as conn:
                conn.execute(
                    text(worker), {"id": 1, "hash": "h1", "status": "eligible", "region": SEMARANG}
                )
                conn.execute(
                    text(
                        "INSERT INTO coverage (worker_id, month, funder, amount, rule_version,"
                        " created_at, region_code) VALUES (1, '2026-11-01', 'apbd', 16800, 1,"
                        " CURRENT_TIMESTAMP, '33.74')"
                    )
                )
            upgrade()
            with db.engine.connect() as conn:
                keys = conn.execute(text("SELECT person_key FROM coverage")).scalars().all()
            assert keys == ["h1"]
            with db.engine.begin() as conn:
                conn.execute(
                    text(
                        "INSERT INTO region (code, name, regulation, bank_name,"
                        " bank_account_number, bank_account_name, mail_sender, created_at)"
                        " VALUES ('33.19', 'Kabupaten Kudus', '', '', '', '', '',"
                        " CURRENT_TIMESTAMP)"
                    )
                )
                conn.execute(
                    text("UPDATE worker SET status = 'inactive', inactive_reason = 'moved'")
                )
                conn.execute(
                    text(worker), {"id": 2, "hash": "h1", "status": "registered", "region": KUDUS}
                )
            with pytest.raises(SystemExit):  # a NIK in two regions: the old schema cannot
                downgrade(revision="6b1d3f5a7c92")
            with db.engine.begin() as conn:
                conn.execute(text("DELETE FROM worker WHERE id = 2"))
            downgrade(revision="6b1d3f5a7c92")
            with db.engine.connect() as conn:
                columns = {c["name"] for c in inspect(conn).get_columns("coverage")}
            assert "person_key" not in columns
        finally:
            db.session.remove()
            db.engine.dispose()
