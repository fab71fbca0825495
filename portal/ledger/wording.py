"""A ledger entry's memo in the reader's language.

Memos are written once, in English, as part of the accounting record (evidence packs keep them
as written). The pages show them in the reader's language: each memo the ledger writes has one
of the shapes below (ledger.services), read back into its values."""

from __future__ import annotations

import re

from flask_babel import gettext

from portal.labels import label
from portal.messages import shown

_PATTERNS = (
    (re.compile(r"^Payment (?P<ref>.+)$"), "payment"),
    (re.compile(r"^Refund: (?P<reason>.*)$"), "refund"),
    (re.compile(r"^Coverage (?P<month>\d{4}-\d{2}), pledge #(?P<pledge>\d+)$"), "pledge"),
    (re.compile(r"^Coverage (?P<month>\d{4}-\d{2}), (?P<funder>[a-z]+)$"), "city"),
    (
        re.compile(r"^Remittance (?P<month>\d{4}-\d{2}), (?P<funder>[a-z]+), ref (?P<ref>.+)$"),
        "remittance",
    ),
)


def memo_text(memo: str) -> str:
    """The memo translated; one of another shape is shown as written."""
    for pattern, shape in _PATTERNS:
        found = pattern.match(memo or "")
        if found is None:
            continue
        values = found.groupdict()
        if shape == "payment":
            return gettext("Payment %(ref)s", ref=values["ref"])
        if shape == "refund":
            return gettext("Refund: %(reason)s", reason=shown(values["reason"]))
        if shape == "pledge":
            return gettext(
                "Coverage %(month)s, pledge #%(pledge)s",
                month=values["month"],
                pledge=values["pledge"],
            )
        if shape == "city":
            return gettext(
                "Coverage %(month)s, %(funder)s",
                month=values["month"],
                funder=label(values["funder"]),
            )
        return gettext(
            "Remittance %(month)s, %(funder)s, ref %(ref)s",
            month=values["month"],
            funder=label(values["funder"]),
            ref=values["ref"],
        )
    return memo
