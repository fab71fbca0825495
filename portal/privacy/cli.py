"""`flask privacy ...`: the breach notice UU 27/2022 Article 46 asks for."""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import click
from flask.cli import AppGroup

from portal.audit.services import record_event
from portal.db import utcnow
from portal.extensions import db
from portal.privacy.breach import LOCAL, breach_notice
from portal.privacy.notice import notice_json, notice_markdown
from portal.regions.cli import region_option

privacy_cli = AppGroup("privacy", help="Workers' personal data (UU 27/2022).")
_FORMATS = ("%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M")


def parse_moment(text: str, *, end_of_day: bool = False) -> datetime:
    """YYYY-MM-DD or YYYY-MM-DDTHH:MM in WIB; a bare date means its start (or, with
    end_of_day, the start of the next day). Raises click.BadParameter."""
    for fmt in _FORMATS:
        try:
            return datetime.strptime(text, fmt).replace(tzinfo=LOCAL)
        except ValueError:
            continue
    try:
        day = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=LOCAL)
    except ValueError:
        raise click.BadParameter(f"{text!r} is not YYYY-MM-DD or YYYY-MM-DDTHH:MM") from None
    return day + timedelta(days=1) if end_of_day else day


@privacy_cli.command("breach-notice")
@click.option("--since", required=True, help="Start of the window (WIB): YYYY-MM-DD[THH:MM].")
@click.option("--until", help="End of the window (WIB), not included; a date means its end.")
@click.option("--discovered", help="When the failure was found (WIB); default: now.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead.")
@region_option
def breach_notice_command(
    since: str, until: str | None, discovered: str | None, as_json: bool
) -> None:
    """Draft the breach notice (Markdown, Indonesian with English) from the audit trail: what
    personal data was reached in the window, by whom, and the counts of people concerned."""
    start = parse_moment(since)
    end = parse_moment(until, end_of_day=True) if until else utcnow()
    if start >= end:
        raise click.BadParameter("--since must be before --until")
    notice = breach_notice(start, end, parse_moment(discovered) if discovered else None)
    record_event(
        "privacy.breach_notice",
        after={"since": start.isoformat(), "until": end.isoformat()},
    )
    db.session.commit()
    if as_json:
        click.echo(json.dumps(notice_json(notice), ensure_ascii=False, indent=2))
    else:
        click.echo(notice_markdown(notice), nl=False)
