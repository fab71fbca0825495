"""Errors raised by company services; their messages are `Message`s, shown translated."""

from __future__ import annotations

from portal.messages import Message, _m


class CompanyError(Exception):
    """Base for company errors."""


class IllegalTransition(CompanyError):
    """A status change the lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(_company_refusal(str(target)))
        self.current = current
        self.target = target


class DuplicateCompany(CompanyError):
    """The NIB or NPWP is registered already."""

    def __init__(self, field: str) -> None:
        super().__init__(
            _m("A company with this NIB is registered already.")
            if field == "nib"
            else _m("A company with this NPWP is registered already.")
        )
        self.field = field  # "nib" or "npwp"


class InvalidIdentifier(CompanyError):
    """A NIB, NPWP or phone number that is not a real one; `problem` names the rule broken."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class NothingToResubmit(CompanyError):
    """A resubmission that changes no detail and explains nothing."""

    def __init__(self) -> None:
        super().__init__(_m("Change a detail or explain what changed before sending it again."))


class InvitationAccepted(CompanyError):
    """The member has set a password already; there is no invitation to send again."""

    def __init__(self) -> None:
        super().__init__(_m("The member has set a password already; there is nothing to send."))


def _company_refusal(target: str) -> Message:
    refusals = {
        "pending": _m("Only a rejected company can be sent for verification again."),
        "verified": _m("Only a company waiting for verification can be verified."),
        "rejected": _m("Only a company waiting for verification can be rejected."),
    }
    return refusals.get(target) or _m("The company's status does not allow this now.")
