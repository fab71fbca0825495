"""Stripe sandbox wire side: request parameters, API routes, idempotency, checkout page."""

from __future__ import annotations

import html
import json
import re
import secrets
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

API_KEY_PREFIX = "sk_test_sandbox"
SESSION_MIN_LIFETIME = 30 * 60
SESSION_MAX_LIFETIME = 24 * 60 * 60
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
SESSION_PARAMS = frozenset({
    "mode", "success_url", "cancel_url", "line_items", "metadata", "client_reference_id",
    "expires_at", "customer_email", "locale", "submit_type", "expand", "payment_intent_data",
})
REFUND_PARAMS = frozenset({"payment_intent", "amount", "metadata", "reason", "expand"})
StripeObject = dict[str, Any]

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


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
        return {"error": error}


class Backend(Protocol):
    """The sandbox state the routes call; every method raises `ApiError` on a bad request."""

    def create_checkout_session(self, params: StripeObject) -> StripeObject: ...
    def retrieve_checkout_session(self, session_id: str) -> StripeObject: ...
    def expire_checkout_session(self, session_id: str) -> StripeObject: ...
    def create_refund(self, params: StripeObject) -> StripeObject: ...
    def checkout_page(self, session_id: str) -> tuple[StripeObject, str]: ...
    def complete_checkout(self, session_id: str, action: str, *, delayed: bool = False) -> str: ...


@dataclass(frozen=True)
class _StoredReply:
    path: str
    body: bytes
    status: int
    payload: bytes


def parse_form(body: bytes) -> StripeObject:
    """Turn Stripe's form encoding (`a[b][0][c]=v`) into nested dicts and lists of strings."""
    root: StripeObject = {}
    for key, value in parse_qsl(body.decode("utf-8"), keep_blank_values=True):
        *parents, leaf = _key_parts(key)
        node = root
        for part in parents:
            node = node.setdefault(part, {})
            if not isinstance(node, dict):
                raise ApiError(400, f"Invalid parameter: {key}.", param=key)
        node[leaf] = value
    return _listify(root)


def _key_parts(key: str) -> list[str]:
    match = _KEY.fullmatch(key)
    if match is None:
        raise ApiError(400, f"Invalid parameter name: {key}.", param=key)
    return [match.group(1), *_KEY_PART.findall(match.group(2))]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if node and sorted(node) == sorted(str(i) for i in range(len(node))):
        return [_listify(node[str(i)]) for i in range(len(node))]
    return {key: _listify(value) for key, value in node.items()}


def format_idr(amount: int) -> str:
    """Format an IDR amount in Stripe's hundredths as rupiah: 1680000 -> `Rp16.800`."""
    text = f"Rp{amount // 100:,}".replace(",", ".")
    return text + (f",{amount % 100:02d}" if amount % 100 else "")


# -- request parameters, checked as Stripe checks them -----------------------------------

def refuse_unknown(params: StripeObject, known: frozenset[str], parent: str = "") -> None:
    """Refuse parameters the sandbox does not model, as Stripe refuses unknown ones."""
    for key in params:
        if key not in known:
            name = f"{parent}[{key}]" if parent else key
            message = f"Received unknown parameter: {name} (not modelled by the sandbox)."
            raise ApiError(400, message, param=name, code="parameter_unknown")


def required_param(params: StripeObject, name: str) -> Any:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, f"Missing required param: {name}.", param=name,
                       code="parameter_missing")
    return value


def integer(value: Any, param: str) -> int:
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
        raise ApiError(400, message, param=param, code="invalid_amount")
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
        raise ApiError(400, f"Missing required param: {param}.", param=param,
                       code="parameter_missing")
    quantity = integer(required_param(item, "quantity"), f"{prefix}[quantity]")
    if quantity < 1:
        raise ApiError(400, "Quantity must be at least 1.", param=f"{prefix}[quantity]")
    return name, unit_amount, quantity


def metadata_param(params: StripeObject) -> dict[str, str]:
    metadata = params.get("metadata") or {}
    if not isinstance(metadata, dict):
        raise ApiError(400, "Invalid metadata: expected a hash.", param="metadata")
    return dict(metadata)


def intent_metadata_param(params: StripeObject) -> dict[str, str] | None:
    """`payment_intent_data[metadata]`, the only part of payment_intent_data the sandbox models."""
    data = params.get("payment_intent_data")
    if data is None:
        return None
    if not isinstance(data, dict):
        raise ApiError(400, "Invalid payment_intent_data: expected a hash.",
                       param="payment_intent_data")
    refuse_unknown(data, frozenset({"metadata"}), "payment_intent_data")
    return metadata_param(data)


def expires_at_param(value: Any, now: int) -> int:
    if value is None:
        return now + SESSION_MAX_LIFETIME
    expires_at = integer(value, "expires_at")
    if not now + SESSION_MIN_LIFETIME <= expires_at <= now + SESSION_MAX_LIFETIME:
        message = "expires_at must be between 30 minutes and 24 hours after creation."
        raise ApiError(400, message, param="expires_at")
    return expires_at


class SandboxApp:
    """The WSGI application served by `StripeSandbox`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._replies: dict[tuple[str, str], _StoredReply] = {}
        self._running: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._urls = Map([
            Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_checkout_session"),
            Rule("/v1/checkout/sessions/<session_id>", methods=["GET"],
                 endpoint="retrieve_checkout_session"),
            Rule("/v1/checkout/sessions/<session_id>/expire", methods=["POST"],
                 endpoint="expire_checkout_session"),
            Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
            Rule("/checkout/<session_id>", methods=["GET"], endpoint="page"),
            Rule("/checkout/<session_id>/<any(pay, fail, abandon):action>", methods=["POST"],
                 endpoint="act"),
        ])

    def forget_replies(self) -> None:
        """Drop every stored idempotent reply (see `StripeSandbox.reset`)."""
        with self._lock:
            self._replies.clear()

    def __call__(self, environ: Any, start_response: Any) -> Iterable[bytes]:
        response = self._dispatch(Request(environ))
        return response(environ, start_response)

    def _dispatch(self, request: Request) -> Response:
        try:
            endpoint, args = self._urls.bind_to_environ(request.environ).match()
        except HTTPException:
            message = f"Unrecognized request URL ({request.method}: {request.path})."
            return _json_error(ApiError(404, message))
        if endpoint in ("page", "act"):
            return self._checkout(request, endpoint, **args)
        try:
            api_key = _authenticate(request)
        except ApiError as exc:
            return _json_error(exc)
        run = partial(self._call, request, endpoint, args)
        if request.method != "POST":
            return run()
        return self._idempotent(request, api_key, run)

    def _call(self, request: Request, endpoint: str, args: Mapping[str, Any]) -> Response:
        try:
            if "session_id" in args:
                result = getattr(self.backend, endpoint)(args["session_id"])
            else:
                result = getattr(self.backend, endpoint)(parse_form(request.get_data()))
        except ApiError as exc:
            return _json_error(exc)
        return _json(200, result)

    def _idempotent(self, request: Request, api_key: str, run: Callable[[], Response]) -> Response:
        """Replay the stored 2xx reply for a known key; refuse the key with another request."""
        key = request.headers.get("Idempotency-Key")
        if not key:
            return run()
        scope, body = (api_key, key), request.get_data()
        with self._lock:
            stored = self._replies.get(scope)
            busy = stored is None and scope in self._running
            if stored is None and not busy:
                self._running.add(scope)
        if busy:
            message = "There is currently another in-progress request using this Idempotency Key."
            return _json_error(ApiError(409, message, kind="idempotency_error"))
        if stored is not None:
            return _replay(stored, request.path, body, key)
        response: Response | None = None
        try:
            response = run()
            return response
        finally:
            self._settle(scope, request.path, body, response)

    def _settle(
        self, scope: tuple[str, str], path: str, body: bytes, response: Response | None
    ) -> None:
        with self._lock:
            self._running.discard(scope)
            # As at Stripe, only requests that ran are saved; a refused one may be retried.
            if response is not None and 200 <= response.status_code < 300:
                reply = _StoredReply(path, body, response.status_code, response.get_data())
                self._replies[scope] = reply

    def _checkout(self, request: Request, endpoint: str, session_id: str,
                  action: str = "") -> Response:
        try:
            if endpoint == "page":
                session, product = self.backend.checkout_page(session_id)
                return _html(200, render_checkout_page(session, product))
            delayed = request.args.get("async") == "1"
            target = self.backend.complete_checkout(session_id, action, delayed=delayed)
        except ApiError as exc:
            return _html(exc.status, render_message(exc.message))
        return redirect(target, 303)


def _authenticate(request: Request) -> str:
    scheme, _, key = request.headers.get("Authorization", "").partition(" ")
    if scheme != "Bearer" or not key.strip():
        raise ApiError(401, "You did not provide an API key. Use `Authorization: Bearer <key>`.")
    if not key.startswith(API_KEY_PREFIX):
        shown = f"{key[:8]}****{key[-4:]}" if len(key) > 12 else "****"
        message = f"Invalid API Key provided: {shown}. The sandbox takes {API_KEY_PREFIX}* keys."
        raise ApiError(401, message)
    return key


def _replay(stored: _StoredReply, path: str, body: bytes, key: str) -> Response:
    if (stored.path, stored.body) != (path, body):
        message = (
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{key}' if you meant to execute a "
            "different request."
        )
        return _json_error(ApiError(400, message, kind="idempotency_error"))
    response = Response(stored.payload, stored.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


def _json(status: int, body: StripeObject) -> Response:
    response = Response(json.dumps(body), status, mimetype="application/json")
    response.headers["Request-Id"] = f"req_sandbox_{secrets.token_hex(8)}"
    return response


def _json_error(error: ApiError) -> Response:
    return _json(error.status, error.to_dict())


def _html(status: int, body: str) -> Response:
    return Response(body, status, mimetype="text/html")


_PAGE = """<!doctype html>
<html lang="id"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Stripe sandbox</title>
<style>body{{font-family:sans-serif;max-width:34rem;margin:2rem auto;padding:0 1rem}}
.sandbox{{border:3px dashed #b45309;background:#fef3c7;padding:.75rem;font-weight:bold}}
form{{display:inline}}button{{font-size:1rem;margin:.25rem;padding:.5rem 1rem}}</style>
</head><body>
<p class="sandbox" role="alert">SANDBOX — pembayaran uji, tidak ada uang yang berpindah.<br>
SANDBOX — test payment, no money moves.</p>
{content}
</body></html>
"""

_BUTTON = (
    '<form method="post" action="/checkout/{session}/{action}">'
    '<button type="submit" id="{action}">{label}</button></form>'
)
_LABELS = {"pay": "Bayar / Pay", "fail": "Gagal / Fail", "abandon": "Batal / Abandon"}


def render_checkout_page(session: StripeObject, product: str) -> str:
    """The sandbox's stand-in for Stripe Checkout: amount, product and the three outcomes."""
    content = (
        f'<h1>{html.escape(product)}</h1>'
        f'<p class="amount">{format_idr(session["amount_total"])}</p>'
    )
    if session["status"] != "open":
        status = html.escape(session["status"])
        content += (
            f"<p>Sesi pembayaran ini tidak lagi terbuka (status: {status}).<br>"
            f"This checkout session is no longer open (status: {status}).</p>"
        )
    else:
        sid = html.escape(session["id"])
        content += "".join(
            _BUTTON.format(session=sid, action=action, label=label)
            for action, label in _LABELS.items()
        )
    return _PAGE.format(content=content)


def render_message(message: str) -> str:
    """A sandbox page carrying only a message, for unknown or closed sessions."""
    return _PAGE.format(content=f"<p>{html.escape(message)}</p>")
