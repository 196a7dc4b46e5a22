"""Client CPU per primary-key lookup: SQLAlchemy Core sync vs async, psycopg 3.

Usage: .venv/bin/python bench/sync_vs_async.py [DATABASE_URL]
Reports microseconds per query for each and the async/sync ratio, in one run.
"""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

URL = sys.argv[1] if len(sys.argv) > 1 else "postgresql+psycopg://postgres@127.0.0.1/postgres"
N = 3000
table = sa.table("bench_kv", sa.column("id", sa.Uuid()), sa.column("v", sa.Integer()))


def setup() -> list[uuid.UUID]:
    engine = sa.create_engine(URL)
    ids = [uuid.uuid4() for _ in range(100)]
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_kv")
        conn.exec_driver_sql("CREATE TABLE bench_kv (id uuid PRIMARY KEY, v int)")
        conn.execute(sa.insert(table), [{"id": i, "v": n} for n, i in enumerate(ids)])
    engine.dispose()
    return ids


def run_sync(ids: list[uuid.UUID]) -> float:
    engine = sa.create_engine(URL)
    query = sa.select(table.c.v).where(table.c.id == sa.bindparam("id"))
    with engine.connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        for i in ids:
            conn.execute(query, {"id": i}).scalar_one()
        start = time.process_time()
        for n in range(N):
            conn.execute(query, {"id": ids[n % len(ids)]}).scalar_one()
        elapsed = time.process_time() - start
    engine.dispose()
    return elapsed / N * 1e6


async def run_async(ids: list[uuid.UUID]) -> float:
    engine = create_async_engine(URL)
    query = sa.select(table.c.v).where(table.c.id == sa.bindparam("id"))
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        for i in ids:
            (await conn.execute(query, {"id": i})).scalar_one()
        start = time.process_time()
        for n in range(N):
            (await conn.execute(query, {"id": ids[n % len(ids)]})).scalar_one()
        elapsed = time.process_time() - start
    await engine.dispose()
    return elapsed / N * 1e6


def main() -> None:
    ids = setup()
    sync_us = run_sync(ids)
    async_us = asyncio.run(run_async(ids))
    print(f"SQLAlchemy Core sync : {sync_us:7.1f} us CPU per query")
    print(f"SQLAlchemy Core async: {async_us:7.1f} us CPU per query")
    print(f"async / sync         : {async_us / sync_us:7.2f}x")
    engine = sa.create_engine(URL)
    with engine.begin() as conn:
        conn.exec_driver_sql("DROP TABLE IF EXISTS bench_kv")
    engine.dispose()


if __name__ == "__main__":
    main()
