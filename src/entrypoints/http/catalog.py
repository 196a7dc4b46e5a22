"""/api/v1/content and /api/v1/series: what readers browse, read, watch and resume."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from litestar import Controller, Request, Response, get, post, put
from litestar.params import FromPath, FromQuery, JSONBody, Parameter, QueryParameter

from application.catalog.browsing import SORTS, BrowseCatalog, CheckAccess, GetContent
from application.catalog.media import RequestPlayback
from application.catalog.progress import RecordProgress
from application.catalog.series import GetSeries
from domain.catalog.rules import ContentType
from entrypoints.http.convert import (
    access_out,
    content_out,
    page_out,
    playback_out,
    progress_out,
    series_out,
)
from entrypoints.http.dependencies import (
    App,
    bearer_token,
    client_address,
    handle_hot,
    optional_token,
)
from entrypoints.http.openapi import AUTHENTICATED, PUBLIC, problems
from entrypoints.http.schemas.catalog import (
    LONGEST_QUERY,
    MOST_A_PAGE,
    PRICES,
    AccessOut,
    ContentOut,
    PageOut,
    PlaybackOut,
    ProgressBody,
    ProgressOut,
    SeriesOut,
)

OPTIONAL_AUTH: list[dict[str, list[str]]] = [{}, {"BearerToken": []}]
READ = problems(400, 401, 404, 422, 503)
NO_STORE = {"Cache-Control": "private, no-store"}


class ContentController(Controller):
    path = "/api/v1/content"
    tags = ["catalog"]

    @get("/", responses=PUBLIC)
    async def browse(
        self,
        patronage: App,
        category: Annotated[str | None, QueryParameter(
            name="category", max_length=LONGEST_QUERY["category"])] = None,
        tag: Annotated[str | None, QueryParameter(
            name="tag", max_length=LONGEST_QUERY["tag"])] = None,
        content_type: FromQuery[ContentType | None] = None,
        series_id: FromQuery[UUID | None] = None,
        price: Annotated[str | None, QueryParameter(
            name="price", pattern=f"^({'|'.join(PRICES)})$")] = None,
        q: Annotated[str | None, QueryParameter(name="q", max_length=LONGEST_QUERY["q"])] = None,
        sort: FromQuery[Annotated[str | None, Parameter(
            pattern=f"^({'|'.join(SORTS)})$",
            description="Default: relevance with `q`, else newest")]] = None,
        cursor: Annotated[str | None, QueryParameter(
            name="cursor", max_length=LONGEST_QUERY["cursor"])] = None,
        limit: FromQuery[Annotated[int, Parameter(ge=1, le=MOST_A_PAGE)]] = 20,
    ) -> PageOut:
        """Published items, newest or most viewed first, 20 a page.

        Filter by category, tag, type, series and free/paid. `q` searches titles, tags
        and descriptions through the database's full-text index: every word must match
        (as a word or the start of one), best matches first unless `sort` says
        otherwise. Pass the returned `next_cursor` as `cursor` for the next page.
        """
        page = await handle_hot(
            patronage, BrowseCatalog(
                category=category,
                tag=tag,
                content_type=content_type,
                series_id=series_id,
                price=price,
                search=q,
                sort=sort,
                cursor=cursor,
                limit=limit,
            )
        )
        return page_out(page)

    @get("/{slug:str}", sync_to_thread=True, responses=READ, security=OPTIONAL_AUTH)
    def read(
        self, slug: FromPath[str], patronage: App, request: Request[Any, Any, Any]
    ) -> Response[ContentOut]:
        """One item: details, your access decision, and the body (written items) when
        you may read it, a short preview otherwise. Counts a view."""
        detail = patronage.handle(
            GetContent(slug=slug, token=optional_token(request), client_key=client_address(request))
        )
        return Response(content_out(detail), headers=NO_STORE)

    @get("/{content_id:uuid}/access", responses=READ, security=OPTIONAL_AUTH)
    async def access(
        self, content_id: FromPath[UUID], patronage: App, request: Request[Any, Any, Any]
    ) -> AccessOut:
        """May the caller see this item, and why (owner, public, free, grant:…, membership,
        purchase_required, membership_required, prerequisites_incomplete, …)."""
        view = await handle_hot(
            patronage, CheckAccess(content_id=content_id, token=optional_token(request)))
        return access_out(view)

    @post(
        "/{content_id:uuid}/playback",
        status_code=200,
        responses=problems(400, 401, 403, 404, 503),
        security=OPTIONAL_AUTH,
    )
    async def playback(
        self, content_id: FromPath[UUID], patronage: App, request: Request[Any, Any, Any]
    ) -> Response[PlaybackOut]:
        """A signed media URL valid for a few minutes (Range requests supported), issued
        only when the caller may watch; 403 problem with the reason otherwise."""
        result = await handle_hot(
            patronage, RequestPlayback(content_id=content_id, token=optional_token(request))
        )
        return Response(playback_out(result), headers=NO_STORE)

    @put(
        "/{content_id:uuid}/progress",
        responses=AUTHENTICATED,
        security=[{"BearerToken": []}],
    )
    async def progress(
        self,
        content_id: FromPath[UUID],
        data: JSONBody[ProgressBody],
        patronage: App,
        request: Request[Any, Any, Any],
    ) -> ProgressOut:
        """Save the resume position (send it every ~10 s). Completed at 95%, and stays so."""
        view = await handle_hot(
            patronage, RecordProgress(
                content_id=content_id,
                position_seconds=data.position_seconds,
                token=bearer_token(request),
            )
        )
        return progress_out(view)


class SeriesController(Controller):
    path = "/api/v1/series"
    tags = ["catalog"]

    @get("/{slug:str}", responses=READ, security=OPTIONAL_AUTH)
    async def read(
        self, slug: FromPath[str], patronage: App, request: Request[Any, Any, Any]
    ) -> SeriesOut:
        """A series in order, with your access decision for each item."""
        return series_out(await handle_hot(
            patronage, GetSeries(slug=slug, token=optional_token(request))))
