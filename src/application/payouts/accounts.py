"""Payout onboarding: a media owner's connected account, its onboarding link, and its
state as the provider reports it (``account.updated``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from application.messagebus import Query
from application.ports.payments import PaymentEvent
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, NotFound
from domain.identity.permissions import Permission
from domain.identity.roles import Role
from domain.payouts.accounts import PayoutAccount


@attrs.frozen
class PayoutAccountView:
    state: str  # not_started, onboarding, pending, restricted, enabled
    account_id: str | None
    charges_enabled: bool
    payouts_enabled: bool
    details_submitted: bool
    requirements_due: tuple[str, ...]
    disabled_reason: str | None
    status_as_of: datetime | None
    platform_fee_percent: Decimal
    onboarding_url: str | None = None

    @classmethod
    def of(cls, account: PayoutAccount | None, fee_percent: Decimal,
           url: str | None = None) -> PayoutAccountView:
        if account is None:
            return cls("not_started", None, False, False, False, (), None, None, fee_percent)
        return cls(account.state, account.account_id, account.charges_enabled,
                   account.payouts_enabled, account.details_submitted,
                   account.requirements_due, account.disabled_reason, account.status_as_of,
                   fee_percent, url)


def _media_owner(actor: Principal) -> None:
    actor.require(Permission.PAYOUTS_ONBOARD)
    if actor.role is not Role.MEDIA_OWNER:
        raise Conflict("Only media owners are paid out through the platform.",
                       code="payouts.not_media_owner")


@attrs.frozen
class GetPayoutAccount(Query):
    actor: Principal


def get_payout_account(cmd: GetPayoutAccount, uow: UnitOfWork, services: Services
                       ) -> PayoutAccountView:
    _media_owner(cmd.actor)
    account = uow.payout_accounts.get(cmd.actor.require_user())
    return PayoutAccountView.of(account, uow.settings.get().platform_fee_percent)


@attrs.frozen
class StartPayoutOnboarding:
    actor: Principal


def start_payout_onboarding(cmd: StartPayoutOnboarding, uow: UnitOfWork, services: Services
                            ) -> PayoutAccountView:
    """The connected account (made on first use) and a fresh onboarding link. The
    sandbox completes onboarding at once; Stripe reports it later (account.updated)."""
    _media_owner(cmd.actor)
    user_id = cmd.actor.require_user()
    user = uow.users.get(user_id)
    if user is None:
        raise NotFound("No such user.", code="user.not_found")
    account = uow.payout_accounts.get(user_id)
    uow.rollback()  # no transaction while the provider is asked
    gateway = services.payments
    fresh = None
    if account is not None:
        account_id = account.account_id
        if not account.ready and not gateway.delivers_events_inline:
            # Back from onboarding, or trying again: ask the provider rather than wait for
            # its webhook (which may also never come if no Connect endpoint is set up).
            fresh = gateway.retrieve_account(account_id)
    else:
        # Keyed by the user at the provider: a retry, or a parallel click, is the same
        # account.
        status = gateway.create_connected_account(user_id=user_id, email=user.email.value)
        with services.uow_factory() as writer:
            if writer.payout_accounts.get(user_id, lock=True) is None:
                opened = PayoutAccount.opened(user_id, status.account_id, status.as_of)
                opened.apply(status, status.as_of)
                try:
                    writer.payout_accounts.add(opened)
                except Conflict:
                    writer.rollback()  # a parallel request stored it first
                else:
                    owner = writer.users.get(user_id, lock=True)
                    if owner is not None:
                        owner.stripe_connect_account_id = status.account_id
                    writer.commit()
        # Ours, or the one a parallel request stored: the same account at the provider.
        account_id = status.account_id
    base = services.config.public_url.rstrip("/")
    url = gateway.create_account_link(
        account_id=account_id,
        refresh_url=f"{base}/studio/payouts?onboarding=refresh",
        return_url=f"{base}/studio/payouts?onboarding=done")
    event = gateway.inline_account_event(account_id) \
        if gateway.delivers_events_inline else None
    with services.uow_factory() as writer:
        # The sandbox's account.updated, recorded by id like a webhook's.
        if event is not None and writer.ledger.record_event(
                event.id, gateway.name, event.type, services.clock.now()):
            apply_account_event(writer, services, event)
            writer.commit()
        if fresh is not None:
            locked = writer.payout_accounts.get(user_id, lock=True)
            if locked is not None and locked.apply(fresh, services.clock.now()):
                writer.commit()
        stored = writer.payout_accounts.get(user_id)
        fee = writer.settings.get().platform_fee_percent
    services.dispatch(writer.committed_outbox_ids)
    return PayoutAccountView.of(stored, fee, url)


@attrs.frozen
class MediaOwnerView:
    user_id: UUID
    email: str
    full_name: str
    joined_at: datetime
    payouts: PayoutAccountView


@attrs.frozen
class ListMediaOwners(Query):
    actor: Principal
    limit: int = 50
    offset: int = 0


def list_media_owners(cmd: ListMediaOwners, uow: UnitOfWork, services: Services
                      ) -> Sequence[MediaOwnerView]:
    """Every media owner with the state of their payouts (who can sell, who cannot yet)."""
    cmd.actor.require(Permission.MEDIA_OWNERS_INVITE)
    fee = uow.settings.get().platform_fee_percent
    return [MediaOwnerView(user.id, user.email.value, user.full_name, user.created_at,
                           PayoutAccountView.of(uow.payout_accounts.get(user.id), fee))
            for user in uow.users.list(role=Role.MEDIA_OWNER, limit=cmd.limit,
                                       offset=cmd.offset)]


def apply_account_event(uow: UnitOfWork, services: Services, event: PaymentEvent) -> str:
    """account.updated: take the account's new state unless a newer report was taken."""
    if event.account is None:
        return "ignored"
    account = uow.payout_accounts.get_by_account(event.account.account_id, lock=True)
    if account is None:
        return "ignored"  # not one of ours (or not stored yet: Stripe sends it again)
    if event.account.as_of < account.status_as_of:
        return "stale"
    return "applied" if account.apply(event.account, services.clock.now()) else "unchanged"
