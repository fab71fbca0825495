"""The job engine: Huey, fed by the outbox, with scheduled jobs run once per period.

Huey runs the same tasks on three brokers: SQLite (the embedded default: a file under
instance/, so `make run` needs no server), Redis (production, and the test suite in CI) and
memory (the test suite on a laptop). Workers are separate processes (`flask jobs work`); every
task runs in an app context of the worker's app.

Delivery of an event: the worker claims the event row (a conditional update), runs its handler
and marks it done, all committed; a failure is retried with exponential backoff and, out of
attempts, left `failed` (the dead-letter state) for an admin to retry. A worker killed in the
middle leaves the row `running`; the relay hands it over again once it is older than
STALE_AFTER. Nothing is handed to Huey for a transaction that rolled back (the hand-over runs
after commit), and anything committed but not handed over (broker down, process killed) is
handed over by the relay, which runs every minute.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, has_app_context
from huey import MemoryHuey, RedisHuey, SqliteHuey, crontab
from huey.api import Huey
from sqlalchemy import func, or_, select, update

from config import INSTANCE_DIR
from portal.db import utcnow
from portal.events import EventStatus, OutboxEvent, handler_for, on_commit, outcomes
from portal.extensions import db
from portal.regions.scope import region_scope

MAX_ATTEMPTS = 8  # first try and 7 retries: 2 s, 4 s, ... about 4 minutes in all
RETRY_DELAY = 2
# A running delivery older than this lost its worker (a job that may take longer must save
# its progress and be safe to resume).
STALE_AFTER = timedelta(seconds=int(os.environ.get("JOBS_STALE_SECONDS", "300")))
RELAY_GRACE = timedelta(minutes=1)  # the after-commit hand-over has surely happened by then
MAX_BACKOFF = timedelta(seconds=RETRY_DELAY * 2 ** (MAX_ATTEMPTS - 1))
RELAY_BATCH = 1_000
BATCH = 100  # events per delivery task: one claim statement, one broker round trip


def build_huey(broker: str | None = None) -> Huey:
    """The Huey of the configured broker (JOBS_BROKER: sqlite, redis or memory)."""
    broker = broker or os.environ.get("JOBS_BROKER") or _default_broker()
    name = os.environ.get("JOBS_NAME", "pijar")
    if broker == "redis":
        return RedisHuey(name, url=os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0"))
    if broker == "sqlite":
        path = os.environ.get("JOBS_SQLITE_PATH") or str(INSTANCE_DIR / "jobs.db")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        return SqliteHuey(name, filename=path)
    if broker == "memory":
        return MemoryHuey(name)
    raise RuntimeError(f"JOBS_BROKER must be sqlite, redis or memory, not {broker!r}")


def _default_broker() -> str:
    env = os.environ.get("PORTAL_ENV", "development")
    return {"testing": "memory", "production": "redis"}.get(env, "sqlite")


huey = build_huey()
log = logging.getLogger(__name__)

# The app tasks run in when no app context is active (a worker process sets it at start).
_apps: list[Flask] = []


def use_app(app: Flask) -> None:
    _apps[:] = [app]


def in_app(run: Callable[[], Any]) -> Any:
    """Run in the current app context, or in the worker's app (`flask jobs work` sets it)."""
    if has_app_context():
        return run()
    if not _apps:
        raise RuntimeError("no app for jobs: run workers with `flask --app portal jobs work`")
    with _apps[0].app_context():
        try:
            return run()
        finally:
            db.session.remove()


# Handing events to Huey --------------------------------------------------------------------


def hand_over(event_ids: list[int]) -> bool:
    """Enqueue the deliveries of committed events, a batch per task (runs after commit: no SQL
    here); a broker failure leaves them to the relay. Returns whether the broker took them."""
    try:
        for start in range(0, len(event_ids), BATCH):
            deliver_events(event_ids[start : start + BATCH])
    except Exception:  # noqa: BLE001 - the relay hands them over later; the commit stands
        log.warning("job broker unreachable; %d event(s) left to the relay", len(event_ids))
        return False
    return True


@huey.task()
def deliver_events(event_ids: list[int]) -> list[str]:
    """Deliver each event once; one that fails is retried on its own after a backoff."""
    return list(in_app(lambda: _deliver(event_ids)))


def _deliver(event_ids: list[int]) -> list[str]:
    claimed = _claim(event_ids)
    started = time.monotonic()
    outcomes = []
    for index, (event_id, kind, subscriber, payload, attempts, region) in enumerate(claimed):
        if index and time.monotonic() - started > STALE_AFTER.total_seconds() / 2:
            # A slow batch hands the rest back before its claim looks stale to the relay
            # (which would let a second worker deliver them too).
            _release([row[0] for row in claimed[index:]])
            break
        db.session.expunge_all()  # a session serves one region at a time (regions.scope)
        try:
            with region_scope(region):
                handler_for(kind, subscriber)(dict(payload))
        except Exception as error:  # noqa: BLE001 - recorded, then retried or dead-lettered
            db.session.rollback()
            outcomes.append(_failed(event_id, attempts, error))
            continue
        _finish(event_id, EventStatus.DONE, "")
        outcomes.append("done")
    return outcomes


def _release(event_ids: list[int]) -> None:
    """Give claimed events back untried, and queue them again."""
    db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id.in_(event_ids), OutboxEvent.status == EventStatus.RUNNING)
        .values(status=EventStatus.PENDING, attempts=OutboxEvent.attempts - 1)
    )
    db.session.commit()
    hand_over(event_ids)


def _claim(event_ids: list[int]) -> list[tuple[int, str, str, Any, int, str]]:
    """Take the events that are due (done, running elsewhere or rolled back are not), in one
    committed statement, so no other worker delivers them meanwhile."""
    now = utcnow()
    claimed = db.session.execute(
        update(OutboxEvent)
        .where(
            OutboxEvent.id.in_(event_ids),
            or_(
                OutboxEvent.status.in_([EventStatus.PENDING, EventStatus.RETRYING]),
                (OutboxEvent.status == EventStatus.RUNNING)
                & (OutboxEvent.started_at < now - STALE_AFTER),
            ),
        )
        .values(status=EventStatus.RUNNING, started_at=now, attempts=OutboxEvent.attempts + 1)
        .returning(
            OutboxEvent.id,
            OutboxEvent.kind,
            OutboxEvent.handler,
            OutboxEvent.payload,
            OutboxEvent.attempts,
            OutboxEvent.region_code,
        ),
        execution_options={"synchronize_session": False},
    ).all()
    db.session.commit()
    return sorted((int(i), str(k), str(h), p, int(a), str(r)) for i, k, h, p, a, r in claimed)


def _failed(event_id: int, attempts: int, error: Exception) -> str:
    """Out of attempts: dead-lettered. Otherwise retried alone after 2, 4, 8, ... seconds."""
    message = "".join(traceback.format_exception_only(error)).strip()[:2000]
    if attempts >= MAX_ATTEMPTS:
        _finish(event_id, EventStatus.FAILED, message)
        return "failed"
    _finish(event_id, EventStatus.RETRYING, message)
    deliver_events.schedule(args=([event_id],), delay=RETRY_DELAY * 2 ** (attempts - 1))
    return "retrying"


def _finish(event_id: int, status: EventStatus, error: str) -> None:
    db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id)
        .values(status=status, last_error=error, finished_at=utcnow())
    )
    db.session.commit()


# The relay ---------------------------------------------------------------------------------


@huey.periodic_task(crontab(minute="*"))
def relay_task() -> int:
    return int(in_app(relay))


def relay(now: datetime | None = None, force: bool = False) -> int:
    """Hand over committed events that are not on their way: pending for longer than a
    hand-over takes, retrying well past their backoff, or running on a worker that is gone.
    A second hand-over of one on its way is harmless (the delivery claims the row). Returns
    how many were handed over."""
    now = now or utcnow()
    if force:  # everything pending, now (an admin's retry, `jobs work --burst`)
        now += STALE_AFTER + RELAY_GRACE
    due = list(
        db.session.scalars(
            select(OutboxEvent.id)
            .where(
                or_(
                    (OutboxEvent.status == EventStatus.PENDING)
                    & or_(
                        OutboxEvent.enqueued_at.is_(None),
                        OutboxEvent.enqueued_at < now - STALE_AFTER,
                    )
                    & (OutboxEvent.created_at < now - RELAY_GRACE),
                    (OutboxEvent.status == EventStatus.RETRYING)
                    & (OutboxEvent.finished_at < now - MAX_BACKOFF - STALE_AFTER),
                    (OutboxEvent.status == EventStatus.RUNNING)
                    & (OutboxEvent.started_at < now - STALE_AFTER),
                )
            )
            .order_by(OutboxEvent.id)
            .limit(RELAY_BATCH)
        )
    )
    if due and hand_over(due):
        db.session.execute(
            update(OutboxEvent).where(OutboxEvent.id.in_(due)).values(enqueued_at=now)
        )
    db.session.commit()
    return len(due)


# Progress of long jobs ----------------------------------------------------------------------


def _progress_key(subject: str) -> str:
    return f"progress:{subject}"


def set_progress(subject: str, done: int, total: int) -> None:
    """Live progress of a long job, kept in the engine's key-value store: every process sees
    it, while the job's own database transaction is not committed yet. Best effort: a broker
    hiccup never fails the job."""
    try:
        huey.put(_progress_key(subject), (int(done), int(total)))
    except Exception:  # noqa: BLE001 - progress is a courtesy; the job goes on
        log.warning("progress of %s not saved", subject)


def progress_of(subject: str) -> tuple[int, int] | None:
    """(done, total) last reported for the subject, or None."""
    try:
        found = huey.get(_progress_key(subject), peek=True)
    except Exception:  # noqa: BLE001 - the page shows no live figure instead
        return None
    return (int(found[0]), int(found[1])) if found else None


def clear_progress(subject: str) -> None:
    with contextlib.suppress(Exception):
        huey.get(_progress_key(subject))  # reading without peek removes it


@dataclass(frozen=True)
class Work:
    """What followed one action (a run asked for, a month closed), for its page."""

    live: tuple[int, int] | None  # (done, total) of the job running now
    outcomes: dict[tuple[str, str], dict[str, int]]  # (kind, subscriber) -> status -> count

    def counts(self, kind: str, subscriber: str | None = None) -> dict[str, int]:
        found: dict[str, int] = {}
        for (row_kind, row_subscriber), statuses in self.outcomes.items():
            if row_kind == kind and subscriber in (None, row_subscriber):
                for status, count in statuses.items():
                    found[status] = found.get(status, 0) + count
        return found

    def state(self, kind: str) -> str:
        """'' (never asked), 'failed' (dead-lettered: an admin retries it), 'busy' or 'done'."""
        counts = self.counts(kind)
        if not counts:
            return ""
        if counts.get(EventStatus.FAILED):
            return "failed"
        if sum(counts.values()) > counts.get(EventStatus.DONE, 0):
            return "busy"
        return "done"

    def done_of(self, kind: str, subscriber: str) -> tuple[int, int]:
        """(done, all) of one subscriber's deliveries, e.g. certificates issued of due."""
        counts = self.counts(kind, subscriber)
        return counts.get(EventStatus.DONE, 0), sum(counts.values())


def follow(subject: str) -> Work:
    return Work(progress_of(subject), outcomes(subject))


def event_counts() -> dict[str, int]:
    """Events by state (every state, zero when none), for the status command and page."""
    counts = dict.fromkeys((s.value for s in EventStatus), 0)
    rows = db.session.execute(select(OutboxEvent.status, func.count()).group_by(OutboxEvent.status))
    counts.update({str(status): int(n) for status, n in rows})
    return counts


def retry_failed(event_id: int) -> bool:
    """An admin sends a dead-lettered event again (its attempts start over)."""
    result = db.session.execute(
        update(OutboxEvent)
        .where(OutboxEvent.id == event_id, OutboxEvent.status == EventStatus.FAILED)
        .values(status=EventStatus.PENDING, attempts=0, enqueued_at=None)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


# Running jobs in this process --------------------------------------------------------------


def run_pending(include_scheduled: bool = False, limit: int = 100_000) -> int:
    """Execute what the broker holds now (and, if asked, retries scheduled for later); the
    `--burst` worker and the tests use it. Returns the number of tasks run."""
    ran = 0
    while ran < limit:
        if include_scheduled:
            later = utcnow().replace(tzinfo=None) + timedelta(days=365)  # Huey's naive UTC
            for task in huey.read_schedule(later):
                task.eta = None  # due now: enqueue() would put a future eta back on the schedule
                huey.enqueue(task)
        # Redis' dequeue waits a second on an empty queue (a worker's blocking read): look first.
        task = huey.dequeue() if huey.pending_count() else None
        if task is None:
            return ran
        if not huey.ready_to_run(task):  # a retry for later: back on the schedule, as a
            huey.add_schedule(task)  # consumer does
            continue
        huey.execute(task)
        ran += 1
    return ran


def init_jobs(app: Flask) -> None:
    """Hand events to Huey after each commit in this app's processes."""
    on_commit(hand_over)
    app.extensions["huey"] = huey
