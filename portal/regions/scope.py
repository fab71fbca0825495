"""Which region the current request, job or command acts in, and the one mechanism that keeps
every query to it.

Rows that belong to a region inherit `RegionOwned` (a `region_code` column, filled from the
scope when a row is made). Every ORM SELECT, UPDATE and DELETE the session runs is given
`region_code = <the scope's region>` for each such table it touches (`with_loader_criteria`,
added in one `do_orm_execute` hook), so a query written without a region filter still keeps
to its region. On PostgreSQL, row-level security policies on the same tables check the
`pijar.region` setting, which every transaction sets from the scope: SQL that goes around the
ORM (text, COPY) keeps to the region too when the portal connects as a role without BYPASSRLS.

A session serves one region at a time: an object it loaded or made stays in its identity map
(`Session.get` returns it without asking the database), so code that switches regions inside
one session expunges first. The scope is Kota Semarang (33.74) unless a block says otherwise:

    with region_scope("33.19"):
        ...  # reads and writes of Kabupaten Kudus
    with all_regions():
        ...  # the programme's own totals, across regions
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from typing import Any

from flask import g
from sqlalchemy import ForeignKey, String, event, select, text
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, with_loader_criteria

from portal.extensions import Model, db
from portal.regions.models import SEMARANG, Region

ALL = "*"  # the setting of a scope that reads every region
_scope: ContextVar[str] = ContextVar("region_scope", default=SEMARANG)


def current_region() -> str:
    """The code of the region being served (ALL inside `all_regions()`)."""
    return _scope.get()


def region_for_new_row() -> str:
    code = _scope.get()
    if code == ALL:
        raise RuntimeError("a row made across all regions must name its region_code")
    return code


def enter_region(code: str) -> Token[str]:
    """Serve `code` until `leave_region` (a request of a region's staff member)."""
    token = _scope.set(code)
    _set_database_region(code)
    return token


def leave_region(token: Token[str]) -> None:
    _scope.reset(token)
    _set_database_region(_scope.get())


def serve_region(code: str) -> None:
    """Serve `code` for the rest of the request (a sponsor's request, national until it acts
    on a pledge, narrows to the pledge's region); `leave_served_regions` ends it."""
    g.setdefault("region_tokens", []).append(enter_region(code))


def leave_served_regions() -> None:
    for token in reversed(g.pop("region_tokens", [])):
        leave_region(token)


@contextmanager
def region_scope(code: str) -> Iterator[None]:
    """Reads and writes inside the block belong to the region `code`."""
    token = _scope.set(code)
    try:
        _set_database_region(code)
        yield
    finally:
        _scope.reset(token)
        _set_database_region(_scope.get())


@contextmanager
def all_regions() -> Iterator[None]:
    """Reads across every region (national figures, scheduled work that visits each region)."""
    with region_scope(ALL):
        yield


@contextmanager
def serving(code: str) -> Iterator[None]:
    """`region_scope` for a command or job of its own: the session is emptied when the region
    changes, as a session serves one region at a time."""
    if code == current_region():
        yield
        return
    db.session.flush()  # a new row takes the region in scope when it is flushed
    db.session.expunge_all()
    try:
        with region_scope(code):
            yield
            db.session.flush()
    finally:
        db.session.expunge_all()


def each_region() -> Iterator[Region]:
    """Every region by code, the loop's body served in it: for work that is national by
    nature (scheduled jobs, commands that visit every region, one at a time)."""
    for code in db.session.scalars(select(Region.code).order_by(Region.code)).all():
        with serving(code):
            yield db.session.get_one(Region, code)


def read_across_regions(
    stmt: Any, column: Any = None, values: Collection[Any] | None = None, batch: int = 2_000
) -> list[Any]:
    """The rows of `stmt` read across every region (and, given `column`, only those whose
    `column` is one of `values`, `batch` values a query), for the rare checks that must see
    other regions' rows: the scope widens for these selects alone, so that row-level security
    on PostgreSQL lets them through. Rows made in the region served are flushed first, to
    take its code before the scope widens."""
    wanted = None if values is None else list(values)
    db.session.flush()
    with all_regions():
        if column is None or wanted is None:
            return list(db.session.execute(stmt))
        return [
            row
            for start in range(0, len(wanted), batch)
            for row in db.session.execute(stmt.where(column.in_(wanted[start : start + batch])))
        ]


class RegionOwned:
    """A row that belongs to exactly one region."""

    region_code: Mapped[str] = mapped_column(
        String(5), ForeignKey("region.code"), index=True, default=region_for_new_row
    )


def kecamatan_in_region(code: str | None = None) -> Any:
    """A WHERE clause keeping kecamatan (and, joined, their desa/kelurahan) to a region.

    The column is found through the metadata: reference models are region-owned and import
    this module, so it cannot import them."""
    kecamatan = Model.metadata.tables["kecamatan"]
    return kecamatan.c.region_code == (code or current_region())


@event.listens_for(Session, "do_orm_execute")
def _keep_to_region(state: ORMExecuteState) -> None:
    if not (state.is_select or state.is_update or state.is_delete):
        return
    code = _scope.get()
    if code == ALL or state.execution_options.get("all_regions", False):
        return
    state.statement = state.statement.options(
        with_loader_criteria(
            RegionOwned,
            lambda cls: cls.region_code == code,
            include_aliases=True,
            track_closure_variables=True,
        )
    )


@event.listens_for(Session, "after_begin")
def _tell_the_database(session: Session, transaction: Any, connection: Any) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT set_config('pijar.region', :code, true)"), {"code": _scope.get()}
        )


def _set_database_region(code: str) -> None:
    """The open transaction's setting follows a scope entered or left inside it."""
    try:
        session = db.session()
        postgresql = session.get_bind().dialect.name == "postgresql"
    except RuntimeError:  # no application context: nothing open to tell
        return
    transaction = session.get_transaction()
    if not (postgresql and transaction is not None and transaction.is_active):
        return
    connection = session.connection()
    if _aborted(connection):
        # A statement failed (a duplicate key the caller expects): the transaction runs
        # nothing more until it is rolled back, which ends its setting with it; the next one
        # takes the scope's region when it begins.
        return
    connection.execute(text("SELECT set_config('pijar.region', :code, true)"), {"code": code})


def _aborted(connection: Any) -> bool:
    """Whether the PostgreSQL transaction of `connection` has failed (psycopg's status)."""
    info = getattr(connection.connection.dbapi_connection, "info", None)
    status = getattr(info, "transaction_status", None)
    return status is not None and status.name == "INERROR"
