"""Stripe's data as the sandbox gives and takes it: objects, errors, request parameters.

The objects carry the field sets of the API version stripe==16.1.0 pins (`2026-10-28.endive`,
as the package's generated types describe it): a field
Stripe always returns is always here, `null` when the sandbox has nothing to put in it;
fields Stripe returns only when expanded or when some feature is in use are left out (so a
charge carries no `refunds` list, as since API version 2022-11-15). The conformance test
(tests/payments/test_stripe_conformance.py) holds every object here to Stripe's schemas.
Request parameters are first checked by `sandbox_app.check_params`; the helpers here read
the checked values and refuse what the sandbox does not model.
"""

from __future__ import annotations

import secrets
import string
import time
import uuid
from dataclasses import dataclass
from typing import Any

StripeObject = dict[str, Any]

# The version pinned by stripe==16.1.0 (`stripe.api_version`); events carry it as Stripe does.
API_VERSION = "2026-10-28.endive"
ID_LENGTH = 24  # pi_, ch_, re_, dp_, evt_, pm_, txn_: 24 alphanumerics after the prefix
REQUEST_ID_LENGTH = 14  # Stripe's request ids are shorter: req_ and 14 alphanumerics
SESSION_ID_LENGTH = 56  # test-mode sessions: cs_test_a1 and 56 more
DISPUTE_RESPONSE_DAYS = 7
DISPUTE_REASONS = frozenset(
    {
        "bank_cannot_process",
        "check_returned",
        "credit_not_processed",
        "customer_initiated",
        "debit_not_authorized",
        "duplicate",
        "fraudulent",
        "general",
        "incorrect_account_details",
        "insufficient_funds",
        "noncompliant",
        "product_not_received",
        "product_unacceptable",
        "subscription_canceled",
        "unrecognized",
    }
)
SANDBOX_EMAIL = "sponsor@example.com"
SESSION_MIN_LIFETIME = 30 * 60
SESSION_MAX_LIFETIME = 24 * 60 * 60
DOC_URL = "https://stripe.com/docs/error-codes/"
_ALPHABET = string.ascii_letters + string.digits
_EVIDENCE_FIELDS = (
    "access_activity_log",
    "appeal",
    "billing_address",
    "cancellation_policy",
    "cancellation_policy_disclosure",
    "cancellation_rebuttal",
    "customer_communication",
    "customer_email_address",
    "customer_name",
    "customer_purchase_ip",
    "customer_signature",
    "duplicate_charge_documentation",
    "duplicate_charge_explanation",
    "duplicate_charge_id",
    "product_description",
    "receipt",
    "refund_policy",
    "refund_policy_disclosure",
    "refund_refusal_explanation",
    "service_date",
    "service_documentation",
    "shipping_address",
    "shipping_carrier",
    "shipping_date",
    "shipping_documentation",
    "shipping_tracking_number",
    "uncategorized_file",
    "uncategorized_text",
)


@dataclass(frozen=True)
class Origin:
    """What caused an event: an API request (its id and Idempotency-Key), or nothing.

    Events that follow an API request, the sandbox's or the dashboard's, carry its
    `request.id`; those Stripe causes on its own (the customer on the checkout page, an
    expiry, a card network's dispute) carry `request.id` null, as the spec says.
    """

    request_id: str | None = None
    idempotency_key: str | None = None

    @classmethod
    def dashboard(cls) -> Origin:
        """A person's action in the Stripe dashboard: its own request and idempotency key."""
        return cls(new_request_id(), str(uuid.uuid4()))


AUTOMATIC = Origin()


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def new_id(prefix: str) -> str:
    """A Stripe-looking id, e.g. `pi_3MtwBwLkdIwHu7ix28a3tqPa`; test mode shows in `livemode`."""
    return f"{prefix}_{_random(ID_LENGTH)}"


def new_session_id() -> str:
    """A test-mode Checkout Session id, which Stripe does mark: `cs_test_a1...`."""
    return f"cs_test_a1{_random(SESSION_ID_LENGTH)}"


def new_request_id() -> str:
    """A Stripe request id, as in the `Request-Id` header: `req_` and 14 alphanumerics."""
    return f"req_{_random(REQUEST_ID_LENGTH)}"


def _address(country: str | None = None) -> StripeObject:
    return {
        "city": None,
        "country": country,
        "line1": None,
        "line2": None,
        "postal_code": None,
        "state": None,
    }


# -- errors and request parameters --------------------------------------------------------


class ApiError(Exception):
    """A Stripe-shaped API error: HTTP status plus the `error` object Stripe returns."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        kind: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.kind = kind
        self.param = param
        self.code = code

    def to_dict(self) -> StripeObject:
        error: StripeObject = {"type": self.kind, "message": self.message}
        if self.param:
            error["param"] = self.param
        if self.code:
            error["code"] = self.code
            error["doc_url"] = DOC_URL + self.code.replace("_", "-")
        return {"error": error}


def required_param(params: StripeObject, name: str) -> Any:
    """The parameter's value; Stripe's parameter_missing error when absent or empty."""
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(
            400, f"Missing required param: {name}.", param=name, code="parameter_missing"
        )
    return value


def integer(value: Any, param: str) -> int:
    """A form value as an integer, or Stripe's invalid-integer error."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid integer: {value}", param=param) from None


def idr_amount(value: Any, param: str) -> int:
    """IDR is a two-decimal currency at Stripe; the sandbox takes whole rupiah only."""
    amount = integer(value, param)
    if amount <= 0 or amount % 100:
        message = (
            f"Invalid IDR amount {value}: amounts are in hundredths of a rupiah and must be "
            "a positive multiple of 100."
        )
        raise ApiError(400, message, param=param, code="invalid_charge_amount")
    return amount


def line_item(items: Any) -> tuple[str, int, int]:
    """Validate the single price_data line item; return (product name, unit amount, quantity)."""
    if not isinstance(items, list) or len(items) != 1 or not isinstance(items[0], dict):
        raise ApiError(400, "The sandbox takes exactly one line item.", param="line_items")
    item, prefix = items[0], "line_items[0]"
    price = item.get("price_data")
    if not isinstance(price, dict):
        raise ApiError(400, "The line item needs price_data.", param=f"{prefix}[price_data]")
    if price.get("currency") != "idr":
        message = f"Invalid currency {price.get('currency')!r}: the sandbox takes only 'idr'."
        raise ApiError(400, message, param=f"{prefix}[price_data][currency]")
    unit_amount = idr_amount(price.get("unit_amount"), f"{prefix}[price_data][unit_amount]")
    product = price.get("product_data")
    name = product.get("name") if isinstance(product, dict) else None
    if not name:
        param = f"{prefix}[price_data][product_data][name]"
        raise ApiError(
            400, f"Missing required param: {param}.", param=param, code="parameter_missing"
        )
    quantity = integer(required_param(item, "quantity"), f"{prefix}[quantity]")
    if quantity < 1:
        raise ApiError(400, "Quantity must be at least 1.", param=f"{prefix}[quantity]")
    return name, unit_amount, quantity


def refund_amount(charge: StripeObject, requested: Any) -> int:
    """What a refund of `requested` (None: all that is left) takes from the charge."""
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining == 0:
        message = f"Charge {charge['id']} has already been refunded."
        raise ApiError(400, message, code="charge_already_refunded")
    amount = remaining if requested is None else idr_amount(requested, "amount")
    if amount > remaining:
        message = f"Refund amount ({amount}) is greater than unrefunded amount ({remaining})."
        raise ApiError(400, message, param="amount", code="amount_too_large")
    return amount


def metadata_param(params: StripeObject) -> dict[str, str]:
    """The metadata of checked params (see `check_params`); an empty string unsets it."""
    return dict(params.get("metadata") or {})


def intent_metadata_param(params: StripeObject) -> dict[str, str] | None:
    """`payment_intent_data[metadata]`, the only part of payment_intent_data the sandbox models."""
    data = params.get("payment_intent_data")
    return None if data is None else metadata_param(data)


def expires_at_param(value: Any, now: int) -> int:
    if value is None:
        return now + SESSION_MAX_LIFETIME
    expires_at = integer(value, "expires_at")
    if not now + SESSION_MIN_LIFETIME <= expires_at <= now + SESSION_MAX_LIFETIME:
        message = "expires_at must be between 30 minutes and 24 hours after creation."
        raise ApiError(400, message, param="expires_at")
    return expires_at


# -- checkout.session ----------------------------------------------------------------------


def checkout_session(
    session_id: str,
    params: StripeObject,
    total: int,
    *,
    url: str,
    metadata: dict[str, str],
    expires_at: int,
    now: int,
) -> StripeObject:
    """An open, unpaid hosted Checkout Session in payment mode with one IDR line item."""
    return {
        "id": session_id,
        "object": "checkout.session",
        "adaptive_pricing": {"enabled": False},
        "after_expiration": None,
        "allow_promotion_codes": None,
        "amount_subtotal": total,
        "amount_total": total,
        "automatic_tax": {"enabled": False, "liability": None, "provider": None, "status": None},
        "billing_address_collection": None,
        "cancel_url": params.get("cancel_url"),
        "client_reference_id": params.get("client_reference_id"),
        "client_secret": None,
        "collected_information": None,
        "consent": None,
        "consent_collection": None,
        "created": now,
        "currency": "idr",
        "currency_conversion": None,
        "custom_fields": [],
        "custom_text": {
            "after_submit": None,
            "shipping_address": None,
            "submit": None,
            "terms_of_service_acceptance": None,
        },
        "customer": None,
        "customer_account": None,
        "customer_creation": "if_required",
        "customer_details": None,
        "customer_email": params.get("customer_email"),
        "discounts": [],
        "expires_at": expires_at,
        "integration_identifier": None,
        "invoice": None,
        "invoice_creation": _invoice_creation(),
        "livemode": False,
        "locale": params.get("locale"),
        "managed_payments": None,
        "metadata": metadata,
        "mode": "payment",
        "origin_context": None,
        "payment_intent": None,
        "payment_link": None,
        "payment_method_collection": "if_required",
        "payment_method_configuration_details": None,
        "payment_method_options": {},
        "payment_method_types": ["card"],
        "payment_status": "unpaid",
        "permissions": None,
        "phone_number_collection": {"enabled": False},
        "recovered_from": None,
        "saved_payment_method_options": None,
        "setup_intent": None,
        "shipping_address_collection": None,
        "shipping_cost": None,
        "shipping_options": [],
        "status": "open",
        "submit_type": params.get("submit_type"),
        "subscription": None,
        "success_url": params.get("success_url"),
        "total_details": {"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        "ui_mode": "hosted_page",
        "url": url,
        "wallet_options": None,
    }


def _invoice_creation() -> StripeObject:
    return {
        "enabled": False,
        "invoice_data": {
            "account_tax_ids": None,
            "custom_fields": None,
            "description": None,
            "footer": None,
            "issuer": None,
            "metadata": {},
            "rendering_options": None,
        },
    }


def customer_details(session: StripeObject) -> StripeObject:
    """What Checkout collected from the customer who completed the session."""
    return {
        "address": _address("ID"),
        "business_name": None,
        "email": session["customer_email"] or SANDBOX_EMAIL,
        "individual_name": None,
        "name": None,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }


def collected_information() -> StripeObject:
    """Checkout's `collected_information` for a completed session that asked for nothing."""
    return {"business_name": None, "individual_name": None, "shipping_details": None}


# -- charge ---------------------------------------------------------------------------------


def charge(session: StripeObject, metadata: dict[str, str], now: int) -> StripeObject:
    """The succeeded card charge behind a paid session's payment intent."""
    amount = session["amount_total"]
    return {
        "id": new_id("ch"),
        "object": "charge",
        "amount": amount,
        "amount_captured": amount,
        "amount_refunded": 0,
        "application": None,
        "application_fee": None,
        "application_fee_amount": None,
        "balance_transaction": new_id("txn"),
        "billing_details": {
            "address": _address("ID"),
            "email": session["customer_details"]["email"],
            "name": None,
            "phone": None,
            "tax_id": None,
        },
        "calculated_statement_descriptor": "PIJAR SEMAR",
        "captured": True,
        "created": now,
        "currency": session["currency"],
        "customer": None,
        "description": None,
        "disputed": False,
        "failure_balance_transaction": None,
        "failure_code": None,
        "failure_message": None,
        "fraud_details": {},
        "livemode": False,
        "metadata": dict(metadata),
        "on_behalf_of": None,
        "outcome": _outcome(),
        "paid": True,
        "payment_intent": session["payment_intent"],
        "payment_method": new_id("pm"),
        "payment_method_details": {"card": _card(amount), "type": "card"},
        "receipt_email": None,
        "receipt_number": None,
        "receipt_url": None,
        "refunded": False,
        "review": None,
        "shipping": None,
        "source": None,
        "source_transfer": None,
        "statement_descriptor": None,
        "statement_descriptor_suffix": None,
        "status": "succeeded",
        "transfer_data": None,
        "transfer_group": None,
    }


def _outcome() -> StripeObject:
    return {
        "advice_code": None,
        "network_advice_code": None,
        "network_decline_code": None,
        "network_status": "approved_by_network",
        "reason": None,
        "risk_level": "normal",
        "risk_score": 20,
        "seller_message": "Payment complete.",
        "type": "authorized",
    }


def _card(amount: int) -> StripeObject:
    """Stripe's test Visa 4242 4242 4242 4242, as a charge's payment_method_details.card."""
    return {
        "amount_authorized": None,
        "authorization_code": None,
        "brand": "visa",
        "checks": {
            "address_line1_check": None,
            "address_postal_code_check": None,
            "cvc_check": "pass",
        },
        "country": "US",
        "electronic_commerce_indicator": None,
        "exp_month": 12,
        "exp_year": 2034,
        "extended_authorization": {"status": "disabled"},
        "fingerprint": None,
        "funding": "credit",
        "incremental_authorization": {"status": "unavailable"},
        "installments": None,
        "last4": "4242",
        "mandate": None,
        "multicapture": {"status": "unavailable"},
        "network": "visa",
        "network_token": {"used": False},
        "network_transaction_id": None,
        "overcapture": {"maximum_amount_capturable": amount, "status": "unavailable"},
        "regulated_status": "unregulated",
        "three_d_secure": None,
        "transaction_link_id": None,
        "wallet": None,
    }


# -- refund ---------------------------------------------------------------------------------


def refund(
    charge: StripeObject, amount: int, reason: str | None, metadata: dict[str, str], now: int
) -> StripeObject:
    """A succeeded refund of `amount` of a card charge."""
    return {
        "id": new_id("re"),
        "object": "refund",
        "amount": amount,
        "balance_transaction": new_id("txn"),
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "customer": charge["customer"],
        "customer_account": None,
        "destination_details": {
            "card": {
                "reference_status": "pending",
                "reference_type": "acquirer_reference_number",
                "type": "refund",
            },
            "type": "card",
        },
        "metadata": dict(metadata),
        "payment_intent": charge["payment_intent"],
        "payment_method": charge["payment_method"],
        "reason": reason,
        "receipt_number": None,
        "source_transfer_reversal": None,
        "status": "succeeded",
        "transfer_reversal": None,
    }


# -- dispute --------------------------------------------------------------------------------


def dispute(charge: StripeObject, reason: str, now: int) -> StripeObject:
    """A card network's dispute of what is left of a charge; Stripe gives it no metadata."""
    return {
        "id": new_id("dp"),
        "object": "dispute",
        "amount": charge["amount"] - charge["amount_refunded"],
        "balance_transactions": [],
        "charge": charge["id"],
        "created": now,
        "currency": charge["currency"],
        "enhanced_eligibility_types": [],
        "evidence": {**dict.fromkeys(_EVIDENCE_FIELDS), "enhanced_evidence": {}},
        "evidence_details": {
            "due_by": now + DISPUTE_RESPONSE_DAYS * 86400,
            "enhanced_eligibility": {},
            "has_evidence": False,
            "past_due": False,
            "submission_count": 0,
            "submission_method": "not_submitted",
        },
        "intended_submission_method": None,
        "is_charge_refundable": False,
        "livemode": False,
        "metadata": {},
        "payment_intent": charge["payment_intent"],
        "payment_method_details": {
            "card": {
                "brand": "visa",
                "case_type": "chargeback",
                "network": "visa",
                "network_reason_code": _network_code(reason),
            },
            "type": "card",
        },
        "reason": reason,
        "status": "needs_response",
    }


def _network_code(reason: str) -> str:
    # Visa's reason codes for the two reasons sponsors are likeliest to meet; 13.1 otherwise.
    return {"fraudulent": "10.4", "duplicate": "12.6.1"}.get(reason, "13.1")


# -- event ----------------------------------------------------------------------------------


def event(event_type: str, obj: StripeObject, origin: Origin) -> StripeObject:
    """An event carrying a snapshot of obj (the caller copies it)."""
    return {
        "id": new_id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": origin.request_id, "idempotency_key": origin.idempotency_key},
        "type": event_type,
    }
