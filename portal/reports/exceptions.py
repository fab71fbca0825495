"""Typed errors of reports: views turn them into messages."""

from __future__ import annotations


class ReportError(Exception):
    """Base of report errors."""


class NotAllowed(ReportError):
    """The acting user may not act for this company."""


class NothingRealised(ReportError):
    """No month of the year is closed for the company's pledges: there is no spending to state."""
