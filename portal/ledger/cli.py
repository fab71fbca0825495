"""`flask ledger ...`: checking the journal from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from portal.extensions import db
from portal.ledger.checks import check_ledger
from portal.ledger.models import LedgerEntry, LedgerLine

ledger_cli = AppGroup("ledger", help="The double-entry ledger.")


@ledger_cli.command("check")
def check_command() -> None:
    """Recompute every ledger invariant; exit 1 and list the problems if any is broken."""
    problems = check_ledger()
    if problems:
        for problem in problems:
            click.echo(problem)
        click.echo(f"Ledger BROKEN: {len(problems)} problem(s).")
        click.get_current_context().exit(1)
    entries = db.session.scalar(select(func.count()).select_from(LedgerEntry))
    lines = db.session.scalar(select(func.count()).select_from(LedgerLine))
    click.echo(f"Ledger OK: {entries} entries, {lines} lines")
