"""`flask payments ...`: Stripe work left undone, and the issues waiting for staff."""

from __future__ import annotations

import click
from flask.cli import AppGroup
from sqlalchemy import select

from portal.extensions import db
from portal.messages import shown
from portal.payments import outbound, queries
from portal.payments.models import IssueStatus
from portal.pledges.models import Pledge
from portal.regions.cli import region_option
from portal.regions.scope import each_region

payments_cli = AppGroup("payments", help="Payments, refunds and payment issues.")


@payments_cli.command("sync-stripe")
def sync_stripe_command() -> None:
    """Send booked card refunds Stripe has not taken yet and expire void Checkout Sessions, in
    every region; exit 1 when Stripe refused any (they are tried again next time)."""
    refused = 0
    for region in each_region():
        result = outbound.sync_stripe()
        click.echo(
            f"{region.code} {region.name}: refunds sent: {result.refunds_sent}, "
            f"sessions expired: {result.sessions_expired}"
        )
        for error in result.errors:
            click.echo(f"refused: {error}")
        refused += len(result.errors)
    if refused:
        click.get_current_context().exit(1)


@payments_cli.command("issues")
@region_option
def issues_command() -> None:
    """List the open payment issues (over- and under-payments, unbookable refunds, disputes,
    refund requests)."""
    found = queries.payment_issues(IssueStatus.OPEN.value)
    # An issue carries no region of its own: it is the region's through its pledge.
    pledges = {issue.pledge_id for issue, _company, _payment in found}
    mine = set(db.session.scalars(select(Pledge.id).where(Pledge.id.in_(pledges))))
    found = [row for row in found if row[0].pledge_id in mine]
    for issue, company, _payment in found:
        click.echo(
            f"#{issue.id} {issue.kind} pledge #{issue.pledge_id} {company}: "
            f"Rp{issue.amount:,} {shown(issue.detail)}".replace(",", ".")
        )
    click.echo(f"{len(found)} open issue(s)")
