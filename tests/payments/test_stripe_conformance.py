"""The Stripe sandbox held to the types of the pinned `stripe` package (tests/stripe_schema/).

stripe==16.1.0 is generated from Stripe's OpenAPI description of the API version it pins.
Every response the portal can get from the sandbox and every event body it can receive is
checked against those classes' annotations (tests/stripe_schema/schemas.py): each field
present and of its type, no field the class lacks, enums closed, events of the pinned API
version. The request rules Stripe enforces (unknown parameters at any depth, string lengths,
metadata limits, the minimum amount) are driven through the real `stripe` library; the
sandbox's own parameters are checked against the package's request parameter types, and the
limits those types do not carry are stated below from Stripe's documentation. Each check is
also shown to fail on a known-bad object.
"""

from __future__ import annotations

import copy
import http.client
import json
import re
from collections.abc import Iterator
from decimal import Decimal
from typing import Any, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

import pytest
import stripe
from stripe.params import RefundCreateParams
from stripe.params.checkout import SessionCreateParams

from portal.payments.sandbox import API_VERSION, StripeSandbox
from portal.payments.sandbox_app import (
    REFUND_PARAMS,
    REFUND_REASONS,
    SESSION_PARAMS,
    ArrayOf,
    Metadata,
    Scalar,
    Shape,
)
from tests.stripe_schema.schemas import (
    OMITTED,
    SPARSE,
    TYPED,
    event_problems,
    fields,
    problems,
    request_params,
    type_name,
)

SECRET = "whsec_conformance"
API_KEY = "sk_test_sandbox_conformance"
REQUEST_ID = r"req_[A-Za-z0-9]{14}"
FORM = "application/x-www-form-urlencoded"

# Stripe's limits, which the package's parameter types do not carry. Metadata: "up to 50 keys,
# with key names up to 40 characters long and values up to 500 characters long"
# (https://docs.stripe.com/api/metadata). String parameters: the maxLength Stripe's API
# states for each (5000 for most strings; 200 for a Checkout Session's client_reference_id);
# any other parameter the sandbox takes (enums, integers, emails, currencies) has none.
METADATA_MAX_KEYS, METADATA_KEY_MAX_LENGTH, METADATA_VALUE_MAX_LENGTH = 50, 40, 500
CLIENT_REFERENCE_ID_MAX_LENGTH = 200
STRING_MAX_LENGTHS = {
    "/v1/checkout/sessions": {
        "client_reference_id": CLIENT_REFERENCE_ID_MAX_LENGTH,
        "success_url": 5000,
        "cancel_url": 5000,
        "expand[0]": 5000,
        "line_items[0][price_data][product_data][name]": 5000,
    },
    "/v1/refunds": {"payment_intent": 5000, "reason": 5000, "expand[0]": 5000},
}


# -- one journey through the sandbox, recording every body the portal can see -------------


class Journey:
    """Drives the sandbox as the portal and Stripe would; keeps every raw JSON body."""

    def __init__(self, sandbox: StripeSandbox, client: stripe.StripeClient) -> None:
        self.sandbox, self.client = sandbox, client
        self.responses: dict[str, dict[str, Any]] = {}
        self.request_ids: dict[str, str] = {}
        self.delivered: list[bytes] = []

    def deliver(self, body: bytes, signature: str) -> int:
        stripe.Webhook.construct_event(body, signature, SECRET)  # signed as Stripe signs
        self.delivered.append(body)
        return 200

    def keep(self, label: str, obj: Any) -> Any:
        self.responses[label] = json.loads(obj.last_response.body)
        self.request_ids[label] = obj.last_response.request_id
        return obj

    def session(self, label: str, **changes: Any) -> Any:
        return self.keep(
            label,
            self.client.v1.checkout.sessions.create(
                params=session_params(self.sandbox, **changes), options={"idempotency_key": label}
            ),
        )

    def act(self, session_id: str, action: str, query: str = "") -> None:
        """The customer presses a button on the sandbox checkout page."""
        parts = urlsplit(str(self.sandbox.url))
        connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
        try:
            connection.request("POST", f"/checkout/{session_id}/{action}{query}")
            assert connection.getresponse().status == 303
        finally:
            connection.close()

    def events(self) -> list[dict[str, Any]]:
        return [json.loads(body) for body in self.delivered]


def session_params(sandbox: StripeSandbox, **changes: Any) -> dict[str, Any]:
    """What the portal's gateway sends (portal/payments/stripe_gateway.py)."""
    metadata = {"portal": "pijar-semar", "payment_id": "7", "pledge_id": "3"}
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": f"{sandbox.url}/ok?s={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{sandbox.url}/cancelled",
        "client_reference_id": "PJS-7",
        "metadata": metadata,
        "payment_intent_data": {"metadata": dict(metadata)},
        "line_items": [
            {
                "quantity": 2,
                "price_data": {
                    "currency": "idr",
                    "unit_amount": 1680000,
                    "product_data": {"name": "BPJS TK, 1 pekerja x 2 bulan"},
                },
            }
        ],
    }
    params.update(changes)
    return params


def walk(journey: Journey) -> None:
    """Every path a payment takes; see EVENTS for what each step sends."""
    client, sandbox = journey.client, journey.sandbox
    paid = journey.session("created")
    journey.keep("retrieved open", client.v1.checkout.sessions.retrieve(paid.id))
    journey.act(paid.id, "pay")
    intent = journey.keep(
        "retrieved paid", client.v1.checkout.sessions.retrieve(paid.id)
    ).payment_intent
    journey.keep(
        "refund",
        client.v1.refunds.create(
            params={
                "payment_intent": intent,
                "amount": 1000000,
                "reason": "requested_by_customer",
                "metadata": {"portal": "pijar-semar", "refund_id": "1"},
            },
            options={"idempotency_key": "refund-1"},
        ),
    )
    sandbox.refund_in_dashboard(intent)
    journey.act(journey.session("created async").id, "pay", "?async=1")
    journey.act(journey.session("created failing").id, "fail")
    expiring = journey.session("created to expire")
    journey.keep(
        "expired",
        client.v1.checkout.sessions.expire(expiring.id, options={"idempotency_key": "expire-4"}),
    )
    journey.act(journey.session("created abandoned").id, "abandon")
    for label, won in (("lost", False), ("won", True)):
        disputed = journey.session(f"created, dispute {label}")
        journey.act(disputed.id, "pay")
        dispute = sandbox.open_dispute(sandbox.sessions[disputed.id]["payment_intent"])
        sandbox.close_dispute(dispute, won=won)


RESPONSES = {  # label: schema
    "created": "checkout.session",
    "retrieved open": "checkout.session",
    "retrieved paid": "checkout.session",
    "refund": "refund",
    "expired": "checkout.session",
}
EVENTS = [  # (type, what caused it), in the order walk() causes them
    ("checkout.session.completed", "paid at once"),
    ("charge.refunded", "POST /v1/refunds"),
    ("charge.refunded", "refund in the dashboard"),
    ("checkout.session.completed", "delayed method, unpaid yet"),
    ("checkout.session.async_payment_succeeded", "delayed method paid"),
    ("checkout.session.completed", "delayed method, unpaid yet"),
    ("checkout.session.async_payment_failed", "delayed method failed"),
    ("checkout.session.expired", "POST /v1/checkout/sessions/<id>/expire"),
    ("checkout.session.expired", "abandoned on the checkout page"),
    ("checkout.session.completed", "paid at once"),
    ("charge.dispute.created", "card network"),
    ("charge.dispute.closed", "lost"),
    ("checkout.session.completed", "paid at once"),
    ("charge.dispute.created", "card network"),
    ("charge.dispute.closed", "won"),
]


@pytest.fixture(scope="module")
def journey() -> Iterator[Journey]:
    with pytest.MonkeyPatch.context() as patch, StripeSandbox(SECRET) as sandbox:
        patch.setattr(stripe, "enable_telemetry", False)
        http_client = stripe.RequestsClient()
        client = stripe.StripeClient(
            API_KEY,
            base_addresses={"api": str(sandbox.url)},
            http_client=http_client,
            max_network_retries=0,
        )
        recorded = Journey(sandbox, client)
        sandbox.deliver = recorded.deliver
        try:
            walk(recorded)
            yield recorded
        finally:
            http_client.close()


@pytest.mark.parametrize(("label", "schema_name"), RESPONSES.items())
def test_every_api_response_conforms(journey, label, schema_name):
    assert problems(journey.responses[label], schema_name) == []
    assert re.fullmatch(REQUEST_ID, journey.request_ids[label])


@pytest.mark.parametrize(
    "index", range(len(EVENTS)), ids=[f"{i}-{kind}-{why}" for i, (kind, why) in enumerate(EVENTS)]
)
def test_every_event_body_conforms(journey, index):
    event = journey.events()[index]

    assert event["type"] == EVENTS[index][0]
    assert event_problems(event) == []


def test_events_carry_the_api_version_the_stripe_package_pins(journey):
    assert stripe.api_version == API_VERSION
    assert {event["api_version"] for event in journey.events()} == {stripe.api_version}


def test_the_journey_sends_exactly_the_expected_events(journey):
    assert [event["type"] for event in journey.events()] == [kind for kind, _why in EVENTS]


def test_events_caused_by_an_api_request_name_it(journey):
    events = journey.events()

    assert events[1]["request"] == {
        "id": journey.request_ids["refund"],
        "idempotency_key": "refund-1",
    }
    assert events[7]["request"] == {
        "id": journey.request_ids["expired"],
        "idempotency_key": "expire-4",
    }
    dashboard = events[2]["request"]
    assert re.fullmatch(REQUEST_ID, dashboard["id"])
    assert dashboard["idempotency_key"] and dashboard["id"] not in journey.request_ids.values()


def test_events_nobody_requested_have_no_request_id(journey):
    automatic = [event for i, event in enumerate(journey.events()) if i not in (1, 2, 7)]

    assert len(automatic) == 12
    assert all(event["request"] == {"id": None, "idempotency_key": None} for event in automatic)


def test_refunded_charges_carry_totals_and_intent_metadata_but_no_refund_list(journey):
    by_api, by_dashboard = (journey.events()[i]["data"]["object"] for i in (1, 2))

    assert (by_api["amount"], by_api["amount_refunded"], by_api["refunded"]) == (
        3360000,
        1000000,
        False,
    )
    assert (by_dashboard["amount_refunded"], by_dashboard["refunded"]) == (3360000, True)
    assert by_api["metadata"] == {"portal": "pijar-semar", "payment_id": "7", "pledge_id": "3"}
    assert "refunds" not in by_api
    dashboard_refund = [r for r in journey.sandbox.refunds.values() if r["amount"] == 2360000]
    assert [r["metadata"] for r in dashboard_refund] == [{}]


def test_disputes_point_at_the_payment_intent_and_mark_the_charge(journey):
    created, lost = (journey.events()[i]["data"]["object"] for i in (10, 11))
    won = journey.events()[14]["data"]["object"]
    charge = next(c for c in journey.sandbox.charges.values() if c["id"] == created["charge"])

    assert (created["status"], lost["status"], won["status"]) == ("needs_response", "lost", "won")
    assert created["payment_intent"] == charge["payment_intent"]
    assert (created["amount"], created["metadata"], created["reason"]) == (
        3360000,
        {},
        "fraudulent",
    )
    assert charge["disputed"] is True
    assert lost["id"] == created["id"] != won["id"]


# -- the checks can fail ------------------------------------------------------------------

BEFORE = {  # a checkout.session as the sandbox returned it before it was held to the spec
    "id": "cs_test_4f9QZx1y2z3A4B5C6D7E8F9G",
    "object": "checkout.session",
    "livemode": False,
    "amount_subtotal": 1680000,
    "amount_total": 1680000,
    "currency": "idr",
    "client_reference_id": "pledge-7",
    "metadata": {"pledge_id": "7"},
    "mode": "payment",
    "status": "open",
    "payment_status": "unpaid",
    "payment_intent": None,
    "url": "http://127.0.0.1:1/checkout/x",
    "success_url": "http://127.0.0.1:1/ok",
    "cancel_url": "http://127.0.0.1:1/no",
    "expires_at": 1_900_000_000,
    "created": 1_899_990_000,
}


def _without(name: str) -> Any:
    return lambda obj: obj.pop(name)


def _set(name: str, value: Any) -> Any:
    return lambda obj: obj.__setitem__(name, value)


BREAKAGES = [  # (response or event index, schema, breakage, what must be reported)
    ("created", "checkout.session", _without("automatic_tax"), "automatic_tax: missing"),
    ("created", "checkout.session", _without("shipping_options"), "shipping_options: missing"),
    (
        "created",
        "checkout.session",
        _set("payment_method_types", None),
        "payment_method_types: null, but List[str] is not Optional",
    ),
    (
        "created",
        "checkout.session",
        _set("shipping_details", None),
        "shipping_details: unknown field",
    ),
    ("created", "checkout.session", _set("status", "paid"), "status: 'paid' is not one of"),
    ("created", "checkout.session", _set("line_items", None), "line_items: present, but"),
    ("created", "checkout.session", _set("id", "cs_test_short"), "does not look like"),
    (
        "created",
        "checkout.session",
        lambda s: s["automatic_tax"].update(rate=1),
        "automatic_tax.rate: unknown field",
    ),
    (
        "created",
        "checkout.session",
        lambda s: s["automatic_tax"].pop("liability"),
        "automatic_tax.liability: missing",
    ),
    (
        "created",
        "checkout.session",
        lambda s: s["custom_text"].update(submit={"text": 5}),
        "custom_text.submit.message: missing",
    ),
    (
        "created",
        "checkout.session",
        _set("metadata", {"pledge_id": 7}),
        "metadata.pledge_id: 7 is not str",
    ),
    ("created", "checkout.session", _set("payment_intent", 7), "payment_intent: 7 is not"),
    ("refund", "refund", _set("amount", "1000000"), "amount: '1000000' is not int"),
    ("refund", "refund", _set("id", "re_test_123456789012345678901234"), "does not look like"),
    (1, "charge", _without("billing_details"), "billing_details: missing"),
    (1, "charge", _without("disputed"), "disputed: missing"),
    (
        1,
        "charge",
        _set("refunds", {"object": "list", "data": [], "has_more": False, "url": "/v1/refunds"}),
        "refunds: present, but Stripe",
    ),
    (1, "charge", _set("outcome", {"type": 3}), "outcome.type: 3 is not str"),
    (1, "charge", _set("captured", 1), "captured: 1 is not bool"),
    (
        1,
        "charge",
        lambda c: c["payment_method_details"].update(ach_debit={}),
        "payment_method_details.ach_debit: present, but Stripe leaves it out",
    ),
    (10, "dispute", _set("status", "open"), "status: 'open' is not one of"),
    (10, "dispute", _without("evidence_details"), "evidence_details: missing"),
    (10, "event", _set("request", {"id": 7, "idempotency_key": None}), "request.id: 7 is not"),
    (10, "event", _set("type", "charge.dispute.opened"), "type: 'charge.dispute.opened' is not"),
]


@pytest.mark.parametrize(
    ("source", "schema_name", "breakage", "reported"),
    BREAKAGES,
    ids=[f"{b[1]}-{i}" for i, b in enumerate(BREAKAGES)],
)
def test_the_checks_catch_a_broken_object(journey, source, schema_name, breakage, reported):
    if isinstance(source, str):
        obj = copy.deepcopy(journey.responses[source])
    else:
        event = copy.deepcopy(journey.events()[source])
        obj = event if schema_name == "event" else event["data"]["object"]
    assert problems(obj, schema_name) == []

    breakage(obj)

    found = problems(obj, schema_name)
    assert any(problem.startswith(reported) or f" {reported}" in problem for problem in found), (
        found
    )


def test_the_event_check_catches_another_api_version_and_a_broken_object(journey):
    event = copy.deepcopy(journey.events()[0])
    event["api_version"] = "2023-08-16"
    event["data"]["object"]["ui_mode"] = "popup"

    found = event_problems(event)

    assert found[0] == (
        f"api_version '2023-08-16', but stripe=={stripe.VERSION} pins '{stripe.api_version}'"
    )
    assert found[1].startswith("data.object.ui_mode: 'popup' is not one of [")
    assert len(found) == 2


def test_the_error_check_catches_a_broken_error():
    good = {"type": "invalid_request_error", "message": "No such thing", "param": "x"}

    assert problems({"error": good}, "error") == []
    assert problems({"error": {**good, "code": None}}, "error") == [
        "error.code: null; Stripe leaves a null field out of an error"
    ]
    assert problems({"error": {**good, "param": 3}}, "error") == [
        "error.param: 3 is not Optional[str]"
    ]
    assert problems({"error": {**good, "status": 400}}, "error") == [
        "error.status: unknown field, ErrorObject has no status"
    ]
    assert problems({"error": {**good, "type": "card_declined"}}, "error") == [
        "error.type: 'card_declined' is not one of ['api_error', 'card_error', "
        "'idempotency_error', 'invalid_request_error']"
    ]
    assert problems({**good}, "error") != []


def test_the_sandbox_session_of_before_fails_the_checks():
    found = problems(BEFORE, "checkout.session")

    for required in (
        "automatic_tax",
        "custom_fields",
        "custom_text",
        "payment_method_types",
        "shipping_options",
        "ui_mode",
    ):
        assert any(problem.startswith(f"{required}: missing (Session.") for problem in found)
    assert "id cs_test_4f9QZx1y2z3A4B5C6D7E8F9G does not look like Stripe's" in found


def test_fields_said_to_be_left_out_are_optional_fields_of_the_package():
    """The package types a field Stripe may leave out as Optional (a field it always sends
    is not), so every field the checks let the sandbox leave out must be Optional there."""
    classes = {**OMITTED, **dict.fromkeys(SPARSE, {}), **dict.fromkeys(TYPED, {})}
    for cls, named in classes.items():
        left_out = named or {name: "" for name in fields(cls) if name != "type"}
        assert left_out, cls
        for name in left_out:
            assert name in fields(cls), f"{cls.__qualname__} has no {name}"
            assert type(None) in get_args(fields(cls)[name]), f"{cls.__qualname__}.{name}"


def test_forward_references_and_nested_classes_are_resolved():
    session = fields(stripe.checkout.Session)

    assert session["automatic_tax"] is stripe.checkout.Session.AutomaticTax
    assert session["customer"] == str | stripe.Customer | None  # ExpandableField
    assert session["line_items"] == stripe.ListObject[stripe.LineItem] | None
    assert type_name(session["status"]) == (
        "Union[Literal['complete', 'expired', 'open'], str, NoneType]"
    )
    assert fields(stripe.checkout.Session.CurrencyConversion)["fx_rate"] is Decimal


# -- request rules, as Stripe enforces them ------------------------------------------------


@pytest.fixture
def sandbox() -> Iterator[StripeSandbox]:
    with StripeSandbox(SECRET) as running:
        yield running


@pytest.fixture
def client(sandbox: StripeSandbox, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    http_client = stripe.RequestsClient()
    yield stripe.StripeClient(
        API_KEY,
        base_addresses={"api": str(sandbox.url)},
        http_client=http_client,
        max_network_retries=0,
    )
    http_client.close()


def _metadata(keys: int = 1, key_length: int = 8, value_length: int = 8) -> dict[str, str]:
    return {f"{i:0{key_length}d}": "v" * value_length for i in range(keys)}


def _line_item(**changes: Any) -> list[dict[str, Any]]:
    price = {"currency": "idr", "unit_amount": 1680000, "product_data": {"name": "BPJS TK"}}
    item: dict[str, Any] = {"quantity": 1, "price_data": price}
    for path, value in changes.items():
        node = item
        *parents, leaf = path.split("__")
        for part in parents:
            node = node[part]
        node[leaf] = value
    return [item]


LIMIT = CLIENT_REFERENCE_ID_MAX_LENGTH
TOO_MANY, KEY_TOO_LONG, VALUE_TOO_LONG = (
    {"keys": METADATA_MAX_KEYS + 1},
    {"key_length": METADATA_KEY_MAX_LENGTH + 1},
    {"value_length": METADATA_VALUE_MAX_LENGTH + 1},
)
AT_THE_LIMITS = {
    "keys": METADATA_MAX_KEYS,
    "key_length": METADATA_KEY_MAX_LENGTH,
    "value_length": METADATA_VALUE_MAX_LENGTH,
}
SESSION_REFUSALS = {  # name: (changes, code, param)
    "client_reference_id too long": (
        {"client_reference_id": "x" * (LIMIT + 1)},
        None,
        "client_reference_id",
    ),
    "51 metadata keys": ({"metadata": _metadata(**TOO_MANY)}, None, "metadata"),
    "metadata key of 41": ({"metadata": _metadata(**KEY_TOO_LONG)}, None, "metadata"),
    "metadata value of 501": ({"metadata": _metadata(**VALUE_TOO_LONG)}, None, "metadata"),
    "51 intent metadata keys": (
        {"payment_intent_data": {"metadata": _metadata(**TOO_MANY)}},
        None,
        "payment_intent_data[metadata]",
    ),
    "intent metadata key of 41": (
        {"payment_intent_data": {"metadata": _metadata(**KEY_TOO_LONG)}},
        None,
        "payment_intent_data[metadata]",
    ),
    "intent metadata value of 501": (
        {"payment_intent_data": {"metadata": _metadata(**VALUE_TOO_LONG)}},
        None,
        "payment_intent_data[metadata]",
    ),
    "unknown at the top": ({"foo": "1"}, "parameter_unknown", "foo"),
    "unknown in a line item": (
        {"line_items": _line_item(foo="1")},
        "parameter_unknown",
        "line_items[0][foo]",
    ),
    "unknown in price_data": (
        {"line_items": _line_item(price_data__bar="1")},
        "parameter_unknown",
        "line_items[0][price_data][bar]",
    ),
    "unknown in product_data": (
        {"line_items": _line_item(price_data__product_data__baz="1")},
        "parameter_unknown",
        "line_items[0][price_data][product_data][baz]",
    ),
    "unknown in payment_intent_data": (
        {"payment_intent_data": {"foo": "1"}},
        "parameter_unknown",
        "payment_intent_data[foo]",
    ),
    "below Rp10.000": (
        {"line_items": _line_item(price_data__unit_amount=999900)},
        "amount_too_small",
        "line_items",
    ),
    "below Rp10.000 in all": (
        {"line_items": _line_item(price_data__unit_amount=400000, quantity=2)},
        "amount_too_small",
        "line_items",
    ),
}
SESSION_LIMITS = {  # name: changes that are just within Stripe's limits
    "client_reference_id of the maximum length": {"client_reference_id": "x" * LIMIT},
    "50 metadata keys of 40, values of 500": {
        "metadata": _metadata(**AT_THE_LIMITS),
        "payment_intent_data": {"metadata": _metadata(**AT_THE_LIMITS)},
    },
    "exactly Rp10.000": {"line_items": _line_item(price_data__unit_amount=500000, quantity=2)},
}


def _refused(call: Any, **kwargs: Any) -> stripe.InvalidRequestError:
    with pytest.raises(stripe.InvalidRequestError) as caught:
        call(**kwargs)
    error = caught.value
    assert error.http_status == 400
    assert problems(json.loads(error.http_body or "{}"), "error") == []
    return error


@pytest.mark.parametrize(
    ("changes", "code", "param"), SESSION_REFUSALS.values(), ids=SESSION_REFUSALS.keys()
)
def test_session_requests_stripe_refuses_are_refused(client, sandbox, changes, code, param):
    error = _refused(client.v1.checkout.sessions.create, params=session_params(sandbox, **changes))

    assert (error.code, error.param) == (code, param)
    assert sandbox.sessions == {}


@pytest.mark.parametrize("changes", SESSION_LIMITS.values(), ids=SESSION_LIMITS.keys())
def test_session_requests_within_the_limits_are_taken(client, sandbox, changes):
    session = client.v1.checkout.sessions.create(params=session_params(sandbox, **changes))

    assert problems(json.loads(session.last_response.body), "checkout.session") == []


REFUND_REFUSALS = {
    "51 metadata keys": ({"metadata": _metadata(**TOO_MANY)}, None, "metadata"),
    "metadata key of 41": ({"metadata": _metadata(**KEY_TOO_LONG)}, None, "metadata"),
    "metadata value of 501": ({"metadata": _metadata(**VALUE_TOO_LONG)}, None, "metadata"),
    "unknown at the top": ({"foo": "1"}, "parameter_unknown", "foo"),
    "unknown in metadata's place": ({"metadata": {"a": {"b": "c"}}}, None, "metadata"),
}


@pytest.mark.parametrize(
    ("changes", "code", "param"), REFUND_REFUSALS.values(), ids=REFUND_REFUSALS.keys()
)
def test_refund_requests_stripe_refuses_are_refused(client, sandbox, changes, code, param):
    session = client.v1.checkout.sessions.create(params=session_params(sandbox))
    sandbox.complete_checkout(session.id, "pay")
    intent = sandbox.sessions[session.id]["payment_intent"]

    error = _refused(client.v1.refunds.create, params={"payment_intent": intent, **changes})

    assert (error.code, error.param) == (code, param)
    assert sandbox.refunds == {}


def test_a_raw_form_with_an_unknown_nested_parameter_is_refused(sandbox):
    body = "mode=payment&line_items[0][quantity]=1&line_items[0][price_data][bar]=1"
    connection = http.client.HTTPConnection(
        "127.0.0.1", urlsplit(str(sandbox.url)).port, timeout=10
    )
    try:
        connection.request(
            "POST",
            "/v1/checkout/sessions",
            body=body,
            headers={"Authorization": f"Bearer {API_KEY}", "Content-Type": FORM},
        )
        response = connection.getresponse()
        status, error = response.status, json.loads(response.read())
    finally:
        connection.close()

    assert status == 400 and problems(error, "error") == []
    assert (error["error"]["code"], error["error"]["param"]) == (
        "parameter_unknown",
        "line_items[0][price_data][bar]",
    )
    assert re.fullmatch(REQUEST_ID, response.getheader("Request-Id") or "")


# -- the sandbox's parameters are Stripe's -------------------------------------------------

PARAMS = {"/v1/checkout/sessions": SessionCreateParams, "/v1/refunds": RefundCreateParams}
_SCALARS = (str, int, bool, float, Decimal)


def _is_scalar(hint: Any) -> bool:
    if get_origin(hint) is Union:
        return all(_is_scalar(arg) for arg in get_args(hint))
    return get_origin(hint) is Literal or hint in _SCALARS


def _takes_metadata(hint: Any) -> bool:
    kinds = get_args(hint) if get_origin(hint) is Union else (hint,)
    return dict[str, str] in kinds or any(
        get_origin(kind) is dict and get_args(kind) == (str, str) for kind in kinds
    )


def _is_hash(hint: Any) -> bool:
    return isinstance(hint, type) and hasattr(hint, "__required_keys__")  # a TypedDict


def shape_problems(shape: Shape, hint: Any, name: str, lengths: dict[str, int]) -> list[str]:
    """Where the parameters the sandbox takes differ from the package's `...Params` types,
    and the sandbox's string limits from Stripe's (`lengths`, by parameter)."""
    if isinstance(shape, Scalar):
        found = [] if _is_scalar(hint) else [f"{name}: Stripe takes {type_name(hint)}"]
        stripe_max = lengths.get(name)
        return found + (
            []
            if shape.max_length == stripe_max
            else [f"{name}: sandbox max length {shape.max_length}, Stripe {stripe_max}"]
        )
    if isinstance(shape, Metadata):
        return [] if _takes_metadata(hint) else [f"{name}: Stripe does not take metadata here"]
    if isinstance(shape, ArrayOf):
        if get_origin(hint) is not list:
            return [f"{name}: Stripe does not take a list here"]
        return shape_problems(shape.item, get_args(hint)[0], f"{name}[0]", lengths)
    if not _is_hash(hint):
        return [f"{name}: Stripe does not take a hash here"]
    known = request_params(hint)
    found: list[str] = []
    for key, sub in shape.items():
        param = f"{name}[{key}]" if name else key
        if key not in known:
            found.append(f"{param}: not a Stripe parameter")
        else:
            found += shape_problems(sub, known[key], param, lengths)
    return found


@pytest.mark.parametrize(
    ("shape", "path"), [(SESSION_PARAMS, "/v1/checkout/sessions"), (REFUND_PARAMS, "/v1/refunds")]
)
def test_the_sandbox_takes_only_stripe_parameters_with_stripe_lengths(shape, path):
    assert shape_problems(shape, PARAMS[path], "", STRING_MAX_LENGTHS[path]) == []


def test_the_shape_check_can_fail():
    shape = {
        "mode": Scalar(),
        "foo": Scalar(),
        "client_reference_id": Scalar(),
        "metadata": Scalar(),
        "line_items": {"quantity": Scalar()},
        "payment_intent_data": {"metadata": ArrayOf(Scalar())},
        "expand": Metadata(),
    }

    assert shape_problems(
        shape, SessionCreateParams, "", STRING_MAX_LENGTHS["/v1/checkout/sessions"]
    ) == [
        "foo: not a Stripe parameter",
        "client_reference_id: sandbox max length None, Stripe 200",
        "metadata: Stripe takes Union[Dict[str, str], UntypedStripeObject[str]]",
        "line_items: Stripe does not take a hash here",
        "payment_intent_data[metadata]: Stripe does not take a list here",
        "expand: Stripe does not take metadata here",
    ]


def test_refund_reasons_are_stripe_s():
    reason = request_params(RefundCreateParams)["reason"]
    listed = [
        value for arg in get_args(reason) if get_origin(arg) is Literal for value in get_args(arg)
    ]

    assert set(REFUND_REASONS) == set(listed)


def test_the_unknown_parameters_used_here_are_unknown_to_stripe():
    session = request_params(SessionCreateParams)
    item = request_params(get_args(session["line_items"])[0])
    price = request_params(item["price_data"])

    assert "foo" not in session and "foo" not in request_params(session["payment_intent_data"])
    assert "foo" not in item and "bar" not in price
    assert "baz" not in request_params(price["product_data"])
    assert "foo" not in request_params(RefundCreateParams)
