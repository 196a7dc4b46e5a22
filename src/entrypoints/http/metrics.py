"""``/metrics`` for Prometheus: requests per route template, and the core's counters.

Only loaded when ``PATRONAGE_METRICS`` is on (see ``adapters/metrics/prometheus.py``
for what is counted and how several processes add up).
"""

from __future__ import annotations

import time
from typing import Any

import sqlalchemy as sa
from litestar import Response, get
from litestar.enums import ScopeType
from litestar.handlers import HTTPRouteHandler
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram

from adapters.metrics.prometheus import PREFIX, exposition, registry_for

METRICS_PATH = "/metrics"


class _Families:
    """The request metrics, made once per process (a registry refuses a name twice)."""

    made: _Families | None = None

    def __init__(self) -> None:
        labels = ("method", "path", "status_code", "app_name")
        self.count = Counter(f"{PREFIX}_requests_total", "Total requests", labels)
        self.errors = Counter(f"{PREFIX}_requests_error_total", "Total errors in requests",
                              labels)
        self.duration = Histogram(f"{PREFIX}_request_duration_seconds",
                                  "Request duration, in seconds", labels)
        self.in_progress = Gauge(f"{PREFIX}_requests_in_progress",
                                 "Total requests currently in progress", labels,
                                 multiprocess_mode="livesum")

    @classmethod
    def get(cls) -> _Families:
        if cls.made is None:
            cls.made = cls()
        return cls.made


class RequestMetrics:
    """Requests per route template: the names and labels of Litestar's Prometheus
    middleware, at a third of its cost per request (decision 17). A labelled
    series is looked up once, then kept; no Request object is built.

    Labelled by the route's template ("/api/v1/content/{slug:str}"), never the raw path.
    Litestar runs app middleware only for paths a route handles, so a scanner cannot
    grow the series.
    """

    def __init__(self, app: ASGIApp | None) -> None:
        self.app: Any = app  # None when the hot routes' layer only counts with it
        self.families = _Families.get()
        self.finished: dict[tuple[str, str, int], tuple[Any, Any, Any | None]] = {}
        self.running: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] == METRICS_PATH:
            await self.app(scope, receive, send)
            return
        method: str = scope["method"]
        path: str = scope.get("path_template") or scope["path"]
        running = self.in_progress(method, path)
        started = time.perf_counter()
        span: list[Any] = [200, 0.0]

        async def timed_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                span[0] = message["status"]
            elif message["type"] == "http.response.body":
                span[1] = time.perf_counter() - started
            await send(message)

        running.inc()
        try:
            await self.app(scope, receive, timed_send)
        finally:
            running.dec()
            self.finish(method, path, span[0], span[1])

    def in_progress(self, method: str, path: str) -> Any:
        """The gauge of the route's requests under way (the caller moves it)."""
        running = self.running.get((method, path))
        if running is None:
            running = self.running[(method, path)] = self.families.in_progress.labels(
                method, path, "200", PREFIX)
        return running

    def finish(self, method: str, path: str, status: int, seconds: float) -> None:
        """One request answered: counted, and its time until the body was sent."""
        key = (method, path, status)
        series = self.finished.get(key)
        if series is None:
            values = (method, path, str(status), PREFIX)
            errors = self.families.errors.labels(*values) if status >= 500 else None
            series = self.finished[key] = (self.families.count.labels(*values),
                                           self.families.duration.labels(*values), errors)
        count, duration, errors = series
        count.inc()
        duration.observe(seconds)
        if errors is not None:
            errors.inc()


def metrics_middleware() -> type[RequestMetrics]:
    return RequestMetrics


def metrics_route(engine: sa.Engine) -> HTTPRouteHandler:
    registry = registry_for(engine)

    @get(METRICS_PATH, sync_to_thread=True, include_in_schema=False)
    def metrics() -> Response[bytes]:
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
