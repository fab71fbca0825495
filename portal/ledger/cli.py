"""`flask ledger ...`: checking the journal from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from portal.ledger.checks import check_ledger, ledger_size
from portal.regions.cli import known_region
from portal.regions.scope import all_regions, each_region, serving

ledger_cli = AppGroup("ledger", help="The double-entry ledger.")


@ledger_cli.command("check")
@click.option("--region", metavar="CODE", help="Check this region only (Kemendagri code).")
def check_command(region: str | None) -> None:
    """Recompute every ledger invariant in each region and across all regions; exit 1 and list
    the problems if any is broken."""
    shown: set[str] = set()
    broken = False
    if region is not None:
        checked = known_region(region)
        with serving(checked.code):
            broken = _report(f"{checked.code} {checked.name}", shown)
    else:
        for each in each_region():
            broken |= _report(f"{each.code} {each.name}", shown)
        with all_regions():
            broken |= _report("All regions", shown, total=True)
    if broken:
        click.get_current_context().exit(1)


def _report(label: str, shown: set[str], *, total: bool = False) -> bool:
    """One line for the ledger in scope and its problems (the total lists those no region
    listed above); True when it is broken."""
    problems = check_ledger()
    if problems:
        click.echo(f"{label}: ledger BROKEN, {len(problems)} problem(s)")
        for problem in problems:
            if not (total and problem in shown):
                click.echo(f"  {problem}")
        shown.update(problems)
        return True
    entries, lines = ledger_size()
    click.echo(f"{label}: ledger OK, {entries} entries, {lines} lines")
    return False
