"""CPU per purchase and per payment event, in-process, against a one-statement write.

    .venv/bin/python bench/write_paths.py                      # this checkout
    .venv/bin/python bench/write_paths.py --against ../other   # and another, alternately

No HTTP and one caller at a time: what a purchase costs the application and PostgreSQL,
with the receipt and the notification it leaves (handled inline); what a Stripe payment
event that names nothing of ours costs; and what a booking of a weekly class paid with
credits costs, with its confirmation (an email with a calendar file, in Paris time) and
notification. The class has a thousand weekly sessions and each booking takes the next
one, as a customer booking far ahead would. Each is set beside a one-statement
INSERT through psycopg measured in the same process: a machine that runs slower for a
while slows both. CPU is this process's (`time.process_time`) plus every local
`postgres` process's, read from /proc (Linux, PostgreSQL on this machine).

Through wrk (`bench/run.py`) these paths move by a fifth between two runs of the same
code; measured here, one op after the other, the same code repeats within a few per cent,
so a change of a round trip or two shows. With --against, each round measures the other
checkout's code (its own `src`, migrations included) right after this one's.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from proc_cpu import cpu_seconds

ROOT = Path(__file__).resolve().parent.parent
ADMIN_URL = os.environ.get("PATRONAGE_TEST_DATABASE_URL",
                           "postgresql://postgres@127.0.0.1:5432/postgres")
DATABASE = "patronage_bench_writes"
PASSWORD = "a long and unusual passphrase"


def cpu_per_op(run: Callable[[int], None], count: int) -> float:
    """Microseconds of CPU (this process and PostgreSQL) per op, over ``count`` ops."""
    mine, theirs = time.process_time(), cpu_seconds()
    for n in range(count):
        run(n)
    used = (time.process_time() - mine) + (cpu_seconds() - theirs)
    return used / count * 1e6


def child(opts: argparse.Namespace) -> None:
    """Runs with the measured checkout's `src` on the path."""
    from datetime import UTC, datetime, timedelta
    from zoneinfo import ZoneInfo

    import psycopg
    import sqlalchemy as sa

    from adapters.sqlalchemy import migrate
    from application.catalog.authoring import CreateContent, PublishContent
    from application.commerce.payment_events import HandlePaymentEvent
    from application.commerce.purchasing import StartPurchase
    from application.credits.adjusting import AdjustCredits
    from application.identity.administration import ActAs
    from application.identity.login import Login
    from application.identity.registration import CreateUser
    from application.offerings.authoring import ChangeOfferingStatus, CreateOffering
    from application.offerings.booking import BookOffering
    from application.ports.payments import PaymentEvent
    from application.principal import Principal
    from domain.catalog.rules import ContentType
    from domain.identity.roles import Role
    from domain.values import Money
    from entrypoints.bootstrap import bootstrap
    from entrypoints.config import Settings

    admin = sa.create_engine(ADMIN_URL.replace("postgresql://", "postgresql+psycopg://"),
                             isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)")
        conn.exec_driver_sql(f"CREATE DATABASE {DATABASE}")
    admin.dispose()
    url = ADMIN_URL.rsplit("/", 1)[0] + f"/{DATABASE}"
    migrate.upgrade(url)
    app = bootstrap(Settings(data_dir=Path(opts.data_dir), database_url=url))
    system = Principal.system()
    for email, role in (("owner@example.com", Role.PLATFORM_OWNER),
                        ("buyer@example.com", Role.CUSTOMER)):
        app.handle(CreateUser(actor=system, email=email, password=PASSWORD,
                              full_name=email.split("@")[0].title(), role=role,
                              verified=True))
    owner = app.handle(ActAs(actor=system, email="owner@example.com"))
    token = app.handle(Login(email="buyer@example.com", password=PASSWORD)).token
    buyer = app.handle(ActAs(actor=system, email="buyer@example.com"))
    warm = opts.purchases // 2
    items = []
    for n in range(warm + opts.purchases):
        item = app.handle(CreateContent(actor=owner, title=f"Essay {n}", price="9.00",
                                        content_type=ContentType.WRITTEN,
                                        body_html="<p>An essay.</p>"))
        app.handle(PublishContent(actor=owner, content_id=item.id))
        items.append(item.id)

    def purchase(n: int) -> None:
        app.handle(StartPurchase(token=token, content_id=items[n]))

    today = datetime.now(UTC).date()
    klass = app.handle(CreateOffering(actor=owner, fields={
        "title": "Morning class", "offering_type": "recurring_fixed",
        "schedule": {"pattern": "weekly", "day": "monday", "time": "07:00",
                     "duration_minutes": 45, "start_date": today.isoformat(),
                     "count": 1000},
        "capacity_type": "small_group", "max_participants": 12,
        "delivery_method": "online", "credit_cost": 1, "timezone": "Europe/Paris",
        "payment_options": {"pay_per_session": True}}))
    app.handle(ChangeOfferingStatus(actor=owner, offering_id=klass.id, to="publish"))
    app.handle(AdjustCredits(actor=owner, amount=100_000, reason="bench",
                             email="buyer@example.com"))
    sessions = [s.starts_at for s in klass.occurrences(
        ZoneInfo("Europe/Paris"), datetime.now(UTC) + timedelta(days=1),
        datetime.now(UTC) + timedelta(days=7 * 1001))]

    def booking(n: int) -> None:
        app.handle(BookOffering(actor=buyer, offering_id=klass.id, payment_method="credits",
                                starts_at=sessions[n]))

    def event(n: int) -> None:
        # A payment none of ours holds (a subscription invoice's, one taken by hand).
        app.handle(HandlePaymentEvent(PaymentEvent(
            id=f"evt_bench_{n}", type="payment_intent.succeeded", created=datetime.now(UTC),
            intent_id=f"pi_bench_{n}", amount=Money("9.00", "usd"))))

    raw = psycopg.connect(url, autocommit=True)
    raw.execute("CREATE TABLE bench_writes (id bigint PRIMARY KEY, note text NOT NULL, "
                "at timestamptz NOT NULL DEFAULT now())")

    def one_statement(n: int) -> None:
        raw.execute("INSERT INTO bench_writes (id, note) VALUES (%s, %s)", (n, "written"))

    for n in range(warm):
        purchase(n)
    for n in range(warm):
        event(-1 - n)
    for n in range(opts.bookings // 4):
        booking(n)
    for n in range(200):
        one_statement(-1 - n)
    measured = {
        "baseline": cpu_per_op(one_statement, opts.events),
        "purchase": cpu_per_op(lambda n: purchase(warm + n), opts.purchases),
        "event": cpu_per_op(event, opts.events),
        "booking": cpu_per_op(lambda n: booking(opts.bookings // 4 + n), opts.bookings),
    }
    measured["baseline"] = (measured["baseline"]
                            + cpu_per_op(lambda n: one_statement(opts.events + n),
                                         opts.events)) / 2
    raw.close()
    print(json.dumps(measured))


def measure(tree: Path, opts: argparse.Namespace, data_dir: Path) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    out = subprocess.run(
        [sys.executable, __file__, "--child", "--purchases", str(opts.purchases),
         "--events", str(opts.events), "--bookings", str(opts.bookings),
         "--data-dir", str(data_dir)],
        env=env, cwd=tree, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"measuring {tree} failed:\n{out.stderr[-3000:]}")
    found: dict[str, float] = json.loads(out.stdout.strip().splitlines()[-1])
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--purchases", type=int, default=400)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--bookings", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--against", type=Path, default=None,
                        help="another checkout, measured alternately with this one")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", default="", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.child:
        child(opts)
        return
    trees = {"this checkout": ROOT}
    if opts.against is not None:
        trees[f"{opts.against}"] = opts.against.resolve()
    found: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    with tempfile.TemporaryDirectory(prefix="patronage-writes-") as scratch:
        for round_ in range(opts.rounds):
            for n, (name, tree) in enumerate(trees.items()):
                found[name].append(measure(tree, opts, Path(scratch) / f"{round_}-{n}"))
                r = found[name][-1]
                print(f"round {round_ + 1}, {name}: purchase {r['purchase']:.0f} us, "
                      f"event {r['event']:.0f} us, booking {r['booking']:.0f} us, "
                      f"one statement {r['baseline']:.0f} us")
    print(f"\nmedian of {opts.rounds} rounds, CPU per op (this process and PostgreSQL); "
          "ratio: how many one-statement writes cost as much")
    print(f"{'code':<28}{'purchase us':>13}{'ratio':>8}{'event us':>10}{'ratio':>8}"
          f"{'booking us':>12}{'ratio':>8}{'1 stmt us':>11}")
    for name, rounds in found.items():
        purchase = statistics.median(r["purchase"] for r in rounds)
        event = statistics.median(r["event"] for r in rounds)
        booking = statistics.median(r["booking"] for r in rounds)
        base = statistics.median(r["baseline"] for r in rounds)
        print(f"{name:<28}{purchase:>13.0f}{purchase / base:>8.1f}{event:>10.0f}"
              f"{event / base:>8.1f}{booking:>12.0f}{booking / base:>8.1f}{base:>11.0f}")


if __name__ == "__main__":
    main()
