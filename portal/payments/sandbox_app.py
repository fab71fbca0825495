"""Stripe sandbox wire side: request parameters, API routes, idempotency, checkout page."""

from __future__ import annotations

import html
import json
import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeAlias
from urllib.parse import parse_qsl

from werkzeug.exceptions import HTTPException
from werkzeug.routing import Map, Rule
from werkzeug.utils import redirect
from werkzeug.wrappers import Request, Response

from portal.payments.sandbox_objects import ApiError, Origin, StripeObject, new_request_id

API_KEY_PREFIX = "sk_test_sandbox"
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")
METADATA_MAX_KEYS = 50
METADATA_KEY_MAX_LENGTH = 40
METADATA_VALUE_MAX_LENGTH = 500


@dataclass(frozen=True)
class Scalar:
    """A form value (string, number, enum); `max_length` as in Stripe's request schema."""

    max_length: int | None = None


@dataclass(frozen=True)
class ArrayOf:
    """A list parameter (`a[0]=...`), each item of the given shape."""

    item: Shape


@dataclass(frozen=True)
class Metadata:
    """A metadata hash: Stripe's key count and key and value lengths apply."""


METADATA = Metadata()
Shape: TypeAlias = Scalar | ArrayOf | Metadata | Mapping[str, "Shape"]

# The parameters the sandbox models, nested as Stripe takes them; anything else, at any depth,
# is refused as Stripe refuses unknown parameters. Lengths are those of Stripe's spec.
SESSION_PARAMS: Shape = {
    "mode": Scalar(),
    "success_url": Scalar(5000),
    "cancel_url": Scalar(5000),
    "client_reference_id": Scalar(200),
    "customer_email": Scalar(),
    "locale": Scalar(),
    "submit_type": Scalar(),
    "expires_at": Scalar(),
    "expand": ArrayOf(Scalar(5000)),
    "metadata": METADATA,
    "payment_intent_data": {"metadata": METADATA},
    "line_items": ArrayOf(
        {
            "quantity": Scalar(),
            "price_data": {
                "currency": Scalar(),
                "unit_amount": Scalar(),
                "product_data": {"name": Scalar(5000)},
            },
        }
    ),
}
REFUND_PARAMS: Shape = {
    "payment_intent": Scalar(5000),
    "amount": Scalar(),
    "metadata": METADATA,
    "reason": Scalar(5000),
    "expand": ArrayOf(Scalar(5000)),
}
_WITH_EVENTS = frozenset({"expire_checkout_session", "create_refund"})

_KEY = re.compile(r"([^\[\]]+)((?:\[[^\[\]]*\])*)")
_KEY_PART = re.compile(r"\[([^\[\]]*)\]")


class Backend(Protocol):
    """The sandbox state the routes call; every method raises `ApiError` on a bad request."""

    def create_checkout_session(self, params: StripeObject) -> StripeObject: ...
    def retrieve_checkout_session(self, session_id: str) -> StripeObject: ...
    def expire_checkout_session(self, session_id: str, origin: Origin = ...) -> StripeObject: ...
    def create_refund(self, params: StripeObject, origin: Origin = ...) -> StripeObject: ...
    def checkout_page(self, session_id: str) -> tuple[StripeObject, str]: ...
    def complete_checkout(self, session_id: str, action: str, *, delayed: bool = False) -> str: ...


@dataclass(frozen=True)
class _StoredReply:
    path: str
    body: bytes
    status: int
    payload: bytes
    request_id: str


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


def check_params(value: Any, shape: Shape, name: str = "") -> None:
    """Refuse what Stripe refuses: unknown parameters at any depth, over-long strings, bad
    metadata. Only the parameters the sandbox models are known (see SESSION_PARAMS)."""
    if isinstance(shape, Scalar):
        _check_scalar(value, shape, name)
    elif isinstance(shape, Metadata):
        _check_metadata(value, name)
    elif isinstance(shape, ArrayOf):
        if not isinstance(value, list):
            raise ApiError(400, f"Invalid array: {name}.", param=name)
        for index, item in enumerate(value):
            check_params(item, shape.item, f"{name}[{index}]")
    else:
        _check_hash(value, shape, name)


def _check_hash(value: Any, shape: Mapping[str, Shape], name: str) -> None:
    if not isinstance(value, dict):
        raise ApiError(400, f"Invalid object: {name}.", param=name)
    for key, item in value.items():
        param = f"{name}[{key}]" if name else key
        if key not in shape:
            message = (
                f"Received unknown parameter: {param}. (The sandbox also refuses "
                "Stripe parameters that it does not model.)"
            )
            raise ApiError(400, message, param=param, code="parameter_unknown")
        check_params(item, shape[key], param)


def _check_scalar(value: Any, shape: Scalar, name: str) -> None:
    if not isinstance(value, str):
        raise ApiError(400, f"Invalid string: {name} must be a single value.", param=name)
    if shape.max_length is not None and len(value) > shape.max_length:
        message = f"Invalid string: {value[:20]}...; must be at most {shape.max_length} characters"
        raise ApiError(400, message, param=name)


def _check_metadata(value: Any, name: str) -> None:
    """As Stripe: at most 50 keys, keys up to 40 characters, values up to 500 (no code)."""
    if value == "":
        return  # an empty string unsets metadata
    if not isinstance(value, dict):
        raise ApiError(400, "Invalid metadata: expected a hash.", param=name)
    if len(value) > METADATA_MAX_KEYS:
        message = f"Invalid metadata: at most {METADATA_MAX_KEYS} keys, not {len(value)}."
        raise ApiError(400, message, param=name)
    for key, item in value.items():
        if len(key) > METADATA_KEY_MAX_LENGTH:
            message = (
                f"Invalid key: {key} must be a string under {METADATA_KEY_MAX_LENGTH} characters"
            )
            raise ApiError(400, message, param=name)
        if not isinstance(item, str) or len(item) > METADATA_VALUE_MAX_LENGTH:
            message = (
                f"Invalid val: {str(item)[:20]}... must be a string under "
                f"{METADATA_VALUE_MAX_LENGTH} characters"
            )
            raise ApiError(400, message, param=name)


class SandboxApp:
    """The WSGI application served by `StripeSandbox`."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        self._replies: dict[tuple[str, str], _StoredReply] = {}
        self._running: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self._urls = Map(
            [
                Rule("/v1/checkout/sessions", methods=["POST"], endpoint="create_checkout_session"),
                Rule(
                    "/v1/checkout/sessions/<session_id>",
                    methods=["GET"],
                    endpoint="retrieve_checkout_session",
                ),
                Rule(
                    "/v1/checkout/sessions/<session_id>/expire",
                    methods=["POST"],
                    endpoint="expire_checkout_session",
                ),
                Rule("/v1/refunds", methods=["POST"], endpoint="create_refund"),
                Rule("/checkout/<session_id>", methods=["GET"], endpoint="page"),
                Rule(
                    "/checkout/<session_id>/<any(pay, fail, abandon):action>",
                    methods=["POST"],
                    endpoint="act",
                ),
            ]
        )

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
        origin = Origin(new_request_id(), request.headers.get("Idempotency-Key") or None)
        try:
            api_key = _authenticate(request)
        except ApiError as exc:
            return _json_error(exc, origin)
        run = partial(self._call, request, endpoint, args, origin)
        if request.method != "POST":
            return run()
        return self._idempotent(request, api_key, origin, run)

    def _call(
        self, request: Request, endpoint: str, args: Mapping[str, Any], origin: Origin
    ) -> Response:
        """Run one API call; events it causes carry `origin` as their `request`."""
        method = getattr(self.backend, endpoint)
        argument = args["session_id"] if "session_id" in args else parse_form(request.get_data())
        try:
            if endpoint in _WITH_EVENTS:
                result = method(argument, origin=origin)
            else:
                result = method(argument)
        except ApiError as exc:
            return _json_error(exc, origin)
        return _json(200, result, origin)

    def _idempotent(
        self, request: Request, api_key: str, origin: Origin, run: Callable[[], Response]
    ) -> Response:
        """Replay the stored 2xx reply for a known key; refuse the key with another request."""
        key = origin.idempotency_key
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
            return _json_error(ApiError(409, message, kind="idempotency_error"), origin)
        if stored is not None:
            return _replay(stored, request.path, body, origin)
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
                reply = _StoredReply(
                    path,
                    body,
                    response.status_code,
                    response.get_data(),
                    response.headers["Request-Id"],
                )
                self._replies[scope] = reply

    def _checkout(
        self, request: Request, endpoint: str, session_id: str, action: str = ""
    ) -> Response:
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


def _replay(stored: _StoredReply, path: str, body: bytes, origin: Origin) -> Response:
    """The stored reply, with the id of the request that first ran, as Stripe replays."""
    if (stored.path, stored.body) != (path, body):
        message = (
            "Keys for idempotent requests can only be used with the same parameters they were "
            f"first used with. Try using a key other than '{origin.idempotency_key}' if you "
            "meant to execute a different request."
        )
        return _json_error(ApiError(400, message, kind="idempotency_error"), origin)
    response = Response(stored.payload, stored.status, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    response.headers["Request-Id"] = stored.request_id
    return response


def _json(status: int, body: StripeObject, origin: Origin) -> Response:
    response = Response(json.dumps(body), status, mimetype="application/json")
    response.headers["Request-Id"] = str(origin.request_id)
    return response


def _json_error(error: ApiError, origin: Origin | None = None) -> Response:
    return _json(error.status, error.to_dict(), origin or Origin(new_request_id()))


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
        f"<h1>{html.escape(product)}</h1>"
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
