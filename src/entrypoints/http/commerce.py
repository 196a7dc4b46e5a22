"""/api/v1/purchases, /api/v1/me/{purchases,library}, webhooks, refunds and grants."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, delete, get, post
from litestar.concurrency import sync_to_thread
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from application.commerce.grants import GrantAccess, RevokeAccess
from application.commerce.library import MyLibrary, MyPurchases
from application.commerce.payment_events import HandlePaymentEvent
from application.commerce.purchasing import StartPurchase
from application.commerce.refunds import RefundPurchase
from application.memberships.billing_events import HandleBillingEvent
from application.ports.payments import InvalidWebhook
from domain.identity.api_keys import KEY_PREFIX, Scope
from entrypoints.http.auth import SECURED
from entrypoints.http.convert import decimal_from, entry_out
from entrypoints.http.dependencies import Actor, App, bearer_token, provide_actor, takes_key
from entrypoints.http.guard import RAW_BODY
from entrypoints.http.openapi import AUTHENTICATED, MAX_OFFSET, OWNER, problems
from entrypoints.http.request_context import note_user
from entrypoints.http.schemas.commerce import (
    GrantBody,
    GrantOut,
    LibraryItemOut,
    PurchaseBody,
    PurchaseLineOut,
    PurchaseOut,
    RefundBody,
    RefundOut,
    WebhookOut,
)

WEBHOOK_MAX_BYTES = 256 * 1024


class PurchasesController(Controller):
    path = "/api/v1/purchases"
    tags = ["commerce"]
    security = SECURED

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True,
          responses=problems(400, 401, 402, 403, 404, 409, 422, 503))
    def start(self, data: JSONBody[PurchaseBody], patronage: App,
              request: Request[Any, Any, Any]) -> PurchaseOut:
        """Buy a content item, a series bundle or a credit pack (name exactly one).

        A credit pack can be bought again and again; its credits are added when the
        payment succeeds and last the pack's `valid_days`.

        Returns what the client needs to pay: with Stripe a PaymentIntent
        `client_secret` (the purchase completes when Stripe's webhook arrives); with
        the sandbox an immediate result. Send an `Idempotency-Key` header: a repeated
        or double-clicked request returns the same purchase. Needs a verified email.
        """
        token = bearer_token(request)
        # A session is read with the item's access decision, in one statement; an API
        # key goes the usual way, which refuses it here.
        actor = provide_actor(request, patronage) if token.startswith(KEY_PREFIX) else None
        started = patronage.handle(StartPurchase(
            actor=actor, token=None if actor else token, content_id=data.content_id,
            series_id=data.series_id, credit_pack_id=data.credit_pack_id,
            payment_method=data.payment_method,
            idempotency_key=request.headers.get("idempotency-key")))
        note_user(request.scope, str(started.customer_id))
        return PurchaseOut(purchase_id=started.purchase_id, status=started.status,
                           amount=str(started.amount.amount), currency=started.amount.currency,
                           client_secret=started.client_secret, gateway=started.gateway)


class MyCommerceController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    security = SECURED

    @get("/purchases", sync_to_thread=True, responses=AUTHENTICATED)
    def purchases(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[PurchaseLineOut]:
        """Your purchases, newest first, whatever their status."""
        lines = patronage.handle(MyPurchases(actor=actor, limit=limit, offset=offset))
        return [PurchaseLineOut(
            id=line.purchase.id, kind=line.kind, title=line.title, slug=line.slug,
            status=line.purchase.status.value, amount=str(line.purchase.amount.amount),
            currency=line.purchase.amount.currency, created_at=line.purchase.created_at,
            purchased_at=line.purchase.purchased_at, refunded_at=line.purchase.refunded_at,
        ) for line in lines]

    @get("/library", sync_to_thread=True, responses=AUTHENTICATED)
    def library(self, actor: Actor, patronage: App) -> list[LibraryItemOut]:
        """Everything you hold (purchases, bundles, gifts), with the reason you may open it."""
        items = patronage.handle(MyLibrary(actor=actor))
        return [LibraryItemOut(item=entry_out(i.entry), reason=i.access.reason) for i in items]


class WebhooksController(Controller):
    path = "/api/v1/webhooks"
    tags = ["webhooks"]

    @post("/stripe", status_code=200, request_max_body_size=WEBHOOK_MAX_BYTES,
          responses=problems(400, 503), opt={RAW_BODY: True})
    async def stripe(self, request: Request[Any, Any, Any], patronage: App) -> WebhookOut:
        """Stripe's webhook. The signature is checked on the raw body (5-minute tolerance);
        each event id is processed once; unknown event types are acknowledged unchanged."""
        payload = await request.body()
        signature = request.headers.get("stripe-signature")

        metrics = patronage.services.metrics

        def process() -> str:
            # Parsing may call Stripe (a charge's refunds): keep it off the event loop.
            try:
                event = patronage.services.payments.parse_event(payload, signature)
            except InvalidWebhook:
                metrics.webhook("unknown", "rejected")
                raise
            outcome = str(patronage.handle(HandleBillingEvent(event)) if event.is_billing
                          else patronage.handle(HandlePaymentEvent(event)))
            metrics.webhook(event.type, outcome)
            return outcome

        # The pool every sync handler uses (a few threads per process), not anyio's 40:
        # 40 threads would each hold a database connection, past the pool's size.
        outcome = await sync_to_thread(process)
        return WebhookOut(received=True, outcome=outcome)


class AdminCommerceController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    security = SECURED
    opt = takes_key(Scope.REFUNDS_WRITE)  # refunds and access grants

    @post("/purchases/{purchase_id:uuid}/refund", status_code=200, sync_to_thread=True,
          responses=OWNER)
    def refund(self, purchase_id: FromPath[UUID], data: JSONBody[RefundBody], actor: Actor,
               patronage: App, request: Request[Any, Any, Any]) -> RefundOut:
        """Refund all (or `amount` of) a completed purchase. Access is withdrawn when the
        refund is confirmed by the gateway and the refunds add up to the price.

        A repeated request (same amount and reason, or the same `Idempotency-Key`) is the
        same refund; send distinct keys for deliberate, identical partial refunds."""
        result = patronage.handle(RefundPurchase(
            actor=actor, purchase_id=purchase_id, reason=data.reason,
            amount=decimal_from(data.amount),
            idempotency_key=request.headers.get("idempotency-key")))
        return RefundOut(purchase_id=result.purchase_id, refund_id=result.refund_id,
                         amount=str(result.amount.amount), currency=result.amount.currency,
                         status=result.status)

    @post("/access-grants", status_code=HTTP_201_CREATED, sync_to_thread=True,
          responses=OWNER)
    def grant(self, data: JSONBody[GrantBody], actor: Actor, patronage: App) -> GrantOut:
        """Give someone access to an item (complimentary or preview), optionally until a date."""
        result = patronage.handle(GrantAccess(
            actor=actor, email=data.email, content_id=data.content_id,
            access_type=data.access_type, expires_at=data.expires_at))
        return GrantOut(user_id=result.user_id, content_id=result.content_id,
                        access_type=result.access_type, expires_at=result.expires_at,
                        created=result.created)

    @delete("/access-grants", status_code=200, sync_to_thread=True, responses=OWNER)
    def revoke(self, actor: Actor, patronage: App,
               email: FromQuery[Annotated[str, Parameter(max_length=254)]],
               content_id: FromQuery[UUID],
               access_type: FromQuery[Annotated[str, Parameter(
                   pattern="^(complimentary|preview)$")]] = "complimentary") -> dict[str, bool]:
        """Remove a manual grant; a purchase of the same item keeps its own access."""
        patronage.handle(RevokeAccess(actor=actor, email=email, content_id=content_id,
                                      access_type=access_type))
        return {"revoked": True}
