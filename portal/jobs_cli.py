"""`flask jobs ...`: run workers, see the queue, retry dead-lettered events, run a schedule."""

from __future__ import annotations

import json
import logging

import click
from flask import current_app
from flask.cli import AppGroup
from huey.consumer import Consumer
from sqlalchemy import func, select

from portal.db import utcnow
from portal.events import EventStatus, OutboxEvent
from portal.extensions import db
from portal.jobs import event_counts, huey, relay, retry_failed, run_pending, use_app
from portal.schedule import JOBS, run_job

jobs_cli = AppGroup("jobs", help="Background jobs (Huey): workers, status, retries.")


@jobs_cli.command("work")
@click.option("--burst", is_flag=True, help="Run everything due now, then exit 0.")
@click.option("--workers", default=2, show_default=True, help="Worker threads.")
def work_command(burst: bool, workers: int) -> None:
    """Run a worker: deliver events, run jobs and the schedule, until stopped."""
    use_app(current_app._get_current_object())  # type: ignore[attr-defined]
    if burst:
        relay(force=True)
        ran = run_pending()
        click.echo(f"ran {ran} job(s)")
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    Consumer(
        huey, workers=workers, worker_type="thread", periodic=True, check_worker_health=True
    ).run()


@jobs_cli.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
def status_command(as_json: bool) -> None:
    """Events by state, the oldest pending age in seconds, and what the broker holds."""
    counts = event_counts()
    oldest = db.session.scalar(
        select(func.min(OutboxEvent.created_at)).where(OutboxEvent.status == EventStatus.PENDING)
    )
    age = round((utcnow() - oldest).total_seconds(), 1) if oldest else 0
    report = {
        **counts,
        "oldest_pending_seconds": age,
        "queued": huey.pending_count(),
        "scheduled": huey.scheduled_count(),
    }
    if as_json:
        click.echo(json.dumps(report))
        return
    for key, value in report.items():
        click.echo(f"{key}: {value}")


@jobs_cli.command("retry")
@click.argument("event_id", type=int)
def retry_command(event_id: int) -> None:
    """Send a failed (dead-lettered) event again."""
    if not retry_failed(event_id):
        raise click.ClickException(f"event {event_id} is not failed")
    db.session.commit()
    relay(force=True)
    click.echo(f"event {event_id} queued again")


@jobs_cli.command("run-scheduled")
@click.argument("name", type=click.Choice(sorted(JOBS)))
def run_scheduled_command(name: str) -> None:
    """Run a scheduled job now, unless it ran in the current period already."""
    click.echo("ran" if run_job(name) else "already ran this period")
