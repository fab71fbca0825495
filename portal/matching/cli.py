"""`flask match ...`: propose and approve match runs from the command line."""

from __future__ import annotations

import json
import sys
from datetime import date
from typing import Any

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.auth.models import Role, User
from portal.extensions import db
from portal.matching import queries, services
from portal.matching.exceptions import MatchingError, StaleProposal
from portal.matching.models import MatchRun
from portal.regions.cli import region_option
from portal.regions.models import SEMARANG
from portal.regions.scope import current_region

match_cli = AppGroup("match", help="Assign waiting workers to city quotas and paid pledges.")

by_option = click.option(
    "--by",
    "by_email",
    metavar="EMAIL",
    help="The staff member acting (default: the CLI operator, no user).",
)


def _actor(email: str | None) -> User | None:
    """The staff or admin account of the region named by --by; exits 2 when there is none."""
    if not email:
        return None
    user = db.session.scalar(select(User).where(User.email == email.strip().lower()))
    if user is None or not user.active or user.role not in (Role.STAFF, Role.ADMIN):
        raise click.UsageError(f"--by {email}: no active staff or admin account")
    if user.region_code != current_region():
        raise click.UsageError(
            f"--by {email}: an account of region {user.region_code}, not of {current_region()}"
        )
    return user


def _run(run_id: int) -> MatchRun:
    run = db.session.get(MatchRun, run_id)
    if run is None:
        raise click.ClickException(f"run {run_id} does not exist")
    return run


def _month(value: str) -> date:
    try:
        return date.fromisoformat(f"{value}-01")
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a month as YYYY-MM") from None


@match_cli.command("propose")
@click.option(
    "--month",
    "month_text",
    required=True,
    metavar="YYYY-MM",
    help="The month to place workers for (this month or next).",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@by_option
@region_option
def propose_command(month_text: str, as_json: bool, by_email: str | None) -> None:
    """Propose a run for a month: a dry run that writes no coverage until approved."""
    month = _month(month_text)
    actor = _actor(by_email)
    try:
        run = services.propose_run(month, actor)
    except MatchingError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    if as_json:
        click.echo(json.dumps(_as_json(run), ensure_ascii=False))
    else:
        _print_summary(run)


def _as_json(run: MatchRun) -> dict[str, Any]:
    return {
        "run_id": run.id,
        "month": f"{run.month:%Y-%m}",
        "status": str(run.status),
        "rule_version": run.rule_version,
        "placed": run.placed,
        "coverage_rows": run.coverage_rows,
        "summary": run.summary,
    }


def _print_summary(run: MatchRun) -> None:
    summary = run.summary or {}
    click.echo(
        f"Run {run.id} proposed for {run.month:%Y-%m} (rules version "
        f"{run.rule_version}): {run.placed} workers placed, {run.coverage_rows} "
        "coverage rows on approval."
    )
    for funder, city in (summary.get("city") or {}).items():
        click.echo(
            f"  {funder.upper():7} quota {city['quota']}, covered before "
            f"{city['before']}, continuing {city['continuing']}, new {city['new']}"
        )
    for pledge in summary.get("pledges") or []:
        line = (
            f"  pledge #{pledge['id']} ({pledge['company']}): {pledge['placed']} of "
            f"{pledge['slots']} placed"
        )
        if pledge["unfilled"]:
            line += (
                f", {pledge['unfilled']} unfilled ({pledge['reason']}; "
                f"{pledge['fitting']} waiting workers fit the target)"
            )
        click.echo(line)
    click.echo(
        f"  waiting list: {summary.get('waiting_before', 0)} before, "
        f"{summary.get('waiting_after', 0)} after"
    )
    where = "" if current_region() == SEMARANG else f" --region {current_region()}"
    click.echo(f"Approve with: flask --app portal match approve {run.id}{where}")


@match_cli.command("approve")
@click.argument("run_id", type=int)
@by_option
@region_option
def approve_command(run_id: int, by_email: str | None) -> None:
    """Approve a proposal: write its coverage in one transaction, or nothing (exit 1)."""
    actor = _actor(by_email)
    run = _run(run_id)
    try:
        rows = services.approve_run(run, actor)
    except StaleProposal as error:
        db.session.rollback()  # nothing of the approval is kept; `run` is expired now
        services.mark_stale(run_id, error.reasons, actor)
        db.session.commit()
        click.echo(
            f"Run {run_id} is out of date and was marked stale; nothing was written:", err=True
        )
        for reason in error.reasons:
            click.echo(f"  - {reason}", err=True)
        sys.exit(1)
    except MatchingError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Run {run_id} approved: {rows} coverage rows written.")


@match_cli.command("discard")
@click.argument("run_id", type=int)
@by_option
@region_option
def discard_command(run_id: int, by_email: str | None) -> None:
    """Discard a proposal; nothing is written."""
    actor = _actor(by_email)
    run = _run(run_id)
    try:
        services.discard_run(run, actor)
    except MatchingError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"Run {run_id} discarded.")


@match_cli.command("list")
@click.option("--limit", default=20, show_default=True, help="How many runs, newest first.")
@region_option
def list_command(limit: int) -> None:
    """The newest runs: id, month, status, rule version, placed workers, coverage rows."""
    runs = queries.recent_runs(limit)
    if not runs:
        click.echo("No runs yet.")
        return
    click.echo(f"{'run':>6}  {'month':7}  {'status':9}  {'rules':>5}  {'placed':>8}  {'rows':>9}")
    for run in runs:
        click.echo(
            f"{run.id:>6}  {run.month:%Y-%m}  {run.status!s:9}  {run.rule_version:>5}  "
            f"{run.placed:>8}  {run.coverage_rows:>9}"
        )
