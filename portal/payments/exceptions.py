"""Errors raised by payment services; messages meant for people are `Message`s."""

from __future__ import annotations

from portal.messages import _m


class PaymentError(Exception):
    """Base for payment errors."""


class InvalidWebhook(PaymentError):
    """The webhook's signature is missing, stale or wrong, or its body is not an event.
    Its text is for Stripe and the logs (English), never shown on a page."""


class GatewayError(PaymentError):
    """Stripe (or the sandbox) refused or failed a request; the message is safe to show
    (it is Stripe's own text)."""


class AmountNotAllowed(PaymentError):
    """The amount cannot be charged by card (too large or too small); pay by transfer."""

    def __init__(self, amount: str = "") -> None:
        super().__init__(
            _m(
                "Rp%(amount)s cannot be paid by card; pay it by bank transfer.",
                amount=_grouped(amount),
            )
        )
        self.amount = amount


class NothingToRefund(PaymentError):
    """No month of the pledge is left to refund, or the pledge was not paid."""

    def __init__(self, what: str = "") -> None:
        super().__init__(_m("Nothing is left to refund."))
        self.what = what  # which pledge, payment or issue, for the logs


class IssueClosed(PaymentError):
    """The payment issue was resolved already (by someone else, or a second click)."""

    def __init__(self, issue_id: str = "") -> None:
        super().__init__(_m("Payment issue #%(id)s was resolved already.", id=issue_id))
        self.issue_id = issue_id


class PledgeOnHold(PaymentError):
    """A card dispute is open on the pledge: its money does not move until it is settled."""

    def __init__(self, pledge_id: str = "") -> None:
        super().__init__(
            _m(
                "Pledge #%(id)s is on hold while a card dispute is open; its money does not "
                "move until the dispute is settled.",
                id=pledge_id,
            )
        )
        self.pledge_id = pledge_id


class RefundWaiting(PaymentError):
    """A large refund of this pledge already waits for a second staff member (or was decided)."""

    def __init__(self, what: str = "") -> None:
        super().__init__(
            _m("A refund already waits for a second staff member, or was decided already.")
        )
        self.what = what


class SameRefundApprover(PaymentError):
    """The staff member who asked for a large refund cannot approve it too."""

    def __init__(self, request_id: str = "") -> None:
        super().__init__(_m("A different staff member must approve the refund you asked for."))
        self.request_id = request_id


def _grouped(amount: str) -> str:
    """1.008.000 for 1008000 (Indonesian grouping, the same in every language's page)."""
    return f"{int(amount):,}".replace(",", ".") if amount.lstrip("-").isdigit() else amount
