"""The embedded default (SQLite) under concurrent writers: nobody gets a 503.

32 clients at once against `patronage serve` with the demo data: resume positions
(single-statement writes), item reads that count a view, and purchases. A write that
followed a read in the same SQLite transaction could not wait for the write lock and
failed at once ("database is locked" → 503 service.busy); now every such write either
runs as its own statement or in a transaction that took the lock first, and waits.
The same holds for bookings paid with credits: 32 clients booking at once, 16 members
spending their last credits, get a booking or a clear refusal, never a 503.
"""

from __future__ import annotations

import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.integration.conftest import free_port
from tests.integration.servers import demo_platform, server_env, serving

PASSWORD = "a long and unusual passphrase"
CLIENTS = 32
REQUESTS = 480


def login(base: str, email: str, password: str) -> dict[str, str]:
    token = httpx.post(f"{base}/api/v1/auth/login",
                       json={"email": email, "password": password}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


def test_32_concurrent_writers_get_no_503(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port())
    owner_login = demo_platform(env)
    with serving(env) as server:
        base = server.base

        owner = login(base, *owner_login)
        buyers = []
        for n in range(16):
            email = f"buyer{n}-{uuid.uuid4().hex[:6]}@example.com"
            made = httpx.post(f"{base}/api/v1/admin/users", headers=owner, json={
                "email": email, "password": PASSWORD, "full_name": "Buyer",
                "role": "customer"})
            assert made.status_code == 201, made.text
            buyers.append(login(base, email, PASSWORD))
        items = httpx.get(f"{base}/api/v1/content?limit=50").json()["items"]
        video = next(i for i in items if i["content_type"] == "video")
        for_sale = [i for i in items if i["price"]]
        assert for_sale

        def one(n: int) -> tuple[str, int, tuple[int, int] | None, str | None]:
            with httpx.Client(timeout=60) as http:
                if n % 3 == 0:
                    return "progress", http.put(
                        f"{base}/api/v1/content/{video['id']}/progress",
                        json={"position_seconds": n % 30}, headers=owner).status_code, None, None
                if n % 3 == 1:
                    slug = items[n % len(items)]["slug"]
                    return "read", http.get(f"{base}/api/v1/content/{slug}",
                                            headers=buyers[n % 16]).status_code, None, None
                pair = (n % 16, n % len(for_sale))
                bought = http.post(
                    f"{base}/api/v1/purchases", headers=buyers[pair[0]],
                    json={"content_id": for_sale[pair[1]]["id"]})
                made = bought.json()["purchase_id"] if bought.status_code == 201 else None
                return "purchase", bought.status_code, pair, made

        with ThreadPoolExecutor(CLIENTS) as pool:
            results = list(pool.map(one, range(REQUESTS)))
    outcomes = Counter((kind, status) for kind, status, _, _ in results)
    assert not [o for o in outcomes if o[1] >= 500], outcomes
    assert outcomes[("progress", 200)] == REQUESTS // 3
    assert outcomes[("read", 200)] == REQUESTS // 3
    assert outcomes[("purchase", 201)] + outcomes[("purchase", 409)] == REQUESTS // 3
    # Each buyer buys each item once. A request racing the first one for the same pair
    # is a double click: it answers 201 with the same purchase (never a second one);
    # a request after the purchase completed is "already bought" (409).
    pairs = {(n % 16, n % len(for_sale)) for n in range(REQUESTS) if n % 3 == 2}
    purchases: dict[tuple[int, int], set[str]] = {}
    for _, _, pair, purchase_id in results:
        if pair is not None and purchase_id is not None:
            purchases.setdefault(pair, set()).add(purchase_id)
    assert set(purchases) == pairs
    assert all(len(ids) == 1 for ids in purchases.values()), purchases


def test_32_concurrent_bookings_and_credit_spends_get_no_503(tmp_path: Path) -> None:
    env = server_env(tmp_path / "var", free_port())
    owner_login = demo_platform(env)
    with serving(env) as server:
        base = server.base

        owner = login(base, *owner_login)
        start = (datetime.now(UTC) + timedelta(days=3)).date()
        made = httpx.post(f"{base}/api/v1/studio/offerings", headers=owner, json={
            "title": "Drop-in class", "offering_type": "recurring_fixed",
            "schedule": {"pattern": "weekly", "day": start.strftime("%A").lower(),
                         "time": "18:00", "duration_minutes": 60,
                         "start_date": start.isoformat(), "count": 20},
            "capacity_type": "large_group", "max_participants": 500,
            "delivery_method": "online", "credit_cost": 1, "timezone": "UTC",
            "payment_options": {"pay_per_session": True}})
        assert made.status_code == 201, made.text
        offering = made.json()["offering"]
        assert httpx.post(f"{base}/api/v1/studio/offerings/{offering['id']}/publish",
                          headers=owner).status_code == 200
        sessions = [s["starts_at"] for s in httpx.get(
            f"{base}/api/v1/offerings/{offering['slug']}/sessions",
            params={"from": datetime.now(UTC).isoformat(),
                    "to": (datetime.now(UTC) + timedelta(days=200)).isoformat()}
        ).json()["sessions"]]
        assert len(sessions) == 20
        buyers = []
        for n in range(16):
            email = f"member{n}-{uuid.uuid4().hex[:6]}@example.com"
            assert httpx.post(f"{base}/api/v1/admin/users", headers=owner, json={
                "email": email, "password": PASSWORD, "full_name": "Member",
                "role": "customer"}).status_code == 201
            assert httpx.post(f"{base}/api/v1/admin/credits/adjust", headers=owner, json={
                "email": email, "amount": 10, "reason": "class pass"}).status_code == 200
            buyers.append(login(base, email, PASSWORD))

        def one(n: int) -> int:
            # Each member books sessions in turn: 12 tries for 10 credits, so the last
            # ones are refused for want of credits, never for a busy database.
            with httpx.Client(timeout=60) as http:
                return http.post(f"{base}/api/v1/bookings", headers=buyers[n % 16], json={
                    "offering_id": offering["id"], "payment_method": "credits",
                    "starts_at": sessions[n // 16]}).status_code

        with ThreadPoolExecutor(CLIENTS) as pool:
            statuses = Counter(pool.map(one, range(16 * 12)))
        balances = [httpx.get(f"{base}/api/v1/me/credits", headers=b).json()["balance"]
                    for b in buyers]
    assert not [s for s in statuses if s >= 500], statuses
    assert statuses[201] == 16 * 10
    assert set(statuses) <= {201, 402, 409}, statuses
    assert balances == [0] * 16
