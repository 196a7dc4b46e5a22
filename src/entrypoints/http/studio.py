"""/api/v1/studio: creators manage their content, media files and series."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from litestar import Controller, delete, get, patch, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter
from litestar.status_codes import HTTP_204_NO_CONTENT

from application.catalog.authoring import (
    ArchiveContent,
    CreateContent,
    DeleteContent,
    GetStudioItem,
    PublishContent,
    RenameSlug,
    SetPrerequisites,
    UnpublishContent,
    UpdateContent,
)
from application.catalog.browsing import ListStudioContent
from application.catalog.media import ConfirmMediaUpload, StartMediaUpload
from application.catalog.series import (
    AddToSeries,
    CreateSeries,
    PublishSeries,
    RemoveFromSeries,
    ReorderSeries,
    UpdateSeries,
)
from domain.catalog.rules import ContentType, Status, Visibility
from domain.identity.api_keys import Scope
from entrypoints.http.auth import SECURED
from entrypoints.http.convert import series_out, studio_entry_out, studio_item_out
from entrypoints.http.dependencies import Actor, App, takes_key
from entrypoints.http.openapi import MAX_OFFSET, OWNER
from entrypoints.http.schemas.catalog import (
    ContentCreate,
    ContentPatch,
    PrerequisitesBody,
    SeriesCreate,
    SeriesItemBody,
    SeriesOrderBody,
    SeriesOut,
    SeriesPatch,
    SlugBody,
    StudioEntryOut,
    StudioItemOut,
    UploadConfirm,
    UploadOut,
    UploadRequest,
)
from entrypoints.http.schemas.common import set_fields


def _nulls(fields: dict[str, object]) -> frozenset[str]:
    return frozenset(name for name, value in fields.items() if value is None)


# A written item may hold a million characters; in UTF-8 that is up to 4 MB, so these
# two routes take more than the app's 1 MiB default.
WRITTEN_BODY_BYTES = 5 * 1024 * 1024

class StudioContentController(Controller):
    path = "/api/v1/studio/content"
    tags = ["studio"]
    security = SECURED
    opt = takes_key(Scope.CONTENT_WRITE)  # the reads below take catalog:read

    @get("/", sync_to_thread=True, responses=OWNER, opt=takes_key(Scope.CATALOG_READ))
    def list_items(
        self,
        actor: Actor,
        patronage: App,
        status: FromQuery[Status | None] = None,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=200)]] = 50,
        offset: FromQuery[Annotated[int, Parameter(ge=0, le=MAX_OFFSET)]] = 0,
    ) -> list[StudioEntryOut]:
        """Your items, drafts included (platform owners see everyone's), newest first."""
        entries = patronage.handle(
            ListStudioContent(actor=actor, status=status, limit=limit, offset=offset)
        )
        return [studio_entry_out(e) for e in entries]

    @post("/", sync_to_thread=True, responses=OWNER, request_max_body_size=WRITTEN_BODY_BYTES)
    def create(self, data: JSONBody[ContentCreate], actor: Actor, patronage: App) -> StudioItemOut:
        """Create a draft. The slug comes from the title unless given; the written body is
        sanitised (no scripts, event handlers or javascript: links survive)."""
        return studio_item_out(
            patronage.handle(
                CreateContent(
                    actor=actor,
                    title=data.title,
                    content_type=ContentType(data.content_type),
                    slug=data.slug,
                    description=data.description,
                    category=data.category,
                    tags=tuple(data.tags),
                    visibility=Visibility(data.visibility),
                    price=data.price,
                    currency=data.currency,
                    thumbnail_url=data.thumbnail_url,
                    body_html=data.body_html, excerpt=data.excerpt,
                )
            )
        )

    @get("/{content_id:uuid}", sync_to_thread=True, responses=OWNER,
         opt=takes_key(Scope.CATALOG_READ))
    def show(self, content_id: FromPath[UUID], actor: Actor, patronage: App) -> StudioItemOut:
        """One of your items, whatever its status."""
        return studio_item_out(patronage.handle(GetStudioItem(actor=actor, content_id=content_id)))

    @patch("/{content_id:uuid}", sync_to_thread=True, responses=OWNER,
           request_max_body_size=WRITTEN_BODY_BYTES)
    def update(
        self, content_id: FromPath[UUID], data: JSONBody[ContentPatch], actor: Actor, patronage: App
    ) -> StudioItemOut:
        """Edit fields; null clears description, category, price (free), thumbnail or body."""
        fields = set_fields(data)
        tags = fields.get("tags")
        return studio_item_out(
            patronage.handle(
                UpdateContent(
                    actor=actor,
                    content_id=content_id,
                    title=fields.get("title"),
                    description=fields.get("description"),
                    category=fields.get("category"),
                    tags=tuple(tags) if tags is not None else None,
                    visibility=Visibility(fields["visibility"]) if "visibility" in fields else None,
                    price=fields.get("price"),
                    currency=fields.get("currency"),
                    thumbnail_url=fields.get("thumbnail_url"),
                    body_html=fields.get("body_html"), excerpt=fields.get("excerpt"),
                    clear=_nulls(fields)
                    & {"description", "category", "price", "thumbnail_url", "body_html",
                       "excerpt"},
                )
            )
        )

    @put("/{content_id:uuid}/slug", sync_to_thread=True, responses=OWNER)
    def rename(
        self, content_id: FromPath[UUID], data: JSONBody[SlugBody], actor: Actor, patronage: App
    ) -> StudioItemOut:
        """Change the item's address; 409 content.slug_taken if another item has it."""
        return studio_item_out(
            patronage.handle(RenameSlug(actor=actor, content_id=content_id, slug=data.slug))
        )

    @put("/{content_id:uuid}/prerequisites", sync_to_thread=True, responses=OWNER)
    def prerequisites(
        self,
        content_id: FromPath[UUID],
        data: JSONBody[PrerequisitesBody],
        actor: Actor,
        patronage: App,
    ) -> StudioItemOut:
        """Items a reader must complete first; cycles are refused (content.prerequisite_cycle)."""
        return studio_item_out(
            patronage.handle(
                SetPrerequisites(
                    actor=actor,
                    content_id=content_id,
                    prerequisite_ids=tuple(data.prerequisite_ids),
                )
            )
        )

    @post("/{content_id:uuid}/publish", status_code=200, sync_to_thread=True, responses=OWNER)
    def publish(self, content_id: FromPath[UUID], actor: Actor, patronage: App) -> StudioItemOut:
        """Publish: video and audio need their media file, written items a body."""
        return studio_item_out(patronage.handle(PublishContent(actor=actor, content_id=content_id)))

    @post("/{content_id:uuid}/unpublish", status_code=200, sync_to_thread=True, responses=OWNER)
    def unpublish(self, content_id: FromPath[UUID], actor: Actor, patronage: App) -> StudioItemOut:
        """Back to draft; the slug stays reserved for this item."""
        return studio_item_out(
            patronage.handle(UnpublishContent(actor=actor, content_id=content_id))
        )

    @post("/{content_id:uuid}/archive", status_code=200, sync_to_thread=True, responses=OWNER)
    def archive(self, content_id: FromPath[UUID], actor: Actor, patronage: App) -> StudioItemOut:
        """Archive: gone from the catalog, kept for its buyers' records."""
        return studio_item_out(patronage.handle(ArchiveContent(actor=actor, content_id=content_id)))

    @delete(
        "/{content_id:uuid}", status_code=HTTP_204_NO_CONTENT, sync_to_thread=True, responses=OWNER
    )
    def remove(self, content_id: FromPath[UUID], actor: Actor, patronage: App) -> None:
        """Soft delete: invisible on every read path, kept in the database."""
        patronage.handle(DeleteContent(actor=actor, content_id=content_id))

    @post("/{content_id:uuid}/media/uploads", status_code=201, sync_to_thread=True, responses=OWNER)
    def start_upload(
        self,
        content_id: FromPath[UUID],
        data: JSONBody[UploadRequest],
        actor: Actor,
        patronage: App,
    ) -> UploadOut:
        """A signed URL for one PUT of exactly `size` bytes of `content_type`."""
        ticket = patronage.handle(
            StartMediaUpload(
                actor=actor, content_id=content_id, content_type=data.content_type, size=data.size
            )
        )
        return UploadOut(
            key=ticket.key,
            url=ticket.target.url,
            method=ticket.target.method,
            headers=dict(ticket.target.headers),
            expires_at=ticket.target.expires_at,
        )

    @post("/{content_id:uuid}/media/confirm", status_code=200, sync_to_thread=True, responses=OWNER)
    def confirm_upload(
        self,
        content_id: FromPath[UUID],
        data: JSONBody[UploadConfirm],
        actor: Actor,
        patronage: App,
    ) -> StudioItemOut:
        """Attach the uploaded file after checking storage really holds it (size, type)."""
        patronage.handle(
            ConfirmMediaUpload(
                actor=actor,
                content_id=content_id,
                key=data.key,
                duration_seconds=data.duration_seconds,
            )
        )
        return studio_item_out(patronage.handle(GetStudioItem(actor=actor, content_id=content_id)))


class StudioSeriesController(Controller):
    path = "/api/v1/studio/series"
    tags = ["studio"]
    security = SECURED
    opt = takes_key(Scope.CONTENT_WRITE)

    @post("/", sync_to_thread=True, responses=OWNER)
    def create(self, data: JSONBody[SeriesCreate], actor: Actor, patronage: App) -> SeriesOut:
        """Create a series (a draft); a price sells it as a bundle."""
        return series_out(
            patronage.handle(
                CreateSeries(
                    actor=actor,
                    title=data.title,
                    slug=data.slug,
                    description=data.description,
                    price=data.price,
                    currency=data.currency,
                    thumbnail_url=data.thumbnail_url,
                )
            )
        )

    @patch("/{series_id:uuid}", sync_to_thread=True, responses=OWNER)
    def update(
        self, series_id: FromPath[UUID], data: JSONBody[SeriesPatch], actor: Actor, patronage: App
    ) -> SeriesOut:
        """Edit the series; null clears description, price or thumbnail."""
        fields = set_fields(data)
        return series_out(
            patronage.handle(
                UpdateSeries(
                    actor=actor,
                    series_id=series_id,
                    title=fields.get("title"),
                    description=fields.get("description"),
                    price=fields.get("price"),
                    currency=fields.get("currency"),
                    thumbnail_url=fields.get("thumbnail_url"),
                    clear=_nulls(fields),
                )
            )
        )

    @post("/{series_id:uuid}/items", status_code=200, sync_to_thread=True, responses=OWNER)
    def add_item(
        self,
        series_id: FromPath[UUID],
        data: JSONBody[SeriesItemBody],
        actor: Actor,
        patronage: App,
    ) -> SeriesOut:
        """Add one of your items (at `position`, default last); it leaves any other series."""
        return series_out(
            patronage.handle(
                AddToSeries(
                    actor=actor,
                    series_id=series_id,
                    content_id=data.content_id,
                    position=data.position,
                )
            )
        )

    @delete(
        "/{series_id:uuid}/items/{content_id:uuid}",
        status_code=200,
        sync_to_thread=True,
        responses=OWNER,
    )
    def remove_item(
        self, series_id: FromPath[UUID], content_id: FromPath[UUID], actor: Actor, patronage: App
    ) -> SeriesOut:
        """Take an item out of the series."""
        return series_out(
            patronage.handle(
                RemoveFromSeries(actor=actor, series_id=series_id, content_id=content_id)
            )
        )

    @put("/{series_id:uuid}/order", sync_to_thread=True, responses=OWNER)
    def reorder(
        self,
        series_id: FromPath[UUID],
        data: JSONBody[SeriesOrderBody],
        actor: Actor,
        patronage: App,
    ) -> SeriesOut:
        """Set the order: exactly the series' items, each once."""
        return series_out(
            patronage.handle(
                ReorderSeries(
                    actor=actor, series_id=series_id, content_order=tuple(data.content_order)
                )
            )
        )

    @post("/{series_id:uuid}/publish", status_code=200, sync_to_thread=True, responses=OWNER)
    def publish(self, series_id: FromPath[UUID], actor: Actor, patronage: App) -> SeriesOut:
        """Publish the series (it needs at least one item)."""
        return series_out(patronage.handle(PublishSeries(actor=actor, series_id=series_id)))
