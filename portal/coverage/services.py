"""Coverage helpers shared by its operations: months as staff type them, who may change coverage.

The operations live beside it: closing.py (month close), city_import.py (the city's
participants), remittance.py (files for BPJS), release.py (months given back by refunds).
"""

from __future__ import annotations

import re
from datetime import date

from portal.auth.models import User
from portal.auth.permissions import Permission, can
from portal.coverage.exceptions import InvalidMonth, NotAllowed
from portal.messages import _m

_MONTH = re.compile(r"\s*([0-9]{4})-([0-9]{1,2})\s*")


def parse_month(text: str) -> date:
    """'2026-12' -> 1 December 2026. Raises InvalidMonth."""
    match = _MONTH.fullmatch(text or "")
    if not match or not 1 <= int(match.group(2)) <= 12 or int(match.group(1)) < 2000:
        raise InvalidMonth(_m("%(text)s is not a month written YYYY-MM", text=repr(text)))
    return date(int(match.group(1)), int(match.group(2)), 1)


def check_actor(actor: User | None) -> None:
    """Coverage changes need COVERAGE_MANAGE; None is the command line. Raises NotAllowed."""
    if actor is not None and not can(actor, Permission.COVERAGE_MANAGE):
        raise NotAllowed(_m("%(email)s may not change coverage", email=actor.email))
