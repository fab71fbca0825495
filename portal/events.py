"""Domain events and the transactional outbox.

A service that changes state and wants something done afterwards (an e-mail, a certificate, a
rebuilt report, a job) emits an event: a row written in the caller's own transaction. Nothing
is sent for a transaction that rolls back, and nothing committed is lost: after the commit the
event is handed to the job engine (portal/jobs.py), and a periodic relay hands over again
whatever was not delivered. Domains subscribe to the events they care about; an event is
written as one row per subscriber, so each subscriber's effect is delivered, retried and
dead-lettered on its own, and the row is that delivery's idempotency key (a delivery claims
the row first). A row may name its subject (`match_run:12`, `month:2026-12`), so a page can
show the progress of everything that followed one action.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, CheckConstraint, Index, Integer, String, Text, event, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from portal.db import UTCDateTime, enum_check, utcnow
from portal.extensions import Model, db
from portal.regions.scope import current_region

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
        Index("ix_outbox_event_subject_kind", "subject", "kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    handler: Mapped[str] = mapped_column(String(60), default="", server_default="")
    subject: Mapped[str] = mapped_column(String(60), default="", server_default="")
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[EventStatus] = mapped_column(String(12), default=EventStatus.PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    enqueued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The region the event happened in; its handler runs in that region's scope.
    region_code: Mapped[str] = mapped_column(String(5), default=current_region)


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
class WorkerStatusChanged(Event):
    """A worker's status changed (staff, a death claim); coverage follows rule R7."""

    kind: ClassVar[str] = "worker.status_changed"
    worker_id: int
    status: str
    actor_id: int | None


@dataclass(frozen=True)
class MatchProposalRequested(Event):
    """A staff member asked for a proposal; a worker places the waiting list."""

    kind: ClassVar[str] = "match.propose"
    run_id: int
    actor_id: int | None


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
# kind -> subscriber name -> handler; the subscriber is the owning domain (`certificates`).
HANDLERS: dict[str, dict[str, Handler]] = {}


def handles(kind: str, name: str | None = None) -> Callable[[Handler], Handler]:
    """Subscribe a handler to one event kind: one subscriber per domain and kind."""

    def register(handler: Handler) -> Handler:
        subscriber = name or _domain_of(handler)
        found = HANDLERS.setdefault(kind, {})
        if subscriber in found and found[subscriber] is not handler:
            raise RuntimeError(f"{subscriber} subscribes twice to {kind}")
        found[subscriber] = handler
        return handler

    return register


def _domain_of(handler: Handler) -> str:
    parts = handler.__module__.split(".")
    return parts[1] if len(parts) > 1 else parts[0]


def handler_for(kind: str, subscriber: str) -> Handler:
    """The handler of one delivery; a row written before subscribers were named ("") goes
    to the kind's only subscriber. Raises LookupError."""
    found = HANDLERS.get(kind, {})
    if subscriber in found:
        return found[subscriber]
    if not subscriber and len(found) == 1:
        return next(iter(found.values()))
    raise LookupError(f"no handler {subscriber or '?'} for {kind}")


def emit(session: Any, happened: Event, subject: str = "") -> list[OutboxEvent]:
    """Write the event in the caller's transaction, a row per subscriber; each is delivered
    after the commit. An event nobody subscribes to is still written (and dead-lettered as
    undeliverable, for an admin to see) rather than dropped."""
    rows = [
        OutboxEvent(
            kind=happened.kind,
            handler=subscriber,
            subject=subject[:60],
            payload=asdict(happened),
            status=EventStatus.PENDING,
            attempts=0,
            last_error="",
        )
        for subscriber in sorted(HANDLERS.get(happened.kind, {})) or [""]
    ]
    session.add_all(rows)
    session.flush()
    session.info.setdefault(NEW_EVENTS, []).extend(row.id for row in rows)
    return rows


def outcomes(subject: str) -> dict[tuple[str, str], dict[str, int]]:
    """What followed one action: (kind, subscriber) -> status -> count, for its page."""
    found: dict[tuple[str, str], dict[str, int]] = {}
    rows = db.session.execute(
        select(OutboxEvent.kind, OutboxEvent.handler, OutboxEvent.status, func.count())
        .where(OutboxEvent.subject == subject)
        .group_by(OutboxEvent.kind, OutboxEvent.handler, OutboxEvent.status)
    )
    for kind, handler, status, count in rows:
        found.setdefault((str(kind), str(handler)), {})[str(status)] = int(count)
    return found


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
