"""Flask commands: seed-reference, seed-demo, create-admin, and each domain's group."""

from __future__ import annotations

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from portal.auth.exceptions import DuplicateEmail
from portal.auth.models import Role
from portal.auth.services import create_user, send_password_link
from portal.certificates.cli import certificates_cli
from portal.claims.cli import claims_cli
from portal.coverage.cli import coverage_cli, remittance_cli
from portal.demo import DEMO_LOGINS, DEMO_PASSWORD, DemoRefused, seed_demo
from portal.extensions import db
from portal.jobs_cli import jobs_cli
from portal.ledger.cli import ledger_cli
from portal.matching.cli import match_cli
from portal.payments.cli import payments_cli
from portal.privacy.cli import privacy_cli
from portal.reference.seed import seed_reference
from portal.regions.cli import region_option, regions_cli
from portal.regions.models import SEMARANG, Region
from portal.regions.scope import region_scope
from portal.workers.cli import workers_cli


def register_commands(app: Flask) -> None:
    app.cli.add_command(seed_reference_command)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(create_admin_command)
    app.cli.add_command(users_cli)
    app.cli.add_command(workers_cli)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(payments_cli)
    app.cli.add_command(match_cli)
    app.cli.add_command(coverage_cli)
    app.cli.add_command(remittance_cli)
    app.cli.add_command(claims_cli)
    app.cli.add_command(certificates_cli)
    app.cli.add_command(privacy_cli)
    app.cli.add_command(regions_cli)


@click.command("seed-reference")
def seed_reference_command() -> None:
    """Load kecamatan, kelurahan, categories and the rate schedule (only what is missing)."""
    added = seed_reference()
    db.session.commit()
    for name, count in added.items():
        click.echo(f"{name}: {count} added")


@click.command("seed-demo")
@click.option("--if-empty", is_flag=True, help="Do nothing (exit 0) when accounts exist.")
def seed_demo_command(if_empty: bool) -> None:
    """Add demo companies, logins and workers (refused in production)."""
    if not current_app.config["DEMO_DATA_ALLOWED"]:
        raise click.ClickException("demo data is refused in this configuration")
    seed_reference()
    try:
        logins = seed_demo()
    except DemoRefused as error:
        if not if_empty:
            raise click.ClickException(str(error)) from error
        click.echo("Demo data already present.")
        logins = DEMO_LOGINS
    else:
        db.session.commit()
        click.echo("Demo data loaded.")
    click.echo(f"Demo logins (password for all: {DEMO_PASSWORD}):")
    for login in logins:
        click.echo(f"  {login.role:<34} {login.email}")


users_cli = AppGroup("users", help="Accounts of staff, admins and auditors.")
REGION_ROLES = {"staff": Role.STAFF, "admin": Role.ADMIN, "auditor": Role.AUDITOR}


@users_cli.command("create")
@click.argument("email")
@click.option(
    "--role", "role", type=click.Choice(sorted([*REGION_ROLES, "national"])), required=True
)
@click.option(
    "--region", default=None, help=f"Kemendagri code (staff, admin, auditor; default {SEMARANG})."
)
@click.option("--name", default="", help="Full name (default: the e-mail's name).")
def create_user_command(email: str, role: str, region: str | None, name: str) -> None:
    """Create a staff member, admin or auditor of a region, or a national user (the
    programme's administrator, of no region); a set-password link is e-mailed."""
    if role == "national" and region is not None:
        raise click.ClickException("a national user has no region; leave out --region")
    code = region or SEMARANG
    if db.session.get(Region, code) is None:
        raise click.ClickException(f"no region {code}; add it with `regions add {code}`")
    with region_scope(code):
        try:
            user = create_user(
                email, name or email.split("@")[0], REGION_ROLES.get(role, Role.NATIONAL)
            )
        except DuplicateEmail as error:
            raise click.ClickException(f"an account with {email} exists already") from error
        send_password_link(user, "emails/invitation.txt", inviter=None)
    db.session.commit()
    if role == "national":
        click.echo(f"National user {user.email} created; the link was e-mailed.")
    else:
        click.echo(f"{role.capitalize()} {user.email} of {code} created; the link was e-mailed.")


@click.command("create-admin")
@click.argument("email")
@click.option("--name", default="Administrator", help="Full name of the admin.")
@region_option
def create_admin_command(email: str, name: str) -> None:
    """Create an admin account of a region and e-mail it a link to set its password."""
    try:
        user = create_user(email, name, Role.ADMIN)
    except DuplicateEmail as error:
        raise click.ClickException(f"an account with {email} exists already") from error
    send_password_link(user, "emails/invitation.txt", inviter=None)
    db.session.commit()
    click.echo(f"Admin {user.email} created; the set-password link was e-mailed.")
