"""Media owners over HTTP: invitations (/admin/media-owners, /media-owners/accept),
payout onboarding and payouts (/studio/payouts), and earnings (/studio/earnings,
/admin/earnings), each as JSON or CSV."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter
from litestar.status_codes import HTTP_201_CREATED

from application.identity.sessions import Authenticate
from application.payouts.accounts import (
    GetPayoutAccount,
    ListMediaOwners,
    PayoutAccountView,
    StartPayoutOnboarding,
)
from application.payouts.earnings import (
    EarningsReport,
    GetEarnings,
    ListPayouts,
    PayoutsView,
    csv_rows,
)
from application.payouts.invitations import (
    AcceptInvitation,
    InvitationView,
    InviteMediaOwner,
    ListInvitations,
)
from application.ports.payouts import EarningsLine
from domain.identity.api_keys import Scope
from entrypoints.http.auth import SECURED
from entrypoints.http.dependencies import Actor, App, optional_token, takes_key
from entrypoints.http.me import user_out
from entrypoints.http.openapi import AUTHENTICATED, MAX_OFFSET, OWNER, problems
from entrypoints.http.schemas.identity import UserOut
from entrypoints.http.schemas.payouts import (
    AcceptBody,
    EarningsLineOut,
    EarningsOut,
    InvitationOut,
    InviteBody,
    MediaOwnerOut,
    PayoutAccountOut,
    PayoutOut,
    PayoutsOut,
)

OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {"BearerToken": []}]
From = Annotated[date | None, QueryParameter(name="from", description=(
    "First day (inclusive, UTC); default: the first day of the month eleven months ago"))]
To = Annotated[date | None, QueryParameter(name="to", description=(
    "Last day (inclusive, UTC); default: today"))]
NO_STORE = {"Cache-Control": "private, no-store"}


def invitation_out(v: InvitationView) -> InvitationOut:
    return InvitationOut(id=v.id, email=v.email, status=v.status, expires_at=v.expires_at,
                         accepted_at=v.accepted_at, created_at=v.created_at)


def account_out(v: PayoutAccountView) -> PayoutAccountOut:
    return PayoutAccountOut(
        state=v.state, account_id=v.account_id, charges_enabled=v.charges_enabled,
        payouts_enabled=v.payouts_enabled, details_submitted=v.details_submitted,
        requirements_due=list(v.requirements_due), disabled_reason=v.disabled_reason,
        status_as_of=v.status_as_of, platform_fee_percent=str(v.platform_fee_percent),
        onboarding_url=v.onboarding_url)


def payouts_out(v: PayoutsView) -> PayoutsOut:
    return PayoutsOut(payouts=[PayoutOut(id=p.id, amount=str(p.amount.amount),
                                         currency=p.amount.currency, status=p.status,
                                         arrival_date=p.arrival_date, created=p.created)
                               for p in v.payouts],
                      fetched_at=v.fetched_at, stale=v.stale)


def _line(line: EarningsLine) -> EarningsLineOut:
    return EarningsLineOut(key=line.key, label=line.label, currency=line.currency,
                           gross=str(line.gross), refunds=str(line.refunds),
                           platform_fee=str(line.platform_fee), net=str(line.net),
                           sales=line.sales, kind=line.kind or None)


def earnings_out(report: EarningsReport, everyone: bool) -> EarningsOut:
    return EarningsOut(start=report.start, end=report.end,
                       totals=[_line(x) for x in report.totals],
                       by_month=[_line(x) for x in report.by_month],
                       by_item=[_line(x) for x in report.by_item],
                       by_seller=[_line(x) for x in report.by_seller] if everyone else None)


def earnings_csv(report: EarningsReport, filename: str) -> Response[bytes]:
    out = io.StringIO()
    csv.writer(out).writerows(csv_rows(report))
    name = f"{filename}-{report.start.isoformat()}-{report.end.isoformat()}.csv"
    return Response(out.getvalue().encode(), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             **NO_STORE})


class AdminMediaOwnersController(Controller):
    path = "/api/v1/admin/media-owners"
    tags = ["media owners"]
    security = SECURED

    @post("/invite", status_code=HTTP_201_CREATED, sync_to_thread=True, responses=OWNER)
    def invite(self, data: JSONBody[InviteBody], actor: Actor, patronage: App
               ) -> InvitationOut:
        """Email an invitation to sell on the platform (owners only). Inviting the same
        address again sends a fresh link (the old one stops working); an address that is
        already a media owner's or staff's is refused (409)."""
        return invitation_out(patronage.handle(InviteMediaOwner(actor=actor,
                                                                email=data.email)))

    @get("/", sync_to_thread=True, responses=OWNER, opt=takes_key(Scope.MEMBERS_READ))
    def media_owners(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[MediaOwnerOut]:
        """Media owners and the state of their payouts: `enabled` ones can sell."""
        return [MediaOwnerOut(user_id=v.user_id, email=v.email, full_name=v.full_name,
                              joined_at=v.joined_at, payouts=account_out(v.payouts))
                for v in patronage.handle(ListMediaOwners(actor=actor, limit=limit,
                                                          offset=offset))]

    @get("/invitations", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.MEMBERS_READ))
    def invitations(
        self, actor: Actor, patronage: App,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[InvitationOut]:
        """Invitations, newest first: pending, expired or accepted."""
        return [invitation_out(v) for v in patronage.handle(
            ListInvitations(actor=actor, limit=limit, offset=offset))]

    @get("/{user_id:uuid}/payouts", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.ANALYTICS_READ))
    def payouts(self, user_id: FromPath[UUID], actor: Actor, patronage: App) -> PayoutsOut:
        """A media owner's payouts, as their studio shows them."""
        return payouts_out(patronage.handle(ListPayouts(actor=actor, user_id=user_id)))


class MediaOwnerInvitationsController(Controller):
    path = "/api/v1/media-owners"
    tags = ["media owners"]

    @post("/accept", status_code=200, sync_to_thread=True, security=OPTIONAL_AUTH,
          responses=problems(400, 401, 403, 409, 422, 429, 503))
    def accept(self, data: JSONBody[AcceptBody], patronage: App,
               request: Request[Any, Any, Any]) -> UserOut:
        """Accept an invitation with the emailed token. If the invited address has an
        account, sign in as it first (403 invitation.sign_in otherwise) and it becomes a
        media owner's; if not, send `full_name` and `password` to create one (verified:
        the link proved the address), then sign in."""
        token = optional_token(request)
        actor = patronage.handle(Authenticate(token)) if token else None
        return user_out(patronage.handle(AcceptInvitation(
            token=data.token, actor=actor, full_name=data.full_name, password=data.password)))


class StudioPayoutsController(Controller):
    path = "/api/v1/studio"
    tags = ["studio"]
    security = SECURED

    @get("/payouts/account", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.ANALYTICS_READ))
    def account(self, actor: Actor, patronage: App) -> PayoutAccountOut:
        """Your payout account: its state, and what the provider still needs. Your items
        are for sale once it is `enabled`."""
        return account_out(patronage.handle(GetPayoutAccount(actor=actor)))

    @post("/payouts/onboarding", status_code=200, sync_to_thread=True, responses=OWNER)
    def onboarding(self, actor: Actor, patronage: App) -> PayoutAccountOut:
        """Start or continue payout onboarding: your connected account (made once) and
        an `onboarding_url` to open (single use; ask again for a new one)."""
        return account_out(patronage.handle(StartPayoutOnboarding(actor=actor)))

    @get("/payouts", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.ANALYTICS_READ))
    def payouts(self, actor: Actor, patronage: App) -> PayoutsOut:
        """Your payouts from the provider, newest first (refreshed every few minutes;
        `stale` when the provider could not be reached)."""
        return payouts_out(patronage.handle(ListPayouts(actor=actor)))

    @get("/earnings", sync_to_thread=True, responses=AUTHENTICATED,
         opt=takes_key(Scope.ANALYTICS_READ))
    def earnings(self, actor: Actor, patronage: App, start: From = None, end: To = None
                 ) -> Response[EarningsOut]:
        """Your sales: gross, refunds, the platform's fee and your net, in total, by
        month (UTC) and by item. `platform_fee + net == gross - refunds` on every line."""
        report = patronage.handle(GetEarnings(actor=actor, start=start, end=end))
        return Response(earnings_out(report, everyone=False), headers=NO_STORE)

    @get("/earnings.csv", sync_to_thread=True, responses=AUTHENTICATED, media_type="text/csv",
         opt=takes_key(Scope.ANALYTICS_READ))
    def earnings_csv(self, actor: Actor, patronage: App, start: From = None, end: To = None
                     ) -> Response[bytes]:
        """The same as CSV (one row per line, `section` says which table)."""
        report = patronage.handle(GetEarnings(actor=actor, start=start, end=end))
        return earnings_csv(report, "earnings")


class AdminEarningsController(Controller):
    path = "/api/v1/admin"
    tags = ["admin"]
    security = SECURED
    opt = takes_key(Scope.ANALYTICS_READ)

    @get("/earnings", sync_to_thread=True, responses=OWNER)
    def earnings(self, actor: Actor, patronage: App, start: From = None, end: To = None,
                 seller_id: FromQuery[UUID | None] = None) -> Response[EarningsOut]:
        """Every creator's sales (or one's, with `seller_id`): totals, by month, by item
        and by seller."""
        report = patronage.handle(GetEarnings(actor=actor, start=start, end=end,
                                              everyone=True, seller_id=seller_id))
        return Response(earnings_out(report, everyone=True), headers=NO_STORE)

    @get("/earnings.csv", sync_to_thread=True, responses=OWNER, media_type="text/csv")
    def earnings_csv(self, actor: Actor, patronage: App, start: From = None, end: To = None,
                     seller_id: FromQuery[UUID | None] = None) -> Response[bytes]:
        """The same as CSV."""
        report = patronage.handle(GetEarnings(actor=actor, start=start, end=end,
                                              everyone=True, seller_id=seller_id))
        return earnings_csv(report, "platform-earnings")
