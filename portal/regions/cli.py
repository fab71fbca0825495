"""`flask regions ...`: add a region from the national table of areas, list the regions."""

from __future__ import annotations

import json

import click
from flask.cli import AppGroup

from portal.extensions import db
from portal.messages import english, message_of
from portal.regions import services
from portal.regions.exceptions import RegionError

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
