"""Portals: what a confirmed booking opens, and the resources hosts put in them."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

import attrs

from application.catalog.entitlements import resolve
from application.offerings.authoring import managed
from application.ports.offerings import PortalAccess
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.access.decision import Reason
from domain.errors import NotFound, ValidationError
from domain.identity.permissions import Permission, allows
from domain.offerings.booking import Booking, BookingStatus
from domain.offerings.offering import Offering
from domain.offerings.portal import Resource, ResourceType, portal_window

FILE_TYPES = {"application/pdf": "pdf", "audio/mpeg": "mp3", "video/mp4": "mp4",
              "image/png": "png", "image/jpeg": "jpg", "application/zip": "zip",
              "text/plain": "txt"}


def sync_portal(uow: UnitOfWork, services: Services, booking: Booking,
                offering: Offering) -> None:
    """Open, move or close the booking's portal access to match the booking."""
    if booking.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        window = portal_window(offering.portal_config, booking.starts_at, booking.ends_at,
                               booking.created_at)
        uow.portals.grant(PortalAccess(booking.id, booking.customer_id, offering.id,
                                       window.opens_at, window.closes_at),
                          id=services.ids.new_id())
    else:
        uow.portals.revoke(booking.id)


# --- resources (hosts) ---------------------------------------------------------------


@attrs.frozen
class UploadSlot:
    key: str
    url: str
    headers: Mapping[str, str]
    expires_at: datetime


@attrs.frozen
class StartResourceUpload:
    actor: Principal
    offering_id: UUID
    content_type: str
    size: int


def start_resource_upload(cmd: StartResourceUpload, uow: UnitOfWork, services: Services
                          ) -> UploadSlot:
    offering = managed(uow, cmd.actor, cmd.offering_id)
    mime = cmd.content_type.lower().strip()
    if mime not in FILE_TYPES:
        raise ValidationError(f"Files are {', '.join(FILE_TYPES)}.",
                              code="resource.file_type", field="content_type")
    if not 0 < cmd.size <= services.config.max_upload_bytes:
        raise ValidationError("The file is empty or too large.", code="resource.file_size",
                              field="size")
    key = f"offerings/{offering.id}/{services.ids.new_id()}.{FILE_TYPES[mime]}"
    now = services.clock.now()
    target = services.media.create_upload(key, content_type=mime, size=cmd.size,
                                          expires_in=services.config.upload_ttl, now=now)
    return UploadSlot(key, target.url, target.headers, now + services.config.upload_ttl)


@attrs.frozen
class AddResource:
    actor: Principal
    offering_id: UUID
    fields: Mapping[str, Any]


def _check_reference(uow: UnitOfWork, services: Services, offering: Offering,
                     resource: Resource) -> None:
    if resource.resource_type is ResourceType.CONTENT and resource.content_id is not None:
        # A portal opens its content to participants (even private items): only content
        # the offering's creator may manage can go in it, never someone else's.
        item = uow.content.get(resource.content_id)
        creator = uow.users.get(offering.creator_id)
        allowed = item is not None and item.deleted_at is None and (
            item.creator_id == offering.creator_id
            or (creator is not None and allows(creator.role, Permission.CONTENT_MANAGE_ANY)))
        if not allowed:
            raise ValidationError("No such content item of this offering's creator.",
                                  code="resource.content", field="content_id")
    key = resource.file_key if resource.resource_type is ResourceType.FILE else None
    if key is not None and (not key.startswith(f"offerings/{offering.id}/")
                            or services.media.stat(key) is None):
        raise ValidationError("Upload the file first (its key from the upload route).",
                              code="resource.file_missing", field="file_key")


def add_resource(cmd: AddResource, uow: UnitOfWork, services: Services) -> Resource:
    offering = managed(uow, cmd.actor, cmd.offering_id)
    resource = Resource.create(id=services.ids.new_id(), offering_id=offering.id,
                               now=services.clock.now(), fields=cmd.fields)
    _check_reference(uow, services, offering, resource)
    uow.resources.add(resource)
    uow.commit()
    return resource


@attrs.frozen
class UpdateResource:
    actor: Principal
    offering_id: UUID
    resource_id: UUID
    changes: Mapping[str, Any]


def update_resource(cmd: UpdateResource, uow: UnitOfWork, services: Services) -> Resource:
    offering = managed(uow, cmd.actor, cmd.offering_id)
    resource = uow.resources.get(cmd.resource_id)
    if resource is None or resource.offering_id != offering.id:
        raise NotFound("No such resource.", code="resource.not_found")
    resource.edit(cmd.changes, services.clock.now())
    _check_reference(uow, services, offering, resource)
    uow.resources.save(resource)
    uow.commit()
    return resource


@attrs.frozen
class RemoveResource:
    actor: Principal
    offering_id: UUID
    resource_id: UUID


def remove_resource(cmd: RemoveResource, uow: UnitOfWork, services: Services) -> None:
    offering = managed(uow, cmd.actor, cmd.offering_id)
    resource = uow.resources.get(cmd.resource_id)
    if resource is None or resource.offering_id != offering.id:
        raise NotFound("No such resource.", code="resource.not_found")
    uow.resources.remove(resource.id)
    uow.commit()


@attrs.frozen
class ListResources:
    actor: Principal
    offering_id: UUID


def list_resources(cmd: ListResources, uow: UnitOfWork, services: Services
                   ) -> Sequence[Resource]:
    return uow.resources.of_offering(managed(uow, cmd.actor, cmd.offering_id).id)


# --- the portal (participants) ---------------------------------------------------------


@attrs.frozen
class PortalItem:
    resource: Resource
    unlocks_at: datetime
    unlocked: bool
    # Filled only when unlocked:
    file_url: str | None = None
    content_slug: str | None = None
    content_reason: str | None = None  # the entitlement engine's reason


@attrs.frozen
class Portal:
    offering: Offering
    opens_at: datetime
    closes_at: datetime
    items: Sequence[PortalItem]


@attrs.frozen
class ViewPortal:
    actor: Principal
    slug: str


def view_portal(cmd: ViewPortal, uow: UnitOfWork, services: Services) -> Portal:
    """What is unlocked now (with its link, text or signed file URL) and, for the rest,
    only the title and when it unlocks. Only for participants while their portal is
    open; to anyone else the portal does not exist."""
    user_id = cmd.actor.require_user()
    offering = uow.offerings.by_slug(cmd.slug)
    if offering is None or offering.deleted_at is not None:
        raise NotFound("No such portal.", code="portal.not_found")
    now = services.clock.now()
    accesses = [a for a in uow.portals.of(user_id, offering.id)
                if a.opens_at <= now < a.expires_at]
    bookings = {a.booking_id: uow.bookings.get(a.booking_id) for a in accesses}
    live = [(a, b) for a in accesses if (b := bookings[a.booking_id]) is not None
            and b.status in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED)]
    if not live:
        raise NotFound("No such portal.", code="portal.not_found")
    window = portal_window(offering.portal_config, live[0][1].starts_at, live[0][1].ends_at,
                           live[0][1].created_at)
    resources = uow.resources.of_offering(offering.id)
    content_ids = [r.content_id for r in resources if r.content_id is not None]
    decisions = {row.entry.id: (row.entry.slug, decision) for row, decision in
                 resolve(uow, services, user_id=user_id, content_ids=content_ids).rows} \
        if content_ids else {}
    items = []
    for resource in resources:
        # Unlocked if any of the customer's bookings has unlocked it.
        unlocks = min(resource.unlocks_at(
            portal_window(offering.portal_config, b.starts_at, b.ends_at, b.created_at),
            b.starts_at, b.ends_at) for _, b in live)
        if unlocks > now:
            items.append(PortalItem(resource, unlocks, False))
            continue
        if resource.resource_type is ResourceType.FILE and resource.file_key:
            url = services.media.playback_url(resource.file_key,
                                              expires_in=services.config.playback_ttl,
                                              now=now, filename=resource.title)
            items.append(PortalItem(resource, unlocks, True, file_url=url))
        elif resource.resource_type is ResourceType.CONTENT and resource.content_id:
            found = decisions.get(resource.content_id)
            if found is None or found[1].reason is Reason.NOT_FOUND:
                continue  # deleted since: gone from the portal too
            items.append(PortalItem(resource, unlocks, True, content_slug=found[0],
                                    content_reason=found[1].reason.value))
        else:
            items.append(PortalItem(resource, unlocks, True))
    return Portal(offering, window.opens_at, max(a.expires_at for a, _ in live), items)
