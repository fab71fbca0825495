"""The portal's Stripe sandbox: a stateful fake of the Stripe endpoints we call, on loopback.

The objects it returns and the events it sends carry every field of Stripe's current API
version (built in `sandbox_objects`); the wire side (routes, request parameters checked as
Stripe checks them, idempotency, the checkout page) is `sandbox_app`. The conformance test,
tests/payments/test_stripe_conformance.py, holds both to the types of the pinned `stripe`
package, which Stripe generates from its published OpenAPI description.
"""

from __future__ import annotations

import copy
import hashlib
import hmac
import ipaddress
import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from portal.payments import sandbox_objects as objects
from portal.payments.sandbox_app import (
    REFUND_PARAMS,
    REFUND_REASONS,
    SESSION_PARAMS,
    SandboxApp,
    check_params,
)
from portal.payments.sandbox_objects import (
    API_VERSION,
    AUTOMATIC,
    DISPUTE_REASONS,
    ApiError,
    Origin,
    StripeObject,
    expires_at_param,
    intent_metadata_param,
    line_item,
    metadata_param,
    new_id,
    refund_amount,
    required_param,
)

__all__ = ["API_VERSION", "MIN_AMOUNT", "StripeSandbox", "new_id", "sign_payload"]

MIN_AMOUNT = 1_000_000  # Rp10.000 in hundredths: the portal's minimum, Stripe's USD 0.50
DELIVERY_RETRIES = 3
DELIVERY_TIMEOUT = 10
POLL_INTERVAL = 0.05  # how soon stop() is noticed; the default 0.5 s slows every test
CLOSED_DISPUTE = ("won", "lost")

Deliver = Callable[[bytes, str], int]


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return the `Stripe-Signature` header Stripe would send for this webhook body."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps errors in the log but not one line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeSandbox:
    """In-memory Stripe serving Checkout Sessions and refunds, and sending signed webhooks.

    Events are delivered synchronously after each state change, to `deliver(body, signature)`
    when given, else by HTTP POST to `webhook_url`; with neither they are only stored. With
    `auto_deliver=False` they wait in `pending` until `flush()`, so a test can deliver them on
    its own thread. Besides the API, methods stand for what happens elsewhere at Stripe: a
    refund in the dashboard, a dispute opened and decided by the card network. Sandbox only:
    it takes `sk_test_sandbox*` keys and listens on loopback; refusing it in production
    configuration is the app's job.
    """

    def __init__(
        self,
        webhook_secret: str,
        webhook_url: str | None = None,
        deliver: Deliver | None = None,
        *,
        auto_deliver: bool = True,
        max_amount: int | None = None,
        min_amount: int = MIN_AMOUNT,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.deliver = deliver
        self.auto_deliver = auto_deliver
        self.max_amount = max_amount
        self.min_amount = min_amount
        self.url: str | None = None
        self._lock = threading.Lock()
        self._app = SandboxApp(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clear()

    def reset(self) -> None:
        """Forget every session, charge, refund, dispute, event and idempotency key; keep serving.

        For a sandbox shared by many tests whose database rolls back: ids and idempotency
        keys come round again, and a remembered key would refuse the new request.
        """
        with self._lock:
            self._clear()
        self._app.forget_replies()

    def _clear(self) -> None:
        self.sessions: dict[str, StripeObject] = {}
        self.charges: dict[str, StripeObject] = {}  # by payment intent
        self.refunds: dict[str, StripeObject] = {}
        self.disputes: dict[str, StripeObject] = {}
        self.events: list[StripeObject] = []
        self.deliveries: list[tuple[str, int]] = []
        self.pending: list[str] = []
        self._payloads: dict[str, bytes] = {}
        self._products: dict[str, str] = {}
        self._intent_metadata: dict[str, dict[str, str]] = {}

    # -- server lifecycle ----------------------------------------------------------------

    def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve the sandbox on a loopback address in a daemon thread; return its base URL."""
        if self._server is not None:
            raise RuntimeError("The Stripe sandbox is already running.")
        _require_loopback(host)
        server = make_server(host, port, self._app, threaded=True, request_handler=_QuietHandler)
        self._server = server
        self.url = f"http://{f'[{host}]' if ':' in host else host}:{server.port}"
        self._thread = threading.Thread(
            target=server.serve_forever, args=(POLL_INTERVAL,), name="stripe-sandbox", daemon=True
        )
        self._thread.start()
        return self.url

    def stop(self) -> None:
        """Stop serving, close the listening socket and join the server thread."""
        if self._server is None:
            return
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = self._thread = None

    def __enter__(self) -> StripeSandbox:
        if self._server is None:
            self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # -- API: checkout sessions ----------------------------------------------------------

    def create_checkout_session(self, params: StripeObject) -> StripeObject:
        """POST /v1/checkout/sessions: one IDR line item, mode=payment."""
        check_params(params, SESSION_PARAMS)
        if params.get("mode") != "payment":
            raise ApiError(400, "The sandbox supports only mode=payment.", param="mode")
        name, unit_amount, quantity = line_item(params.get("line_items"))
        session = self._new_session(params, self._total(unit_amount * quantity))
        with self._lock:
            self.sessions[session["id"]] = session
            self._products[session["id"]] = name
            self._intent_metadata[session["id"]] = intent_metadata_param(params) or {}
            return copy.deepcopy(session)

    def _total(self, total: int) -> int:
        if self.max_amount is not None and total > self.max_amount:
            message = f"Amount must be no more than {self.max_amount} (hundredths of IDR)."
            raise ApiError(400, message, param="line_items", code="amount_too_large")
        if total < self.min_amount:
            message = (
                f"The Checkout Session's total amount due must add up to at least "
                f"{self.min_amount} (hundredths of IDR)."
            )
            raise ApiError(400, message, param="line_items", code="amount_too_small")
        return total

    def retrieve_checkout_session(self, session_id: str) -> StripeObject:
        """GET /v1/checkout/sessions/<id>."""
        with self._lock:
            return copy.deepcopy(self._session(session_id))

    def expire_checkout_session(self, session_id: str, origin: Origin = AUTOMATIC) -> StripeObject:
        """POST /v1/checkout/sessions/<id>/expire: only an open session can expire."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                message = 'Only Checkout Sessions with a status in ["open"] can be expired.'
                raise ApiError(400, message, param="session")
            events = self._expire(session, origin)
            result = copy.deepcopy(session)
        self._dispatch(events)
        return result

    def _new_session(self, params: StripeObject, total: int) -> StripeObject:
        now, session_id = int(time.time()), objects.new_session_id()
        required_param(params, "success_url")
        required_param(params, "cancel_url")
        return objects.checkout_session(
            session_id,
            params,
            total,
            url=f"{self.url}/checkout/{session_id}",
            metadata=metadata_param(params),
            expires_at=expires_at_param(params.get("expires_at"), now),
            now=now,
        )

    def _session(self, session_id: str) -> StripeObject:
        session = self.sessions.get(session_id)
        if session is None:
            message = f"No such checkout.session: '{session_id}'"
            raise ApiError(404, message, param="session", code="resource_missing")
        return session

    # -- the sandbox checkout page -------------------------------------------------------

    def checkout_page(self, session_id: str) -> tuple[StripeObject, str]:
        """The session and product name shown on the sandbox checkout page."""
        with self._lock:
            return copy.deepcopy(self._session(session_id)), self._products[session_id]

    def complete_checkout(self, session_id: str, action: str, *, delayed: bool = False) -> str:
        """Pay, fail or abandon an open session as the customer; return the redirect URL.

        `fail` models a delayed payment method that fails later, so, as Stripe does for
        delayed methods, the customer is sent to `success_url`; only `abandon` goes to
        `cancel_url`. `delayed=True` pays by a delayed method that then succeeds. No API
        request causes these events, so their `request.id` is null.
        """
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise ApiError(409, f"Checkout session {session_id} is {session['status']}.")
            if action == "abandon":
                events, target = self._expire(session, AUTOMATIC), session["cancel_url"]
            else:
                events = self._outcome(session, action, delayed)
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        self._dispatch(events)
        return target

    def _outcome(self, session: StripeObject, action: str, delayed: bool) -> list[str]:
        if action not in ("pay", "fail"):
            raise ApiError(404, f"Unknown checkout action: {action}.")
        self._complete(session)
        if action == "pay" and not delayed:
            self._capture(session)
            return [self._record_event("checkout.session.completed", session)]
        completed = self._record_event("checkout.session.completed", session)
        if action == "fail":
            return [completed, self._record_event("checkout.session.async_payment_failed", session)]
        self._capture(session)
        return [completed, self._record_event("checkout.session.async_payment_succeeded", session)]

    def _complete(self, session: StripeObject) -> None:
        session.update(
            status="complete",
            url=None,
            payment_intent=new_id("pi"),
            customer_details=objects.customer_details(session),
            collected_information=objects.collected_information(),
        )

    def _expire(self, session: StripeObject, origin: Origin) -> list[str]:
        session.update(status="expired", url=None)
        return [self._record_event("checkout.session.expired", session, origin)]

    def _capture(self, session: StripeObject) -> None:
        """Stripe copies only payment_intent_data[metadata] onto the charge."""
        session["payment_status"] = "paid"
        metadata = self._intent_metadata[session["id"]]
        self.charges[session["payment_intent"]] = objects.charge(
            session, metadata, int(time.time())
        )

    # -- API: refunds, and refunds made in the dashboard --------------------------------

    def create_refund(self, params: StripeObject, origin: Origin = AUTOMATIC) -> StripeObject:
        """POST /v1/refunds against a paid payment intent, never beyond what was captured."""
        check_params(params, REFUND_PARAMS)
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise ApiError(400, f"Invalid reason: must be one of {REFUND_REASONS}.", param="reason")
        with self._lock:
            charge = self._refundable(required_param(params, "payment_intent"))
            amount = refund_amount(charge, params.get("amount"))
            refund, events = self._refund(charge, amount, reason, metadata_param(params), origin)
        self._dispatch(events)
        return refund

    def refund_in_dashboard(self, payment_intent: str, amount: int | None = None) -> str:
        """A refund a person makes in the Stripe dashboard; returns the refund id.

        `amount` is in hundredths of IDR, the whole unrefunded rest when None. Like an API
        refund it sends `charge.refunded`, here with the dashboard's own request id and
        idempotency key; the refund has no metadata. Raises `ApiError` as POST /v1/refunds.
        """
        with self._lock:
            charge = self._refundable(payment_intent)
            amount = refund_amount(charge, amount)
            refund, events = self._refund(charge, amount, None, {}, Origin.dashboard())
        self._dispatch(events)
        return str(refund["id"])

    def _refund(
        self,
        charge: StripeObject,
        amount: int,
        reason: str | None,
        metadata: dict[str, str],
        origin: Origin,
    ) -> tuple[StripeObject, list[str]]:
        """Record the refund and send `charge.refunded` with the charge's new totals (and, as
        in Stripe's API since 2022-11-15, no `refunds` list); the caller holds the lock."""
        refund = objects.refund(charge, amount, reason, metadata, int(time.time()))
        self.refunds[refund["id"]] = refund
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount"]
        return copy.deepcopy(refund), [self._record_event("charge.refunded", charge, origin)]

    def _charge(self, payment_intent: str) -> StripeObject:
        charge = self.charges.get(payment_intent)
        if charge is not None:
            return charge
        if any(s["payment_intent"] == payment_intent for s in self.sessions.values()):
            message = "This PaymentIntent does not have a successful charge to refund."
            raise ApiError(400, message, param="payment_intent", code="charge_not_refundable")
        message = f"No such payment_intent: '{payment_intent}'"
        raise ApiError(400, message, param="payment_intent", code="resource_missing")

    def _refundable(self, payment_intent: str) -> StripeObject:
        """The charge, unless a dispute of it is open or lost: Stripe refuses those refunds."""
        charge = self._charge(payment_intent)
        if any(
            d["charge"] == charge["id"] and d["status"] != "won" for d in self.disputes.values()
        ):
            message = f"Charge {charge['id']} has been disputed and cannot be refunded."
            raise ApiError(400, message, param="payment_intent", code="charge_disputed")
        return charge

    # -- disputes, opened and decided by the card network --------------------------------

    def open_dispute(self, payment_intent: str, reason: str = "fraudulent") -> str:
        """The cardholder's bank disputes a paid charge; returns the dispute id.

        Sends `charge.dispute.created` (status `needs_response`, the unrefunded amount, the
        charge's payment_intent, empty metadata as at Stripe) and marks the charge disputed.
        Raises ValueError for a reason Stripe does not have, ApiError for an unknown intent.
        """
        if reason not in DISPUTE_REASONS:
            raise ValueError(f"Stripe has no dispute reason {reason!r}.")
        with self._lock:
            charge = self._charge(payment_intent)
            if charge["amount_refunded"] == charge["amount"]:
                raise ValueError(f"Charge {charge['id']} was refunded in full.")
            dispute = objects.dispute(charge, reason, int(time.time()))
            self.disputes[dispute["id"]] = dispute
            charge["disputed"] = True
            events = [self._record_event("charge.dispute.created", dispute)]
        self._dispatch(events)
        return str(dispute["id"])

    def close_dispute(self, dispute_id: str, won: bool) -> str:
        """The network decides an open dispute; sends `charge.dispute.closed` with status `won`
        or `lost` and returns that event's id. Raises KeyError, or ValueError when closed."""
        with self._lock:
            dispute = self.disputes[dispute_id]
            if dispute["status"] in CLOSED_DISPUTE:
                raise ValueError(f"Dispute {dispute_id} is already {dispute['status']}.")
            dispute["status"] = "won" if won else "lost"
            events = [self._record_event("charge.dispute.closed", dispute)]
        self._dispatch(events)
        return events[0]

    # -- events and delivery -------------------------------------------------------------

    def _record_event(self, event_type: str, obj: StripeObject, origin: Origin = AUTOMATIC) -> str:
        """Store an event holding a snapshot of obj; the caller holds the lock."""
        event = objects.event(event_type, copy.deepcopy(obj), origin)
        self.events.append(event)
        self._payloads[event["id"]] = json.dumps(event, indent=2).encode()
        return str(event["id"])

    def _dispatch(self, event_ids: list[str]) -> None:
        if not self.auto_deliver:
            with self._lock:
                self.pending.extend(event_ids)
            return
        for event_id in event_ids:
            self._send(event_id)

    def flush(self) -> None:
        """Deliver the events held back by `auto_deliver=False`, in order, on this thread."""
        with self._lock:
            event_ids, self.pending = self.pending, []
        for event_id in event_ids:
            self._send(event_id)

    def resend(self, event_id: str) -> int:
        """Deliver a stored event again, byte for byte and freshly signed, as Stripe retries."""
        if event_id not in self._payloads:
            raise KeyError(event_id)
        return self._send(event_id)

    def payload(self, event_id: str) -> bytes:
        """The exact body delivered for an event."""
        return self._payloads[event_id]

    def _send(self, event_id: str) -> int:
        """Deliver with up to DELIVERY_RETRIES retries on non-2xx; 0 means no answer."""
        if self.deliver is None and self.webhook_url is None:
            return 0
        payload, status = self._payloads[event_id], 0
        for _attempt in range(1 + DELIVERY_RETRIES):
            status = self._post(payload, sign_payload(payload, self.webhook_secret))
            with self._lock:
                self.deliveries.append((event_id, status))
            if 200 <= status < 300:
                break
        return status

    def _post(self, payload: bytes, signature: str) -> int:
        if self.deliver is not None:
            return self.deliver(payload, signature)
        url = str(self.webhook_url)
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"webhook_url must be http(s), not {url!r}.")
        # The scheme is checked just above, which is what S310 asks for.
        request = urllib.request.Request(  # noqa: S310
            url,
            data=payload,
            method="POST",
            headers={
                "Content-Type": "application/json; charset=utf-8",
                "Stripe-Signature": signature,
                "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=DELIVERY_TIMEOUT) as response:  # noqa: S310
                return int(response.status)
        except urllib.error.HTTPError as exc:
            exc.close()
            return exc.code
        except OSError:
            return 0


def _require_loopback(host: str) -> None:
    if host == "localhost":
        return
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if not loopback:
        raise ValueError(f"The Stripe sandbox listens on loopback only, not {host!r}.")
