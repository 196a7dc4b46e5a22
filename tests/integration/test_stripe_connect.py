"""Stripe Connect through the real ``stripe`` SDK: media owners' connected accounts, their
onboarding links, destination charges and the refunds that reverse them, payouts, and
``account.updated`` webhooks through the whole application on PostgreSQL.

``FakeConnect`` adds Stripe's Connect routes (accounts, account links, payouts) and the
payment routes (payment intents, refunds) to the memberships fake of
``test_stripe_subscriptions``, so it records every request and replays the first answer
to a POST sent again with the same Idempotency-Key, as Stripe does. Its objects are
those of stripe/openapi ``openapi/fixtures3.json`` (account, account_link, payout,
payment_intent, refund) for the pinned API version, trimmed to the fields that matter
here. A new account is as Stripe's API reference shows one: nothing submitted, every
requirement both currently and past due, and disabled for ``requirements.past_due``.
"""

from __future__ import annotations

import copy
import math
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID, uuid4

import httpx
import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.passwords.argon2_hasher import Argon2PasswordHasher
from adapters.sqlalchemy.tables import (
    email_logs,
    payout_accounts,
    purchases,
    users,
    webhook_events,
)
from adapters.stripe_payments.gateway import STRIPE_API_VERSION, StripeGateway
from application.catalog.authoring import CreateContent, PublishContent
from application.identity.administration import ActAs
from application.identity.registration import CreateUser
from application.ports.payouts import PayoutRecord, Transfer
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.identity.roles import Role
from domain.values import Money
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.http.app import create_app
from tests.integration.accounts import PASSWORD, Headers, login
from tests.integration.conftest import FAST_ARGON2
from tests.integration.test_stripe_gateway import Recorded
from tests.integration.test_stripe_subscriptions import (
    FakeStripe,
    Obj,
    Params,
    Refused,
    _nested,
    listed,
)
from tests.integration.test_stripe_webhooks import SECRET, deliver, event

Client = TestClient[Litestar]
API_KEY = "sk_test_connect"
CONNECT_SECRET = "whsec_test_connect_signing_secret"
PUBLIC_URL = "https://studio.example.com"
# What Stripe asks of a new account before it may take charges and be paid out.
ONBOARDING_DUE = ["business_profile.mcc", "business_profile.url", "external_account",
                  "individual.dob.day", "individual.first_name", "individual.last_name",
                  "tos_acceptance.date", "tos_acceptance.ip"]


# --- Stripe's objects, trimmed from fixtures3.json ---------------------------------------------


def requirements(due: list[str], disabled_reason: str | None) -> Obj:
    # past_due is a subset of currently_due: a field that missed its deadline is in both.
    return {"alternatives": [], "current_deadline": None, "currently_due": list(due),
            "disabled_reason": disabled_reason, "errors": [], "eventually_due": list(due),
            "past_due": list(due) if disabled_reason == "requirements.past_due" else [],
            "pending_verification": []}


def account_object(account_id: str, *, email: str | None, metadata: dict[str, str],
                   controller: Obj, created: int) -> Obj:
    return {
        "id": account_id, "object": "account", "type": "none", "country": "US",
        "default_currency": "usd", "created": created, "email": email, "metadata": metadata,
        "business_type": None, "controller": controller,
        "capabilities": {"card_payments": "inactive", "transfers": "inactive"},
        "charges_enabled": False, "payouts_enabled": False, "details_submitted": False,
        "requirements": requirements(ONBOARDING_DUE, "requirements.past_due"),
        "future_requirements": requirements([], None),
        "external_accounts": listed([], f"/v1/accounts/{account_id}/external_accounts"),
        "tos_acceptance": {"date": None, "ip": None, "user_agent": None},
    }


def payout_object(payout_id: str, amount: int, currency: str, status: str, *,
                  arrival_date: int, created: int) -> Obj:
    return {"id": payout_id, "object": "payout", "amount": amount, "currency": currency,
            "status": status, "arrival_date": arrival_date, "created": created,
            "automatic": True, "method": "standard", "type": "bank_account",
            "destination": "ba_1Pgc79B7WZ01zgkWoU5vBiXt", "description": "STRIPE PAYOUT",
            "failure_code": None, "failure_message": None, "livemode": False, "metadata": {},
            "reconciliation_status": "completed" if status == "paid" else "not_applicable",
            "source_type": "card", "statement_descriptor": None}


class FakeConnect(FakeStripe):
    """Stripe's v1 API with the Connect and payment routes the adapter uses."""

    def __init__(self) -> None:
        self.accounts: dict[str, Obj] = {}
        # Per connected account ("" is the platform's own balance), newest first.
        self.payouts: dict[str, list[Obj]] = {}
        self.payment_intents: dict[str, Obj] = {}
        self.refunds: dict[str, Obj] = {}
        self.links: list[Obj] = []
        super().__init__()

    # -- what the test sets up or moves along ------------------------------------------

    def connected(self, account_id: str) -> None:
        """An account made earlier (by another run, or by hand in the dashboard)."""
        with self._lock:
            self.accounts[account_id] = account_object(
                account_id, email=None, metadata={}, created=int(time.time()),
                controller={"type": "application", "is_controller": True})

    def onboarded(self, account_id: str) -> Obj:
        """The owner finished onboarding and Stripe verified them: enabled, nothing due."""
        with self._lock:
            account = self.accounts[account_id]
            account.update(charges_enabled=True, payouts_enabled=True, details_submitted=True,
                           capabilities={"card_payments": "active", "transfers": "active"},
                           requirements=requirements([], None))
            return copy.deepcopy(account)

    def restricted(self, account_id: str, due: list[str]) -> Obj:
        """Submitted, but Stripe wants more before it enables the account."""
        with self._lock:
            account = self.accounts[account_id]
            account.update(charges_enabled=False, payouts_enabled=False, details_submitted=True,
                           capabilities={"card_payments": "inactive", "transfers": "inactive"},
                           requirements=requirements(due, "requirements.past_due"))
            return copy.deepcopy(account)

    def add_payout(self, account_id: str, amount: int, status: str, *, arrival_date: int,
                   created: int, currency: str = "usd") -> str:
        payout_id = self._new_id("po")
        with self._lock:
            self.payouts.setdefault(account_id, []).insert(0, payout_object(
                payout_id, amount, currency, status, arrival_date=arrival_date,
                created=created))
        return payout_id

    # -- HTTP --------------------------------------------------------------------------

    def _answer(self, request: Recorded) -> Obj:
        parts = request.path.strip("/").split("/")
        route = (request.method, *parts[1:2], *(["{id}"] if len(parts) == 3 else []))
        p = request.form
        if parts[0] != "v1" or len(parts) > 3:
            return super()._answer(request)
        if route == ("POST", "accounts"):
            return self._create_account(p)
        if route == ("GET", "accounts", "{id}"):
            return copy.deepcopy(self._account(parts[2], status=404))
        if route == ("POST", "account_links"):
            return self._create_link(p)
        if route == ("GET", "payouts"):
            # The Stripe-Account header says whose balance: without it, the platform's.
            found = self.payouts.get(request.headers.get("stripe-account", ""), [])
            return listed(copy.deepcopy(found[:int(p.get("limit", "10"))]), "/v1/payouts")
        if route == ("POST", "payment_intents"):
            return self._create_intent(p)
        if route == ("GET", "payment_intents", "{id}"):
            intent = self.payment_intents.get(parts[2])
            if intent is None:
                raise Refused(404, "resource_missing", f"No such payment_intent: '{parts[2]}'")
            return copy.deepcopy(intent)
        if route == ("POST", "refunds"):
            return self._create_refund(p)
        return super()._answer(request)

    def _account(self, account_id: str, *, status: int = 400) -> Obj:
        account = self.accounts.get(account_id)
        if account is None:
            raise Refused(status, "resource_missing", f"No such account: '{account_id}'")
        return account

    def _create_account(self, p: Params) -> Obj:
        account_id = self._new_id("acct")
        controller: Obj = {
            "fees": {"payer": p["controller[fees][payer]"]},
            "losses": {"payments": p["controller[losses][payments]"]},
            "requirement_collection": p["controller[requirement_collection]"],
            "stripe_dashboard": {"type": p["controller[stripe_dashboard][type]"]},
            "is_controller": True, "type": "application"}
        self.accounts[account_id] = account_object(
            account_id, email=p.get("email"), metadata=_nested(p, "metadata"),
            controller=controller, created=int(time.time()))
        return copy.deepcopy(self.accounts[account_id])

    def _create_link(self, p: Params) -> Obj:
        account = self._account(p.get("account", ""))
        if p.get("type") not in ("account_onboarding", "account_update"):
            raise Refused(400, "parameter_invalid_string", "Invalid type.")
        now = int(time.time())
        link = {"object": "account_link", "created": now, "expires_at": now + 300,
                "url": f"https://connect.stripe.com/setup/e/{account['id']}/"
                       f"{uuid4().hex[:12]}"}
        self.links.append(link)
        return copy.deepcopy(link)

    def _create_intent(self, p: Params) -> Obj:
        customer = p.get("customer")
        if customer is not None and customer not in self.customers:
            raise Refused(400, "resource_missing", f"No such customer: '{customer}'")
        destination = p.get("transfer_data[destination]")
        if destination is not None:
            self._account(destination)
        if "application_fee_amount" in p and destination is None:
            raise Refused(400, "", "Can only apply an application_fee_amount when the "
                                   "PaymentIntent is attempting a direct payment (using an "
                                   "OAuth key or Stripe-Account header) or destination "
                                   "payment (using `transfer_data[destination]`).")
        intent_id, now = self._new_id("pi"), int(time.time())
        confirmed = p.get("confirm") == "true" and "payment_method" in p
        amount = int(p["amount"])
        self.payment_intents[intent_id] = {
            "id": intent_id, "object": "payment_intent", "amount": amount,
            "amount_received": amount if confirmed else 0, "currency": p["currency"],
            "status": "succeeded" if confirmed else "requires_payment_method",
            "client_secret": f"{intent_id}_secret_{uuid4().hex[:24]}",
            "customer": customer, "description": p.get("description"),
            "metadata": _nested(p, "metadata"), "payment_method": p.get("payment_method"),
            "latest_charge": self._new_id("ch") if confirmed else None,
            "application_fee_amount": (int(p["application_fee_amount"])
                                       if "application_fee_amount" in p else None),
            "transfer_data": {"destination": destination} if destination else None,
            "on_behalf_of": None, "setup_future_usage": p.get("setup_future_usage"),
            "capture_method": "automatic", "confirmation_method": "automatic",
            "payment_method_types": ["card"], "last_payment_error": None,
            "transfer_group": None, "created": now, "livemode": False}
        return copy.deepcopy(self.payment_intents[intent_id])

    def _create_refund(self, p: Params) -> Obj:
        intent = self.payment_intents.get(p.get("payment_intent", ""))
        if intent is None:
            raise Refused(400, "resource_missing",
                          f"No such payment_intent: '{p.get('payment_intent')}'")
        if intent["status"] != "succeeded":
            raise Refused(400, "", f"This PaymentIntent ({intent['id']}) does not have a "
                                   "successful charge to refund.")
        refund_id = self._new_id("re")
        reversed_transfer = p.get("reverse_transfer") == "true"
        self.refunds[refund_id] = {
            "id": refund_id, "object": "refund",
            "amount": int(p["amount"]) if "amount" in p else intent["amount"],
            "currency": intent["currency"],
            "status": "succeeded", "payment_intent": intent["id"],
            "charge": intent["latest_charge"], "created": int(time.time()), "metadata": {},
            "reason": None, "balance_transaction": None, "source_transfer_reversal": None,
            "transfer_reversal": self._new_id("trr") if reversed_transfer else None,
            "destination_details": {"card": {"type": "reversal"}, "type": "card"}}
        return copy.deepcopy(self.refunds[refund_id])


@pytest.fixture
def fake() -> Iterator[FakeConnect]:
    server = FakeConnect()
    yield server
    server.close()


@pytest.fixture
def gateway(fake: FakeConnect) -> StripeGateway:
    return StripeGateway(api_key=API_KEY, webhook_secret=SECRET, api_base=fake.url,
                         timeout=5, connect_webhook_secret=CONNECT_SECRET)


# --- the adapter against the fake ------------------------------------------------------------


def test_a_connected_account_is_created_once_per_user_as_the_platform_controls_it(
        fake: FakeConnect, gateway: StripeGateway) -> None:
    user_id = uuid4()
    before = datetime.now(UTC)

    status = gateway.create_connected_account(user_id=user_id, email="maker@example.com")

    (sent,) = fake.sent("POST", "/v1/accounts")
    assert sent.form == {
        "controller[fees][payer]": "application",
        "controller[losses][payments]": "application",
        "controller[requirement_collection]": "stripe",
        "controller[stripe_dashboard][type]": "express",
        "capabilities[card_payments][requested]": "true",
        "capabilities[transfers][requested]": "true",
        "email": "maker@example.com",
        "metadata[user_id]": str(user_id),
    }
    assert sent.headers["idempotency-key"] == f"connect-account-{user_id}"
    assert sent.headers["stripe-version"] == STRIPE_API_VERSION
    (account_id,) = fake.accounts
    assert status.account_id == account_id
    assert (status.charges_enabled, status.payouts_enabled, status.details_submitted) == (
        False, False, False)
    assert status.requirements_due == tuple(sorted(ONBOARDING_DUE))
    assert status.disabled_reason == "requirements.past_due"
    # As of the account's creation by Stripe's clock, which stamps its events too.
    assert status.as_of == datetime.fromtimestamp(fake.accounts[account_id]["created"], UTC)
    assert before.replace(microsecond=0) <= status.as_of <= datetime.now(UTC)

    # A retry (a lost answer, a double click) is the same request: Stripe replays it.
    again = gateway.create_connected_account(user_id=user_id, email="maker@example.com")
    first, second = fake.sent("POST", "/v1/accounts")
    assert second.headers["idempotency-key"] == first.headers["idempotency-key"]
    assert second.form == first.form
    assert again.account_id == account_id
    assert len(fake.accounts) == 1

    other = gateway.create_connected_account(user_id=uuid4(), email="other@example.com")
    assert other.account_id != account_id
    assert len(fake.accounts) == 2


def test_retrieving_an_account_reads_what_stripe_says_now(fake: FakeConnect,
                                                          gateway: StripeGateway) -> None:
    account_id = gateway.create_connected_account(user_id=uuid4(),
                                                  email="maker@example.com").account_id
    fake.restricted(account_id, ["individual.verification.document", "external_account"])

    restricted = gateway.retrieve_account(account_id)

    assert fake.requests[-1].method == "GET"
    assert fake.requests[-1].path == f"/v1/accounts/{account_id}"
    assert restricted.requirements_due == ("external_account",
                                           "individual.verification.document")
    assert restricted.disabled_reason == "requirements.past_due"
    assert (restricted.charges_enabled, restricted.payouts_enabled,
            restricted.details_submitted) == (False, False, True)

    fake.onboarded(account_id)
    enabled = gateway.retrieve_account(account_id)
    assert (enabled.charges_enabled, enabled.payouts_enabled,
            enabled.details_submitted) == (True, True, True)
    assert (enabled.requirements_due, enabled.disabled_reason) == ((), None)


def test_each_account_link_is_a_new_onboarding_request(fake: FakeConnect,
                                                       gateway: StripeGateway) -> None:
    account_id = gateway.create_connected_account(user_id=uuid4(),
                                                  email="maker@example.com").account_id
    urls = [gateway.create_account_link(account_id=account_id,
                                        refresh_url=f"{PUBLIC_URL}/again",
                                        return_url=f"{PUBLIC_URL}/done")
            for _ in range(2)]

    sent = fake.sent("POST", "/v1/account_links")
    assert [r.form for r in sent] == [{
        "account": account_id, "refresh_url": f"{PUBLIC_URL}/again",
        "return_url": f"{PUBLIC_URL}/done", "type": "account_onboarding"}] * 2
    keys = [r.headers["idempotency-key"] for r in sent]
    # A link is single-use: a second request must not replay the first one's URL.
    assert keys[0] != keys[1]
    assert all(re.fullmatch(rf"account-link-{account_id}-[0-9a-f]{{32}}", k) for k in keys)
    assert urls == [link["url"] for link in fake.links]
    assert urls[0] != urls[1]


def test_a_destination_payment_sends_the_fee_and_the_destination_and_a_plain_one_neither(
        fake: FakeConnect, gateway: StripeGateway) -> None:
    fake.connected("acct_x")
    customer_id = gateway.ensure_customer(user_id=uuid4(), email="fan@example.com",
                                          existing_id=None)
    split, plain = uuid4(), uuid4()

    intent = gateway.create_payment(amount=Money("10.00", "usd"), purchase_id=split,
                                    customer_id=customer_id, description=f"Purchase {split}",
                                    transfer=Transfer("acct_x", Money("3.00", "usd")))
    gateway.create_payment(amount=Money("10.00", "usd"), purchase_id=plain,
                           customer_id=customer_id, description=f"Purchase {plain}")

    with_transfer, without = fake.sent("POST", "/v1/payment_intents")
    common = {"amount": "1000", "currency": "usd", "customer": customer_id}
    assert with_transfer.form == {**common, "description": f"Purchase {split}",
                                  "metadata[purchase_id]": str(split),
                                  "application_fee_amount": "300",
                                  "transfer_data[destination]": "acct_x"}
    assert with_transfer.headers["idempotency-key"] == f"purchase-{split}"
    assert without.form == {**common, "description": f"Purchase {plain}",
                            "metadata[purchase_id]": str(plain)}
    assert without.headers["idempotency-key"] == f"purchase-{plain}"
    stored = fake.payment_intents[intent.id]
    assert (stored["application_fee_amount"], stored["transfer_data"]) == (
        300, {"destination": "acct_x"})
    assert (intent.status, intent.amount, intent.purchase_id) == (
        "requires_payment_method", Money("10.00", "usd"), split)
    assert intent.client_secret == stored["client_secret"]


def test_an_off_session_charge_carries_the_transfer_too(fake: FakeConnect,
                                                        gateway: StripeGateway) -> None:
    fake.connected("acct_x")
    customer_id = gateway.ensure_customer(user_id=uuid4(), email="fan@example.com",
                                          existing_id=None)
    purchase_id = uuid4()

    paid = gateway.charge_saved(amount=Money("25.00", "usd"), purchase_id=purchase_id,
                                customer_id=customer_id, payment_method="pm_card_visa",
                                description="Installment 2 of 3", attempt=1,
                                transfer=Transfer("acct_x", Money("7.50", "usd")))
    gateway.charge_saved(amount=Money("25.00", "usd"), purchase_id=purchase_id,
                         customer_id=customer_id, payment_method="pm_card_visa",
                         description="Installment 2 of 3", attempt=2)

    with_transfer, without = fake.sent("POST", "/v1/payment_intents")
    common = {"amount": "2500", "currency": "usd", "description": "Installment 2 of 3",
              "metadata[purchase_id]": str(purchase_id), "customer": customer_id,
              "payment_method": "pm_card_visa", "off_session": "true", "confirm": "true"}
    assert with_transfer.form == {**common, "application_fee_amount": "750",
                                  "transfer_data[destination]": "acct_x"}
    assert with_transfer.headers["idempotency-key"] == f"installment-{purchase_id}-1"
    assert without.form == common
    assert without.headers["idempotency-key"] == f"installment-{purchase_id}-2"
    assert (paid.status, paid.payment_method) == ("succeeded", "pm_card_visa")


def test_refunding_a_destination_charge_reverses_the_transfer_and_the_fee(
        fake: FakeConnect, gateway: StripeGateway) -> None:
    fake.connected("acct_x")
    customer_id = gateway.ensure_customer(user_id=uuid4(), email="fan@example.com",
                                          existing_id=None)
    intent = gateway.charge_saved(amount=Money("20.00", "usd"), purchase_id=uuid4(),
                                  customer_id=customer_id, payment_method="pm_card_visa",
                                  description="A session", attempt=1,
                                  transfer=Transfer("acct_x", Money("6.00", "usd")))

    reversed_refund = gateway.refund(intent_id=intent.id, amount=Money("5.00", "usd"),
                                     idempotency_key="refund-a", reverse_transfer=True)
    plain_refund = gateway.refund(intent_id=intent.id, amount=Money("1.50", "usd"),
                                  idempotency_key="refund-b")

    first, second = fake.sent("POST", "/v1/refunds")
    assert first.form == {"payment_intent": intent.id, "amount": "500",
                          "reverse_transfer": "true", "refund_application_fee": "true"}
    assert first.headers["idempotency-key"] == "refund-a"
    assert second.form == {"payment_intent": intent.id, "amount": "150"}
    assert second.headers["idempotency-key"] == "refund-b"
    assert (reversed_refund.amount, reversed_refund.status) == (Money("5.00", "usd"),
                                                                "succeeded")
    assert fake.refunds[reversed_refund.id]["transfer_reversal"] is not None
    assert plain_refund.amount == Money("1.50", "usd")
    assert fake.refunds[plain_refund.id]["transfer_reversal"] is None


def test_payouts_are_read_from_the_connected_accounts_own_balance(
        fake: FakeConnect, gateway: StripeGateway) -> None:
    fake.connected("acct_x")
    fake.connected("acct_other")
    # Fixed instants: the mapping is what is tested, not the calendar.
    older = fake.add_payout("acct_x", 1100, "paid", arrival_date=1_780_000_000,
                            created=1_779_800_000)
    newer = fake.add_payout("acct_x", 250_050, "in_transit", arrival_date=1_781_000_000,
                            created=1_780_900_000)
    fake.add_payout("acct_other", 999, "paid", arrival_date=1_780_000_000,
                    created=1_779_800_000)

    payouts = gateway.list_payouts("acct_x", 10)

    (sent,) = fake.sent("GET", "/v1/payouts")
    assert sent.form == {"limit": "10"}
    assert sent.headers["stripe-account"] == "acct_x"
    assert payouts == [
        PayoutRecord(id=newer, amount=Money("2500.50", "usd"), status="in_transit",
                     arrival_date=datetime.fromtimestamp(1_781_000_000, UTC),
                     created=datetime.fromtimestamp(1_780_900_000, UTC)),
        PayoutRecord(id=older, amount=Money("11.00", "usd"), status="paid",
                     arrival_date=datetime.fromtimestamp(1_780_000_000, UTC),
                     created=datetime.fromtimestamp(1_779_800_000, UTC)),
    ]


# --- the whole application on PostgreSQL ---------------------------------------------------


@dataclass
class Marketplace:
    """A platform on Stripe (the fake) with a media owner who has a paid item on sale once
    their payouts are enabled, and a verified customer who wants it."""

    patronage: Patronage
    client: Client
    engine: sa.Engine
    fake: FakeConnect
    maker: Headers
    maker_id: UUID
    buyer: Headers
    buyer_id: UUID
    item_id: UUID

    MAKER = "maker@example.com"
    PRICE = "4.15"

    def start_onboarding(self) -> dict[str, Any]:
        response = self.client.post("/api/v1/studio/payouts/onboarding", headers=self.maker)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def started_account(self) -> tuple[str, int]:
        """The account Stripe made and the first whole second after we recorded it."""
        body = self.start_onboarding()
        as_of = datetime.fromisoformat(body["status_as_of"])
        return str(body["account_id"]), math.ceil(as_of.timestamp())

    def account(self) -> dict[str, Any]:
        response = self.client.get("/api/v1/studio/payouts/account", headers=self.maker)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    def send(self, obj: Obj, *, created: int, event_id: str | None = None,
             secret: str = SECRET) -> httpx.Response:
        response: httpx.Response = deliver(
            self.client, event("account.updated", obj, event_id, created), secret=secret)
        return response

    def buy(self) -> httpx.Response:
        response: httpx.Response = self.client.post(
            "/api/v1/purchases", headers=self.buyer, json={"content_id": str(self.item_id)})
        return response

    def rows(self, table: sa.Table, *where: Any) -> list[dict[str, Any]]:
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(sa.select(table).where(*where)).mappings()]

    def payouts_enabled_mails(self) -> list[dict[str, Any]]:
        self.patronage.wait_for_events()
        return self.rows(email_logs, email_logs.c.email_type == "payouts_enabled")


def make_user(patronage: Patronage, client: Client, email: str, role: Role
              ) -> tuple[Headers, UUID]:
    user = patronage.handle(CreateUser(actor=Principal.system(), email=email,
                                       password=PASSWORD, full_name=email.split("@")[0].title(),
                                       role=role, verified=True))
    return login(client, email), user.id


@pytest.fixture
def market(settings: Settings, clean_db: sa.Engine, gateway: StripeGateway,
           fake: FakeConnect) -> Iterator[Marketplace]:
    patronage = bootstrap(settings, engine=clean_db, payments=gateway,
                          hasher=Argon2PasswordHasher(**FAST_ARGON2))
    try:
        with TestClient(app=create_app(patronage)) as client:
            maker, maker_id = make_user(patronage, client, Marketplace.MAKER, Role.MEDIA_OWNER)
            buyer, buyer_id = make_user(patronage, client, "fan@example.com", Role.CUSTOMER)
            author = patronage.handle(ActAs(actor=Principal.system(), email=Marketplace.MAKER))
            item = patronage.handle(CreateContent(
                actor=author, title="Field recordings", content_type=ContentType.WRITTEN,
                visibility=Visibility.PURCHASED_ONLY, price=Marketplace.PRICE,
                body_html="<p>Every recording</p>"))
            patronage.handle(PublishContent(actor=author, content_id=item.id))
            yield Marketplace(patronage=patronage, client=client, engine=clean_db, fake=fake,
                              maker=maker, maker_id=maker_id, buyer=buyer, buyer_id=buyer_id,
                              item_id=item.id)
    finally:
        patronage.dispatcher.close()


def test_starting_onboarding_makes_one_account_and_a_fresh_link_each_time(
        market: Marketplace) -> None:
    first = market.start_onboarding()

    (account_id,) = market.fake.accounts
    (created,) = market.fake.sent("POST", "/v1/accounts")
    assert created.form["email"] == Marketplace.MAKER
    assert created.form["metadata[user_id]"] == str(market.maker_id)
    assert created.headers["idempotency-key"] == f"connect-account-{market.maker_id}"
    (link,) = market.fake.sent("POST", "/v1/account_links")
    assert link.form == {"account": account_id, "type": "account_onboarding",
                         "refresh_url": f"{PUBLIC_URL}/studio/payouts?onboarding=refresh",
                         "return_url": f"{PUBLIC_URL}/studio/payouts?onboarding=done"}
    assert first["account_id"] == account_id
    assert first["onboarding_url"] == market.fake.links[0]["url"]
    assert (first["charges_enabled"], first["payouts_enabled"],
            first["details_submitted"]) == (False, False, False)
    assert first["requirements_due"] == sorted(ONBOARDING_DUE)
    (row,) = market.rows(payout_accounts)
    assert (row["user_id"], row["account_id"]) == (market.maker_id, account_id)
    (owner,) = market.rows(users, users.c.id == market.maker_id)
    assert owner["stripe_connect_account_id"] == account_id

    # Continuing later: the stored account, and a new single-use link for it.
    second = market.start_onboarding()
    assert len(market.fake.sent("POST", "/v1/accounts")) == 1
    assert second["account_id"] == account_id
    assert second["onboarding_url"] == market.fake.links[1]["url"] != first["onboarding_url"]
    assert len(market.rows(payout_accounts)) == 1

    # Nothing submitted yet: the owner is still onboarding, whatever Stripe's reason.
    assert first["state"] == second["state"] == market.account()["state"] == "onboarding"


def test_account_updated_enables_payouts_once_and_an_older_report_cannot_undo_it(
        market: Marketplace) -> None:
    """Each delivery reads the account back from Stripe (events are triggers), so a late
    or same-second report can never leave an older state behind."""
    account_id, after_start = market.started_account()
    # Stripe's history: first it wanted a document, a minute later it enabled the account.
    older = market.fake.restricted(account_id, ["individual.verification.document"])
    newer = market.fake.onboarded(account_id)
    newer_id, older_id = f"evt_{uuid4().hex[:24]}", f"evt_{uuid4().hex[:24]}"
    newer_at, older_at = after_start + 120, after_start + 60
    before = datetime.now(UTC)

    enabled = market.send(newer, created=newer_at, event_id=newer_id)

    assert enabled.status_code == 200, enabled.text
    assert enabled.json() == {"received": True, "outcome": "applied"}
    assert market.fake.sent("GET", f"/v1/accounts/{account_id}")
    account = market.account()
    assert account["state"] == "enabled"
    assert (account["charges_enabled"], account["payouts_enabled"],
            account["details_submitted"]) == (True, True, True)
    assert (account["requirements_due"], account["disabled_reason"]) == ([], None)
    # As of when Stripe was asked.
    assert before <= datetime.fromisoformat(account["status_as_of"]) <= datetime.now(UTC)
    (mail,) = market.payouts_enabled_mails()
    assert (mail["recipient_email"], mail["user_id"]) == (Marketplace.MAKER, market.maker_id)

    again = market.send(newer, created=newer_at, event_id=newer_id)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"

    # The older report, delivered late, says "restricted"; Stripe says "enabled" now.
    late = market.send(older, created=older_at, event_id=older_id)
    assert late.status_code == 200
    assert late.json()["outcome"] == "unchanged"
    after = market.account()
    assert {k: v for k, v in after.items() if k != "status_as_of"} == \
        {k: v for k, v in account.items() if k != "status_as_of"}
    assert len(market.payouts_enabled_mails()) == 1
    assert sorted((r["id"], r["provider"], r["event_type"])
                  for r in market.rows(webhook_events)) == sorted(
        [(newer_id, "stripe", "account.updated"), (older_id, "stripe", "account.updated")])


def test_stripe_unreachable_while_an_account_event_arrives_is_a_503_and_nothing_is_kept(
        market: Marketplace) -> None:
    account_id, after_start = market.started_account()
    obj = market.fake.onboarded(account_id)
    market.fake.close()  # Stripe cannot be asked: the delivery must come again
    response = market.send(obj, created=after_start + 60)
    assert response.status_code == 503, response.text
    assert market.rows(webhook_events) == []
    assert market.account()["state"] == "onboarding"


def test_coming_back_from_onboarding_reads_the_account_from_stripe(
        market: Marketplace) -> None:
    """Without its webhook (no Connect endpoint yet), asking again still finds out."""
    account_id, _ = market.started_account()
    market.fake.onboarded(account_id)
    assert market.start_onboarding()["state"] == "enabled"
    assert market.account()["state"] == "enabled"


def test_an_event_from_the_connect_endpoint_is_accepted_and_an_unsigned_one_refused(
        market: Marketplace) -> None:
    account_id, after_start = market.started_account()
    obj = market.fake.onboarded(account_id)
    before = market.account()

    for forged in (market.send(obj, created=after_start + 60, secret="whsec_someone_else"),
                   deliver(market.client, event("account.updated", obj), signature=None)):
        assert forged.status_code == 400, forged.text
        assert forged.json()["code"] == "webhook.invalid"
    assert market.account() == before
    assert market.rows(webhook_events) == []

    accepted = market.send(obj, created=after_start + 60, secret=CONNECT_SECRET)
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["outcome"] == "applied"
    assert market.account()["state"] == "enabled"


def test_account_updated_for_an_account_that_is_not_ours_changes_nothing(
        market: Marketplace) -> None:
    account_id, after_start = market.started_account()
    market.fake.connected("acct_1SomeoneElse00")
    stranger = market.fake.onboarded("acct_1SomeoneElse00")
    before = (market.account(), market.rows(payout_accounts))

    response = market.send(stranger, created=after_start + 60)

    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "outcome": "ignored"}
    assert (market.account(), market.rows(payout_accounts)) == before
    assert market.account()["account_id"] == account_id
    assert market.payouts_enabled_mails() == []


def test_a_sale_by_an_enabled_media_owner_is_a_destination_charge_with_the_platforms_fee(
        market: Marketplace) -> None:
    account_id, after_start = market.started_account()
    refused = market.buy()
    assert refused.status_code == 409, refused.text
    assert refused.json()["code"] == "seller.payouts_not_ready"
    assert market.fake.sent("POST", "/v1/payment_intents") == []

    enabled = market.send(market.fake.onboarded(account_id), created=after_start + 60)
    assert enabled.json()["outcome"] == "applied"
    account = market.account()
    assert account["platform_fee_percent"] == "30.00"

    response = market.buy()

    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["gateway"], body["amount"], body["currency"]) == ("stripe",
                                                                   Marketplace.PRICE, "usd")
    (sent,) = market.fake.sent("POST", "/v1/payment_intents")
    purchase_id = body["purchase_id"]
    (customer_id,) = market.fake.customers
    # 30 % of 4.15 is 1.245: half-even to the cent gives 1.24 (half-up would give 1.25).
    assert sent.form == {"amount": "415", "currency": "usd",
                         "description": f"Purchase {purchase_id}",
                         "metadata[purchase_id]": purchase_id, "customer": customer_id,
                         "application_fee_amount": "124",
                         "transfer_data[destination]": account_id}
    assert sent.headers["idempotency-key"] == f"purchase-{purchase_id}"
    (intent,) = market.fake.payment_intents.values()
    assert body["client_secret"] == intent["client_secret"]
    (row,) = market.rows(purchases, purchases.c.customer_id == market.buyer_id)
    assert row["stripe_payment_intent_id"] == intent["id"]
    assert (row["amount_paid"], row["platform_fee_amount"], row["creator_payout_amount"]) == (
        Decimal("4.15"), Decimal("1.24"), Decimal("2.91"))


def test_the_studio_lists_the_owners_payouts_from_their_connected_account(
        market: Marketplace) -> None:
    account_id, _ = market.started_account()
    payout_id = market.fake.add_payout(account_id, 2_910, "paid", arrival_date=1_780_000_000,
                                       created=1_779_800_000)

    response = market.client.get("/api/v1/studio/payouts", headers=market.maker)

    assert response.status_code == 200, response.text
    (payout,) = response.json()["payouts"]
    assert (payout["id"], payout["amount"], payout["currency"], payout["status"]) == (
        payout_id, "29.10", "usd", "paid")
    assert datetime.fromisoformat(payout["arrival_date"]) == datetime.fromtimestamp(
        1_780_000_000, UTC)
    (sent,) = market.fake.sent("GET", "/v1/payouts")
    assert sent.headers["stripe-account"] == account_id
