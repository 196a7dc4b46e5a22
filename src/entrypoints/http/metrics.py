"""``/metrics`` for Prometheus: requests per route template, and the core's counters.

Only loaded when ``PATRONAGE_METRICS`` is on (see ``adapters/metrics/prometheus.py``
for what is counted and how several processes add up).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from litestar import Response, get
from litestar.handlers import HTTPRouteHandler
from litestar.plugins.prometheus import PrometheusConfig
from prometheus_client import CONTENT_TYPE_LATEST

from adapters.metrics.prometheus import PREFIX, exposition, registry_for

METRICS_PATH = "/metrics"


def metrics_middleware() -> Any:
    # Labelled by the route's template ("/api/v1/content/{slug:str}"), never the raw
    # path; paths no route handles are left out, so a scanner cannot grow the series.
    return PrometheusConfig(app_name=PREFIX, prefix=PREFIX, group_path=True,
                            exclude_unhandled_paths=True, exclude=[METRICS_PATH]).middleware


def metrics_route(engine: sa.Engine) -> HTTPRouteHandler:
    registry = registry_for(engine)

    @get(METRICS_PATH, sync_to_thread=True, include_in_schema=False)
    def metrics() -> Response[bytes]:
        return Response(exposition(registry), media_type=CONTENT_TYPE_LATEST)

    return metrics
