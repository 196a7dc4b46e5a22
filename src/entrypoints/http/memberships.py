"""/api/v1/tiers, /api/v1/subscriptions, /api/v1/me/{subscription,credits} and their
admin routes."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, get, patch, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_201_CREATED

from application.credits.adjusting import AdjustCredits
from application.credits.views import CreditSummary, MyCredits, MyCreditTransactions
from application.memberships.renewals import AdvanceSandbox
from application.memberships.subscribing import (
    CancelMySubscription,
    CancelSubscriptionNow,
    ChangeSubscription,
    ResumeMySubscription,
    Subscribe,
)
from application.memberships.tiers import CreateTier, GetTier, ListTiers, UpdateTier
from application.memberships.views import ListSubscriptions, MembershipView, MySubscription
from application.principal import Principal
from domain.identity.api_keys import Scope
from domain.memberships.subscription import Subscription
from domain.memberships.tier import SubscriptionTier
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.openapi import AUTHENTICATED, MAX_OFFSET, OWNER, PUBLIC, problems
from entrypoints.http.schemas.common import set_fields
from entrypoints.http.schemas.memberships import (
    AdjustBody,
    AdjustedOut,
    AdminSubscriptionOut,
    AdvanceBody,
    AdvanceOut,
    ChangeBody,
    CreditsOut,
    ExpiryOut,
    OfferingRuleOut,
    SubscribeBody,
    SubscribedOut,
    SubscriptionOut,
    TierBody,
    TierOut,
    TierPatch,
    TransactionOut,
)

# The public routes need no account: they show only what anyone may see.
VISITOR = Principal.visitor()


def tier_out(t: SubscriptionTier) -> TierOut:
    return TierOut(
        id=t.id, name=t.name, description=t.description,
        price_monthly=str(t.price_monthly.amount) if t.price_monthly else None,
        price_yearly=str(t.price_yearly.amount) if t.price_yearly else None,
        currency=t.currency, trial_days=t.trial_days, category_access=list(t.category_access),
        full_catalog_access=t.full_catalog_access,
        offering_access_rules=[OfferingRuleOut(access=r.access.value,
                                               offering_type=r.offering_type,
                                               offering_id=r.offering_id,
                                               credit_cost=r.credit_cost)
                               for r in t.offering_access_rules],
        monthly_credits=t.monthly_credits, credit_rollover=t.credit_rollover,
        credit_rollover_cap=t.credit_rollover_cap, active=t.active)


def credits_out(c: CreditSummary) -> CreditsOut:
    return CreditsOut(balance=c.balance, available=c.available,
                      lifetime_earned=c.lifetime_earned, lifetime_spent=c.lifetime_spent,
                      next_expiries=[ExpiryOut(expires_at=when, credits=amount)
                                     for when, amount in c.next_expiries])


def subscription_out(view: MembershipView) -> SubscriptionOut:
    s = view.subscription
    return SubscriptionOut(
        id=s.id, tier_id=s.tier_id, tier_name=view.tier.name, status=s.status.value,
        billing_period=s.billing_period.value, current_period_start=s.current_period_start,
        current_period_end=s.current_period_end, cancel_at_period_end=s.cancel_at_period_end,
        trial_end=s.trial_end, canceled_at=s.canceled_at, grace_until=s.grace_until,
        has_access=view.has_access, renews_at=view.renews_at, ends_at=view.ends_at,
        payment_method=s.payment_method_hint, credits=credits_out(view.credits))


def _tier_fields(data: TierBody | TierPatch) -> dict[str, Any]:
    fields = set_fields(data) if isinstance(data, TierPatch) else {
        name: getattr(data, name) for name in data.__struct_fields__ if name != "currency"}
    if "offering_access_rules" in fields:
        fields["offering_access_rules"] = [
            {key: (str(value) if key == "offering_id" else value)
             for key, value in (("access", rule.access), ("offering_type", rule.offering_type),
                                ("offering_id", rule.offering_id),
                                ("credit_cost", rule.credit_cost)) if value is not None}
            for rule in fields["offering_access_rules"]]
    return fields


class TiersController(Controller):
    path = "/api/v1/tiers"
    tags = ["memberships"]

    @get("/", sync_to_thread=True, responses=PUBLIC)
    def list(self, patronage: App) -> list[TierOut]:
        """The tiers open to new members, cheapest first, with their prices."""
        return [tier_out(t) for t in patronage.handle(ListTiers(actor=VISITOR))]

    @get("/{tier_id:uuid}", sync_to_thread=True, responses=problems(400, 404, 422, 503))
    def get(self, tier_id: FromPath[UUID], patronage: App) -> TierOut:
        """One tier open to new members (owners see the others under /admin/tiers)."""
        return tier_out(patronage.handle(GetTier(actor=VISITOR, tier_id=tier_id)))


class AdminTiersController(Controller):
    path = "/api/v1/admin/tiers"
    tags = ["admin"]
    security = SECURED

    @get("/", sync_to_thread=True, responses=OWNER)
    def list(self, actor: Actor, patronage: App) -> list[TierOut]:
        """Every tier, inactive ones included."""
        return [tier_out(t) for t in patronage.handle(ListTiers(actor=actor,
                                                                include_inactive=True))]

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=OWNER)
    def create(self, data: JSONBody[TierBody], actor: Actor, patronage: App) -> TierOut:
        """Create a tier: a monthly price, a yearly price or both; with Stripe it is
        mirrored as a Product with a Price per period."""
        return tier_out(patronage.handle(CreateTier(actor=actor, fields=_tier_fields(data),
                                                    currency=data.currency)))

    @patch("/{tier_id:uuid}", sync_to_thread=True, responses=OWNER)
    def update(self, tier_id: FromPath[UUID], data: JSONBody[TierPatch], actor: Actor,
               patronage: App) -> TierOut:
        """Edit a tier; all changes apply or none. A new price becomes a new provider
        Price (members keep theirs until they switch). `active: false` stops new
        sign-ups and leaves members alone."""
        return tier_out(patronage.handle(UpdateTier(actor=actor, tier_id=tier_id,
                                                    changes=_tier_fields(data))))

    @post("/{tier_id:uuid}/deactivate", status_code=200, sync_to_thread=True, responses=OWNER)
    def deactivate(self, tier_id: FromPath[UUID], actor: Actor, patronage: App) -> TierOut:
        """Stop new sign-ups to a tier; current members keep their membership."""
        return tier_out(patronage.handle(UpdateTier(actor=actor, tier_id=tier_id,
                                                    changes={"active": False})))


class SubscriptionsController(Controller):
    path = "/api/v1/subscriptions"
    tags = ["memberships"]
    security = SECURED

    @post("/", status_code=HTTP_201_CREATED, sync_to_thread=True,
          responses=problems(400, 401, 402, 403, 404, 409, 422, 503))
    def subscribe(self, data: JSONBody[SubscribeBody], actor: Actor, patronage: App,
                  request: Request[Any, Any, Any]) -> SubscribedOut:
        """Become a member of a tier. With Stripe, returns the first invoice's
        `client_secret` to confirm the payment (the membership starts when Stripe says it
        is paid); a trial starts at once, without a charge. With the sandbox, the result
        is immediate. One membership per customer: another tier is a change
        (`POST /api/v1/me/subscription/change`). Send an `Idempotency-Key` header."""
        result = patronage.handle(Subscribe(
            actor=actor, tier_id=data.tier_id, billing_period=data.billing_period,
            payment_method=data.payment_method,
            idempotency_key=request.headers.get("idempotency-key")))
        return SubscribedOut(subscription_id=result.subscription_id, status=result.status,
                             tier_id=result.tier_id, billing_period=result.billing_period,
                             amount=str(result.amount.amount), currency=result.amount.currency,
                             client_secret=result.client_secret, gateway=result.gateway)


class MyMembershipController(Controller):
    path = "/api/v1/me"
    tags = ["me"]
    security = SECURED

    @get("/subscription", sync_to_thread=True, responses=AUTHENTICATED)
    def subscription(self, actor: Actor, patronage: App) -> SubscriptionOut:
        """Your membership (else your latest one): tier, status, period, when it renews or
        ends, and your credits."""
        return subscription_out(patronage.handle(MySubscription(actor=actor)))

    @post("/subscription/change", status_code=200, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def change(self, data: JSONBody[ChangeBody], actor: Actor, patronage: App
               ) -> SubscriptionOut:
        """Switch to another tier (or billing period); the provider prorates."""
        patronage.handle(ChangeSubscription(actor=actor, tier_id=data.tier_id,
                                            billing_period=data.billing_period))
        return subscription_out(patronage.handle(MySubscription(actor=actor)))

    @post("/subscription/cancel", status_code=200, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def cancel(self, actor: Actor, patronage: App) -> SubscriptionOut:
        """Cancel at the end of the paid period; access continues until then."""
        patronage.handle(CancelMySubscription(actor=actor))
        return subscription_out(patronage.handle(MySubscription(actor=actor)))

    @post("/subscription/resume", status_code=200, sync_to_thread=True,
          responses=problems(400, 401, 403, 404, 409, 422, 503))
    def resume(self, actor: Actor, patronage: App) -> SubscriptionOut:
        """Take back a cancellation before the period ends."""
        patronage.handle(ResumeMySubscription(actor=actor))
        return subscription_out(patronage.handle(MySubscription(actor=actor)))

    @get("/credits", sync_to_thread=True, responses=AUTHENTICATED)
    def credits(self, actor: Actor, patronage: App) -> CreditsOut:
        """Your credit balance and the soonest expiries."""
        return credits_out(patronage.handle(MyCredits(actor=actor)))

    @get("/credits/transactions", sync_to_thread=True, responses=AUTHENTICATED)
    def transactions(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[TransactionOut]:
        """Your credit ledger, newest first."""
        entries = patronage.handle(MyCreditTransactions(actor=actor, limit=limit,
                                                        offset=offset))
        return [TransactionOut(id=e.id, type=e.type.value, amount=e.amount,
                               balance_after=e.balance_after, description=e.description,
                               expires_at=e.expires_at, created_at=e.created_at)
                for e in entries]


def _admin_subscription(s: Subscription) -> AdminSubscriptionOut:
    return AdminSubscriptionOut(id=s.id, customer_id=s.customer_id, tier_id=s.tier_id,
                                status=s.status.value, billing_period=s.billing_period.value,
                                current_period_end=s.current_period_end,
                                cancel_at_period_end=s.cancel_at_period_end,
                                provider_id=s.provider_id, created_at=s.created_at)


class AdminMembershipsController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    security = SECURED

    @get("/subscriptions", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.MEMBERS_READ))
    def subscriptions(
        self, actor: Actor, patronage: App,
        status: FromQuery[Annotated[str | None, Parameter(
            pattern="^(incomplete|trialing|active|past_due|canceled)$")]] = None,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[AdminSubscriptionOut]:
        """Every subscription, newest first, optionally of one status."""
        found = patronage.handle(ListSubscriptions(actor=actor, status=status, limit=limit,
                                                   offset=offset))
        return [_admin_subscription(s) for s in found]

    @post("/subscriptions/{subscription_id:uuid}/cancel", status_code=200,
          sync_to_thread=True, responses=OWNER)
    def cancel(self, subscription_id: FromPath[UUID], actor: Actor, patronage: App
               ) -> AdminSubscriptionOut:
        """End a membership now (access stops at once; no refund is made)."""
        return _admin_subscription(patronage.handle(CancelSubscriptionNow(
            actor=actor, subscription_id=subscription_id)))

    @post("/credits/adjust", status_code=200, sync_to_thread=True, responses=OWNER)
    def adjust(self, data: JSONBody[AdjustBody], actor: Actor, patronage: App) -> AdjustedOut:
        """Add or take credits, always with a reason (kept on the ledger with who did it).
        Name the customer by `user_id` or `email`."""
        result = patronage.handle(AdjustCredits(
            actor=actor, amount=data.amount, reason=data.reason, user_id=data.user_id,
            email=data.email, expires_at=data.expires_at))
        return AdjustedOut(transaction_id=result.entry_id, credits=credits_out(result.summary))

    @post("/sandbox/advance", status_code=200, sync_to_thread=True, responses=OWNER)
    def advance(self, data: JSONBody[AdvanceBody], actor: Actor, patronage: App
                ) -> AdvanceOut:
        """Sandbox only: move the platform's clock forward `days` days and bill what fell
        due (renewals, failed renewals, cancellations at period end, credits, and the
        installments of bookings paid monthly)."""
        report = patronage.handle(AdvanceSandbox(actor=actor, days=data.days))
        plans = report.installments
        return AdvanceOut(now=report.now, renewed=report.renewed, failed=report.failed,
                          ended=report.ended, credits_expired=report.credits_expired,
                          installments_paid=plans.paid if plans else 0,
                          installments_declined=plans.declined if plans else 0)
