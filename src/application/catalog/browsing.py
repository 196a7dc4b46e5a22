"""Reading the catalog: the public listing, one item, the owner's studio listing."""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from datetime import datetime
from uuid import UUID

import attrs

from application.analytics.journal import viewed
from application.catalog.authoring import require_publisher
from application.catalog.entitlements import record_use, resolve
from application.catalog.views import AccessView, ContentDetail, ProgressView
from application.messagebus import Query
from application.ports.catalog import CatalogEntry, CatalogFilter, CatalogPage
from application.principal import Principal
from application.security import hash_token
from application.services import Services
from application.unit_of_work import UnitOfWork
from domain.catalog.preview import preview_of
from domain.catalog.rules import ContentType, Status
from domain.errors import NotFound, ValidationError
from domain.identity.permissions import Permission
from domain.values import Email

SORTS = ("newest", "popular", "relevance")
PAGE_MAX = 50


def encode_cursor(sort: str, entry: CatalogEntry) -> str:
    key: object
    if sort == "relevance":
        key = entry.relevance or 0.0
    elif sort == "newest" and entry.published_at:
        key = entry.published_at.isoformat()
    else:
        key = entry.view_count
    raw = json.dumps({"s": sort, "k": key, "i": str(entry.id)}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(sort: str, cursor: str) -> tuple[object, UUID]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        data = json.loads(raw)
        if data["s"] != sort:
            raise ValueError("cursor of another sort")
        key: object
        if sort == "newest":
            key = datetime.fromisoformat(data["k"])
            if key.tzinfo is None:
                raise ValueError("naive timestamp")
        elif sort == "relevance":
            key = data["k"]
            if not isinstance(key, int | float) or isinstance(key, bool) or not (
                    -1e9 < key < 1e9):
                raise ValueError("relevance out of range")
            key = float(key)
        else:
            key = data["k"]
            if not isinstance(key, int) or isinstance(key, bool) or not 0 <= key < 2**31:
                raise ValueError("count out of range")
        return key, UUID(data["i"])
    except (ValueError, KeyError, TypeError, OverflowError, binascii.Error,
            json.JSONDecodeError) as exc:
        raise ValidationError("The cursor is not valid for this listing.",
                              code="catalog.bad_cursor", field="cursor") from exc


@attrs.frozen
class BrowseCatalog(Query):
    category: str | None = None
    tag: str | None = None
    content_type: ContentType | None = None
    series_id: UUID | None = None
    price: str | None = None
    search: str | None = None
    sort: str | None = None  # default: relevance with a search, else newest
    cursor: str | None = None
    limit: int = 20


def browse_catalog(cmd: BrowseCatalog, uow: UnitOfWork, services: Services) -> CatalogPage:
    search = cmd.search.strip() if cmd.search and cmd.search.strip() else None
    sort = cmd.sort or ("relevance" if search else "newest")
    if sort not in SORTS:
        raise ValidationError("sort is newest, popular or relevance.", code="catalog.bad_sort",
                              field="sort")
    if sort == "relevance" and search is None:
        raise ValidationError("sort=relevance ranks the results of a search: give q too.",
                              code="catalog.bad_sort", field="sort")
    if cmd.price not in (None, "free", "paid"):
        raise ValidationError("price is free or paid.", code="catalog.bad_price", field="price")
    limit = max(1, min(cmd.limit, PAGE_MAX))
    filters = CatalogFilter(
        category=cmd.category.strip().lower() if cmd.category else None,
        tag=cmd.tag.strip().lower() if cmd.tag else None,
        content_type=cmd.content_type.value if cmd.content_type else None,
        series_id=cmd.series_id, price=cmd.price,
        search=search,
    )
    after = decode_cursor(sort, cmd.cursor) if cmd.cursor else None
    # One row more than asked tells whether there is a next page.
    rows = list(uow.catalog.browse(filters, sort=sort, after=after, limit=limit + 1))
    more = len(rows) > limit
    rows = rows[:limit]
    return CatalogPage(items=rows,
                       next_cursor=encode_cursor(sort, rows[-1]) if more and rows else None)


@attrs.frozen(repr=False)
class GetContent:
    """One item for a reader: details, the access decision, the body or a preview.

    Not a Query: reading an item counts a view (once per viewer per hour).
    """

    slug: str
    token: str | None = None
    client_key: str | None = None

    def __repr__(self) -> str:
        return f"GetContent(slug={self.slug!r})"


def get_content(cmd: GetContent, uow: UnitOfWork, services: Services) -> ContentDetail:
    resolved = resolve(uow, services, token=cmd.token, slug=cmd.slug)
    found = resolved.one()
    if found is None or found[1].hides_existence:
        raise NotFound("No such content item.", code="content.not_found")
    row, decision = found
    now = services.clock.now()
    if row.entry.status == Status.PUBLISHED.value:
        viewer_key = (f"user:{resolved.viewer.user_id}" if resolved.viewer
                      else f"anon:{hash_token(cmd.client_key or 'unknown')[:32]}")
        hour = now.replace(minute=0, second=0, microsecond=0)
        viewer = resolved.viewer.user_id if resolved.viewer else None
        uow.content.count_view(row.item.id, viewer_key, hour,
                               viewed(row.item.id, viewer, now, services.ids.new_id))
    body = preview = None
    if row.content_type == ContentType.WRITTEN.value and row.body_html:
        if decision.allowed:
            body = row.body_html
            record_use(uow, services, decision)
        else:
            preview = preview_of(row.excerpt, services.html.plain_text(row.body_html))
    uow.commit()
    progress = None
    if row.position_seconds is not None and row.duration_seconds:
        progress = ProgressView(row.position_seconds, row.duration_seconds, row.completed)
    return ContentDetail(entry=row.entry, access=AccessView.of(decision), body_html=body,
                         preview=preview, progress=progress)


@attrs.frozen(repr=False)
class CheckAccess(Query):
    content_id: UUID
    token: str | None = None


def check_access(cmd: CheckAccess, uow: UnitOfWork, services: Services) -> AccessView:
    found = resolve(uow, services, token=cmd.token, content_ids=[cmd.content_id]).one()
    if found is None or found[1].hides_existence:
        raise NotFound("No such content item.", code="content.not_found")
    return AccessView.of(found[1])


@attrs.frozen
class ExplainAccess(Query):
    """For operators: the decision and its reasoning for any user and item."""

    actor: Principal
    email: str
    slug: str


def explain_access(cmd: ExplainAccess, uow: UnitOfWork, services: Services) -> AccessView:
    cmd.actor.require(Permission.ACCESS_EXPLAIN)
    user = uow.users.get_by_email(Email(cmd.email).value)
    if user is None:
        raise NotFound(f"No account with email {cmd.email}.", code="user.not_found")
    found = resolve(uow, services, user_id=user.id, slug=cmd.slug).one()
    if found is None:
        raise NotFound(f"No content with slug {cmd.slug}.", code="content.not_found")
    return AccessView.of(found[1])


@attrs.frozen
class ListStudioContent(Query):
    actor: Principal
    status: Status | None = None
    limit: int = 50
    offset: int = 0


def list_studio_content(cmd: ListStudioContent, uow: UnitOfWork, services: Services
                        ) -> Sequence[CatalogEntry]:
    require_publisher(cmd.actor)
    creator = None if cmd.actor.can(Permission.CONTENT_MANAGE_ANY) else cmd.actor.user_id
    return uow.catalog.studio(creator_id=creator,
                              status=cmd.status.value if cmd.status else None,
                              limit=max(1, min(cmd.limit, 200)), offset=max(0, cmd.offset))


