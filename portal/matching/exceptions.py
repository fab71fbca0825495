"""Typed errors of matching; views turn them into messages, the CLI into exit codes."""

from __future__ import annotations

from portal.messages import Message


class MatchingError(Exception):
    """Base of matching errors."""


class InvalidRules(MatchingError):
    """Rule parameters that cannot be used."""


class RunNotOpen(MatchingError):
    """The run is not a proposal any more (approved, stale or discarded)."""


class SameApprover(MatchingError):
    """The rules require a different person to approve than the one who proposed."""


class StaleProposal(MatchingError):
    """Something the proposal relied on changed; nothing was written."""

    def __init__(self, reasons: list[Message]) -> None:
        super().__init__(*reasons)
        self.reasons = reasons

    def __str__(self) -> str:
        """The reasons in the current language (English outside a request)."""
        return "; ".join(str(reason) for reason in self.reasons)


class MonthNotOpen(MatchingError):
    """The month is closed, or too far ahead to match."""
