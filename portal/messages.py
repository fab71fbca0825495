"""Messages of the services to people: English text with its values, translated when shown.

Services raise and store messages made with `_m`:

    raise PledgeError(_m("%(month)s is closed.", month="2027-01"))
    errors.append(RowError(row, "nik", _m("NIK must be exactly 16 digits.")))

`str(message)` is the text in the current request's language (Indonesian unless the visitor
chose English; English outside a request, as on the command line). A message kept in the
database or in a job's result is kept as data (`as_data()`), and the `message` filter shows it
in the reader's language, so a result written by a job in the night is read in Indonesian the
next morning. `make messages` extracts `_m("...")` like `_("...")` (`-k _m`).
"""

from __future__ import annotations

import json
from typing import Any

import flask_babel

Value = str | int | float | None


class Message:
    __slots__ = ("msgid", "params")

    def __init__(self, msgid: str, **params: Any) -> None:
        self.msgid = msgid
        self.params: dict[str, Value] = {
            name: value if isinstance(value, int | float) or value is None else str(value)
            for name, value in params.items()
        }

    def __str__(self) -> str:
        return str(flask_babel.gettext(self.msgid, **self.params))

    def __repr__(self) -> str:
        return f"_m({self.msgid!r}, **{self.params!r})"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Message):
            return (self.msgid, self.params) == (other.msgid, other.params)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.msgid, tuple(sorted(self.params.items()))))

    def english(self) -> str:
        """The English text, for logs and the audit trail."""
        return self.msgid % self.params if self.params else self.msgid

    def as_data(self) -> dict[str, Any]:
        """JSON for a database column or a job's result; `shown()` reads it back."""
        return {"msgid": self.msgid, "params": dict(self.params)}


def _m(msgid: str, **params: Any) -> Message:
    """A message to translate when shown; `pybabel extract -k _m` finds it."""
    return Message(msgid, **params)


def shown(value: Message | dict[str, Any] | str | None) -> str:
    """A message kept as data (or as text, from before messages were data) in the reader's
    language. Text that is a message of the catalogue is translated too."""
    if value is None:
        return ""
    if isinstance(value, Message):
        return str(value)
    if isinstance(value, str) and value.startswith('{"msgid"'):
        value = json.loads(value)
    if isinstance(value, dict) and "msgid" in value:
        return str(Message(str(value["msgid"]), **dict(value.get("params") or {})))
    return str(flask_babel.gettext(str(value))) if str(value) else ""


def as_data(value: Message | str) -> dict[str, Any] | str:
    """What to store in a JSON field for a message that may still be plain text."""
    return value.as_data() if isinstance(value, Message) else value


def as_text(value: Message | str) -> str:
    """What to store in a text column: the message as JSON, which `shown()` reads back."""
    return json.dumps(value.as_data(), ensure_ascii=False) if isinstance(value, Message) else value


def message_of(error: BaseException) -> Message | str:
    """The message an error was raised with (kept as data), or its text when it has none."""
    first = error.args[0] if len(error.args) == 1 else None
    return first if isinstance(first, Message) else str(error)


def english(value: Message | str) -> str:
    """For logs, the ledger and the audit trail: English, whatever the reader's language. A
    message kept as text (`as_text`) is read back; other text is returned as it is."""
    if isinstance(value, Message):
        return value.english()
    if value.startswith('{"msgid"'):
        try:
            data = json.loads(value)
            return Message(str(data["msgid"]), **dict(data.get("params") or {})).english()
        except (ValueError, KeyError, TypeError):
            return value
    return value
