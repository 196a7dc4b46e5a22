"""Memberships at Stripe: the adapter through the real ``stripe`` SDK, and signed webhooks.

``FakeStripe`` serves the v1 routes the adapter calls (customers, products, prices,
subscriptions) on a local port and answers in the shapes of Stripe's published fixtures
(stripe/openapi, ``openapi/fixtures3.json``) for the pinned API version: a subscription's
period lives on its items, an invoice names its subscription under
``parent.subscription_details``, and the first invoice's ``confirmation_secret`` is only
there when expanded. It records every request and, like Stripe, replays the first answer
to a POST sent again with the same Idempotency-Key (and refuses the key with other
parameters).

The webhook tests run the whole application on PostgreSQL with that gateway. Events are
signed with the SDK's own helper; since the handler reads the subscription back from
Stripe, the test tells the story by changing what the fake says before each delivery.
"""

from __future__ import annotations

import copy
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import (
    credit_transactions,
    subscription_tiers,
    subscriptions,
    users,
    webhook_events,
)
from adapters.stripe_payments.gateway import STRIPE_API_VERSION, StripeGateway
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.ports.billing import TierPrices
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.errors import Conflict
from domain.identity.roles import Role
from domain.memberships.subscription import Subscription, SubscriptionStatus
from domain.memberships.tier import BillingPeriod, SubscriptionTier
from domain.values import Money
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import Headers, account, login
from tests.integration.conftest import FAST_ARGON2
from tests.integration.test_stripe_gateway import Recorded
from tests.integration.test_stripe_webhooks import SECRET, deliver, event
from tests.unit.fakes.system import FrozenClock

Client = TestClient[Litestar]
Obj = dict[str, Any]
Params = dict[str, str]
API_KEY = "sk_test_x"
DAY = 24 * 3600


# --- Stripe's objects, trimmed to the fields of fixtures3.json that matter here -------------



def edition(tier: SubscriptionTier) -> str:
    return str(int(tier.updated_at.timestamp() * 1_000_000))

def listed(data: list[Obj], url: str) -> Obj:
    return {"object": "list", "data": data, "has_more": False, "url": url}


def invoice_object(invoice_id: str, subscription_id: str, *, amount: int, currency: str,
                   reason: str, status: str, client_secret: str | None = None) -> Obj:
    paid = status == "paid"
    return {
        "id": invoice_id, "object": "invoice", "status": status, "billing_reason": reason,
        "currency": currency, "amount_due": amount, "amount_paid": amount if paid else 0,
        "amount_remaining": 0 if paid else amount, "attempt_count": 0 if paid else 1,
        "livemode": False,
        # The top-level ``subscription`` field is gone since 2025-03-31: only ``parent``.
        "parent": {"type": "subscription_details", "quote_details": None,
                   "subscription_details": {"metadata": None,
                                            "subscription": subscription_id}},
        "confirmation_secret": (None if client_secret is None else
                                {"client_secret": client_secret, "type": "payment_intent"}),
    }


def _bool(value: str) -> bool:
    return value == "true"


def _nested(params: Params, name: str) -> dict[str, str]:
    """A dict the SDK sent as ``name[key]=value`` fields."""
    prefix = f"{name}["
    return {key[len(prefix):-1]: value for key, value in params.items()
            if key.startswith(prefix) and key.endswith("]")}


def _on_the_wire(value: object) -> str:
    return json.dumps(value) if isinstance(value, bool) else str(value)


class Refused(Exception):
    """An error answer, in Stripe's shape."""

    def __init__(self, status: int, code: str, message: str,
                 kind: str = "invalid_request_error") -> None:
        super().__init__(message)
        self.answer = status, {"error": {"type": kind, "code": code, "message": message}}


class FakeStripe:
    """Stripe's v1 API for the objects the adapter uses, held in dicts the test may edit."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self.customers: dict[str, Obj] = {}
        self.products: dict[str, Obj] = {}
        self.prices: dict[str, Obj] = {}
        self.subscriptions: dict[str, Obj] = {}
        self.invoices: dict[str, Obj] = {}
        self._answered: dict[str, tuple[Params, tuple[int, Obj]]] = {}
        self._serial = itertools.count(1)
        self._lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                fake._serve(self)

            do_POST = do_DELETE = do_GET

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        # A short poll keeps shutdown() quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def sent(self, method: str, path: str) -> list[Recorded]:
        return [r for r in self.requests if (r.method, r.path) == (method, path)]

    def posts(self) -> list[Recorded]:
        return [r for r in self.requests if r.method == "POST"]

    # -- what the test sets up or moves along ------------------------------------------

    def add_product(self, name: str, description: str | None = None, *,
                    metadata: dict[str, str] | None = None) -> str:
        product_id = self._new_id("prod")
        self.products[product_id] = {
            "id": product_id, "object": "product", "active": True, "name": name,
            "description": description, "metadata": metadata or {}, "livemode": False,
            "created": int(time.time()), "updated": int(time.time()), "default_price": None}
        return product_id

    def add_price(self, product: str, unit_amount: int, interval: str, currency: str = "usd",
                  *, metadata: dict[str, str] | None = None) -> str:
        price_id = self._new_id("price")
        self.prices[price_id] = {
            "id": price_id, "object": "price", "active": True, "billing_scheme": "per_unit",
            "currency": currency, "unit_amount": unit_amount,
            "unit_amount_decimal": str(unit_amount), "product": product,
            "recurring": {"interval": interval, "interval_count": 1, "meter": None,
                          "trial_period_days": None, "usage_type": "licensed"},
            "type": "recurring", "metadata": metadata or {}, "livemode": False,
            "lookup_key": None, "nickname": None, "created": int(time.time())}
        return price_id

    def become(self, subscription_id: str, status: str, *,
               period: tuple[int, int] | None = None) -> Obj:
        """Stripe's side moves on (paid, failed, canceled); returns the object as it is now."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            subscription["status"] = status
            if status == "canceled":
                subscription.update(canceled_at=int(time.time()), ended_at=int(time.time()),
                                    cancel_at_period_end=False)
            if period is not None:
                item = subscription["items"]["data"][0]
                item["current_period_start"], item["current_period_end"] = period
            return copy.deepcopy(subscription)

    def invoice(self, subscription_id: str, *, reason: str, status: str) -> Obj:
        """A new invoice of the subscription, as an ``invoice.*`` event carries it."""
        with self._lock:
            subscription = self.subscriptions[subscription_id]
            price = subscription["items"]["data"][0]["price"]
            invoice = invoice_object(self._new_id("in"), subscription_id,
                                     amount=price["unit_amount"], currency=price["currency"],
                                     reason=reason, status=status)
            self.invoices[invoice["id"]] = invoice
            subscription["latest_invoice"] = invoice["id"]
            shown = copy.deepcopy(invoice)
            del shown["confirmation_secret"]  # only ever there when expanded
            return shown

    # -- HTTP --------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_{next(self._serial):04d}{uuid4().hex[:10]}"

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        path, _, query = handler.path.partition("?")
        body = handler.rfile.read(int(handler.headers.get("Content-Length") or 0)).decode()
        # A POST's parameters are form-encoded in the body, a GET's or DELETE's in the query
        # string: either way they land in Recorded.form.
        request = Recorded(handler.command, path,
                           {name.lower(): value for name, value in handler.headers.items()},
                           dict(parse_qsl(body or query, keep_blank_values=True)))
        with self._lock:
            self.requests.append(request)
            try:
                status, payload = self._replay_or_answer(request)
            except Refused as refused:
                status, payload = refused.answer
        raw = json.dumps(payload).encode()
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(raw)))
        handler.send_header("Request-Id", f"req_{uuid4().hex[:14]}")
        handler.end_headers()
        handler.wfile.write(raw)

    def _replay_or_answer(self, request: Recorded) -> tuple[int, Obj]:
        key = request.headers.get("idempotency-key")
        if request.method != "POST" or key is None:
            return 200, self._answer(request)
        if key in self._answered:
            params, answer = self._answered[key]
            if params != request.form:
                raise Refused(400, "idempotency_key_in_use",
                              "Keys for idempotent requests can only be used with the same "
                              "parameters they were first used with.", "idempotency_error")
            return answer
        answer = 200, self._answer(request)
        self._answered[key] = (request.form, answer)
        return answer

    def _answer(self, request: Recorded) -> Obj:
        parts = request.path.strip("/").split("/")
        stores = {"customers": self.customers, "products": self.products,
                  "prices": self.prices, "subscriptions": self.subscriptions}
        if parts[0] != "v1" or len(parts) not in (2, 3) or parts[1] not in stores:
            raise Refused(404, "", f"Unrecognized request URL ({request.method}: "
                                   f"{request.path}).")
        kind, store, p = parts[1], stores[parts[1]], request.form
        if len(parts) == 2 and request.method == "GET":
            found = [copy.deepcopy(o) for o in store.values()
                     if all(_on_the_wire(o.get(field)) == p[field]
                            for field in ("product", "active", "customer") if field in p)]
            return listed(found, f"/v1/{kind}")
        if len(parts) == 2 and request.method == "POST":
            created = self._create(kind, p)
            return self._view(created, p)
        obj = store.get(parts[2])
        if obj is None:
            raise Refused(404, "resource_missing", f"No such {kind[:-1]}: '{parts[2]}'")
        if request.method == "POST":
            self._update(kind, obj, p)
        elif request.method == "DELETE" and kind == "subscriptions":
            obj.update(status="canceled", canceled_at=int(time.time()),
                       ended_at=int(time.time()), cancel_at_period_end=False)
        elif request.method != "GET":
            raise Refused(405, "", f"{request.method} is not allowed on {request.path}.")
        return self._view(obj, p)

    def _create(self, kind: str, p: Params) -> Obj:
        metadata = _nested(p, "metadata")
        if kind == "customers":
            customer_id = self._new_id("cus")
            self.customers[customer_id] = {"id": customer_id, "object": "customer",
                                           "email": p.get("email"), "metadata": metadata}
            return self.customers[customer_id]
        if kind == "products":
            product_id = self.add_product(p["name"], p.get("description"), metadata=metadata)
            self.products[product_id]["active"] = _bool(p.get("active", "true"))
            return self.products[product_id]
        if kind == "prices":
            if p.get("product") not in self.products:
                raise Refused(400, "resource_missing", "No such product.")
            return self.prices[self.add_price(p["product"], int(p["unit_amount"]),
                                              p["recurring[interval]"], p["currency"],
                                              metadata=metadata)]
        return self._new_subscription(p, metadata)

    def _new_subscription(self, p: Params, metadata: dict[str, str]) -> Obj:
        price = self.prices.get(p.get("items[0][price]", ""))
        if price is None or not price["active"]:
            raise Refused(400, "resource_missing", "No such price.")
        subscription_id, now = self._new_id("sub"), int(time.time())
        trial_days = int(p.get("trial_period_days", "0"))
        days = {"month": 30, "year": 365}[price["recurring"]["interval"]]
        end = now + (trial_days or days) * DAY
        # A trial's first invoice is for nothing and already paid: nothing to confirm.
        invoice = invoice_object(
            self._new_id("in"), subscription_id, amount=0 if trial_days else price["unit_amount"],
            currency=price["currency"], reason="subscription_create",
            status="paid" if trial_days else "open",
            client_secret=None if trial_days else f"pi_{uuid4().hex[:24]}_secret_{uuid4().hex}")
        self.invoices[invoice["id"]] = invoice
        self.subscriptions[subscription_id] = {
            "id": subscription_id, "object": "subscription", "customer": p["customer"],
            "status": "trialing" if trial_days else "incomplete",
            "items": listed([{
                "id": self._new_id("si"), "object": "subscription_item", "quantity": 1,
                "price": copy.deepcopy(price), "subscription": subscription_id,
                "current_period_start": now, "current_period_end": end, "metadata": {},
                "created": now}], f"/v1/subscription_items?subscription={subscription_id}"),
            "metadata": metadata, "cancel_at_period_end": False, "canceled_at": None,
            "ended_at": None, "trial_end": end if trial_days else None,
            "trial_start": now if trial_days else None, "latest_invoice": invoice["id"],
            "default_payment_method": p.get("default_payment_method"),
            "collection_method": "charge_automatically", "currency": price["currency"],
            "created": now, "start_date": now, "livemode": False}
        return self.subscriptions[subscription_id]

    def _update(self, kind: str, obj: Obj, p: Params) -> None:
        obj.setdefault("metadata", {}).update(_nested(p, "metadata"))
        if kind == "products":
            obj.update({field: p[field] for field in ("name", "description") if field in p})
        if kind in ("products", "prices") and "active" in p:
            obj["active"] = _bool(p["active"])
        if kind == "subscriptions":
            if obj["status"] == "canceled":
                raise Refused(400, "", "A canceled subscription can only update its "
                                       "cancellation_details and metadata.")
            if "cancel_at_period_end" in p:
                obj["cancel_at_period_end"] = _bool(p["cancel_at_period_end"])
            if "items[0][price]" in p:
                item = obj["items"]["data"][0]
                if p.get("items[0][id]") != item["id"]:
                    raise Refused(400, "resource_missing", "No such subscription item.")
                item["price"] = copy.deepcopy(self.prices[p["items[0][price]"]])

    def _view(self, obj: Obj, p: Params) -> Obj:
        shown = copy.deepcopy(obj)
        expand = {value for key, value in p.items() if key.startswith("expand[")}
        if "latest_invoice.confirmation_secret" in expand and shown.get("latest_invoice"):
            shown["latest_invoice"] = copy.deepcopy(self.invoices[shown["latest_invoice"]])
        return shown


@pytest.fixture
def fake() -> Iterator[FakeStripe]:
    server = FakeStripe()
    yield server
    server.close()


@pytest.fixture
def gateway(fake: FakeStripe) -> StripeGateway:
    return StripeGateway(api_key=API_KEY, webhook_secret=SECRET, api_base=fake.url, timeout=5)


# --- the adapter against the fake ------------------------------------------------------------


def make_tier(currency: str = "usd", **fields: Any) -> SubscriptionTier:
    return SubscriptionTier.create(
        id=uuid4(), now=datetime.now(UTC), currency=currency,
        fields={"name": "Patrons", "description": "Everything, monthly", **fields})


def started(tier_id: UUID | None = None, provider_id: str | None = None) -> Subscription:
    subscription = Subscription.start(id=uuid4(), customer_id=uuid4(),
                                      tier_id=tier_id or uuid4(), period=BillingPeriod.MONTHLY,
                                      now=datetime.now(UTC))
    subscription.provider_id = provider_id
    return subscription


@pytest.mark.parametrize(("currency", "monthly", "yearly", "minor_monthly", "minor_yearly"), [
    ("usd", "12.00", "120.00", 1200, 12000),
    ("jpy", "1500", "15000", 1500, 15000),
])
def test_mirroring_a_new_tier_creates_its_product_then_a_price_per_period(
        fake: FakeStripe, gateway: StripeGateway, currency: str, monthly: str, yearly: str,
        minor_monthly: int, minor_yearly: int) -> None:
    tier = make_tier(currency, price_monthly=monthly, price_yearly=yearly)

    sync = gateway.mirror_tier(tier, apply=True)

    product, month, year = fake.posts()
    assert (product.path, month.path, year.path) == ("/v1/products", "/v1/prices", "/v1/prices")
    assert product.form == {"name": "Patrons", "description": "Everything, monthly",
                            "active": "true", "metadata[tier_id]": str(tier.id)}
    assert product.headers["idempotency-key"] == f"tier-{tier.id}-product"
    product_id = next(iter(fake.products))
    for sent, amount, interval, period in ((month, minor_monthly, "month", "monthly"),
                                           (year, minor_yearly, "year", "yearly")):
        assert sent.form == {"product": product_id, "unit_amount": str(amount),
                             "currency": currency, "recurring[interval]": interval,
                             "metadata[tier_id]": str(tier.id),
                             "metadata[billing_period]": period}
        # Derived from the tier, the amount and the tier's edit (a later edit is a new Price).
        assert sent.headers["idempotency-key"] == (
            f"tier-{tier.id}-{period}-{amount}{currency}-{edition(tier)}")
    assert {r.headers["stripe-version"] for r in fake.requests} == {STRIPE_API_VERSION}
    assert {r.headers["authorization"] for r in fake.requests} == {f"Bearer {API_KEY}"}
    # Stray prices are looked for among the product's active ones only.
    listing = fake.sent("GET", "/v1/prices")[-1]
    assert listing.form == {"product": product_id, "active": "true", "limit": "100"}

    assert sync.prices.product_id == product_id
    assert fake.prices[str(sync.prices.monthly)]["unit_amount"] == minor_monthly
    assert fake.prices[str(sync.prices.yearly)]["recurring"]["interval"] == "year"
    assert sync.drift == ("product: missing", "price monthly: missing", "price yearly: missing")
    assert len(sync.changed) == 3

    # Recorded on the tier, the mirror agrees: a second pass only reads.
    tier.stripe_product_id = sync.prices.product_id
    tier.stripe_price_monthly_id, tier.stripe_price_yearly_id = (sync.prices.monthly,
                                                                 sync.prices.yearly)
    before = len(fake.requests)
    again = gateway.mirror_tier(tier, apply=True)
    assert (again.prices, again.drift, again.changed) == (sync.prices, (), ())
    assert {r.method for r in fake.requests[before:]} == {"GET"}


def test_mirroring_again_after_a_lost_answer_creates_nothing_twice(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    tier = make_tier(price_monthly="12.00", price_yearly="120.00")
    # The ids never reached our database (a crash, a timeout): the same call again.
    first = gateway.mirror_tier(tier, apply=True)
    second = gateway.mirror_tier(tier, apply=True)

    assert second.prices == first.prices
    assert len(fake.products) == 1 and len(fake.prices) == 2
    keys = [r.headers["idempotency-key"] for r in fake.posts()]
    assert keys[:3] == keys[3:]


def test_checking_a_drifted_tier_without_apply_reports_and_writes_nothing(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    product_id = fake.add_product("Old name", "Everything, monthly")
    stale_price = fake.add_price(product_id, 1000, "month")
    tier = make_tier(price_monthly="12.00", price_yearly="120.00")
    tier.stripe_product_id, tier.stripe_price_monthly_id = product_id, stale_price

    sync = gateway.mirror_tier(tier, apply=False)

    assert sync.drift == (
        "product: name differ",
        "price monthly: 10.00 USD every month (active=True) at Stripe, 12.00 USD here",
        "price yearly: missing",
    )
    assert sync.changed == ()
    assert sync.prices == TierPrices(product_id=product_id, monthly=stale_price, yearly=None)
    assert fake.posts() == []
    assert fake.products[product_id]["name"] == "Old name"
    assert len(fake.prices) == 1 and fake.prices[stale_price]["active"] is True


def test_a_new_price_is_a_new_stripe_price_and_the_old_one_is_archived(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    tier = make_tier(price_monthly="10.00")
    first = gateway.mirror_tier(tier, apply=True)
    tier.stripe_product_id, tier.stripe_price_monthly_id = (first.prices.product_id,
                                                            first.prices.monthly)
    old_price = str(first.prices.monthly)

    repriced = tier.edit({"price_monthly": "12.00"}, datetime.now(UTC))
    assert repriced == [BillingPeriod.MONTHLY]
    before = len(fake.requests)
    sync = gateway.mirror_tier(tier, apply=True)

    new_price = str(sync.prices.monthly)
    assert new_price != old_price
    create, archive = [r for r in fake.requests[before:] if r.method == "POST"]
    assert (create.path, create.form["unit_amount"]) == ("/v1/prices", "1200")
    assert create.headers["idempotency-key"] == f"tier-{tier.id}-monthly-1200usd-{edition(tier)}"
    assert (archive.path, archive.form) == (f"/v1/prices/{old_price}", {"active": "false"})
    assert archive.headers["idempotency-key"] == f"archive-{old_price}"
    assert fake.prices[old_price]["active"] is False
    assert fake.prices[new_price]["active"] is True
    assert fake.prices[new_price]["unit_amount"] == 1200
    assert f"price {old_price}: archived" in sync.changed


def test_going_back_to_an_earlier_price_leaves_the_tier_on_an_active_price(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    tier = make_tier(price_monthly="10.00")
    for amount in ("10.00", "12.00", "10.00"):
        tier.edit({"price_monthly": amount}, datetime.now(UTC))
        sync = gateway.mirror_tier(tier, apply=True)
        tier.stripe_product_id, tier.stripe_price_monthly_id = (sync.prices.product_id,
                                                                sync.prices.monthly)

    price = fake.prices[str(tier.stripe_price_monthly_id)]
    assert (price["unit_amount"], price["active"]) == (1000, True)
    assert [p["unit_amount"] for p in fake.prices.values() if p["active"]] == [1000]


def test_create_subscription_asks_for_an_incomplete_start_and_returns_the_client_secret(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    price_id = fake.add_price(fake.add_product("Patrons"), 1200, "month")
    subscription = started()

    change = gateway.create_subscription(subscription=subscription, customer_id="cus_123",
                                         price_id=price_id, price=Money("12.00", "usd"),
                                         trial_days=0, payment_method=None)

    (sent,) = fake.sent("POST", "/v1/subscriptions")
    assert sent.form == {
        "customer": "cus_123",
        "items[0][price]": price_id,
        "payment_behavior": "default_incomplete",
        "payment_settings[save_default_payment_method]": "on_subscription",
        "expand[0]": "latest_invoice.confirmation_secret",
        "metadata[subscription_id]": str(subscription.id),
        "metadata[tier_id]": str(subscription.tier_id),
        "metadata[billing_period]": "monthly",
    }
    assert sent.headers["idempotency-key"] == f"subscription-{subscription.id}"
    assert sent.headers["stripe-version"] == STRIPE_API_VERSION
    stored = fake.subscriptions[change.state.provider_id]
    invoice = fake.invoices[stored["latest_invoice"]]
    assert change.client_secret == invoice["confirmation_secret"]["client_secret"]
    state = change.state
    assert state.status is SubscriptionStatus.INCOMPLETE
    item = stored["items"]["data"][0]
    assert state.period_start == datetime.fromtimestamp(item["current_period_start"], UTC)
    assert state.period_end == datetime.fromtimestamp(item["current_period_end"], UTC)
    assert (state.subscription_id, state.tier_id, state.billing_period) == (
        subscription.id, subscription.tier_id, BillingPeriod.MONTHLY)
    assert state.trial_end is None


def test_create_subscription_with_a_trial_and_a_card_starts_trialing_without_a_secret(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    price_id = fake.add_price(fake.add_product("Patrons"), 1200, "month")

    change = gateway.create_subscription(subscription=started(), customer_id="cus_123",
                                         price_id=price_id, price=Money("12.00", "usd"),
                                         trial_days=14, payment_method="pm_card_visa")

    (sent,) = fake.sent("POST", "/v1/subscriptions")
    assert sent.form["trial_period_days"] == "14"
    assert sent.form["default_payment_method"] == "pm_card_visa"
    assert change.state.status is SubscriptionStatus.TRIALING
    assert change.state.trial_end == change.state.period_end
    assert change.state.period_end - change.state.period_start == timedelta(days=14)
    assert change.client_secret is None


def test_change_subscription_swaps_the_item_price_with_proration(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    product = fake.add_product("Patrons")
    monthly, yearly = fake.add_price(product, 1200, "month"), fake.add_price(product, 12000,
                                                                             "year")
    created = gateway.create_subscription(subscription=started(), customer_id="cus_123",
                                          price_id=monthly, price=Money("12.00", "usd"),
                                          trial_days=0, payment_method=None)
    provider_id = created.state.provider_id
    item_id = fake.subscriptions[provider_id]["items"]["data"][0]["id"]
    new_tier = uuid4()
    before = len(fake.requests)

    change = gateway.change_subscription(
        started(provider_id=provider_id), tier_id=new_tier, period=BillingPeriod.YEARLY,
        price_id=yearly, price=Money("120.00", "usd"), idempotency_key="change-key-1")

    read, update = fake.requests[before:]
    assert (read.method, read.path) == ("GET", f"/v1/subscriptions/{provider_id}")
    assert (update.method, update.path) == ("POST", f"/v1/subscriptions/{provider_id}")
    assert update.form == {"items[0][id]": item_id, "items[0][price]": yearly,
                           "proration_behavior": "create_prorations",
                           "metadata[tier_id]": str(new_tier),
                           "metadata[billing_period]": "yearly"}
    assert update.headers["idempotency-key"] == "change-key-1"
    assert fake.subscriptions[provider_id]["items"]["data"][0]["price"]["id"] == yearly
    assert (change.state.tier_id, change.state.billing_period) == (new_tier,
                                                                   BillingPeriod.YEARLY)


def test_cancel_at_period_end_and_cancel_now_hit_their_routes_with_our_keys(
        fake: FakeStripe, gateway: StripeGateway) -> None:
    price_id = fake.add_price(fake.add_product("Patrons"), 1200, "month")
    provider_id = gateway.create_subscription(
        subscription=started(), customer_id="cus_123", price_id=price_id,
        price=Money("12.00", "usd"), trial_days=0, payment_method=None).state.provider_id
    fake.become(provider_id, "active")
    ours = started(provider_id=provider_id)
    path = f"/v1/subscriptions/{provider_id}"

    scheduled = gateway.set_cancel_at_period_end(ours, True, idempotency_key="cancel-k")
    resumed = gateway.set_cancel_at_period_end(ours, False, idempotency_key="resume-k")
    ended = gateway.cancel_subscription(ours, idempotency_key="end-k")

    schedule, resume = fake.sent("POST", path)
    assert (schedule.form, schedule.headers["idempotency-key"]) == (
        {"cancel_at_period_end": "true"}, "cancel-k")
    assert (resume.form, resume.headers["idempotency-key"]) == (
        {"cancel_at_period_end": "false"}, "resume-k")
    (cancel,) = fake.sent("DELETE", path)
    assert cancel.headers["idempotency-key"] == "end-k"
    assert cancel.headers["stripe-version"] == STRIPE_API_VERSION
    assert scheduled.state.cancel_at_period_end is True
    assert scheduled.state.status is SubscriptionStatus.ACTIVE
    assert resumed.state.cancel_at_period_end is False
    assert ended.state.status is SubscriptionStatus.CANCELED
    assert ended.state.canceled_at is not None

    before = len(fake.requests)
    with pytest.raises(Conflict):
        gateway.cancel_subscription(started(), idempotency_key="never-at-stripe")
    assert len(fake.requests) == before


# --- webhooks through the whole application -----------------------------------------------------


@dataclass
class Studio:
    """A platform on Stripe (the fake): an owner, a members-only item, a tier and a customer
    who may subscribe."""

    patronage: Patronage
    client: Client
    engine: sa.Engine
    fake: FakeStripe
    clock: FrozenClock
    owner: Headers
    customer: Headers
    customer_id: UUID
    item_id: UUID
    tier_id: UUID

    CUSTOMER = "fan@example.com"
    MONTHLY_CREDITS = 4

    def subscribe(self) -> tuple[UUID, str]:
        response = self.client.post("/api/v1/subscriptions", headers=self.customer,
                                    json={"tier_id": str(self.tier_id),
                                          "billing_period": "monthly"})
        assert response.status_code == 201, response.text
        body = response.json()
        assert (body["status"], body["gateway"]) == ("incomplete", "stripe")
        row = self.row()
        provider_id = str(row["stripe_subscription_id"])
        invoice = self.fake.invoices[self.fake.subscriptions[provider_id]["latest_invoice"]]
        assert body["client_secret"] == invoice["confirmation_secret"]["client_secret"]
        return UUID(body["subscription_id"]), provider_id

    def paid_period(self) -> tuple[int, int]:
        """A month that began a minute ago on our clock."""
        start = int(self.clock.now().timestamp()) - 60
        return start, start + 30 * DAY

    def member(self) -> tuple[str, tuple[int, int]]:
        """Subscribed, paid for and told so: Stripe's provider id and the paid period."""
        _, provider_id = self.subscribe()
        period = self.paid_period()
        obj = self.fake.become(provider_id, "active", period=period)
        assert self.send("customer.subscription.updated", obj).status_code == 200
        return provider_id, period

    def send(self, kind: str, obj: Obj, event_id: str | None = None) -> httpx.Response:
        response: httpx.Response = deliver(self.client, event(kind, obj, event_id))
        return response

    def access(self) -> tuple[bool, str]:
        response = self.client.get(f"/api/v1/content/{self.item_id}/access",
                                   headers=self.customer)
        assert response.status_code == 200, response.text
        return response.json()["allowed"], response.json()["reason"]

    def row(self) -> dict[str, Any]:
        with self.engine.connect() as conn:
            return dict(conn.execute(sa.select(subscriptions).where(
                subscriptions.c.customer_id == self.customer_id)).mappings().one())

    def grants(self) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(credit_transactions).where(
                credit_transactions.c.type == "earned_subscription")).mappings()]

    def events(self) -> list[tuple[str, str, str]]:
        with self.engine.connect() as conn:
            return [tuple(r) for r in conn.execute(sa.select(
                webhook_events.c.id, webhook_events.c.provider, webhook_events.c.event_type))]


@pytest.fixture
def studio(settings: Settings, clean_db: sa.Engine, gateway: StripeGateway,
           fake: FakeStripe) -> Iterator[Studio]:
    clock = FrozenClock(datetime.now(UTC).replace(microsecond=0))
    patronage = bootstrap(settings, engine=clean_db, clock=clock, payments=gateway,
                          hasher=Argon2PasswordHasher(**FAST_ARGON2))
    try:
        with TestClient(app=create_app(patronage)) as client:
            owner = account(patronage, client, "owner@example.com", Role.PLATFORM_OWNER)
            customer = account(patronage, client, Studio.CUSTOMER, Role.CUSTOMER)
            system = Principal.system()
            owner_principal = patronage.handle(ActAs(actor=system, email="owner@example.com"))
            item = patronage.handle(CreateContent(
                actor=owner_principal, title="For members", content_type=ContentType.WRITTEN,
                visibility=Visibility.MEMBERS_ONLY, body_html="<p>members only</p>"))
            patronage.handle(PublishContent(actor=owner_principal, content_id=item.id))
            tier = client.post("/api/v1/admin/tiers", headers=owner, json={
                "name": "Patrons", "description": "Every members-only item",
                "price_monthly": "12.00", "price_yearly": "120.00",
                "monthly_credits": Studio.MONTHLY_CREDITS})
            assert tier.status_code == 201, tier.text
            yield Studio(
                patronage=patronage, client=client, engine=clean_db, fake=fake, clock=clock,
                owner=owner, customer=customer,
                customer_id=patronage.handle(ActAs(actor=system,
                                                   email=Studio.CUSTOMER)).user_id,
                item_id=item.id, tier_id=UUID(tier.json()["id"]))
    finally:
        patronage.dispatcher.close()


def test_a_tier_is_mirrored_and_subscribing_waits_incomplete_for_the_first_payment(
        studio: Studio) -> None:
    with studio.engine.connect() as conn:
        tier = conn.execute(sa.select(subscription_tiers)).mappings().one()
    product = studio.fake.products[tier["stripe_product_id"]]
    assert product["metadata"] == {"tier_id": str(studio.tier_id)}
    assert studio.fake.prices[tier["stripe_price_monthly_id"]]["unit_amount"] == 1200
    assert studio.fake.prices[tier["stripe_price_yearly_id"]]["unit_amount"] == 12000

    subscription_id, provider_id = studio.subscribe()

    row = studio.row()
    assert (row["id"], row["status"]) == (subscription_id, "incomplete")
    assert studio.fake.subscriptions[provider_id]["metadata"]["tier_id"] == str(studio.tier_id)
    (sent,) = studio.fake.sent("POST", "/v1/subscriptions")
    assert sent.form["items[0][price]"] == tier["stripe_price_monthly_id"]
    assert sent.form["metadata[subscription_id]"] == str(subscription_id)
    with studio.engine.connect() as conn:
        customer = conn.execute(sa.select(users.c.stripe_customer_id).where(
            users.c.id == studio.customer_id)).scalar_one()
    assert sent.form["customer"] == customer
    assert studio.fake.customers[customer]["metadata"] == {"user_id": str(studio.customer_id)}
    assert studio.access() == (False, "membership_required")


def test_updated_before_created_ends_active_with_the_period_of_the_items(
        studio: Studio) -> None:
    _, provider_id = studio.subscribe()
    as_created = copy.deepcopy(studio.fake.subscriptions[provider_id])
    period = studio.paid_period()
    as_updated = studio.fake.become(provider_id, "active", period=period)
    updated_id, created_id = f"evt_{uuid4().hex}", f"evt_{uuid4().hex}"

    first = studio.send("customer.subscription.updated", as_updated, updated_id)
    # The older event arrives last; its payload still says incomplete.
    last = studio.send("customer.subscription.created", as_created, created_id)

    assert (first.status_code, last.status_code) == (200, 200)
    row = studio.row()
    assert row["status"] == "active"
    assert row["current_period_start"] == datetime.fromtimestamp(period[0], UTC)
    assert row["current_period_end"] == datetime.fromtimestamp(period[1], UTC)
    assert row["grace_until"] is None
    assert sorted(studio.events()) == sorted([
        (updated_id, "stripe", "customer.subscription.updated"),
        (created_id, "stripe", "customer.subscription.created")])
    assert studio.access() == (True, "membership")


def test_a_paid_invoice_delivered_twice_grants_its_credits_once(studio: Studio) -> None:
    provider_id, period = studio.member()
    invoice = studio.fake.invoice(provider_id, reason="subscription_create", status="paid")
    body = event("invoice.paid", invoice)

    answers = [deliver(studio.client, body) for _ in range(2)]

    assert [a.status_code for a in answers] == [200, 200]
    assert [a.json()["outcome"] for a in answers] == ["applied", "duplicate"]
    (grant,) = studio.grants()
    assert grant["amount"] == Studio.MONTHLY_CREDITS
    assert grant["source_key"] == f"invoice:{invoice['id']}:m0"
    assert grant["customer_id"] == studio.customer_id
    assert grant["subscription_id"] == studio.row()["id"]
    row = studio.row()
    assert row["paid_invoice_id"] == invoice["id"]
    assert row["paid_period_start"] == datetime.fromtimestamp(period[0], UTC)
    credits = studio.client.get("/api/v1/me/credits", headers=studio.customer)
    assert credits.json()["balance"] == Studio.MONTHLY_CREDITS


def test_a_paid_invoice_delivered_concurrently_grants_its_credits_once(
        studio: Studio) -> None:
    provider_id, _ = studio.member()
    invoice = studio.fake.invoice(provider_id, reason="subscription_create", status="paid")
    body = event("invoice.paid", invoice)

    with ThreadPoolExecutor(max_workers=5) as pool:
        same = list(pool.map(lambda _: deliver(studio.client, body), range(5)))
        # The same invoice under five event ids: the event-id guard cannot help here.
        other = list(pool.map(lambda _: studio.send("invoice.paid", invoice), range(5)))

    assert [r.status_code for r in same + other] == [200] * 10
    assert Counter(r.json()["outcome"] for r in same) == Counter(applied=1, duplicate=4)
    assert "duplicate" not in {r.json()["outcome"] for r in other}
    (grant,) = studio.grants()
    assert grant["amount"] == Studio.MONTHLY_CREDITS
    assert len(studio.events()) == 1 + 1 + 5  # the update that activated, then the invoices


def test_a_failed_payment_keeps_access_until_the_grace_period_ends(studio: Studio) -> None:
    provider_id, _ = studio.member()
    assert studio.access() == (True, "membership")
    failed = studio.fake.invoice(provider_id, reason="subscription_cycle", status="open")
    studio.fake.become(provider_id, "past_due")

    answer = studio.send("invoice.payment_failed", failed)

    assert answer.status_code == 200
    row = studio.row()
    assert row["status"] == "past_due"
    assert row["past_due_since"] == studio.clock.now()
    assert row["grace_until"] == studio.clock.now() + timedelta(days=7)
    assert studio.access() == (True, "membership")
    assert studio.grants() == []  # a failed invoice pays for nothing

    studio.clock.advance(days=7, minutes=-1)
    studio.customer.update(login(studio.client, Studio.CUSTOMER))
    assert studio.access() == (True, "membership")
    studio.clock.advance(minutes=2)
    studio.customer.update(login(studio.client, Studio.CUSTOMER))
    assert studio.access() == (False, "membership_required")
    assert studio.row()["status"] == "past_due"


def test_deletion_ends_access_and_a_late_update_cannot_bring_it_back(studio: Studio) -> None:
    provider_id, _ = studio.member()
    as_active = copy.deepcopy(studio.fake.subscriptions[provider_id])
    as_deleted = studio.fake.become(provider_id, "canceled")

    assert studio.send("customer.subscription.deleted", as_deleted).status_code == 200

    row = studio.row()
    assert row["status"] == "canceled"
    assert row["canceled_at"] == datetime.fromtimestamp(as_deleted["ended_at"], UTC)
    assert studio.access() == (False, "membership_required")

    # A stale update whose payload still says active: Stripe, asked again, says canceled.
    late = studio.send("customer.subscription.updated", as_active)
    assert late.status_code == 200
    assert studio.row()["status"] == "canceled"
    # Even a read that somehow says active again does not revive a canceled membership.
    studio.fake.subscriptions[provider_id]["status"] = "active"
    later = studio.send("customer.subscription.updated", as_active)
    assert later.status_code == 200 and later.json()["outcome"] == "unchanged"
    assert studio.row() == row
    assert studio.access() == (False, "membership_required")


def test_cancelling_again_after_resuming_reaches_stripe(studio: Studio) -> None:
    provider_id, _ = studio.member()

    for action in ("cancel", "resume", "cancel"):
        answer = studio.client.post(f"/api/v1/me/subscription/{action}",
                                    headers=studio.customer)
        assert answer.status_code == 200, answer.text
        assert answer.json()["cancel_at_period_end"] is (action == "cancel")

    assert studio.row()["cancel_at_period_end"] is True
    # Otherwise Stripe renews, and charges, a membership the customer cancelled.
    assert studio.fake.subscriptions[provider_id]["cancel_at_period_end"] is True
    sent = studio.fake.sent("POST", f"/v1/subscriptions/{provider_id}")
    assert len({r.headers["idempotency-key"] for r in sent}) == 3


def test_unknown_events_are_acknowledged_and_bad_signatures_refused(studio: Studio) -> None:
    provider_id, _ = studio.member()
    before, reads = studio.row(), len(studio.fake.sent("GET",
                                                       f"/v1/subscriptions/{provider_id}"))

    unknown = studio.send("customer.discount.created",
                          {"id": "di_1", "object": "discount", "subscription": provider_id})
    assert unknown.status_code == 200
    assert unknown.json() == {"received": True, "outcome": "ignored"}

    obj = studio.fake.become(provider_id, "canceled")
    body = event("customer.subscription.deleted", obj)
    for forged in (deliver(studio.client, body, secret="whsec_someone_else"),
                   deliver(studio.client, body, signature=None),
                   deliver(studio.client, body, signature="t=1,v1=deadbeef")):
        assert forged.status_code == 400
        assert forged.json()["code"] == "webhook.invalid"

    assert studio.row() == before
    assert studio.access() == (True, "membership")
    assert len(studio.events()) == 2  # the activating update and the unknown event
    # Refused before Stripe was asked anything.
    assert len(studio.fake.sent("GET", f"/v1/subscriptions/{provider_id}")) == reads
