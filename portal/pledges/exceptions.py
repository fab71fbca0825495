"""Errors raised by pledge services."""


class PledgeError(Exception):
    """Base for pledge errors."""


class IllegalPledgeTransition(PledgeError):
    """A status change the pledge lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot move a pledge from {current} to {target}")
        self.current = current
        self.target = target


class CompanyNotVerified(PledgeError):
    """Only verified companies can commit to and pay for pledges."""


class NoRateInForce(PledgeError):
    """The rate schedule has no rate for a month of the term."""

    def __init__(self, month: object) -> None:
        super().__init__(f"no contribution rate in force for {month}")
        self.month = month


class InvalidPledge(PledgeError):
    """Workers, months or start month outside what the programme allows."""


class NotRenewable(PledgeError):
    """Only an active pledge, or one completed in the last 60 days, that is not renewed yet."""


class NotAnOwner(PledgeError):
    """Only the company's owners set the approval rule."""
