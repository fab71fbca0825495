"""Errors raised by the data-subject rights services."""


class PrivacyError(Exception):
    """Base for privacy errors."""


class NotAllowed(PrivacyError):
    """The actor may not export or erase a worker's personal data."""


class InvalidReason(PrivacyError):
    """An erasure needs a short reason: what request it answers."""


class AlreadyErased(PrivacyError):
    """The worker's personal data was erased before; an erasure cannot be repeated."""
