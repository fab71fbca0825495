"""Errors raised by company services."""


class CompanyError(Exception):
    """Base for company errors."""


class IllegalTransition(CompanyError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"cannot move a company from {current} to {target}")
        self.current = current
        self.target = target


class DuplicateCompany(CompanyError):
    """The NIB or NPWP is registered already."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


class InvalidIdentifier(CompanyError):
    """A NIB, NPWP or phone number that is not a real one; `problem` names the rule broken."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class NothingToResubmit(CompanyError):
    """A resubmission that changes no detail and explains nothing."""


class InvitationAccepted(CompanyError):
    """The member has set a password already; there is no invitation to send again."""
