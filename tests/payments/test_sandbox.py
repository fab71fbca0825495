"""The Stripe sandbox, driven by the real stripe library over loopback HTTP."""

from __future__ import annotations

import http.client
import json
import re
import threading
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
import stripe
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from portal.payments.sandbox import StripeSandbox, sign_payload
from portal.payments.sandbox_objects import ApiError

SECRET = "whsec_sandbox_test_secret"
API_KEY = "sk_test_sandbox_tests"


class Inbox:
    """A webhook endpoint stand-in: keeps every delivery, answers from a script, then 200."""

    def __init__(self) -> None:
        self.received: list[tuple[bytes, str]] = []
        self.answers: list[int] = []

    def __call__(self, body: bytes, signature: str) -> int:
        self.received.append((body, signature))
        return self.answers.pop(0) if self.answers else 200

    def events(self) -> list[stripe.Event]:
        return [stripe.Webhook.construct_event(b, s, SECRET) for b, s in self.received]

    def types(self) -> list[str]:
        return [event.type for event in self.events()]


@pytest.fixture
def inbox() -> Inbox:
    return Inbox()


@pytest.fixture
def sandbox(inbox: Inbox) -> Iterator[StripeSandbox]:
    with StripeSandbox(SECRET, deliver=inbox) as sandbox:
        yield sandbox


def _client(url: str, api_key: str = API_KEY) -> tuple[stripe.StripeClient, stripe.HTTPClient]:
    http_client = stripe.RequestsClient()
    client = stripe.StripeClient(
        api_key, base_addresses={"api": url}, http_client=http_client, max_network_retries=0
    )
    return client, http_client


@pytest.fixture
def client(
    sandbox: StripeSandbox, monkeypatch: pytest.MonkeyPatch
) -> Iterator[stripe.StripeClient]:
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    client, http_client = _client(str(sandbox.url))
    yield client
    http_client.close()


def _params(sandbox: StripeSandbox, **changes: Any) -> dict[str, Any]:
    params: dict[str, Any] = {
        "mode": "payment",
        "success_url": f"{sandbox.url}/done?session={{CHECKOUT_SESSION_ID}}",
        "cancel_url": f"{sandbox.url}/cancelled",
        "client_reference_id": "pledge-7",
        "metadata": {"pledge_id": "7", "portal": "pijar-semar"},
        "line_items": [
            {
                "quantity": 1,
                "price_data": {
                    "currency": "idr",
                    "unit_amount": 1680000,
                    "product_data": {"name": "BPJS TK, 1 pekerja x 1 bulan"},
                },
            }
        ],
    }
    params.update(changes)
    return params


def _session(client: stripe.StripeClient, sandbox: StripeSandbox, key: str = "k1") -> Any:
    return client.v1.checkout.sessions.create(
        params=_params(sandbox), options={"idempotency_key": key}
    )


def _request(
    url: str, method: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One raw HTTP request that does not follow redirects; the connection is closed after."""
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(str(parts.hostname), parts.port, timeout=10)
    try:
        connection.request(method, path, headers=headers or {})
        response = connection.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        connection.close()


def _paid(client: stripe.StripeClient, sandbox: StripeSandbox, **changes: Any) -> Any:
    session = client.v1.checkout.sessions.create(
        params=_params(sandbox, **changes), options={"idempotency_key": "k1"}
    )
    status, _, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/pay")
    assert status == 303
    return client.v1.checkout.sessions.retrieve(session.id)


def test_create_session_returns_an_open_idr_session(client, sandbox):
    session = _session(client, sandbox)

    assert re.fullmatch(r"cs_test_a1[A-Za-z0-9]{56}", session.id)
    assert session.object == "checkout.session"
    assert (session.amount_total, session.currency) == (1680000, "idr")
    assert (session.status, session.payment_status, session.payment_intent) == (
        "open",
        "unpaid",
        None,
    )
    assert session.url == f"{sandbox.url}/checkout/{session.id}"
    assert session.metadata.to_dict() == {"pledge_id": "7", "portal": "pijar-semar"}
    assert session.client_reference_id == "pledge-7"
    assert session.expires_at > session.created


def test_quantity_multiplies_the_unit_amount(client, sandbox):
    params = _params(sandbox)
    params["line_items"][0]["quantity"] = 12

    session = client.v1.checkout.sessions.create(params=params)

    assert session.amount_total == 12 * 1680000


def test_same_idempotency_key_returns_the_same_session(client, sandbox):
    first = _session(client, sandbox, key="pledge-7-payment-1")
    second = _session(client, sandbox, key="pledge-7-payment-1")
    third = _session(client, sandbox, key="pledge-7-payment-2")

    assert first.id == second.id != third.id
    assert len(sandbox.sessions) == 2


def test_idempotency_key_reused_with_other_parameters_is_refused(client, sandbox):
    _session(client, sandbox, key="k1")

    with pytest.raises(stripe.IdempotencyError):
        client.v1.checkout.sessions.create(
            params=_params(sandbox, client_reference_id="pledge-8"),
            options={"idempotency_key": "k1"},
        )


@pytest.mark.parametrize("api_key", ["", "sk_test_other", "sk_live_sandbox_lookalike"])
def test_missing_or_foreign_api_key_is_refused(sandbox, api_key, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    client, http_client = _client(str(sandbox.url), api_key)
    try:
        with pytest.raises(stripe.AuthenticationError) as caught:
            _session(client, sandbox)
    finally:
        http_client.close()
    assert caught.value.http_status == 401
    assert sandbox.sessions == {}


def test_request_without_authorization_gets_a_stripe_shaped_401(sandbox):
    status, _, body = _request(str(sandbox.url), "POST", "/v1/checkout/sessions")

    assert status == 401
    assert json.loads(body)["error"]["type"] == "invalid_request_error"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("line_items", 0, "price_data", "currency"), "usd"),
        (("line_items", 0, "price_data", "currency"), "IDR"),
        (("line_items", 0, "price_data", "unit_amount"), 1680050),
        (("line_items", 0, "price_data", "unit_amount"), 0),
        (("line_items", 0, "quantity"), 0),
        (("line_items", 0, "price_data", "product_data", "name"), ""),
        (("mode",), "subscription"),
        (("success_url",), None),
        (("expires_at",), 1),
        (("customer",), "cus_123"),
    ],
)
def test_invalid_session_parameters_are_refused(client, sandbox, path, value):
    params = _params(sandbox)
    node = params
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params)
    assert caught.value.http_status == 400
    assert sandbox.sessions == {}


def test_two_line_items_are_refused(client, sandbox):
    params = _params(sandbox)
    params["line_items"] = params["line_items"] * 2

    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.create(params=params)


def test_max_amount_models_a_stripe_ceiling(inbox, monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    with StripeSandbox(SECRET, deliver=inbox, max_amount=1680000 * 5) as sandbox:
        client, http_client = _client(str(sandbox.url))
        params = _params(sandbox)
        params["line_items"][0]["quantity"] = 6
        try:
            with pytest.raises(stripe.InvalidRequestError) as caught:
                client.v1.checkout.sessions.create(params=params)
        finally:
            http_client.close()
    assert caught.value.code == "amount_too_large"


def test_unknown_session_and_unknown_path_are_404(client):
    with pytest.raises(stripe.InvalidRequestError) as missing:
        client.v1.checkout.sessions.retrieve("cs_test_nope")
    with pytest.raises(stripe.InvalidRequestError) as unknown:
        client.v1.customers.list()

    assert missing.value.http_status == unknown.value.http_status == 404
    assert missing.value.code == "resource_missing"


def test_pay_redirects_and_delivers_a_signed_paid_completed_event(client, sandbox, inbox):
    session = _session(client, sandbox)

    status, headers, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/pay")

    assert status == 303
    assert headers["Location"] == f"{sandbox.url}/done?session={session.id}"
    [(body, signature)] = inbox.received
    event = stripe.Webhook.construct_event(body, signature, SECRET)
    assert event.type == "checkout.session.completed"
    assert re.fullmatch(r"evt_[A-Za-z0-9]{24}", event.id)
    paid = event.data.object
    assert (paid.id, paid.status, paid.payment_status) == (session.id, "complete", "paid")
    assert re.fullmatch(r"pi_[A-Za-z0-9]{24}", paid.payment_intent)
    assert paid.metadata.to_dict() == {"pledge_id": "7", "portal": "pijar-semar"}
    assert sandbox.deliveries == [(event.id, 200)]
    assert client.v1.checkout.sessions.retrieve(session.id).payment_status == "paid"


def test_client_construct_event_accepts_sandbox_webhooks(client, sandbox, inbox):
    _paid(client, sandbox)
    [(body, signature)] = inbox.received

    event = client.construct_event(body, signature, SECRET)

    assert event.type == "checkout.session.completed"


def test_tampered_stale_or_foreign_signatures_fail_verification(client, sandbox, inbox):
    _paid(client, sandbox)
    [(body, signature)] = inbox.received
    tampered = body.replace(b'"paid"', b'"unpaid"')
    stale = sign_payload(body, SECRET, timestamp=int(time.time()) - 600)
    foreign = sign_payload(body, "whsec_someone_else")

    for payload, header in [(tampered, signature), (body, stale), (body, foreign)]:
        with pytest.raises(stripe.SignatureVerificationError):
            stripe.Webhook.construct_event(payload, header, SECRET)


def test_sign_payload_matches_the_stripe_library():
    body = b'{"id": "evt_test_1"}'

    ours = sign_payload(body, SECRET, timestamp=1_700_000_000)

    assert ours == stripe.WebhookSignature.generate_signature_header(
        body.decode(), SECRET, timestamp=1_700_000_000
    )


def test_delayed_payment_completes_unpaid_then_succeeds(client, sandbox, inbox):
    session = _session(client, sandbox)

    status, _, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/pay?async=1")

    assert status == 303
    completed, succeeded = inbox.events()
    assert completed.type == "checkout.session.completed"
    assert completed.data.object.payment_status == "unpaid"
    assert succeeded.type == "checkout.session.async_payment_succeeded"
    assert succeeded.data.object.payment_status == "paid"
    assert completed.data.object.payment_intent == succeeded.data.object.payment_intent


def test_fail_completes_unpaid_then_fails_and_goes_to_success_url(client, sandbox, inbox):
    session = _session(client, sandbox)

    status, headers, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/fail")

    assert (status, headers["Location"]) == (303, f"{sandbox.url}/done?session={session.id}")
    assert inbox.types() == [
        "checkout.session.completed",
        "checkout.session.async_payment_failed",
    ]
    assert [e.data.object.payment_status for e in inbox.events()] == ["unpaid", "unpaid"]
    unpaid_intent = inbox.events()[0].data.object.payment_intent
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params={"payment_intent": unpaid_intent})


def test_abandon_expires_the_session_and_goes_to_cancel_url(client, sandbox, inbox):
    session = _session(client, sandbox)

    status, headers, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/abandon")

    assert (status, headers["Location"]) == (303, f"{sandbox.url}/cancelled")
    [expired] = inbox.events()
    assert expired.type == "checkout.session.expired"
    assert expired.data.object.status == "expired"
    assert expired.data.object.metadata["pledge_id"] == "7"


def test_closed_session_cannot_be_paid_again(client, sandbox, inbox):
    session = _paid(client, sandbox)

    status, _, _ = _request(str(sandbox.url), "POST", f"/checkout/{session.id}/pay")
    page_status, _, page = _request(str(sandbox.url), "GET", f"/checkout/{session.id}")

    assert status == 409
    assert page_status == 200
    assert b"no longer open (status: complete)" in page
    assert b'id="pay"' not in page
    assert len(inbox.received) == 1


def test_expire_endpoint_expires_only_open_sessions(client, sandbox, inbox):
    session = _session(client, sandbox)

    expired = client.v1.checkout.sessions.expire(session.id)

    assert expired.status == "expired"
    assert inbox.types() == ["checkout.session.expired"]
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.checkout.sessions.expire(session.id)


def test_refunds_send_charge_refunded_with_cumulative_amount(client, sandbox, inbox):
    session = _paid(client, sandbox, payment_intent_data={"metadata": {"pledge_id": "7"}})

    first = client.v1.refunds.create(
        params={
            "payment_intent": session.payment_intent,
            "amount": 500000,
            "metadata": {"refund_id": "3"},
            "reason": "requested_by_customer",
        },
        options={"idempotency_key": "refund-3"},
    )
    second = client.v1.refunds.create(params={"payment_intent": session.payment_intent})

    assert re.fullmatch(r"re_[A-Za-z0-9]{24}", first.id)
    assert (first.status, first.amount, second.amount) == ("succeeded", 500000, 1180000)
    partly, fully = inbox.events()[1:]
    assert partly.type == fully.type == "charge.refunded"
    charge = partly.data.object
    assert re.fullmatch(r"ch_[A-Za-z0-9]{24}", charge.id)
    assert (charge.payment_intent, charge.amount, charge.currency) == (
        session.payment_intent,
        1680000,
        "idr",
    )
    assert (charge.amount_refunded, charge.refunded) == (500000, False)
    assert (fully.data.object.amount_refunded, fully.data.object.refunded) == (1680000, True)
    assert charge.metadata["pledge_id"] == "7"


def test_refund_beyond_the_captured_amount_is_refused(client, sandbox, inbox):
    session = _paid(client, sandbox)
    client.v1.refunds.create(params={"payment_intent": session.payment_intent, "amount": 1000000})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(
            params={"payment_intent": session.payment_intent, "amount": 700000}
        )

    assert caught.value.code == "amount_too_large"
    assert sandbox.charges[session.payment_intent]["amount_refunded"] == 1000000
    assert len(inbox.received) == 2


def test_charge_carries_payment_intent_metadata_when_given(client, sandbox, inbox):
    params = _params(sandbox, payment_intent_data={"metadata": {"pledge_id": "7", "via": "pi"}})
    session = client.v1.checkout.sessions.create(params=params)
    _request(str(sandbox.url), "POST", f"/checkout/{session.id}/pay")
    intent = client.v1.checkout.sessions.retrieve(session.id).payment_intent

    client.v1.refunds.create(params={"payment_intent": intent, "amount": 100000})

    refunded = inbox.events()[-1].data.object
    assert refunded.metadata.to_dict() == {"pledge_id": "7", "via": "pi"}


def test_unmodelled_payment_intent_data_is_refused(client, sandbox):
    params = _params(sandbox, payment_intent_data={"capture_method": "manual"})

    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.checkout.sessions.create(params=params)

    assert caught.value.param == "payment_intent_data[capture_method]"


@pytest.mark.parametrize(
    "params",
    [
        {"payment_intent": "pi_test_unknown"},
        {"amount": 100},
    ],
)
def test_refund_needs_a_known_payment_intent(client, params):
    with pytest.raises(stripe.InvalidRequestError):
        client.v1.refunds.create(params=params)


def test_resend_delivers_the_identical_event_again(client, sandbox, inbox):
    _paid(client, sandbox)
    event_id = sandbox.events[0]["id"]

    status = sandbox.resend(event_id)

    first, again = inbox.events()
    assert status == 200
    assert first.id == again.id == event_id
    assert inbox.received[0][0] == inbox.received[1][0] == sandbox.payload(event_id)
    assert sandbox.deliveries == [(event_id, 200), (event_id, 200)]


def test_failed_delivery_is_retried_three_times(client, sandbox, inbox):
    inbox.answers = [500, 503]
    _paid(client, sandbox)
    inbox.answers = [500] * 10
    sandbox.resend(sandbox.events[0]["id"])

    event_id = sandbox.events[0]["id"]
    assert (
        sandbox.deliveries
        == [(event_id, 500), (event_id, 503), (event_id, 200)] + [(event_id, 500)] * 4
    )


def test_held_back_events_wait_for_flush(client, sandbox, inbox):
    sandbox.auto_deliver = False
    session = _paid(client, sandbox)
    assert inbox.received == []

    sandbox.flush()

    assert inbox.types() == ["checkout.session.completed"]
    assert sandbox.pending == []
    assert inbox.events()[0].data.object.id == session.id


def test_reset_forgets_state_and_idempotency_keys_but_keeps_serving(client, sandbox, inbox):
    first = _paid(client, sandbox)

    sandbox.reset()
    again = client.v1.checkout.sessions.create(
        params=_params(sandbox, client_reference_id="pledge-8"), options={"idempotency_key": "k1"}
    )

    assert again.id != first.id
    assert list(sandbox.sessions) == [again.id]
    assert (sandbox.charges, sandbox.events, sandbox.deliveries) == ({}, [], [])


def test_checkout_page_shows_amount_product_notice_and_buttons(client, sandbox):
    session = client.v1.checkout.sessions.create(
        params=_params(
            sandbox,
            line_items=[
                {
                    "quantity": 1,
                    "price_data": {
                        "currency": "idr",
                        "unit_amount": 1680000,
                        "product_data": {"name": "Iuran <BPJS> & JKK"},
                    },
                }
            ],
        )
    )

    status, headers, body = _request(str(sandbox.url), "GET", f"/checkout/{session.id}")

    page = body.decode()
    assert status == 200
    assert headers["Content-Type"].startswith("text/html")
    assert "Rp16.800" in page
    assert "SANDBOX — test payment, no money moves" in page
    assert "pembayaran uji, tidak ada uang yang berpindah" in page
    assert "Iuran &lt;BPJS&gt; &amp; JKK" in page
    for action in ("pay", "fail", "abandon"):
        assert f'action="/checkout/{session.id}/{action}"' in page
        assert f'id="{action}"' in page
    assert "http" not in page.replace(str(sandbox.url), "")


def test_unknown_checkout_page_is_404(sandbox):
    status, _, body = _request(str(sandbox.url), "GET", "/checkout/cs_test_nope")

    assert status == 404
    assert b"SANDBOX" in body


def test_http_delivery_posts_signed_events_to_webhook_url(monkeypatch):
    monkeypatch.setattr(stripe, "enable_telemetry", False)
    received: list[tuple[bytes, str]] = []

    @Request.application
    def endpoint(request: Request) -> Response:
        received.append((request.get_data(), request.headers["Stripe-Signature"]))
        return Response("ok", 200 if len(received) > 1 else 500)

    receiver = make_server("127.0.0.1", 0, endpoint, threaded=True)
    thread = threading.Thread(target=receiver.serve_forever, daemon=True)
    thread.start()
    try:
        with StripeSandbox(SECRET, webhook_url=f"http://127.0.0.1:{receiver.port}/hook") as box:
            client, http_client = _client(str(box.url))
            try:
                session = _session(client, box)
                client.v1.checkout.sessions.expire(session.id)
            finally:
                http_client.close()
    finally:
        receiver.shutdown()
        receiver.server_close()
        thread.join()

    event_id = box.events[0]["id"]
    assert box.deliveries == [(event_id, 500), (event_id, 200)]
    event = stripe.Webhook.construct_event(*received[-1], SECRET)
    assert event.type == "checkout.session.expired"


def test_unreachable_webhook_url_is_recorded_as_status_zero(inbox):
    with StripeSandbox(SECRET, webhook_url="http://127.0.0.1:9/hook") as box:
        session = box.create_checkout_session(
            {
                "mode": "payment",
                "success_url": "http://x/s",
                "cancel_url": "http://x/c",
                "line_items": [
                    {
                        "quantity": "1",
                        "price_data": {
                            "currency": "idr",
                            "unit_amount": "1680000",
                            "product_data": {"name": "x"},
                        },
                    }
                ],
            }
        )
        box.expire_checkout_session(session["id"])

    assert box.deliveries == [(box.events[0]["id"], 0)] * 4


@pytest.mark.parametrize("host", ["192.0.2.10", "example.com"])
def test_sandbox_listens_on_loopback_only(host):
    with pytest.raises(ValueError, match="loopback"):
        StripeSandbox(SECRET).start(host=host)


def test_stop_closes_the_port(sandbox):
    url = str(sandbox.url)
    sandbox.stop()

    with pytest.raises(ConnectionRefusedError):
        _request(url, "GET", "/checkout/cs_test_x")


def test_refund_in_dashboard_refunds_the_rest_with_the_dashboards_request(client, sandbox, inbox):
    session = _paid(client, sandbox)
    client.v1.refunds.create(params={"payment_intent": session.payment_intent, "amount": 500000})

    refund_id = sandbox.refund_in_dashboard(session.payment_intent)

    refunded = inbox.events()[-1]
    assert refunded.type == "charge.refunded"
    assert (refunded.data.object.amount_refunded, refunded.data.object.refunded) == (1680000, True)
    assert re.fullmatch(r"req_[A-Za-z0-9]{14}", refunded.request.id)
    assert sandbox.refunds[refund_id]["amount"] == 1180000
    assert sandbox.refunds[refund_id]["metadata"] == {}


def test_partial_refund_in_dashboard_waits_for_flush_when_held(client, sandbox, inbox):
    session = _paid(client, sandbox)
    sandbox.auto_deliver = False

    sandbox.refund_in_dashboard(session.payment_intent, amount=200000)

    assert inbox.types() == ["checkout.session.completed"]
    sandbox.flush()
    assert inbox.events()[-1].data.object.amount_refunded == 200000


def test_dispute_is_opened_then_lost_and_blocks_refunds(client, sandbox, inbox):
    session = _paid(client, sandbox)

    dispute_id = sandbox.open_dispute(session.payment_intent, reason="product_not_received")
    with pytest.raises(stripe.InvalidRequestError) as caught:
        client.v1.refunds.create(params={"payment_intent": session.payment_intent})
    closed_id = sandbox.close_dispute(dispute_id, won=False)

    created, closed = inbox.events()[1:]
    assert re.fullmatch(r"dp_[A-Za-z0-9]{24}", dispute_id)
    assert (created.type, created.data.object.status) == (
        "charge.dispute.created",
        "needs_response",
    )
    assert created.data.object.payment_intent == session.payment_intent
    assert created.data.object.reason == "product_not_received"
    assert (closed.id, closed.type, closed.data.object.status) == (
        closed_id,
        "charge.dispute.closed",
        "lost",
    )
    assert sandbox.charges[session.payment_intent]["disputed"] is True
    assert caught.value.code == "charge_disputed"


def test_a_won_dispute_allows_refunds_again_and_closes_once(client, sandbox, inbox):
    session = _paid(client, sandbox)
    dispute_id = sandbox.open_dispute(session.payment_intent)

    sandbox.close_dispute(dispute_id, won=True)

    assert inbox.events()[-1].data.object.status == "won"
    assert client.v1.refunds.create(params={"payment_intent": session.payment_intent}).amount
    with pytest.raises(ValueError, match="already won"):
        sandbox.close_dispute(dispute_id, won=False)


def test_dispute_events_wait_for_flush_when_held(client, sandbox, inbox):
    session = _paid(client, sandbox)
    sandbox.auto_deliver = False

    sandbox.close_dispute(sandbox.open_dispute(session.payment_intent), won=True)

    assert inbox.types() == ["checkout.session.completed"]
    sandbox.flush()
    assert inbox.types()[1:] == ["charge.dispute.created", "charge.dispute.closed"]


def test_dispute_needs_a_stripe_reason_and_a_paid_intent(client, sandbox):
    session = _paid(client, sandbox)

    with pytest.raises(ValueError, match="no dispute reason"):
        sandbox.open_dispute(session.payment_intent, reason="changed_my_mind")
    with pytest.raises(ApiError):
        sandbox.open_dispute("pi_unknown")
    assert sandbox.disputes == {}


def test_api_events_carry_the_request_id_and_idempotency_key(client, sandbox, inbox):
    session = _paid(client, sandbox)

    refund = client.v1.refunds.create(
        params={"payment_intent": session.payment_intent}, options={"idempotency_key": "refund-9"}
    )

    request = inbox.events()[-1].request
    assert (request.id, request.idempotency_key) == (refund.last_response.request_id, "refund-9")
    assert inbox.events()[0].request.id is None  # paid on the checkout page: no API request
