"""Typed errors of claims: views turn them into field messages, the CLI into exit codes.
Their messages are Messages (`_m`): `str(error)` is in the reader's language, English on the
command line."""

from __future__ import annotations

from portal.messages import Message, _m


class ClaimError(Exception):
    """Base of claim errors."""


class NotAllowed(ClaimError):
    """The acting user may not record claims."""


class InvalidClaim(ClaimError):
    """A value that cannot be a claim: a future date, an amount not above 0, a story too long,
    a type that is not jkk or jkm. `field` names the value at fault."""

    def __init__(self, message: Message | str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class NotCovered(ClaimError):
    """No funder covered the worker in the month of the event."""


class DuplicateClaim(ClaimError):
    """The same worker, type and date is recorded already."""


class InvalidClaimFile(ClaimError):
    """The claim file cannot be read at all (not text, no header, a column missing, empty)."""


class StoryNotAnonymous(ClaimError):
    """A claim story that may identify the worker (their name, or a long number such as a NIK,
    KPJ or phone number) cannot be approved for sponsors. `found` names what was seen."""

    def __init__(self, found: tuple[str, ...]) -> None:
        super().__init__(
            _m("the story may identify the worker (%(found)s)", found=", ".join(found))
        )
        self.found = found
