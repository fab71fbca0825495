"""`flask coverage ...` and `flask remittance ...`: month close and files for BPJS TK."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import NoReturn

import click
from flask.cli import AppGroup

from portal.coverage import city_import, closing, remittance, services
from portal.coverage.city_import import CityImport, RejectedRow, Rejection
from portal.coverage.exceptions import CoverageError, InvalidMonth
from portal.extensions import db
from portal.ledger.exceptions import LedgerError
from portal.pledges import renewals
from portal.pledges.exceptions import IllegalPledgeTransition, NoRateInForce
from portal.regions.cli import region_option
from portal.regions.models import SEMARANG
from portal.regions.scope import current_region, each_region

coverage_cli = AppGroup("coverage", help="Coverage months: close, city participants, renewals.")
remittance_cli = AppGroup("remittance", help="Monthly remittance files for BPJS TK.")

MAX_LISTED = 200
_REASONS = {
    Rejection.INVALID_NIK: "not a valid NIK",
    Rejection.DUPLICATE: "same NIK as row {0}",
    Rejection.UNKNOWN_NIK: "no worker with this NIK on the register",
    Rejection.NOT_ELIGIBLE: "not eligible ({all})",
    Rejection.DBHCHT_CATEGORY: "DBHCHT does not fund category {0}",
    Rejection.ALREADY_COVERED: "already covered: {all}",
}


def _month(ctx: click.Context, param: click.Parameter, value: str) -> date:
    try:
        return services.parse_month(value)
    except InvalidMonth as error:
        raise click.BadParameter(str(error)) from None


def _fail(error: Exception) -> NoReturn:
    db.session.rollback()
    raise click.ClickException(str(error))


def _rupiah(amount: int) -> str:
    return f"Rp{amount:,}"


@coverage_cli.command("close-month")
@click.argument("month", callback=_month, metavar="YYYY-MM")
@region_option
def close_month_command(month: date) -> None:
    """Close a month: book its coverage in the ledger and complete pledges ending with it."""
    try:
        close = closing.close_month(month, actor=None)
    except (CoverageError, LedgerError, IllegalPledgeTransition) as error:
        _fail(error)
    db.session.commit()
    click.echo(f"{month:%Y-%m} closed.")
    for funder, total in close.totals.items():
        click.echo(f"  {funder:<7} {total['workers']:>9,} workers  {_rupiah(total['amount'])}")


@coverage_cli.command("import-city")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--funder", required=True, type=click.Choice(["apbd", "dbhcht"]))
@click.option(
    "--month",
    "month",
    required=True,
    callback=_month,
    metavar="YYYY-MM",
    help="The first month covered.",
)
@click.option(
    "--months",
    default=1,
    show_default=True,
    type=click.IntRange(1, 12),
    help="How many months from --month.",
)
@click.option("--dry-run", is_flag=True, help="Check every row and report; write nothing.")
@region_option
def import_city_command(path: Path, funder: str, month: date, months: int, dry_run: bool) -> None:
    """Cover the city's participants (CSV with a nik column): every row, or nothing."""
    try:
        report = city_import.import_city_participants(
            path.read_bytes(), funder, month, months, actor=None, dry_run=dry_run
        )
    except (CoverageError, NoRateInForce) as error:
        _fail(error)
    if report.ok and not dry_run:
        db.session.commit()
    else:
        db.session.rollback()
    _print_import(report)
    if not report.ok:
        raise click.ClickException(f"{len(report.rejected)} row(s) refused; nothing written.")


def _print_import(report: CityImport) -> None:
    span = f"{len(report.months)} month(s) from {report.months[0]:%Y-%m}"
    if report.ok and report.dry_run:
        click.echo(
            f"{report.rows} rows checked: {report.accepted} workers would be covered by "
            f"{report.funder} for {span} ({_rupiah(report.amount)}). Nothing written."
        )
    elif report.ok:
        click.echo(
            f"{report.accepted} workers covered by {report.funder} for {span}: "
            f"{report.written} coverage rows, {_rupiah(report.amount)}."
        )
    for row in report.rejected[:MAX_LISTED]:
        click.echo(f"  row {row.row}, {row.nik or '(empty)'}: {describe(row)}")
    if len(report.rejected) > MAX_LISTED:
        click.echo(f"  ... and {len(report.rejected) - MAX_LISTED} more")


def describe(row: RejectedRow) -> str:
    return _REASONS[row.reason].format(*row.detail, all=", ".join(row.detail))


@coverage_cli.command("offer-renewals")
def offer_renewals_command() -> None:
    """E-mail a renewal offer for each active pledge ending soon (once per pledge), in every
    region."""
    total = 0
    for region in each_region():
        try:
            offered = [pledge.id for pledge in renewals.offer_renewals()]
        except CoverageError as error:
            _fail(error)
        db.session.commit()
        total += len(offered)
        click.echo(
            f"{region.code} {region.name}: renewal offered for {len(offered)} pledge(s)"
            + (": " + ", ".join(f"#{p}" for p in offered) if offered else ".")
        )
    click.echo(f"Renewal offered for {total} pledge(s).")


_FUNDERS = click.Choice(["apbd", "dbhcht", "csr"])


@remittance_cli.command("export")
@click.argument("month", callback=_month, metavar="YYYY-MM")
@click.option("--funder", required=True, type=_FUNDERS)
@click.option(
    "--format", "fmt", default="csv", show_default=True, type=click.Choice(list(remittance.FORMATS))
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Where to write (default: remittance-[CODE-]YYYY-MM-FUNDER.FORMAT here).",
)
@region_option
def export_command(month: date, funder: str, fmt: str, output: Path | None) -> None:
    """Write a closed month's remittance file for one funder (it holds full NIKs)."""
    try:
        body, rows = remittance.remittance_file(month, funder, fmt)
    except CoverageError as error:
        _fail(error)
    target = output or _default_output(month, funder, fmt)
    target.write_bytes(body)
    remittance.record_download(month, funder, fmt, rows, actor=None)
    db.session.commit()
    click.echo(f"{rows} workers written to {target}.")


def _default_output(month: date, funder: str, fmt: str) -> Path:
    """Another region's file is named with its code, so it never overwrites Semarang's."""
    name = remittance.file_name(month, funder, fmt)
    code = current_region()
    return Path(name if code == SEMARANG else name.replace("remittance-", f"remittance-{code}-"))


@remittance_cli.command("mark")
@click.argument("month", callback=_month, metavar="YYYY-MM")
@click.option("--funder", required=True, type=_FUNDERS)
@click.option("--reference", required=True, help="The bank transfer reference.")
@region_option
def mark_command(month: date, funder: str, reference: str) -> None:
    """Record that a funder's month was transferred to BPJS TK (booked in the ledger)."""
    try:
        done = remittance.mark_remitted(month, funder, reference, actor=None)
    except (CoverageError, LedgerError) as error:
        _fail(error)
    db.session.commit()
    click.echo(
        f"{funder} {month:%Y-%m} remitted: {done.workers} workers, "
        f"{_rupiah(done.amount)}, reference {done.reference}."
    )
