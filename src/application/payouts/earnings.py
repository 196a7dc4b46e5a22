"""Reading earnings (a creator's own, or everyone's) and a media owner's payouts."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from uuid import UUID

import attrs

from application.messagebus import Query
from application.ports.payments import GatewayUnavailable
from application.ports.payouts import EarningsLine, Grouping, PayoutRecord
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.identity.roles import Role
from domain.values import FIRST_DAY, LAST_DAY, Email, spreadsheet_text

log = logging.getLogger("patronage.payouts")
MAX_DAYS = 5 * 366
# Payouts change a few times a week; a dashboard read within this reuses the last answer.
PAYOUTS_FRESH = timedelta(minutes=5)
PAYOUTS_LIMIT = 50


@attrs.frozen
class EarningsReport:
    start: date  # inclusive
    end: date  # inclusive
    totals: Sequence[EarningsLine]  # one per currency
    by_month: Sequence[EarningsLine]
    by_item: Sequence[EarningsLine]
    by_seller: Sequence[EarningsLine] = ()  # across creators only


def month_range(month: str) -> tuple[date, date]:
    """'2026-11' -> (2026-11-01, 2026-11-30)."""
    try:
        first = datetime.strptime(month, "%Y-%m").date()
    except ValueError:
        raise ValidationError("A month is written YYYY-MM, e.g. 2026-11.",
                              code="earnings.month", field="month") from None
    if not FIRST_DAY <= first <= LAST_DAY:
        raise ValidationError(f"Months run from {FIRST_DAY:%Y-%m} to {LAST_DAY:%Y-%m}.",
                              code="earnings.month", field="month")
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, following - timedelta(days=1)


def _range(services: Services, start: date | None, end: date | None) -> tuple[date, date]:
    for day in (start, end):
        if day is not None and not FIRST_DAY <= day <= LAST_DAY:
            raise ValidationError(f"Days run from {FIRST_DAY} to {LAST_DAY}.",
                                  code="earnings.range",
                                  field="from" if day is start else "to")
    today = services.clock.now().astimezone(UTC).date()
    end = end or today
    # By default the last twelve calendar months, this one included.
    start = start or (end.replace(day=1) - timedelta(days=335)).replace(day=1)
    if start > end or (end - start).days > MAX_DAYS:
        raise ValidationError("`from` must not be after `to`, and at most five years apart.",
                              code="earnings.range", field="from")
    return start, end


@attrs.frozen
class GetEarnings(Query):
    actor: Principal
    start: date | None = None
    end: date | None = None
    # Across creators (owners only); seller narrows it to one creator.
    everyone: bool = False
    seller_id: UUID | None = None
    seller_email: str | None = None


def get_earnings(cmd: GetEarnings, uow: UnitOfWork, services: Services) -> EarningsReport:
    """Gross sales, refunds, the platform's fee and the creator's net, by month (UTC)
    and by item: exact to the cent, fee + net == gross - refunds on every line."""
    if cmd.everyone:
        cmd.actor.require(Permission.EARNINGS_VIEW_ALL)
        seller = cmd.seller_id
        if cmd.seller_email is not None:
            found = uow.users.get_by_email(Email(cmd.seller_email).value)
            if found is None:
                raise NotFound("No account has this email address.", code="user.not_found")
            seller = found.id
    else:
        cmd.actor.require(Permission.EARNINGS_VIEW_OWN)
        seller = cmd.actor.require_user()
    start, end = _range(services, cmd.start, cmd.end)
    lower = datetime.combine(start, time(), UTC)
    upper = datetime.combine(end + timedelta(days=1), time(), UTC)

    def lines(by: Grouping) -> Sequence[EarningsLine]:
        return uow.earnings.summarise(seller_id=seller, start=lower, end=upper, by=by)

    return EarningsReport(start=start, end=end, totals=lines("total"), by_month=lines("month"),
                          by_item=lines("item"),
                          by_seller=lines("seller") if cmd.everyone else ())


CSV_HEADER = ("section", "key", "label", "kind", "currency", "gross", "refunds",
              "platform_fee", "net", "sales")


def csv_rows(report: EarningsReport) -> Iterator[tuple[str, ...]]:
    """The report as spreadsheet rows, header first; ``section`` says which table."""
    yield CSV_HEADER
    for section, lines in (("total", report.totals), ("month", report.by_month),
                           ("item", report.by_item), ("seller", report.by_seller)):
        for x in lines:
            yield (section, x.key, spreadsheet_text(x.label), x.kind, x.currency, str(x.gross),
                   str(x.refunds), str(x.platform_fee), str(x.net), str(x.sales))


@attrs.frozen
class PayoutsView:
    payouts: Sequence[PayoutRecord]
    fetched_at: datetime | None
    # True when the provider could not be asked and this is the last answer it gave.
    stale: bool = False


@attrs.frozen
class ListPayouts(Query):
    actor: Principal
    # Owners may read any media owner's; a media owner reads their own.
    user_id: UUID | None = None


def list_payouts(cmd: ListPayouts, uow: UnitOfWork, services: Services) -> PayoutsView:
    """Payouts from the provider, kept for a few minutes; when it cannot be reached, the
    last answer it gave, marked stale."""
    if cmd.user_id is not None and cmd.user_id != cmd.actor.user_id:
        cmd.actor.require(Permission.EARNINGS_VIEW_ALL)
        user_id = cmd.user_id
    else:
        cmd.actor.require(Permission.PAYOUTS_ONBOARD)
        user_id = cmd.actor.require_user()
    owner = uow.users.get(user_id)
    account = uow.payout_accounts.get(user_id)
    if owner is None or owner.role is not Role.MEDIA_OWNER:
        raise NotFound("No such media owner.", code="media_owner.not_found")
    if account is None:
        return PayoutsView(payouts=(), fetched_at=None)
    now = services.clock.now()
    cached = uow.payout_accounts.cached_payouts(user_id)
    if cached is not None and now - cached[1] < PAYOUTS_FRESH:
        return PayoutsView(payouts=cached[0], fetched_at=cached[1])
    account_id = account.account_id
    uow.rollback()
    try:
        payouts = services.payments.list_payouts(account_id, PAYOUTS_LIMIT)
    except GatewayUnavailable:
        if cached is None:
            raise
        log.warning("payouts of %s served from a %s old copy", user_id, now - cached[1])
        return PayoutsView(payouts=cached[0], fetched_at=cached[1], stale=True)
    with services.uow_factory() as writer:
        writer.payout_accounts.cache_payouts(user_id, payouts, now)
        writer.commit()
    return PayoutsView(payouts=payouts, fetched_at=now)
