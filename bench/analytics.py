"""What the daily aggregation costs, and what reading it costs, as ratios in one run.

    .venv/bin/python bench/analytics.py [--events 1000000] [--items 1000]

1. One day holding --events journal events (views, plays and completions over --items
   items, plus a sale per item in the earnings ledger) is aggregated into analytics_daily
   (`AggregateAnalytics` for that day), against a plain `SELECT count(*)` over the same
   day's events: the ratio is what building the day costs over merely counting it.
2. A 365-day series read over HTTP (`GET /api/v1/admin/analytics?metric=views`, in
   process) with a year of aggregates, first after a day of 10,000 events, then after
   the full day: reads touch analytics_daily only, so the ratio should stay near 1.

Builds a throwaway PostgreSQL database (dropped afterwards); prints medians of several
runs and writes bench/results/analytics.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from litestar.testing import TestClient  # noqa: E402

from adapters.sqlalchemy import migrate  # noqa: E402
from adapters.sqlalchemy.engine import normalise_url  # noqa: E402
from application.analytics.aggregation import AggregateAnalytics  # noqa: E402
from application.identity.login import Login  # noqa: E402
from application.identity.registration import CreateUser  # noqa: E402
from application.principal import Principal  # noqa: E402
from domain.identity.roles import Role  # noqa: E402
from entrypoints.bootstrap import bootstrap  # noqa: E402
from entrypoints.config import Settings  # noqa: E402
from entrypoints.http.app import create_app  # noqa: E402

ADMIN_URL = os.environ.get("PATRONAGE_TEST_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
DAY = date(2026, 11, 30)
PASSWORD = "a long bench passphrase"
NAME = "patronage_bench_analytics"


def _admin(sql: str) -> None:
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(sql)
    admin.dispose()


def create_database(name: str) -> str:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    _admin(f'CREATE DATABASE "{name}"')
    return normalise_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def median_ms(action: Callable[[], object], runs: int) -> float:
    action()  # warm the caches and the plan
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def seed(engine: sa.Engine, items: int) -> None:
    with engine.begin() as conn:
        conn.exec_driver_sql("""
            INSERT INTO users (id, email, password_hash, full_name, role, email_verified_at)
            SELECT gen_random_uuid(), 'creator' || n || '@example.com', 'x', 'Creator',
                   'platform_creator', now()
            FROM generate_series(1, 10) AS n""")
        conn.exec_driver_sql(f"""
            INSERT INTO content (id, creator_id, title, slug, content_type, visibility,
                                 price, status)
            SELECT gen_random_uuid(),
                   (SELECT id FROM users ORDER BY id OFFSET mod(n, 10) LIMIT 1),
                   'Item ' || n, 'item-' || n, 'video', 'purchased_only', 10, 'published'
            FROM generate_series(1, {items}) AS n""")
        # A sale of each item on the day, as the earnings ledger keeps them.
        conn.exec_driver_sql(f"""
            INSERT INTO earnings_entries (id, seller_id, entry_type, source_type, source_id,
                content_id, reference, payment_ref, currency, amount, platform_fee,
                creator_payout, occurred_at)
            SELECT gen_random_uuid(), c.creator_id, 'sale', 'purchase', gen_random_uuid(),
                   c.id, 'pi_' || c.slug, 'pi_' || c.slug, 'usd', 10, 0, 10,
                   '{DAY}'::timestamptz + interval '12 hours'
            FROM content c""")


def add_events(engine: sa.Engine, count: int, offset: int) -> None:
    """``count`` events on DAY spread over the items: 80 % views, 15 % plays, 5 %
    completions (plays and completions keyed once per viewer and item, as the app does)."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            WITH items AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k FROM content),
                 n AS (SELECT g, mod(g, 20) AS kind, (SELECT count(*) FROM content) AS total
                       FROM generate_series({offset}, {offset + count - 1}) AS g)
            INSERT INTO events (id, event_type, event_data, subject_type, subject_id,
                                source_key, created_at, recorded_at)
            SELECT gen_random_uuid(),
                   CASE WHEN kind < 16 THEN 'content.viewed' WHEN kind < 19
                        THEN 'content.played' ELSE 'content.completed' END,
                   '{{}}', 'content', items.id,
                   CASE WHEN kind < 16 THEN NULL ELSE 'bench:' || g END,
                   '{DAY}'::timestamptz + mod(g, 86400) * interval '1 second', now()
            FROM n JOIN items ON items.k = mod(n.g, n.total)""")
        conn.exec_driver_sql("ANALYZE events")


def year_of_aggregates(engine: sa.Engine) -> None:
    """365 days before DAY as the aggregation leaves them: a total and a row per item."""
    with engine.begin() as conn:
        conn.exec_driver_sql(f"""
            INSERT INTO analytics_daily (day, metric, dimension, value)
            SELECT d::date, 'views', 'item:' || c.id, 100
            FROM generate_series('{DAY}'::date - 365, '{DAY}'::date - 1, interval '1 day') d
            CROSS JOIN content c""")
        conn.exec_driver_sql(f"""
            INSERT INTO analytics_daily (day, metric, dimension, value)
            SELECT d::date, 'views', '', 100 * (SELECT count(*) FROM content)
            FROM generate_series('{DAY}'::date - 365, '{DAY}'::date - 1, interval '1 day') d""")
        conn.exec_driver_sql("ANALYZE analytics_daily")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--items", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    url = create_database(NAME)
    try:
        migrate.upgrade(url)
        settings = Settings(database_url=url, data_dir=Path("/tmp") / NAME)
        core = bootstrap(settings)
        engine = core.engine
        seed(engine, args.items)
        year_of_aggregates(engine)
        core.handle(CreateUser(actor=Principal.system(), email="owner@example.com",
                               password=PASSWORD, full_name="Owner",
                               role=Role.PLATFORM_OWNER, verified=True))
        token = str(core.handle(Login(email="owner@example.com", password=PASSWORD)).token)
        system = Principal.system()
        span = (f"metric=views&group=day&from={DAY - timedelta(days=364)}&to={DAY}")
        results: dict[str, float] = {}
        with TestClient(app=create_app(core)) as client:
            def read() -> None:
                answer = client.get(f"/api/v1/admin/analytics?{span}",
                                    headers={"Authorization": f"Bearer {token}"})
                assert answer.status_code == 200, answer.text
                assert len(answer.json()["points"]) == 365

            small = min(10_000, args.events)
            add_events(engine, small, 0)
            core.handle(AggregateAnalytics(actor=system, first=DAY, last=DAY))
            results["read 365 days, 10k events"] = median_ms(read, args.runs * 4)
            add_events(engine, args.events - small, small)
            core.handle(AggregateAnalytics(actor=system, first=DAY, last=DAY))
            results[f"read 365 days, {args.events:,} events"] = median_ms(read, args.runs * 4)

        start = datetime.combine(DAY, datetime.min.time(), tzinfo=UTC)

        def count() -> None:
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT count(*) FROM events WHERE created_at >= :s "
                                     "AND created_at < :e"),
                             {"s": start, "e": start + timedelta(days=1)}).scalar_one()

        results["count(*) of the day"] = median_ms(count, args.runs)
        results["aggregate the day"] = median_ms(
            lambda: core.handle(AggregateAnalytics(actor=system, first=DAY, last=DAY)),
            args.runs)
        core.close()
    finally:
        drop_database(NAME)

    baseline = results["count(*) of the day"]
    print(f"{args.events:,} events on one day, {args.items:,} items, median of {args.runs}")
    for name, ms in results.items():
        print(f"  {name:<32} {ms:9.1f} ms")
    aggregate_ratio = results["aggregate the day"] / baseline
    reads = [v for k, v in results.items() if k.startswith("read")]
    read_ratio = reads[1] / reads[0]
    print(f"  aggregation / count(*)           {aggregate_ratio:9.1f} x")
    print(f"  read after {args.events:,} / after 10k {read_ratio:9.2f} x")
    out = ROOT / "bench" / "results"
    out.mkdir(exist_ok=True)
    (out / "analytics.json").write_text(json.dumps(
        {"events": args.events, "items": args.items, "ms": results,
         "aggregate_over_count": aggregate_ratio, "read_growth": read_ratio}, indent=2))


if __name__ == "__main__":
    main()
