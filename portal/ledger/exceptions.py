"""Errors raised by ledger services."""

from __future__ import annotations

from portal.messages import _m


class LedgerError(Exception):
    """Base for ledger errors; also raised for an entry the ledger cannot accept."""


class UnbalancedEntry(LedgerError):
    """An entry with fewer than two lines, a zero line, or lines that do not sum to zero."""


class DuplicateEntry(LedgerError):
    """The (kind, source_key) was posted already; the first entry stands unchanged."""

    def __init__(self, kind: str, source_key: str) -> None:
        super().__init__(_m("%(kind)s %(key)s is posted already", kind=str(kind), key=source_key))
        self.kind = kind
        self.source_key = source_key


class InsufficientBalance(LedgerError):
    """Posting would take a sponsor's prepaid balance (or a payment's refundable rest) below 0."""

    def __init__(self, what: str, available: int, requested: int) -> None:
        super().__init__(
            _m(
                "%(what)s: %(requested)s requested, %(available)s available",
                what=what,
                requested=requested,
                available=available,
            )
        )
        self.what = what
        self.available = available
        self.requested = requested
