"""No personal data in the logs: every log record of the process is redacted as it is made.

A NIK (16 digits) or a phone number in a message, its arguments or an exception's text is
masked before any handler sees it, so neither the server log nor a traceback carries one.
SQLAlchemy is told to leave statement parameters out of its errors (config.py,
`hide_parameters`), so a failed insert does not log the names and birth dates it carried.
"""

from __future__ import annotations

import logging
import re
import traceback
from typing import Any

NIK = re.compile(r"(?<![0-9])([0-9]{4})[0-9]{8}([0-9]{4})(?![0-9])")
PHONE = re.compile(r"(?<![0-9])(\+?62|0)(8[0-9])[0-9]{5,9}([0-9]{2})(?![0-9])")
# PostgreSQL's own error detail quotes the row or key that failed ("Failing row contains
# (..., Slamet Riyadi, ...)"): names and dates no pattern can find.
DETAIL = re.compile(r"^(\s*)DETAIL:.*$", re.MULTILINE)


def redact(text: str) -> str:
    """'3374011203850001' -> '3374********0001'; '081234567890' -> '081*****90'."""
    text = DETAIL.sub(r"\1DETAIL: (left out: it may hold personal data)", text)
    text = NIK.sub(lambda m: f"{m.group(1)}{'*' * 8}{m.group(2)}", text)
    return PHONE.sub(lambda m: f"{m.group(1)}{m.group(2)}*****{m.group(3)}", text)


_plain_factory = logging.getLogRecordFactory()


def _redacting_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
    record = _plain_factory(*args, **kwargs)
    try:
        message = record.getMessage()
    except Exception:  # noqa: BLE001 - a record whose arguments do not fit its message
        message = str(record.msg)
    record.msg, record.args = redact(message), None
    if record.exc_info and record.exc_info[0] is not None:
        text = "".join(traceback.format_exception(*record.exc_info))
        record.exc_text, record.exc_info = redact(text.rstrip("\n")), None
    return record


def install() -> None:
    """Redact every record made in this process from now on (idempotent)."""
    if logging.getLogRecordFactory() is not _redacting_factory:
        logging.setLogRecordFactory(_redacting_factory)
