"""The Stripe gateway through the real ``stripe`` SDK, against localstripe over HTTP.

localstripe (a Stripe-compatible server from PyPI) runs in its own virtual environment,
built once under ~/.cache/patronage-test and reused. Where it falls short of Stripe,
the tests say so:

* its PaymentIntent refuses ``description``, ``setup_future_usage``, ``off_session`` and
  (being older than API 2026-07-29) ``allowed_payment_method_types``, so the adapter
  talks to it through a small recording shim that drops those fields (and records every
  request); it only takes cards anyway, and charges a customer's card again without them;
* it ignores Idempotency-Key, so the header is checked against a local recorder;
* it only declines 4000000000000002 when the card is attached to a customer, never
  when it is charged; 4000000000000341 (pm_card_chargeCustomerFail) is declined;
* it sends no charge.refunded webhook, so that event is built from its real charge
  object and signed with the SDK's own helper.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode
from uuid import UUID, uuid4

import httpx
import pytest
import stripe
from hypothesis import given
from hypothesis import strategies as st

from adapters.stripe_payments.gateway import (
    STRIPE_API_VERSION,
    StripeGateway,
    from_minor_units,
    to_minor_units,
)
from application.ports.payments import (
    GatewayUnavailable,
    InvalidWebhook,
    PaymentDeclined,
    PaymentEvent,
    PaymentIntent,
)
from domain.values import Money
from tests.integration.conftest import free_port

API_KEY = "sk_test_12345"
WEBHOOK_SECRET = "whsec_patronage_localstripe_test"
LOCALSTRIPE_REQUIREMENT = "localstripe==1.15.10"
LOCALSTRIPE_VENV = Path(
    os.environ.get("PATRONAGE_LOCALSTRIPE_VENV")
    or Path.home() / ".cache" / "patronage-test" / "localstripe-venv"
)
# Stripe's test payment methods that localstripe knows by name.
VISA = "pm_card_visa"
CHARGE_DECLINED = "pm_card_chargeCustomerFail"  # 4000000000000341: attaches, then declines


# --- localstripe in its own virtual environment ---------------------------------------------


def _run_or_fail(cmd: list[str], what: str) -> None:
    try:
        done = subprocess.run(cmd, capture_output=True, text=True, timeout=240, check=False)
    except subprocess.TimeoutExpired:
        pytest.fail(f"{what} timed out: {' '.join(cmd)}", pytrace=False)
    if done.returncode != 0:
        pytest.fail(
            f"{what} failed (exit {done.returncode}); localstripe comes from PyPI, is it "
            f"reachable?\n$ {' '.join(cmd)}\n{(done.stdout + done.stderr)[-3000:]}",
            pytrace=False,
        )


def localstripe_executable() -> Path:
    """Builds the venv on first use (or when the pin changes); a lock serialises parallel runs."""
    venv = LOCALSTRIPE_VENV
    executable = venv / "bin" / "localstripe"
    marker = venv / ".patronage-installed"
    venv.parent.mkdir(parents=True, exist_ok=True)
    with (venv.parent / f"{venv.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if executable.exists() and marker.exists() and (
                marker.read_text() == LOCALSTRIPE_REQUIREMENT):
            return executable
        # A half-built or outdated venv is rebuilt from nothing.
        _run_or_fail([sys.executable, "-m", "venv", "--clear", str(venv)], "Creating a venv")
        _run_or_fail([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet",
                      "--disable-pip-version-check", LOCALSTRIPE_REQUIREMENT],
                     f"pip install {LOCALSTRIPE_REQUIREMENT}")
        marker.write_text(LOCALSTRIPE_REQUIREMENT)
    return executable


def _wait_until_up(url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            pytest.fail(f"localstripe exited with {process.returncode}:\n"
                        f"{log_path.read_text()[-3000:]}", pytrace=False)
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"{url}/v1/customers", timeout=1,
                         headers={"Authorization": f"Bearer {API_KEY}"}).status_code == 200:
                return
        if time.monotonic() > deadline:
            pytest.fail(f"localstripe did not answer on {url} within 30 s:\n"
                        f"{log_path.read_text()[-3000:]}", pytrace=False)
        time.sleep(0.1)


@pytest.fixture(scope="session")
def localstripe(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    executable = localstripe_executable()
    workdir = tmp_path_factory.mktemp("localstripe")
    log_path = workdir / "localstripe.log"
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [str(executable), "--port", str(port), "--from-scratch"],
            stdout=log, stderr=subprocess.STDOUT, cwd=workdir,
        )
        try:
            _wait_until_up(url, process, log_path)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# --- small local HTTP servers ------------------------------------------------------------------


@dataclass(frozen=True)
class Recorded:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    form: dict[str, str]


Reply = tuple[int, Any, dict[str, str]]


class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler]) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.owner = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def _body(self) -> bytes:
        return self.rfile.read(int(self.headers.get("Content-Length") or 0))

    def _send(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class StripeRecorder(_Server):
    """Records every request. With ``upstream``, forwards it there (minus the fields
    localstripe refuses); without, answers from ``replies`` or with a minimal valid object."""

    DROPPED = {"/v1/payment_intents": {"description", "allowed_payment_method_types[0]",
                                       "setup_future_usage", "off_session"}}
    FORWARDED = ("authorization", "content-type", "idempotency-key", "stripe-version")

    def __init__(self, upstream: str | None = None) -> None:
        self.upstream = upstream
        self.requests: list[Recorded] = []
        self.replies: dict[str, Callable[[Recorded], Reply]] = {}
        recorder = self

        class Handler(_Handler):
            def do_GET(self) -> None:
                self._handle()

            def do_POST(self) -> None:
                self._handle()

            def _handle(self) -> None:
                body = self._body()
                path = self.path.split("?", 1)[0]
                request = Recorded(self.command, path,
                                   {k.lower(): v for k, v in self.headers.items()},
                                   dict(parse_qsl(body.decode(), keep_blank_values=True)))
                recorder.requests.append(request)
                if recorder.upstream is None:
                    status, payload, headers = recorder.reply(request)
                    raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                    self._send(status, raw, {"Content-Type": "application/json", **headers})
                else:
                    self._send(*recorder.forward(self.command, self.path, request, body))

        super().__init__(Handler)

    def reply(self, request: Recorded) -> Reply:
        custom = self.replies.get(request.path)
        return custom(request) if custom is not None else self.standard(request)

    @staticmethod
    def standard(request: Recorded) -> Reply:
        form = request.form
        if request.path == "/v1/customers":
            return 200, {"id": "cus_recorded", "object": "customer"}, {}
        if request.path == "/v1/refunds":
            return 200, {"id": "re_recorded", "object": "refund", "currency": "usd",
                         "amount": int(form.get("amount", "1234")), "status": "succeeded"}, {}
        return 200, {"id": "pi_recorded", "object": "payment_intent",
                     "amount": int(form.get("amount", "1234")),
                     "currency": form.get("currency", "usd"), "status": "requires_payment_method",
                     "client_secret": "pi_recorded_secret_x",
                     "metadata": {"purchase_id": form.get("metadata[purchase_id]", "")}}, {}

    def forward(self, method: str, path: str, request: Recorded, body: bytes
                ) -> tuple[int, bytes, dict[str, str]]:
        dropped = self.DROPPED.get(request.path, set())
        if method == "POST" and dropped:
            body = urlencode([(k, v) for k, v in parse_qsl(body.decode(), keep_blank_values=True)
                              if k not in dropped]).encode()
        headers = {name: value for name, value in request.headers.items() if name in self.FORWARDED}
        upstream = urllib.request.Request(  # noqa: S310 - a fixed local http URL
            f"{self.upstream}{path}", data=body if method == "POST" else None,
            method=method, headers=headers)
        try:
            with urllib.request.urlopen(upstream, timeout=30) as response:  # noqa: S310
                return response.status, response.read(), {"Content-Type": "application/json"}
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read(), {"Content-Type": "application/json"}

    def sent(self, path: str) -> list[Recorded]:
        return [r for r in self.requests if r.path == path]


class WebhookReceiver(_Server):
    """Keeps each delivery's raw body and Stripe-Signature header."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[bytes, str | None]] = []
        receiver = self

        class Handler(_Handler):
            def do_POST(self) -> None:
                receiver.deliveries.append((self._body(), self.headers.get("Stripe-Signature")))
                self._send(200, b"{}", {"Content-Type": "application/json"})

        super().__init__(Handler)

    def wait_for(self, event_type: str, object_id: str | None = None, timeout: float = 15
                 ) -> tuple[bytes, str | None]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body, signature in list(self.deliveries):
                event = json.loads(body)
                if event.get("type") == event_type and (
                        object_id is None or event["data"]["object"].get("id") == object_id):
                    return body, signature
            time.sleep(0.05)
        seen = [json.loads(body).get("type") for body, _ in self.deliveries]
        raise AssertionError(f"no {event_type} for {object_id} within {timeout} s; got {seen}")


@pytest.fixture(scope="session")
def shim(localstripe: str) -> Iterator[StripeRecorder]:
    server = StripeRecorder(upstream=localstripe)
    yield server
    server.close()


@pytest.fixture(scope="session")
def webhooks(localstripe: str) -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()
    response = httpx.post(f"{localstripe}/_config/webhooks/patronage-tests",
                          json={"url": f"{receiver.url}/stripe/webhook", "secret": WEBHOOK_SECRET})
    assert response.status_code == 200, response.text
    yield receiver
    receiver.close()


@pytest.fixture
def recorder() -> Iterator[StripeRecorder]:
    server = StripeRecorder()
    yield server
    server.close()


@pytest.fixture
def gateway(shim: StripeRecorder) -> StripeGateway:
    return StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET, api_base=shim.url,
                         timeout=10)


@pytest.fixture(scope="session")
def sdk(localstripe: str) -> stripe.StripeClient:
    """The SDK straight at localstripe, for setting things up the adapter never does."""
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe})


def raw(localstripe: str, path: str) -> dict[str, Any]:
    """An object as localstripe puts it on the wire."""
    response = httpx.get(f"{localstripe}{path}", headers={"Authorization": f"Bearer {API_KEY}"})
    assert response.status_code == 200, response.text
    return dict(response.json())


def card(sdk: stripe.StripeClient, number: str) -> str:
    return sdk.v1.payment_methods.create(
        {"type": "card", "card": {"number": number, "exp_month": 12, "exp_year": 2030,
                                  "cvc": "123"}}
    ).id


def pay(gateway: StripeGateway, amount: Money, payment_method: str = VISA,
        purchase_id: UUID | None = None) -> PaymentIntent:
    customer = gateway.ensure_customer(user_id=uuid4(), email="fan@example.com",
                                       existing_id=None)
    return gateway.create_payment(amount=amount, purchase_id=purchase_id or uuid4(),
                                  customer_id=customer, description="Purchase",
                                  payment_method=payment_method)


def signed(payload: dict[str, Any] | bytes, *, secret: str = WEBHOOK_SECRET,
           age: int = 0) -> tuple[bytes, str]:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=int(time.time()) - age)
    return body, header


def event(kind: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {"id": f"evt_test_{uuid4().hex}", "object": "event", "type": kind,
            "created": int(time.time()), "data": {"object": obj}}


# --- customers ---------------------------------------------------------------------------------


def test_ensure_customer_creates_one_and_then_keeps_the_given_id(
        gateway: StripeGateway, shim: StripeRecorder, sdk: stripe.StripeClient) -> None:
    user_id = uuid4()
    customer_id = gateway.ensure_customer(user_id=user_id, email="fan@example.com",
                                          existing_id=None)

    assert customer_id.startswith("cus_")
    stored = sdk.v1.customers.retrieve(customer_id)
    assert stored.email == "fan@example.com"
    assert stored.metadata is not None
    assert stored.metadata.to_dict() == {"user_id": str(user_id)}
    assert shim.sent("/v1/customers")[-1].headers["idempotency-key"] == f"customer-{user_id}"

    before = len(shim.requests)
    again = gateway.ensure_customer(user_id=user_id, email="fan@example.com",
                                    existing_id=customer_id)
    assert again == customer_id
    assert len(shim.requests) == before  # no call at all


# --- payments ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("amount", "minor"), [
    (Money("12.34", "usd"), 1234), (Money("500", "jpy"), 500), (Money("1.234", "kwd"), 1234),
])
def test_a_good_card_pays_and_the_amount_round_trips(
        gateway: StripeGateway, shim: StripeRecorder, amount: Money, minor: int) -> None:
    purchase_id = uuid4()
    intent = pay(gateway, amount, purchase_id=purchase_id)

    assert intent.succeeded
    assert intent.id.startswith("pi_")
    assert intent.amount == amount
    assert intent.purchase_id == purchase_id
    assert intent.failure is None
    assert intent.client_secret and intent.client_secret.startswith(intent.id)
    sent = shim.sent("/v1/payment_intents")[-1]
    assert sent.form["amount"] == str(minor)
    assert sent.form["currency"] == amount.currency
    assert sent.form["description"] == "Purchase"
    assert sent.form["metadata[purchase_id]"] == str(purchase_id)
    assert sent.form["payment_method"] == VISA
    assert sent.form["confirm"] == "true"
    # Our pinned API version refuses the old writable payment_method_types (400
    # payment_method_types_no_longer_supported); the allowed list is its replacement.
    assert sent.form["allowed_payment_method_types[0]"] == "card"
    assert "payment_method_types[0]" not in sent.form
    assert sent.headers["idempotency-key"] == f"purchase-{purchase_id}"
    assert sent.headers["stripe-version"] == STRIPE_API_VERSION

    fetched = gateway.retrieve_payment(intent.id)
    assert (fetched.id, fetched.status, fetched.amount, fetched.purchase_id) == (
        intent.id, "succeeded", amount, purchase_id)


def test_a_payment_method_made_from_a_card_number_pays_too(
        gateway: StripeGateway, sdk: stripe.StripeClient) -> None:
    intent = pay(gateway, Money("3.00", "eur"), payment_method=card(sdk, "4242424242424242"))
    assert intent.succeeded


def test_without_a_payment_method_the_intent_waits_for_the_client(
        gateway: StripeGateway, shim: StripeRecorder) -> None:
    purchase_id = uuid4()
    intent = gateway.create_payment(amount=Money("9.99", "usd"), purchase_id=purchase_id,
                                    customer_id=None, description="Purchase")

    assert intent.status == "requires_payment_method"
    assert not intent.succeeded and not intent.failed
    assert intent.client_secret
    assert intent.purchase_id == purchase_id
    sent = shim.sent("/v1/payment_intents")[-1].form
    assert "confirm" not in sent and "payment_method" not in sent and "customer" not in sent


def test_a_card_declined_when_charged_is_payment_declined(gateway: StripeGateway) -> None:
    with pytest.raises(PaymentDeclined) as raised:
        pay(gateway, Money("12.34", "usd"), payment_method=CHARGE_DECLINED)

    assert raised.value.code == "payment.declined"
    assert raised.value.message == "Your card was declined."
    assert raised.value.details == {"reason": "card_declined"}
    assert raised.value.__cause__ is None


def test_localstripe_charges_4000000000000002_as_it_only_declines_it_on_attach(
        gateway: StripeGateway, sdk: stripe.StripeClient) -> None:
    # Real Stripe declines this card when charged; localstripe does not (it refuses it
    # only when it is attached to a customer). Pinned here so nobody relies on it.
    intent = pay(gateway, Money("12.34", "usd"), payment_method=card(sdk, "4000000000000002"))
    assert intent.status == "succeeded"


# --- idempotency keys, against a recorder (localstripe ignores them) -------------------------


def test_the_same_purchase_always_sends_the_same_idempotency_key(
        recorder: StripeRecorder) -> None:
    gateway = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=recorder.url, timeout=5)
    purchase_id, user_id = uuid4(), uuid4()

    gateway.ensure_customer(user_id=user_id, email="fan@example.com", existing_id=None)
    first, second = (gateway.create_payment(amount=Money("12.34", "usd"), purchase_id=purchase_id,
                                            customer_id="cus_recorded", description="Purchase",
                                            payment_method=VISA) for _ in range(2))
    gateway.refund(intent_id="pi_recorded", amount=Money("1.00", "usd"),
                   idempotency_key="refund-abc-12.34-1.00")

    assert first.id == second.id == "pi_recorded"
    assert first.purchase_id == purchase_id
    keys = [(r.path, r.headers.get("idempotency-key")) for r in recorder.requests]
    assert keys == [
        ("/v1/customers", f"customer-{user_id}"),
        ("/v1/payment_intents", f"purchase-{purchase_id}"),
        ("/v1/payment_intents", f"purchase-{purchase_id}"),
        ("/v1/refunds", "refund-abc-12.34-1.00"),
    ]
    assert {r.headers["stripe-version"] for r in recorder.requests} == {STRIPE_API_VERSION}
    assert {r.headers["authorization"] for r in recorder.requests} == {f"Bearer {API_KEY}"}


def test_a_retried_request_keeps_its_idempotency_key(recorder: StripeRecorder) -> None:
    gateway = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=recorder.url, timeout=5)
    recorder.replies["/v1/payment_intents"] = lambda r: (
        (503, {"error": {"type": "api_error", "message": "busy"}}, {})
        if len(recorder.requests) == 1 else recorder.standard(r))
    purchase_id = uuid4()

    intent = gateway.create_payment(amount=Money("1.00", "usd"), purchase_id=purchase_id,
                                    customer_id=None, description="Purchase")

    assert intent.purchase_id == purchase_id
    assert [r.headers["idempotency-key"] for r in recorder.requests] == [
        f"purchase-{purchase_id}"] * 2


# --- error mapping: nothing from the SDK leaves the adapter --------------------------------------

LEAKY_KEY = "sk_test_s3cr3t_DO_NOT_LEAK_9f2c"
NO_RETRY = {"Stripe-Should-Retry": "false"}


def _error(status: int, error: dict[str, Any]) -> Callable[[Recorded], Reply]:
    return lambda _: (status, {"error": error}, NO_RETRY)


@pytest.mark.parametrize(("reply", "expected", "logged"), [
    (_error(401, {"type": "invalid_request_error",
                  "message": f"Invalid API Key provided: {LEAKY_KEY}"}),
     GatewayUnavailable, "check the API key"),
    (_error(403, {"type": "invalid_request_error", "message": "restricted key"}),
     GatewayUnavailable, "check the API key"),
    (_error(400, {"type": "invalid_request_error", "message": "Unknown parameter",
                  "param": "foo"}), GatewayUnavailable, "Unknown parameter"),
    (_error(400, {"type": "idempotency_error", "message": "Keys for idempotent requests"}),
     GatewayUnavailable, "Keys for idempotent requests"),
    (_error(404, {"type": "invalid_request_error", "code": "resource_missing",
                  "message": "No such customer"}), GatewayUnavailable, "No such customer"),
    (_error(429, {"type": "invalid_request_error", "code": "rate_limit", "message": "slow"}),
     GatewayUnavailable, "unavailable"),
    (_error(500, {"type": "api_error", "message": "boom"}), GatewayUnavailable, "unavailable"),
    (lambda _: (200, b"<html>not json</html>", {}), GatewayUnavailable, "unavailable"),
    (lambda _: (200, {"object": "payment_intent"}, {}), GatewayUnavailable, "unusable"),
    (_error(402, {"type": "card_error", "code": "card_declined",
                  "decline_code": "insufficient_funds",
                  "message": "Your card has insufficient funds."}), PaymentDeclined, "declined"),
], ids=["401", "403", "400", "idempotency", "404", "429", "500", "not-json", "incomplete", "402"])
def test_stripe_errors_are_mapped_and_secrets_stay_out(
        recorder: StripeRecorder, caplog: pytest.LogCaptureFixture,
        reply: Callable[[Recorded], Reply], expected: type[Exception], logged: str) -> None:
    gateway = StripeGateway(api_key=LEAKY_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=recorder.url, timeout=5)
    recorder.replies["/v1/payment_intents"] = reply

    with caplog.at_level(logging.INFO, logger="patronage.payments.stripe"), \
            pytest.raises(expected) as raised:
        gateway.create_payment(amount=Money("1.00", "usd"), purchase_id=uuid4(),
                               customer_id=None, description="Purchase", payment_method=VISA)

    error = raised.value
    assert not isinstance(error, stripe.StripeError)
    assert error.__cause__ is None
    assert logged in caplog.text
    for text in (str(error), repr(error), caplog.text, repr(gateway), str(gateway)):
        assert LEAKY_KEY not in text
        assert WEBHOOK_SECRET not in text
    if expected is PaymentDeclined:
        assert str(error) == "Your card has insufficient funds."
        assert error.details == {"reason": "card_declined",  # type: ignore[attr-defined]
                                 "decline_code": "insufficient_funds"}
    else:
        assert error.code == "payment.gateway_unavailable"  # type: ignore[attr-defined]
        assert error.kind.value == "unavailable"  # type: ignore[attr-defined]


def test_an_unreachable_stripe_is_gateway_unavailable() -> None:
    gateway = StripeGateway(api_key=LEAKY_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=f"http://127.0.0.1:{free_port()}", timeout=2)
    for call in (lambda: gateway.retrieve_payment("pi_x"),
                 lambda: gateway.refund(intent_id="pi_x", amount=None, idempotency_key="k"),
                 lambda: gateway.ensure_customer(user_id=uuid4(), email="a@example.com",
                                                 existing_id=None)):
        with pytest.raises(GatewayUnavailable) as raised:
            call()
        assert LEAKY_KEY not in str(raised.value)


def test_the_constructor_refuses_missing_secrets() -> None:
    with pytest.raises(ValueError, match="API key"):
        StripeGateway(api_key="", webhook_secret=WEBHOOK_SECRET)
    with pytest.raises(ValueError, match="webhook"):
        StripeGateway(api_key=API_KEY, webhook_secret="")
    gateway = StripeGateway(api_key=LEAKY_KEY, webhook_secret=WEBHOOK_SECRET)
    assert repr(gateway) == (f"StripeGateway(api_base='https://api.stripe.com', "
                             f"api_version={STRIPE_API_VERSION!r})")
    assert gateway.name == "stripe"
    assert gateway.delivers_events_inline is False
    assert gateway.inline_event(PaymentIntent("pi", "succeeded", Money("1", "usd"))) is None
    assert gateway.inline_refund_event("pi", Money("1", "usd"), None) is None  # type: ignore[arg-type]


# --- refunds -----------------------------------------------------------------------------------


def test_partial_then_full_refunds(gateway: StripeGateway, shim: StripeRecorder) -> None:
    partial_intent = pay(gateway, Money("20.00", "eur"))
    partial = gateway.refund(intent_id=partial_intent.id, amount=Money("5.50", "eur"),
                             idempotency_key="refund-partial-1")

    assert partial.id.startswith("re_")
    assert partial.amount == Money("5.50", "eur")
    assert partial.status == "succeeded"
    sent = shim.sent("/v1/refunds")[-1]
    assert sent.form == {"payment_intent": partial_intent.id, "amount": "550"}
    assert sent.headers["idempotency-key"] == "refund-partial-1"

    full_intent = pay(gateway, Money("500", "jpy"))
    full = gateway.refund(intent_id=full_intent.id, amount=None, idempotency_key="refund-full-1")
    assert full.amount == Money("500", "jpy")
    assert shim.sent("/v1/refunds")[-1].form == {"payment_intent": full_intent.id}


def test_refunding_a_declined_payment_is_our_bug_not_the_clients(
        gateway: StripeGateway, sdk: stripe.StripeClient, caplog: pytest.LogCaptureFixture
) -> None:
    customer = sdk.v1.customers.create({"email": "fan@example.com"}).id
    with pytest.raises(PaymentDeclined):
        gateway.create_payment(amount=Money("1.00", "usd"), purchase_id=uuid4(),
                               customer_id=customer, description="Purchase",
                               payment_method=CHARGE_DECLINED)
    declined = next(pi for pi in sdk.v1.payment_intents.list({"limit": 1000}).data
                    if pi.customer == customer)

    with caplog.at_level(logging.ERROR, logger="patronage.payments.stripe"), \
            pytest.raises(GatewayUnavailable):
        gateway.refund(intent_id=declined.id, amount=None, idempotency_key="refund-declined")
    assert "Cannot refund a failed payment" in caplog.text


# --- webhooks, end to end ------------------------------------------------------------------------


def test_a_successful_payment_arrives_as_a_signed_webhook(
        gateway: StripeGateway, webhooks: WebhookReceiver) -> None:
    purchase_id = uuid4()
    intent = pay(gateway, Money("12.34", "usd"), purchase_id=purchase_id)

    body, signature = webhooks.wait_for("payment_intent.succeeded", intent.id)
    parsed = gateway.parse_event(body, signature)

    assert parsed.type == "payment_intent.succeeded"
    assert parsed.id.startswith("evt_")
    assert parsed.intent_id == intent.id
    assert parsed.purchase_id == purchase_id
    assert parsed.amount == Money("12.34", "usd")
    assert parsed.created.tzinfo is UTC
    assert abs(parsed.created - datetime.now(UTC)) < timedelta(minutes=1)


def test_a_declined_payment_arrives_as_payment_failed(
        gateway: StripeGateway, webhooks: WebhookReceiver, sdk: stripe.StripeClient) -> None:
    purchase_id = uuid4()
    with pytest.raises(PaymentDeclined):
        pay(gateway, Money("7.00", "usd"), payment_method=CHARGE_DECLINED,
            purchase_id=purchase_id)

    deadline = time.monotonic() + 15
    found = None
    while found is None and time.monotonic() < deadline:
        for body, signature in list(webhooks.deliveries):
            candidate = gateway.parse_event(body, signature)
            if (candidate.type == "payment_intent.payment_failed"
                    and candidate.purchase_id == purchase_id):
                found = candidate
        time.sleep(0.05)

    assert found is not None, "no payment_intent.payment_failed webhook"
    assert found.intent_id and found.intent_id.startswith("pi_")
    assert found.amount == Money("7.00", "usd")
    assert gateway.retrieve_payment(found.intent_id).failure == "Your card was declined."
    assert gateway.retrieve_payment(found.intent_id).failed


def test_an_unknown_event_type_keeps_only_id_type_and_time(
        gateway: StripeGateway, webhooks: WebhookReceiver) -> None:
    customer_id = gateway.ensure_customer(user_id=uuid4(), email="new@example.com",
                                          existing_id=None)
    body, signature = webhooks.wait_for("customer.created", customer_id)

    parsed = gateway.parse_event(body, signature)

    assert parsed == PaymentEvent(id=json.loads(body)["id"], type="customer.created",
                                  created=parsed.created)
    assert parsed.created.tzinfo is UTC


def _charge_of(localstripe: str, intent_id: str) -> dict[str, Any]:
    latest = raw(localstripe, f"/v1/payment_intents/{intent_id}")["latest_charge"]
    charge_id = latest["id"] if isinstance(latest, dict) else latest
    return raw(localstripe, f"/v1/charges/{charge_id}")


def test_charge_refunded_maps_every_refund(gateway: StripeGateway, localstripe: str) -> None:
    purchase_id = uuid4()
    intent = pay(gateway, Money("20.00", "usd"), purchase_id=purchase_id)
    first = gateway.refund(intent_id=intent.id, amount=Money("5.00", "usd"),
                           idempotency_key="r1")
    second = gateway.refund(intent_id=intent.id, amount=Money("15.00", "usd"),
                            idempotency_key="r2")
    # localstripe sends no charge.refunded: the event wraps its charge object as it is.
    charge = _charge_of(localstripe, intent.id)
    assert charge["refunds"]["object"] == "list"

    parsed = gateway.parse_event(*signed(event("charge.refunded", charge)))

    assert parsed.type == "charge.refunded"
    assert parsed.intent_id == intent.id
    assert parsed.amount == Money("20.00", "usd")
    assert parsed.amount_refunded == Money("20.00", "usd")
    assert parsed.fully_refunded
    assert {(r.id, r.amount, r.status) for r in parsed.refunds} == {
        (first.id, Money("5.00", "usd"), "succeeded"),
        (second.id, Money("15.00", "usd"), "succeeded"),
    }


def test_charge_refunded_without_embedded_refunds_asks_stripe_for_them(
        gateway: StripeGateway, localstripe: str, shim: StripeRecorder) -> None:
    # Since API version 2022-11-15 Stripe no longer embeds refunds in a charge.
    intent = pay(gateway, Money("10.00", "usd"))
    refund = gateway.refund(intent_id=intent.id, amount=Money("2.50", "usd"),
                            idempotency_key="r-modern")
    charge = _charge_of(localstripe, intent.id)
    del charge["refunds"]

    parsed = gateway.parse_event(*signed(event("charge.refunded", charge)))

    assert [(r.id, r.amount) for r in parsed.refunds] == [(refund.id, Money("2.50", "usd"))]
    assert parsed.amount_refunded == Money("2.50", "usd")
    assert not parsed.fully_refunded
    assert shim.requests[-1].path == "/v1/refunds" and shim.requests[-1].method == "GET"


def test_old_and_partial_event_shapes_never_crash(gateway: StripeGateway) -> None:
    old = gateway.parse_event(*signed(event("charge.refunded", {
        "id": "ch_1", "amount": 1000, "currency": "eur", "amount_refunded": 300,
        "payment_intent": {"id": "pi_1"},
        "refunds": [{"id": "re_1", "amount": 300}, {"amount": 1}, "junk"],
    })))
    assert old.intent_id == "pi_1"
    assert [(r.id, r.amount) for r in old.refunds] == [("re_1", Money("3.00", "eur"))]

    bare = gateway.parse_event(*signed(event("payment_intent.succeeded", {})))
    assert (bare.intent_id, bare.purchase_id, bare.amount) == (None, None, None)

    odd = gateway.parse_event(*signed(event("payment_intent.succeeded", {
        "id": "pi_2", "amount": "12", "currency": 5, "metadata": {"purchase_id": "not-a-uuid"},
    })))
    assert (odd.intent_id, odd.purchase_id, odd.amount) == ("pi_2", None, None)

    no_data = dict(event("charge.refunded", {}))
    del no_data["data"]
    empty = gateway.parse_event(*signed(no_data))
    assert (empty.intent_id, empty.refunds, empty.amount_refunded) == (None, (), None)


# --- webhook signatures ---------------------------------------------------------------------------


@pytest.fixture
def delivered(gateway: StripeGateway, webhooks: WebhookReceiver) -> tuple[bytes, str]:
    customer_id = gateway.ensure_customer(user_id=uuid4(), email="sig@example.com",
                                          existing_id=None)
    body, signature = webhooks.wait_for("customer.created", customer_id)
    assert signature is not None
    return body, signature


def _rejected(gateway: StripeGateway, body: bytes, signature: str | None) -> InvalidWebhook:
    with pytest.raises(InvalidWebhook) as raised:
        gateway.parse_event(body, signature)
    assert raised.value.code == "webhook.invalid"
    assert raised.value.__cause__ is None
    return raised.value


def test_a_genuine_delivery_is_accepted(gateway: StripeGateway,
                                        delivered: tuple[bytes, str]) -> None:
    assert gateway.parse_event(*delivered).type == "customer.created"


def test_missing_signature_is_rejected(gateway: StripeGateway,
                                       delivered: tuple[bytes, str]) -> None:
    _rejected(gateway, delivered[0], None)
    _rejected(gateway, delivered[0], "")


def test_a_signature_made_with_another_secret_is_rejected(
        delivered: tuple[bytes, str], shim: StripeRecorder) -> None:
    other = StripeGateway(api_key=API_KEY, webhook_secret="whsec_someone_else",
                          api_base=shim.url)
    _rejected(other, *delivered)


def test_a_body_altered_by_one_byte_is_rejected(gateway: StripeGateway,
                                                delivered: tuple[bytes, str]) -> None:
    body, signature = delivered
    index = body.index(b'"customer.created"') + 1
    altered = body[:index] + b"C" + body[index + 1:]
    assert len(altered) == len(body) and altered != body
    _rejected(gateway, altered, signature)
    _rejected(gateway, body + b" ", signature)


def test_a_stale_timestamp_is_rejected_even_when_correctly_signed(
        gateway: StripeGateway) -> None:
    payload = event("payment_intent.succeeded", {"id": "pi_old"})
    _rejected(gateway, *signed(payload, age=301))
    assert gateway.parse_event(*signed(payload, age=290)).intent_id == "pi_old"


@pytest.mark.parametrize("body", [
    b"not json", b"[]", b'"event"', b"{}", b'{"id": "evt_1", "type": "x"}',
    b'{"id": 1, "type": "x", "created": 1}', "\u00e9v\u00e9nement".encode("latin-1"),
])
def test_signed_payloads_that_are_not_events_are_rejected(
        gateway: StripeGateway, body: bytes) -> None:
    header = stripe.WebhookSignature.generate_signature_header(
        body.decode("latin-1"), WEBHOOK_SECRET)
    _rejected(gateway, body, header)


@pytest.mark.parametrize("header", ["garbage", "t=abc,v1=00", "t=1", "v1=deadbeef"])
def test_malformed_signature_headers_are_rejected(gateway: StripeGateway, header: str) -> None:
    body, _ = signed(event("x", {}))
    _rejected(gateway, body, header)


# --- minor units ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("money", "minor"), [
    (Money("12.34", "usd"), 1234), (Money("500", "jpy"), 500), (Money("1.234", "kwd"), 1234),
    (Money("0", "usd"), 0), (Money("0.01", "eur"), 1), (Money("1", "bhd"), 1000),
])
def test_minor_units_both_ways(money: Money, minor: int) -> None:
    assert to_minor_units(money) == minor
    assert from_minor_units(minor, money.currency) == money


def test_from_minor_units_normalises_the_currency_and_refuses_non_integers() -> None:
    assert from_minor_units(1234, "USD") == Money("12.34", "usd")
    for bad in (12.34, "1234", True, Decimal("1234")):
        with pytest.raises(TypeError):
            from_minor_units(bad, "usd")  # type: ignore[arg-type]


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_usd_minor_units_round_trip(cents: int) -> None:
    assert to_minor_units(from_minor_units(cents, "usd")) == cents


@given(st.decimals(min_value=Decimal("-1e12"), max_value=Decimal("1e12"), places=2,
                   allow_nan=False, allow_infinity=False))
def test_usd_money_round_trips(amount: Decimal) -> None:
    money = Money(amount, "usd")
    assert from_minor_units(to_minor_units(money), "usd") == money


# --- installments: a card saved with the first payment, charged off-session later ---------


def test_a_card_saved_with_a_first_payment_is_charged_off_session_later(
        gateway: StripeGateway, shim: StripeRecorder) -> None:
    customer = gateway.ensure_customer(user_id=uuid4(), email="plan@example.com",
                                       existing_id=None)
    first_id, second_id = uuid4(), uuid4()
    first = gateway.create_payment(amount=Money("33.34", "usd"), purchase_id=first_id,
                                   customer_id=customer, description="Course (installment 1)",
                                   payment_method=VISA, save_card=True)
    assert first.succeeded
    sent = shim.sent("/v1/payment_intents")[-1].form
    assert sent["setup_future_usage"] == "off_session"
    assert first.payment_method is not None and first.payment_method.startswith("pm_")

    second = gateway.charge_saved(amount=Money("33.33", "usd"), purchase_id=second_id,
                                  customer_id=customer, payment_method=first.payment_method,
                                  description="Course (installment 2)", attempt=1)
    assert second.succeeded
    assert (second.amount, second.purchase_id) == (Money("33.33", "usd"), second_id)
    charged = shim.sent("/v1/payment_intents")[-1]
    assert charged.form["off_session"] == "true"
    assert charged.form["confirm"] == "true"
    assert charged.form["customer"] == customer
    assert charged.form["payment_method"] == first.payment_method
    assert charged.headers["idempotency-key"] == f"installment-{second_id}-1"


def test_an_off_session_charge_is_keyed_by_installment_and_attempt(
        recorder: StripeRecorder) -> None:
    gateway = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=recorder.url, timeout=5)
    installment = uuid4()
    for attempt in (1, 1, 2):
        gateway.charge_saved(amount=Money("10.00", "usd"), purchase_id=installment,
                             customer_id="cus_recorded", payment_method="pm_saved",
                             description="Course (installment 2)", attempt=attempt)
    assert [r.headers["idempotency-key"] for r in recorder.sent("/v1/payment_intents")] == [
        f"installment-{installment}-1", f"installment-{installment}-1",
        f"installment-{installment}-2"]


def test_an_off_session_decline_is_payment_declined(recorder: StripeRecorder) -> None:
    gateway = StripeGateway(api_key=API_KEY, webhook_secret=WEBHOOK_SECRET,
                            api_base=recorder.url, timeout=5)
    recorder.replies["/v1/payment_intents"] = lambda r: (402, {"error": {
        "type": "card_error", "code": "card_declined", "decline_code": "insufficient_funds",
        "message": "Your card has insufficient funds."}}, {})
    with pytest.raises(PaymentDeclined) as raised:
        gateway.charge_saved(amount=Money("10.00", "usd"), purchase_id=uuid4(),
                             customer_id="cus_recorded", payment_method="pm_saved",
                             description="Course (installment 2)", attempt=1)
    assert raised.value.details == {"reason": "card_declined",
                                    "decline_code": "insufficient_funds"}


def test_a_payment_event_names_the_card_it_was_paid_with(gateway: StripeGateway) -> None:
    body, header = signed(event("payment_intent.succeeded", {
        "id": "pi_plan_1", "object": "payment_intent", "amount": 3334, "currency": "usd",
        "status": "succeeded", "payment_method": "pm_saved_1",
        "metadata": {"purchase_id": str(UUID(int=7))}}))
    parsed = gateway.parse_event(body, header)
    assert (parsed.payment_method, parsed.purchase_id, parsed.amount) == (
        "pm_saved_1", UUID(int=7), Money("33.34", "usd"))
