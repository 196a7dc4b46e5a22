"""Prometheus metrics: counters the core increments, and figures read at scrape time.

Several server processes (granian workers) each count their own; with
``PROMETHEUS_MULTIPROC_DIR`` set before any of them starts, prometheus-client keeps the
counts in files there and one scrape of any process adds them all up. Figures that
describe the platform rather than a process (the outbox backlog, dead letters, credits
issued and spent) are read from the database when scraped, so every process reports
the same truth.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from adapters.sqlalchemy.tables import credit_balances, outbox_messages

PREFIX = "patronage"
MULTIPROCESS_ENV = "PROMETHEUS_MULTIPROC_DIR"


class PrometheusMetrics:
    """The core's counters (the ``Metrics`` port). One set per process: prometheus
    metrics are process-wide, whatever number of apps a process builds."""

    _made: dict[str, Any] = {}

    def __init__(self) -> None:
        made = PrometheusMetrics._made
        if not made:
            made["payments"] = Counter(f"{PREFIX}_payments", "Payment events applied",
                                       ["outcome"])
            made["emails"] = Counter(f"{PREFIX}_emails", "Emails handed to the mailer",
                                     ["outcome"])
            made["webhooks"] = Counter(f"{PREFIX}_webhook_events",
                                       "Provider webhook deliveries", ["type", "outcome"])
            made["pool"] = Gauge(f"{PREFIX}_db_connections_in_use",
                                 "Database connections checked out of the pools",
                                 multiprocess_mode="livesum")
            made["waits"] = Histogram(f"{PREFIX}_db_connection_wait_seconds",
                                      "Time to get a database connection from the pool",
                                      buckets=(0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30))
        self._payments: Counter = made["payments"]
        self._emails: Counter = made["emails"]
        self._webhooks: Counter = made["webhooks"]
        self._pool: Gauge = made["pool"]
        self._waits: Histogram = made["waits"]

    def payment(self, outcome: str) -> None:
        self._payments.labels(outcome).inc()

    def email(self, outcome: str) -> None:
        self._emails.labels(outcome).inc()

    def webhook(self, event_type: str, outcome: str) -> None:
        self._webhooks.labels(event_type, outcome).inc()

    def connection_wait(self, seconds: float) -> None:
        self._waits.observe(seconds)

    def watch_pool(self, engine: sa.Engine) -> None:
        """Count the engine's connections in use, as they are checked out and in."""
        gauge = self._pool

        def checked_out(*_: Any) -> None:
            gauge.inc()

        def checked_in(*_: Any) -> None:
            gauge.dec()

        sa.event.listen(engine, "checkout", checked_out)
        sa.event.listen(engine, "checkin", checked_in)


class DatabaseCollector(Collector):
    """What the database says at scrape time: the outbox backlog and its oldest message's
    age, dead letters, and the credits issued and spent over the platform's life."""

    def __init__(self, engine: sa.Engine) -> None:
        self._engine = engine

    def collect(self) -> Iterator[Any]:
        o, c = outbox_messages, credit_balances
        now = datetime.now(UTC)
        try:
            with self._engine.connect() as conn:
                pending, oldest = conn.execute(
                    sa.select(sa.func.count(), sa.func.min(o.c.created_at))
                    .where(o.c.status == "pending")).one()
                dead = conn.execute(sa.select(sa.func.count())
                                    .where(o.c.status == "dead")).scalar_one()
                issued, spent = conn.execute(sa.select(
                    sa.func.coalesce(sa.func.sum(c.c.lifetime_earned), 0),
                    sa.func.coalesce(sa.func.sum(c.c.lifetime_spent), 0))).one()
        except sa.exc.SQLAlchemyError:
            up = GaugeMetricFamily(f"{PREFIX}_database_up", "The database answered the scrape")
            up.add_metric([], 0)
            yield up
            return
        up = GaugeMetricFamily(f"{PREFIX}_database_up", "The database answered the scrape")
        up.add_metric([], 1)
        yield up
        backlog = GaugeMetricFamily(f"{PREFIX}_outbox_pending",
                                    "Outbox messages waiting to be handled")
        backlog.add_metric([], pending)
        yield backlog
        age = GaugeMetricFamily(f"{PREFIX}_outbox_oldest_pending_age_seconds",
                                "Age of the oldest waiting outbox message (0: none)")
        age.add_metric([], (now - oldest).total_seconds() if oldest is not None else 0)
        yield age
        letters = GaugeMetricFamily(f"{PREFIX}_outbox_dead",
                                    "Outbox messages that failed every retry")
        letters.add_metric([], dead)
        yield letters
        credits = CounterMetricFamily(f"{PREFIX}_credits", "Credits over the platform's life",
                                      labels=["movement"])
        credits.add_metric(["issued"], int(issued))
        credits.add_metric(["spent"], int(spent))
        yield credits


def multiprocess_on() -> bool:
    return bool(os.environ.get(MULTIPROCESS_ENV))


def registry_for(engine: sa.Engine) -> CollectorRegistry:
    """The registry a scrape reads: every process's counts (multiprocess) or this
    process's, plus what the database says."""
    if multiprocess_on():
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    else:
        registry = CollectorRegistry()
        registry.register(_ProcessCollector())
    registry.register(DatabaseCollector(engine))
    return registry


class _ProcessCollector(Collector):
    """This process's metrics (the default registry), inside a registry of our own."""

    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def exposition(registry: CollectorRegistry) -> bytes:
    return generate_latest(registry)
