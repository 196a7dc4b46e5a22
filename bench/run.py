"""Throughput of the hot paths as ratios to a bare Litestar endpoint, in one run.

    make bench                      # or: .venv/bin/python bench/run.py [--rows N]
    .venv/bin/python bench/run.py --database sqlite     # the embedded default

"access (metrics)" is the access check on the same app with Prometheus metrics on
(two processes counting into one folder); the run ends with what metrics cost.
"access (peer)" is the same check written the common way (`bench/peer/app.py`:
Litestar and the SQLAlchemy ORM), served the same way on the same database.

Each row runs in --rounds rounds (default 3), each a /plain run and then the row; the
row keeps the round whose ratio is the median (its req/s, /plain and latencies are that
round's; "rounds" shows the lowest and highest ratio, "errors" counts them all): the
machine's speed drifts within a run, and one pair decides less than three. "CPU us" is
the median round's CPU time per request of the server that answered and of the local
PostgreSQL, what a write row left to the outbox included (from /proc, Linux only): it
moves less with the machine's speed than req/s does.

Builds a throwaway PostgreSQL database with --rows content items (default 100,000),
(with --database sqlite, copies it into a migrated SQLite file and serves that),
sessions and grants, serves the baseline app and Patronage with granian (2 workers
each, like production on this machine), and drives each endpoint with wrk
(-t2 -c64); after a row that writes, waits until the mail and notifications it left to
the servers' background dispatch are sent, so each row runs alone. Prints req/s, the
ratio to /plain, and latency percentiles; writes bench/results/latest.json. Needs wrk
(apt-get install wrk).
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from proc_cpu import cpu_seconds  # noqa: E402

from adapters.sqlalchemy import migrate  # noqa: E402
from adapters.sqlalchemy.engine import create_engine, normalise_url  # noqa: E402

ADMIN_URL = os.environ.get("PATRONAGE_TEST_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
USERS = 64
# Rows whose every request writes something new (so no warm-up), and leaves work to the
# outbox.
ONE_SHOT_WRITES = ("purchase start", "webhook ingest", "booking (credits)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def create_database(name: str) -> str:
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
    admin.dispose()
    return normalise_url(ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_database(name: str) -> None:
    admin = sa.create_engine(normalise_url(ADMIN_URL), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.dispose()


def seed(url: str, rows: int, grants: int = 50) -> dict[str, list[str]]:
    """Users, sessions, `rows` published items (1 in 5 a video, 1 in 7 members-only),
    `grants` grants per user, and a tier with half the users as members."""
    engine = sa.create_engine(url)
    tokens = [secrets.token_urlsafe(32) for _ in range(USERS)]
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "INSERT INTO users (id, email, password_hash, full_name, role, email_verified_at) "
            "VALUES (gen_random_uuid(), 'owner@bench.test', 'x', 'Owner', 'platform_owner', now())")
        for n, token in enumerate(tokens):
            user_id = conn.exec_driver_sql(
                "INSERT INTO users (id, email, password_hash, full_name, role, "
                "email_verified_at) VALUES (gen_random_uuid(), %s, 'x', 'C', 'customer', now()) "
                "RETURNING id", (f"c{n}@bench.test",)).scalar_one()
            conn.exec_driver_sql(
                "INSERT INTO auth_sessions (id, user_id, token_hash, expires_at) VALUES "
                "(gen_random_uuid(), %s, %s, now() + interval '1 day')",
                (user_id, hashlib.sha256(token.encode()).hexdigest()))
        conn.exec_driver_sql(f"""
            INSERT INTO content (id, creator_id, title, slug, content_type, category, tags,
                                 visibility, price, status, published_at, view_count,
                                 media_url, media_duration_seconds, content_body,
                                 description)
            SELECT gen_random_uuid(), (SELECT id FROM users WHERE role = 'platform_owner'),
                   'Item ' || i, 'item-' || i,
                   CASE WHEN mod(i, 5) = 0 THEN 'video' ELSE 'written' END,
                   'category-' || mod(i, 20), jsonb_build_array('tag-' || mod(i, 50)),
                   CASE WHEN mod(i, 7) = 0 THEN 'members_only' ELSE 'purchased_only' END,
                   CASE WHEN mod(i, 3) = 0 OR mod(i, 7) = 0 THEN NULL ELSE 9.00 END,
                   'published', now() - make_interval(secs => i), mod(i, 997),
                   CASE WHEN mod(i, 5) = 0 THEN 'content/bench/' || i || '.mp4' END,
                   CASE WHEN mod(i, 5) = 0 THEN 1800 END,
                   CASE WHEN mod(i, 5) <> 0 THEN '<p>Body ' || i || '</p>' END,
                   -- Words for the search rows: one in 20 items is about pilates, one
                   -- in 10,000 mentions a zephyr, and nothing mentions a zyzzyva.
                   CASE WHEN mod(i, 10000) = 0 THEN 'A rare zephyr lesson'
                        ELSE 'A lesson about ' || (ARRAY['pilates', 'yoga', 'bread',
                             'knives', 'jazz', 'piano', 'running', 'painting', 'pottery',
                             'chess', 'guitar', 'singing', 'cycling', 'swimming', 'tennis',
                             'baking', 'drawing', 'writing', 'gardening', 'coding'])[
                             mod(i, 20) + 1] END
            FROM generate_series(1, {rows}) AS i""")
        conn.exec_driver_sql(f"""
            INSERT INTO content_access (id, user_id, content_id, access_type)
            SELECT gen_random_uuid(), u.id, c.id, 'purchased'
            FROM users u CROSS JOIN LATERAL (
                SELECT id FROM content WHERE content_type = 'video' AND price IS NOT NULL
                ORDER BY md5(u.id::text || id::text) LIMIT {grants}) c
            WHERE u.role = 'customer'""")
        conn.exec_driver_sql(
            "INSERT INTO subscription_tiers (id, name, price_monthly) "
            "VALUES (gen_random_uuid(), 'Bench members', 10.00)")
        conn.exec_driver_sql("""
            INSERT INTO subscriptions (id, customer_id, tier_id, stripe_subscription_id,
                                       billing_period, current_period_start,
                                       current_period_end, status)
            SELECT gen_random_uuid(), u.id, (SELECT id FROM subscription_tiers), 'sub_' || u.n,
                   'monthly', now(), now() + interval '30 days', 'active'
            FROM (SELECT id, row_number() OVER (ORDER BY id) AS n FROM users
                  WHERE role = 'customer') u WHERE u.n <= 32""")
        # A 1:1 offering bookable every day, 09:00-21:00 in 30-minute slots, with 500
        # bookings over its next weeks; and a daily class paid with credits.
        owner = conn.exec_driver_sql(
            "SELECT id FROM users WHERE role = 'platform_owner'").scalar_one()
        conn.exec_driver_sql("""
            INSERT INTO offerings (id, creator_id, title, slug, offering_type, capacity_type,
                                   max_participants, delivery_method, schedule, price,
                                   credit_cost, status, published_at, timezone)
            VALUES (gen_random_uuid(), %s, 'Coaching', 'coaching', 'recurring_bookable',
                    'one_on_one', 1, 'online', %s, 50.00, NULL, 'published', now(), 'UTC')""",
            (owner, json.dumps({
                "availability": {day: [{"start": "09:00", "end": "21:00"}] for day in (
                    "monday", "tuesday", "wednesday", "thursday", "friday", "saturday",
                    "sunday")},
                "session_minutes": 30, "buffer_minutes": 0, "minimum_notice_hours": 0,
                "booking_window_days": 60})))
        conn.exec_driver_sql("""
            INSERT INTO offering_bookings (id, customer_id, offering_id, payment_method,
                                           status, session_key, starts_at, ends_at,
                                           booking_details)
            SELECT gen_random_uuid(), (SELECT id FROM users WHERE role = 'customer' LIMIT 1),
                   (SELECT id FROM offerings WHERE slug = 'coaching'), 'purchase',
                   'confirmed', to_char(t, 'YYYY-MM-DD"T"HH24:MI:SS+00:00'), t,
                   t + interval '30 minutes', '{}'
            FROM (SELECT date_trunc('day', now()) + interval '1 day' * (n / 24)
                         + interval '9 hours' + interval '30 minutes' * (n %% 24) AS t
                  FROM generate_series(0, 499) AS n) slots""")
        conn.exec_driver_sql("""
            INSERT INTO offerings (id, creator_id, title, slug, offering_type, capacity_type,
                                   delivery_method, schedule, credit_cost, status,
                                   published_at, timezone, payment_options)
            VALUES (gen_random_uuid(), %s, 'Daily class', 'daily-class', 'recurring_fixed',
                    'unlimited', 'online', %s, 1, 'published', now(), 'UTC',
                    '{"pay_per_session": true}')""",
            (owner, json.dumps({"pattern": "weekly", "day": "monday", "time": "07:00",
                                "duration_minutes": 30,
                                "start_date": time.strftime("%Y-%m-%d"), "count": 1000})))
        # Credits for every customer, as one consistent grant each.
        conn.exec_driver_sql("""
            WITH grant_rows AS (
                INSERT INTO credit_transactions (id, customer_id, type, amount, balance_after,
                                                 entry_number, description)
                SELECT gen_random_uuid(), id, 'adjustment', 100000, 100000, 1, 'bench'
                FROM users WHERE role = 'customer' RETURNING customer_id)
            INSERT INTO credit_balances (id, customer_id, current_balance, lifetime_earned)
            SELECT gen_random_uuid(), customer_id, 100000, 100000 FROM grant_rows""")
        classes = conn.exec_driver_sql("""
            SELECT (SELECT id FROM offerings WHERE slug = 'daily-class'), s.token_hash,
                   to_char(date_trunc('week', now()) + interval '7 days' * w
                           + interval '7 hours', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
            FROM auth_sessions s CROSS JOIN generate_series(1, 400) AS w""").all()
        conn.exec_driver_sql("ANALYZE")
        members = conn.exec_driver_sql("""
            SELECT c.id, s.token_hash FROM subscriptions m
            JOIN auth_sessions s ON s.user_id = m.customer_id
            CROSS JOIN LATERAL (
                SELECT id FROM content WHERE visibility = 'members_only'
                ORDER BY md5(m.id::text || id::text) LIMIT 50) c""").all()
        pairs = conn.exec_driver_sql("""
            SELECT ca.content_id, s.token_hash FROM content_access ca
            JOIN auth_sessions s ON s.user_id = ca.user_id""").all()
        # Priced items nobody owns yet, spread over the users, for purchase starts.
        buyable = conn.exec_driver_sql("""
            SELECT c.id, s.token_hash FROM (
                SELECT id, row_number() OVER (ORDER BY id) AS n FROM content
                WHERE price IS NOT NULL AND content_type = 'written' LIMIT 40000) c
            JOIN (SELECT token_hash, row_number() OVER (ORDER BY token_hash) - 1 AS k
                  FROM auth_sessions) s ON s.k = mod(c.n, 64)""").all()
    # As pgbench does before a run: the bulk load vacuumed and flushed now, rather than
    # by autovacuum or a checkpoint in the middle of a measured row (one run's catalog
    # row had a p99 of 423 ms against a p50 of 17 ms; its cause was not established).
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM (ANALYZE)")
        # A role that is neither superuser nor pg_checkpoint may not: then it is skipped.
        with contextlib.suppress(sa.exc.DBAPIError):
            conn.exec_driver_sql("CHECKPOINT")
    engine.dispose()
    by_hash = {hashlib.sha256(t.encode()).hexdigest(): t for t in tokens}
    return {"pairs": [f"{by_hash[h]} {cid}" for cid, h in pairs],
            "members": [f"{by_hash[h]} {cid}" for cid, h in members],
            "classes": [f"{by_hash[h]} {oid}|{when}" for oid, h, when in classes],
            "buyable": [f"{by_hash[h]} {cid}" for cid, h in buyable]}


def copy_to_sqlite(pg_url: str, sqlite_url: str) -> None:
    """The seeded rows, table by table, into a migrated SQLite file: the same data on
    the embedded default (its search index fills through its triggers)."""
    from adapters.sqlalchemy.engine import create_engine
    from adapters.sqlalchemy.tables import metadata

    source, target = create_engine(pg_url), create_engine(sqlite_url)
    try:
        with source.connect() as src, target.begin() as dst:
            dst.exec_driver_sql("DELETE FROM platform_settings")
            for table in metadata.sorted_tables:
                result = src.execution_options(yield_per=5000).execute(sa.select(table))
                for chunk in result.mappings().partitions():
                    dst.execute(table.insert(), [dict(row) for row in chunk])
            dst.exec_driver_sql("ANALYZE")
    finally:
        source.dispose()
        target.dispose()


def signed_events(count: int, secret: str) -> list[str]:
    """Distinct, correctly signed Stripe events (their intents are unknown: recorded once)."""
    from stripe import WebhookSignature

    lines = []
    for n in range(count):
        body = json.dumps({"id": f"evt_bench_{n}", "object": "event",
                           "type": "payment_intent.succeeded", "created": int(time.time()),
                           "data": {"object": {"id": f"pi_bench_{n}", "amount": 900,
                                               "currency": "usd", "metadata": {}}}},
                          separators=(",", ":"))
        header = WebhookSignature.generate_signature_header(body, secret)
        lines.append(f"{header}\t{body}")
    return lines


def serve(args: list[str], env: dict[str, str], port: int, probe: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [str(BIN / "granian"), "--interface", "asgi", "--host", "127.0.0.1", "--port",
         str(port), "--workers", "2", "--no-access-log", *args],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}{probe}", timeout=1).status_code < 500:
                return proc
        except httpx.TransportError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit(f"server on {port} did not start")


# wrk runs one Lua state per thread (-t2): each takes every other entry, so
# one-shot requests (purchases, new events) are not sent twice. Each thread formats its
# requests once, in init (before wrk starts its clock): formatting each request as it
# was sent cost wrk 17 to 24 us of user CPU a request, on the two cores the servers
# use; formatted in advance, 9 to 14 us (the /plain row's built-in request: 2 us).
STRIDE_LUA = """
local threads = {}
function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end
built = {}
function init(args)
  -- A later round of the same row starts past every entry the earlier ones took.
  n = tid + 2 * math.floor((tonumber(args[1]) or 0) / 2)
  build()
end
function done(summary, latency, requests)
  local last = 0
  for _, thread in ipairs(threads) do last = math.max(last, thread:get("n")) end
  print("last entry: " .. math.floor(last))
end
"""

WEBHOOK_LUA = STRIDE_LUA + """
local events = {}
for line in io.lines("%(events)s") do
  local header, body = line:match("([^\t]+)\t(.+)")
  table.insert(events, {header, body})
end
function build()
  for i, e in ipairs(events) do
    built[i] = wrk.format("POST", "/api/v1/webhooks/stripe",
                          {["Stripe-Signature"] = e[1], ["Content-Type"] = "application/json"},
                          e[2])
  end
end
request = function()
  n = n + 2
  return built[(n %% #built) + 1]
end
"""

LUA = STRIDE_LUA.replace("%", "%%") + """
local pairs = {}
for line in io.lines("%(pairs)s") do
  local token, id = line:match("(%%S+) (%%S+)")
  table.insert(pairs, {token, id})
end
function build()
  for i, p in ipairs(pairs) do
    local path = string.gsub("%(path)s", "{id}", p[2])
    local headers = {["Authorization"] = "Bearer " .. p[1],
                     ["Content-Type"] = "application/json"}
    local body = nil
    -- A resume position changes with every request: its body is the one part made per
    -- request, padded with spaces (valid JSON) so the length is known here.
    if "%(method)s" == "PUT" then body = '{"position_seconds": 0000}' end
    if "%(body)s" == "purchase" then body = '{"content_id": "' .. p[2] .. '"}' end
    if "%(body)s" == "booking" then
      local offering, when = p[2]:match("([^|]+)|(.+)")
      body = '{"offering_id": "' .. offering .. '", "payment_method": "credits", ' ..
             '"starts_at": "' .. when .. '"}'
    end
    local request = wrk.format("%(method)s", path, headers, body)
    if "%(method)s" == "PUT" then request = request:sub(1, #request - #body) end
    built[i] = request
  end
end
request = function()
  n = n + 2
  local r = built[(n %% #built) + 1]
  if "%(method)s" == "PUT" then
    return r .. string.format('{"position_seconds": %%4d}', n %% 1700)
  end
  return r
end
"""


def wrk(url: str, seconds: int, connections: int, script: str | None = None,
        offset: int = 0) -> dict[str, float]:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = subprocess.run([*cmd, url, "--", str(offset)], capture_output=True, text=True,
                         check=True).stdout
    found = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    rps = float(found.group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)

    def pct(label: str) -> float:
        m = re.search(rf"{label}%\s+([\d.]+)(us|ms|s)", out)
        if not m:
            return float("nan")
        value, unit = float(m.group(1)), m.group(2)
        return value / 1000 if unit == "us" else value * 1000 if unit == "s" else value

    last = re.search(r"last entry: (\d+)", out)
    sent = re.search(r"(\d+) requests in", out)
    return {"rps": rps, "p50_ms": pct("50"), "p99_ms": pct("99"),
            "errors": float(non2xx.group(1)) if non2xx else 0.0,
            "last_entry": float(last.group(1)) if last else 0.0,
            "requests": float(sent.group(1)) if sent else 0.0}


def drained(url: str, limit: float = 120) -> float:
    """Waits until the outbox holds nothing pending (the mail and notifications a write
    row left to the servers' background dispatch), so that the next row runs alone.
    Returns the seconds waited."""
    engine = create_engine(url)
    started = time.monotonic()
    try:
        while time.monotonic() - started < limit:
            with engine.connect() as conn:
                if not conn.exec_driver_sql(
                        "SELECT 1 FROM outbox_messages WHERE status = 'pending' LIMIT 1"
                ).first():
                    break
            time.sleep(0.2)
    finally:
        engine.dispose()
    return time.monotonic() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--seconds", type=int, default=10)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3,
                        help="/plain-then-row pairs per row; the median pair's ratio is kept")
    parser.add_argument("--grants", type=int, default=50,
                        help="grants per user (64 users): 156 ≈ 10k, 15625 = 1M")
    parser.add_argument("--database", choices=("postgresql", "sqlite"), default="postgresql",
                        help="what Patronage serves from (the data is seeded the same)")
    parser.add_argument("--only", nargs="*", default=None,
                        help="endpoint labels to run, e.g. 'access check'")
    opts = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("wrk is needed: `make bench` installs it, or apt-get install wrk")

    name = "patronage_bench"
    url = create_database(name)
    workdir = Path(tempfile.mkdtemp(prefix="patronage-bench-"))
    servers: list[subprocess.Popen[bytes]] = []
    try:
        migrate.upgrade(url)
        started = time.monotonic()
        data = seed(url, opts.rows, opts.grants)
        print(f"seeded {opts.rows} items in {time.monotonic() - started:.1f}s")
        served_url = url
        if opts.database == "sqlite":
            started = time.monotonic()
            served_url = f"sqlite:///{workdir}/bench.db"
            migrate.upgrade(served_url)
            copy_to_sqlite(url, served_url)
            print(f"copied into SQLite in {time.monotonic() - started:.1f}s")
        pairs_file = workdir / "pairs.txt"
        pairs_file.write_text("\n".join(data["pairs"]) + "\n")
        members_file = workdir / "members.txt"
        members_file.write_text("\n".join(data["members"]) + "\n")
        classes_file = workdir / "classes.txt"
        classes_file.write_text("\n".join(data["classes"]) + "\n")

        env = {**os.environ, "PYTHONPATH": f"{ROOT / 'src'}:{ROOT / 'bench'}",
               "PATRONAGE_DATABASE_URL": served_url,
               "PATRONAGE_DATA_DIR": str(workdir / "var"),
               "PATRONAGE_SECRET_KEY": secrets.token_urlsafe(48)}
        plain_port, app_port = free_port(), free_port()
        servers.append(serve(["plain_app:app"], env, plain_port, "/plain"))
        servers.append(serve(["--factory", "entrypoints.http.app:app_without_retry"], env,
                             app_port, "/health"))
        group_by_port = {app_port: servers[-1].pid}
        peer_port = free_port()
        servers.append(serve(["peer.app:app"], env, peer_port, "/health"))
        group_by_port[peer_port] = servers[-1].pid

        buyable_file = workdir / "buyable.txt"
        buyable_file.write_text("\n".join(data["buyable"]) + "\n")
        secret = "whsec_bench_" + secrets.token_hex(8)
        events_file = workdir / "events.txt"
        # Signed just before their row (below): Stripe's signatures expire after five
        # minutes, and the rows before it take longer than that.
        webhook_file = workdir / "webhook.lua"
        webhook_file.write_text(WEBHOOK_LUA % {"events": events_file})
        stripe_port = free_port()
        servers.append(serve(["--factory", "entrypoints.http.app:app_without_retry"],
                             {**env, "PATRONAGE_PAYMENTS": "stripe",
                              "PATRONAGE_STRIPE_SECRET_KEY": "sk_test_bench",
                              "PATRONAGE_STRIPE_WEBHOOK_SECRET": secret},
                             stripe_port, "/health"))
        group_by_port[stripe_port] = servers[-1].pid

        # The same app with Prometheus metrics on, counting across its two processes.
        metered_port = free_port()
        (workdir / "prometheus").mkdir()
        servers.append(serve(["--factory", "entrypoints.http.app:app_without_retry"],
                             {**env, "PATRONAGE_METRICS": "true",
                              "PROMETHEUS_MULTIPROC_DIR": str(workdir / "prometheus")},
                             metered_port, "/health"))
        group_by_port[metered_port] = servers[-1].pid

        def script(path: str, method: str = "GET", source: Path | None = None,
                   body: str = "") -> str:
            pairs_from = (source or pairs_file).stem
            file = workdir / f"{method}-{abs(hash(path))}-{body}-{pairs_from}.lua"
            file.write_text(LUA % {"pairs": source or pairs_file, "path": path,
                                   "method": method, "body": body})
            return str(file)

        base = f"http://127.0.0.1:{app_port}"
        runs = {
            "plain (baseline)": (f"http://127.0.0.1:{plain_port}/plain", None),
            "access check": (base, script("/api/v1/content/{id}/access")),
            "access (member)": (base, script("/api/v1/content/{id}/access", "GET",
                                              members_file)),
            "access (metrics)": (f"http://127.0.0.1:{metered_port}",
                                 script("/api/v1/content/{id}/access")),
            "access (peer)": (f"http://127.0.0.1:{peer_port}",
                              script("/api/v1/content/{id}/access")),
            "playback URL": (base, script("/api/v1/content/{id}/playback", "POST")),
            "catalog page": (f"{base}/api/v1/content?limit=20&category=category-7", None),
            "search (miss)": (f"{base}/api/v1/content?limit=20&q=zyzzyva", None),
            "search (rare)": (f"{base}/api/v1/content?limit=20&q=zephyr", None),
            "search (1 in 20)": (f"{base}/api/v1/content?limit=20&q=pilates", None),
            "search (newest)": (f"{base}/api/v1/content?limit=20&q=pilates&sort=newest",
                                None),
            "progress upsert": (base, script("/api/v1/content/{id}/progress", "PUT")),
            "purchase start": (base, script("/api/v1/purchases", "POST", buyable_file,
                                            "purchase")),
            "webhook ingest": (f"http://127.0.0.1:{stripe_port}", str(webhook_file)),
            "slot listing": (f"{base}/api/v1/offerings/coaching/sessions", None),
            "booking (credits)": (base, script("/api/v1/bookings", "POST", classes_file,
                                               "booking")),
        }
        results: dict[str, dict[str, Any]] = {}
        if opts.only:
            runs = {k: v for k, v in runs.items() if k in opts.only or k.startswith("plain")}
        plain_url = runs["plain (baseline)"][0]
        for label, (target, lua) in runs.items():
            if label == "plain (baseline)":
                wrk(target, 2, opts.connections)
                results[label] = wrk(target, opts.seconds, opts.connections)
                results[label].update(plain_rps=results[label]["rps"], ratios=[1.0],
                                      cpu_us=float("nan"))
                continue
            if label not in ONE_SHOT_WRITES:
                # Not for the one-shot writes: a warm-up would use up their first pass.
                wrk(target, 2, opts.connections, lua)
            # The machine's speed drifts by a fifth within minutes (/plain between 15,600
            # and 27,500 req/s in one run): each round divides the row by a /plain run
            # made just before it, and the row keeps its median round.
            if label == "webhook ingest":
                events_file.write_text("\n".join(signed_events(60000, secret)) + "\n")
            group = group_by_port[int(target.split(":")[2].split("/")[0])]
            rounds, taken = [], 0
            for _ in range(opts.rounds):
                beside = wrk(plain_url, max(3, opts.seconds // 2), opts.connections)["rps"]
                used = cpu_seconds(group)
                measured = wrk(target, opts.seconds, opts.connections, lua, offset=taken)
                taken = int(measured["last_entry"]) + 1
                if label in ONE_SHOT_WRITES:
                    # What the row left to the outbox is part of its cost.
                    waited = drained(served_url)
                    if waited > 1:
                        print(f"({label}: its outbox drained {waited:.1f}s after a round)")
                used = cpu_seconds(group) - used
                measured.update(plain_rps=beside, ratio=measured["rps"] / beside,
                                cpu_us=used / max(measured["requests"], 1) * 1e6)
                rounds.append(measured)
            ordered = sorted(rounds, key=lambda r: r["ratio"])
            results[label] = {**ordered[len(ordered) // 2],
                              "errors": sum(r["errors"] for r in rounds),
                              "ratios": [r["ratio"] for r in rounds],
                              "cpu_us": sorted(r["cpu_us"] for r in rounds)[len(rounds) // 2]}
        print(f"\n{opts.database}, {opts.rows} items")
        print(f"\n{'endpoint':<18}{'req/s':>10}{'/plain':>9}{'ratio':>8}{'rounds':>16}"
              f"{'CPU us':>8}{'p50 ms':>9}{'p99 ms':>9}{'p99/p50':>9}{'errors':>8}")
        for label, r in results.items():
            r["ratio"] = r["rps"] / r["plain_rps"]
            spread = r["p99_ms"] / r["p50_ms"] if r["p50_ms"] else float("nan")
            span = f"{min(r['ratios']):.1%}-{max(r['ratios']):.1%}"
            print(f"{label:<18}{r['rps']:>10.0f}{r['plain_rps']:>9.0f}{r['ratio']:>8.1%}"
                  f"{span:>16}{r['cpu_us']:>8.0f}{r['p50_ms']:>9.2f}{r['p99_ms']:>9.2f}"
                  f"{spread:>9.1f}"
                  f"{r['errors']:>8.0f}")
        if "access check" in results and "access (peer)" in results:
            ahead = results["access check"]["ratio"] / results["access (peer)"]["ratio"]
            print(f"\nthe access check serves {ahead:.2f} times the requests of the peer "
                  f"(the common ORM way) in the same run")
        if "access check" in results and "access (metrics)" in results:
            cost = 1 - results["access (metrics)"]["ratio"] / results["access check"]["ratio"]
            print(f"\nmetrics on cost the access check {cost:.1%} of its throughput "
                  f"(budget: under 10%)")
        out = ROOT / "bench" / "results"
        out.mkdir(exist_ok=True)
        (out / "latest.json").write_text(json.dumps(
            {"database": opts.database, "rows": opts.rows,
             "connections": opts.connections, "seconds": opts.seconds,
             "rounds": opts.rounds,
             "results": results}, indent=2))
    finally:
        for proc in servers:
            try:
                os.killpg(proc.pid, 2)
                proc.wait(timeout=15)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                proc.kill()
        drop_database(name)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
