"""Typed errors of coverage: views turn them into messages, the CLI into exit codes."""

from __future__ import annotations


class CoverageError(Exception):
    """Base of coverage errors."""


class NotAllowed(CoverageError):
    """The acting user may not change coverage."""


class InvalidMonth(CoverageError):
    """A month that is not written YYYY-MM, or not the first day of a month."""


class MonthClosed(CoverageError):
    """The month is closed: its coverage no longer moves."""


class MonthTooFarAhead(CoverageError):
    """Only months up to next month can be closed (contributions are paid ahead)."""


class EarlierMonthOpen(CoverageError):
    """Months close in order: an earlier month with coverage is still open."""


class MonthNotClosed(CoverageError):
    """Remittance needs a closed month: the amounts are final only then."""


class AlreadyRemitted(CoverageError):
    """The funder's month was remitted to BPJS TK already."""


class NothingToRemit(CoverageError):
    """The funder covered nobody in the month."""


class UnknownFunder(CoverageError):
    """A funder name that is not apbd, dbhcht (or csr for remittance)."""


class InvalidCityFile(CoverageError):
    """The participant file cannot be read at all (no nik column, not text, empty)."""


class CoverageClash(CoverageError):
    """Another change covered one of the workers meanwhile; nothing was written."""


class InvalidReference(CoverageError):
    """A bank reference that is empty or too long."""
