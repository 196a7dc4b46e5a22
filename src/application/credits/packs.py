"""Credit packs: created and edited by platform owners, listed for anyone, bought
through the ordinary purchase path (``application/commerce/purchasing.py``)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.credits.packs import CreditPack
from domain.errors import NotFound
from domain.identity.permissions import Permission


@attrs.frozen
class CreateCreditPack:
    actor: Principal
    fields: Mapping[str, Any]
    currency: str = "usd"


def create_credit_pack(cmd: CreateCreditPack, uow: UnitOfWork, services: Services
                       ) -> CreditPack:
    cmd.actor.require(Permission.CREDIT_PACKS_MANAGE)
    pack = CreditPack.create(id=services.ids.new_id(), now=services.clock.now(),
                             currency=cmd.currency, fields=cmd.fields)
    uow.credit_packs.add(pack)
    uow.commit()
    return pack


@attrs.frozen
class UpdateCreditPack:
    actor: Principal
    pack_id: UUID
    changes: Mapping[str, Any]


def update_credit_pack(cmd: UpdateCreditPack, uow: UnitOfWork, services: Services
                       ) -> CreditPack:
    """Edit a pack; all changes apply or none. Purchases already started keep the credits
    and validity they were shown. ``active: false`` stops its sale."""
    cmd.actor.require(Permission.CREDIT_PACKS_MANAGE)
    pack = uow.credit_packs.get(cmd.pack_id, lock=True)
    if pack is None:
        raise NotFound("No such credit pack.", code="credit_pack.not_found")
    pack.edit(cmd.changes, services.clock.now())
    uow.commit()
    return pack


@attrs.frozen
class ListCreditPacks:
    actor: Principal
    include_inactive: bool = False


def list_credit_packs(cmd: ListCreditPacks, uow: UnitOfWork, services: Services
                      ) -> Sequence[CreditPack]:
    if cmd.include_inactive:
        cmd.actor.require(Permission.CREDIT_PACKS_MANAGE)
    return uow.credit_packs.list(active_only=not cmd.include_inactive)


@attrs.frozen
class GetCreditPack:
    actor: Principal
    pack_id: UUID


def get_credit_pack(cmd: GetCreditPack, uow: UnitOfWork, services: Services) -> CreditPack:
    pack = uow.credit_packs.get(cmd.pack_id)
    if pack is None or (not pack.active and not cmd.actor.can(Permission.CREDIT_PACKS_MANAGE)):
        raise NotFound("No such credit pack.", code="credit_pack.not_found")
    return pack
