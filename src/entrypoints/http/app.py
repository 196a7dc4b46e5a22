"""The Litestar application factory."""

from __future__ import annotations

import gc
import hashlib
from typing import Any

from litestar import Litestar
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import (
    JsonRenderPlugin,
    OpenAPIRenderPlugin,
    ScalarRenderPlugin,
    SwaggerRenderPlugin,
)
from litestar.openapi.spec import Components, SecurityScheme
from litestar.static_files import create_static_files_router
from litestar.types import ASGIApp
from openapi_ui_bundles import swagger_ui

from adapters.local_storage.storage import LocalMediaStorage
from entrypoints.bootstrap import Patronage, bootstrap
from entrypoints.config import Settings
from entrypoints.dispatch import RetryLoop
from entrypoints.http import local_media, pages
from entrypoints.http.admin import AdminUsersController
from entrypoints.http.analytics import AdminAnalyticsController, StudioAnalyticsController
from entrypoints.http.api_keys import AdminApiKeysController, MyApiKeysController
from entrypoints.http.auth import AuthController
from entrypoints.http.catalog import ContentController, SeriesController
from entrypoints.http.commerce import (
    AdminCommerceController,
    MyCommerceController,
    PurchasesController,
    WebhooksController,
)
from entrypoints.http.cors import CustomDomainOrigins, cors_config
from entrypoints.http.credit_packs import AdminCreditPacksController, CreditPacksController
from entrypoints.http.dependencies import provide_actor, provide_patronage
from entrypoints.http.guard import refuse_unsafe_input
from entrypoints.http.headers import security_headers
from entrypoints.http.health import health, ready
from entrypoints.http.hot_routes import hot_routes
from entrypoints.http.me import MeController
from entrypoints.http.memberships import (
    AdminMembershipsController,
    AdminTiersController,
    MyMembershipController,
    SubscriptionsController,
    TiersController,
)
from entrypoints.http.notifications import MyNotificationsController
from entrypoints.http.offerings import (
    BookingsController,
    CalendarFeedController,
    MyBookingsController,
    MyCalendarFeedController,
    OfferingsController,
    PortalsController,
    StudioOfferingsController,
    StudioResourcesController,
)
from entrypoints.http.openapi import mark_closed_bodies
from entrypoints.http.payouts import (
    AdminEarningsController,
    AdminMediaOwnersController,
    MediaOwnerInvitationsController,
    StudioPayoutsController,
)
from entrypoints.http.problems import EXCEPTION_HANDLERS
from entrypoints.http.request_context import request_context
from entrypoints.http.settings import SettingsController
from entrypoints.http.studio import StudioContentController, StudioSeriesController

MAX_BODY_BYTES = 1024 * 1024
OUTBOX_RETRY_SECONDS = 10.0


DOCS_ASSETS = "/schema/assets"


def docs_ui(mode: str) -> list[OpenAPIRenderPlugin]:
    """Swagger UI from an installed package (works offline and under a strict CSP);
    Scalar only when asked for, since it loads from a CDN; or no UI at all."""
    if mode == "off":
        # With no plugin at all Litestar would fall back to its CDN-loaded defaults.
        return [JsonRenderPlugin(path="/openapi.json")]
    local = SwaggerRenderPlugin(
        path=["/docs", "/swagger"] if mode == "local" else "/swagger",
        js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
        css_url=f"{DOCS_ASSETS}/swagger-ui.css",
        standalone_preset_js_url=f"{DOCS_ASSETS}/swagger-ui-standalone-preset.js",
        favicon=f"<link rel='icon' type='image/png' href='{DOCS_ASSETS}/favicon-32x32.png'>",
    )
    if mode == "cdn":
        return [ScalarRenderPlugin(path="/docs"), local]
    return [local]


def create_app(patronage: Patronage, *, outbox_retry_seconds: float | None = None) -> Litestar:
    """The API around a wired core.

    With ``outbox_retry_seconds``, each server process also retries failed event
    handlers; SKIP LOCKED lets several processes do so safely. The loop starts in
    the worker process itself (never before the server forks its workers).
    """
    retry = (
        RetryLoop(patronage.process_outbox, outbox_retry_seconds)
        if outbox_retry_seconds
        else None
    )

    def shutdown() -> None:
        if retry is not None:
            retry.stop()
        patronage.close()

    settings = patronage.settings
    openapi = OpenAPIConfig(
        title="Patronage API",
        use_handler_docstrings=True,
        version="1",
        description=(
            "Self-hostable backend for creators. Errors are RFC 9457 problem+json with a "
            "stable `code`. Authenticate with `Authorization: Bearer <token>` from "
            "`POST /api/v1/auth/login`."
        ),
        path="/schema",
        render_plugins=docs_ui(settings.docs_ui),
        components=Components(
            security_schemes={
                "BearerToken": SecurityScheme(
                    type="http", scheme="bearer", description=(
                        "An opaque session token from POST /api/v1/auth/login, or an API "
                        "key (pat_…) from POST /api/v1/me/api-keys: a key works only on "
                        "the routes of its scopes (docs/decisions/0020-api-keys.md)")
                ),
            }
        ),
    )
    handlers: list[Any] = [health, ready, AuthController, MeController, SettingsController,
                           AdminUsersController, ContentController, SeriesController,
                           StudioContentController, StudioSeriesController,
                           PurchasesController, MyCommerceController, WebhooksController,
                           AdminCommerceController, TiersController, AdminTiersController,
                           SubscriptionsController, MyMembershipController,
                           AdminMembershipsController, StudioOfferingsController,
                           OfferingsController, BookingsController, MyBookingsController,
                           StudioResourcesController, PortalsController,
                           MyCalendarFeedController, CalendarFeedController,
                           CreditPacksController, AdminCreditPacksController,
                           AdminMediaOwnersController, MediaOwnerInvitationsController,
                           StudioPayoutsController, AdminEarningsController,
                           MyApiKeysController, AdminApiKeysController,
                           MyNotificationsController, AdminAnalyticsController,
                           StudioAnalyticsController]
    if isinstance(patronage.services.media, LocalMediaStorage):
        handlers += [local_media.upload, local_media.download]
    handlers.append(pages.with_csrf(
        # Only the HTML forms use cookies; the API authenticates with bearer tokens.
        secret=hashlib.sha256(b"csrf|" + settings.signing_secret()).hexdigest(),
        secure_cookie=settings.public_url.startswith("https://")))
    if settings.docs_ui != "off":
        handlers.append(create_static_files_router(
            path=DOCS_ASSETS, directories=[swagger_ui.static_path], include_in_schema=False,
            cache_control=CacheControlHeader(max_age=86400, public=True)))
    middleware: list[Any] = [request_context(access=settings.access_log)]
    if settings.metrics:
        from entrypoints.http.metrics import metrics_middleware, metrics_route

        middleware.append(metrics_middleware())
        if settings.metrics_port is None:
            handlers.append(metrics_route(patronage.engine))
    app = Litestar(
        route_handlers=handlers,
        dependencies={
            "patronage": provide_patronage(patronage),
            "actor": Provide(provide_actor, sync_to_thread=True),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        before_request=refuse_unsafe_input,
        cors_config=cors_config(settings.public_url, settings.cors_origins,
                                CustomDomainOrigins(patronage)),
        middleware=middleware,
        before_send=[edge_headers(settings)],
        openapi_config=openapi,
        state=State({"patronage": patronage}),
        request_max_body_size=MAX_BODY_BYTES,
        on_startup=[retry.start] if retry is not None else [],
        on_shutdown=[shutdown],
        # Our own logging (Settings.configure_logging) stays in place: Litestar's default
        # config would replace the root handlers, and with them the redaction filter.
        logging_config=None,
    )
    mark_closed_bodies(app)
    return app


def edge_headers(settings: Settings) -> Any:
    """The security headers' hook for every response (`entrypoints.http.headers`)."""
    return security_headers(https=settings.public_url.startswith("https://"),
                            docs_cdn=settings.docs_ui == "cdn")


def served(app: ASGIApp) -> ASGIApp:
    """The app as a server process keeps it until it exits: everything built so far (the
    app, the core, the imported modules) is moved out of the garbage collector's sight.
    Its full collections then walk only what requests create: they took 0.31 s of each
    worker's CPU in a 10-second purchase run, 0.18 to 0.20 s after this (decision 9)."""
    gc.freeze()
    return app


def serving(settings: Settings, *, outbox_retry_seconds: float | None) -> ASGIApp:
    """What a server process serves: the app behind the hot routes' layer."""
    patronage = bootstrap(settings, dispatch="background")
    app = create_app(patronage, outbox_retry_seconds=outbox_retry_seconds)
    return served(hot_routes(app, patronage, before_send=edge_headers(settings),
                             access_log=settings.access_log, metrics=settings.metrics))


def app_from_env() -> ASGIApp:
    """Factory for the ASGI server (``granian --factory``): settings from the environment."""
    settings = Settings.from_env()
    settings.configure_logging()
    return serving(settings, outbox_retry_seconds=OUTBOX_RETRY_SECONDS)


def app_without_retry() -> ASGIApp:
    settings = Settings.from_env()
    settings.configure_logging()
    return serving(settings, outbox_retry_seconds=None)
