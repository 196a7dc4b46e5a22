"""`patronage offerings|bookings` run in-process against PostgreSQL, checked by exit
code, output and stored rows. The CLI keeps real time, so the class starts weeks after
today, whatever today is."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
import sqlalchemy as sa
from litestar import Litestar
from litestar.testing import TestClient

from adapters.sqlalchemy.tables import offering_bookings, offering_sessions
from application.identity.registration import CreateUser
from application.principal import Principal
from domain.identity.roles import Role
from entrypoints.bootstrap import Patronage
from tests.integration.test_cli_memberships import (
    EXIT_CONFLICT,
    EXIT_NOT_FOUND,
    EXIT_USAGE,
    PASSWORD,
    Cli,
)

SYSTEM = Principal.system()


@pytest.fixture
def cli(patronage: Patronage) -> Cli:
    return Cli(patronage)


def login(client: TestClient[Litestar], email: str, role: Role, patronage: Patronage
          ) -> dict[str, str]:
    patronage.handle(CreateUser(actor=SYSTEM, email=email, password=PASSWORD,
                                full_name=email.split("@")[0].title(), role=role,
                                verified=True))
    token = client.post("/api/v1/auth/login",
                        json={"email": email, "password": PASSWORD}).json()["token"]
    return {"Authorization": f"Bearer {token}"}


class Booked:
    """A per-session class with two bookings in its first session."""

    def __init__(self, patronage: Patronage, client: TestClient[Litestar]) -> None:
        self.client = client
        owner = login(client, "owner@example.com", Role.PLATFORM_OWNER, patronage)
        start = date.today() + timedelta(days=30)
        made = client.post("/api/v1/studio/offerings", headers=owner, json={
            "title": "Thursday pottery", "offering_type": "recurring_fixed",
            "schedule": {"pattern": "weekly", "day": "thursday", "time": "18:00",
                         "duration_minutes": 90, "start_date": start.isoformat(),
                         "count": 4},
            "capacity_type": "small_group", "max_participants": 3,
            "delivery_method": "online", "credit_cost": 1, "timezone": "UTC",
            "payment_options": {"pay_per_session": True}})
        assert made.status_code == 201, made.text
        self.offering: dict[str, Any] = made.json()["offering"]
        published = client.post(f"/api/v1/studio/offerings/{self.offering['id']}/publish",
                                headers=owner)
        assert published.status_code == 200, published.text
        now = datetime.now(UTC)
        self.sessions: list[str] = [s["starts_at"] for s in client.get(
            f"/api/v1/offerings/{self.offering['slug']}/sessions",
            params={"from": now.isoformat(),
                    "to": (now + timedelta(days=90)).isoformat()}).json()["sessions"]]
        self.bookings: list[str] = []
        for who in ("ann", "bob"):
            headers = login(client, f"{who}@example.com", Role.CUSTOMER, patronage)
            client.post("/api/v1/admin/credits/adjust", headers=owner, json={
                "email": f"{who}@example.com", "amount": 1, "reason": "A class pass"})
            booking = client.post("/api/v1/bookings", headers=headers, json={
                "offering_id": self.offering["id"], "payment_method": "credits",
                "starts_at": self.sessions[0]})
            assert booking.status_code == 201, booking.text
            self.bookings.append(booking.json()["id"])


@pytest.fixture
def booked(patronage: Patronage, client: TestClient[Litestar]) -> Booked:
    return Booked(patronage, client)


def rows(engine: sa.Engine) -> dict[str, tuple[str, datetime]]:
    with engine.connect() as conn:
        return {str(r.id): (r.status, r.starts_at) for r in conn.execute(
            sa.select(offering_bookings.c.id, offering_bookings.c.status,
                      offering_bookings.c.starts_at))}


def test_offerings_and_their_bookings_are_listed(cli: Cli, booked: Booked) -> None:
    listed = cli.ok("offerings", "list")
    assert booked.offering["slug"] in listed and "recurring_fixed" in listed
    bookings = cli.ok("bookings", "list", "--offering", booked.offering["id"])
    assert all(b in bookings for b in booked.bookings)


def test_bookings_are_marked_and_cancelled_by_their_host(cli: Cli, booked: Booked,
                                                         patronage: Patronage) -> None:
    ann, bob = booked.bookings
    assert f"booking {ann}: no_show" in cli.ok("bookings", "mark", ann, "--status", "no_show")
    bad = cli("bookings", "mark", ann, "--status", "late")
    assert bad.exit_code == EXIT_USAGE
    cancelled = cli.ok("bookings", "cancel", bob, "--reason", "Studio flooded")
    assert f"booking {bob}: canceled, 1 credits returned" in cancelled
    assert rows(patronage.engine)[bob][0] == "canceled"
    again = cli("bookings", "cancel", bob, "--reason", "Twice")
    assert again.exit_code == EXIT_CONFLICT
    assert "booking.not_active" in again.output
    missing = cli("bookings", "mark", str(UUID(int=1)), "--status", "completed")
    assert missing.exit_code == EXIT_NOT_FOUND


def test_a_session_is_moved_with_all_its_bookings(cli: Cli, booked: Booked,
                                                  patronage: Patronage) -> None:
    first, _, third = booked.sessions[:3]
    moved = cli.ok("bookings", "move-session", "--offering", booked.offering["id"],
                   "--from", first, "--to", third)
    assert "moved 2 booking(s)" in moved
    target = datetime.fromisoformat(third)
    assert {starts for _, starts in rows(patronage.engine).values()} == {target}
    with patronage.engine.connect() as conn:
        taken = dict(conn.execute(sa.select(offering_sessions.c.starts_at,
                                            offering_sessions.c.taken)).all())
    assert taken[datetime.fromisoformat(first)] == 0
    assert taken[target] == 2

    no_offset = cli("bookings", "move-session", "--offering", booked.offering["id"],
                    "--from", third[:19], "--to", first)
    assert no_offset.exit_code == EXIT_USAGE
    assert "offset" in no_offset.output
    nothing_there = cli("bookings", "move-session", "--offering", booked.offering["id"],
                        "--from", first, "--to", third)
    assert nothing_there.exit_code == EXIT_NOT_FOUND
    assert "session.no_bookings" in nothing_there.output
