"""``patronage media-owners`` and ``patronage earnings``."""

from __future__ import annotations

import csv
import sys
from collections.abc import Sequence
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from application.payouts.earnings import GetEarnings, csv_rows, month_range
from application.payouts.invitations import InviteMediaOwner, ListInvitations
from application.ports.payouts import EarningsLine
from application.principal import Principal
from domain.errors import ValidationError
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

media_owners_app = typer.Typer(help="Invite creators who sell on the platform.",
                               no_args_is_help=True)
earnings_app = typer.Typer(help="What creators earned, and the platform's fees.",
                           no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()
COLUMNS = ("currency", "gross", "refunds", "platform_fee", "net", "sales")


@media_owners_app.command("invite")
@cli_errors
def invite(email: Annotated[str, typer.Argument(help="The address to invite.")]) -> None:
    """Email an invitation to sell on the platform (again: a fresh link)."""
    view = run(InviteMediaOwner(actor=SYSTEM, email=email))
    console.print(f"invitation {view.id} sent to {view.email}", highlight=False)


@media_owners_app.command("invitations")
@cli_errors
def invitations(limit: Annotated[int, typer.Option(min=1, max=200)] = 50) -> None:
    """List invitations, newest first."""
    table = Table("email", "status", "expires", "accepted", "id")
    for v in run(ListInvitations(actor=SYSTEM, limit=limit)):
        table.add_row(v.email, v.status, v.expires_at.isoformat() if v.expires_at else "",
                      v.accepted_at.isoformat() if v.accepted_at else "", str(v.id))
    console.print(table)


def _table(title: str, first: str, lines: Sequence[EarningsLine]) -> Table:
    table = Table(first, *COLUMNS, title=title, title_justify="left")
    for x in lines:
        table.add_row(x.label, x.currency, str(x.gross), str(x.refunds), str(x.platform_fee),
                      str(x.net), str(x.sales))
    return table


@earnings_app.command("report")
@cli_errors
def report(
    month: Annotated[str, typer.Option(help="The calendar month (UTC), e.g. 2026-11.")],
    seller: Annotated[str | None, typer.Option(
        help="Only this creator's sales (their email).")] = None,
    output: Annotated[str, typer.Option(
        "--format", help="table (default) or csv (to standard output).")] = "table",
) -> None:
    """Gross sales, refunds, the platform's fee and creators' net for a month, in total,
    by creator and by item. Fee + net == gross - refunds on every line."""
    if output not in ("table", "csv"):
        raise ValidationError("--format is table or csv.", code="cli.format", field="format")
    start, end = month_range(month)
    result = run(GetEarnings(actor=SYSTEM, start=start, end=end, everyone=True,
                             seller_email=seller))
    if output == "csv":
        csv.writer(sys.stdout).writerows(csv_rows(result))
        return
    if not result.totals:
        console.print(f"No sales or refunds in {month}.", highlight=False)
        return
    console.print(_table(f"Earnings {start} to {end}", "", result.totals))
    console.print(_table("By creator", "creator", result.by_seller))
    console.print(_table("By item", "item", result.by_item))
