"""Series: ordered items sold together as a bundle."""

from __future__ import annotations

from decimal import Decimal
from uuid import UUID

import attrs

from application.catalog.authoring import money, owned_item, require_publisher
from application.catalog.entitlements import resolve
from application.catalog.views import AccessView, SeriesItemView, SeriesView
from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.access.decision import Reason
from domain.catalog.series import ContentSeries
from domain.errors import Conflict, NotFound, ValidationError
from domain.identity.permissions import Permission, allows
from domain.values import Slug, slugify


def owned_series(uow: UnitOfWork, actor: Principal, series_id: UUID) -> ContentSeries:
    require_publisher(actor)
    series = uow.series.get(series_id)
    if series is None or not actor.may_manage(series.creator_id, own=Permission.CONTENT_CREATE,
                                              any_=Permission.CONTENT_MANAGE_ANY):
        raise NotFound("No such series.", code="series.not_found")
    return series


def _view(uow: UnitOfWork, services: Services, series: ContentSeries,
          token: str | None = None, user_id: UUID | None = None) -> SeriesView:
    resolved = resolve(uow, services, token=token, user_id=user_id,
                       content_ids=list(series.content_order))
    by_id = {row.item.id: (row, decision) for row, decision in resolved.rows}
    items = []
    for content_id in series.content_order:
        found = by_id.get(content_id)
        if found is None or found[1].reason is Reason.NOT_FOUND:
            continue  # drafts and deleted items are not shown to those who may not see them
        row, decision = found
        items.append(SeriesItemView(entry=row.entry, access=AccessView.of(decision)))
    return SeriesView.of(series, items)


@attrs.frozen
class CreateSeries:
    actor: Principal
    title: str
    slug: str | None = None
    description: str | None = None
    price: Decimal | str | None = None
    currency: str | None = None
    thumbnail_url: str | None = None


def create_series(cmd: CreateSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    require_publisher(cmd.actor)
    if cmd.actor.user_id is None:
        raise ValidationError("A series needs a creator.", code="series.creator_required")
    slug = Slug(cmd.slug or slugify(cmd.title) or "series")
    if uow.series.slug_taken(slug.value):
        raise Conflict("That slug is already used.", code="series.slug_taken", field="slug")
    now = services.clock.now()
    series = ContentSeries(id=services.ids.new_id(), creator_id=cmd.actor.user_id,
                           title=cmd.title, slug=slug, created_at=now, updated_at=now)
    series.edit(now, title=cmd.title, description=cmd.description,
                price=money(cmd.price, cmd.currency), thumbnail_url=cmd.thumbnail_url)
    uow.series.add(series)
    uow.commit()
    return SeriesView.of(series, [])


@attrs.frozen
class UpdateSeries:
    actor: Principal
    series_id: UUID
    title: str | None = None
    description: str | None = None
    price: Decimal | str | None = None
    currency: str | None = None
    thumbnail_url: str | None = None
    clear: frozenset[str] = frozenset()


def update_series(cmd: UpdateSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    series = owned_series(uow, cmd.actor, cmd.series_id)
    currency = cmd.currency or (series.price.currency if series.price else None)
    series.edit(services.clock.now(), title=cmd.title, description=cmd.description,
                price=money(cmd.price, currency), thumbnail_url=cmd.thumbnail_url,
                clear=cmd.clear)
    uow.commit()
    return _view(uow, services, series, user_id=cmd.actor.user_id)


@attrs.frozen
class AddToSeries:
    actor: Principal
    series_id: UUID
    content_id: UUID
    position: int | None = None


def add_to_series(cmd: AddToSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    series = owned_series(uow, cmd.actor, cmd.series_id)
    item = owned_item(uow, cmd.actor, cmd.content_id)
    if item.creator_id != series.creator_id:
        raise ValidationError("A series holds only its creator's items.",
                              code="series.foreign_item", field="content_id")
    now = services.clock.now()
    if item.series_id is not None and item.series_id != series.id:
        previous = uow.series.get(item.series_id)
        if previous is not None and item.id in previous.content_order:
            previous.remove_item(item.id, now)
    series.add_item(item.id, now, cmd.position)
    item.join_series(series.id, now)
    uow.commit()
    return _view(uow, services, series, user_id=cmd.actor.user_id)


@attrs.frozen
class RemoveFromSeries:
    actor: Principal
    series_id: UUID
    content_id: UUID


def remove_from_series(cmd: RemoveFromSeries, uow: UnitOfWork, services: Services
                       ) -> SeriesView:
    series = owned_series(uow, cmd.actor, cmd.series_id)
    now = services.clock.now()
    series.remove_item(cmd.content_id, now)
    item = uow.content.get(cmd.content_id)
    if item is not None and item.series_id == series.id:
        item.join_series(None, now)
    uow.commit()
    return _view(uow, services, series, user_id=cmd.actor.user_id)


@attrs.frozen
class ReorderSeries:
    actor: Principal
    series_id: UUID
    content_order: tuple[UUID, ...]


def reorder_series(cmd: ReorderSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    series = owned_series(uow, cmd.actor, cmd.series_id)
    series.reorder(list(cmd.content_order), services.clock.now())
    uow.commit()
    return _view(uow, services, series, user_id=cmd.actor.user_id)


@attrs.frozen
class PublishSeries:
    actor: Principal
    series_id: UUID


def publish_series(cmd: PublishSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    series = owned_series(uow, cmd.actor, cmd.series_id)
    series.publish(services.clock.now())
    uow.commit()
    return _view(uow, services, series, user_id=cmd.actor.user_id)


@attrs.frozen
class GetSeries(Query):
    slug: str
    token: str | None = None


def get_series(cmd: GetSeries, uow: UnitOfWork, services: Services) -> SeriesView:
    """A published series with each item's access decision for the caller."""
    series = uow.series.get_by_slug(cmd.slug)
    view = _view(uow, services, series, token=cmd.token) if series else None
    if series is None or view is None:
        raise NotFound("No such series.", code="series.not_found")
    if not series.is_live:
        resolved = resolve(uow, services, token=cmd.token, content_ids=[])
        viewer = resolved.viewer
        if viewer is None or not (allows(viewer.role, Permission.CONTENT_VIEW_ANY)
                                  or viewer.user_id == series.creator_id):
            raise NotFound("No such series.", code="series.not_found")
    return view
