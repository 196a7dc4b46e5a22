"""``patronage tiers``, ``subscriptions``, ``credits`` and ``sandbox``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from application.credits.adjusting import AdjustCredits
from application.credits.audit import AuditCredits
from application.credits.packs import CreateCreditPack, ListCreditPacks, UpdateCreditPack
from application.credits.schedule import RunCreditSchedule
from application.memberships.renewals import AdvanceSandbox
from application.memberships.subscribing import CancelSubscriptionNow
from application.memberships.tiers import CreateTier, ListTiers, SyncTiers, UpdateTier
from application.memberships.views import ListSubscriptions
from application.notifications.credit_warnings import WarnExpiringCredits
from application.principal import Principal
from domain.credits.packs import CreditPack
from domain.errors import ValidationError
from domain.memberships.tier import SubscriptionTier
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

tiers_app = typer.Typer(help="Membership tiers and their mirror at Stripe.",
                        no_args_is_help=True)
subscriptions_app = typer.Typer(help="Members' subscriptions.", no_args_is_help=True)
credits_app = typer.Typer(help="The credit ledger and the credit packs sold.",
                          no_args_is_help=True)
packs_app = typer.Typer(help="Credit packs: credits sold for money.", no_args_is_help=True)
credits_app.add_typer(packs_app, name="packs")
sandbox_app = typer.Typer(help="The sandbox payment gateway's clock.", no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()


def _price(tier: SubscriptionTier) -> str:
    parts = [f"{tier.price_monthly}/month" if tier.price_monthly else "",
             f"{tier.price_yearly}/year" if tier.price_yearly else ""]
    return ", ".join(p for p in parts if p)


@tiers_app.command("list")
@cli_errors
def list_tiers() -> None:
    """Every tier, inactive ones included."""
    table = Table("id", "name", "price", "credits/month", "active")
    for tier in run(ListTiers(actor=SYSTEM, include_inactive=True)):
        table.add_row(str(tier.id), tier.name, _price(tier), str(tier.monthly_credits),
                      "yes" if tier.active else "no")
    console.print(table)


def _rules(text: str | None) -> list[Any] | None:
    if text is None:
        return None
    try:
        rules = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError("--rules takes a JSON list, e.g. "
                              '\'[{"offering_type": "retreat", "access": "credits"}]\'.',
                              code="tier.rules", field="offering_access_rules") from exc
    if not isinstance(rules, list):
        raise ValidationError("--rules takes a JSON list.", code="tier.rules",
                              field="offering_access_rules")
    return rules


def _fields(**options: Any) -> dict[str, Any]:
    fields = {name: value for name, value in options.items() if value is not None}
    if "category_access" in fields:
        fields["category_access"] = [c.strip() for c in fields["category_access"].split(",")
                                     if c.strip()]
    if "offering_access_rules" in fields:
        fields["offering_access_rules"] = _rules(fields["offering_access_rules"])
    return fields


@tiers_app.command("create")
@cli_errors
def create_tier(
    name: Annotated[str, typer.Option(help="The tier's name.")],
    monthly: Annotated[str | None, typer.Option(help="Monthly price, e.g. 12.00.")] = None,
    yearly: Annotated[str | None, typer.Option(help="Yearly price, e.g. 120.00.")] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "usd",
    description: Annotated[str | None, typer.Option()] = None,
    trial_days: Annotated[int, typer.Option(min=0, max=730)] = 0,
    categories: Annotated[str | None, typer.Option(
        help="Comma-separated categories the tier opens.")] = None,
    full_catalog: Annotated[bool, typer.Option(help="Open every item.")] = False,
    monthly_credits: Annotated[int, typer.Option(min=0)] = 0,
    rollover: Annotated[bool, typer.Option(help="Unspent credits carry over.")] = False,
    rollover_cap: Annotated[int | None, typer.Option(min=0)] = None,
    rules: Annotated[str | None, typer.Option(help="offering_access_rules as JSON.")] = None,
) -> None:
    """Create a tier (a monthly price, a yearly price or both)."""
    tier = run(CreateTier(actor=SYSTEM, currency=currency, fields=_fields(
        name=name, price_monthly=monthly, price_yearly=yearly, description=description,
        trial_days=trial_days, category_access=categories, full_catalog_access=full_catalog,
        monthly_credits=monthly_credits, credit_rollover=rollover,
        credit_rollover_cap=rollover_cap, offering_access_rules=rules)))
    console.print(f"tier {tier.id}: {tier.name} ({_price(tier)})", highlight=False)


@tiers_app.command("update")
@cli_errors
def update_tier(
    tier_id: Annotated[UUID, typer.Argument(help="The tier's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    monthly: Annotated[str | None, typer.Option(help="New monthly price.")] = None,
    yearly: Annotated[str | None, typer.Option(help="New yearly price.")] = None,
    description: Annotated[str | None, typer.Option()] = None,
    trial_days: Annotated[int | None, typer.Option(min=0, max=730)] = None,
    categories: Annotated[str | None, typer.Option(help="Comma-separated.")] = None,
    monthly_credits: Annotated[int | None, typer.Option(min=0)] = None,
    rules: Annotated[str | None, typer.Option(help="offering_access_rules as JSON.")] = None,
) -> None:
    """Change a tier; a new price becomes a new Stripe Price (the old one archived)."""
    tier = run(UpdateTier(actor=SYSTEM, tier_id=tier_id, changes=_fields(
        name=name, price_monthly=monthly, price_yearly=yearly, description=description,
        trial_days=trial_days, category_access=categories, monthly_credits=monthly_credits,
        offering_access_rules=rules)))
    console.print(f"tier {tier.id}: {tier.name} ({_price(tier)})", highlight=False)


@tiers_app.command("deactivate")
@cli_errors
def deactivate_tier(tier_id: Annotated[UUID, typer.Argument(help="The tier's id.")]) -> None:
    """Stop new sign-ups; current members keep their membership."""
    tier = run(UpdateTier(actor=SYSTEM, tier_id=tier_id, changes={"active": False}))
    console.print(f"tier {tier.id}: {tier.name} takes no new members", highlight=False)


@tiers_app.command("sync")
@cli_errors
def sync_tiers(
    apply: Annotated[bool, typer.Option(help="Change Stripe to match.")] = False,
) -> None:
    """Compare every tier with its Stripe Product and Prices; report drift, and with
    --apply create what is missing and replace what differs."""
    reports = run(SyncTiers(actor=SYSTEM, apply=apply))
    drifted = False
    for report in reports:
        for line in report.drift:
            drifted = True
            console.print(f"{report.name}: drift: {line}", highlight=False)
        for line in report.changed:
            console.print(f"{report.name}: {line}", highlight=False)
        if not report.drift:
            console.print(f"{report.name}: in sync", highlight=False)
    if drifted and not apply:
        console.print("run again with --apply to make Stripe match", highlight=False)


@subscriptions_app.command("list")
@cli_errors
def list_subscriptions(
    status: Annotated[str | None, typer.Option(help="Only this status.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
) -> None:
    """Subscriptions, newest first."""
    table = Table("id", "customer", "status", "period", "ends", "cancels")
    for s in run(ListSubscriptions(actor=SYSTEM, status=status, limit=limit)):
        table.add_row(str(s.id), str(s.customer_id), s.status.value, s.billing_period.value,
                      s.current_period_end.isoformat(timespec="minutes"),
                      "at period end" if s.cancel_at_period_end else "")
    console.print(table)


@subscriptions_app.command("cancel")
@cli_errors
def cancel_subscription(
    subscription_id: Annotated[UUID, typer.Argument(help="The subscription's id.")],
) -> None:
    """End a membership now (access stops at once; no refund is made)."""
    s = run(CancelSubscriptionNow(actor=SYSTEM, subscription_id=subscription_id))
    console.print(f"subscription {s.id}: {s.status.value}", highlight=False)


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("--expires takes an ISO 8601 time with a zone.",
                              code="credits.expiry", field="expires_at") from exc
    if moment.tzinfo is None:
        raise ValidationError("--expires needs a time zone (e.g. +00:00).",
                              code="credits.expiry", field="expires_at")
    return moment


@credits_app.command("adjust")
@cli_errors
def adjust(
    user: Annotated[str, typer.Option(help="The customer's email.")],
    amount: Annotated[int, typer.Option(help="Credits to add (or, negative, to take).")],
    reason: Annotated[str, typer.Option(help="Why; kept on the ledger.")],
    expires: Annotated[str | None, typer.Option(help="ISO 8601 expiry of added credits.")
                       ] = None,
) -> None:
    """Add or take a customer's credits, with a reason."""
    result = run(AdjustCredits(actor=SYSTEM, email=user, amount=amount, reason=reason,
                               expires_at=_expiry(expires)))
    console.print(f"{user}: {amount:+d} credits, balance {result.summary.balance}",
                  highlight=False)


@credits_app.command("expire")
@cli_errors
def expire() -> None:
    """Write off expired credits, grant monthly credits that fell due (yearly members), and
    tell holders of credits that expire within a week (once each). Safe to run at any
    time; the worker runs it too."""
    report = run(RunCreditSchedule(actor=SYSTEM))
    warned = run(WarnExpiringCredits(actor=SYSTEM))
    console.print(f"granted {report.granted}, expired {report.expired} credits "
                  f"({report.customers} customers); {warned} told of credits expiring "
                  "within a week", highlight=False)


@credits_app.command("audit")
@cli_errors
def audit() -> None:
    """Prove every customer's balance equals their ledger and every allocation adds up;
    exits 1 naming the customers whose ledger does not."""
    report = run(AuditCredits(actor=SYSTEM))
    for problem in report.problems:
        for line in problem.problems:
            console.print(f"customer {problem.customer_id}: {line}", highlight=False)
    console.print(f"{report.customers} ledgers checked, {len(report.problems)} inconsistent",
                  highlight=False)
    if not report.clean:
        raise typer.Exit(1)


def _validity(pack: CreditPack) -> str:
    return f"{pack.valid_days} days" if pack.valid_days else "never expire"


@packs_app.command("list")
@cli_errors
def list_packs() -> None:
    """Every credit pack, those no longer sold included."""
    table = Table("id", "name", "price", "credits", "valid", "on sale")
    for pack in run(ListCreditPacks(actor=SYSTEM, include_inactive=True)):
        table.add_row(str(pack.id), pack.name, str(pack.price), str(pack.credits),
                      _validity(pack), "yes" if pack.active else "no")
    console.print(table)


@packs_app.command("create")
@cli_errors
def create_pack(
    name: Annotated[str, typer.Option(help="The pack's name, e.g. \"Ten classes\".")],
    price: Annotated[str, typer.Option(help="Price, e.g. 120.00.")],
    credits: Annotated[int, typer.Option(min=1, max=10_000, help="Credits it grants.")],
    valid_days: Annotated[int | None, typer.Option(
        min=1, max=3650, help="Days the credits last from the payment (default: ever).")
    ] = None,
    currency: Annotated[str, typer.Option(help="ISO 4217 code.")] = "usd",
    description: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Put a credit pack on sale."""
    pack = run(CreateCreditPack(actor=SYSTEM, currency=currency, fields=_fields(
        name=name, price=price, credits=credits, valid_days=valid_days,
        description=description)))
    console.print(f"credit pack {pack.id}: {pack.name}, {pack.credits} credits for "
                  f"{pack.price} ({_validity(pack)})", highlight=False)


@packs_app.command("update")
@cli_errors
def update_pack(
    pack_id: Annotated[UUID, typer.Argument(help="The pack's id.")],
    name: Annotated[str | None, typer.Option()] = None,
    price: Annotated[str | None, typer.Option(help="New price.")] = None,
    credits: Annotated[int | None, typer.Option(min=1, max=10_000)] = None,
    valid_days: Annotated[int | None, typer.Option(min=1, max=3650)] = None,
    description: Annotated[str | None, typer.Option()] = None,
    on_sale: Annotated[bool | None, typer.Option(
        "--on-sale/--off-sale", help="Sell it, or stop selling it.")] = None,
) -> None:
    """Change a pack; purchases already started get what they were shown."""
    pack = run(UpdateCreditPack(actor=SYSTEM, pack_id=pack_id, changes=_fields(
        name=name, price=price, credits=credits, valid_days=valid_days,
        description=description, active=on_sale)))
    console.print(f"credit pack {pack.id}: {pack.name}, {pack.credits} credits for "
                  f"{pack.price} ({_validity(pack)}), "
                  f"{'on sale' if pack.active else 'not sold'}", highlight=False)


@sandbox_app.command("advance")
@cli_errors
def advance(days: Annotated[int, typer.Option(min=1, max=3660, help="Days to move.")]) -> None:
    """Move the sandbox's clock forward and bill what fell due: renewals (charging the
    saved test card), failed renewals, cancellations at period end, credits, and the
    installments of bookings paid monthly."""
    report = run(AdvanceSandbox(actor=SYSTEM, days=days))
    expired = report.credits_expired
    plans = report.installments
    console.print(f"now {report.now.isoformat(timespec='minutes')}: renewed {report.renewed}, "
                  f"failed {report.failed}, ended {report.ended}; {expired} credits expired; "
                  f"installments paid {plans.paid if plans else 0}, "
                  f"declined {plans.declined if plans else 0}",
                  highlight=False)
