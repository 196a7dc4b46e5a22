"""``patronage purchases`` and the grant commands of ``patronage access``."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated
from uuid import UUID

import typer
from rich.console import Console

from application.commerce.grants import GrantAccess, RevokeAccess
from application.commerce.refunds import RefundPurchase
from application.principal import Principal
from domain.errors import ValidationError
from entrypoints.cli.catalog import access_app
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

purchases_app = typer.Typer(help="Purchases and refunds.", no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()


@purchases_app.command("refund")
@cli_errors
def refund(
    purchase_id: Annotated[UUID, typer.Argument(help="The purchase's id.")],
    reason: Annotated[str, typer.Option(help="Why; kept on the purchase.")],
    amount: Annotated[str | None, typer.Option(help="Part of the amount; default all.")] = None,
) -> None:
    """Refund a completed purchase through the payment gateway."""
    try:
        value = Decimal(amount) if amount is not None else None
    except InvalidOperation as exc:
        raise ValidationError("amount must be a decimal number like 4.50.",
                              code="refund.amount", field="amount") from exc
    result = run(RefundPurchase(actor=SYSTEM, purchase_id=purchase_id,
                                             reason=reason, amount=value))
    console.print(f"refund {result.refund_id}: {result.amount} ({result.status})",
                  highlight=False)


def _expiry(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValidationError("--expires takes an ISO 8601 time with a zone, "
                              "e.g. 2027-01-31T23:59:00+00:00.", code="grant.expiry") from exc
    if moment.tzinfo is None:
        raise ValidationError("--expires needs a time zone (e.g. +00:00).", code="grant.expiry")
    return moment


@access_app.command("grant")
@cli_errors
def grant(
    user: Annotated[str, typer.Option(help="The account's email.")],
    content: Annotated[str, typer.Option(help="The item's slug.")],
    expires: Annotated[str | None, typer.Option(help="ISO 8601 end of access.")] = None,
    preview: Annotated[bool, typer.Option(help="A preview grant, not complimentary.")] = False,
) -> None:
    """Give USER complimentary access to CONTENT."""
    result = run(GrantAccess(
        actor=SYSTEM, email=user, slug=content, expires_at=_expiry(expires),
        access_type="preview" if preview else "complimentary"))
    until = f" until {result.expires_at.isoformat()}" if result.expires_at else ""
    console.print(f"{result.access_type} access to {content} for {user}{until}",
                  highlight=False)


@access_app.command("revoke")
@cli_errors
def revoke(
    user: Annotated[str, typer.Option(help="The account's email.")],
    content: Annotated[str, typer.Option(help="The item's slug.")],
    preview: Annotated[bool, typer.Option(help="Revoke a preview grant.")] = False,
) -> None:
    """Remove a complimentary (or preview) grant; purchases keep their own access."""
    run(RevokeAccess(
        actor=SYSTEM, email=user, slug=content,
        access_type="preview" if preview else "complimentary"))
    console.print(f"revoked access to {content} for {user}", highlight=False)
