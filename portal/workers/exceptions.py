"""Errors raised by worker register services; their messages are Messages (`_m`), so that
`str(error)` is in the reader's language."""

from __future__ import annotations

from portal.messages import Message


class WorkerError(Exception):
    """Base for register errors."""


class IllegalStatusChange(WorkerError):
    """A status move the register does not allow, or one the rules forbid."""

    def __init__(self, message: Message | str, reasons: list[str] | None = None) -> None:
        super().__init__(message)
        self.reasons = reasons or []


class DetailsDisagreeWithNik(WorkerError):
    """The birth date or sex given does not match what the NIK encodes."""


class WorkerErased(DetailsDisagreeWithNik):
    """The worker's personal data was erased: no NIK is left for details to agree with, and the
    record no longer changes."""


class AlreadyRegistered(WorkerError):
    """The NIK is registered in this region already: edit that worker instead."""


class RegisteredElsewhere(WorkerError):
    """The NIK is active in another region, which must first mark the worker as moved."""
