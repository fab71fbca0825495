"""Declarative base with a constraint naming convention, shared column types and SQLite fixes."""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

from flask import g, has_request_context, session
from sqlalchemy import Connection, DateTime, Engine, MetaData, event, text
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Every model inherits the naming convention so migrations name constraints stably."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Timezone-aware now in UTC; the one clock the models use."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator):
    """Stores UTC datetimes and always returns them timezone-aware (SQLite drops the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):  # type: ignore[no-untyped-def]
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


def enum_check(column: str, enum_cls: type[enum.StrEnum]) -> str:
    """SQL for a check constraint limiting a column to an enum's values."""
    values = ", ".join(f"'{member.value}'" for member in enum_cls)
    return f"{column} IN ({values})"


@event.listens_for(Engine, "connect")
def _sqlite_on_connect(dbapi_connection, connection_record):  # type: ignore[no-untyped-def]
    """Let SQLAlchemy drive SQLite transactions (savepoints), enforce foreign keys, and let
    readers work while one writer writes (WAL), waiting for a busy writer instead of failing."""
    if type(dbapi_connection).__module__ != "sqlite3":
        return
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # WAL's recommended setting: no fsync per commit
    cursor.close()


@event.listens_for(Engine, "begin")
def _sqlite_on_begin(conn):  # type: ignore[no-untyped-def]
    """IMMEDIATE takes the write lock up front: SQLite cannot upgrade a reading transaction to
    a writing one while another writer is active, and would fail instead of waiting. A
    read-only request (see read_only) begins deferred: a snapshot that neither waits for nor
    holds up anyone."""
    if conn.dialect.name == "sqlite":
        conn.exec_driver_sql("BEGIN" if reading_only() else "BEGIN IMMEDIATE")


V = TypeVar("V", bound=Callable[..., Any])
READ_ONLY = "portal_read_only"
SESSION_TOUCH_SECONDS = 60  # how often a session's last activity is written (auth.services)


def read_only(view: V) -> V:
    """Mark a view that never writes, so that its GET requests only read (on SQLite, without
    the write lock that would make every other request wait for this one)."""
    setattr(view, READ_ONLY, True)
    return view


def start_request(view: Any, method: str) -> None:
    """Decide, before the first query, whether this request only reads: a read-only view's
    GET, unless the signed-in session is due for its activity to be recorded."""
    touch_due = "_user_id" in session and (
        time.time() - session.get("seen_at", 0) > SESSION_TOUCH_SECONDS
    )
    g.read_only = method in ("GET", "HEAD") and getattr(view, READ_ONLY, False) and not touch_due


def reading_only() -> bool:
    return has_request_context() and bool(g.get("read_only"))


def session_seen(last_seen: datetime) -> None:
    """Mirror the session's recorded activity in the signed session cookie, so that the next
    request knows before any query whether it is due to be written again."""
    stamp = int(last_seen.timestamp())
    if has_request_context() and session.get("seen_at") != stamp:
        session["seen_at"] = stamp


def sync_sequences(connection: Connection) -> int:
    """On PostgreSQL, move every table's id sequence past the largest id (rows inserted with
    explicit ids, as the demo data is, leave the sequence behind, and the next insert would
    collide). Elsewhere nothing to do. Returns how many sequences were set."""
    if connection.dialect.name != "postgresql":
        return 0
    moved = 0
    for table in Base.metadata.sorted_tables:
        column = table.c.get("id")
        if column is None or not column.primary_key or not column.autoincrement:
            continue
        sequence = connection.scalar(
            text("SELECT pg_get_serial_sequence(:table, 'id')"), {"table": table.name}
        )
        if sequence is None:
            continue
        connection.execute(
            text(
                f"SELECT setval(:sequence, COALESCE(MAX(id), 1), MAX(id) IS NOT NULL) "  # noqa: S608 - a table of our metadata
                f'FROM "{table.name}"'
            ),
            {"sequence": sequence},
        )
        moved += 1
    return moved
