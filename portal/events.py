"""Domain events and the transactional outbox.

A service that changes state and wants something done afterwards (an e-mail, a certificate, a
rebuilt report, a job) emits an event: a row written in the caller's own transaction. Nothing
is sent for a transaction that rolls back, and nothing committed is lost: after the commit the
event is handed to the job engine (portal/jobs.py), and a periodic relay hands over again
whatever was not delivered. Each event has one handler, registered by the domain that owns
the effect; the event row is the handler's idempotency key (a delivery claims the row first).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model

NEW_EVENTS = "portal_new_events"  # session.info key: ids written in this transaction


class EventStatus(enum.StrEnum):
    PENDING = "pending"  # committed, waiting for a worker
    RUNNING = "running"  # claimed by a worker
    RETRYING = "retrying"  # failed, tried again later (exponential backoff)
    DONE = "done"
    FAILED = "failed"  # out of attempts: the dead-letter state, shown to admins


class OutboxEvent(Model):
    """One event to deliver once; rows are kept (done or failed) as the record of side effects."""

    __tablename__ = "outbox_event"
    __table_args__ = (
        CheckConstraint(enum_check("status", EventStatus), name="status_valid"),
        Index("ix_outbox_event_status_id", "status", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[EventStatus] = mapped_column(String(12), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


@dataclass(frozen=True)
class Event:
    """Base of the event types; `kind` names the handler that delivers it."""

    kind: ClassVar[str] = ""


@dataclass(frozen=True)
class MailRequested(Event):
    """An e-mail rendered in the request, sent by a worker (retried while the server is down)."""

    kind: ClassVar[str] = "mail.send"
    to: str
    subject: str
    body: str


@dataclass(frozen=True)
class PledgeActivated(Event):
    """Coverage of a pledge started (a match run was approved)."""

    kind: ClassVar[str] = "pledge.activated"
    pledge_id: int
    actor_id: int | None


@dataclass(frozen=True)
class PledgeCompleted(Event):
    """The last month of a pledge's term was closed."""

    kind: ClassVar[str] = "pledge.completed"
    pledge_id: int
    actor_id: int | None


@dataclass(frozen=True)
class PledgeCoverageCut(Event):
    """Money went back and months were released; the pledge goes on with less (or, when
    `ended`, has nothing left to do)."""

    kind: ClassVar[str] = "pledge.coverage_cut"
    pledge_id: int
    actor_id: int | None
    reason: str
    ended: bool


@dataclass(frozen=True)
class MatchApprovalRequested(Event):
    """A staff member approved a proposal; a worker writes its coverage."""

    kind: ClassVar[str] = "match.approve"
    run_id: int
    actor_id: int | None


@dataclass(frozen=True)
class MonthCloseRequested(Event):
    """Staff closed a month from its page; a worker books it."""

    kind: ClassVar[str] = "month.close"
    month: str  # YYYY-MM-01
    actor_id: int | None


Handler = Callable[[dict[str, Any]], None]
HANDLERS: dict[str, Handler] = {}


def handles(kind: str) -> Callable[[Handler], Handler]:
    """Register the handler of one event kind (one handler per kind)."""

    def register(handler: Handler) -> Handler:
        if kind in HANDLERS and HANDLERS[kind] is not handler:
            raise RuntimeError(f"two handlers for {kind}")
        HANDLERS[kind] = handler
        return handler

    return register


def emit(session: Any, happened: Event) -> OutboxEvent:
    """Write the event in the caller's transaction; it is delivered after the commit."""
    row = OutboxEvent(
        kind=happened.kind,
        payload=asdict(happened),
        status=EventStatus.PENDING,
        attempts=0,
        last_error="",
    )
    session.add(row)
    session.flush()
    session.info.setdefault(NEW_EVENTS, []).append(row.id)
    return row


# After the commit, the job engine hears of the new rows (portal/jobs.py sets the hook).
Notify = Callable[[list[int]], object]
_notify: list[Notify] = []


def on_commit(notify: Notify) -> None:
    _notify[:] = [notify]


@event.listens_for(Session, "after_commit")
def _committed(session: Session) -> None:
    ids = session.info.pop(NEW_EVENTS, [])
    if ids and _notify:
        _notify[0](ids)


@event.listens_for(Session, "after_soft_rollback")
def _rolled_back(session: Session, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:  # the outermost transaction: its rows are gone
        session.info.pop(NEW_EVENTS, None)
