"""`flask claims ...`: import a file of JKK/JKM claims from the command line."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from portal.claims.exceptions import DuplicateClaim, InvalidClaimFile
from portal.claims.services import ClaimImport, import_claims
from portal.extensions import db
from portal.messages import Message
from portal.regions.cli import region_option

claims_cli = AppGroup("claims", help="JKK and JKM claims of covered workers.")

MAX_LISTED = 200


@claims_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with the result.")
@region_option
def import_command(path: Path, dry_run: bool, as_json: bool) -> None:
    """Record the claims of a CSV file (nik, tanggal, jenis, jumlah, cerita): all or none.

    Exits 1 when a row is refused (nothing is written), 2 when the file cannot be read.
    """
    try:
        report = import_claims(path.read_bytes(), actor=None, dry_run=dry_run)
    except (InvalidClaimFile, DuplicateClaim) as error:
        db.session.rollback()
        _fail(_english(error), as_json)
    if report.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    _print(report, as_json)
    if not report.ok:
        sys.exit(1)


def _english(error: Exception) -> str:
    """The command line speaks English, whatever language a request chose before."""
    message = error.args[0] if error.args else str(error)
    return message.english() if isinstance(message, Message) else str(message)


def _fail(message: str, as_json: bool) -> NoReturn:
    if as_json:
        click.echo(
            json.dumps(
                {
                    "rows": 0,
                    "recorded": 0,
                    "rejected": 0,
                    "errors": [{"row": 0, "column": "", "message": message}],
                }
            )
        )
    else:
        click.echo(f"Error: {message}", err=True)
    sys.exit(2)


def _print(report: ClaimImport, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(report.as_json(), ensure_ascii=False))
        return
    if report.ok and report.dry_run:
        click.echo(
            f"{report.rows} rows checked: {report.accepted} claims would be recorded "
            f"(Rp{report.amount:,}). Nothing written."
        )
    elif report.ok:
        click.echo(f"{report.recorded} claims recorded (Rp{report.amount:,}).")
    else:
        click.echo(f"{report.rejected_rows} of {report.rows} rows refused; nothing written.")
    for row in report.rejected[:MAX_LISTED]:
        click.echo(f"  row {row.row}, {row.column}: {row.message.english()}")
    if len(report.rejected) > MAX_LISTED:
        click.echo(f"  ... and {len(report.rejected) - MAX_LISTED} more (use --json for all)")
