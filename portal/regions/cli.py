"""`flask regions ...` (add a region from the national table of areas, list the regions), and
the `--region CODE` option of the commands that act in one region."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from typing import Any, TypeVar

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.messages import english, message_of
from portal.regions import services
from portal.regions.exceptions import RegionError
from portal.regions.models import SEMARANG, Region
from portal.regions.scope import serving

Command = TypeVar("Command", bound=Callable[..., Any])

regions_cli = AppGroup("regions", help="Regions (kota and kabupaten) on this installation.")


@regions_cli.command("add")
@click.argument("code")
def add_command(code: str) -> None:
    """Add the kabupaten or kota CODE (Kemendagri, e.g. 33.19) with its kecamatan and
    desa/kelurahan; its admins then set the scheme on the region's pages."""
    try:
        region = services.add_region(code)
    except RegionError as error:
        db.session.rollback()
        raise click.ClickException(english(message_of(error))) from None
    db.session.commit()
    [summary] = [s for s in services.summaries() if s.code == region.code]
    click.echo(
        f"{summary.code} {summary.name}: {summary.kecamatan} kecamatan, "
        f"{summary.villages} desa/kelurahan"
    )


@regions_cli.command("list")
@click.option("--json", "as_json", is_flag=True, help="One JSON array, one object per region.")
def list_command(as_json: bool) -> None:
    """Each region's code, name, kecamatan, desa/kelurahan and registered workers."""
    found = services.summaries()
    if as_json:
        click.echo(json.dumps([summary.as_json() for summary in found], ensure_ascii=False))
        return
    for s in found:
        click.echo(
            f"{s.code}  {s.name:32} {s.kecamatan:4} kecamatan {s.villages:6} desa/kelurahan "
            f"{s.workers:8} workers"
        )


def known_region(code: str) -> Region:
    """The region of the Kemendagri CODE; a usage error (exit status 2) when there is none."""
    region = db.session.get(Region, code.strip())
    if region is None:
        raise click.BadParameter(
            f"no region {code.strip()} on this installation "
            "(`flask regions list` names them, `flask regions add CODE` adds one)",
            ctx=click.get_current_context(silent=True),
            param_hint="'--region'",
        )
    return region


def region_option(command: Command) -> Command:
    """`--region CODE` (Kemendagri; Kota Semarang when omitted): the command acts in that
    region only. Place it under the `@group.command(...)` line."""

    @functools.wraps(command)
    def in_region(*args: Any, region: str, **kwargs: Any) -> Any:
        with serving(known_region(region).code):
            return command(*args, **kwargs)

    option = click.option(
        "--region",
        default=SEMARANG,
        show_default=True,
        metavar="CODE",
        help="Kemendagri code of the region to act in (e.g. 33.19).",
    )
    return option(in_region)  # type: ignore[return-value]
