"""Errors raised by payment services."""


class PaymentError(Exception):
    """Base for payment errors."""


class InvalidWebhook(PaymentError):
    """The webhook's signature is missing, stale or wrong, or its body is not an event."""


class GatewayError(PaymentError):
    """Stripe (or the sandbox) refused or failed a request; the message is safe to show."""


class AmountNotAllowed(PaymentError):
    """The amount cannot be charged by card (too large or too small); pay by transfer."""


class NothingToRefund(PaymentError):
    """No month of the pledge is left to refund, or the pledge was not paid."""


class IssueClosed(PaymentError):
    """The payment issue was resolved already (by someone else, or a second click)."""


class PledgeOnHold(PaymentError):
    """A card dispute is open on the pledge: its money does not move until it is settled."""


class RefundWaiting(PaymentError):
    """A large refund of this pledge already waits for a second staff member (or was decided)."""


class SameRefundApprover(PaymentError):
    """The staff member who asked for a large refund cannot approve it too."""
