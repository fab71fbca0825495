"""The only module that imports `stripe`: Checkout Sessions, refunds, webhook signatures.

Amounts are whole rupiah everywhere else; Stripe takes IDR in hundredths (Rp16.800 is
1680000), so conversion happens here and nowhere else.
"""

from __future__ import annotations

import json
import secrets
import time
from dataclasses import dataclass
from typing import Any

import stripe
from flask import Flask, current_app

from portal.payments.exceptions import AmountNotAllowed, GatewayError, InvalidWebhook
from portal.payments.sandbox import StripeSandbox

stripe.enable_telemetry = False  # no request-latency reports sent anywhere
SANDBOX_KEY = "sk_test_sandbox"  # noqa: S105 - the sandbox's own key, accepted nowhere else
MIN_RUPIAH = 10_000  # about USD 0.50, Stripe's minimum charge
FUTURE_TOLERANCE = 5 * 60  # a signature dated further ahead than this is refused


def to_stripe_amount(rupiah: int) -> int:
    """Whole rupiah to Stripe's IDR hundredths."""
    if not isinstance(rupiah, int) or isinstance(rupiah, bool) or rupiah < 0:
        raise ValueError("amounts are non-negative whole rupiah")
    return rupiah * 100


def from_stripe_amount(hundredths: int) -> int:
    """Stripe's IDR hundredths to whole rupiah; a fraction of a rupiah is refused."""
    if hundredths % 100:
        raise ValueError(f"{hundredths} is not a whole rupiah amount")
    return hundredths // 100


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str


class StripeGateway:
    """Talks to Stripe, or to the built-in sandbox when no Stripe key is configured."""

    def __init__(
        self, secret_key: str, webhook_secret: str, api_base: str | None, max_amount: int
    ) -> None:
        addresses = {"api": api_base} if api_base else None
        self.client = stripe.StripeClient(
            secret_key,
            base_addresses=addresses,  # type: ignore[arg-type]
            max_network_retries=2,
        )
        self.webhook_secret = webhook_secret
        self.max_amount = max_amount

    def allows(self, amount: int) -> bool:
        """Whether a card payment of this many rupiah can be made."""
        return MIN_RUPIAH <= amount <= self.max_amount

    def create_checkout_session(
        self,
        *,
        amount: int,
        quantity: int,
        name: str,
        metadata: dict[str, str],
        success_url: str,
        cancel_url: str,
        idempotency_key: str,
        reference: str,
    ) -> CheckoutSession:
        """One line item of `quantity` worker-months. Raises AmountNotAllowed, GatewayError."""
        if not self.allows(amount):
            raise AmountNotAllowed(str(amount))
        if amount % quantity:
            quantity, unit = 1, amount
        else:
            unit = amount // quantity
        params: dict[str, Any] = {
            "mode": "payment",
            "success_url": success_url,
            "cancel_url": cancel_url,
            "client_reference_id": reference,
            "metadata": metadata,
            "payment_intent_data": {"metadata": metadata},
            "line_items": [
                {
                    "quantity": quantity,
                    "price_data": {
                        "currency": "idr",
                        "unit_amount": to_stripe_amount(unit),
                        "product_data": {"name": name},
                    },
                }
            ],
        }
        session = self._call(self.client.v1.checkout.sessions.create, params, idempotency_key)
        return CheckoutSession(id=session["id"], url=session["url"])

    def expire_checkout_session(self, session_id: str) -> str:
        """Make a session unpayable; returns its status. A session that is no longer open
        (paid, or expired already) is left as it is. Raises GatewayError."""
        try:
            session = self.client.v1.checkout.sessions.expire(session_id)
        except stripe.InvalidRequestError as error:
            try:
                session = self.client.v1.checkout.sessions.retrieve(session_id)
            except stripe.StripeError:
                raise GatewayError(error.user_message or str(error)) from error
            if session["status"] == "open":
                raise GatewayError(error.user_message or str(error)) from error
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error)) from error
        return str(session["status"])

    def refund(
        self, *, payment_intent: str, amount: int, idempotency_key: str, metadata: dict[str, str]
    ) -> str:
        """Refund `amount` rupiah of a payment. Raises GatewayError."""
        params = {
            "payment_intent": payment_intent,
            "amount": to_stripe_amount(amount),
            "metadata": metadata,
        }
        refund = self._call(self.client.v1.refunds.create, params, idempotency_key)
        return str(refund["id"])

    def construct_event(self, payload: bytes, signature: str | None) -> dict[str, Any]:
        """Verify the signature on the raw body. Raises InvalidWebhook."""
        if not signature:
            raise InvalidWebhook("missing Stripe-Signature header")
        # What StripeClient.construct_event does, minus building a StripeObject tree only to
        # turn it back into the dict parsed here: the same check, the same tolerance.
        try:
            stripe.WebhookSignature.verify_header(
                payload, signature, self.webhook_secret, stripe.Webhook.DEFAULT_TOLERANCE
            )
            event = json.loads(payload)
        except (ValueError, stripe.SignatureVerificationError) as error:
            raise InvalidWebhook(str(error)) from error
        _refuse_future(signature)
        if not _is_event(event):
            raise InvalidWebhook("the body is not a Stripe event")
        return event

    def _call(self, method: Any, params: dict[str, Any], idempotency_key: str) -> Any:
        try:
            return method(params=params, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as error:
            raise GatewayError(error.user_message or str(error)) from error


def _refuse_future(signature: str) -> None:
    """Stripe's check refuses old signatures only; one dated well ahead is refused too."""
    stamps = [part[2:] for part in signature.split(",") if part.startswith("t=")]
    if not stamps or not stamps[0].isdigit():
        raise InvalidWebhook("no timestamp in the signature")
    if int(stamps[0]) > time.time() + FUTURE_TOLERANCE:
        raise InvalidWebhook("the signature is dated in the future")


def _is_event(event: Any) -> bool:
    """The shape every handled event has: ids and type as strings, an object to act on."""
    if not isinstance(event, dict) or event.get("object") != "event":
        return False
    data = event.get("data")
    return (
        isinstance(event.get("id"), str)
        and isinstance(event.get("type"), str)
        and isinstance(data, dict)
        and isinstance(data.get("object"), dict)
    )


def gateway() -> StripeGateway:
    """The app's gateway; starts the sandbox on first use when no Stripe key is set."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get("stripe_gateway")
    if found is None:
        found = app.extensions["stripe_gateway"] = _build(app)
    return found


def _build(app: Flask) -> StripeGateway:
    config = app.config
    if config.get("STRIPE_SECRET_KEY"):
        return StripeGateway(
            config["STRIPE_SECRET_KEY"],
            config["STRIPE_WEBHOOK_SECRET"],
            None,
            config["STRIPE_MAX_AMOUNT"],
        )
    if config.get("ENV_NAME") == "production":
        raise RuntimeError("the Stripe sandbox is refused in production; set STRIPE_SECRET_KEY")
    # The development config keeps one secret in instance/ for every process; the test config
    # has none, and its single process makes one.
    secret = config.get("STRIPE_WEBHOOK_SECRET") or "whsec_sandbox_" + secrets.token_hex(16)
    sandbox = StripeSandbox(
        webhook_secret=secret,
        webhook_url=config["PUBLIC_BASE_URL"] + "/payments/stripe/webhook",
        auto_deliver=config.get("SANDBOX_AUTO_DELIVER", True),
    )
    api_base = sandbox.start()
    app.extensions["stripe_sandbox"] = sandbox
    return StripeGateway(SANDBOX_KEY, secret, api_base, config["STRIPE_MAX_AMOUNT"])
