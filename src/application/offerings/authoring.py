"""Creators' offerings: create, edit, publish, unpublish, archive, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from uuid import UUID

import attrs

from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.errors import Conflict, NotFound
from domain.identity.permissions import Permission
from domain.offerings.offering import Offering
from domain.values import Slug, slugify


def _unique_slug(uow: UnitOfWork, base: str) -> Slug:
    root = slugify(base) or "offering"
    candidate = root
    for n in range(2, 1000):
        if not uow.offerings.slug_taken(candidate):
            return Slug(candidate)
        candidate = f"{root[:190]}-{n}"
    raise Conflict("Could not find a free slug; choose one.", code="offering.slug_taken")


def managed(uow: UnitOfWork, actor: Principal, offering_id: UUID, *, lock: bool = False
            ) -> Offering:
    """An offering the actor may manage; anyone else's is not found (not forbidden:
    its existence is not theirs to learn)."""
    offering = uow.offerings.get(offering_id, lock=lock)
    if offering is None or offering.deleted_at is not None or not actor.may_manage(
            offering.creator_id, own=Permission.OFFERINGS_CREATE,
            any_=Permission.OFFERINGS_MANAGE_ANY):
        raise NotFound("No such offering.", code="offering.not_found")
    return offering


@attrs.frozen
class CreateOffering:
    actor: Principal
    fields: Mapping[str, Any]
    slug: str | None = None
    currency: str = "usd"


def create_offering(cmd: CreateOffering, uow: UnitOfWork, services: Services) -> Offering:
    cmd.actor.require(Permission.OFFERINGS_CREATE)
    creator = cmd.actor.require_user()
    now = services.clock.now()
    if cmd.slug is not None:
        slug = Slug(cmd.slug)
        if uow.offerings.slug_taken(slug.value):
            raise Conflict("That slug is already used.", code="offering.slug_taken",
                           field="slug")
    else:
        slug = _unique_slug(uow, str(cmd.fields.get("title") or "offering"))
    offering = Offering.create(id=services.ids.new_id(), creator_id=creator, slug=slug,
                               now=now, currency=cmd.currency, fields=cmd.fields)
    offering.locate(uow.settings.get().timezone)
    uow.offerings.add(offering)
    uow.commit()
    return offering


@attrs.frozen
class UpdateOffering:
    actor: Principal
    offering_id: UUID
    changes: Mapping[str, Any]


def update_offering(cmd: UpdateOffering, uow: UnitOfWork, services: Services) -> Offering:
    """All changes apply or none. Booked sessions keep their times: a schedule change
    moves future sessions only, and booked customers are the owner's to tell."""
    offering = managed(uow, cmd.actor, cmd.offering_id, lock=True)
    now = services.clock.now()
    offering.edit(cmd.changes, now)
    seats = offering.seats_per_session
    if seats is not None and uow.seats.most_taken(offering.id, now) > seats:
        raise Conflict("A session already has more bookings than that; cancel some first.",
                       code="offering.capacity_below_bookings", field="max_participants")
    offering.locate(uow.settings.get().timezone)
    uow.commit()
    return offering


@attrs.frozen
class ChangeOfferingStatus:
    actor: Principal
    offering_id: UUID
    to: str  # publish, unpublish, archive, delete


def change_offering_status(cmd: ChangeOfferingStatus, uow: UnitOfWork, services: Services
                           ) -> Offering:
    offering = managed(uow, cmd.actor, cmd.offering_id, lock=True)
    now = services.clock.now()
    actions = {"publish": offering.publish, "unpublish": offering.unpublish,
               "archive": offering.archive, "delete": offering.soft_delete}
    actions[cmd.to](now)
    uow.commit()
    return offering


@attrs.frozen
class GetStudioOffering:
    actor: Principal
    offering_id: UUID


def get_studio_offering(cmd: GetStudioOffering, uow: UnitOfWork, services: Services
                        ) -> Offering:
    return managed(uow, cmd.actor, cmd.offering_id)


@attrs.frozen
class ListStudioOfferings:
    actor: Principal
    limit: int = 50
    offset: int = 0


def list_studio_offerings(cmd: ListStudioOfferings, uow: UnitOfWork, services: Services
                          ) -> Sequence[Offering]:
    """Your offerings (everyone's for platform owners), drafts included."""
    cmd.actor.require(Permission.OFFERINGS_CREATE)
    everyone = cmd.actor.can(Permission.OFFERINGS_MANAGE_ANY)
    return uow.offerings.of_creator(None if everyone else cmd.actor.require_user(),
                                    cmd.limit, cmd.offset)
