"""``patronage offerings`` and ``patronage bookings``."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal
from uuid import UUID

import typer
from rich.console import Console
from rich.table import Table

from application.offerings.authoring import ChangeOfferingStatus, ListStudioOfferings
from application.offerings.booking import CancelBooking
from application.offerings.session_moves import MoveSession
from application.offerings.views import MarkBooking, OfferingBookings
from application.principal import Principal
from entrypoints.cli.errors import cli_errors
from entrypoints.cli.running import run

offerings_app = typer.Typer(help="Events, classes, sessions, courses and retreats.",
                            no_args_is_help=True)
bookings_app = typer.Typer(help="Bookings of offerings.", no_args_is_help=True)
console = Console(soft_wrap=True)
SYSTEM = Principal.system()


@offerings_app.command("list")
@cli_errors
def list_offerings(limit: Annotated[int, typer.Option(min=1, max=1000)] = 100) -> None:
    """Every offering, drafts included, newest first."""
    table = Table("id", "slug", "type", "status", "bookings")
    for o in run(ListStudioOfferings(actor=SYSTEM, limit=limit)):
        table.add_row(str(o.id), o.slug.value, o.offering_type.value, o.status.value,
                      str(o.booking_count))
    console.print(table)


@offerings_app.command("status")
@cli_errors
def change_status(
    offering_id: Annotated[UUID, typer.Argument(help="The offering's id.")],
    to: Annotated[Literal["publish", "unpublish", "archive", "delete"],
                  typer.Argument(help="publish, unpublish, archive or delete.")],
) -> None:
    """Publish, unpublish, archive or (softly) delete an offering."""
    offering = run(ChangeOfferingStatus(actor=SYSTEM, offering_id=offering_id, to=to))
    state = "deleted" if offering.deleted_at else offering.status.value
    console.print(f"{offering.slug.value}: {state}", highlight=False)


@bookings_app.command("list")
@cli_errors
def list_bookings(
    offering_id: Annotated[UUID, typer.Option("--offering", help="The offering's id.")],
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 200,
) -> None:
    """An offering's bookings, by session time."""
    table = Table("id", "customer", "status", "paid with", "starts")
    for b in run(OfferingBookings(actor=SYSTEM, offering_id=offering_id, limit=limit)):
        table.add_row(str(b.id), str(b.customer_id), b.status.value, b.paid_with.value,
                      b.starts_at.isoformat(timespec="minutes"))
    console.print(table)


@bookings_app.command("mark")
@cli_errors
def mark(
    booking_id: Annotated[UUID, typer.Argument(help="The booking's id.")],
    status: Annotated[Literal["completed", "no_show"], typer.Option(
        help="completed or no_show.")],
) -> None:
    """Mark a confirmed booking completed or no_show."""
    booking = run(MarkBooking(actor=SYSTEM, booking_id=booking_id, status=status))
    console.print(f"booking {booking.id}: {booking.status.value}", highlight=False)


@bookings_app.command("cancel")
@cli_errors
def cancel(
    booking_id: Annotated[UUID, typer.Argument(help="The booking's id.")],
    reason: Annotated[str, typer.Option(help="Why; kept on the booking and emailed.")],
) -> None:
    """Cancel a booking as the host: always a full refund (money or credits back)."""
    result = run(CancelBooking(actor=SYSTEM, booking_id=booking_id, reason=reason))
    back = f"{result.refunded} refunded" if result.refunded else \
        f"{result.credits_returned} credits returned"
    console.print(f"booking {result.view.booking.id}: canceled, {back}", highlight=False)


def _instant(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise typer.BadParameter("an ISO 8601 time with its offset, e.g. "
                                 "2027-01-12T17:00:00+00:00") from None
    if moment.tzinfo is None:
        raise typer.BadParameter("give the time's offset (or Z), e.g. 2027-01-12T17:00:00Z")
    return moment


@bookings_app.command("move-session")
@cli_errors
def move_session(
    offering_id: Annotated[UUID, typer.Option("--offering", help="The offering's id.")],
    from_: Annotated[datetime, typer.Option(
        "--from", parser=_instant, help="When the session whose bookings move starts.")],
    to: Annotated[datetime, typer.Option(
        parser=_instant, help="When the session (or free slot) they move to starts.")],
) -> None:
    """Move every confirmed booking of one session to another, all or nothing; each
    customer is emailed the new time and keeps their payment."""
    moved = run(MoveSession(actor=SYSTEM, offering_id=offering_id, starts_at=from_, to=to))
    console.print(f"moved {len(moved)} booking(s) to {to.isoformat(timespec='minutes')}",
                  highlight=False)
