"""Media owners' sales against in-memory fakes and the sandbox gateway: who is paid what,
what a refund takes back, invitations, and the earnings a creator reads."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import attrs
import pytest

from adapters.sandbox_payments.gateway import SandboxGateway
from application.catalog.authoring import CreateContent, DeleteContent, PublishContent
from application.catalog.series import AddToSeries, CreateSeries, PublishSeries
from application.commerce.payment_events import HandlePaymentEvent
from application.commerce.purchasing import StartPurchase
from application.commerce.refunds import RefundPurchase
from application.identity.administration import SetRole
from application.payouts.accounts import GetPayoutAccount, StartPayoutOnboarding
from application.payouts.earnings import GetEarnings
from application.payouts.invitations import AcceptInvitation, InviteMediaOwner
from application.platform.settings import UpdateSettings
from application.ports.payments import PaymentIntent, RefundRecord
from application.ports.payouts import Transfer
from application.principal import Principal
from domain.catalog.rules import ContentType, Visibility
from domain.errors import Forbidden
from domain.identity.roles import Role
from domain.payouts.accounts import SellerNotReady
from domain.payouts.earnings import EntryType
from domain.payouts.invitations import InvalidInvitation
from domain.values import Money
from tests.unit.fakes.app import FakeApp, Person

SYSTEM = Principal.system()


class RecordingSandbox(SandboxGateway):
    """The sandbox, remembering what each payment and refund asked of the provider."""

    def __init__(self) -> None:
        super().__init__()
        self.transfers: list[Transfer | None] = []
        self.reversals: list[bool] = []

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        self.transfers.append(transfer)
        return super().create_payment(amount=amount, purchase_id=purchase_id,
                                      customer_id=customer_id, description=description,
                                      payment_method=payment_method, save_card=save_card,
                                      transfer=transfer)

    def refund(self, *, intent_id: str, amount: Money | None, idempotency_key: str,
               reverse_transfer: bool = False) -> RefundRecord:
        self.reversals.append(reverse_transfer)
        return super().refund(intent_id=intent_id, amount=amount,
                              idempotency_key=idempotency_key,
                              reverse_transfer=reverse_transfer)


@pytest.fixture
def gateway() -> RecordingSandbox:
    return RecordingSandbox()


@pytest.fixture
def app(gateway: RecordingSandbox) -> FakeApp:
    return FakeApp(payments=gateway)


def seller(app: FakeApp, email: str, role: Role = Role.MEDIA_OWNER, *,
           onboard: bool = True) -> Person:
    person = app.person(email, role)
    if onboard:
        app.handle(StartPayoutOnboarding(actor=person.principal))
    return person


def item(app: FakeApp, owner: Person, price: str = "10.00", title: str = "Notes") -> UUID:
    made = app.handle(CreateContent(actor=owner.principal, title=title, price=price,
                                    content_type=ContentType.WRITTEN, body_html="<p>x</p>",
                                    visibility=Visibility.PURCHASED_ONLY))
    app.handle(PublishContent(actor=owner.principal, content_id=made.id))
    found: UUID = made.id
    return found


def test_a_media_owners_sale_sends_their_share_to_their_account(
        app: FakeApp, gateway: RecordingSandbox) -> None:
    maya = seller(app, "maya@example.com")
    buyer = app.person("ann@example.com")
    app.handle(StartPurchase(actor=buyer.principal, content_id=item(app, maya)))
    (transfer,) = gateway.transfers
    assert transfer == Transfer(destination=f"sbx_acct_{maya.id.hex}",
                                application_fee=Money("3.00", "usd"))
    (entry,) = app.store.earnings
    assert (entry.entry_type, entry.seller_id, entry.destination_account) == \
        (EntryType.SALE, maya.id, transfer.destination)
    assert (entry.split.platform_fee, entry.split.creator_payout) == \
        (Money("3.00", "usd"), Money("7.00", "usd"))


def test_the_platforms_own_creator_keeps_everything_and_nothing_is_transferred(
        app: FakeApp, gateway: RecordingSandbox) -> None:
    host = app.person("host@example.com", Role.PLATFORM_CREATOR)
    buyer = app.person("ann@example.com")
    app.handle(StartPurchase(actor=buyer.principal, content_id=item(app, host)))
    assert gateway.transfers == [None]
    (entry,) = app.store.earnings
    assert entry.split.platform_fee.is_zero and entry.destination_account is None


def test_refunds_take_back_the_creators_share_only_of_destination_charges(
        app: FakeApp, gateway: RecordingSandbox) -> None:
    maya = seller(app, "maya@example.com")
    host = app.person("host@example.com", Role.PLATFORM_CREATOR)
    buyer = app.person("ann@example.com")
    mayas = app.handle(StartPurchase(actor=buyer.principal, content_id=item(app, maya)))
    hosts = app.handle(StartPurchase(actor=buyer.principal, content_id=item(app, host)))
    app.handle(RefundPurchase(actor=SYSTEM, purchase_id=mayas.purchase_id, reason="r",
                              amount=Decimal("2.50")))
    app.handle(RefundPurchase(actor=SYSTEM, purchase_id=mayas.purchase_id, reason="rest"))
    app.handle(RefundPurchase(actor=SYSTEM, purchase_id=hosts.purchase_id, reason="r"))
    assert gateway.reversals == [True, True, False]
    refunds = [e for e in app.store.earnings if e.entry_type is EntryType.REFUND]
    mayas_refunds = [e.split for e in refunds if e.seller_id == maya.id]
    assert [(s.amount, s.platform_fee, s.creator_payout) for s in mayas_refunds] == [
        (Money("2.50", "usd"), Money("0.75", "usd"), Money("1.75", "usd")),
        (Money("7.50", "usd"), Money("2.25", "usd"), Money("5.25", "usd"))]
    report = app.handle(GetEarnings(actor=maya.principal))
    (total,) = report.totals
    assert (total.gross, total.refunds, total.platform_fee, total.net) == \
        (Decimal("10.00"), Decimal("10.00"), Decimal("0"), Decimal("0"))


def test_nothing_of_a_media_owner_without_payouts_is_sold(app: FakeApp,
                                                          gateway: RecordingSandbox) -> None:
    maya = seller(app, "maya@example.com", onboard=False)
    buyer = app.person("ann@example.com")
    content_id = item(app, maya)
    series = app.handle(CreateSeries(actor=maya.principal, title="Course", price="20"))
    app.handle(AddToSeries(actor=maya.principal, series_id=series.id, content_id=content_id))
    app.handle(PublishSeries(actor=maya.principal, series_id=series.id))
    for what in ({"content_id": content_id}, {"series_id": series.id}):
        with pytest.raises(SellerNotReady):
            app.handle(StartPurchase(actor=buyer.principal, **what))
    assert gateway.transfers == [] and app.store.purchases == {}
    assert app.handle(GetPayoutAccount(actor=maya.principal)).state == "not_started"


def test_a_new_fee_applies_to_the_sales_started_after_it(app: FakeApp,
                                                      gateway: RecordingSandbox) -> None:
    maya = seller(app, "maya@example.com")
    buyer = app.person("ann@example.com")
    first = item(app, maya, "10.00", "First")
    app.handle(UpdateSettings(actor=SYSTEM, changes={"platform_fee_percent": "12.5"}))
    app.handle(StartPurchase(actor=buyer.principal, content_id=first))
    assert [t.application_fee for t in gateway.transfers if t] == [Money("1.25", "usd")]


def test_an_invitation_makes_a_verified_media_owner_once(app: FakeApp) -> None:
    app.handle(InviteMediaOwner(actor=SYSTEM, email="noor@example.com"))
    (mail,) = app.mailer.to("noor@example.com")
    token = mail.text.split("token=")[1].split()[0]
    joined = app.handle(AcceptInvitation(token=token, full_name="Noor",
                                         password="a long enough passphrase"))
    assert joined.role == "media_owner" and joined.email_verified
    with pytest.raises(InvalidInvitation):
        app.handle(AcceptInvitation(token=token, full_name="Noor",
                                    password="a long enough passphrase"))


def test_an_invitation_to_an_account_needs_its_holder_signed_in(app: FakeApp) -> None:
    ann = app.person("ann@example.com")
    bob = app.person("bob@example.com")
    app.handle(InviteMediaOwner(actor=SYSTEM, email="ann@example.com"))
    token = app.mailer.to("ann@example.com")[-1].text.split("token=")[1].split()[0]
    for actor in (None, bob.principal):
        with pytest.raises(Forbidden) as refused:
            app.handle(AcceptInvitation(token=token, actor=actor))
        assert refused.value.code == "invitation.sign_in"
    assert app.handle(AcceptInvitation(token=token, actor=ann.principal)).role == "media_owner"
    assert app.store.users[ann.id].role is Role.MEDIA_OWNER


class LateWebhooks(RecordingSandbox):
    """A provider whose payments complete later, by webhook (as Stripe's do)."""

    delivers_events_inline = False

    def create_payment(self, *, amount: Money, purchase_id: UUID, customer_id: str | None,
                       description: str, payment_method: str | None = None,
                       save_card: bool = False, transfer: Transfer | None = None
                       ) -> PaymentIntent:
        intent = super().create_payment(amount=amount, purchase_id=purchase_id,
                                        customer_id=customer_id, description=description,
                                        payment_method=payment_method, save_card=save_card,
                                        transfer=transfer)
        return attrs.evolve(intent, status="requires_confirmation")


def test_the_charge_decides_who_is_paid_not_what_changed_before_its_webhook() -> None:
    gateway = LateWebhooks()
    app = FakeApp(payments=gateway)
    maya = app.person("maya@example.com", Role.MEDIA_OWNER)
    # Onboarding with this provider comes by webhook too: enable her account by hand.
    app.handle(StartPayoutOnboarding(actor=maya.principal))
    account = app.store.payout_accounts[maya.id]
    account.apply(SandboxGateway().retrieve_account(account.account_id), app.clock.now())
    buyer = app.person("ann@example.com")
    content_id = item(app, maya)
    started = app.handle(StartPurchase(actor=buyer.principal, content_id=content_id))
    (transfer,) = gateway.transfers
    assert transfer is not None
    # Before the payment's webhook: the item is deleted and Maya is no longer a media owner.
    app.handle(DeleteContent(actor=maya.principal, content_id=content_id))
    app.handle(SetRole(actor=SYSTEM, email="maya@example.com", role=Role.PLATFORM_CREATOR))
    intent_id = app.store.purchases[started.purchase_id].payment_intent_id
    assert intent_id is not None
    paid = gateway.inline_event(gateway.retrieve_payment(intent_id))
    assert paid is not None
    assert app.handle(HandlePaymentEvent(paid)) == "applied"
    (sale,) = app.store.earnings
    assert (sale.seller_id, sale.destination_account) == (maya.id, transfer.destination)
    assert sale.split.platform_fee == transfer.application_fee
    app.handle(RefundPurchase(actor=SYSTEM, purchase_id=started.purchase_id, reason="r"))
    assert gateway.reversals == [True]
