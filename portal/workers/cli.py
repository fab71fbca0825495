"""`flask workers ...`: roster import from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.messages import Message
from portal.regions.cli import region_option
from portal.regions.scope import each_region
from portal.workers.importer import ImportReport, import_roster
from portal.workers.pii import current_cipher
from portal.workers.roster import RosterFormatError
from portal.workers.services import rotate_worker_keys

workers_cli = AppGroup("workers", help="The worker register.")


@workers_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--update-existing", is_flag=True, help="Update workers whose NIK is registered.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@region_option
def import_command(path: Path, dry_run: bool, update_existing: bool, as_json: bool) -> None:
    """Import a roster (CSV or XLSX) into a region's register: all valid rows in one
    transaction, or nothing."""

    def progress(rows: int) -> None:
        click.echo(f"\r{rows:,} rows checked", nl=False, err=True)

    try:
        report = import_roster(
            path.read_bytes(),
            path.name,
            dry_run=dry_run,
            update_existing=update_existing,
            actor_id=None,
            progress=progress,
        )
    except RosterFormatError as error:
        db.session.rollback()
        _fail(
            error.message.english() if isinstance(error.message, Message) else error.message,
            as_json,
        )
        return
    click.echo("", err=True)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    _print(report, dry_run, as_json)


@workers_cli.command("rotate-keys")
def rotate_keys_command() -> None:
    """Re-encrypt NIK and phone numbers with the first key of NIK_ENCRYPTION_KEYS, in every
    region."""
    key, total = current_cipher().current, 0
    for region in each_region():
        changed = rotate_worker_keys()
        db.session.commit()
        total += changed
        click.echo(f"{region.code} {region.name}: {changed} workers re-encrypted.")
    click.echo(f"{total} workers re-encrypted with key {key}.")


def _fail(message: str, as_json: bool) -> None:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rows": 0,
                    "created": 0,
                    "updated": 0,
                    "rejected": 0,
                    "errors": [{"row": 0, "column": "", "message": message}],
                }
            )
        )
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _print(report: ImportReport, dry_run: bool, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    verb = "would be" if dry_run else "were"
    click.echo(
        f"{report.rows} rows: {report.created} {verb} created, "
        f"{report.updated} {verb} updated, {report.rejected} rejected."
    )
    for warning in report.warnings:
        click.echo(f"Warning: {warning.english()}")
    for error in report.errors[:200]:
        click.echo(f"  row {error.row}, {error.column}: {error.message.english()}")
    if report.errors_total > 200:
        shown = len(report.errors)
        click.echo(f"  ... and {report.errors_total - 200} more (--json lists the first {shown})")
