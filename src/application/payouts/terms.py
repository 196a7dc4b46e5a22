"""Who is paid what of a sale: the seller's share, the platform's fee, and where the
seller's share goes (a media owner's connected account)."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import attrs

from application.ports.payouts import Transfer
from application.unit_of_work import UnitOfWork
from domain.commerce.revenue import RevenueSplit, split_revenue
from domain.identity.roles import Role
from domain.payouts.accounts import PayoutAccount, require_ready
from domain.values import Money

# Kept in a booking's details when it is made, so that every payment of it (each
# installment too) is split as it was agreed.
FEE_PERCENT_KEY = "platform_fee_percent"
DESTINATION_KEY = "payout_account"


@attrs.frozen
class SaleTerms:
    seller_id: UUID
    seller_role: Role
    fee_percent: Decimal
    # The media owner's connected account; None when the platform keeps the money.
    destination: str | None = None

    def split(self, amount: Money) -> RevenueSplit:
        return split_revenue(amount, self.seller_role, self.fee_percent)

    def transfer(self, amount: Money) -> Transfer | None:
        if self.destination is None:
            return None
        return Transfer(destination=self.destination,
                        application_fee=self.split(amount).platform_fee)

    def as_details(self) -> dict[str, str]:
        if self.destination is None:
            return {}
        return {FEE_PERCENT_KEY: str(self.fee_percent), DESTINATION_KEY: self.destination}


def terms_for(uow: UnitOfWork, seller_id: UUID) -> SaleTerms:
    """The terms of a sale by this seller, now. A media owner whose payouts are not
    enabled sells nothing (SellerNotReady, 409 seller.payouts_not_ready)."""
    seller = uow.users.get(seller_id)
    role = seller.role if seller else Role.PLATFORM_OWNER
    percent = uow.settings.get().platform_fee_percent
    account = uow.payout_accounts.get(seller_id) if role is Role.MEDIA_OWNER else None
    return sale_terms(seller_id, role, percent, account)


def sale_terms(seller_id: UUID, role: Role | None, fee_percent: Decimal,
               account: PayoutAccount | None) -> SaleTerms:
    """`terms_for`, from facts already read (a seller not found sells as the platform)."""
    role = role or Role.PLATFORM_OWNER
    if role is not Role.MEDIA_OWNER:
        return SaleTerms(seller_id, role, fee_percent)
    return SaleTerms(seller_id, role, fee_percent, require_ready(account).account_id)


def terms_from_details(seller_id: UUID, details: dict[str, str]) -> SaleTerms:
    """The terms a booking was made on (none kept: the platform's own sale)."""
    destination = details.get(DESTINATION_KEY)
    if destination is None:
        return SaleTerms(seller_id, Role.PLATFORM_CREATOR, Decimal(0))
    return SaleTerms(seller_id, Role.MEDIA_OWNER, Decimal(details[FEE_PERCENT_KEY]),
                     destination)


def seller_of(uow: UnitOfWork, *, content_id: UUID | None, series_id: UUID | None
              ) -> UUID | None:
    """The creator who sells a content item or a series (None for the platform's own
    things, such as credit packs)."""
    if content_id is not None:
        item = uow.content.get(content_id)
        return item.creator_id if item else None
    if series_id is not None:
        series = uow.series.get(series_id)
        return series.creator_id if series else None
    return None


def transfer_for(details: dict[str, str], amount: Money) -> Transfer | None:
    """The destination charge of one payment of a booking, on the terms it was made on."""
    destination = details.get(DESTINATION_KEY)
    if destination is None:
        return None
    return SaleTerms(UUID(int=0), Role.MEDIA_OWNER, Decimal(details[FEE_PERCENT_KEY]),
                     destination).transfer(amount)
