"""Commerce use cases against in-memory fakes and the real sandbox gateway."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import pytest

from adapters.sandbox_payments.gateway import DECLINES
from application.catalog.authoring import CreateContent, PublishContent
from application.catalog.browsing import CheckAccess
from application.catalog.media import ConfirmMediaUpload, StartMediaUpload
from application.catalog.series import AddToSeries, CreateSeries, PublishSeries
from application.catalog.views import StudioItem
from application.commerce.grants import GrantAccess
from application.commerce.library import MyLibrary, MyPurchases
from application.commerce.payment_events import FAILED, HandlePaymentEvent
from application.commerce.purchasing import PurchaseStarted, StartPurchase
from application.commerce.refunds import RefundPurchase
from application.identity.sessions import Logout
from application.payouts.accounts import StartPayoutOnboarding
from application.ports.media import StoredObject
from application.ports.payments import PaymentDeclined, PaymentEvent, RefundRecord
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.commerce.purchase import Purchase, PurchaseStatus
from domain.commerce.revenue import split_revenue
from domain.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from domain.identity.api_keys import KEY_PREFIX
from domain.identity.roles import Role
from domain.values import Money
from tests.unit.fakes.app import FakeApp, Person
from tests.unit.fakes.store import GrantRow

SYSTEM = Principal.system()
DECLINED_CARD = next(iter(DECLINES))


@pytest.fixture
def app() -> FakeApp:
    return FakeApp()


@pytest.fixture
def creator(app: FakeApp) -> Person:
    maya = app.person("maya@example.com", Role.MEDIA_OWNER)
    # The sandbox completes payout onboarding at once: her items are for sale.
    app.handle(StartPayoutOnboarding(actor=maya.principal))
    return maya


@pytest.fixture
def buyer(app: FakeApp) -> Person:
    return app.person("cole@example.com")


def video(app: FakeApp, owner: Person, title: str = "Lesson", *, price: str | None = "9.99",
          visibility: Visibility = Visibility.PURCHASED_ONLY) -> StudioItem:
    item = app.handle(CreateContent(actor=owner.principal, title=title,
                                    content_type=ContentType.VIDEO, price=price,
                                    visibility=visibility))
    ticket = app.handle(StartMediaUpload(actor=owner.principal, content_id=item.id,
                                         content_type="video/mp4", size=100))
    app.storage.objects[ticket.key] = StoredObject(size=100, content_type="video/mp4")
    app.handle(ConfirmMediaUpload(actor=owner.principal, content_id=item.id, key=ticket.key,
                                  duration_seconds=60))
    published: StudioItem = app.handle(PublishContent(actor=owner.principal, content_id=item.id))
    return published


@pytest.fixture
def item(app: FakeApp, creator: Person) -> StudioItem:
    return video(app, creator)


def buy(app: FakeApp, person: Person, content_id: UUID | None = None, *,
        series_id: UUID | None = None, card: str | None = None,
        key: str | None = None) -> PurchaseStarted:
    """As the HTTP API buys: with the session's token (read with the access decision)."""
    started: PurchaseStarted = app.handle(StartPurchase(
        token=person.token, content_id=content_id, series_id=series_id,
        payment_method=card, idempotency_key=key))
    return started


def purchase(app: FakeApp, purchase_id: UUID) -> Purchase:
    return app.store.purchases[purchase_id]


def access(app: FakeApp, person: Person, content_id: UUID) -> str | None:
    """The reason access is allowed, or None when it is not."""
    view = app.handle(CheckAccess(content_id=content_id, token=person.token))
    return str(view.reason) if view.allowed else None


def purchased_grants(app: FakeApp, person: Person) -> list[UUID]:
    return [g.content_id for g in app.store.grants.values()
            if g.user_id == person.id and g.access_type == "purchased"]


def subjects(app: FakeApp, person: Person) -> list[str]:
    return [m.subject for m in app.mailer.to(person.email)]


# --------------------------------------------------------------------------- buying


def test_a_purchase_with_the_default_card_completes_and_grants_access(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    assert access(app, buyer, item.id) is None
    started = buy(app, buyer, item.id)
    assert started.status == "completed" and started.gateway == "sandbox"
    assert started.amount == Money("9.99", "usd") and started.client_secret is None

    bought = purchase(app, started.purchase_id)
    assert bought.status is PurchaseStatus.COMPLETED and bought.purchased_at == app.clock.now()
    assert bought.payment_intent_id and bought.payment_intent_id.startswith("sbx_pi_")
    # A media owner's sale: the platform keeps 30%, rounded once; the parts add up.
    assert (bought.platform_fee, bought.creator_payout) == (Money("3.00", "usd"),
                                                           Money("6.99", "usd"))
    assert purchased_grants(app, buyer) == [item.id]
    assert access(app, buyer, item.id) == "grant:purchased"
    assert app.store.content[item.id].purchase_count == 1
    assert app.store.users[buyer.id].stripe_customer_id == f"sbx_cus_{buyer.id.hex}"

    (line,) = app.handle(MyPurchases(actor=buyer.principal))
    assert (line.title, line.slug, line.kind) == ("Lesson", item.slug, "content")
    (held,) = app.handle(MyLibrary(actor=buyer.principal))
    assert held.entry.id == item.id and held.access.reason == "grant:purchased"


def test_a_declined_card_fails_the_purchase_and_a_retry_can_succeed(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    with pytest.raises(PaymentDeclined) as error:
        buy(app, buyer, item.id, card=DECLINED_CARD)
    (failed,) = app.store.purchases.values()
    assert error.value.details == {"purchase_id": str(failed.id)}
    assert failed.status is PurchaseStatus.FAILED
    assert purchased_grants(app, buyer) == [] and access(app, buyer, item.id) is None
    assert not any("receipt" in s.lower() for s in subjects(app, buyer))

    retried = buy(app, buyer, item.id)
    assert retried.purchase_id != failed.id and retried.status == "completed"
    assert access(app, buyer, item.id) == "grant:purchased"


def test_an_unknown_card_is_refused_and_fails_the_purchase(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    with pytest.raises(PaymentDeclined) as error:
        buy(app, buyer, item.id, card="1234")
    assert error.value.code == "payment.invalid_card"
    (failed,) = app.store.purchases.values()
    assert failed.status is PurchaseStatus.FAILED


def test_an_unverified_customer_may_not_buy(app: FakeApp, item: StudioItem) -> None:
    unverified = app.person("new@example.com", verified=False)
    with pytest.raises(Forbidden) as error:
        buy(app, unverified, item.id)
    assert error.value.code == "purchase.email_unverified"
    assert app.store.purchases == {}


def test_what_is_already_accessible_cannot_be_bought(
        app: FakeApp, creator: Person, buyer: Person, item: StudioItem) -> None:
    free = video(app, creator, "Free", price=None)
    app.handle(GrantAccess(actor=SYSTEM, email=buyer.email, content_id=item.id))
    for content_id, reason in ((free.id, "free"), (item.id, "grant:complimentary")):
        with pytest.raises(Conflict) as error:
            buy(app, buyer, content_id)
        assert error.value.code == "purchase.already_accessible"
        assert error.value.details == {"reason": reason}
    with pytest.raises(Conflict) as own:
        buy(app, creator, item.id)
    assert own.value.code == "purchase.already_accessible"
    assert app.store.purchases == {}


def test_buying_twice_is_a_conflict(app: FakeApp, buyer: Person, item: StudioItem) -> None:
    buy(app, buyer, item.id)
    with pytest.raises(Conflict) as error:
        buy(app, buyer, item.id)
    assert error.value.code == "purchase.already_bought"
    assert len(app.store.purchases) == 1


def test_a_purchase_grant_seen_before_its_purchase_is_already_bought(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    """Under READ COMMITTED a double click can read "no open purchase", then see the
    grant the other click's purchase wrote when it completed. The answer is the one the
    purchase would have given: already bought, not merely accessible."""
    grant_id = UUID(int=7)
    app.store.grants[grant_id] = GrantRow(grant_id, buyer.id, item.id, "purchased", None,
                                          app.clock.now())
    with pytest.raises(Conflict) as error:
        buy(app, buyer, item.id)
    assert error.value.code == "purchase.already_bought"
    assert app.store.purchases == {}


def test_a_principal_buys_as_a_session_token_does(
        app: FakeApp, creator: Person, buyer: Person, item: StudioItem) -> None:
    """Other programs buy as a principal they already hold: the same purchase, the same
    refusals."""
    started: PurchaseStarted = app.handle(StartPurchase(
        actor=buyer.principal, content_id=item.id, idempotency_key="k1"))
    assert started.status == "completed" and started.customer_id == buyer.id
    again = app.handle(StartPurchase(actor=buyer.principal, content_id=item.id,
                                     idempotency_key="k1"))
    assert again.purchase_id == started.purchase_id
    with pytest.raises(Conflict) as error:
        app.handle(StartPurchase(actor=buyer.principal, content_id=item.id))
    assert error.value.code == "purchase.already_bought"
    assert purchased_grants(app, buyer) == [item.id]
    # A media owner's sale is split on the terms read with the open purchase.
    (sold,) = app.store.purchases.values()
    assert sold.seller_id == creator.id and sold.payout_account is not None
    assert sold.platform_fee == split_revenue(sold.amount, Role.MEDIA_OWNER,
                                              Decimal(30)).platform_fee


@pytest.mark.parametrize(("token", "error", "code"), [
    (None, Unauthenticated, "auth.missing_token"),
    ("", Unauthenticated, "auth.missing_token"),
    ("not-a-session", Unauthenticated, "auth.invalid_session"),
    ("x" * 300, Unauthenticated, "auth.invalid_session"),
    (f"{KEY_PREFIX}0123abcd_secret", Forbidden, "api_key.not_accepted"),
])
def test_a_purchase_needs_a_live_session(app: FakeApp, item: StudioItem, token: str | None,
                                        error: type[Exception], code: str) -> None:
    for series_id, content_id in ((None, item.id), (UUID(int=5), None)):
        with pytest.raises(error) as raised:
            app.handle(StartPurchase(token=token, content_id=content_id, series_id=series_id))
        assert getattr(raised.value, "code", None) == code
    assert app.store.purchases == {}


def test_an_ended_session_buys_nothing(app: FakeApp, buyer: Person, item: StudioItem) -> None:
    app.handle(Logout(actor=buyer.principal))
    with pytest.raises(Unauthenticated) as error:
        buy(app, buyer, item.id)
    assert error.value.code == "auth.invalid_session"
    assert app.store.purchases == {}


def test_a_purchase_names_exactly_one_thing(app: FakeApp, buyer: Person,
                                            item: StudioItem) -> None:
    with pytest.raises(ValidationError) as error:
        buy(app, buyer, item.id, series_id=UUID(int=5))
    assert error.value.code == "purchase.one_item"


def test_the_same_idempotency_key_returns_the_same_purchase(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    first = buy(app, buyer, item.id, key="click-1")
    again = buy(app, buyer, item.id, key="click-1")
    assert again == first
    assert len(app.store.purchases) == 1 and purchased_grants(app, buyer) == [item.id]
    assert app.store.content[item.id].purchase_count == 1
    assert sum("receipt" in s.lower() for s in subjects(app, buyer)) == 1


def test_an_idempotency_key_reused_for_another_item_is_a_conflict(
        app: FakeApp, creator: Person, buyer: Person, item: StudioItem) -> None:
    other = video(app, creator, "Other")
    buy(app, buyer, item.id, key="click-1")
    with pytest.raises(Conflict) as error:
        buy(app, buyer, other.id, key="click-1")
    assert error.value.code == "request.idempotency_key_reused"
    assert len(app.store.purchases) == 1 and access(app, buyer, other.id) is None
    # Keys belong to one user: someone else may use the same one.
    other_buyer = app.person("dee@example.com")
    assert buy(app, other_buyer, other.id, key="click-1").status == "completed"


# --------------------------------------------------------------------------- events, refunds


def test_partial_then_full_refund_revokes_access_once(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id)
    partial = app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                        reason="Bad audio", amount=Decimal("4.00")))
    assert partial.amount == Money("4.00", "usd")
    assert purchase(app, started.purchase_id).status is PurchaseStatus.COMPLETED
    assert access(app, buyer, item.id) == "grant:purchased"

    full = app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                     reason="Still bad"))
    assert full.amount == Money("5.99", "usd") and full.refund_id != partial.refund_id
    refunded = purchase(app, started.purchase_id)
    assert refunded.status is PurchaseStatus.REFUNDED
    assert refunded.refund_reason == "Still bad" and refunded.refunded_at == app.clock.now()
    assert purchased_grants(app, buyer) == [] and access(app, buyer, item.id) is None
    assert app.store.content[item.id].purchase_count == 0
    assert sorted(r.amount for r in app.store.refunds.values()) == [Decimal("4.00"),
                                                                    Decimal("5.99")]

    # The gateway redelivers the last refund event: nothing changes a second time.
    assert refunded.payment_intent_id is not None
    replay = app.services.payments.inline_refund_event(
        refunded.payment_intent_id, refunded.amount,
        RefundRecord(id=full.refund_id, amount=full.amount))
    assert replay is not None
    assert app.handle(HandlePaymentEvent(replay)) == "duplicate"
    assert app.store.content[item.id].purchase_count == 0 and len(app.store.refunds) == 2

    with pytest.raises(Conflict) as error:
        app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                  reason="Again"))
    assert error.value.code == "refund.not_refundable"


def test_a_refund_larger_than_what_is_left_is_refused(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id)
    with pytest.raises(ValidationError) as error:
        app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                  reason="Too much", amount=Decimal("10.00")))
    assert error.value.code == "refund.amount"
    assert app.store.refunds == {}


def test_only_staff_refund(app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id)
    with pytest.raises(Forbidden):
        app.handle(RefundPurchase(actor=buyer.principal, purchase_id=started.purchase_id,
                                  reason="Please"))


def test_a_repeated_payment_event_is_a_duplicate(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id)
    intent_id = purchase(app, started.purchase_id).payment_intent_id
    assert intent_id is not None
    gateway = app.services.payments
    event = gateway.inline_event(gateway.retrieve_payment(intent_id))
    assert event is not None
    assert app.handle(HandlePaymentEvent(event)) == "duplicate"
    assert app.handle(HandlePaymentEvent(event)) == "duplicate"
    assert app.store.content[item.id].purchase_count == 1
    assert sum("receipt" in s.lower() for s in subjects(app, buyer)) == 1


def test_a_payment_failed_event_after_success_changes_nothing(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id)
    before = purchase(app, started.purchase_id)
    late = PaymentEvent(id="evt_late_failure", type=FAILED, created=app.clock.now(),
                        intent_id=before.payment_intent_id, purchase_id=before.id,
                        amount=before.amount)
    assert app.handle(HandlePaymentEvent(late)) == "applied"
    after = purchase(app, started.purchase_id)
    assert after.status is PurchaseStatus.COMPLETED and after.updated_at == before.updated_at
    assert access(app, buyer, item.id) == "grant:purchased"
    assert app.handle(HandlePaymentEvent(late)) == "duplicate"


def test_an_event_for_no_known_purchase_is_ignored(app: FakeApp) -> None:
    stray = PaymentEvent(id="evt_stray", type="payment_intent.succeeded",
                         created=app.clock.now(), intent_id="pi_unknown")
    assert app.handle(HandlePaymentEvent(stray)) == "ignored"
    assert app.handle(HandlePaymentEvent(stray)) == "duplicate"
    assert app.store.webhook_events.keys() == {"evt_stray"}


def test_an_event_naming_only_a_payment_of_ours_is_applied_in_its_transaction(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    """No purchase named (a payment whose metadata was lost): the payment's id still
    finds the purchase, and the event is recorded once, with its effect."""
    started = buy(app, buyer, item.id)
    paid = purchase(app, started.purchase_id)
    assert paid.payment_intent_id is not None
    refund = PaymentEvent(id="evt_refund_no_metadata", type="charge.refunded",
                          created=app.clock.now(), intent_id=paid.payment_intent_id,
                          amount=paid.amount,
                          refunds=(RefundRecord(id="re_bare", amount=paid.amount),))
    failed = PaymentEvent(id="evt_failed_no_metadata", type=FAILED, created=app.clock.now(),
                          intent_id=paid.payment_intent_id, amount=paid.amount)
    assert app.handle(HandlePaymentEvent(failed)) == "applied"
    assert purchase(app, started.purchase_id).status is PurchaseStatus.COMPLETED
    assert app.handle(HandlePaymentEvent(failed)) == "duplicate"
    assert app.handle(HandlePaymentEvent(refund)) == "applied"
    assert purchase(app, started.purchase_id).status is PurchaseStatus.REFUNDED
    assert {"evt_failed_no_metadata", "evt_refund_no_metadata"} <= app.store.webhook_events.keys()


def test_receipt_and_refund_emails_go_out_once(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    started = buy(app, buyer, item.id, key="k")
    buy(app, buyer, item.id, key="k")
    first = app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                      reason="Sorry"))
    # The same request again is the same refund, not a second one (nor an error).
    again = app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                      reason="Sorry"))
    assert again == first
    with pytest.raises(Conflict):  # a different request finds nothing left
        app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                                  reason="Another"))
    assert subjects(app, buyer) == ["Your receipt: Lesson", "Refund: Lesson"]
    receipt = app.mailer.to(buyer.email)[0]
    assert str(started.purchase_id) in receipt.text and f"/content/{item.slug}" in receipt.text
    logged = [(e.email_type, e.status) for e in app.store.email_logs
              if e.recipient_email == buyer.email]
    assert ("purchase_receipt", "sent") in logged and ("purchase_refund", "sent") in logged
    assert all(m["status"] == "processed" for m in app.store.outbox.values())


# --------------------------------------------------------------------------- series


def test_a_series_bundle_opens_items_added_later(
        app: FakeApp, creator: Person, buyer: Person) -> None:
    first = video(app, creator, "Part one")
    series = app.handle(CreateSeries(actor=creator.principal, title="Course", price="20"))
    app.handle(AddToSeries(actor=creator.principal, series_id=series.id, content_id=first.id))
    app.handle(PublishSeries(actor=creator.principal, series_id=series.id))

    started = buy(app, buyer, series_id=series.id)
    assert started.status == "completed" and started.amount == Money("20", "usd")
    assert purchased_grants(app, buyer) == []  # the bundle itself is the entitlement
    assert access(app, buyer, first.id) == "series_purchased"

    later = video(app, creator, "Part two")
    assert access(app, buyer, later.id) is None
    app.handle(AddToSeries(actor=creator.principal, series_id=series.id, content_id=later.id))
    assert access(app, buyer, later.id) == "series_purchased"

    library = app.handle(MyLibrary(actor=buyer.principal))
    assert {i.entry.id for i in library} == {first.id, later.id}
    (line,) = app.handle(MyPurchases(actor=buyer.principal))
    assert (line.kind, line.title) == ("series", "Course")
    assert subjects(app, buyer) == ["Your receipt: Course"]
    assert f"/series/{series.slug}" in app.mailer.to(buyer.email)[0].text
    with pytest.raises(Conflict) as error:
        buy(app, buyer, series_id=series.id)
    assert error.value.code == "purchase.already_bought"


def test_a_refunded_bundle_closes_its_items(
        app: FakeApp, creator: Person, buyer: Person) -> None:
    part = video(app, creator, "Part")
    series = app.handle(CreateSeries(actor=creator.principal, title="Course", price="20"))
    app.handle(AddToSeries(actor=creator.principal, series_id=series.id, content_id=part.id))
    app.handle(PublishSeries(actor=creator.principal, series_id=series.id))
    started = buy(app, buyer, series_id=series.id)
    app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id, reason="No"))
    assert purchase(app, started.purchase_id).status is PurchaseStatus.REFUNDED
    assert access(app, buyer, part.id) is None
    assert app.handle(MyLibrary(actor=buyer.principal)) == []


def test_a_draft_series_is_not_for_sale(app: FakeApp, creator: Person, buyer: Person) -> None:
    series = app.handle(CreateSeries(actor=creator.principal, title="Course", price="20"))
    with pytest.raises(NotFound) as error:
        buy(app, buyer, series_id=series.id)
    assert error.value.code == "series.not_found"



# --------------------------------------------------------------------------- the fakes


def test_uncommitted_commerce_writes_are_rolled_back(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    now = app.clock.now()
    split = split_revenue(Money("9.99", "usd"), Role.MEDIA_OWNER)
    events_before = dict(app.store.webhook_events)  # the creator's payout onboarding
    with app.uow_factory() as uow:
        uow.purchases.add(Purchase.start(id=UUID(int=7001), customer_id=buyer.id,
                                         content_id=item.id, series_id=None, split=split,
                                         now=now))
        with pytest.raises(Conflict) as error:
            uow.purchases.add(Purchase.start(id=UUID(int=7002), customer_id=buyer.id,
                                             content_id=item.id, series_id=None,
                                             split=split, now=now))
        assert error.value.code == "purchase.already_open"
        assert uow.grants.grant(grant_id=UUID(int=7003), user_id=buyer.id,
                                content_id=item.id, access_type="purchased",
                                expires_at=None, now=now)
        assert not uow.grants.grant(grant_id=UUID(int=7004), user_id=buyer.id,
                                    content_id=item.id, access_type="purchased",
                                    expires_at=None, now=now)
        assert uow.ledger.record_event("evt_1", "sandbox", "x", now)
        assert not uow.ledger.record_event("evt_1", "sandbox", "x", now)
        assert uow.ledger.remember_key(buyer.id, "purchase", "k", UUID(int=1), now) == \
            uow.ledger.remember_key(buyer.id, "purchase", "k", UUID(int=2), now) == UUID(int=1)
        uow.ledger.add_purchase_count(item.id, -1)
        uow.ledger.add_purchase_count(item.id, +1)
        assert uow.content.get(item.id) is not None
        assert uow.content.get(item.id).purchase_count == 1  # type: ignore[union-attr]
        # leaving without commit rolls everything back
    assert app.store.purchases == {} and app.store.grants == {}
    assert app.store.webhook_events == events_before and app.store.idempotency_keys == {}
    assert app.store.content[item.id].purchase_count == 0


def test_a_repeated_partial_refund_request_is_the_same_refund(
        app: FakeApp, buyer: Person, item: StudioItem) -> None:
    """refunds.py: "The same request repeated (a retry, a double click) is the same refund."

    The refund's idempotency key includes the amount still refundable, which the
    first request's (inline) event has already lowered, so the repeat is a new refund.
    """
    started = buy(app, buyer, item.id)
    request = RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id,
                             reason="Bad audio", amount=Decimal("4.00"))
    first = app.handle(request)
    again = app.handle(request)
    assert again.refund_id == first.refund_id
    assert [r.amount for r in app.store.refunds.values()] == [Decimal("4.00")]
