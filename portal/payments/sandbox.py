"""The portal's Stripe sandbox: a stateful fake of the Stripe endpoints we call, on loopback."""

from __future__ import annotations

import copy
import hashlib
import hmac
import ipaddress
import json
import secrets
import string
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from typing import Any

from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from portal.payments.sandbox_app import (
    REFUND_PARAMS,
    REFUND_REASONS,
    SESSION_PARAMS,
    ApiError,
    SandboxApp,
    StripeObject,
    expires_at_param,
    idr_amount,
    intent_metadata_param,
    line_item,
    metadata_param,
    refuse_unknown,
    required_param,
)

# The version pinned by stripe==16.1.0 (`stripe.api_version`); events carry it as Stripe does.
API_VERSION = "2026-10-28.endive"
DELIVERY_RETRIES = 3
DELIVERY_TIMEOUT = 10
POLL_INTERVAL = 0.05  # how soon stop() is noticed; the default 0.5 s slows every test
_ID_ALPHABET = string.ascii_letters + string.digits

Deliver = Callable[[bytes, str], int]


def sign_payload(payload: bytes, secret: str, timestamp: int | None = None) -> str:
    """Return the `Stripe-Signature` header Stripe would send for this webhook body."""
    stamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(secret.encode(), f"{stamp}.".encode() + payload, hashlib.sha256)
    return f"t={stamp},v1={digest.hexdigest()}"


def new_id(prefix: str) -> str:
    """A Stripe-looking test-mode id, e.g. `cs_test_4f9Q...`."""
    return f"{prefix}_test_" + "".join(secrets.choice(_ID_ALPHABET) for _ in range(24))


class _QuietHandler(WSGIRequestHandler):
    """Request handler that keeps errors in the log but not one line per request."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class StripeSandbox:
    """In-memory Stripe serving Checkout Sessions and refunds, and sending signed webhooks.

    Events are delivered synchronously after each state change, to `deliver(body, signature)`
    when given, else by HTTP POST to `webhook_url`; with neither they are only stored. With
    `auto_deliver=False` they wait in `pending` until `flush()`, so a test can deliver them on
    its own thread. Sandbox only: it takes `sk_test_sandbox*` keys and listens on loopback;
    refusing it in production configuration is the app's job.
    """

    def __init__(
        self,
        webhook_secret: str,
        webhook_url: str | None = None,
        deliver: Deliver | None = None,
        *,
        auto_deliver: bool = True,
        max_amount: int | None = None,
    ) -> None:
        self.webhook_secret = webhook_secret
        self.webhook_url = webhook_url
        self.deliver = deliver
        self.auto_deliver = auto_deliver
        self.max_amount = max_amount
        self.url: str | None = None
        self._lock = threading.Lock()
        self._app = SandboxApp(self)
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None
        self._clear()

    def reset(self) -> None:
        """Forget every session, charge, refund, event and idempotency key; keep serving.

        For a sandbox shared by many tests whose database rolls back: ids and idempotency
        keys come round again, and a remembered key would refuse the new request.
        """
        with self._lock:
            self._clear()
        self._app.forget_replies()

    def _clear(self) -> None:
        self.sessions: dict[str, StripeObject] = {}
        self.charges: dict[str, StripeObject] = {}
        self.refunds: dict[str, StripeObject] = {}
        self.events: list[StripeObject] = []
        self.deliveries: list[tuple[str, int]] = []
        self.pending: list[str] = []
        self._payloads: dict[str, bytes] = {}
        self._products: dict[str, str] = {}
        self._intent_metadata: dict[str, dict[str, str] | None] = {}

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
        refuse_unknown(params, SESSION_PARAMS)
        if params.get("mode") != "payment":
            raise ApiError(400, "The sandbox supports only mode=payment.", param="mode")
        name, unit_amount, quantity = line_item(params.get("line_items"))
        total = unit_amount * quantity
        if self.max_amount is not None and total > self.max_amount:
            message = f"Amount must be no more than {self.max_amount} (hundredths of IDR)."
            raise ApiError(400, message, param="line_items", code="amount_too_large")
        session, intent_metadata = self._new_session(params, total), intent_metadata_param(params)
        with self._lock:
            self.sessions[session["id"]] = session
            self._products[session["id"]] = name
            self._intent_metadata[session["id"]] = intent_metadata
            return copy.deepcopy(session)

    def retrieve_checkout_session(self, session_id: str) -> StripeObject:
        """GET /v1/checkout/sessions/<id>."""
        with self._lock:
            return copy.deepcopy(self._session(session_id))

    def expire_checkout_session(self, session_id: str) -> StripeObject:
        """POST /v1/checkout/sessions/<id>/expire: only an open session can expire."""
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                message = 'Only Checkout Sessions with a status in ["open"] can be expired.'
                raise ApiError(400, message, param="session")
            events = self._expire(session)
            result = copy.deepcopy(session)
        self._dispatch(events)
        return result

    def _new_session(self, params: StripeObject, total: int) -> StripeObject:
        now = int(time.time())
        session_id = new_id("cs")
        return {
            "id": session_id, "object": "checkout.session", "livemode": False,
            "amount_subtotal": total, "amount_total": total, "currency": "idr",
            "client_reference_id": params.get("client_reference_id"),
            "metadata": metadata_param(params), "mode": "payment",
            "status": "open", "payment_status": "unpaid", "payment_intent": None,
            "url": f"{self.url}/checkout/{session_id}",
            "success_url": required_param(params, "success_url"),
            "cancel_url": required_param(params, "cancel_url"),
            "expires_at": expires_at_param(params.get("expires_at"), now), "created": now,
        }

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
        `cancel_url`. `delayed=True` pays by a delayed method that then succeeds.
        """
        with self._lock:
            session = self._session(session_id)
            if session["status"] != "open":
                raise ApiError(409, f"Checkout session {session_id} is {session['status']}.")
            if action == "abandon":
                events, target = self._expire(session), session["cancel_url"]
            else:
                events = self._outcome(session, action, delayed)
                target = session["success_url"].replace("{CHECKOUT_SESSION_ID}", session_id)
        self._dispatch(events)
        return target

    def _outcome(self, session: StripeObject, action: str, delayed: bool) -> list[str]:
        if action == "fail":
            return self._fail(session)
        if action != "pay":
            raise ApiError(404, f"Unknown checkout action: {action}.")
        return self._pay_later(session) if delayed else self._pay(session)

    def _pay(self, session: StripeObject) -> list[str]:
        session.update(status="complete", url=None, payment_intent=new_id("pi"))
        self._capture(session)
        return [self._record_event("checkout.session.completed", session)]

    def _pay_later(self, session: StripeObject) -> list[str]:
        session.update(status="complete", url=None, payment_intent=new_id("pi"))
        completed = self._record_event("checkout.session.completed", session)
        self._capture(session)
        return [completed, self._record_event("checkout.session.async_payment_succeeded", session)]

    def _fail(self, session: StripeObject) -> list[str]:
        session.update(status="complete", url=None, payment_intent=new_id("pi"))
        return [
            self._record_event("checkout.session.completed", session),
            self._record_event("checkout.session.async_payment_failed", session),
        ]

    def _expire(self, session: StripeObject) -> list[str]:
        session.update(status="expired", url=None)
        return [self._record_event("checkout.session.expired", session)]

    def _capture(self, session: StripeObject) -> None:
        session["payment_status"] = "paid"
        amount, intent = session["amount_total"], session["payment_intent"]
        self.charges[intent] = {
            "id": new_id("ch"), "object": "charge", "livemode": False,
            "payment_intent": intent, "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "refunded": False, "paid": True, "captured": True,
            "status": "succeeded", "currency": session["currency"],
            "metadata": copy.deepcopy(self._charge_metadata(session)), "created": int(time.time()),
        }

    def _charge_metadata(self, session: StripeObject) -> dict[str, str]:
        # Stripe copies only payment_intent_data[metadata] onto the charge; without it the
        # sandbox falls back to the session's metadata, which real Stripe would not do.
        found = self._intent_metadata.get(session["id"])
        return session["metadata"] if found is None else found

    # -- API: refunds --------------------------------------------------------------------

    def create_refund(self, params: StripeObject) -> StripeObject:
        """POST /v1/refunds against a paid payment intent, never beyond what was captured."""
        refuse_unknown(params, REFUND_PARAMS)
        reason = params.get("reason")
        if reason is not None and reason not in REFUND_REASONS:
            raise ApiError(400, f"Invalid reason: must be one of {REFUND_REASONS}.", param="reason")
        with self._lock:
            charge = self._charge(required_param(params, "payment_intent"))
            amount = self._refund_amount(charge, params.get("amount"))
            refund = {
                "id": new_id("re"), "object": "refund", "amount": amount,
                "currency": charge["currency"], "charge": charge["id"],
                "payment_intent": charge["payment_intent"], "status": "succeeded",
                "reason": reason, "metadata": metadata_param(params), "created": int(time.time()),
            }
            self.refunds[refund["id"]] = refund
            charge["amount_refunded"] += amount
            charge["refunded"] = charge["amount_refunded"] == charge["amount"]
            events = [self._record_event("charge.refunded", charge)]
            result = copy.deepcopy(refund)
        self._dispatch(events)
        return result

    def _charge(self, payment_intent: str) -> StripeObject:
        charge = self.charges.get(payment_intent)
        if charge is not None:
            return charge
        if any(s["payment_intent"] == payment_intent for s in self.sessions.values()):
            message = "This PaymentIntent does not have a successful charge to refund."
            raise ApiError(400, message, param="payment_intent", code="charge_not_refundable")
        message = f"No such payment_intent: '{payment_intent}'"
        raise ApiError(400, message, param="payment_intent", code="resource_missing")

    @staticmethod
    def _refund_amount(charge: StripeObject, requested: Any) -> int:
        remaining = charge["amount"] - charge["amount_refunded"]
        if remaining == 0:
            message = f"Charge {charge['id']} has already been refunded."
            raise ApiError(400, message, code="charge_already_refunded")
        amount = remaining if requested is None else idr_amount(requested, "amount")
        if amount > remaining:
            message = f"Refund amount ({amount}) is greater than unrefunded amount ({remaining})."
            raise ApiError(400, message, param="amount", code="amount_too_large")
        return amount

    # -- events and delivery -------------------------------------------------------------

    def _record_event(self, event_type: str, obj: StripeObject) -> str:
        """Store an event holding a snapshot of obj; the caller holds the lock."""
        event: StripeObject = {
            "id": new_id("evt"), "object": "event", "api_version": API_VERSION,
            "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None}, "type": event_type,
            "data": {"object": copy.deepcopy(obj)},
        }
        self.events.append(event)
        self._payloads[event["id"]] = json.dumps(event, indent=2).encode()
        return event["id"]

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
            url, data=payload, method="POST",
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
