"""Buying a content item, a series bundle or a credit pack."""

from __future__ import annotations

from uuid import UUID

import attrs

from application.catalog.entitlements import Resolved, resolve
from application.commerce.payment_events import HandlePaymentEvent, apply_payment_event
from application.identity.sessions import Authenticate, authenticate
from application.messagebus import SingleStatementWrites
from application.payouts.terms import sale_terms, seller_of, terms_for
from application.ports.catalog import AccessRow
from application.ports.commerce import Buyer, Opening
from application.ports.payments import PaymentDeclined, PaymentIntent
from application.ports.payouts import Transfer
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.access.decision import AccessDecision, Reason
from domain.catalog.series import ContentSeries
from domain.commerce.purchase import PackTerms, Purchase, PurchaseStatus
from domain.commerce.revenue import RevenueSplit, split_revenue
from domain.credits.packs import CreditPack
from domain.errors import Conflict, Forbidden, NotFound, Unauthenticated, ValidationError
from domain.identity.api_keys import KEY_PREFIX
from domain.identity.roles import Role
from domain.values import Money

IDEMPOTENCY_KEY_MAX = 200


@attrs.frozen
class PurchaseStarted:
    purchase_id: UUID
    status: str
    amount: Money
    client_secret: str | None
    gateway: str
    customer_id: UUID


@attrs.frozen(repr=False)
class StartPurchase(SingleStatementWrites):
    """Buy one item as ``actor``, or as the holder of the session ``token``: for a
    content item the session is then read in the same statement as the access decision.

    Each write stands alone (the purchase row, the Idempotency-Key's record), so no
    transaction wraps them: a retry finds whichever was written.
    """

    actor: Principal | None = None
    content_id: UUID | None = None
    series_id: UUID | None = None
    payment_method: str | None = None
    idempotency_key: str | None = None
    credit_pack_id: UUID | None = None
    token: str | None = None

    def __repr__(self) -> str:
        return (f"StartPurchase(content_id={self.content_id}, series_id={self.series_id}, "
                f"credit_pack_id={self.credit_pack_id})")

    @property
    def item(self) -> tuple[UUID | None, UUID | None, UUID | None]:
        return self.content_id, self.series_id, self.credit_pack_id


@attrs.frozen
class _Sale:
    split: RevenueSplit
    pack: PackTerms | None = None
    seller_id: UUID | None = None
    # A media owner's connected account: the charge is a destination charge to it.
    destination: str | None = None


@attrs.frozen
class _Opened:
    """What opening a purchase already read, so that paying for it reads nothing again
    before the gateway call."""
    purchase: Purchase
    buyer: Buyer
    transfer: Transfer | None


@attrs.frozen
class _Item:
    """What is known of the item to buy before anything is refused."""
    seller_id: UUID | None = None
    found: tuple[AccessRow, AccessDecision] | None = None  # a content item
    series: ContentSeries | None = None
    pack: CreditPack | None = None


def _buyer(cmd: StartPurchase, uow: UnitOfWork, services: Services
           ) -> tuple[UUID, bool, Resolved | None]:
    """Who buys, whether their address is confirmed, and (when the session was read
    with it) the content item's access decision."""
    if cmd.actor is not None:
        return cmd.actor.require_user(), cmd.actor.email_verified, None
    if not cmd.token:
        raise Unauthenticated("Sign in to buy.", code="auth.missing_token")
    if cmd.token.startswith(KEY_PREFIX):
        raise Forbidden("API keys cannot be used here; sign in.", code="api_key.not_accepted")
    if cmd.content_id is not None:
        resolved = resolve(uow, services, token=cmd.token, content_ids=[cmd.content_id])
        if resolved.viewer is None:  # resolve refuses a bad token; this is for the types
            raise Unauthenticated("Missing or invalid session token.",
                                  code="auth.invalid_session")
        return resolved.viewer.user_id, resolved.email_verified, resolved
    principal = authenticate(Authenticate(cmd.token), uow, services)
    return principal.require_user(), principal.email_verified, None


def _item(cmd: StartPurchase, uow: UnitOfWork, services: Services, user_id: UUID,
          resolved: Resolved | None) -> _Item:
    if cmd.credit_pack_id is not None:
        # Packs are the platform's own: credits are spent on any creator's offerings.
        return _Item(pack=uow.credit_packs.get(cmd.credit_pack_id))
    if cmd.content_id is not None:
        if resolved is None:
            resolved = resolve(uow, services, user_id=user_id, content_ids=[cmd.content_id])
        found = resolved.one()
        return _Item(seller_id=found[0].item.creator_id if found else None, found=found)
    series = uow.series.get(cmd.series_id) if cmd.series_id else None
    return _Item(seller_id=series.creator_id if series else None, series=series)


def _what_is_sold(cmd: StartPurchase, item: _Item, opening: Opening) -> _Sale:
    """Price, seller and what a pack grants; refuses what is not for sale or already owned."""
    if cmd.credit_pack_id is not None:
        pack = item.pack
        if pack is None:
            raise NotFound("No such credit pack.", code="credit_pack.not_found")
        pack.require_on_sale()
        return _Sale(split_revenue(pack.price, Role.PLATFORM_OWNER),
                     PackTerms(pack.id, pack.credits, pack.valid_days))
    if cmd.content_id is not None:
        found = item.found
        if found is None or found[1].reason is Reason.NOT_FOUND:
            raise NotFound("No such content item.", code="content.not_found")
        row, decision = found
        if decision.reason is Reason.PURCHASED:
            # A purchase's grant that the open-purchase read, one statement later, did
            # not find (refunded in between, under READ COMMITTED): the customer bought
            # it, and the answer is the one that purchase gave.
            raise Conflict("You already bought this.", code="purchase.already_bought")
        if decision.allowed:
            raise Conflict("You already have access to this item.",
                           code="purchase.already_accessible",
                           details={"reason": decision.reason.value})
        entry = row.entry
        if entry.price is None or entry.price <= 0:
            raise Conflict("This item is not sold on its own.", code="purchase.not_for_sale")
        return _by_creator(opening, Money(entry.price, entry.currency), entry.creator_id)
    series = item.series
    if series is None or not series.is_live:
        raise NotFound("No such series.", code="series.not_found")
    if series.price is None or series.price.is_zero:
        raise Conflict("This series is not sold as a bundle.", code="purchase.not_for_sale")
    return _by_creator(opening, series.price, series.creator_id)


def _by_creator(opening: Opening, price: Money, creator_id: UUID) -> _Sale:
    """A creator's item: a media owner's is for sale only once they can be paid."""
    terms = sale_terms(creator_id, opening.seller_role, opening.fee_percent,
                       opening.payout_account)
    return _Sale(terms.split(price), seller_id=creator_id, destination=terms.destination)


def start_purchase(cmd: StartPurchase, uow: UnitOfWork, services: Services) -> PurchaseStarted:
    user_id, verified, resolved = _buyer(cmd, uow, services)
    if not verified:
        raise Forbidden("Confirm your email address before buying.",
                        code="purchase.email_unverified")
    if cmd.item.count(None) != 2:
        raise ValidationError("Name exactly one of content_id, series_id and credit_pack_id.",
                              code="purchase.one_item")
    if cmd.idempotency_key is not None and not 0 < len(cmd.idempotency_key) <= IDEMPOTENCY_KEY_MAX:
        raise ValidationError("Idempotency-Key must be 1 to 200 characters.",
                              code="request.idempotency_key")
    now = services.clock.now()

    if cmd.idempotency_key:
        # A repeated request answers as the first one did, whatever happened since.
        first = uow.ledger.key_resource(user_id, "purchase", cmd.idempotency_key)
        if first is not None:
            earlier = uow.purchases.get(first)
            if earlier is None or (earlier.content_id, earlier.series_id,
                                   earlier.credit_pack_id) != cmd.item:
                raise Conflict("This Idempotency-Key was used for another purchase.",
                               code="request.idempotency_key_reused")
            uow.rollback()
            return _pay(earlier.id, user_id, cmd, services)

    item = _item(cmd, uow, services, user_id, resolved)
    opening = uow.purchases.opening(user_id, content_id=cmd.content_id,
                                    series_id=cmd.series_id,
                                    credit_pack_id=cmd.credit_pack_id, seller_id=item.seller_id)
    existing = opening.open_purchase
    if existing is not None and existing.status is PurchaseStatus.COMPLETED:
        raise Conflict("You already bought this.", code="purchase.already_bought")
    opened: _Opened | None = None
    if existing is None:
        sale = _what_is_sold(cmd, item, opening)
        purchase = Purchase.start(id=services.ids.new_id(), customer_id=user_id,
                                  content_id=cmd.content_id, series_id=cmd.series_id,
                                  split=sale.split, now=now,
                                  pack=sale.pack, seller_id=sale.seller_id)
        transfer = _charged_to(purchase, sale.destination)
        try:
            uow.purchases.add(purchase)
        except Conflict:
            # A parallel request (a double click) opened it first: continue with theirs.
            uow.rollback()
            theirs = uow.purchases.open_for(user_id, content_id=cmd.content_id,
                                            series_id=cmd.series_id,
                                            credit_pack_id=cmd.credit_pack_id)
            if theirs is None:
                raise
            purchase = theirs
        else:
            if opening.buyer is not None:
                opened = _Opened(purchase, opening.buyer, transfer)
    else:
        purchase = existing
    if cmd.idempotency_key:
        first = uow.ledger.remember_key(user_id, "purchase", cmd.idempotency_key, purchase.id,
                                        now)
        if first != purchase.id:
            raise Conflict("This Idempotency-Key was used for another purchase.",
                           code="request.idempotency_key_reused")
    uow.commit()
    return _pay(purchase.id, user_id, cmd, services, opened)


def _reopen(purchase_id: UUID, user_id: UUID, services: Services
            ) -> _Opened | PurchaseStarted:
    """A purchase opened by an earlier request (a retry, a repeated key): read again,
    with the transfer it is charged with kept on it before the charge."""
    with services.uow_factory() as uow:
        purchase = uow.purchases.get(purchase_id)
        user = uow.users.get(user_id)
        if purchase is None or user is None:
            raise NotFound("No such purchase.", code="purchase.not_found")
        if purchase.status is PurchaseStatus.COMPLETED:
            return _started(purchase, None, services.payments.name)
        transfer = None
        if not purchase.payment_intent_id:
            kept = purchase.payout_account
            transfer = _charged_to(purchase, _destination(uow, purchase))
            if purchase.payout_account != kept:
                uow.commit()
    return _Opened(purchase, Buyer(user.id, user.email.value, user.stripe_customer_id),
                   transfer)


def _charged_to(purchase: Purchase, destination: str | None) -> Transfer | None:
    """A media owner's sale is a destination charge: the fee agreed when the purchase
    started stays with the platform, the rest goes to the owner's account. The account
    is kept on the purchase before the charge: its refunds take back from it whatever
    becomes of the item or the seller's role meanwhile."""
    if destination is None:
        return None
    purchase.payout_account = destination
    return Transfer(destination=destination, application_fee=purchase.platform_fee)


def _customer(services: Services, buyer: Buyer) -> str:
    """The buyer's customer at the gateway, made (and kept) on a first purchase."""
    customer_id = services.payments.ensure_customer(
        user_id=buyer.id, email=buyer.email, existing_id=buyer.customer_id)
    if customer_id != buyer.customer_id:
        with services.uow_factory() as uow:
            user = uow.users.get(buyer.id)
            if user is not None and user.stripe_customer_id != customer_id:
                user.stripe_customer_id = customer_id
                uow.commit()
    return customer_id


def _pay(purchase_id: UUID, user_id: UUID, cmd: StartPurchase, services: Services,
         opened: _Opened | None = None) -> PurchaseStarted:
    """Talk to the gateway outside any transaction, then record what it said."""
    gateway = services.payments
    if opened is None:
        found = _reopen(purchase_id, user_id, services)
        if isinstance(found, PurchaseStarted):
            return found
        opened = found
    purchase, transfer = opened.purchase, opened.transfer
    customer_id = _customer(services, opened.buyer)
    try:
        # A purchase has one payment: a repeated request looks it up again (the
        # client confirms it with its secret) instead of creating another.
        intent = (gateway.retrieve_payment(purchase.payment_intent_id)
                  if purchase.payment_intent_id
                  else gateway.create_payment(amount=purchase.amount, purchase_id=purchase.id,
                                              customer_id=customer_id,
                                              description=f"Purchase {purchase.id}",
                                              payment_method=cmd.payment_method,
                                              transfer=transfer))
    except PaymentDeclined:
        _record_failure(purchase_id, services)
        raise
    event = gateway.inline_event(intent) if gateway.delivers_events_inline else None
    with services.uow_factory() as uow:
        if event is not None:
            # The event names the purchase, so applying it also attaches the payment:
            # one transaction, one commit.
            final = apply_payment_event(HandlePaymentEvent(event), uow, services).purchase
        else:
            final = uow.purchases.get(purchase_id, lock=True)
            if final is None:
                raise NotFound("No such purchase.", code="purchase.not_found")
            final.attach_payment(intent.id, services.clock.now())
            uow.commit()
        if final is None or final.id != purchase_id:
            final = uow.purchases.get(purchase_id)  # a repeated event: read it as it is
    services.dispatch(uow.committed_outbox_ids)
    if final is None:
        raise NotFound("No such purchase.", code="purchase.not_found")
    if final.status is PurchaseStatus.FAILED:
        raise PaymentDeclined(f"The payment was declined ({intent.failure or 'declined'}).",
                              details={"purchase_id": str(purchase_id)})
    return _started(final, intent, gateway.name)


def _destination(uow: UnitOfWork, purchase: Purchase) -> str | None:
    """The seller's account now (which must still be able to take the charge)."""
    seller = purchase.seller_id or seller_of(uow, content_id=purchase.content_id,
                                             series_id=purchase.series_id)
    return terms_for(uow, seller).destination if seller is not None else None


def _record_failure(purchase_id: UUID, services: Services) -> None:
    with services.uow_factory() as uow:
        purchase = uow.purchases.get(purchase_id, lock=True)
        if purchase is not None and purchase.fail(services.clock.now()):
            uow.commit()


def _started(purchase: Purchase, intent: PaymentIntent | None, gateway: str) -> PurchaseStarted:
    return PurchaseStarted(
        purchase_id=purchase.id, status=purchase.status.value, amount=purchase.amount,
        client_secret=intent.client_secret if intent and not intent.succeeded else None,
        gateway=gateway, customer_id=purchase.customer_id)
