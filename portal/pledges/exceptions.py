"""Errors raised by pledge services; their messages are `Message`s, shown translated."""

from __future__ import annotations

from portal.messages import Message, _m


class PledgeError(Exception):
    """Base for pledge errors."""


def _refusal(target: str) -> Message:
    """Why a pledge cannot take a step now, in words (never its status codes)."""
    refusals = {
        "edit": _m("Only a draft can be changed."),
        "delete": _m("Only a draft can be deleted."),
        "change target": _m("Only a paid or active pledge can change its target."),
        "ask for approval": _m("Only a draft can be sent to the owners for approval."),
        "approve": _m("Only a draft or a pledge waiting for approval can be approved."),
        "send back": _m("Only a pledge waiting for approval can be sent back."),
        "pay": _m("Only a pledge awaiting payment can be paid."),
        "accept": _m("Only a pledge awaiting payment with a short transfer can be accepted."),
        "decide": _m("The unused money of this pledge cannot be decided on now."),
        "wait": _m("The unused money of this pledge cannot wait for a later pledge now."),
        "roll over into a larger pledge": _m(
            "Unused money can only be rolled over into a larger pledge."
        ),
        "awaiting_approval": _m("This pledge cannot be sent for approval now."),
        "awaiting_payment": _m("This pledge cannot be committed now."),
        "draft": _m("This pledge cannot become a draft again now."),
        "paid": _m("This pledge cannot be marked paid now."),
        "active": _m("This pledge cannot start its coverage now."),
        "completed": _m("This pledge cannot be completed now."),
        "cancelled": _m("This pledge cannot be cancelled now."),
        "refunded": _m("This pledge cannot be refunded now."),
    }
    return refusals.get(target) or _m("This pledge cannot do that now.")


class IllegalPledgeTransition(PledgeError):
    """A status change the pledge lifecycle does not allow."""

    def __init__(self, current: str, target: str) -> None:
        super().__init__(_refusal(str(target)))
        self.current = current
        self.target = target


class CompanyNotVerified(PledgeError):
    """Only verified companies can commit to and pay for pledges."""

    def __init__(self, company: str = "") -> None:
        super().__init__(
            _m("%(company)s must be verified before it can commit and pay.", company=company)
        )
        self.company = company


class NoRateInForce(PledgeError):
    """The rate schedule has no rate for a month of the term."""

    def __init__(self, month: object) -> None:
        label = f"{month:%Y-%m}" if hasattr(month, "strftime") else str(month)
        super().__init__(_m("No contribution rate is in force for %(month)s.", month=label))
        self.month = month


class InvalidPledge(PledgeError):
    """Workers, months or start month outside what the programme allows."""


class NotRenewable(PledgeError):
    """Only an active pledge, or one completed in the last 60 days, that is not renewed yet."""

    def __init__(self, pledge_id: str = "") -> None:
        super().__init__(_m("Pledge #%(id)s cannot be renewed.", id=pledge_id))
        self.pledge_id = pledge_id


class NotAnOwner(PledgeError):
    """Only the company's owners set the approval rule."""

    def __init__(self, email: str = "") -> None:
        super().__init__(_m("Only the company's owners set the approval rule."))
        self.email = email
