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
