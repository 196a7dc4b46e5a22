"""Creating and editing content: drafts, slugs, prerequisites, publishing, deletion."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from uuid import UUID

import attrs

from application.catalog.views import StudioItem
from application.messagebus import Query
from application.principal import Principal
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.catalog.content import ContentItem
from domain.catalog.rules import ContentType, Visibility, find_prerequisite_cycle
from domain.errors import Conflict, NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.values import Money, Slug, slugify

DEFAULT_CURRENCY = "usd"


def require_publisher(actor: Principal) -> None:
    actor.require(Permission.CONTENT_CREATE)


def owned_item(uow: UnitOfWork, actor: Principal, content_id: UUID) -> ContentItem:
    """The item, if this actor may manage it; otherwise a 404 that reveals nothing."""
    require_publisher(actor)
    item = uow.content.get(content_id)
    if item is None or not actor.may_manage(item.creator_id, own=Permission.CONTENT_CREATE,
                                            any_=Permission.CONTENT_MANAGE_ANY):
        raise NotFound("No such content item.", code="content.not_found")
    return item


def unique_slug(uow: UnitOfWork, base: str, *, excluding: UUID | None = None) -> Slug:
    root = slugify(base) or "item"
    candidate = root
    for n in range(2, 1000):
        if not uow.content.slug_taken(candidate, excluding=excluding):
            return Slug(candidate)
        candidate = f"{root[:190]}-{n}"
    raise Conflict("Could not find a free slug; choose one.", code="content.slug_taken")


def money(price: Decimal | str | None, currency: str | None) -> Money | None:
    if price is None:
        return None
    return Money(price, currency or DEFAULT_CURRENCY)


@attrs.frozen
class CreateContent:
    actor: Principal
    title: str
    content_type: ContentType
    slug: str | None = None
    description: str | None = None
    category: str | None = None
    tags: tuple[str, ...] = ()
    visibility: Visibility = Visibility.PURCHASED_ONLY
    price: Decimal | str | None = None
    currency: str | None = None
    thumbnail_url: str | None = None
    body_html: str | None = None
    excerpt: str | None = None


def create_content(cmd: CreateContent, uow: UnitOfWork, services: Services) -> StudioItem:
    require_publisher(cmd.actor)
    creator_id = cmd.actor.user_id
    if creator_id is None:
        raise ValidationError("The CLI must name a creator for new content.",
                              code="content.creator_required")
    if cmd.slug is not None:
        slug = Slug(cmd.slug)
        if uow.content.slug_taken(slug.value):
            raise Conflict("That slug is already used.", code="content.slug_taken", field="slug")
    else:
        slug = unique_slug(uow, cmd.title)
    item = ContentItem.draft(id=services.ids.new_id(), creator_id=creator_id, title=cmd.title,
                             slug=slug, content_type=cmd.content_type,
                             now=services.clock.now())
    item.edit(
        services.clock.now(), description=cmd.description, category=cmd.category,
        tags=list(cmd.tags), visibility=cmd.visibility, price=money(cmd.price, cmd.currency),
        thumbnail_url=cmd.thumbnail_url,
        body_html=services.html.clean(cmd.body_html) if cmd.body_html is not None else None,
        excerpt=cmd.excerpt,
    )
    uow.content.add(item)
    uow.commit()
    return StudioItem.of(item)


@attrs.frozen
class UpdateContent:
    actor: Principal
    content_id: UUID
    title: str | None = None
    description: str | None = None
    category: str | None = None
    tags: tuple[str, ...] | None = None
    visibility: Visibility | None = None
    price: Decimal | str | None = None
    currency: str | None = None
    thumbnail_url: str | None = None
    body_html: str | None = None
    excerpt: str | None = None
    clear: frozenset[str] = frozenset()


def update_content(cmd: UpdateContent, uow: UnitOfWork, services: Services) -> StudioItem:
    item = owned_item(uow, cmd.actor, cmd.content_id)
    currency = cmd.currency or (item.price.currency if item.price else None)
    item.edit(
        services.clock.now(), title=cmd.title, description=cmd.description,
        category=cmd.category, tags=list(cmd.tags) if cmd.tags is not None else None,
        visibility=cmd.visibility, price=money(cmd.price, currency),
        thumbnail_url=cmd.thumbnail_url,
        body_html=services.html.clean(cmd.body_html) if cmd.body_html is not None else None,
        excerpt=cmd.excerpt,
        clear=cmd.clear,
    )
    uow.commit()
    return StudioItem.of(item)


@attrs.frozen
class RenameSlug:
    actor: Principal
    content_id: UUID
    slug: str


def rename_slug(cmd: RenameSlug, uow: UnitOfWork, services: Services) -> StudioItem:
    item = owned_item(uow, cmd.actor, cmd.content_id)
    slug = Slug(cmd.slug)
    if slug != item.slug and uow.content.slug_taken(slug.value, excluding=item.id):
        raise Conflict("That slug is already used.", code="content.slug_taken", field="slug")
    item.rename_slug(slug, services.clock.now())
    uow.commit()
    return StudioItem.of(item)


@attrs.frozen
class SetPrerequisites:
    actor: Principal
    content_id: UUID
    prerequisite_ids: tuple[UUID, ...]


def set_prerequisites(cmd: SetPrerequisites, uow: UnitOfWork, services: Services) -> StudioItem:
    item = owned_item(uow, cmd.actor, cmd.content_id)
    wanted = list(dict.fromkeys(cmd.prerequisite_ids))
    missing = set(wanted) - uow.content.existing_ids(wanted)
    if missing:
        raise ValidationError("Prerequisites must be existing content items.",
                              code="content.prerequisite_unknown", field="prerequisite_ids",
                              details={"ids": sorted(str(m) for m in missing)})
    # Walk the existing prerequisite graph breadth-first, one query per level.
    graph: dict[UUID, list[UUID]] = {}
    frontier = set(wanted)
    while frontier:
        found = uow.content.prerequisites_of(frontier - graph.keys())
        graph.update(found)
        frontier = {p for ids in found.values() for p in ids} - graph.keys() - {item.id}
    cycle = find_prerequisite_cycle(item.id, wanted, graph)
    if cycle is not None:
        raise ValidationError("These prerequisites would form a cycle.",
                              code="content.prerequisite_cycle", field="prerequisite_ids",
                              details={"cycle": [str(c) for c in cycle]})
    item.set_prerequisites(wanted, services.clock.now())
    uow.commit()
    return StudioItem.of(item)


def _lifecycle(uow: UnitOfWork, services: Services, actor: Principal, content_id: UUID,
               step: Callable[[ContentItem, datetime], None]) -> StudioItem:
    """One lifecycle step (publish, unpublish, archive) on an item the actor manages."""
    item = owned_item(uow, actor, content_id)
    step(item, services.clock.now())
    uow.commit()
    return StudioItem.of(item)


@attrs.frozen
class PublishContent:
    actor: Principal
    content_id: UUID


def publish_content(cmd: PublishContent, uow: UnitOfWork, services: Services) -> StudioItem:
    return _lifecycle(uow, services, cmd.actor, cmd.content_id, ContentItem.publish)


@attrs.frozen
class UnpublishContent:
    actor: Principal
    content_id: UUID


def unpublish_content(cmd: UnpublishContent, uow: UnitOfWork, services: Services) -> StudioItem:
    return _lifecycle(uow, services, cmd.actor, cmd.content_id, ContentItem.unpublish)


@attrs.frozen
class ArchiveContent:
    actor: Principal
    content_id: UUID


def archive_content(cmd: ArchiveContent, uow: UnitOfWork, services: Services) -> StudioItem:
    return _lifecycle(uow, services, cmd.actor, cmd.content_id, ContentItem.archive)


@attrs.frozen
class DeleteContent:
    actor: Principal
    content_id: UUID


def delete_content(cmd: DeleteContent, uow: UnitOfWork, services: Services) -> None:
    """Soft delete: every read path stops showing it; the row and its history stay."""
    item = owned_item(uow, cmd.actor, cmd.content_id)
    item.soft_delete(services.clock.now())
    uow.commit()


@attrs.frozen
class GetStudioItem(Query):
    actor: Principal
    content_id: UUID


def get_studio_item(cmd: GetStudioItem, uow: UnitOfWork, services: Services) -> StudioItem:
    return StudioItem.of(owned_item(uow, cmd.actor, cmd.content_id))
